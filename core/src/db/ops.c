/*
 * ops.c - the single-operation API: each call is a one-operation commit.
 *
 * Reads take no lock but the page latches (and the shared side of the
 * big-reader lock). Read-modify-write calls (incr, cas, expire, persist, and
 * delete, which must know whether the key existed) read and commit under
 * write_mu, so they never conflict.
 */
#include "db/db_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>


static inline uint64_t key_hash(cellar_db *db, const void *key, size_t klen)
{
    return cellar_hash_key(db->inst->hash, key, klen);
}

CELLAR_API int cellar_get(cellar_db *db, const void *key, size_t klen, void **out, size_t *out_len)
{
    if (!out || !out_len)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_get: out or out_len is NULL");
    *out = NULL;
    *out_len = 0;
    int rc = cellar__check_key(key, klen);
    if (rc != CELLAR_OK || (rc = cellar__db_enter(db, false)) != CELLAR_OK)
        return rc;
    rc = cellar_hash_get_copy(db->inst->hash, key_hash(db, key, klen), key, klen, CELLAR_HASH_NOW_LAZY,
                              out, out_len);
    cellar__db_leave(db);
    return rc;
}

typedef struct user_visit {
    cellar_visit_fn fn;
    void *payload;
} user_visit;

static int call_user(void *ctx, const uint8_t *val, size_t vlen, uint64_t expiry)
{
    user_visit *u = ctx;
    (void)expiry;
    return u->fn(val, vlen, u->payload);
}

CELLAR_API int cellar_get_visit(cellar_db *db, const void *key, size_t klen, cellar_visit_fn fn, void *payload)
{
    if (!fn)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_get_visit: fn is NULL");
    int rc = cellar__check_key(key, klen);
    if (rc != CELLAR_OK || (rc = cellar__db_enter(db, false)) != CELLAR_OK)
        return rc;
    user_visit u = { fn, payload };
    rc = cellar_hash_get(db->inst->hash, key_hash(db, key, klen), key, klen, CELLAR_HASH_NOW_LAZY,
                         call_user, &u);
    cellar__db_leave(db);
    return rc;
}

static int nop_visit(void *ctx, const uint8_t *val, size_t vlen, uint64_t expiry)
{
    (void)ctx; (void)val; (void)vlen; (void)expiry;
    return CELLAR_OK;
}

CELLAR_API int cellar_exists(cellar_db *db, const void *key, size_t klen)
{
    int rc = cellar__check_key(key, klen);
    if (rc != CELLAR_OK || (rc = cellar__db_enter(db, false)) != CELLAR_OK)
        return rc;
    rc = cellar_hash_get(db->inst->hash, key_hash(db, key, klen), key, klen, CELLAR_HASH_NOW_LAZY,
                         nop_visit, NULL);
    cellar__db_leave(db);
    return rc;
}

/* Commit ops from a single call: enter, lock, commit, unlock, durable, leave. */
static int commit_now(cellar_db *db, const op *ops, size_t n)
{
    cellar_inst *in = db->inst;
    uint64_t end = 0;
    cellar__write_lock(in);
    int rc = cellar__commit_locked(in, ops, n, NULL, 0, &end);
    cellar__mutex_unlock(&in->write_mu);
    if (rc == CELLAR_OK)
        rc = cellar__commit_durable(in, end);
    return rc;
}

CELLAR_API int cellar_put_ttl(cellar_db *db, const void *key, size_t klen, const void *val, size_t vlen,
                              uint64_t ttl_ms)
{
    int rc = cellar__check_key(key, klen);
    if (rc == CELLAR_OK)
        rc = cellar__check_val(val, vlen);
    if (rc != CELLAR_OK || (rc = cellar__db_enter(db, true)) != CELLAR_OK)
        return rc;
    op o = { ttl_ms ? OP_PUT_TTL : OP_PUT, key, klen, val, vlen,
             ttl_ms ? cellar__db_now(db->inst) + ttl_ms : 0, key_hash(db, key, klen) };
    rc = commit_now(db, &o, 1);
    cellar__db_leave(db);
    return rc;
}

CELLAR_API int cellar_put(cellar_db *db, const void *key, size_t klen, const void *val, size_t vlen)
{
    return cellar_put_ttl(db, key, klen, val, vlen, 0);
}

/* ---- read-modify-write under write_mu ---- */

typedef struct cur {
    bool found;
    uint8_t *val;
    size_t vlen;
    uint64_t expiry;
    size_t cap_limit; /* copy at most this much (0: no copy) */
    bool truncated;
} cur;

static int cur_visit(void *ctx, const uint8_t *val, size_t vlen, uint64_t expiry)
{
    cur *c = ctx;
    c->found = true;
    c->vlen = vlen;
    c->expiry = expiry;
    if (c->cap_limit == 0)
        return CELLAR_OK;
    if (vlen > c->cap_limit) {
        c->truncated = true;
        return CELLAR_OK;
    }
    c->val = malloc(vlen ? vlen : 1);
    if (!c->val)
        return cellar__err_oom();
    if (vlen)
        memcpy(c->val, val, vlen);
    return CELLAR_OK;
}

static int read_cur(cellar_inst *in, uint64_t hv, const void *key, size_t klen, cur *c)
{
    int rc = cellar_hash_get(in->hash, hv, key, klen, cellar__db_now(in), cur_visit, c);
    if (rc == CELLAR_ENOTFOUND) {
        c->found = false;
        return CELLAR_OK;
    }
    return rc;
}

/* Run fn under write_mu with the current value; fn fills ops (0 or 1). */
typedef int (*rmw_fn)(cellar_inst *in, cur *c, op *o, void *ctx);

static int rmw(cellar_db *db, const void *key, size_t klen, size_t cap_limit, rmw_fn fn, void *ctx)
{
    int rc = cellar__check_key(key, klen);
    if (rc != CELLAR_OK || (rc = cellar__db_enter(db, true)) != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    uint64_t hv = key_hash(db, key, klen), end = 0;
    cur c = { false, NULL, 0, 0, cap_limit, false };
    op o = { 0, key, klen, NULL, 0, 0, hv };
    cellar__write_lock(in);
    rc = read_cur(in, hv, key, klen, &c);
    if (rc == CELLAR_OK)
        rc = fn(in, &c, &o, ctx);
    if (rc == CELLAR_OK && o.type)
        rc = cellar__commit_locked(in, &o, 1, NULL, 0, &end);
    cellar__mutex_unlock(&in->write_mu);
    if (rc == CELLAR_OK)
        rc = cellar__commit_durable(in, end);
    free(c.val);
    cellar__db_leave(db);
    return rc;
}

static int del_fn(cellar_inst *in, cur *c, op *o, void *ctx)
{
    (void)in; (void)ctx;
    if (!c->found)
        return CELLAR_ENOTFOUND;
    o->type = OP_DEL;
    return CELLAR_OK;
}

CELLAR_API int cellar_delete(cellar_db *db, const void *key, size_t klen)
{
    return rmw(db, key, klen, 0, del_fn, NULL);
}

typedef struct incr_ctx {
    int64_t delta, result;
    char buf[24];
} incr_ctx;

static int parse_i64(const uint8_t *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 20)
        return CELLAR_ENAN;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (n == 1)
            return CELLAR_ENAN;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return CELLAR_ENAN;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return CELLAR_ENAN;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return CELLAR_ENAN;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return CELLAR_OK;
}

static int incr_fn(cellar_inst *in, cur *c, op *o, void *ctx)
{
    incr_ctx *x = ctx;
    int64_t v = 0;
    if (c->found) {
        if (c->truncated || parse_i64(c->val, c->vlen, &v) != CELLAR_OK)
            return cellar__err(CELLAR_ENAN, 0, "%s: value is not a decimal 64-bit integer", in->path);
    }
    if ((x->delta > 0 && v > INT64_MAX - x->delta) || (x->delta < 0 && v < INT64_MIN - x->delta))
        return cellar__err(CELLAR_EOVERFLOW, 0, "%s: increment would overflow a 64-bit integer", in->path);
    x->result = v + x->delta;
    int n = snprintf(x->buf, sizeof x->buf, "%" PRId64, x->result);
    o->val = (const uint8_t *)x->buf;
    o->vlen = (size_t)n;
    o->type = (c->found && c->expiry) ? OP_PUT_TTL : OP_PUT;
    o->expiry = c->found ? c->expiry : 0;
    return CELLAR_OK;
}

CELLAR_API int cellar_incr(cellar_db *db, const void *key, size_t klen, int64_t delta, int64_t *out)
{
    incr_ctx x = { delta, 0, { 0 } };
    int rc = rmw(db, key, klen, 32, incr_fn, &x);
    if (rc == CELLAR_OK && out)
        *out = x.result;
    return rc;
}

typedef struct cas_ctx {
    const void *expected, *val;
    size_t elen, vlen;
} cas_ctx;

static int cas_fn(cellar_inst *in, cur *c, op *o, void *ctx)
{
    cas_ctx *x = ctx;
    bool match = x->expected == NULL ? !c->found
                                     : (c->found && c->vlen == x->elen && (x->elen == 0 || memcmp(c->val, x->expected, x->elen) == 0));
    if (!match)
        return cellar__err(CELLAR_EMISMATCH, 0, "%s: current value does not match the expected value", in->path);
    if (x->val == NULL) {
        if (c->found)
            o->type = OP_DEL;
        return CELLAR_OK;
    }
    o->type = OP_PUT;
    o->val = x->val;
    o->vlen = x->vlen;
    return CELLAR_OK;
}

CELLAR_API int cellar_cas(cellar_db *db, const void *key, size_t klen, const void *expected, size_t elen,
                          const void *val, size_t vlen)
{
    if (!expected && elen)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_cas: expected is NULL but its length is %zu", elen);
    if (expected && elen > CELLAR_MAX_VALUE_SIZE)
        return cellar__err(CELLAR_ETOOBIG, 0, "expected value is over the size limit");
    int rc = val ? cellar__check_val(val, vlen) : CELLAR_OK;
    if (rc != CELLAR_OK)
        return rc;
    cas_ctx x = { expected, val, elen, vlen };
    /* copy the current value only when it could match */
    return rmw(db, key, klen, expected ? elen + 1 : 0, cas_fn, &x);
}

typedef struct ttl_ctx {
    uint64_t ttl;
    bool persist;
    int64_t remaining;
} ttl_ctx;

static int expire_fn(cellar_inst *in, cur *c, op *o, void *ctx)
{
    ttl_ctx *x = ctx;
    if (!c->found)
        return cellar__err(CELLAR_ENOTFOUND, 0, "%s: key not found", in->path);
    o->val = c->val;
    o->vlen = c->vlen;
    if (x->persist) {
        if (c->expiry)
            o->type = OP_PUT;
        return CELLAR_OK;
    }
    if (x->ttl == 0) {
        o->type = OP_DEL;
        return CELLAR_OK;
    }
    o->type = OP_PUT_TTL;
    o->expiry = cellar__db_now(in) + x->ttl;
    return CELLAR_OK;
}

CELLAR_API int cellar_expire(cellar_db *db, const void *key, size_t klen, uint64_t ttl_ms)
{
    ttl_ctx x = { ttl_ms, false, 0 };
    return rmw(db, key, klen, CELLAR_MAX_VALUE_SIZE, expire_fn, &x);
}

CELLAR_API int cellar_persist(cellar_db *db, const void *key, size_t klen)
{
    ttl_ctx x = { 0, true, 0 };
    return rmw(db, key, klen, CELLAR_MAX_VALUE_SIZE, expire_fn, &x);
}

CELLAR_API int cellar_ttl(cellar_db *db, const void *key, size_t klen, int64_t *out)
{
    if (!out)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_ttl: out is NULL");
    int rc = cellar__check_key(key, klen);
    if (rc != CELLAR_OK || (rc = cellar__db_enter(db, false)) != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    cur c = { false, NULL, 0, 0, 0, false };
    uint64_t now = cellar__db_now(in);
    rc = cellar_hash_get(in->hash, key_hash(db, key, klen), key, klen, now, cur_visit, &c);
    if (rc == CELLAR_OK)
        *out = c.expiry ? (int64_t)(c.expiry - now) : -1;
    cellar__db_leave(db);
    return rc;
}

CELLAR_API int cellar_count(cellar_db *db, uint64_t *out)
{
    if (!out)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_count: out is NULL");
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    rc = cellar_hash_count_live(db->inst->hash, cellar__db_now(db->inst), out);
    cellar__db_leave(db);
    return rc;
}

CELLAR_API int cellar_get_many(cellar_db *db, size_t n, const cellar_slice *keys, cellar_slice *vals,
                               unsigned char *found)
{
    if ((!keys || !vals) && n)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_get_many: keys or vals is NULL");
    for (size_t i = 0; i < n; i++) {
        int rc = cellar__check_key(keys[i].data, keys[i].len);
        if (rc != CELLAR_OK)
            return rc;
    }
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    uint64_t now = cellar__db_now(db->inst);
    size_t i;
    for (i = 0; i < n; i++) {
        void *v = NULL;
        size_t vl = 0;
        copy_ctx c = { &v, &vl };
        rc = cellar_hash_get(db->inst->hash, key_hash(db, keys[i].data, keys[i].len), keys[i].data,
                             keys[i].len, now, cellar__copy_visit, &c);
        if (rc == CELLAR_ENOTFOUND) {
            rc = CELLAR_OK;
            v = NULL;
            vl = 0;
        }
        if (rc != CELLAR_OK)
            break;
        vals[i].data = v;
        vals[i].len = vl;
        if (found)
            found[i] = v != NULL;
    }
    if (rc != CELLAR_OK) {
        for (size_t j = 0; j < i; j++) {
            free((void *)vals[j].data);
            vals[j].data = NULL;
            vals[j].len = 0;
        }
    }
    cellar__db_leave(db);
    return rc;
}

CELLAR_API int cellar_put_many(cellar_db *db, size_t n, const cellar_slice *keys, const cellar_slice *vals)
{
    if ((!keys || !vals) && n)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_put_many: keys or vals is NULL");
    for (size_t i = 0; i < n; i++) {
        int rc = cellar__check_key(keys[i].data, keys[i].len);
        if (rc == CELLAR_OK)
            rc = cellar__check_val(vals[i].data, vals[i].len);
        if (rc != CELLAR_OK)
            return rc;
    }
    int rc = cellar__db_enter(db, true);
    if (rc != CELLAR_OK)
        return rc;
    op *ops = malloc((n ? n : 1) * sizeof *ops);
    if (!ops) {
        cellar__db_leave(db);
        return cellar__err_oom();
    }
    for (size_t i = 0; i < n; i++)
        ops[i] = (op){ OP_PUT, keys[i].data, keys[i].len, vals[i].data, vals[i].len, 0,
                       key_hash(db, keys[i].data, keys[i].len) };
    rc = commit_now(db, ops, n);
    free(ops);
    cellar__db_leave(db);
    return rc;
}
