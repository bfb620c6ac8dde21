/*
 * gen_corpus.c - write the seed corpus of the fuzz targets (run once by
 * hand; the output under corpus/ is committed):
 *
 *   gen_corpus DIR    writes DIR/open/... and DIR/ops/...
 *
 * The databases are made in the fault vfs and copied out byte for byte,
 * with the shape byte fuzz_open.c expects in front.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static size_t slurp(cellar_fault *fs, const char *path, uint8_t *buf, size_t cap)
{
    const cellar_vfs *v = cellar_vfs_fault_vfs(fs);
    cellar_file *f = NULL;
    uint64_t size = 0;
    size_t got = 0;
    if (v->open(v, path, CELLAR_VFS_READ, 0, &f) != CELLAR_OK)
        return 0;
    if (v->size(f, &size) == CELLAR_OK && size <= cap)
        v->read(f, buf, (size_t)size, 0, &got);
    v->close(f);
    return got;
}

static void emit(const char *dir, const char *name, const uint8_t *head, size_t hn,
                 const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(head, 1, hn, f);
    fwrite(a, 1, an, f);
    fwrite(b, 1, bn, f);
    fclose(f);
    printf("%s: %zu bytes\n", path, hn + an + bn);
}

/* A database with n records (one large, some with a TTL); if crash, the
 * process dies before close so the last commits stay in the log. */
static void make(cellar_fault *fs, unsigned page, int n, int crash)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.vfs = cellar_vfs_fault_vfs(fs);
    o.page_size = page;
    cellar_db *db = NULL;
    if (cellar_open(&db, "g.db", &o) != CELLAR_OK)
        exit(1);
    for (int i = 0; i < n; i++) {
        char k[16], v[32];
        int kl = snprintf(k, sizeof k, "key%d", i), vl = snprintf(v, sizeof v, "value-%d", i * 31);
        if (i % 5 == 4)
            cellar_put_ttl(db, k, (size_t)kl, v, (size_t)vl, 3600000);
        else
            cellar_put(db, k, (size_t)kl, v, (size_t)vl);
        if (i == n / 2)
            cellar_checkpoint(db);
    }
    if (n) {
        static uint8_t big[5000];
        memset(big, 'B', sizeof big);
        cellar_put(db, "big", 3, big, sizeof big);
        cellar_incr(db, "counter", 7, 42, NULL);
        cellar_delete(db, "key1", 4);
    }
    if (crash)
        cellar_vfs_fault_arm(fs, CELLAR_FAULT_WRITE | CELLAR_FAULT_SYNC | CELLAR_FAULT_TRUNCATE,
                             0, CELLAR_FAULT_CRASH, 1);
    cellar_close(db);
    if (crash)
        cellar_vfs_fault_crash(fs, CELLAR_CRASH_KEEP, 1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    static uint8_t db[1 << 16], wal[1 << 16];
    char open_dir[1024], ops_dir[1024];
    snprintf(open_dir, sizeof open_dir, "%s/open", argv[1]);
    snprintf(ops_dir, sizeof ops_dir, "%s/ops", argv[1]);

    static const struct { const char *name; unsigned page; int n, crash; } dbs[] = {
        { "empty", 4096, 0, 0 },
        { "small", 4096, 20, 0 },
        { "page8k", 8192, 12, 0 },
        { "crashed", 4096, 30, 1 },
    };
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        cellar_fault *fs = NULL;
        if (cellar_vfs_fault_new(&fs) != CELLAR_OK)
            return 1;
        make(fs, dbs[i].page, dbs[i].n, dbs[i].crash);
        size_t dn = slurp(fs, "g.db", db, sizeof db), wn = slurp(fs, "g.db-wal", wal, sizeof wal);
        char name[64];
        uint8_t head[3] = { 0, 0, 0 };
        snprintf(name, sizeof name, "db_%s", dbs[i].name);
        emit(open_dir, name, head, 1, db, dn, NULL, 0);
        head[0] = 0x80;
        snprintf(name, sizeof name, "db_%s_fixcrc", dbs[i].name);
        emit(open_dir, name, head, 1, db, dn, NULL, 0);
        if (dbs[i].crash && wn > 0) {
            head[0] = 2;
            head[1] = (uint8_t)dn;
            head[2] = (uint8_t)(dn >> 8);
            snprintf(name, sizeof name, "split_%s", dbs[i].name);
            emit(open_dir, name, head, 3, db, dn, wal, wn);
            head[0] = 0x81; /* the log alone, beside the harness's own database */
            snprintf(name, sizeof name, "wal_%s_fixcrc", dbs[i].name);
            emit(open_dir, name, head, 1, wal, wn, NULL, 0);
        }
        cellar_vfs_fault_free(fs);
    }

    /* op sequences for fuzz_ops.c: opcode, key, arguments */
    static const uint8_t seq_basic[] = {
        0,                          /* options */
        0, 1, 3, 'a', 'b', 'c',     /* put k1 "abc" */
        1, 1,                       /* get k1 */
        2, 1,                       /* delete k1 */
        3, 1,                       /* exists k1 */
        4, 2, 5, 0,                 /* incr k2 += 5 */
        4, 2, 0xfb, 0,              /* incr k2 -= 5 */
        5, 3, 0, 2, 'x', 'y',       /* cas k3 absent -> "xy" */
        5, 3, 3, 0, 2, 'z', 'z',    /* cas k3 current -> "zz" */
        11, 0, 12, 0,               /* iterate, count */
    };
    static const uint8_t seq_txn[] = {
        2,
        7, 0,                       /* begin */
        0, 1, 2, 'h', 'i',          /* txn put k1 */
        19, 4,                      /* txn put k4 (large) */
        2, 5,                       /* txn delete k5 */
        18, 1,                      /* txn get k1 */
        8, 0,                       /* commit */
        7, 0, 0, 2, 1, 'q', 9, 0,   /* begin, put k2, abort */
        11, 0,
        14, 0,                      /* reopen */
        1, 4, 1, 2,
    };
    static const uint8_t seq_crash[] = {
        1,
        0, 0, 4, 'o', 'n', 'e', '!',
        19, 1,
        13, 0,                      /* checkpoint */
        0, 2, 0xf3, 7,              /* put k2 a number */
        4, 2, 1, 0,                 /* incr */
        6, 3, 50, 3, 't', 't', 'l', /* put_ttl k3 51 ms */
        15, 3,                      /* process crash, reopen */
        16, 0, 40,                  /* 40 ms pass */
        1, 3,
        16, 0, 20,                  /* expired */
        1, 3, 11, 0,
        17, 1,                      /* read-only txn */
        15, 7, 14, 0,
    };
    static const uint8_t seq_many[] = {
        6,
        0, 0, 0xff, 1, 0, 1, 0xff, 2, 0, 2, 0xff, 3, 0, 3, 0xff, 4,
        0, 4, 0xff, 5, 0, 5, 0xff, 6, 0, 6, 0xff, 7, 0, 7, 0xff, 8,
        13, 0, 2, 0, 2, 2, 2, 4, 14, 0, 11, 0, 15, 1, 12, 0,
    };
    emit(ops_dir, "basic", seq_basic, sizeof seq_basic, NULL, 0, NULL, 0);
    emit(ops_dir, "txn", seq_txn, sizeof seq_txn, NULL, 0, NULL, 0);
    emit(ops_dir, "crash", seq_crash, sizeof seq_crash, NULL, 0, NULL, 0);
    emit(ops_dir, "large", seq_many, sizeof seq_many, NULL, 0, NULL, 0);
    return 0;
}
