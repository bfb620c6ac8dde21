/*
 * txn.c - transactions.
 *
 * txnBegin() returns an external owning a node_txn. Commit and abort free the
 * core's transaction (on success and failure alike), after which every call
 * throws CELLAR_ECLOSED. A transaction the program dropped without either is
 * aborted by the finalizer. While an async commit or read of it runs on the
 * pool (busy), synchronous calls on it throw CELLAR_EBUSY: a cellar_txn is
 * used by one thread at a time.
 *
 * If its database was closed, the core has made the transaction dead: calls
 * return CELLAR_ECLOSED and abort still frees it, so the order in which the
 * garbage collector finalizes a db and its transactions does not matter.
 */
#include "addon.h"

#include <stdlib.h>
#include <string.h>

static void txn_finalize(napi_env env, void *data, void *hint)
{
    node_txn *t = data;
    (void)hint;
    if (t->busy)
        return; /* environment teardown with a commit in the pool: leave it */
    if (t->href)
        napi_delete_reference(env, t->href);
    cellar_txn_abort(t->txn);
    t->magic = 0;
    free(t);
}

static void *throw_busy(napi_env env, addon_env *ae)
{
    captured_error e = { CELLAR_EBUSY, 0, "transaction is busy with an async call" };
    napi_throw(env, make_error(env, ae, &e));
    return NULL;
}

/* The node_txn of external v (open or not); NULL with a TypeError thrown. */
static node_txn *txn_external(napi_env env, napi_value v)
{
    void *p = NULL;
    if (napi_get_value_external(env, v, &p) != napi_ok || !p ||
        ((node_txn *)p)->magic != NODE_TXN_MAGIC) {
        throw_type(env, "not a cellardb transaction handle");
        return NULL;
    }
    return p;
}

node_txn *arg_txn(napi_env env, addon_env *ae, napi_value v)
{
    node_txn *t = txn_external(env, v);
    if (!t)
        return NULL;
    if (!t->txn) {
        throw_closed(env, ae, "transaction");
        return NULL;
    }
    /* close() with async calls still running leaves the core handle open
     * until they finish: the transaction is dead for JS from close() on. */
    if (t->h && (!t->h->db || t->h->closing)) {
        throw_closed(env, ae, "database");
        return NULL;
    }
    if (t->busy)
        return throw_busy(env, ae);
    return t;
}

/* txnBegin(db, readOnly) */
static napi_value fn_begin(napi_env env, napi_callback_info info)
{
    napi_value argv[2], ext;
    addon_env *ae;
    node_db *h = db_args(env, info, 2, argv, &ae, 1);
    bool rdonly = false;
    node_txn *t;
    int rc;
    if (!h)
        return NULL;
    napi_get_value_bool(env, argv[1], &rdonly);
    t = calloc(1, sizeof *t);
    if (!t)
        return throw_cellar(env, ae, CELLAR_ENOMEM);
    t->magic = NODE_TXN_MAGIC;
    rc = cellar_txn_begin(&t->txn, h->db, rdonly ? CELLAR_RDONLY : 0);
    if (rc != CELLAR_OK) {
        free(t);
        return throw_cellar(env, ae, rc);
    }
    if (napi_create_reference(env, argv[0], 1, &t->href) != napi_ok) {
        cellar_txn_abort(t->txn);
        free(t);
        return NULL;
    }
    t->h = h;
    if (napi_create_external(env, t, txn_finalize, NULL, &ext) != napi_ok) {
        napi_delete_reference(env, t->href);
        cellar_txn_abort(t->txn);
        free(t);
        return NULL;
    }
    return ext;
}

/* ---- the transaction as a key_target (the calls are in db.c) ---- */

static void *txn_enter(napi_env env, addon_env *ae, napi_value v)
{
    node_txn *t = arg_txn(env, ae, v);
    return t ? t->txn : NULL;
}

static int txn_exists(void *c, const void *k, size_t kn)
{
    return cellar_txn_exists(c, k, kn);
}

static int txn_put(void *c, const void *k, size_t kn, const void *v, size_t vn, uint64_t ttl)
{
    return ttl ? cellar_txn_put_ttl(c, k, kn, v, vn, ttl) : cellar_txn_put(c, k, kn, v, vn);
}

static int txn_del(void *c, const void *k, size_t kn)
{
    return cellar_txn_delete(c, k, kn);
}

static const key_target txn_target = { txn_enter, txn_exists, txn_put, txn_del };

/* txnGet(txn, key) -> undefined | length in vbuf | Buffer (as db get) */
static napi_value fn_get(napi_env env, napi_callback_info info)
{
    napi_value argv[2];
    addon_env *ae;
    void *c, *val;
    size_t len;
    bytes k;
    int rc;
    if (key_args(env, info, &txn_target, 2, argv, &ae, &c, &k))
        return NULL;
    rc = cellar_txn_get(c, k.p, k.n, &val, &len);
    bytes_free(&k);
    if (rc == CELLAR_ENOTFOUND)
        return js_undefined(env);
    if (rc != CELLAR_OK)
        return throw_cellar(env, ae, rc);
    if (len <= ae->vcap) {
        if (len)
            memcpy(ae->vbuf, val, len);
        cellar_free(val);
        return js_number(env, (double)len);
    }
    return adopt_buffer(env, val, len);
}

static napi_value fn_has(napi_env env, napi_callback_info info)
{
    return key_has(env, info, &txn_target);
}

/* txnPut(txn, key, value, ttlMs) */
static napi_value fn_put(napi_env env, napi_callback_info info)
{
    return key_put(env, info, &txn_target);
}

static napi_value fn_del(napi_env env, napi_callback_info info)
{
    return key_del(env, info, &txn_target);
}

static napi_value fn_commit(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    addon_env *ae = get_args(env, info, 1, argv, NULL);
    node_txn *t = ae ? arg_txn(env, ae, argv[0]) : NULL;
    int rc;
    if (!t)
        return NULL;
    rc = cellar_txn_commit(t->txn);
    t->txn = NULL;
    return rc == CELLAR_OK ? js_undefined(env) : throw_cellar(env, ae, rc);
}

/* txnAbort(txn): no-op when already finished. */
static napi_value fn_abort(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    addon_env *ae = get_args(env, info, 1, argv, NULL);
    node_txn *t = ae ? txn_external(env, argv[0]) : NULL;
    if (!t)
        return NULL;
    if (t->busy)
        return throw_busy(env, ae);
    cellar_txn_abort(t->txn);
    t->txn = NULL;
    return js_undefined(env);
}

void register_txn(napi_env env, napi_value exports, addon_env *ae)
{
    export_fn(env, exports, ae, "txnBegin", fn_begin);
    export_fn(env, exports, ae, "txnGet", fn_get);
    export_fn(env, exports, ae, "txnHas", fn_has);
    export_fn(env, exports, ae, "txnPut", fn_put);
    export_fn(env, exports, ae, "txnDel", fn_del);
    export_fn(env, exports, ae, "txnCommit", fn_commit);
    export_fn(env, exports, ae, "txnAbort", fn_abort);
}
