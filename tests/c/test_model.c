/*
 * test_model.c - a model-based random test: a million random operations
 * (put, get, delete, exists, transactions committed and aborted, key and value
 * sizes from 0 to large) checked against an in-memory model, with the file
 * closed and reopened at random points and a full comparison (count,
 * iteration, every key) after each reopen.
 */
#include "model.h"

#include <stdio.h>
#include <unistd.h>

#define NKEYS 4000u

static size_t val_len(tu_rng *r)
{
    uint64_t p = tu_below(r, 1000);
    if (p < 30)
        return 0;
    if (p < 700)
        return tu_below(r, 120);
    if (p < 990)
        return 120 + tu_below(r, 2500);
    return 3000 + tu_below(r, 120000); /* out of line */
}

/* Which model key is this byte string? (keys are unique per id) */
static long key_id(const uint8_t *k, size_t n)
{
    uint8_t buf[600];
    if (n > 5 && memcmp(k, "key-", 4) == 0) {
        char tmp[32];
        size_t m = n < 31 ? n : 31;
        memcpy(tmp, k, m);
        tmp[m] = 0;
        long id = strtol(tmp + 4, NULL, 10);
        if (id >= 0 && id < (long)NKEYS && mkey((size_t)id, buf) == n && memcmp(buf, k, n) == 0)
            return id;
    }
    for (size_t id = 0; id < NKEYS; id++)
        if (mkey(id, buf) == n && (n == 0 || memcmp(buf, k, n) == 0))
            return (long)id;
    return -1;
}

static void verify_all(cellar_db *db, const model *md)
{
    uint64_t n = 0;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, model_count(md));
    /* iteration yields every key once, with its value */
    unsigned char *seen = calloc(NKEYS, 1);
    cellar_iter *it;
    TU_OK(cellar_iter_open(&it, db));
    const void *k, *v;
    size_t kl, vl;
    int rc;
    size_t yielded = 0;
    while ((rc = cellar_iter_next(it, &k, &kl, &v, &vl)) == CELLAR_OK) {
        long id = key_id(k, kl);
        ck_assert_msg(id >= 0, "iteration yielded an unknown key");
        ck_assert_msg(!seen[id], "key %ld yielded twice", id);
        seen[id] = 1;
        ck_assert_msg(md->m[id].present, "key %ld yielded but deleted", id);
        ck_assert_uint_eq(vl, md->m[id].n);
        ck_assert(vl == 0 || memcmp(v, md->m[id].v, vl) == 0);
        yielded++;
    }
    TU_RC(rc, CELLAR_ENOTFOUND);
    cellar_iter_close(it);
    ck_assert_uint_eq(yielded, model_count(md));
    free(seen);
    uint64_t problems = 0;
    TU_OK(cellar_check(db, NULL, NULL, NULL, &problems));
}

static void run_model(uint32_t page_size, size_t nops, uint64_t seed, size_t cache)
{
    const char *path = tu_path(page_size == 4096 ? "model4k.db" : "model.db");
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.page_size = page_size;
    o.cache_size = cache;
    o.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    cellar_db *db;
    TU_OK(cellar_open(&db, path, &o));
    o.flags = CELLAR_CREATE;
    model md;
    model_init(&md, NKEYS);
    tu_rng r = { seed };
    uint8_t kbuf[600];
    uint8_t *vbuf = malloc(130000);
    size_t reopens = 0, txns = 0;
    for (size_t i = 0; i < nops; i++) {
        uint64_t p = tu_below(&r, 1000);
        size_t k = tu_below(&r, NKEYS);
        size_t kl = mkey(k, kbuf);
        if (p < 420) {
            size_t vl = val_len(&r);
            mfill(&r, vbuf, vl);
            TU_OK(cellar_put(db, kbuf, kl, vbuf, vl));
            model_set(&md, k, vbuf, vl);
        } else if (p < 700) {
            void *out;
            size_t ol;
            int rc = cellar_get(db, kbuf, kl, &out, &ol);
            if (md.m[k].present) {
                TU_OK(rc);
                ck_assert_uint_eq(ol, md.m[k].n);
                ck_assert(ol == 0 || memcmp(out, md.m[k].v, ol) == 0);
                cellar_free(out);
            } else {
                TU_RC(rc, CELLAR_ENOTFOUND);
            }
        } else if (p < 850) {
            TU_RC(cellar_delete(db, kbuf, kl), md.m[k].present ? CELLAR_OK : CELLAR_ENOTFOUND);
            model_del(&md, k);
        } else if (p < 900) {
            TU_RC(cellar_exists(db, kbuf, kl), md.m[k].present ? CELLAR_OK : CELLAR_ENOTFOUND);
        } else if (p < 999) {
            /* a transaction of 1..12 ops, committed (80%) or aborted */
            cellar_txn *t;
            TU_OK(cellar_txn_begin(&t, db, 0));
            model tx; /* the transaction's view of touched keys */
            size_t nops_t = 1 + tu_below(&r, 12), touched[12];
            int kinds[12];
            size_t vls[12];
            uint8_t *vals[12];
            for (size_t j = 0; j < nops_t; j++) {
                touched[j] = tu_below(&r, NKEYS);
                kl = mkey(touched[j], kbuf);
                kinds[j] = (int)tu_below(&r, 3);
                vals[j] = NULL;
                vls[j] = 0;
                if (kinds[j] == 0) {
                    vls[j] = val_len(&r) % 5000;
                    vals[j] = malloc(vls[j] ? vls[j] : 1);
                    mfill(&r, vals[j], vls[j]);
                    TU_OK(cellar_txn_put(t, kbuf, kl, vals[j], vls[j]));
                } else if (kinds[j] == 1) {
                    int rc = cellar_txn_delete(t, kbuf, kl);
                    ck_assert(rc == CELLAR_OK || rc == CELLAR_ENOTFOUND);
                } else {
                    void *out;
                    size_t ol;
                    int rc = cellar_txn_get(t, kbuf, kl, &out, &ol);
                    /* own writes first */
                    long last = -1;
                    for (size_t q = 0; q < j; q++)
                        if (touched[q] == touched[j] && kinds[q] != 2)
                            last = (long)q;
                    if (last >= 0 && kinds[last] == 0) {
                        TU_OK(rc);
                        ck_assert_uint_eq(ol, vls[last]);
                        ck_assert(ol == 0 || memcmp(out, vals[last], ol) == 0);
                        cellar_free(out);
                    } else if (last >= 0) {
                        TU_RC(rc, CELLAR_ENOTFOUND);
                    } else if (md.m[touched[j]].present) {
                        TU_OK(rc);
                        ck_assert_uint_eq(ol, md.m[touched[j]].n);
                        cellar_free(out);
                    } else {
                        TU_RC(rc, CELLAR_ENOTFOUND);
                    }
                }
            }
            (void)tx;
            if (tu_below(&r, 5) == 0) {
                cellar_txn_abort(t);
            } else {
                TU_OK(cellar_txn_commit(t));
                for (size_t j = 0; j < nops_t; j++) {
                    if (kinds[j] == 0)
                        model_set(&md, touched[j], vals[j], vls[j]);
                    else if (kinds[j] == 1)
                        model_del(&md, touched[j]);
                }
                txns++;
            }
            for (size_t j = 0; j < nops_t; j++)
                free(vals[j]);
        } else if (tu_below(&r, 5) != 0) {
            /* batch read and write */
            cellar_slice ks[4], vs[4];
            uint8_t kb[4][600];
            size_t ids[4];
            for (int j = 0; j < 4; j++) {
                ids[j] = tu_below(&r, NKEYS);
                ks[j].len = mkey(ids[j], kb[j]);
                ks[j].data = kb[j];
            }
            unsigned char found[4];
            TU_OK(cellar_get_many(db, 4, ks, vs, found));
            for (int j = 0; j < 4; j++) {
                ck_assert_int_eq(found[j], md.m[ids[j]].present);
                if (found[j]) {
                    ck_assert_uint_eq(vs[j].len, md.m[ids[j]].n);
                    ck_assert(vs[j].len == 0 || memcmp(vs[j].data, md.m[ids[j]].v, vs[j].len) == 0);
                }
                cellar_free((void *)vs[j].data);
            }
            if (ids[0] != ids[1]) {
                cellar_slice pv[2] = { { "a", 1 }, { "", 0 } };
                TU_OK(cellar_put_many(db, 2, ks, pv));
                model_set(&md, ids[0], (const uint8_t *)"a", 1);
                model_set(&md, ids[1], (const uint8_t *)"", 0);
            }
        } else {
            /* close and reopen, then compare everything */
            TU_OK(cellar_close(db));
            TU_OK(cellar_open(&db, path, &o));
            verify_all(db, &md);
            reopens++;
        }
    }
    verify_all(db, &md);
    TU_OK(cellar_close(db));
    TU_OK(cellar_open(&db, path, &o));
    verify_all(db, &md);
    TU_OK(cellar_close(db));
    printf("model: %zu ops, page %u, %zu reopens, %zu transactions committed\n", nops, page_size, reopens, txns);
    free(vbuf);
    model_free(&md);
}

START_TEST(model_4k_million)
{
    size_t n = 1000000;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    n = 200000; /* sanitizers make each op ~5x slower; the full run is in the plain build */
#endif
    if (tu_long())
        n *= 5;
    run_model(4096, n, 0x9e3779b97f4a7c15ULL, (size_t)2 << 20);
}
END_TEST

START_TEST(model_64k_small_cache)
{
    run_model(65536, 100000, 12345, (size_t)1 << 20);
}
END_TEST

START_TEST(model_16k_default_cache)
{
    run_model(16384, 100000, 777, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, model_4k_million);
    tcase_add_test(tc, model_64k_small_cache);
    tcase_add_test(tc, model_16k_default_cache);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
