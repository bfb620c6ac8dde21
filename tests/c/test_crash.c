/*
 * test_crash.c - power loss at thousands of points, through the
 * fault-injecting in-memory file system.
 *
 * Each round: open a fresh database with a tiny cache and log limit (so
 * checkpoints and log resets happen often), arm a "machine dies" fault after
 * a random number of writes/syncs, run random transactions until a call
 * fails, then simulate power loss (drop or tear every write since the last
 * sync), reopen and check:
 *   - the file opens and cellar_check passes;
 *   - the content equals the model after some prefix of the committed
 *     transactions (never a partial transaction);
 *   - under sync=full, every acknowledged commit is there.
 * Some rounds crash again during the recovery itself.
 */
#include "model.h"
#include "cellardb_vfs.h"

#include <stdio.h>

#define KEYS 40u
#define MAXTX 120u

typedef struct txop {
    size_t key;
    int del;
    uint8_t *v;
    size_t n;
} txop;
typedef struct tx {
    txop ops[6];
    size_t n;
} tx;

static void apply_prefix(model *md, const tx *txs, size_t k)
{
    for (size_t i = 0; i < md->nkeys; i++)
        model_del(md, i);
    for (size_t t = 0; t < k; t++)
        for (size_t j = 0; j < txs[t].n; j++) {
            if (txs[t].ops[j].del)
                model_del(md, txs[t].ops[j].key);
            else
                model_set(md, txs[t].ops[j].key, txs[t].ops[j].v, txs[t].ops[j].n);
        }
}

/* Read the database into a model; returns 0 if a key outside the space appears. */
static int read_all(cellar_db *db, model *got)
{
    uint8_t kb[600];
    for (size_t i = 0; i < got->nkeys; i++)
        model_del(got, i);
    cellar_iter *it;
    TU_OK(cellar_iter_open(&it, db));
    const void *k, *v;
    size_t kl, vl;
    int rc, ok = 1;
    while ((rc = cellar_iter_next(it, &k, &kl, &v, &vl)) == CELLAR_OK) {
        size_t id;
        for (id = 0; id < KEYS; id++)
            if (mkey(id, kb) == kl && (kl == 0 || memcmp(kb, k, kl) == 0))
                break;
        if (id == KEYS || got->m[id].present)
            ok = 0;
        else
            model_set(got, id, v, vl);
    }
    TU_RC(rc, CELLAR_ENOTFOUND);
    cellar_iter_close(it);
    return ok;
}

static int same(const model *a, const model *b)
{
    for (size_t i = 0; i < a->nkeys; i++) {
        if (a->m[i].present != b->m[i].present)
            return 0;
        if (a->m[i].present && (a->m[i].n != b->m[i].n || (a->m[i].n && memcmp(a->m[i].v, b->m[i].v, a->m[i].n))))
            return 0;
    }
    return 1;
}

static int reopen(cellar_fault *fs, const cellar_options *o, cellar_db **db, tu_rng *r, int *recovery_crashes)
{
    /* sometimes the machine dies again during recovery */
    if (tu_below(r, 8) == 0) {
        cellar_vfs_fault_arm(fs, CELLAR_FAULT_WRITE | CELLAR_FAULT_SYNC | CELLAR_FAULT_TRUNCATE,
                             tu_below(r, 20), CELLAR_FAULT_CRASH, 0);
        int rc = cellar_open(db, "crash.db", o);
        if (rc == CELLAR_OK)
            cellar_close(*db); /* the crash may come at close */
        cellar_vfs_fault_crash(fs, tu_below(r, 2) ? CELLAR_CRASH_TEAR : CELLAR_CRASH_DROP, tu_next(r));
        (*recovery_crashes)++;
    }
    return cellar_open(db, "crash.db", o);
}

static void one_round(uint64_t seed, int sync, int *acked_total, int *recovery_crashes)
{
    tu_rng r = { seed * 2654435761u + 1 };
    cellar_fault *fs;
    TU_OK(cellar_vfs_fault_new(&fs));
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.vfs = cellar_vfs_fault_vfs(fs);
    o.sync = sync;
    o.cache_size = 64 * 4096; /* the minimum: checkpoints come often */
    o.wal_limit = 16384 + tu_below(&r, 65536);
    cellar_db *db;
    TU_OK(cellar_open(&db, "crash.db", &o));
    cellar_vfs_fault_arm(fs, CELLAR_FAULT_WRITE | CELLAR_FAULT_SYNC | CELLAR_FAULT_TRUNCATE,
                         tu_below(&r, 400), CELLAR_FAULT_CRASH, 0);
    tx *txs = calloc(MAXTX, sizeof *txs);
    size_t acked = 0, attempted = 0;
    uint8_t kb[600];
    for (size_t t = 0; t < MAXTX; t++) {
        tx *x = &txs[t];
        x->n = 1 + tu_below(&r, 5);
        for (size_t j = 0; j < x->n; j++) {
            x->ops[j].key = tu_below(&r, KEYS);
            x->ops[j].del = tu_below(&r, 4) == 0;
            if (!x->ops[j].del) {
                uint64_t p = tu_below(&r, 100);
                x->ops[j].n = p < 5 ? 0 : p < 95 ? tu_below(&r, 600) : 3000 + tu_below(&r, 9000);
                x->ops[j].v = malloc(x->ops[j].n ? x->ops[j].n : 1);
                mfill(&r, x->ops[j].v, x->ops[j].n);
            }
        }
        int rc;
        attempted = t + 1;
        if (x->n == 1 && !x->ops[0].del) {
            size_t kl = mkey(x->ops[0].key, kb);
            rc = cellar_put(db, kb, kl, x->ops[0].v, x->ops[0].n);
        } else {
            cellar_txn *tt;
            rc = cellar_txn_begin(&tt, db, 0);
            for (size_t j = 0; j < x->n && rc == CELLAR_OK; j++) {
                size_t kl = mkey(x->ops[j].key, kb);
                rc = x->ops[j].del ? cellar_txn_delete(tt, kb, kl) : cellar_txn_put(tt, kb, kl, x->ops[j].v, x->ops[j].n);
                if (rc == CELLAR_ENOTFOUND)
                    rc = CELLAR_OK;
            }
            if (rc == CELLAR_OK)
                rc = cellar_txn_commit(tt);
            else if (tt)
                cellar_txn_abort(tt);
        }
        if (rc != CELLAR_OK) {
            ck_assert_msg(rc == CELLAR_EIO || rc == CELLAR_ENOSPC, "commit failed with %s", cellar_errname(rc));
            break;
        }
        acked = t + 1;
    }
    cellar_vfs_fault_crash(fs, tu_below(&r, 2) ? CELLAR_CRASH_TEAR : CELLAR_CRASH_DROP, tu_next(&r));
    cellar_close(db);

    int rc = reopen(fs, &o, &db, &r, recovery_crashes);
    ck_assert_msg(rc == CELLAR_OK, "seed %llu: reopen after power loss: %s: %s", (unsigned long long)seed,
                  cellar_errname(rc), cellar_error_last()->message);
    uint64_t problems = 0;
    rc = cellar_check(db, NULL, NULL, NULL, &problems);
    ck_assert_msg(rc == CELLAR_OK, "seed %llu: check after power loss: %s", (unsigned long long)seed,
                  cellar_error_last()->message);
    model got, want;
    model_init(&got, KEYS);
    model_init(&want, KEYS);
    ck_assert_msg(read_all(db, &got), "seed %llu: unknown or duplicate key after recovery", (unsigned long long)seed);
    /* Which prefixes are acceptable: under sync=full the acknowledged ones
     * must all be there (the one in flight may or may not be). */
    size_t lo = sync == CELLAR_SYNC_FULL ? acked : 0;
    int match = 0;
    for (size_t k = attempted + 1; k-- > lo && !match;) {
        apply_prefix(&want, txs, k);
        match = same(&want, &got);
    }
    ck_assert_msg(match, "seed %llu sync %d: content is not the state after any allowed prefix (acked %zu of %zu)",
                  (unsigned long long)seed, sync, acked, attempted);
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, model_count(&got));
    /* and the database keeps working */
    TU_OK(cellar_put(db, "after", 5, "x", 1));
    TU_OK(cellar_close(db));
    *acked_total += (int)acked;
    model_free(&got);
    model_free(&want);
    for (size_t t = 0; t < MAXTX; t++)
        for (size_t j = 0; j < txs[t].n; j++)
            free(txs[t].ops[j].v);
    free(txs);
    cellar_vfs_fault_free(fs);
}

static int rounds(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    int n = 300;
#else
    int n = 1500;
#endif
    return tu_long() ? n * 10 : n;
}

START_TEST(power_loss_full)
{
    int acked = 0, rc = 0, n = rounds();
    for (int i = 0; i < n; i++)
        one_round((uint64_t)i, CELLAR_SYNC_FULL, &acked, &rc);
    printf("power loss, sync=full: %d rounds, %d commits acknowledged and verified, %d crashes during recovery, 0 lost\n", n, acked, rc);
}
END_TEST

START_TEST(power_loss_normal)
{
    int acked = 0, rc = 0, n = rounds() / 2;
    for (int i = 0; i < n; i++)
        one_round(100000u + (uint64_t)i, CELLAR_SYNC_NORMAL, &acked, &rc);
    printf("power loss, sync=normal: %d rounds, %d commits, %d crashes during recovery, every state a prefix\n", n, acked, rc);
}
END_TEST

START_TEST(power_loss_off)
{
    int acked = 0, rc = 0, n = rounds() / 2;
    for (int i = 0; i < n; i++)
        one_round(200000u + (uint64_t)i, CELLAR_SYNC_OFF, &acked, &rc);
    printf("power loss, sync=off: %d rounds, %d commits, %d crashes during recovery, every state a prefix\n", n, acked, rc);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("power loss");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, power_loss_full);
    tcase_add_test(tc, power_loss_normal);
    tcase_add_test(tc, power_loss_off);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
