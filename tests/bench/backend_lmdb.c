/*
 * backend_lmdb.c - LMDB (lmdb.h): one environment, the unnamed database.
 *
 * Non-durable mode is MDB_NOSYNC (commits reach the OS page cache, so they
 * survive a process crash; the last ones may be lost on power loss); durable
 * mode is LMDB's default, an fsync per commit. Each write is its own write
 * transaction. Each thread keeps one read transaction that it renews for a
 * read and resets after it, the cheapest legal way to do single reads.
 * Reads go through the memory map, i.e. the OS page cache.
 */
#include "bench.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

typedef struct lmdb_db {
    MDB_env *env;
    MDB_dbi dbi;
} lmdb_db;

typedef struct lmdb_ctx {
    lmdb_db *db;
    MDB_txn *rtxn; /* reset between reads */
} lmdb_ctx;

static const char *lmdb_version(void)
{
    return mdb_version(NULL, NULL, NULL);
}

static int lmdb_fail(const char *what, int rc)
{
    return bench_error("lmdb: %s: %s", what, mdb_strerror(rc));
}

static int lmdb_close(void *handle)
{
    lmdb_db *db = handle;
    if (db == NULL)
        return 0;
    if (db->env != NULL)
        mdb_env_close(db->env);
    free(db);
    return 0;
}

static int lmdb_open(void **out, const bench_config *cfg)
{
    lmdb_db *db = calloc(1, sizeof *db);
    MDB_txn *txn = NULL;
    int rc;
    /* The map must hold the data with B-tree overhead and free-page churn. */
    uint64_t raw = cfg->records * (uint64_t)(cfg->key_size + cfg->value_size);
    size_t mapsize = (size_t)(raw * 8 > (1ull << 30) ? raw * 8 : (1ull << 30));
    unsigned flags = MDB_NOTLS | (cfg->durable ? 0u : MDB_NOSYNC);

    *out = NULL;
    if (db == NULL)
        return bench_error("lmdb: out of memory");
    if ((rc = mdb_env_create(&db->env)) != 0) {
        db->env = NULL;
        lmdb_close(db);
        return lmdb_fail("mdb_env_create", rc);
    }
    if ((rc = mdb_env_set_mapsize(db->env, mapsize)) != 0 ||
        (rc = mdb_env_set_maxreaders(db->env, 126 + (unsigned)cfg->threads)) != 0 ||
        (rc = mdb_env_open(db->env, cfg->dir, flags, 0644)) != 0 ||
        (rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0 ||
        (rc = mdb_dbi_open(txn, NULL, 0, &db->dbi)) != 0 ||
        (rc = mdb_txn_commit(txn)) != 0) {
        if (txn != NULL)
            mdb_txn_abort(txn);
        lmdb_close(db);
        return lmdb_fail("open", rc);
    }
    *out = db;
    return 0;
}

static int lmdb_thread_begin(void **out, void *handle, int index)
{
    lmdb_ctx *ctx = calloc(1, sizeof *ctx);
    int rc;
    (void)index;
    *out = NULL;
    if (ctx == NULL)
        return bench_error("lmdb: out of memory");
    ctx->db = handle;
    if ((rc = mdb_txn_begin(ctx->db->env, NULL, MDB_RDONLY, &ctx->rtxn)) != 0) {
        free(ctx);
        return lmdb_fail("mdb_txn_begin(read)", rc);
    }
    mdb_txn_reset(ctx->rtxn);
    *out = ctx;
    return 0;
}

static void lmdb_thread_end(void *handle)
{
    lmdb_ctx *ctx = handle;
    if (ctx == NULL)
        return;
    mdb_txn_abort(ctx->rtxn);
    free(ctx);
}

static int lmdb_put(void *handle, const void *key, size_t klen, const void *val, size_t vlen)
{
    lmdb_ctx *ctx = handle;
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_txn_begin(ctx->db->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail("mdb_txn_begin", rc);
    if ((rc = mdb_put(txn, ctx->db->dbi, &k, &v, 0)) != 0) {
        mdb_txn_abort(txn);
        return lmdb_fail("mdb_put", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return lmdb_fail("mdb_txn_commit", rc);
    return 0;
}

static int lmdb_get(void *handle, const void *key, size_t klen, void *buf, size_t cap,
                    size_t *len)
{
    lmdb_ctx *ctx = handle;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_txn_renew(ctx->rtxn);
    if (rc != 0)
        return lmdb_fail("mdb_txn_renew", rc);
    rc = mdb_get(ctx->rtxn, ctx->db->dbi, &k, &v);
    if (rc == 0) {
        *len = v.mv_size;
        memcpy(buf, v.mv_data, v.mv_size < cap ? v.mv_size : cap);
    }
    mdb_txn_reset(ctx->rtxn);
    if (rc == MDB_NOTFOUND)
        return 1;
    return rc == 0 ? 0 : lmdb_fail("mdb_get", rc);
}

static int lmdb_del(void *handle, const void *key, size_t klen)
{
    lmdb_ctx *ctx = handle;
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key};
    int rc = mdb_txn_begin(ctx->db->env, NULL, 0, &txn);
    if (rc != 0)
        return lmdb_fail("mdb_txn_begin", rc);
    rc = mdb_del(txn, ctx->db->dbi, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return 1;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_fail("mdb_del", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return lmdb_fail("mdb_txn_commit", rc);
    return 0;
}

static int lmdb_scan(void *handle, uint64_t *count, uint64_t *bytes)
{
    lmdb_ctx *ctx = handle;
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t n = 0, b = 0;
    int rc = mdb_txn_renew(ctx->rtxn);
    if (rc != 0)
        return lmdb_fail("mdb_txn_renew", rc);
    if ((rc = mdb_cursor_open(ctx->rtxn, ctx->db->dbi, &cur)) != 0) {
        mdb_txn_reset(ctx->rtxn);
        return lmdb_fail("mdb_cursor_open", rc);
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        n++;
        b += k.mv_size + v.mv_size;
    }
    mdb_cursor_close(cur);
    mdb_txn_reset(ctx->rtxn);
    if (rc != MDB_NOTFOUND)
        return lmdb_fail("mdb_cursor_get", rc);
    *count = n;
    *bytes = b;
    return 0;
}

const bench_backend bench_backend_lmdb = {
    "lmdb",
    "OS page cache (memory map)",
    "MDB_NOSYNC / fsync per commit (default)",
    "one env shared; a read txn per thread; writers serialize inside LMDB",
    BENCH_MT_READ | BENCH_MT_WRITE,
    lmdb_version,
    lmdb_open,
    lmdb_close,
    lmdb_thread_begin,
    lmdb_thread_end,
    lmdb_put,
    lmdb_get,
    lmdb_del,
    lmdb_scan,
};
