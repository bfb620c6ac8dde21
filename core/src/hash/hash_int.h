/*
 * hash_int.h - shared by the files of the hash layer only.
 */
#ifndef CELLAR_HASH_INT_H
#define CELLAR_HASH_INT_H

#include "hash/hash.h"

/* bucket page header fields */
#define BK_TYPE 4
#define BK_DEPTH 5
#define BK_NSLOTS 6
#define BK_BITS 8
#define BK_NEXT 12
#define BK_DATA 16
#define BK_GARBAGE 20
#define BK_SELF 24 /* u32 the page's own logical number (salvage checks its checksum with it) */
#define BK_SLOTS 28

#define REC_LARGE 1u
#define REC_TTL 2u
#define REC_LARGE_TAIL 16u /* u32 extent, u32 crc, u64 hash */

/* meta page header: crc, type, pad, u32 index, u32 count */
#define META_HDR 16u

typedef struct dir {
    uint32_t depth;
    uint32_t pad;
    _Atomic uint32_t e[];
} dir;

struct cellar_hash {
    cellar_cache *cache;
    const char *path;
    uint32_t P;
    uint32_t inline_max;
    uint32_t max_depth;
    uint64_t seed0, seed1;

    _Atomic(dir *) dir;
    dir **retired;
    size_t nretired;
    uint32_t dir_start, dir_pages; /* logical pages, contiguous */
    uint8_t *dir_dirty; /* one byte per directory page */

    /* Counters kept so that statistics cost O(1) (persisted in the meta
     * page; cellar_hash_check compares them with what its walk finds).
     * Written by the writer only (under the db's write_mu), read by anyone. */
    _Atomic uint64_t records, ttl_records;
    _Atomic uint64_t bucket_pages, chain_pages; /* pages never go away: only splits and chains add */
    _Atomic uint64_t value_pages; /* pages of the extents live records point at */
    _Atomic uint64_t used_bytes;  /* of bucket and chain pages: live record bytes + 4 per slot */
    _Atomic int large_readers;
    cellar_clock_fn clock;
    void *clock_payload;
};

/* A decoded record. */
typedef struct rec {
    uint32_t off, size;
    unsigned flags;
    uint64_t klen, vlen, expiry;
    const uint8_t *key, *val; /* inline */
    uint32_t extent, crc;     /* large */
    uint64_t hash;            /* large */
} rec;

static inline uint32_t dir_epp(uint32_t P) { return (P - META_HDR) / 4; }
static inline uint32_t pages_for(uint64_t bytes, uint32_t P) { return (uint32_t)((bytes + P - 1) / P); }

/* bucket.c */
void cellar__bk_init(uint8_t *pg, uint32_t P, int type, unsigned depth, uint32_t bits, uint32_t self);
bool cellar__rec_decode(const uint8_t *pg, uint32_t P, uint32_t off, rec *r);
size_t cellar__rec_encode(uint8_t *out, unsigned flags, uint64_t klen, uint64_t vlen, uint64_t expiry,
                          const void *key, const void *val, uint32_t extent, uint32_t crc, uint64_t hash);
size_t cellar__rec_header_len(unsigned flags, uint64_t klen, uint64_t vlen);
uint32_t cellar__bk_room(const uint8_t *pg); /* free + garbage bytes */
bool cellar__bk_insert(uint8_t *pg, uint32_t P, uint16_t tag, const uint8_t *rec, size_t len);
void cellar__bk_remove(uint8_t *pg, uint32_t P, unsigned slot);
void cellar__bk_compact(uint8_t *pg, uint32_t P);
bool cellar__bk_sane(const uint8_t *pg, uint32_t P);       /* every record decodes (O(records)) */
bool cellar__bk_header_ok(const uint8_t *pg, uint32_t P);  /* header fields in bounds (O(1)) */
static inline unsigned bk_nslots(const uint8_t *pg) { return cellar__get16(pg + BK_NSLOTS); }
/* where slot i (2-byte record offset, 2-byte tag) sits in a bucket page */
static inline size_t bk_slot_at(unsigned i) { return BK_SLOTS + (size_t)4 * i; }
static inline uint32_t bk_slot_off(const uint8_t *pg, unsigned i) { return cellar__get16(pg + bk_slot_at(i)); }
static inline uint16_t bk_slot_tag(const uint8_t *pg, unsigned i) { return cellar__get16(pg + bk_slot_at(i) + 2); }
static inline uint16_t tag_of(uint64_t hv) { return (uint16_t)(hv >> 48); }

/* page numbers: logical pages (buckets, chains, directory) come from the
 * cache's page map, value extents are physical runs */
static inline int hash_page_alloc(cellar_hash *h, uint32_t n, uint32_t *out)
{
    return cellar_cache_page_alloc(h->cache, n, out);
}
static inline bool hash_page_ok(cellar_hash *h, uint32_t pgno)
{
    return pgno != 0 && pgno < cellar_cache_logical_pages(h->cache);
}

#endif
