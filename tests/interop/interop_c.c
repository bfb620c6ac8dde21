/*
 * The C side of the cross-language interop test (driven by interop.py).
 *
 *   interop_c write PLAN DB         apply the plan to a fresh file DB
 *   interop_c read PLAN DB...       check that each DB holds what the plan wrote
 *
 * PLAN is the text form of expected.json that interop.py writes; one
 * operation per line, tokens separated by one space:
 *   put K V          ttl K V MS          commit K V K V ...    abort K V K V ...
 * where a key or value token is "x" + hex bytes, or "p" + N for N bytes with
 * byte i = i % 251. The reader prints "PASS <db>" or "FAIL <db>: <why>" per
 * file and exits 1 if any failed.
 */
#define _GNU_SOURCE
#include <cellardb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes;

typedef struct op {
    char kind[8];       /* put, ttl, commit, abort */
    size_t npairs;
    bytes keys[8];
    bytes vals[8];
    uint64_t ttl_ms;
} op;

static void die(const char *what) {
    fprintf(stderr, "interop_c: %s\n", what);
    exit(2);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bytes decode(const char *tok) {
    bytes b = {NULL, 0};
    if (tok[0] == 'p') {
        b.n = (size_t)strtoull(tok + 1, NULL, 10);
        b.p = malloc(b.n ? b.n : 1);
        if (!b.p) die("out of memory");
        for (size_t i = 0; i < b.n; i++) b.p[i] = (unsigned char)(i % 251);
    } else if (tok[0] == 'x') {
        size_t len = strlen(tok + 1);
        if (len % 2) die("odd hex token in plan");
        b.n = len / 2;
        b.p = malloc(b.n ? b.n : 1);
        if (!b.p) die("out of memory");
        for (size_t i = 0; i < b.n; i++) {
            int hi = hexval(tok[1 + 2 * i]), lo = hexval(tok[2 + 2 * i]);
            if (hi < 0 || lo < 0) die("bad hex in plan");
            b.p[i] = (unsigned char)(hi * 16 + lo);
        }
    } else {
        die("bad token in plan");
    }
    return b;
}

static size_t read_plan(const char *path, op *ops, size_t max) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open the plan");
    char *line = NULL;
    size_t cap = 0, n = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        if (n == max) die("plan too long");
        op *o = &ops[n++];
        memset(o, 0, sizeof *o);
        char *save = NULL, *tok = strtok_r(line, " ", &save);
        snprintf(o->kind, sizeof o->kind, "%s", tok);
        int is_ttl = strcmp(o->kind, "ttl") == 0;
        while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
            if (o->npairs == 8) die("too many pairs in a plan line");
            o->keys[o->npairs] = decode(tok);
            tok = strtok_r(NULL, " ", &save);
            if (!tok) die("key without value in plan");
            o->vals[o->npairs++] = decode(tok);
            if (is_ttl) {
                tok = strtok_r(NULL, " ", &save);
                if (!tok) die("ttl without milliseconds");
                o->ttl_ms = strtoull(tok, NULL, 10);
            }
        }
    }
    free(line);
    fclose(f);
    return n;
}

static void check(int rc, const char *what) {
    if (rc != CELLAR_OK) {
        fprintf(stderr, "interop_c: %s: %s (%s)\n", what, cellar_errname(rc),
                cellar_error_last()->message);
        exit(1);
    }
}

static int do_write(const op *ops, size_t n, const char *path) {
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    check(cellar_open(&db, path, &o), "open");
    for (size_t i = 0; i < n; i++) {
        const op *p = &ops[i];
        if (!strcmp(p->kind, "put")) {
            check(cellar_put(db, p->keys[0].p, p->keys[0].n, p->vals[0].p, p->vals[0].n), "put");
        } else if (!strcmp(p->kind, "ttl")) {
            check(cellar_put_ttl(db, p->keys[0].p, p->keys[0].n, p->vals[0].p, p->vals[0].n,
                                 p->ttl_ms), "put_ttl");
        } else {
            cellar_txn *t;
            check(cellar_txn_begin(&t, db, 0), "txn_begin");
            for (size_t k = 0; k < p->npairs; k++)
                check(cellar_txn_put(t, p->keys[k].p, p->keys[k].n, p->vals[k].p, p->vals[k].n),
                      "txn_put");
            if (!strcmp(p->kind, "commit"))
                check(cellar_txn_commit(t), "txn_commit");
            else
                cellar_txn_abort(t);
        }
    }
    check(cellar_close(db), "close");
    return 0;
}

/* Checks one file; on failure writes the reason to why and returns 1. */
static int verify(const op *ops, size_t n, const char *path, char *why, size_t whylen) {
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_RDONLY;
    int rc = cellar_open(&db, path, &o);
    if (rc != CELLAR_OK) {
        snprintf(why, whylen, "open: %s", cellar_errname(rc));
        return 1;
    }
    uint64_t present = 0;
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        const op *p = &ops[i];
        int absent = !strcmp(p->kind, "abort");
        for (size_t k = 0; k < p->npairs && !bad; k++) {
            const bytes *key = &p->keys[k], *want = &p->vals[k];
            void *v = NULL;
            size_t vn = 0;
            rc = cellar_get(db, key->p, key->n, &v, &vn);
            if (absent) {
                if (rc != CELLAR_ENOTFOUND) {
                    snprintf(why, whylen, "key %zu of the aborted transaction: %s", k,
                             cellar_errname(rc));
                    bad = 1;
                }
            } else if (rc != CELLAR_OK) {
                snprintf(why, whylen, "%.7s record (%zu-byte key): %s", p->kind, key->n,
                         cellar_errname(rc));
                bad = 1;
            } else if (vn != want->n || (vn && memcmp(v, want->p, vn))) {
                snprintf(why, whylen, "%.7s record (%zu-byte key): %zu-byte value differs "
                         "(want %zu bytes)", p->kind, key->n, vn, want->n);
                bad = 1;
            } else {
                present++;
            }
            cellar_free(v);
            if (!bad && !strcmp(p->kind, "ttl")) {
                int64_t left = 0;
                rc = cellar_ttl(db, key->p, key->n, &left);
                if (rc != CELLAR_OK || left <= 0 || (uint64_t)left > p->ttl_ms) {
                    snprintf(why, whylen, "ttl of the TTL record: rc %s, %lld ms left",
                             cellar_errname(rc), (long long)left);
                    bad = 1;
                }
            }
        }
    }
    uint64_t count = 0;
    if (!bad) {
        rc = cellar_count(db, &count);
        if (rc != CELLAR_OK || count != present) {
            snprintf(why, whylen, "count %llu, want %llu", (unsigned long long)count,
                     (unsigned long long)present);
            bad = 1;
        }
    }
    cellar_close(db);
    return bad;
}

int main(int argc, char **argv) {
    static op ops[64];
    if (argc < 4 || (strcmp(argv[1], "write") && strcmp(argv[1], "read"))) {
        fprintf(stderr, "usage: interop_c write PLAN DB | read PLAN DB...\n");
        return 2;
    }
    size_t n = read_plan(argv[2], ops, 64);
    if (!strcmp(argv[1], "write")) return do_write(ops, n, argv[3]);
    int failed = 0;
    for (int i = 3; i < argc; i++) {
        char why[512] = "";
        if (verify(ops, n, argv[i], why, sizeof why)) {
            printf("FAIL %s: %s\n", argv[i], why);
            failed = 1;
        } else {
            printf("PASS %s\n", argv[i]);
        }
    }
    return failed;
}
