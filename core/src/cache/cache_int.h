/*
 * cache_int.h - shared by the files of the cache layer only: the cache's
 * structure (frames in cache.c, the page map and the file's space in space.c).
 */
#ifndef CELLAR_CACHE_INT_H
#define CELLAR_CACHE_INT_H

#include "cache/cache.h"

#define NSHARDS 16u
#define MIN_FRAMES 64u
#define WB_BATCH 64u /* pages written back per batch (one write per contiguous group) */

/* A shard's hash table of frames; a larger one replaces it as frames grow
 * (the old one is kept until close: a reader may still walk it). */
typedef struct ptable {
    size_t nbuckets; /* power of two */
    _Atomic(cellar_page *) b[];
} ptable;

typedef struct shard {
    cellar_mutex mu;
    _Atomic(ptable *) table; /* changed under mu, walked without it by hits */
    ptable **retired;
    size_t nretired;
    size_t frames, limit;
    cellar_page lru;       /* sentinel: every clean frame, pinned or not; most recent first */
    cellar_page dirty;     /* sentinel of the dirty list (most recently dirtied first) */
    size_t ndirty;
    _Atomic uint64_t hits;
    uint64_t misses;
    char pad[64];
} shard;

typedef struct overlay_page {
    struct overlay_page *next;
    uint64_t pgno;
    uint8_t data[];
} overlay_page;

/* One array of the page map; a larger one replaces it as logical ids grow. */
typedef struct pmap {
    uint32_t cap;
    uint32_t pad;
    _Atomic uint32_t e[];
} pmap;

struct cellar_cache {
    const cellar_vfs *vfs;
    cellar_file *file;
    const char *path;
    uint32_t page_size;
    _Atomic size_t capacity; /* frames */
    _Atomic size_t dirty;
    /* read-only instances: raw writes (recovery's value extents, a compact
     * batch's pages) land here instead of the file; written only while
     * opening */
    bool memory_only;
    struct overlay_page **overlay;
    size_t overlay_buckets; /* power of two, or 0 */
    size_t overlay_pages;

    /* ---- the page map and the file's space (space.c; writer only unless
     * said otherwise) ---- */
    _Atomic(pmap *) pm;       /* logical -> physical (0: none); readers load it */
    uint32_t pm_len;          /* logical ids 0 .. pm_len-1 exist (0 is never used) */
    pmap **pm_retired;        /* grown-out arrays, freed at close (readers may hold one) */
    size_t npm_retired;
    uint8_t *fresh;           /* per logical id: its physical page was placed since the last checkpoint */
    uint32_t *map_at;         /* physical page of each map page */
    uint8_t *map_dirty;       /* per map page: changed since the last checkpoint */
    uint32_t map_pages, map_cap;
    cellar_runs lfree;        /* free logical ids */
    cellar_runs pfree;        /* free physical pages */
    cellar_runs ppending;     /* physical pages freed since the last checkpoint: reused after the next */
    cellar_runs ck_all;       /* the free list a checkpoint in progress wrote */
    _Atomic uint32_t phys_pages;
    uint32_t index_start, index_pages, flist_start, flist_pages;
    uint64_t pending_pages;   /* pages in ppending */
    uint32_t trim_to;         /* a checkpoint shrank the space: truncate the file once it is durable */
    uint8_t *wb_buf;          /* WB_BATCH pages */
    uint64_t writebacks, writeback_writes;
    shard shards[NSHARDS];
};

/* list helpers (shard mutex held) */
static inline void list_init(cellar_page *head) { head->lru_next = head->lru_prev = head; }
static inline void lru_remove(cellar_page *p)
{
    if (!p->in_lru)
        return;
    p->lru_prev->lru_next = p->lru_next;
    p->lru_next->lru_prev = p->lru_prev;
    p->in_lru = false;
}
static inline void lru_push(shard *s, cellar_page *p)
{
    p->lru_next = s->lru.lru_next;
    p->lru_prev = &s->lru;
    s->lru.lru_next->lru_prev = p;
    s->lru.lru_next = p;
    p->in_lru = true;
}
static inline void dirty_push(shard *s, cellar_page *p)
{
    p->dnext = s->dirty.dnext;
    p->dprev = &s->dirty;
    s->dirty.dnext->dprev = p;
    s->dirty.dnext = p;
    s->ndirty++;
}
static inline void dirty_remove(shard *s, cellar_page *p)
{
    p->dprev->dnext = p->dnext;
    p->dnext->dprev = p->dprev;
    s->ndirty--;
}

/* space.c */
void cellar__space_free(cellar_cache *c);
/** Physical page of logical `pgno` (0: none). Any thread. */
static inline uint32_t cellar__phys_of(cellar_cache *c, uint32_t pgno)
{
    pmap *m = atomic_load_explicit(&c->pm, memory_order_acquire);
    return m && pgno < m->cap ? atomic_load_explicit(&m->e[pgno], memory_order_acquire) : 0;
}

#endif
