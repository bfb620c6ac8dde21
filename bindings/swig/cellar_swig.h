/*
 * cellar_swig.h - the thin object layer that cellardb.i hands to SWIG.
 *
 * The C API works with opaque handles and return codes; SWIG maps structs
 * with methods to classes. This layer turns the handles into such structs
 * (CellarDB, CellarTxn, CellarIter, plus CellarOptions, CellarClock and
 * CellarStats) whose functions are named Type_method, the names SWIG's
 * %extend expects, so cellardb.i declares them and nothing is written twice.
 *
 * Errors
 * ------
 * No function here returns a code. A failure is recorded in a thread-local
 * status (cellar_swig_code / cellar_swig_message) and the one %exception
 * block of cellardb.i raises it after the call: every function that can fail
 * leaves its outputs empty on failure, so the wrapper has nothing to free.
 *
 * Lifetime (why the wrappers are reference counted)
 * ------------------------------------------------
 * A garbage collector frees objects in any order, and a user may close a
 * database from one thread while another still calls it. So:
 * - a CellarDB counts one reference for its proxy object and one per live
 *   transaction or iterator; the C handle is closed by an explicit close(),
 *   or when the last reference goes (a transaction keeps its database open
 *   even after the proxy of the database was collected);
 * - every call on a database or a child holds the database's read lock, and
 *   close takes the write lock: closing while another thread is inside a call
 *   waits for that call, and every later call fails with CELLAR_ECLOSED;
 * - a transaction or iterator is meant for one thread at a time; a second
 *   thread that calls it while it is busy gets CELLAR_EBUSY, not a crash;
 *   its core handle is read only under its busy mutex, which abort and
 *   close take too, so a call racing them gets CELLAR_EBUSY or, once they
 *   are done, CELLAR_ECLOSED (never a stale or NULL handle for the core);
 * - at the end of a program, objects may never be freed (a global at Perl's
 *   global destruction, Tcl's exit): cellar_swig_close_all closes whatever
 *   is still open, so that every file gets its final checkpoint.
 * The core defines what happens to children of a closed database (they are
 * dead: CELLAR_ECLOSED); this layer never frees a core handle twice.
 *
 * Clocks
 * ------
 * A CellarClock is a manual clock for TTL tests (the conformance suite's fake
 * clock). The core may keep calling a clock for as long as any handle to the
 * file is open, which a binding cannot see, so clocks are never freed: they
 * stay on a process-wide list (a few bytes each; tests make a handful).
 */
#ifndef CELLAR_SWIG_H
#define CELLAR_SWIG_H

#include <stddef.h>
#include <stdint.h>

#include "cellardb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status of the last call on this thread ---------------------------- */

/** Forget the calling thread's status (every wrapper does this first). */
void cellar_swig_clear(void);
/** CELLAR_OK, or the code of the failure since the last clear. */
int cellar_swig_code(void);
/** The failure's message ("key not found: ..."); "" when none. */
const char *cellar_swig_message(void);
/** Record CELLAR_ECLOSED for a method called on no object: a closed Java
 * value object (options, clock, stats), Perl undef, Tcl NULL. `type` names
 * the class. (The options and clock functions check for themselves; a stats
 * field is checked by a typemap in cellardb.i.) */
void cellar_swig_fail_null(const char *type);

/* ---- values handed to and from the languages ---------------------------- */

/** Who frees CellarBytes.data. */
enum {
    CELLAR_SWIG_OWNER_NONE = 0, /**< nothing to free */
    CELLAR_SWIG_OWNER_CORE = 1, /**< handed out by the core: cellar_free */
    CELLAR_SWIG_OWNER_SELF = 2  /**< copied by this layer: free */
};

/** Bytes handed to a language; the typemap copies them, then frees them
 * with cellar_swig_free_bytes. */
typedef struct CellarBytes {
    void *data; /**< NULL: none (absent) */
    size_t len;
    int owner;  /**< CELLAR_SWIG_OWNER_* */
} CellarBytes;

/** A list of byte strings from the language (input); data NULL = null. */
typedef struct CellarSlices {
    size_t n;
    cellar_slice *items;
    int owns; /**< 1: each data was malloc'd by the typemap (Java copies) */
} CellarSlices;

/** A list of owned byte strings (output; data NULL = absent). `keys` are
 * the request's keys, borrowed, valid while the typemaps run. */
typedef struct CellarBytesList {
    size_t n;
    cellar_slice *items;
    const cellar_slice *keys;
} CellarBytesList;

/** A list of owned C strings (output). */
typedef struct CellarStrings {
    size_t n;
    char **items;
} CellarStrings;

/** Free what b holds (by its owner) and empty it. */
void cellar_swig_free_bytes(CellarBytes *b);
/** Free every item and the arrays of an output list. */
void cellar_swig_free_bytes_list(CellarBytesList *l);
void cellar_swig_free_slices(CellarSlices *s);
void cellar_swig_free_strings(CellarStrings *l);

/* ---- the classes --------------------------------------------------------- */

typedef struct CellarClock CellarClock;
typedef struct CellarOptions CellarOptions;
typedef struct CellarDB CellarDB;
typedef struct CellarTxn CellarTxn;
typedef struct CellarIter CellarIter;

/** A copy of cellar_stats with signed 64-bit fields (Java has no unsigned). */
typedef struct CellarStats {
    int64_t records, file_size, page_size, pages, bucket_pages, overflow_pages,
        value_pages, directory_pages, free_pages, global_depth;
    double fill_factor;
    int64_t cache_capacity, cache_used, cache_hits, cache_misses, wal_size,
        commits, checkpoints;
} CellarStats;

/* CellarClock: a manual clock in milliseconds since the epoch. */
CellarClock *new_CellarClock(int64_t start_ms);
void delete_CellarClock(CellarClock *self); /* the proxy goes; the clock stays */
int64_t CellarClock_now(CellarClock *self);
void CellarClock_set(CellarClock *self, int64_t ms);
void CellarClock_advance(CellarClock *self, int64_t ms);

/* CellarOptions: what cellar_options holds, set field by field. */
CellarOptions *new_CellarOptions(void);
void delete_CellarOptions(CellarOptions *self);
void CellarOptions_set_flags(CellarOptions *self, unsigned int flags);
unsigned int CellarOptions_get_flags(CellarOptions *self);
void CellarOptions_set_readonly(CellarOptions *self, int on);
void CellarOptions_set_create(CellarOptions *self, int on);
void CellarOptions_set_truncate(CellarOptions *self, int on);
void CellarOptions_set_cache_size(CellarOptions *self, int64_t bytes);
void CellarOptions_set_page_size(CellarOptions *self, int64_t bytes);
/** "normal", "full" or "off"; anything else is CELLAR_EINVAL. */
void CellarOptions_set_sync(CellarOptions *self, const char *mode);
void CellarOptions_set_mode(CellarOptions *self, int mode);
void CellarOptions_set_lock_timeout(CellarOptions *self, int ms);
void CellarOptions_set_wal_limit(CellarOptions *self, int64_t bytes);
/** Use `clock` for TTLs (NULL: the wall clock). */
void CellarOptions_set_clock(CellarOptions *self, CellarClock *clock);
/** A copy (so a language can merge overrides into a base). */
CellarOptions *CellarOptions_copy(CellarOptions *self);

/* CellarDB: an open database. opts may be NULL (the defaults). */
CellarDB *new_CellarDB(const char *path, CellarOptions *opts);
void delete_CellarDB(CellarDB *self); /* drops the proxy's reference */
void CellarDB_close(CellarDB *self);  /* closes now; a second close is a no-op */
/** Close every database object still open, as CellarDB_close (the objects
 * stay, closed). For the end of a program, where a garbage collector frees
 * what is left in no order or not at all: Perl's END block, Tcl's exit
 * handler. Never fails (a failed final checkpoint leaves the data in the log). */
void cellar_swig_close_all(void);
int CellarDB_closed(CellarDB *self);
const char *CellarDB_path(CellarDB *self);

CellarBytes CellarDB_get(CellarDB *self, const void *key, size_t klen);
int CellarDB_exists(CellarDB *self, const void *key, size_t klen);
void CellarDB_put(CellarDB *self, const void *key, size_t klen,
                  const void *val, size_t vlen);
void CellarDB_put_ttl(CellarDB *self, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t ttl_ms);
void CellarDB_delete(CellarDB *self, const void *key, size_t klen);
int64_t CellarDB_incr(CellarDB *self, const void *key, size_t klen, int64_t delta);
int64_t CellarDB_decr(CellarDB *self, const void *key, size_t klen, int64_t delta);
/* expected NULL: only if absent; val NULL: delete. CELLAR_EMISMATCH if not swapped. */
void CellarDB_cas(CellarDB *self, const void *key, size_t klen,
                  const void *expected, size_t elen, const void *val, size_t vlen);
/* The two forms of cas that need a null, for languages without one (Tcl):
 * insert stores only if the key is absent; delete_if deletes only if the
 * value equals `expected`. Both fail with CELLAR_EMISMATCH otherwise. */
void CellarDB_insert(CellarDB *self, const void *key, size_t klen,
                     const void *val, size_t vlen);
void CellarDB_delete_if(CellarDB *self, const void *key, size_t klen,
                        const void *expected, size_t elen);
void CellarDB_expire(CellarDB *self, const void *key, size_t klen, int64_t ttl_ms);
int64_t CellarDB_ttl(CellarDB *self, const void *key, size_t klen);
void CellarDB_persist(CellarDB *self, const void *key, size_t klen);
int64_t CellarDB_count(CellarDB *self);
CellarBytesList CellarDB_get_many(CellarDB *self, CellarSlices keys);
void CellarDB_put_many(CellarDB *self, CellarSlices keys, CellarSlices vals);

CellarTxn *CellarDB_begin(CellarDB *self, int readonly);
CellarIter *CellarDB_iterate(CellarDB *self);

CellarStats *CellarDB_stats(CellarDB *self);
void CellarDB_sync(CellarDB *self);
void CellarDB_checkpoint(CellarDB *self);
void CellarDB_compact(CellarDB *self);
void CellarDB_backup(CellarDB *self, const char *dest);
/** Every problem found, as "page N: message"; empty when the file is sound. */
CellarStrings CellarDB_check(CellarDB *self);
void CellarDB_dump(CellarDB *self, const char *path);
void CellarDB_load(CellarDB *self, const char *path);

void delete_CellarStats(CellarStats *self);

/* CellarTxn: a transaction; commit or abort ends it (the object stays, dead). */
void delete_CellarTxn(CellarTxn *self); /* aborts if still live */
CellarBytes CellarTxn_get(CellarTxn *self, const void *key, size_t klen);
int CellarTxn_exists(CellarTxn *self, const void *key, size_t klen);
void CellarTxn_put(CellarTxn *self, const void *key, size_t klen,
                   const void *val, size_t vlen);
void CellarTxn_put_ttl(CellarTxn *self, const void *key, size_t klen,
                       const void *val, size_t vlen, int64_t ttl_ms);
void CellarTxn_delete(CellarTxn *self, const void *key, size_t klen);
void CellarTxn_commit(CellarTxn *self);
void CellarTxn_abort(CellarTxn *self); /* never fails; a no-op once ended */
int CellarTxn_active(CellarTxn *self);

/* CellarIter: advance() moves to the next record (0 at the end); key() and
 * value() copy the current one. */
void delete_CellarIter(CellarIter *self);
int CellarIter_advance(CellarIter *self);
CellarBytes CellarIter_key(CellarIter *self);
CellarBytes CellarIter_value(CellarIter *self);
void CellarIter_close(CellarIter *self);

#ifdef __cplusplus
}
#endif
#endif /* CELLAR_SWIG_H */
