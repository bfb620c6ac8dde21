/*
 * os.c - helpers every layer uses on top of any cellar_vfs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* common.h needs POSIX 2008 (rwlocks) */
#endif
#include "os/os.h"

#include <sys/mman.h>

int cellar__os_read_full(const cellar_vfs *vfs, cellar_file *f, void *buf, size_t n,
                         uint64_t off)
{
    uint8_t *p = buf;
    size_t done = 0;
    while (done < n) {
        size_t got = 0;
        int rc = vfs->read(f, p + done, n - done, off + done, &got);
        if (rc != CELLAR_OK)
            return rc;
        if (got == 0)
            break; /* end of file */
        done += got;
    }
    if (done < n) {
        memset(p + done, 0, n - done);
        return cellar__err(CELLAR__OS_SHORT, 0, "short read: got %zu of %zu bytes at offset %llu",
                           done, n, (unsigned long long)off);
    }
    return CELLAR_OK;
}

const cellar_vfs *cellar__os_vfs(const cellar_vfs *vfs)
{
    return vfs ? vfs : cellar_vfs_posix();
}

int cellar__os_vfs_check(const cellar_vfs *vfs)
{
    if (!vfs)
        return cellar__err(CELLAR_EINVAL, 0, "vfs: NULL");
    if (vfs->version < 1 || vfs->version > CELLAR_VFS_VERSION)
        return cellar__err(CELLAR_EINVAL, 0, "vfs: version %u, this library speaks 1 to %u",
                           vfs->version, (unsigned)CELLAR_VFS_VERSION);
#define CELLAR__NEED(member)                                                   \
    if (!vfs->member)                                                          \
        return cellar__err(CELLAR_EINVAL, 0, "vfs: member '%s' is NULL", #member)
    CELLAR__NEED(open);
    CELLAR__NEED(close);
    CELLAR__NEED(read);
    CELLAR__NEED(write);
    CELLAR__NEED(sync);
    CELLAR__NEED(truncate);
    CELLAR__NEED(size);
    CELLAR__NEED(lock);
    CELLAR__NEED(file_id);
    CELLAR__NEED(remove);
    CELLAR__NEED(exists);
#undef CELLAR__NEED
    return CELLAR_OK;
}

bool cellar__os_can_map(const cellar_vfs *vfs)
{
    return vfs->version >= 2 && vfs->reserve && vfs->map && vfs->unmap;
}

void cellar__os_unback(void *addr, size_t len)
{
    (void)madvise(addr, len, MADV_DONTNEED); /* advice only: a failure costs memory, not data */
}
