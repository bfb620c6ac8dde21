/*
 * iter.c - streaming iteration over every record.
 *
 *   for k, v in db:pairs() do ... end     -- to-be-closed: break frees it
 *   for k, v in pairs(db) do ... end      -- __pairs: freed at exhaustion or by GC
 *
 * Each step is one cellar_iter_next; memory stays constant whatever the
 * size of the database. The order is the core's hash order. The iteration is
 * weakly consistent (see cellardb.h): the loop body may read and write the
 * database, and keys present for the whole loop are seen exactly once.
 *
 * db:pairs() returns four values: next function, iterator object, nil, and
 * the iterator object again as the generic for's closing value, so leaving
 * the loop early (break, return, error) closes the core iterator at once.
 * __pairs can return only three values (Lua truncates), so there an early
 * exit leaves the iterator to the garbage collector.
 *
 * The iterator object keeps its db object alive (user value 1). Closing the
 * db during the loop makes the next step raise CELLAR_ECLOSED.
 */
#include "lcellar.h"

static void release(lcellar_iter *i)
{
    i->busy = 0;
    i->close_later = 0;
    if (i->it != NULL) {
        cellar_iter *it = i->it;
        i->it = NULL;
        cellar_iter_close(it);
    }
}

/* __gc and __close: free the core iterator. Neither can arrive in the
 * middle of a step (the iterator is on that step's stack), so `busy` set
 * here is left over from a step that raised (out of memory). */
static int iter_gc(lua_State *L)
{
    release((lcellar_iter *)luaL_checkudata(L, 1, LCELLAR_ITER_MT));
    return 0;
}

/* it:close(). From a finalizer that runs while a step of this iterator makes
 * its strings (the record's bytes belong to the core iterator), the close
 * is left to the end of that step. */
static int iter_close(lua_State *L)
{
    lcellar_iter *i = (lcellar_iter *)luaL_checkudata(L, 1, LCELLAR_ITER_MT);
    if (i->busy)
        i->close_later = 1;
    else
        release(i);
    return 0;
}

/* The generic-for step: (iter, control) -> key, value | nil */
static int iter_next(lua_State *L)
{
    lcellar_iter *i = (lcellar_iter *)luaL_checkudata(L, 1, LCELLAR_ITER_MT);
    if (i->it == NULL)
        return 0; /* exhausted (or closed): the loop ends */
    if (i->busy)
        return luaL_error(L, "cellardb: iterator stepped from inside its own step (by a finalizer?)");
    lua_getiuservalue(L, 1, 1);
    lcellar_db *d = (lcellar_db *)lua_touserdata(L, -1);
    if (d != NULL && d->busy)
        return lcellar_raise_msg(L, CELLAR_EBUSY,
                                 "iterator used from inside a progress callback of its database");
    const void *k, *v;
    size_t klen, vlen;
    int rc = cellar_iter_next(i->it, &k, &klen, &v, &vlen);
    if (rc == CELLAR_ENOTFOUND) {
        release(i);
        return 0;
    }
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    /* k and v stay valid until the next call on the core iterator: while the
     * strings are made (which may run finalizers), it is neither advanced
     * nor freed. */
    i->busy = 1;
    lua_pushlstring(L, (const char *)k, klen);
    lua_pushlstring(L, (const char *)v, vlen);
    i->busy = 0;
    if (i->close_later)
        release(i);
    return 2;
}

/* Push next, iter, nil (and iter as closing value if `closing`). */
static int push_iteration(lua_State *L, int closing)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    lua_pushcfunction(L, iter_next);
    lcellar_iter *i = (lcellar_iter *)lua_newuserdatauv(L, sizeof *i, 1);
    i->it = NULL;
    i->busy = 0;
    i->close_later = 0;
    luaL_setmetatable(L, LCELLAR_ITER_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    cellar_db *db = lcellar_db_handle(L, d); /* making the iterator may have closed d */
    int rc = cellar_iter_open(&i->it, db);
    if (rc != CELLAR_OK) {
        i->it = NULL;
        return lcellar_raise(L, rc);
    }
    lua_pushnil(L);
    if (!closing)
        return 3;
    lua_pushvalue(L, -2);
    return 4;
}

/* db:pairs() -> next, iter, nil, iter */
static int db_pairs(lua_State *L)
{
    return push_iteration(L, 1);
}

/* __pairs(db) -> next, iter, nil */
int lcellar_db_pairs_meta(lua_State *L)
{
    return push_iteration(L, 0);
}

static int iter_tostring(lua_State *L)
{
    lcellar_iter *i = (lcellar_iter *)luaL_checkudata(L, 1, LCELLAR_ITER_MT);
    lua_pushstring(L, i->it ? "cellardb.iter (open)" : "cellardb.iter (closed)");
    return 1;
}

static const luaL_Reg iter_meta[] = {
    {"__gc", iter_gc},
    {"__close", iter_gc},
    {"__tostring", iter_tostring},
    {NULL, NULL}
};

/* Register the iterator metatable and db:pairs. */
void lcellar_iter_open(lua_State *L, int methods)
{
    luaL_newmetatable(L, LCELLAR_ITER_MT);
    luaL_setfuncs(L, iter_meta, 0);
    lua_newtable(L);
    lua_pushcfunction(L, iter_close);
    lua_setfield(L, -2, "close");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushcfunction(L, db_pairs);
    lua_setfield(L, methods, "pairs");
}
