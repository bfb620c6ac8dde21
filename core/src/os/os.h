/*
 * os.h - the file layer of the core: the only code that calls the operating
 * system for file I/O. Everything above it (cache, wal, hash, db) reads,
 * writes, syncs, sizes, truncates, locks, removes and probes files through a
 * cellar_vfs (cellardb_vfs.h) and nothing else, so the fault-injecting vfs
 * can fail any call and simulate power loss anywhere. Two implementations
 * live here: posix.c (the default; pread/pwrite, fdatasync, OFD locks) and
 * fault.c (in memory, for tests). Both are thread-safe; calls on one file may
 * run concurrently. Errors are recorded with cellar__err (path and errno in
 * the message for POSIX) and returned as negative CELLAR_E* codes.
 *
 * Contract details that cellardb_vfs.h leaves open, as both vfs implement them:
 * - open: flags must include READ or WRITE (else CELLAR_EINVAL); unknown flag
 *   bits are CELLAR_EINVAL. A mode of 0 with CREATE means 0666. A path that
 *   is not a regular file (a directory) is CELLAR_EINVAL. With NOFOLLOW, a
 *   symbolic link as the last component is refused with CELLAR_EINVAL and a
 *   message saying so. When CREATE actually creates the file, its directory
 *   entry is durable before open returns (POSIX: the parent directory is
 *   fsynced).
 * - write/truncate on a file opened without WRITE: CELLAR_EREADONLY.
 * - lock: timeout_ms <= 0 means "do not wait". Changing SH <-> EX on a held
 *   lock is atomic (POSIX: OFD locks; on systems without them, flock, whose
 *   conversion is not atomic). Locks belong to the open file: two opens of
 *   one path conflict even in one process, and closing releases them.
 *   A child made by fork() shares the parent's open files and so its locks.
 * - read: *out_read < n only at end of file; the bytes past it are untouched.
 * - sync: a failed sync (CELLAR_EIO) poisons the POSIX handle: later syncs
 *   fail too, because the kernel may have dropped the unwritten pages. Treat
 *   it as fatal for the open file: close, reopen, recover from the log.
 * - remove: durable when it returns (POSIX: the parent directory is fsynced).
 */
#ifndef CELLAR_OS_H
#define CELLAR_OS_H

#include "cellardb_vfs.h"
#include "common/common.h"

/**
 * The code cellar__os_read_full returns when the file ends before n bytes:
 * distinct from every I/O error, so the caller decides what a short read
 * means (a corrupt file with a page number, an empty log, ...).
 */
#define CELLAR__OS_SHORT CELLAR_ENOTFOUND

/**
 * Read exactly n bytes at `off`.
 * Returns CELLAR_OK; CELLAR__OS_SHORT (= CELLAR_ENOTFOUND) if the file ends
 * first (recorded as "short read: got X of N bytes at offset OFF"; the bytes
 * past the end are zeroed in buf); otherwise the vfs's error code (CELLAR_EIO,
 * ...), never CELLAR_ECORRUPT: judging content is the caller's job.
 */
int cellar__os_read_full(const cellar_vfs *vfs, cellar_file *f, void *buf, size_t n,
                         uint64_t off);

/** `vfs`, or the POSIX vfs when vfs is NULL. */
const cellar_vfs *cellar__os_vfs(const cellar_vfs *vfs);

/**
 * Check a user-supplied vfs: right version and no NULL member.
 * Returns CELLAR_OK or CELLAR_EINVAL (recorded, naming the missing member).
 */
int cellar__os_vfs_check(const cellar_vfs *vfs);

/**
 * In a child made by fork(): close the child's copy of an inherited POSIX
 * descriptor without touching its lock, so the parent's lock goes away when
 * the parent closes (an OFD lock lives as long as any copy of the descriptor).
 * Later calls on f fail with EIO (EBADF); close(f) only frees it. Other vfs:
 * no-op. Async-signal-safe (only close()).
 */
void cellar__os_drop_inherited(const cellar_vfs *vfs, cellar_file *f);

/** Whether the layer can map files (version 2 with reserve, map and unmap). */
bool cellar__os_can_map(const cellar_vfs *vfs);

/** Drop the process's pages of a shared file mapping (the page cache keeps
 * the data, dirty or not); they are faulted back in if touched. */
void cellar__os_unback(void *addr, size_t len);

#endif /* CELLAR_OS_H */
