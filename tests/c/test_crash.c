/*
 * test_crash.c - power loss at thousands of points, through the
 * fault-injecting in-memory file system.
 *
 * A round opens a fresh database with a tiny cache and log limit (so
 * checkpoints and log resets happen often), arms a "machine dies" fault after
 * a random number of writes/syncs/truncates, and runs random transactions
 * until a call fails. The writers are one or several threads, each with keys
 * of its own; a run may have phases, each opened with a sync mode of its own
 * and ended by cellar_sync or by a close. Then power loss (drop or tear every
 * write since the last sync), a reopen (some rounds crash again during the
 * recovery itself), and the checks:
 *   - a read-only open recovers in memory to the same content that the
 *     read-write open then finds (both pass cellar_check);
 *   - the file opens and cellar_check passes;
 *   - each writer's keys hold the state after some prefix of its
 *     transactions (never a partial transaction);
 *   - that prefix includes every commit known to be durable: acknowledged
 *     under sync=full, or followed by a successful cellar_sync or close.
 * Each test prints rounds, commits acknowledged, commits verified durable and
 * commits lost (which must be 0). CELLAR_LONG_TESTS runs ten times the rounds.
 */
#include "model.h"
#include "cellardb_vfs.h"

#include <pthread.h>
#include <stdio.h>

#define KEYS_PER 40u /* keys of one writer */
#define MAXW 4u      /* writers at most */
#define MAXTX 120u   /* transactions of one writer */

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

/* One writer: its transactions, and how far it got. */
typedef struct writer {
    size_t base;     /* its keys are base .. base+KEYS_PER-1 */
    tx txs[MAXTX];
    size_t next;     /* the next transaction to run */
    size_t attempted;/* transactions tried (the last may be in flight) */
    size_t acked;    /* commits that returned CELLAR_OK */
    size_t durable;  /* commits known to be durable */
    size_t stop_at;  /* end of the current phase */
    int sync;        /* the mode of the current phase */
    int failed;      /* the error that stopped it, or CELLAR_OK */
    cellar_db *db;
} writer;

/* A round's shape. */
typedef struct shape {
    unsigned writers; /* 1..MAXW */
    unsigned phases;  /* 1..3 */
    int sync[3];      /* per phase */
    int large;        /* some values of 64 KiB .. 1 MiB */
} shape;

typedef struct tally {
    unsigned rounds;
    uint64_t acked, durable, lost, recovery_crashes;
} tally;

static void make_txs(writer *w, tu_rng *r, int large)
{
    for (size_t t = 0; t < MAXTX; t++) {
        tx *x = &w->txs[t];
        x->n = 1 + tu_below(r, 5);
        for (size_t j = 0; j < x->n; j++) {
            x->ops[j].key = w->base + tu_below(r, KEYS_PER);
            x->ops[j].del = tu_below(r, 4) == 0;
            if (!x->ops[j].del) {
                uint64_t p = tu_below(r, 1000);
                x->ops[j].n = p < 50    ? 0
                              : p < 950 ? tu_below(r, 600)
                              : p < 995 || !large ? 3000 + tu_below(r, 9000)
                                                  : (64u << 10) + tu_below(r, 960u << 10);
                x->ops[j].v = malloc(x->ops[j].n ? x->ops[j].n : 1);
                mfill(r, x->ops[j].v, x->ops[j].n);
            }
        }
    }
}

static void free_txs(writer *w)
{
    for (size_t t = 0; t < MAXTX; t++)
        for (size_t j = 0; j < w->txs[t].n; j++)
            free(w->txs[t].ops[j].v);
}

/* Commit transaction x: a single put goes through cellar_put, the rest
 * through a transaction (retried on a conflict: it did not commit). */
static int commit_one(cellar_db *db, const tx *x)
{
    uint8_t kb[600];
    if (x->n == 1 && !x->ops[0].del) {
        size_t kl = mkey(x->ops[0].key, kb);
        return cellar_put(db, kb, kl, x->ops[0].v, x->ops[0].n);
    }
    for (int attempt = 0;; attempt++) {
        cellar_txn *tt = NULL;
        int rc = cellar_txn_begin(&tt, db, 0);
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
        if (rc != CELLAR_ECONFLICT || attempt == 100)
            return rc;
    }
}

/* Run w's transactions up to the end of the phase or the first failure. */
static void *run_writer(void *arg)
{
    writer *w = arg;
    while (w->next < w->stop_at) {
        w->attempted = w->next + 1;
        int rc = commit_one(w->db, &w->txs[w->next]);
        if (rc != CELLAR_OK) {
            w->failed = rc;
            break;
        }
        w->acked = ++w->next;
        if (w->sync == CELLAR_SYNC_FULL)
            w->durable = w->acked;
    }
    return NULL;
}

static void apply_prefix(model *md, const writer *w, size_t k)
{
    for (size_t i = w->base; i < w->base + KEYS_PER; i++)
        model_del(md, i);
    for (size_t t = 0; t < k; t++)
        for (size_t j = 0; j < w->txs[t].n; j++) {
            const txop *op = &w->txs[t].ops[j];
            if (op->del)
                model_del(md, op->key);
            else
                model_set(md, op->key, op->v, op->n);
        }
}

/* Read the database into a model over nkeys keys; returns 0 if a key
 * outside that space, or a key twice, appears. */
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
        for (id = 0; id < got->nkeys; id++)
            if (mkey(id, kb) == kl && (kl == 0 || memcmp(kb, k, kl) == 0))
                break;
        if (id == got->nkeys || got->m[id].present)
            ok = 0;
        else
            model_set(got, id, v, vl);
    }
    TU_RC(rc, CELLAR_ENOTFOUND);
    cellar_iter_close(it);
    return ok;
}

static int same_range(const model *a, const model *b, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        if (a->m[i].present != b->m[i].present)
            return 0;
        if (a->m[i].present && (a->m[i].n != b->m[i].n || (a->m[i].n && memcmp(a->m[i].v, b->m[i].v, a->m[i].n))))
            return 0;
    }
    return 1;
}

static int reopen(cellar_fault *fs, const cellar_options *o, cellar_db **db, tu_rng *r, uint64_t *recovery_crashes)
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

/* Run the writers of one phase, on threads when there are several. */
static void run_phase(writer *ws, unsigned n)
{
    if (n == 1) {
        run_writer(&ws[0]);
        return;
    }
    pthread_t th[MAXW];
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, run_writer, &ws[i]), 0);
    for (unsigned i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static void one_round(uint64_t seed, const shape *sh, tally *tl)
{
    tu_rng r = { seed * 2654435761u + 1 };
    cellar_fault *fs;
    TU_OK(cellar_vfs_fault_new(&fs));
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.vfs = cellar_vfs_fault_vfs(fs);
    o.sync = sh->sync[0];
    o.cache_size = 64 * 4096; /* the minimum: checkpoints come often */
    o.wal_limit = 16384 + tu_below(&r, 65536);
    writer *ws = calloc(sh->writers, sizeof *ws);
    for (unsigned i = 0; i < sh->writers; i++) {
        ws[i].base = (size_t)i * KEYS_PER;
        make_txs(&ws[i], &r, sh->large);
    }
    cellar_db *db;
    TU_OK(cellar_open(&db, "crash.db", &o));
    cellar_vfs_fault_arm(fs, CELLAR_FAULT_WRITE | CELLAR_FAULT_SYNC | CELLAR_FAULT_TRUNCATE,
                         tu_below(&r, 400u * sh->phases * sh->writers), CELLAR_FAULT_CRASH, 0);
    int dead = 0;
    for (unsigned ph = 0; ph < sh->phases && !dead; ph++) {
        if (ph > 0) {
            o.sync = sh->sync[ph];
            if (db == NULL && cellar_open(&db, "crash.db", &o) != CELLAR_OK) {
                dead = 1;
                break;
            }
        }
        for (unsigned i = 0; i < sh->writers; i++) {
            ws[i].db = db;
            ws[i].sync = o.sync;
            ws[i].stop_at = MAXTX * (ph + 1) / sh->phases;
        }
        run_phase(ws, sh->writers);
        for (unsigned i = 0; i < sh->writers; i++)
            if (ws[i].failed != CELLAR_OK) {
                ck_assert_msg(ws[i].failed == CELLAR_EIO || ws[i].failed == CELLAR_ENOSPC,
                              "seed %llu: commit failed with %s", (unsigned long long)seed,
                              cellar_errname(ws[i].failed));
                dead = 1;
            }
        if (dead || ph + 1 == sh->phases)
            break;
        /* End the phase: a sync (same handle, same mode) or a close (the
         * next phase reopens, perhaps in another mode). Either makes every
         * acknowledged commit durable, if it succeeds. */
        int rc;
        if (tu_below(&r, 2) == 0 && sh->sync[ph + 1] == sh->sync[ph]) {
            rc = cellar_sync(db);
        } else {
            rc = cellar_close(db);
            db = NULL;
        }
        if (rc != CELLAR_OK) {
            ck_assert_msg(rc == CELLAR_EIO || rc == CELLAR_ENOSPC, "seed %llu: phase end: %s",
                          (unsigned long long)seed, cellar_errname(rc));
            dead = 1;
            break;
        }
        for (unsigned i = 0; i < sh->writers; i++)
            ws[i].durable = ws[i].acked;
    }
    cellar_vfs_fault_crash(fs, tu_below(&r, 2) ? CELLAR_CRASH_TEAR : CELLAR_CRASH_DROP, tu_next(&r));
    if (db)
        cellar_close(db);

    size_t nkeys = (size_t)sh->writers * KEYS_PER;
    model got, want, got_ro;
    model_init(&got, nkeys);
    model_init(&want, nkeys);
    model_init(&got_ro, nkeys);
    /* A read-only open first: recovery in memory alone must find the state
     * the read-write recovery below finds (and write nothing; the file is
     * opened read-only, so a write would fail the open). */
    cellar_options ro = o;
    ro.flags = CELLAR_RDONLY;
    int rc = cellar_open(&db, "crash.db", &ro);
    ck_assert_msg(rc == CELLAR_OK, "seed %llu: read-only open after power loss: %s: %s", (unsigned long long)seed,
                  cellar_errname(rc), cellar_error_last()->message);
    uint64_t problems = 0;
    rc = cellar_check(db, NULL, NULL, NULL, &problems);
    ck_assert_msg(rc == CELLAR_OK, "seed %llu: read-only check after power loss: %s", (unsigned long long)seed,
                  cellar_error_last()->message);
    ck_assert_msg(read_all(db, &got_ro), "seed %llu: unknown or duplicate key after read-only recovery",
                  (unsigned long long)seed);
    uint64_t n_ro;
    TU_OK(cellar_count(db, &n_ro));
    ck_assert_uint_eq(n_ro, model_count(&got_ro));
    TU_OK(cellar_close(db));

    o.sync = sh->sync[tu_below(&r, sh->phases)];
    rc = reopen(fs, &o, &db, &r, &tl->recovery_crashes);
    ck_assert_msg(rc == CELLAR_OK, "seed %llu: reopen after power loss: %s: %s", (unsigned long long)seed,
                  cellar_errname(rc), cellar_error_last()->message);
    rc = cellar_check(db, NULL, NULL, NULL, &problems);
    ck_assert_msg(rc == CELLAR_OK, "seed %llu: check after power loss: %s", (unsigned long long)seed,
                  cellar_error_last()->message);
    ck_assert_msg(read_all(db, &got), "seed %llu: unknown or duplicate key after recovery", (unsigned long long)seed);
    ck_assert_msg(same_range(&got_ro, &got, 0, nkeys), "seed %llu: read-only recovery differs from read-write",
                  (unsigned long long)seed);
    for (unsigned i = 0; i < sh->writers; i++) {
        writer *w = &ws[i];
        /* the longest prefix the writer's keys show (several may look alike) */
        size_t k = w->attempted + 1;
        int match = 0;
        while (k-- > 0 && !match) {
            apply_prefix(&want, w, k);
            match = same_range(&want, &got, w->base, w->base + KEYS_PER);
        }
        k++;
        ck_assert_msg(match, "seed %llu writer %u: content is not the state after any prefix (acked %zu of %zu)",
                      (unsigned long long)seed, i, w->acked, w->attempted);
        if (k < w->durable) {
            if (tl->lost == 0) /* the first loss in full; the summary counts them all */
                fprintf(stderr, "seed %llu writer %u: %zu durable commits, only %zu survived\n",
                    (unsigned long long)seed, i, w->durable, k);
            tl->lost += w->durable - k;
        }
        tl->acked += w->acked;
        tl->durable += w->durable;
    }
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, model_count(&got));
    /* and the database keeps working */
    TU_OK(cellar_put(db, "after", 5, "x", 1));
    TU_OK(cellar_close(db));
    tl->rounds++;
    model_free(&got);
    model_free(&want);
    model_free(&got_ro);
    for (unsigned i = 0; i < sh->writers; i++)
        free_txs(&ws[i]);
    free(ws);
    cellar_vfs_fault_free(fs);
}

static unsigned rounds(void)
{
    unsigned n = TU_SANITIZED ? 300 : 1500;
    return tu_long() ? n * 10 : n;
}

static const char *mode_name(int sync)
{
    return sync == CELLAR_SYNC_FULL ? "full" : sync == CELLAR_SYNC_NORMAL ? "normal" : "off";
}

static void report(const char *what, const tally *tl)
{
    printf("power loss, %s: %u rounds, %llu commits acknowledged, %llu verified durable, %llu crashes during "
           "recovery, %llu lost\n",
           what, tl->rounds, (unsigned long long)tl->acked, (unsigned long long)tl->durable,
           (unsigned long long)tl->recovery_crashes, (unsigned long long)tl->lost);
    ck_assert_msg(tl->lost == 0, "%s: %llu durable commits lost", what, (unsigned long long)tl->lost);
}

/* One writer, one phase, one mode. */
static void single_mode(int sync, uint64_t seed0, unsigned n)
{
    shape sh = { 1, 1, { sync, sync, sync }, 0 };
    tally tl = { 0 };
    for (unsigned i = 0; i < n; i++)
        one_round(seed0 + i, &sh, &tl);
    char what[32];
    snprintf(what, sizeof what, "sync=%s", mode_name(sync));
    report(what, &tl);
}

START_TEST(power_loss_full) { single_mode(CELLAR_SYNC_FULL, 0, rounds()); }
END_TEST

START_TEST(power_loss_normal) { single_mode(CELLAR_SYNC_NORMAL, 100000u, rounds() / 2); }
END_TEST

START_TEST(power_loss_off) { single_mode(CELLAR_SYNC_OFF, 200000u, rounds() / 2); }
END_TEST

/* Random shapes: phases in mixed modes, large values, and (when threads)
 * two to four concurrent writers. */
static void mixed(int threads, uint64_t seed0, unsigned n)
{
    tu_rng r = { seed0 | 1 };
    tally tl = { 0 };
    for (unsigned i = 0; i < n; i++) {
        shape sh;
        sh.writers = threads ? 2 + (unsigned)tu_below(&r, MAXW - 1) : 1;
        sh.phases = 1 + (unsigned)tu_below(&r, 3);
        for (int p = 0; p < 3; p++)
            sh.sync[p] = (int)tu_below(&r, 3); /* CELLAR_SYNC_NORMAL, _FULL or _OFF */
        sh.large = tu_below(&r, 4) == 0;
        one_round(seed0 + i, &sh, &tl);
    }
    report(threads ? "concurrent writers, mixed modes" : "mixed modes and large values", &tl);
}

START_TEST(power_loss_mixed) { mixed(0, 300000u, rounds()); }
END_TEST

START_TEST(power_loss_threads) { mixed(1, 400000u, rounds() / 2); }
END_TEST

static Suite *suite(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("power loss");
    tcase_set_timeout(tc, 1800);
    tcase_add_test(tc, power_loss_full);
    tcase_add_test(tc, power_loss_normal);
    tcase_add_test(tc, power_loss_off);
    tcase_add_test(tc, power_loss_mixed);
    tcase_add_test(tc, power_loss_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
