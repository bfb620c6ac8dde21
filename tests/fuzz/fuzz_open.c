/*
 * fuzz_open.c - open arbitrary bytes as a cellardb database (and log).
 *
 * Input: byte 0 picks the shape, the rest is file content.
 *   (b0 % 3) == 0: the rest is the database file; no log.
 *   (b0 % 3) == 1: a small valid database is created first (its last
 *                  transactions left in the log), then the rest replaces
 *                  its log "<path>-wal".
 *   (b0 % 3) == 2: bytes 1..2 (little-endian) split the rest into a
 *                  database file and a log.
 *   b0 & 0x80:     fix up checksums before opening (header and page CRCs of
 *                  the database, header CRC, data-file id and record chain
 *                  of the log), so the fuzzer gets past them and into the
 *                  structure checks.
 * Then: open read-only, check, iterate, get every key seen, count, close;
 * then the same read-write (recovery rewrites the file) plus one put. Every step may fail with any
 * CELLAR_E* code; none may crash, hang or allocate without bound.
 *
 * Everything lives in the fault vfs (in memory): no disk I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h" /* cellar__crc32c, byte coding */
#include "fuzz_common.h"

#define DB_PATH "fuzz.db"
#define WAL_PATH "fuzz.db-wal"
#define MAX_FILE (1u << 20) /* planted files are cut to 1 MiB */
#define MAX_KEYS 4096       /* keys remembered from one iteration */

static uint32_t page_size_of(const uint8_t *db, size_t n)
{
    if (n < 256)
        return 4096;
    uint32_t p = cellar__get32(db + 12);
    if (p < CELLAR_MIN_PAGE_SIZE || p > CELLAR_MAX_PAGE_SIZE || (p & (p - 1)))
        return 4096;
    return p;
}

/* Make every checksum of a database image valid (value-extent pages get a
 * harmless stamp: they carry no page CRC). */
static void fix_db(uint8_t *db, size_t n)
{
    if (n < 256)
        return;
    uint32_t c = cellar__crc32c(0, db, 16);
    cellar__put32(db + 16, cellar__crc32c(c, db + 20, 236));
    uint32_t P = page_size_of(db, n);
    for (size_t pg = 1; (pg + 1) * P <= n; pg++) {
        uint8_t le[4];
        cellar__put32(le, (uint32_t)pg);
        uint8_t *p = db + pg * P;
        cellar__put32(p, cellar__crc32c(cellar__crc32c(0, le, 4), p + 4, P - 4));
    }
}

/* Make the log's header CRC and record chain valid; file_id (if not 0) is
 * written into the header first. */
static void fix_wal(uint8_t *w, size_t n, uint64_t file_id)
{
    if (n < 40)
        return;
    if (file_id)
        cellar__put64(w + 16, file_id);
    cellar__put32(w + 32, cellar__crc32c(0, w, 32));
    uint32_t seed = (uint32_t)cellar__get64(w + 24);
    size_t off = 40;
    while (off + 16 <= n) {
        uint64_t len = cellar__get64(w + off + 8);
        if (len > n - off - 16)
            break;
        uint32_t crc = cellar__crc32c(seed, w + off + 4, 12 + (size_t)len);
        cellar__put32(w + off, crc);
        seed = crc;
        off += 16 + (size_t)len;
    }
}

/* Create a small valid database whose last commits stay in the log. */
static uint64_t make_valid(cellar_fault *fs)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.vfs = cellar_vfs_fault_vfs(fs);
    o.flags = CELLAR_CREATE;
    cellar_db *db = NULL;
    if (cellar_open(&db, DB_PATH, &o) != CELLAR_OK)
        return 0;
    for (int i = 0; i < 8; i++) {
        char k[8] = { 'k', (char)('0' + i) };
        cellar_put(db, k, 2, "value", 5);
    }
    cellar_checkpoint(db);
    cellar_put(db, "after", 5, "checkpoint", 10);
    cellar_delete(db, "k3", 2);
    /* leave the log as it is: the machine dies before close */
    cellar_vfs_fault_arm(fs, CELLAR_FAULT_WRITE | CELLAR_FAULT_SYNC | CELLAR_FAULT_TRUNCATE,
                         0, CELLAR_FAULT_CRASH, 1);
    cellar_close(db);
    cellar_vfs_fault_crash(fs, CELLAR_CRASH_KEEP, 1);

    const cellar_vfs *v = cellar_vfs_fault_vfs(fs);
    cellar_file *f = NULL;
    uint8_t hdr[32];
    size_t got = 0;
    uint64_t id = 0;
    if (v->open(v, DB_PATH, CELLAR_VFS_READ, 0, &f) == CELLAR_OK) {
        if (v->read(f, hdr, sizeof hdr, 0, &got) == CELLAR_OK && got == sizeof hdr)
            id = cellar__get64(hdr + 24);
        v->close(f);
    }
    return id;
}

static void report(uint64_t page, const char *message, void *payload)
{
    (void)page; (void)message; (void)payload;
}

/* Everything a reader can do with the file, with every result ignored
 * except that it must come back. */
static void exercise(cellar_fault *fs, unsigned flags)
{
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.vfs = cellar_vfs_fault_vfs(fs);
    o.flags = flags;
    o.cache_size = 1u << 20;
    cellar_db *db = NULL;
    if (cellar_open(&db, DB_PATH, &o) != CELLAR_OK)
        return;
    uint64_t problems = 0;
    cellar_check(db, report, NULL, NULL, &problems);

    /* keys seen by the iterator, copied (the iterator owns its pointers) */
    struct { uint8_t *k; size_t n; } keys[MAX_KEYS];
    size_t nkeys = 0;
    cellar_iter *it = NULL;
    if (cellar_iter_open(&it, db) == CELLAR_OK) {
        const void *k, *v;
        size_t kl, vl;
        /* bounded: a hostile file cannot make the iteration longer than its records */
        for (unsigned steps = 0; steps < 1u << 20; steps++) {
            if (cellar_iter_next(it, &k, &kl, &v, &vl) != CELLAR_OK)
                break;
            if (nkeys < MAX_KEYS && kl <= 256) {
                keys[nkeys].k = malloc(kl ? kl : 1);
                if (keys[nkeys].k) {
                    if (kl)
                        memcpy(keys[nkeys].k, k, kl);
                    keys[nkeys++].n = kl;
                }
            }
        }
        cellar_iter_close(it);
    }
    for (size_t i = 0; i < nkeys; i++) {
        void *val = NULL;
        size_t vl = 0;
        if (cellar_get(db, keys[i].k, keys[i].n, &val, &vl) == CELLAR_OK)
            cellar_free(val);
        cellar_exists(db, keys[i].k, keys[i].n);
        free(keys[i].k);
    }
    uint64_t count = 0;
    cellar_count(db, &count);
    cellar_stats st;
    memset(&st, 0, sizeof st);
    st.version = CELLAR_STATS_VERSION;
    cellar_stats_get(db, &st);
    if (!(flags & CELLAR_RDONLY))
        cellar_put(db, "fuzz", 4, "write", 5); /* writing into a recovered file */
    cellar_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t shape = data[0];
    data++, size--;
    if (size > 2 * MAX_FILE)
        size = 2 * MAX_FILE;

    cellar_fault *fs = NULL;
    if (cellar_vfs_fault_new(&fs) != CELLAR_OK)
        return 0;
    /* a hostile file must not make recovery write without bound either */
    cellar_vfs_fault_set_capacity(fs, 64u << 20);

    const uint8_t *dbp = NULL, *walp = NULL;
    size_t dbn = 0, waln = 0;
    uint64_t file_id = 0;
    switch (shape % 3) {
    case 0:
        dbp = data, dbn = size;
        break;
    case 1:
        file_id = make_valid(fs);
        walp = data, waln = size;
        break;
    default:
        if (size < 2)
            goto out;
        dbn = (size_t)(data[0] | data[1] << 8);
        data += 2, size -= 2;
        if (dbn > size)
            dbn = size;
        dbp = data, walp = data + dbn, waln = size - dbn;
        break;
    }
    if (dbn > MAX_FILE)
        dbn = MAX_FILE;
    if (waln > MAX_FILE)
        waln = MAX_FILE;

    if (dbp) {
        uint8_t *copy = malloc(dbn ? dbn : 1);
        if (!copy)
            goto out;
        memcpy(copy, dbp, dbn);
        if (shape & 0x80)
            fix_db(copy, dbn);
        fz_plant(fs, DB_PATH, copy, dbn);
        free(copy);
    }
    if (walp) {
        uint8_t *copy = malloc(waln ? waln : 1);
        if (!copy)
            goto out;
        memcpy(copy, walp, waln);
        if (shape & 0x80)
            fix_wal(copy, waln, file_id);
        fz_plant(fs, WAL_PATH, copy, waln);
        free(copy);
    }

    exercise(fs, CELLAR_RDONLY); /* read-only: recovery in memory, file untouched */
    exercise(fs, 0);             /* read-write: recovery runs, then a write */
out:
    cellar_vfs_fault_free(fs);
    return 0;
}
