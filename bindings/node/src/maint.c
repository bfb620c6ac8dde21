/*
 * maint.c - maintenance calls: stats, sync, checkpoint, compact, backup,
 * check, dump, load and salvage (synchronous forms; async.c has the twins).
 *
 * check() does not throw for a corrupt file: it answers
 * { ok, count, problems: [{ page, message }] } so a program can show what is
 * wrong. Problems are gathered in C (the report callback may run on a pool
 * thread) and turned into JS values afterwards; at most PROBLEMS_MAX are kept.
 */
#include "addon.h"

#include <stdlib.h>
#include <string.h>

#define PROBLEMS_MAX 1000

void problems_report(uint64_t page, const char *message, void *payload)
{
    problem_list *pl = payload;
    if (pl->n >= PROBLEMS_MAX || pl->oom)
        return;
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;
        uint64_t *pages = realloc(pl->pages, cap * sizeof *pages);
        if (pages)
            pl->pages = pages;
        char **msgs = realloc(pl->messages, cap * sizeof *msgs);
        if (msgs)
            pl->messages = msgs;
        if (!pages || !msgs) {
            pl->oom = 1;
            return;
        }
        pl->cap = cap;
    }
    pl->pages[pl->n] = page;
    pl->messages[pl->n] = strdup(message ? message : "");
    if (!pl->messages[pl->n]) {
        pl->oom = 1;
        return;
    }
    pl->n++;
}

void problems_free(problem_list *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->messages[i]);
    free(pl->messages);
    free(pl->pages);
    memset(pl, 0, sizeof *pl);
}

napi_value problems_to_js(napi_env env, problem_list *pl, int rc, uint64_t count)
{
    napi_value out, arr;
    napi_create_object(env, &out);
    napi_create_array_with_length(env, pl->n, &arr);
    for (size_t i = 0; i < pl->n; i++) {
        napi_value o, m;
        napi_create_object(env, &o);
        napi_set_named_property(env, o, "page", make_uint64(env, pl->pages[i]));
        napi_create_string_utf8(env, pl->messages[i], NAPI_AUTO_LENGTH, &m);
        napi_set_named_property(env, o, "message", m);
        napi_set_element(env, arr, (uint32_t)i, o);
    }
    if (count < pl->n)
        count = pl->n;
    napi_set_named_property(env, out, "ok", js_bool(env, rc == CELLAR_OK && count == 0));
    napi_set_named_property(env, out, "count", make_uint64(env, count));
    napi_set_named_property(env, out, "problems", arr);
    return out;
}

static napi_value fn_stats(napi_env env, napi_callback_info info)
{
    napi_value argv[1], o;
    addon_env *ae;
    node_db *h = db_args(env, info, 1, argv, &ae, 1);
    cellar_stats s;
    int rc;
    if (!h)
        return NULL;
    memset(&s, 0, sizeof s);
    s.version = CELLAR_STATS_VERSION;
    rc = cellar_stats_get(h->db, &s);
    if (rc != CELLAR_OK)
        return throw_cellar(env, ae, rc);
    napi_create_object(env, &o);
#define STAT(js, field) napi_set_named_property(env, o, js, make_uint64(env, s.field))
    STAT("records", records);
    STAT("fileSize", file_size);
    STAT("pageSize", page_size);
    STAT("pages", pages);
    STAT("bucketPages", bucket_pages);
    STAT("overflowPages", overflow_pages);
    STAT("valuePages", value_pages);
    STAT("directoryPages", directory_pages);
    STAT("freePages", free_pages);
    STAT("globalDepth", global_depth);
    napi_set_named_property(env, o, "fillFactor", js_number(env, s.fill_factor));
    STAT("cacheCapacity", cache_capacity);
    STAT("cacheUsed", cache_used);
    STAT("cacheHits", cache_hits);
    STAT("cacheMisses", cache_misses);
    STAT("walSize", wal_size);
    STAT("commits", commits);
    STAT("checkpoints", checkpoints);
#undef STAT
    return o;
}

/* sync(db), checkpoint(db), compact(db), and backup(db, dest), dump(db, path),
 * load(db, path) share this shape. */
enum db_op { OP_SYNC, OP_CHECKPOINT, OP_COMPACT, OP_BACKUP, OP_DUMP, OP_LOAD };

static napi_value db_call(napi_env env, napi_callback_info info, enum db_op op)
{
    napi_value argv[2];
    addon_env *ae;
    node_db *h = db_args(env, info, op >= OP_BACKUP ? 2 : 1, argv, &ae, 1);
    char *path = NULL;
    int rc;
    if (!h || (op >= OP_BACKUP && arg_string(env, argv[1], "path must be a string", &path)))
        return NULL;
    switch (op) {
    case OP_SYNC: rc = cellar_sync(h->db); break;
    case OP_CHECKPOINT: rc = cellar_checkpoint(h->db); break;
    case OP_COMPACT: rc = cellar_compact(h->db, NULL, NULL); break;
    case OP_BACKUP: rc = cellar_backup(h->db, path, NULL, NULL); break;
    case OP_DUMP: rc = cellar_dump(h->db, path, NULL, NULL); break;
    default: rc = cellar_load(h->db, path, NULL, NULL); break;
    }
    free(path);
    return rc == CELLAR_OK ? js_undefined(env) : throw_cellar(env, ae, rc);
}

#define DB_OP_FN(fn, op)                                                       \
    static napi_value fn(napi_env env, napi_callback_info info)               \
    {                                                                          \
        return db_call(env, info, op);                                         \
    }

DB_OP_FN(fn_sync, OP_SYNC)
DB_OP_FN(fn_checkpoint, OP_CHECKPOINT)
DB_OP_FN(fn_compact, OP_COMPACT)
DB_OP_FN(fn_backup, OP_BACKUP)
DB_OP_FN(fn_dump, OP_DUMP)
DB_OP_FN(fn_load, OP_LOAD)

#undef DB_OP_FN

static napi_value fn_check(napi_env env, napi_callback_info info)
{
    napi_value argv[1], out;
    addon_env *ae;
    node_db *h = db_args(env, info, 1, argv, &ae, 1);
    problem_list pl;
    uint64_t count = 0;
    int rc;
    if (!h)
        return NULL;
    memset(&pl, 0, sizeof pl);
    rc = cellar_check(h->db, problems_report, NULL, &pl, &count);
    if (rc != CELLAR_OK && rc != CELLAR_ECORRUPT) {
        problems_free(&pl);
        return throw_cellar(env, ae, rc);
    }
    out = problems_to_js(env, &pl, rc, count);
    problems_free(&pl);
    return out;
}

/* salvage(src, dest) -> records copied */
static napi_value fn_salvage(napi_env env, napi_callback_info info)
{
    napi_value argv[2];
    addon_env *ae = get_args(env, info, 2, argv, NULL);
    char *src, *dest;
    uint64_t n = 0;
    int rc;
    if (!ae || arg_string(env, argv[0], "source path must be a string", &src))
        return NULL;
    if (arg_string(env, argv[1], "destination path must be a string", &dest)) {
        free(src);
        return NULL;
    }
    rc = cellar_salvage(src, dest, NULL, NULL, &n);
    free(src);
    free(dest);
    return rc == CELLAR_OK ? make_uint64(env, n) : throw_cellar(env, ae, rc);
}

void register_maint(napi_env env, napi_value exports, addon_env *ae)
{
    export_fn(env, exports, ae, "stats", fn_stats);
    export_fn(env, exports, ae, "sync", fn_sync);
    export_fn(env, exports, ae, "checkpoint", fn_checkpoint);
    export_fn(env, exports, ae, "compact", fn_compact);
    export_fn(env, exports, ae, "backup", fn_backup);
    export_fn(env, exports, ae, "dump", fn_dump);
    export_fn(env, exports, ae, "load", fn_load);
    export_fn(env, exports, ae, "check", fn_check);
    export_fn(env, exports, ae, "salvage", fn_salvage);
}
