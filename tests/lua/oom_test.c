/*
 * oom_test.c - the Lua module under allocation failure.
 *
 * Runs one Lua script that uses every kind of object of the module (db,
 * iterator, transaction, error objects, progress callbacks) again and again,
 * in a fresh Lua state each time, with the Lua allocator made to fail at the
 * 1st, 2nd, 3rd, ... allocation, until a run completes without any failure.
 * Every run must end in a clean Lua error or success (never a crash), and
 * after lua_close (which runs every finalizer) the process must hold exactly
 * the file descriptors it held before: no core handle leaks or stays half
 * built. This is what "created closed, then opened" and the pending-value
 * slots in the module are for. Run it under valgrind or ASan for leaks too.
 *
 *   lua_oom_test          (works in a new directory under $TMPDIR, removed after)
 *   prints "N passed, N failed" (one test per failure point)
 */
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cellardb.h"
#include "tmpdir.h"

int luaopen_cellardb(lua_State *L);

typedef struct budget {
    int armed;    /* counting starts once the standard libraries are loaded */
    long count;   /* allocations made so far (while armed) */
    long fail_at; /* the allocation that fails (0: none) */
    int failed;   /* one did fail */
} budget;

static void *test_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    budget *b = (budget *)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (b->armed && (ptr == NULL || nsize > osize)) {
        b->count++;
        if (b->fail_at > 0 && b->count >= b->fail_at) {
            b->failed = 1;
            return NULL;
        }
    }
    return realloc(ptr, nsize);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Uses every object; leaves some of them open for the finalizers. */
static const char SCRIPT[] =
    "local cellardb = require 'cellardb'\n"
    "local dir = ...\n"
    "local db = assert(cellardb.open(dir .. '/db', { cache_size = 1 << 20 }))\n"
    "db:put('a', '1'); db:put('b', string.rep('x', 5000), 100000)\n"
    "assert(db:get('a') == '1'); assert(db:get('nope') == nil)\n"
    "db:incr('n'); db:cas('c', nil, 'v')\n"
    "local vals = db:get_many({ 'a', 'b', 'zz' }); assert(vals.n == 3)\n"
    "db:put_many({ { 'p1', 'v1' }, { 'p2', 'v2' } }); db:put_many({ m = 'x' })\n"
    "for k, v in db:pairs() do assert(#k > 0) end\n"
    "for k in pairs(db) do break end\n"
    "local f, s = db:pairs(); f(s)\n"
    "local r = db:transaction(function(tx) tx:put('t', '1'); return tx:get('t') end)\n"
    "assert(r == '1')\n"
    "pcall(db.transaction, db, function(tx) tx:put('u', '1'); error('x') end)\n"
    "local open_tx = db:begin(); open_tx:put('v', '1'); open_tx:get('a')\n"
    "local ok, err = pcall(db.get, db, string.rep('k', 70000))\n"
    "assert(not ok)\n"
    "tostring(err)\n"
    "db:check(function() end)\n"
    "local s = db:stats(); assert(s.records > 0)\n"
    "local second = assert(cellardb.open(dir .. '/db'))\n"
    "second:get('a')\n"
    "local missing, msg, code = cellardb.open(dir .. '/none', { flag = 'w' })\n"
    "assert(code == 'CELLAR_ENOENT')\n"
    "db:close()\n"
    "return 'done'\n";

static int run_script(lua_State *L)
{
    const char *dir = (const char *)lua_touserdata(L, 1);
    luaL_openlibs(L);
    void *ud;
    lua_getallocf(L, &ud);
    ((budget *)ud)->armed = 1; /* from here on every allocation may fail */
    luaL_requiref(L, "cellardb", luaopen_cellardb, 0);
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, SCRIPT, sizeof SCRIPT - 1, "=oom_script") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, dir);
    lua_call(L, 1, 1);
    return 1;
}

/* One run with allocation number fail_at failing; returns 1 if it got
 * through without any failure (the loop is over). */
static int one_run(const char *dir, long fail_at, int *bad)
{
    budget b = { 0, 0, fail_at, 0 };
    int fds = count_fds();
    lua_State *L = lua_newstate(test_alloc, &b);
    if (L == NULL) {
        return 0; /* the state itself could not be made: nothing to check */
    }
    lua_pushcfunction(L, run_script);
    lua_pushlightuserdata(L, (void *)dir);
    int rc = lua_pcall(L, 1, 1, 0);
    if (rc == LUA_OK && !b.failed) {
        lua_close(L);
        return count_fds() == fds ? 1 : (*bad = 1, 1);
    }
    if (rc == LUA_OK && b.failed) {
        /* A failure the script absorbed (e.g. inside a pcall): fine. */
    } else if (rc != LUA_ERRMEM && !b.failed) {
        fprintf(stderr, "fail_at %ld: unexpected error: %s\n", fail_at,
                lua_tostring(L, -1) ? lua_tostring(L, -1) : "(not a string)");
        *bad = 1;
    }
    b.armed = 0; /* let the finalizers allocate if they must */
    lua_close(L);
    if (count_fds() != fds) {
        fprintf(stderr, "fail_at %ld: %d file descriptors leaked\n", fail_at,
                count_fds() - fds);
        *bad = 1;
    }
    return 0;
}

int main(void)
{
    char dir[4096];
    if (tmpdir_make(dir, "oom") != 0)
        return 2;
    long passed = 0, failed = 0;
    for (long fail_at = 1; fail_at < 1000000; fail_at++) {
        int bad = 0;
        int done = one_run(dir, fail_at, &bad);
        if (bad)
            failed++;
        else
            passed++;
        if (done)
            break;
    }
    /* The file must have come through every interrupted run intact. */
    cellar_db *db = NULL;
    cellar_options o = CELLAR_OPTIONS_INIT;
    char path[4096 + 4];
    snprintf(path, sizeof path, "%s/db", dir);
    int rc = cellar_open(&db, path, &o);
    if (rc == CELLAR_OK)
        rc = cellar_check(db, NULL, NULL, NULL, NULL);
    cellar_close(db);
    if (rc != CELLAR_OK) {
        fprintf(stderr, "final check: %s\n", cellar_strerror(rc));
        failed++;
    } else {
        passed++;
    }
    tmpdir_remove(dir);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
