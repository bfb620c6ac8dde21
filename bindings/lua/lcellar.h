/*
 * lcellar.h - internals shared by the files of the Lua 5.4 module `cellardb`.
 *
 * The module is thin: every operation is one call into the public C API
 * (core/include/cellardb.h). This header is not installed.
 *
 * Files
 *   module.c  luaopen_cellardb, cellardb.open and the module-level functions
 *   error.c   turning CELLAR_E* codes into `nil, msg, code` or error objects
 *   db.c      the database object: get/put/delete/... and its metamethods
 *   txn.c     transactions: db:begin(), the tx object, db:transaction(fn)
 *   iter.c    streaming iteration: db:pairs() and __pairs
 *   maint.c   stats, sync, compact, backup, check, dump/load, salvage
 *   clock.c   cellardb.fake_clock(): a settable TTL clock for tests
 *
 * Rules every file follows
 *   - No C globals: all state lives in userdata, upvalues or the registry, so
 *     any number of Lua states (one per host thread) may load the module.
 *   - Objects are created closed and then opened: a userdata is allocated and
 *     given its metatable with a NULL handle before the core call that fills
 *     it, so an allocation failure (a Lua error) never leaks a core handle and
 *     __gc never sees a half-built object.
 *   - No Lua API call that can raise or run Lua code (allocation may run
 *     finalizers) happens inside a core callback, except the protected call
 *     of a user's progress function (see maint.c); a longjmp through the core
 *     would leave its latches held.
 *   - Any allocation may run finalizers, and a finalizer may use or close any
 *     object of the module. So memory a call still needs while it makes Lua
 *     strings is never reachable from another object: a value from the core
 *     sits in a guard userdata of this call (db.c), and an iterator defers a
 *     close that arrives in the middle of its step (iter.c). And a core
 *     handle is read for a call only after its last conversion or
 *     allocation (lcellar_db_handle, tx_handle): one read before them may
 *     have been closed by a finalizer since (then the call raises
 *     CELLAR_ECLOSED, instead of handing the core a NULL handle).
 *   - Errors: argument misuse raises a string (luaL_argerror); everything with
 *     a core code raises an error object (error.c); open, and a few documented
 *     expected outcomes, return `nil, message, code` instead.
 */
#ifndef LCELLAR_H
#define LCELLAR_H

#include <lua.h>
#include <lauxlib.h>

#include "cellardb.h"

/* Registry names of the metatables (also the objects' __name). */
#define LCELLAR_DB_MT    "cellardb.db"
#define LCELLAR_TXN_MT   "cellardb.tx"
#define LCELLAR_ITER_MT  "cellardb.iter"
#define LCELLAR_ERROR_MT "cellardb.error"
#define LCELLAR_GUARD_MT "cellardb.guard"

/*
 * The database object. User value 1: the path (a string), for __tostring;
 * user value 2: the clock object given at open, if any (kept alive).
 */
typedef struct lcellar_db {
    cellar_db *db;  /* NULL once closed (or if opening failed) */
    int busy;       /* > 0 while a compact/backup/check/... runs a Lua callback */
} lcellar_db;

/*
 * A transaction object. User value 1: its db object (keeps it alive).
 */
typedef struct lcellar_txn {
    cellar_txn *txn; /* NULL once committed or rolled back */
    int readonly;
} lcellar_txn;

/*
 * An iterator object. User value 1: its db object (keeps it alive).
 */
typedef struct lcellar_iter {
    cellar_iter *it; /* NULL once exhausted or closed */
    int busy;        /* a step is turning the record into Lua strings */
    int close_later; /* it:close() was called meanwhile (by a finalizer) */
} lcellar_iter;

/* error.c */
void lcellar_error_open(lua_State *L);
void lcellar_push_error(lua_State *L, int rc, int level);
int lcellar_raise(lua_State *L, int rc);
int lcellar_raise_msg(lua_State *L, int rc, const char *msg);
int lcellar_fail(lua_State *L, int rc);
void lcellar_push_codes(lua_State *L);

/* db.c */
void lcellar_db_open(lua_State *L);
lcellar_db *lcellar_checkdb(lua_State *L, int idx);
cellar_db *lcellar_db_handle(lua_State *L, lcellar_db *d);
lcellar_db *lcellar_newdb(lua_State *L);
int lcellar_db_close_quiet(lcellar_db *d);
void **lcellar_value_guard(lua_State *L);
int lcellar_push_value(lua_State *L, void **slot, void *val, size_t len);

/* txn.c */
void lcellar_txn_open(lua_State *L, int methods);

/* iter.c */
void lcellar_iter_open(lua_State *L, int methods);
int lcellar_db_pairs_meta(lua_State *L);

/* maint.c */
void lcellar_maint_open(lua_State *L, int methods);
int lcellar_salvage(lua_State *L);

/* clock.c */
void lcellar_clock_open(lua_State *L);
int lcellar_clock_option(lua_State *L, int idx, cellar_options *o);

/* Common argument helpers (db.c). */
uint64_t lcellar_check_ttl(lua_State *L, int idx);
void lcellar_setfuncs(lua_State *L, int methods, const luaL_Reg *fns);

#endif /* LCELLAR_H */
