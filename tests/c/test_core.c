/*
 * test_core.c - unit tests per layer (cache, wal, hash) and of the db API
 * (transactions, TTL, incr, cas, iteration, batch calls, backup, compact,
 * check, salvage, read-only opens, the in-process registry).
 */
#include "testutil.h"
#include "cellardb_vfs.h"
#include "cache/cache_int.h"
#include "db/db_int.h"
#include "hash/hash_int.h"
#include "wal/wal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cellar_db *open_new(const char *name, unsigned page_size)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    o.page_size = page_size;
    cellar_db *db = NULL;
    TU_OK(cellar_open(&db, tu_path(name), &o));
    return db;
}

static cellar_db *reopen(cellar_db *db, const char *name)
{
    TU_OK(cellar_close(db));
    TU_OK(cellar_open(&db, tu_path(name), NULL));
    return db;
}

static void expect_val(cellar_db *db, const void *k, size_t kl, const void *v, size_t vl)
{
    void *out;
    size_t ol;
    TU_OK(cellar_get(db, k, kl, &out, &ol));
    ck_assert_uint_eq(ol, vl);
    ck_assert(vl == 0 || memcmp(out, v, vl) == 0);
    cellar_free(out);
}

/* ------------------------------------------------------------------ */
/* cache                                                               */
/* ------------------------------------------------------------------ */

START_TEST(cache_reads_verifies_and_evicts)
{
    const cellar_vfs *vfs = cellar_vfs_posix();
    cellar_file *f;
    TU_OK(vfs->open(vfs, tu_path("cache.bin"), CELLAR_VFS_WRITE | CELLAR_VFS_CREATE, 0644, &f));
    cellar_cache *c;
    TU_OK(cellar_cache_open(&c, vfs, f, "cache.bin", 4096, 64 * 4096));
    cellar_cache_space_init(c);
    uint32_t first = 0;
    TU_OK(cellar_cache_page_alloc(c, 200, &first));
    for (uint32_t p = 0; p < 200; p++) {
        cellar_page *n;
        TU_OK(cellar_cache_new(c, first + p, &n));
        memset(n->data + 8, (int)p, 4088);
        cellar_cache_mark_dirty(c, n);
        cellar_cache_unpin(c, n);
        /* dirty pages are never evicted, only written back */
        if (p % 50 == 49) {
            ck_assert_uint_eq(cellar_cache_dirty(c), 50);
            TU_OK(cellar_cache_writeback(c, 0));
        }
    }
    ck_assert_uint_eq(cellar_cache_dirty(c), 0);
    cellar_page *held;
    TU_OK(cellar_cache_get(c, first + 5, &held)); /* pinned all along: must survive eviction */
    for (int round = 0; round < 3; round++)
        for (uint32_t p = 0; p < 200; p++) {
            cellar_page *x;
            TU_OK(cellar_cache_get(c, first + p, &x));
            ck_assert_int_eq(x->data[100], (uint8_t)p);
            cellar_cache_unpin(c, x);
        }
    ck_assert_int_eq(held->data[100], 5);
    cellar_cache_counters cc;
    cellar_cache_counters_get(c, &cc);
    ck_assert_uint_le(cc.frames, 64 + 50 + 16); /* capacity, a batch of dirty frames, slack */
    ck_assert_uint_gt(cc.misses, 200);
    cellar_cache_unpin(c, held);

    /* shadow paging: once a checkpoint refers to a page's place, a change
     * goes elsewhere and the checkpointed bytes stay; a second change before
     * the next checkpoint goes where the first went */
    cellar_space_meta sm;
    TU_OK(cellar_cache_checkpoint(c, &sm));
    TU_OK(cellar_cache_checkpoint_done(c, true, true));
    uint32_t at = cellar__phys_of(c, first + 7), fresh_at = 0;
    for (int change = 0; change < 2; change++) {
        cellar_page *x;
        TU_OK(cellar_cache_get(c, first + 7, &x));
        cellar__wrlock(&x->latch);
        x->data[100] = (uint8_t)(99 + change);
        cellar__rwunlock(&x->latch);
        cellar_cache_mark_dirty(c, x);
        cellar_cache_unpin(c, x);
        TU_OK(cellar_cache_writeback(c, 0));
        uint32_t now_at = cellar__phys_of(c, first + 7);
        ck_assert_uint_ne(now_at, at);
        if (change == 0)
            fresh_at = now_at;
        else
            ck_assert_uint_eq(now_at, fresh_at);
        uint8_t pg[4096];
        TU_OK(cellar_cache_read_raw(c, at, 0, pg, sizeof pg));
        ck_assert_int_eq(pg[100], 7);
        ck_assert(cellar__page_ok(pg, first + 7, 4096));
    }
    TU_OK(cellar_cache_checkpoint(c, &sm));
    TU_OK(cellar_cache_checkpoint_done(c, true, true));
    uint32_t bad_at = cellar__phys_of(c, first + 150);
    cellar_cache_close(c);

    /* the checkpoint reloads; a damaged page is reported with its number */
    uint8_t junk[4096];
    memset(junk, 7, sizeof junk);
    TU_OK(vfs->write(f, junk, 4096, (uint64_t)bad_at * 4096));
    uint64_t size = 0;
    TU_OK(vfs->size(f, &size));
    TU_OK(cellar_cache_open(&c, vfs, f, "cache.bin", 4096, 64 * 4096));
    TU_OK(cellar_cache_space_load(c, &sm, size / 4096));
    cellar_page *x, *bad;
    TU_OK(cellar_cache_get(c, first + 7, &x));
    ck_assert_int_eq(x->data[100], 100);
    cellar_cache_unpin(c, x);
    TU_RC(cellar_cache_get(c, first + 150, &bad), CELLAR_ECORRUPT);
    char want[32];
    snprintf(want, sizeof want, "page %u", first + 150);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, want));
    TU_RC(cellar_cache_get(c, 100000, &bad), CELLAR_ECORRUPT); /* no place in the file */
    cellar_cache_close(c);
    vfs->close(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* wal                                                                 */
/* ------------------------------------------------------------------ */

typedef struct seen {
    int n;
    char last[64];
} seen;

static int count_rec(void *ctx, const uint8_t *p, size_t len, uint64_t off)
{
    seen *s = ctx;
    (void)off;
    s->n++;
    size_t m = len < 63 ? len : 63;
    memcpy(s->last, p, m);
    s->last[m] = 0;
    return CELLAR_OK;
}

static int count_pages(void *ctx, uint32_t pgno, const uint8_t *img)
{
    int *n = ctx;
    (void)pgno;
    (void)img;
    (*n)++;
    return CELLAR_OK;
}

START_TEST(wal_append_scan_replay_torn_tail)
{
    const cellar_vfs *vfs = cellar_vfs_posix();
    const char *path = tu_path("w.log");
    cellar_wal *w;
    uint64_t resume;
    bool batch;
    TU_OK(cellar_wal_open(&w, vfs, path, 4096, 77, CELLAR_SYNC_FULL, false));
    TU_OK(cellar_wal_scan(w, &resume, &batch));
    char buf[64];
    uint64_t off, end = 0;
    for (int i = 0; i < 100; i++) {
        int n = snprintf(buf, sizeof buf, "record %d", i);
        cellar_wal_piece p[2] = { { buf, 4 }, { buf + 4, (size_t)n - 4 } };
        TU_OK(cellar_wal_append(w, p, 2, &off, &end));
    }
    TU_OK(cellar_wal_sync(w, end));
    TU_OK(cellar_wal_close(w));
    /* all 100 come back in order */
    TU_OK(cellar_wal_open(&w, vfs, path, 4096, 77, CELLAR_SYNC_FULL, false));
    TU_OK(cellar_wal_scan(w, &resume, &batch));
    ck_assert(!batch);
    seen s = { 0, "" };
    TU_OK(cellar_wal_replay(w, resume, count_rec, &s));
    ck_assert_int_eq(s.n, 100);
    ck_assert_str_eq(s.last, "record 99");
    TU_OK(cellar_wal_close(w));
    /* a torn tail: the last record loses its end */
    truncate(path, (off_t)(end - 3));
    TU_OK(cellar_wal_open(&w, vfs, path, 4096, 77, CELLAR_SYNC_FULL, false));
    TU_OK(cellar_wal_scan(w, &resume, &batch));
    s.n = 0;
    TU_OK(cellar_wal_replay(w, resume, count_rec, &s));
    ck_assert_int_eq(s.n, 99);
    ck_assert_str_eq(s.last, "record 98");
    /* a batch: its pages are found and replay resumes after it */
    uint8_t img[4096] = { 1 };
    TU_OK(cellar_wal_batch_begin(w));
    TU_OK(cellar_wal_batch_page(w, 3, img));
    TU_OK(cellar_wal_batch_page(w, 9, img));
    uint64_t at = cellar_wal_end(w);
    TU_OK(cellar_wal_batch_end(w, at));
    cellar_wal_piece p = { "after", 5 };
    TU_OK(cellar_wal_append(w, &p, 1, &off, &end));
    TU_OK(cellar_wal_sync(w, end));
    TU_OK(cellar_wal_close(w));
    TU_OK(cellar_wal_open(&w, vfs, path, 4096, 77, CELLAR_SYNC_FULL, false));
    TU_OK(cellar_wal_scan(w, &resume, &batch));
    ck_assert(batch);
    int pages = 0;
    TU_OK(cellar_wal_batch_pages(w, count_pages, &pages));
    ck_assert_int_eq(pages, 2);
    s.n = 0;
    TU_OK(cellar_wal_replay(w, resume, count_rec, &s));
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.last, "after");
    /* reset empties it */
    TU_OK(cellar_wal_reset(w));
    TU_OK(cellar_wal_close(w));
    TU_OK(cellar_wal_open(&w, vfs, path, 4096, 77, CELLAR_SYNC_FULL, false));
    TU_OK(cellar_wal_scan(w, &resume, &batch));
    s.n = 0;
    TU_OK(cellar_wal_replay(w, resume, count_rec, &s));
    ck_assert_int_eq(s.n, 0);
    TU_OK(cellar_wal_close(w));
    /* a log of another file is ignored */
    TU_OK(cellar_wal_open(&w, vfs, path, 4096, 78, CELLAR_SYNC_FULL, false));
    TU_OK(cellar_wal_scan(w, &resume, &batch));
    ck_assert(!cellar_wal_has_records(w));
    TU_OK(cellar_wal_close(w));
}
END_TEST

/* ------------------------------------------------------------------ */
/* hash                                                                */
/* ------------------------------------------------------------------ */

START_TEST(hash_splits_doubles_and_chains)
{
    cellar_db *db = open_new("chain.db", 4096);
    cellar_hash__set_max_depth(db->inst->hash, 2); /* force overflow chains */
    char k[32], v[200];
    for (int i = 0; i < 3000; i++) {
        int kl = snprintf(k, sizeof k, "c%d", i);
        memset(v, 'a' + i % 26, sizeof v);
        TU_OK(cellar_put(db, k, (size_t)kl, v, 50 + (size_t)(i % 150)));
    }
    cellar_stats st = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_stats_get(db, &st));
    ck_assert_uint_eq(st.global_depth, 2);
    ck_assert_uint_gt(st.overflow_pages, 0);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    for (int i = 0; i < 3000; i += 2) {
        int kl = snprintf(k, sizeof k, "c%d", i);
        TU_OK(cellar_delete(db, k, (size_t)kl));
    }
    db = reopen(db, "chain.db");
    for (int i = 0; i < 3000; i++) {
        int kl = snprintf(k, sizeof k, "c%d", i);
        memset(v, 'a' + i % 26, sizeof v);
        if (i % 2)
            expect_val(db, k, (size_t)kl, v, 50 + (size_t)(i % 150));
        else
            TU_RC(cellar_exists(db, k, (size_t)kl), CELLAR_ENOTFOUND);
    }
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
    /* without the cap: splits and doublings only */
    db = open_new("split.db", 4096);
    for (int i = 0; i < 20000; i++) {
        int kl = snprintf(k, sizeof k, "s%d", i);
        TU_OK(cellar_put(db, k, (size_t)kl, k, (size_t)kl));
    }
    TU_OK(cellar_stats_get(db, &st));
    ck_assert_uint_ge(st.global_depth, 7);
    ck_assert_uint_eq(st.overflow_pages, 0);
    ck_assert_uint_eq(st.records, 20000);
    ck_assert(st.fill_factor > 0.4 && st.fill_factor <= 1.0);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
}
END_TEST

START_TEST(large_values_and_edge_sizes)
{
    static const unsigned sizes[] = { 4096, 8192, 65536 };
    for (int s = 0; s < 3; s++) {
        cellar_db *db = open_new("sizes.db", sizes[s]);
        size_t n = 3 << 20;
        uint8_t *big = malloc(n);
        for (size_t i = 0; i < n; i++)
            big[i] = (uint8_t)(i * 31 + 7);
        uint8_t *bigkey = malloc(CELLAR_MAX_KEY_SIZE);
        memset(bigkey, 'K', CELLAR_MAX_KEY_SIZE);
        TU_OK(cellar_put(db, "", 0, "", 0));                          /* empty key, empty value */
        TU_OK(cellar_put(db, "e", 1, "", 0));
        TU_OK(cellar_put(db, "big", 3, big, n));
        TU_OK(cellar_put(db, bigkey, CELLAR_MAX_KEY_SIZE, "v", 1));   /* 64 KiB key */
        TU_OK(cellar_put(db, "edge", 4, big, sizes[s] / 4));          /* around the inline limit */
        TU_OK(cellar_put(db, "edge2", 5, big, sizes[s] / 4 - 40));
        TU_RC(cellar_put(db, bigkey, CELLAR_MAX_KEY_SIZE + 1, "v", 1), CELLAR_ETOOBIG);
        for (int pass = 0; pass < 2; pass++) {
            expect_val(db, "", 0, "", 0);
            expect_val(db, "e", 1, "", 0);
            expect_val(db, "big", 3, big, n);
            expect_val(db, bigkey, CELLAR_MAX_KEY_SIZE, "v", 1);
            expect_val(db, "edge", 4, big, sizes[s] / 4);
            expect_val(db, "edge2", 5, big, sizes[s] / 4 - 40);
            TU_RC(cellar_exists(db, "nope", 4), CELLAR_ENOTFOUND);
            db = reopen(db, "sizes.db");
        }
        /* overwrite a large value with a small one and back; delete */
        TU_OK(cellar_put(db, "big", 3, "small", 5));
        expect_val(db, "big", 3, "small", 5);
        TU_OK(cellar_put(db, "big", 3, big, n / 2));
        expect_val(db, "big", 3, big, n / 2);
        TU_OK(cellar_delete(db, bigkey, CELLAR_MAX_KEY_SIZE));
        TU_RC(cellar_delete(db, bigkey, CELLAR_MAX_KEY_SIZE), CELLAR_ENOTFOUND);
        uint64_t c;
        TU_OK(cellar_count(db, &c));
        ck_assert_uint_eq(c, 5);
        TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
        TU_OK(cellar_close(db));
        free(big);
        free(bigkey);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* db API                                                              */
/* ------------------------------------------------------------------ */

START_TEST(transactions_isolation_and_conflicts)
{
    cellar_db *db = open_new("txn.db", 0);
    TU_OK(cellar_put(db, "a", 1, "1", 1));
    cellar_txn *t1, *t2;
    TU_OK(cellar_txn_begin(&t1, db, 0));
    TU_OK(cellar_txn_put(t1, "b", 1, "2", 1));
    expect_val(db, "a", 1, "1", 1);
    TU_RC(cellar_exists(db, "b", 1), CELLAR_ENOTFOUND);      /* not visible before commit */
    void *out;
    size_t ol;
    TU_OK(cellar_txn_get(t1, "b", 1, &out, &ol));             /* own writes */
    ck_assert_uint_eq(ol, 1);
    cellar_free(out);
    TU_OK(cellar_txn_delete(t1, "a", 1));
    TU_RC(cellar_txn_exists(t1, "a", 1), CELLAR_ENOTFOUND);
    TU_RC(cellar_txn_delete(t1, "zz", 2), CELLAR_ENOTFOUND);
    TU_OK(cellar_txn_commit(t1));
    TU_RC(cellar_exists(db, "a", 1), CELLAR_ENOTFOUND);
    expect_val(db, "b", 1, "2", 1);
    /* abort drops everything */
    TU_OK(cellar_txn_begin(&t1, db, 0));
    TU_OK(cellar_txn_put(t1, "c", 1, "3", 1));
    cellar_txn_abort(t1);
    TU_RC(cellar_exists(db, "c", 1), CELLAR_ENOTFOUND);
    /* conflict: t1 reads b, t2 writes b and commits first */
    TU_OK(cellar_txn_begin(&t1, db, 0));
    TU_OK(cellar_txn_begin(&t2, db, 0));
    TU_OK(cellar_txn_get(t1, "b", 1, &out, &ol));
    cellar_free(out);
    TU_OK(cellar_txn_put(t2, "b", 1, "9", 1));
    TU_OK(cellar_txn_commit(t2));
    TU_OK(cellar_txn_put(t1, "d", 1, "4", 1));
    TU_RC(cellar_txn_commit(t1), CELLAR_ECONFLICT);
    TU_RC(cellar_exists(db, "d", 1), CELLAR_ENOTFOUND);      /* nothing of t1 applied */
    /* no conflict when the other commit touched other keys */
    TU_OK(cellar_txn_begin(&t1, db, 0));
    TU_OK(cellar_txn_get(t1, "b", 1, &out, &ol));
    cellar_free(out);
    TU_OK(cellar_put(db, "other", 5, "x", 1));
    TU_OK(cellar_txn_put(t1, "d", 1, "4", 1));
    TU_OK(cellar_txn_commit(t1));
    /* a single put is a one-op transaction: a reader of "b" conflicts with it */
    TU_OK(cellar_txn_begin(&t1, db, 0));
    TU_RC(cellar_txn_get(t1, "nokey", 5, &out, &ol), CELLAR_ENOTFOUND);
    TU_OK(cellar_put(db, "nokey", 5, "now", 3));
    TU_RC(cellar_txn_commit(t1), CELLAR_ECONFLICT);           /* read-only txns validate too */
    /* read-only transactions refuse writes */
    TU_OK(cellar_txn_begin(&t1, db, CELLAR_RDONLY));
    TU_RC(cellar_txn_put(t1, "x", 1, "y", 1), CELLAR_EREADONLY);
    cellar_txn_abort(t1);
    /* a transaction survives a reopen of nothing: commit after many writes */
    TU_OK(cellar_txn_begin(&t1, db, 0));
    char k[16];
    for (int i = 0; i < 5000; i++) {
        int kl = snprintf(k, sizeof k, "t%d", i);
        TU_OK(cellar_txn_put(t1, k, (size_t)kl, k, (size_t)kl));
    }
    TU_OK(cellar_txn_commit(t1));
    db = reopen(db, "txn.db");
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 5000 + 4); /* b, d, other, nokey */
    TU_OK(cellar_close(db));
}
END_TEST

static uint64_t fake_now = 1000000;
static uint64_t fake_clock(void *p)
{
    (void)p;
    return fake_now;
}

START_TEST(ttl_with_fake_clock)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    o.clock = fake_clock;
    cellar_db *db;
    TU_OK(cellar_open(&db, tu_path("ttl.db"), &o));
    TU_OK(cellar_put_ttl(db, "t", 1, "v", 1, 500));
    TU_OK(cellar_put(db, "p", 1, "v", 1));
    int64_t ttl;
    TU_OK(cellar_ttl(db, "t", 1, &ttl));
    ck_assert_int_eq(ttl, 500);
    TU_OK(cellar_ttl(db, "p", 1, &ttl));
    ck_assert_int_eq(ttl, -1);
    TU_RC(cellar_ttl(db, "x", 1, &ttl), CELLAR_ENOTFOUND);
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 2);
    fake_now += 499;
    expect_val(db, "t", 1, "v", 1);
    fake_now += 1;
    TU_RC(cellar_exists(db, "t", 1), CELLAR_ENOTFOUND);       /* expired: never returned */
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 1);                                  /* or counted */
    cellar_iter *it;
    TU_OK(cellar_iter_open(&it, db));
    const void *k;
    size_t kl;
    int seen = 0;
    while (cellar_iter_next(it, &k, &kl, NULL, NULL) == CELLAR_OK)
        seen++;
    cellar_iter_close(it);
    ck_assert_int_eq(seen, 1);
    /* expire / persist */
    TU_OK(cellar_expire(db, "p", 1, 100));
    TU_OK(cellar_ttl(db, "p", 1, &ttl));
    ck_assert_int_eq(ttl, 100);
    TU_OK(cellar_persist(db, "p", 1));
    TU_OK(cellar_ttl(db, "p", 1, &ttl));
    ck_assert_int_eq(ttl, -1);
    TU_RC(cellar_expire(db, "gone", 4, 100), CELLAR_ENOTFOUND);
    TU_OK(cellar_expire(db, "p", 1, 0));                      /* 0: at once */
    TU_RC(cellar_exists(db, "p", 1), CELLAR_ENOTFOUND);
    /* TTL survives a reopen; incr keeps it */
    TU_OK(cellar_put_ttl(db, "c", 1, "5", 1, 1000));
    TU_OK(cellar_incr(db, "c", 1, 2, NULL));
    TU_OK(cellar_ttl(db, "c", 1, &ttl));
    ck_assert_int_eq(ttl, 1000);
    TU_OK(cellar_close(db));
    o.flags = CELLAR_CREATE;
    TU_OK(cellar_open(&db, tu_path("ttl.db"), &o));
    expect_val(db, "c", 1, "7", 1);
    TU_OK(cellar_ttl(db, "c", 1, &ttl));
    ck_assert_int_eq(ttl, 1000);
    /* the sweep reclaims expired records: many TTL keys, clock moves on */
    char key[16];
    for (int i = 0; i < 2000; i++) {
        int len = snprintf(key, sizeof key, "x%d", i);
        TU_OK(cellar_put_ttl(db, key, (size_t)len, "v", 1, 10));
    }
    fake_now += 100;
    for (int i = 0; i < 20000; i++)
        TU_OK(cellar_put(db, "tick", 4, "t", 1));
    cellar_stats st = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_stats_get(db, &st));
    ck_assert_uint_lt(st.records, 2000); /* some swept (records counts unswept ones) */
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 2);             /* "tick" and "c" (1000 ms) are live */
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
}
END_TEST

START_TEST(incr_and_cas)
{
    cellar_db *db = open_new("incr.db", 0);
    int64_t v;
    TU_OK(cellar_incr(db, "n", 1, 5, &v));
    ck_assert_int_eq(v, 5);
    TU_OK(cellar_incr(db, "n", 1, -7, &v));
    ck_assert_int_eq(v, -2);
    expect_val(db, "n", 1, "-2", 2);
    TU_OK(cellar_put(db, "s", 1, "abc", 3));
    TU_RC(cellar_incr(db, "s", 1, 1, &v), CELLAR_ENAN);
    TU_OK(cellar_put(db, "s", 1, "", 0));
    TU_RC(cellar_incr(db, "s", 1, 1, &v), CELLAR_ENAN);
    TU_OK(cellar_put(db, "s", 1, "12x", 3));
    TU_RC(cellar_incr(db, "s", 1, 1, &v), CELLAR_ENAN);
    TU_OK(cellar_put(db, "m", 1, "9223372036854775807", 19));
    TU_RC(cellar_incr(db, "m", 1, 1, &v), CELLAR_EOVERFLOW);
    TU_OK(cellar_incr(db, "m", 1, -1, &v));
    ck_assert_int_eq(v, INT64_MAX - 1);
    TU_OK(cellar_put(db, "m", 1, "-9223372036854775808", 20));
    TU_RC(cellar_incr(db, "m", 1, -1, &v), CELLAR_EOVERFLOW);
    TU_OK(cellar_put(db, "m", 1, "99999999999999999999", 20));
    TU_RC(cellar_incr(db, "m", 1, 1, &v), CELLAR_ENAN);
    /* cas */
    TU_OK(cellar_cas(db, "k", 1, NULL, 0, "a", 1));          /* only if absent */
    TU_RC(cellar_cas(db, "k", 1, NULL, 0, "b", 1), CELLAR_EMISMATCH);
    TU_RC(cellar_cas(db, "k", 1, "x", 1, "b", 1), CELLAR_EMISMATCH);
    TU_OK(cellar_cas(db, "k", 1, "a", 1, "b", 1));
    expect_val(db, "k", 1, "b", 1);
    TU_OK(cellar_cas(db, "k", 1, "b", 1, NULL, 0));          /* delete */
    TU_RC(cellar_exists(db, "k", 1), CELLAR_ENOTFOUND);
    TU_RC(cellar_cas(db, "k", 1, "b", 1, "c", 1), CELLAR_EMISMATCH);
    TU_OK(cellar_put(db, "e", 1, "", 0));
    TU_OK(cellar_cas(db, "e", 1, "", 0, "full", 4));         /* empty value is not absent */
    TU_OK(cellar_close(db));
}
END_TEST

START_TEST(iteration_batch_stats)
{
    cellar_db *db = open_new("iter.db", 0);
    enum { N = 10000 };
    cellar_slice ks[100], vs[100];
    char kb[100][16];
    for (int b = 0; b < N / 100; b++) {
        for (int i = 0; i < 100; i++) {
            int len = snprintf(kb[i], 16, "k%d", b * 100 + i);
            ks[i] = (cellar_slice){ kb[i], (size_t)len };
            vs[i] = (cellar_slice){ kb[i], (size_t)len };
        }
        TU_OK(cellar_put_many(db, 100, ks, vs));
    }
    unsigned char *seen = calloc(N, 1);
    cellar_iter *it;
    TU_OK(cellar_iter_open(&it, db));
    const void *k, *v;
    size_t kl, vl;
    int rc, count = 0;
    while ((rc = cellar_iter_next(it, &k, &kl, &v, &vl)) == CELLAR_OK) {
        ck_assert_uint_eq(kl, vl);
        ck_assert(memcmp(k, v, kl) == 0);
        int id = atoi((const char *)k + 1);
        ck_assert(!seen[id]);
        seen[id] = 1;
        count++;
    }
    TU_RC(rc, CELLAR_ENOTFOUND);
    TU_RC(cellar_iter_next(it, &k, &kl, &v, &vl), CELLAR_ENOTFOUND); /* stays at the end */
    cellar_iter_close(it);
    ck_assert_int_eq(count, N);
    free(seen);
    unsigned char found[3];
    cellar_slice q[3] = { { "k1", 2 }, { "nope", 4 }, { "k9999", 5 } }, out[3];
    TU_OK(cellar_get_many(db, 3, q, out, found));
    ck_assert(found[0] && !found[1] && found[2]);
    ck_assert(out[1].data == NULL);
    for (int i = 0; i < 3; i++)
        cellar_free((void *)out[i].data);
    cellar_stats st = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_checkpoint(db));
    TU_OK(cellar_stats_get(db, &st));
    ck_assert_uint_eq(st.records, N);
    ck_assert_uint_eq(st.page_size, 4096);
    ck_assert_uint_gt(st.bucket_pages, 10);
    ck_assert_uint_ge(st.file_size, st.pages * 4096);
    st.version = 99;
    TU_RC(cellar_stats_get(db, &st), CELLAR_EINVAL);
    /* an empty database iterates nothing */
    TU_OK(cellar_close(db));
    db = open_new("empty.db", 0);
    TU_OK(cellar_iter_open(&it, db));
    TU_RC(cellar_iter_next(it, &k, &kl, &v, &vl), CELLAR_ENOTFOUND);
    cellar_iter_close(it);
    TU_OK(cellar_close(db));
}
END_TEST

static int progress_calls;
static int on_progress(uint64_t done, uint64_t total, void *p)
{
    (void)done;
    (void)total;
    (void)p;
    progress_calls++;
    return 0;
}

START_TEST(backup_compact_check_salvage)
{
    cellar_db *db = open_new("maint.db", 0);
    char k[16];
    uint8_t v[500];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < 20000; i++) {
        int len = snprintf(k, sizeof k, "m%d", i);
        TU_OK(cellar_put(db, k, (size_t)len, v, 300));
    }
    uint8_t *big = malloc(1 << 20);
    memset(big, 'B', 1 << 20);
    TU_OK(cellar_put(db, "big", 3, big, 1 << 20));
    /* backup while the db stays usable; the copy opens on its own */
    progress_calls = 0;
    TU_OK(cellar_backup(db, tu_path("backup.db"), on_progress, NULL));
    ck_assert_int_gt(progress_calls, 0);
    TU_RC(cellar_backup(db, tu_path("maint.db"), NULL, NULL), CELLAR_EINVAL);
    TU_OK(cellar_put(db, "after", 5, "x", 1));
    cellar_db *b;
    TU_OK(cellar_open(&b, tu_path("backup.db"), NULL));
    uint64_t n;
    TU_OK(cellar_count(b, &n));
    ck_assert_uint_eq(n, 20001);
    expect_val(b, "big", 3, big, 1 << 20);
    TU_OK(cellar_check(b, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(b));
    /* delete most, compact: the file shrinks and everything left is there */
    for (int i = 0; i < 20000; i++)
        if (i % 10) {
            int len = snprintf(k, sizeof k, "m%d", i);
            TU_OK(cellar_delete(db, k, (size_t)len));
        }
    TU_OK(cellar_delete(db, "big", 3));
    TU_OK(cellar_checkpoint(db));
    cellar_stats before = { .version = CELLAR_STATS_VERSION }, after = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_stats_get(db, &before));
    progress_calls = 0;
    TU_OK(cellar_compact(db, on_progress, NULL));
    TU_OK(cellar_stats_get(db, &after));
    ck_assert_uint_lt(after.file_size, before.file_size / 3);
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 2001);
    for (int i = 0; i < 20000; i += 10) {
        int len = snprintf(k, sizeof k, "m%d", i);
        expect_val(db, k, (size_t)len, v, 300);
    }
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_put(db, "post", 4, "compact", 7));
    db = reopen(db, "maint.db");
    expect_val(db, "post", 4, "compact", 7);
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 2002);
    TU_OK(cellar_close(db));
    /* damage a bucket page: check reports it by number; salvage copies the rest */
    int fd = open(tu_path("maint.db"), O_RDWR);
    struct stat sb;
    fstat(fd, &sb);
    uint8_t pg[4096];
    int damaged = -1;
    for (off_t p = 1; p * 4096 < sb.st_size; p++) {
        pread(fd, pg, 4096, p * 4096);
        if (pg[4] == CELLAR_PAGE_BUCKET && cellar__get16(pg + 6) > 3) {
            pg[200] ^= 0xff;
            pwrite(fd, pg, 4096, p * 4096);
            damaged = (int)p;
            break;
        }
    }
    close(fd);
    ck_assert_int_gt(damaged, 0);
    TU_OK(cellar_open(&db, tu_path("maint.db"), NULL));
    uint64_t problems = 0;
    TU_RC(cellar_check(db, NULL, NULL, NULL, &problems), CELLAR_ECORRUPT);
    ck_assert_uint_ge(problems, 1);
    TU_OK(cellar_close(db));
    uint64_t copied = 0;
    TU_OK(cellar_salvage(tu_path("maint.db"), tu_path("salvaged.db"), NULL, NULL, &copied));
    ck_assert_uint_gt(copied, 1500);
    ck_assert_uint_lt(copied, 2002);
    TU_OK(cellar_open(&db, tu_path("salvaged.db"), NULL));
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, copied);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
    free(big);
}
END_TEST

START_TEST(readonly_registry_and_lifetime)
{
    cellar_db *db = open_new("ro.db", 0);
    TU_OK(cellar_put(db, "k", 1, "v", 1));
    /* a second open in this process shares the database */
    cellar_db *db2;
    TU_OK(cellar_open(&db2, tu_path("ro.db"), NULL));
    expect_val(db2, "k", 1, "v", 1);
    TU_OK(cellar_put(db2, "k2", 2, "v2", 2));
    expect_val(db, "k2", 2, "v2", 2);
    /* a read-only handle to the shared instance refuses writes */
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_RDONLY;
    cellar_db *ro;
    TU_OK(cellar_open(&ro, tu_path("ro.db"), &o));
    TU_RC(cellar_put(ro, "x", 1, "y", 1), CELLAR_EREADONLY);
    expect_val(ro, "k", 1, "v", 1);
    TU_OK(cellar_close(ro));
    TU_OK(cellar_close(db2));
    expect_val(db, "k2", 2, "v2", 2);
    /* closing with live children: they become dead */
    cellar_txn *t;
    cellar_iter *it;
    TU_OK(cellar_txn_begin(&t, db, 0));
    TU_OK(cellar_iter_open(&it, db));
    TU_OK(cellar_close(db));
    TU_RC(cellar_txn_put(t, "a", 1, "b", 1), CELLAR_ECLOSED);
    TU_RC(cellar_iter_next(it, NULL, NULL, NULL, NULL), CELLAR_ECLOSED);
    TU_RC(cellar_txn_commit(t), CELLAR_ECLOSED);             /* frees it */
    cellar_iter_close(it);
    /* read-only open of a closed file */
    TU_OK(cellar_open(&ro, tu_path("ro.db"), &o));
    expect_val(ro, "k2", 2, "v2", 2);
    /* the file is open read-only here: a write open is refused clearly */
    cellar_db *w;
    TU_RC(cellar_open(&w, tu_path("ro.db"), NULL), CELLAR_EINVAL);
    TU_OK(cellar_close(ro));
    TU_OK(cellar_close(NULL));
    /* missing file without CREATE */
    o.flags = 0;
    TU_RC(cellar_open(&w, tu_path("missing.db"), &o), CELLAR_ENOENT);
    o.flags = CELLAR_RDONLY;
    TU_RC(cellar_open(&w, tu_path("missing.db"), &o), CELLAR_ENOENT);
}
END_TEST

START_TEST(read_only_open_recovers_in_memory)
{
    /* a writer that "crashed" (its log was never checkpointed): simulate by
     * copying the file and log while it is open */
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    cellar_db *db;
    TU_OK(cellar_open(&db, tu_path("rw.db"), &o));
    char k[16];
    for (int i = 0; i < 3000; i++) {
        int len = snprintf(k, sizeof k, "r%d", i);
        TU_OK(cellar_put(db, k, (size_t)len, k, (size_t)len));
    }
    TU_OK(cellar_sync(db));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s-wal %s-wal", tu_path("rw.db"), tu_path("copy.db"),
             tu_path("rw.db"), tu_path("copy.db"));
    ck_assert_int_eq(system(cmd), 0);
    TU_OK(cellar_close(db));
    o.flags = CELLAR_RDONLY;
    TU_OK(cellar_open(&db, tu_path("copy.db"), &o));
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 3000);
    expect_val(db, "r2999", 5, "r2999", 5);
    TU_OK(cellar_close(db));
    /* and a read-write open recovers it for good */
    TU_OK(cellar_open(&db, tu_path("copy.db"), NULL));
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 3000);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cache_reads_verifies_and_evicts);
    tcase_add_test(tc, wal_append_scan_replay_torn_tail);
    tcase_add_test(tc, hash_splits_doubles_and_chains);
    tcase_add_test(tc, large_values_and_edge_sizes);
    suite_add_tcase(s, tc);
    TCase *api = tcase_create("api");
    tcase_set_timeout(api, 300);
    tcase_add_test(api, transactions_isolation_and_conflicts);
    tcase_add_test(api, ttl_with_fake_clock);
    tcase_add_test(api, incr_and_cas);
    tcase_add_test(api, iteration_batch_stats);
    tcase_add_test(api, backup_compact_check_salvage);
    tcase_add_test(api, readonly_registry_and_lifetime);
    tcase_add_test(api, read_only_open_recovers_in_memory);
    suite_add_tcase(s, api);
    return s;
}

int main(void) { return tu_run(suite()); }
