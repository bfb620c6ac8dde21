/*
 * module.c - luaopen_cellardb and cellardb.open.
 *
 *   local cellardb = require "cellardb"
 *   local db, msg, code = cellardb.open(path [, opts])
 *
 * opts (every field optional; an unknown field raises, to catch typos):
 *   flag         "c" (default: create if missing), "w" (must exist),
 *                "r" (read-only), "n" (create, start empty) - as dbm
 *   mode         file mode bits at creation (umask applies), default 0666
 *   cache_size   page cache budget in bytes
 *   page_size    at creation: 4096 .. 65536, a power of two
 *   sync         "normal" (default), "full", "off"
 *   lock_timeout milliseconds to wait for another process's lock (default 0)
 *   wal_limit    checkpoint when the log passes this many bytes
 *   clock        a cellardb.fake_clock() for TTLs (tests)
 *
 * Expected failures (missing file, locked, not a database, corrupt, ...)
 * return nil, message, code as io.open does; bad options raise.
 *
 * Several Lua states (one per host thread) may each load the module and open
 * databases; opening a file that is already open in the process shares the
 * core's one open database (see cellardb.h), so two states may use the same
 * file through their own handles at once.
 */
#include <string.h>

#include "lcellar.h"

static unsigned int parse_flag(lua_State *L, const char *flag)
{
    if (strcmp(flag, "c") == 0)
        return CELLAR_CREATE;
    if (strcmp(flag, "w") == 0)
        return 0;
    if (strcmp(flag, "r") == 0)
        return CELLAR_RDONLY;
    if (strcmp(flag, "n") == 0)
        return CELLAR_CREATE | CELLAR_TRUNCATE;
    return (unsigned int)luaL_error(L, "bad argument #2 to 'open' (option 'flag': \"r\", \"w\", \"c\" or \"n\" expected, got \"%s\")", flag);
}

static int parse_sync(lua_State *L, const char *sync)
{
    if (strcmp(sync, "normal") == 0)
        return CELLAR_SYNC_NORMAL;
    if (strcmp(sync, "full") == 0)
        return CELLAR_SYNC_FULL;
    if (strcmp(sync, "off") == 0)
        return CELLAR_SYNC_OFF;
    return luaL_error(L, "bad argument #2 to 'open' (option 'sync': \"normal\", \"full\" or \"off\" expected, got \"%s\")", sync);
}

/* The value on the stack top as a non-negative integer option, or raise. */
static lua_Integer opt_uint(lua_State *L, const char *name, lua_Integer max)
{
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "bad argument #2 to 'open' (option '%s': integer expected, got %s)", name, luaL_typename(L, -1));
    if (v < 0 || v > max)
        luaL_error(L, "bad argument #2 to 'open' (option '%s' out of range)", name);
    return v;
}

static const char *opt_string(lua_State *L, const char *name)
{
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "bad argument #2 to 'open' (option '%s': string expected, got %s)", name, luaL_typename(L, -1));
    return lua_tostring(L, -1);
}

/* Fill `o` from the options table at index 2; a clock goes to user value 2 of the db at `dbidx`. */
static void parse_options(lua_State *L, cellar_options *o, int dbidx)
{
    if (lua_isnoneornil(L, 2))
        return;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (strcmp(k, "flag") == 0)
            o->flags = parse_flag(L, opt_string(L, k));
        else if (strcmp(k, "mode") == 0) {
            /* 0 would mean "no permissions" to the caller but 0666 to the core */
            o->mode = (unsigned int)opt_uint(L, k, 07777);
            if (o->mode == 0)
                luaL_error(L, "bad argument #2 to 'open' (option 'mode' must be permission bits from 1 to 07777 such as 0644, not 0)");
        }
        else if (strcmp(k, "cache_size") == 0)
            o->cache_size = (size_t)opt_uint(L, k, LUA_MAXINTEGER);
        else if (strcmp(k, "page_size") == 0)
            o->page_size = (unsigned int)opt_uint(L, k, CELLAR_MAX_PAGE_SIZE * 2u);
        else if (strcmp(k, "sync") == 0)
            o->sync = parse_sync(L, opt_string(L, k));
        else if (strcmp(k, "lock_timeout") == 0)
            o->lock_timeout_ms = (int)opt_uint(L, k, 0x7fffffff);
        else if (strcmp(k, "wal_limit") == 0)
            o->wal_limit = (uint64_t)opt_uint(L, k, LUA_MAXINTEGER);
        else if (strcmp(k, "clock") == 0) {
            if (lcellar_clock_option(L, -1, o)) {
                lua_pushvalue(L, -1);
                lua_setiuservalue(L, dbidx, 2);
            }
        } else {
            lua_pushvalue(L, -2);
            luaL_error(L, "bad argument #2 to 'open' (unknown option '%s')",
                       luaL_tolstring(L, -1, NULL));
        }
        lua_pop(L, 1);
    }
}

/* cellardb.open(path [, opts]) -> db | nil, message, code */
static int l_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_argcheck(L, strlen(path) == lua_rawlen(L, 1), 1, "path contains a zero byte");
    lua_settop(L, 2); /* path, opts: the db object goes at 3 */
    /* Created closed; opened only once everything that can raise is done. */
    lcellar_db *d = lcellar_newdb(L);
    int dbidx = lua_gettop(L);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, dbidx, 1);
    cellar_options o = CELLAR_OPTIONS_INIT;
    parse_options(L, &o, dbidx);

    cellar_db *db = NULL;
    int rc = cellar_open(&db, path, &o);
    if (rc != CELLAR_OK)
        return lcellar_fail(L, rc);
    d->db = db;
    lua_settop(L, dbidx);
    return 1;
}

/* cellardb.is_error(v) -> true if v is an error object raised by cellardb */
static int l_is_error(lua_State *L)
{
    int is = 0;
    if (lua_getmetatable(L, 1)) {
        luaL_getmetatable(L, LCELLAR_ERROR_MT);
        is = lua_rawequal(L, -1, -2);
    }
    lua_pushboolean(L, is);
    return 1;
}

/* cellardb.strerror(code) -> text (code: a number or a "CELLAR_E..." name) */
static int l_strerror(lua_State *L)
{
    int code;
    if (lua_type(L, 1) == LUA_TSTRING) {
        lcellar_push_codes(L);
        lua_pushvalue(L, 1);
        lua_rawget(L, -2);
        code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 1;
    } else {
        code = (int)luaL_checkinteger(L, 1);
    }
    lua_pushstring(L, cellar_strerror(code));
    return 1;
}

static const luaL_Reg module_fns[] = {
    {"open", l_open},
    {"salvage", lcellar_salvage},
    {"is_error", l_is_error},
    {"strerror", l_strerror},
    {NULL, NULL}
};

/* The one exported symbol (the build hides everything else). */
#if defined(__GNUC__) || defined(__clang__)
#define LCELLAR_EXPORT __attribute__((visibility("default")))
#else
#define LCELLAR_EXPORT
#endif

LCELLAR_EXPORT int luaopen_cellardb(lua_State *L);

LCELLAR_EXPORT int luaopen_cellardb(lua_State *L)
{
    luaL_checkversion(L);
    lcellar_error_open(L);
    lcellar_db_open(L);
    luaL_newlib(L, module_fns);
    lcellar_clock_open(L);
    lua_setfield(L, -2, "fake_clock");
    lcellar_push_codes(L);
    lua_setfield(L, -2, "codes");
    lua_pushstring(L, cellar_version());
    lua_setfield(L, -2, "version");
    lua_pushliteral(L, "cellardb " CELLAR_VERSION_STRING);
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
