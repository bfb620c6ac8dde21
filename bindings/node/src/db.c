/*
 * db.c - opening and closing, and the synchronous single operations.
 *
 * Lifetime: open() returns an external owning a node_db. close() closes the
 * cellar_db at once, unless async work items are still running on it; then
 * the handle only reads as closed and the last item to finish closes it
 * (cellar_close must not race other calls on the handle). A handle the
 * program forgot is closed by the external's finalizer when it is collected.
 *
 * get() answers in one of three shapes, to spare the common case any napi
 * object: undefined (absent), a number n (the value is vbuf[0..n)), or a
 * Buffer (the value was larger than vbuf).
 */
#include "addon.h"

#include <stdlib.h>
#include <string.h>

static void drop_clock(napi_env env, node_db *h)
{
    if (h->clock_ref)
        napi_delete_reference(env, h->clock_ref);
    h->clock_ref = NULL;
    h->clock = NULL;
}

static int close_handle(napi_env env, node_db *h)
{
    int rc = cellar_close(h->db);
    h->db = NULL;
    drop_clock(env, h);
    return rc;
}

static void db_finalize(napi_env env, void *data, void *hint)
{
    node_db *h = data;
    (void)hint;
    /* busy > 0 only at environment teardown with work still in the pool:
     * leave the handle to the process exit rather than race the worker. */
    if (h->busy)
        return;
    if (h->db)
        close_handle(env, h);
    drop_clock(env, h);
    h->magic = 0;
    free(h);
}

static uint64_t fake_clock(void *payload)
{
    const volatile double *now = payload;
    double ms = *now;
    return ms > 0 ? (uint64_t)ms : 0;
}

/* The optional clock argument: undefined or a Float64Array of length >= 1. */
static int arg_clock(napi_env env, napi_value v, node_db *h)
{
    napi_valuetype t;
    napi_typedarray_type tt;
    bool is = false;
    size_t len = 0;
    void *data = NULL;
    napi_typeof(env, v, &t);
    if (t == napi_undefined || t == napi_null)
        return 0;
    napi_is_typedarray(env, v, &is);
    if (!is || napi_get_typedarray_info(env, v, &tt, &len, &data, NULL, NULL) != napi_ok ||
        tt != napi_float64_array || len < 1) {
        throw_type(env, "clock must be a Float64Array holding the time in ms");
        return -1;
    }
    if (napi_create_reference(env, v, 1, &h->clock_ref) != napi_ok)
        return -1;
    h->clock = data;
    return 0;
}

node_db *arg_db(napi_env env, addon_env *ae, napi_value v, int need_open)
{
    void *p = NULL;
    node_db *h;
    if (napi_get_value_external(env, v, &p) != napi_ok || !p ||
        ((node_db *)p)->magic != NODE_DB_MAGIC) {
        throw_type(env, "not a cellardb database handle");
        return NULL;
    }
    h = p;
    if (need_open && (!h->db || h->closing)) {
        throw_closed(env, ae, "database");
        return NULL;
    }
    return h;
}

node_db *db_args(napi_env env, napi_callback_info info, size_t max, napi_value *argv,
                 addon_env **ae, int need_open)
{
    *ae = get_args(env, info, max, argv, NULL);
    return *ae ? arg_db(env, *ae, argv[0], need_open) : NULL;
}

void db_release(napi_env env, node_db *h)
{
    if (h->busy)
        h->busy--;
    if (!h->busy && h->closing && h->db)
        close_handle(env, h);
}

/* open(path, flags, cacheSize, pageSize, sync, lockTimeoutMs, mode, clock) */
static napi_value fn_open(napi_env env, napi_callback_info info)
{
    napi_value argv[8], ext;
    addon_env *ae = get_args(env, info, 8, argv, NULL);
    cellar_options opts = CELLAR_OPTIONS_INIT;
    uint32_t flags = 0, page = 0, mode = 0;
    int32_t sync = 0, lock = 0;
    uint64_t cache = 0;
    char *path = NULL;
    node_db *h;
    int rc;
    if (!ae || arg_string(env, argv[0], "path must be a string", &path))
        return NULL;
    if (napi_get_value_uint32(env, argv[1], &flags) != napi_ok ||
        arg_u64(env, argv[2], "cacheSize must be a number", &cache) ||
        napi_get_value_uint32(env, argv[3], &page) != napi_ok ||
        napi_get_value_int32(env, argv[4], &sync) != napi_ok ||
        napi_get_value_int32(env, argv[5], &lock) != napi_ok ||
        napi_get_value_uint32(env, argv[6], &mode) != napi_ok) {
        free(path);
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        return pending ? NULL : throw_type(env, "bad open() arguments");
    }
    opts.flags = flags;
    opts.cache_size = (size_t)cache;
    opts.page_size = page;
    opts.sync = sync;
    opts.lock_timeout_ms = lock;
    opts.mode = mode;
    h = calloc(1, sizeof *h);
    if (!h) {
        free(path);
        return throw_cellar(env, ae, CELLAR_ENOMEM);
    }
    h->magic = NODE_DB_MAGIC;
    if (arg_clock(env, argv[7], h)) {
        free(path);
        free(h);
        return NULL;
    }
    if (h->clock) {
        opts.clock = fake_clock;
        opts.clock_payload = (void *)h->clock;
    }
    rc = cellar_open(&h->db, path, &opts);
    free(path);
    if (rc != CELLAR_OK) {
        drop_clock(env, h);
        free(h);
        return throw_cellar(env, ae, rc);
    }
    if (napi_create_external(env, h, db_finalize, NULL, &ext) != napi_ok) {
        close_handle(env, h);
        free(h);
        return NULL;
    }
    return ext;
}

static napi_value fn_close(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    addon_env *ae;
    node_db *h = db_args(env, info, 1, argv, &ae, 0);
    int rc;
    if (!h)
        return NULL;
    if (!h->db || h->closing)
        return js_undefined(env); /* closing twice is a no-op */
    h->closing = 1;
    if (h->busy)
        return js_undefined(env); /* the last async item closes it */
    rc = close_handle(env, h);
    if (rc != CELLAR_OK)
        return throw_cellar(env, ae, rc);
    return js_undefined(env);
}

static napi_value fn_is_open(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    addon_env *ae;
    node_db *h = db_args(env, info, 1, argv, &ae, 0);
    if (!h)
        return NULL;
    return js_bool(env, h->db && !h->closing);
}

/* ---- key operations, shared with transactions (txn.c) ---- */

int key_args(napi_env env, napi_callback_info info, const key_target *tg, size_t max,
             napi_value *argv, addon_env **ae, void **c, bytes *k)
{
    *ae = get_args(env, info, max, argv, NULL);
    if (!*ae || !(*c = tg->enter(env, *ae, argv[0])) || arg_key(env, *ae, argv[1], k))
        return -1;
    return 0;
}

/* rc as a boolean answer: true for CELLAR_OK, false for `no`, else thrown. */
static napi_value bool_result(napi_env env, addon_env *ae, int rc, int no)
{
    if (rc == CELLAR_OK || rc == no)
        return js_bool(env, rc == CELLAR_OK);
    return throw_cellar(env, ae, rc);
}

typedef int (*key_fn)(void *c, const void *k, size_t kn);

/* op(target, key) -> true, or false when the key is absent */
static napi_value key_bool(napi_env env, napi_callback_info info, const key_target *tg, key_fn op)
{
    napi_value argv[2];
    addon_env *ae;
    void *c;
    bytes k;
    int rc;
    if (key_args(env, info, tg, 2, argv, &ae, &c, &k))
        return NULL;
    rc = op(c, k.p, k.n);
    bytes_free(&k);
    return bool_result(env, ae, rc, CELLAR_ENOTFOUND);
}

napi_value key_has(napi_env env, napi_callback_info info, const key_target *tg)
{
    return key_bool(env, info, tg, tg->exists);
}

napi_value key_del(napi_env env, napi_callback_info info, const key_target *tg)
{
    return key_bool(env, info, tg, tg->del);
}

napi_value key_put(napi_env env, napi_callback_info info, const key_target *tg)
{
    napi_value argv[4];
    addon_env *ae;
    void *c;
    bytes k, v;
    uint64_t ttl = 0;
    napi_valuetype t;
    int rc;
    if (key_args(env, info, tg, 4, argv, &ae, &c, &k))
        return NULL;
    napi_typeof(env, argv[3], &t);
    if ((t != napi_undefined && arg_u64(env, argv[3], "ttl must be a number of ms", &ttl)) ||
        arg_value(env, ae, argv[2], 0, &v)) {
        bytes_free(&k);
        return NULL;
    }
    rc = tg->put(c, k.p, k.n, v.p, v.n, ttl);
    bytes_free(&k);
    bytes_free(&v);
    return rc == CELLAR_OK ? js_undefined(env) : throw_cellar(env, ae, rc);
}

/* ---- the database as a key_target ---- */

static void *db_enter(napi_env env, addon_env *ae, napi_value v)
{
    node_db *h = arg_db(env, ae, v, 1);
    return h ? h->db : NULL;
}

static int db_exists(void *c, const void *k, size_t kn)
{
    return cellar_exists(c, k, kn);
}

static int db_put(void *c, const void *k, size_t kn, const void *v, size_t vn, uint64_t ttl)
{
    return ttl ? cellar_put_ttl(c, k, kn, v, vn, ttl) : cellar_put(c, k, kn, v, vn);
}

static int db_del(void *c, const void *k, size_t kn)
{
    return cellar_delete(c, k, kn);
}

static int db_persist(void *c, const void *k, size_t kn)
{
    return cellar_persist(c, k, kn);
}

static const key_target db_target = { db_enter, db_exists, db_put, db_del };

/* Common prologue of the calls below: db handle (open, in c) and key. */
#define DB_KEY_PROLOGUE(n)                                                     \
    napi_value argv[n];                                                        \
    addon_env *ae;                                                             \
    void *c;                                                                   \
    bytes k;                                                                   \
    int rc;                                                                    \
    if (key_args(env, info, &db_target, n, argv, &ae, &c, &k))                 \
        return NULL

typedef struct visit_ctx {
    uint8_t *buf;
    size_t cap, len;
    int too_big;
} visit_ctx;

static int visit_copy(const void *val, size_t len, void *payload)
{
    visit_ctx *c = payload;
    c->len = len;
    if (len > c->cap) {
        c->too_big = 1;
        return CELLAR_OK;
    }
    if (len)
        memcpy(c->buf, val, len);
    return CELLAR_OK;
}

/* Read into vbuf (number result) or, for large values, a fresh Buffer. */
static napi_value get_result(napi_env env, addon_env *ae, cellar_db *db, bytes *k)
{
    visit_ctx c = { ae->vbuf, ae->vcap, 0, 0 };
    int rc = cellar_get_visit(db, k->p, k->n, visit_copy, &c);
    if (rc == CELLAR_OK && c.too_big) {
        void *val;
        size_t len;
        rc = cellar_get(db, k->p, k->n, &val, &len);
        if (rc == CELLAR_OK)
            return adopt_buffer(env, val, len);
    }
    if (rc == CELLAR_OK)
        return js_number(env, (double)c.len);
    if (rc == CELLAR_ENOTFOUND)
        return js_undefined(env);
    return throw_cellar(env, ae, rc);
}

static napi_value fn_get(napi_env env, napi_callback_info info)
{
    napi_value out;
    DB_KEY_PROLOGUE(2);
    (void)rc;
    out = get_result(env, ae, c, &k);
    bytes_free(&k);
    return out;
}

static napi_value fn_has(napi_env env, napi_callback_info info)
{
    return key_has(env, info, &db_target);
}

/* put(db, key, value, ttlMs) */
static napi_value fn_put(napi_env env, napi_callback_info info)
{
    return key_put(env, info, &db_target);
}

static napi_value fn_del(napi_env env, napi_callback_info info)
{
    return key_del(env, info, &db_target);
}

/* incr(db, key, delta) -> new value (number, or BigInt past 2^53) */
static napi_value fn_incr(napi_env env, napi_callback_info info)
{
    int64_t delta, out = 0;
    DB_KEY_PROLOGUE(3);
    if (arg_i64(env, argv[2], "delta must be an integer", &delta)) {
        bytes_free(&k);
        return NULL;
    }
    rc = cellar_incr(c, k.p, k.n, delta, &out);
    bytes_free(&k);
    if (rc != CELLAR_OK)
        return throw_cellar(env, ae, rc);
    return make_int64(env, out);
}

/* cas(db, key, expected|null, value|null) -> swapped? */
static napi_value fn_cas(napi_env env, napi_callback_info info)
{
    bytes e, v;
    DB_KEY_PROLOGUE(4);
    if (arg_value(env, ae, argv[2], 1, &e)) {
        bytes_free(&k);
        return NULL;
    }
    if (arg_value(env, ae, argv[3], 1, &v)) {
        bytes_free(&k);
        bytes_free(&e);
        return NULL;
    }
    /* null/undefined expected = "absent"; an empty Buffer is "" (non-NULL). */
    rc = cellar_cas(c, k.p, k.n, e.p, e.n, v.p, v.n);
    bytes_free(&k);
    bytes_free(&e);
    bytes_free(&v);
    return bool_result(env, ae, rc, CELLAR_EMISMATCH);
}

static napi_value fn_expire(napi_env env, napi_callback_info info)
{
    uint64_t ms;
    DB_KEY_PROLOGUE(3);
    if (arg_u64(env, argv[2], "ttl must be a number of ms", &ms)) {
        bytes_free(&k);
        return NULL;
    }
    rc = cellar_expire(c, k.p, k.n, ms);
    bytes_free(&k);
    return bool_result(env, ae, rc, CELLAR_ENOTFOUND);
}

/* ttl(db, key) -> ms left, -1 without TTL, undefined if absent */
static napi_value fn_ttl(napi_env env, napi_callback_info info)
{
    int64_t out = 0;
    DB_KEY_PROLOGUE(2);
    rc = cellar_ttl(c, k.p, k.n, &out);
    bytes_free(&k);
    if (rc == CELLAR_ENOTFOUND)
        return js_undefined(env);
    if (rc != CELLAR_OK)
        return throw_cellar(env, ae, rc);
    return make_int64(env, out);
}

static napi_value fn_persist(napi_env env, napi_callback_info info)
{
    return key_bool(env, info, &db_target, db_persist);
}

static napi_value fn_count(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    addon_env *ae;
    node_db *h = db_args(env, info, 1, argv, &ae, 1);
    uint64_t n = 0;
    int rc;
    if (!h)
        return NULL;
    rc = cellar_count(h->db, &n);
    if (rc != CELLAR_OK)
        return throw_cellar(env, ae, rc);
    return make_uint64(env, n);
}

/* ---- batches ---- */

/* Read `arr` (an Array) into n slices; each element a key/value argument
 * (numbers are not accepted here: the scratch buffer holds one item). */
static int arg_slices(napi_env env, addon_env *ae, napi_value arr, int values,
                      cellar_slice **out, bytes **hold, uint32_t *n)
{
    bool is = false;
    napi_is_array(env, arr, &is);
    if (!is) {
        throw_type(env, values ? "values must be an array" : "keys must be an array");
        return -1;
    }
    napi_get_array_length(env, arr, n);
    *out = calloc(*n ? *n : 1, sizeof **out);
    *hold = calloc(*n ? *n : 1, sizeof **hold);
    if (!*out || !*hold) {
        free(*out);
        free(*hold);
        *out = NULL; /* the caller's cleanup frees them again otherwise */
        *hold = NULL;
        throw_cellar(env, ae, CELLAR_ENOMEM);
        return -1;
    }
    for (uint32_t i = 0; i < *n; i++) {
        napi_value el;
        napi_valuetype t;
        int r;
        napi_get_element(env, arr, i, &el);
        napi_typeof(env, el, &t);
        if (t == napi_number) {
            throw_type(env, values ? "value must be a string, Buffer or Uint8Array"
                                   : "key must be a string, Buffer or Uint8Array");
            r = -1;
        } else {
            r = values ? arg_value(env, ae, el, 0, &(*hold)[i]) : arg_key(env, ae, el, &(*hold)[i]);
        }
        if (r) {
            for (uint32_t j = 0; j < i; j++)
                bytes_free(&(*hold)[j]);
            free(*out);
            free(*hold);
            *out = NULL;
            *hold = NULL;
            return -1;
        }
        (*out)[i].data = (*hold)[i].p;
        (*out)[i].len = (*hold)[i].n;
    }
    return 0;
}

static void slices_free(bytes *hold, cellar_slice *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        bytes_free(&hold[i]);
    free(hold);
    free(s);
}

/* Exposed to async.c through these two. */
int db_collect_slices(napi_env env, addon_env *ae, napi_value arr, int values,
                      cellar_slice **out, bytes **hold, uint32_t *n)
{
    return arg_slices(env, ae, arr, values, out, hold, n);
}

void db_free_slices(bytes *hold, cellar_slice *s, uint32_t n)
{
    slices_free(hold, s, n);
}

napi_value db_many_result(napi_env env, cellar_slice *vals, unsigned char *found, uint32_t n)
{
    napi_value arr;
    napi_create_array_with_length(env, n, &arr);
    for (uint32_t i = 0; i < n; i++) {
        napi_value v = found[i] ? make_buffer(env, vals[i].data, vals[i].len) : js_undefined(env);
        cellar_free((void *)vals[i].data);
        vals[i].data = NULL;
        if (v)
            napi_set_element(env, arr, i, v);
    }
    return arr;
}

/* getMany(db, keys[]) -> (Buffer|undefined)[] */
static napi_value fn_get_many(napi_env env, napi_callback_info info)
{
    napi_value argv[2], out;
    addon_env *ae;
    node_db *h = db_args(env, info, 2, argv, &ae, 1);
    cellar_slice *keys, *vals;
    unsigned char *found;
    bytes *hold;
    uint32_t n;
    int rc;
    if (!h || arg_slices(env, ae, argv[1], 0, &keys, &hold, &n))
        return NULL;
    vals = calloc(n ? n : 1, sizeof *vals);
    found = calloc(n ? n : 1, 1);
    if (!vals || !found) {
        free(vals);
        free(found);
        slices_free(hold, keys, n);
        return throw_cellar(env, ae, CELLAR_ENOMEM);
    }
    rc = cellar_get_many(h->db, n, keys, vals, found);
    slices_free(hold, keys, n);
    out = rc == CELLAR_OK ? db_many_result(env, vals, found, n) : throw_cellar(env, ae, rc);
    free(vals);
    free(found);
    return out;
}

/* putMany(db, keys[], values[]) */
static napi_value fn_put_many(napi_env env, napi_callback_info info)
{
    napi_value argv[3];
    addon_env *ae;
    node_db *h = db_args(env, info, 3, argv, &ae, 1);
    cellar_slice *keys, *vals;
    bytes *kh, *vh;
    uint32_t n, m;
    int rc;
    if (!h || arg_slices(env, ae, argv[1], 0, &keys, &kh, &n))
        return NULL;
    if (arg_slices(env, ae, argv[2], 1, &vals, &vh, &m)) {
        slices_free(kh, keys, n);
        return NULL;
    }
    if (n != m) {
        slices_free(kh, keys, n);
        slices_free(vh, vals, m);
        return throw_type(env, "keys and values differ in length");
    }
    rc = cellar_put_many(h->db, n, keys, vals);
    slices_free(kh, keys, n);
    slices_free(vh, vals, m);
    if (rc != CELLAR_OK)
        return throw_cellar(env, ae, rc);
    return js_undefined(env);
}

void register_db(napi_env env, napi_value exports, addon_env *ae)
{
    export_fn(env, exports, ae, "open", fn_open);
    export_fn(env, exports, ae, "close", fn_close);
    export_fn(env, exports, ae, "isOpen", fn_is_open);
    export_fn(env, exports, ae, "get", fn_get);
    export_fn(env, exports, ae, "has", fn_has);
    export_fn(env, exports, ae, "put", fn_put);
    export_fn(env, exports, ae, "del", fn_del);
    export_fn(env, exports, ae, "incr", fn_incr);
    export_fn(env, exports, ae, "cas", fn_cas);
    export_fn(env, exports, ae, "expire", fn_expire);
    export_fn(env, exports, ae, "ttl", fn_ttl);
    export_fn(env, exports, ae, "persist", fn_persist);
    export_fn(env, exports, ae, "count", fn_count);
    export_fn(env, exports, ae, "getMany", fn_get_many);
    export_fn(env, exports, ae, "putMany", fn_put_many);
}
