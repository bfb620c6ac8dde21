/*
 * addon.c - module initialisation, per-environment state and error helpers.
 *
 * Errors: a failing cellar_* call becomes `new CellarError(message, code,
 * errno)` where CellarError is the class the JS layer hands to setup() (a
 * subclass of Error), code is cellar_errname(rc) ("CELLAR_ELOCKED") and the
 * message is the thread's detail (it names the file and page) or, without
 * one, cellar_strerror(rc). Before setup() plain Errors with .code are made.
 */
#include "addon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

napi_value js_undefined(napi_env env)
{
    napi_value v;
    napi_get_undefined(env, &v);
    return v;
}

napi_value js_bool(napi_env env, int b)
{
    napi_value v;
    napi_get_boolean(env, b != 0, &v);
    return v;
}

napi_value js_number(napi_env env, double d)
{
    napi_value v;
    napi_create_double(env, d, &v);
    return v;
}

addon_env *get_args(napi_env env, napi_callback_info info, size_t max,
                    napi_value *argv, size_t *argc)
{
    void *data = NULL;
    size_t n = max;
    if (napi_get_cb_info(env, info, &n, argv, NULL, &data) != napi_ok)
        return NULL;
    /* Missing arguments read as undefined. */
    for (size_t i = n; i < max; i++)
        argv[i] = js_undefined(env);
    if (argc)
        *argc = n;
    return data;
}

void capture_error(captured_error *out, int rc)
{
    const cellar_error *e = cellar_error_last();
    out->code = rc;
    out->sys_errno = 0;
    out->message[0] = '\0';
    /* The detail belongs to this failure only if it carries the same code. */
    if (e && e->code == rc && e->message && e->message[0]) {
        snprintf(out->message, sizeof out->message, "%s", e->message);
        out->sys_errno = e->sys_errno;
    }
    if (!out->message[0])
        snprintf(out->message, sizeof out->message, "%s", cellar_strerror(rc));
}

napi_value make_error(napi_env env, addon_env *ae, const captured_error *e)
{
    napi_value msg, code, err = NULL, ctor = NULL;
    napi_create_string_utf8(env, e->message, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, cellar_errname(e->code), NAPI_AUTO_LENGTH, &code);
    if (ae && ae->error_ctor)
        napi_get_reference_value(env, ae->error_ctor, &ctor);
    if (ctor) {
        napi_value argv[3] = { msg, code, NULL };
        napi_create_int32(env, e->sys_errno, &argv[2]);
        if (napi_new_instance(env, ctor, 3, argv, &err) != napi_ok)
            err = NULL;
    }
    if (!err) {
        napi_create_error(env, code, msg, &err);
        napi_value n;
        napi_create_int32(env, e->sys_errno, &n);
        napi_set_named_property(env, err, "errno", n);
    }
    return err;
}

napi_value throw_cellar(napi_env env, addon_env *ae, int rc)
{
    captured_error e;
    capture_error(&e, rc);
    napi_throw(env, make_error(env, ae, &e));
    return NULL;
}

napi_value throw_type(napi_env env, const char *msg)
{
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return NULL;
}

napi_value throw_closed(napi_env env, addon_env *ae, const char *what)
{
    captured_error e;
    e.code = CELLAR_ECLOSED;
    e.sys_errno = 0;
    snprintf(e.message, sizeof e.message, "%s is closed", what);
    napi_throw(env, make_error(env, ae, &e));
    return NULL;
}

void export_fn(napi_env env, napi_value exports, addon_env *ae, const char *name,
               napi_callback cb)
{
    napi_value fn;
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, ae, &fn) == napi_ok)
        napi_set_named_property(env, exports, name, fn);
}

/* ---- module functions ---- */

static void set_scratch(napi_env env, napi_value buf, napi_ref *ref, uint8_t **p,
                        size_t *cap)
{
    void *data;
    size_t len;
    if (*ref) {
        napi_delete_reference(env, *ref);
        *ref = NULL;
    }
    if (napi_get_buffer_info(env, buf, &data, &len) != napi_ok)
        return;
    napi_create_reference(env, buf, 1, ref);
    *p = data;
    *cap = len;
}

/* setup(ErrorClass, keyBuffer, valueBuffer): called once by the JS layer. */
static napi_value fn_setup(napi_env env, napi_callback_info info)
{
    napi_value argv[3];
    addon_env *ae = get_args(env, info, 3, argv, NULL);
    bool isbuf1 = false, isbuf2 = false;
    napi_valuetype t;
    if (!ae)
        return NULL;
    napi_typeof(env, argv[0], &t);
    napi_is_buffer(env, argv[1], &isbuf1);
    napi_is_buffer(env, argv[2], &isbuf2);
    if (t != napi_function || !isbuf1 || !isbuf2)
        return throw_type(env, "setup(ErrorClass, Buffer, Buffer)");
    if (ae->error_ctor)
        napi_delete_reference(env, ae->error_ctor);
    napi_create_reference(env, argv[0], 1, &ae->error_ctor);
    set_scratch(env, argv[1], &ae->kbuf_ref, &ae->kbuf, &ae->kcap);
    set_scratch(env, argv[2], &ae->vbuf_ref, &ae->vbuf, &ae->vcap);
    return js_undefined(env);
}

static napi_value fn_strerror(napi_env env, napi_callback_info info)
{
    napi_value argv[1], out;
    int32_t code = 0;
    if (!get_args(env, info, 1, argv, NULL))
        return NULL;
    napi_get_value_int32(env, argv[0], &code);
    napi_create_string_utf8(env, cellar_strerror(code), NAPI_AUTO_LENGTH, &out);
    return out;
}

static napi_value fn_version(napi_env env, napi_callback_info info)
{
    napi_value out;
    (void)info;
    napi_create_string_utf8(env, cellar_version(), NAPI_AUTO_LENGTH, &out);
    return out;
}

/* The error table as { CELLAR_ENOTFOUND: { value: -1, message: "..." }, ... }. */
static napi_value make_codes(napi_env env)
{
    napi_value codes;
    napi_create_object(env, &codes);
#define ADD_CODE(name, value, msg)                                             \
    do {                                                                       \
        napi_value o, v, m;                                                    \
        napi_create_object(env, &o);                                           \
        napi_create_int32(env, (value), &v);                                   \
        napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);               \
        napi_set_named_property(env, o, "value", v);                           \
        napi_set_named_property(env, o, "message", m);                         \
        napi_set_named_property(env, codes, "CELLAR_" #name, o);               \
    } while (0);
    CELLAR_ERROR_LIST(ADD_CODE)
#undef ADD_CODE
    return codes;
}

static void env_cleanup(napi_env env, void *data, void *hint)
{
    addon_env *ae = data;
    (void)hint;
    if (ae->error_ctor)
        napi_delete_reference(env, ae->error_ctor);
    if (ae->kbuf_ref)
        napi_delete_reference(env, ae->kbuf_ref);
    if (ae->vbuf_ref)
        napi_delete_reference(env, ae->vbuf_ref);
    free(ae);
}

NAPI_MODULE_INIT()
{
    addon_env *ae = calloc(1, sizeof *ae);
    napi_value v;
    if (!ae) {
        napi_throw_error(env, "CELLAR_ENOMEM", "cellardb: out of memory");
        return NULL;
    }
    if (napi_set_instance_data(env, ae, env_cleanup, NULL) != napi_ok) {
        free(ae);
        return NULL;
    }
    export_fn(env, exports, ae, "setup", fn_setup);
    export_fn(env, exports, ae, "strerror", fn_strerror);
    export_fn(env, exports, ae, "version", fn_version);
    napi_set_named_property(env, exports, "codes", make_codes(env));
    napi_create_uint32(env, CELLAR_MAX_KEY_SIZE, &v);
    napi_set_named_property(env, exports, "MAX_KEY_SIZE", v);
    napi_create_uint32(env, CELLAR_MAX_VALUE_SIZE, &v);
    napi_set_named_property(env, exports, "MAX_VALUE_SIZE", v);
    register_db(env, exports, ae);
    register_maint(env, exports, ae);
    register_txn(env, exports, ae);
    register_iter(env, exports, ae);
    register_async(env, exports, ae);
    return exports;
}
