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

node_txn *arg_txn(napi_env env, addon_env *ae, napi_value v)
{
    void *p = NULL;
    node_txn *t;
    if (napi_get_value_external(env, v, &p) != napi_ok || !p ||
        ((node_txn *)p)->magic != NODE_TXN_MAGIC) {
        throw_type(env, "not a cellardb transaction handle");
        return NULL;
    }
    t = p;
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
    if (t->busy) {
        captured_error e = { CELLAR_EBUSY, 0, "transaction is busy with an async call" };
        napi_throw(env, make_error(env, ae, &e));
        return NULL;
    }
    return t;
}

/* txnBegin(db, readOnly) */
static napi_value fn_begin(napi_env env, napi_callback_info info)
{
    napi_value argv[2], ext;
    addon_env *ae = get_args(env, info, 2, argv, NULL);
    node_db *h = ae ? arg_db(env, ae, argv[0], 1) : NULL;
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

#define TXN_KEY_PROLOGUE(n)                                                    \
    napi_value argv[n];                                                        \
    addon_env *ae = get_args(env, info, n, argv, NULL);                        \
    node_txn *t;                                                               \
    bytes k;                                                                   \
    int rc;                                                                    \
    if (!ae || !(t = arg_txn(env, ae, argv[0])) || arg_key(env, ae, argv[1], &k)) \
        return NULL

/* txnGet(txn, key) -> undefined | length in vbuf | Buffer (as db get) */
static napi_value fn_get(napi_env env, napi_callback_info info)
{
    void *val;
    size_t len;
    TXN_KEY_PROLOGUE(2);
    rc = cellar_txn_get(t->txn, k.p, k.n, &val, &len);
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
    TXN_KEY_PROLOGUE(2);
    rc = cellar_txn_exists(t->txn, k.p, k.n);
    bytes_free(&k);
    if (rc == CELLAR_OK || rc == CELLAR_ENOTFOUND)
        return js_bool(env, rc == CELLAR_OK);
    return throw_cellar(env, ae, rc);
}

/* txnPut(txn, key, value, ttlMs) */
static napi_value fn_put(napi_env env, napi_callback_info info)
{
    bytes v;
    uint64_t ttl = 0;
    napi_valuetype ty;
    TXN_KEY_PROLOGUE(4);
    napi_typeof(env, argv[3], &ty);
    if ((ty != napi_undefined && arg_u64(env, argv[3], "ttl must be a number of ms", &ttl)) ||
        arg_value(env, ae, argv[2], 0, &v)) {
        bytes_free(&k);
        return NULL;
    }
    rc = ttl ? cellar_txn_put_ttl(t->txn, k.p, k.n, v.p, v.n, ttl)
             : cellar_txn_put(t->txn, k.p, k.n, v.p, v.n);
    bytes_free(&k);
    bytes_free(&v);
    return rc == CELLAR_OK ? js_undefined(env) : throw_cellar(env, ae, rc);
}

static napi_value fn_del(napi_env env, napi_callback_info info)
{
    TXN_KEY_PROLOGUE(2);
    rc = cellar_txn_delete(t->txn, k.p, k.n);
    bytes_free(&k);
    if (rc == CELLAR_OK || rc == CELLAR_ENOTFOUND)
        return js_bool(env, rc == CELLAR_OK);
    return throw_cellar(env, ae, rc);
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
    void *p = NULL;
    node_txn *t;
    if (!ae)
        return NULL;
    if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p ||
        ((node_txn *)p)->magic != NODE_TXN_MAGIC)
        return throw_type(env, "not a cellardb transaction handle");
    t = p;
    if (t->busy) {
        captured_error e = { CELLAR_EBUSY, 0, "transaction is busy with an async call" };
        napi_throw(env, make_error(env, ae, &e));
        return NULL;
    }
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
