/*
 * fault.c - the fault-injecting in-memory file layer (cellardb_vfs.h), for
 * crash and error tests. One cellar_fault is one machine with one disk.
 *
 * Files ("nodes") are kept in a list keyed by path. Each node holds its
 * current bytes and an undo log of the writes and truncates made since its
 * last sync: for every change, the size before it and the bytes it
 * overwrote. The durable image is therefore never stored: it is the current
 * bytes with the undo log applied backwards. So
 *   - sync is O(changes since the last sync) (it frees the log), not O(file);
 *   - an append costs no undo bytes, an overwrite costs its old bytes;
 *   - power loss (cellar_vfs_fault_crash) reverts a suffix of the log:
 *       DROP  reverts all of it (back to the last sync);
 *       TEAR  keeps a random prefix of k changes (0 <= k <= all); if the k-th
 *             is a write that spans a 512-byte boundary, it is torn at a
 *             random such boundary (bytes before it new, after it old);
 *       KEEP  reverts nothing.
 *     The random choices come from the seed and the file's path only, so a
 *     seed gives the same result whatever else the machine holds.
 * Creating and removing a file are durable at once (as POSIX open makes a
 * created entry durable by syncing its directory).
 *
 * Faults: one armed fault at a time (arming again replaces it); see
 * cellar_vfs_fault_arm. A CRASH fault (or any armed kind hitting after a
 * crash) makes every call but close fail with CELLAR_EIO until
 * cellar_vfs_fault_crash; so does cellar_vfs_fault_clear not revive a dead
 * machine. A kind that does not apply to the call (SHORT on a sync, read or
 * truncate) fails it with CELLAR_EIO. Every call of a counted kind is
 * counted, failed or not.
 *
 * Handles opened before a crash are stale afterwards: every call on them but
 * close fails with CELLAR_EIO, and their locks are gone (the machine
 * rebooted). Locks: a shared count and an exclusive flag per node; two opens
 * conflict like two processes would. Waiting uses a condition variable on
 * the monotonic clock.
 *
 * Threads: one mutex per file system guards everything (tests, not speed).
 * Every handle must be closed before cellar_vfs_fault_free.
 *
 * Memory: the undo log holds one copy of every byte overwritten since the
 * last sync (appends cost nothing), so a workload that overwrites the same
 * pages many times without syncing pays for each overwrite until it syncs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime, pthread_condattr_setclock */
#endif
#include "os/os.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* One change since the last sync, with what it takes to undo it. */
typedef struct undo {
    uint64_t off;      /* write: first byte; truncate: the new size */
    uint64_t len;      /* write: byte count; truncate: 0 */
    uint64_t old_size; /* the file's size before the change */
    uint8_t *old;      /* bytes it replaced: write [off, off+old_len);
                          shrinking truncate [off, old_size) */
    size_t old_len;
    int is_write;
} undo;

typedef struct node {
    char *path;
    uint64_t ino;
    int linked;     /* 0 once removed; freed when refs drops to 0 */
    int refs;       /* open handles */
    uint8_t *data;  /* current bytes [0, size); capacity cap */
    size_t size, cap;
    undo *log;      /* changes since the last sync, oldest first */
    size_t nlog, caplog;
    int sh;         /* shared locks held */
    int ex;         /* 1 if an exclusive lock is held */
    struct node *next;
} node;

struct cellar_fault {
    cellar_vfs vfs; /* payload = this */
    cellar_mutex mu;
    pthread_cond_t cv; /* a lock was released, or the machine crashed */
    node *nodes;
    uint64_t dev, next_ino;
    uint64_t used, capacity; /* bytes held by all nodes; 0 = unlimited */
    /* the armed fault */
    int armed, fired, sticky;
    unsigned int ops;
    uint64_t countdown;
    cellar_fault_kind kind;
    int dead;       /* a CRASH fault fired: every call fails */
    uint64_t gen;   /* incremented by each cellar_vfs_fault_crash */
    uint64_t counts[4];
};

/* The cellar_file of this vfs. */
typedef struct fault_file {
    cellar_fault *fs;
    node *n;
    unsigned int flags;
    int lock_mode;
    uint64_t gen; /* fs->gen at open: stale after a crash */
} fault_file;

#define FF(f) ((fault_file *)(void *)(f))

/* Distinct per instance so that the core's registry never confuses two machines. */
static atomic_uint_fast64_t fault_next_dev = 1;

/* ---- helpers (fs->mu held) ---- */

static int op_index(unsigned int op)
{
    switch (op) {
    case CELLAR_FAULT_WRITE: return 0;
    case CELLAR_FAULT_SYNC: return 1;
    case CELLAR_FAULT_READ: return 2;
    default: return 3;
    }
}

static const char *op_name(unsigned int op)
{
    switch (op) {
    case CELLAR_FAULT_WRITE: return "write";
    case CELLAR_FAULT_SYNC: return "sync";
    case CELLAR_FAULT_READ: return "read";
    default: return "truncate";
    }
}

static int dead_err(const char *path, const char *what)
{
    return cellar__err(CELLAR_EIO, EIO, "%s: %s: the machine has crashed (fault vfs)",
                       path ? path : "", what);
}

/*
 * Count a call of kind `op` and decide whether a fault hits it.
 * Returns 0 (go ahead) or the cellar_fault_kind that hits.
 */
static int fault_hit(cellar_fault *fs, unsigned int op)
{
    fs->counts[op_index(op)]++;
    if (fs->dead)
        return CELLAR_FAULT_CRASH;
    if (!fs->armed || !(fs->ops & op))
        return 0;
    if (!fs->fired) {
        if (fs->countdown > 0) {
            fs->countdown--;
            return 0;
        }
        if (fs->sticky)
            fs->fired = 1;
        else
            fs->armed = 0;
    }
    if (fs->kind == CELLAR_FAULT_CRASH)
        fs->dead = 1;
    return (int)fs->kind;
}

static int fault_err(int kind, const char *path, unsigned int op, uint64_t off)
{
    const char *what = op_name(op);
    switch (kind) {
    case CELLAR_FAULT_ENOSPC:
        return cellar__err(CELLAR_ENOSPC, ENOSPC, "%s: injected fault on %s at offset %llu", path,
                           what, (unsigned long long)off);
    case CELLAR_FAULT_CRASH:
        return dead_err(path, what);
    default:
        return cellar__err(CELLAR_EIO, EIO, "%s: injected fault on %s at offset %llu", path, what,
                           (unsigned long long)off);
    }
}

/* Check a handle is usable (not stale, machine alive) for a call that is not counted. */
static int handle_ok(fault_file *h, const char *what)
{
    if (h->gen != h->fs->gen)
        return cellar__err(CELLAR_EIO, EIO, "%s: %s: handle opened before a crash",
                           h->n->path, what);
    if (h->fs->dead)
        return dead_err(h->n->path, what);
    return CELLAR_OK;
}

/*
 * Start a counted call on h: count it, then check the handle and the armed
 * fault. Returns CELLAR_OK, or the error to return (recorded); a fault that
 * does not simply fail the call is left in *kind (SHORT).
 */
static int call_begin(fault_file *h, unsigned int op, uint64_t off, int *kind)
{
    *kind = 0;
    int rc = handle_ok(h, op_name(op));
    if (rc != CELLAR_OK) {
        h->fs->counts[op_index(op)]++;
        return rc;
    }
    int k = fault_hit(h->fs, op);
    if (k == CELLAR_FAULT_SHORT && op == CELLAR_FAULT_WRITE) {
        *kind = k;
        return CELLAR_OK;
    }
    return k ? fault_err(k, h->n->path, op, off) : CELLAR_OK;
}

static node *find_node(cellar_fault *fs, const char *path)
{
    for (node *n = fs->nodes; n; n = n->next)
        if (n->linked && strcmp(n->path, path) == 0)
            return n;
    return NULL;
}

static void log_clear(node *n)
{
    for (size_t i = 0; i < n->nlog; i++)
        free(n->log[i].old);
    n->nlog = 0;
}

static void free_node(cellar_fault *fs, node *n)
{
    for (node **pp = &fs->nodes; *pp; pp = &(*pp)->next)
        if (*pp == n) {
            *pp = n->next;
            break;
        }
    fs->used -= n->size;
    log_clear(n);
    free(n->log);
    free(n->data);
    free(n->path);
    free(n);
}

static void set_size(cellar_fault *fs, node *n, size_t size)
{
    fs->used = fs->used - n->size + size;
    n->size = size;
}

/* Make room for `need` bytes: doubling up to 64 MiB, then growing by half. */
static int reserve(node *n, size_t need)
{
    if (need <= n->cap)
        return CELLAR_OK;
    size_t cap = n->cap ? n->cap : 4096;
    while (cap < need) {
        size_t grow = cap < ((size_t)64 << 20) ? cap : cap / 2;
        cap = cap > SIZE_MAX - grow ? SIZE_MAX : cap + grow;
    }
    uint8_t *d = cellar__realloc(n->data, cap);
    if (!d)
        return cellar__err_oom();
    n->data = d;
    n->cap = cap;
    return CELLAR_OK;
}

/* Append an undo record (its `old` bytes copied from the current data). */
static int log_push(node *n, int is_write, uint64_t off, uint64_t len, size_t old_from,
                    size_t old_len)
{
    if (n->nlog == n->caplog) {
        size_t c = n->caplog ? n->caplog * 2 : 16;
        undo *l = cellar__realloc(n->log, c * sizeof *l);
        if (!l)
            return cellar__err_oom();
        n->log = l;
        n->caplog = c;
    }
    uint8_t *old = NULL;
    if (old_len) {
        old = cellar__malloc(old_len);
        if (!old)
            return cellar__err_oom();
        memcpy(old, n->data + old_from, old_len);
    }
    undo *u = &n->log[n->nlog++];
    u->off = off;
    u->len = len;
    u->old_size = n->size;
    u->old = old;
    u->old_len = old_len;
    u->is_write = is_write;
    return CELLAR_OK;
}

static int over_capacity(cellar_fault *fs, node *n, size_t new_size)
{
    return fs->capacity && new_size > n->size && fs->used - n->size + new_size > fs->capacity;
}

/* Store n bytes at off (no faults here). */
static int node_write(cellar_fault *fs, node *nd, const void *buf, size_t n, uint64_t off)
{
    if (n == 0)
        return CELLAR_OK;
    if (off > SIZE_MAX || n > SIZE_MAX - (size_t)off)
        return cellar__err(CELLAR_EINVAL, 0, "%s: write of %zu bytes at offset %llu: out of range",
                           nd->path, n, (unsigned long long)off);
    size_t o = (size_t)off, end = o + n;
    size_t new_size = end > nd->size ? end : nd->size;
    if (over_capacity(fs, nd, new_size))
        return cellar__err(CELLAR_ENOSPC, ENOSPC,
                           "%s: write at offset %llu: the fault vfs's capacity of %llu bytes is full",
                           nd->path, (unsigned long long)off, (unsigned long long)fs->capacity);
    int rc = reserve(nd, new_size);
    if (rc != CELLAR_OK)
        return rc;
    size_t old_len = o < nd->size ? (end < nd->size ? end : nd->size) - o : 0;
    rc = log_push(nd, 1, off, n, o, old_len);
    if (rc != CELLAR_OK)
        return rc;
    if (o > nd->size)
        memset(nd->data + nd->size, 0, o - nd->size);
    memcpy(nd->data + o, buf, n);
    set_size(fs, nd, new_size);
    return CELLAR_OK;
}

static int node_truncate(cellar_fault *fs, node *nd, uint64_t size)
{
    if (size > SIZE_MAX)
        return cellar__err(CELLAR_EINVAL, 0, "%s: truncate to %llu: out of range", nd->path,
                           (unsigned long long)size);
    size_t s = (size_t)size;
    if (s == nd->size)
        return CELLAR_OK;
    if (over_capacity(fs, nd, s))
        return cellar__err(CELLAR_ENOSPC, ENOSPC,
                           "%s: truncate to %llu: the fault vfs's capacity of %llu bytes is full",
                           nd->path, (unsigned long long)size, (unsigned long long)fs->capacity);
    int rc = reserve(nd, s);
    if (rc != CELLAR_OK)
        return rc;
    rc = log_push(nd, 0, size, 0, s, s < nd->size ? nd->size - s : 0);
    if (rc != CELLAR_OK)
        return rc;
    if (s > nd->size)
        memset(nd->data + nd->size, 0, s - nd->size);
    set_size(fs, nd, s);
    return CELLAR_OK;
}

/* Undo one change completely (it must be the newest not yet undone). */
static void undo_apply(cellar_fault *fs, node *nd, const undo *u)
{
    /* cap never shrinks, so every old size still fits in the buffer */
    if (u->old_len)
        memcpy(nd->data + u->off, u->old, u->old_len);
    set_size(fs, nd, (size_t)u->old_size);
}

/* Undo the part of a write from absolute offset `cut` on (off < cut < off+len). */
static void undo_tear(cellar_fault *fs, node *nd, const undo *u, uint64_t cut)
{
    uint64_t old_end = u->off + u->old_len;
    if (cut < old_end)
        memcpy(nd->data + cut, u->old + (cut - u->off), (size_t)(old_end - cut));
    set_size(fs, nd, (size_t)(cut > u->old_size ? cut : u->old_size));
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t path_hash(const char *p)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    return h;
}

static void node_crash(cellar_fault *fs, node *nd, cellar_crash_mode mode, uint64_t seed)
{
    size_t keep = nd->nlog;
    if (mode == CELLAR_CRASH_DROP)
        keep = 0;
    uint64_t rng = seed ^ path_hash(nd->path);
    if (mode == CELLAR_CRASH_TEAR)
        keep = (size_t)(splitmix(&rng) % ((uint64_t)nd->nlog + 1));
    for (size_t i = nd->nlog; i > keep; i--)
        undo_apply(fs, nd, &nd->log[i - 1]);
    if (mode == CELLAR_CRASH_TEAR && keep > 0 && nd->log[keep - 1].is_write) {
        const undo *u = &nd->log[keep - 1];
        uint64_t first = (u->off / 512 + 1) * 512;        /* first boundary after off */
        uint64_t last = ((u->off + u->len - 1) / 512) * 512; /* last boundary before end */
        if (first <= last)
            undo_tear(fs, nd, u, first + 512 * (splitmix(&rng) % ((last - first) / 512 + 1)));
    }
    log_clear(nd);
    nd->sh = 0;
    nd->ex = 0;
}

/* ---- the vfs ---- */

static int fault_open(const cellar_vfs *vfs, const char *path, unsigned int flags,
                      unsigned int mode, cellar_file **out)
{
    (void)mode; /* no permissions in this file system */
    cellar_fault *fs = vfs->payload;
    *out = NULL;
    if (!path || !*path)
        return cellar__err(CELLAR_EINVAL, 0, "open: empty path");
    if (flags & ~(CELLAR_VFS_READ | CELLAR_VFS_WRITE | CELLAR_VFS_CREATE | CELLAR_VFS_NOFOLLOW))
        return cellar__err(CELLAR_EINVAL, 0, "%s: open: unknown flags 0x%x", path, flags);
    if (!(flags & (CELLAR_VFS_READ | CELLAR_VFS_WRITE)))
        return cellar__err(CELLAR_EINVAL, 0, "%s: open: neither READ nor WRITE", path);
    fault_file *h = cellar__calloc(1, sizeof *h);
    if (!h)
        return cellar__err_oom();
    cellar__mutex_lock(&fs->mu);
    int rc = CELLAR_OK;
    node *n = NULL;
    if (fs->dead) {
        rc = dead_err(path, "open");
        goto out;
    }
    n = find_node(fs, path);
    if (!n) {
        if (!(flags & CELLAR_VFS_CREATE)) {
            rc = cellar__err(CELLAR_ENOENT, ENOENT, "%s: open: no such file (fault vfs)", path);
            goto out;
        }
        n = cellar__calloc(1, sizeof *n);
        char *p = cellar__strdup(path);
        if (!n || !p) {
            free(n);
            free(p);
            rc = cellar__err_oom();
            goto out;
        }
        n->path = p;
        n->ino = ++fs->next_ino;
        n->linked = 1;
        n->next = fs->nodes;
        fs->nodes = n;
    }
    // cppcheck-suppress nullPointerRedundantCheck ; n is set on every path that reaches here
    n->refs++;
    h->fs = fs;
    h->n = n;
    h->flags = flags;
    h->lock_mode = CELLAR_LOCK_UN;
    h->gen = fs->gen;
out:
    cellar__mutex_unlock(&fs->mu);
    if (rc != CELLAR_OK)
        free(h);
    else
        *out = (cellar_file *)(void *)h;
    return rc;
}

/* Drop h's lock from its node's table (fs->mu held). */
static void release_lock(fault_file *h)
{
    if (h->gen == h->fs->gen) {
        if (h->lock_mode == CELLAR_LOCK_SH)
            h->n->sh--;
        else if (h->lock_mode == CELLAR_LOCK_EX)
            h->n->ex = 0;
        if (h->lock_mode != CELLAR_LOCK_UN)
            pthread_cond_broadcast(&h->fs->cv);
    }
    h->lock_mode = CELLAR_LOCK_UN;
}

static int fault_close(cellar_file *f)
{
    if (!f)
        return CELLAR_OK;
    fault_file *h = FF(f);
    cellar_fault *fs = h->fs;
    cellar__mutex_lock(&fs->mu);
    release_lock(h);
    if (--h->n->refs == 0 && !h->n->linked)
        free_node(fs, h->n);
    cellar__mutex_unlock(&fs->mu);
    free(h);
    return CELLAR_OK;
}

static int fault_read(cellar_file *f, void *buf, size_t n, uint64_t off, size_t *out_read)
{
    fault_file *h = FF(f);
    cellar_fault *fs = h->fs;
    *out_read = 0;
    cellar__mutex_lock(&fs->mu);
    int kind;
    int rc = call_begin(h, CELLAR_FAULT_READ, off, &kind);
    if (rc == CELLAR_OK && off < h->n->size) {
        size_t avail = h->n->size - (size_t)off;
        size_t got = n < avail ? n : avail;
        if (got)
            memcpy(buf, h->n->data + off, got);
        *out_read = got;
    }
    cellar__mutex_unlock(&fs->mu);
    return rc;
}

static int fault_write(cellar_file *f, const void *buf, size_t n, uint64_t off)
{
    fault_file *h = FF(f);
    cellar_fault *fs = h->fs;
    if (!(h->flags & CELLAR_VFS_WRITE))
        return cellar__err(CELLAR_EREADONLY, 0, "%s: write: opened read-only", h->n->path);
    cellar__mutex_lock(&fs->mu);
    int kind;
    int rc = call_begin(h, CELLAR_FAULT_WRITE, off, &kind);
    if (rc == CELLAR_OK && kind == CELLAR_FAULT_SHORT) {
        rc = node_write(fs, h->n, buf, n / 2, off);
        if (rc == CELLAR_OK)
            rc = cellar__err(CELLAR_EIO, EIO,
                             "%s: injected short write: %zu of %zu bytes at offset %llu",
                             h->n->path, n / 2, n, (unsigned long long)off);
    } else if (rc == CELLAR_OK) {
        rc = node_write(fs, h->n, buf, n, off);
    }
    cellar__mutex_unlock(&fs->mu);
    return rc;
}

static int fault_sync(cellar_file *f)
{
    fault_file *h = FF(f);
    cellar_fault *fs = h->fs;
    cellar__mutex_lock(&fs->mu);
    int kind;
    int rc = call_begin(h, CELLAR_FAULT_SYNC, 0, &kind);
    if (rc == CELLAR_OK)
        log_clear(h->n); /* what is there now is what survives power loss */
    cellar__mutex_unlock(&fs->mu);
    return rc;
}

static int fault_truncate(cellar_file *f, uint64_t size)
{
    fault_file *h = FF(f);
    cellar_fault *fs = h->fs;
    if (!(h->flags & CELLAR_VFS_WRITE))
        return cellar__err(CELLAR_EREADONLY, 0, "%s: truncate: opened read-only", h->n->path);
    cellar__mutex_lock(&fs->mu);
    int kind;
    int rc = call_begin(h, CELLAR_FAULT_TRUNCATE, size, &kind);
    if (rc == CELLAR_OK)
        rc = node_truncate(fs, h->n, size);
    cellar__mutex_unlock(&fs->mu);
    return rc;
}

static int fault_size(cellar_file *f, uint64_t *out)
{
    fault_file *h = FF(f);
    cellar__mutex_lock(&h->fs->mu);
    int rc = handle_ok(h, "size");
    if (rc == CELLAR_OK)
        *out = h->n->size;
    cellar__mutex_unlock(&h->fs->mu);
    return rc;
}

static int lock_grantable(const fault_file *h, int mode)
{
    const node *n = h->n;
    int others_sh = n->sh - (h->lock_mode == CELLAR_LOCK_SH);
    int others_ex = n->ex && h->lock_mode != CELLAR_LOCK_EX;
    if (mode == CELLAR_LOCK_EX)
        return others_sh == 0 && !others_ex;
    return !others_ex;
}

static int fault_lock(cellar_file *f, int mode, int timeout_ms)
{
    fault_file *h = FF(f);
    cellar_fault *fs = h->fs;
    if (mode != CELLAR_LOCK_UN && mode != CELLAR_LOCK_SH && mode != CELLAR_LOCK_EX)
        return cellar__err(CELLAR_EINVAL, 0, "%s: lock: bad mode %d", h->n->path, mode);
    if (mode == CELLAR_LOCK_EX && !(h->flags & CELLAR_VFS_WRITE))
        return cellar__err(CELLAR_EREADONLY, 0, "%s: exclusive lock on a file opened read-only",
                           h->n->path);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    cellar__mutex_lock(&fs->mu);
    int rc, timed_out = 0;
    for (;;) {
        rc = handle_ok(h, "lock");
        if (rc != CELLAR_OK || mode == h->lock_mode)
            break;
        if (mode == CELLAR_LOCK_UN) {
            release_lock(h);
            break;
        }
        if (lock_grantable(h, mode)) {
            int downgrade = h->lock_mode == CELLAR_LOCK_EX;
            if (h->lock_mode == CELLAR_LOCK_SH)
                h->n->sh--;
            else if (h->lock_mode == CELLAR_LOCK_EX)
                h->n->ex = 0;
            if (mode == CELLAR_LOCK_SH)
                h->n->sh++;
            else
                h->n->ex = 1;
            h->lock_mode = mode;
            if (downgrade)
                pthread_cond_broadcast(&fs->cv);
            break;
        }
        if (timeout_ms <= 0 || timed_out) {
            rc = cellar__err(CELLAR_ELOCKED, 0,
                             "%s: %s lock not granted: held by another opener (waited %d ms)",
                             h->n->path, mode == CELLAR_LOCK_EX ? "write" : "read",
                             timeout_ms > 0 ? timeout_ms : 0);
            break;
        }
        /* after a timeout, look once more before giving up */
        if (pthread_cond_timedwait(&fs->cv, &fs->mu, &deadline) == ETIMEDOUT)
            timed_out = 1;
    }
    cellar__mutex_unlock(&fs->mu);
    return rc;
}

static int fault_file_id(cellar_file *f, uint64_t *dev, uint64_t *ino)
{
    fault_file *h = FF(f);
    cellar__mutex_lock(&h->fs->mu);
    int rc = handle_ok(h, "file_id");
    if (rc == CELLAR_OK) {
        *dev = h->fs->dev;
        *ino = h->n->ino;
    }
    cellar__mutex_unlock(&h->fs->mu);
    return rc;
}

static int fault_remove(const cellar_vfs *vfs, const char *path)
{
    cellar_fault *fs = vfs->payload;
    if (!path || !*path)
        return cellar__err(CELLAR_EINVAL, 0, "remove: empty path");
    cellar__mutex_lock(&fs->mu);
    int rc = CELLAR_OK;
    node *n = fs->dead ? NULL : find_node(fs, path);
    if (fs->dead)
        rc = dead_err(path, "remove");
    else if (!n)
        rc = cellar__err(CELLAR_ENOENT, ENOENT, "%s: remove: no such file (fault vfs)", path);
    else {
        n->linked = 0; /* open handles keep the bytes until they close */
        if (n->refs == 0)
            free_node(fs, n);
    }
    cellar__mutex_unlock(&fs->mu);
    return rc;
}

static int fault_exists(const cellar_vfs *vfs, const char *path)
{
    cellar_fault *fs = vfs->payload;
    if (!path || !*path)
        return cellar__err(CELLAR_EINVAL, 0, "exists: empty path");
    cellar__mutex_lock(&fs->mu);
    int rc = CELLAR_OK;
    if (fs->dead)
        rc = dead_err(path, "exists");
    else if (!find_node(fs, path))
        rc = cellar__err(CELLAR_ENOENT, ENOENT, "%s: no such file (fault vfs)", path);
    cellar__mutex_unlock(&fs->mu);
    return rc;
}

/* ---- the control API ---- */

CELLAR_API int cellar_vfs_fault_new(cellar_fault **out)
{
    *out = NULL;
    cellar_fault *fs = cellar__calloc(1, sizeof *fs);
    if (!fs)
        return cellar__err_oom();
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        free(fs);
        return cellar__err_oom();
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int r = pthread_cond_init(&fs->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (r != 0) {
        free(fs);
        return cellar__err_oom();
    }
    cellar__mutex_init(&fs->mu);
    fs->vfs.version = CELLAR_VFS_VERSION;
    fs->vfs.payload = fs;
    fs->vfs.open = fault_open;
    fs->vfs.close = fault_close;
    fs->vfs.read = fault_read;
    fs->vfs.write = fault_write;
    fs->vfs.sync = fault_sync;
    fs->vfs.truncate = fault_truncate;
    fs->vfs.size = fault_size;
    fs->vfs.lock = fault_lock;
    fs->vfs.file_id = fault_file_id;
    fs->vfs.remove = fault_remove;
    fs->vfs.exists = fault_exists;
    /* high bits set: never equal to a real st_dev in the open-file registry */
    fs->dev = 0xFA17000000000000ULL | (uint64_t)atomic_fetch_add(&fault_next_dev, 1);
    *out = fs;
    return CELLAR_OK;
}

CELLAR_API void cellar_vfs_fault_free(cellar_fault *fs)
{
    if (!fs)
        return;
    while (fs->nodes)
        free_node(fs, fs->nodes);
    pthread_cond_destroy(&fs->cv);
    cellar__mutex_destroy(&fs->mu);
    free(fs);
}

CELLAR_API const cellar_vfs *cellar_vfs_fault_vfs(cellar_fault *fs)
{
    return &fs->vfs;
}

CELLAR_API void cellar_vfs_fault_arm(cellar_fault *fs, unsigned int ops, uint64_t countdown,
                                     cellar_fault_kind kind, int sticky)
{
    cellar__mutex_lock(&fs->mu);
    fs->armed = ops != 0;
    fs->fired = 0;
    fs->ops = ops;
    fs->countdown = countdown;
    fs->kind = kind;
    fs->sticky = sticky;
    cellar__mutex_unlock(&fs->mu);
}

CELLAR_API void cellar_vfs_fault_clear(cellar_fault *fs)
{
    cellar__mutex_lock(&fs->mu);
    fs->armed = 0;
    fs->fired = 0;
    cellar__mutex_unlock(&fs->mu);
}

CELLAR_API void cellar_vfs_fault_crash(cellar_fault *fs, cellar_crash_mode mode, uint64_t seed)
{
    cellar__mutex_lock(&fs->mu);
    for (node *n = fs->nodes; n; n = n->next)
        node_crash(fs, n, mode, seed);
    fs->armed = 0;
    fs->fired = 0;
    fs->dead = 0;
    fs->gen++;
    pthread_cond_broadcast(&fs->cv); /* lock waiters: their handles are stale now */
    cellar__mutex_unlock(&fs->mu);
}

CELLAR_API uint64_t cellar_vfs_fault_count(cellar_fault *fs, unsigned int ops)
{
    uint64_t total = 0;
    cellar__mutex_lock(&fs->mu);
    if (ops & CELLAR_FAULT_WRITE)
        total += fs->counts[0];
    if (ops & CELLAR_FAULT_SYNC)
        total += fs->counts[1];
    if (ops & CELLAR_FAULT_READ)
        total += fs->counts[2];
    if (ops & CELLAR_FAULT_TRUNCATE)
        total += fs->counts[3];
    cellar__mutex_unlock(&fs->mu);
    return total;
}

CELLAR_API void cellar_vfs_fault_set_capacity(cellar_fault *fs, uint64_t bytes)
{
    cellar__mutex_lock(&fs->mu);
    fs->capacity = bytes;
    cellar__mutex_unlock(&fs->mu);
}
