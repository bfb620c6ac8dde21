/*
 * states_test.c - several Lua states, one per thread, on one file.
 *
 * The module keeps no C globals, so independent Lua states may load it in
 * different threads at once. Here each thread makes its own state, opens the
 * same file (the core shares one open database between the handles), and
 * runs read-modify-write transactions on one shared counter (retried on
 * conflict), its own keys, and iterations, all concurrently. At the end the
 * counter must equal the number of committed increments, and every key must
 * be there.
 *
 *   lua_states_test       (works in a new directory under $TMPDIR, removed after)
 *   prints "N passed, N failed"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cellardb.h"
#include "tmpdir.h"

int luaopen_cellardb(lua_State *L);

#define THREADS 4
#define ROUNDS 2000

static const char SCRIPT[] =
    "local cellardb = require 'cellardb'\n"
    "local path, id, rounds = ...\n"
    "local db <close> = assert(cellardb.open(path))\n"
    "for i = 1, rounds do\n"
    "  db:transaction(function(tx)\n"
    "    local n = tonumber(tx:get('counter') or '0')\n"
    "    tx:put('counter', tostring(n + 1))\n"
    "  end, { retry = 100000 })\n"
    "  db:put(string.format('t%d:%d', id, i), string.rep('v', i % 50))\n"
    "  if i % 50 == 0 then\n"
    "    local seen = 0\n"
    "    for k in db:pairs() do seen = seen + 1 end\n"
    "    assert(seen >= i)\n"
    "  end\n"
    "end\n"
    "return 'ok'\n";

typedef struct job {
    const char *path;
    int id;
    char error[512];
} job;

static void *run(void *arg)
{
    job *j = (job *)arg;
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        snprintf(j->error, sizeof j->error, "no Lua state");
        return NULL;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "cellardb", luaopen_cellardb, 0);
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, SCRIPT, sizeof SCRIPT - 1, "=states_script") != LUA_OK) {
        snprintf(j->error, sizeof j->error, "%s", lua_tostring(L, -1));
    } else {
        lua_pushstring(L, j->path);
        lua_pushinteger(L, j->id);
        lua_pushinteger(L, ROUNDS);
        if (lua_pcall(L, 3, 1, 0) != LUA_OK)
            snprintf(j->error, sizeof j->error, "thread %d: %s", j->id,
                     luaL_tolstring(L, -1, NULL));
    }
    lua_close(L);
    return NULL;
}

int main(void)
{
    char dir[4096], path[4096 + 4];
    if (tmpdir_make(dir, "states") != 0)
        return 2;
    snprintf(path, sizeof path, "%s/db", dir);

    int passed = 0, failed = 0;
    pthread_t threads[THREADS];
    job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i].path = path;
        jobs[i].id = i;
        jobs[i].error[0] = '\0';
        pthread_create(&threads[i], NULL, run, &jobs[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (jobs[i].error[0]) {
            fprintf(stderr, "FAIL %s\n", jobs[i].error);
            failed++;
        } else {
            passed++;
        }
    }

    /* Every increment committed once; every key there. */
    cellar_db *db = NULL;
    int rc = cellar_open(&db, path, NULL);
    if (rc == CELLAR_OK) {
        void *val = NULL;
        size_t len = 0;
        char want[32];
        snprintf(want, sizeof want, "%d", THREADS * ROUNDS);
        rc = cellar_get(db, "counter", 7, &val, &len);
        if (rc == CELLAR_OK && (len != strlen(want) || memcmp(val, want, len) != 0)) {
            fprintf(stderr, "FAIL counter is %.*s, expected %s\n", (int)len,
                    (const char *)val, want);
            rc = CELLAR_EINTERNAL;
        }
        cellar_free(val);
        uint64_t count = 0;
        if (rc == CELLAR_OK && cellar_count(db, &count) == CELLAR_OK &&
            count != (uint64_t)THREADS * ROUNDS + 1) {
            fprintf(stderr, "FAIL %llu records, expected %d\n",
                    (unsigned long long)count, THREADS * ROUNDS + 1);
            rc = CELLAR_EINTERNAL;
        }
        if (rc == CELLAR_OK)
            rc = cellar_check(db, NULL, NULL, NULL, NULL);
    }
    cellar_close(db);
    if (rc == CELLAR_OK) {
        passed++;
    } else {
        fprintf(stderr, "FAIL final state: %s\n", cellar_strerror(rc));
        failed++;
    }
    tmpdir_remove(dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
