/*
 * backend_kc.c - Kyoto Cabinet HashDB through its C API (kclangc.h).
 *
 * Opened as "data.kch" with Kyoto Cabinet's default tuning (its own memory
 * map of the file head, pread beyond it: the OS page cache). HashDB has no
 * log unless transactions are used: non-durable writes are plain sets, the
 * durable mode a kcdbsync(hard) after each set. The handle is thread-safe
 * and shared. Reads copy into the caller's buffer (kcdbgetbuf); the scan
 * visits records in place (kcdbiterate).
 */
#include "bench.h"

#include <kclangc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kc_db {
    KCDB *db;
    int durable;
} kc_db;

typedef struct kc_walk {
    uint64_t count;
    uint64_t bytes;
} kc_walk;

static const char *kc_version(void)
{
    return KCVERSION;
}

static int kc_fail(kc_db *db, const char *what)
{
    return bench_error("kyotocabinet: %s: %s", what, kcdbemsg(db->db));
}

static int kc_close(void *handle)
{
    kc_db *db = handle;
    int rc = 0;
    if (db == NULL)
        return 0;
    if (db->db != NULL) {
        if (!kcdbclose(db->db))
            rc = kc_fail(db, "kcdbclose");
        kcdbdel(db->db);
    }
    free(db);
    return rc;
}

static int kc_open(void **out, const bench_config *cfg)
{
    char path[4096];
    kc_db *db = calloc(1, sizeof *db);
    uint32_t mode = KCOWRITER | KCOCREATE | (cfg->create ? KCOTRUNCATE : 0);
    *out = NULL;
    if (db == NULL || (db->db = kcdbnew()) == NULL) {
        free(db);
        return bench_error("kyotocabinet: out of memory");
    }
    db->durable = cfg->durable;
    if (!kcdbopen(db->db, bench_path(path, sizeof path, cfg->dir, "data.kch"), mode)) {
        int rc = kc_fail(db, "kcdbopen");
        kcdbdel(db->db);
        free(db);
        return rc;
    }
    *out = db;
    return 0;
}

static int kc_put(void *handle, const void *key, size_t klen, const void *val, size_t vlen)
{
    kc_db *db = handle;
    if (!kcdbset(db->db, key, klen, val, vlen))
        return kc_fail(db, "kcdbset");
    if (db->durable && !kcdbsync(db->db, 1, NULL, NULL))
        return kc_fail(db, "kcdbsync");
    return 0;
}

static int kc_get(void *handle, const void *key, size_t klen, void *buf, size_t cap,
                  size_t *len)
{
    kc_db *db = handle;
    int32_t n = kcdbgetbuf(db->db, key, klen, buf, cap);
    if (n < 0) {
        if (kcdbecode(db->db) == KCENOREC)
            return 1;
        return kc_fail(db, "kcdbgetbuf");
    }
    *len = (size_t)n;
    return 0;
}

static int kc_del(void *handle, const void *key, size_t klen)
{
    kc_db *db = handle;
    if (!kcdbremove(db->db, key, klen)) {
        if (kcdbecode(db->db) == KCENOREC)
            return 1;
        return kc_fail(db, "kcdbremove");
    }
    return 0;
}

static const char *kc_count_record(const char *kbuf, size_t ksiz, const char *vbuf,
                                   size_t vsiz, size_t *sp, void *opq)
{
    kc_walk *w = opq;
    (void)kbuf;
    (void)vbuf;
    (void)sp;
    w->count++;
    w->bytes += ksiz + vsiz;
    return KCVISNOP;
}

static int kc_scan(void *handle, uint64_t *count, uint64_t *bytes)
{
    kc_db *db = handle;
    kc_walk w = {0, 0};
    if (!kcdbiterate(db->db, kc_count_record, &w, 0))
        return kc_fail(db, "kcdbiterate");
    *count = w.count;
    *bytes = w.bytes;
    return 0;
}

const bench_backend bench_backend_kc = {
    "kyotocabinet",
    "OS page cache (mmap of the file head, pread beyond)",
    "no sync / kcdbsync(hard) per commit",
    "one thread-safe handle shared by all threads",
    BENCH_MT_READ | BENCH_MT_WRITE,
    kc_version,
    kc_open,
    kc_close,
    NULL,
    NULL,
    kc_put,
    kc_get,
    kc_del,
    kc_scan,
};
