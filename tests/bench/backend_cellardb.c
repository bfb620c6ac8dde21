/*
 * backend_cellardb.c - cellardb through its public API (cellardb.h).
 *
 * Non-durable workloads run with sync=normal (the default: the log stays on,
 * commits survive a process crash); fill_sync with sync=full (fsync before a
 * commit returns, with group commit across threads). The page cache gets
 * the --cache budget. One handle is shared by every thread, as the API
 * allows. Reads use cellar_get_visit (a borrowed view, no allocation).
 */
#include "bench.h"

#include <cellardb.h>
#include <stdlib.h>
#include <string.h>

typedef struct cellar_read {
    void *buf;
    size_t cap;
    size_t len;
} cellar_read;

static const char *cellar_bench_version(void)
{
    return cellar_version();
}

static int cellar_fail(const char *what, int rc)
{
    const cellar_error *e = cellar_error_last();
    return bench_error("cellardb: %s: %s (%s)", what, cellar_strerror(rc),
                       e->message != NULL ? e->message : "");
}

static int cellar_bench_close(void *handle)
{
    int rc = cellar_close(handle);
    return rc == CELLAR_OK ? 0 : cellar_fail("cellar_close", rc);
}

static int cellar_bench_open(void **out, const bench_config *cfg)
{
    char path[4096];
    cellar_options opts = CELLAR_OPTIONS_INIT;
    cellar_db *db = NULL;
    int rc;
    opts.flags = CELLAR_CREATE | (cfg->create ? CELLAR_TRUNCATE : 0u);
    opts.cache_size = cfg->cache_bytes;
    opts.sync = cfg->durable ? CELLAR_SYNC_FULL : CELLAR_SYNC_NORMAL;
    *out = NULL;
    rc = cellar_open(&db, bench_path(path, sizeof path, cfg->dir, "data.cellar"), &opts);
    if (rc != CELLAR_OK)
        return cellar_fail("cellar_open", rc);
    *out = db;
    return 0;
}

static int cellar_bench_put(void *db, const void *key, size_t klen, const void *val,
                            size_t vlen)
{
    int rc = cellar_put(db, key, klen, val, vlen);
    return rc == CELLAR_OK ? 0 : cellar_fail("cellar_put", rc);
}

static int cellar_copy_value(const void *val, size_t len, void *payload)
{
    cellar_read *r = payload;
    r->len = len;
    memcpy(r->buf, val, len < r->cap ? len : r->cap);
    return 0;
}

static int cellar_bench_get(void *db, const void *key, size_t klen, void *buf, size_t cap,
                            size_t *len)
{
    cellar_read r = {buf, cap, 0};
    int rc = cellar_get_visit(db, key, klen, cellar_copy_value, &r);
    if (rc == CELLAR_ENOTFOUND)
        return 1;
    if (rc != CELLAR_OK)
        return cellar_fail("cellar_get_visit", rc);
    *len = r.len;
    return 0;
}

static int cellar_bench_del(void *db, const void *key, size_t klen)
{
    int rc = cellar_delete(db, key, klen);
    if (rc == CELLAR_ENOTFOUND)
        return 1;
    return rc == CELLAR_OK ? 0 : cellar_fail("cellar_delete", rc);
}

static int cellar_bench_scan(void *db, uint64_t *count, uint64_t *bytes)
{
    cellar_iter *it = NULL;
    const void *k, *v;
    size_t kl, vl;
    uint64_t n = 0, b = 0;
    int rc = cellar_iter_open(&it, db);
    if (rc != CELLAR_OK)
        return cellar_fail("cellar_iter_open", rc);
    while ((rc = cellar_iter_next(it, &k, &kl, &v, &vl)) == CELLAR_OK) {
        n++;
        b += kl + vl;
    }
    cellar_iter_close(it);
    if (rc != CELLAR_ENOTFOUND)
        return cellar_fail("cellar_iter_next", rc);
    *count = n;
    *bytes = b;
    return 0;
}

const bench_backend bench_backend_cellardb = {
    "cellardb",
    "its own LRU page cache, --cache budget",
    "log, sync=normal / sync=full",
    "one handle shared by all threads",
    BENCH_MT_READ | BENCH_MT_WRITE,
    cellar_bench_version,
    cellar_bench_open,
    cellar_bench_close,
    NULL,
    NULL,
    cellar_bench_put,
    cellar_bench_get,
    cellar_bench_del,
    cellar_bench_scan,
};
