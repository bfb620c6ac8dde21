/*
 * posix.c - the POSIX file layer (the default cellar_vfs).
 *
 * I/O is positional (pread/pwrite), so one file is shared by any number of
 * threads without a lock in this layer. Partial transfers and EINTR are
 * retried; a write either stores all its bytes or returns an error.
 *
 * Durability: sync is fdatasync on Linux (the size is part of the data it
 * flushes), F_FULLFSYNC on Apple systems (plain fsync there only reaches the
 * drive's cache), fsync elsewhere. When open creates a file, or remove
 * deletes one, the parent directory is fsynced, so the change of directory
 * entry survives power loss.
 *
 * Locks: Linux open-file-description locks (F_OFD_SETLK) on the whole file,
 * falling back to flock(2) where OFD locks do not exist. Both belong to the
 * open file, not the process: two opens conflict even within one process, a
 * close releases only its own lock, and SH <-> EX conversion with OFD locks
 * is atomic (a holder of SH never loses it while waiting for EX). Classic
 * fcntl locks are not used: closing any descriptor of the file would drop
 * the process's locks. Waiting is polling with a growing sleep (1 ms to
 * 32 ms), bounded by timeout_ms. The kernel is the only record of which
 * lock is held (nothing is cached here, so concurrent lock calls on one
 * file cannot race on our state).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_OFD_SETLK, O_CLOEXEC, O_NOFOLLOW, fdatasync */
#endif
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(F_OFD_SETLK)
#define CELLAR_OFD_LOCKS 1
#else
#define CELLAR_OFD_LOCKS 0
#endif

/* The cellar_file of this vfs; cellar_file pointers are cast to it. */
typedef struct posix_file {
    int fd;
    unsigned int flags; /* CELLAR_VFS_* it was opened with */
    atomic_int sync_failed; /* a sync failed: later ones fail too (see posix_sync) */
    char *path;         /* for error messages */
} posix_file;

#define PF(f) ((posix_file *)(void *)(f))

static int posix_err(int e, const char *path, const char *what)
{
    return cellar__err(cellar__errno_code(e), e, "%s: %s", path, what);
}

static int posix_err_at(int e, const char *path, const char *what, uint64_t off)
{
    return cellar__err(cellar__errno_code(e), e, "%s: %s at offset %llu", path, what,
                       (unsigned long long)off);
}

/* The largest offset + length pread/pwrite accept. */
#define POSIX_MAX_OFF ((uint64_t)INT64_MAX)

/* fsync the directory that holds `path`, so a created entry is durable. */
static int posix_sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = cellar__strdup(".");
    else if (slash == path)
        dir = cellar__strdup("/");
    else {
        size_t n = (size_t)(slash - path);
        dir = cellar__malloc(n + 1);
        if (dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    if (!dir)
        return cellar__err_oom();
    int rc = CELLAR_OK;
    int fd;
    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        rc = cellar__err(CELLAR_EIO, errno, "%s: open directory to sync it", dir);
    } else {
        /* Some file systems cannot sync a directory (EINVAL): nothing more to do there. */
        if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
            rc = cellar__err(CELLAR_EIO, errno, "%s: fsync directory", dir);
        close(fd);
    }
    free(dir);
    return rc;
}

static int posix_open(const cellar_vfs *vfs, const char *path, unsigned int flags,
                      unsigned int mode, cellar_file **out)
{
    (void)vfs;
    *out = NULL;
    if (!path || !*path)
        return cellar__err(CELLAR_EINVAL, 0, "open: empty path");
    if (flags & ~(CELLAR_VFS_READ | CELLAR_VFS_WRITE | CELLAR_VFS_CREATE | CELLAR_VFS_NOFOLLOW))
        return cellar__err(CELLAR_EINVAL, 0, "%s: open: unknown flags 0x%x", path, flags);
    if (!(flags & (CELLAR_VFS_READ | CELLAR_VFS_WRITE)))
        return cellar__err(CELLAR_EINVAL, 0, "%s: open: neither READ nor WRITE", path);

    int oflags = ((flags & CELLAR_VFS_WRITE) ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    if (flags & CELLAR_VFS_NOFOLLOW)
        oflags |= O_NOFOLLOW;
    mode_t cmode = (mode_t)(mode & 07777u);
    if (cmode == 0)
        cmode = 0666;

    /* Open the existing file first, so we know whether we created it. */
    int fd = -1, created = 0;
    for (int attempt = 0; attempt < 4; attempt++) {
        fd = open(path, oflags);
        if (fd >= 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != ENOENT || !(flags & CELLAR_VFS_CREATE))
            break;
        /* O_EXCL tells us we made it; the last attempt drops it, for a
         * dangling symbolic link (EEXIST with O_EXCL, ENOENT without). */
        fd = open(path, oflags | O_CREAT | (attempt < 3 ? O_EXCL : 0), cmode);
        if (fd >= 0) {
            created = 1;
            break;
        }
        if (errno != EEXIST && errno != EINTR)
            break;
        /* Someone created it between our two opens: open theirs. */
    }
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP && (flags & CELLAR_VFS_NOFOLLOW))
            return cellar__err(CELLAR_EINVAL, e, "%s: open: is a symbolic link (refused)", path);
        return posix_err(e, path, "open");
    }

    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return posix_err(e, path, "fstat");
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cellar__err(CELLAR_EINVAL, 0, "%s: open: not a regular file", path);
    }

    posix_file *pf = cellar__calloc(1, sizeof *pf);
    char *p = cellar__strdup(path);
    if (!pf || !p) {
        free(pf);
        free(p);
        close(fd);
        return cellar__err_oom();
    }
    pf->fd = fd;
    pf->flags = flags;
    pf->path = p;

    if (created) {
        int rc = posix_sync_parent(path);
        if (rc != CELLAR_OK) {
            close(fd);
            free(pf->path);
            free(pf);
            return rc;
        }
    }
    *out = (cellar_file *)(void *)pf;
    return CELLAR_OK;
}

static int posix_close(cellar_file *f)
{
    if (!f)
        return CELLAR_OK;
    posix_file *pf = PF(f);
    int rc = CELLAR_OK;
    /* Closing the only descriptor of the open file releases its lock. On
     * Linux the descriptor is gone even when close reports EINTR/EIO, so it
     * is never retried. */
    if (pf->fd >= 0 && close(pf->fd) != 0 && errno != EINTR)
        rc = posix_err(errno, pf->path, "close");
    free(pf->path);
    free(pf);
    return rc;
}

static int posix_read(cellar_file *f, void *buf, size_t n, uint64_t off, size_t *out_read)
{
    posix_file *pf = PF(f);
    uint8_t *p = buf;
    size_t done = 0;
    *out_read = 0;
    if (off > POSIX_MAX_OFF || n > POSIX_MAX_OFF - off)
        return cellar__err(CELLAR_EINVAL, 0, "%s: read of %zu bytes at offset %llu: out of range",
                           pf->path, n, (unsigned long long)off);
    while (done < n) {
        ssize_t r = pread(pf->fd, p + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            *out_read = done;
            return posix_err_at(errno, pf->path, "read", off + done);
        }
        if (r == 0)
            break; /* end of file */
        done += (size_t)r;
    }
    *out_read = done;
    return CELLAR_OK;
}

static int posix_write(cellar_file *f, const void *buf, size_t n, uint64_t off)
{
    posix_file *pf = PF(f);
    const uint8_t *p = buf;
    size_t done = 0;
    if (!(pf->flags & CELLAR_VFS_WRITE))
        return cellar__err(CELLAR_EREADONLY, 0, "%s: write: opened read-only", pf->path);
    if (off > POSIX_MAX_OFF || n > POSIX_MAX_OFF - off)
        return cellar__err(CELLAR_EINVAL, 0, "%s: write of %zu bytes at offset %llu: out of range",
                           pf->path, n, (unsigned long long)off);
    while (done < n) {
        ssize_t w = pwrite(pf->fd, p + done, n - done, (off_t)(off + done));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return posix_err_at(errno, pf->path, "write", off + done);
        }
        if (w == 0) /* never for a regular file with n > 0; do not spin */
            return cellar__err(CELLAR_EIO, 0, "%s: write at offset %llu stored nothing",
                               pf->path, (unsigned long long)off + done);
        done += (size_t)w;
    }
    return CELLAR_OK;
}

/*
 * After a failed fsync the kernel may have dropped the dirty pages it could
 * not write and cleared the error, so a retry could "succeed" without the
 * data ever reaching the disk. Hence a failed sync poisons the handle: every
 * later sync on it fails too, and only reopening (and recovering) clears it.
 */
static int posix_sync(cellar_file *f)
{
    posix_file *pf = PF(f);
    if (atomic_load(&pf->sync_failed))
        return cellar__err(CELLAR_EIO, 0, "%s: sync: an earlier sync of this file failed", pf->path);
    int r;
#if defined(__APPLE__) && defined(F_FULLFSYNC)
    r = fcntl(pf->fd, F_FULLFSYNC);
    if (r != 0) /* not every file system supports it */
        r = fsync(pf->fd);
#elif defined(__linux__)
    do {
        r = fdatasync(pf->fd);
    } while (r != 0 && errno == EINTR);
#else
    do {
        r = fsync(pf->fd);
    } while (r != 0 && errno == EINTR);
#endif
    if (r != 0) {
        int e = errno;
        atomic_store(&pf->sync_failed, 1);
        return cellar__err(CELLAR_EIO, e, "%s: sync", pf->path);
    }
    return CELLAR_OK;
}

static int posix_truncate(cellar_file *f, uint64_t size)
{
    posix_file *pf = PF(f);
    if (!(pf->flags & CELLAR_VFS_WRITE))
        return cellar__err(CELLAR_EREADONLY, 0, "%s: truncate: opened read-only", pf->path);
    if (size > POSIX_MAX_OFF)
        return cellar__err(CELLAR_EINVAL, 0, "%s: truncate to %llu: out of range", pf->path,
                           (unsigned long long)size);
    int r;
    do {
        r = ftruncate(pf->fd, (off_t)size);
    } while (r != 0 && errno == EINTR);
    if (r != 0)
        return posix_err_at(errno, pf->path, "truncate", size);
    return CELLAR_OK;
}

static int posix_size(cellar_file *f, uint64_t *out)
{
    posix_file *pf = PF(f);
    struct stat st;
    if (fstat(pf->fd, &st) != 0)
        return posix_err(errno, pf->path, "fstat");
    *out = (uint64_t)st.st_size;
    return CELLAR_OK;
}

/* One non-blocking attempt. 0 = granted, 1 = held by someone else, <0 = error (recorded). */
static int posix_try_lock(posix_file *pf, int mode)
{
#if CELLAR_OFD_LOCKS
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = (short)(mode == CELLAR_LOCK_EX ? F_WRLCK : mode == CELLAR_LOCK_SH ? F_RDLCK : F_UNLCK);
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0; /* the whole file, however large it grows */
    for (;;) {
        if (fcntl(pf->fd, F_OFD_SETLK, &fl) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EACCES)
            return 1;
        return cellar__err(errno == ENOLCK ? CELLAR_EIO : cellar__errno_code(errno), errno,
                           "%s: lock", pf->path);
    }
#else
    int op = mode == CELLAR_LOCK_EX ? LOCK_EX : mode == CELLAR_LOCK_SH ? LOCK_SH : LOCK_UN;
    if (op != LOCK_UN)
        op |= LOCK_NB;
    for (;;) {
        if (flock(pf->fd, op) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return 1;
        return cellar__err(errno == ENOLCK ? CELLAR_EIO : cellar__errno_code(errno), errno,
                           "%s: lock", pf->path);
    }
#endif
}

static void posix_sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int posix_lock(cellar_file *f, int mode, int timeout_ms)
{
    posix_file *pf = PF(f);
    if (mode != CELLAR_LOCK_UN && mode != CELLAR_LOCK_SH && mode != CELLAR_LOCK_EX)
        return cellar__err(CELLAR_EINVAL, 0, "%s: lock: bad mode %d", pf->path, mode);
    if (mode == CELLAR_LOCK_EX && !(pf->flags & CELLAR_VFS_WRITE))
        return cellar__err(CELLAR_EREADONLY, 0, "%s: exclusive lock on a file opened read-only",
                           pf->path);
    uint64_t deadline = cellar__mono_ns() + (timeout_ms > 0 ? (uint64_t)timeout_ms * 1000000u : 0);
    unsigned nap = 1;
    for (;;) {
        int r = posix_try_lock(pf, mode);
        if (r == 0)
            return CELLAR_OK;
        if (r < 0)
            return r;
        uint64_t now = cellar__mono_ns();
        if (now >= deadline)
            break;
        uint64_t left_ms = (deadline - now + 999999u) / 1000000u;
        posix_sleep_ms(left_ms < nap ? (unsigned)left_ms : nap);
        if (nap < 32)
            nap *= 2;
    }
    return cellar__err(CELLAR_ELOCKED, 0, "%s: %s lock not granted: held by another process"
                       " (waited %d ms)", pf->path, mode == CELLAR_LOCK_EX ? "write" : "read",
                       timeout_ms > 0 ? timeout_ms : 0);
}

static int posix_file_id(cellar_file *f, uint64_t *dev, uint64_t *ino)
{
    posix_file *pf = PF(f);
    struct stat st;
    if (fstat(pf->fd, &st) != 0)
        return posix_err(errno, pf->path, "fstat");
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return CELLAR_OK;
}

static int posix_remove(const cellar_vfs *vfs, const char *path)
{
    (void)vfs;
    if (!path || !*path)
        return cellar__err(CELLAR_EINVAL, 0, "remove: empty path");
    if (unlink(path) != 0)
        return posix_err(errno, path, "remove");
    return posix_sync_parent(path); /* so the file stays gone after power loss */
}

static int posix_exists(const cellar_vfs *vfs, const char *path)
{
    (void)vfs;
    if (!path || !*path)
        return cellar__err(CELLAR_EINVAL, 0, "exists: empty path");
    struct stat st;
    /* stat follows links, as open does without NOFOLLOW. */
    if (stat(path, &st) == 0)
        return CELLAR_OK;
    return posix_err(errno, path, "stat");
}

static int posix_reserve(cellar_file *f, uint64_t size)
{
    posix_file *pf = PF(f);
    if (!(pf->flags & CELLAR_VFS_WRITE))
        return cellar__err(CELLAR_EREADONLY, 0, "%s: reserve: opened read-only", pf->path);
    if (size > POSIX_MAX_OFF)
        return cellar__err(CELLAR_EINVAL, 0, "%s: reserve %llu bytes: out of range", pf->path,
                           (unsigned long long)size);
    int e;
    do {
        e = posix_fallocate(pf->fd, 0, (off_t)size);
    } while (e == EINTR);
    if (e == EINVAL || e == EOPNOTSUPP || e == ENOSYS)
        return cellar__err(CELLAR_EINVAL, e, "%s: the file system cannot reserve space", pf->path);
    return e ? posix_err(e, pf->path, "reserve") : CELLAR_OK;
}

static int posix_map(cellar_file *f, uint64_t len, void **out)
{
    posix_file *pf = PF(f);
    if (!(pf->flags & CELLAR_VFS_WRITE))
        return cellar__err(CELLAR_EREADONLY, 0, "%s: map: opened read-only", pf->path);
    void *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, pf->fd, 0);
    if (p == MAP_FAILED)
        return posix_err(errno, pf->path, "mmap");
    *out = p;
    return CELLAR_OK;
}

static int posix_unmap(cellar_file *f, void *addr, uint64_t len)
{
    if (munmap(addr, (size_t)len) != 0)
        return posix_err(errno, PF(f)->path, "munmap");
    return CELLAR_OK;
}

static const cellar_vfs posix_vfs = {
    CELLAR_VFS_VERSION, NULL,      posix_open, posix_close, posix_read,    posix_write,
    posix_sync,         posix_truncate, posix_size, posix_lock, posix_file_id, posix_remove,
    posix_exists,       posix_reserve,  posix_map,  posix_unmap,
};

CELLAR_API const cellar_vfs *cellar_vfs_posix(void)
{
    return &posix_vfs;
}

void cellar__os_drop_inherited(const cellar_vfs *vfs, cellar_file *f)
{
    if (!f || vfs != cellar_vfs_posix())
        return;
    posix_file *pf = PF(f);
    if (pf->fd >= 0) {
        close(pf->fd); /* no unlock: the lock belongs to the parent's open file */
        pf->fd = -1;
    }
}
