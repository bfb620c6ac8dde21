/*
 * cellardb.i - the one SWIG interface of cellardb, for Java, Perl 5 and Tcl 8.6.
 *
 * The classes are the structs of cellar_swig.h (the thin object layer over
 * cellardb.h); their methods are declared here once, for every language.
 * What differs per language is only how bytes, lists and errors cross the
 * boundary: the typemaps in cellardb_java.swg, cellardb_perl.swg and
 * cellardb_tcl.swg, plus each language's small idiomatic layer
 * (java/*.java, perl/cellardb_extra.pm, tcl/cellardb.tcl).
 *
 *   class        methods
 *   CellarDB     new(path [, options]), close, closed, path,
 *                get, put, put_ttl, delete, exists, count, incr, decr, cas,
 *                insert, delete_if, expire, ttl, persist, get_many, put_many,
 *                begin([readonly]) -> CellarTxn, iterate -> CellarIter,
 *                stats -> CellarStats, sync, checkpoint, compact, backup,
 *                check -> problems, dump, load
 *   CellarTxn    get, exists, put, put_ttl, delete, commit, abort, active
 *   CellarIter   advance -> bool, key, value, close
 *   CellarOptions set_readonly/create/truncate/flags/cache_size/page_size/
 *                sync/mode/lock_timeout/wal_limit/clock, copy
 *   CellarClock  new(start_ms), now, set, advance (a manual clock for TTL tests)
 *   CellarStats  read-only fields, as cellar_stats
 *
 * Errors: every failure recorded by the object layer is raised by the one
 * %exception block below, as CellarException (Java), a die with a
 * cellardb::Error object (Perl), or a Tcl error with
 * -errorcode {CELLAR CELLAR_ENOTFOUND message}.
 */
#if defined(SWIGJAVA)
%module Cellar /* Java: package cellardb, class Cellar (constants, version) */
#else
%module cellardb
#endif

%{
#include <stdbool.h>
#include "cellar_swig.h"
%}

%include <stdint.i>

/* Each language says how to raise the recorded failure: CELLAR_SWIG_RAISE
 * after the call (Java leaves the exception pending so that the arrays are
 * released), CELLAR_SWIG_RAISE_NOW before it, leaving the wrapper at once. */
#if defined(SWIGJAVA)
%include "cellardb_java.swg"
#elif defined(SWIGPERL)
%include "cellardb_perl.swg"
#elif defined(SWIGTCL)
%include "cellardb_tcl.swg"
#else
#error "cellardb.i: the bindings are built for Java, Perl and Tcl"
#endif

/* The one place where an error code becomes the language's exception. */
%exception {
    cellar_swig_clear();
    $action
    if (cellar_swig_code() != CELLAR_OK) {
        CELLAR_SWIG_RAISE;
    }
}

/* A stats field read on no object (a closed Java stats object; Perl undef;
 * Tcl NULL) raises CELLAR_ECLOSED instead of following a null pointer. The
 * other classes check in cellar_swig.c, after their arguments are converted
 * (a return from here would skip the release of a converted argument). */
%typemap(check) struct CellarStats *self {
    if ($1 == NULL) {
        cellar_swig_fail_null("$*1_ltype");
        CELLAR_SWIG_RAISE_NOW;
    }
}

/* Keys, values and expected values are byte strings. */
%apply (const void *BYTES, size_t LEN) {
    (const void *key, size_t klen),
    (const void *val, size_t vlen),
    (const void *expected, size_t elen)
};

/* Objects that a call hands over, which the language then owns and frees.
 * (By method name: SWIG knows the classes as `struct CellarDB`, ... and
 * does not match CellarDB::begin.) */
%newobject begin;
%newobject iterate;
%newobject stats;
%newobject copy;

/* Optional arguments: one wrapper each in Perl and Tcl (Java has none: its
 * short forms are written out in cellardb_java.swg). */
#if !defined(SWIGJAVA)
%feature("compactdefaultargs");
#endif

%constant unsigned int RDONLY = CELLAR_RDONLY;
%constant unsigned int CREATE = CELLAR_CREATE;
%constant unsigned int TRUNCATE = CELLAR_TRUNCATE;
%constant const char *VERSION = CELLAR_VERSION_STRING;
%constant int MAX_KEY_SIZE = CELLAR_MAX_KEY_SIZE;
%constant int MAX_VALUE_SIZE = CELLAR_MAX_VALUE_SIZE;

/* The codes, so callers can compare (cellardb.ENOTFOUND, ...): made from
 * cellardb.h's one X-macro list, so no binding can drift from it. */
%import "cellardb.h"
%define CELLAR_SWIG_CODE(name, value, msg)
%constant int name = CELLAR_##name;
%enddef
CELLAR_ERROR_LIST(CELLAR_SWIG_CODE)


%rename(version) cellar_version;
const char *cellar_version(void);
%rename(errname) cellar_errname;
const char *cellar_errname(int code);
%rename(strerror) cellar_strerror;
const char *cellar_strerror(int code);

/* Close every database still open (at the end of a program; Perl and Tcl
 * call it for you, from an END block and an exit handler). */
#if defined(SWIGJAVA)
%rename(closeAll) cellar_swig_close_all;
#else
%rename(close_all) cellar_swig_close_all;
#endif
void cellar_swig_close_all(void);

/* ---- the classes -------------------------------------------------------- */

/* Transactions, iterators and stats come only from a CellarDB. */
%nodefaultctor CellarTxn;
%nodefaultctor CellarIter;
%nodefaultctor CellarStats;

typedef struct CellarClock {} CellarClock;
typedef struct CellarOptions {} CellarOptions;
typedef struct CellarDB {} CellarDB;
typedef struct CellarTxn {} CellarTxn;
typedef struct CellarIter {} CellarIter;

%immutable;
typedef struct CellarStats {
    int64_t records, file_size, page_size, pages, bucket_pages, overflow_pages,
        value_pages, directory_pages, free_pages, global_depth;
    double fill_factor;
    int64_t cache_capacity, cache_used, cache_hits, cache_misses, wal_size,
        commits, checkpoints;
} CellarStats;
%mutable;

%extend CellarStats {
    ~CellarStats();
}

%extend CellarClock {
    CellarClock(int64_t start_ms);
    ~CellarClock();
    int64_t now();
    void set(int64_t ms);
    void advance(int64_t ms);
}

%extend CellarOptions {
    CellarOptions();
    ~CellarOptions();
    void set_flags(unsigned int flags);
    unsigned int get_flags();
    void set_readonly(bool readonly);
    void set_create(bool create);
    void set_truncate(bool truncate);
    void set_cache_size(int64_t cache_size);
    void set_page_size(int64_t page_size);
    void set_sync(const char *mode);
    void set_mode(int mode);
    void set_lock_timeout(int lock_timeout);
    void set_wal_limit(int64_t wal_limit);
    void set_clock(CellarClock *clock);
    CellarOptions *copy();
}

%extend CellarDB {
    CellarDB(const char *path, CellarOptions *opts = NULL);
    ~CellarDB();
    void close();
    bool closed();
    const char *path();

    CellarBytes get(const void *key, size_t klen);
    bool exists(const void *key, size_t klen);
    void put(const void *key, size_t klen, const void *val, size_t vlen);
    void put_ttl(const void *key, size_t klen, const void *val, size_t vlen, int64_t ttl_ms);
    void delete(const void *key, size_t klen);
    int64_t incr(const void *key, size_t klen, int64_t delta = 1);
    int64_t decr(const void *key, size_t klen, int64_t delta = 1);
    void cas(const void *key, size_t klen, const void *expected, size_t elen,
             const void *val, size_t vlen);
    void insert(const void *key, size_t klen, const void *val, size_t vlen);
    void delete_if(const void *key, size_t klen, const void *expected, size_t elen);
    void expire(const void *key, size_t klen, int64_t ttl_ms);
    int64_t ttl(const void *key, size_t klen);
    void persist(const void *key, size_t klen);
    int64_t count();
    CellarBytesList get_many(CellarSlices keys);
    void put_many(CellarSlices keys, CellarSlices vals);

    CellarTxn *begin(bool readonly = false);
    CellarIter *iterate();

    CellarStats *stats();
    void sync();
    void checkpoint();
    void compact();
    void backup(const char *dest);
    CellarStrings check();
    void dump(const char *path);
    void load(const char *path);
}

%extend CellarTxn {
    ~CellarTxn();
    CellarBytes get(const void *key, size_t klen);
    bool exists(const void *key, size_t klen);
    void put(const void *key, size_t klen, const void *val, size_t vlen);
    void put_ttl(const void *key, size_t klen, const void *val, size_t vlen, int64_t ttl_ms);
    void delete(const void *key, size_t klen);
    void commit();
    void abort();
    bool active();
}

%extend CellarIter {
    ~CellarIter();
    bool advance();
    CellarBytes key();
    CellarBytes value();
    void close();
}
