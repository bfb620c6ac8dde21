/*
 * test_large.c - data far larger than the cache, and the largest value.
 *
 * - 10,000,000 records (8-byte keys and values) through a 32 MiB cache, all
 *   read back; peak RSS at most 100 MiB. Once in bucket order (batches),
 *   once in random order with a commit per key (2,000,000 records; ten
 *   million under CELLAR_LONG_TESTS).
 * - A 1 GiB value: put, get, compare, reopen, read again without a copy;
 *   peak RSS at most 2.5x the value size.
 *
 * Each part runs in a forked child, so the peak RSS measured (VmHWM, reset
 * through /proc/self/clear_refs where the kernel allows it) is its own; the
 * child reports its figures through a pipe and the test asserts them.
 * Times are printed, never asserted.
 */
#include "testutil.h"
#include "db/db_int.h" /* the index's keyed hash, to order keys by bucket */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under a sanitizer the shadow memory makes RSS meaningless and every
 * operation slower: 1,000,000 records and a 64 MiB value then, and no RSS
 * assertion. */
#define SANITIZED TU_SANITIZED

typedef struct result {
    int rc;
    char msg[512];
    long hwm_kb, put_kb, get_kb;
    double t1, t2, t3;
    uint64_t n, extra;
} result;

/* The files of this suite are large: remove them when a test is done. */
static void remove_db(const char *path)
{
    char wal[1024];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(path);
    unlink(wal);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reset the peak RSS to the current RSS (Linux >= 4.0); ignore failure. */
static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* Peak RSS in KiB: VmHWM, or ru_maxrss where /proc is missing. */
static long peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
                break;
        fclose(f);
        if (kb > 0)
            return kb;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void set_fail(result *r, int rc, const char *what)
{
    r->rc = rc ? rc : CELLAR_EINTERNAL;
    snprintf(r->msg, sizeof r->msg, "%s -> %s: %s", what, cellar_errname(rc), cellar_error_last()->message);
}

/* Run fn in a forked child and return its result. */
static result in_child(void (*fn)(result *, void *), void *arg)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        result r;
        memset(&r, 0, sizeof r);
        reset_peak();
        fn(&r, arg);
        r.hwm_kb = peak_kb();
        ssize_t w = write(p[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(p[1]);
    result r;
    memset(&r, 0, sizeof r);
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(p[0], (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(p[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == sizeof r, "child died (status 0x%x)", st);
    return r;
}

/* ======================================================================== */
/* 10,000,000 records through a 32 MiB cache                                 */
/* ======================================================================== */

/* A bijection on 64-bit integers, so keys are distinct and scattered. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x ^= x >> 33;
    return x;
}

typedef struct many_arg {
    const char *path;
    uint64_t n;
    int random; /* one put per key in record order (random keys: random buckets) */
} many_arg;

#define BATCH 10000u
#define CHUNKS 8u

/*
 * Order of the fill and of the read-back. Inserting 10M keys in random order
 * through a 32 MiB cache dirties a different page for nearly every insert, and
 * every dirty page costs a page image in the log plus a write in place at the
 * next checkpoint: about 8 KiB of I/O per insert, minutes here. That cost is
 * the benchmark's business (tests/bench, fill_random with a small --cache);
 * this test is about memory staying bounded and every record coming back. So
 * keys go in CHUNKS chunks, each sorted by its position in the index (the
 * bit-reversed hash, the order in which buckets cover the hash space): each
 * chunk sweeps the buckets once. The read-back does the same. The chunk's
 * order array is 8 bytes per key of the chunk (10 MiB for 10M keys) and is
 * counted in the RSS bound.
 */
typedef struct ord {
    uint32_t pos, idx;
} ord;

static uint32_t rev32(uint32_t x)
{
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
    x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
    return (x >> 16) | (x << 16);
}

static int ord_cmp(const void *a, const void *b)
{
    uint32_t x = ((const ord *)a)->pos, y = ((const ord *)b)->pos;
    return x < y ? -1 : x > y;
}

/* Fill o[] with the chunk [lo, hi) of record numbers, sorted by index position. */
static void chunk_order(cellar_db *db, uint64_t lo, uint64_t hi, ord *o)
{
    for (uint64_t i = lo; i < hi; i++) {
        uint64_t k = mix(i);
        o[i - lo].pos = rev32((uint32_t)cellar_hash_key(db->inst->hash, &k, 8));
        o[i - lo].idx = (uint32_t)(i - lo);
    }
    qsort(o, (size_t)(hi - lo), sizeof *o, ord_cmp);
}

static void many_child(result *r, void *p)
{
    many_arg *a = p;
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.cache_size = 32u << 20;
    int rc = cellar_open(&db, a->path, &o);
    if (rc != CELLAR_OK) {
        set_fail(r, rc, "open");
        return;
    }
    static uint64_t kb[BATCH], vb[BATCH];
    static cellar_slice ks[BATCH], vs[BATCH];
    static unsigned char found[BATCH];
    double t0 = now_s();
    uint64_t per = (a->n + CHUNKS - 1) / CHUNKS;
    ord *order = malloc((size_t)per * sizeof *order);
    if (!order) {
        set_fail(r, CELLAR_ENOMEM, "order array");
        cellar_close(db);
        return;
    }
    for (uint64_t i = 0; a->random && i < a->n; i++) {
        uint64_t k = mix(i), v = ~i;
        if ((rc = cellar_put(db, &k, 8, &v, 8)) != CELLAR_OK) {
            set_fail(r, rc, "put");
            free(order);
            cellar_close(db);
            return;
        }
    }
    for (uint64_t lo = 0; !a->random && lo < a->n; lo += per) {
        uint64_t hi = lo + per < a->n ? lo + per : a->n;
        chunk_order(db, lo, hi, order);
        for (uint64_t i = lo; i < hi; i += BATCH) {
            size_t m = (size_t)(hi - i < BATCH ? hi - i : BATCH);
            for (size_t j = 0; j < m; j++) {
                uint64_t rec = lo + order[i - lo + j].idx;
                kb[j] = mix(rec);
                vb[j] = ~rec;
                ks[j] = (cellar_slice){ &kb[j], 8 };
                vs[j] = (cellar_slice){ &vb[j], 8 };
            }
            if ((rc = cellar_put_many(db, m, ks, vs)) != CELLAR_OK) {
                set_fail(r, rc, "put_many");
                free(order);
                cellar_close(db);
                return;
            }
        }
    }
    uint64_t count = 0;
    if ((rc = cellar_count(db, &count)) != CELLAR_OK || count != a->n) {
        set_fail(r, rc, "count after fill");
        snprintf(r->msg + strlen(r->msg), 64, " (count %" PRIu64 ")", count);
        cellar_close(db);
        return;
    }
    double t1 = now_s();
    /* read every record back with single gets (the path most callers use) */
    for (uint64_t n = 0; n < a->n; n++) {
        uint64_t lo = n / per * per, hi = lo + per < a->n ? lo + per : a->n;
        if (n == lo && !a->random)
            chunk_order(db, lo, hi, order);
        /* random: a stride through the records, so buckets come in random order */
        uint64_t i = a->random ? (n * 2654435761u) % a->n : lo + order[n - lo].idx;
        uint64_t k = mix(i), v = 0;
        void *out = NULL;
        size_t ol = 0;
        rc = cellar_get(db, &k, 8, &out, &ol);
        if (rc != CELLAR_OK || ol != 8) {
            set_fail(r, rc, "get");
            snprintf(r->msg + strlen(r->msg), 64, " (record %" PRIu64 ")", i);
            cellar_free(out);
            free(order);
            cellar_close(db);
            return;
        }
        memcpy(&v, out, 8);
        cellar_free(out);
        if (v != ~i) {
            set_fail(r, CELLAR_EINTERNAL, "get: wrong value");
            free(order);
            cellar_close(db);
            return;
        }
    }
    free(order);
    double t2 = now_s();
    if ((rc = cellar_close(db)) != CELLAR_OK) {
        set_fail(r, rc, "close");
        return;
    }
    /* reopen: read a tenth back again in batches, plus misses */
    if ((rc = cellar_open(&db, a->path, &o)) != CELLAR_OK) {
        set_fail(r, rc, "reopen");
        return;
    }
    for (uint64_t i = 0; i < a->n; i += 10 * BATCH) {
        size_t m = (size_t)(a->n - i < BATCH ? a->n - i : BATCH);
        for (size_t j = 0; j < m; j++) {
            kb[j] = mix(i + j);
            ks[j] = (cellar_slice){ &kb[j], 8 };
        }
        if ((rc = cellar_get_many(db, m, ks, vs, found)) != CELLAR_OK) {
            set_fail(r, rc, "get_many");
            cellar_close(db);
            return;
        }
        for (size_t j = 0; j < m; j++) {
            uint64_t v = 0;
            int good = found[j] && vs[j].len == 8;
            if (good)
                memcpy(&v, vs[j].data, 8);
            cellar_free((void *)vs[j].data);
            if (!good || v != ~(i + j)) {
                set_fail(r, CELLAR_EINTERNAL, "get_many: record missing or wrong");
                cellar_close(db);
                return;
            }
        }
    }
    for (uint64_t i = a->n; i < a->n + 100000; i++) {
        uint64_t k = mix(i);
        if ((rc = cellar_exists(db, &k, 8)) != CELLAR_ENOTFOUND) {
            set_fail(r, rc, "exists of an absent key");
            cellar_close(db);
            return;
        }
    }
    cellar_stats st = { .version = CELLAR_STATS_VERSION };
    if ((rc = cellar_stats_get(db, &st)) == CELLAR_OK && st.records != a->n)
        rc = CELLAR_EINTERNAL;
    r->extra = st.file_size;
    if (rc != CELLAR_OK) {
        set_fail(r, rc, "stats");
        cellar_close(db);
        return;
    }
    double t3 = now_s();
    if ((rc = cellar_close(db)) != CELLAR_OK) {
        set_fail(r, rc, "close");
        return;
    }
    r->t1 = t1 - t0;
    r->t2 = t2 - t1;
    r->t3 = t3 - t2;
    r->n = a->n;
}

/* Run many_child on n records (long_n under CELLAR_LONG_TESTS), print the
 * figures, assert the peak RSS. */
static void many_test(const char *file, uint64_t n, uint64_t long_n, int random)
{
    many_arg a = { tu_path(file), SANITIZED ? n / 10 : n, random };
    if (tu_long() && !SANITIZED)
        a.n = long_n;
    result r = in_child(many_child, &a);
    remove_db(a.path);
    ck_assert_msg(r.rc == CELLAR_OK, "%s", r.msg);
    printf("large%s: %" PRIu64 " records, 32 MiB cache: fill %.1f s (%.0f/s), get %.1f s, reopen + get_many "
           "%.1f s; file %.0f MiB; peak RSS %.1f MiB%s\n",
           random ? ", random order, a commit per key" : ", bucket order", r.n, r.t1, (double)r.n / r.t1, r.t2,
           r.t3, (double)r.extra / 1048576.0, (double)r.hwm_kb / 1024.0,
           SANITIZED ? " (sanitizer: not asserted)" : "");
    if (!SANITIZED)
        ck_assert_msg(r.hwm_kb <= 100 * 1024, "peak RSS %ld KiB is over 100 MiB", r.hwm_kb);
}

START_TEST(test_ten_million_keys_small_cache) { many_test("large.cellar", 10000000u, 20000000u, 0); }
END_TEST

/* Random order, one commit per key, as users write: every insert lands in
 * a bucket the 32 MiB cache most likely does not hold, so dirty pages are
 * written back all the time (shadow paging, no checkpoint needed for it).
 * 2,000,000 records (10,000,000 under CELLAR_LONG_TESTS), all read back in
 * another random order; peak RSS at most 100 MiB. */
START_TEST(test_random_order_small_cache) { many_test("random.cellar", 2000000u, 10000000u, 1); }
END_TEST

/* ======================================================================== */
/* a 1 GiB value                                                             */
/* ======================================================================== */

typedef struct big_arg {
    const char *path;
    size_t size;
} big_arg;

static void fill_pattern(uint8_t *b, size_t n)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        x += 0x9E3779B97F4A7C15ULL;
        uint64_t y = mix(x);
        memcpy(b + i, &y, 8);
    }
    for (; i < n; i++)
        b[i] = (uint8_t)i;
}

typedef struct visit_cmp {
    const uint8_t *want;
    size_t len;
} visit_cmp;

static int cmp_visit(const void *val, size_t len, void *payload)
{
    visit_cmp *c = payload;
    return len == c->len && memcmp(val, c->want, len) == 0 ? 0 : 1;
}

static void big_child(result *r, void *p)
{
    big_arg *a = p;
    uint8_t *val = malloc(a->size);
    if (!val) {
        set_fail(r, CELLAR_ENOMEM, "malloc");
        return;
    }
    fill_pattern(val, a->size);
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.cache_size = 16u << 20;
    int rc = cellar_open(&db, a->path, &o);
    if (rc != CELLAR_OK) {
        set_fail(r, rc, "open");
        free(val);
        return;
    }
    reset_peak();
    double t0 = now_s();
    if ((rc = cellar_put(db, "big", 3, val, a->size)) != CELLAR_OK) {
        set_fail(r, rc, "put");
        cellar_close(db);
        free(val);
        return;
    }
    double t1 = now_s();
    r->put_kb = peak_kb();
    reset_peak();
    void *out = NULL;
    size_t ol = 0;
    rc = cellar_get(db, "big", 3, &out, &ol);
    if (rc != CELLAR_OK || ol != a->size || memcmp(out, val, ol) != 0) {
        set_fail(r, rc, rc ? "get" : "get: value differs");
        cellar_free(out);
        cellar_close(db);
        free(val);
        return;
    }
    r->get_kb = peak_kb();
    cellar_free(out);
    double t2 = now_s();
    if ((rc = cellar_close(db)) != CELLAR_OK || (rc = cellar_open(&db, a->path, &o)) != CELLAR_OK) {
        set_fail(r, rc, "close and reopen");
        free(val);
        return;
    }
    visit_cmp c = { val, a->size };
    rc = cellar_get_visit(db, "big", 3, cmp_visit, &c);
    if (rc != CELLAR_OK) {
        set_fail(r, rc, rc == 1 ? "get_visit after reopen: value differs" : "get_visit after reopen");
        cellar_close(db);
        free(val);
        return;
    }
    /* replace it with a small value: the extent is freed for reuse */
    if ((rc = cellar_put(db, "big", 3, "small", 5)) != CELLAR_OK ||
        (rc = cellar_check(db, NULL, NULL, NULL, NULL)) != CELLAR_OK) {
        set_fail(r, rc, "replace and check");
        cellar_close(db);
        free(val);
        return;
    }
    double t3 = now_s();
    rc = cellar_close(db);
    if (rc != CELLAR_OK)
        set_fail(r, rc, "close");
    free(val);
    r->t1 = t1 - t0;
    r->t2 = t2 - t1;
    r->t3 = t3 - t2;
    r->n = a->size;
}

START_TEST(test_one_gib_value)
{
    big_arg a = { tu_path("big.cellar"), SANITIZED ? (size_t)64 << 20 : (size_t)CELLAR_MAX_VALUE_SIZE };
    result r = in_child(big_child, &a);
    remove_db(a.path);
    ck_assert_msg(r.rc == CELLAR_OK, "%s", r.msg);
    double mib = (double)a.size / 1048576.0;
    printf("large: %.0f MiB value: put %.1f s, get + compare %.1f s, reopen + visit + replace %.1f s; "
           "peak RSS during put %.2fx, during get (caller's copy + result) %.2fx, overall %.2fx the value%s\n",
           mib, r.t1, r.t2, r.t3, (double)r.put_kb / 1024.0 / mib, (double)r.get_kb / 1024.0 / mib,
           (double)r.hwm_kb / 1024.0 / mib, SANITIZED ? " (sanitizer: not asserted)" : "");
    if (!SANITIZED) {
        /* the caller holds the value (1x) during put, and the value and
         * the result (2x) during get: the library may add at most 0.5x */
        ck_assert_msg((double)r.put_kb * 1024.0 <= 2.5 * (double)a.size,
                      "peak RSS during put %ld KiB is over 2.5x %zu bytes", r.put_kb, a.size);
        ck_assert_msg((double)r.get_kb * 1024.0 <= 2.5 * (double)a.size,
                      "peak RSS during get %ld KiB is over 2.5x %zu bytes", r.get_kb, a.size);
        ck_assert_msg((double)r.hwm_kb * 1024.0 <= 2.5 * (double)a.size, "peak RSS %ld KiB is over 2.5x %zu bytes",
                      r.hwm_kb, a.size);
    }
}
END_TEST

static Suite *suite(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("large");
    /* two cases, so that CK_RUN_CASE=records or CK_RUN_CASE=value runs one */
    TCase *tc = tcase_create("records");
    tcase_set_timeout(tc, 1500);
    tcase_add_test(tc, test_ten_million_keys_small_cache);
    tcase_add_test(tc, test_random_order_small_cache);
    suite_add_tcase(s, tc);
    tc = tcase_create("value");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_one_gib_value);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
