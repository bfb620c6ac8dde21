/*
 * clock.c - a settable clock for TTLs, for tests and simulations.
 *
 *   local clock = cellardb.fake_clock(1700000000000)  -- start, ms since epoch
 *   local db = cellardb.open(path, { clock = clock })
 *   clock:advance(1500); clock:set(ms); clock:now()
 *
 * The core reads the time through a C function pointer; this one reads a
 * 64-bit counter in the clock object's memory (atomically: the core may read
 * it from any of its threads), so no Lua code ever runs inside the core.
 *
 * Lifetime: the core's open database, shared by every handle of the file in
 * the process, keeps the clock of the open that created it, and may read it
 * until its last handle closes, even after the handle given the clock is
 * gone. So a clock once given to open is anchored for the life of the Lua
 * state (registry table LCELLAR_CLOCKS), not only by its db object; it must
 * not be used by handles of another Lua state that outlive this one.
 */
#include "lcellar.h"

#define LCELLAR_CLOCK_MT "cellardb.clock"
#define LCELLAR_CLOCKS "cellardb.clocks" /* registry: clocks given to open */

typedef struct lcellar_clock {
    uint64_t now_ms;
} lcellar_clock;

static uint64_t clock_read(void *payload)
{
    return __atomic_load_n(&((lcellar_clock *)payload)->now_ms, __ATOMIC_ACQUIRE);
}

static lcellar_clock *checkclock(lua_State *L, int idx)
{
    return (lcellar_clock *)luaL_checkudata(L, idx, LCELLAR_CLOCK_MT);
}

static lua_Integer check_ms(lua_State *L, int idx)
{
    lua_Integer ms = luaL_checkinteger(L, idx);
    luaL_argcheck(L, ms >= 0, idx, "milliseconds must be >= 0");
    return ms;
}

/* cellardb.fake_clock([start_ms = 0]) -> clock */
static int clock_new(lua_State *L)
{
    lua_Integer start = lua_isnoneornil(L, 1) ? 0 : check_ms(L, 1);
    lcellar_clock *c = (lcellar_clock *)lua_newuserdatauv(L, sizeof *c, 0);
    c->now_ms = (uint64_t)start;
    luaL_setmetatable(L, LCELLAR_CLOCK_MT);
    return 1;
}

/* clock:now() -> ms */
static int clock_now(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)clock_read(checkclock(L, 1)));
    return 1;
}

/* clock:set(ms) -> ms */
static int clock_set(lua_State *L)
{
    lcellar_clock *c = checkclock(L, 1);
    lua_Integer ms = check_ms(L, 2);
    __atomic_store_n(&c->now_ms, (uint64_t)ms, __ATOMIC_RELEASE);
    lua_pushinteger(L, ms);
    return 1;
}

/* clock:advance(ms) -> new time in ms */
static int clock_advance(lua_State *L)
{
    lcellar_clock *c = checkclock(L, 1);
    lua_Integer ms = check_ms(L, 2);
    uint64_t now = __atomic_add_fetch(&c->now_ms, (uint64_t)ms, __ATOMIC_ACQ_REL);
    lua_pushinteger(L, (lua_Integer)now);
    return 1;
}

static int clock_tostring(lua_State *L)
{
    lua_pushfstring(L, "cellardb.clock (%I ms)", (lua_Integer)clock_read(checkclock(L, 1)));
    return 1;
}

/*
 * If the value at idx is a clock object, fill the clock fields of `o`
 * and return 1; return 0 for nil; raise otherwise.
 */
int lcellar_clock_option(lua_State *L, int idx, cellar_options *o)
{
    if (lua_isnil(L, idx))
        return 0;
    lcellar_clock *c = (lcellar_clock *)luaL_testudata(L, idx, LCELLAR_CLOCK_MT);
    if (c == NULL)
        luaL_error(L, "bad argument #2 to 'open' (option 'clock': cellardb.fake_clock() expected, got %s)",
                   luaL_typename(L, idx));
    o->clock = clock_read;
    o->clock_payload = c;
    /* Anchor it for the state's life (see Lifetime above). */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LCELLAR_CLOCKS);
    lua_pushvalue(L, idx < 0 ? idx - 1 : idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 1;
}

static const luaL_Reg clock_methods[] = {
    {"now", clock_now},
    {"set", clock_set},
    {"advance", clock_advance},
    {NULL, NULL}
};

/* Register the clock metatable; push the constructor. */
void lcellar_clock_open(lua_State *L)
{
    luaL_newmetatable(L, LCELLAR_CLOCK_MT);
    lua_pushcfunction(L, clock_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, clock_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, clock_new);
}
