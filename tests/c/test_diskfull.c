/*
 * test_diskfull.c - a real full disk: a small tmpfs mounted by the test.
 *
 * The database lives on an 8 MiB tmpfs beside a 2 MiB filler file. Writes go
 * on until the file system is full: the failing write returns CELLAR_ENOSPC,
 * the same handle still reads everything committed, and once the filler is
 * removed writing resumes; after a reopen every acknowledged commit is there
 * and the structure check passes. Mounting needs root (or a user namespace);
 * where it is not possible the test says so and does nothing.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char mnt[600];

static int mount_small(void)
{
    snprintf(mnt, sizeof mnt, "%s", tu_path("mnt"));
    mkdir(mnt, 0700);
    if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=8m,mode=0700") != 0) {
        printf("diskfull: SKIPPED: cannot mount a tmpfs here (%s); the fault vfs's capacity test "
               "(test_faults) covers ENOSPC instead\n",
               geteuid() != 0 ? "not root" : strerror(errno));
        return 0;
    }
    return 1;
}

static void key_of(char *k, unsigned i) { snprintf(k, 32, "key-%08u", i); }

START_TEST(full_disk_then_space_again)
{
    if (!mount_small())
        return;
    char filler[700], path[700];
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    snprintf(path, sizeof path, "%s/full.cellar", mnt);
    FILE *f = fopen(filler, "wb");
    ck_assert_ptr_nonnull(f);
    static char block[1 << 16];
    memset(block, 'f', sizeof block);
    for (int i = 0; i < 32; i++)
        ck_assert_uint_eq(fwrite(block, 1, sizeof block, f), sizeof block);
    fclose(f);

    cellar_options o = CELLAR_OPTIONS_INIT;
    o.sync = CELLAR_SYNC_FULL;
    o.cache_size = 1u << 20;
    o.wal_limit = 256u << 10;
    cellar_db *db;
    TU_OK(cellar_open(&db, path, &o));
    char k[32], v[700]; /* half a large-value threshold: stored in the buckets */
    memset(v, 'v', sizeof v);
    unsigned acked = 0;
    int rc = CELLAR_OK;
    for (unsigned i = 0; i < 100000; i++) {
        key_of(k, i);
        rc = cellar_put(db, k, strlen(k), v, sizeof v);
        if (rc != CELLAR_OK)
            break;
        acked = i + 1;
    }
    ck_assert_msg(rc == CELLAR_ENOSPC, "writing to a full disk gave %s: %s", cellar_errname(rc),
                  cellar_error_last()->message);
    ck_assert_uint_gt(acked, 100);
    printf("diskfull: %u commits before the disk filled: %s\n", acked, cellar_error_last()->message);

    /* the same handle still reads everything committed */
    for (unsigned i = 0; i < acked; i += 7) {
        void *out;
        size_t ol;
        key_of(k, i);
        TU_OK(cellar_get(db, k, strlen(k), &out, &ol));
        ck_assert_uint_eq(ol, sizeof v);
        cellar_free(out);
    }
    uint64_t n;
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, acked);

    /* a large value fails cleanly too, before anything is logged */
    static char big[64 << 10];
    TU_RC(cellar_put(db, "big", 3, big, sizeof big), CELLAR_ENOSPC);
    TU_RC(cellar_exists(db, "big", 3), CELLAR_ENOTFOUND);

    /* free space (2 MiB): writing resumes on the same handle */
    ck_assert_int_eq(unlink(filler), 0);
    unsigned more = 0;
    for (unsigned i = acked; i < acked + 200; i++) {
        key_of(k, i);
        TU_OK(cellar_put(db, k, strlen(k), v, sizeof v));
        more++;
    }
    TU_OK(cellar_put(db, "big", 3, big, sizeof big));
    TU_OK(cellar_close(db));

    TU_OK(cellar_open(&db, path, &o));
    TU_OK(cellar_count(db, &n));
    ck_assert_uint_eq(n, acked + more + 1);
    for (unsigned i = 0; i < acked + more; i++) {
        key_of(k, i);
        TU_OK(cellar_exists(db, k, strlen(k)));
    }
    TU_OK(cellar_check(db, NULL, NULL, NULL, NULL));
    TU_OK(cellar_close(db));
    umount2(mnt, MNT_DETACH);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("diskfull");
    TCase *tc = tcase_create("tmpfs");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, full_disk_then_space_again);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
