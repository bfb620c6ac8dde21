/*
 * txn.c - transactions.
 *
 *   local tx <close> = db:begin([ "readonly" | {readonly = true} ])
 *   tx:get(k) tx:has(k) tx:put(k, v [, ttl_ms]) tx:delete(k)
 *   tx:commit()     -- raises on conflict (code CELLAR_ECONFLICT) or error
 *   tx:rollback()   -- harmless when already finished
 *
 *   db:transaction(fn [, {retry = n, readonly = bool}]) -> fn's results
 *
 * db:transaction calls fn(tx); when fn returns, it commits and returns fn's
 * results (if fn committed or rolled back tx itself, it just returns them);
 * when fn raises, it rolls back and re-raises the very same error value. On a conflict it runs fn again with a fresh transaction, at most
 * `retry` more times (default 0), then raises the conflict error.
 *
 * db:transaction is a few lines of Lua (TXN_DRIVER below) over begin/commit,
 * because Lua's pcall may yield: fn may yield across the transaction (a
 * coroutine scheduler can run other work meanwhile), which a C driver using
 * lua_pcall could not allow.
 *
 * State of a tx object: live (txn != NULL) -> finished (commit or rollback,
 * successful or not: the core frees the transaction either way). A finished
 * tx raises CELLAR_ECLOSED on use. A live tx of a closed db is "dead" in the
 * core: its calls return CELLAR_ECLOSED, which raises the same way.
 */
#include <string.h>

#include "lcellar.h"

/*
 * The core transaction of t (argument 1), for the core call about to be
 * made; raises if t is finished, or if its database is running a progress
 * callback. As lcellar_db_handle: read it after the call's last conversion
 * or allocation, since a finalizer run by one may have finished t.
 */
static cellar_txn *tx_handle(lua_State *L, lcellar_txn *t)
{
    if (t->txn == NULL)
        lcellar_raise_msg(L, CELLAR_ECLOSED,
                          "transaction already committed or rolled back");
    lua_getiuservalue(L, 1, 1);
    lcellar_db *d = (lcellar_db *)lua_touserdata(L, -1);
    if (d != NULL && d->busy)
        lcellar_raise_msg(L, CELLAR_EBUSY,
                          "transaction used from inside a progress callback of its database");
    lua_pop(L, 1);
    return t->txn;
}

static lcellar_txn *checktxn(lua_State *L)
{
    lcellar_txn *t = (lcellar_txn *)luaL_checkudata(L, 1, LCELLAR_TXN_MT);
    (void)tx_handle(L, t);
    return t;
}

static void txn_finish(lcellar_txn *t, int commit, int *rc)
{
    cellar_txn *txn = t->txn;
    t->txn = NULL; /* the core frees it on commit and on abort alike */
    if (commit)
        *rc = cellar_txn_commit(txn);
    else
        cellar_txn_abort(txn);
}

/* db:begin([mode]) -> tx */
static int db_begin(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    int readonly = 0;
    switch (lua_type(L, 2)) {
    case LUA_TNONE:
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        luaL_argcheck(L, strcmp(lua_tostring(L, 2), "readonly") == 0, 2,
                      "mode must be \"readonly\"");
        readonly = 1;
        break;
    case LUA_TTABLE:
        lua_getfield(L, 2, "readonly");
        readonly = lua_toboolean(L, -1);
        lua_pop(L, 1);
        break;
    default:
        return luaL_typeerror(L, 2, "nil, \"readonly\" or table");
    }

    lcellar_txn *t = (lcellar_txn *)lua_newuserdatauv(L, sizeof *t, 1);
    t->txn = NULL;
    t->readonly = readonly;
    luaL_setmetatable(L, LCELLAR_TXN_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);

    cellar_db *db = lcellar_db_handle(L, d); /* making the tx may have closed d */
    int rc = cellar_txn_begin(&t->txn, db, readonly ? CELLAR_RDONLY : 0);
    if (rc != CELLAR_OK) {
        t->txn = NULL;
        return lcellar_raise(L, rc);
    }
    return 1;
}

/* tx:get(key) -> value or nil */
static int tx_get(lua_State *L)
{
    lcellar_txn *t = checktxn(L);
    size_t klen, vlen;
    const char *key = luaL_checklstring(L, 2, &klen);
    void *val;
    void **slot = lcellar_value_guard(L);
    int rc = cellar_txn_get(tx_handle(L, t), key, klen, &val, &vlen);
    if (rc == CELLAR_ENOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    return lcellar_push_value(L, slot, val, vlen);
}

/* tx:has(key) -> boolean */
static int tx_has(lua_State *L)
{
    lcellar_txn *t = checktxn(L);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    int rc = cellar_txn_exists(tx_handle(L, t), key, klen);
    if (rc != CELLAR_OK && rc != CELLAR_ENOTFOUND)
        return lcellar_raise(L, rc);
    lua_pushboolean(L, rc == CELLAR_OK);
    return 1;
}

/* tx:put(key, value [, ttl_ms]) -> true */
static int tx_put(lua_State *L)
{
    lcellar_txn *t = checktxn(L);
    size_t klen, vlen;
    const char *key = luaL_checklstring(L, 2, &klen);
    const char *val = luaL_checklstring(L, 3, &vlen);
    uint64_t ttl = lcellar_check_ttl(L, 4);
    cellar_txn *txn = tx_handle(L, t);
    int rc = ttl ? cellar_txn_put_ttl(txn, key, klen, val, vlen, ttl)
                 : cellar_txn_put(txn, key, klen, val, vlen);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* tx:delete(key) -> true if the key existed (as the tx sees it), else false */
static int tx_delete(lua_State *L)
{
    lcellar_txn *t = checktxn(L);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    int rc = cellar_txn_delete(tx_handle(L, t), key, klen);
    if (rc != CELLAR_OK && rc != CELLAR_ENOTFOUND)
        return lcellar_raise(L, rc);
    lua_pushboolean(L, rc == CELLAR_OK);
    return 1;
}

/* tx:commit() -> true; raises on conflict or error (tx is finished anyway) */
static int tx_commit(lua_State *L)
{
    lcellar_txn *t = checktxn(L);
    int rc = CELLAR_OK;
    txn_finish(t, 1, &rc);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* tx:rollback(), __close, __gc: drop the writes; harmless when finished. */
static int tx_rollback(lua_State *L)
{
    lcellar_txn *t = (lcellar_txn *)luaL_checkudata(L, 1, LCELLAR_TXN_MT);
    if (t->txn != NULL)
        txn_finish(t, 0, NULL);
    return 0;
}

static int tx_tostring(lua_State *L)
{
    lcellar_txn *t = (lcellar_txn *)luaL_checkudata(L, 1, LCELLAR_TXN_MT);
    lua_pushfstring(L, "cellardb.tx (%s%s)", t->txn ? "live" : "finished",
                    t->readonly ? ", readonly" : "");
    return 1;
}

/* For the driver: is tx still live (fn may have committed or rolled it back)? */
static int txn_live(lua_State *L)
{
    lcellar_txn *t = (lcellar_txn *)luaL_checkudata(L, 1, LCELLAR_TXN_MT);
    lua_pushboolean(L, t->txn != NULL);
    return 1;
}

/* luaL_where for the driver: the position of db:transaction's caller. */
static int txn_where(lua_State *L)
{
    luaL_where(L, (int)luaL_checkinteger(L, 1));
    return 1;
}

/*
 * The db:transaction driver. Upvalues arrive as chunk arguments: begin (the
 * C db:begin) and where (txn_where). Runs fn in a loop so that a conflict can
 * be retried; the tx is a to-be-closed variable, so it is rolled back however
 * the iteration ends (error, or commit already done: then a no-op).
 */
static const char TXN_DRIVER[] =
    "local begin, where, live = ...\n"
    "local pcall, error, type, pairs, tostring = pcall, error, type, pairs, tostring\n"
    "local pack, unpack, mtype = table.pack, table.unpack, math.type\n"
    "return function(db, fn, opts)\n"
    "  if type(fn) ~= 'function' then\n"
    "    error(\"bad argument #1 to 'transaction' (function expected, got \"\n"
    "          .. type(fn) .. ')', 2)\n"
    "  end\n"
    "  local retry, mode = 0, nil\n"
    "  if opts ~= nil then\n"
    "    if type(opts) ~= 'table' then\n"
    "      error(\"bad argument #2 to 'transaction' (table expected, got \"\n"
    "            .. type(opts) .. ')', 2)\n"
    "    end\n"
    "    for k in pairs(opts) do\n"
    "      if k ~= 'retry' and k ~= 'readonly' then\n"
    "        error(\"bad argument #2 to 'transaction' (unknown option '\"\n"
    "              .. tostring(k) .. \"')\", 2)\n"
    "      end\n"
    "    end\n"
    "    retry = opts.retry or 0\n"
    "    if mtype(retry) ~= 'integer' or retry < 0 then\n"
    "      error(\"bad argument #2 to 'transaction' (retry must be an integer >= 0)\", 2)\n"
    "    end\n"
    "    if opts.readonly then mode = 'readonly' end\n"
    "  end\n"
    "  while true do\n"
    "    local ok, t = pcall(begin, db, mode)\n"
    "    if not ok then\n"
    "      if type(t) == 'table' then t.where = where(2) end\n"
    "      error(t, 0)\n"
    "    end\n"
    "    local tx <close> = t\n"
    "    local r = pack(pcall(fn, tx))\n"
    "    if not r[1] then error(r[2], 0) end\n"
    "    if not live(tx) then return unpack(r, 2, r.n) end\n"
    "    local ok, err = pcall(tx.commit, tx)\n"
    "    if ok then return unpack(r, 2, r.n) end\n"
    "    if type(err) == 'table' then err.where = where(2) end\n"
    "    if retry == 0 or type(err) ~= 'table' or err.code ~= 'CELLAR_ECONFLICT' then\n"
    "      error(err, 0)\n"
    "    end\n"
    "    retry = retry - 1\n"
    "  end\n"
    "end\n";

static const luaL_Reg tx_methods[] = {
    {"get", tx_get},
    {"has", tx_has},
    {"put", tx_put},
    {"delete", tx_delete},
    {"commit", tx_commit},
    {"rollback", tx_rollback},
    {NULL, NULL}
};

static const luaL_Reg tx_meta[] = {
    {"__gc", tx_rollback},
    {"__close", tx_rollback},
    {"__tostring", tx_tostring},
    {NULL, NULL}
};

/* Register the tx metatable, and begin/transaction in the db methods. */
void lcellar_txn_open(lua_State *L, int methods)
{
    luaL_newmetatable(L, LCELLAR_TXN_MT);
    luaL_setfuncs(L, tx_meta, 0);
    luaL_newlib(L, tx_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushcfunction(L, db_begin);
    lua_setfield(L, methods, "begin");

    if (luaL_loadbuffer(L, TXN_DRIVER, sizeof TXN_DRIVER - 1, "=cellardb.transaction")
        != LUA_OK)
        lua_error(L);
    lua_pushcfunction(L, db_begin);
    lua_pushcfunction(L, txn_where);
    lua_pushcfunction(L, txn_live);
    lua_call(L, 3, 1);
    lua_setfield(L, methods, "transaction");
}
