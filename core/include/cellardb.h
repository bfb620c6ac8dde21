/*
 * cellardb.h - the whole public API of cellardb, an embedded key-value store.
 *
 * cellardb keeps byte-string keys (0 to 64 KiB) and values (0 bytes to 1 GiB)
 * in one file, indexed on disk by extendible hashing, read through a bounded
 * LRU page cache, with every commit made atomic and crash-safe by a
 * write-ahead log kept beside the file ("PATH-wal").
 *
 * If it is not in this header (or in cellardb_vfs.h) it is not a published API.
 *
 * Conventions
 * -----------
 * - Every function that can fail returns an int: CELLAR_OK (0) or a negative
 *   CELLAR_E* code. The detail (message naming the file and page, errno) is
 *   kept per thread and read with cellar_error_last() until the next failing
 *   call on the same thread.
 * - Output parameters come first and are named `out`.
 * - Memory the library hands out (values from cellar_get, ...) is freed with
 *   cellar_free().
 * - Handles are opaque; closing NULL is a no-op.
 *
 * Threads
 * -------
 * A cellar_db handle may be used by any number of threads at once. Readers run
 * in parallel; writers commit one at a time (sync=full commits arriving
 * together share one fsync). A cellar_txn or cellar_iter is used by one thread
 * at a time (any thread, not necessarily the one that made it).
 *
 * Opening the same file twice in one process returns handles that share one
 * open database (a registry keyed by device and inode); the file is closed
 * when the last handle closes. File locks keep other processes out: one
 * read-write process at a time; read-only processes while no writer is open.
 *
 * Semantics shared by every call
 * ------------------------------
 * - A key with a TTL is expired once now >= its expiry; an expired key is
 *   never returned, counted or iterated.
 * - In cellar_put_many, a key given twice takes its later value.
 * - A swapping cellar_cas stores the new value without a TTL.
 * - Inside a transaction, get, exists and delete count as reads for conflict
 *   detection; committing a transaction (read-only ones included) fails with
 *   CELLAR_ECONFLICT if a key it read was changed by another commit after
 *   the read.
 *
 * Lifetime
 * --------
 * cellar_close() on a db with live transactions or iterators is allowed: they
 * become dead (every later call on them returns CELLAR_ECLOSED, except
 * cellar_txn_abort / cellar_iter_close, which free them). A handle used in a
 * child process after fork() returns CELLAR_EFORK.
 */
#ifndef CELLARDB_H
#define CELLARDB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CELLAR_BUILDING)
#define CELLAR_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define CELLAR_API __attribute__((visibility("default")))
#else
#define CELLAR_API
#endif

/** Library version: one number for the core and every binding. */
#define CELLAR_VERSION_MAJOR 0
#define CELLAR_VERSION_MINOR 1
#define CELLAR_VERSION_PATCH 0
#define CELLAR_VERSION_STRING "0.1.0"

/** Limits. */
#define CELLAR_MAX_KEY_SIZE   65536u                 /**< bytes */
#define CELLAR_MAX_VALUE_SIZE 1073741824u            /**< 1 GiB */
#define CELLAR_MIN_PAGE_SIZE  4096u
#define CELLAR_MAX_PAGE_SIZE  65536u

/*
 * Error codes. One X-macro list feeds the C table (cellar_strerror) and the
 * tables of every binding: X(NAME, value, "message").
 */
#define CELLAR_ERROR_LIST(X)                                                   \
    X(OK, 0, "success")                                                        \
    X(ENOTFOUND, -1, "key not found")                                          \
    X(EINVAL, -2, "invalid argument")                                          \
    X(ETOOBIG, -3, "key or value too large")                                   \
    X(ENOMEM, -4, "out of memory")                                             \
    X(EIO, -5, "I/O error")                                                    \
    X(ENOSPC, -6, "no space left on device")                                   \
    X(ECORRUPT, -7, "database file is corrupt")                                \
    X(ELOCKED, -8, "database is locked")                                       \
    X(EREADONLY, -9, "database is read-only")                                  \
    X(ECONFLICT, -10, "transaction conflict")                                  \
    X(ECLOSED, -11, "handle is closed")                                        \
    X(ENAN, -12, "value is not an integer")                                    \
    X(EVERSION, -13, "unsupported file format version")                        \
    X(ENOTDB, -14, "file is not a cellardb database")                          \
    X(EMISMATCH, -15, "value did not match the expected value")                \
    X(EOVERFLOW, -16, "integer overflow")                                      \
    X(EFORK, -17, "handle used in a child process after fork")                 \
    X(ENOENT, -18, "no such file")                                             \
    X(EACCES, -19, "permission denied")                                        \
    X(EBUSY, -20, "database is busy")                                          \
    X(ECANCELED, -21, "operation canceled by callback")                        \
    X(EINTERNAL, -22, "internal error")

/** The error codes as an enum: CELLAR_OK, CELLAR_ENOTFOUND, ... */
typedef enum cellar_error_code {
#define CELLAR__ENUM(name, value, msg) CELLAR_##name = (value),
    CELLAR_ERROR_LIST(CELLAR__ENUM)
#undef CELLAR__ENUM
    CELLAR__ERROR_MIN = -22
} cellar_error_code;

/** The detail of the last failure on the calling thread. */
typedef struct cellar_error {
    int code;            /**< a CELLAR_E* code */
    int sys_errno;       /**< errno of the failing system call, or 0 */
    const char *message; /**< e.g. "db.cellar: page 17: checksum mismatch" */
} cellar_error;

/**
 * The static text for an error code ("key not found"); never NULL.
 * Unknown codes give "unknown error". Any thread.
 */
CELLAR_API const char *cellar_strerror(int code);

/**
 * The symbolic name of an error code ("CELLAR_ENOTFOUND"); never NULL.
 * Bindings use it as their error's code string. Any thread.
 */
CELLAR_API const char *cellar_errname(int code);

/**
 * The last failure recorded on the calling thread. The pointer stays valid
 * until the next cellardb call on this thread. Never NULL: with no failure
 * recorded, code is CELLAR_OK and message "". Out-of-memory is recorded
 * without allocating.
 */
CELLAR_API const cellar_error *cellar_error_last(void);

/** Forget the calling thread's last failure. */
CELLAR_API void cellar_error_clear(void);

/** Free memory handed out by the library (values, key arrays). NULL is a no-op. */
CELLAR_API void cellar_free(void *ptr);

/** The version string, CELLAR_VERSION_STRING of the library actually linked. */
CELLAR_API const char *cellar_version(void);

/* ------------------------------------------------------------------------ */
/* Opening and closing                                                       */
/* ------------------------------------------------------------------------ */

typedef struct cellar_db cellar_db;
typedef struct cellar_txn cellar_txn;
typedef struct cellar_iter cellar_iter;
struct cellar_vfs; /* cellardb_vfs.h */

/** Open flags (cellar_options.flags). */
#define CELLAR_RDONLY   0x1u /**< open read-only (shared lock) */
#define CELLAR_CREATE   0x2u /**< create the file if it does not exist */
#define CELLAR_TRUNCATE 0x4u /**< start empty: discard existing content */

/** Durability modes (cellar_options.sync); see README "Durability". */
typedef enum cellar_sync_mode {
    CELLAR_SYNC_NORMAL = 0, /**< survives a process crash; power loss loses <= ~1 s */
    CELLAR_SYNC_FULL = 1,   /**< fsync before a commit returns (group commit) */
    CELLAR_SYNC_OFF = 2     /**< nothing guaranteed until sync/checkpoint/close */
} cellar_sync_mode;

/** A clock in milliseconds since the epoch, for TTLs (tests pass a fake one). */
typedef uint64_t (*cellar_clock_fn)(void *payload);

#define CELLAR_OPTIONS_VERSION 1

/** Options for cellar_open. Initialise with CELLAR_OPTIONS_INIT. */
typedef struct cellar_options {
    unsigned int version;     /**< CELLAR_OPTIONS_VERSION */
    unsigned int flags;       /**< CELLAR_RDONLY | CELLAR_CREATE | CELLAR_TRUNCATE */
    size_t cache_size;        /**< page cache budget in bytes, a hard bound; 0 = automatic: 64 MiB,
                                   growing with the data up to a quarter of physical memory */
    unsigned int page_size;   /**< at creation: power of two, 4096..65536; 0 = 4096 */
    int sync;                 /**< a cellar_sync_mode */
    unsigned int mode;        /**< file mode bits at creation (umask applies); 0 = 0666 */
    int lock_timeout_ms;      /**< wait this long for another process's lock; 0 = fail at once */
    const struct cellar_vfs *vfs; /**< file layer; NULL = the POSIX one */
    cellar_clock_fn clock;    /**< TTL clock; NULL = wall clock. Taken from the open that
                                   creates the shared instance of a file (later opens of the
                                   same file in this process share it): clock and payload must
                                   stay valid until every handle to the file is closed. */
    void *clock_payload;      /**< passed to clock */
    uint64_t wal_limit;       /**< checkpoint when the log passes this many bytes; 0 = automatic:
                                   64 MiB, or half the data's size up to 1 GiB */
} cellar_options;

#define CELLAR_OPTIONS_INIT                                                    \
    { CELLAR_OPTIONS_VERSION, CELLAR_CREATE, 0, 0, CELLAR_SYNC_NORMAL, 0, 0,   \
      NULL, NULL, NULL, 0 }

/**
 * Open (or create) the database at `path`; the log lives at "<path>-wal".
 *
 * out:  receives the handle on success, NULL on failure.
 * path: file name (a copy is kept).
 * opts: options, or NULL for CELLAR_OPTIONS_INIT.
 *
 * If the file was not closed cleanly, recovery runs first: the last complete
 * checkpoint is applied and committed transactions after it are replayed.
 *
 * Returns CELLAR_OK; CELLAR_ENOENT (no file and no CELLAR_CREATE);
 * CELLAR_ELOCKED (another process holds the write lock, or holds a read lock
 * while we want to write); CELLAR_ENOTDB (not a cellardb file);
 * CELLAR_EVERSION (newer format); CELLAR_ECORRUPT; CELLAR_EACCES; CELLAR_EIO;
 * CELLAR_EINVAL (bad options; or the file is already open read-only in this
 * process and a write open was asked for); CELLAR_ENOMEM. Any thread.
 */
CELLAR_API int cellar_open(cellar_db **out, const char *path, const cellar_options *opts);

/**
 * Close a handle. The last handle to a file checkpoints (unless read-only),
 * releases the lock and frees everything. Live transactions and iterators of
 * this handle become dead (see Lifetime). NULL is a no-op.
 * Returns CELLAR_OK or the error of the final checkpoint (the handle is freed
 * all the same; committed data stays recoverable from the log).
 * Must not race with other calls on the same handle.
 */
CELLAR_API int cellar_close(cellar_db *db);

/* ------------------------------------------------------------------------ */
/* Single operations (each a one-operation transaction)                      */
/* ------------------------------------------------------------------------ */

/**
 * Read the value of `key`.
 * out/out_len: receive a fresh copy (free with cellar_free); a 0-byte value
 * gives a non-NULL pointer and length 0.
 * Returns CELLAR_OK, CELLAR_ENOTFOUND (absent or expired), CELLAR_EINVAL,
 * CELLAR_ETOOBIG (key over the limit), CELLAR_ECORRUPT, CELLAR_EIO,
 * CELLAR_ENOMEM, CELLAR_ECLOSED, CELLAR_EFORK. Any thread.
 */
CELLAR_API int cellar_get(cellar_db *db, const void *key, size_t klen,
                          void **out, size_t *out_len);

/**
 * Called with a borrowed view of a value: `val` is valid only during the call
 * and must not be written. The callback must not call back into the db.
 * Its return value is returned by the visiting function (use 0 for OK).
 */
typedef int (*cellar_visit_fn)(const void *val, size_t len, void *payload);

/**
 * Read the value of `key` without an extra copy: `fn` is called once with a
 * borrowed view (for small values, the bytes in the cached page, under its
 * read latch). Returns fn's result, or an error as cellar_get (fn is not
 * called then). Any thread.
 */
CELLAR_API int cellar_get_visit(cellar_db *db, const void *key, size_t klen,
                                cellar_visit_fn fn, void *payload);

/**
 * Does `key` exist (and is it unexpired)?
 * Returns CELLAR_OK if it does, CELLAR_ENOTFOUND if not, or an error.
 */
CELLAR_API int cellar_exists(cellar_db *db, const void *key, size_t klen);

/**
 * Store `val` under `key`, replacing any value (and clearing any TTL).
 * Returns CELLAR_OK, CELLAR_ETOOBIG, CELLAR_EINVAL, CELLAR_EREADONLY,
 * CELLAR_ENOSPC, CELLAR_EIO, CELLAR_ECLOSED, ... Any thread.
 */
CELLAR_API int cellar_put(cellar_db *db, const void *key, size_t klen,
                          const void *val, size_t vlen);

/**
 * Store `val` under `key` with a time-to-live of ttl_ms milliseconds
 * (0 = no TTL, as cellar_put). After that the key reads as absent.
 */
CELLAR_API int cellar_put_ttl(cellar_db *db, const void *key, size_t klen,
                              const void *val, size_t vlen, uint64_t ttl_ms);

/**
 * Remove `key`. Returns CELLAR_OK if it existed, CELLAR_ENOTFOUND if not.
 */
CELLAR_API int cellar_delete(cellar_db *db, const void *key, size_t klen);

/**
 * Add `delta` to the decimal ASCII integer stored under `key` (absent counts
 * as 0) and store the result as decimal ASCII. out (may be NULL) receives it.
 * Returns CELLAR_OK, CELLAR_ENAN (value is not a decimal int64: empty,
 * non-digits, or out of range),
 * CELLAR_EOVERFLOW, or an error as cellar_put. A TTL on the key is kept.
 */
CELLAR_API int cellar_incr(cellar_db *db, const void *key, size_t klen,
                           int64_t delta, int64_t *out);

/**
 * Compare and swap: if the current value equals `expected` (expected == NULL:
 * if the key is absent), store `val` (val == NULL: delete the key).
 * Returns CELLAR_OK if swapped, CELLAR_EMISMATCH if not, or an error.
 */
CELLAR_API int cellar_cas(cellar_db *db, const void *key, size_t klen,
                          const void *expected, size_t elen,
                          const void *val, size_t vlen);

/**
 * Give an existing key a time-to-live of ttl_ms milliseconds from now
 * (0 expires it at once). Returns CELLAR_OK or CELLAR_ENOTFOUND.
 */
CELLAR_API int cellar_expire(cellar_db *db, const void *key, size_t klen, uint64_t ttl_ms);

/**
 * Remaining time-to-live of `key` in milliseconds in *out, or -1 if the key
 * has none. Returns CELLAR_OK or CELLAR_ENOTFOUND.
 */
CELLAR_API int cellar_ttl(cellar_db *db, const void *key, size_t klen, int64_t *out);

/** Remove the TTL of `key`. Returns CELLAR_OK or CELLAR_ENOTFOUND. */
CELLAR_API int cellar_persist(cellar_db *db, const void *key, size_t klen);

/** Number of (unexpired) records in *out. */
CELLAR_API int cellar_count(cellar_db *db, uint64_t *out);

/** One slice of bytes, for the batch calls. */
typedef struct cellar_slice {
    const void *data;
    size_t len;
} cellar_slice;

/**
 * Read n keys at once. For each i, vals[i] receives a fresh copy (free each
 * data with cellar_free) or {NULL, 0} when absent; found[i] (if found is not
 * NULL) is 1 or 0. Returns CELLAR_OK or the first error (then no output needs
 * freeing).
 */
CELLAR_API int cellar_get_many(cellar_db *db, size_t n, const cellar_slice *keys,
                               cellar_slice *vals, unsigned char *found);

/**
 * Store n key/value pairs as one transaction (one log append).
 * Returns CELLAR_OK or an error (then nothing was stored).
 */
CELLAR_API int cellar_put_many(cellar_db *db, size_t n, const cellar_slice *keys,
                               const cellar_slice *vals);

/* ------------------------------------------------------------------------ */
/* Transactions                                                              */
/* ------------------------------------------------------------------------ */

/**
 * Begin a transaction. Writes are buffered in the transaction (its reads see
 * them); commit applies them all or none. Conflicts are detected optimistically:
 * commit fails with CELLAR_ECONFLICT if a key this transaction read was
 * changed by another commit after the read (serializable).
 * flags: 0, or CELLAR_RDONLY for a read-only transaction.
 * Returns CELLAR_OK, CELLAR_ENOMEM, CELLAR_ECLOSED, CELLAR_EREADONLY.
 */
CELLAR_API int cellar_txn_begin(cellar_txn **out, cellar_db *db, unsigned int flags);

/** As cellar_get, inside the transaction. */
CELLAR_API int cellar_txn_get(cellar_txn *txn, const void *key, size_t klen,
                              void **out, size_t *out_len);
/** As cellar_exists, inside the transaction. */
CELLAR_API int cellar_txn_exists(cellar_txn *txn, const void *key, size_t klen);
/** As cellar_put, buffered in the transaction. */
CELLAR_API int cellar_txn_put(cellar_txn *txn, const void *key, size_t klen,
                              const void *val, size_t vlen);
/** As cellar_put_ttl, buffered in the transaction. */
CELLAR_API int cellar_txn_put_ttl(cellar_txn *txn, const void *key, size_t klen,
                                  const void *val, size_t vlen, uint64_t ttl_ms);
/** As cellar_delete, buffered: CELLAR_OK if the key existed (as the txn sees it). */
CELLAR_API int cellar_txn_delete(cellar_txn *txn, const void *key, size_t klen);

/**
 * Commit and free the transaction (on success and on failure alike).
 * Returns CELLAR_OK, CELLAR_ECONFLICT, CELLAR_ECLOSED, or a write error.
 */
CELLAR_API int cellar_txn_commit(cellar_txn *txn);

/** Drop the transaction's writes and free it. NULL is a no-op. */
CELLAR_API void cellar_txn_abort(cellar_txn *txn);

/* ------------------------------------------------------------------------ */
/* Iteration                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * Open an iterator over all records, in hash order. Weakly consistent: safe
 * under concurrent writes and splits; every key present for the whole
 * iteration is yielded exactly once; keys added or removed meanwhile may or
 * may not appear. Returns CELLAR_OK, CELLAR_ENOMEM, CELLAR_ECLOSED.
 */
CELLAR_API int cellar_iter_open(cellar_iter **out, cellar_db *db);

/**
 * Advance to the next record. key/val (each may be NULL) receive pointers
 * owned by the iterator, valid until the next call on it.
 * Returns CELLAR_OK, CELLAR_ENOTFOUND at the end, or an error.
 */
CELLAR_API int cellar_iter_next(cellar_iter *it, const void **key, size_t *klen,
                                const void **val, size_t *vlen);

/** Free an iterator. NULL is a no-op. */
CELLAR_API void cellar_iter_close(cellar_iter *it);

/* ------------------------------------------------------------------------ */
/* Maintenance                                                               */
/* ------------------------------------------------------------------------ */

/** Statistics (cellar_stats). */
#define CELLAR_STATS_VERSION 1
typedef struct cellar_stats {
    unsigned int version;     /**< set to CELLAR_STATS_VERSION before the call */
    uint64_t records;         /**< live records (expired ones not yet swept included) */
    uint64_t file_size;       /**< bytes */
    uint64_t page_size;
    uint64_t pages;           /**< pages in the file */
    uint64_t bucket_pages;
    uint64_t overflow_pages;  /**< bucket chain pages (inseparable hashes) */
    uint64_t value_pages;     /**< pages of out-of-line values */
    uint64_t directory_pages;
    uint64_t free_pages;
    uint32_t global_depth;
    double fill_factor;       /**< used bytes / capacity of bucket pages */
    uint64_t cache_capacity;  /**< bytes */
    uint64_t cache_used;      /**< bytes in frames */
    uint64_t cache_hits;
    uint64_t cache_misses;
    uint64_t wal_size;        /**< bytes in the log */
    uint64_t commits;         /**< since open */
    uint64_t checkpoints;     /**< since open */
} cellar_stats;

/**
 * Fill *out (set out->version first). Returns CELLAR_OK or an error.
 * Reads no page: every figure is a counter the database keeps (cellar_check
 * verifies them against the pages), so it costs the same on any file size.
 */
CELLAR_API int cellar_stats_get(cellar_db *db, cellar_stats *out);

/** Make every commit so far durable (fsync the log). */
CELLAR_API int cellar_sync(cellar_db *db);

/** Write every dirty page to the file and reset the log. */
CELLAR_API int cellar_checkpoint(cellar_db *db);

/**
 * Progress of a long operation: done out of total units (total may be 0 if
 * unknown). Return 0 to go on, nonzero to cancel (CELLAR_ECANCELED).
 * Called on the thread that called the operation. compact, backup and check
 * call it while holding the database's writer lock, so it must not write to
 * (or compact, back up or check) the same database; reading is allowed.
 */
typedef int (*cellar_progress_fn)(uint64_t done, uint64_t total, void *payload);

/**
 * Rebuild the file without free space and shrink it. Blocks writers while it
 * runs; readers go on. progress may be NULL.
 */
CELLAR_API int cellar_compact(cellar_db *db, cellar_progress_fn progress, void *payload);

/**
 * Write a consistent copy of the database to `dest` (a new file, replaced if
 * it exists) while other threads go on reading and writing.
 */
CELLAR_API int cellar_backup(cellar_db *db, const char *dest,
                             cellar_progress_fn progress, void *payload);

/** One problem found by cellar_check: page number (0 if none) and a message. */
typedef void (*cellar_report_fn)(uint64_t page, const char *message, void *payload);

/**
 * Verify every page checksum and the whole structure (directory, buckets,
 * chains, value extents, free list, and the record and page counts behind
 * cellar_stats_get). Each problem is reported
 * through `report` (may be NULL); *out (may be NULL) receives the count.
 * Returns CELLAR_OK when no problem was found, CELLAR_ECORRUPT otherwise.
 */
CELLAR_API int cellar_check(cellar_db *db, cellar_report_fn report,
                            cellar_progress_fn progress, void *payload, uint64_t *out);

/**
 * Copy every readable record of the (possibly corrupt) file `src` into a new
 * database at `dest`, without trusting the directory. *out (may be NULL)
 * receives the number of records copied.
 */
CELLAR_API int cellar_salvage(const char *src, const char *dest,
                              cellar_progress_fn progress, void *payload, uint64_t *out);

/**
 * Write every record to `path` ("-" = standard output) in the portable text
 * dump format (see core/doc/FORMAT.md): lossless for binary data.
 */
CELLAR_API int cellar_dump(cellar_db *db, const char *path,
                           cellar_progress_fn progress, void *payload);

/** Read a dump made by cellar_dump from `path` ("-" = standard input) and store it. */
CELLAR_API int cellar_load(cellar_db *db, const char *path,
                           cellar_progress_fn progress, void *payload);

#ifdef __cplusplus
}
#endif
#endif /* CELLARDB_H */
