/*
 * hash.h - the on-disk extendible hash index.
 *
 * Contract of this layer
 * ----------------------
 * - Sees pages only through cache/ (cached bucket pages, and raw page I/O for
 *   value extents); never touches files or the log.
 * - Readers (get, scan) may run on any number of threads at once, concurrently
 *   with the one writer (put, del, split, meta) that the db layer serializes.
 * - The directory (2^global_depth bucket page numbers) lives in memory and is
 *   persisted as directory pages at checkpoints; readers load it through an
 *   atomic pointer, and a doubled directory replaces it (old ones are kept
 *   until close, so a reader never touches freed memory; their total is at
 *   most the size of the current one).
 *
 * Read protocol (no lock but the page latch): load dir, pick the bucket page,
 * pin + read-latch it, check it is a bucket whose bits match the hash; if not
 * (it split meanwhile), retry. The writer updates directory entries while it
 * still holds the split bucket's write latch, so the retry always progresses.
 *
 * Bucket page layout (page types in FORMAT.md):
 *   0  u32 crc          4  u8 type (2 bucket, 3 chain)   5 u8 local depth
 *   6  u16 slot count   8  u32 bucket bits (hash & (2^depth - 1))
 *   12 u32 next chain page (0 = none)  16 u32 record area start
 *   20 u32 garbage bytes in the record area
 *   24 slots: u16 record offset, u16 tag (hash bits 48..63), growing up
 *   ... free ... records, packed toward the end of the page, growing down
 * Record: u8 flags (1 = large, 2 = ttl), varint klen, varint vlen,
 *   [u64 expiry ms if ttl], then inline: key, value;
 *   large: u32 extent page, u32 crc32c(key || value), u64 hash.
 * A large record's key and value live in a contiguous extent of pages.
 *
 * Chains: a bucket is split when it overflows; only when its local depth
 * equals the global depth and the directory is at its maximum depth
 * (CELLAR_HASH_MAX_DEPTH) does it grow a chain of overflow pages. With the
 * keyed hash this needs keys whose hashes agree in their low 24 bits.
 */
#ifndef CELLAR_HASH_H
#define CELLAR_HASH_H

#include "cache/cache.h"

#define CELLAR_PAGE_META 1
#define CELLAR_PAGE_BUCKET 2
#define CELLAR_PAGE_CHAIN 3
#define CELLAR_PAGE_DIR 4
#define CELLAR_PAGE_FREE 5

#define CELLAR_HASH_MAX_DEPTH 24u

typedef struct cellar_hash cellar_hash;

/** What the meta page stores about the index. */
typedef struct cellar_hash_meta {
    uint64_t seed0, seed1;
    uint32_t global_depth;
    uint32_t dir_start, dir_pages; /* logical pages */
    uint64_t records, ttl_records;
    /* counters behind cellar_hash_counters (O(1) statistics) */
    uint32_t bucket_pages, chain_pages, value_pages;
    uint64_t used_bytes; /* live record bytes + 4-byte slots in bucket and chain pages */
} cellar_hash_meta;

/**
 * Open the index described by `meta` (the directory is read through the
 * cache and validated: CELLAR_ECORRUPT on any inconsistency). The cache's
 * space must be loaded first.
 */
int cellar_hash_open(cellar_hash **out, cellar_cache *cache, const char *path,
                     uint32_t page_size, const cellar_hash_meta *meta);
/** Make a new, empty index (one bucket) in a new file (the cache's space initialised). */
int cellar_hash_create(cellar_hash **out, cellar_cache *cache, const char *path,
                       uint32_t page_size, uint64_t seed0, uint64_t seed1);
void cellar_hash_close(cellar_hash *h);

/** The keyed hash of a key. */
uint64_t cellar_hash_key(const cellar_hash *h, const void *key, size_t klen);

/**
 * Give an index that holds no record yet the hash seed of another file, so
 * that both hash every key alike (compact keeps the seed: hash values that
 * transactions and writers computed before the swap stay valid after it).
 */
void cellar_hash_set_seed(cellar_hash *h, uint64_t seed0, uint64_t seed1);

#define CELLAR_HASH_NOW_LAZY 0u

/** Set the clock used for CELLAR_HASH_NOW_LAZY (NULL = wall clock). */
void cellar_hash_set_clock(cellar_hash *h, cellar_clock_fn clock, void *payload);

/** Called with a value found by cellar_hash_get (borrowed view). */
typedef int (*cellar_hash_visit_fn)(void *ctx, const uint8_t *val, size_t vlen, uint64_t expiry);

/**
 * Find `key` (hash hv). Records with expiry != 0 and expiry <= now are absent;
 * now == CELLAR_HASH_NOW_LAZY asks the index's clock only when the record
 * found has an expiry (most gets then never read the clock).
 * Calls fn once and returns its result, or CELLAR_ENOTFOUND / an error.
 * Any thread.
 */
int cellar_hash_get(cellar_hash *h, uint64_t hv, const void *key, size_t klen, uint64_t now,
                    cellar_hash_visit_fn fn, void *ctx);

/**
 * As cellar_hash_get, but hands back the value in fresh memory (*out, free()).
 * A large value is read once, into the buffer that is returned, so a 1 GiB
 * value costs 1 GiB here, not two. Any thread.
 */
int cellar_hash_get_copy(cellar_hash *h, uint64_t hv, const void *key, size_t klen, uint64_t now,
                         void **out, size_t *out_len);

/**
 * Store key -> val with expiry (0 = none). *out_existed (may be NULL): 1 if a
 * live record was replaced. Writer only.
 */
int cellar_hash_put(cellar_hash *h, uint64_t hv, const void *key, size_t klen,
                    const void *val, size_t vlen, uint64_t expiry, uint64_t now, int *out_existed);
/** A value's out-of-line extent, written ahead of the commit that refers to it. */
typedef struct cellar_hash_extent {
    uint32_t page; /* 0: the record is stored inline */
    uint32_t crc;
} cellar_hash_extent;

/**
 * If key+value go out of line, allocate an extent and write them into it now
 * (before the commit is logged, so a full disk fails the commit cleanly);
 * out->page is 0 for inline records. Writer only.
 */
int cellar_hash_prewrite(cellar_hash *h, const void *key, size_t klen, const void *val, size_t vlen,
                         uint64_t expiry, cellar_hash_extent *out);
/** Give back an extent from cellar_hash_prewrite that no record will use. */
void cellar_hash_prewrite_drop(cellar_hash *h, const cellar_hash_extent *e, size_t klen, size_t vlen);
/** cellar_hash_put with the extent already written (by cellar_hash_prewrite). On
 * failure the extent is given back. Writer only. */
int cellar_hash_put_written(cellar_hash *h, uint64_t hv, const void *key, size_t klen,
                            const void *val, size_t vlen, uint64_t expiry, uint64_t now,
                            const cellar_hash_extent *e, int *out_existed);

/** Remove key; CELLAR_ENOTFOUND if absent or expired (an expired one is removed). Writer only. */
int cellar_hash_del(cellar_hash *h, uint64_t hv, const void *key, size_t klen, uint64_t now);

/** Current meta (for the meta page written at a checkpoint). */
void cellar_hash_meta_get(cellar_hash *h, cellar_hash_meta *out);

/**
 * Put the changed directory pages into the cache (dirty), so that the
 * checkpoint's write-back writes them. Writer only.
 */
int cellar_hash_meta_pages(cellar_hash *h);

/* ---- iteration ---- */

/**
 * One step of a scan in reverse-bit hash order (see db/iter.c): collects the
 * records of the bucket covering position *cursor whose position is at least
 * *cursor into `out` (appended; format below), and advances *cursor to the
 * bucket's end. *cursor == 1<<32 means done. Any thread.
 * Entry format in out: u8 large, u64 expiry, u64 klen, u64 vlen, then inline:
 * key, value; large: u32 extent, u32 crc (read with cellar_hash_read_large).
 */
typedef struct cellar_buf {
    uint8_t *data;
    size_t len, cap;
} cellar_buf;
int cellar_buf_reserve(cellar_buf *b, size_t more);
int cellar_hash_scan_step(cellar_hash *h, uint64_t *cursor, cellar_buf *out, bool *out_hold);

/** One record of a scan step's output, decoded. */
typedef struct cellar_scan_entry {
    bool large;
    uint64_t expiry, klen, vlen;
    const uint8_t *key, *val; /* inline records: views into the step's buffer */
    uint32_t extent, crc;     /* large records: read with cellar_hash_read_large */
} cellar_scan_entry;

/** Decode the entry at p (in a buffer filled by cellar_hash_scan_step); returns its size. */
size_t cellar_hash_scan_entry(const uint8_t *p, cellar_scan_entry *out);

/**
 * Read a large record's key and value (klen + vlen bytes) from its extent
 * into buf, verifying its crc. Any thread; see cellar_hash_large_hold.
 */
int cellar_hash_read_large(cellar_hash *h, uint32_t extent, uint32_t crc, uint8_t *buf, size_t n);
/** Readers of extents found under a latch hold this so freed extents are not reused meanwhile. */
void cellar_hash_large_hold(cellar_hash *h);
void cellar_hash_large_release(cellar_hash *h);
/** No reader holds extents now (freed ones may be reused after a checkpoint). */
bool cellar_hash_extents_idle(cellar_hash *h);

/* ---- statistics and checking ---- */
typedef struct cellar_hash_stats {
    uint64_t bucket_pages, chain_pages, value_pages, dir_pages, free_pages;
    uint64_t used_bytes, capacity_bytes;
} cellar_hash_stats;
/**
 * Fill stats from the counters the index keeps (O(1): reads no page).
 * capacity_bytes is (bucket + chain pages) * (P - 28). Any thread; exact
 * (one writer's state) when the writer lock is held.
 */
void cellar_hash_counters(cellar_hash *h, cellar_hash_stats *out);
/**
 * Find the same figures by walking every bucket and chain page (reads
 * pages; O(pages)): the truth the counters are checked against. Any thread.
 */
int cellar_hash_stats_get(cellar_hash *h, cellar_hash_stats *out);
/** Count unexpired records by walking every bucket. Any thread. */
int cellar_hash_count_live(cellar_hash *h, uint64_t now, uint64_t *out);

/**
 * Verify the whole structure; each problem goes to report, including each
 * counter (records, pages, used bytes) that differs from what the walk
 * finds. Writer lock held (no concurrent writes). *out_problems receives the
 * count.
 */
int cellar_hash_check(cellar_hash *h, cellar_report_fn report, cellar_progress_fn progress,
                      void *payload, uint64_t *out_problems);

/** Testing: lower the maximum directory depth (forces chains). */
void cellar_hash__set_max_depth(cellar_hash *h, uint32_t depth);

#endif
