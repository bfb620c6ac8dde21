/*
 * test_badinput.c - hostile and mistaken input through the public API: NULL
 * pointers, keys and values over the limits (rejected before a byte is read),
 * use after close, bad options, files that are truncated, random, corrupt or
 * of a newer format, a second writer process (and lock waits), a log file
 * that is a symbolic link, file modes, and the error tables.
 *
 * Every case asserts a clear error code and that the process survives.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>



/* CRC-32C (Castagnoli), as the file format uses: to re-seal patched headers. */
static uint32_t crc32c(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The header's crc: bytes 0..15 and 20..255, stored at 16. */
static uint32_t header_crc(const uint8_t *h) { return crc32c(crc32c(0, h, 16), h + 20, 256 - 20); }

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void patch(const char *path, uint64_t off, const void *b, size_t n)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* The meta page has two copies (pages 0 and 1, 4 KiB pages here): write
 * both, so the patched one is what an open finds. */
static void patch_meta(const char *path, const uint8_t *h)
{
    patch(path, 0, h, 256);
    patch(path, 4096, h, 256);
}

/* A closed database with n records "key-%06d" -> "value-%06d-...". */
static void make_db(const char *path, unsigned n)
{
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags |= CELLAR_TRUNCATE;
    TU_OK(cellar_open(&db, path, &o));
    for (unsigned i = 0; i < n; i++) {
        char k[32], v[80];
        int kl = sprintf(k, "key-%06u", i);
        int vl = sprintf(v, "value-%06u-0123456789012345678901234567890123456789", i);
        TU_OK(cellar_put(db, k, (size_t)kl, v, (size_t)vl));
    }
    TU_OK(cellar_close(db));
}

static int open_rc(const char *path, unsigned flags)
{
    cellar_db *db = (cellar_db *)1;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = flags;
    int rc = cellar_open(&db, path, &o);
    if (rc == CELLAR_OK)
        cellar_close(db);
    else
        ck_assert_msg(db == NULL, "failed open left *out set");
    return rc;
}

/* ======================================================================== */
/* NULL pointers and limits                                                  */
/* ======================================================================== */

START_TEST(test_null_pointers)
{
    cellar_db *db;
    void *v = NULL;
    size_t vl = 0;
    uint64_t n;
    TU_RC(cellar_open(NULL, tu_path("n.cellar"), NULL), CELLAR_EINVAL);
    TU_RC(cellar_open(&db, NULL, NULL), CELLAR_EINVAL);
    ck_assert_ptr_null(db);
    TU_RC(cellar_open(&db, "", NULL), CELLAR_EINVAL);
    ck_assert_str_ne(cellar_error_last()->message, "");

    /* a NULL db handle */
    TU_RC(cellar_get(NULL, "k", 1, &v, &vl), CELLAR_EINVAL);
    TU_RC(cellar_put(NULL, "k", 1, "v", 1), CELLAR_EINVAL);
    TU_RC(cellar_delete(NULL, "k", 1), CELLAR_EINVAL);
    TU_RC(cellar_exists(NULL, "k", 1), CELLAR_EINVAL);
    TU_RC(cellar_incr(NULL, "k", 1, 1, NULL), CELLAR_EINVAL);
    TU_RC(cellar_count(NULL, &n), CELLAR_EINVAL);
    TU_RC(cellar_sync(NULL), CELLAR_EINVAL);
    TU_RC(cellar_checkpoint(NULL), CELLAR_EINVAL);
    cellar_txn *t;
    cellar_iter *it;
    TU_RC(cellar_txn_begin(&t, NULL, 0), CELLAR_EINVAL);
    TU_RC(cellar_iter_open(&it, NULL), CELLAR_EINVAL);
    TU_RC(cellar_txn_get(NULL, "k", 1, &v, &vl), CELLAR_EINVAL);
    TU_RC(cellar_txn_put(NULL, "k", 1, "v", 1), CELLAR_EINVAL);
    TU_RC(cellar_txn_commit(NULL), CELLAR_EINVAL);
    TU_RC(cellar_iter_next(NULL, NULL, NULL, NULL, NULL), CELLAR_EINVAL);
    /* NULL is a no-op for every closing function */
    TU_OK(cellar_close(NULL));
    cellar_txn_abort(NULL);
    cellar_iter_close(NULL);
    cellar_free(NULL);

    TU_OK(cellar_open(&db, tu_path("n.cellar"), NULL));
    /* key NULL with klen > 0 */
    TU_RC(cellar_get(db, NULL, 3, &v, &vl), CELLAR_EINVAL);
    TU_RC(cellar_put(db, NULL, 3, "v", 1), CELLAR_EINVAL);
    TU_RC(cellar_delete(db, NULL, 3), CELLAR_EINVAL);
    TU_RC(cellar_exists(db, NULL, 3), CELLAR_EINVAL);
    TU_RC(cellar_incr(db, NULL, 3, 1, NULL), CELLAR_EINVAL);
    TU_RC(cellar_cas(db, NULL, 3, NULL, 0, "v", 1), CELLAR_EINVAL);
    /* value NULL with vlen > 0 */
    TU_RC(cellar_put(db, "k", 1, NULL, 5), CELLAR_EINVAL);
    TU_RC(cellar_cas(db, "k", 1, NULL, 4, "v", 1), CELLAR_EINVAL);
    TU_RC(cellar_exists(db, "k", 1), CELLAR_ENOTFOUND); /* nothing was stored */
    /* out parameters */
    TU_RC(cellar_get(db, "k", 1, NULL, &vl), CELLAR_EINVAL);
    TU_RC(cellar_get(db, "k", 1, &v, NULL), CELLAR_EINVAL);
    TU_RC(cellar_count(db, NULL), CELLAR_EINVAL);
    TU_RC(cellar_stats_get(db, NULL), CELLAR_EINVAL);
    TU_RC(cellar_ttl(db, "k", 1, NULL), CELLAR_EINVAL);
    TU_RC(cellar_txn_begin(NULL, db, 0), CELLAR_EINVAL);
    TU_RC(cellar_iter_open(NULL, db), CELLAR_EINVAL);
    TU_RC(cellar_get_visit(db, "k", 1, NULL, NULL), CELLAR_EINVAL);
    /* batches */
    cellar_slice ks[2] = { { "a", 1 }, { NULL, 4 } }, vs[2] = { { "1", 1 }, { "2", 1 } };
    TU_RC(cellar_put_many(db, 2, NULL, vs), CELLAR_EINVAL);
    TU_RC(cellar_put_many(db, 2, ks, NULL), CELLAR_EINVAL);
    TU_RC(cellar_put_many(db, 2, ks, vs), CELLAR_EINVAL); /* a NULL key inside */
    TU_RC(cellar_exists(db, "a", 1), CELLAR_ENOTFOUND);  /* all or nothing */
    TU_RC(cellar_get_many(db, 1, NULL, vs, NULL), CELLAR_EINVAL);
    TU_OK(cellar_put_many(db, 0, NULL, NULL));
    /* the empty key with a NULL pointer is fine, so is an empty value */
    TU_OK(cellar_put(db, NULL, 0, NULL, 0));
    TU_OK(cellar_get(db, NULL, 0, &v, &vl));
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(vl, 0);
    cellar_free(v);
    /* transactions: key and value checks too */
    TU_OK(cellar_txn_begin(&t, db, 0));
    TU_RC(cellar_txn_put(t, NULL, 2, "v", 1), CELLAR_EINVAL);
    TU_RC(cellar_txn_put(t, "k", 1, NULL, 2), CELLAR_EINVAL);
    TU_RC(cellar_txn_get(t, "k", 1, NULL, &vl), CELLAR_EINVAL);
    cellar_txn *t2 = (cellar_txn *)1;
    TU_RC(cellar_txn_begin(&t2, db, 0x80), CELLAR_EINVAL);
    ck_assert_ptr_null(t2);
    cellar_txn_abort(t);
    TU_OK(cellar_close(db));
}
END_TEST

START_TEST(test_limits)
{
    cellar_db *db;
    TU_OK(cellar_open(&db, tu_path("lim.cellar"), NULL));
    size_t max = CELLAR_MAX_KEY_SIZE;
    uint8_t *key = malloc(max + 1);
    ck_assert_ptr_nonnull(key);
    for (size_t i = 0; i <= max; i++)
        key[i] = (uint8_t)(i * 13 + 1);
    TU_OK(cellar_put(db, key, max, "max", 3));
    void *v;
    size_t vl;
    TU_OK(cellar_get(db, key, max, &v, &vl));
    ck_assert_uint_eq(vl, 3);
    cellar_free(v);
    TU_RC(cellar_put(db, key, max + 1, "x", 1), CELLAR_ETOOBIG);
    ck_assert_str_ne(cellar_error_last()->message, "");
    TU_RC(cellar_get(db, key, max + 1, &v, &vl), CELLAR_ETOOBIG);
    TU_RC(cellar_exists(db, key, max + 1), CELLAR_ETOOBIG);
    TU_RC(cellar_delete(db, key, max + 1), CELLAR_ETOOBIG);
    TU_RC(cellar_incr(db, key, max + 1, 1, NULL), CELLAR_ETOOBIG);
    /* value over 1 GiB: the length is rejected before any byte is read
     * (the buffer is 16 bytes; reading it would crash or trip ASan) */
    static const uint8_t small[16] = "small";
    size_t huge = (size_t)CELLAR_MAX_VALUE_SIZE + 1;
    TU_RC(cellar_put(db, "k", 1, small, huge), CELLAR_ETOOBIG);
    TU_RC(cellar_put(db, "k", 1, small, SIZE_MAX), CELLAR_ETOOBIG);
    TU_RC(cellar_put_ttl(db, "k", 1, small, huge, 1000), CELLAR_ETOOBIG);
    TU_RC(cellar_cas(db, "k", 1, NULL, 0, small, huge), CELLAR_ETOOBIG);
    cellar_slice ks[1] = { { "k", 1 } }, vs[1] = { { small, huge } };
    TU_RC(cellar_put_many(db, 1, ks, vs), CELLAR_ETOOBIG);
    cellar_txn *t;
    TU_OK(cellar_txn_begin(&t, db, 0));
    TU_RC(cellar_txn_put(t, "k", 1, small, huge), CELLAR_ETOOBIG);
    TU_RC(cellar_txn_put(t, key, max + 1, "v", 1), CELLAR_ETOOBIG);
    TU_OK(cellar_txn_commit(t));
    TU_RC(cellar_exists(db, "k", 1), CELLAR_ENOTFOUND);
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, 1);
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
    free(key);
}
END_TEST

START_TEST(test_use_after_close_of_children)
{
    cellar_db *db;
    TU_OK(cellar_open(&db, tu_path("uac.cellar"), NULL));
    TU_OK(cellar_put(db, "a", 1, "1", 1));
    cellar_txn *t;
    cellar_iter *it;
    TU_OK(cellar_txn_begin(&t, db, 0));
    TU_OK(cellar_iter_open(&it, db));
    TU_OK(cellar_close(db));
    void *v;
    size_t vl;
    TU_RC(cellar_txn_get(t, "a", 1, &v, &vl), CELLAR_ECLOSED);
    TU_RC(cellar_txn_put(t, "a", 1, "2", 1), CELLAR_ECLOSED);
    TU_RC(cellar_txn_delete(t, "a", 1), CELLAR_ECLOSED);
    TU_RC(cellar_iter_next(it, NULL, NULL, NULL, NULL), CELLAR_ECLOSED);
    ck_assert_str_ne(cellar_error_last()->message, "");
    TU_RC(cellar_txn_commit(t), CELLAR_ECLOSED); /* and frees it */
    cellar_iter_close(it);
}
END_TEST

START_TEST(test_bad_options)
{
    const char *path = tu_path("opt.cellar");
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.version = 0;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o = (cellar_options)CELLAR_OPTIONS_INIT;
    o.version = 99;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o = (cellar_options)CELLAR_OPTIONS_INIT;
    o.page_size = 3000;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o.page_size = 2048;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o.page_size = 131072;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o = (cellar_options)CELLAR_OPTIONS_INIT;
    o.sync = 7;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o.sync = -1;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o = (cellar_options)CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_CREATE | 0x100;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o.flags = CELLAR_RDONLY | CELLAR_TRUNCATE;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    o = (cellar_options)CELLAR_OPTIONS_INIT;
    o.mode = 0100000;
    TU_RC(cellar_open(&db, path, &o), CELLAR_EINVAL);
    ck_assert_str_ne(cellar_error_last()->message, "");
    /* none of them created the file */
    ck_assert_int_ne(access(path, F_OK), 0);
    /* no CREATE: ENOENT */
    o = (cellar_options)CELLAR_OPTIONS_INIT;
    o.flags = 0;
    TU_RC(cellar_open(&db, path, &o), CELLAR_ENOENT);
    o.flags = CELLAR_RDONLY;
    TU_RC(cellar_open(&db, path, &o), CELLAR_ENOENT);
    /* valid page sizes */
    for (unsigned p = 4096; p <= 65536; p *= 2) {
        o = (cellar_options)CELLAR_OPTIONS_INIT;
        o.page_size = p;
        o.flags |= CELLAR_TRUNCATE;
        TU_OK(cellar_open(&db, path, &o));
        TU_OK(cellar_put(db, "k", 1, "v", 1));
        cellar_stats st = { .version = CELLAR_STATS_VERSION };
        TU_OK(cellar_stats_get(db, &st));
        ck_assert_uint_eq(st.page_size, p);
        TU_OK(cellar_close(db));
    }
}
END_TEST

/* ======================================================================== */
/* bad files                                                                 */
/* ======================================================================== */

START_TEST(test_truncated_file)
{
    const char *path = tu_path("trunc.cellar");
    const char *copy = tu_path("trunc.orig");
    make_db(path, 3000);
    size_t n;
    uint8_t *orig = slurp(path, &n);
    ck_assert_uint_gt(n, 8 * 4096);
    spit(copy, orig, n);
    size_t cuts[] = { 1, 7, 8, 100, 255, 256, 4095, 4096, 4096 + 100, 3 * 4096, n / 2, n - 4096, n - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        for (int ro = 0; ro < 2; ro++) {
            spit(path, orig, cuts[i]);
            cellar_db *db = NULL;
            cellar_options o = CELLAR_OPTIONS_INIT;
            o.flags = ro ? CELLAR_RDONLY : 0;
            int rc = cellar_open(&db, path, &o);
            if (rc == CELLAR_OK) {
                /* whatever opens must report the damage and not crash */
                int crc = cellar_check(db, NULL, NULL, NULL, NULL);
                ck_assert_msg(crc == CELLAR_ECORRUPT, "cut at %zu (ro %d): opened and check -> %s", cuts[i], ro,
                              cellar_errname(crc));
                for (unsigned k = 0; k < 3000; k += 7) {
                    char key[32];
                    int kl = sprintf(key, "key-%06u", k);
                    void *v = NULL;
                    size_t vl;
                    int g = cellar_get(db, key, (size_t)kl, &v, &vl);
                    ck_assert(g == CELLAR_OK || g == CELLAR_ECORRUPT || g == CELLAR_ENOTFOUND);
                    cellar_free(v);
                }
                cellar_close(db);
            } else {
                ck_assert_msg(rc == CELLAR_ECORRUPT || rc == CELLAR_ENOTDB, "cut at %zu (ro %d): %s: %s", cuts[i],
                              ro, cellar_errname(rc), cellar_error_last()->message);
                ck_assert_str_ne(cellar_error_last()->message, "");
            }
        }
    }
    free(orig);
}
END_TEST

START_TEST(test_random_and_garbage_files)
{
    tu_rng r = { 77 };
    char path[640], wal[648];
    snprintf(path, sizeof path, "%s", tu_path("rand.cellar"));
    if (snprintf(wal, sizeof wal, "%s-wal", path) >= (int)sizeof wal)
        ck_abort_msg("path too long");
    size_t sizes[] = { 1, 7, 100, 4096, 65536, 300000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *b = malloc(sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++)
            b[j] = (uint8_t)tu_next(&r);
        spit(path, b, sizes[i]);
        unlink(wal);
        TU_RC(open_rc(path, 0), CELLAR_ENOTDB);
        TU_RC(open_rc(path, CELLAR_RDONLY), CELLAR_ENOTDB);
        /* the file was not touched */
        size_t n;
        uint8_t *after = slurp(path, &n);
        ck_assert_uint_eq(n, sizes[i]);
        ck_assert_mem_eq(after, b, n);
        free(after);
        /* valid magic, garbage after it */
        if (sizes[i] >= 8) {
            memcpy(b, "CELLARDB", 8);
            spit(path, b, sizes[i]);
            unlink(wal);
            TU_RC(open_rc(path, 0), CELLAR_ECORRUPT);
            TU_RC(open_rc(path, CELLAR_RDONLY), CELLAR_ECORRUPT);
            ck_assert_str_ne(cellar_error_last()->message, "");
        }
        free(b);
    }
}
END_TEST

START_TEST(test_empty_file)
{
    const char *path = tu_path("empty.cellar");
    spit(path, "", 0);
    TU_RC(open_rc(path, CELLAR_RDONLY), CELLAR_ENOTDB);
    /* opening an empty file for writing makes it a database */
    TU_OK(open_rc(path, 0));
    TU_OK(open_rc(path, CELLAR_RDONLY));
}
END_TEST

START_TEST(test_newer_version_and_hostile_header)
{
    const char *path = tu_path("ver.cellar");
    make_db(path, 100);
    size_t n;
    uint8_t *orig = slurp(path, &n);
    ck_assert_uint_eq(get32(orig + 16), header_crc(orig)); /* our crc agrees with the format */

    /* the next version, crc fixed: EVERSION */
    uint8_t h[256];
    memcpy(h, orig, 256);
    put32(h + 8, get32(orig + 8) + 1);
    put32(h + 16, header_crc(h));
    patch(path, 0, h, 256);
    TU_RC(open_rc(path, 0), CELLAR_EVERSION);
    ck_assert_str_ne(cellar_error_last()->message, "");
    TU_RC(open_rc(path, CELLAR_RDONLY), CELLAR_EVERSION);
    /* version 0xffffffff, crc not fixed: EVERSION or ECORRUPT */
    put32(h + 8, 0xffffffffu);
    patch_meta(path, h);
    int rc = open_rc(path, 0);
    ck_assert_msg(rc == CELLAR_EVERSION || rc == CELLAR_ECORRUPT, "%s", cellar_errname(rc));
    /* the file is left alone */
    size_t n2;
    uint8_t *after = slurp(path, &n2);
    ck_assert_uint_eq(n2, n);
    ck_assert_mem_eq(after + 256, orig + 256, 4096 - 256);
    ck_assert_mem_eq(after + 4096 + 256, orig + 4096 + 256, n - 4096 - 256);
    free(after);

    /* hostile but well-sealed headers: huge depth, directory and free list
     * out of the file, absurd page size: ECORRUPT, no huge allocation */
    struct { unsigned off; uint32_t val; } bad[] = {
        { 12, 3000 },       { 12, 1u << 30 },     { 48, 31 },      { 48, 200 },
        { 52, 0 },          { 52, 0x7fffffff },  { 56, 0x7fffffff }, { 60, 0x7fffffff },
        { 64, 0x7fffffff }, { 68, 1 },           { 68, 0xffffffff }, { 104, 0 },
        { 104, 0x7fffffff }, { 108, 1 },         { 108, 0x7fffffff }, { 112, 0x7fffffff },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spit(path, orig, n);
        memcpy(h, orig, 256);
        put32(h + bad[i].off, bad[i].val);
        put32(h + 16, header_crc(h));
        patch_meta(path, h);
        for (int ro = 0; ro < 2; ro++) {
            cellar_db *db = NULL;
            cellar_options o = CELLAR_OPTIONS_INIT;
            o.flags = ro ? CELLAR_RDONLY : 0;
            rc = cellar_open(&db, path, &o);
            if (rc == CELLAR_OK) {
                int c = cellar_check(db, NULL, NULL, NULL, NULL);
                cellar_close(db);
                ck_assert_msg(c == CELLAR_ECORRUPT, "header field at %u = %u (ro %d): opened and check -> %s",
                              bad[i].off, bad[i].val, ro, cellar_errname(c));
            } else {
                ck_assert_msg(rc == CELLAR_ECORRUPT, "header field at %u = %u (ro %d): %s: %s", bad[i].off,
                              bad[i].val, ro, cellar_errname(rc), cellar_error_last()->message);
            }
        }
    }
    free(orig);
}
END_TEST

typedef struct report_log {
    uint64_t pages[64];
    unsigned n;
    char first[256];
} report_log;

static void on_report(uint64_t page, const char *message, void *payload)
{
    report_log *l = payload;
    if (l->n == 0)
        snprintf(l->first, sizeof l->first, "%s", message);
    if (l->n < 64)
        l->pages[l->n] = page;
    l->n++;
}

START_TEST(test_corrupt_bucket_page)
{
    const char *path = tu_path("cor.cellar");
    enum { N = 3000 };
    make_db(path, N);
    size_t n;
    uint8_t *file = slurp(path, &n);
    const size_t P = 4096;
    /* pick a bucket page with records from the middle of the file */
    uint32_t pages = (uint32_t)(n / P), victim = 0;
    unsigned nb = 0;
    for (uint32_t p = 1; p < pages; p++)
        if (file[p * P + 4] == 2 && (file[p * P + 6] | file[p * P + 7] << 8) > 0)
            nb++;
    ck_assert_uint_gt(nb, 4);
    for (uint32_t p = 1, k = 0; p < pages; p++)
        if (file[p * P + 4] == 2 && (file[p * P + 6] | file[p * P + 7] << 8) > 0 && k++ == nb / 2) {
            victim = p;
            break;
        }
    ck_assert_uint_gt(victim, 0);
    /* flip bytes in its record area (records are packed at the page's end) */
    uint8_t *pg = file + (size_t)victim * P;
    for (size_t i = P - 64; i < P; i += 3)
        pg[i] ^= 0x5a;
    patch(path, (uint64_t)victim * P, pg, P);

    char want[32];
    snprintf(want, sizeof want, "page %u", victim);
    for (int ro = 0; ro < 2; ro++) {
        cellar_db *db;
        cellar_options o = CELLAR_OPTIONS_INIT;
        o.flags = ro ? CELLAR_RDONLY : 0;
        TU_OK(cellar_open(&db, path, &o));
        unsigned ok = 0, bad = 0;
        for (unsigned i = 0; i < N; i++) {
            char k[32];
            int kl = sprintf(k, "key-%06u", i);
            void *v = NULL;
            size_t vl;
            int rc = cellar_get(db, k, (size_t)kl, &v, &vl);
            if (rc == CELLAR_OK) {
                char w[80];
                int wl = sprintf(w, "value-%06u-0123456789012345678901234567890123456789", i);
                ck_assert_uint_eq(vl, (size_t)wl);
                ck_assert_mem_eq(v, w, vl);
                cellar_free(v);
                ok++;
            } else {
                ck_assert_msg(rc == CELLAR_ECORRUPT, "get %s -> %s", k, cellar_errname(rc));
                ck_assert_msg(strstr(cellar_error_last()->message, want) != NULL,
                              "message does not name %s: %s", want, cellar_error_last()->message);
                bad++;
            }
        }
        ck_assert_uint_gt(bad, 0);
        ck_assert_uint_gt(ok, N / 2);
        /* a write to a key of the damaged bucket fails cleanly too */
        if (!ro) {
            uint64_t cnt;
            int rc = cellar_count(db, &cnt);
            ck_assert(rc == CELLAR_OK || rc == CELLAR_ECORRUPT);
        }
        /* iteration stops with ECORRUPT (or skips), never crashes */
        cellar_iter *it;
        TU_OK(cellar_iter_open(&it, db));
        int rc;
        unsigned seen = 0;
        while ((rc = cellar_iter_next(it, NULL, NULL, NULL, NULL)) == CELLAR_OK)
            seen++;
        ck_assert_msg(rc == CELLAR_ECORRUPT || rc == CELLAR_ENOTFOUND, "iter -> %s", cellar_errname(rc));
        cellar_iter_close(it);
        /* check reports the page */
        report_log log;
        memset(&log, 0, sizeof log);
        uint64_t problems = 0;
        TU_RC(cellar_check(db, on_report, NULL, &log, &problems), CELLAR_ECORRUPT);
        ck_assert_uint_ge(problems, 1);
        ck_assert_uint_ge(log.n, 1);
        int named = 0;
        for (unsigned i = 0; i < log.n && i < 64; i++)
            named |= log.pages[i] == victim;
        ck_assert_msg(named, "check did not report page %u (first: %s)", victim, log.first);
        cellar_close(db);
    }
    /* salvage copies every record outside the damaged page */
    uint64_t copied = 0;
    TU_OK(cellar_salvage(path, tu_path("salvaged.cellar"), NULL, NULL, &copied));
    ck_assert_uint_gt(copied, N / 2);
    ck_assert_uint_lt(copied, N);
    free(file);
}
END_TEST

/* A page whose checksum is valid but whose structure is garbage. */
START_TEST(test_resealed_garbage_page)
{
    const char *path = tu_path("seal.cellar");
    enum { N = 2000 };
    make_db(path, N);
    size_t n;
    uint8_t *file = slurp(path, &n);
    const size_t P = 4096;
    tu_rng r = { 5 };
    uint32_t pages = (uint32_t)(n / P);
    unsigned done = 0;
    for (uint32_t p = 1; p < pages && done < 3; p++) {
        uint8_t *pg = file + (size_t)p * P;
        if (pg[4] != 2 || (pg[6] | pg[7] << 8) == 0 || tu_below(&r, 4) != 0)
            continue;
        /* scramble slot offsets, record count and header fields */
        for (size_t i = 5; i < 200; i++)
            pg[i] = (uint8_t)tu_next(&r);
        pg[4] = 2;
        uint8_t no[4];
        put32(no, p);
        put32(pg, crc32c(crc32c(0, no, 4), pg + 4, P - 4));
        patch(path, (uint64_t)p * P, pg, P);
        done++;
    }
    ck_assert_uint_eq(done, 3);
    cellar_db *db;
    TU_OK(cellar_open(&db, path, NULL));
    unsigned bad = 0;
    for (unsigned i = 0; i < N; i++) {
        char k[32];
        int kl = sprintf(k, "key-%06u", i);
        void *v = NULL;
        size_t vl;
        int rc = cellar_get(db, k, (size_t)kl, &v, &vl);
        ck_assert_msg(rc == CELLAR_OK || rc == CELLAR_ECORRUPT || rc == CELLAR_ENOTFOUND, "%s",
                      cellar_errname(rc));
        if (rc != CELLAR_OK)
            bad++;
        cellar_free(v);
    }
    ck_assert_uint_gt(bad, 0);
    cellar_iter *it;
    TU_OK(cellar_iter_open(&it, db));
    int rc;
    while ((rc = cellar_iter_next(it, NULL, NULL, NULL, NULL)) == CELLAR_OK) {
    }
    cellar_iter_close(it);
    TU_RC(cellar_check(db, NULL, NULL, NULL, NULL), CELLAR_ECORRUPT);
    cellar_close(db);
    free(file);
}
END_TEST

/* ======================================================================== */
/* other processes                                                           */
/* ======================================================================== */

/* Fork a child that opens `path` with flags and timeout, holds it for
 * hold_ms, and exits with -rc. Returns the child's pid. */
static pid_t spawn_open(const char *path, unsigned flags, int timeout_ms, unsigned hold_ms)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        cellar_db *db;
        cellar_options o = CELLAR_OPTIONS_INIT;
        o.flags = flags;
        o.lock_timeout_ms = timeout_ms;
        int rc = cellar_open(&db, path, &o);
        if (rc == CELLAR_OK) {
            tu_sleep_ms(hold_ms);
            cellar_close(db);
        }
        _exit(-rc);
    }
    return pid;
}

static int wait_rc(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "child died (signal %d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return -WEXITSTATUS(st);
}

START_TEST(test_second_writer_process)
{
    const char *path = tu_path("lock.cellar");
    cellar_db *db;
    TU_OK(cellar_open(&db, path, NULL));
    TU_OK(cellar_put(db, "k", 1, "v", 1));

    /* a second writer fails at once */
    uint64_t t0 = tu_now_ms();
    TU_RC(wait_rc(spawn_open(path, 0, 0, 0)), CELLAR_ELOCKED);
    uint64_t dt = tu_now_ms() - t0;
    ck_assert_msg(dt < 2000, "ELOCKED took %" PRIu64 " ms", dt);
    /* with a timeout it waits, then fails */
    t0 = tu_now_ms();
    TU_RC(wait_rc(spawn_open(path, 0, 400, 0)), CELLAR_ELOCKED);
    dt = tu_now_ms() - t0;
    ck_assert_msg(dt >= 350, "lock_timeout_ms 400 gave up after %" PRIu64 " ms", dt);
    /* a reader fails while the writer holds the file */
    TU_RC(wait_rc(spawn_open(path, CELLAR_RDONLY, 0, 0)), CELLAR_ELOCKED);
    /* a waiting writer gets the file when the holder closes */
    pid_t w = spawn_open(path, 0, 10000, 0);
    tu_sleep_ms(200);
    TU_OK(cellar_close(db));
    TU_OK(wait_rc(w));

    /* two read-only processes at once */
    cellar_options ro = CELLAR_OPTIONS_INIT;
    ro.flags = CELLAR_RDONLY;
    TU_OK(cellar_open(&db, path, &ro));
    TU_OK(wait_rc(spawn_open(path, CELLAR_RDONLY, 0, 0)));
    pid_t r2 = spawn_open(path, CELLAR_RDONLY, 0, 300);
    /* and a writer is kept out while readers are there */
    TU_RC(wait_rc(spawn_open(path, 0, 0, 0)), CELLAR_ELOCKED);
    TU_OK(wait_rc(r2));
    void *v;
    size_t vl;
    TU_OK(cellar_get(db, "k", 1, &v, &vl));
    cellar_free(v);
    TU_RC(cellar_put(db, "k", 1, "w", 1), CELLAR_EREADONLY);
    TU_OK(cellar_close(db));
}
END_TEST

/* A handle used in a child after fork() is refused. */
START_TEST(test_handle_used_after_fork)
{
    const char *path = tu_path("fork.cellar");
    cellar_db *db;
    TU_OK(cellar_open(&db, path, NULL));
    TU_OK(cellar_put(db, "k", 1, "v", 1));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        void *v;
        size_t vl;
        int a = cellar_get(db, "k", 1, &v, &vl);
        int b = cellar_put(db, "k", 1, "child", 5);
        _exit(a == CELLAR_EFORK && b == CELLAR_EFORK ? 0 : 1);
    }
    TU_OK(wait_rc(pid));
    void *v;
    size_t vl;
    TU_OK(cellar_get(db, "k", 1, &v, &vl));
    ck_assert_mem_eq(v, "v", 1);
    cellar_free(v);
    TU_OK(cellar_close(db));
}
END_TEST

/* A child forked while the parent had the file open (and that never uses
 * it) must not keep the parent's lock after the parent closes. */
START_TEST(test_lock_not_kept_by_forked_child)
{
    const char *path = tu_path("forklock.cellar");
    cellar_db *db;
    TU_OK(cellar_open(&db, path, NULL));
    TU_OK(cellar_put(db, "k", 1, "v", 1));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        tu_sleep_ms(3000);
        _exit(0);
    }
    TU_OK(cellar_close(db));
    int rc = cellar_open(&db, path, NULL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_msg(rc == CELLAR_OK, "reopen after close, while a forked child lives: %s: %s", cellar_errname(rc),
                  cellar_error_last()->message);
    TU_OK(cellar_close(db));
}
END_TEST

/* ======================================================================== */
/* symlinked log, file modes                                                 */
/* ======================================================================== */

START_TEST(test_log_symlink_not_followed)
{
    const char *target = tu_path("precious.txt");
    static const char content[] = "precious content that cellardb must not touch\n";
    spit(target, content, sizeof content - 1);

    /* a new database whose log path is a planted symlink */
    char path[640], wal[648];
    snprintf(path, sizeof path, "%s", tu_path("sym.cellar"));
    if (snprintf(wal, sizeof wal, "%s-wal", path) >= (int)sizeof wal)
        ck_abort_msg("path too long");
    ck_assert_int_eq(symlink(target, wal), 0);
    cellar_db *db = NULL;
    int rc = cellar_open(&db, path, NULL);
    if (rc == CELLAR_OK) {
        cellar_put(db, "k", 1, "v", 1);
        cellar_close(db);
    }
    ck_assert_msg(rc != CELLAR_OK, "open followed the symlinked log");
    ck_assert_str_ne(cellar_error_last()->message, "");
    size_t n;
    uint8_t *b = slurp(target, &n);
    ck_assert_uint_eq(n, sizeof content - 1);
    ck_assert_mem_eq(b, content, n);
    free(b);
    struct stat st;
    ck_assert_int_eq(lstat(wal, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));

    /* an existing database, its log replaced by a symlink */
    unlink(wal);
    make_db(path, 10);
    unlink(wal);
    ck_assert_int_eq(symlink(target, wal), 0);
    for (int ro = 0; ro < 2; ro++) {
        cellar_options o = CELLAR_OPTIONS_INIT;
        o.flags = ro ? CELLAR_RDONLY : 0;
        rc = cellar_open(&db, path, &o);
        if (rc == CELLAR_OK) {
            cellar_put(db, "k", 1, "v", 1);
            cellar_close(db);
        }
        ck_assert_msg(rc != CELLAR_OK, "open (ro %d) followed the symlinked log", ro);
        b = slurp(target, &n);
        ck_assert_uint_eq(n, sizeof content - 1);
        ck_assert_mem_eq(b, content, n);
        free(b);
    }
    /* TRUNCATE removes the link itself, never the target */
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags |= CELLAR_TRUNCATE;
    rc = cellar_open(&db, path, &o);
    if (rc == CELLAR_OK)
        cellar_close(db);
    b = slurp(target, &n);
    ck_assert_uint_eq(n, sizeof content - 1);
    ck_assert_mem_eq(b, content, n);
    free(b);
}
END_TEST

static unsigned file_mode(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

START_TEST(test_file_modes)
{
    char path[640], wal[648];
    mode_t old = umask(022);
    cellar_db *db;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.mode = 0600;
    snprintf(path, sizeof path, "%s", tu_path("m600.cellar"));
    if (snprintf(wal, sizeof wal, "%s-wal", path) >= (int)sizeof wal)
        ck_abort_msg("path too long");
    TU_OK(cellar_open(&db, path, &o));
    TU_OK(cellar_put(db, "k", 1, "v", 1));
    ck_assert_uint_eq(file_mode(path), 0600);
    /* the log holds the same data: it must not be more readable */
    if (access(wal, F_OK) == 0)
        ck_assert_msg((file_mode(wal) & ~0600u) == 0, "log mode 0%o for a 0600 database", file_mode(wal));
    TU_OK(cellar_close(db));
    if (access(wal, F_OK) == 0)
        ck_assert_msg((file_mode(wal) & ~0600u) == 0, "log mode 0%o for a 0600 database", file_mode(wal));

    /* default 0666 minus the umask */
    snprintf(path, sizeof path, "%s", tu_path("mdef.cellar"));
    TU_OK(cellar_open(&db, path, NULL));
    TU_OK(cellar_close(db));
    ck_assert_uint_eq(file_mode(path), 0644);
    umask(077);
    snprintf(path, sizeof path, "%s", tu_path("mdef2.cellar"));
    TU_OK(cellar_open(&db, path, NULL));
    TU_OK(cellar_close(db));
    ck_assert_uint_eq(file_mode(path), 0600);
    umask(027);
    o.mode = 0664;
    snprintf(path, sizeof path, "%s", tu_path("m664.cellar"));
    TU_OK(cellar_open(&db, path, &o));
    TU_OK(cellar_close(db));
    ck_assert_uint_eq(file_mode(path), 0640);
    /* an existing file keeps its mode */
    chmod(path, 0604);
    o.mode = 0600;
    TU_OK(cellar_open(&db, path, &o));
    TU_OK(cellar_close(db));
    ck_assert_uint_eq(file_mode(path), 0604);
    umask(old);
}
END_TEST

START_TEST(test_error_tables)
{
    int seen = 0;
#define CHECK_CODE(name, value, msg)                                                       \
    ck_assert_str_eq(cellar_errname(CELLAR_##name), "CELLAR_" #name);                      \
    ck_assert_str_eq(cellar_strerror(CELLAR_##name), msg);                                 \
    ck_assert_int_eq(CELLAR_##name, value);                                                \
    seen++;
    CELLAR_ERROR_LIST(CHECK_CODE)
#undef CHECK_CODE
    ck_assert_int_eq(seen, 1 - CELLAR__ERROR_MIN);
    int unknown[] = { 1, 5, -23, -100, -1000000, 0x7fffffff, (int)0x80000000 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = cellar_strerror(unknown[i]);
        const char *n = cellar_errname(unknown[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_nonnull(n);
        ck_assert_str_eq(s, "unknown error");
#define NOT_NAME(name, value, msg) ck_assert_str_ne(n, "CELLAR_" #name);
        CELLAR_ERROR_LIST(NOT_NAME)
#undef NOT_NAME
    }
    /* the last error: empty after clear, set by a failure, per thread */
    cellar_error_clear();
    ck_assert_int_eq(cellar_error_last()->code, CELLAR_OK);
    ck_assert_str_eq(cellar_error_last()->message, "");
    cellar_db *db;
    TU_RC(cellar_open(&db, tu_path("no/such/dir/x.cellar"), NULL), CELLAR_ENOENT);
    ck_assert_int_eq(cellar_error_last()->code, CELLAR_ENOENT);
    ck_assert_int_eq(cellar_error_last()->sys_errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "x.cellar"));
    ck_assert_str_eq(cellar_version(), CELLAR_VERSION_STRING);
}
END_TEST

static Suite *suite(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("badinput");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_null_pointers);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_use_after_close_of_children);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_truncated_file);
    tcase_add_test(tc, test_random_and_garbage_files);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_newer_version_and_hostile_header);
    tcase_add_test(tc, test_corrupt_bucket_page);
    tcase_add_test(tc, test_resealed_garbage_page);
    tcase_add_test(tc, test_second_writer_process);
    tcase_add_test(tc, test_handle_used_after_fork);
    tcase_add_test(tc, test_lock_not_kept_by_forked_child);
    tcase_add_test(tc, test_log_symlink_not_followed);
    tcase_add_test(tc, test_file_modes);
    tcase_add_test(tc, test_error_tables);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
