/*
 * test_threads.c - one cellar_db handle shared by many threads: a mixed
 * stress test (get, put, delete, transactions, iteration) whose values carry
 * a checksum of their key, exact counters through cellar_incr and through
 * read-increment-write transactions (optimistic conflict detection),
 * exactly-once iteration while another thread forces bucket splits and
 * directory doubling, closing a db under live transactions and iterators,
 * the in-process registry (one file opened twice shares one database), and
 * group commit with sync=full.
 *
 * Worker threads never call ck_assert (Check reports from the test's own
 * thread): they record the first failure in a shared slot that the test
 * asserts after joining them.
 */
#include "testutil.h"

#include "cellardb_vfs.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Under a sanitizer every operation costs 5-20x more: the sizes below are
 * scaled down then so that the suite stays within about a minute. */
#define SANITIZED TU_SANITIZED

static unsigned scale(unsigned normal, unsigned sanitized)
{
    unsigned n = SANITIZED ? sanitized : normal;
    return tu_long() ? n * 4 : n;
}


/* ---- the first failure seen by any worker ---- */

static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;
static char fail_msg[512];
static atomic_int fail_count;

static void tfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tfail(const char *fmt, ...)
{
    if (atomic_fetch_add(&fail_count, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        pthread_mutex_lock(&fail_mu);
        vsnprintf(fail_msg, sizeof fail_msg, fmt, ap);
        pthread_mutex_unlock(&fail_mu);
        va_end(ap);
    }
}

static void assert_no_failure(void)
{
    int n = atomic_load(&fail_count);
    ck_assert_msg(n == 0, "%d failure(s) in worker threads; first: %s", n, fail_msg);
}

static void reset_failures(void)
{
    atomic_store(&fail_count, 0);
    fail_msg[0] = 0;
}

/* ---- values that carry a checksum of their key ---- */

static uint64_t fnv64(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* value = u64 fnv(key) || u32 len of the tail || tail bytes derived from
 * fnv(key) and `salt` || u32 fnv of the tail. Any torn or misplaced value
 * fails check_value. */
static size_t make_value(uint8_t *out, const void *key, size_t klen, uint32_t salt, size_t tail)
{
    uint64_t h = fnv64(key, klen);
    memcpy(out, &h, 8);
    uint32_t t = (uint32_t)tail;
    memcpy(out + 8, &t, 4);
    uint64_t x = h ^ ((uint64_t)salt * 0x9E3779B97F4A7C15ULL);
    for (size_t i = 0; i < tail; i++) {
        x ^= x >> 13;
        x *= 0xff51afd7ed558ccdULL;
        out[12 + i] = (uint8_t)(x >> 56);
    }
    uint32_t c = (uint32_t)fnv64(out + 12, tail);
    memcpy(out + 12 + tail, &c, 4);
    return 16 + tail;
}

static int check_value(const void *key, size_t klen, const uint8_t *v, size_t vlen)
{
    if (vlen < 16)
        return 0;
    uint64_t h;
    uint32_t t, c;
    memcpy(&h, v, 8);
    memcpy(&t, v + 8, 4);
    if (h != fnv64(key, klen) || (size_t)t + 16 != vlen)
        return 0;
    memcpy(&c, v + 12 + t, 4);
    return c == (uint32_t)fnv64(v + 12, t);
}

static cellar_options opts_sync(int sync)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.sync = sync;
    o.cache_size = 8u << 20;
    return o;
}

/* ======================================================================== */
/* 8-thread mixed stress                                                     */
/* ======================================================================== */

#define STRESS_THREADS 8
#define STRESS_KEYS 3000

typedef struct stress_arg {
    cellar_db *db;
    unsigned id;
    uint64_t deadline;
    unsigned max_ops;
    uint64_t ops, conflicts, iter_records;
} stress_arg;

static size_t stress_key(char *k, unsigned i) { return (size_t)sprintf(k, "stress-key-%05u", i); }

static void stress_get(stress_arg *a, tu_rng *r)
{
    char k[32];
    size_t kl = stress_key(k, (unsigned)tu_below(r, STRESS_KEYS));
    void *v = NULL;
    size_t vl = 0;
    int rc = cellar_get(a->db, k, kl, &v, &vl);
    if (rc == CELLAR_OK) {
        if (!check_value(k, kl, v, vl))
            tfail("get %s: value of %zu bytes does not belong to the key", k, vl);
        cellar_free(v);
    } else if (rc != CELLAR_ENOTFOUND) {
        tfail("get %s -> %s: %s", k, cellar_errname(rc), cellar_error_last()->message);
    }
}

static void stress_put(stress_arg *a, tu_rng *r, uint8_t *buf)
{
    char k[32];
    size_t kl = stress_key(k, (unsigned)tu_below(r, STRESS_KEYS));
    /* mostly small values, some large enough to go out of line */
    size_t tail = tu_below(r, 10) == 0 ? 2000 + tu_below(r, 70000) : tu_below(r, 200);
    size_t vl = make_value(buf, k, kl, (uint32_t)tu_next(r), tail);
    int rc = cellar_put(a->db, k, kl, buf, vl);
    if (rc != CELLAR_OK)
        tfail("put %s -> %s: %s", k, cellar_errname(rc), cellar_error_last()->message);
}

static void stress_del(stress_arg *a, tu_rng *r)
{
    char k[32];
    size_t kl = stress_key(k, (unsigned)tu_below(r, STRESS_KEYS));
    int rc = cellar_delete(a->db, k, kl);
    if (rc != CELLAR_OK && rc != CELLAR_ENOTFOUND)
        tfail("delete %s -> %s: %s", k, cellar_errname(rc), cellar_error_last()->message);
}

static void stress_txn(stress_arg *a, tu_rng *r, uint8_t *buf)
{
    cellar_txn *t = NULL;
    int rc = cellar_txn_begin(&t, a->db, 0);
    if (rc != CELLAR_OK) {
        tfail("txn_begin -> %s", cellar_errname(rc));
        return;
    }
    for (int i = 0; i < 4; i++) {
        char k[32];
        size_t kl = stress_key(k, (unsigned)tu_below(r, STRESS_KEYS));
        unsigned what = (unsigned)tu_below(r, 3);
        if (what == 0) {
            void *v = NULL;
            size_t vl = 0;
            rc = cellar_txn_get(t, k, kl, &v, &vl);
            if (rc == CELLAR_OK) {
                if (!check_value(k, kl, v, vl))
                    tfail("txn_get %s: value does not belong to the key", k);
                cellar_free(v);
            } else if (rc != CELLAR_ENOTFOUND) {
                tfail("txn_get %s -> %s", k, cellar_errname(rc));
            }
        } else if (what == 1) {
            size_t vl = make_value(buf, k, kl, (uint32_t)tu_next(r), tu_below(r, 300));
            rc = cellar_txn_put(t, k, kl, buf, vl);
            if (rc != CELLAR_OK)
                tfail("txn_put %s -> %s", k, cellar_errname(rc));
            /* read-your-writes */
            void *v = NULL;
            size_t gl = 0;
            rc = cellar_txn_get(t, k, kl, &v, &gl);
            if (rc != CELLAR_OK || gl != vl || memcmp(v, buf, vl) != 0)
                tfail("txn_get %s after txn_put -> %s", k, cellar_errname(rc));
            cellar_free(v);
        } else {
            rc = cellar_txn_delete(t, k, kl);
            if (rc != CELLAR_OK && rc != CELLAR_ENOTFOUND)
                tfail("txn_delete %s -> %s", k, cellar_errname(rc));
        }
    }
    if (tu_below(r, 8) == 0) {
        cellar_txn_abort(t);
        return;
    }
    rc = cellar_txn_commit(t);
    if (rc == CELLAR_ECONFLICT)
        a->conflicts++;
    else if (rc != CELLAR_OK)
        tfail("txn_commit -> %s: %s", cellar_errname(rc), cellar_error_last()->message);
}

static void stress_iter(stress_arg *a, tu_rng *r)
{
    cellar_iter *it = NULL;
    int rc = cellar_iter_open(&it, a->db);
    if (rc != CELLAR_OK) {
        tfail("iter_open -> %s", cellar_errname(rc));
        return;
    }
    unsigned limit = (unsigned)(tu_below(r, 4) == 0 ? STRESS_KEYS * 2 : 100);
    for (unsigned i = 0; i < limit; i++) {
        const void *k, *v;
        size_t kl, vl;
        rc = cellar_iter_next(it, &k, &kl, &v, &vl);
        if (rc == CELLAR_ENOTFOUND)
            break;
        if (rc != CELLAR_OK) {
            tfail("iter_next -> %s: %s", cellar_errname(rc), cellar_error_last()->message);
            break;
        }
        a->iter_records++;
        if (kl < 11 || memcmp(k, "stress-key-", 11) != 0) {
            if (!(kl > 4 && memcmp(k, "ctr-", 4) == 0))
                tfail("iter_next: unexpected key of %zu bytes", kl);
            continue;
        }
        if (!check_value(k, kl, v, vl))
            tfail("iter_next: value of %zu bytes does not belong to its key", vl);
    }
    cellar_iter_close(it);
}

static void *stress_main(void *p)
{
    stress_arg *a = p;
    tu_rng r = { 0x1234567ULL + a->id * 7919ULL };
    uint8_t *buf = malloc(80000);
    if (!buf) {
        tfail("malloc");
        return NULL;
    }
    while (a->ops < a->max_ops && (a->ops % 64 || tu_now_ms() < a->deadline)) {
        unsigned op = (unsigned)tu_below(&r, 100);
        if (op < 45)
            stress_get(a, &r);
        else if (op < 70)
            stress_put(a, &r, buf);
        else if (op < 80)
            stress_del(a, &r);
        else if (op < 92)
            stress_txn(a, &r, buf);
        else if (op < 95)
            stress_iter(a, &r);
        else {
            char k[32];
            size_t kl = stress_key(k, (unsigned)tu_below(&r, STRESS_KEYS));
            int rc = cellar_exists(a->db, k, kl);
            if (rc != CELLAR_OK && rc != CELLAR_ENOTFOUND)
                tfail("exists -> %s", cellar_errname(rc));
        }
        a->ops++;
    }
    free(buf);
    return NULL;
}

START_TEST(test_stress_8_threads)
{
    reset_failures();
    cellar_db *db;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    o.cache_size = 2u << 20; /* small: evictions and checkpoints under load */
    o.wal_limit = 4u << 20;
    TU_OK(cellar_open(&db, tu_path("stress.cellar"), &o));

    pthread_t th[STRESS_THREADS];
    stress_arg args[STRESS_THREADS];
    uint64_t t0 = tu_now_ms();
    unsigned secs = scale(4, 6);
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        args[i] = (stress_arg){ db, i, t0 + secs * 1000u, scale(40000, 4000), 0, 0, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, stress_main, &args[i]), 0);
    }
    uint64_t ops = 0, conflicts = 0, recs = 0;
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        pthread_join(th[i], NULL);
        ops += args[i].ops;
        conflicts += args[i].conflicts;
        recs += args[i].iter_records;
    }
    printf("threads: stress %" PRIu64 " ops in %" PRIu64 " ms (%" PRIu64 " conflicts, %" PRIu64
           " records iterated)\n", ops, tu_now_ms() - t0, conflicts, recs);
    assert_no_failure();

    /* every surviving record is intact, count agrees with iteration */
    uint64_t count = 0, seen = 0;
    TU_OK(cellar_count(db, &count));
    cellar_iter *it;
    TU_OK(cellar_iter_open(&it, db));
    const void *k, *v;
    size_t kl, vl;
    int rc;
    while ((rc = cellar_iter_next(it, &k, &kl, &v, &vl)) == CELLAR_OK) {
        ck_assert(check_value(k, kl, v, vl));
        seen++;
    }
    TU_RC(rc, CELLAR_ENOTFOUND);
    cellar_iter_close(it);
    ck_assert_uint_eq(seen, count);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));

    TU_OK(cellar_open(&db, tu_path("stress.cellar"), &o));
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    uint64_t count2 = 0;
    TU_OK(cellar_count(db, &count2));
    ck_assert_uint_eq(count2, count);
    TU_OK(cellar_close(db));
}
END_TEST

/* ======================================================================== */
/* exact counters                                                            */
/* ======================================================================== */

typedef struct ctr_arg {
    cellar_db *db;
    unsigned m;
    uint64_t retries;
} ctr_arg;

static void *incr_main(void *p)
{
    ctr_arg *a = p;
    for (unsigned i = 0; i < a->m; i++) {
        int64_t out = 0;
        int rc = cellar_incr(a->db, "ctr-incr", 8, 1, &out);
        if (rc != CELLAR_OK) {
            tfail("incr -> %s: %s", cellar_errname(rc), cellar_error_last()->message);
            return NULL;
        }
        if (out < 1)
            tfail("incr returned %" PRId64, out);
    }
    return NULL;
}

static int64_t read_int(cellar_db *db, const char *key)
{
    void *v = NULL;
    size_t vl = 0;
    TU_OK(cellar_get(db, key, strlen(key), &v, &vl));
    char buf[32];
    ck_assert_uint_lt(vl, sizeof buf);
    memcpy(buf, v, vl);
    buf[vl] = 0;
    cellar_free(v);
    return strtoll(buf, NULL, 10);
}

START_TEST(test_incr_exact)
{
    reset_failures();
    cellar_db *db;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    TU_OK(cellar_open(&db, tu_path("incr.cellar"), &o));
    enum { N = 8 };
    unsigned m = scale(2000, 300);
    pthread_t th[N];
    ctr_arg args[N];
    for (unsigned i = 0; i < N; i++) {
        args[i] = (ctr_arg){ db, m, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, incr_main, &args[i]), 0);
    }
    for (unsigned i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    assert_no_failure();
    ck_assert_int_eq(read_int(db, "ctr-incr"), (int64_t)N * m);
    int64_t out = -1;
    TU_OK(cellar_incr(db, "ctr-incr", 8, 0, &out));
    ck_assert_int_eq(out, (int64_t)N * m);
    TU_OK(cellar_close(db));
    TU_OK(cellar_open(&db, tu_path("incr.cellar"), &o));
    ck_assert_int_eq(read_int(db, "ctr-incr"), (int64_t)N * m);
    TU_OK(cellar_close(db));
}
END_TEST

static void *txn_incr_main(void *p)
{
    ctr_arg *a = p;
    for (unsigned i = 0; i < a->m; i++) {
        for (;;) {
            cellar_txn *t = NULL;
            int rc = cellar_txn_begin(&t, a->db, 0);
            if (rc != CELLAR_OK) {
                tfail("txn_begin -> %s", cellar_errname(rc));
                return NULL;
            }
            void *v = NULL;
            size_t vl = 0;
            long long n = 0;
            rc = cellar_txn_get(t, "ctr-txn", 7, &v, &vl);
            if (rc == CELLAR_OK) {
                char buf[32];
                if (vl >= sizeof buf) {
                    tfail("counter value of %zu bytes", vl);
                    cellar_free(v);
                    cellar_txn_abort(t);
                    return NULL;
                }
                memcpy(buf, v, vl);
                buf[vl] = 0;
                n = strtoll(buf, NULL, 10);
                cellar_free(v);
            } else if (rc != CELLAR_ENOTFOUND) {
                tfail("txn_get -> %s", cellar_errname(rc));
                cellar_txn_abort(t);
                return NULL;
            }
            char out[32];
            int ol = snprintf(out, sizeof out, "%lld", n + 1);
            rc = cellar_txn_put(t, "ctr-txn", 7, out, (size_t)ol);
            if (rc != CELLAR_OK) {
                tfail("txn_put -> %s", cellar_errname(rc));
                cellar_txn_abort(t);
                return NULL;
            }
            rc = cellar_txn_commit(t);
            if (rc == CELLAR_OK)
                break;
            if (rc != CELLAR_ECONFLICT) {
                tfail("txn_commit -> %s: %s", cellar_errname(rc), cellar_error_last()->message);
                return NULL;
            }
            a->retries++;
        }
    }
    return NULL;
}

START_TEST(test_txn_read_increment_write_exact)
{
    reset_failures();
    cellar_db *db;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    TU_OK(cellar_open(&db, tu_path("txnctr.cellar"), &o));
    enum { N = 8 };
    unsigned m = scale(1000, 150);
    pthread_t th[N];
    ctr_arg args[N];
    for (unsigned i = 0; i < N; i++) {
        args[i] = (ctr_arg){ db, m, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, txn_incr_main, &args[i]), 0);
    }
    uint64_t retries = 0;
    for (unsigned i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        retries += args[i].retries;
    }
    assert_no_failure();
    printf("threads: %u x %u read-increment-write transactions, %" PRIu64 " conflict retries\n", N, m,
           retries);
    /* without conflict detection lost updates would leave it short */
    ck_assert_int_eq(read_int(db, "ctr-txn"), (int64_t)N * m);
    TU_OK(cellar_close(db));
}
END_TEST

/* Two transactions read the same key; the second to commit must conflict. */
START_TEST(test_txn_conflict_detected)
{
    cellar_db *db;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    TU_OK(cellar_open(&db, tu_path("conflict.cellar"), &o));
    TU_OK(cellar_put(db, "k", 1, "0", 1));
    cellar_txn *a, *b;
    void *v;
    size_t vl;
    TU_OK(cellar_txn_begin(&a, db, 0));
    TU_OK(cellar_txn_begin(&b, db, 0));
    TU_OK(cellar_txn_get(a, "k", 1, &v, &vl));
    cellar_free(v);
    TU_OK(cellar_txn_get(b, "k", 1, &v, &vl));
    cellar_free(v);
    TU_OK(cellar_txn_put(a, "k", 1, "1", 1));
    TU_OK(cellar_txn_put(b, "k", 1, "1", 1));
    TU_OK(cellar_txn_commit(a));
    TU_RC(cellar_txn_commit(b), CELLAR_ECONFLICT);
    /* a read of a key that a plain put changed meanwhile conflicts too */
    TU_OK(cellar_txn_begin(&a, db, 0));
    TU_RC(cellar_txn_get(a, "absent", 6, &v, &vl), CELLAR_ENOTFOUND);
    TU_OK(cellar_txn_put(a, "other", 5, "x", 1));
    TU_OK(cellar_put(db, "absent", 6, "now", 3));
    TU_RC(cellar_txn_commit(a), CELLAR_ECONFLICT);
    TU_RC(cellar_exists(db, "other", 5), CELLAR_ENOTFOUND);
    TU_OK(cellar_close(db));
}
END_TEST

/* ======================================================================== */
/* exactly-once iteration under splits and directory doubling               */
/* ======================================================================== */

typedef struct iter_shared {
    cellar_db *db;
    unsigned preload, new_keys;
    atomic_uint inserted;  /* new keys inserted so far */
    atomic_uint progress;  /* records the iterator has yielded */
    atomic_int iter_done;
    uint64_t churn;        /* delete / re-add rounds after the fill */
    unsigned *seen;        /* per preloaded key: times yielded */
    uint64_t yielded, yielded_new;
} iter_shared;

static size_t pre_key(char *k, unsigned i) { return (size_t)sprintf(k, "pre-%08u", i); }
static size_t new_key(char *k, unsigned i) { return (size_t)sprintf(k, "new-%08u", i); }

static void *iter_writer(void *p)
{
    iter_shared *s = p;
    uint8_t buf[256];
    tu_rng r = { 99 };
    for (unsigned i = 0; i < s->new_keys && !atomic_load(&s->iter_done); i++) {
        char k[32];
        size_t kl = new_key(k, i);
        size_t vl = make_value(buf, k, kl, i, 40);
        int rc = cellar_put(s->db, k, kl, buf, vl);
        if (rc != CELLAR_OK) {
            tfail("writer put %s -> %s: %s", k, cellar_errname(rc), cellar_error_last()->message);
            atomic_store(&s->inserted, UINT32_MAX);
            return NULL;
        }
        atomic_store(&s->inserted, i + 1);
    }
    unsigned have = atomic_load(&s->inserted);
    atomic_store(&s->inserted, UINT32_MAX); /* release the iterator */
    /* then churn: delete and re-add only new keys until the iterator is done */
    while (!atomic_load(&s->iter_done) && have) {
        char k[32];
        size_t kl = new_key(k, (unsigned)tu_below(&r, have));
        int rc = cellar_delete(s->db, k, kl);
        if (rc != CELLAR_OK && rc != CELLAR_ENOTFOUND)
            tfail("writer delete -> %s", cellar_errname(rc));
        size_t vl = make_value(buf, k, kl, (uint32_t)s->churn, 40);
        rc = cellar_put(s->db, k, kl, buf, vl);
        if (rc != CELLAR_OK)
            tfail("writer re-put -> %s", cellar_errname(rc));
        s->churn++;
    }
    return NULL;
}

static void *iter_reader(void *p)
{
    iter_shared *s = p;
    cellar_iter *it = NULL;
    int rc = cellar_iter_open(&it, s->db);
    if (rc != CELLAR_OK) {
        tfail("iter_open -> %s", cellar_errname(rc));
        atomic_store(&s->iter_done, 1);
        return NULL;
    }
    /* pace the scan so that the writer inserts about new_keys/preload new
     * keys per record yielded: the table doubles several times mid-scan */
    double ratio = (double)s->new_keys / (double)s->preload;
    for (;;) {
        uint64_t want = (uint64_t)((double)s->yielded * ratio * 0.9);
        while (atomic_load(&s->inserted) < want)
            sched_yield();
        const void *k, *v;
        size_t kl, vl;
        rc = cellar_iter_next(it, &k, &kl, &v, &vl);
        if (rc == CELLAR_ENOTFOUND)
            break;
        if (rc != CELLAR_OK) {
            tfail("iter_next -> %s: %s", cellar_errname(rc), cellar_error_last()->message);
            break;
        }
        s->yielded++;
        if (!check_value(k, kl, v, vl))
            tfail("iter_next: value of %zu bytes does not belong to its key", vl);
        char kb[32];
        if (kl == 12 && memcmp(k, "pre-", 4) == 0) {
            memcpy(kb, k, kl);
            kb[kl] = 0;
            unsigned i = (unsigned)strtoul(kb + 4, NULL, 10);
            if (i < s->preload)
                s->seen[i]++;
            else
                tfail("iter_next: unknown key %s", kb);
        } else if (kl == 12 && memcmp(k, "new-", 4) == 0) {
            s->yielded_new++;
        } else {
            tfail("iter_next: unexpected key of %zu bytes", kl);
        }
        atomic_store(&s->progress, (unsigned)s->yielded);
    }
    cellar_iter_close(it);
    atomic_store(&s->iter_done, 1);
    return NULL;
}

START_TEST(test_iter_exactly_once_under_splits)
{
    reset_failures();
    cellar_db *db;
    cellar_options o = opts_sync(CELLAR_SYNC_OFF);
    o.cache_size = 16u << 20;
    TU_OK(cellar_open(&db, tu_path("iter.cellar"), &o));
    iter_shared s;
    memset(&s, 0, sizeof s);
    s.db = db;
    s.preload = scale(20000, 4000);
    s.new_keys = s.preload * 6;
    s.seen = calloc(s.preload, sizeof *s.seen);
    ck_assert_ptr_nonnull(s.seen);

    uint8_t buf[256];
    for (unsigned i = 0; i < s.preload; i++) {
        char k[32];
        size_t kl = pre_key(k, i);
        size_t vl = make_value(buf, k, kl, i, 40);
        TU_OK(cellar_put(db, k, kl, buf, vl));
    }
    cellar_stats st0 = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_stats_get(db, &st0));

    pthread_t w, r;
    ck_assert_int_eq(pthread_create(&r, NULL, iter_reader, &s), 0);
    ck_assert_int_eq(pthread_create(&w, NULL, iter_writer, &s), 0);
    pthread_join(r, NULL);
    pthread_join(w, NULL);
    assert_no_failure();

    cellar_stats st1 = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_stats_get(db, &st1));
    printf("threads: iteration yielded %" PRIu64 " records (%" PRIu64 " new) while the writer added up to "
           "%u keys and churned %" PRIu64 "; global depth %u -> %u, buckets %" PRIu64 " -> %" PRIu64 "\n",
           s.yielded, s.yielded_new, s.new_keys, s.churn, st0.global_depth, st1.global_depth,
           st0.bucket_pages, st1.bucket_pages);
    /* the scenario did force splits and doubling */
    ck_assert_uint_ge(st1.global_depth, st0.global_depth + 2);
    unsigned missing = 0, dup = 0;
    for (unsigned i = 0; i < s.preload; i++) {
        if (s.seen[i] == 0)
            missing++;
        else if (s.seen[i] > 1)
            dup++;
    }
    ck_assert_msg(missing == 0 && dup == 0, "%u preloaded keys never yielded, %u yielded more than once",
                  missing, dup);
    free(s.seen);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
}
END_TEST

/* Put "k0" .. "k<n-1>", each with the value val. */
static void put_keys(cellar_db *db, int n, const char *val)
{
    for (int i = 0; i < n; i++) {
        char k[16];
        int kl = sprintf(k, "k%d", i);
        TU_OK(cellar_put(db, k, (size_t)kl, val, strlen(val)));
    }
}

/* ======================================================================== */
/* lifetime: closing under live children                                     */
/* ======================================================================== */

START_TEST(test_close_with_live_txn_and_iter)
{
    cellar_db *db;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    TU_OK(cellar_open(&db, tu_path("live.cellar"), &o));
    put_keys(db, 100, "v");
    cellar_txn *t1, *t2, *t3;
    cellar_iter *it1, *it2;
    TU_OK(cellar_txn_begin(&t1, db, 0));
    TU_OK(cellar_txn_put(t1, "uncommitted", 11, "x", 1));
    TU_OK(cellar_txn_begin(&t2, db, 0));
    TU_OK(cellar_txn_put(t2, "uncommitted2", 12, "x", 1));
    TU_OK(cellar_txn_begin(&t3, db, CELLAR_RDONLY));
    TU_OK(cellar_iter_open(&it1, db));
    const void *k, *v;
    size_t kl, vl;
    TU_OK(cellar_iter_next(it1, &k, &kl, &v, &vl));
    TU_OK(cellar_iter_open(&it2, db)); /* never advanced */

    TU_OK(cellar_close(db));

    void *out;
    size_t ol;
    TU_RC(cellar_txn_get(t1, "k1", 2, &out, &ol), CELLAR_ECLOSED);
    TU_RC(cellar_txn_put(t1, "k1", 2, "y", 1), CELLAR_ECLOSED);
    TU_RC(cellar_txn_delete(t1, "k1", 2), CELLAR_ECLOSED);
    TU_RC(cellar_txn_exists(t1, "k1", 2), CELLAR_ECLOSED);
    TU_RC(cellar_txn_put_ttl(t1, "k1", 2, "y", 1, 1000), CELLAR_ECLOSED);
    ck_assert_str_ne(cellar_error_last()->message, "");
    cellar_txn_abort(t1);
    /* commit of a dead transaction fails and frees it */
    TU_RC(cellar_txn_commit(t2), CELLAR_ECLOSED);
    TU_RC(cellar_txn_get(t3, "k1", 2, &out, &ol), CELLAR_ECLOSED);
    cellar_txn_abort(t3);
    TU_RC(cellar_iter_next(it1, &k, &kl, &v, &vl), CELLAR_ECLOSED);
    TU_RC(cellar_iter_next(it1, &k, &kl, &v, &vl), CELLAR_ECLOSED);
    cellar_iter_close(it1);
    TU_RC(cellar_iter_next(it2, NULL, NULL, NULL, NULL), CELLAR_ECLOSED);
    cellar_iter_close(it2);

    /* nothing uncommitted reached the file */
    TU_OK(cellar_open(&db, tu_path("live.cellar"), &o));
    TU_RC(cellar_exists(db, "uncommitted", 11), CELLAR_ENOTFOUND);
    TU_RC(cellar_exists(db, "uncommitted2", 12), CELLAR_ENOTFOUND);
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 100);
    TU_OK(cellar_close(db));
}
END_TEST

/* compact while other threads write: writers that wait for the writer lock
 * step out of the reader side, so the compact's swap (which takes it
 * exclusively while holding the writer lock) never deadlocks with them. */
typedef struct compact_arg {
    cellar_db *db;
    atomic_int *stop;
    int id;
} compact_arg;

static void *compact_writer(void *p)
{
    compact_arg *a = p;
    char k[32];
    for (unsigned i = 0; !atomic_load(a->stop); i++) {
        int kl = snprintf(k, sizeof k, "w%d-%u", a->id, i % 300);
        int rc = (i % 3 == 2) ? cellar_incr(a->db, "ctr", 3, 1, NULL)
                              : cellar_put(a->db, k, (size_t)kl, "vvvvvvvv", 8);
        if (rc != CELLAR_OK) {
            tfail("writer %d: %s", a->id, cellar_error_last()->message);
            break;
        }
    }
    return NULL;
}

START_TEST(test_compact_with_concurrent_writers)
{
    reset_failures();
    cellar_db *db;
    cellar_options o = opts_sync(CELLAR_SYNC_OFF);
    TU_OK(cellar_open(&db, tu_path("compact-w.cellar"), &o));
    put_keys(db, 2000, "0123456789abcdef0123456789abcdef");
    atomic_int stop = 0;
    pthread_t th[3];
    compact_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (compact_arg){ db, &stop, i };
        ck_assert_int_eq(pthread_create(&th[i], NULL, compact_writer, &args[i]), 0);
    }
    for (unsigned n = 0; n < scale(10, 3); n++)
        TU_OK(cellar_compact(db, NULL, NULL));
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_no_failure();
    uint64_t problems = 1;
    TU_OK(cellar_check(db, NULL, NULL, NULL, &problems));
    ck_assert_uint_eq(problems, 0);
    for (int i = 0; i < 2000; i += 97) {
        char k[16];
        int kl = sprintf(k, "k%d", i);
        TU_OK(cellar_exists(db, k, (size_t)kl));
    }
    TU_OK(cellar_close(db));
}
END_TEST

/* A transaction open across a compact: its buffered writes (hashed before
 * the compact) land where reads find them, and its own reads see them. */
START_TEST(test_txn_across_compact)
{
    cellar_db *db;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    TU_OK(cellar_open(&db, tu_path("txn-compact.cellar"), &o));
    put_keys(db, 200, "v");
    cellar_txn *t;
    TU_OK(cellar_txn_begin(&t, db, 0));
    TU_OK(cellar_txn_put(t, "before", 6, "1", 1));
    TU_OK(cellar_compact(db, NULL, NULL));
    void *out;
    size_t ol;
    TU_OK(cellar_txn_get(t, "before", 6, &out, &ol));
    cellar_free(out);
    TU_OK(cellar_txn_put(t, "after", 5, "2", 1));
    TU_OK(cellar_txn_commit(t));
    TU_OK(cellar_get(db, "before", 6, &out, &ol));
    ck_assert(ol == 1 && memcmp(out, "1", 1) == 0);
    cellar_free(out);
    TU_OK(cellar_exists(db, "after", 5));
    uint64_t n, problems = 1;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 202);
    TU_OK(cellar_check(db, NULL, NULL, NULL, &problems));
    ck_assert_uint_eq(problems, 0);
    TU_OK(cellar_close(db));
    TU_OK(cellar_open(&db, tu_path("txn-compact.cellar"), &o));
    TU_OK(cellar_exists(db, "before", 6));
    TU_OK(cellar_close(db));
}
END_TEST

/* Handles of one file opened and closed by other threads while a compact
 * runs on one of them, and an open of the file while its last handle closes
 * (with a long checkpoint to do): the open waits for the close and finds the
 * data. (The compact opens and closes its copy through the process registry
 * while holding the file's writer lock; a close never holds the registry
 * while it takes that lock.) */
typedef struct compact_bg {
    cellar_db *db;
    atomic_int started;
    int rc;
} compact_bg;

static int compact_progress(uint64_t done, uint64_t total, void *payload)
{
    (void)done;
    (void)total;
    compact_bg *a = payload;
    if (!atomic_exchange(&a->started, 1))
        tu_sleep_ms(50); /* long enough for the other handles to come and go */
    return 0;
}

static void *compact_main(void *p)
{
    compact_bg *a = p;
    a->rc = cellar_compact(a->db, compact_progress, a);
    return NULL;
}

typedef struct count_arg {
    const char *path;
    atomic_int go;
    int rc;
    uint64_t count;
} count_arg;

/* Open the file (when told to), count its records, close. */
static void *count_main(void *p)
{
    count_arg *a = p;
    while (!atomic_load(&a->go))
        sched_yield();
    cellar_options o = opts_sync(CELLAR_SYNC_OFF);
    cellar_db *db;
    a->rc = cellar_open(&db, a->path, &o);
    if (a->rc == CELLAR_OK) {
        a->rc = cellar_count(db, &a->count);
        int crc = cellar_close(db);
        if (a->rc == CELLAR_OK)
            a->rc = crc;
    }
    return NULL;
}

static uint64_t count_of(cellar_db *db)
{
    uint64_t n = 0;
    TU_OK(cellar_count(db, &n));
    return n;
}

START_TEST(test_handles_come_and_go_around_compact_and_close)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", tu_path("handles-compact.cellar"));
    const int records = 5000;
    for (unsigned round = 0; round < scale(4, 2); round++) {
        cellar_db *h1, *h2, *h3;
        cellar_options o = opts_sync(CELLAR_SYNC_OFF);
        o.flags |= CELLAR_TRUNCATE;
        TU_OK(cellar_open(&h1, path, &o));
        o.flags &= ~(unsigned)CELLAR_TRUNCATE;
        put_keys(h1, records, "0123456789abcdef");
        TU_OK(cellar_open(&h2, path, &o));
        compact_bg a = { h2, 0, -1 };
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, compact_main, &a), 0);
        while (!atomic_load(&a.started))
            tu_sleep_ms(1);
        /* during the compact: a handle closes, another opens and reads */
        TU_OK(cellar_close(h1));
        TU_OK(cellar_open(&h3, path, &o));
        ck_assert_uint_eq(count_of(h3), (uint64_t)records);
        TU_OK(cellar_close(h3));
        pthread_join(th, NULL);
        TU_OK(a.rc);
        /* dirty many pages, then close the last handle while another
         * thread opens the file */
        put_keys(h2, records, "fedcba9876543210");
        count_arg ca = { path, 0, -1, 0 };
        pthread_t op;
        ck_assert_int_eq(pthread_create(&op, NULL, count_main, &ca), 0);
        atomic_store(&ca.go, 1);
        TU_OK(cellar_close(h2));
        pthread_join(op, NULL);
        ck_assert_msg(ca.rc == CELLAR_OK, "open while the last handle closes: %s", cellar_errname(ca.rc));
        ck_assert_uint_eq(ca.count, (uint64_t)records);
        TU_OK(cellar_open(&h1, path, &o));
        uint64_t problems = 1;
        ck_assert_uint_eq(count_of(h1), (uint64_t)records);
        TU_OK(cellar_check(h1, NULL, NULL, NULL, &problems));
        ck_assert_uint_eq(problems, 0);
        void *v;
        size_t vl;
        TU_OK(cellar_get(h1, "k7", 2, &v, &vl));
        ck_assert(vl == 16 && memcmp(v, "fedcba9876543210", 16) == 0);
        cellar_free(v);
        TU_OK(cellar_close(h1));
    }
}
END_TEST

/* Children of handle A die when A closes; handle B of the same file and its
 * children go on. */
START_TEST(test_close_one_handle_keeps_other)
{
    cellar_db *a, *b;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    const char *path = tu_path("shared.cellar");
    TU_OK(cellar_open(&a, path, &o));
    TU_OK(cellar_open(&b, path, &o));
    TU_OK(cellar_put(a, "from-a", 6, "1", 1));
    void *v;
    size_t vl;
    TU_OK(cellar_get(b, "from-a", 6, &v, &vl));
    ck_assert_uint_eq(vl, 1);
    ck_assert_mem_eq(v, "1", 1);
    cellar_free(v);
    TU_OK(cellar_put(b, "from-b", 6, "2", 1));
    TU_OK(cellar_get(a, "from-b", 6, &v, &vl));
    cellar_free(v);

    cellar_txn *ta, *tb;
    cellar_iter *ib;
    TU_OK(cellar_txn_begin(&ta, a, 0));
    TU_OK(cellar_txn_begin(&tb, b, 0));
    TU_OK(cellar_iter_open(&ib, b));
    TU_OK(cellar_txn_put(tb, "txn-b", 5, "3", 1));

    TU_OK(cellar_close(a));
    TU_RC(cellar_txn_put(ta, "txn-a", 5, "x", 1), CELLAR_ECLOSED);
    cellar_txn_abort(ta);

    /* B still works, and sees everything */
    TU_OK(cellar_get(b, "from-a", 6, &v, &vl));
    cellar_free(v);
    TU_OK(cellar_put(b, "after", 5, "4", 1));
    TU_OK(cellar_txn_commit(tb));
    unsigned n = 0;
    int rc;
    while ((rc = cellar_iter_next(ib, NULL, NULL, NULL, NULL)) == CELLAR_OK)
        n++;
    TU_RC(rc, CELLAR_ENOTFOUND);
    ck_assert_uint_ge(n, 2);
    cellar_iter_close(ib);
    uint64_t cnt;
    TU_OK(cellar_count(b, &cnt));
    ck_assert_uint_eq(cnt, 4);
    TU_OK(cellar_close(b));

    /* everything reached the file */
    TU_OK(cellar_open(&a, path, &o));
    TU_OK(cellar_count(a, &cnt));
    ck_assert_uint_eq(cnt, 4);
    TU_OK(cellar_exists(a, "txn-b", 5));
    TU_OK(cellar_close(a));
}
END_TEST

typedef struct open_arg {
    const char *path;
    unsigned id, n;
} open_arg;

/* Each thread opens the file itself, writes, reads the others' keys, closes. */
static void *open_main(void *p)
{
    open_arg *a = p;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    for (unsigned round = 0; round < 5; round++) {
        cellar_db *db;
        int rc = cellar_open(&db, a->path, &o);
        if (rc != CELLAR_OK) {
            tfail("open -> %s: %s", cellar_errname(rc), cellar_error_last()->message);
            return NULL;
        }
        for (unsigned i = 0; i < a->n; i++) {
            char k[32];
            int kl = sprintf(k, "t%u-r%u-%u", a->id, round, i);
            rc = cellar_put(db, k, (size_t)kl, k, (size_t)kl);
            if (rc != CELLAR_OK)
                tfail("put -> %s", cellar_errname(rc));
        }
        for (unsigned i = 0; i < a->n; i++) {
            char k[32];
            int kl = sprintf(k, "t%u-r%u-%u", a->id, round, i);
            rc = cellar_exists(db, k, (size_t)kl);
            if (rc != CELLAR_OK)
                tfail("exists own key -> %s", cellar_errname(rc));
        }
        rc = cellar_close(db);
        if (rc != CELLAR_OK)
            tfail("close -> %s", cellar_errname(rc));
    }
    return NULL;
}

START_TEST(test_open_same_path_from_threads)
{
    reset_failures();
    const char *path = tu_path("reg.cellar");
    cellar_db *keep;
    cellar_options o = opts_sync(CELLAR_SYNC_NORMAL);
    TU_OK(cellar_open(&keep, path, &o)); /* so that some opens share, some may not */
    enum { N = 4 };
    pthread_t th[N];
    open_arg args[N];
    for (unsigned i = 0; i < N; i++) {
        args[i] = (open_arg){ path, i, 200 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, open_main, &args[i]), 0);
    }
    for (unsigned i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    assert_no_failure();
    uint64_t n;
    TU_OK(cellar_count(keep, &n));
    ck_assert_uint_eq(n, N * 5 * 200);
    TU_OK(cellar_close(keep));
    /* and with no handle kept open: the last close really closes */
    for (unsigned i = 0; i < N; i++)
        args[i].n = 20;
    for (unsigned i = 0; i < N; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, open_main, &args[i]), 0);
    for (unsigned i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    assert_no_failure();
    TU_OK(cellar_open(&keep, path, &o));
    TU_OK(cellar_check(keep, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(keep));
}
END_TEST

/* ======================================================================== */
/* group commit with sync=full                                               */
/* ======================================================================== */

typedef struct gc_arg {
    cellar_db *db;
    unsigned id, n;
} gc_arg;

static void *gc_main(void *p)
{
    gc_arg *a = p;
    for (unsigned i = 0; i < a->n; i++) {
        char k[32];
        int kl = sprintf(k, "gc-%u-%06u", a->id, i);
        int rc;
        if (i % 2) {
            rc = cellar_put(a->db, k, (size_t)kl, k, (size_t)kl);
        } else {
            cellar_txn *t = NULL;
            rc = cellar_txn_begin(&t, a->db, 0);
            if (rc == CELLAR_OK)
                rc = cellar_txn_put(t, k, (size_t)kl, k, (size_t)kl);
            if (rc == CELLAR_OK)
                rc = cellar_txn_commit(t);
            else
                cellar_txn_abort(t);
        }
        if (rc != CELLAR_OK) {
            tfail("commit %s -> %s: %s", k, cellar_errname(rc), cellar_error_last()->message);
            return NULL;
        }
    }
    return NULL;
}

static void run_group_commit(cellar_db *db, unsigned n)
{
    pthread_t th[2];
    gc_arg args[2];
    for (unsigned i = 0; i < 2; i++) {
        args[i] = (gc_arg){ db, i, n };
        ck_assert_int_eq(pthread_create(&th[i], NULL, gc_main, &args[i]), 0);
    }
    for (unsigned i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_no_failure();
}

static void check_group_commit(cellar_db *db, unsigned n)
{
    for (unsigned id = 0; id < 2; id++)
        for (unsigned i = 0; i < n; i++) {
            char k[32];
            int kl = sprintf(k, "gc-%u-%06u", id, i);
            void *v;
            size_t vl;
            TU_OK(cellar_get(db, k, (size_t)kl, &v, &vl));
            ck_assert_uint_eq(vl, (size_t)kl);
            ck_assert_mem_eq(v, k, vl);
            cellar_free(v);
        }
}

START_TEST(test_group_commit_sync_full)
{
    reset_failures();
    unsigned n = scale(300, 100);
    cellar_options o = opts_sync(CELLAR_SYNC_FULL);
    cellar_db *db;
    const char *path = tu_path("gc.cellar");
    TU_OK(cellar_open(&db, path, &o));
    uint64_t t0 = tu_now_ms();
    run_group_commit(db, n);
    printf("threads: 2 x %u sync=full commits on disk in %" PRIu64 " ms\n", n, tu_now_ms() - t0);
    check_group_commit(db, n);
    TU_OK(cellar_close(db));
    TU_OK(cellar_open(&db, path, &o));
    check_group_commit(db, n);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));

    /* on the fault vfs: count the fsyncs, and every commit survives power
     * loss that drops whatever was not synced */
    cellar_fault *fs;
    TU_OK(cellar_vfs_fault_new(&fs));
    o.vfs = cellar_vfs_fault_vfs(fs);
    TU_OK(cellar_open(&db, "gc.cellar", &o));
    uint64_t s0 = cellar_vfs_fault_count(fs, CELLAR_FAULT_SYNC);
    run_group_commit(db, n);
    uint64_t syncs = cellar_vfs_fault_count(fs, CELLAR_FAULT_SYNC) - s0;
    printf("threads: 2 x %u sync=full commits used %" PRIu64 " fsyncs\n", n, syncs);
    ck_assert_uint_ge(syncs, 1);
    ck_assert_uint_le(syncs, 2u * n + 16u);
    cellar_vfs_fault_crash(fs, CELLAR_CRASH_DROP, 1);
    cellar_close(db);
    TU_OK(cellar_open(&db, "gc.cellar", &o));
    check_group_commit(db, n);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
    cellar_vfs_fault_free(fs);
}
END_TEST

static Suite *suite(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_stress_8_threads);
    tcase_add_test(tc, test_incr_exact);
    tcase_add_test(tc, test_txn_read_increment_write_exact);
    tcase_add_test(tc, test_txn_conflict_detected);
    tcase_add_test(tc, test_iter_exactly_once_under_splits);
    tcase_add_test(tc, test_close_with_live_txn_and_iter);
    tcase_add_test(tc, test_close_one_handle_keeps_other);
    tcase_add_test(tc, test_open_same_path_from_threads);
    tcase_add_test(tc, test_group_commit_sync_full);
    tcase_add_test(tc, test_compact_with_concurrent_writers);
    tcase_add_test(tc, test_txn_across_compact);
    tcase_add_test(tc, test_handles_come_and_go_around_compact_and_close);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
