/*
 * bench.c - cellar_bench: the same workloads against cellardb and its peers,
 * in one run, with ratios measured side by side.
 *
 * Keys and values are deterministic, so every store sees the same data:
 *   key(i)   = 8 bytes big-endian mix64(i ^ seed), then filler letters up to
 *              --key-size. mix64 is a bijection, so keys are distinct, and
 *              their order looks random to every store.
 *   value(i, version) = --value-size bytes from a 1 MiB pseudo-random pool
 *              (incompressible), at an offset derived from i and version.
 * Present keys are i in [0, N); absent keys (read_missing) are i in [N, 2N).
 * "Random order" is one seeded permutation of [0, N), so every read, overwrite
 * and delete touches each key exactly once.
 *
 * Per store: fresh directory, fill_random, close, measure the size, reopen,
 * an untimed pass reading every key (so every store starts the reads warm:
 * the mmap stores are warm through the OS page cache anyway; --no-warm skips
 * it), then read_random, read_missing, read_mt, overwrite, mixed, scan,
 * delete_random; then fill_sync and sync_mt each in a fresh directory.
 * Every read is checked (present keys return their exact value, absent ones
 * nothing) and the scan must yield N records: a store that answers wrongly
 * is reported as failed and makes the exit status 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"
#include "report.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_MISSING_STORES
#define BENCH_MISSING_STORES ""
#endif

#define POOL_SIZE (1u << 20)
#define MAX_KEY_SIZE 4096u
#define MAX_VALUE_SIZE (16u << 20)

/* ---- errors ------------------------------------------------------------ */

static _Thread_local char bench_errbuf[512];

int bench_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bench_errbuf, sizeof bench_errbuf, fmt, ap);
    va_end(ap);
    return -1;
}

const char *bench_last_error(void)
{
    return bench_errbuf;
}

char *bench_path(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
    return out;
}

/* ---- the backends compiled in ------------------------------------------ */

static const bench_backend *const all_backends[] = {
#ifdef BENCH_HAVE_CELLARDB
    &bench_backend_cellardb,
#endif
#ifdef BENCH_HAVE_GDBM
    &bench_backend_gdbm,
#endif
#ifdef BENCH_HAVE_LMDB
    &bench_backend_lmdb,
#endif
#ifdef BENCH_HAVE_TKRZW
    &bench_backend_tkrzw,
#endif
#ifdef BENCH_HAVE_KC
    &bench_backend_kc,
#endif
#ifdef BENCH_HAVE_BDB
    &bench_backend_bdb,
#endif
#ifdef BENCH_HAVE_LEVELDB
    &bench_backend_leveldb,
#endif
#ifdef BENCH_HAVE_ROCKSDB
    &bench_backend_rocksdb,
#endif
#ifdef BENCH_HAVE_SQLITE
    &bench_backend_sqlite,
#endif
    NULL};

/* ---- keys, values, order ----------------------------------------------- */

static uint64_t g_seed = 0x63656c6c61726462ull; /* "cellardb" */
static unsigned char *g_pool;
static uint32_t *g_perm;
static size_t g_ks, g_vs;

/* splitmix64's finalizer: a bijection on 64-bit integers. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static void make_key(unsigned char *out, uint64_t i)
{
    uint64_t h = mix64(i ^ g_seed);
    size_t j;
    for (j = 0; j < 8; j++)
        out[j] = (unsigned char)(h >> (56 - 8 * j));
    for (j = 8; j < g_ks; j++)
        out[j] = (unsigned char)('a' + (h >> (j % 8 * 8)) % 26);
}

static const unsigned char *value_of(uint64_t i, unsigned version)
{
    return g_pool + (mix64(i * 4 + version + 1) & (POOL_SIZE - 1));
}

static void make_data(uint64_t n)
{
    uint64_t s = g_seed, i;
    g_pool = malloc(POOL_SIZE + g_vs);
    g_perm = malloc(n * sizeof *g_perm);
    if (g_pool == NULL || g_perm == NULL) {
        fprintf(stderr, "cellar_bench: out of memory\n");
        exit(2);
    }
    for (i = 0; i < POOL_SIZE + g_vs; i++)
        g_pool[i] = (unsigned char)(mix64(s + i) >> 24);
    for (i = 0; i < n; i++)
        g_perm[i] = (uint32_t)i;
    for (i = n; i > 1; i--) { /* Fisher-Yates */
        uint64_t j = mix64(++s) % i;
        uint32_t t = g_perm[i - 1];
        g_perm[i - 1] = g_perm[j];
        g_perm[j] = t;
    }
}

/* ---- time and files ------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t g_du;

static int du_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F)
        g_du += (uint64_t)st->st_size;
    return 0;
}

/* Sum of the sizes of every file under dir (data, logs, locks, metadata). */
static uint64_t dir_size(const char *dir)
{
    g_du = 0;
    nftw(dir, du_one, 16, FTW_PHYS);
    return g_du;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int fresh_dir(const char *dir)
{
    rm_rf(dir);
    if (mkdir(dir, 0755) != 0)
        return bench_error("mkdir %s: %s", dir, strerror(errno));
    return 0;
}

/* ---- one batch of operations (one thread's share of a workload) --------- */

typedef struct batch {
    const bench_backend *be;
    void *ctx;
    int w;             /* workload */
    uint64_t begin;    /* indices [begin, end) of the permutation / key space */
    uint64_t end;
    uint64_t n;        /* records in the store (absent keys are n + i) */
    uint64_t count;    /* out: records seen (scan) */
    char err[512];     /* out: first failure */
} batch;

static int batch_fail(batch *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof b->err, fmt, ap);
    va_end(ap);
    return -1;
}

static int run_batch(batch *b)
{
    unsigned char key[MAX_KEY_SIZE];
    unsigned char *buf = malloc(g_vs + 64);
    const bench_backend *be = b->be;
    uint64_t j, bytes = 0;
    size_t len = 0;
    int rc = 0;
    if (buf == NULL)
        return batch_fail(b, "out of memory");
    for (j = b->begin; j < b->end && rc == 0; j++) {
        uint64_t i = (b->w == W_SYNC || b->w == W_SYNC_MT || b->w == W_FILL) ? j : g_perm[j];
        switch (b->w) {
        case W_FILL:
        case W_SYNC:
        case W_SYNC_MT:
            make_key(key, i);
            if (be->put(b->ctx, key, g_ks, value_of(i, 0), g_vs) != 0)
                rc = batch_fail(b, "put: %s", bench_last_error());
            break;
        case W_READ:
        case W_READ_MT:
            make_key(key, i);
            rc = be->get(b->ctx, key, g_ks, buf, g_vs + 64, &len);
            if (rc < 0)
                rc = batch_fail(b, "get: %s", bench_last_error());
            else if (rc == 1)
                rc = batch_fail(b, "get: key %llu not found", (unsigned long long)i);
            else if (len != g_vs || memcmp(buf, value_of(i, 0), g_vs) != 0)
                rc = batch_fail(b, "get: key %llu: wrong value", (unsigned long long)i);
            break;
        case W_MISS:
            make_key(key, b->n + i);
            rc = be->get(b->ctx, key, g_ks, buf, g_vs + 64, &len);
            if (rc < 0)
                rc = batch_fail(b, "get: %s", bench_last_error());
            else if (rc == 0)
                rc = batch_fail(b, "get: absent key %llu found", (unsigned long long)i);
            else
                rc = 0;
            break;
        case W_OVER:
            make_key(key, i);
            if (be->put(b->ctx, key, g_ks, value_of(i, 1), g_vs) != 0)
                rc = batch_fail(b, "put: %s", bench_last_error());
            break;
        case W_MIXED:
            make_key(key, i);
            if (j % 5 == 4) {
                if (be->put(b->ctx, key, g_ks, value_of(i, 2), g_vs) != 0)
                    rc = batch_fail(b, "put: %s", bench_last_error());
            } else {
                rc = be->get(b->ctx, key, g_ks, buf, g_vs + 64, &len);
                if (rc < 0)
                    rc = batch_fail(b, "get: %s", bench_last_error());
                else if (rc == 1 || len != g_vs)
                    rc = batch_fail(b, "get: key %llu missing or wrong length",
                                    (unsigned long long)i);
            }
            break;
        case W_DELETE:
            make_key(key, i);
            rc = be->del(b->ctx, key, g_ks);
            if (rc < 0)
                rc = batch_fail(b, "delete: %s", bench_last_error());
            else if (rc == 1)
                rc = batch_fail(b, "delete: key %llu not found", (unsigned long long)i);
            break;
        case W_SCAN:
            if (be->scan(b->ctx, &b->count, &bytes) != 0)
                rc = batch_fail(b, "scan: %s", bench_last_error());
            j = b->end;
            break;
        default:
            rc = batch_fail(b, "unknown workload");
        }
    }
    free(buf);
    return rc;
}

/* ---- multi-thread runs ---------------------------------------------------- */

typedef struct worker {
    pthread_t tid;
    pthread_barrier_t *start;
    void *db;
    int index;
    batch b;
    int rc;
    double t_start; /* after the start barrier: the main thread may wake later */
    double t_end;
} worker;

static void *worker_main(void *arg)
{
    worker *wk = arg;
    const bench_backend *be = wk->b.be;
    int began = 0;
    wk->b.ctx = wk->db;
    if (be->thread_begin != NULL) {
        if (be->thread_begin(&wk->b.ctx, wk->db, wk->index) != 0)
            wk->rc = batch_fail(&wk->b, "thread_begin: %s", bench_last_error());
        else
            began = 1;
    }
    pthread_barrier_wait(wk->start);
    wk->t_start = now();
    if (wk->rc == 0)
        wk->rc = run_batch(&wk->b);
    wk->t_end = now();
    if (began)
        be->thread_end(wk->b.ctx);
    return NULL;
}

/* Run workload w over [0, total) split across `threads` threads on one db. */
static int run_threads(const bench_backend *be, void *db, int w, int threads, uint64_t total,
                       uint64_t n, bench_result *res)
{
    worker *wk = calloc((size_t)threads, sizeof *wk);
    pthread_barrier_t start;
    double t0 = 0, t1 = 0;
    int t, rc = 0;
    if (wk == NULL)
        return bench_error("out of memory");
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (t = 0; t < threads; t++) {
        wk[t].start = &start;
        wk[t].db = db;
        wk[t].index = t;
        wk[t].b.be = be;
        wk[t].b.w = w;
        wk[t].b.n = n;
        wk[t].b.begin = total * (uint64_t)t / (uint64_t)threads;
        wk[t].b.end = total * (uint64_t)(t + 1) / (uint64_t)threads;
        if (pthread_create(&wk[t].tid, NULL, worker_main, &wk[t]) != 0) {
            fprintf(stderr, "cellar_bench: pthread_create failed\n");
            exit(2);
        }
    }
    pthread_barrier_wait(&start);
    for (t = 0; t < threads; t++) {
        pthread_join(wk[t].tid, NULL);
        if (t == 0 || wk[t].t_start < t0)
            t0 = wk[t].t_start;
        if (wk[t].t_end > t1)
            t1 = wk[t].t_end;
        if (wk[t].rc != 0 && rc == 0)
            rc = bench_error("thread %d: %s", t, wk[t].b.err);
    }
    pthread_barrier_destroy(&start);
    free(wk);
    res->threads = threads;
    res->ops = total;
    res->seconds = t1 - t0;
    return rc;
}

/* Run workload w over [0, total) on the calling thread, timed. */
static int run_single(const bench_backend *be, void *ctx, int w, uint64_t total, uint64_t n,
                      bench_result *res)
{
    batch b;
    double t0;
    int rc;
    memset(&b, 0, sizeof b);
    b.be = be;
    b.ctx = ctx;
    b.w = w;
    b.n = n;
    b.begin = 0;
    b.end = total;
    t0 = now();
    rc = run_batch(&b);
    res->seconds = now() - t0;
    res->threads = 1;
    res->ops = total;
    if (rc != 0)
        return bench_error("%s", b.err);
    if (w == W_SCAN && b.count != n)
        return bench_error("scan yielded %llu records, expected %llu",
                           (unsigned long long)b.count, (unsigned long long)n);
    return 0;
}

/* ---- one store ------------------------------------------------------------- */

static void set_note(bench_result *r, int status, const char *msg)
{
    r->status = status;
    snprintf(r->note, sizeof r->note, "%s", msg);
}

static int mt_allowed(const bench_backend *be, int w)
{
    unsigned need = (w == W_READ_MT) ? BENCH_MT_READ
                    : (w == W_MIXED) ? (BENCH_MT_READ | BENCH_MT_WRITE)
                                     : BENCH_MT_WRITE;
    return (be->caps & need) == need;
}

static int open_ctx(const bench_backend *be, const bench_config *cfg, void **db, void **ctx)
{
    *ctx = NULL;
    if (be->open(db, cfg) != 0)
        return -1;
    *ctx = *db;
    if (be->thread_begin != NULL && be->thread_begin(ctx, *db, 0) != 0) {
        be->close(*db);
        *db = NULL;
        return -1;
    }
    return 0;
}

static void close_ctx(const bench_backend *be, void *db, void *ctx, int *failed)
{
    if (be->thread_begin != NULL && ctx != NULL)
        be->thread_end(ctx);
    if (be->close(db) != 0 && failed != NULL && *failed == 0) {
        fprintf(stderr, "  %s: close: %s\n", be->name, bench_last_error());
        *failed = 1;
    }
}

/* Mark every selected workload of a phase that did not run as failed. */
static void fail_rest(bench_run *run, bench_store_run *s, const int *ws, int nws,
                      const char *msg)
{
    int k;
    for (k = 0; k < nws; k++)
        if (run->selected[ws[k]] && s->r[ws[k]].status == R_NOT_RUN)
            set_note(&s->r[ws[k]], R_FAILED, msg);
}

static int run_main_phase(bench_run *run, bench_store_run *s, const char *dir)
{
    static const int phase[] = {W_FILL, W_SIZE, W_READ, W_MISS, W_READ_MT,
                                W_OVER, W_MIXED, W_SCAN, W_DELETE};
    const bench_backend *be = s->be;
    bench_config cfg;
    bench_result scratch;
    void *db = NULL, *ctx = NULL;
    char msg[sizeof s->r[0].note];
    int k, failed = 0, mt = run->threads > 1 ? run->threads : 2;

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = dir;
    cfg.create = 1;
    cfg.cache_bytes = run->cache_bytes;
    cfg.records = run->n;
    cfg.key_size = run->key_size;
    cfg.value_size = run->value_size;
    cfg.tkrzw_buckets = run->tkrzw_buckets;
    cfg.threads = mt;

    if (fresh_dir(dir) != 0 || open_ctx(be, &cfg, &db, &ctx) != 0)
        goto fail;
    fprintf(stderr, "  %s: fill_random\n", be->name);
    if (run_single(be, ctx, W_FILL, run->n, run->n,
                   run->selected[W_FILL] ? &s->r[W_FILL] : &scratch) != 0) {
        close_ctx(be, db, ctx, NULL);
        goto fail;
    }
    if (run->selected[W_FILL])
        s->r[W_FILL].status = R_OK;
    close_ctx(be, db, ctx, &failed);
    if (failed)
        goto fail;
    s->r[W_SIZE].bytes = dir_size(dir);
    s->r[W_SIZE].status = run->selected[W_SIZE] ? R_OK : R_NOT_RUN;

    cfg.create = 0;
    if (open_ctx(be, &cfg, &db, &ctx) != 0)
        goto fail;
    if (run->warm && run_single(be, ctx, W_READ, run->n, run->n, &scratch) != 0) {
        close_ctx(be, db, ctx, NULL);
        goto fail;
    }
    for (k = 2; k < (int)(sizeof phase / sizeof phase[0]); k++) {
        int w = phase[k], rc;
        if (!run->selected[w])
            continue;
        if ((w == W_READ_MT || w == W_MIXED) && !mt_allowed(be, w)) {
            set_note(&s->r[w], R_SKIPPED, be->mt_note);
            continue;
        }
        fprintf(stderr, "  %s: %s\n", be->name, bench_workload_name(w));
        if (w == W_READ_MT || w == W_MIXED) {
            /* The main context is idle meanwhile; workers make their own. */
            rc = run_threads(be, db, w, mt, run->n, run->n, &s->r[w]);
        } else {
            rc = run_single(be, ctx, w, run->n, run->n, &s->r[w]);
        }
        if (rc != 0) {
            close_ctx(be, db, ctx, NULL);
            goto fail;
        }
        s->r[w].status = R_OK;
    }
    close_ctx(be, db, ctx, &failed);
    if (failed)
        goto fail;
    return 0;

fail:
    snprintf(msg, sizeof msg, "%s", bench_last_error());
    fprintf(stderr, "  %s: FAILED: %s\n", be->name, msg);
    fail_rest(run, s, phase, (int)(sizeof phase / sizeof phase[0]), msg);
    return -1;
}

static int run_sync_phase(bench_run *run, bench_store_run *s, const char *dir, int w)
{
    const bench_backend *be = s->be;
    bench_config cfg;
    void *db = NULL, *ctx = NULL;
    int rc, failed = 0;

    if (w == W_SYNC_MT && !mt_allowed(be, w)) {
        set_note(&s->r[w], R_SKIPPED, be->mt_note);
        return 0;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = dir;
    cfg.create = 1;
    cfg.durable = 1;
    cfg.cache_bytes = run->cache_bytes;
    cfg.records = run->sync_ops;
    cfg.key_size = run->key_size;
    cfg.value_size = run->value_size;
    cfg.tkrzw_buckets = run->tkrzw_buckets;
    cfg.threads = run->threads;
    fprintf(stderr, "  %s: %s\n", be->name, bench_workload_name(w));
    if (fresh_dir(dir) != 0 || open_ctx(be, &cfg, &db, &ctx) != 0)
        goto fail;
    if (w == W_SYNC)
        rc = run_single(be, ctx, w, run->sync_ops, run->sync_ops, &s->r[w]);
    else
        rc = run_threads(be, db, w, run->threads, run->sync_ops, run->sync_ops, &s->r[w]);
    close_ctx(be, db, ctx, rc == 0 ? &failed : NULL);
    if (rc != 0 || failed)
        goto fail;
    s->r[w].status = R_OK;
    return 0;
fail:
    set_note(&s->r[w], R_FAILED, bench_last_error());
    fprintf(stderr, "  %s: FAILED: %s\n", be->name, s->r[w].note);
    return -1;
}

/* Merge one round into the kept results: the fastest successful round of
 * each workload wins; a failure in any round is kept (and reported). */
static void keep_best(bench_store_run *best, const bench_store_run *cur)
{
    int w;
    for (w = 0; w < W_COUNT; w++) {
        const bench_result *c = &cur->r[w];
        bench_result *b = &best->r[w];
        double cb = b->seconds > 0 ? (double)b->ops / b->seconds : 0;
        double cc = c->seconds > 0 ? (double)c->ops / c->seconds : 0;
        if (b->status == R_FAILED)
            continue;
        if (c->status == R_FAILED || b->status == R_NOT_RUN ||
            (c->status == R_OK && (b->status != R_OK || cc > cb)))
            *b = *c;
    }
}

/* ---- command line ---------------------------------------------------------- */

static void usage(FILE *f)
{
    const bench_backend *const *b;
    fprintf(f,
            "usage: cellar_bench [options]\n"
            "  -n, --num N            records (default 1000000)\n"
            "      --key-size B       key bytes, 8..4096 (default 16)\n"
            "      --value-size B     value bytes (default 100)\n"
            "      --sync-ops M       durable commits for fill_sync (default 10000)\n"
            "  -t, --threads T        threads for read_mt, mixed, sync_mt (default 1:\n"
            "                         those three are then skipped unless named)\n"
            "  -s, --stores LIST      comma-separated subset of the stores below\n"
            "  -w, --workloads LIST   fill_random,read_random,read_missing,read_mt,overwrite,\n"
            "                         mixed,scan,delete_random,fill_sync,sync_mt,size\n"
            "      --cache SIZE       cache budget (k/M/G suffixes) for cellardb and the\n"
            "                         peers with their own cache (default: each store's own\n"
            "                         default; cellardb's grows with the data)\n"
            "      --tkrzw-buckets N  Tkrzw num_buckets, or 'auto' (2 x N); default Tkrzw's\n"
            "  -d, --dir DIR          where the stores are created (default /var/tmp)\n"
            "      --keep             keep the store files\n"
            "      --no-warm          no untimed read pass before read_random\n"
            "      --seed S           key/value seed\n"
            "      --repeat R         run every store R times, round-robin; keep the best\n"
            "      --csv FILE         also write results as CSV ('-' = stdout)\n"
            "      --json FILE        also write results as JSON ('-' = stdout)\n"
            "      --list             list the stores built in\n"
            "stores built in:");
    for (b = all_backends; *b != NULL; b++)
        fprintf(f, " %s", (*b)->name);
    fprintf(f, "\n");
    if (BENCH_MISSING_STORES[0] != '\0')
        fprintf(f, "not built (library missing at build time): %s\n", BENCH_MISSING_STORES);
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; end++; break;
    case 'm': case 'M': v *= 1048576.0; end++; break;
    case 'g': case 'G': v *= 1073741824.0; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int workload_by_name(const char *name)
{
    int w;
    for (w = 0; w < W_COUNT; w++)
        if (strcmp(name, bench_workload_name(w)) == 0)
            return w;
    if (strcmp(name, "fill") == 0)
        return W_FILL;
    if (strcmp(name, "read") == 0)
        return W_READ;
    if (strcmp(name, "delete") == 0)
        return W_DELETE;
    return -1;
}

static const bench_backend *backend_by_name(const char *name)
{
    const bench_backend *const *b;
    if (strcmp(name, "kc") == 0)
        name = "kyotocabinet";
    if (strcmp(name, "berkeleydb") == 0)
        name = "bdb";
    for (b = all_backends; *b != NULL; b++)
        if (strcmp((*b)->name, name) == 0)
            return *b;
    return NULL;
}

int main(int argc, char **argv)
{
    enum { O_KS = 256, O_VS, O_SYNC, O_CACHE, O_TKB, O_KEEP, O_NOWARM, O_SEED, O_CSV, O_JSON,
           O_LIST, O_REPEAT };
    static const struct option longopts[] = {
        {"num", required_argument, NULL, 'n'},
        {"key-size", required_argument, NULL, O_KS},
        {"value-size", required_argument, NULL, O_VS},
        {"sync-ops", required_argument, NULL, O_SYNC},
        {"threads", required_argument, NULL, 't'},
        {"stores", required_argument, NULL, 's'},
        {"workloads", required_argument, NULL, 'w'},
        {"cache", required_argument, NULL, O_CACHE},
        {"tkrzw-buckets", required_argument, NULL, O_TKB},
        {"dir", required_argument, NULL, 'd'},
        {"keep", no_argument, NULL, O_KEEP},
        {"no-warm", no_argument, NULL, O_NOWARM},
        {"seed", required_argument, NULL, O_SEED},
        {"csv", required_argument, NULL, O_CSV},
        {"json", required_argument, NULL, O_JSON},
        {"list", no_argument, NULL, O_LIST},
        {"repeat", required_argument, NULL, O_REPEAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bench_run run;
    const char *stores_arg = NULL, *workloads_arg = NULL, *csv = NULL, *json = NULL;
    const char *tkb_arg = NULL;
    const char *base = getenv("CELLAR_BENCH_DIR") ? getenv("CELLAR_BENCH_DIR") : "/var/tmp";
    uint64_t v, cache = 0;
    char rundir[4096], dir[4200];
    int opt, keep = 0, exit_code = 0, i, w, round;

    memset(&run, 0, sizeof run);
    run.n = 1000000;
    run.sync_ops = 10000;
    run.key_size = 16;
    run.value_size = 100;
    run.threads = 1;
    run.warm = 1;
    run.repeat = 1;
    while ((opt = getopt_long(argc, argv, "n:t:s:w:d:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (parse_size(optarg, &v) != 0 || v < 1 || v > UINT32_MAX) {
                fprintf(stderr, "cellar_bench: bad --num %s\n", optarg);
                return 2;
            }
            run.n = v;
            break;
        case O_KS:
            run.key_size = (size_t)strtoul(optarg, NULL, 10);
            break;
        case O_VS:
            run.value_size = (size_t)strtoul(optarg, NULL, 10);
            break;
        case O_SYNC:
            if (parse_size(optarg, &v) != 0 || v < 1 || v > UINT32_MAX) {
                fprintf(stderr, "cellar_bench: bad --sync-ops %s\n", optarg);
                return 2;
            }
            run.sync_ops = v;
            break;
        case 't':
            run.threads = atoi(optarg);
            break;
        case 's':
            stores_arg = optarg;
            break;
        case 'w':
            workloads_arg = optarg;
            break;
        case O_CACHE:
            if (parse_size(optarg, &cache) != 0 || cache < (1u << 20)) {
                fprintf(stderr, "cellar_bench: bad --cache %s (at least 1M)\n", optarg);
                return 2;
            }
            break;
        case O_TKB:
            tkb_arg = optarg;
            break;
        case 'd':
            base = optarg;
            break;
        case O_KEEP:
            keep = 1;
            break;
        case O_NOWARM:
            run.warm = 0;
            break;
        case O_SEED:
            g_seed = strtoull(optarg, NULL, 0);
            break;
        case O_REPEAT:
            run.repeat = atoi(optarg);
            if (run.repeat < 1 || run.repeat > 100) {
                fprintf(stderr, "cellar_bench: bad --repeat %s\n", optarg);
                return 2;
            }
            break;
        case O_CSV:
            csv = optarg;
            break;
        case O_JSON:
            json = optarg;
            break;
        case O_LIST: {
            const bench_backend *const *b;
            for (b = all_backends; *b != NULL; b++)
                printf("%s %s\n", (*b)->name, (*b)->version());
            return 0;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || run.key_size < 8 || run.key_size > MAX_KEY_SIZE ||
        run.value_size > MAX_VALUE_SIZE || run.threads < 1 || run.threads > 256) {
        fprintf(stderr, "cellar_bench: bad arguments (key size 8..%u, value size up to %u, "
                        "threads 1..256)\n", MAX_KEY_SIZE, MAX_VALUE_SIZE);
        usage(stderr);
        return 2;
    }
    g_ks = run.key_size;
    g_vs = run.value_size;
    {
        /* 0: every store with its own default cache, as users meet it */
        run.cache_bytes = (size_t)cache;
    }
    if (tkb_arg != NULL) {
        if (strcmp(tkb_arg, "auto") == 0)
            run.tkrzw_buckets = 2 * run.n;
        else if (parse_size(tkb_arg, &run.tkrzw_buckets) != 0) {
            fprintf(stderr, "cellar_bench: bad --tkrzw-buckets %s\n", tkb_arg);
            return 2;
        }
    }

    /* workloads */
    if (workloads_arg == NULL) {
        for (w = 0; w < W_COUNT; w++)
            run.selected[w] = 1;
        if (run.threads < 2)
            run.selected[W_READ_MT] = run.selected[W_MIXED] = run.selected[W_SYNC_MT] = 0;
    } else {
        char *list = strdup(workloads_arg), *tok, *save = NULL;
        for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            if (strcmp(tok, "all") == 0) {
                for (w = 0; w < W_COUNT; w++)
                    run.selected[w] = 1;
                continue;
            }
            if ((w = workload_by_name(tok)) < 0) {
                fprintf(stderr, "cellar_bench: unknown workload '%s'\n", tok);
                return 2;
            }
            run.selected[w] = 1;
        }
        free(list);
    }
    if (run.threads < 2 && run.selected[W_SYNC_MT]) {
        fprintf(stderr, "cellar_bench: sync_mt needs --threads 2 or more\n");
        return 2;
    }

    /* stores */
    run.stores = calloc(sizeof all_backends / sizeof all_backends[0], sizeof *run.stores);
    if (stores_arg == NULL) {
        for (i = 0; all_backends[i] != NULL; i++)
            run.stores[run.nstores++].be = all_backends[i];
    } else {
        char *list = strdup(stores_arg), *tok, *save = NULL;
        for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            const bench_backend *be = backend_by_name(tok);
            if (be == NULL) {
                fprintf(stderr, "cellar_bench: store '%s' is not built in\n", tok);
                usage(stderr);
                return 2;
            }
            for (i = 0; i < run.nstores && run.stores[i].be != be; i++)
                ;
            if (i == run.nstores)
                run.stores[run.nstores++].be = be;
        }
        free(list);
    }
    if (run.nstores == 0) {
        fprintf(stderr, "cellar_bench: no store to run\n");
        return 2;
    }

    snprintf(rundir, sizeof rundir, "%s/cellar_bench.%ld", base, (long)getpid());
    if (fresh_dir(rundir) != 0) {
        fprintf(stderr, "cellar_bench: %s\n", bench_last_error());
        return 2;
    }
    run.dir = rundir;
    bench_machine_info(&run);
    make_data(run.n > run.sync_ops ? run.n : run.sync_ops);
    fprintf(stderr, "cellar_bench: N=%llu, %d store(s), in %s\n",
            (unsigned long long)run.n, run.nstores, rundir);

    /* Rounds go over every store in turn, so a burst of load from elsewhere
     * on a shared machine hits one round of each store, not all of one. */
    for (round = 0; round < run.repeat; round++) {
        for (i = 0; i < run.nstores; i++) {
            bench_store_run cur;
            int main_needed = run.selected[W_SIZE];
            memset(&cur, 0, sizeof cur);
            cur.be = run.stores[i].be;
            for (w = W_FILL; w <= W_DELETE; w++)
                main_needed |= run.selected[w];
            if (run.repeat > 1 && i == 0)
                fprintf(stderr, "round %d of %d\n", round + 1, run.repeat);
            snprintf(dir, sizeof dir, "%s/%s", rundir, cur.be->name);
            if (main_needed && run_main_phase(&run, &cur, dir) != 0)
                exit_code = 1;
            if (!keep)
                rm_rf(dir);
            snprintf(dir, sizeof dir, "%s/%s-sync", rundir, cur.be->name);
            if (run.selected[W_SYNC] && run_sync_phase(&run, &cur, dir, W_SYNC) != 0)
                exit_code = 1;
            if (!keep)
                rm_rf(dir);
            snprintf(dir, sizeof dir, "%s/%s-sync-mt", rundir, cur.be->name);
            if (run.selected[W_SYNC_MT] && run_sync_phase(&run, &cur, dir, W_SYNC_MT) != 0)
                exit_code = 1;
            if (!keep)
                rm_rf(dir);
            keep_best(&run.stores[i], &cur);
        }
    }
    if (!keep)
        rm_rf(rundir);
    getloadavg(run.load_end, 3);

    {
        int to_stdout = (csv != NULL && strcmp(csv, "-") == 0) ||
                        (json != NULL && strcmp(json, "-") == 0);
        bench_report_text(&run, to_stdout ? stderr : stdout);
    }
    if (csv != NULL && bench_report_csv(&run, csv) != 0)
        exit_code = 1;
    if (json != NULL && bench_report_json(&run, json) != 0)
        exit_code = 1;
    free(run.stores);
    free(g_pool);
    free(g_perm);
    return exit_code;
}
