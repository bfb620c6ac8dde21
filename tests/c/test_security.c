/*
 * test_security.c - the defenses listed in core/doc/SECURITY.md:
 *
 *  - hash flooding: keys crafted to collide in the low bits of the unseeded
 *    index hash (SipHash-1-3 with key (0, 0)) spread normally under the
 *    per-file random seed: no deep directory, no overflow chains. The same
 *    keys in a file whose seed was zeroed by hand do pile up, which shows
 *    they are hostile. Time per insert is printed, never asserted.
 *  - every new file gets its own random seed (header bytes 32..47);
 *  - file modes: the requested mode under the umask, the log gets the
 *    database's mode;
 *  - a symbolic link planted at the log path is never followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h" /* cellar__siphash, cellar__crc32c */
#include "testutil.h"

/* ---- crafted keys ---- */

/* Keys of 8 bytes (a little-endian counter) whose unseeded hash has `bits`
 * low zero bits: every such key lands in directory slot 0 until the
 * directory is 2^bits entries deep. Costs about n * 2^bits hashes. */
static uint8_t *craft_keys(size_t n, unsigned bits, uint64_t *hashes)
{
    uint8_t *keys = malloc(n * 8);
    ck_assert_ptr_nonnull(keys);
    uint64_t mask = (1ull << bits) - 1, c = 0;
    for (size_t i = 0; i < n; c++) {
        uint8_t k[8];
        cellar__put64(k, c);
        if ((cellar__siphash(0, 0, k, 8) & mask) == 0)
            memcpy(keys + 8 * i++, k, 8);
    }
    *hashes = c;
    return keys;
}

static size_t flood_n(void) { return TU_SANITIZED ? 40000 : 200000; }
static unsigned flood_bits(void) { return TU_SANITIZED ? 8 : 10; }

/* Insert the keys (in batches of 1000) and return the stats. */
static cellar_stats insert_all(cellar_db *db, const uint8_t *keys, size_t n, const char *label)
{
    cellar_slice ks[1000], vs[1000];
    uint64_t t0 = tu_now_ms();
    for (size_t i = 0; i < n; i += 1000) {
        size_t m = n - i < 1000 ? n - i : 1000;
        for (size_t j = 0; j < m; j++) {
            ks[j] = (cellar_slice){ keys + 8 * (i + j), 8 };
            vs[j] = (cellar_slice){ "v", 1 };
        }
        TU_OK(cellar_put_many(db, m, ks, vs));
    }
    uint64_t ms = tu_now_ms() - t0;
    cellar_stats st;
    memset(&st, 0, sizeof st);
    st.version = CELLAR_STATS_VERSION;
    TU_OK(cellar_stats_get(db, &st));
    printf("flood (%s): %zu keys in %llu ms (%.2f us/insert), global depth %u, "
           "%llu bucket pages, %llu overflow pages\n",
           label, n, (unsigned long long)ms, n ? 1000.0 * (double)ms / (double)n : 0.0,
           st.global_depth, (unsigned long long)st.bucket_pages,
           (unsigned long long)st.overflow_pages);
    return st;
}

START_TEST(test_flood_seeded)
{
    size_t n = flood_n();
    unsigned bits = flood_bits();
    uint64_t hashes = 0, t0 = tu_now_ms();
    uint8_t *keys = craft_keys(n, bits, &hashes);
    printf("flood: %zu keys sharing the low %u bits of the unseeded hash, "
           "%llu candidates in %llu ms\n", n, bits, (unsigned long long)hashes,
           (unsigned long long)(tu_now_ms() - t0));

    cellar_db *db = NULL;
    TU_OK(cellar_open(&db, tu_path("flood.db"), NULL));
    cellar_stats st = insert_all(db, keys, n, "random seed");
    /* 200k small records fill ~1000 buckets: a depth of ~10-11; an
     * unseeded hash would need `bits` more */
    ck_assert_uint_le(st.global_depth, 16);
    ck_assert_uint_eq(st.overflow_pages, 0);
    uint64_t count = 0;
    TU_OK(cellar_count(db, &count));
    ck_assert_uint_eq(count, n);
    for (size_t i = 0; i < n; i += 997)
        TU_OK(cellar_exists(db, keys + 8 * i, 8));
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
    free(keys);
}
END_TEST

/* Rewrite the hash seed of a closed database file (fixing the header CRC). */
static void zero_seed(const char *path)
{
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t h[256];
    ck_assert_int_eq(pread(fd, h, sizeof h, 0), (ssize_t)sizeof h);
    memset(h + 32, 0, 16);
    cellar__put32(h + 16, cellar__crc32c(cellar__crc32c(0, h, 16), h + 20, 236));
    /* both copies of the meta page (4 KiB pages) */
    ck_assert_int_eq(pwrite(fd, h, sizeof h, 0), (ssize_t)sizeof h);
    ck_assert_int_eq(pwrite(fd, h, sizeof h, 4096), (ssize_t)sizeof h);
    close(fd);
}

/* The control: the same keys against a zeroed seed do collide. */
START_TEST(test_flood_unseeded_control)
{
    size_t n = flood_n();
    unsigned bits = flood_bits();
    uint64_t hashes = 0;
    uint8_t *keys = craft_keys(n, bits, &hashes);
    const char *path = tu_path("unseeded.db");
    cellar_db *db = NULL;
    TU_OK(cellar_open(&db, path, NULL));
    TU_OK(cellar_close(db));
    zero_seed(path);
    TU_OK(cellar_open(&db, path, NULL));
    cellar_stats st = insert_all(db, keys, n, "seed zeroed by hand");
    /* all keys agree on the low `bits` bits: the directory must be that
     * much deeper than a random spread needs */
    ck_assert_uint_ge(st.global_depth, bits + 6);
    TU_OK(cellar_close(db));
    free(keys);
}
END_TEST

/* ---- per-file seeds ---- */

static void read_header(const char *path, uint8_t *out, size_t off, size_t n)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, out, n, (off_t)off), (ssize_t)n);
    close(fd);
}

START_TEST(test_seed_per_file)
{
    static const uint8_t zero[16];
    uint8_t s[2][16];
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed%d.db", i);
        const char *path = tu_path(name);
        cellar_db *db = NULL;
        TU_OK(cellar_open(&db, path, NULL));
        TU_OK(cellar_close(db));
        read_header(path, s[i], 32, 16);
        ck_assert(memcmp(s[i], zero, 16) != 0);
    }
    ck_assert_msg(memcmp(s[0], s[1], 16) != 0, "two new files share a hash seed");

    /* the seed is the file's for life: a reopen keeps it */
    const char *path = tu_path("seed0.db");
    cellar_db *db = NULL;
    uint8_t again[16];
    TU_OK(cellar_open(&db, path, NULL));
    TU_OK(cellar_put(db, "k", 1, "v", 1));
    TU_OK(cellar_close(db));
    read_header(path, again, 32, 16);
    ck_assert(memcmp(again, s[0], 16) == 0);
}
END_TEST

/* ---- file modes ---- */

static unsigned mode_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static void check_modes(unsigned mode, mode_t mask, unsigned want, const char *name)
{
    umask(mask);
    const char *path = tu_path(name);
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", path);
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.mode = mode;
    cellar_db *db = NULL;
    TU_OK(cellar_open(&db, path, &o));
    TU_OK(cellar_put(db, "k", 1, "v", 1));
    ck_assert_msg(mode_of(path) == want, "%s: mode 0%o, want 0%o", path, mode_of(path), want);
    ck_assert_msg(mode_of(wal) == want, "%s: mode 0%o, want 0%o", wal, mode_of(wal), want);
    TU_OK(cellar_close(db));
}

START_TEST(test_modes)
{
    check_modes(0640, 022, 0640, "m0640.db");
    check_modes(0, 022, 0644, "mdefault.db");   /* 0666 & ~022 */
    check_modes(0, 077, 0600, "mprivate.db");   /* 0666 & ~077 */
    check_modes(0666, 0, 0666, "m0666.db");
}
END_TEST

/* ---- a symbolic link at the log path ---- */

static void check_symlink(int dangling)
{
    const char *dir = tu_tmpdir();
    char path[4096], wal[4096], target[4096];
    snprintf(path, sizeof path, "%s/link.db", dir);
    snprintf(wal, sizeof wal, "%s/link.db-wal", dir);
    snprintf(target, sizeof target, "%s/victim", dir);
    if (!dangling) {
        FILE *f = fopen(target, "w");
        ck_assert_ptr_nonnull(f);
        fputs("precious", f);
        fclose(f);
    }
    ck_assert_int_eq(symlink(target, wal), 0);

    cellar_db *db = NULL;
    int rc = cellar_open(&db, path, NULL);
    ck_assert_msg(rc < 0, "cellar_open followed a symbolic link at the log path");
    ck_assert_ptr_null(db);

    struct stat st;
    if (dangling) {
        ck_assert_msg(lstat(target, &st) != 0 && errno == ENOENT,
                      "the link's target was created");
    } else {
        char buf[32] = { 0 };
        FILE *f = fopen(target, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
        fclose(f);
        ck_assert_str_eq(buf, "precious");
    }
    ck_assert_int_eq(lstat(wal, &st), 0);
    ck_assert(S_ISLNK(st.st_mode)); /* still the link, not replaced */
}

START_TEST(test_symlink_log)
{
    check_symlink(0);
}
END_TEST

START_TEST(test_symlink_log_dangling)
{
    check_symlink(1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("flood");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_flood_seeded);
    tcase_add_test(tc, test_flood_unseeded_control);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_seed_per_file);
    tcase_add_test(tc, test_modes);
    tcase_add_test(tc, test_symlink_log);
    tcase_add_test(tc, test_symlink_log_dangling);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
