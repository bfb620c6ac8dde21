/*
 * test_kill9.c - process crash: a forked child commits transactions under
 * sync=full and reports each acknowledged commit through a pipe; the parent
 * SIGKILLs it at a random moment (during recovery, commits, checkpoints),
 * then reopens the file and checks that every acknowledged commit is there,
 * that no transaction is partly visible, and that cellar_check passes.
 *
 * Transaction n writes pair-A-(n % SLOTS) and pair-B-(n % SLOTS) with the
 * same value (naming n; some values are large enough to live out of line),
 * and "seq" = n. So the whole content is a function of the last commit S:
 * the parent recomputes it and compares record by record.
 */
#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
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
 * 16th is 6000+ bytes (out of line). */
static size_t pair_value(uint8_t *buf, uint64_t n)
{
    int h = sprintf((char *)buf, "v%" PRIu64 ":", n);
    size_t len = (size_t)h + (n % 16 == 5 ? 6000 + n % 1000 : n % 50);
    for (size_t i = (size_t)h; i < len; i++)
        buf[i] = (uint8_t)(n * 31 + i * 7);
    return len;
}

static cellar_options kill_opts(void)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.sync = CELLAR_SYNC_FULL;
    o.cache_size = 1u << 20;
    o.wal_limit = 16u << 10; /* a checkpoint every few commits: kills land inside them too */
    return o;
}

static uint64_t read_seq(cellar_db *db)
{
    void *v = NULL;
    size_t vl = 0;
    int rc = cellar_get(db, "seq", 3, &v, &vl);
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

/* The child: commit forever, acknowledging each commit on fd. */
static void child_main(const char *path, int fd)
{
    cellar_options o = kill_opts();
    cellar_db *db;
    if (cellar_open(&db, path, &o) != CELLAR_OK) {
        fprintf(stderr, "kill9 child: open: %s\n", cellar_error_last()->message);
        _exit(3);
    }
    uint64_t n = read_seq(db);
    if (n == UINT64_MAX)
        _exit(4);
    static uint8_t buf[8192];
    for (;;) {
        n++;
        char ka[32], kb[32], sv[32];
        int kal = sprintf(ka, "pair-A-%02u", (unsigned)(n % SLOTS));
        int kbl = sprintf(kb, "pair-B-%02u", (unsigned)(n % SLOTS));
        int svl = sprintf(sv, "%" PRIu64, n);
        size_t vl = pair_value(buf, n);
        cellar_txn *t;
        if (cellar_txn_begin(&t, db, 0) != CELLAR_OK || cellar_txn_put(t, ka, (size_t)kal, buf, vl) != CELLAR_OK ||
            cellar_txn_put(t, "seq", 3, sv, (size_t)svl) != CELLAR_OK ||
            cellar_txn_put(t, kb, (size_t)kbl, buf, vl) != CELLAR_OK) {
            fprintf(stderr, "kill9 child: txn: %s\n", cellar_error_last()->message);
            _exit(5);
        }
        if (cellar_txn_commit(t) != CELLAR_OK) {
            fprintf(stderr, "kill9 child: commit: %s\n", cellar_error_last()->message);
            _exit(6);
        }
        if (write(fd, &n, sizeof n) != (ssize_t)sizeof n)
            _exit(7);
    }
}

/* Check the content is exactly the state after commit S, and S >= acked. */
static void verify(const char *path, uint64_t acked, unsigned round, uint64_t *out_seq)
{
    cellar_options o = kill_opts();
    cellar_db *db;
    int rc = cellar_open(&db, path, &o);
    ck_assert_msg(rc == CELLAR_OK, "round %u: reopen -> %s: %s", round, cellar_errname(rc),
                  cellar_error_last()->message);
    uint64_t checked = 0;
    rc = cellar_check(db, NULL, NULL, NULL, &checked);
    ck_assert_msg(rc == CELLAR_OK, "round %u: check -> %s, %" PRIu64 " problems: %s", round,
                  cellar_errname(rc), checked, cellar_error_last()->message);
    uint64_t s = read_seq(db);
    ck_assert_msg(s != UINT64_MAX, "round %u: seq unreadable", round);
    ck_assert_msg(s >= acked, "round %u: acknowledged commit %" PRIu64 " lost (file holds %" PRIu64 ")",
                  round, acked, s);
    /* at most the one commit in flight when the kill came may be extra */
    ck_assert_msg(s <= acked + 1, "round %u: seq %" PRIu64 " but only %" PRIu64 " acknowledged", round, s,
                  acked);
    static uint8_t want[8192];
    for (unsigned j = 0; j < SLOTS; j++) {
        /* the last commit n <= s with n % SLOTS == j */
        uint64_t n = 0;
        if (s >= j && s > 0) {
            n = s - ((s - j) % SLOTS);
            if (n == 0 || n > s)
                n = 0;
        }
        char ka[32], kb[32];
        int kal = sprintf(ka, "pair-A-%02u", j);
        int kbl = sprintf(kb, "pair-B-%02u", j);
        void *va = NULL, *vb = NULL;
        size_t la = 0, lb = 0;
        int ra = cellar_get(db, ka, (size_t)kal, &va, &la);
        int rb = cellar_get(db, kb, (size_t)kbl, &vb, &lb);
        if (n == 0) {
            ck_assert_msg(ra == CELLAR_ENOTFOUND && rb == CELLAR_ENOTFOUND,
                          "round %u: slot %u should be empty at seq %" PRIu64 " (%s, %s)", round, j, s,
                          cellar_errname(ra), cellar_errname(rb));
            continue;
        }
        ck_assert_msg(ra == CELLAR_OK && rb == CELLAR_OK, "round %u: slot %u at seq %" PRIu64 ": %s, %s: %s",
                      round, j, s, cellar_errname(ra), cellar_errname(rb), cellar_error_last()->message);
        size_t wl = pair_value(want, n);
        ck_assert_msg(la == lb && la == wl && memcmp(va, vb, la) == 0 && memcmp(va, want, wl) == 0,
                      "round %u: slot %u: pair differs or is not commit %" PRIu64 "'s (a %.12s / b %.12s)",
                      round, j, n, (char *)va, (char *)vb);
        cellar_free(va);
        cellar_free(vb);
    }
    uint64_t count = 0;
    TU_OK(cellar_count(db, &count));
    uint64_t slots_used = s >= SLOTS ? SLOTS : s;
    ck_assert_uint_eq(count, s ? 1 + 2 * slots_used : 0);
    TU_OK(cellar_close(db));
    *out_seq = s;
}

START_TEST(test_kill9_sync_full)
{
    const char *path = tu_path("kill9.cellar");
    unsigned rounds = SANITIZED ? 40 : 200;
    if (tu_long())
        rounds *= 5;
    tu_rng rng = { 0xC0FFEEULL };
    uint64_t acked = 0, seq = 0, extra = 0, early = 0;
    for (unsigned round = 0; round < rounds; round++) {
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(p[0]);
            child_main(path, p[1]);
            _exit(2);
        }
        close(p[1]);
        if (tu_below(&rng, 8) == 0) {
            /* kill early: during open and recovery, or the first commits */
            sleep_us((unsigned)tu_below(&rng, 3000));
            early++;
        } else {
            /* wait for the first acknowledgement, then a few ms more */
            struct pollfd pf = { p[0], POLLIN, 0 };
            int pr = poll(&pf, 1, 20000);
            ck_assert_msg(pr == 1, "round %u: child made no commit in 20 s", round);
            sleep_us((unsigned)tu_below(&rng, 8000));
        }
        kill(pid, SIGKILL);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "round %u: child exited by itself (status %d)", round,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        uint64_t n;
        ssize_t got;
        while ((got = read(p[0], &n, sizeof n)) == (ssize_t)sizeof n) {
            ck_assert_msg(n > acked, "round %u: acknowledgement %" PRIu64 " after %" PRIu64, round, n, acked);
            acked = n;
        }
        ck_assert_int_eq(got, 0);
        close(p[0]);
        verify(path, acked, round, &seq);
        if (seq > acked)
            extra++;
        acked = seq; /* the next child goes on from what is there */
    }
    printf("kill9: %u rounds (%" PRIu64 " killed early), %" PRIu64 " commits acknowledged, %" PRIu64
           " rounds had the in-flight commit durable\n", rounds, early, acked, extra);
    ck_assert_uint_gt(acked, rounds / 2);
}
END_TEST

static Suite *suite(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("kill9");
    TCase *tc = tcase_create("kill9");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_kill9_sync_full);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
