/*
 * cache.h - the page cache and the file's space: fixed-size frames, a
 * capacity in bytes, LRU eviction, pin counts, dirty flags, checksums
 * verified when a page comes from disk; and under it the page map that
 * places each logical page in a physical page of the file (shadow paging).
 *
 * Contract of this layer
 * ----------------------
 * - Sits on os/ (the vfs) only. Serves pages by logical number; the page
 *   map says where each one lives in the file. Physical pages 0 and 1 are
 *   the double-buffered meta page (the db layer's); value extents are
 *   physical runs the hash layer reads and writes raw.
 * - Sharded by page number: each shard has its own mutex, hash table and LRU
 *   list, so concurrent readers of different pages do not serialize.
 * - A frame returned by cellar_cache_get/new is pinned: it is not evicted or
 *   reused until unpinned. Its bytes are guarded by its latch (a rwlock):
 *   readers hold it shared, the one writer holds it exclusive while changing
 *   the page. Pin first, then latch; unlatch, then unpin.
 * - Write-back (shadow paging): the writer writes dirty pages back when it
 *   likes (cellar_cache_writeback), one page write each and no fsync, to a
 *   physical page that the last durable checkpoint does not refer to: the
 *   page's own location if it was placed there since that checkpoint, else
 *   a free page (the old location is freed when the next checkpoint is
 *   durable). So no torn or half-written page is ever one that recovery
 *   reads. Only clean frames are evicted; other threads never write.
 * - A checkpoint (cellar_cache_checkpoint) writes back every dirty page,
 *   then the changed pages of the map, its index and the free list, all to
 *   fresh pages; the db layer then syncs the file and writes the meta page
 *   that names them.
 *
 * Every page carries a CRC-32C in its first 4 bytes, over the rest of the
 * page and its number (logical for cached pages, physical for the map, its
 * index and the free list), so a page read from the wrong place fails.
 */
#ifndef CELLAR_CACHE_H
#define CELLAR_CACHE_H

#include "common/common.h"
#include "cellardb_vfs.h"

typedef struct cellar_cache cellar_cache;

/** A cached page. Fields other than data/pgno/latch are the cache's. */
typedef struct cellar_page {
    uint8_t *data;          /* page_size bytes */
    _Atomic uint32_t pgno;  /* stable while pinned */
    cellar_rwlock latch;    /* guards data */
    /* cache-private */
    _Atomic int state;      /* 0 loading, 1 valid, 2 failed */
    _Atomic int pins;       /* -1 while the frame is being taken for another page */
    _Atomic bool ref;       /* touched since eviction last looked (second chance) */
    _Atomic bool in_table;
    bool dirty;             /* guarded by the shard mutex */
    bool wb;                /* being written back (shard mutex) */
    bool in_lru;
    unsigned shard_idx;
    struct cellar_page *lru_prev, *lru_next;
    _Atomic(struct cellar_page *) hnext;
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
/** Change the capacity (bytes; at least 64 frames). A smaller one takes
 * effect as frames are evicted. Any thread. */
void cellar_cache_set_capacity(cellar_cache *c, size_t bytes);

/** Drop page `pgno` from the cache if present and unpinned. */
void cellar_cache_forget(cellar_cache *c, uint32_t pgno);

void cellar_cache_counters_get(cellar_cache *c, cellar_cache_counters *out);

/* ---- raw page I/O for pages that bypass the cache (value extents) ---- */
/** Read len bytes at byte `off` of physical page pgno onward (CELLAR_ECORRUPT if past end of file). */
int cellar_cache_read_raw(cellar_cache *c, uint64_t pgno, uint64_t off, void *buf, size_t len);
/** Write len bytes at byte `off` of physical page pgno onward. */
int cellar_cache_write_raw(cellar_cache *c, uint64_t pgno, uint64_t off, const void *buf, size_t len);

/**
 * Keep raw writes in memory (a read-only instance recovering from its log:
 * the value extents replay makes, and a compact batch's pages, must be seen
 * by its reads without being written to the file). Raw reads and page loads
 * then prefer those copies. Call before any raw write; the overlay is
 * written only while opening, before any other thread uses the cache, and
 * read without locks after.
 */
void cellar_cache_set_memory_only(cellar_cache *c);

/* ---- the page map and the file's space (space.c) ---- */

/** Physical pages 0 and 1 hold the meta page (two copies, alternating). */
#define CELLAR_META_SLOTS 2u

/** Sorted, merged runs of page numbers. */
typedef struct cellar_run {
    uint32_t start, count;
} cellar_run;
typedef struct cellar_runs {
    cellar_run *v;
    size_t n, cap;
} cellar_runs;
/** Add [start, start+count) to r (kept sorted and merged); CELLAR_ENOMEM. */
int cellar__runs_add(cellar_runs *r, uint32_t start, uint32_t count);

/** What the meta page records of the space, at a checkpoint. */
typedef struct cellar_space_meta {
    uint32_t phys_pages;               /* the file's length in pages */
    uint32_t map_len;                  /* logical ids 0 .. map_len-1 */
    uint32_t index_start, index_pages; /* the run holding the map index */
    uint32_t free_start, free_pages;   /* the run holding the free list */
} cellar_space_meta;

/** A new file: no logical page yet, physical pages = the meta slots. */
void cellar_cache_space_init(cellar_cache *c);
/**
 * Load the map and free list a meta page names (each page's checksum and
 * type checked, every entry bounded: CELLAR_ECORRUPT). file_pages: the
 * file's length in pages.
 */
int cellar_cache_space_load(cellar_cache *c, const cellar_space_meta *m, uint64_t file_pages);

/** Allocate n contiguous logical ids (for cellar_cache_new). Writer only. */
int cellar_cache_page_alloc(cellar_cache *c, uint32_t n, uint32_t *out);
/** Logical pages [pgno, pgno+n) are no longer used: frames dropped, places freed. Writer only. */
void cellar_cache_page_free(cellar_cache *c, uint32_t pgno, uint32_t n);
/** An upper bound of the logical ids (every page number in use is below it). Any thread. */
uint32_t cellar_cache_logical_pages(cellar_cache *c);
/** The number of logical ids handed out so far (the data's size in pages). Writer only. */
uint32_t cellar_cache_map_len(cellar_cache *c);
/**
 * When an eighth or more of the file is free, mark dirty every logical page
 * placed past the part the data needs, so that write-back moves it to a
 * free page lower down; two checkpoints later the end of the file is free
 * and is given back. *out_moved: pages marked (0: nothing to do). Writer only.
 */
int cellar_cache_move_down(cellar_cache *c, uint32_t *out_moved);
/** Write dirty pages back if they pass three quarters of the cache, down
 * to five eighths (the one dirty-page bound). Writer only. */
int cellar_cache_relieve(cellar_cache *c);
/** Whether the pages freed since the last checkpoint are many (an eighth of
 * the file): a checkpoint then makes them reusable. Writer only. */
bool cellar_cache_space_crowded(cellar_cache *c);
/** Allocate a run of n physical pages (a value extent), never one the last checkpoint refers to. Writer only. */
int cellar_cache_extent_alloc(cellar_cache *c, uint32_t n, uint32_t *out);
/** Free a value extent (reusable once the next checkpoint is durable). Writer only. */
void cellar_cache_extent_free(cellar_cache *c, uint32_t start, uint32_t n);
/** Whether [start, start+n) lies inside the file's data pages. Any thread. */
bool cellar_cache_extent_ok(cellar_cache *c, uint64_t start, uint64_t n);

/**
 * Write dirty pages back (least recently dirtied first) until at most
 * `target` remain dirty: one page write each (contiguous ones gathered
 * into one write), no fsync. Writer only.
 */
int cellar_cache_writeback(cellar_cache *c, size_t target);
/**
 * The cache's part of a checkpoint: write back every dirty page, then the
 * changed map pages, a new map index and a new free list (fresh pages, no
 * fsync); *out gets what the meta page must record. Writer only. Then,
 * once the meta page naming them is durable, cellar_cache_checkpoint_done
 * (ok), or (!ok) if the checkpoint failed. reuse_pending: pages freed since
 * the last checkpoint may be reused now (no reader may still read one).
 */
int cellar_cache_checkpoint(cellar_cache *c, cellar_space_meta *out);
int cellar_cache_checkpoint_done(cellar_cache *c, bool ok, bool reuse_pending);

/** Space counters: physical pages, free ones (free + pending), logical ids in use. */
typedef struct cellar_space_stats {
    uint64_t phys_pages, free_pages, logical_pages, map_len, writebacks, writeback_writes;
} cellar_space_stats;
void cellar_cache_space_stats(cellar_cache *c, cellar_space_stats *out);

/** The file page where logical page pgno lives (0: none yet). Any thread. */
uint32_t cellar_cache_place_of(cellar_cache *c, uint32_t pgno);
/** For check: called for each physical run the space itself accounts for. */
typedef void (*cellar_claim_fn)(void *ctx, uint64_t start, uint64_t n, const char *what);
/** Claim the meta slots, map pages, index, free list, free and pending runs,
 * and the place of every logical page. Writer lock held. */
void cellar_cache_space_claims(cellar_cache *c, cellar_claim_fn fn, void *ctx);

/* ---- page checksums ---- */
/** Store the checksum of page `pgno` in its first 4 bytes. */
void cellar__page_seal(uint8_t *page, uint32_t pgno, uint32_t page_size);
/** True if the page's checksum is right for page number pgno. */
bool cellar__page_ok(const uint8_t *page, uint32_t pgno, uint32_t page_size);

#endif
