/*
 * db.c - the database object and its single-key operations.
 *
 * Keys and values are Lua strings (any bytes). Where one key or value is an
 * argument, a number is accepted too and converted as tostring would
 * (luaL_checklstring); inside the tables of get_many/put_many only strings
 * are accepted. TTLs are integer milliseconds, as in the C API.
 *
 * Return conventions (see README.md): a missing key is not an error for
 * get (nil), has (false), delete/expire/persist (false), ttl (nil); cas gives
 * false when the current value did not match. Everything else the core
 * reports raises an error object (error.c).
 */
#include <string.h>

#include "lcellar.h"

/* ---- helpers shared by the other files -------------------------------- */

/*
 * The core handle of d, for the core call about to be made; raises if d is
 * closed, or if its compact/backup/check is running a progress callback
 * (which must not call back into it: the core may hold its writer lock).
 * Read it after the last argument conversion and allocation, right before
 * the call: any allocation (a number argument turned into a string, a guard,
 * a key array) may run a finalizer that closes d, and a handle read before
 * that would be NULL by the time of the call (the core's CELLAR_EINVAL for a
 * NULL handle, instead of CELLAR_ECLOSED).
 */
cellar_db *lcellar_db_handle(lua_State *L, lcellar_db *d)
{
    if (d->db == NULL)
        lcellar_raise_msg(L, CELLAR_ECLOSED, "attempt to use a closed database");
    if (d->busy)
        lcellar_raise_msg(L, CELLAR_EBUSY,
                          "database used from inside its own progress callback");
    return d->db;
}

/* Check that argument idx is an open, usable db (as lcellar_db_handle). */
lcellar_db *lcellar_checkdb(lua_State *L, int idx)
{
    lcellar_db *d = (lcellar_db *)luaL_checkudata(L, idx, LCELLAR_DB_MT);
    (void)lcellar_db_handle(L, d);
    return d;
}

/* Push a new, closed db object (opened afterwards by the caller). */
lcellar_db *lcellar_newdb(lua_State *L)
{
    lcellar_db *d = (lcellar_db *)lua_newuserdatauv(L, sizeof *d, 2);
    d->db = NULL;
    d->busy = 0;
    luaL_setmetatable(L, LCELLAR_DB_MT);
    return d;
}

/*
 * A guard for one value from the core: push it (before the core call, so
 * that making it cannot disturb the value) and pass its slot to
 * lcellar_push_value. The guard is the call's own: a finalizer that runs
 * while the value becomes a Lua string (and uses or closes the same db or
 * transaction) cannot free it, and if making the string raises (out of
 * memory) the guard's __gc frees the value.
 */
typedef struct many_out {
    size_t n;
    unsigned char *found;
    cellar_slice vals[1];
} many_out;

void **lcellar_value_guard(lua_State *L)
{
    many_out *m = (many_out *)lua_newuserdatauv(L, sizeof *m, 0);
    m->n = 1;
    m->found = NULL;
    m->vals[0].data = NULL;
    m->vals[0].len = 0;
    luaL_setmetatable(L, LCELLAR_GUARD_MT);
    return (void **)&m->vals[0].data;
}

/* Push `val` (from the core, owned by the guard slot) as a Lua string and free it. */
int lcellar_push_value(lua_State *L, void **slot, void *val, size_t len)
{
    *slot = val;
    lua_pushlstring(L, (const char *)val, len);
    *slot = NULL;
    cellar_free(val);
    return 1;
}

/* A TTL argument: a non-negative integer (milliseconds); nil gives 0. */
uint64_t lcellar_check_ttl(lua_State *L, int idx)
{
    lua_Integer ms = luaL_optinteger(L, idx, 0);
    luaL_argcheck(L, ms >= 0, idx, "TTL must be >= 0 milliseconds");
    return (uint64_t)ms;
}

/* luaL_setfuncs into the table at absolute index `methods`. */
void lcellar_setfuncs(lua_State *L, int methods, const luaL_Reg *fns)
{
    lua_pushvalue(L, methods);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}

/* Close the core handle if open; idempotent. Returns the core's result. */
int lcellar_db_close_quiet(lcellar_db *d)
{
    int rc = CELLAR_OK;
    if (d->db != NULL) {
        cellar_db *db = d->db;
        d->db = NULL; /* closed even if cellar_close reports an error */
        rc = cellar_close(db);
    }
    return rc;
}

/* ---- methods ---------------------------------------------------------- */

/* db:close() -> true. Closing a closed db is harmless. */
static int db_close(lua_State *L)
{
    lcellar_db *d = (lcellar_db *)luaL_checkudata(L, 1, LCELLAR_DB_MT);
    if (d->busy)
        return lcellar_raise_msg(L, CELLAR_EBUSY,
                                 "database closed from inside its own progress callback");
    int rc = lcellar_db_close_quiet(d);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc); /* the handle is closed all the same */
    lua_pushboolean(L, 1);
    return 1;
}

/* __gc and __close: close, ignoring errors (nobody is left to tell). */
static int db_gc(lua_State *L)
{
    lcellar_db *d = (lcellar_db *)luaL_checkudata(L, 1, LCELLAR_DB_MT);
    if (!d->busy)
        (void)lcellar_db_close_quiet(d);
    return 0;
}

/* db:get(key) -> value or nil */
static int db_get(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    size_t klen, vlen;
    const char *key = luaL_checklstring(L, 2, &klen);
    void *val;
    void **slot = lcellar_value_guard(L);
    int rc = cellar_get(lcellar_db_handle(L, d), key, klen, &val, &vlen);
    if (rc == CELLAR_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    return lcellar_push_value(L, slot, val, vlen);
}

/* db:put(key, value [, ttl_ms]) -> true */
static int db_put(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    size_t klen, vlen;
    const char *key = luaL_checklstring(L, 2, &klen);
    const char *val = luaL_checklstring(L, 3, &vlen);
    uint64_t ttl = lcellar_check_ttl(L, 4);
    cellar_db *db = lcellar_db_handle(L, d);
    int rc = ttl ? cellar_put_ttl(db, key, klen, val, vlen, ttl)
                 : cellar_put(db, key, klen, val, vlen);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* Push true for OK, false for `soft` (a documented non-error), else raise. */
static int bool_result(lua_State *L, int rc, int soft)
{
    if (rc != CELLAR_OK && rc != soft)
        return lcellar_raise(L, rc);
    lua_pushboolean(L, rc == CELLAR_OK);
    return 1;
}

/* db:delete(key) -> true if it existed, false if not */
static int db_delete(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    return bool_result(L, cellar_delete(lcellar_db_handle(L, d), key, klen), CELLAR_ENOTFOUND);
}

/* db:has(key) -> boolean */
static int db_has(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    return bool_result(L, cellar_exists(lcellar_db_handle(L, d), key, klen), CELLAR_ENOTFOUND);
}

static int incr_by(lua_State *L, lcellar_db *d, lua_Integer delta)
{
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    int64_t out;
    int rc = cellar_incr(lcellar_db_handle(L, d), key, klen, (int64_t)delta, &out);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_pushinteger(L, (lua_Integer)out);
    return 1;
}

/* db:incr(key [, delta = 1]) -> new value (integer) */
static int db_incr(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    return incr_by(L, d, luaL_optinteger(L, 3, 1));
}

/* db:decr(key [, delta = 1]) -> new value (integer) */
static int db_decr(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    lua_Integer delta = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, delta != LUA_MININTEGER, 3, "delta out of range");
    return incr_by(L, d, -delta);
}

/*
 * db:cas(key, expected, new) -> true if swapped, false if the value did not
 * match. expected nil: only if the key is absent; new nil: delete the key.
 */
static int db_cas(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    size_t klen, elen = 0, vlen = 0;
    const char *key = luaL_checklstring(L, 2, &klen);
    const char *exp = luaL_optlstring(L, 3, NULL, &elen);
    const char *val = luaL_optlstring(L, 4, NULL, &vlen);
    return bool_result(L, cellar_cas(lcellar_db_handle(L, d), key, klen, exp, elen, val, vlen),
                       CELLAR_EMISMATCH);
}

/* db:expire(key, ttl_ms) -> true, or false if the key is absent */
static int db_expire(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    luaL_checkinteger(L, 3);
    uint64_t ttl = lcellar_check_ttl(L, 3);
    return bool_result(L, cellar_expire(lcellar_db_handle(L, d), key, klen, ttl), CELLAR_ENOTFOUND);
}

/* db:ttl(key) -> remaining milliseconds, -1 if no TTL, nil if absent */
static int db_ttl(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    int64_t out;
    int rc = cellar_ttl(lcellar_db_handle(L, d), key, klen, &out);
    if (rc == CELLAR_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_pushinteger(L, (lua_Integer)out);
    return 1;
}

/* db:persist(key) -> true, or false if the key is absent */
static int db_persist(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    return bool_result(L, cellar_persist(lcellar_db_handle(L, d), key, klen), CELLAR_ENOTFOUND);
}

/* db:count() and #db -> number of live records */
static int db_count(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    uint64_t n;
    int rc = cellar_count(lcellar_db_handle(L, d), &n);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* ---- batches ---------------------------------------------------------- */

/*
 * The output of cellar_get_many (many_out, above), kept in a userdata whose
 * __gc frees any value not yet handed to Lua (so a failed push never leaks).
 */
static int guard_gc(lua_State *L)
{
    many_out *m = (many_out *)luaL_checkudata(L, 1, LCELLAR_GUARD_MT);
    for (size_t i = 0; i < m->n; i++) {
        cellar_free((void *)m->vals[i].data);
        m->vals[i].data = NULL;
    }
    return 0;
}

/*
 * The string at t[i] (t an absolute index), or raise naming `fn` and, as
 * "<what> <pos>", where it was. The string stays referenced by the table.
 */
static const char *elem_string(lua_State *L, int t, lua_Integer i, size_t *len,
                               const char *fn, const char *what, lua_Integer pos)
{
    if (lua_rawgeti(L, t, i) != LUA_TSTRING)
        luaL_error(L, "bad argument #1 to '%s' (%s %d must be a string, got %s)",
                   fn, what, (int)pos, luaL_typename(L, -1));
    const char *s = lua_tolstring(L, -1, len);
    lua_pop(L, 1);
    return s;
}

/*
 * db:get_many(keys) -> values: values[i] is the value of keys[i] or nil,
 * and values.n == #keys (as table.pack).
 */
static int db_get_many(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 2);
    luaL_argcheck(L, n < ((size_t)1 << 40) / sizeof(cellar_slice), 2, "too many keys");

    cellar_slice *keys =
        (cellar_slice *)lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0);
    for (size_t i = 0; i < n; i++)
        keys[i].data = elem_string(L, 2, (lua_Integer)i + 1, &keys[i].len,
                                   "get_many", "key", (lua_Integer)i + 1);

    many_out *m = (many_out *)lua_newuserdatauv(
        L, sizeof *m + (n ? n : 1) * (sizeof(cellar_slice) + 1), 0);
    m->n = 0;
    m->found = (unsigned char *)&m->vals[n ? n : 1];
    luaL_setmetatable(L, LCELLAR_GUARD_MT);

    int rc = cellar_get_many(lcellar_db_handle(L, d), n, keys, m->vals, m->found);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    m->n = n; /* from here the guard owns the values */

    lua_createtable(L, (int)(n < 1000000 ? n : 1000000), 1);
    for (size_t i = 0; i < n; i++) {
        if (!m->found[i])
            continue;
        lua_pushlstring(L, (const char *)m->vals[i].data, m->vals[i].len);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
        cellar_free((void *)m->vals[i].data);
        m->vals[i].data = NULL;
    }
    lua_pushinteger(L, (lua_Integer)n);
    lua_setfield(L, -2, "n");
    return 1;
}

/* Fill keys/vals from a { {k, v}, ... } array; returns the count. */
static size_t pairs_from_array(lua_State *L, size_t n, cellar_slice *keys,
                               cellar_slice *vals)
{
    for (size_t i = 0; i < n; i++) {
        if (lua_rawgeti(L, 2, (lua_Integer)i + 1) != LUA_TTABLE)
            luaL_error(L, "bad argument #1 to 'put_many' (pair %d must be a "
                       "{key, value} table, got %s)", (int)i + 1, luaL_typename(L, -1));
        int p = lua_gettop(L);
        keys[i].data = elem_string(L, p, 1, &keys[i].len, "put_many", "key of pair",
                                   (lua_Integer)i + 1);
        vals[i].data = elem_string(L, p, 2, &vals[i].len, "put_many", "value of pair",
                                   (lua_Integer)i + 1);
        lua_pop(L, 1);
    }
    return n;
}

/* Fill keys/vals from a { [k] = v, ... } map; returns the count. */
static size_t pairs_from_map(lua_State *L, cellar_slice *keys, cellar_slice *vals)
{
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "bad argument #1 to 'put_many' (keys and values must "
                       "be strings, got %s = %s)", luaL_typename(L, -2),
                       luaL_typename(L, -1));
        keys[i].data = lua_tolstring(L, -2, &keys[i].len);
        vals[i].data = lua_tolstring(L, -1, &vals[i].len);
        i++;
        lua_pop(L, 1);
    }
    return i;
}

/*
 * db:put_many(t) -> true. t is a map { [key] = value } or an array of
 * { key, value } pairs (applied in order: a later pair wins). One
 * transaction: all or nothing.
 */
static int db_put_many(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 2);
    int is_array = n > 0 && lua_rawgeti(L, 2, 1) == LUA_TTABLE;
    if (n > 0)
        lua_pop(L, 1);
    size_t entries = 0;
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        entries++;
        lua_pop(L, 1);
    }
    /* An array of pairs with other fields too would lose them silently. */
    if (is_array && entries != n)
        return luaL_error(L, "bad argument #1 to 'put_many' (an array of {key, value} "
                          "pairs must be a sequence without other fields)");
    if (!is_array)
        n = entries;
    luaL_argcheck(L, n < ((size_t)1 << 40) / sizeof(cellar_slice), 2, "too many pairs");
    cellar_slice *keys =
        (cellar_slice *)lua_newuserdatauv(L, (n ? 2 * n : 1) * sizeof *keys, 0);
    cellar_slice *vals = keys + n;
    n = is_array ? pairs_from_array(L, n, keys, vals) : pairs_from_map(L, keys, vals);

    int rc = cellar_put_many(lcellar_db_handle(L, d), n, keys, vals);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- metamethods ------------------------------------------------------ */

static int db_tostring(lua_State *L)
{
    lcellar_db *d = (lcellar_db *)luaL_checkudata(L, 1, LCELLAR_DB_MT);
    lua_getiuservalue(L, 1, 1);
    lua_pushfstring(L, "cellardb.db (%s%s)", d->db ? "" : "closed: ",
                    lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    return 1;
}

static const luaL_Reg db_methods[] = {
    {"close", db_close},
    {"get", db_get},
    {"put", db_put},
    {"delete", db_delete},
    {"has", db_has},
    {"incr", db_incr},
    {"decr", db_decr},
    {"cas", db_cas},
    {"expire", db_expire},
    {"ttl", db_ttl},
    {"persist", db_persist},
    {"count", db_count},
    {"get_many", db_get_many},
    {"put_many", db_put_many},
    {NULL, NULL}
};

static const luaL_Reg db_meta[] = {
    {"__gc", db_gc},
    {"__close", db_gc},
    {"__len", db_count},
    {"__tostring", db_tostring},
    {NULL, NULL}
};

/* Create the db metatable (left in the registry) with every method. */
void lcellar_db_open(lua_State *L)
{
    luaL_newmetatable(L, LCELLAR_GUARD_MT);
    lua_pushcfunction(L, guard_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_newmetatable(L, LCELLAR_DB_MT);
    luaL_setfuncs(L, db_meta, 0);
    lua_pushcfunction(L, lcellar_db_pairs_meta);
    lua_setfield(L, -2, "__pairs");
    lua_newtable(L);
    int methods = lua_gettop(L);
    luaL_setfuncs(L, db_methods, 0);
    lcellar_txn_open(L, methods);
    lcellar_iter_open(L, methods);
    lcellar_maint_open(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
