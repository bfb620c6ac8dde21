/*
 * cellardb_py.h - shared by the C files of the Python extension cellardb._cellardb.
 *
 * Files:
 *   module.c   module init, module functions (salvage, version)
 *   errors.c   the one table from CELLAR_ERROR_LIST to exception classes
 *   convert.c  bytes-like arguments, progress callbacks, the visit callback
 *   db.c       the Database type (a MutableMapping of bytes)
 *   mapping.c  single-key methods shared by Database and Transaction (get, set,
 *              delete, pop, [], in) over a cdb_target
 *   batch.c    Database: update, put_many, get_many, clear
 *   ops.c      Database: incr, decr, cas, expire, ttl, persist
 *   maint.c    Database: stats, sync, checkpoint, compact, backup, dump, load, check
 *   txn.c      the Transaction type
 *   txn_map.c  Transaction: keys, values, items, iteration, len
 *   iter.c     the key / value / item iterator type
 *   clock.c    the ManualClock type (a fake clock for TTL tests)
 *
 * Threads and the GIL. Every core call that may wait for a lock or touch the
 * disk runs with the GIL released (CDB_UNLOCKED). Before releasing it, a call
 * registers itself on its Database (db->busy++), so close() can wait for the
 * calls in flight: cellar_close() must not race with other calls on the handle.
 * Transactions and iterators may be used by one thread at a time (the core's
 * rule); their `busy` flag turns a second thread's concurrent use into an
 * error instead of a data race.
 *
 * Lifetime. Transactions and iterators hold a strong reference to their
 * Database, so the cellar_db outlives them unless close() is called; after
 * close() the core makes them dead and every call raises ClosedError.
 *
 * Progress callbacks run Python code while a core operation (compact, backup,
 * check, ...) is in progress; a call back into the same database from inside
 * such a callback could deadlock (compact holds the writer lock), so the
 * Database records which thread is inside a callback and refuses re-entry.
 */
#ifndef CELLARDB_PY_H
#define CELLARDB_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cellardb.h"

/* ---- objects ---- */

typedef struct {
    PyObject_HEAD
    cellar_db *db;            /* NULL once closed (or never opened) */
    PyObject *path;           /* str: the path as given (decoded) */
    PyObject *weakrefs;
    int readonly;
    char flag;                /* 'r', 'w', 'c' or 'n' */
    int sync_mode;            /* cellar_sync_mode */
    long busy;                /* calls in flight with the GIL released */
    int closing;              /* close() started: new calls are refused */
    unsigned long cb_thread;  /* thread inside a progress callback, or 0 */
    long pid;                 /* process that opened it: a forked child never closes it */
    PyObject *clock;          /* the ManualClock given to open, or NULL */
} cdb_Database;

typedef struct {
    PyObject_HEAD
    cdb_Database *dbo;        /* strong reference */
    cellar_txn *txn;          /* NULL once committed or rolled back */
    int readonly;
    int busy;                 /* a call on this transaction is in progress */
    PyObject *writes;         /* dict: key (bytes) -> True (stored) / False (deleted) */
    PyObject *weakrefs;
} cdb_Transaction;

enum { CDB_KEYS = 0, CDB_VALUES = 1, CDB_ITEMS = 2 };

typedef struct {
    PyObject_HEAD
    cdb_Database *dbo;        /* strong reference */
    cellar_iter *it;          /* NULL before the first next() and after the end */
    int kind;                 /* CDB_KEYS, CDB_VALUES or CDB_ITEMS */
    int started;
    int done;
    int busy;
} cdb_Iterator;

extern PyTypeObject cdb_DatabaseType;
extern PyTypeObject cdb_TransactionType;
extern PyTypeObject cdb_IteratorType;
extern PyTypeObject cdb_ManualClockType;

/** Point opts at the ManualClock obj (None: the wall clock). 0 or -1 (clock.c). */
int cdb_clock_install(PyObject *obj, cellar_options *opts);

/* ---- errors (errors.c) ---- */

extern PyObject *cdb_Error;          /* cellardb.error, an OSError */
extern PyObject *cdb_NotFoundError;  /* also a KeyError */
extern PyObject *cdb_ClosedError;
extern PyObject *cdb_ConflictError;

/** Create the exception classes and add them (and the code table) to module m. */
int cdb_errors_init(PyObject *m);

/**
 * Raise the exception for core code `rc` (a CELLAR_E* value), with the
 * thread's last core message when it belongs to this code. Returns NULL.
 * Must be called with the GIL held, on the thread that made the failing call,
 * before any other core call.
 */
PyObject *cdb_raise(int rc);

/** As cdb_raise, for a missing key: NotFoundError(key) (KeyError's args). */
PyObject *cdb_raise_notfound(PyObject *key);

/** Raise the class of `code` with the given message (no core detail). Returns NULL. */
PyObject *cdb_raise_msg(int code, const char *msg);

/** Raise ClosedError with a fixed message. Returns NULL. */
PyObject *cdb_raise_closed(const char *what);

/* ---- arguments (convert.c) ---- */

/** A borrowed view of a key or value given as bytes, str (UTF-8) or a buffer. */
typedef struct {
    const char *ptr;
    Py_ssize_t len;
    Py_buffer view;
    int has_view;
} cdb_buf;

/**
 * Fill b from obj: bytes, str (encoded UTF-8) or a C-contiguous bytes-like
 * object; anything else raises TypeError (what = "key" or "value").
 * Returns 0 or -1 with an exception set. Release with cdb_buf_release.
 */
int cdb_buf_get(PyObject *obj, cdb_buf *b, const char *what);
void cdb_buf_release(cdb_buf *b);

/** Seconds (int or float, >= 0) to milliseconds (rounded; a positive time gives >= 1). */
int cdb_seconds_to_ms(PyObject *obj, uint64_t *out, const char *what);

/* ---- the value visitor: builds a bytes object from a borrowed view ---- */

typedef struct {
    PyThreadState *save;      /* the released thread state, to re-take the GIL */
    PyObject *result;         /* the bytes built, or NULL */
    size_t small_len;
    int small;                /* value copied into small_buf (no GIL needed) */
    char small_buf[256];
} cdb_visit;

/** cellar_visit_fn: see convert.c for why small values are copied first. */
int cdb_visit_fn(const void *val, size_t len, void *payload);

/** Build the bytes from a finished visit (GIL held). New reference or NULL. */
PyObject *cdb_visit_result(cdb_visit *v);

/* ---- progress and report callbacks ---- */

typedef struct {
    cdb_Database *dbo;
    PyObject *callable;       /* progress(done, total) or NULL */
    PyObject *problems;       /* list for cellar_check reports, or NULL */
    PyObject *exc_type, *exc_value, *exc_tb; /* raised by the callable */
    double last_call;         /* monotonic seconds of the last Python call */
} cdb_progress;

int cdb_progress_fn(uint64_t done, uint64_t total, void *payload);
void cdb_report_fn(uint64_t page, const char *message, void *payload);
/** After the core call: re-raise what the callable raised. Returns 1 if it did. */
int cdb_progress_restore(cdb_progress *p);

/* ---- database guards (db.c) ---- */

/**
 * Check that dbo is open and not inside one of its own progress callbacks on
 * this thread; on success register a call in flight (busy++). Returns 0 or -1
 * with an exception set. Pair with cdb_db_leave.
 */
int cdb_db_enter(cdb_Database *dbo);
void cdb_db_leave(cdb_Database *dbo);

/* Release the GIL around one core call. */
#define CDB_UNLOCKED(stmt)      \
    do {                        \
        Py_BEGIN_ALLOW_THREADS  \
        stmt;                   \
        Py_END_ALLOW_THREADS    \
    } while (0)

/** len(db): the record count (db.c). */
Py_ssize_t cdb_db_length(cdb_Database *self);

/** Stats as a dict (db.c). */
PyObject *cdb_stats_dict(const cellar_stats *st);

/** A new Transaction on dbo (txn.c). */
PyObject *cdb_transaction_new(cdb_Database *dbo, int readonly);

/* Transaction methods defined in txn_map.c; txn_enter/txn_leave guard them. */
int cdb_txn_enter(cdb_Transaction *self);
void cdb_txn_leave(cdb_Transaction *self);
PyObject *cdb_txn_keys(cdb_Transaction *self, PyObject *unused);
PyObject *cdb_txn_values(cdb_Transaction *self, PyObject *unused);
PyObject *cdb_txn_items(cdb_Transaction *self, PyObject *unused);
PyObject *cdb_txn_iter(cdb_Transaction *self);
Py_ssize_t cdb_txn_length(cdb_Transaction *self);
PyObject *cdb_txn_clear(cdb_Transaction *self, PyObject *unused);
PyObject *cdb_txn_popitem(cdb_Transaction *self, PyObject *unused);

/* ---- single-key calls on a Database or a Transaction (mapping.c) ---- */

/** What a key call works on: the Database itself (txo NULL) or a Transaction on dbo. */
typedef struct {
    cdb_Database *dbo;
    cdb_Transaction *txo;
} cdb_target;

/** The target of a Database (or a subclass's instance) or a Transaction. */
cdb_target cdb_target_of(PyObject *self);

/** A core call on key k, made with the GIL released: it must not touch Python objects. */
typedef int (*cdb_key_fn)(const cdb_target *t, const cdb_buf *k, void *arg);

/**
 * Enter t (cdb_db_enter or cdb_txn_enter), set *rc = fn(t, k, arg) with the
 * GIL released, leave. Returns 0, or -1 with an exception set when t refuses
 * the call (closed, busy, ...); *rc is the core's code, to be checked.
 */
int cdb_target_call(const cdb_target *t, const cdb_buf *k, cdb_key_fn fn, void *arg, int *rc);
/** As cdb_target_call on key converted (cdb_buf_get, "key") first. */
int cdb_key_call(const cdb_target *t, PyObject *key, cdb_key_fn fn, void *arg, int *rc);

/** TypeError "<name> expected 1 or 2 arguments, got N" unless nargs is 1 or 2. 0 or -1. */
int cdb_check_nargs(const char *name, Py_ssize_t nargs);

/** Read key: new bytes; NULL without an error when absent; NULL with one on failure. */
PyObject *cdb_map_fetch(PyObject *self, PyObject *key);
/**
 * Put (ttl_ms 0 = none) or delete (val NULL). Returns 0; 1 for the delete of
 * a missing key (no exception set); -1 with an exception. A Transaction
 * records the key in its `writes`.
 */
int cdb_map_store(PyObject *self, PyObject *key, PyObject *val, uint64_t ttl_ms);
/**
 * Read and delete key; NULL without an error when absent. On a Database one
 * transaction (retried on conflict); in a Transaction a read then a delete.
 */
PyObject *cdb_map_take(PyObject *self, PyObject *key);
PyObject *cdb_map_subscript(PyObject *self, PyObject *key);
int cdb_map_ass_subscript(PyObject *self, PyObject *key, PyObject *val);
int cdb_map_contains(PyObject *self, PyObject *key);
PyObject *cdb_map_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *cdb_map_set(PyObject *self, PyObject *args, PyObject *kwds);
PyObject *cdb_map_delete(PyObject *self, PyObject *key);
PyObject *cdb_map_pop(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
/** The mapping slots (len, [], [] =, del []) and `in` of both Database and Transaction. */
extern PyMappingMethods cdb_map_as_mapping;
extern PySequenceMethods cdb_map_as_sequence;

/** cellar_cas on a Database as a cdb_key_fn (ops.c); arg: a cdb_cas_arg. */
typedef struct {
    const cdb_buf *expected; /* NULL: the key must be absent */
    const cdb_buf *value;    /* NULL: delete the key */
} cdb_cas_arg;
int cdb_core_cas(const cdb_target *t, const cdb_buf *k, void *arg);

/** A new iterator on dbo of the given kind (iter.c). */
PyObject *cdb_iterator_new(cdb_Database *dbo, int kind);

/* ---- Database methods defined in batch.c, ops.c and maint.c ---- */
PyObject *cdb_db_update(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_put_many(cdb_Database *self, PyObject *items);
PyObject *cdb_db_get_many(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_clear(cdb_Database *self, PyObject *unused);
PyObject *cdb_db_incr(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_decr(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_cas(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_expire(cdb_Database *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *cdb_db_ttl(cdb_Database *self, PyObject *key);
PyObject *cdb_db_persist(cdb_Database *self, PyObject *key);
PyObject *cdb_db_stats(cdb_Database *self, PyObject *unused);
PyObject *cdb_db_sync(cdb_Database *self, PyObject *unused);
PyObject *cdb_db_checkpoint(cdb_Database *self, PyObject *unused);
PyObject *cdb_db_compact(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_backup(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_dump(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_load(cdb_Database *self, PyObject *args, PyObject *kwds);
PyObject *cdb_db_check(cdb_Database *self, PyObject *args, PyObject *kwds);
extern const char cdb_backup_doc[];
extern const char cdb_cas_doc[];
extern const char cdb_check_doc[];
extern const char cdb_checkpoint_doc[];
extern const char cdb_clear_doc[];
extern const char cdb_compact_doc[];
extern const char cdb_decr_doc[];
extern const char cdb_dump_doc[];
extern const char cdb_expire_doc[];
extern const char cdb_get_many_doc[];
extern const char cdb_incr_doc[];
extern const char cdb_load_doc[];
extern const char cdb_persist_doc[];
extern const char cdb_put_many_doc[];
extern const char cdb_stats_doc[];
extern const char cdb_sync_doc[];
extern const char cdb_ttl_doc[];
extern const char cdb_update_doc[];

#endif /* CELLARDB_PY_H */
