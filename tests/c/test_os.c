/*
 * test_os.c - the file layer: the POSIX vfs (I/O, errors, modes, locks
 * between processes) and the fault-injecting vfs (every fault kind, crash
 * modes, capacity, locks between openers).
 */
#include "testutil.h"

#include "cellardb_vfs.h"
#include "os/os.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RW (CELLAR_VFS_READ | CELLAR_VFS_WRITE)
#define RWC (CELLAR_VFS_READ | CELLAR_VFS_WRITE | CELLAR_VFS_CREATE)



/* Read the whole file into a malloc'd buffer; *n = its size. */
static uint8_t *slurp(const cellar_vfs *vfs, cellar_file *f, size_t *n)
{
    uint64_t sz;
    TU_OK(vfs->size(f, &sz));
    uint8_t *b = malloc(sz ? sz : 1);
    ck_assert_ptr_nonnull(b);
    if (sz)
        TU_OK(cellar__os_read_full(vfs, f, b, sz, 0));
    *n = (size_t)sz;
    return b;
}

/* ======================================================================== */
/* Behaviour both vfs share                                                  */
/* ======================================================================== */

static void check_basic_io(const cellar_vfs *vfs, const char *path)
{
    cellar_file *f;
    uint8_t buf[8192], got[8192];
    size_t n;
    uint64_t sz;

    TU_RC(vfs->exists(vfs, path), CELLAR_ENOENT);
    TU_RC(vfs->open(vfs, path, RW, 0644, &f), CELLAR_ENOENT);
    TU_OK(vfs->open(vfs, path, RWC, 0644, &f));
    TU_OK(vfs->exists(vfs, path));
    TU_OK(vfs->size(f, &sz));
    ck_assert_uint_eq(sz, 0);

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    TU_OK(vfs->write(f, buf, sizeof buf, 0));
    TU_OK(vfs->size(f, &sz));
    ck_assert_uint_eq(sz, sizeof buf);
    TU_OK(vfs->read(f, got, sizeof got, 0, &n));
    ck_assert_uint_eq(n, sizeof got);
    ck_assert_mem_eq(got, buf, sizeof buf);

    /* a write past the end leaves a hole of zeros */
    TU_OK(vfs->write(f, "xyz", 3, 10000));
    TU_OK(vfs->size(f, &sz));
    ck_assert_uint_eq(sz, 10003);
    TU_OK(vfs->read(f, got, 100, 9000, &n));
    ck_assert_uint_eq(n, 100);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(got[i], 0);

    /* short read at end of file, and past it */
    TU_OK(vfs->read(f, got, 100, 9950, &n));
    ck_assert_uint_eq(n, 53);
    ck_assert_mem_eq(got + 50, "xyz", 3);
    TU_OK(vfs->read(f, got, 100, 20000, &n));
    ck_assert_uint_eq(n, 0);
    memset(got, 0xEE, 100);
    TU_RC(cellar__os_read_full(vfs, f, got, 100, 9950), CELLAR__OS_SHORT);
    ck_assert_mem_eq(got + 50, "xyz", 3);
    for (int i = 53; i < 100; i++)
        ck_assert_uint_eq(got[i], 0); /* zeroed past the end */
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "short read"));

    /* truncate down, then up: the regrown part reads as zeros */
    TU_OK(vfs->truncate(f, 100));
    TU_OK(vfs->size(f, &sz));
    ck_assert_uint_eq(sz, 100);
    TU_OK(vfs->truncate(f, 5000));
    TU_OK(vfs->read(f, got, 5000, 0, &n));
    ck_assert_uint_eq(n, 5000);
    ck_assert_mem_eq(got, buf, 100);
    for (int i = 100; i < 5000; i++)
        ck_assert_uint_eq(got[i], 0);
    TU_OK(vfs->sync(f));
    TU_OK(vfs->write(f, "", 0, 0)); /* empty write is fine */
    TU_OK(vfs->close(f));
    TU_OK(vfs->close(NULL));

    /* read-only open refuses writes */
    TU_OK(vfs->open(vfs, path, CELLAR_VFS_READ, 0, &f));
    TU_OK(vfs->read(f, got, 10, 0, &n));
    ck_assert_mem_eq(got, buf, 10);
    TU_RC(vfs->write(f, "a", 1, 0), CELLAR_EREADONLY);
    TU_RC(vfs->truncate(f, 0), CELLAR_EREADONLY);
    TU_RC(vfs->lock(f, CELLAR_LOCK_EX, 0), CELLAR_EREADONLY);
    TU_OK(vfs->lock(f, CELLAR_LOCK_SH, 0));
    TU_RC(vfs->lock(f, 7, 0), CELLAR_EINVAL);
    TU_OK(vfs->close(f));

    /* bad flags */
    TU_RC(vfs->open(vfs, path, 0, 0, &f), CELLAR_EINVAL);
    TU_RC(vfs->open(vfs, path, CELLAR_VFS_READ | 0x100u, 0, &f), CELLAR_EINVAL);
    TU_RC(vfs->open(vfs, "", CELLAR_VFS_READ, 0, &f), CELLAR_EINVAL);

    /* file_id: one file, one identity */
    cellar_file *a, *b, *c;
    uint64_t d1, i1, d2, i2, d3, i3;
    char other[700];
    snprintf(other, sizeof other, "%s.other", path);
    TU_OK(vfs->open(vfs, path, RW, 0, &a));
    TU_OK(vfs->open(vfs, path, CELLAR_VFS_READ, 0, &b));
    TU_OK(vfs->open(vfs, other, RWC, 0600, &c));
    TU_OK(vfs->file_id(a, &d1, &i1));
    TU_OK(vfs->file_id(b, &d2, &i2));
    TU_OK(vfs->file_id(c, &d3, &i3));
    ck_assert(d1 == d2 && i1 == i2);
    ck_assert(!(d1 == d3 && i1 == i3));
    TU_OK(vfs->close(a));
    TU_OK(vfs->close(b));
    TU_OK(vfs->close(c));

    TU_OK(vfs->remove(vfs, other));
    TU_RC(vfs->remove(vfs, other), CELLAR_ENOENT);
    TU_RC(vfs->exists(vfs, other), CELLAR_ENOENT);
    TU_OK(vfs->remove(vfs, path));
    TU_RC(vfs->exists(vfs, path), CELLAR_ENOENT);
}

/* Lock conflicts between two opens of one file (two processes for POSIX). */
static void check_locks_local(const cellar_vfs *vfs, const char *path)
{
    cellar_file *a, *b;
    TU_OK(vfs->open(vfs, path, RWC, 0644, &a));
    TU_OK(vfs->open(vfs, path, RW, 0644, &b));
    TU_OK(vfs->lock(a, CELLAR_LOCK_SH, 0));
    TU_OK(vfs->lock(b, CELLAR_LOCK_SH, 0));            /* SH + SH */
    TU_RC(vfs->lock(a, CELLAR_LOCK_EX, 0), CELLAR_ELOCKED); /* b still reads */
    TU_OK(vfs->lock(b, CELLAR_LOCK_UN, 0));
    TU_RC(vfs->lock(b, CELLAR_LOCK_EX, 0), CELLAR_ELOCKED); /* a kept its SH */
    TU_OK(vfs->lock(b, CELLAR_LOCK_UN, 0));
    TU_OK(vfs->lock(a, CELLAR_LOCK_EX, 0));            /* upgrade when alone */
    TU_RC(vfs->lock(b, CELLAR_LOCK_SH, 0), CELLAR_ELOCKED);
    TU_RC(vfs->lock(b, CELLAR_LOCK_EX, 0), CELLAR_ELOCKED);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, path));
    TU_OK(vfs->lock(a, CELLAR_LOCK_SH, 0));            /* downgrade */
    TU_OK(vfs->lock(b, CELLAR_LOCK_SH, 0));
    TU_OK(vfs->lock(b, CELLAR_LOCK_UN, 0));
    TU_OK(vfs->lock(a, CELLAR_LOCK_EX, 0));

    /* a timeout waits, then fails */
    uint64_t t0 = tu_now_ms();
    TU_RC(vfs->lock(b, CELLAR_LOCK_EX, 200), CELLAR_ELOCKED);
    ck_assert_uint_ge(tu_now_ms() - t0, 180);

    /* close releases */
    TU_OK(vfs->close(a));
    TU_OK(vfs->lock(b, CELLAR_LOCK_EX, 0));
    TU_OK(vfs->close(b));
}

/* ======================================================================== */
/* POSIX                                                                     */
/* ======================================================================== */

START_TEST(posix_basic_io)
{
    check_basic_io(cellar_vfs_posix(), tu_path("basic"));
}
END_TEST

START_TEST(posix_errors)
{
    const cellar_vfs *vfs = cellar_vfs_posix();
    cellar_file *f;
    TU_RC(vfs->open(vfs, tu_path("missing"), CELLAR_VFS_READ, 0, &f), CELLAR_ENOENT);
    ck_assert_int_eq(cellar_error_last()->sys_errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "missing"));
    TU_RC(vfs->open(vfs, tu_path("nodir/x"), RWC, 0644, &f), CELLAR_ENOENT);
    /* a directory is not a database file */
    TU_RC(vfs->open(vfs, tu_tmpdir(), CELLAR_VFS_READ, 0, &f), CELLAR_EINVAL);
    TU_RC(vfs->remove(vfs, tu_path("missing")), CELLAR_ENOENT);
    TU_RC(vfs->exists(vfs, tu_path("missing")), CELLAR_ENOENT);
    ck_assert_ptr_eq(cellar__os_vfs(NULL), vfs);
    TU_OK(cellar__os_vfs_check(vfs));
    cellar_vfs bad = *vfs;
    bad.sync = NULL;
    TU_RC(cellar__os_vfs_check(&bad), CELLAR_EINVAL);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "sync"));
    bad = *vfs;
    bad.version = 99;
    TU_RC(cellar__os_vfs_check(&bad), CELLAR_EINVAL);
}
END_TEST

START_TEST(posix_nofollow)
{
    const cellar_vfs *vfs = cellar_vfs_posix();
    cellar_file *f;
    char target[700];
    snprintf(target, sizeof target, "%s", tu_path("target"));
    const char *link = tu_path("link");
    TU_OK(vfs->open(vfs, target, RWC, 0644, &f));
    TU_OK(vfs->write(f, "hello", 5, 0));
    TU_OK(vfs->close(f));
    ck_assert_int_eq(symlink(target, link), 0);

    TU_RC(vfs->open(vfs, link, RW | CELLAR_VFS_NOFOLLOW, 0, &f), CELLAR_EINVAL);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "symbolic link"));
    TU_RC(vfs->open(vfs, link, RWC | CELLAR_VFS_NOFOLLOW, 0644, &f), CELLAR_EINVAL);
    /* without NOFOLLOW the link is followed */
    TU_OK(vfs->open(vfs, link, CELLAR_VFS_READ, 0, &f));
    char b[5];
    TU_OK(cellar__os_read_full(vfs, f, b, 5, 0));
    ck_assert_mem_eq(b, "hello", 5);
    TU_OK(vfs->close(f));
    /* a regular file opens fine with NOFOLLOW */
    TU_OK(vfs->open(vfs, target, RW | CELLAR_VFS_NOFOLLOW, 0, &f));
    TU_OK(vfs->close(f));
}
END_TEST

static unsigned file_mode(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

START_TEST(posix_mode_umask)
{
    const cellar_vfs *vfs = cellar_vfs_posix();
    cellar_file *f;
    mode_t old = umask(022);
    TU_OK(vfs->open(vfs, tu_path("m1"), RWC, 0666, &f));
    TU_OK(vfs->close(f));
    ck_assert_uint_eq(file_mode(tu_path("m1")), 0644);
    umask(077);
    TU_OK(vfs->open(vfs, tu_path("m2"), RWC, 0640, &f));
    TU_OK(vfs->close(f));
    ck_assert_uint_eq(file_mode(tu_path("m2")), 0600);
    umask(0);
    TU_OK(vfs->open(vfs, tu_path("m3"), RWC, 0604, &f));
    TU_OK(vfs->close(f));
    ck_assert_uint_eq(file_mode(tu_path("m3")), 0604);
    TU_OK(vfs->open(vfs, tu_path("m4"), RWC, 0, &f)); /* 0 = 0666 */
    TU_OK(vfs->close(f));
    ck_assert_uint_eq(file_mode(tu_path("m4")), 0666);
    /* an existing file keeps its mode */
    umask(077);
    TU_OK(vfs->open(vfs, tu_path("m3"), RWC, 0600, &f));
    TU_OK(vfs->close(f));
    ck_assert_uint_eq(file_mode(tu_path("m3")), 0604);
    umask(old);
}
END_TEST

START_TEST(posix_locks_local)
{
    check_locks_local(cellar_vfs_posix(), tu_path("locks"));
}
END_TEST

/*
 * Run `fn` in a child process, which opens `path` itself (its own open file,
 * as another process would). Returns the child's exit status.
 */
typedef int (*child_fn)(const cellar_vfs *vfs, const char *path, int arg);

static pid_t spawn(child_fn fn, const char *path, int arg)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fn(cellar_vfs_posix(), path, arg));
    return pid;
}

static int reap(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Exit codes: 0 granted, 1 ELOCKED, 2 other error; arg = mode | timeout_ms << 4. */
static int child_lock(const cellar_vfs *vfs, const char *path, int arg)
{
    cellar_file *f;
    if (vfs->open(vfs, path, RW, 0, &f) != CELLAR_OK)
        return 2;
    int rc = vfs->lock(f, arg & 0xf, arg >> 4);
    vfs->close(f);
    return rc == CELLAR_OK ? 0 : rc == CELLAR_ELOCKED ? 1 : 2;
}

START_TEST(posix_locks_fork)
{
    const cellar_vfs *vfs = cellar_vfs_posix();
    const char *path = tu_path("plock");
    cellar_file *f;
    TU_OK(vfs->open(vfs, path, RWC, 0644, &f));

    /* parent holds EX: the child gets neither EX nor SH */
    TU_OK(vfs->lock(f, CELLAR_LOCK_EX, 0));
    ck_assert_int_eq(reap(spawn(child_lock, path, CELLAR_LOCK_EX)), 1);
    ck_assert_int_eq(reap(spawn(child_lock, path, CELLAR_LOCK_SH)), 1);

    /* with a timeout the child waits, then fails */
    uint64_t t0 = tu_now_ms();
    ck_assert_int_eq(reap(spawn(child_lock, path, CELLAR_LOCK_EX | (300 << 4))), 1);
    ck_assert_uint_ge(tu_now_ms() - t0, 280);

    /* ... or succeeds when the parent lets go in time */
    pid_t pid = spawn(child_lock, path, CELLAR_LOCK_EX | (5000 << 4));
    tu_sleep_ms(150);
    TU_OK(vfs->lock(f, CELLAR_LOCK_UN, 0));
    ck_assert_int_eq(reap(pid), 0);

    /* SH + SH between processes; SH keeps a writer out */
    TU_OK(vfs->lock(f, CELLAR_LOCK_SH, 0));
    ck_assert_int_eq(reap(spawn(child_lock, path, CELLAR_LOCK_SH)), 0);
    ck_assert_int_eq(reap(spawn(child_lock, path, CELLAR_LOCK_EX)), 1);

    /* close releases */
    TU_OK(vfs->lock(f, CELLAR_LOCK_EX, 0));
    TU_OK(vfs->close(f));
    ck_assert_int_eq(reap(spawn(child_lock, path, CELLAR_LOCK_EX)), 0);
}
END_TEST

/* The child holds the lock until the parent writes to go_pipe. */
static int hold_pipe[2], go_pipe[2];
static int child_hold(const cellar_vfs *vfs, const char *path, int arg)
{
    cellar_file *f;
    char c = 'x';
    if (vfs->open(vfs, path, RW, 0, &f) != CELLAR_OK || vfs->lock(f, arg, 0) != CELLAR_OK)
        c = 'e';
    if (write(hold_pipe[1], &c, 1) != 1)
        return 3;
    if (read(go_pipe[0], &c, 1) != 1)
        return 3;
    vfs->close(f);
    return 0;
}

START_TEST(posix_locks_child_holds)
{
    const cellar_vfs *vfs = cellar_vfs_posix();
    const char *path = tu_path("plock2");
    cellar_file *f;
    char c;
    TU_OK(vfs->open(vfs, path, RWC, 0644, &f));
    ck_assert_int_eq(pipe(hold_pipe), 0);
    ck_assert_int_eq(pipe(go_pipe), 0);
    pid_t pid = spawn(child_hold, path, CELLAR_LOCK_EX);
    ck_assert_int_eq(read(hold_pipe[0], &c, 1), 1);
    ck_assert_int_eq(c, 'x');
    TU_RC(vfs->lock(f, CELLAR_LOCK_EX, 0), CELLAR_ELOCKED);
    TU_RC(vfs->lock(f, CELLAR_LOCK_SH, 50), CELLAR_ELOCKED);
    ck_assert_int_eq(write(go_pipe[1], "go", 1), 1);
    ck_assert_int_eq(reap(pid), 0);
    TU_OK(vfs->lock(f, CELLAR_LOCK_EX, 0));
    TU_OK(vfs->close(f));
    close(hold_pipe[0]);
    close(hold_pipe[1]);
    close(go_pipe[0]);
    close(go_pipe[1]);
}
END_TEST

START_TEST(posix_large_offsets)
{
    const cellar_vfs *vfs = cellar_vfs_posix();
    cellar_file *f;
    TU_OK(vfs->open(vfs, tu_path("sparse"), RWC, 0644, &f));
    uint64_t off = (uint64_t)5 << 30; /* 5 GiB: a sparse file, no space used */
    TU_OK(vfs->write(f, "end", 3, off));
    uint64_t sz;
    TU_OK(vfs->size(f, &sz));
    ck_assert_uint_eq(sz, off + 3);
    char b[3];
    TU_OK(cellar__os_read_full(vfs, f, b, 3, off));
    ck_assert_mem_eq(b, "end", 3);
    TU_RC(vfs->write(f, "x", 1, UINT64_MAX - 1), CELLAR_EINVAL);
    TU_OK(vfs->truncate(f, 0));
    TU_OK(vfs->close(f));
}
END_TEST

/* ======================================================================== */
/* Fault vfs                                                                 */
/* ======================================================================== */

static cellar_fault *g_fs;
static const cellar_vfs *g_vfs;

static void fault_setup(void)
{
    TU_OK(cellar_vfs_fault_new(&g_fs));
    g_vfs = cellar_vfs_fault_vfs(g_fs);
}

static void fault_teardown(void)
{
    cellar_vfs_fault_free(g_fs);
    g_fs = NULL;
}

START_TEST(fault_basic_io)
{
    check_basic_io(g_vfs, "/db/basic");
    TU_OK(cellar__os_vfs_check(g_vfs));
}
END_TEST

START_TEST(fault_locks)
{
    check_locks_local(g_vfs, "/db/locks");
}
END_TEST

struct releaser {
    const cellar_vfs *vfs;
    cellar_file *f;
    unsigned delay;
};

static void *release_later(void *p)
{
    struct releaser *r = p;
    tu_sleep_ms(r->delay);
    r->vfs->lock(r->f, CELLAR_LOCK_UN, 0);
    return NULL;
}

START_TEST(fault_lock_wait_granted)
{
    cellar_file *a, *b;
    TU_OK(g_vfs->open(g_vfs, "/l", RWC, 0, &a));
    TU_OK(g_vfs->open(g_vfs, "/l", RW, 0, &b));
    TU_OK(g_vfs->lock(a, CELLAR_LOCK_EX, 0));
    struct releaser r = { g_vfs, a, 100 };
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, release_later, &r), 0);
    uint64_t t0 = tu_now_ms();
    TU_OK(g_vfs->lock(b, CELLAR_LOCK_EX, 5000));
    ck_assert_uint_ge(tu_now_ms() - t0, 80);
    pthread_join(t, NULL);
    TU_RC(g_vfs->lock(a, CELLAR_LOCK_SH, 0), CELLAR_ELOCKED);
    TU_OK(g_vfs->close(a));
    TU_OK(g_vfs->close(b));
}
END_TEST

START_TEST(fault_remove_open_file)
{
    cellar_file *f, *g;
    char b[4];
    TU_OK(g_vfs->open(g_vfs, "/r", RWC, 0, &f));
    TU_OK(g_vfs->write(f, "abcd", 4, 0));
    TU_OK(g_vfs->remove(g_vfs, "/r"));
    TU_RC(g_vfs->exists(g_vfs, "/r"), CELLAR_ENOENT);
    TU_OK(cellar__os_read_full(g_vfs, f, b, 4, 0)); /* the open handle still reads */
    ck_assert_mem_eq(b, "abcd", 4);
    /* a new file under the same name is another file */
    TU_OK(g_vfs->open(g_vfs, "/r", RWC, 0, &g));
    uint64_t d1, i1, d2, i2;
    TU_OK(g_vfs->file_id(f, &d1, &i1));
    TU_OK(g_vfs->file_id(g, &d2, &i2));
    ck_assert(d1 == d2 && i1 != i2);
    TU_OK(g_vfs->close(f));
    TU_OK(g_vfs->close(g));

    /* two machines never share an identity */
    cellar_fault *fs2;
    TU_OK(cellar_vfs_fault_new(&fs2));
    const cellar_vfs *v2 = cellar_vfs_fault_vfs(fs2);
    TU_OK(v2->open(v2, "/r", RWC, 0, &g));
    TU_OK(v2->file_id(g, &d2, &i2));
    ck_assert(d1 != d2);
    TU_OK(v2->close(g));
    cellar_vfs_fault_free(fs2);
}
END_TEST

static cellar_file *fresh(const char *path)
{
    cellar_file *f;
    TU_OK(g_vfs->open(g_vfs, path, RWC, 0644, &f));
    return f;
}

START_TEST(fault_countdown_eio)
{
    cellar_file *f = fresh("/c");
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_WRITE, 2, CELLAR_FAULT_EIO, 0);
    TU_OK(g_vfs->sync(f)); /* not a write: not counted down */
    TU_OK(g_vfs->write(f, "a", 1, 0));
    TU_OK(g_vfs->write(f, "b", 1, 1));
    TU_RC(g_vfs->write(f, "c", 1, 2), CELLAR_EIO);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "injected"));
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "/c"));
    TU_OK(g_vfs->write(f, "d", 1, 2)); /* not sticky: once only */
    TU_OK(g_vfs->write(f, "e", 1, 3));
    uint64_t sz;
    TU_OK(g_vfs->size(f, &sz));
    ck_assert_uint_eq(sz, 4);
    char b[4];
    TU_OK(cellar__os_read_full(g_vfs, f, b, 4, 0));
    ck_assert_mem_eq(b, "abde", 4);
    TU_OK(g_vfs->close(f));
}
END_TEST

START_TEST(fault_each_op)
{
    cellar_file *f = fresh("/ops");
    char b[8];
    size_t n;
    TU_OK(g_vfs->write(f, "12345678", 8, 0));

    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_READ, 0, CELLAR_FAULT_EIO, 0);
    TU_OK(g_vfs->write(f, "x", 1, 0));
    TU_RC(g_vfs->read(f, b, 8, 0, &n), CELLAR_EIO);
    TU_OK(g_vfs->read(f, b, 8, 0, &n));

    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_SYNC, 1, CELLAR_FAULT_EIO, 0);
    TU_OK(g_vfs->sync(f));
    TU_RC(g_vfs->sync(f), CELLAR_EIO);
    TU_OK(g_vfs->sync(f));

    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_TRUNCATE, 0, CELLAR_FAULT_ENOSPC, 0);
    TU_RC(g_vfs->truncate(f, 100), CELLAR_ENOSPC);
    uint64_t sz;
    TU_OK(g_vfs->size(f, &sz));
    ck_assert_uint_eq(sz, 8);
    TU_OK(g_vfs->truncate(f, 4));

    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_WRITE, 0, CELLAR_FAULT_ENOSPC, 0);
    TU_RC(g_vfs->write(f, "zz", 2, 0), CELLAR_ENOSPC);
    TU_OK(cellar__os_read_full(g_vfs, f, b, 4, 0));
    ck_assert_mem_eq(b, "x234", 4); /* nothing stored */

    /* SHORT on something that is not a write is a plain EIO */
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_SYNC, 0, CELLAR_FAULT_SHORT, 0);
    TU_RC(g_vfs->sync(f), CELLAR_EIO);

    /* a mask of several ops; clear disarms */
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_READ | CELLAR_FAULT_WRITE, 1, CELLAR_FAULT_EIO, 1);
    TU_OK(g_vfs->sync(f));
    TU_OK(g_vfs->read(f, b, 1, 0, &n));
    TU_RC(g_vfs->write(f, "q", 1, 0), CELLAR_EIO);
    TU_RC(g_vfs->read(f, b, 1, 0, &n), CELLAR_EIO);
    cellar_vfs_fault_clear(g_fs);
    TU_OK(g_vfs->read(f, b, 1, 0, &n));
    TU_OK(g_vfs->write(f, "q", 1, 0));
    TU_OK(g_vfs->close(f));
}
END_TEST

START_TEST(fault_sticky)
{
    cellar_file *f = fresh("/s");
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_WRITE, 1, CELLAR_FAULT_EIO, 1);
    TU_OK(g_vfs->write(f, "a", 1, 0));
    for (int i = 0; i < 10; i++)
        TU_RC(g_vfs->write(f, "b", 1, 1), CELLAR_EIO);
    TU_OK(g_vfs->sync(f)); /* other ops work */
    cellar_vfs_fault_clear(g_fs);
    TU_OK(g_vfs->write(f, "b", 1, 1));
    /* arming again replaces the fault */
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_WRITE, 0, CELLAR_FAULT_ENOSPC, 1);
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_SYNC, 0, CELLAR_FAULT_EIO, 1);
    TU_OK(g_vfs->write(f, "c", 1, 2));
    TU_RC(g_vfs->sync(f), CELLAR_EIO);
    TU_RC(g_vfs->sync(f), CELLAR_EIO);
    TU_OK(g_vfs->close(f));
}
END_TEST

START_TEST(fault_short_write)
{
    cellar_file *f = fresh("/short");
    uint8_t buf[1000], got[1000];
    memset(buf, 'n', sizeof buf);
    memset(got, 'o', sizeof got);
    TU_OK(g_vfs->write(f, got, sizeof got, 0));
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_WRITE, 0, CELLAR_FAULT_SHORT, 0);
    TU_RC(g_vfs->write(f, buf, 1000, 500), CELLAR_EIO);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "short"));
    uint64_t sz;
    TU_OK(g_vfs->size(f, &sz));
    ck_assert_uint_eq(sz, 1000); /* 500 + 500 stored: no growth */
    TU_OK(cellar__os_read_full(g_vfs, f, got, 1000, 0));
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(got[i], i < 500 ? 'o' : 'n');
    /* an appending short write grows the file by half */
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_WRITE, 0, CELLAR_FAULT_SHORT, 0);
    TU_RC(g_vfs->write(f, buf, 101, 1000), CELLAR_EIO);
    TU_OK(g_vfs->size(f, &sz));
    ck_assert_uint_eq(sz, 1050);
    TU_OK(g_vfs->close(f));
}
END_TEST

START_TEST(fault_crash_kind)
{
    cellar_file *f = fresh("/k"), *g;
    char b[4];
    size_t n;
    uint64_t sz, d, i;
    TU_OK(g_vfs->write(f, "abcd", 4, 0));
    TU_OK(g_vfs->sync(f));
    TU_OK(g_vfs->write(f, "XY", 2, 0));
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_SYNC, 0, CELLAR_FAULT_CRASH, 0);
    TU_RC(g_vfs->sync(f), CELLAR_EIO);
    /* the machine is dead: everything fails, whatever the mask said */
    TU_RC(g_vfs->write(f, "z", 1, 0), CELLAR_EIO);
    TU_RC(g_vfs->read(f, b, 1, 0, &n), CELLAR_EIO);
    TU_RC(g_vfs->sync(f), CELLAR_EIO);
    TU_RC(g_vfs->truncate(f, 0), CELLAR_EIO);
    TU_RC(g_vfs->size(f, &sz), CELLAR_EIO);
    TU_RC(g_vfs->lock(f, CELLAR_LOCK_SH, 0), CELLAR_EIO);
    TU_RC(g_vfs->file_id(f, &d, &i), CELLAR_EIO);
    TU_RC(g_vfs->open(g_vfs, "/k", RW, 0, &g), CELLAR_EIO);
    TU_RC(g_vfs->exists(g_vfs, "/k"), CELLAR_EIO);
    TU_RC(g_vfs->remove(g_vfs, "/k"), CELLAR_EIO);
    cellar_vfs_fault_clear(g_fs); /* does not revive it */
    TU_RC(g_vfs->size(f, &sz), CELLAR_EIO);

    cellar_vfs_fault_crash(g_fs, CELLAR_CRASH_DROP, 1);
    /* the old handle is stale: only close works */
    TU_RC(g_vfs->read(f, b, 1, 0, &n), CELLAR_EIO);
    ck_assert_ptr_nonnull(strstr(cellar_error_last()->message, "before a crash"));
    TU_OK(g_vfs->close(f));
    TU_OK(g_vfs->open(g_vfs, "/k", RW, 0, &g));
    TU_OK(cellar__os_read_full(g_vfs, g, b, 4, 0));
    ck_assert_mem_eq(b, "abcd", 4);
    TU_OK(g_vfs->close(g));
}
END_TEST

START_TEST(fault_crash_releases_locks)
{
    cellar_file *a = fresh("/lk"), *b;
    TU_OK(g_vfs->lock(a, CELLAR_LOCK_EX, 0));
    cellar_vfs_fault_crash(g_fs, CELLAR_CRASH_KEEP, 0);
    TU_OK(g_vfs->open(g_vfs, "/lk", RW, 0, &b));
    TU_OK(g_vfs->lock(b, CELLAR_LOCK_EX, 0));
    TU_OK(g_vfs->close(a)); /* stale: must not drop b's lock */
    cellar_file *c;
    TU_OK(g_vfs->open(g_vfs, "/lk", RW, 0, &c));
    TU_RC(g_vfs->lock(c, CELLAR_LOCK_SH, 0), CELLAR_ELOCKED);
    TU_OK(g_vfs->close(b));
    TU_OK(g_vfs->lock(c, CELLAR_LOCK_SH, 0));
    TU_OK(g_vfs->close(c));
}
END_TEST

START_TEST(fault_count)
{
    cellar_file *f = fresh("/n");
    char b[1];
    size_t n;
    ck_assert_uint_eq(cellar_vfs_fault_count(g_fs, ~0u), 0);
    for (int i = 0; i < 3; i++)
        TU_OK(g_vfs->write(f, "a", 1, (uint64_t)i));
    TU_OK(g_vfs->sync(f));
    for (int i = 0; i < 5; i++)
        TU_OK(g_vfs->read(f, b, 1, 0, &n));
    TU_OK(g_vfs->truncate(f, 1));
    cellar_vfs_fault_arm(g_fs, CELLAR_FAULT_WRITE, 0, CELLAR_FAULT_EIO, 0);
    TU_RC(g_vfs->write(f, "a", 1, 0), CELLAR_EIO); /* failed calls count too */
    ck_assert_uint_eq(cellar_vfs_fault_count(g_fs, CELLAR_FAULT_WRITE), 4);
    ck_assert_uint_eq(cellar_vfs_fault_count(g_fs, CELLAR_FAULT_SYNC), 1);
    ck_assert_uint_eq(cellar_vfs_fault_count(g_fs, CELLAR_FAULT_READ), 5);
    ck_assert_uint_eq(cellar_vfs_fault_count(g_fs, CELLAR_FAULT_TRUNCATE), 1);
    ck_assert_uint_eq(cellar_vfs_fault_count(g_fs, CELLAR_FAULT_WRITE | CELLAR_FAULT_SYNC), 5);
    TU_OK(g_vfs->close(f));
}
END_TEST

START_TEST(fault_crash_drop_keep)
{
    cellar_file *f = fresh("/d");
    cellar_file *g = fresh("/e");
    char b[16];
    size_t n;
    TU_OK(g_vfs->write(f, "0123456789", 10, 0));
    TU_OK(g_vfs->sync(f));
    TU_OK(g_vfs->write(f, "AB", 2, 2));
    TU_OK(g_vfs->truncate(f, 5));
    TU_OK(g_vfs->write(f, "zz", 2, 12));
    TU_OK(g_vfs->write(g, "never synced", 12, 0));
    TU_OK(g_vfs->close(g));
    cellar_vfs_fault_crash(g_fs, CELLAR_CRASH_DROP, 42);
    TU_OK(g_vfs->close(f));
    TU_OK(g_vfs->open(g_vfs, "/d", RW, 0, &f));
    TU_OK(g_vfs->read(f, b, 16, 0, &n));
    ck_assert_uint_eq(n, 10);
    ck_assert_mem_eq(b, "0123456789", 10);
    TU_OK(g_vfs->exists(g_vfs, "/e")); /* creation is durable, its bytes are not */
    TU_OK(g_vfs->open(g_vfs, "/e", RW, 0, &g));
    TU_OK(g_vfs->read(g, b, 16, 0, &n));
    ck_assert_uint_eq(n, 0);

    TU_OK(g_vfs->write(f, "AB", 2, 2));
    TU_OK(g_vfs->truncate(f, 5));
    TU_OK(g_vfs->write(f, "zz", 2, 12));
    cellar_vfs_fault_crash(g_fs, CELLAR_CRASH_KEEP, 42);
    TU_OK(g_vfs->close(f));
    TU_OK(g_vfs->close(g));
    TU_OK(g_vfs->open(g_vfs, "/d", RW, 0, &f));
    TU_OK(g_vfs->read(f, b, 16, 0, &n));
    ck_assert_uint_eq(n, 14);
    ck_assert_mem_eq(b, "01AB4\0\0\0\0\0\0\0zz", 14);
    /* KEEP made it durable: a DROP now changes nothing */
    cellar_vfs_fault_crash(g_fs, CELLAR_CRASH_DROP, 0);
    TU_OK(g_vfs->close(f));
    TU_OK(g_vfs->open(g_vfs, "/d", RW, 0, &f));
    TU_OK(g_vfs->read(f, b, 16, 0, &n));
    ck_assert_uint_eq(n, 14);
    TU_OK(g_vfs->close(f));
}
END_TEST

/*
 * TEAR: a synced file of 8 KiB 'A', then three pending writes: 4 KiB 'B' at
 * 0, 4 KiB 'C' at 4096, 4 KiB 'D' appended at 8192. Every outcome must be
 * "the first k writes, the k-th cut at a 512-byte boundary".
 */
static void tear_setup(cellar_fault *fs)
{
    const cellar_vfs *vfs = cellar_vfs_fault_vfs(fs);
    cellar_file *f;
    uint8_t page[8192];
    TU_OK(vfs->open(vfs, "/t", RWC, 0, &f));
    memset(page, 'A', sizeof page);
    TU_OK(vfs->write(f, page, 8192, 0));
    TU_OK(vfs->sync(f));
    memset(page, 'B', 4096);
    TU_OK(vfs->write(f, page, 4096, 0));
    memset(page, 'C', 4096);
    TU_OK(vfs->write(f, page, 4096, 4096));
    memset(page, 'D', 4096);
    TU_OK(vfs->write(f, page, 4096, 8192));
    TU_OK(vfs->close(f));
}

/* Which outcome is `img`? Returns k * 16 + cut/512 (cut 8 = whole), or -1. */
static int tear_classify(const uint8_t *img, size_t n)
{
    static const char fill[3] = { 'B', 'C', 'D' };
    for (int k = 0; k <= 3; k++) {
        for (int cut = 1; cut <= 8; cut++) {
            if (k == 0 && cut != 8)
                continue;
            uint8_t want[12288];
            size_t wn = 8192;
            memset(want, 'A', 8192);
            for (int w = 0; w < k; w++) {
                size_t len = (w == k - 1) ? (size_t)cut * 512 : 4096;
                memset(want + 4096 * w, fill[w], len);
                if (4096 * (size_t)w + len > wn)
                    wn = 4096 * (size_t)w + len;
            }
            if (wn == n && memcmp(want, img, n) == 0)
                return k * 16 + cut;
        }
    }
    return -1;
}

static int tear_run(uint64_t seed, uint8_t *img, size_t *n)
{
    cellar_fault *fs;
    TU_OK(cellar_vfs_fault_new(&fs));
    tear_setup(fs);
    cellar_vfs_fault_crash(fs, CELLAR_CRASH_TEAR, seed);
    const cellar_vfs *vfs = cellar_vfs_fault_vfs(fs);
    cellar_file *f;
    TU_OK(vfs->open(vfs, "/t", CELLAR_VFS_READ, 0, &f));
    uint8_t *b = slurp(vfs, f, n);
    ck_assert_uint_le(*n, 12288);
    memcpy(img, b, *n);
    free(b);
    TU_OK(vfs->close(f));
    cellar_vfs_fault_free(fs);
    return tear_classify(img, *n);
}

START_TEST(fault_crash_tear)
{
    int seen_k[4] = { 0 }, torn[4] = { 0 };
    for (uint64_t seed = 0; seed < 300; seed++) {
        uint8_t a[12288], b[12288];
        size_t na, nb;
        int ca = tear_run(seed, a, &na);
        ck_assert_msg(ca >= 0, "seed %llu: not a prefix with one torn write",
                      (unsigned long long)seed);
        int cb = tear_run(seed, b, &nb); /* same seed, same outcome */
        ck_assert_int_eq(ca, cb);
        ck_assert_uint_eq(na, nb);
        ck_assert_mem_eq(a, b, na);
        seen_k[ca / 16]++;
        if (ca % 16 != 8)
            torn[ca / 16]++;
    }
    for (int k = 0; k < 4; k++)
        ck_assert_msg(seen_k[k] > 0, "no seed kept exactly %d writes", k);
    for (int k = 1; k < 4; k++) /* overwrites and the append all tear */
        ck_assert_msg(torn[k] > 0, "write %d never torn", k);
}
END_TEST

/* A write inside one sector cannot tear: it survives whole or not at all. */
START_TEST(fault_crash_tear_small)
{
    for (uint64_t seed = 0; seed < 50; seed++) {
        cellar_fault *fs;
        TU_OK(cellar_vfs_fault_new(&fs));
        const cellar_vfs *vfs = cellar_vfs_fault_vfs(fs);
        cellar_file *f;
        TU_OK(vfs->open(vfs, "/s", RWC, 0, &f));
        TU_OK(vfs->write(f, "old-old-", 8, 100));
        TU_OK(vfs->sync(f));
        TU_OK(vfs->write(f, "NEW-NEW-", 8, 100));
        cellar_vfs_fault_crash(fs, CELLAR_CRASH_TEAR, seed);
        TU_OK(vfs->close(f));
        TU_OK(vfs->open(vfs, "/s", CELLAR_VFS_READ, 0, &f));
        char b[8];
        TU_OK(cellar__os_read_full(vfs, f, b, 8, 100));
        ck_assert(memcmp(b, "old-old-", 8) == 0 || memcmp(b, "NEW-NEW-", 8) == 0);
        TU_OK(vfs->close(f));
        cellar_vfs_fault_free(fs);
    }
}
END_TEST

/*
 * Random writes, truncates and syncs against a model of the current and
 * durable images; after DROP the file is the durable image, after KEEP the
 * current one.
 */
START_TEST(fault_crash_model)
{
    enum { MAXSZ = 1 << 16 };
    uint8_t *cur = calloc(1, MAXSZ), *dur = calloc(1, MAXSZ), *buf = malloc(MAXSZ);
    size_t cur_n = 0, dur_n = 0;
    tu_rng r = { 0x5eed };
    cellar_file *f = fresh("/m");
    for (int round = 0; round < 60; round++) {
        int ops = (int)tu_below(&r, 40);
        for (int i = 0; i < ops; i++) {
            uint64_t x = tu_below(&r, 10);
            if (x < 7) {
                size_t off = (size_t)tu_below(&r, MAXSZ / 2);
                size_t len = 1 + (size_t)tu_below(&r, MAXSZ / 2 - 1);
                for (size_t j = 0; j < len; j++)
                    buf[j] = (uint8_t)tu_next(&r);
                TU_OK(g_vfs->write(f, buf, len, off));
                if (off > cur_n)
                    memset(cur + cur_n, 0, off - cur_n);
                memcpy(cur + off, buf, len);
                if (off + len > cur_n)
                    cur_n = off + len;
            } else if (x < 9) {
                size_t s = (size_t)tu_below(&r, MAXSZ);
                TU_OK(g_vfs->truncate(f, s));
                if (s > cur_n)
                    memset(cur + cur_n, 0, s - cur_n);
                cur_n = s;
            } else {
                TU_OK(g_vfs->sync(f));
                memcpy(dur, cur, cur_n);
                dur_n = cur_n;
            }
        }
        int keep = round % 3 == 0;
        cellar_vfs_fault_crash(g_fs, keep ? CELLAR_CRASH_KEEP : CELLAR_CRASH_DROP, (uint64_t)round);
        TU_OK(g_vfs->close(f));
        TU_OK(g_vfs->open(g_vfs, "/m", RW, 0, &f));
        if (keep) {
            memcpy(dur, cur, cur_n);
            dur_n = cur_n;
        } else {
            memcpy(cur, dur, dur_n);
            cur_n = dur_n;
        }
        size_t n;
        uint8_t *img = slurp(g_vfs, f, &n);
        ck_assert_uint_eq(n, cur_n);
        ck_assert(memcmp(img, cur, n) == 0);
        free(img);
    }
    TU_OK(g_vfs->close(f));
    free(cur);
    free(dur);
    free(buf);
}
END_TEST

START_TEST(fault_capacity)
{
    cellar_file *f = fresh("/cap"), *g = fresh("/cap2");
    uint8_t buf[8000];
    memset(buf, 1, sizeof buf);
    cellar_vfs_fault_set_capacity(g_fs, 10000);
    TU_OK(g_vfs->write(f, buf, 8000, 0));
    TU_RC(g_vfs->write(g, buf, 4000, 0), CELLAR_ENOSPC);
    TU_RC(g_vfs->write(f, buf, 4000, 7000), CELLAR_ENOSPC);
    uint64_t sz;
    TU_OK(g_vfs->size(f, &sz));
    ck_assert_uint_eq(sz, 8000); /* a failed write stores nothing */
    TU_OK(g_vfs->write(f, buf, 8000, 0));  /* overwriting needs no space */
    TU_OK(g_vfs->write(g, buf, 2000, 0)); /* exactly full */
    TU_RC(g_vfs->write(g, buf, 1, 2000), CELLAR_ENOSPC);
    TU_RC(g_vfs->truncate(g, 2001), CELLAR_ENOSPC);
    TU_OK(g_vfs->truncate(f, 1000)); /* shrinking frees space */
    TU_OK(g_vfs->write(g, buf, 7000, 2000));
    /* removing frees space, once the last handle is closed */
    TU_OK(g_vfs->remove(g_vfs, "/cap2"));
    TU_RC(g_vfs->write(f, buf, 5000, 1000), CELLAR_ENOSPC);
    TU_OK(g_vfs->close(g));
    TU_OK(g_vfs->write(f, buf, 5000, 1000));
    cellar_vfs_fault_set_capacity(g_fs, 0);
    TU_OK(g_vfs->write(f, buf, 8000, 20000));
    TU_OK(g_vfs->close(f));
}
END_TEST

/* Thousands of small syncs on a few-MB file must stay cheap (O(change) each). */
START_TEST(fault_many_syncs)
{
    cellar_file *f = fresh("/big");
    enum { SZ = 8 << 20 };
    uint8_t *page = malloc(4096);
    uint8_t *blk = calloc(1, 1 << 20);
    for (int i = 0; i < 8; i++)
        TU_OK(g_vfs->write(f, blk, 1 << 20, (uint64_t)i << 20));
    TU_OK(g_vfs->sync(f));
    tu_rng r = { 7 };
    int rounds = tu_long() ? 50000 : 5000;
    for (int i = 0; i < rounds; i++) {
        memset(page, (int)(i & 0xff), 4096);
        TU_OK(g_vfs->write(f, page, 4096, tu_below(&r, SZ / 4096) * 4096));
        TU_OK(g_vfs->sync(f));
    }
    TU_OK(g_vfs->write(f, page, 100, 0));
    cellar_vfs_fault_crash(g_fs, CELLAR_CRASH_DROP, 0);
    TU_OK(g_vfs->close(f));
    TU_OK(g_vfs->open(g_vfs, "/big", RW, 0, &f));
    uint64_t sz;
    TU_OK(g_vfs->size(f, &sz));
    ck_assert_uint_eq(sz, SZ);
    TU_OK(g_vfs->close(f));
    free(page);
    free(blk);
}
END_TEST

/* A file of a few hundred MB grows geometrically (no quadratic copying). */
START_TEST(fault_large_file)
{
    cellar_file *f = fresh("/large");
    size_t chunk = 1 << 20;
    uint8_t *blk = malloc(chunk);
    int mb = tu_long() ? 512 : 128;
    for (int i = 0; i < mb; i++) {
        memset(blk, i & 0xff, chunk);
        TU_OK(g_vfs->write(f, blk, chunk, (uint64_t)i * chunk));
    }
    uint64_t sz;
    TU_OK(g_vfs->size(f, &sz));
    ck_assert_uint_eq(sz, (uint64_t)mb * chunk);
    TU_OK(cellar__os_read_full(g_vfs, f, blk, chunk, (uint64_t)(mb - 1) * chunk));
    ck_assert_uint_eq(blk[0], (unsigned)((mb - 1) & 0xff));
    TU_OK(g_vfs->close(f));
    free(blk);
}
END_TEST

struct writer {
    const cellar_vfs *vfs;
    cellar_file *f;
    int id;
};

static void *writer_main(void *p)
{
    struct writer *w = p;
    uint8_t b[512];
    memset(b, 'a' + w->id, sizeof b);
    for (int i = 0; i < 2000; i++) {
        if (w->vfs->write(w->f, b, sizeof b, (uint64_t)(i * 4 + w->id) * 512) != CELLAR_OK)
            return (void *)1;
        if (i % 64 == 0 && w->vfs->sync(w->f) != CELLAR_OK)
            return (void *)1;
    }
    return NULL;
}

START_TEST(fault_threads)
{
    cellar_file *f = fresh("/thr");
    pthread_t t[4];
    struct writer w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){ g_vfs, f, i };
        ck_assert_int_eq(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        ck_assert_ptr_null(ret);
    }
    size_t n;
    uint8_t *img = slurp(g_vfs, f, &n);
    ck_assert_uint_eq(n, 2000 * 4 * 512);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(img[i], (unsigned)('a' + (i / 512) % 4));
    free(img);
    TU_OK(g_vfs->close(f));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("os");
    TCase *p = tcase_create("posix");
    tcase_add_test(p, posix_basic_io);
    tcase_add_test(p, posix_errors);
    tcase_add_test(p, posix_nofollow);
    tcase_add_test(p, posix_mode_umask);
    tcase_add_test(p, posix_locks_local);
    tcase_add_test(p, posix_locks_fork);
    tcase_add_test(p, posix_locks_child_holds);
    tcase_add_test(p, posix_large_offsets);
    suite_add_tcase(s, p);

    TCase *f = tcase_create("fault");
    tcase_add_checked_fixture(f, fault_setup, fault_teardown);
    tcase_set_timeout(f, 120);
    tcase_add_test(f, fault_basic_io);
    tcase_add_test(f, fault_locks);
    tcase_add_test(f, fault_lock_wait_granted);
    tcase_add_test(f, fault_remove_open_file);
    tcase_add_test(f, fault_countdown_eio);
    tcase_add_test(f, fault_each_op);
    tcase_add_test(f, fault_sticky);
    tcase_add_test(f, fault_short_write);
    tcase_add_test(f, fault_crash_kind);
    tcase_add_test(f, fault_crash_releases_locks);
    tcase_add_test(f, fault_count);
    tcase_add_test(f, fault_crash_drop_keep);
    tcase_add_test(f, fault_crash_tear);
    tcase_add_test(f, fault_crash_tear_small);
    tcase_add_test(f, fault_crash_model);
    tcase_add_test(f, fault_capacity);
    tcase_add_test(f, fault_many_syncs);
    tcase_add_test(f, fault_large_file);
    tcase_add_test(f, fault_threads);
    suite_add_tcase(s, f);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
