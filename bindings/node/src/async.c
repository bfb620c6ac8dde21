/*
 * async.c - the asynchronous twins, run on the libuv thread pool.
 *
 * Each call copies its arguments into a work item on the JS thread (JS memory
 * must not be touched from the pool), runs one cellar_* call in execute() on
 * a pool thread, copies the thread's error detail there when it fails, and
 * settles a promise in complete() back on the JS thread.
 *
 * The item holds a strong reference to its db (and txn) external, and counts
 * itself in node_db.busy: close() during the call only marks the handle, and
 * the last item to complete performs the real cellar_close, so the core never
 * sees close race another call on the same handle. A transaction is marked
 * busy while its commit or read runs, so the JS thread cannot use it then.
 */
#include "addon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum work_kind {
    W_GET, W_HAS, W_PUT, W_DEL, W_GET_MANY, W_PUT_MANY, W_SYNC, W_CHECKPOINT,
    W_COMPACT, W_BACKUP, W_CHECK, W_TXN_GET, W_TXN_COMMIT
} work_kind;

typedef struct work {
    napi_async_work w;
    napi_deferred deferred;
    addon_env *ae;
    work_kind kind;
    node_db *h;
    napi_ref href;
    node_txn *t;
    napi_ref tref;
    bytes k, v;       /* owned copies */
    uint64_t ttl;
    char *path;
    cellar_slice *keys, *vals;
    bytes *kh, *vh;
    uint32_t n;
    unsigned char *found;
    void *out;        /* a value from cellar_get (cellar_free) */
    size_t outlen;
    problem_list pl;
    uint64_t count;
    int rc;
    captured_error err;
} work;

static void work_free(napi_env env, work *w)
{
    bytes_free(&w->k);
    bytes_free(&w->v);
    free(w->path);
    if (w->keys)
        db_free_slices(w->kh, w->keys, w->n);
    if (w->vals && w->kind == W_PUT_MANY)
        db_free_slices(w->vh, w->vals, w->n);
    if (w->vals && w->kind == W_GET_MANY) {
        for (uint32_t i = 0; i < w->n; i++)
            cellar_free((void *)w->vals[i].data);
        free(w->vals);
    }
    free(w->found);
    cellar_free(w->out);
    problems_free(&w->pl);
    if (w->href)
        napi_delete_reference(env, w->href);
    if (w->tref)
        napi_delete_reference(env, w->tref);
    free(w);
}

static int expected_rc(work_kind kind, int rc)
{
    if (rc == CELLAR_OK)
        return 1;
    if (rc == CELLAR_ENOTFOUND)
        return kind == W_GET || kind == W_HAS || kind == W_DEL || kind == W_TXN_GET;
    if (rc == CELLAR_ECORRUPT)
        return kind == W_CHECK;
    return 0;
}

/* Runs on a pool thread: cellar_* calls only, no napi. */
static void execute(napi_env env, void *data)
{
    work *w = data;
    cellar_db *db = w->h->db;
    (void)env;
    switch (w->kind) {
    case W_GET:
        w->rc = cellar_get(db, w->k.p, w->k.n, &w->out, &w->outlen);
        break;
    case W_HAS:
        w->rc = cellar_exists(db, w->k.p, w->k.n);
        break;
    case W_PUT:
        w->rc = w->ttl ? cellar_put_ttl(db, w->k.p, w->k.n, w->v.p, w->v.n, w->ttl)
                       : cellar_put(db, w->k.p, w->k.n, w->v.p, w->v.n);
        break;
    case W_DEL:
        w->rc = cellar_delete(db, w->k.p, w->k.n);
        break;
    case W_GET_MANY:
        w->rc = cellar_get_many(db, w->n, w->keys, w->vals, w->found);
        if (w->rc != CELLAR_OK)
            memset(w->vals, 0, w->n * sizeof *w->vals); /* nothing to free */
        break;
    case W_PUT_MANY:
        w->rc = cellar_put_many(db, w->n, w->keys, w->vals);
        break;
    case W_SYNC:
        w->rc = cellar_sync(db);
        break;
    case W_CHECKPOINT:
        w->rc = cellar_checkpoint(db);
        break;
    case W_COMPACT:
        w->rc = cellar_compact(db, NULL, NULL);
        break;
    case W_BACKUP:
        w->rc = cellar_backup(db, w->path, NULL, NULL);
        break;
    case W_CHECK:
        w->rc = cellar_check(db, problems_report, NULL, &w->pl, &w->count);
        break;
    case W_TXN_GET:
        w->rc = cellar_txn_get(w->t->txn, w->k.p, w->k.n, &w->out, &w->outlen);
        break;
    case W_TXN_COMMIT:
        w->rc = cellar_txn_commit(w->t->txn);
        break;
    }
    if (!expected_rc(w->kind, w->rc))
        capture_error(&w->err, w->rc);
}

static napi_value result_value(napi_env env, work *w)
{
    switch (w->kind) {
    case W_GET:
    case W_TXN_GET:
        if (w->rc == CELLAR_ENOTFOUND)
            return js_undefined(env);
        {
            napi_value b = adopt_buffer(env, w->out, w->outlen);
            w->out = NULL;
            return b;
        }
    case W_HAS:
    case W_DEL:
        return js_bool(env, w->rc == CELLAR_OK);
    case W_GET_MANY: {
        napi_value arr = db_many_result(env, w->vals, w->found, w->n);
        return arr;
    }
    case W_CHECK:
        return problems_to_js(env, &w->pl, w->rc, w->count);
    default:
        return js_undefined(env);
    }
}

/* Back on the JS thread. */
static void complete(napi_env env, napi_status status, void *data)
{
    work *w = data;
    if (w->t) {
        w->t->busy = 0;
        if (w->kind == W_TXN_COMMIT)
            w->t->txn = NULL; /* the core freed it, committed or not */
    }
    if (status == napi_cancelled) {
        captured_error e = { CELLAR_ECANCELED, 0, "async operation canceled" };
        napi_reject_deferred(env, w->deferred, make_error(env, w->ae, &e));
    } else if (expected_rc(w->kind, w->rc)) {
        napi_value v = result_value(env, w);
        if (v)
            napi_resolve_deferred(env, w->deferred, v);
        else {
            napi_value exc = NULL;
            napi_get_and_clear_last_exception(env, &exc);
            napi_reject_deferred(env, w->deferred, exc ? exc : js_undefined(env));
        }
    } else {
        napi_reject_deferred(env, w->deferred, make_error(env, w->ae, &w->err));
    }
    db_release(env, w->h);
    napi_delete_async_work(env, w->w);
    work_free(env, w);
}

/* Allocate an item for db argument argv0; NULL with an exception pending. */
static work *work_new(napi_env env, addon_env *ae, napi_value dbv, work_kind kind)
{
    node_db *h = arg_db(env, ae, dbv, 1);
    work *w;
    if (!h)
        return NULL;
    w = calloc(1, sizeof *w);
    if (!w) {
        throw_cellar(env, ae, CELLAR_ENOMEM);
        return NULL;
    }
    w->ae = ae;
    w->kind = kind;
    w->h = h;
    if (napi_create_reference(env, dbv, 1, &w->href) != napi_ok) {
        free(w);
        return NULL;
    }
    return w;
}

/* Queue the item and hand back its promise (or throw and free it). */
static napi_value work_start(napi_env env, work *w, const char *name)
{
    napi_value promise, res_name;
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &res_name);
    if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
        napi_create_async_work(env, NULL, res_name, execute, complete, w, &w->w) != napi_ok) {
        work_free(env, w);
        return NULL;
    }
    if (napi_queue_async_work(env, w->w) != napi_ok) {
        /* The promise was never handed out: dropping it is enough. */
        napi_delete_async_work(env, w->w);
        work_free(env, w);
        return NULL;
    }
    w->h->busy++;
    if (w->t)
        w->t->busy = 1;
    return promise;
}

/* Refuse bytes over the core's limit before copying them for the pool (a
 * value over 1 GiB would be copied whole only to be refused there). */
static int over_limit(napi_env env, addon_env *ae, const bytes *b, size_t limit, const char *what)
{
    if (b->n <= limit)
        return 0;
    captured_error e = { CELLAR_ETOOBIG, 0, "" };
    snprintf(e.message, sizeof e.message, "%s of %zu bytes is over the %zu-byte limit", what, b->n,
             limit);
    napi_throw(env, make_error(env, ae, &e));
    return -1;
}

static int throw_oom(napi_env env, addon_env *ae)
{
    throw_cellar(env, ae, CELLAR_ENOMEM);
    return -1;
}

static int own_key(napi_env env, addon_env *ae, napi_value v, work *w)
{
    if (arg_key(env, ae, v, &w->k) || over_limit(env, ae, &w->k, CELLAR_MAX_KEY_SIZE, "key"))
        return -1;
    return bytes_own(&w->k) ? throw_oom(env, ae) : 0;
}

/* Every call is (db, ...) -> promise. A fill function copies the arguments
 * after argv[0] into the item: 0, or -1 with an exception pending (the item
 * is then freed). No fill: the call takes the db alone. */
typedef int (*fill_fn)(napi_env env, addon_env *ae, napi_value *argv, work *w);

#define ASYNC_MAX_ARGS 4

static napi_value async_call(napi_env env, napi_callback_info info, size_t argc, work_kind kind,
                             const char *name, fill_fn fill)
{
    napi_value argv[ASYNC_MAX_ARGS];
    addon_env *ae = get_args(env, info, argc, argv, NULL);
    work *w = ae ? work_new(env, ae, argv[0], kind) : NULL;
    if (!w)
        return NULL;
    if (fill && fill(env, ae, argv, w)) {
        work_free(env, w);
        return NULL;
    }
    return work_start(env, w, name);
}

/* getAsync / hasAsync / deleteAsync (db, key) */
static int fill_key(napi_env env, addon_env *ae, napi_value *argv, work *w)
{
    return own_key(env, ae, argv[1], w);
}

/* putAsync(db, key, value, ttlMs) */
static int fill_put(napi_env env, addon_env *ae, napi_value *argv, work *w)
{
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (own_key(env, ae, argv[1], w) ||
        (t != napi_undefined && arg_u64(env, argv[3], "ttl must be a number of ms", &w->ttl)) ||
        arg_value(env, ae, argv[2], 0, &w->v) ||
        over_limit(env, ae, &w->v, CELLAR_MAX_VALUE_SIZE, "value"))
        return -1;
    return bytes_own(&w->v) ? throw_oom(env, ae) : 0;
}

static int own_slices(bytes *hold, cellar_slice *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (bytes_own(&hold[i]))
            return -1;
        s[i].data = hold[i].p;
    }
    return 0;
}

static int slices_over_limit(napi_env env, addon_env *ae, const bytes *hold, uint32_t n,
                             size_t limit, const char *what)
{
    for (uint32_t i = 0; i < n; i++)
        if (over_limit(env, ae, &hold[i], limit, what))
            return -1;
    return 0;
}

/* getManyAsync(db, keys[]) */
static int fill_get_many(napi_env env, addon_env *ae, napi_value *argv, work *w)
{
    if (db_collect_slices(env, ae, argv[1], 0, &w->keys, &w->kh, &w->n) ||
        slices_over_limit(env, ae, w->kh, w->n, CELLAR_MAX_KEY_SIZE, "key"))
        return -1;
    w->vals = calloc(w->n ? w->n : 1, sizeof *w->vals);
    w->found = calloc(w->n ? w->n : 1, 1);
    if (!w->vals || !w->found || own_slices(w->kh, w->keys, w->n))
        return throw_oom(env, ae);
    return 0;
}

/* putManyAsync(db, keys[], values[]) */
static int fill_put_many(napi_env env, addon_env *ae, napi_value *argv, work *w)
{
    uint32_t m = 0;
    if (db_collect_slices(env, ae, argv[1], 0, &w->keys, &w->kh, &w->n))
        return -1;
    if (db_collect_slices(env, ae, argv[2], 1, &w->vals, &w->vh, &m)) {
        w->vals = NULL;
        return -1;
    }
    if (m != w->n) {
        db_free_slices(w->vh, w->vals, m);
        w->vals = NULL;
        throw_type(env, "keys and values differ in length");
        return -1;
    }
    if (slices_over_limit(env, ae, w->kh, w->n, CELLAR_MAX_KEY_SIZE, "key") ||
        slices_over_limit(env, ae, w->vh, w->n, CELLAR_MAX_VALUE_SIZE, "value"))
        return -1;
    if (own_slices(w->kh, w->keys, w->n) || own_slices(w->vh, w->vals, w->n))
        return throw_oom(env, ae);
    return 0;
}

/* backupAsync(db, dest) */
static int fill_path(napi_env env, addon_env *ae, napi_value *argv, work *w)
{
    (void)ae;
    return arg_string(env, argv[1], "path must be a string", &w->path);
}

/* txnGetAsync(db, txn, key) / txnCommitAsync(db, txn) */
static int fill_txn(napi_env env, addon_env *ae, napi_value *argv, work *w)
{
    if (!(w->t = arg_txn(env, ae, argv[1])) ||
        napi_create_reference(env, argv[1], 1, &w->tref) != napi_ok ||
        (w->kind == W_TXN_GET && own_key(env, ae, argv[2], w))) {
        w->t = NULL;
        return -1;
    }
    return 0;
}

/* One exported function per call: its argument count, kind, async resource
 * name and fill function. */
#define ASYNC_FN(fn, argc, kind, name, fill)                                   \
    static napi_value fn(napi_env env, napi_callback_info info)               \
    {                                                                          \
        return async_call(env, info, argc, kind, name, fill);                  \
    }

ASYNC_FN(fn_get, 2, W_GET, "cellardb.get", fill_key)
ASYNC_FN(fn_has, 2, W_HAS, "cellardb.has", fill_key)
ASYNC_FN(fn_del, 2, W_DEL, "cellardb.delete", fill_key)
ASYNC_FN(fn_put, 4, W_PUT, "cellardb.put", fill_put)
ASYNC_FN(fn_get_many, 2, W_GET_MANY, "cellardb.getMany", fill_get_many)
ASYNC_FN(fn_put_many, 3, W_PUT_MANY, "cellardb.putMany", fill_put_many)
ASYNC_FN(fn_sync, 1, W_SYNC, "cellardb.sync", NULL)
ASYNC_FN(fn_checkpoint, 1, W_CHECKPOINT, "cellardb.checkpoint", NULL)
ASYNC_FN(fn_compact, 1, W_COMPACT, "cellardb.compact", NULL)
ASYNC_FN(fn_check, 1, W_CHECK, "cellardb.check", NULL)
ASYNC_FN(fn_backup, 2, W_BACKUP, "cellardb.backup", fill_path)
ASYNC_FN(fn_txn_get, 3, W_TXN_GET, "cellardb.txnGet", fill_txn)
ASYNC_FN(fn_txn_commit, 3, W_TXN_COMMIT, "cellardb.txnCommit", fill_txn)

#undef ASYNC_FN

void register_async(napi_env env, napi_value exports, addon_env *ae)
{
    export_fn(env, exports, ae, "getAsync", fn_get);
    export_fn(env, exports, ae, "hasAsync", fn_has);
    export_fn(env, exports, ae, "putAsync", fn_put);
    export_fn(env, exports, ae, "delAsync", fn_del);
    export_fn(env, exports, ae, "getManyAsync", fn_get_many);
    export_fn(env, exports, ae, "putManyAsync", fn_put_many);
    export_fn(env, exports, ae, "syncAsync", fn_sync);
    export_fn(env, exports, ae, "checkpointAsync", fn_checkpoint);
    export_fn(env, exports, ae, "compactAsync", fn_compact);
    export_fn(env, exports, ae, "backupAsync", fn_backup);
    export_fn(env, exports, ae, "checkAsync", fn_check);
    export_fn(env, exports, ae, "txnGetAsync", fn_txn_get);
    export_fn(env, exports, ae, "txnCommitAsync", fn_txn_commit);
}
