/*
 * backend_rocksdb.c - RocksDB through its C API (rocksdb/c.h).
 *
 * Default options plus what a RocksDB user sets for point reads: a
 * block-based table with an LRU block cache of the --cache budget and a
 * 10-bit-per-key Bloom filter. Writes always go to the log: non-durable
 * writes use sync=false (they survive a process crash), durable ones
 * sync=true. The handle is thread-safe and shared. Reads use
 * rocksdb_get_pinned (no copy inside RocksDB). Deleting an absent key is not
 * an error in RocksDB, so del never reports "absent".
 */
#include "bench.h"

#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>

#ifndef BENCH_ROCKSDB_VERSION
#define BENCH_ROCKSDB_VERSION "?"
#endif

typedef struct rocksdb_bench {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
} rocksdb_bench;

static const char *rocksdb_bench_version(void)
{
    return BENCH_ROCKSDB_VERSION;
}

static int rocksdb_fail(const char *what, char *err)
{
    int rc = bench_error("rocksdb: %s: %s", what, err != NULL ? err : "?");
    rocksdb_free(err);
    return rc;
}

static int rocksdb_bench_close(void *handle)
{
    rocksdb_bench *b = handle;
    if (b == NULL)
        return 0;
    if (b->db != NULL)
        rocksdb_close(b->db);
    if (b->opts != NULL)
        rocksdb_options_destroy(b->opts);
    if (b->table != NULL)
        rocksdb_block_based_options_destroy(b->table);
    if (b->cache != NULL)
        rocksdb_cache_destroy(b->cache);
    if (b->ropts != NULL)
        rocksdb_readoptions_destroy(b->ropts);
    if (b->wopts != NULL)
        rocksdb_writeoptions_destroy(b->wopts);
    free(b);
    return 0;
}

static int rocksdb_bench_open(void **out, const bench_config *cfg)
{
    rocksdb_bench *b = calloc(1, sizeof *b);
    char *err = NULL;
    *out = NULL;
    if (b == NULL)
        return bench_error("rocksdb: out of memory");
    b->opts = rocksdb_options_create();
    b->table = rocksdb_block_based_options_create();
    b->cache = cfg->cache_bytes ? rocksdb_cache_create_lru(cfg->cache_bytes) : NULL;
    b->ropts = rocksdb_readoptions_create();
    b->wopts = rocksdb_writeoptions_create();
    if (b->cache) /* else RocksDB's default block cache */
        rocksdb_block_based_options_set_block_cache(b->table, b->cache);
    /* The table options take ownership of the filter policy. */
    rocksdb_block_based_options_set_filter_policy(b->table,
                                                  rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_options_set_block_based_table_factory(b->opts, b->table);
    rocksdb_options_set_create_if_missing(b->opts, 1);
    rocksdb_writeoptions_set_sync(b->wopts, cfg->durable ? 1 : 0);
    b->db = rocksdb_open(b->opts, cfg->dir, &err);
    if (err != NULL) {
        b->db = NULL;
        rocksdb_bench_close(b);
        return rocksdb_fail("rocksdb_open", err);
    }
    *out = b;
    return 0;
}

static int rocksdb_bench_put(void *handle, const void *key, size_t klen, const void *val,
                             size_t vlen)
{
    rocksdb_bench *b = handle;
    char *err = NULL;
    rocksdb_put(b->db, b->wopts, key, klen, val, vlen, &err);
    return err == NULL ? 0 : rocksdb_fail("rocksdb_put", err);
}

static int rocksdb_bench_get(void *handle, const void *key, size_t klen, void *buf, size_t cap,
                             size_t *len)
{
    rocksdb_bench *b = handle;
    char *err = NULL;
    size_t n = 0;
    const char *v;
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned(b->db, b->ropts, key, klen, &err);
    if (err != NULL)
        return rocksdb_fail("rocksdb_get_pinned", err);
    if (p == NULL)
        return 1;
    v = rocksdb_pinnableslice_value(p, &n);
    *len = n;
    memcpy(buf, v, n < cap ? n : cap);
    rocksdb_pinnableslice_destroy(p);
    return 0;
}

static int rocksdb_bench_del(void *handle, const void *key, size_t klen)
{
    rocksdb_bench *b = handle;
    char *err = NULL;
    rocksdb_delete(b->db, b->wopts, key, klen, &err);
    return err == NULL ? 0 : rocksdb_fail("rocksdb_delete", err);
}

static int rocksdb_bench_scan(void *handle, uint64_t *count, uint64_t *bytes)
{
    rocksdb_bench *b = handle;
    rocksdb_iterator_t *it = rocksdb_create_iterator(b->db, b->ropts);
    uint64_t n = 0, total = 0;
    char *err = NULL;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        (void)rocksdb_iter_key(it, &kl);
        (void)rocksdb_iter_value(it, &vl);
        n++;
        total += kl + vl;
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err != NULL)
        return rocksdb_fail("iterator", err);
    *count = n;
    *bytes = total;
    return 0;
}

const bench_backend bench_backend_rocksdb = {
    "rocksdb",
    "LRU block cache with the --cache budget (+ OS page cache)",
    "log, sync=false / sync=true writes",
    "one thread-safe handle shared by all threads",
    BENCH_MT_READ | BENCH_MT_WRITE,
    rocksdb_bench_version,
    rocksdb_bench_open,
    rocksdb_bench_close,
    NULL,
    NULL,
    rocksdb_bench_put,
    rocksdb_bench_get,
    rocksdb_bench_del,
    rocksdb_bench_scan,
};
