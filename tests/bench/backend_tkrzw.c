/*
 * backend_tkrzw.c - Tkrzw HashDBM through its C API (tkrzw_langc.h).
 *
 * Opened as "dbm=HashDBM" with Tkrzw's default file class (a memory-mapped
 * file) and its default bucket count unless --tkrzw-buckets sets
 * num_buckets. HashDBM has no log: non-durable writes are plain sets, the
 * durable mode a tkrzw_dbm_synchronize(hard) after each set. The handle is
 * thread-safe and shared. Reads use tkrzw_dbm_process (a borrowed view,
 * no allocation), the scan tkrzw_dbm_process_each.
 */
#include "bench.h"

#include <tkrzw_langc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tkrzw_db {
    TkrzwDBM *dbm;
    int durable;
} tkrzw_db;

typedef struct tkrzw_read {
    void *buf;
    size_t cap;
    size_t len;
    int found;
} tkrzw_read;

typedef struct tkrzw_walk {
    uint64_t count;
    uint64_t bytes;
} tkrzw_walk;

static const char *tkrzw_bench_version(void)
{
    return TKRZW_PACKAGE_VERSION;
}

static int tkrzw_fail(const char *what)
{
    return bench_error("tkrzw: %s: %s", what, tkrzw_get_last_status_message());
}

static int tkrzw_bench_close(void *handle)
{
    tkrzw_db *db = handle;
    int rc = 0;
    if (db == NULL)
        return 0;
    if (db->dbm != NULL && !tkrzw_dbm_close(db->dbm))
        rc = tkrzw_fail("tkrzw_dbm_close");
    free(db);
    return rc;
}

static int tkrzw_bench_open(void **out, const bench_config *cfg)
{
    char path[4096], params[256];
    tkrzw_db *db = calloc(1, sizeof *db);
    *out = NULL;
    if (db == NULL)
        return bench_error("tkrzw: out of memory");
    db->durable = cfg->durable;
    snprintf(params, sizeof params, "dbm=HashDBM%s", cfg->create ? ",truncate=true" : "");
    if (cfg->tkrzw_buckets > 0)
        snprintf(params + strlen(params), sizeof params - strlen(params),
                 ",num_buckets=%llu", (unsigned long long)cfg->tkrzw_buckets);
    db->dbm = tkrzw_dbm_open(bench_path(path, sizeof path, cfg->dir, "data.tkh"), true, params);
    if (db->dbm == NULL) {
        free(db);
        return tkrzw_fail("tkrzw_dbm_open");
    }
    *out = db;
    return 0;
}

static int tkrzw_bench_put(void *handle, const void *key, size_t klen, const void *val,
                           size_t vlen)
{
    tkrzw_db *db = handle;
    if (!tkrzw_dbm_set(db->dbm, key, (int32_t)klen, val, (int32_t)vlen, true))
        return tkrzw_fail("tkrzw_dbm_set");
    if (db->durable && !tkrzw_dbm_synchronize(db->dbm, true, NULL, NULL, ""))
        return tkrzw_fail("tkrzw_dbm_synchronize");
    return 0;
}

static const char *tkrzw_copy_value(void *arg, const char *key, int32_t klen,
                                    const char *val, int32_t vlen, int32_t *new_len)
{
    tkrzw_read *r = arg;
    (void)key;
    (void)klen;
    (void)new_len;
    if (val != NULL) {
        r->found = 1;
        r->len = (size_t)vlen;
        memcpy(r->buf, val, r->len < r->cap ? r->len : r->cap);
    }
    return TKRZW_REC_PROC_NOOP;
}

static int tkrzw_bench_get(void *handle, const void *key, size_t klen, void *buf, size_t cap,
                           size_t *len)
{
    tkrzw_db *db = handle;
    tkrzw_read r = {buf, cap, 0, 0};
    if (!tkrzw_dbm_process(db->dbm, key, (int32_t)klen, tkrzw_copy_value, &r, false))
        return tkrzw_fail("tkrzw_dbm_process");
    if (!r.found)
        return 1;
    *len = r.len;
    return 0;
}

static int tkrzw_bench_del(void *handle, const void *key, size_t klen)
{
    tkrzw_db *db = handle;
    if (!tkrzw_dbm_remove(db->dbm, key, (int32_t)klen)) {
        if (tkrzw_get_last_status_code() == TKRZW_STATUS_NOT_FOUND_ERROR)
            return 1;
        return tkrzw_fail("tkrzw_dbm_remove");
    }
    return 0;
}

static const char *tkrzw_count_record(void *arg, const char *key, int32_t klen,
                                      const char *val, int32_t vlen, int32_t *new_len)
{
    tkrzw_walk *w = arg;
    (void)new_len;
    if (key != NULL && val != NULL) { /* the calls before and after carry no record */
        w->count++;
        w->bytes += (uint64_t)klen + (uint64_t)vlen;
    }
    return TKRZW_REC_PROC_NOOP;
}

static int tkrzw_bench_scan(void *handle, uint64_t *count, uint64_t *bytes)
{
    tkrzw_db *db = handle;
    tkrzw_walk w = {0, 0};
    if (!tkrzw_dbm_process_each(db->dbm, tkrzw_count_record, &w, false))
        return tkrzw_fail("tkrzw_dbm_process_each");
    *count = w.count;
    *bytes = w.bytes;
    return 0;
}

const bench_backend bench_backend_tkrzw = {
    "tkrzw",
    "OS page cache (memory-mapped file)",
    "no sync / synchronize(hard) per commit",
    "one thread-safe handle shared by all threads",
    BENCH_MT_READ | BENCH_MT_WRITE,
    tkrzw_bench_version,
    tkrzw_bench_open,
    tkrzw_bench_close,
    NULL,
    NULL,
    tkrzw_bench_put,
    tkrzw_bench_get,
    tkrzw_bench_del,
    tkrzw_bench_scan,
};
