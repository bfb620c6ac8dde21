/*
 * util.c - allocation, locks, clocks and randomness for the core.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

void *cellar__malloc(size_t n) { return malloc(n ? n : 1); }
void *cellar__calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *cellar__realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
char *cellar__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *cellar__strcat_dup(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b) + 1;
    char *d = malloc(na + nb);
    if (d) {
        memcpy(d, a, na); /* NOLINT(bugprone-not-null-terminated-result): b's copy brings the NUL */
        memcpy(d + na, b, nb);
    }
    return d;
}

CELLAR_API void cellar_free(void *ptr) { free(ptr); }

CELLAR_API const char *cellar_version(void) { return CELLAR_VERSION_STRING; }

void cellar__mutex_init(cellar_mutex *m)
{
    if (pthread_mutex_init(m, NULL) != 0)
        abort();
}
void cellar__mutex_destroy(cellar_mutex *m) { pthread_mutex_destroy(m); }
void cellar__rwlock_init(cellar_rwlock *l)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
#if defined(__GLIBC__)
    /* Writers must not starve behind a stream of readers. */
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    if (pthread_rwlock_init(l, &a) != 0)
        abort();
    pthread_rwlockattr_destroy(&a);
}
void cellar__rwlock_destroy(cellar_rwlock *l) { pthread_rwlock_destroy(l); }
void cellar__cond_init(cellar_cond *c)
{
    if (pthread_cond_init(c, NULL) != 0)
        abort();
}
void cellar__cond_destroy(cellar_cond *c) { pthread_cond_destroy(c); }

uint64_t cellar__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t cellar__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cellar__random(void *buf, size_t n)
{
    uint8_t *p = buf;
    size_t got = 0;
#if defined(__linux__)
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
#endif
    if (got < n) {
        /* No OS randomness: mix time, pid and addresses (weak, but never fails). */
        uint64_t x = cellar__mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)buf;
        for (; got < n; got++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            p[got] = (uint8_t)(x >> 24);
        }
    }
}
