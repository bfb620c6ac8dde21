/*
 * cellardb_vfs.h - the file-layer plug-in API of cellardb.
 *
 * Every byte cellardb reads or writes goes through a cellar_vfs, so an
 * embedder can put the database somewhere other than POSIX files, and the
 * tests can inject faults (EIO, ENOSPC, short writes) and power loss at any
 * point. Two implementations ship with the library: the POSIX one (the
 * default) and a fault-injecting in-memory one.
 *
 * All functions return CELLAR_OK or a negative CELLAR_E* code (cellardb.h);
 * on failure they record the detail with the thread's last error (the POSIX
 * one includes errno and the path).
 */
#ifndef CELLARDB_VFS_H
#define CELLARDB_VFS_H

#include "cellardb.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An open file of some vfs; each vfs defines the struct. */
typedef struct cellar_file cellar_file;

/** cellar_vfs.open flags. */
#define CELLAR_VFS_READ   0x1u /**< open for reading */
#define CELLAR_VFS_WRITE  0x2u /**< open for reading and writing */
#define CELLAR_VFS_CREATE 0x4u /**< create if missing (with the given mode, umask applied) */
#define CELLAR_VFS_NOFOLLOW 0x8u /**< refuse to open a symbolic link */

/** cellar_vfs.lock modes. */
#define CELLAR_LOCK_UN 0 /**< release */
#define CELLAR_LOCK_SH 1 /**< shared (readers) */
#define CELLAR_LOCK_EX 2 /**< exclusive (the one writer) */

#define CELLAR_VFS_VERSION 2 /**< version 1 (no reserve/map/unmap) is still accepted */

/**
 * A file layer. All pointers are required. The functions may be called from
 * any thread; calls on one cellar_file may run concurrently (read and write
 * are positional, like pread/pwrite).
 */
typedef struct cellar_vfs {
    unsigned int version; /**< CELLAR_VFS_VERSION */
    void *payload;        /**< for the implementation */

    /** Open `path`. Returns CELLAR_ENOENT if missing without CREATE, CELLAR_EACCES, CELLAR_EIO. */
    int (*open)(const struct cellar_vfs *vfs, const char *path, unsigned int flags,
                unsigned int mode, cellar_file **out);
    /** Close and free (NULL is a no-op). Releases any lock. */
    int (*close)(cellar_file *f);
    /**
     * Read up to n bytes at offset `off` into buf; *out_read receives the count
     * (less than n only at end of file).
     */
    int (*read)(cellar_file *f, void *buf, size_t n, uint64_t off, size_t *out_read);
    /** Write n bytes at `off` (all of them, or an error: CELLAR_EIO, CELLAR_ENOSPC). */
    int (*write)(cellar_file *f, const void *buf, size_t n, uint64_t off);
    /** Make everything written so far durable. */
    int (*sync)(cellar_file *f);
    /** Set the file's size. */
    int (*truncate)(cellar_file *f, uint64_t size);
    /** The file's size in bytes. */
    int (*size)(cellar_file *f, uint64_t *out);
    /**
     * Take or release an advisory lock that keeps other processes out.
     * Waits up to timeout_ms (0 = do not wait); CELLAR_ELOCKED if not granted.
     */
    int (*lock)(cellar_file *f, int mode, int timeout_ms);
    /** Identity of the file (device and inode, or equivalent) for the open-file registry. */
    int (*file_id)(cellar_file *f, uint64_t *dev, uint64_t *ino);
    /** Remove `path`; CELLAR_ENOENT if it does not exist. */
    int (*remove)(const struct cellar_vfs *vfs, const char *path);
    /** CELLAR_OK if `path` exists, CELLAR_ENOENT if not. */
    int (*exists)(const struct cellar_vfs *vfs, const char *path);

    /* Version 2. Optional: all three NULL (or a version 1 layer), and the log
     * is written with `write` alone. With them, the log is a file mapped in
     * memory: a commit is a copy into the mapping, with no call at all, and
     * survives the process as soon as it is copied (the mapping is shared). */
    /**
     * Make the file at least `size` bytes and allocate its blocks, so that
     * stores through a mapping of it cannot fail for want of space:
     * CELLAR_ENOSPC. CELLAR_EINVAL if the file system cannot (the log then
     * does not map the file).
     */
    int (*reserve)(cellar_file *f, uint64_t size);
    /** Map bytes [0, len) of the file, shared and writable; *out gets the address. */
    int (*map)(cellar_file *f, uint64_t len, void **out);
    /** Undo a mapping made by `map`. */
    int (*unmap)(cellar_file *f, void *addr, uint64_t len);
} cellar_vfs;

/** The POSIX file layer (the default). Static; never freed. */
CELLAR_API const cellar_vfs *cellar_vfs_posix(void);

/* ------------------------------------------------------------------------ */
/* The fault-injecting in-memory file layer                                  */
/* ------------------------------------------------------------------------ */

/**
 * An in-memory file system that remembers, for every file, what was made
 * durable by the last sync and what was written since, and can fail any call.
 * One instance is one "machine": files persist across cellar_open/close of the
 * same instance until cellar_vfs_fault_free. Thread-safe.
 */
typedef struct cellar_fault cellar_fault;

/** Create a fault file system. Returns CELLAR_OK or CELLAR_ENOMEM. */
CELLAR_API int cellar_vfs_fault_new(cellar_fault **out);

/** Free it and all its files. NULL is a no-op. */
CELLAR_API void cellar_vfs_fault_free(cellar_fault *fs);

/** The vfs to pass in cellar_options.vfs; valid until cellar_vfs_fault_free. */
CELLAR_API const cellar_vfs *cellar_vfs_fault_vfs(cellar_fault *fs);

/** Which calls a fault applies to. */
#define CELLAR_FAULT_WRITE 0x1u
#define CELLAR_FAULT_SYNC  0x2u
#define CELLAR_FAULT_READ  0x4u
#define CELLAR_FAULT_TRUNCATE 0x8u

/** What an injected fault does. */
typedef enum cellar_fault_kind {
    CELLAR_FAULT_EIO = 1,   /**< the call fails with CELLAR_EIO */
    CELLAR_FAULT_ENOSPC,    /**< the call fails with CELLAR_ENOSPC */
    CELLAR_FAULT_SHORT,     /**< a write stores only its first half, then fails with CELLAR_EIO */
    CELLAR_FAULT_CRASH      /**< the machine dies: this and every later call fail with CELLAR_EIO
                                 until cellar_vfs_fault_crash() */
} cellar_fault_kind;

/**
 * Arm a fault: after `countdown` more matching calls succeed (0 = the very
 * next one), the next matching call (one of `ops`) gets `kind`. If `sticky`,
 * every matching call after it fails too, until cellar_vfs_fault_clear.
 */
CELLAR_API void cellar_vfs_fault_arm(cellar_fault *fs, unsigned int ops, uint64_t countdown,
                                     cellar_fault_kind kind, int sticky);

/** Disarm every fault. */
CELLAR_API void cellar_vfs_fault_clear(cellar_fault *fs);

/** How power loss treats the writes made since a file's last sync. */
typedef enum cellar_crash_mode {
    CELLAR_CRASH_DROP = 0, /**< every write after the last sync is lost */
    CELLAR_CRASH_TEAR = 1, /**< a random prefix of them survives, the last of it torn
                                at a random 512-byte boundary */
    CELLAR_CRASH_KEEP = 2  /**< all of them survive (a process crash, not power loss) */
} cellar_crash_mode;

/**
 * Simulate power loss: every file's content becomes what the mode keeps (seed
 * drives the random choices), faults are cleared, and the file system works
 * again. Handles still open on it must only be closed afterwards.
 */
CELLAR_API void cellar_vfs_fault_crash(cellar_fault *fs, cellar_crash_mode mode, uint64_t seed);

/** Number of calls of the given kinds (ops mask) made so far. */
CELLAR_API uint64_t cellar_vfs_fault_count(cellar_fault *fs, unsigned int ops);

/** Set the total bytes the file system may hold (0 = unlimited); writes past it fail with ENOSPC. */
CELLAR_API void cellar_vfs_fault_set_capacity(cellar_fault *fs, uint64_t bytes);

#ifdef __cplusplus
}
#endif
#endif /* CELLARDB_VFS_H */
