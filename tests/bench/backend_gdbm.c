/*
 * backend_gdbm.c - GNU dbm (gdbm.h), default block size and cache.
 *
 * GDBM has no log: the non-durable mode is plain stores, the durable mode a
 * gdbm_sync() after each store. A GDBM_FILE must not be used by two threads
 * at once and only one writer may open the file, so multi-thread workloads
 * are skipped. Reads go through GDBM's bucket cache over its memory map.
 */
#include "bench.h"

#include <gdbm.h>
#include <stdlib.h>
#include <string.h>

typedef struct gdbm_db {
    GDBM_FILE f;
    int durable;
} gdbm_db;

static const char *gdbm_bench_version(void)
{
    return gdbm_version;
}

static int gdbm_fail(gdbm_db *db, const char *what)
{
    return bench_error("gdbm: %s: %s", what,
                       db != NULL && db->f != NULL ? gdbm_db_strerror(db->f)
                                                   : gdbm_strerror(gdbm_errno));
}

static int gdbm_bench_close(void *handle)
{
    gdbm_db *db = handle;
    int rc = 0;
    if (db == NULL)
        return 0;
    if (db->f != NULL && gdbm_close(db->f) != 0)
        rc = bench_error("gdbm: gdbm_close: %s", gdbm_strerror(gdbm_errno));
    free(db);
    return rc;
}

static int gdbm_bench_open(void **out, const bench_config *cfg)
{
    char path[4096];
    gdbm_db *db = calloc(1, sizeof *db);
    *out = NULL;
    if (db == NULL)
        return bench_error("gdbm: out of memory");
    db->durable = cfg->durable;
    db->f = gdbm_open(bench_path(path, sizeof path, cfg->dir, "data.gdbm"), 0,
                      cfg->create ? GDBM_NEWDB : GDBM_WRCREAT, 0644, NULL);
    if (db->f == NULL) {
        int rc = gdbm_fail(NULL, "gdbm_open");
        free(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int gdbm_bench_put(void *handle, const void *key, size_t klen, const void *val,
                          size_t vlen)
{
    gdbm_db *db = handle;
    datum k = {(char *)key, (int)klen}, v = {(char *)val, (int)vlen};
    if (gdbm_store(db->f, k, v, GDBM_REPLACE) != 0)
        return gdbm_fail(db, "gdbm_store");
    if (db->durable && gdbm_sync(db->f) != 0)
        return gdbm_fail(db, "gdbm_sync");
    return 0;
}

static int gdbm_bench_get(void *handle, const void *key, size_t klen, void *buf, size_t cap,
                          size_t *len)
{
    gdbm_db *db = handle;
    datum k = {(char *)key, (int)klen};
    datum v = gdbm_fetch(db->f, k);
    if (v.dptr == NULL) {
        if (gdbm_last_errno(db->f) == GDBM_ITEM_NOT_FOUND)
            return 1;
        return gdbm_fail(db, "gdbm_fetch");
    }
    *len = (size_t)v.dsize;
    memcpy(buf, v.dptr, *len < cap ? *len : cap);
    free(v.dptr);
    return 0;
}

static int gdbm_bench_del(void *handle, const void *key, size_t klen)
{
    gdbm_db *db = handle;
    datum k = {(char *)key, (int)klen};
    if (gdbm_delete(db->f, k) != 0) {
        if (gdbm_last_errno(db->f) == GDBM_ITEM_NOT_FOUND)
            return 1;
        return gdbm_fail(db, "gdbm_delete");
    }
    return 0;
}

/* GDBM's iteration yields keys only; each value is fetched, as a user must. */
static int gdbm_bench_scan(void *handle, uint64_t *count, uint64_t *bytes)
{
    gdbm_db *db = handle;
    uint64_t n = 0, b = 0;
    datum k = gdbm_firstkey(db->f);
    while (k.dptr != NULL) {
        datum v = gdbm_fetch(db->f, k), next;
        if (v.dptr == NULL) {
            free(k.dptr);
            return gdbm_fail(db, "gdbm_fetch");
        }
        n++;
        b += (uint64_t)k.dsize + (uint64_t)v.dsize;
        free(v.dptr);
        next = gdbm_nextkey(db->f, k);
        free(k.dptr);
        k = next;
    }
    if (gdbm_last_errno(db->f) != GDBM_ITEM_NOT_FOUND &&
        gdbm_last_errno(db->f) != GDBM_NO_ERROR)
        return gdbm_fail(db, "gdbm_nextkey");
    *count = n;
    *bytes = b;
    return 0;
}

const bench_backend bench_backend_gdbm = {
    "gdbm",
    "GDBM bucket cache (default size) over mmap",
    "no sync / gdbm_sync per commit",
    "GDBM_FILE is not thread-safe and admits one writer: multi-thread runs skipped",
    0,
    gdbm_bench_version,
    gdbm_bench_open,
    gdbm_bench_close,
    NULL,
    NULL,
    gdbm_bench_put,
    gdbm_bench_get,
    gdbm_bench_del,
    gdbm_bench_scan,
};
