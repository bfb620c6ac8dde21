/*
 * test_faults.c - I/O errors through the fault-injecting file layer
 * (cellar_vfs_fault_new): EIO and ENOSPC on write and on sync, short writes,
 * armed at many countdown points of a workload of puts, deletes,
 * transactions, batches and checkpoints (small cache and log limit, so that
 * checkpoints run inside it). For each point:
 *   - the failing call returns the injected code (EIO, or ENOSPC) and the
 *     last error message is not empty;
 *   - after the fault is cleared (and the db reopened when the handle refuses
 *     further use) every commit that returned OK is there, a commit that
 *     failed is all there or not at all, and cellar_check passes;
 *   - a power loss after that still keeps every acknowledged commit (sync=full).
 * And a full disk (cellar_vfs_fault_set_capacity): writes fail with ENOSPC,
 * reads go on working on the same handle, and after the capacity is raised
 * writing resumes with nothing committed lost.
 */
#include "testutil.h"

#include "cellardb_vfs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under a sanitizer fewer countdown points (every operation is slower). */
#define SANITIZED TU_SANITIZED

#define KEYS 64u       /* single keys k-00..k-63 */
#define PAIRS 16u      /* transaction pairs a-00/b-00 .. */
#define ABSENT 0u      /* version 0 = absent */
#define UNKNOWN UINT32_MAX /* garbage */

/* ---- the model: per key the committed version and one uncertain one ---- */

#define MAYBE 8u

typedef struct model {
    uint32_t have[KEYS + 2 * PAIRS];         /* committed version (0 = absent) */
    uint32_t maybe[KEYS + 2 * PAIRS][MAYBE]; /* versions of failed writes since */
    unsigned nmaybe[KEYS + 2 * PAIRS];
    uint32_t next_ver;
    uint64_t acked;                          /* commits that returned OK */
} model;

static void model_init(model *m)
{
    memset(m, 0, sizeof *m);
    m->next_ver = 1;
}

static void model_ok(model *m, unsigned i, uint32_t v)
{
    m->have[i] = v;
    m->nmaybe[i] = 0;
}

static void model_failed(model *m, unsigned i, uint32_t v)
{
    if (m->nmaybe[i] < MAYBE)
        m->maybe[i][m->nmaybe[i]++] = v;
}

static int model_allows(const model *m, unsigned i, uint32_t v)
{
    if (v == m->have[i])
        return 1;
    for (unsigned j = 0; j < m->nmaybe[i]; j++)
        if (m->maybe[i][j] == v)
            return 1;
    return 0;
}

/* key slot i: 0..KEYS-1 singles; then a-xx, b-xx */
static size_t key_of(char *k, unsigned i)
{
    if (i < KEYS)
        return (size_t)sprintf(k, "k-%02u", i);
    i -= KEYS;
    return (size_t)sprintf(k, "%c-%02u", i < PAIRS ? 'a' : 'b', i % PAIRS);
}

/* value of version v for key i: "<key>:<v>:" then filler; every 8th large */
static size_t value_of(uint8_t *buf, unsigned i, uint32_t v)
{
    char k[16];
    key_of(k, i);
    int h = sprintf((char *)buf, "%s:%u:", k, v);
    size_t len = (size_t)h + (v % 8 == 3 ? 70000 + v % 5000 : v % 300);
    for (size_t j = (size_t)h; j < len; j++)
        buf[j] = (uint8_t)(v * 13 + j);
    return len;
}

/* version stored in the db for key i: ABSENT, a version, or UNKNOWN if garbage */
static uint32_t read_version(cellar_db *db, unsigned i, int *err)
{
    char k[16];
    size_t kl = key_of(k, i);
    void *v = NULL;
    size_t vl = 0;
    int rc = cellar_get(db, k, kl, &v, &vl);
    *err = CELLAR_OK;
    if (rc == CELLAR_ENOTFOUND)
        return ABSENT;
    if (rc != CELLAR_OK) {
        *err = rc;
        return UNKNOWN;
    }
    static uint8_t want[80000];
    uint32_t ver = UNKNOWN;
    char head[40];
    size_t hl = vl < sizeof head - 1 ? vl : sizeof head - 1;
    memcpy(head, v, hl);
    head[hl] = 0;
    char *c1 = strchr(head, ':');
    if (c1)
        ver = (uint32_t)strtoul(c1 + 1, NULL, 10);
    if (ver != UNKNOWN && (value_of(want, i, ver) != vl || memcmp(want, v, vl) != 0))
        ver = UNKNOWN;
    cellar_free(v);
    return ver;
}

/* Check the db against the model, then adopt what is there. */
static void verify(cellar_db *db, model *m, const char *where)
{
    uint32_t got[KEYS + 2 * PAIRS];
    for (unsigned i = 0; i < KEYS + 2 * PAIRS; i++) {
        int err;
        got[i] = read_version(db, i, &err);
        ck_assert_msg(err == CELLAR_OK, "%s: get of slot %u -> %s: %s", where, i, cellar_errname(err),
                      cellar_error_last()->message);
        ck_assert_msg(got[i] != UNKNOWN, "%s: slot %u holds a value that was never written", where, i);
        ck_assert_msg(model_allows(m, i, got[i]), "%s: slot %u holds version %u; committed %u (%u uncertain)",
                      where, i, got[i], m->have[i], m->nmaybe[i]);
    }
    /* a transaction is all there or not at all */
    for (unsigned p = 0; p < PAIRS; p++)
        ck_assert_msg(got[KEYS + p] == got[KEYS + PAIRS + p], "%s: pair %u is torn: a %u, b %u", where, p,
                      got[KEYS + p], got[KEYS + PAIRS + p]);
    uint64_t count = 0, want = 0;
    TU_OK(cellar_count(db, &count));
    for (unsigned i = 0; i < KEYS + 2 * PAIRS; i++) {
        want += got[i] != ABSENT;
        model_ok(m, i, got[i]);
    }
    ck_assert_msg(count == want, "%s: count %" PRIu64 ", records %" PRIu64, where, count, want);
    uint64_t problems = 0;
    int rc = cellar_check(db, NULL, NULL, NULL, &problems);
    ck_assert_msg(rc == CELLAR_OK, "%s: check -> %s (%" PRIu64 " problems): %s", where, cellar_errname(rc), problems,
                  cellar_error_last()->message);
}

/* ---- the workload ---- */

typedef struct step_out {
    int rc;
    char msg[256];
} step_out;

static uint8_t vbuf[4][80000];

/* One random operation; updates the model by its outcome. Returns its rc. */
static int step(cellar_db *db, model *m, tu_rng *r)
{
    unsigned what = (unsigned)tu_below(r, 100);
    int rc;
    if (what < 40) { /* put */
        unsigned i = (unsigned)tu_below(r, KEYS);
        uint32_t v = m->next_ver++;
        char k[16];
        size_t kl = key_of(k, i);
        size_t vl = value_of(vbuf[0], i, v);
        rc = cellar_put(db, k, kl, vbuf[0], vl);
        if (rc == CELLAR_OK)
            model_ok(m, i, v), m->acked++;
        else
            model_failed(m, i, v);
    } else if (what < 55) { /* delete */
        unsigned i = (unsigned)tu_below(r, KEYS);
        char k[16];
        size_t kl = key_of(k, i);
        rc = cellar_delete(db, k, kl);
        if (rc == CELLAR_OK || rc == CELLAR_ENOTFOUND) {
            if (rc == CELLAR_OK)
                m->acked++;
            model_ok(m, i, ABSENT);
            rc = CELLAR_OK;
        } else {
            model_failed(m, i, ABSENT);
        }
    } else if (what < 80) { /* transaction: a pair, plus a single key */
        unsigned p = (unsigned)tu_below(r, PAIRS), i = (unsigned)tu_below(r, KEYS);
        uint32_t v = m->next_ver++, vi = m->next_ver++;
        char ka[16], kb[16], ki[16];
        size_t kal = key_of(ka, KEYS + p), kbl = key_of(kb, KEYS + PAIRS + p), kil = key_of(ki, i);
        /* both halves carry the same version; their bytes differ by key */
        size_t la = value_of(vbuf[0], KEYS + p, v), lb = value_of(vbuf[1], KEYS + PAIRS + p, v);
        size_t li = value_of(vbuf[2], i, vi);
        cellar_txn *t = NULL;
        rc = cellar_txn_begin(&t, db, 0);
        if (rc == CELLAR_OK && (rc = cellar_txn_put(t, ka, kal, vbuf[0], la)) == CELLAR_OK &&
            (rc = cellar_txn_put(t, ki, kil, vbuf[2], li)) == CELLAR_OK &&
            (rc = cellar_txn_put(t, kb, kbl, vbuf[1], lb)) == CELLAR_OK)
            rc = cellar_txn_commit(t);
        else
            cellar_txn_abort(t);
        if (rc == CELLAR_OK) {
            model_ok(m, KEYS + p, v);
            model_ok(m, KEYS + PAIRS + p, v);
            model_ok(m, i, vi);
            m->acked++;
        } else {
            model_failed(m, KEYS + p, v);
            model_failed(m, KEYS + PAIRS + p, v);
            model_failed(m, i, vi);
        }
    } else if (what < 92) { /* batch of 3 singles */
        cellar_slice ks[3], vs[3];
        char kk[3][16];
        unsigned idx[3];
        uint32_t ver[3];
        for (int j = 0; j < 3; j++) {
            idx[j] = (unsigned)tu_below(r, KEYS);
            for (int q = 0; q < j; q++)
                if (idx[q] == idx[j])
                    idx[j] = (idx[j] + 1 + (unsigned)q) % KEYS;
            ver[j] = m->next_ver++;
            ks[j] = (cellar_slice){ kk[j], key_of(kk[j], idx[j]) };
            vs[j] = (cellar_slice){ vbuf[j], value_of(vbuf[j], idx[j], ver[j]) };
        }
        /* idx may still repeat after the fix-up; the last write wins then */
        rc = cellar_put_many(db, 3, ks, vs);
        for (int j = 0; j < 3; j++) {
            if (rc == CELLAR_OK)
                model_ok(m, idx[j], ver[j]);
            else
                model_failed(m, idx[j], ver[j]);
        }
        if (rc == CELLAR_OK)
            m->acked++;
    } else if (what < 97) {
        rc = cellar_checkpoint(db);
    } else {
        rc = cellar_sync(db);
    }
    return rc;
}

static cellar_options fault_opts(cellar_fault *fs, int sync)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.vfs = cellar_vfs_fault_vfs(fs);
    o.sync = sync;
    o.cache_size = 256u << 10; /* the smallest sensible: evictions and checkpoints often */
    o.wal_limit = 96u << 10;
    return o;
}

#define STEPS 120u

/* A fresh fault file system and database (options in *o), warmed up by 30
 * steps of the workload against the model m. */
static cellar_db *warm_open(cellar_fault **fs, cellar_options *o, model *m, tu_rng *r, int sync)
{
    TU_OK(cellar_vfs_fault_new(fs));
    *o = fault_opts(*fs, sync);
    cellar_db *db;
    TU_OK(cellar_open(&db, "f.cellar", o));
    model_init(m);
    for (unsigned i = 0; i < 30; i++)
        TU_OK(step(db, m, r));
    return db;
}


typedef struct fault_case {
    const char *name;
    unsigned ops;
    cellar_fault_kind kind;
    int want; /* the code the failing call returns */
} fault_case;

static const fault_case cases[] = {
    { "write EIO", CELLAR_FAULT_WRITE, CELLAR_FAULT_EIO, CELLAR_EIO },
    { "write ENOSPC", CELLAR_FAULT_WRITE, CELLAR_FAULT_ENOSPC, CELLAR_ENOSPC },
    { "short write", CELLAR_FAULT_WRITE, CELLAR_FAULT_SHORT, CELLAR_EIO },
    { "sync EIO", CELLAR_FAULT_SYNC, CELLAR_FAULT_EIO, CELLAR_EIO },
    { "sync ENOSPC", CELLAR_FAULT_SYNC, CELLAR_FAULT_ENOSPC, CELLAR_ENOSPC },
};

typedef struct tally {
    unsigned points, fired, handle_refused, handle_went_on;
} tally;

/* One countdown point: open, warm up, arm, run until the fault fires,
 * clear, go on or reopen, verify, power loss, verify. */
static void run_point(const fault_case *fc, uint64_t countdown, int sticky, int sync, uint64_t seed, tally *t)
{
    cellar_fault *fs;
    cellar_options o;
    model m;
    tu_rng r = { seed };
    cellar_db *db = warm_open(&fs, &o, &m, &r, sync);

    char where[160];
    snprintf(where, sizeof where, "%s%s, countdown %" PRIu64 ", sync %d", fc->name, sticky ? " (sticky)" : "",
             countdown, sync);
    cellar_vfs_fault_arm(fs, fc->ops, countdown, fc->kind, sticky);
    int first = CELLAR_OK;
    unsigned i;
    for (i = 0; i < STEPS; i++) {
        int rc = step(db, &m, &r);
        if (rc != CELLAR_OK) {
            first = rc;
            break;
        }
    }
    t->points++;
    if (first != CELLAR_OK) {
        t->fired++;
        ck_assert_msg(first == fc->want, "%s: failing call -> %s, want %s: %s", where, cellar_errname(first),
                      cellar_errname(fc->want), cellar_error_last()->message);
        ck_assert_msg(cellar_error_last()->message[0] != 0, "%s: empty error message", where);
        ck_assert_int_eq(cellar_error_last()->code, first);
    }
    /* a sticky fault keeps failing: each call succeeds or fails cleanly */
    for (unsigned j = 0; sticky && first != CELLAR_OK && j < 3; j++) {
        int rc = step(db, &m, &r);
        ck_assert_msg(rc == CELLAR_OK || rc == CELLAR_EIO || rc == CELLAR_ENOSPC, "%s: sticky: %s", where,
                      cellar_errname(rc));
    }
    cellar_vfs_fault_clear(fs);

    /* go on with the same handle: each call succeeds or says EIO (the handle
     * refuses further use until reopened) */
    int refused = 0;
    for (unsigned j = 0; j < 10 && !refused; j++) {
        int rc = step(db, &m, &r);
        if (rc != CELLAR_OK) {
            ck_assert_msg(rc == CELLAR_EIO, "%s: after clearing the fault: %s: %s", where, cellar_errname(rc),
                          cellar_error_last()->message);
            refused = 1;
        }
    }
    if (first != CELLAR_OK) {
        if (refused)
            t->handle_refused++;
        else
            t->handle_went_on++;
    }
    if (!refused)
        verify(db, &m, where);
    cellar_close(db); /* may fail: the checkpoint of a refused handle */

    TU_OK(cellar_open(&db, "f.cellar", &o));
    verify(db, &m, where);
    /* the reopened handle works, and commits survive power loss */
    for (unsigned j = 0; j < 20; j++)
        TU_OK(step(db, &m, &r));
    if (sync == CELLAR_SYNC_FULL) {
        cellar_vfs_fault_crash(fs, CELLAR_CRASH_DROP, seed);
        cellar_close(db);
        TU_OK(cellar_open(&db, "f.cellar", &o));
        verify(db, &m, where);
    }
    TU_OK(cellar_close(db));
    cellar_vfs_fault_free(fs);
}

/* How many calls of `ops` the workload makes (to spread countdowns over). */
static uint64_t calls_in_workload(unsigned ops, int sync, uint64_t seed)
{
    cellar_fault *fs;
    cellar_options o;
    model m;
    tu_rng r = { seed };
    cellar_db *db = warm_open(&fs, &o, &m, &r, sync);
    uint64_t c0 = cellar_vfs_fault_count(fs, ops);
    for (unsigned i = 0; i < STEPS; i++)
        TU_OK(step(db, &m, &r));
    uint64_t c1 = cellar_vfs_fault_count(fs, ops);
    TU_OK(cellar_close(db));
    cellar_vfs_fault_free(fs);
    return c1 - c0;
}

static void run_case(const fault_case *fc, int sync)
{
    unsigned want_points = SANITIZED ? 12 : 60;
    if (tu_long())
        want_points *= 5;
    tally t = { 0, 0, 0, 0 };
    uint64_t seed = 1000 + (uint64_t)fc->kind * 10 + fc->ops + (uint64_t)sync * 100;
    uint64_t total = calls_in_workload(fc->ops, sync, seed);
    ck_assert_uint_gt(total, 0);
    uint64_t stride = total / want_points ? total / want_points : 1;
    for (uint64_t c = 0; c < total; c += stride)
        run_point(fc, c, (int)((c / stride) % 4 == 3), sync, seed, &t);
    printf("faults: %-12s sync=%s: %u points over %" PRIu64 " calls, %u fired (handle refused further use %u, "
           "went on %u)\n",
           fc->name, sync == CELLAR_SYNC_FULL ? "full" : "normal", t.points, total, t.fired, t.handle_refused,
           t.handle_went_on);
    ck_assert_uint_ge(t.fired, t.points * 3 / 4);
}

START_TEST(test_fault_points_sync_full)
{
    run_case(&cases[_i], CELLAR_SYNC_FULL);
}
END_TEST

START_TEST(test_fault_points_sync_normal)
{
    run_case(&cases[_i], CELLAR_SYNC_NORMAL);
}
END_TEST

/* A fault while a large value (an extent of many pages) is written. */
START_TEST(test_fault_in_large_value)
{
    uint8_t *big = malloc(1u << 20);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < (1u << 20); i++)
        big[i] = (uint8_t)(i * 7);
    for (uint64_t c = 0; c < 600; c += SANITIZED ? 97 : 23) {
        cellar_fault *fs;
        TU_OK(cellar_vfs_fault_new(&fs));
        cellar_options o = fault_opts(fs, CELLAR_SYNC_FULL);
        cellar_db *db;
        TU_OK(cellar_open(&db, "big.cellar", &o));
        TU_OK(cellar_put(db, "before", 6, big, 300000));
        cellar_vfs_fault_arm(fs, CELLAR_FAULT_WRITE, c, (c / 23) % 2 ? CELLAR_FAULT_SHORT : CELLAR_FAULT_EIO, 0);
        int rc = cellar_put(db, "big", 3, big, 1u << 20);
        if (rc == CELLAR_OK)
            rc = cellar_checkpoint(db);
        ck_assert_msg(rc == CELLAR_OK || rc == CELLAR_EIO, "countdown %" PRIu64 ": %s", c, cellar_errname(rc));
        cellar_vfs_fault_clear(fs);
        cellar_close(db);
        TU_OK(cellar_open(&db, "big.cellar", &o));
        void *v;
        size_t vl;
        TU_OK(cellar_get(db, "before", 6, &v, &vl));
        ck_assert_uint_eq(vl, 300000);
        ck_assert_mem_eq(v, big, vl);
        cellar_free(v);
        rc = cellar_get(db, "big", 3, &v, &vl);
        ck_assert_msg(rc == CELLAR_OK || rc == CELLAR_ENOTFOUND, "countdown %" PRIu64 ": get big -> %s: %s", c,
                      cellar_errname(rc), cellar_error_last()->message);
        if (rc == CELLAR_OK) {
            ck_assert_uint_eq(vl, 1u << 20);
            ck_assert_mem_eq(v, big, vl);
            cellar_free(v);
        }
        TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
        TU_OK(cellar_close(db));
        cellar_vfs_fault_free(fs);
    }
    free(big);
}
END_TEST

/* A fault while the database is opened and recovered. */
START_TEST(test_fault_during_recovery)
{
    unsigned faults = 0;
    for (uint64_t c = 0; c < 400; c += SANITIZED ? 37 : 7) {
        cellar_fault *fs;
        TU_OK(cellar_vfs_fault_new(&fs));
        cellar_options o = fault_opts(fs, CELLAR_SYNC_FULL);
        cellar_db *db;
        TU_OK(cellar_open(&db, "rec.cellar", &o));
        model m;
        model_init(&m);
        tu_rng r = { 4242 };
        for (unsigned i = 0; i < 80; i++)
            TU_OK(step(db, &m, &r));
        /* power loss leaves committed records in the log to replay */
        cellar_vfs_fault_crash(fs, CELLAR_CRASH_KEEP, c);
        cellar_close(db);
        cellar_vfs_fault_arm(fs, CELLAR_FAULT_WRITE | CELLAR_FAULT_SYNC, c, (c % 2) ? CELLAR_FAULT_ENOSPC : CELLAR_FAULT_EIO, 0);
        int rc = cellar_open(&db, "rec.cellar", &o);
        if (rc != CELLAR_OK) {
            faults++;
            ck_assert_msg(rc == CELLAR_EIO || rc == CELLAR_ENOSPC, "countdown %" PRIu64 ": open -> %s: %s", c,
                          cellar_errname(rc), cellar_error_last()->message);
            ck_assert_ptr_null(db);
        } else {
            cellar_close(db);
        }
        cellar_vfs_fault_clear(fs);
        TU_OK(cellar_open(&db, "rec.cellar", &o));
        verify(db, &m, "after a fault in recovery");
        TU_OK(cellar_close(db));
        cellar_vfs_fault_free(fs);
    }
    ck_assert_uint_gt(faults, 0);
}
END_TEST

/* ======================================================================== */
/* disk full                                                                 */
/* ======================================================================== */

START_TEST(test_disk_full)
{
    for (int sync = 0; sync < 2; sync++) {
        cellar_fault *fs;
        TU_OK(cellar_vfs_fault_new(&fs));
        cellar_options o = fault_opts(fs, sync ? CELLAR_SYNC_FULL : CELLAR_SYNC_NORMAL);
        cellar_db *db;
        TU_OK(cellar_open(&db, "full.cellar", &o));
        uint8_t val[3000];
        unsigned n = 0;
        for (; n < 200; n++) {
            char k[32];
            int kl = sprintf(k, "full-%06u", n);
            memset(val, (int)(n & 0xff), sizeof val);
            TU_OK(cellar_put(db, k, (size_t)kl, val, sizeof val));
        }
        TU_OK(cellar_checkpoint(db));
        cellar_stats st = { .version = CELLAR_STATS_VERSION };
        TU_OK(cellar_stats_get(db, &st));
        /* room for a little more, then the disk is full */
        cellar_vfs_fault_set_capacity(fs, st.file_size + st.wal_size + (256u << 10));
        int rc = CELLAR_OK;
        unsigned tries = 0;
        for (; tries < 100000; tries++, n++) {
            char k[32];
            int kl = sprintf(k, "full-%06u", n);
            memset(val, (int)(n & 0xff), sizeof val);
            rc = cellar_put(db, k, (size_t)kl, val, sizeof val);
            if (rc != CELLAR_OK)
                break;
        }
        ck_assert_msg(rc == CELLAR_ENOSPC, "disk full: put -> %s after %u puts: %s", cellar_errname(rc), tries,
                      cellar_error_last()->message);
        ck_assert_str_ne(cellar_error_last()->message, "");
        unsigned committed = n; /* keys 0..n-1 were acknowledged; n failed */

        /* reads go on working on the same handle */
        for (unsigned i = 0; i < committed; i++) {
            char k[32];
            int kl = sprintf(k, "full-%06u", i);
            void *v;
            size_t vl;
            rc = cellar_get(db, k, (size_t)kl, &v, &vl);
            ck_assert_msg(rc == CELLAR_OK, "disk full: get %s -> %s: %s", k, cellar_errname(rc),
                          cellar_error_last()->message);
            ck_assert_uint_eq(vl, sizeof val);
            ck_assert_uint_eq(((uint8_t *)v)[0], i & 0xff);
            cellar_free(v);
        }
        uint64_t cnt;
        TU_OK(cellar_count(db, &cnt));
        ck_assert(cnt == committed || cnt == committed + 1);
        /* more writes keep failing cleanly while the disk is full */
        rc = cellar_put(db, "more", 4, val, sizeof val);
        ck_assert_msg(rc == CELLAR_ENOSPC, "disk still full: put -> %s: %s", cellar_errname(rc),
                      cellar_error_last()->message);

        /* raise the capacity: writing resumes on the same handle */
        cellar_vfs_fault_set_capacity(fs, 0);
        rc = cellar_put(db, "after", 5, "ok", 2);
        ck_assert_msg(rc == CELLAR_OK, "sync %d: put after the disk has room again -> %s: %s", sync,
                      cellar_errname(rc), cellar_error_last()->message);
        TU_OK(cellar_checkpoint(db));
        TU_OK(cellar_close(db));

        TU_OK(cellar_open(&db, "full.cellar", &o));
        for (unsigned i = 0; i < committed; i++) {
            char k[32];
            int kl = sprintf(k, "full-%06u", i);
            TU_OK(cellar_exists(db, k, (size_t)kl));
        }
        TU_OK(cellar_exists(db, "after", 5));
        TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
        TU_OK(cellar_close(db));
        cellar_vfs_fault_free(fs);
    }
}
END_TEST

/* A full disk found at reopen: the handle (or the open) fails cleanly, and
 * nothing is lost once there is room. */
START_TEST(test_disk_full_then_reopen)
{
    cellar_fault *fs;
    TU_OK(cellar_vfs_fault_new(&fs));
    cellar_options o = fault_opts(fs, CELLAR_SYNC_FULL);
    cellar_db *db;
    TU_OK(cellar_open(&db, "full2.cellar", &o));
    model m;
    model_init(&m);
    tu_rng r = { 99 };
    cellar_stats st = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_stats_get(db, &st));
    cellar_vfs_fault_set_capacity(fs, st.file_size + st.wal_size + (512u << 10));
    unsigned failed = 0;
    for (unsigned i = 0; i < 400; i++) {
        int rc = step(db, &m, &r);
        if (rc != CELLAR_OK) {
            ck_assert_msg(rc == CELLAR_ENOSPC || rc == CELLAR_EIO, "step %u: %s: %s", i, cellar_errname(rc),
                          cellar_error_last()->message);
            failed++;
        }
    }
    ck_assert_uint_gt(failed, 0);
    cellar_close(db);
    cellar_vfs_fault_set_capacity(fs, 0);
    TU_OK(cellar_open(&db, "full2.cellar", &o));
    verify(db, &m, "disk full, reopened");
    TU_OK(cellar_close(db));
    cellar_vfs_fault_free(fs);
}
END_TEST

static Suite *suite(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 600);
    int ncases = (int)(sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_fault_points_sync_full, 0, ncases);
    tcase_add_loop_test(tc, test_fault_points_sync_normal, 0, ncases);
    tcase_add_test(tc, test_fault_in_large_value);
    tcase_add_test(tc, test_fault_during_recovery);
    tcase_add_test(tc, test_disk_full);
    tcase_add_test(tc, test_disk_full_then_reopen);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
