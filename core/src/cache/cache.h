/*
 * cache.h - the page cache: fixed-size frames, a capacity in bytes, LRU
 * eviction, pin counts, dirty flags, checksums verified on every read.
 *
 * Contract of this layer
 * ----------------------
 * - Sits on os/ (the vfs) only. Serves pages by number; page 0 (the header)
 *   and directory pages are not cached (the db layer keeps them in memory).
 * - Sharded by page number: each shard has its own mutex, hash table and LRU
 *   list, so concurrent readers of different pages do not serialize.
 * - A frame returned by cellar_cache_get/new is pinned: it is not evicted or
 *   reused until unpinned. Its bytes are guarded by its latch (a rwlock):
 *   readers hold it shared, the one writer holds it exclusive while changing
 *   the page. Pin first, then latch; unlatch, then unpin.
 * - A dirty frame is never evicted: dirty pages reach the file only through a
 *   checkpoint (wal/ then cellar_cache_write_raw). If a shard has no clean
 *   unpinned frame, it grows past its share (the db layer bounds this by
 *   checkpointing when cellar_cache_dirty() passes its limit).
 *
 * Every cached page carries a CRC-32C in its first 4 bytes, over the rest of
 * the page and the page number (so a page written at the wrong place fails).
 */
#ifndef CELLAR_CACHE_H
#define CELLAR_CACHE_H

#include "common/common.h"
#include "cellardb_vfs.h"

typedef struct cellar_cache cellar_cache;

/** A cached page. Fields other than data/pgno/latch are the cache's. */
typedef struct cellar_page {
    uint8_t *data;          /* page_size bytes */
    uint32_t pgno;
    cellar_rwlock latch;    /* guards data */
    /* cache-private */
    _Atomic int state;      /* 0 loading, 1 valid, 2 failed */
    int pins;               /* guarded by the shard mutex */
    bool dirty;             /* guarded by the shard mutex */
    bool in_lru;
    bool in_table;
    unsigned shard_idx;
    struct cellar_page *lru_prev, *lru_next, *hnext;
    struct cellar_page *dnext, *dprev; /* dirty list */
} cellar_page;

/** Per-cache counters (read without locks; approximate while running). */
typedef struct cellar_cache_counters {
    uint64_t hits, misses, frames, dirty, capacity_frames;
} cellar_cache_counters;

/**
 * Make a cache over `file` (owned by the caller). `path` is for messages.
 * capacity: bytes (at least 64 frames are allowed whatever it says).
 */
int cellar_cache_open(cellar_cache **out, const cellar_vfs *vfs, cellar_file *file,
                      const char *path, uint32_t page_size, size_t capacity);
/** Free every frame (dirty ones are dropped: the log has them). */
void cellar_cache_close(cellar_cache *c);

/**
 * Pin page `pgno`, reading it from the file on a miss (checksum verified:
 * CELLAR_ECORRUPT names the page). Any thread.
 */
int cellar_cache_get(cellar_cache *c, uint32_t pgno, cellar_page **out);
/**
 * Pin page `pgno` as a new, zeroed, dirty page without reading it (for pages
 * just allocated). Writer only.
 */
int cellar_cache_new(cellar_cache *c, uint32_t pgno, cellar_page **out);
/** Unpin a page from cellar_cache_get/new. */
void cellar_cache_unpin(cellar_cache *c, cellar_page *p);
/** Mark a pinned page dirty (the caller holds its latch exclusive). */
void cellar_cache_mark_dirty(cellar_cache *c, cellar_page *p);
/** Number of dirty pages. */
size_t cellar_cache_dirty(cellar_cache *c);
/** Capacity in frames. */
size_t cellar_cache_capacity(cellar_cache *c);

/**
 * Collect every dirty page, pinned, sorted by page number, into a new array
 * (*out, *n; free with free()). Writer only (no page becomes dirty meanwhile).
 */
int cellar_cache_dirty_list(cellar_cache *c, cellar_page ***out, size_t *n);
/** Mark the listed pages clean and unpin them; frees the array. */
void cellar_cache_dirty_done(cellar_cache *c, cellar_page **list, size_t n, bool clean);
/** Drop page `pgno` from the cache if present and unpinned (freed pages). */
void cellar_cache_forget(cellar_cache *c, uint32_t pgno);

void cellar_cache_counters_get(cellar_cache *c, cellar_cache_counters *out);

/* ---- raw page I/O for pages that bypass the cache (value extents, meta) ---- */
/** Read len bytes at byte `off` of page pgno onward (CELLAR_ECORRUPT if past end of file). */
int cellar_cache_read_raw(cellar_cache *c, uint64_t pgno, uint64_t off, void *buf, size_t len);
/** Write len bytes at byte `off` of page pgno onward (sets the raw-writes flag). */
int cellar_cache_write_raw(cellar_cache *c, uint64_t pgno, uint64_t off, const void *buf, size_t len);

/**
 * Keep raw writes in memory (a read-only instance recovering from its log:
 * the meta pages and value extents recovery makes must be seen by its reads
 * without being written to the file). Raw reads then prefer those copies.
 * Call before any raw write; the overlay is written only while opening,
 * before any other thread uses the cache, and read without locks after.
 */
void cellar_cache_set_memory_only(cellar_cache *c);

/**
 * Whether raw writes happened since the flag was last taken; takes (clears) it.
 * A checkpoint syncs the file before its batch completes when it was set, so
 * value extents the batch refers to are durable first.
 */
bool cellar_cache_take_raw_flag(cellar_cache *c);
/** Set the raw-writes flag again (a checkpoint that took it failed before syncing). */
void cellar_cache_keep_raw_flag(cellar_cache *c);

/* ---- page checksums ---- */
/** Store the checksum of page `pgno` in its first 4 bytes. */
void cellar__page_seal(uint8_t *page, uint32_t pgno, uint32_t page_size);
/** True if the page's checksum is right for page number pgno. */
bool cellar__page_ok(const uint8_t *page, uint32_t pgno, uint32_t page_size);

#endif
