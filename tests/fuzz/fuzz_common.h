/*
 * fuzz_common.h - helpers shared by the cellardb fuzz targets: planting raw
 * bytes in the fault-injecting in-memory file system, and the entry point
 * every target defines (libFuzzer's, also driven by replay.c under gcc).
 */
#ifndef CELLAR_FUZZ_COMMON_H
#define CELLAR_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "cellardb.h"
#include "cellardb_vfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write `n` bytes as the whole content of `path` on the fault fs (created
 * or truncated), through the vfs's own functions: no disk I/O. */
static inline void fz_plant(cellar_fault *fs, const char *path, const uint8_t *data, size_t n)
{
    const cellar_vfs *v = cellar_vfs_fault_vfs(fs);
    cellar_file *f = NULL;
    if (v->open(v, path, CELLAR_VFS_WRITE | CELLAR_VFS_CREATE, 0644, &f) != CELLAR_OK)
        return;
    v->truncate(f, 0);
    if (n)
        v->write(f, data, n, 0);
    v->sync(f);
    v->close(f);
}

#endif
