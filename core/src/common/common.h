/*
 * common.h - shared by every layer of the core: error recording, allocation,
 * locks, checksums, byte coding and the keyed hash.
 *
 * Errors: a failing internal function records the detail with cellar__err()
 * (thread-local, no allocation: a fixed buffer) and returns the negative
 * CELLAR_E* code, so `return cellar__err(CELLAR_EIO, errno, "...")` is the idiom.
 * Functions whose names contain a double underscore are internal.
 */
#ifndef CELLAR_COMMON_H
#define CELLAR_COMMON_H

#include "cellardb.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define CELLAR_LIKELY(x) __builtin_expect(!!(x), 1)
#define CELLAR_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CELLAR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CELLAR_LIKELY(x) (x)
#define CELLAR_UNLIKELY(x) (x)
#define CELLAR_PRINTF(a, b)
#endif

/* ---- errors ---- */

/** Record code/errno/message as the thread's last error; returns code. */
int cellar__err(int code, int sys_errno, const char *fmt, ...) CELLAR_PRINTF(3, 4);
/** Record an out-of-memory error without allocating (use cellar__err_oom). */
void cellar__err_oom_note(void);
/** Record an out-of-memory error without allocating; returns CELLAR_ENOMEM.
 * Inline, so callers (and the static analyzer) see that the result is an error. */
static inline int cellar__err_oom(void)
{
    cellar__err_oom_note();
    return CELLAR_ENOMEM;
}
/** Map an errno from a failed system call to a CELLAR_E* code. */
int cellar__errno_code(int e);

/* ---- allocation (all failures are recorded as CELLAR_ENOMEM by callers) ---- */
void *cellar__malloc(size_t n);
void *cellar__calloc(size_t n, size_t size);
void *cellar__realloc(void *p, size_t n);
char *cellar__strdup(const char *s);
/** A fresh string: a followed by b (a path and its suffix); NULL when out of memory. */
char *cellar__strcat_dup(const char *a, const char *b);

/* ---- checksums and hashing ---- */

/** CRC-32C (Castagnoli), continuing from `crc` (start with 0). */
uint32_t cellar__crc32c(uint32_t crc, const void *buf, size_t n);

/** SipHash-1-3 of data keyed by (k0, k1): the index hash, seeded per file. */
uint64_t cellar__siphash(uint64_t k0, uint64_t k1, const void *data, size_t len);

/** Fill buf with n random bytes from the OS (falls back to time and pid). */
void cellar__random(void *buf, size_t n);

/** Milliseconds since the epoch (wall clock) and a monotonic clock in ns. */
uint64_t cellar__now_ms(void);
uint64_t cellar__mono_ns(void);

/* ---- little-endian byte coding ---- */
static inline void cellar__put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void cellar__put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void cellar__put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t cellar__get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t cellar__get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t cellar__get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
/* (memcpy coding assumes a little-endian host; cellardb.c refuses to build otherwise) */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "cellardb's on-disk coding currently assumes a little-endian host"
#endif

/** Unsigned LEB128 varint: writes at most 10 bytes, returns the count. */
static inline size_t cellar__varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) { p[n++] = (uint8_t)(v | 0x80); v >>= 7; }
    p[n++] = (uint8_t)v;
    return n;
}
/** Decode a varint from p[0..avail); returns bytes used, or 0 if malformed/truncated. */
static inline size_t cellar__varint_get(const uint8_t *p, size_t avail, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < avail && i < 10; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) { *out = v; return i + 1; }
    }
    return 0;
}
static inline size_t cellar__varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

/* ---- locks: thin wrappers that abort on misuse (a broken invariant, not an input error) ---- */
typedef pthread_mutex_t cellar_mutex;
typedef pthread_rwlock_t cellar_rwlock;
typedef pthread_cond_t cellar_cond;
void cellar__mutex_init(cellar_mutex *m);
void cellar__mutex_destroy(cellar_mutex *m);
static inline void cellar__mutex_lock(cellar_mutex *m) { pthread_mutex_lock(m); }
static inline void cellar__mutex_unlock(cellar_mutex *m) { pthread_mutex_unlock(m); }
static inline bool cellar__mutex_trylock(cellar_mutex *m) { return pthread_mutex_trylock(m) == 0; }
void cellar__rwlock_init(cellar_rwlock *l);
void cellar__rwlock_destroy(cellar_rwlock *l);
static inline void cellar__rdlock(cellar_rwlock *l) { pthread_rwlock_rdlock(l); }
static inline void cellar__wrlock(cellar_rwlock *l) { pthread_rwlock_wrlock(l); }
static inline void cellar__rwunlock(cellar_rwlock *l) { pthread_rwlock_unlock(l); }
void cellar__cond_init(cellar_cond *c);
void cellar__cond_destroy(cellar_cond *c);

#endif /* CELLAR_COMMON_H */
