/*
 * test_stats.c - cellar_stats_get from counters: the counters the index
 * keeps (records, bucket, chain and value pages, used bytes) equal what a
 * walk of every page finds, after every kind of change (small and large
 * values, overwrites between the two, deletes, TTL expiry and the sweep,
 * chains, compaction), across a reopen and across a crash recovered by
 * replaying the log; cellar_check reports a counter that drifts; and
 * cellar_stats_get reads no page at all (the cache sees neither a hit nor a
 * miss), which is what makes it O(1).
 */
#include "testutil.h"
#include "cache/cache.h"
#include "db/db_int.h"
#include "hash/hash_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t fake_now = 1000000;
static uint64_t fake_clock(void *p)
{
    (void)p;
    return fake_now;
}

static cellar_db *open_db(const char *name, unsigned flags, size_t cache_size, int sync)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = flags;
    o.clock = fake_clock;
    o.cache_size = cache_size;
    o.sync = sync;
    cellar_db *db = NULL;
    TU_OK(cellar_open(&db, tu_path(name), &o));
    return db;
}

static void print_problem(uint64_t page, const char *message, void *payload)
{
    (void)payload;
    printf("check: page %llu: %s\n", (unsigned long long)page, message);
}

/* Stats from the counters equal the walked truth, and check agrees. */
static cellar_stats expect_counted(cellar_db *db, const char *when)
{
    cellar_stats st = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_stats_get(db, &st));
    cellar_hash_stats w;
    TU_OK(cellar_hash_stats_get(db->inst->hash, &w));
    ck_assert_msg(st.bucket_pages == w.bucket_pages, "%s: bucket pages %llu, walked %llu", when,
                  (unsigned long long)st.bucket_pages, (unsigned long long)w.bucket_pages);
    ck_assert_msg(st.overflow_pages == w.chain_pages, "%s: chain pages %llu, walked %llu", when,
                  (unsigned long long)st.overflow_pages, (unsigned long long)w.chain_pages);
    ck_assert_msg(st.value_pages == w.value_pages, "%s: value pages %llu, walked %llu", when,
                  (unsigned long long)st.value_pages, (unsigned long long)w.value_pages);
    ck_assert_uint_eq(st.directory_pages, w.dir_pages);
    ck_assert_uint_eq(st.free_pages, w.free_pages);
    double fill = w.capacity_bytes ? (double)w.used_bytes / (double)w.capacity_bytes : 0.0;
    ck_assert_msg(st.fill_factor == fill, "%s: fill factor %.6f, walked %.6f", when, st.fill_factor, fill);
    ck_assert(st.fill_factor >= 0.0 && st.fill_factor <= 1.0);
    uint64_t problems = 0;
    int rc = cellar_check(db, print_problem, NULL, NULL, &problems);
    ck_assert_msg(rc == CELLAR_OK && problems == 0, "%s: check found %llu problem(s)", when,
                  (unsigned long long)problems);
    return st;
}

static size_t key_of(char *k, const char *prefix, unsigned i)
{
    return (size_t)snprintf(k, 32, "%s%u", prefix, i);
}

/* 1 in 8 values out of line (up to ~5 pages), the rest small, sizes varied. */
static size_t value_len(unsigned i, unsigned round)
{
    unsigned x = i * 2654435761u + round * 40503u;
    return (x % 8) == 0 ? 1200 + x % 20000 : 1 + x % 300;
}

static void put_val(cellar_db *db, const char *k, size_t kl, size_t vl, uint8_t *buf, uint64_t ttl)
{
    memset(buf, (int)(kl + vl), vl);
    if (ttl)
        TU_OK(cellar_put_ttl(db, k, kl, buf, vl, ttl));
    else
        TU_OK(cellar_put(db, k, kl, buf, vl));
}

/* The workload, in rounds: rounds after the first overwrite (sizes change
 * between inline and out of line both ways), delete, and let TTLs expire. */
static void churn(cellar_db *db, unsigned n, unsigned round, uint8_t *buf)
{
    char k[32];
    for (unsigned i = 0; i < n; i++) {
        size_t kl = key_of(k, "k", i);
        if (round && i % 5 == round % 5) {
            int rc = cellar_delete(db, k, kl);
            ck_assert(rc == CELLAR_OK || rc == CELLAR_ENOTFOUND);
            continue;
        }
        put_val(db, k, kl, value_len(i, round), buf, 0);
    }
    /* TTL records, some large; some expire before the next round */
    for (unsigned i = 0; i < n / 4; i++) {
        size_t kl = key_of(k, "t", i);
        put_val(db, k, kl, value_len(i, round + 7), buf, 50 + (i % 3) * 1000);
    }
    /* one transaction mixing puts, overwrites and deletes of the same keys */
    cellar_txn *t = NULL;
    TU_OK(cellar_txn_begin(&t, db, 0));
    for (unsigned i = 0; i < 300; i++) {
        size_t kl = key_of(k, "x", i % 100);
        size_t vl = value_len(i, round + 3);
        memset(buf, 'x', vl);
        if (i % 7 == 3) {
            int rc = cellar_txn_delete(t, k, kl);
            ck_assert(rc == CELLAR_OK || rc == CELLAR_ENOTFOUND);
        } else
            TU_OK(cellar_txn_put(t, k, kl, buf, vl));
    }
    TU_OK(cellar_txn_commit(t));
    fake_now += 100; /* the 50 ms TTLs are now expired */
    /* deleting an expired record removes it too (ENOTFOUND) */
    for (unsigned i = 0; i < n / 4; i += 3) {
        size_t kl = key_of(k, "t", i);
        int rc = cellar_delete(db, k, kl);
        ck_assert(rc == CELLAR_OK || rc == CELLAR_ENOTFOUND);
    }
}

static void fill_and_compare(const char *name, uint32_t max_depth)
{
    uint8_t *buf = malloc(32768);
    ck_assert_ptr_nonnull(buf);
    unsigned n = max_depth ? 1500 : 4000;
    cellar_db *db = open_db(name, CELLAR_CREATE | CELLAR_TRUNCATE, 0, CELLAR_SYNC_OFF);
    if (max_depth)
        cellar_hash__set_max_depth(db->inst->hash, max_depth); /* chains */
    expect_counted(db, "empty");
    cellar_stats st = { .version = CELLAR_STATS_VERSION };
    for (unsigned round = 0; round < 3; round++) {
        churn(db, n, round, buf);
        st = expect_counted(db, "after a round");
    }
    ck_assert_uint_gt(st.value_pages, 0);
    if (max_depth)
        ck_assert_uint_gt(st.overflow_pages, 0);
    /* the sweep took out expired records in between; let it take more */
    fake_now += 5000;
    for (unsigned i = 0; i < 256; i++)
        TU_OK(cellar_put(db, "tick", 4, &i, sizeof i));
    expect_counted(db, "after sweeping");
    TU_OK(cellar_checkpoint(db));
    cellar_stats before = expect_counted(db, "after a checkpoint");

    /* persisted: a reopen reads the same counters from the meta page */
    TU_OK(cellar_close(db));
    db = open_db(name, 0, 0, CELLAR_SYNC_OFF);
    cellar_stats after = expect_counted(db, "after a reopen");
    ck_assert_uint_eq(after.records, before.records);
    ck_assert_uint_eq(after.bucket_pages, before.bucket_pages);
    ck_assert_uint_eq(after.overflow_pages, before.overflow_pages);
    ck_assert_uint_eq(after.value_pages, before.value_pages);
    ck_assert(after.fill_factor == before.fill_factor);

    /* compaction rebuilds the file: the copy's counters come with it */
    TU_OK(cellar_compact(db, NULL, NULL));
    cellar_stats compacted = expect_counted(db, "after a compact");
    ck_assert_uint_le(compacted.records, before.records); /* expired ones are not copied */
    TU_OK(cellar_close(db));
    db = open_db(name, 0, 0, CELLAR_SYNC_OFF);
    expect_counted(db, "after a compact and a reopen");
    TU_OK(cellar_close(db));
    free(buf);
}

START_TEST(counters_match_the_pages)
{
    fill_and_compare("stats.db", 0);
}
END_TEST

START_TEST(counters_match_the_pages_with_chains)
{
    fill_and_compare("chains.db", 2);
}
END_TEST

/* A process that dies after its commits leaves them in the log only: the
 * reopen replays them onto the last checkpoint's counters. */
START_TEST(counters_exact_after_replay)
{
    uint8_t *buf = malloc(32768);
    ck_assert_ptr_nonnull(buf);
    cellar_db *db = open_db("replay.db", CELLAR_CREATE | CELLAR_TRUNCATE, 0, CELLAR_SYNC_OFF);
    churn(db, 2000, 0, buf);
    TU_OK(cellar_close(db));
    char path[640]; /* named here: tu_path in the child would make a directory of its own */
    snprintf(path, sizeof path, "%s", tu_path("replay.db"));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the child: commits past the checkpoint of its open (each handed
         * to the system, sync=normal), then dies unclosed */
        cellar_db *c = NULL;
        cellar_options o = CELLAR_OPTIONS_INIT;
        o.clock = fake_clock;
        o.sync = CELLAR_SYNC_NORMAL;
        if (cellar_open(&c, path, &o) != CELLAR_OK)
            _exit(2);
        churn(c, 2000, 1, buf);
        churn(c, 2000, 2, buf);
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fake_now += 200; /* the child's clock moved on as well */
    struct stat sb;
    ck_assert_int_eq(stat(tu_path("replay.db-wal"), &sb), 0);
    ck_assert_int_gt(sb.st_size, 1 << 20); /* the commits are in the log only */
    db = open_db("replay.db", 0, 0, CELLAR_SYNC_FULL);
    expect_counted(db, "after replay");
    TU_OK(cellar_close(db));
    db = open_db("replay.db", 0, 0, CELLAR_SYNC_FULL);
    expect_counted(db, "after replay and a reopen");
    TU_OK(cellar_close(db));
    free(buf);
}
END_TEST

/* A counter that drifts from the pages is a problem check reports. */
START_TEST(check_reports_a_counter_that_drifts)
{
    uint8_t *buf = malloc(32768);
    ck_assert_ptr_nonnull(buf);
    cellar_db *db = open_db("drift.db", CELLAR_CREATE | CELLAR_TRUNCATE, 0, CELLAR_SYNC_OFF);
    churn(db, 1000, 0, buf);
    expect_counted(db, "before");
    cellar_hash *h = db->inst->hash;
    _Atomic uint64_t *counters[] = { &h->bucket_pages, &h->chain_pages, &h->value_pages, &h->used_bytes };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        atomic_fetch_add(counters[i], 1);
        uint64_t problems = 0;
        TU_RC(cellar_check(db, print_problem, NULL, NULL, &problems), CELLAR_ECORRUPT);
        ck_assert_uint_eq(problems, 1);
        atomic_fetch_sub(counters[i], 1);
    }
    expect_counted(db, "after");
    TU_OK(cellar_close(db));
    free(buf);
}
END_TEST

/* stats touches no page: with a cache far smaller than the index, a walk
 * would miss on nearly every bucket; the counters leave hits and misses as
 * they were. */
START_TEST(stats_reads_no_page)
{
    uint8_t *buf = malloc(32768);
    ck_assert_ptr_nonnull(buf);
    cellar_db *db = open_db("cold.db", CELLAR_CREATE | CELLAR_TRUNCATE, 0, CELLAR_SYNC_OFF);
    churn(db, 20000, 0, buf);
    TU_OK(cellar_close(db));
    db = open_db("cold.db", 0, 64 * 4096, CELLAR_SYNC_OFF); /* the smallest cache: 64 frames */
    cellar_cache_counters before, after;
    cellar_cache_counters_get(db->inst->cache, &before);
    cellar_stats st = { .version = CELLAR_STATS_VERSION };
    TU_OK(cellar_stats_get(db, &st));
    TU_OK(cellar_stats_get(db, &st));
    cellar_cache_counters_get(db->inst->cache, &after);
    ck_assert_uint_gt(st.bucket_pages, 4 * before.capacity_frames); /* a walk could not hit in the cache */
    ck_assert_uint_eq(st.cache_misses, before.misses);
    ck_assert_uint_eq(after.misses, before.misses);
    ck_assert_uint_eq(after.hits, before.hits);
    ck_assert_uint_eq(st.records, db->inst->hash->records);
    /* the figures are the walked ones all the same (the walk misses a lot) */
    expect_counted(db, "cold");
    cellar_cache_counters_get(db->inst->cache, &after);
    ck_assert_uint_gt(after.misses, before.misses + st.bucket_pages / 2);
    TU_OK(cellar_close(db));
    free(buf);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("counters");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, counters_match_the_pages);
    tcase_add_test(tc, counters_match_the_pages_with_chains);
    tcase_add_test(tc, counters_exact_after_replay);
    tcase_add_test(tc, check_reports_a_counter_that_drifts);
    tcase_add_test(tc, stats_reads_no_page);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
