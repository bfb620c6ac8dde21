/*
 * testutil.h - helpers shared by the Check suites: temporary paths, a
 * deterministic PRNG, and running a suite with a summary.
 */
#ifndef CELLAR_TESTUTIL_H
#define CELLAR_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stddef.h>

#include "cellardb.h"

/** A fresh directory under $CELLAR_TEST_TMP (or /tmp) for this test; the
 * returned path is static per call site use: copy it if you need two. */
const char *tu_tmpdir(void);
/** tu_tmpdir() + "/" + name, in a static rotating buffer (8 slots). */
const char *tu_path(const char *name);

/** xorshift64* PRNG, deterministic per seed. */
typedef struct { uint64_t s; } tu_rng;
static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static inline uint64_t tu_below(tu_rng *r, uint64_t n) { return n ? tu_next(r) % n : 0; }

/** ck_assert that rc == CELLAR_OK, printing the last error otherwise. */
#define TU_OK(expr)                                                            \
    do {                                                                       \
        int tu_rc_ = (expr);                                                   \
        ck_assert_msg(tu_rc_ == CELLAR_OK, "%s -> %s (%d): %s", #expr,          \
                      cellar_errname(tu_rc_), tu_rc_, cellar_error_last()->message); \
    } while (0)
#define TU_RC(expr, want)                                                      \
    do {                                                                       \
        int tu_rc_ = (expr);                                                   \
        ck_assert_msg(tu_rc_ == (want), "%s -> %s, want %s: %s", #expr,         \
                      cellar_errname(tu_rc_), cellar_errname(want),            \
                      cellar_error_last()->message);                           \
    } while (0)

/** Run a suite with CK_NORMAL output; returns the process exit status. */
int tu_run(Suite *s);

/* TU_SANITIZED: 1 when built with a sanitizer (suites scale their sizes down:
 * every operation is several times slower and RSS is meaningless). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define TU_SANITIZED 1
#endif
#endif
#ifndef TU_SANITIZED
#define TU_SANITIZED 0
#endif

/** Monotonic milliseconds, and a sleep. */
uint64_t tu_now_ms(void);
void tu_sleep_ms(unsigned ms);

/** 1 when CELLAR_LONG_TESTS is set (build option or environment). */
int tu_long(void);

#endif
