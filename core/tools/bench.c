/*
 * bench.c - `cellardb bench [N]`: a quick look at speed on this machine.
 *
 * Runs on a fresh file in a temporary directory (removed afterwards), with
 * 16-byte keys and 100-byte values as tests/bench does, in these phases:
 * fill (N single puts, random order), read_hit (N gets of present keys),
 * read_miss (N gets of absent keys), overwrite_batch (N puts in batches of
 * 1000 with cellar_put_many), scan (one full iteration), delete (N/2).
 * It prints ops/s per phase. For comparisons with other engines, see the
 * harness in tests/bench/; timings here are indicative only.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_LEN 16
#define VAL_LEN 100
#define BATCH 1000

/* splitmix64: a bijection on 64-bit integers, so keys never repeat */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void make_key(char *k, uint64_t i)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = mix(i);
    for (int j = KEY_LEN - 1; j >= 0; j--, v >>= 4)
        k[j] = hex[v & 15];
}

static void make_value(char *v, uint64_t i)
{
    uint64_t s = mix(i ^ 0x5555);
    for (int j = 0; j < VAL_LEN; j++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[j] = (char)('a' + (s >> 59) % 26);
    }
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[4200];
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                int len = snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                if (len > 0 && (size_t)len < sizeof p) /* never unlink a cut-short name */
                    unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

typedef struct phase {
    const char *name;
    uint64_t ops;
    double secs;
} phase;

static void report(const phase *p)
{
    printf("%-16s %10" PRIu64 " ops %8.3f s %12.0f ops/s\n", p->name, p->ops, p->secs,
           p->secs > 0 ? (double)p->ops / p->secs : 0.0);
    (void)fflush(stdout);
}

static int failed(int rc, const char *what)
{
    const cellar_error *e = cellar_error_last();
    (void)fprintf(stderr, "cellardb: bench: %s: %s [%s]\n", what, e->code == rc ? e->message : cellar_strerror(rc),
                  cellar_errname(rc));
    return rc == CELLAR_ECANCELED ? EXIT_INTERRUPTED : EXIT_ERROR;
}

#define TICK(prog, i, n)                                                                  \
    do {                                                                                  \
        if (((i) & 1023) == 0 && cli_progress_cb((i), (n), (prog))) {                     \
            rc = CELLAR_ECANCELED;                                                        \
            goto out;                                                                     \
        }                                                                                 \
    } while (0)

int cli_bench(uint64_t n, const cellar_options *base, int quiet)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200];
    int len = snprintf(dir, sizeof dir, "%s/cellardb-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (len < 0 || (size_t)len >= sizeof dir) { /* cut short, the template would lose its XXXXXX */
        (void)fprintf(stderr, "cellardb: bench: TMPDIR is too long\n");
        return EXIT_ERROR;
    }
    if (!mkdtemp(dir)) {
        (void)fprintf(stderr, "cellardb: bench: cannot make a temporary directory: %s\n", strerror(errno));
        return EXIT_ERROR;
    }
    (void)snprintf(path, sizeof path, "%s/bench.db", dir); /* fits: dir is shorter than 4096 */

    cellar_options o = *base;
    o.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    cellar_db *db = NULL;
    int rc = cellar_open(&db, path, &o);
    if (rc) {
        int st = failed(rc, "open");
        remove_dir(dir);
        return st;
    }
    static const char *modes[] = { "normal", "full", "off" };
    printf("cellardb %s bench: %" PRIu64 " records, %d-byte keys, %d-byte values, sync=%s, file %s\n",
           cellar_version(), n, KEY_LEN, VAL_LEN, modes[o.sync >= 0 && o.sync <= 2 ? o.sync : 0], path);

    char key[KEY_LEN], val[VAL_LEN];
    cellar_slice *ks = calloc(BATCH, sizeof *ks), *vs = calloc(BATCH, sizeof *vs);
    char *kbuf = malloc((size_t)BATCH * KEY_LEN), *vbuf = malloc((size_t)BATCH * VAL_LEN);
    cli_progress prog;
    phase ph;
    uint64_t t0, i;
    if (!ks || !vs || !kbuf || !vbuf) {
        rc = CELLAR_ENOMEM;
        goto out;
    }

    cli_progress_init(&prog, "fill", 0, quiet);
    t0 = cli_now_ns();
    for (i = 0; i < n; i++) {
        TICK(&prog, i, n);
        make_key(key, i);
        make_value(val, i);
        if ((rc = cellar_put(db, key, KEY_LEN, val, VAL_LEN)) != 0)
            goto out;
    }
    ph = (phase){ "fill", n, (double)(cli_now_ns() - t0) / 1e9 };
    cli_progress_done(&prog);
    report(&ph);

    cli_progress_init(&prog, "read_hit", 0, quiet);
    t0 = cli_now_ns();
    for (i = 0; i < n; i++) {
        void *v;
        size_t vl;
        TICK(&prog, i, n);
        make_key(key, mix(i + 7) % n);
        if ((rc = cellar_get(db, key, KEY_LEN, &v, &vl)) != 0)
            goto out;
        cellar_free(v);
    }
    ph = (phase){ "read_hit", n, (double)(cli_now_ns() - t0) / 1e9 };
    cli_progress_done(&prog);
    report(&ph);

    cli_progress_init(&prog, "read_miss", 0, quiet);
    t0 = cli_now_ns();
    for (i = 0; i < n; i++) {
        TICK(&prog, i, n);
        make_key(key, n + i);
        int got = cellar_exists(db, key, KEY_LEN);
        if (got != CELLAR_ENOTFOUND) {
            rc = got == CELLAR_OK ? CELLAR_EINTERNAL : got;
            goto out;
        }
    }
    ph = (phase){ "read_miss", n, (double)(cli_now_ns() - t0) / 1e9 };
    cli_progress_done(&prog);
    report(&ph);

    cli_progress_init(&prog, "batch", 0, quiet);
    t0 = cli_now_ns();
    for (i = 0; i < n;) {
        size_t m = 0;
        TICK(&prog, i & ~(uint64_t)1023, n);
        for (; m < BATCH && i < n; m++, i++) {
            make_key(kbuf + m * KEY_LEN, i);
            make_value(vbuf + m * VAL_LEN, i + 1);
            ks[m] = (cellar_slice){ kbuf + m * KEY_LEN, KEY_LEN };
            vs[m] = (cellar_slice){ vbuf + m * VAL_LEN, VAL_LEN };
        }
        if ((rc = cellar_put_many(db, m, ks, vs)) != 0)
            goto out;
    }
    ph = (phase){ "overwrite_batch", n, (double)(cli_now_ns() - t0) / 1e9 };
    cli_progress_done(&prog);
    report(&ph);

    cli_progress_init(&prog, "scan", 0, quiet);
    t0 = cli_now_ns();
    {
        cellar_iter *it;
        uint64_t seen = 0;
        if ((rc = cellar_iter_open(&it, db)) != 0)
            goto out;
        while ((rc = cellar_iter_next(it, NULL, NULL, NULL, NULL)) == CELLAR_OK) {
            seen++;
            if ((seen & 1023) == 0 && cli_progress_cb(seen, n, &prog)) {
                rc = CELLAR_ECANCELED;
                break;
            }
        }
        cellar_iter_close(it);
        if (rc != CELLAR_ENOTFOUND)
            goto out;
        rc = 0;
        ph = (phase){ "scan", seen, (double)(cli_now_ns() - t0) / 1e9 };
    }
    cli_progress_done(&prog);
    report(&ph);

    cli_progress_init(&prog, "delete", 0, quiet);
    t0 = cli_now_ns();
    for (i = 0; i < n / 2; i++) {
        TICK(&prog, i, n / 2);
        make_key(key, i * 2);
        if ((rc = cellar_delete(db, key, KEY_LEN)) != 0)
            goto out;
    }
    ph = (phase){ "delete", n / 2, (double)(cli_now_ns() - t0) / 1e9 };
    cli_progress_done(&prog);
    report(&ph);

out:
    cli_progress_done(&prog);
    int st = rc ? failed(rc, "run") : 0;
    free(ks);
    free(vs);
    free(kbuf);
    free(vbuf);
    if (cellar_close(db) != CELLAR_OK && st == 0)
        st = failed(cellar_error_last()->code, "close");
    remove_dir(dir);
    return st;
}
