/*
 * iter.c - iterators, streamed to JS in batches.
 *
 * iterNext(it, what) packs as many records as fit into the shared vbuf and
 * answers how many (0 at the end). One record, little-endian:
 *
 *   offset  size  field
 *   0       4     key length k (0 when keys were not asked for)
 *   4       4     value length v (0 when values were not asked for)
 *   8       k     key bytes
 *   8+k     v     value bytes
 *
 * `what`: 1 keys, 2 values, 3 both. A record too large for an empty vbuf is
 * answered alone as [key, value] (Buffers, or undefined for the half not
 * asked for). A record that does not fit after others waits in the node_iter
 * (its pointers stay valid until the next cellar_iter_next) for the next
 * batch. The JS layer decodes the whole batch before running user code, so
 * user code may call into the db (and reuse vbuf) while iterating.
 *
 * Memory stays bounded by vbuf whatever the size of the database.
 */
#include "addon.h"

#include <stdlib.h>
#include <string.h>

static void iter_finalize(napi_env env, void *data, void *hint)
{
    node_iter *n = data;
    (void)hint;
    if (n->href)
        napi_delete_reference(env, n->href);
    cellar_iter_close(n->it);
    n->magic = 0;
    free(n);
}

static node_iter *arg_iter(napi_env env, addon_env *ae, napi_value v, int need_open)
{
    void *p = NULL;
    if (napi_get_value_external(env, v, &p) != napi_ok || !p ||
        ((node_iter *)p)->magic != NODE_ITER_MAGIC) {
        throw_type(env, "not a cellardb iterator handle");
        return NULL;
    }
    if (need_open && !((node_iter *)p)->it) {
        throw_closed(env, ae, "iterator");
        return NULL;
    }
    /* close() with async calls still running leaves the core handle open
     * until they finish: the iterator is dead for JS from close() on. */
    node_db *h = ((node_iter *)p)->h;
    if (need_open && h && (!h->db || h->closing)) {
        throw_closed(env, ae, "database");
        return NULL;
    }
    return p;
}

static napi_value fn_open(napi_env env, napi_callback_info info)
{
    napi_value argv[1], ext;
    addon_env *ae = get_args(env, info, 1, argv, NULL);
    node_db *h = ae ? arg_db(env, ae, argv[0], 1) : NULL;
    node_iter *n;
    int rc;
    if (!h)
        return NULL;
    n = calloc(1, sizeof *n);
    if (!n)
        return throw_cellar(env, ae, CELLAR_ENOMEM);
    n->magic = NODE_ITER_MAGIC;
    rc = cellar_iter_open(&n->it, h->db);
    if (rc != CELLAR_OK) {
        free(n);
        return throw_cellar(env, ae, rc);
    }
    if (napi_create_reference(env, argv[0], 1, &n->href) != napi_ok) {
        cellar_iter_close(n->it);
        free(n);
        return NULL;
    }
    n->h = h;
    if (napi_create_external(env, n, iter_finalize, NULL, &ext) != napi_ok) {
        napi_delete_reference(env, n->href);
        cellar_iter_close(n->it);
        free(n);
        return NULL;
    }
    return ext;
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static napi_value lone_record(napi_env env, node_iter *n, int what)
{
    napi_value arr, k, v;
    k = (what & 1) ? make_buffer(env, n->pk, n->pklen) : js_undefined(env);
    v = (what & 2) ? make_buffer(env, n->pv, n->pvlen) : js_undefined(env);
    n->pending = 0;
    if (!k || !v)
        return NULL;
    napi_create_array_with_length(env, 2, &arr);
    napi_set_element(env, arr, 0, k);
    napi_set_element(env, arr, 1, v);
    return arr;
}

/* iterNext(it, what) -> count in vbuf | [key, value] | 0 at the end */
static napi_value fn_next(napi_env env, napi_callback_info info)
{
    napi_value argv[2];
    addon_env *ae = get_args(env, info, 2, argv, NULL);
    node_iter *n = ae ? arg_iter(env, ae, argv[0], 1) : NULL;
    int32_t what = 3;
    size_t used = 0;
    uint32_t count = 0;
    if (!n)
        return NULL;
    napi_get_value_int32(env, argv[1], &what);
    if (!(what & 3))
        what = 3;
    for (;;) {
        if (!n->pending) {
            int rc = cellar_iter_next(n->it, &n->pk, &n->pklen, &n->pv, &n->pvlen);
            if (rc == CELLAR_ENOTFOUND)
                break;
            if (rc != CELLAR_OK)
                return count ? js_number(env, count) : throw_cellar(env, ae, rc);
            n->pending = 1;
        }
        size_t kl = (what & 1) ? n->pklen : 0;
        size_t vl = (what & 2) ? n->pvlen : 0;
        size_t need = 8 + kl + vl;
        if (used + need > ae->vcap) {
            if (count)
                break; /* stays pending for the next batch */
            return lone_record(env, n, what);
        }
        uint8_t *p = ae->vbuf + used;
        put_u32le(p, (uint32_t)kl);
        put_u32le(p + 4, (uint32_t)vl);
        if (kl)
            memcpy(p + 8, n->pk, kl);
        if (vl)
            memcpy(p + 8 + kl, n->pv, vl);
        used += need;
        count++;
        n->pending = 0;
    }
    return js_number(env, count);
}

static napi_value fn_close(napi_env env, napi_callback_info info)
{
    napi_value argv[1];
    addon_env *ae = get_args(env, info, 1, argv, NULL);
    node_iter *n = ae ? arg_iter(env, ae, argv[0], 0) : NULL;
    if (!n)
        return NULL;
    cellar_iter_close(n->it);
    n->it = NULL;
    n->pending = 0;
    return js_undefined(env);
}

void register_iter(napi_env env, napi_value exports, addon_env *ae)
{
    export_fn(env, exports, ae, "iterOpen", fn_open);
    export_fn(env, exports, ae, "iterNext", fn_next);
    export_fn(env, exports, ae, "iterClose", fn_close);
}
