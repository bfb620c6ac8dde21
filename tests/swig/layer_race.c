/*
 * layer_race.c - calls on a transaction or an iterator of the SWIG object
 * layer (bindings/swig/cellar_swig.c, the one under Java, Perl and Tcl)
 * racing their end on another thread: an abort, an iterator close, a commit
 * against an abort, or the close of their database.
 *
 * Every call must succeed or fail with CELLAR_EBUSY (the other thread is
 * inside a call on the same child) or CELLAR_ECLOSED (the child has ended),
 * and a commit that raced an abort must be there afterwards exactly when it
 * returned CELLAR_OK. (The layer used to read a child's core handle before
 * taking the child's lock; a call racing an abort then handed the core the
 * NULL handle the abort had left: CELLAR_EINVAL, here about one round in 15.)
 *
 * Java's HostileTest runs the same race through the JVM, where a call is too
 * slow next to the window to hit it often; rounds here are cheap, so there
 * are many. CELLAR_LONG_TESTS=1 (not "0") runs ten times the rounds.
 *
 * usage: swig_layer_race <scratch directory>
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar_swig.h"

enum { END_TXN_FIRST, END_ITER_FIRST, END_DB, COMMIT_VS_ABORT, MODES };
static const char *const mode_name[MODES] = {
    "abort, then iterator close", "iterator close, then abort", "database close",
    "commit against abort"
};

typedef struct round_state {
    int round, mode, warm;
    CellarTxn *txn;
    CellarIter *it;
    atomic_int steps;
    int committed; /* the user's commit returned CELLAR_OK */
    int bad;       /* calls that failed with another code */
} round_state;

static int failures;

static void key_of(char *buf, size_t n, int round, int i)
{
    snprintf(buf, n, "r%d-t%d", round, i);
}

/* One call of the user thread; its code (the layer's status). */
static int user_step(round_state *r, int i)
{
    char key[32];
    key_of(key, sizeof key, r->round, i);
    cellar_swig_clear();
    if (r->mode == COMMIT_VS_ABORT && i >= r->warm) {
        CellarTxn_commit(r->txn);
        if (cellar_swig_code() == CELLAR_OK)
            r->committed = 1;
        return cellar_swig_code();
    }
    CellarTxn_put(r->txn, key, strlen(key), "1", 1);
    if (cellar_swig_code() != CELLAR_OK)
        return cellar_swig_code();
    (void)CellarTxn_exists(r->txn, "k1", 2);
    if (cellar_swig_code() != CELLAR_OK)
        return cellar_swig_code();
    if (CellarIter_advance(r->it)) {
        CellarBytes k = CellarIter_key(r->it);
        cellar_swig_free_bytes(&k);
        if (cellar_swig_code() != CELLAR_OK)
            return cellar_swig_code();
        CellarBytes v = CellarIter_value(r->it);
        cellar_swig_free_bytes(&v);
    }
    return cellar_swig_code();
}

static void *user(void *arg)
{
    round_state *r = arg;
    for (int i = 0;; ) {
        int code = user_step(r, i);
        if (code == CELLAR_OK) {
            atomic_fetch_add(&r->steps, 1);
            i++;
        } else if (code == CELLAR_ECLOSED) {
            return NULL;
        } else if (code != CELLAR_EBUSY) { /* EBUSY: the same call again */
            fprintf(stderr, "FAIL round %d (%s): %s: %s\n", r->round, mode_name[r->mode],
                    cellar_errname(code), cellar_swig_message());
            r->bad++;
            return NULL;
        }
    }
}

static CellarDB *open_db(const char *path, int truncate)
{
    CellarOptions *o = new_CellarOptions();
    if (o != NULL && truncate)
        CellarOptions_set_truncate(o, 1);
    CellarDB *db = o ? new_CellarDB(path, o) : NULL;
    delete_CellarOptions(o);
    if (db == NULL) {
        fprintf(stderr, "FAIL open %s: %s\n", path, cellar_swig_message());
        exit(1);
    }
    return db;
}

/* One round on db (closed and reopened by an END_DB round); 0 if it failed. */
static int run_round(CellarDB **db, const char *path, int round)
{
    round_state r;
    memset(&r, 0, sizeof r);
    r.round = round;
    r.mode = round % MODES;
    r.warm = 1 + round % 23; /* end it after a varying number of steps */
    cellar_swig_clear();
    r.txn = CellarDB_begin(*db, 0);
    r.it = CellarDB_iterate(*db);
    if (r.txn == NULL || r.it == NULL) {
        fprintf(stderr, "FAIL round %d: begin/iterate: %s\n", round, cellar_swig_message());
        exit(1);
    }
    pthread_t th;
    if (pthread_create(&th, NULL, user, &r) != 0) {
        fprintf(stderr, "FAIL round %d: pthread_create\n", round);
        exit(1);
    }
    while (atomic_load(&r.steps) < r.warm)
        sched_yield();
    cellar_swig_clear();
    switch (r.mode) {
    case END_TXN_FIRST:
        CellarTxn_abort(r.txn);
        CellarIter_close(r.it);
        break;
    case END_ITER_FIRST:
        CellarIter_close(r.it);
        CellarTxn_abort(r.txn);
        break;
    case END_DB:
        CellarDB_close(*db);
        break;
    default: /* COMMIT_VS_ABORT: the user thread commits at step `warm` */
        CellarTxn_abort(r.txn);
        break;
    }
    int end_code = cellar_swig_code();
    pthread_join(th, NULL);
    delete_CellarTxn(r.txn);
    delete_CellarIter(r.it);
    if (r.mode == END_DB) {
        delete_CellarDB(*db);
        *db = open_db(path, 0);
    }
    char key[32];
    key_of(key, sizeof key, round, 0);
    cellar_swig_clear();
    int there = CellarDB_exists(*db, key, strlen(key));
    int ok = r.bad == 0 && end_code == CELLAR_OK && cellar_swig_code() == CELLAR_OK;
    if (end_code != CELLAR_OK)
        fprintf(stderr, "FAIL round %d (%s): ending it: %s\n", round, mode_name[r.mode],
                cellar_errname(end_code));
    if (there != r.committed) {
        fprintf(stderr, "FAIL round %d (%s): commit returned %s but the write is %s\n", round,
                mode_name[r.mode], r.committed ? "OK" : "an error", there ? "there" : "not there");
        ok = 0;
    }
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <scratch directory>\n", argv[0]);
        return 2;
    }
    const char *e = getenv("CELLAR_LONG_TESTS");
    int rounds = (e && *e && strcmp(e, "0") != 0) ? 10000 : 1000;
    char path[4096];
    snprintf(path, sizeof path, "%s/layer_race.cellar", argv[1]);
    CellarDB *db = open_db(path, 1);
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        CellarDB_put(db, k, strlen(k), "v", 1);
    }
    int per_mode[MODES] = { 0 };
    for (int round = 0; round < rounds; round++) {
        if (!run_round(&db, path, round)) {
            failures++;
            per_mode[round % MODES]++;
        }
    }
    delete_CellarDB(db);
    for (int m = 0; m < MODES; m++)
        printf("%-28s %d rounds, %d failed\n", mode_name[m], rounds / MODES, per_mode[m]);
    printf("%d rounds, %d failed\n", rounds, failures);
    return failures ? 1 : 0;
}
