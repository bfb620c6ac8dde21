/*
 * bench.h - the interface between cellar_bench's runner and its store backends.
 *
 * One backend file per store (backend_<store>.c) fills in a bench_backend.
 * The runner owns the keys, values, timing and output; a backend only maps
 * the few operations below onto its store's public API, in the mode the
 * runner asks for (bench_config.durable).
 *
 * Handles and threads
 * -------------------
 * open() gives a database handle. Every operation goes through a per-thread
 * context made by thread_begin() on the thread that will use it (NULL
 * thread_begin: the context is the handle itself). A backend whose handle
 * may be shared by threads sets BENCH_MT_READ / BENCH_MT_WRITE; one that
 * needs a private object per thread (an LMDB read transaction, an SQLite
 * connection) makes it in thread_begin. The runner never runs a multi-thread
 * workload on a backend without the matching flag; it prints mt_note instead.
 *
 * Errors
 * ------
 * Operations return 0 on success, 1 for "not found" (get/del only) and -1 on
 * failure, after bench_error() has recorded a message for the calling thread.
 */
#ifndef CELLAR_BENCH_H
#define CELLAR_BENCH_H

#include <stddef.h>
#include <stdint.h>

/** How the runner wants a store opened. */
typedef struct bench_config {
    const char *dir;        /**< the store's own directory (exists) */
    int create;             /**< 1: start empty; 0: reopen what is there */
    int durable;            /**< 1: every write is a durable commit (fill_sync) */
    size_t cache_bytes;     /**< memory budget for stores with their own cache */
    uint64_t records;       /**< records the run will hold (for map sizes) */
    size_t key_size;
    size_t value_size;
    uint64_t tkrzw_buckets; /**< Tkrzw num_buckets; 0 = Tkrzw's default */
    int threads;            /**< most threads that will use the handle at once */
} bench_config;

/** Capability flags (bench_backend.caps). */
#define BENCH_MT_READ  0x1u /**< several threads may read at once */
#define BENCH_MT_WRITE 0x2u /**< several threads may write at once */

typedef struct bench_backend {
    const char *name;       /**< short name, as given to --stores */
    const char *cache_note; /**< where its reads are cached, for the output */
    const char *mode_note;  /**< its non-durable and durable modes, for the output */
    const char *mt_note;    /**< how threads use it (or why they are skipped) */
    unsigned caps;          /**< BENCH_MT_* */

    /** The library version actually linked (static string). */
    const char *(*version)(void);
    /** Open a store in cfg->dir; *out receives the handle. */
    int (*open)(void **out, const bench_config *cfg);
    /** Close and free the handle (also on error). */
    int (*close)(void *db);
    /** Make the calling thread's context (index counts from 0); NULL = use db. */
    int (*thread_begin)(void **out, void *db, int index);
    /** Free a context made by thread_begin (may be NULL if thread_begin is). */
    void (*thread_end)(void *ctx);

    /** Store key -> val, replacing; durable handles commit durably. */
    int (*put)(void *ctx, const void *key, size_t klen, const void *val, size_t vlen);
    /** Copy the value of key into buf (cap bytes); *len gets its full length. 0/1/-1. */
    int (*get)(void *ctx, const void *key, size_t klen, void *buf, size_t cap, size_t *len);
    /** Remove key. 0 removed, 1 absent, -1 error. */
    int (*del)(void *ctx, const void *key, size_t klen);
    /** Visit every record once; *count and *bytes get records and key+value bytes. */
    int (*scan)(void *ctx, uint64_t *count, uint64_t *bytes);
} bench_backend;

/** Record the calling thread's error message (printf format); returns -1. */
int bench_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/** The calling thread's last error message ("" if none). */
const char *bench_last_error(void);

/** Join dir and name into out (cap bytes); returns out. */
char *bench_path(char *out, size_t cap, const char *dir, const char *name);

#ifdef BENCH_HAVE_CELLARDB
extern const bench_backend bench_backend_cellardb;
#endif
#ifdef BENCH_HAVE_GDBM
extern const bench_backend bench_backend_gdbm;
#endif
#ifdef BENCH_HAVE_LMDB
extern const bench_backend bench_backend_lmdb;
#endif
#ifdef BENCH_HAVE_TKRZW
extern const bench_backend bench_backend_tkrzw;
#endif
#ifdef BENCH_HAVE_KC
extern const bench_backend bench_backend_kc;
#endif
#ifdef BENCH_HAVE_BDB
extern const bench_backend bench_backend_bdb;
#endif
#ifdef BENCH_HAVE_LEVELDB
extern const bench_backend bench_backend_leveldb;
#endif
#ifdef BENCH_HAVE_ROCKSDB
extern const bench_backend bench_backend_rocksdb;
#endif
#ifdef BENCH_HAVE_SQLITE
extern const bench_backend bench_backend_sqlite;
#endif

#endif /* CELLAR_BENCH_H */
