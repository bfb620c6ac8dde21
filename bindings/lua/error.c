/*
 * error.c - how core error codes reach Lua.
 *
 * Two shapes, chosen per function and documented in bindings/lua/README.md:
 *
 *   expected failure   return nil, message, code        (cellardb.open, ...)
 *   error              error(obj) with obj a table       (every method)
 *
 * The error object is a table { code = "CELLAR_EIO", message = "...",
 * errno = 5, where = "script.lua:12: " } whose metatable (registry key
 * LCELLAR_ERROR_MT, also cellardb.error_mt) gives __tostring
 * "script.lua:12: cellardb: <message> (CELLAR_EIO)", so an uncaught error
 * prints well in the standalone interpreter, and `err.code` is there for
 * code that handles it. `code` is always the name cellar_errname() gives.
 *
 * The core's detail message lives in a per-thread buffer that the next failing
 * cellardb call overwrites; allocating Lua strings may run finalizers (which
 * may close a database), so the message is copied to the C stack first.
 */
#include <string.h>

#include "lcellar.h"

#define LCELLAR_MSG_MAX 600

/* Copy the detail of `rc` (or its static text) into buf; returns buf. */
static const char *error_text(int rc, char *buf, size_t size, int *sys_errno)
{
    const cellar_error *e = cellar_error_last();
    const char *msg = cellar_strerror(rc);
    *sys_errno = 0;
    if (e->code == rc && e->message != NULL && e->message[0] != '\0') {
        msg = e->message;
        *sys_errno = e->sys_errno;
    }
    size_t n = strlen(msg);
    if (n >= size)
        n = size - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
    return buf;
}

static void push_error_object(lua_State *L, int rc, const char *msg,
                              int sys_errno, int level)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, cellar_errname(rc));
    lua_setfield(L, -2, "code");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    lua_pushinteger(L, sys_errno);
    lua_setfield(L, -2, "errno");
    if (level > 0)
        luaL_where(L, level);
    else
        lua_pushliteral(L, "");
    lua_setfield(L, -2, "where");
    luaL_setmetatable(L, LCELLAR_ERROR_MT);
}

/* Push the error object for `rc`, located at call level `level` (0: none). */
void lcellar_push_error(lua_State *L, int rc, int level)
{
    char buf[LCELLAR_MSG_MAX];
    int sys_errno;
    error_text(rc, buf, sizeof buf, &sys_errno);
    push_error_object(L, rc, buf, sys_errno, level);
}

/* Raise the error object for `rc` (the caller's position in `where`). */
int lcellar_raise(lua_State *L, int rc)
{
    lcellar_push_error(L, rc, 1);
    return lua_error(L);
}

/* Raise an error object with code `rc` and our own message. */
int lcellar_raise_msg(lua_State *L, int rc, const char *msg)
{
    push_error_object(L, rc, msg, 0, 1);
    return lua_error(L);
}

/* Return nil, message, code (the io.open convention). */
int lcellar_fail(lua_State *L, int rc)
{
    char buf[LCELLAR_MSG_MAX];
    int sys_errno;
    error_text(rc, buf, sizeof buf, &sys_errno);
    lua_pushnil(L);
    lua_pushstring(L, buf);
    lua_pushstring(L, cellar_errname(rc));
    return 3;
}

static int error_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "where");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "code");
    lua_pushfstring(L, "%scellardb: %s (%s)",
                    lua_isstring(L, 2) ? lua_tostring(L, 2) : "",
                    lua_isstring(L, 3) ? lua_tostring(L, 3) : "?",
                    lua_isstring(L, 4) ? lua_tostring(L, 4) : "?");
    return 1;
}

/* Push the table { CELLAR_ENOTFOUND = -1, ..., [-1] = "CELLAR_ENOTFOUND" }. */
void lcellar_push_codes(lua_State *L)
{
    lua_newtable(L);
#define LCELLAR__CODE(name, value, msg)                                         \
    lua_pushinteger(L, (value));                                               \
    lua_setfield(L, -2, "CELLAR_" #name);                                      \
    lua_pushliteral(L, "CELLAR_" #name);                                       \
    lua_rawseti(L, -2, (value));
    CELLAR_ERROR_LIST(LCELLAR__CODE)
#undef LCELLAR__CODE
}

/* Create the error metatable (left in the registry). */
void lcellar_error_open(lua_State *L)
{
    luaL_newmetatable(L, LCELLAR_ERROR_MT);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}
