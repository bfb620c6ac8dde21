/*
 * maint.c - statistics and the long operations.
 *
 *   db:stats() -> table            db:sync() / db:checkpoint() -> true
 *   db:compact([progress])         db:backup(dest [, progress])
 *   db:dump(path [, progress])     db:load(path [, progress])
 *   db:check([progress]) -> ok, problems, count
 *   cellardb.salvage(src, dest [, progress]) -> records copied
 *
 * A progress function is called as progress(done, total) (total 0 when
 * unknown). Returning false cancels: the method then returns
 * nil, message, "CELLAR_ECANCELED" (an expected outcome, not an error).
 * An error raised by the progress function cancels the operation too and is
 * re-raised unchanged once the core has returned: it must not unwind through
 * the core's frames, so the function runs under lua_pcall and its error is
 * parked on the stack meanwhile.
 *
 * While such an operation runs, the db object is marked busy: the progress
 * function must not use it (the core may hold its writer lock; a write
 * would deadlock), and any attempt raises CELLAR_EBUSY instead. The progress
 * function is called only on the thread that started the operation; calls
 * the core might make from another thread are skipped.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lcellar.h"

#define LCELLAR_PROBLEMS_MT "cellardb.problems"
#define LCELLAR_MAX_PROBLEMS 1000 /* kept in detail; the count goes on */

typedef struct progress_ctx {
    lua_State *L;
    int fn;          /* stack index of the progress function, 0 if none */
    int failed;      /* the function raised: its error is on the stack top */
    pthread_t owner; /* the only thread that may run Lua */
} progress_ctx;

static int progress_cb(uint64_t done, uint64_t total, void *payload)
{
    progress_ctx *c = (progress_ctx *)payload;
    if (c->fn == 0 || !pthread_equal(c->owner, pthread_self()))
        return 0;
    if (c->failed)
        return 1;
    lua_State *L = c->L;
    lua_pushvalue(L, c->fn);
    lua_pushinteger(L, (lua_Integer)done);
    lua_pushinteger(L, (lua_Integer)total);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        c->failed = 1; /* leave the error value on the stack */
        return 1;
    }
    int cancel = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    return cancel;
}

/* Prepare a context for the optional progress function at stack index idx. */
static void progress_init(lua_State *L, progress_ctx *c, int idx)
{
    c->L = L;
    c->fn = 0;
    c->failed = 0;
    c->owner = pthread_self();
    if (!lua_isnoneornil(L, idx)) {
        luaL_checktype(L, idx, LUA_TFUNCTION);
        c->fn = lua_absindex(L, idx);
    }
    luaL_checkstack(L, 8, "progress callback");
}

/*
 * Common ending of a long operation: re-raise the progress function's error,
 * return nil, msg, code on cancel, raise other errors, else return `nret`
 * values the caller has pushed (after this call).
 */
static int progress_done(lua_State *L, progress_ctx *c, int rc)
{
    if (c->failed)
        return lua_error(L);
    if (rc == CELLAR_ECANCELED)
        return lcellar_fail(L, rc);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    return 0;
}

/* ---- stats, sync ------------------------------------------------------ */

#define SET_INT(name) (lua_pushinteger(L, (lua_Integer)s.name), lua_setfield(L, -2, #name))

/* db:stats() -> table with every field of cellar_stats */
static int db_stats(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    cellar_stats s;
    memset(&s, 0, sizeof s);
    s.version = CELLAR_STATS_VERSION;
    int rc = cellar_stats_get(lcellar_db_handle(L, d), &s);
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_createtable(L, 0, 20);
    SET_INT(records);
    SET_INT(file_size);
    SET_INT(page_size);
    SET_INT(pages);
    SET_INT(bucket_pages);
    SET_INT(overflow_pages);
    SET_INT(value_pages);
    SET_INT(directory_pages);
    SET_INT(free_pages);
    SET_INT(global_depth);
    lua_pushnumber(L, s.fill_factor);
    lua_setfield(L, -2, "fill_factor");
    SET_INT(cache_capacity);
    SET_INT(cache_used);
    SET_INT(cache_hits);
    SET_INT(cache_misses);
    SET_INT(wal_size);
    SET_INT(commits);
    SET_INT(checkpoints);
    return 1;
}

static int true_or_raise(lua_State *L, int rc)
{
    if (rc != CELLAR_OK)
        return lcellar_raise(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* db:sync() -> true */
static int db_sync(lua_State *L)
{
    return true_or_raise(L, cellar_sync(lcellar_checkdb(L, 1)->db));
}

/* db:checkpoint() -> true */
static int db_checkpoint(lua_State *L)
{
    return true_or_raise(L, cellar_checkpoint(lcellar_checkdb(L, 1)->db));
}

/* ---- long operations with progress ------------------------------------ */

/* db:compact([progress]) -> true */
static int db_compact(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    lua_settop(L, 2);
    progress_ctx c;
    progress_init(L, &c, 2);
    cellar_db *db = lcellar_db_handle(L, d);
    d->busy++;
    int rc = cellar_compact(db, progress_cb, &c);
    d->busy--;
    if (c.failed || rc != CELLAR_OK)
        return progress_done(L, &c, rc);
    lua_pushboolean(L, 1);
    return 1;
}

typedef int (*path_op)(cellar_db *, const char *, cellar_progress_fn, void *);

static int with_path(lua_State *L, path_op op)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    const char *path = luaL_checkstring(L, 2);
    lua_settop(L, 3);
    progress_ctx c;
    progress_init(L, &c, 3);
    cellar_db *db = lcellar_db_handle(L, d);
    d->busy++;
    int rc = op(db, path, progress_cb, &c);
    d->busy--;
    if (c.failed || rc != CELLAR_OK)
        return progress_done(L, &c, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* db:backup(dest [, progress]) -> true */
static int db_backup(lua_State *L)
{
    return with_path(L, cellar_backup);
}

/* db:dump(path [, progress]) -> true */
static int db_dump(lua_State *L)
{
    return with_path(L, cellar_dump);
}

/* db:load(path [, progress]) -> true */
static int db_load(lua_State *L)
{
    return with_path(L, cellar_load);
}

/* cellardb.salvage(src, dest [, progress]) -> number of records copied */
int lcellar_salvage(lua_State *L)
{
    const char *src = luaL_checkstring(L, 1);
    const char *dest = luaL_checkstring(L, 2);
    lua_settop(L, 3);
    progress_ctx c;
    progress_init(L, &c, 3);
    uint64_t n = 0;
    int rc = cellar_salvage(src, dest, progress_cb, &c, &n);
    if (c.failed || rc != CELLAR_OK)
        return progress_done(L, &c, rc);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* ---- check ------------------------------------------------------------ */

/*
 * Problems reported by cellar_check, collected in plain C memory (no Lua
 * call inside the core callback) and owned by a userdata whose __gc frees
 * them, so that nothing leaks if building the Lua result raises.
 */
typedef struct problem {
    uint64_t page;
    char *message;
} problem;

typedef struct problems {
    size_t n, cap;
    problem *items;
    int oom; /* a message could not be kept */
} problems;

static void report_cb(uint64_t page, const char *message, void *payload)
{
    problems *p = (problems *)((progress_ctx *)payload + 1);
    if (p->n >= LCELLAR_MAX_PROBLEMS)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        problem *items = (problem *)realloc(p->items, cap * sizeof *items);
        if (items == NULL) {
            p->oom = 1;
            return;
        }
        p->items = items;
        p->cap = cap;
    }
    size_t len = strlen(message ? message : "");
    char *copy = (char *)malloc(len + 1);
    if (copy == NULL) {
        p->oom = 1;
        return;
    }
    memcpy(copy, message ? message : "", len + 1);
    p->items[p->n].page = page;
    p->items[p->n].message = copy;
    p->n++;
}

static int problems_gc(lua_State *L)
{
    problems *p = (problems *)((progress_ctx *)luaL_checkudata(L, 1, LCELLAR_PROBLEMS_MT) + 1);
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].message);
    free(p->items);
    p->items = NULL;
    p->n = p->cap = 0;
    return 0;
}

/*
 * db:check([progress]) -> ok, problems, count
 * ok is true when the file is sound; problems is an array of
 * { page = n, message = "..." } (at most 1000 kept); count is the total.
 */
static int db_check(lua_State *L)
{
    lcellar_db *d = lcellar_checkdb(L, 1);
    lua_settop(L, 2);
    /* One userdata holds the progress context followed by the problems. */
    progress_ctx *c = (progress_ctx *)lua_newuserdatauv(L, sizeof(progress_ctx) + sizeof(problems), 0);
    problems *p = (problems *)(c + 1);
    memset(p, 0, sizeof *p);
    luaL_setmetatable(L, LCELLAR_PROBLEMS_MT);
    progress_init(L, c, 2);

    uint64_t count = 0;
    cellar_db *db = lcellar_db_handle(L, d);
    d->busy++;
    int rc = cellar_check(db, report_cb, progress_cb, c, &count);
    d->busy--;
    if (c->failed || (rc != CELLAR_OK && rc != CELLAR_ECORRUPT))
        return progress_done(L, c, rc);

    lua_pushboolean(L, rc == CELLAR_OK);
    lua_createtable(L, (int)p->n, 0);
    for (size_t i = 0; i < p->n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, (lua_Integer)p->items[i].page);
        lua_setfield(L, -2, "page");
        lua_pushstring(L, p->items[i].message);
        lua_setfield(L, -2, "message");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    if (count < p->n)
        count = p->n;
    lua_pushinteger(L, (lua_Integer)count);
    return 3;
}

static const luaL_Reg maint_methods[] = {
    {"stats", db_stats},
    {"sync", db_sync},
    {"checkpoint", db_checkpoint},
    {"compact", db_compact},
    {"backup", db_backup},
    {"dump", db_dump},
    {"load", db_load},
    {"check", db_check},
    {NULL, NULL}
};

void lcellar_maint_open(lua_State *L, int methods)
{
    luaL_newmetatable(L, LCELLAR_PROBLEMS_MT);
    lua_pushcfunction(L, problems_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lcellar_setfuncs(L, methods, maint_methods);
}
