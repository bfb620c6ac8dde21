/*
 * backend_bdb.c - Berkeley DB, hash access method (db.h), no environment.
 *
 * A stand-alone DB_HASH database whose private cache gets the same budget
 * as cellardb's (--cache); without it Berkeley DB would read through a
 * 256 KiB cache. Without an environment there is no log: non-durable writes
 * are plain puts, the durable mode a DB->sync() after each put. The handle
 * is opened DB_THREAD, so threads may share it for reading; concurrent
 * writers would need an environment with locking, so multi-thread writes
 * are skipped.
 */
#include "bench.h"

#include <db.h>
#include <stdlib.h>
#include <string.h>

typedef struct bdb_db {
    DB *db;
    int durable;
} bdb_db;

static const char *bdb_version(void)
{
    return db_version(NULL, NULL, NULL);
}

static int bdb_fail(const char *what, int rc)
{
    return bench_error("bdb: %s: %s", what, db_strerror(rc));
}

static int bdb_close(void *handle)
{
    bdb_db *db = handle;
    int rc = 0;
    if (db == NULL)
        return 0;
    if (db->db != NULL && (rc = db->db->close(db->db, 0)) != 0)
        rc = bdb_fail("DB->close", rc);
    free(db);
    return rc;
}

static int bdb_open(void **out, const bench_config *cfg)
{
    char path[4096];
    bdb_db *db = calloc(1, sizeof *db);
    int rc;
    size_t cache = cfg->cache_bytes;
    *out = NULL;
    if (db == NULL)
        return bench_error("bdb: out of memory");
    db->durable = cfg->durable;
    if ((rc = db_create(&db->db, NULL, 0)) != 0) {
        free(db);
        return bdb_fail("db_create", rc);
    }
    if ((cache && (rc = db->db->set_cachesize(db->db, (uint32_t)(cache >> 30),
                                              (uint32_t)(cache & ((1u << 30) - 1)), 1)) != 0) ||
        (rc = db->db->open(db->db, NULL, bench_path(path, sizeof path, cfg->dir, "data.bdb"),
                           NULL, DB_HASH, DB_CREATE | DB_THREAD, 0644)) != 0) {
        bdb_close(db);
        return bdb_fail("DB->open", rc);
    }
    *out = db;
    return 0;
}

static int bdb_put(void *handle, const void *key, size_t klen, const void *val, size_t vlen)
{
    bdb_db *db = handle;
    DBT k, v;
    int rc;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.data = (void *)key;
    k.size = (uint32_t)klen;
    v.data = (void *)val;
    v.size = (uint32_t)vlen;
    if ((rc = db->db->put(db->db, NULL, &k, &v, 0)) != 0)
        return bdb_fail("DB->put", rc);
    if (db->durable && (rc = db->db->sync(db->db, 0)) != 0)
        return bdb_fail("DB->sync", rc);
    return 0;
}

static int bdb_get(void *handle, const void *key, size_t klen, void *buf, size_t cap,
                   size_t *len)
{
    bdb_db *db = handle;
    DBT k, v;
    int rc;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.data = (void *)key;
    k.size = (uint32_t)klen;
    v.data = buf;
    v.ulen = (uint32_t)cap;
    v.flags = DB_DBT_USERMEM;
    rc = db->db->get(db->db, NULL, &k, &v, 0);
    if (rc == DB_NOTFOUND)
        return 1;
    if (rc != 0)
        return bdb_fail("DB->get", rc);
    *len = v.size;
    return 0;
}

static int bdb_del(void *handle, const void *key, size_t klen)
{
    bdb_db *db = handle;
    DBT k;
    int rc;
    memset(&k, 0, sizeof k);
    k.data = (void *)key;
    k.size = (uint32_t)klen;
    rc = db->db->del(db->db, NULL, &k, 0);
    if (rc == DB_NOTFOUND)
        return 1;
    return rc == 0 ? 0 : bdb_fail("DB->del", rc);
}

static int bdb_scan(void *handle, uint64_t *count, uint64_t *bytes)
{
    bdb_db *db = handle;
    DBC *cur;
    DBT k, v;
    uint64_t n = 0, b = 0;
    size_t kcap = 65536, vcap = 1u << 20;
    char *kbuf = malloc(kcap), *vbuf = malloc(vcap);
    int rc;
    if (kbuf == NULL || vbuf == NULL) {
        free(kbuf);
        free(vbuf);
        return bench_error("bdb: out of memory");
    }
    if ((rc = db->db->cursor(db->db, NULL, &cur, 0)) != 0) {
        free(kbuf);
        free(vbuf);
        return bdb_fail("DB->cursor", rc);
    }
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.data = kbuf;
    k.ulen = (uint32_t)kcap;
    k.flags = DB_DBT_USERMEM;
    v.data = vbuf;
    v.ulen = (uint32_t)vcap;
    v.flags = DB_DBT_USERMEM;
    while ((rc = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
        n++;
        b += (uint64_t)k.size + v.size;
    }
    cur->close(cur);
    free(kbuf);
    free(vbuf);
    if (rc != DB_NOTFOUND)
        return bdb_fail("DBC->get", rc);
    *count = n;
    *bytes = b;
    return 0;
}

const bench_backend bench_backend_bdb = {
    "bdb",
    "its own cache, given the --cache budget",
    "no sync / DB->sync per commit (no environment, no log)",
    "DB_THREAD handle shared by readers; multi-thread writes skipped (need locking env)",
    BENCH_MT_READ,
    bdb_version,
    bdb_open,
    bdb_close,
    NULL,
    NULL,
    bdb_put,
    bdb_get,
    bdb_del,
    bdb_scan,
};
