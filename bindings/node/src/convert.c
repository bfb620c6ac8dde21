/*
 * convert.c - turning JS arguments into bytes and numbers, and back.
 *
 * A key or value argument is one of:
 *   number          the length of bytes the JS layer just wrote into the
 *                   shared scratch buffer (kbuf for keys, vbuf for values);
 *                   this is the fast path, no napi object is touched
 *   string          encoded as UTF-8 into fresh memory
 *   ArrayBufferView (Buffer, Uint8Array, any TypedArray, DataView) or
 *   ArrayBuffer     its bytes, borrowed for the duration of the call
 * Anything else throws a TypeError.
 */
#include "addon.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t elem_size(napi_typedarray_type t)
{
    switch (t) {
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: return 8;
    default: return 1;
    }
}

/* Bytes of a string, view or ArrayBuffer; 1 on success, 0 if not one of them
 * (nothing thrown), -1 on a napi failure. */
static int view_bytes(napi_env env, napi_value v, napi_valuetype t, bytes *out)
{
    bool is = false;
    out->owned = NULL;
    if (t == napi_string) {
        size_t len = 0;
        char *s;
        if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
            return -1;
        s = malloc(len + 1);
        if (!s) {
            napi_throw_error(env, "CELLAR_ENOMEM", "out of memory");
            return -1;
        }
        napi_get_value_string_utf8(env, v, s, len + 1, &len);
        out->p = (const uint8_t *)s;
        out->n = len;
        out->owned = s;
        return 1;
    }
    if (t != napi_object)
        return 0;
    napi_is_typedarray(env, v, &is);
    if (is) {
        napi_typedarray_type tt;
        size_t len;
        void *data;
        if (napi_get_typedarray_info(env, v, &tt, &len, &data, NULL, NULL) != napi_ok)
            return -1;
        out->p = data;
        out->n = len * elem_size(tt);
        return 1;
    }
    napi_is_dataview(env, v, &is);
    if (is) {
        size_t len;
        void *data;
        if (napi_get_dataview_info(env, v, &len, &data, NULL, NULL) != napi_ok)
            return -1;
        out->p = data;
        out->n = len;
        return 1;
    }
    napi_is_arraybuffer(env, v, &is);
    if (is) {
        size_t len;
        void *data;
        if (napi_get_arraybuffer_info(env, v, &data, &len) != napi_ok)
            return -1;
        out->p = data;
        out->n = len;
        return 1;
    }
    return 0;
}

static int scratch_len(napi_env env, napi_value v, size_t cap, size_t *out)
{
    double d;
    napi_get_value_double(env, v, &d);
    if (!(d >= 0) || d > (double)cap || floor(d) != d) {
        throw_type(env, "scratch length out of range");
        return -1;
    }
    *out = (size_t)d;
    return 0;
}

/* A key or value argument: a number is a length in the scratch buffer `scratch`
 * (of size cap); with allow_null, null/undefined give p == NULL. */
static int arg_bytes(napi_env env, napi_value v, uint8_t *scratch, size_t cap, int allow_null,
                     const char *what, bytes *out)
{
    napi_valuetype t;
    int r;
    out->owned = NULL;
    if (napi_typeof(env, v, &t) != napi_ok)
        return -1;
    if (t == napi_number) {
        out->p = scratch;
        return scratch_len(env, v, cap, &out->n);
    }
    if (allow_null && (t == napi_null || t == napi_undefined)) {
        out->p = NULL;
        out->n = 0;
        return 0;
    }
    r = view_bytes(env, v, t, out);
    if (r == 1) {
        if (!out->p)
            out->p = (const uint8_t *)""; /* empty, but present */
        return 0;
    }
    if (r == 0)
        throw_type(env, what);
    return -1;
}

int arg_key(napi_env env, addon_env *ae, napi_value v, bytes *out)
{
    return arg_bytes(env, v, ae->kbuf, ae->kcap, 0, "key must be a string, Buffer or Uint8Array",
                     out);
}

int arg_value(napi_env env, addon_env *ae, napi_value v, int allow_null, bytes *out)
{
    return arg_bytes(env, v, ae->vbuf, ae->vcap, allow_null,
                     "value must be a string, Buffer or Uint8Array", out);
}

int bytes_own(bytes *b)
{
    void *p;
    if (b->owned || !b->p)
        return 0;
    p = malloc(b->n ? b->n : 1);
    if (!p)
        return -1;
    memcpy(p, b->p, b->n);
    b->p = p;
    b->owned = p;
    return 0;
}

void bytes_free(bytes *b)
{
    free(b->owned);
    b->owned = NULL;
}

static int out_of_range(napi_env env, const char *what)
{
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
    return -1;
}

/* arg_u64 (is_signed 0, out a uint64_t) and arg_i64 (is_signed 1, out an
 * int64_t): a BigInt that fits, or a number in range (a whole one for int64). */
static int arg_int64(napi_env env, napi_value v, const char *what, int is_signed, void *out)
{
    napi_valuetype t;
    double d;
    napi_typeof(env, v, &t);
    if (t == napi_bigint) {
        bool lossless = false;
        if (is_signed)
            napi_get_value_bigint_int64(env, v, out, &lossless);
        else
            napi_get_value_bigint_uint64(env, v, out, &lossless);
        return lossless ? 0 : out_of_range(env, what);
    }
    if (t != napi_number) {
        throw_type(env, what);
        return -1;
    }
    napi_get_value_double(env, v, &d);
    if (is_signed) {
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || floor(d) != d)
            return out_of_range(env, what);
        *(int64_t *)out = (int64_t)d;
    } else {
        if (!(d >= 0) || d > 18446744073709549568.0)
            return out_of_range(env, what);
        *(uint64_t *)out = (uint64_t)d;
    }
    return 0;
}

int arg_u64(napi_env env, napi_value v, const char *what, uint64_t *out)
{
    return arg_int64(env, v, what, 0, out);
}

int arg_i64(napi_env env, napi_value v, const char *what, int64_t *out)
{
    return arg_int64(env, v, what, 1, out);
}

int arg_string(napi_env env, napi_value v, const char *what, char **out)
{
    napi_valuetype t;
    size_t len;
    napi_typeof(env, v, &t);
    if (t != napi_string) {
        throw_type(env, what);
        return -1;
    }
    napi_get_value_string_utf8(env, v, NULL, 0, &len);
    *out = malloc(len + 1);
    if (!*out) {
        napi_throw_error(env, "CELLAR_ENOMEM", "out of memory");
        return -1;
    }
    napi_get_value_string_utf8(env, v, *out, len + 1, &len);
    if (strlen(*out) != len) {
        free(*out);
        *out = NULL;
        throw_type(env, "path must not contain NUL characters");
        return -1;
    }
    return 0;
}

/* Numbers that fit a double exactly stay numbers; the rest become BigInts. */
napi_value make_int64(napi_env env, int64_t v)
{
    napi_value out;
    if (v >= -9007199254740991LL && v <= 9007199254740991LL)
        napi_create_int64(env, v, &out);
    else
        napi_create_bigint_int64(env, v, &out);
    return out;
}

napi_value make_uint64(napi_env env, uint64_t v)
{
    napi_value out;
    if (v <= 9007199254740991ULL)
        napi_create_double(env, (double)v, &out);
    else
        napi_create_bigint_uint64(env, v, &out);
    return out;
}

napi_value make_buffer(napi_env env, const void *p, size_t n)
{
    napi_value out;
    if (napi_create_buffer_copy(env, n, n ? p : "", NULL, &out) != napi_ok)
        return NULL;
    return out;
}

static void free_adopted(napi_env env, void *data, void *hint)
{
    (void)env;
    (void)hint;
    cellar_free(data);
}

napi_value adopt_buffer(napi_env env, void *p, size_t n)
{
    napi_value out;
    /* Small values: a plain copy is cheaper than an external's bookkeeping. */
    if (n < 4096 || napi_create_external_buffer(env, n, p, free_adopted, NULL, &out) != napi_ok) {
        out = make_buffer(env, p, n);
        cellar_free(p);
    }
    return out;
}
