/*
 * backend_leveldb.c - LevelDB through its C API (leveldb/c.h).
 *
 * Default options plus the two settings a LevelDB user sets for point
 * reads: an LRU block cache with the --cache budget and a 10-bit-per-key
 * Bloom filter. Writes always go to LevelDB's log: non-durable writes use
 * sync=false (they survive a process crash), durable ones sync=true. The
 * handle is thread-safe and shared. Deleting an absent key is not an error
 * in LevelDB, so del never reports "absent".
 */
#include "bench.h"

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct leveldb_bench {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;
} leveldb_bench;

static const char *leveldb_bench_version(void)
{
    static char v[32];
    snprintf(v, sizeof v, "%d.%d", leveldb_major_version(), leveldb_minor_version());
    return v;
}

static int leveldb_fail(const char *what, char *err)
{
    int rc = bench_error("leveldb: %s: %s", what, err != NULL ? err : "?");
    leveldb_free(err);
    return rc;
}

static int leveldb_bench_close(void *handle)
{
    leveldb_bench *b = handle;
    if (b == NULL)
        return 0;
    if (b->db != NULL)
        leveldb_close(b->db);
    if (b->opts != NULL)
        leveldb_options_destroy(b->opts);
    if (b->filter != NULL)
        leveldb_filterpolicy_destroy(b->filter);
    if (b->cache != NULL)
        leveldb_cache_destroy(b->cache);
    if (b->ropts != NULL)
        leveldb_readoptions_destroy(b->ropts);
    if (b->wopts != NULL)
        leveldb_writeoptions_destroy(b->wopts);
    free(b);
    return 0;
}

static int leveldb_bench_open(void **out, const bench_config *cfg)
{
    leveldb_bench *b = calloc(1, sizeof *b);
    char *err = NULL;
    *out = NULL;
    if (b == NULL)
        return bench_error("leveldb: out of memory");
    b->opts = leveldb_options_create();
    b->cache = cfg->cache_bytes ? leveldb_cache_create_lru(cfg->cache_bytes) : NULL;
    b->filter = leveldb_filterpolicy_create_bloom(10);
    b->ropts = leveldb_readoptions_create();
    b->wopts = leveldb_writeoptions_create();
    leveldb_options_set_create_if_missing(b->opts, 1);
    if (b->cache) /* else LevelDB's default 8 MiB block cache */
        leveldb_options_set_cache(b->opts, b->cache);
    leveldb_options_set_filter_policy(b->opts, b->filter);
    leveldb_writeoptions_set_sync(b->wopts, cfg->durable ? 1 : 0);
    b->db = leveldb_open(b->opts, cfg->dir, &err);
    if (err != NULL) {
        b->db = NULL;
        leveldb_bench_close(b);
        return leveldb_fail("leveldb_open", err);
    }
    *out = b;
    return 0;
}

static int leveldb_bench_put(void *handle, const void *key, size_t klen, const void *val,
                             size_t vlen)
{
    leveldb_bench *b = handle;
    char *err = NULL;
    leveldb_put(b->db, b->wopts, key, klen, val, vlen, &err);
    return err == NULL ? 0 : leveldb_fail("leveldb_put", err);
}

static int leveldb_bench_get(void *handle, const void *key, size_t klen, void *buf, size_t cap,
                             size_t *len)
{
    leveldb_bench *b = handle;
    char *err = NULL;
    size_t n = 0;
    char *v = leveldb_get(b->db, b->ropts, key, klen, &n, &err);
    if (err != NULL)
        return leveldb_fail("leveldb_get", err);
    if (v == NULL)
        return 1;
    *len = n;
    memcpy(buf, v, n < cap ? n : cap);
    leveldb_free(v);
    return 0;
}

static int leveldb_bench_del(void *handle, const void *key, size_t klen)
{
    leveldb_bench *b = handle;
    char *err = NULL;
    leveldb_delete(b->db, b->wopts, key, klen, &err);
    return err == NULL ? 0 : leveldb_fail("leveldb_delete", err);
}

static int leveldb_bench_scan(void *handle, uint64_t *count, uint64_t *bytes)
{
    leveldb_bench *b = handle;
    leveldb_iterator_t *it = leveldb_create_iterator(b->db, b->ropts);
    uint64_t n = 0, total = 0;
    char *err = NULL;
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        (void)leveldb_iter_key(it, &kl);
        (void)leveldb_iter_value(it, &vl);
        n++;
        total += kl + vl;
    }
    leveldb_iter_get_error(it, &err);
    leveldb_iter_destroy(it);
    if (err != NULL)
        return leveldb_fail("iterator", err);
    *count = n;
    *bytes = total;
    return 0;
}

const bench_backend bench_backend_leveldb = {
    "leveldb",
    "LRU block cache with the --cache budget (+ OS page cache)",
    "log, sync=false / sync=true writes",
    "one thread-safe handle shared by all threads",
    BENCH_MT_READ | BENCH_MT_WRITE,
    leveldb_bench_version,
    leveldb_bench_open,
    leveldb_bench_close,
    NULL,
    NULL,
    leveldb_bench_put,
    leveldb_bench_get,
    leveldb_bench_del,
    leveldb_bench_scan,
};
