/*
 * addon.h - shared declarations of the cellardb Node-API addon.
 *
 * The addon is a thin layer: every exported function takes a handle (a JS
 * external wrapping one of the structs below) and plain arguments, and the
 * JavaScript wrapper (the files in lib/) turns them into the public API (encodings,
 * options, classes). Only Node-API is used, so one build runs on every Node
 * version with the same Node-API level.
 *
 * Files:
 *   addon.c    module init, per-environment state, error helpers, module functions
 *   convert.c  JS value <-> bytes conversion (keys, values, numbers)
 *   db.c       open/close and the synchronous single operations (the key
 *              operations a transaction shares too: key_target)
 *   maint.c    stats, sync, checkpoint, compact, backup, check, dump/load, salvage
 *   txn.c      transactions
 *   iter.c     iterators (records streamed to JS in batches)
 *   async.c    the asynchronous twins, run on the libuv thread pool
 *
 * Threads: every napi_* call happens on the JS thread of its environment.
 * Work items of async.c run cellar_* calls on pool threads and touch no JS
 * value there; the error detail of a failing call is copied on the pool
 * thread (cellar_error_last() is per thread) and turned into an Error back
 * on the JS thread.
 *
 * No C globals: several environments (worker_threads) load the addon at once,
 * each with its own addon_env (napi_set_instance_data).
 */
#ifndef CELLAR_NODE_ADDON_H
#define CELLAR_NODE_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>

#include <stddef.h>
#include <stdint.h>

#include "cellardb.h"

/* Per-environment state, passed as the `data` of every exported function. */
typedef struct addon_env {
    napi_ref error_ctor; /* CellarError class from the JS layer, or NULL */
    /* Scratch buffers shared with the JS layer (one JS thread per env, and
     * they are used only by synchronous calls, so no two uses overlap):
     * kbuf carries an encoded key in (a number argument = its length), vbuf
     * carries small values in and out and iterator batches out. */
    napi_ref kbuf_ref, vbuf_ref;
    uint8_t *kbuf, *vbuf;
    size_t kcap, vcap;
} addon_env;

/* A database handle. Owned by a JS external; freed by its finalizer. */
#define NODE_DB_MAGIC 0x63644442u   /* guards against a wrong external */
#define NODE_TXN_MAGIC 0x63645458u
#define NODE_ITER_MAGIC 0x63644954u

typedef struct node_db {
    uint32_t magic;
    cellar_db *db;  /* NULL once closed */
    int closing;    /* close() was called; closes when busy drops to 0 */
    unsigned busy;  /* async work items in flight on this handle */
    /* Optional fake TTL clock (a test hook): a Float64Array whose element 0
     * is "now" in ms; read by the core on any thread, so only its memory is
     * kept (pinned by clock_ref until close). */
    napi_ref clock_ref;
    const double *clock;
} node_db;

/* A transaction. The core frees the cellar_txn on commit/abort. */
typedef struct node_txn {
    uint32_t magic;
    cellar_txn *txn; /* NULL once committed or aborted */
    int busy;        /* an async commit or read is running */
    node_db *h;      /* its database (kept alive by href) */
    napi_ref href;
} node_txn;

/* An iterator; a record that did not fit in the last batch waits here. */
typedef struct node_iter {
    uint32_t magic;
    cellar_iter *it;
    node_db *h;      /* its database (kept alive by href) */
    napi_ref href;
    int pending;
    const void *pk, *pv;
    size_t pklen, pvlen;
} node_iter;

/* Bytes taken from a JS argument; `owned` is freed by bytes_free. */
typedef struct bytes {
    const uint8_t *p;
    size_t n;
    void *owned;
} bytes;

/* Error detail copied on the thread where a call failed. */
typedef struct captured_error {
    int code;
    int sys_errno;
    char message[512];
} captured_error;

/* ---- addon.c ---- */
void capture_error(captured_error *out, int rc);
napi_value make_error(napi_env env, addon_env *ae, const captured_error *e);
/* Throw the error for rc (detail from this thread's last error); returns NULL. */
napi_value throw_cellar(napi_env env, addon_env *ae, int rc);
napi_value throw_type(napi_env env, const char *msg);
napi_value throw_closed(napi_env env, addon_env *ae, const char *what);
napi_value js_undefined(napi_env env);
napi_value js_bool(napi_env env, int b);
napi_value js_number(napi_env env, double d);

/* Fetch this call's arguments (up to `max`) and the addon_env. */
addon_env *get_args(napi_env env, napi_callback_info info, size_t max,
                    napi_value *argv, size_t *argc);

/* ---- convert.c ---- */
/* Key: a number (length of the key in kbuf), a string, or an ArrayBufferView. */
int arg_key(napi_env env, addon_env *ae, napi_value v, bytes *out);
/* Value: a number (length in vbuf), a string or an ArrayBufferView; with
 * allow_null, null/undefined give p == NULL. */
int arg_value(napi_env env, addon_env *ae, napi_value v, int allow_null, bytes *out);
/* Copy the bytes into `owned` memory (for work done off the JS thread). */
int bytes_own(bytes *b);
void bytes_free(bytes *b);
int arg_u64(napi_env env, napi_value v, const char *what, uint64_t *out);
int arg_i64(napi_env env, napi_value v, const char *what, int64_t *out);
int arg_string(napi_env env, napi_value v, const char *what, char **out);
napi_value make_int64(napi_env env, int64_t v);
napi_value make_uint64(napi_env env, uint64_t v);
/* A new Buffer holding a copy of the bytes. */
napi_value make_buffer(napi_env env, const void *p, size_t n);
/* A Buffer that takes over memory from cellar_get (freed with cellar_free). */
napi_value adopt_buffer(napi_env env, void *p, size_t n);

/* ---- db.c ---- */
node_db *arg_db(napi_env env, addon_env *ae, napi_value v, int need_open);
/* Fetch this call's arguments (up to `max`), the addon_env and the db handle
 * of argv[0] (as arg_db); NULL with an exception pending. */
node_db *db_args(napi_env env, napi_callback_info info, size_t max, napi_value *argv,
                 addon_env **ae, int need_open);
void db_release(napi_env env, node_db *h); /* an async item finished */
void register_db(napi_env env, napi_value exports, addon_env *ae);
/* Arrays of keys/values for the batch calls (elements as arg_key/arg_value,
 * but no scratch-buffer numbers); freed with db_free_slices. */
int db_collect_slices(napi_env env, addon_env *ae, napi_value arr, int values,
                      cellar_slice **out, bytes **hold, uint32_t *n);
void db_free_slices(bytes *hold, cellar_slice *s, uint32_t n);
/* getMany's result array; frees the values. */
napi_value db_many_result(napi_env env, cellar_slice *vals, unsigned char *found, uint32_t n);

/* The key operations a database (db.c) and a transaction (txn.c) share, run
 * on a target: how to get the core handle from argv[0], and the core calls. */
typedef struct key_target {
    /* The open cellar_db or cellar_txn of v; NULL with an exception pending. */
    void *(*enter)(napi_env env, addon_env *ae, napi_value v);
    int (*exists)(void *c, const void *k, size_t kn);
    int (*put)(void *c, const void *k, size_t kn, const void *v, size_t vn, uint64_t ttl);
    int (*del)(void *c, const void *k, size_t kn);
} key_target;
/* Fetch up to `max` arguments: the target (argv[0], its core handle in *c)
 * and a key (argv[1], freed with bytes_free); 0, or -1 with an exception
 * pending. */
int key_args(napi_env env, napi_callback_info info, const key_target *tg, size_t max,
             napi_value *argv, addon_env **ae, void **c, bytes *k);
/* has(target, key) / del(target, key) -> whether the key was there */
napi_value key_has(napi_env env, napi_callback_info info, const key_target *tg);
napi_value key_del(napi_env env, napi_callback_info info, const key_target *tg);
/* put(target, key, value, ttlMs) */
napi_value key_put(napi_env env, napi_callback_info info, const key_target *tg);

/* ---- maint.c, txn.c, iter.c, async.c ---- */
void register_maint(napi_env env, napi_value exports, addon_env *ae);
void register_txn(napi_env env, napi_value exports, addon_env *ae);
node_txn *arg_txn(napi_env env, addon_env *ae, napi_value v);
void register_iter(napi_env env, napi_value exports, addon_env *ae);
void register_async(napi_env env, napi_value exports, addon_env *ae);

/* check() problems, collected in C (on any thread). */
typedef struct problem_list {
    size_t n, cap;
    uint64_t *pages;
    char **messages;
    int oom;
} problem_list;
void problems_report(uint64_t page, const char *message, void *payload);
napi_value problems_to_js(napi_env env, problem_list *pl, int rc, uint64_t count);
void problems_free(problem_list *pl);

/* Exporting helper. */
void export_fn(napi_env env, napi_value exports, addon_env *ae, const char *name,
               napi_callback cb);

/* Bail out of a callback on a failed napi call (an exception is pending). */
#define NAPI_OK(call)                                                          \
    do {                                                                       \
        if ((call) != napi_ok)                                                 \
            return NULL;                                                       \
    } while (0)

#endif /* CELLAR_NODE_ADDON_H */
