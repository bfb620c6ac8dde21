/*
 * fuzz_ops.c - run the input as a sequence of cellardb API operations over a
 * small key space and check every result against an in-memory model;
 * abort() on the first difference.
 *
 * Input: byte 0 picks the options (bit 0: 8 KiB pages; bit 1: a tiny log
 * limit, so checkpoints run by themselves; bit 2: sync=full). Then each
 * operation is one opcode byte followed by its argument bytes (missing
 * bytes read as 0). Keys are "k0".."k7"; small values come from the input,
 * large ones (out-of-line extents) are a pattern.
 *
 * The clock is fake (advanced by an opcode), so TTLs are exact. While a
 * transaction is open, reads and writes go through it (the only writer is
 * this thread, so commit never conflicts); reopen and crash abort it first.
 * "crash" is a process crash: every file write stops at once (the handle
 * cannot flush anything at close), then the fault vfs keeps every write
 * made (CELLAR_CRASH_KEEP) and the reopened database must hold every
 * acknowledged commit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define NK 8
#define MAXV 64
#define BIGV 6000 /* over a 4 KiB page: stored as an extent */
#define DB_PATH "ops.db"

typedef struct {
    int present;
    uint8_t val[BIGV];
    size_t len;
    uint64_t expiry; /* 0 = none */
} slot;

typedef struct {
    int written; /* 0 untouched, 1 put, 2 deleted */
    slot s;
} tslot;

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static slot model[NK];
static tslot tmodel[NK];
static uint64_t now_ms;

static uint64_t fake_clock(void *payload)
{
    (void)payload;
    return now_ms;
}

static uint8_t next(input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_ops: %s:%d: model mismatch: %s (last error: %s)\n", \
                    __FILE__, __LINE__, #cond, cellar_error_last()->message);  \
            abort();                                                           \
        }                                                                      \
    } while (0)

static int live(const slot *s) { return s->present && (s->expiry == 0 || s->expiry > now_ms); }

/* the value a reader sees: through the transaction when one is open */
static const slot *view(int k, int in_txn)
{
    if (in_txn && tmodel[k].written) {
        static slot none;
        return tmodel[k].written == 1 ? &tmodel[k].s : &none;
    }
    return &model[k];
}

static void read_value(input *in, uint8_t *buf, size_t *len)
{
    uint8_t b = next(in);
    if (b == 0xff) { /* a large value */
        uint8_t seed = next(in);
        for (size_t i = 0; i < BIGV; i++)
            buf[i] = (uint8_t)(seed + i * 7);
        *len = BIGV;
        return;
    }
    if (b >= 0xf0) { /* a decimal number, for incr */
        int n = snprintf((char *)buf, MAXV, "%d", (int)(int8_t)next(in) * (b - 0xef));
        *len = (size_t)n;
        return;
    }
    *len = b % (MAXV + 1);
    for (size_t i = 0; i < *len; i++)
        buf[i] = next(in);
}

static int parse_i64(const uint8_t *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 20)
        return 0;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        if (n == 1)
            return 0;
        i = 1;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

static void check_get(cellar_db *db, cellar_txn *txn, int k, const char *key)
{
    void *v = NULL;
    size_t vl = 0;
    int rc = txn ? cellar_txn_get(txn, key, 2, &v, &vl) : cellar_get(db, key, 2, &v, &vl);
    const slot *s = view(k, txn != NULL);
    if (live(s)) {
        CHECK(rc == CELLAR_OK);
        CHECK(vl == s->len && (vl == 0 || memcmp(v, s->val, vl) == 0));
        cellar_free(v);
    } else {
        CHECK(rc == CELLAR_ENOTFOUND);
    }
    rc = txn ? cellar_txn_exists(txn, key, 2) : cellar_exists(db, key, 2);
    CHECK(rc == (live(s) ? CELLAR_OK : CELLAR_ENOTFOUND));
}

static void check_all(cellar_db *db)
{
    int seen[NK] = { 0 };
    cellar_iter *it = NULL;
    CHECK(cellar_iter_open(&it, db) == CELLAR_OK);
    const void *k, *v;
    size_t kl, vl;
    int rc, n = 0;
    while ((rc = cellar_iter_next(it, &k, &kl, &v, &vl)) == CELLAR_OK) {
        const uint8_t *kb = k;
        CHECK(kl == 2 && kb[0] == 'k' && kb[1] >= '0' && kb[1] < '0' + NK);
        int i = kb[1] - '0';
        CHECK(!seen[i]);
        seen[i] = 1;
        n++;
        CHECK(live(&model[i]));
        CHECK(vl == model[i].len && (vl == 0 || memcmp(v, model[i].val, vl) == 0));
    }
    CHECK(rc == CELLAR_ENOTFOUND);
    cellar_iter_close(it);
    int want = 0;
    for (int i = 0; i < NK; i++)
        want += live(&model[i]);
    CHECK(n == want);
    uint64_t count = 0;
    CHECK(cellar_count(db, &count) == CELLAR_OK);
    CHECK(count == (uint64_t)want);
}

static cellar_db *open_db(cellar_options *o)
{
    cellar_db *db = NULL;
    int rc = cellar_open(&db, DB_PATH, o);
    CHECK(rc == CELLAR_OK);
    return db;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[BIGV], buf2[BIGV];
    input in = { data, size };
    memset(model, 0, sizeof model);
    memset(tmodel, 0, sizeof tmodel);
    now_ms = 1000000;

    cellar_fault *fs = NULL;
    if (cellar_vfs_fault_new(&fs) != CELLAR_OK)
        return 0;
    uint8_t cfg = next(&in);
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.vfs = cellar_vfs_fault_vfs(fs);
    o.clock = fake_clock;
    o.page_size = (cfg & 1) ? 8192 : 4096;
    o.wal_limit = (cfg & 2) ? 16384 : 0;
    o.sync = (cfg & 4) ? CELLAR_SYNC_FULL : CELLAR_SYNC_NORMAL;
    o.cache_size = 1u << 20;
    cellar_db *db = open_db(&o);
    cellar_txn *txn = NULL;

    for (unsigned steps = 0; in.n && steps < 2000; steps++) {
        uint8_t op = next(&in) % 20;
        int k = next(&in) % NK;
        char key[3] = { 'k', (char)('0' + k), 0 };
        slot *m = &model[k];
        int rc;
        size_t len;
        switch (op) {
        case 0: /* put */
        case 6: /* put with a TTL */
        case 19: { /* put with a large value */
            uint64_t ttl = op == 6 ? 1 + next(&in) : 0;
            if (op == 19) {
                memset(buf, 'a' + k, BIGV);
                len = BIGV;
            } else {
                read_value(&in, buf, &len);
            }
            slot *dst = txn ? &tmodel[k].s : m;
            rc = txn ? cellar_txn_put_ttl(txn, key, 2, buf, len, ttl)
                     : cellar_put_ttl(db, key, 2, buf, len, ttl);
            CHECK(rc == CELLAR_OK);
            if (txn)
                tmodel[k].written = 1;
            dst->present = 1;
            memcpy(dst->val, buf, len);
            dst->len = len;
            dst->expiry = ttl ? now_ms + ttl : 0;
            break;
        }
        case 1: case 3: case 18: /* get, exists */
            check_get(db, txn, k, key);
            break;
        case 2: { /* delete */
            int was = live(view(k, txn != NULL));
            rc = txn ? cellar_txn_delete(txn, key, 2) : cellar_delete(db, key, 2);
            CHECK(rc == (was ? CELLAR_OK : CELLAR_ENOTFOUND));
            if (txn) {
                tmodel[k].written = 2;
                tmodel[k].s.present = 0;
            } else {
                m->present = 0;
            }
            break;
        }
        case 4: { /* incr */
            int64_t delta = (int8_t)next(&in), out = 0, cur = 0;
            if (next(&in) == 0xff)
                delta = delta < 0 ? INT64_MIN : INT64_MAX;
            if (txn)
                break;
            rc = cellar_incr(db, key, 2, delta, &out);
            if (live(m) && !parse_i64(m->val, m->len, &cur)) {
                CHECK(rc == CELLAR_ENAN);
                break;
            }
            if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta)) {
                CHECK(rc == CELLAR_EOVERFLOW);
                break;
            }
            CHECK(rc == CELLAR_OK);
            CHECK(out == cur + delta);
            if (!live(m))
                m->expiry = 0;
            m->present = 1;
            m->len = (size_t)snprintf((char *)m->val, MAXV, "%" PRId64, out);
            break;
        }
        case 5: { /* cas: expected (absent, the current value, or other), new (value or delete) */
            uint8_t how = next(&in);
            const void *exp = NULL;
            size_t elen = 0;
            if (how & 1) {
                read_value(&in, buf2, &elen);
                if ((how & 2) && live(m)) {
                    memcpy(buf2, m->val, m->len);
                    elen = m->len;
                }
                exp = buf2;
            }
            read_value(&in, buf, &len);
            int del = (how & 4) != 0;
            if (txn)
                break;
            rc = cellar_cas(db, key, 2, exp, elen, del ? NULL : buf, len);
            int match = exp ? live(m) && m->len == elen && memcmp(m->val, exp, elen) == 0 : !live(m);
            CHECK(rc == (match ? CELLAR_OK : CELLAR_EMISMATCH));
            if (match) {
                if (del) {
                    m->present = 0;
                } else {
                    m->present = 1;
                    memcpy(m->val, buf, len);
                    m->len = len;
                    m->expiry = 0;
                }
            }
            break;
        }
        case 7: /* begin */
            if (txn)
                break;
            CHECK(cellar_txn_begin(&txn, db, 0) == CELLAR_OK);
            memset(tmodel, 0, sizeof tmodel);
            break;
        case 8: case 9: case 10: /* commit, abort, commit */
            if (!txn)
                break;
            if (op != 9) {
                CHECK(cellar_txn_commit(txn) == CELLAR_OK);
                for (int i = 0; i < NK; i++)
                    if (tmodel[i].written)
                        model[i] = tmodel[i].s;
            } else {
                cellar_txn_abort(txn);
            }
            txn = NULL;
            break;
        case 11: case 12: /* iterate, count */
            if (!txn)
                check_all(db);
            break;
        case 13: /* checkpoint */
            if (!txn)
                CHECK(cellar_checkpoint(db) == CELLAR_OK);
            break;
        case 14: case 15: /* reopen cleanly / after a process crash */
            cellar_txn_abort(txn);
            txn = NULL;
            if (op == 15)
                cellar_vfs_fault_arm(fs, CELLAR_FAULT_WRITE | CELLAR_FAULT_SYNC | CELLAR_FAULT_TRUNCATE,
                                     0, CELLAR_FAULT_CRASH, 1);
            rc = cellar_close(db);
            if (op == 14)
                CHECK(rc == CELLAR_OK);
            else
                cellar_vfs_fault_crash(fs, CELLAR_CRASH_KEEP, k);
            db = open_db(&o);
            check_all(db);
            break;
        case 16: /* time passes */
            if (!txn)
                now_ms += next(&in);
            break;
        case 17: { /* read-only transaction sees the committed state */
            if (txn)
                break;
            cellar_txn *r = NULL;
            CHECK(cellar_txn_begin(&r, db, CELLAR_RDONLY) == CELLAR_OK);
            void *v = NULL;
            size_t vl = 0;
            rc = cellar_txn_get(r, key, 2, &v, &vl);
            CHECK(rc == (live(m) ? CELLAR_OK : CELLAR_ENOTFOUND));
            if (rc == CELLAR_OK) {
                CHECK(vl == m->len && (vl == 0 || memcmp(v, m->val, vl) == 0));
                cellar_free(v);
            }
            CHECK(cellar_txn_commit(r) == CELLAR_OK);
            break;
        }
        }
    }
    cellar_txn_abort(txn);
    check_all(db);
    CHECK(cellar_close(db) == CELLAR_OK);
    /* one last reopen: a clean close keeps everything */
    db = open_db(&o);
    check_all(db);
    CHECK(cellar_close(db) == CELLAR_OK);
    cellar_vfs_fault_free(fs);
    return 0;
}
