/*
 * backend_sqlite.c - SQLite (sqlite3.h): a key-value table in WAL mode.
 *
 *   CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID
 *
 * Every operation is one prepared statement in autocommit mode (one
 * transaction each). Non-durable mode is synchronous=NORMAL (in WAL mode:
 * survives a process crash, may lose the last commits on power loss, as
 * cellardb's sync=normal); durable mode synchronous=FULL. Each thread has its
 * own connection (the way SQLite is meant to be used from threads; WAL lets
 * readers run beside the writer), each with a page cache of the --cache
 * budget; concurrent writers wait on SQLite's lock (busy timeout).
 */
#include "bench.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqlite_db {
    char path[4096];
    sqlite3 *schema; /* keeps the database open between workloads */
    int durable;
    size_t cache_bytes;
} sqlite_db;

typedef struct sqlite_ctx {
    sqlite3 *conn;
    sqlite3_stmt *put, *get, *del, *scan;
} sqlite_ctx;

static const char *sqlite_version(void)
{
    return sqlite3_libversion();
}

static int sqlite_fail(sqlite3 *conn, const char *what)
{
    return bench_error("sqlite: %s: %s", what,
                       conn != NULL ? sqlite3_errmsg(conn) : "out of memory");
}

/* Open one connection with the per-connection settings. */
static int sqlite_connect(sqlite3 **out, const sqlite_db *db)
{
    char sql[256];
    sqlite3 *conn = NULL;
    int rc = sqlite3_open_v2(db->path, &conn,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    *out = NULL;
    if (rc != SQLITE_OK) {
        rc = sqlite_fail(conn, "sqlite3_open_v2");
        sqlite3_close(conn);
        return rc;
    }
    sqlite3_busy_timeout(conn, 60000);
    if (db->cache_bytes)
        snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-%zu;",
                 db->durable ? "FULL" : "NORMAL", db->cache_bytes / 1024);
    else /* SQLite's default page cache */
        snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;", db->durable ? "FULL" : "NORMAL");
    if (sqlite3_exec(conn, sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = sqlite_fail(conn, "pragmas");
        sqlite3_close(conn);
        return rc;
    }
    *out = conn;
    return 0;
}

static int sqlite_close(void *handle)
{
    sqlite_db *db = handle;
    int rc = 0;
    if (db == NULL)
        return 0;
    if (db->schema != NULL && sqlite3_close(db->schema) != SQLITE_OK)
        rc = sqlite_fail(db->schema, "sqlite3_close");
    free(db);
    return rc;
}

static int sqlite_open(void **out, const bench_config *cfg)
{
    sqlite_db *db = calloc(1, sizeof *db);
    *out = NULL;
    if (db == NULL)
        return bench_error("sqlite: out of memory");
    bench_path(db->path, sizeof db->path, cfg->dir, "data.sqlite");
    db->durable = cfg->durable;
    db->cache_bytes = cfg->cache_bytes;
    if (sqlite_connect(&db->schema, db) != 0) {
        free(db);
        return -1;
    }
    if (sqlite3_exec(db->schema,
                     "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID",
                     NULL, NULL, NULL) != SQLITE_OK) {
        int rc = sqlite_fail(db->schema, "CREATE TABLE");
        sqlite_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

static void sqlite_thread_end(void *handle)
{
    sqlite_ctx *ctx = handle;
    if (ctx == NULL)
        return;
    sqlite3_finalize(ctx->put);
    sqlite3_finalize(ctx->get);
    sqlite3_finalize(ctx->del);
    sqlite3_finalize(ctx->scan);
    sqlite3_close(ctx->conn);
    free(ctx);
}

static int sqlite_thread_begin(void **out, void *handle, int index)
{
    sqlite_ctx *ctx = calloc(1, sizeof *ctx);
    (void)index;
    *out = NULL;
    if (ctx == NULL)
        return bench_error("sqlite: out of memory");
    if (sqlite_connect(&ctx->conn, handle) != 0) {
        free(ctx);
        return -1;
    }
    if (sqlite3_prepare_v2(ctx->conn, "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)", -1,
                           &ctx->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ctx->conn, "SELECT v FROM kv WHERE k = ?1", -1, &ctx->get, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(ctx->conn, "DELETE FROM kv WHERE k = ?1", -1, &ctx->del, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(ctx->conn, "SELECT k, v FROM kv", -1, &ctx->scan, NULL) !=
            SQLITE_OK) {
        int rc = sqlite_fail(ctx->conn, "prepare");
        sqlite_thread_end(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

static int sqlite_put(void *handle, const void *key, size_t klen, const void *val, size_t vlen)
{
    sqlite_ctx *ctx = handle;
    int rc;
    sqlite3_bind_blob(ctx->put, 1, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_blob(ctx->put, 2, val, (int)vlen, SQLITE_STATIC);
    rc = sqlite3_step(ctx->put);
    sqlite3_reset(ctx->put);
    return rc == SQLITE_DONE ? 0 : sqlite_fail(ctx->conn, "INSERT");
}

static int sqlite_get(void *handle, const void *key, size_t klen, void *buf, size_t cap,
                      size_t *len)
{
    sqlite_ctx *ctx = handle;
    int rc;
    sqlite3_bind_blob(ctx->get, 1, key, (int)klen, SQLITE_STATIC);
    rc = sqlite3_step(ctx->get);
    if (rc == SQLITE_ROW) {
        const void *v = sqlite3_column_blob(ctx->get, 0);
        size_t n = (size_t)sqlite3_column_bytes(ctx->get, 0);
        *len = n;
        memcpy(buf, v, n < cap ? n : cap);
        sqlite3_reset(ctx->get);
        return 0;
    }
    sqlite3_reset(ctx->get);
    return rc == SQLITE_DONE ? 1 : sqlite_fail(ctx->conn, "SELECT");
}

static int sqlite_del(void *handle, const void *key, size_t klen)
{
    sqlite_ctx *ctx = handle;
    int rc;
    sqlite3_bind_blob(ctx->del, 1, key, (int)klen, SQLITE_STATIC);
    rc = sqlite3_step(ctx->del);
    sqlite3_reset(ctx->del);
    if (rc != SQLITE_DONE)
        return sqlite_fail(ctx->conn, "DELETE");
    return sqlite3_changes(ctx->conn) > 0 ? 0 : 1;
}

static int sqlite_scan(void *handle, uint64_t *count, uint64_t *bytes)
{
    sqlite_ctx *ctx = handle;
    uint64_t n = 0, b = 0;
    int rc;
    while ((rc = sqlite3_step(ctx->scan)) == SQLITE_ROW) {
        (void)sqlite3_column_blob(ctx->scan, 0);
        (void)sqlite3_column_blob(ctx->scan, 1);
        n++;
        b += (uint64_t)sqlite3_column_bytes(ctx->scan, 0) +
             (uint64_t)sqlite3_column_bytes(ctx->scan, 1);
    }
    sqlite3_reset(ctx->scan);
    if (rc != SQLITE_DONE)
        return sqlite_fail(ctx->conn, "SELECT all");
    *count = n;
    *bytes = b;
    return 0;
}

const bench_backend bench_backend_sqlite = {
    "sqlite",
    "its own page cache per connection, given the --cache budget",
    "WAL, synchronous=NORMAL / synchronous=FULL",
    "a connection per thread (WAL: readers beside one writer; writers wait on the lock)",
    BENCH_MT_READ | BENCH_MT_WRITE,
    sqlite_version,
    sqlite_open,
    sqlite_close,
    sqlite_thread_begin,
    sqlite_thread_end,
    sqlite_put,
    sqlite_get,
    sqlite_del,
    sqlite_scan,
};
