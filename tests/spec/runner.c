/*
 * runner.c - the C runner of the cellardb conformance suite.
 *
 *   spec_runner [-v] [-k SUBSTRING] [PATH...]
 *
 * PATH is a case file or a directory of *.json case files (default: the
 * suite's cases/ directory, compiled in as CELLAR_SPEC_CASES). The format is
 * defined in tests/spec/README.md; this file follows it op by op.
 *
 * Every case runs on a fresh file in its own temporary directory (under
 * $CELLAR_TEST_TMP, else $TMPDIR, else /tmp) with a fake clock installed
 * through cellar_options.clock. A failed step ends its case (the rest of the
 * case is skipped) and the runner goes on with the next case. The last line
 * is "N passed, N failed"; the exit status is 0 only if nothing failed.
 *
 * The C API frees a db handle on cellar_close, so "use after close" of the
 * db handle cannot reach the library: the runner's wrapper answers
 * CELLAR_ECLOSED for db ops on a closed handle (as every binding does).
 * Transactions that outlive cellar_close are real library objects and are
 * tested against the library itself.
 */
#include "json.h"

#include "cellardb.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CELLAR_SPEC_CASES
#define CELLAR_SPEC_CASES "cases"
#endif

#define DEFAULT_CLOCK 1700000000000ULL
#define MAX_TXNS 16

/* ---- bytes ---- */

typedef struct bytes {
    unsigned char *p;
    size_t n;
    int absent; /* JSON null where bytes were expected */
} bytes;

static void bytes_free(bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode a BYTES (README "Bytes") into out; null gives absent. 0 or -1. */
static int decode_bytes(const json_val *v, bytes *out, int allow_null)
{
    memset(out, 0, sizeof *out);
    if (!v)
        return -1;
    if (v->type == JSON_NULL) {
        out->absent = 1;
        return allow_null ? 0 : -1;
    }
    if (v->type == JSON_STR) {
        out->p = malloc(v->len + 1);
        if (!out->p)
            return -1;
        memcpy(out->p, v->str, v->len);
        out->n = v->len;
        return 0;
    }
    const json_val *hex = json_get(v, "hex");
    if (hex && hex->type == JSON_STR) {
        if (hex->len % 2)
            return -1;
        out->p = malloc(hex->len / 2 + 1);
        if (!out->p)
            return -1;
        for (size_t i = 0; i < hex->len; i += 2) {
            int hi = hexval(hex->str[i]), lo = hexval(hex->str[i + 1]);
            if (hi < 0 || lo < 0) {
                bytes_free(out);
                return -1;
            }
            out->p[out->n++] = (unsigned char)(hi << 4 | lo);
        }
        return 0;
    }
    const json_val *rep = json_get(v, "repeat"), *count = json_get(v, "count");
    if (rep && rep->type == JSON_STR && count && count->type == JSON_INT && count->num >= 0) {
        size_t c = (size_t)count->num;
        if (rep->len && c > (SIZE_MAX - 1) / rep->len)
            return -1;
        out->p = malloc(rep->len * c + 1);
        if (!out->p)
            return -1;
        for (size_t i = 0; i < c; i++)
            memcpy(out->p + i * rep->len, rep->str, rep->len);
        out->n = rep->len * c;
        return 0;
    }
    return -1;
}

static int bytes_cmp(const bytes *a, const bytes *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int c = n ? memcmp(a->p, b->p, n) : 0;
    if (c)
        return c;
    return a->n < b->n ? -1 : a->n > b->n;
}

static void print_bytes(FILE *f, const unsigned char *p, size_t n)
{
    size_t show = n > 48 ? 48 : n;
    fputc('"', f);
    for (size_t i = 0; i < show; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
            fputc(p[i], f);
        else
            fprintf(f, "\\x%02x", p[i]);
    }
    fputc('"', f);
    if (show < n)
        fprintf(f, "...(%zu bytes)", n);
}

/* ---- results of one op ---- */

enum { R_NULL, R_BYTES, R_INT, R_BOOL, R_LIST, R_PAIRS };

typedef struct result {
    int kind;
    bytes b;        /* R_BYTES */
    int64_t i;      /* R_INT, R_BOOL */
    size_t n;       /* R_LIST, R_PAIRS */
    bytes *list;    /* R_LIST (absent entries), R_PAIRS keys */
    bytes *vals;    /* R_PAIRS values */
} result;

static void result_free(result *r)
{
    bytes_free(&r->b);
    for (size_t i = 0; i < r->n; i++) {
        if (r->list) bytes_free(&r->list[i]);
        if (r->vals) bytes_free(&r->vals[i]);
    }
    free(r->list);
    free(r->vals);
    memset(r, 0, sizeof *r);
}

static void print_result(FILE *f, const result *r)
{
    switch (r->kind) {
    case R_NULL: fputs("null", f); break;
    case R_BYTES: print_bytes(f, r->b.p, r->b.n); break;
    case R_INT: fprintf(f, "%" PRId64, r->i); break;
    case R_BOOL: fputs(r->i ? "true" : "false", f); break;
    case R_LIST:
    case R_PAIRS:
        fputc('[', f);
        for (size_t i = 0; i < r->n; i++) {
            if (i) fputs(", ", f);
            if (i >= 8) { fprintf(f, "...(%zu items)", r->n); break; }
            if (r->kind == R_LIST) {
                if (r->list[i].absent) fputs("null", f);
                else print_bytes(f, r->list[i].p, r->list[i].n);
            } else {
                fputc('[', f);
                print_bytes(f, r->list[i].p, r->list[i].n);
                fputs(", ", f);
                print_bytes(f, r->vals[i].p, r->vals[i].n);
                fputc(']', f);
            }
        }
        fputc(']', f);
        break;
    }
}

typedef struct pair {
    bytes k, v;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = bytes_cmp(&x->k, &y->k);
    return c ? c : bytes_cmp(&x->v, &y->v);
}

/* Compare a successful result with the expected JSON value: 1 if equal. */
static int result_matches(const result *r, const json_val *want)
{
    switch (r->kind) {
    case R_NULL:
        return want->type == JSON_NULL;
    case R_INT:
        return want->type == JSON_INT && want->num == r->i;
    case R_BOOL:
        return want->type == JSON_BOOL && want->num == r->i;
    case R_BYTES: {
        bytes w;
        if (decode_bytes(want, &w, 0))
            return 0;
        int eq = bytes_cmp(&w, &r->b) == 0;
        bytes_free(&w);
        return eq;
    }
    case R_LIST: {
        if (want->type != JSON_ARR || want->len != r->n)
            return 0;
        int eq = 1;
        for (size_t i = 0; i < r->n && eq; i++) {
            bytes w;
            if (decode_bytes(&want->items[i], &w, 1))
                return 0;
            eq = w.absent ? r->list[i].absent
                          : (!r->list[i].absent && bytes_cmp(&w, &r->list[i]) == 0);
            bytes_free(&w);
        }
        return eq;
    }
    case R_PAIRS: {
        if (want->type != JSON_ARR || want->len != r->n)
            return 0;
        pair *got = calloc(r->n + 1, sizeof *got), *exp = calloc(r->n + 1, sizeof *exp);
        int eq = got && exp;
        size_t decoded = 0;
        for (size_t i = 0; i < r->n && eq; i++) {
            const json_val *p = &want->items[i];
            got[i].k = r->list[i];
            got[i].v = r->vals[i];
            if (p->type != JSON_ARR || p->len != 2 || decode_bytes(&p->items[0], &exp[i].k, 0)) {
                eq = 0;
                break;
            }
            if (decode_bytes(&p->items[1], &exp[i].v, 0)) {
                bytes_free(&exp[i].k);
                eq = 0;
                break;
            }
            decoded++;
        }
        if (eq) {
            qsort(got, r->n, sizeof *got, pair_cmp);
            qsort(exp, r->n, sizeof *exp, pair_cmp);
            for (size_t i = 0; i < r->n && eq; i++)
                eq = pair_cmp(&got[i], &exp[i]) == 0;
        }
        for (size_t i = 0; i < decoded; i++) {
            bytes_free(&exp[i].k);
            bytes_free(&exp[i].v);
        }
        free(got);
        free(exp);
        return eq;
    }
    }
    return 0;
}

/* ---- one case ---- */

typedef struct named_txn {
    char *name;
    cellar_txn *txn;
} named_txn;

typedef struct run_state {
    cellar_db *db;
    char dir[4096];
    char path[4200];
    uint64_t now;                 /* the fake clock */
    const json_val *case_opts;    /* the case's "options", may be NULL */
    named_txn txns[MAX_TXNS];
    char why[512];                /* a runner-level problem with the case itself */
} run_state;

static uint64_t fake_clock(void *payload)
{
    return ((run_state *)payload)->now;
}

static int bad_case(run_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->why, sizeof st->why, fmt, ap);
    va_end(ap);
    return 1;
}

/* Apply one options object onto o; 0, or 1 with st->why set. */
static int apply_options(run_state *st, const json_val *opts, cellar_options *o)
{
    if (!opts)
        return 0;
    if (opts->type != JSON_OBJ)
        return bad_case(st, "options must be an object");
    for (size_t i = 0; i < opts->len; i++) {
        const char *k = opts->keys[i];
        const json_val *v = &opts->items[i];
        if (strcmp(k, "page_size") == 0 && v->type == JSON_INT && v->num >= 0 && v->num <= UINT32_MAX) {
            o->page_size = (unsigned)v->num;
        } else if (strcmp(k, "cache_size") == 0 && v->type == JSON_INT && v->num >= 0) {
            o->cache_size = (size_t)v->num;
        } else if (strcmp(k, "readonly") == 0 && v->type == JSON_BOOL) {
            o->flags = v->num ? CELLAR_RDONLY : CELLAR_CREATE;
        } else if (strcmp(k, "sync") == 0 && v->type == JSON_STR) {
            if (strcmp(v->str, "normal") == 0) o->sync = CELLAR_SYNC_NORMAL;
            else if (strcmp(v->str, "full") == 0) o->sync = CELLAR_SYNC_FULL;
            else if (strcmp(v->str, "off") == 0) o->sync = CELLAR_SYNC_OFF;
            else return bad_case(st, "unknown sync mode '%s'", v->str);
        } else if (strcmp(k, "clock") == 0 && v->type == JSON_INT) {
            /* the start of the fake clock: only meaningful at case start */
        } else {
            return bad_case(st, "unknown or ill-typed option '%s'", k);
        }
    }
    return 0;
}

static int do_open(run_state *st, const json_val *override, int *rc)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.clock = fake_clock;
    o.clock_payload = st;
    if (apply_options(st, st->case_opts, &o) || apply_options(st, override, &o))
        return 1;
    *rc = cellar_open(&st->db, st->path, &o);
    if (*rc != CELLAR_OK)
        st->db = NULL;
    return 0;
}

static named_txn *find_txn(run_state *st, const json_val *name)
{
    if (!name || name->type != JSON_STR)
        return NULL;
    for (int i = 0; i < MAX_TXNS; i++)
        if (st->txns[i].name && strcmp(st->txns[i].name, name->str) == 0)
            return &st->txns[i];
    return NULL;
}

static void forget_txn(named_txn *t)
{
    free(t->name);
    t->name = NULL;
    t->txn = NULL;
}

/* Number of args and access, with type checks done by the callers. */
static const json_val *arg(const json_val *args, size_t i)
{
    return args && args->type == JSON_ARR && i < args->len ? &args->items[i] : NULL;
}

static size_t nargs(const json_val *args)
{
    return args && args->type == JSON_ARR ? args->len : 0;
}

/* Take an optional INT argument; 0 ok, 1 bad. */
static int int_arg(run_state *st, const json_val *args, size_t i, int64_t dflt, int64_t *out)
{
    const json_val *v = arg(args, i);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (v->type != JSON_INT)
        return bad_case(st, "argument %zu must be an integer", i);
    *out = v->num;
    return 0;
}

static int bytes_arg(run_state *st, const json_val *args, size_t i, bytes *out, int allow_null)
{
    if (decode_bytes(arg(args, i), out, allow_null))
        return bad_case(st, "argument %zu must be bytes%s", i, allow_null ? " or null" : "");
    return 0;
}

static int take_value(result *r, void *val, size_t len)
{
    r->kind = R_BYTES;
    r->b.p = malloc(len + 1);
    if (!r->b.p) {
        cellar_free(val);
        return CELLAR_ENOMEM;
    }
    if (len)
        memcpy(r->b.p, val, len);
    r->b.n = len;
    cellar_free(val);
    return CELLAR_OK;
}

static int exists_result(result *r, int rc)
{
    if (rc == CELLAR_OK || rc == CELLAR_ENOTFOUND) {
        r->kind = R_BOOL;
        r->i = rc == CELLAR_OK;
        return CELLAR_OK;
    }
    return rc;
}

static int do_iterate(cellar_db *db, result *r)
{
    cellar_iter *it;
    int rc = cellar_iter_open(&it, db);
    if (rc)
        return rc;
    size_t cap = 0;
    r->kind = R_PAIRS;
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        rc = cellar_iter_next(it, &k, &kl, &v, &vl);
        if (rc == CELLAR_ENOTFOUND) {
            rc = CELLAR_OK;
            break;
        }
        if (rc)
            break;
        if (r->n == cap) {
            cap = cap ? cap * 2 : 64;
            bytes *nl = realloc(r->list, cap * sizeof *nl);
            if (nl) r->list = nl;
            bytes *nv = realloc(r->vals, cap * sizeof *nv);
            if (nv) r->vals = nv;
            if (!nl || !nv) {
                rc = CELLAR_ENOMEM;
                break;
            }
        }
        bytes *kb = &r->list[r->n], *vb = &r->vals[r->n];
        memset(kb, 0, sizeof *kb);
        memset(vb, 0, sizeof *vb);
        kb->p = malloc(kl + 1);
        vb->p = malloc(vl + 1);
        r->n++;
        if (!kb->p || !vb->p) {
            rc = CELLAR_ENOMEM;
            break;
        }
        if (kl) memcpy(kb->p, k, kl);
        if (vl) memcpy(vb->p, v, vl);
        kb->n = kl;
        vb->n = vl;
    }
    cellar_iter_close(it);
    return rc;
}

static int do_get_many(run_state *st, const json_val *list, result *r)
{
    if (!list || list->type != JSON_ARR)
        return bad_case(st, "get_many takes an array of keys"), CELLAR_EINVAL;
    size_t n = list->len;
    bytes *keys = calloc(n + 1, sizeof *keys);
    cellar_slice *ks = calloc(n + 1, sizeof *ks), *vs = calloc(n + 1, sizeof *vs);
    unsigned char *found = calloc(n + 1, 1);
    int rc = CELLAR_ENOMEM;
    size_t decoded = 0;
    if (!keys || !ks || !vs || !found)
        goto out;
    for (; decoded < n; decoded++) {
        if (decode_bytes(&list->items[decoded], &keys[decoded], 0)) {
            bad_case(st, "get_many key %zu is not bytes", decoded);
            rc = CELLAR_EINVAL;
            goto out;
        }
        ks[decoded].data = keys[decoded].p;
        ks[decoded].len = keys[decoded].n;
    }
    rc = cellar_get_many(st->db, n, ks, vs, found);
    if (rc)
        goto out;
    r->kind = R_LIST;
    r->list = calloc(n + 1, sizeof *r->list);
    for (size_t i = 0; i < n; i++) {
        if (r->list && found[i]) {
            r->list[i].p = malloc(vs[i].len + 1);
            if (r->list[i].p && vs[i].len)
                memcpy(r->list[i].p, vs[i].data, vs[i].len);
            r->list[i].n = vs[i].len;
        } else if (r->list) {
            r->list[i].absent = 1;
        }
        cellar_free((void *)vs[i].data);
    }
    r->n = r->list ? n : 0;
    if (!r->list)
        rc = CELLAR_ENOMEM;
out:
    for (size_t i = 0; i < decoded; i++)
        bytes_free(&keys[i]);
    free(keys);
    free(ks);
    free(vs);
    free(found);
    return rc;
}

static int do_put_many(run_state *st, const json_val *list)
{
    if (!list || list->type != JSON_ARR)
        return bad_case(st, "put_many takes an array of pairs"), CELLAR_EINVAL;
    size_t n = list->len, decoded = 0;
    bytes *kb = calloc(n + 1, sizeof *kb), *vb = calloc(n + 1, sizeof *vb);
    cellar_slice *ks = calloc(n + 1, sizeof *ks), *vs = calloc(n + 1, sizeof *vs);
    int rc = CELLAR_ENOMEM;
    if (!kb || !vb || !ks || !vs)
        goto out;
    for (; decoded < n; decoded++) {
        const json_val *p = &list->items[decoded];
        if (p->type != JSON_ARR || p->len != 2 || decode_bytes(&p->items[0], &kb[decoded], 0) ||
            decode_bytes(&p->items[1], &vb[decoded], 0)) {
            bytes_free(&kb[decoded]);
            bad_case(st, "put_many item %zu is not a [key, value] pair", decoded);
            rc = CELLAR_EINVAL;
            goto out;
        }
        ks[decoded] = (cellar_slice){ kb[decoded].p, kb[decoded].n };
        vs[decoded] = (cellar_slice){ vb[decoded].p, vb[decoded].n };
    }
    rc = cellar_put_many(st->db, n, ks, vs);
out:
    for (size_t i = 0; i < decoded; i++) {
        bytes_free(&kb[i]);
        bytes_free(&vb[i]);
    }
    free(kb);
    free(vb);
    free(ks);
    free(vs);
    return rc;
}

/* Ops that need the db handle: run on a closed one, they give ECLOSED. */
static const char *const db_ops[] = {
    "get", "put", "put_ttl", "delete", "exists", "count", "incr", "decr", "cas",
    "expire", "ttl", "persist", "get_many", "put_many", "iterate", "txn_begin", NULL
};

/*
 * Run one op. Returns a CELLAR_* code (the op's outcome), with *r filled on
 * CELLAR_OK. A problem with the case itself (unknown op, bad args) sets
 * st->why and returns CELLAR_EINVAL.
 */
static int run_op(run_state *st, const char *op, const json_val *args, result *r)
{
    bytes k = { 0 }, v = { 0 }, e = { 0 };
    int64_t n = 0;
    int rc = CELLAR_OK;
    memset(r, 0, sizeof *r);
    r->kind = R_NULL;

    for (int i = 0; db_ops[i]; i++)
        if (strcmp(op, db_ops[i]) == 0 && !st->db)
            return CELLAR_ECLOSED;

#define NEED(x) do { if (x) { rc = CELLAR_EINVAL; goto done; } } while (0)
    if (strcmp(op, "get") == 0) {
        void *val;
        size_t len;
        NEED(bytes_arg(st, args, 0, &k, 0));
        rc = cellar_get(st->db, k.p, k.n, &val, &len);
        if (rc == CELLAR_OK)
            rc = take_value(r, val, len);
    } else if (strcmp(op, "put") == 0) {
        NEED(bytes_arg(st, args, 0, &k, 0) || bytes_arg(st, args, 1, &v, 0));
        rc = cellar_put(st->db, k.p, k.n, v.p, v.n);
    } else if (strcmp(op, "put_ttl") == 0) {
        NEED(bytes_arg(st, args, 0, &k, 0) || bytes_arg(st, args, 1, &v, 0) || int_arg(st, args, 2, -1, &n));
        NEED(n < 0 && bad_case(st, "put_ttl needs a ttl >= 0"));
        rc = cellar_put_ttl(st->db, k.p, k.n, v.p, v.n, (uint64_t)n);
    } else if (strcmp(op, "delete") == 0) {
        NEED(bytes_arg(st, args, 0, &k, 0));
        rc = cellar_delete(st->db, k.p, k.n);
    } else if (strcmp(op, "exists") == 0) {
        NEED(bytes_arg(st, args, 0, &k, 0));
        rc = exists_result(r, cellar_exists(st->db, k.p, k.n));
    } else if (strcmp(op, "count") == 0) {
        uint64_t c = 0;
        rc = cellar_count(st->db, &c);
        r->kind = R_INT;
        r->i = (int64_t)c;
    } else if (strcmp(op, "incr") == 0 || strcmp(op, "decr") == 0) {
        int64_t out = 0;
        NEED(bytes_arg(st, args, 0, &k, 0) || int_arg(st, args, 1, 1, &n));
        if (op[0] == 'd')
            NEED(n == INT64_MIN && bad_case(st, "decr delta out of range"));
        rc = cellar_incr(st->db, k.p, k.n, op[0] == 'd' ? -n : n, &out);
        r->kind = R_INT;
        r->i = out;
    } else if (strcmp(op, "cas") == 0) {
        NEED(bytes_arg(st, args, 0, &k, 0) || bytes_arg(st, args, 1, &e, 1) || bytes_arg(st, args, 2, &v, 1));
        rc = cellar_cas(st->db, k.p, k.n, e.absent ? NULL : (e.p ? (void *)e.p : (void *)""), e.n,
                        v.absent ? NULL : (v.p ? (void *)v.p : (void *)""), v.n);
    } else if (strcmp(op, "expire") == 0) {
        NEED(bytes_arg(st, args, 0, &k, 0) || int_arg(st, args, 1, -1, &n));
        NEED(n < 0 && bad_case(st, "expire needs a ttl >= 0"));
        rc = cellar_expire(st->db, k.p, k.n, (uint64_t)n);
    } else if (strcmp(op, "ttl") == 0) {
        int64_t out = 0;
        NEED(bytes_arg(st, args, 0, &k, 0));
        rc = cellar_ttl(st->db, k.p, k.n, &out);
        r->kind = R_INT;
        r->i = out;
    } else if (strcmp(op, "persist") == 0) {
        NEED(bytes_arg(st, args, 0, &k, 0));
        rc = cellar_persist(st->db, k.p, k.n);
    } else if (strcmp(op, "get_many") == 0) {
        rc = do_get_many(st, arg(args, 0), r);
    } else if (strcmp(op, "put_many") == 0) {
        rc = do_put_many(st, arg(args, 0));
    } else if (strcmp(op, "iterate") == 0) {
        rc = do_iterate(st->db, r);
    } else if (strcmp(op, "advance_clock") == 0) {
        NEED(int_arg(st, args, 0, -1, &n));
        NEED(n < 0 && bad_case(st, "advance_clock needs ms >= 0"));
        st->now += (uint64_t)n;
    } else if (strcmp(op, "close") == 0) {
        if (st->db) {
            rc = cellar_close(st->db);
            st->db = NULL;
        } else {
            rc = CELLAR_ECLOSED;
        }
    } else if (strcmp(op, "reopen") == 0) {
        const json_val *o = arg(args, 0);
        if (st->db) {
            rc = cellar_close(st->db);
            st->db = NULL;
        }
        if (rc == CELLAR_OK)
            NEED(do_open(st, o, &rc));
    } else if (strcmp(op, "txn_begin") == 0) {
        const json_val *name = arg(args, 0), *flag = arg(args, 1);
        unsigned flags = 0;
        NEED((!name || name->type != JSON_STR) && bad_case(st, "txn_begin needs a name"));
        NEED(find_txn(st, name) && bad_case(st, "transaction '%s' is already open", name->str));
        if (flag) {
            NEED((flag->type != JSON_STR || strcmp(flag->str, "readonly") != 0) &&
                 bad_case(st, "txn_begin's second argument can only be \"readonly\""));
            flags = CELLAR_RDONLY;
        }
        int slot = -1;
        for (int i = 0; i < MAX_TXNS && slot < 0; i++)
            if (!st->txns[i].name)
                slot = i;
        NEED(slot < 0 && bad_case(st, "more than %d open transactions", MAX_TXNS));
        cellar_txn *t = NULL;
        rc = cellar_txn_begin(&t, st->db, flags);
        if (rc == CELLAR_OK) {
            st->txns[slot].name = strdup(name->str);
            st->txns[slot].txn = t;
            if (!st->txns[slot].name) {
                cellar_txn_abort(t);
                st->txns[slot].txn = NULL;
                rc = CELLAR_ENOMEM;
            }
        }
    } else if (strncmp(op, "txn_", 4) == 0) {
        named_txn *t = find_txn(st, arg(args, 0));
        NEED(!t && bad_case(st, "%s: no open transaction named by argument 0", op));
        if (strcmp(op, "txn_get") == 0) {
            void *val;
            size_t len;
            NEED(bytes_arg(st, args, 1, &k, 0));
            rc = cellar_txn_get(t->txn, k.p, k.n, &val, &len);
            if (rc == CELLAR_OK)
                rc = take_value(r, val, len);
        } else if (strcmp(op, "txn_exists") == 0) {
            NEED(bytes_arg(st, args, 1, &k, 0));
            rc = exists_result(r, cellar_txn_exists(t->txn, k.p, k.n));
        } else if (strcmp(op, "txn_put") == 0) {
            NEED(bytes_arg(st, args, 1, &k, 0) || bytes_arg(st, args, 2, &v, 0));
            rc = cellar_txn_put(t->txn, k.p, k.n, v.p, v.n);
        } else if (strcmp(op, "txn_put_ttl") == 0) {
            NEED(bytes_arg(st, args, 1, &k, 0) || bytes_arg(st, args, 2, &v, 0) || int_arg(st, args, 3, -1, &n));
            NEED(n < 0 && bad_case(st, "txn_put_ttl needs a ttl >= 0"));
            rc = cellar_txn_put_ttl(t->txn, k.p, k.n, v.p, v.n, (uint64_t)n);
        } else if (strcmp(op, "txn_delete") == 0) {
            NEED(bytes_arg(st, args, 1, &k, 0));
            rc = cellar_txn_delete(t->txn, k.p, k.n);
        } else if (strcmp(op, "txn_commit") == 0) {
            rc = cellar_txn_commit(t->txn);
            forget_txn(t);
        } else if (strcmp(op, "txn_abort") == 0) {
            cellar_txn_abort(t->txn);
            forget_txn(t);
        } else {
            NEED(bad_case(st, "unknown op '%s'", op));
        }
    } else {
        NEED(bad_case(st, "unknown op '%s'", op));
    }
#undef NEED
done:
    bytes_free(&k);
    bytes_free(&v);
    bytes_free(&e);
    if (rc != CELLAR_OK)
        result_free(r);
    return rc;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                remove_tree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static const char *tmp_root(void)
{
    const char *t = getenv("CELLAR_TEST_TMP");
    if (!t || !*t)
        t = getenv("TMPDIR");
    if (!t || !*t)
        t = "/tmp";
    mkdir(t, 0777); /* ctest's CELLAR_TEST_TMP may not exist yet */
    return t;
}

static int verbose;

/* Compare one outcome with "expect"; 1 if it matches. */
static int outcome_matches(int rc, const result *r, const json_val *expect, run_state *st)
{
    if (!expect)
        return rc == CELLAR_OK;
    const json_val *ok = json_get(expect, "ok"), *err = json_get(expect, "error");
    if (expect->type != JSON_OBJ || expect->len != 1)
        ok = err = NULL;
    if (ok && !err)
        return rc == CELLAR_OK && result_matches(r, ok);
    if (err && !ok && err->type == JSON_STR)
        return rc != CELLAR_OK && strcmp(cellar_errname(rc), err->str) == 0;
    bad_case(st, "expect must be {\"ok\": VALUE} or {\"error\": \"CELLAR_E...\"}");
    return 0;
}

static void report_outcome(FILE *f, int rc, const result *r)
{
    if (rc == CELLAR_OK) {
        fputs("{\"ok\": ", f);
        print_result(f, r);
        fputs("}", f);
    } else {
        fprintf(f, "{\"error\": \"%s\"} (%s)", cellar_errname(rc), cellar_error_last()->message);
    }
}

/* 0 if every key of obj is in allowed (NULL-terminated), else the first other key. */
static const char *unknown_key(const json_val *obj, const char *const *allowed)
{
    if (!obj || obj->type != JSON_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->len; i++) {
        int found = 0;
        for (int j = 0; allowed[j] && !found; j++)
            found = strcmp(obj->keys[i], allowed[j]) == 0;
        if (!found)
            return obj->keys[i];
    }
    return NULL;
}

static const char *const case_keys[] = { "name", "description", "options", "open_expect", "steps", NULL };
static const char *const step_keys[] = { "op", "args", "expect", NULL };
static const char *const file_keys[] = { "suite", "description", "cases", NULL };

/* Run one case; 1 if it passed. */
static int run_case(const json_val *c, const char *file)
{
    run_state *st = calloc(1, sizeof *st);
    const json_val *name = json_get(c, "name"), *steps = json_get(c, "steps");
    const char *cname = name && name->type == JSON_STR ? name->str : "(unnamed)";
    int passed = 0;
    if (!st) {
        fprintf(stderr, "FAIL %s: out of memory\n", cname);
        return 0;
    }
    if (verbose)
        printf("case %s (%s)\n", cname, file);

    snprintf(st->dir, sizeof st->dir, "%s/cellar-spec-XXXXXX", tmp_root());
    if (!mkdtemp(st->dir)) {
        fprintf(stderr, "FAIL %s: cannot make a temporary directory in %s: %s\n", cname, tmp_root(),
                strerror(errno));
        free(st);
        return 0;
    }
    snprintf(st->path, sizeof st->path, "%s/db", st->dir);
    st->case_opts = json_get(c, "options");
    st->now = DEFAULT_CLOCK;
    const json_val *clk = json_get(st->case_opts, "clock");
    if (clk && clk->type == JSON_INT && clk->num >= 0)
        st->now = (uint64_t)clk->num;

    if (!name || name->type != JSON_STR || !steps || steps->type != JSON_ARR) {
        fprintf(stderr, "FAIL %s (%s): a case needs a string \"name\" and an array \"steps\"\n", cname, file);
        goto out;
    }
    const char *odd = unknown_key(c, case_keys);
    if (odd) { /* a typo would otherwise skip a check silently */
        fprintf(stderr, "FAIL %s (%s): bad case: unknown field \"%s\"\n", cname, file, odd);
        goto out;
    }
    for (size_t i = 0; i < steps->len; i++) {
        if (steps->items[i].type != JSON_OBJ || (odd = unknown_key(&steps->items[i], step_keys))) {
            fprintf(stderr, "FAIL %s (%s): step %zu: bad case: %s%s%s\n", cname, file, i,
                    odd ? "unknown field \"" : "a step must be an object", odd ? odd : "", odd ? "\"" : "");
            goto out;
        }
    }

    /* the open at case start */
    result none = { 0 };
    int rc = 0;
    if (do_open(st, NULL, &rc)) {
        fprintf(stderr, "FAIL %s (%s): bad case: %s\n", cname, file, st->why);
        goto out;
    }
    if (!outcome_matches(rc, &none, json_get(c, "open_expect"), st)) {
        fprintf(stderr, "FAIL %s (%s): open: expected ", cname, file);
        const json_val *oe = json_get(c, "open_expect");
        if (oe) json_print(stderr, oe, 60); else fputs("{\"ok\": null}", stderr);
        fputs(", got ", stderr);
        report_outcome(stderr, rc, &none);
        fputc('\n', stderr);
        goto out;
    }

    for (size_t i = 0; i < steps->len; i++) {
        const json_val *s = &steps->items[i];
        const json_val *op = json_get(s, "op"), *args = json_get(s, "args"), *expect = json_get(s, "expect");
        result r;
        if (!op || op->type != JSON_STR || (args && args->type != JSON_ARR)) {
            fprintf(stderr, "FAIL %s (%s): step %zu: bad case: a step needs \"op\" and an array \"args\"\n",
                    cname, file, i);
            goto out;
        }
        st->why[0] = '\0';
        cellar_error_clear();
        rc = run_op(st, op->str, args, &r);
        if (st->why[0]) {
            fprintf(stderr, "FAIL %s (%s): step %zu (%s): bad case: %s\n", cname, file, i, op->str, st->why);
            goto out;
        }
        int good = outcome_matches(rc, &r, expect, st);
        if (st->why[0]) {
            fprintf(stderr, "FAIL %s (%s): step %zu (%s): bad case: %s\n", cname, file, i, op->str, st->why);
            result_free(&r);
            goto out;
        }
        if (!good) {
            fprintf(stderr, "FAIL %s (%s): step %zu (%s", cname, file, i, op->str);
            if (nargs(args)) {
                fputc(' ', stderr);
                json_print(stderr, args, 40);
            }
            fputs("): expected ", stderr);
            if (expect) json_print(stderr, expect, 60); else fputs("{\"ok\": ...}", stderr);
            fputs(", got ", stderr);
            report_outcome(stderr, rc, &r);
            fputc('\n', stderr);
            result_free(&r);
            goto out;
        }
        result_free(&r);
    }
    passed = 1;
out:
    for (int i = 0; i < MAX_TXNS; i++)
        if (st->txns[i].name) {
            cellar_txn_abort(st->txns[i].txn);
            forget_txn(&st->txns[i]);
        }
    if (st->db)
        cellar_close(st->db);
    remove_tree(st->dir);
    free(st);
    return passed;
}

static int npassed, nfailed;
static const char *filter;

/* Case names seen so far: names must be unique across the suite. */
static char **seen_names;
static size_t nseen, seen_cap;

static int name_is_new(const char *name)
{
    for (size_t i = 0; i < nseen; i++)
        if (strcmp(seen_names[i], name) == 0)
            return 0;
    if (nseen == seen_cap) {
        size_t cap = seen_cap ? seen_cap * 2 : 256;
        char **nn = realloc(seen_names, cap * sizeof *nn);
        if (!nn)
            return 1;
        seen_names = nn;
        seen_cap = cap;
    }
    seen_names[nseen] = strdup(name);
    if (seen_names[nseen])
        nseen++;
    return 1;
}

static void run_file(const char *path)
{
    json_val doc;
    char err[512];
    if (json_parse_file(&doc, path, err, sizeof err)) {
        fprintf(stderr, "FAIL %s\n", err);
        nfailed++;
        return;
    }
    const json_val *cases = json_get(&doc, "cases");
    const char *odd = unknown_key(&doc, file_keys);
    if (!cases || cases->type != JSON_ARR || odd) {
        fprintf(stderr, "FAIL %s: %s%s%s\n", path, odd ? "unknown field \"" : "no \"cases\" array", odd ? odd : "",
                odd ? "\"" : "");
        nfailed++;
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        for (size_t i = 0; i < cases->len; i++) {
            const json_val *nm = json_get(&cases->items[i], "name");
            if (filter && (!nm || nm->type != JSON_STR || !strstr(nm->str, filter)))
                continue;
            if (nm && nm->type == JSON_STR && !name_is_new(nm->str)) {
                fprintf(stderr, "FAIL %s (%s): bad case: the name is used twice in the suite\n", nm->str, base);
                nfailed++;
                continue;
            }
            if (run_case(&cases->items[i], base))
                npassed++;
            else
                nfailed++;
        }
    }
    json_free(&doc);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "FAIL %s: %s\n", path, strerror(errno));
        nfailed++;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        run_file(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "FAIL %s: %s\n", path, strerror(errno));
        nfailed++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        char *full = malloc(strlen(path) + len + 2);
        if (!full)
            break;
        sprintf(full, "%s/%s", path, de->d_name);
        names[n++] = full;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        run_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [-v] [-k SUBSTRING] [CASE_FILE_OR_DIR...]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (i == argc)
        run_path(CELLAR_SPEC_CASES);
    for (; i < argc; i++)
        run_path(argv[i]);
    printf("%d passed, %d failed\n", npassed, nfailed);
    for (size_t j = 0; j < nseen; j++)
        free(seen_names[j]);
    free(seen_names);
    return nfailed ? 1 : 0;
}
