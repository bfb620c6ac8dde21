/*
 * test_kill9.c - process crash: a forked child commits transactions and
 * reports each acknowledged commit through a pipe; the parent SIGKILLs it at
 * a random moment (during recovery, commits, checkpoints), then reopens the
 * file and checks that every acknowledged commit is there (under sync=full
 * and normal; under off, that the file holds a prefix), that no transaction
 * is partly visible, and that cellar_check passes.
 *
 * Writer w's transaction n writes w<w>-pair-A-(n % SLOTS) and
 * w<w>-pair-B-(n % SLOTS) with the same value (naming n; some values are
 * large enough to live out of line, some span many pages), and "w<w>-seq" =
 * n. So each writer's content is a function of its last commit S: the
 * parent recomputes it and compares record by record. One test runs one
 * writer under sync=full; the other mixes the modes round by round, with one
 * to three writer threads in the child.
 */
#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under a sanitizer a round (fork, open, recovery, check) costs several
 * times more: fewer rounds then. */
#define SANITIZED TU_SANITIZED

#define SLOTS 64u

static void sleep_us(unsigned us)
{
    struct timespec ts = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The value of transaction n: "v<n>:" then filler derived from n; every
 * 16th is 6000+ bytes (out of line), and when `large`, every 61st is
 * 100-200 KiB (an extent of many pages). */
#define VALUE_MAX (200u << 10)
static size_t pair_value(uint8_t *buf, uint64_t n, int large)
{
    int h = sprintf((char *)buf, "v%" PRIu64 ":", n);
    size_t len = (size_t)h + (n % 16 == 5 ? 6000 + n % 1000 : n % 50);
    if (large && n % 61 == 7)
        len = (100u << 10) + (size_t)(n % 1000) * 100;
    for (size_t i = (size_t)h; i < len; i++)
        buf[i] = (uint8_t)(n * 31 + i * 7);
    return len;
}

/* A round's setup: the child's sync mode and writer threads. Writer w owns
 * the keys "w<w>-pair-A-<slot>", "w<w>-pair-B-<slot>" and "w<w>-seq". */
typedef struct setup {
    int sync;
    unsigned writers; /* 1..MAXW */
    int large;
    int grow; /* also the growing key set below, and verify read-only first */
} setup;

/* With `grow`, transaction n also puts "w<w>-grow-<n % GROW>" (a value of
 * up to ~300 bytes naming n) and, when n % 7 == 0, deletes the grow key of
 * n - 3: the file grows, splits and frees pages as it would for a log of
 * small records. */
#define GROW 4096u
static size_t grow_value(uint8_t *buf, uint64_t n)
{
    int h = sprintf((char *)buf, "g%" PRIu64 ":", n);
    size_t len = (size_t)h + (size_t)(n * 37 % 300);
    for (size_t i = (size_t)h; i < len; i++)
        buf[i] = (uint8_t)(n * 13 + i * 5);
    return len;
}
#define MAXW 3u

static cellar_options kill_opts(int sync)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.sync = sync;
    o.cache_size = 1u << 20;
    o.wal_limit = 16u << 10; /* a checkpoint every few commits: kills land inside them too */
    return o;
}

static uint64_t read_seq(cellar_db *db, unsigned w)
{
    char key[16];
    int kl = sprintf(key, "w%u-seq", w);
    void *v = NULL;
    size_t vl = 0;
    int rc = cellar_get(db, key, (size_t)kl, &v, &vl);
    if (rc == CELLAR_ENOTFOUND)
        return 0;
    if (rc != CELLAR_OK)
        return UINT64_MAX;
    char b[32];
    if (vl >= sizeof b) {
        cellar_free(v);
        return UINT64_MAX;
    }
    memcpy(b, v, vl);
    b[vl] = 0;
    cellar_free(v);
    return strtoull(b, NULL, 10);
}

/* An acknowledgement through the pipe (16 bytes: written atomically). */
typedef struct ack {
    uint64_t w;
    uint64_t n;
} ack;

typedef struct child_writer {
    cellar_db *db;
    unsigned w;
    int fd;
    int large, grow;
} child_writer;

/* A writer thread of the child: commit forever, acknowledging each commit. */
static void *child_writer_main(void *arg)
{
    child_writer *cw = arg;
    uint64_t n = read_seq(cw->db, cw->w);
    if (n == UINT64_MAX)
        _exit(4);
    uint8_t *buf = malloc(VALUE_MAX);
    if (!buf)
        _exit(8);
    for (;;) {
        n++;
        char ka[32], kb[32], ks[16], sv[32];
        int kal = sprintf(ka, "w%u-pair-A-%02u", cw->w, (unsigned)(n % SLOTS));
        int kbl = sprintf(kb, "w%u-pair-B-%02u", cw->w, (unsigned)(n % SLOTS));
        int ksl = sprintf(ks, "w%u-seq", cw->w);
        int svl = sprintf(sv, "%" PRIu64, n);
        size_t vl = pair_value(buf, n, cw->large);
        int rc;
        do { /* writers share no key; a conflict is a slot of the conflict table shared */
            cellar_txn *t;
            rc = cellar_txn_begin(&t, cw->db, 0);
            if (rc == CELLAR_OK && ((rc = cellar_txn_put(t, ka, (size_t)kal, buf, vl)) != CELLAR_OK ||
                                    (rc = cellar_txn_put(t, ks, (size_t)ksl, sv, (size_t)svl)) != CELLAR_OK ||
                                    (rc = cellar_txn_put(t, kb, (size_t)kbl, buf, vl)) != CELLAR_OK)) {
                fprintf(stderr, "kill9 child: txn: %s\n", cellar_error_last()->message);
                _exit(5);
            }
            if (rc == CELLAR_OK && cw->grow) {
                char kg[32], kd[32];
                uint8_t gv[400];
                int kgl = sprintf(kg, "w%u-grow-%u", cw->w, (unsigned)(n % GROW));
                int kdl = sprintf(kd, "w%u-grow-%u", cw->w, (unsigned)((n - 3) % GROW));
                size_t gl = grow_value(gv, n);
                if ((rc = cellar_txn_put(t, kg, (size_t)kgl, gv, gl)) == CELLAR_OK && n % 7 == 0 && n > 3) {
                    rc = cellar_txn_delete(t, kd, (size_t)kdl);
                    if (rc == CELLAR_ENOTFOUND)
                        rc = CELLAR_OK;
                }
                if (rc != CELLAR_OK) {
                    fprintf(stderr, "kill9 child: txn: %s\n", cellar_error_last()->message);
                    _exit(5);
                }
            }
            if (rc == CELLAR_OK)
                rc = cellar_txn_commit(t);
        } while (rc == CELLAR_ECONFLICT);
        if (rc != CELLAR_OK) {
            fprintf(stderr, "kill9 child: commit: %s\n", cellar_error_last()->message);
            _exit(6);
        }
        ack a = { cw->w, n };
        if (write(cw->fd, &a, sizeof a) != (ssize_t)sizeof a)
            _exit(7);
    }
    return NULL;
}

/* The child: open, then commit from every writer thread until killed. */
static void child_main(const char *path, int fd, const setup *su)
{
    cellar_options o = kill_opts(su->sync);
    cellar_db *db;
    if (cellar_open(&db, path, &o) != CELLAR_OK) {
        fprintf(stderr, "kill9 child: open: %s\n", cellar_error_last()->message);
        _exit(3);
    }
    child_writer cw[MAXW];
    pthread_t th[MAXW];
    for (unsigned w = 0; w < su->writers; w++) {
        cw[w] = (child_writer){ db, w, fd, su->large, su->grow };
        if (w > 0 && pthread_create(&th[w], NULL, child_writer_main, &cw[w]) != 0)
            _exit(9);
    }
    child_writer_main(&cw[0]);
}

/* Check writer w's keys are exactly the state after its commit S, and S >=
 * acked when `durable` (acknowledged commits must have survived). Returns S. */
/* Writer w's grow keys at its commit s; returns how many are present. */
static uint64_t verify_grow(cellar_db *db, unsigned w, uint64_t s, unsigned round)
{
    uint64_t present = 0;
    uint8_t want[400];
    for (unsigned j = 0; j < GROW; j++) {
        /* the last put to slot j, deleted by commit m + 3 if that is a multiple of 7 */
        uint64_t m = s >= j ? s - (s - j) % GROW : 0;
        int live = m >= 1 && !(m + 3 <= s && (m + 3) % 7 == 0);
        char kg[32];
        int kgl = sprintf(kg, "w%u-grow-%u", w, j);
        void *v = NULL;
        size_t vl = 0;
        int rc = cellar_get(db, kg, (size_t)kgl, &v, &vl);
        if (!live) {
            ck_assert_msg(rc == CELLAR_ENOTFOUND, "round %u: writer %u: grow key %u should be absent at seq %" PRIu64
                          " (%s)", round, w, j, s, cellar_errname(rc));
            continue;
        }
        ck_assert_msg(rc == CELLAR_OK, "round %u: writer %u: grow key %u at seq %" PRIu64 ": %s: %s", round, w, j, s,
                      cellar_errname(rc), cellar_error_last()->message);
        size_t wl = grow_value(want, m);
        ck_assert_msg(vl == wl && memcmp(v, want, wl) == 0, "round %u: writer %u: grow key %u is not commit %" PRIu64
                      "'s", round, w, j, m);
        cellar_free(v);
        present++;
    }
    return present;
}

static uint64_t verify_writer(cellar_db *db, unsigned w, uint64_t acked, int durable, unsigned round)
{
    uint64_t s = read_seq(db, w);
    ck_assert_msg(s != UINT64_MAX, "round %u: writer %u: seq unreadable", round, w);
    if (durable)
        ck_assert_msg(s >= acked, "round %u: writer %u: acknowledged commit %" PRIu64 " lost (file holds %" PRIu64 ")",
                      round, w, acked, s);
    /* at most the one commit in flight when the kill came may be extra */
    ck_assert_msg(s <= acked + 1, "round %u: writer %u: seq %" PRIu64 " but only %" PRIu64 " acknowledged", round,
                  w, s, acked);
    static uint8_t want[VALUE_MAX];
    for (unsigned j = 0; j < SLOTS; j++) {
        /* the last commit n <= s with n % SLOTS == j */
        uint64_t n = 0;
        if (s >= j && s > 0) {
            n = s - ((s - j) % SLOTS);
            if (n == 0 || n > s)
                n = 0;
        }
        char ka[32], kb[32];
        int kal = sprintf(ka, "w%u-pair-A-%02u", w, j);
        int kbl = sprintf(kb, "w%u-pair-B-%02u", w, j);
        void *va = NULL, *vb = NULL;
        size_t la = 0, lb = 0;
        int ra = cellar_get(db, ka, (size_t)kal, &va, &la);
        int rb = cellar_get(db, kb, (size_t)kbl, &vb, &lb);
        if (n == 0) {
            ck_assert_msg(ra == CELLAR_ENOTFOUND && rb == CELLAR_ENOTFOUND,
                          "round %u: writer %u slot %u should be empty at seq %" PRIu64 " (%s, %s)", round, w, j, s,
                          cellar_errname(ra), cellar_errname(rb));
            continue;
        }
        ck_assert_msg(ra == CELLAR_OK && rb == CELLAR_OK,
                      "round %u: writer %u slot %u at seq %" PRIu64 ": %s, %s: %s", round, w, j, s,
                      cellar_errname(ra), cellar_errname(rb), cellar_error_last()->message);
        /* a value is large or not by n alone: try both shapes */
        size_t wl = pair_value(want, n, 1);
        if (la != wl)
            wl = pair_value(want, n, 0);
        ck_assert_msg(la == lb && la == wl && memcmp(va, vb, la) == 0 && memcmp(va, want, wl) == 0,
                      "round %u: writer %u slot %u: pair differs or is not commit %" PRIu64 "'s (a %.12s / b %.12s)",
                      round, w, j, n, (char *)va, (char *)vb);
        cellar_free(va);
        cellar_free(vb);
    }
    return s;
}

/* Reopen (read-only when `ro`: recovery then happens in memory alone),
 * check the file and every writer's keys; seq[w] gets each writer's last
 * commit found. */
static void verify_open(const char *path, const uint64_t *acked, const setup *su, unsigned round, uint64_t *seq,
                        int ro)
{
    cellar_options o = kill_opts(su->sync);
    if (ro)
        o.flags = CELLAR_RDONLY;
    cellar_db *db;
    int rc = cellar_open(&db, path, &o);
    ck_assert_msg(rc == CELLAR_OK, "round %u: %sreopen -> %s: %s", round, ro ? "read-only " : "", cellar_errname(rc),
                  cellar_error_last()->message);
    uint64_t checked = 0;
    rc = cellar_check(db, NULL, NULL, NULL, &checked);
    ck_assert_msg(rc == CELLAR_OK, "round %u: %scheck -> %s, %" PRIu64 " problems: %s", round, ro ? "read-only " : "",
                  cellar_errname(rc), checked, cellar_error_last()->message);
    uint64_t want_count = 0;
    for (unsigned w = 0; w < MAXW; w++) {
        seq[w] = verify_writer(db, w, acked[w], su->sync != CELLAR_SYNC_OFF, round);
        if (seq[w])
            want_count += 1 + 2 * (seq[w] >= SLOTS ? SLOTS : seq[w]);
        if (su->grow)
            want_count += verify_grow(db, w, seq[w], round);
    }
    uint64_t count = 0;
    TU_OK(cellar_count(db, &count));
    ck_assert_uint_eq(count, want_count);
    TU_OK(cellar_close(db));
}

/* With su->grow the read-only open comes first: it must find what the
 * read-write one then finds, without writing to the file. */
static void verify(const char *path, const uint64_t *acked, const setup *su, unsigned round, uint64_t *seq)
{
    if (su->grow) {
        uint64_t ro_seq[MAXW];
        verify_open(path, acked, su, round, ro_seq, 1);
        verify_open(path, acked, su, round, seq, 0);
        for (unsigned w = 0; w < MAXW; w++)
            ck_assert_msg(ro_seq[w] == seq[w], "round %u: writer %u: read-only recovery found commit %" PRIu64
                          ", read-write %" PRIu64, round, w, ro_seq[w], seq[w]);
        return;
    }
    verify_open(path, acked, su, round, seq, 0);
}

typedef struct kill_tally {
    uint64_t acked, extra, early, lost_off;
} kill_tally;

/* One round: fork a child with setup su, kill it at a random moment, verify. */
static void kill_round(const char *path, const setup *su, unsigned round, tu_rng *rng, uint64_t *acked,
                       kill_tally *kt)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        child_main(path, p[1], su);
        _exit(2);
    }
    close(p[1]);
    if (tu_below(rng, 8) == 0) {
        /* kill early: during open and recovery, or the first commits */
        sleep_us((unsigned)tu_below(rng, 3000));
        kt->early++;
    } else {
        /* wait for the first acknowledgement, then a few ms more */
        struct pollfd pf = { p[0], POLLIN, 0 };
        int pr = poll(&pf, 1, 20000);
        ck_assert_msg(pr == 1, "round %u: child made no commit in 20 s", round);
        sleep_us((unsigned)tu_below(rng, 8000));
    }
    kill(pid, SIGKILL);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "round %u: child exited by itself (status %d)",
                  round, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    ack a;
    ssize_t got;
    while ((got = read(p[0], &a, sizeof a)) == (ssize_t)sizeof a) {
        ck_assert_msg(a.w < MAXW && a.n > acked[a.w], "round %u: acknowledgement %" PRIu64 " of writer %" PRIu64
                      " out of order", round, a.n, a.w);
        acked[a.w] = a.n;
        kt->acked++;
    }
    ck_assert_int_eq(got, 0);
    close(p[0]);
    uint64_t seq[MAXW];
    verify(path, acked, su, round, seq);
    for (unsigned w = 0; w < MAXW; w++) {
        if (seq[w] > acked[w])
            kt->extra++;
        if (seq[w] < acked[w])
            kt->lost_off += acked[w] - seq[w]; /* only under sync=off, where allowed */
        acked[w] = seq[w]; /* the next child goes on from what is there */
    }
}

/* A series of rounds on one file. With `mixed`, each round draws its mode,
 * its writer count and whether it writes large values; otherwise every round
 * is one writer under sync=full. */
typedef struct series {
    kill_tally kt;
    unsigned rounds, by_mode[3], threaded;
} series;

/* mixed: 0 one writer under sync=full; 1 modes, writers and sizes drawn per
 * round; 2 + mode: growing keys in that mode, verified read-only first. */
static void run_series(const char *name, uint64_t seed, unsigned rounds, int mixed, series *se)
{
    const char *path = tu_path(name);
    tu_rng rng = { seed };
    uint64_t acked[MAXW] = { 0 };
    se->rounds = rounds;
    for (unsigned round = 0; round < rounds; round++) {
        setup su = { CELLAR_SYNC_FULL, 1, 0, 0 };
        if (mixed == 1)
            su = (setup){ (int)tu_below(&rng, 3), 1 + (unsigned)tu_below(&rng, MAXW), tu_below(&rng, 3) == 0, 0 };
        else if (mixed >= 2)
            su = (setup){ mixed - 2, 1, 0, 1 };
        se->by_mode[su.sync]++;
        se->threaded += su.writers > 1;
        kill_round(path, &su, round, &rng, acked, &se->kt);
    }
    ck_assert_uint_gt(se->kt.acked, rounds / 2);
}

START_TEST(test_kill9_sync_full)
{
    series se = { 0 };
    run_series("kill9.cellar", 0xC0FFEEULL, (SANITIZED ? 40u : 200u) * (tu_long() ? 5u : 1u), 0, &se);
    printf("kill9, sync=full: %u rounds (%" PRIu64 " killed early), %" PRIu64 " commits acknowledged and verified, "
           "0 lost, %" PRIu64 " rounds had the in-flight commit durable\n",
           se.rounds, se.kt.early, se.kt.acked, se.kt.extra);
}
END_TEST

/* Every mode in turn on one file, one to three writer threads, large values
 * in some rounds. Under sync=full and normal nothing acknowledged may be
 * lost to a process kill; under off the file holds a prefix. */
START_TEST(test_kill9_mixed)
{
    series se = { 0 };
    run_series("kill9-mixed.cellar", 0xBADC0DEULL, (SANITIZED ? 30u : 150u) * (tu_long() ? 10u : 1u), 1, &se);
    printf("kill9, mixed: %u rounds (normal %u, full %u, off %u; %u with 2-3 writer threads; %" PRIu64
           " killed early), %" PRIu64 " commits acknowledged, 0 lost under full/normal, %" PRIu64
           " unsynced commits dropped under off\n",
           se.rounds, se.by_mode[CELLAR_SYNC_NORMAL], se.by_mode[CELLAR_SYNC_FULL], se.by_mode[CELLAR_SYNC_OFF],
           se.threaded, se.kt.early, se.kt.acked, se.kt.lost_off);
}
END_TEST

/* Issue: a read-only open after kill -9 reported a healthy file corrupt
 * (recovery's directory and free-list pages were read from the file, not
 * from the log's batch). Each sync mode: the verifying open is read-only
 * first, then read-write; both must find the same state. */
static void readonly_series(int sync, uint64_t seed)
{
    series se = { 0 };
    char name[40];
    sprintf(name, "kill9-ro-%d.cellar", sync);
    run_series(name, seed, (SANITIZED ? 25u : 100u) * (tu_long() ? 5u : 1u), 2 + sync, &se);
    printf("kill9, read-only recovery, sync=%s: %u rounds (%" PRIu64 " killed early), %" PRIu64
           " commits acknowledged, read-only and read-write recovery agreed in every round\n",
           sync == CELLAR_SYNC_FULL ? "full" : sync == CELLAR_SYNC_OFF ? "off" : "normal", se.rounds, se.kt.early,
           se.kt.acked);
}
START_TEST(test_kill9_readonly_full) { readonly_series(CELLAR_SYNC_FULL, 0x5EED01ULL); }
END_TEST
START_TEST(test_kill9_readonly_normal) { readonly_series(CELLAR_SYNC_NORMAL, 0x5EED02ULL); }
END_TEST
START_TEST(test_kill9_readonly_off) { readonly_series(CELLAR_SYNC_OFF, 0x5EED03ULL); }
END_TEST

static Suite *suite(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("kill9");
    TCase *tc = tcase_create("kill9");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_kill9_sync_full);
    tcase_add_test(tc, test_kill9_mixed);
    tcase_add_test(tc, test_kill9_readonly_full);
    tcase_add_test(tc, test_kill9_readonly_normal);
    tcase_add_test(tc, test_kill9_readonly_off);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
