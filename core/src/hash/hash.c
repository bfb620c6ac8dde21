/*
 * hash.c - extendible hashing: lookup, insert, delete, split, directory
 * doubling, and persisting the directory and free list at checkpoints.
 *
 * Counters (struct cellar_hash, persisted in the meta page) keep statistics
 * O(1); each changes where the structure does, nowhere else:
 *   - bucket_pages: 1 at creation, +1 per split (pages are never merged);
 *   - chain_pages: +1 when chain_insert links a new chain page;
 *   - records, ttl_records, used_bytes (record bytes + its 4-byte slot) and
 *     value_pages (the extent of a large record): count_rec, +1 per record
 *     placed in a page, -1 per record taken out (delete, overwrite). Splits
 *     and page compaction move records without changing any of them. An
 *     extent that prewrite wrote counts only once a record refers to it, so
 *     a dropped one never counted.
 * cellar_hash_check recomputes all of them from the pages.
 *
 * Bounds: a split touches two pages and rewrites 2^(global-local-1)
 * directory entries; a doubling copies the directory once (amortised O(1)
 * per insert). Directory memory is 4 * 2^global_depth bytes, at most
 * 4 * 2^CELLAR_HASH_MAX_DEPTH = 64 MiB (plus the retired copies, at most as
 * much again).
 */
#include "hash/hash_int.h"

#include <stdlib.h>

#define CHAIN_MAX 1000000u /* a longer chain is a loop in a corrupt file */

uint64_t cellar_hash_key(const cellar_hash *h, const void *key, size_t klen)
{
    return cellar__siphash(h->seed0, h->seed1, key, klen);
}

static inline uint32_t mask(uint32_t depth) { return depth >= 32 ? UINT32_MAX : (1u << depth) - 1; }

static int corrupt(cellar_hash *h, uint32_t pgno, const char *what)
{
    (void)cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u: %s", h->path, pgno, what);
    return CELLAR_ECORRUPT; /* a constant, so callers (and the analyzer) see an error */
}

static cellar_hash *hash_alloc(cellar_cache *cache, const char *path, uint32_t P)
{
    cellar_hash *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->cache = cache;
    h->path = path;
    h->P = P;
    /* A record larger than a quarter page goes out of line, so a bucket
     * always holds at least three records and splits make progress. */
    h->inline_max = (P - BK_SLOTS) / 4 - 4;
    h->max_depth = CELLAR_HASH_MAX_DEPTH;
    return h;
}

static dir *dir_new(uint32_t depth)
{
    dir *d = calloc(1, sizeof(dir) + sizeof(uint32_t) * ((size_t)1 << depth));
    if (d)
        d->depth = depth;
    return d;
}

static int retire(cellar_hash *h, dir *old)
{
    dir **nv = realloc(h->retired, (h->nretired + 1) * sizeof *nv); /* NOLINT(bugprone-sizeof-expression): a pointer array's element */
    if (!nv)
        return cellar__err_oom();
    h->retired = nv;
    h->retired[h->nretired++] = old;
    return CELLAR_OK;
}

void cellar_hash_close(cellar_hash *h)
{
    if (!h)
        return;
    free(atomic_load(&h->dir));
    for (size_t i = 0; i < h->nretired; i++)
        free(h->retired[i]);
    free(h->retired);
    free(h->dir_dirty);
    free(h);
}

void cellar_hash__set_max_depth(cellar_hash *h, uint32_t depth)
{
    if (depth <= CELLAR_HASH_MAX_DEPTH)
        h->max_depth = depth;
}

int cellar_hash_create(cellar_hash **out, cellar_cache *cache, const char *path,
                       uint32_t page_size, uint64_t seed0, uint64_t seed1)
{
    *out = NULL;
    cellar_hash *h = hash_alloc(cache, path, page_size);
    dir *d = dir_new(0);
    if (!h || !d) {
        free(d);
        cellar_hash_close(h);
        return cellar__err_oom();
    }
    h->seed0 = seed0;
    h->seed1 = seed1;
    cellar_page *p = NULL;
    uint32_t bucket = 0, dstart = 0;
    int rc = hash_page_alloc(h, 1, &bucket);
    if (rc == CELLAR_OK)
        rc = hash_page_alloc(h, 1, &dstart);
    if (rc == CELLAR_OK)
        rc = cellar_cache_new(cache, bucket, &p);
    if (rc != CELLAR_OK) {
        free(d);
        cellar_hash_close(h);
        return rc;
    }
    cellar__wrlock(&p->latch);
    cellar__bk_init(p->data, page_size, CELLAR_PAGE_BUCKET, 0, 0, bucket);
    cellar__rwunlock(&p->latch);
    cellar_cache_unpin(cache, p);
    d->e[0] = bucket;
    atomic_store(&h->dir, d);
    atomic_store(&h->bucket_pages, 1);
    h->dir_start = dstart;
    h->dir_pages = 1;
    h->dir_dirty = calloc(1, 1);
    if (!h->dir_dirty) {
        cellar_hash_close(h);
        return cellar__err_oom();
    }
    h->dir_dirty[0] = 1;
    *out = h;
    return CELLAR_OK;
}

/* Read and verify directory page k (a cached page) into buf. */
static int read_dir_page(cellar_hash *h, uint32_t k, uint8_t *buf)
{
    uint32_t pgno = h->dir_start + k;
    cellar_page *p = NULL;
    int rc = cellar_cache_get(h->cache, pgno, &p);
    if (rc != CELLAR_OK)
        return rc;
    cellar__rdlock(&p->latch);
    memcpy(buf, p->data, h->P);
    cellar__rwunlock(&p->latch);
    cellar_cache_unpin(h->cache, p);
    if (buf[4] != CELLAR_PAGE_DIR || cellar__get32(buf + 8) != k)
        return corrupt(h, pgno, "not the expected directory page");
    return CELLAR_OK;
}

int cellar_hash_open(cellar_hash **out, cellar_cache *cache, const char *path,
                     uint32_t page_size, const cellar_hash_meta *m)
{
    *out = NULL;
    cellar_hash *h = hash_alloc(cache, path, page_size);
    if (!h)
        return cellar__err_oom();
    h->seed0 = m->seed0;
    h->seed1 = m->seed1;
    h->dir_start = m->dir_start;
    h->dir_pages = m->dir_pages;
    atomic_store(&h->records, m->records);
    atomic_store(&h->ttl_records, m->ttl_records);
    atomic_store(&h->bucket_pages, m->bucket_pages);
    atomic_store(&h->chain_pages, m->chain_pages);
    atomic_store(&h->value_pages, m->value_pages);
    atomic_store(&h->used_bytes, m->used_bytes);
    uint32_t epp = dir_epp(page_size);
    uint64_t entries = (uint64_t)1 << (m->global_depth > 31 ? 31 : m->global_depth);
    uint32_t lp = cellar_cache_logical_pages(cache);
    int rc = CELLAR_OK;
    if (m->global_depth > CELLAR_HASH_MAX_DEPTH || m->dir_pages != pages_for(entries, epp) ||
        m->dir_start == 0 || (uint64_t)m->dir_start + m->dir_pages > lp || m->ttl_records > m->records) {
        cellar_hash_close(h);
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: meta page describes an impossible index", path);
    }
    dir *d = dir_new(m->global_depth);
    uint8_t *buf = malloc(page_size);
    h->dir_dirty = calloc(m->dir_pages, 1);
    if (!d || !buf || !h->dir_dirty) {
        free(d);
        free(buf);
        cellar_hash_close(h);
        return cellar__err_oom();
    }
    atomic_store(&h->dir, d);
    for (uint32_t k = 0; k < m->dir_pages && rc == CELLAR_OK; k++) {
        rc = read_dir_page(h, k, buf);
        for (uint32_t i = 0; rc == CELLAR_OK && i < epp && (uint64_t)k * epp + i < entries; i++) {
            uint32_t pg = cellar__get32(buf + META_HDR + (size_t)4 * i);
            if (pg == 0 || pg >= lp)
                rc = corrupt(h, m->dir_start + k, "directory entry out of range");
            d->e[(uint64_t)k * epp + i] = pg;
        }
    }
    free(buf);
    if (rc != CELLAR_OK) {
        cellar_hash_close(h);
        return rc;
    }
    *out = h;
    return CELLAR_OK;
}

void cellar_hash_set_seed(cellar_hash *h, uint64_t seed0, uint64_t seed1)
{
    /* only ever called on a fresh, empty index: no record was placed yet */
    h->seed0 = seed0;
    h->seed1 = seed1;
}

void cellar_hash_meta_get(cellar_hash *h, cellar_hash_meta *out)
{
    dir *d = atomic_load(&h->dir);
    out->seed0 = h->seed0;
    out->seed1 = h->seed1;
    out->global_depth = d->depth;
    out->dir_start = h->dir_start;
    out->dir_pages = h->dir_pages;
    out->records = atomic_load(&h->records);
    out->ttl_records = atomic_load(&h->ttl_records);
    out->bucket_pages = (uint32_t)atomic_load(&h->bucket_pages);
    out->chain_pages = (uint32_t)atomic_load(&h->chain_pages);
    out->value_pages = (uint32_t)atomic_load(&h->value_pages);
    out->used_bytes = atomic_load(&h->used_bytes);
}

void cellar_hash_counters(cellar_hash *h, cellar_hash_stats *out)
{
    out->bucket_pages = atomic_load(&h->bucket_pages);
    out->chain_pages = atomic_load(&h->chain_pages);
    out->value_pages = atomic_load(&h->value_pages);
    out->dir_pages = h->dir_pages;
    cellar_space_stats ss;
    cellar_cache_space_stats(h->cache, &ss);
    out->free_pages = ss.free_pages;
    out->used_bytes = atomic_load(&h->used_bytes);
    out->capacity_bytes = (out->bucket_pages + out->chain_pages) * (h->P - BK_SLOTS);
}

/* ------------------------------------------------------------------ */
/* lookup                                                              */
/* ------------------------------------------------------------------ */

void cellar_hash_large_hold(cellar_hash *h) { atomic_fetch_add(&h->large_readers, 1); }
void cellar_hash_large_release(cellar_hash *h) { atomic_fetch_sub(&h->large_readers, 1); }
bool cellar_hash_extents_idle(cellar_hash *h) { return atomic_load(&h->large_readers) == 0; }

int cellar_hash_read_large(cellar_hash *h, uint32_t extent, uint32_t crc, uint8_t *buf, size_t n)
{
    if (!cellar_cache_extent_ok(h->cache, extent, pages_for(n ? n : 1, h->P)))
        return corrupt(h, extent, "value extent out of range");
    int rc = cellar_cache_read_raw(h->cache, extent, 0, buf, n);
    if (rc != CELLAR_OK)
        return rc;
    if (cellar__crc32c(0, buf, n) != crc)
        return corrupt(h, extent, "value extent checksum mismatch");
    return CELLAR_OK;
}

/* Does record r (in a latched page) hold `key`? Large keys are read from disk. */
static int rec_matches(cellar_hash *h, const rec *r, uint64_t hv, const void *key, size_t klen)
{
    if (r->klen != klen)
        return 0;
    if (!(r->flags & REC_LARGE))
        return klen == 0 || memcmp(r->key, key, klen) == 0;
    if (r->hash != hv)
        return 0;
    uint8_t *tmp = malloc(klen ? klen : 1);
    if (!tmp)
        return cellar__err_oom();
    int rc = klen ? cellar_cache_read_raw(h->cache, r->extent, 0, tmp, klen) : CELLAR_OK;
    int m = rc == CELLAR_OK ? (memcmp(tmp, key, klen) == 0) : rc;
    free(tmp);
    return m;
}

/* Find key in one latched page: slot index or -1; <= -2 is an error code - 1. */
static int page_find(cellar_hash *h, const uint8_t *pg, uint32_t pgno, uint64_t hv,
                     const void *key, size_t klen, rec *r, int *err)
{
    uint16_t tag = tag_of(hv);
    unsigned ns = bk_nslots(pg);
    *err = CELLAR_OK;
    if (BK_SLOTS + 4u * ns > h->P) {
        *err = corrupt(h, pgno, "slot count out of range");
        return -1;
    }
    for (unsigned i = 0; i < ns; i++) {
        if (bk_slot_tag(pg, i) != tag)
            continue;
        if (!cellar__rec_decode(pg, h->P, bk_slot_off(pg, i), r)) {
            *err = corrupt(h, pgno, "record out of bounds");
            return -1;
        }
        int m = rec_matches(h, r, hv, key, klen);
        if (m < 0) {
            *err = m;
            return -1;
        }
        if (m)
            return (int)i;
    }
    return -1;
}

/* Pin and read-latch the bucket page for hv (validated against splits). */
static int bucket_for_read(cellar_hash *h, uint64_t hv, cellar_page **out)
{
    for (int tries = 0;; tries++) {
        dir *d = atomic_load_explicit(&h->dir, memory_order_acquire);
        uint32_t pgno = atomic_load_explicit(&d->e[hv & mask(d->depth)], memory_order_acquire);
        cellar_page *p = NULL;
        int rc = cellar_cache_get(h->cache, pgno, &p);
        if (rc != CELLAR_OK)
            return rc;
        cellar__rdlock(&p->latch);
        const uint8_t *pg = p->data;
        unsigned ld = pg[BK_DEPTH];
        if (pg[BK_TYPE] == CELLAR_PAGE_BUCKET && ld <= 32 &&
            ((uint32_t)hv & mask(ld)) == cellar__get32(pg + BK_BITS)) {
            *out = p;
            return CELLAR_OK;
        }
        cellar__rwunlock(&p->latch);
        cellar_cache_unpin(h->cache, p);
        if (tries > 1000 && atomic_load(&h->dir) == d)
            return corrupt(h, pgno, "directory entry does not lead to a matching bucket");
    }
}

static bool expired(const rec *r, uint64_t now) { return r->expiry != 0 && r->expiry <= now; }

void cellar_hash_set_clock(cellar_hash *h, cellar_clock_fn clock, void *payload)
{
    h->clock = clock;
    h->clock_payload = payload;
}

/* now, or the clock's reading when now is lazy and the record has an expiry */
static bool expired_lazy(cellar_hash *h, const rec *r, uint64_t now)
{
    if (r->expiry == 0)
        return false;
    if (now == CELLAR_HASH_NOW_LAZY)
        now = h->clock ? h->clock(h->clock_payload) : cellar__now_ms();
    return r->expiry <= now;
}

static int lookup(cellar_hash *h, uint64_t hv, const void *key, size_t klen, uint64_t now,
                  cellar_hash_visit_fn fn, void *ctx, void **steal, size_t *steal_len);

int cellar_hash_get(cellar_hash *h, uint64_t hv, const void *key, size_t klen, uint64_t now,
                    cellar_hash_visit_fn fn, void *ctx)
{
    return lookup(h, hv, key, klen, now, fn, ctx, NULL, NULL);
}

static int copy_out(void *ctx, const uint8_t *val, size_t vlen, uint64_t expiry)
{
    void **out = ctx;
    (void)expiry;
    void *p = malloc(vlen ? vlen : 1);
    if (!p)
        return cellar__err_oom();
    if (vlen)
        memcpy(p, val, vlen);
    *out = p;
    return CELLAR_OK;
}

int cellar_hash_get_copy(cellar_hash *h, uint64_t hv, const void *key, size_t klen, uint64_t now,
                         void **out, size_t *out_len)
{
    *out = NULL;
    size_t n = 0;
    int rc = lookup(h, hv, key, klen, now, copy_out, out, out, &n);
    if (rc == CELLAR_OK && out_len)
        *out_len = n;
    return rc;
}

/* copy_out stores the length through steal_len too */
static int lookup(cellar_hash *h, uint64_t hv, const void *key, size_t klen, uint64_t now,
                  cellar_hash_visit_fn fn, void *ctx, void **steal, size_t *steal_len)
{
    cellar_page *p = NULL;
    int rc = bucket_for_read(h, hv, &p);
    if (rc != CELLAR_OK)
        return rc;
    for (unsigned hops = 0;; hops++) {
        rec r;
        int err;
        int slot = page_find(h, p->data, p->pgno, hv, key, klen, &r, &err);
        if (err != CELLAR_OK) {
            rc = err;
            break;
        }
        if (slot >= 0) {
            if (expired_lazy(h, &r, now)) {
                rc = CELLAR_ENOTFOUND;
                break;
            }
            if (!(r.flags & REC_LARGE)) {
                rc = fn(ctx, r.val, r.vlen, r.expiry);
                if (steal_len)
                    *steal_len = r.vlen;
                break;
            }
            /* large: read the extent outside the latch, holding off reuse */
            cellar_hash_large_hold(h);
            cellar__rwunlock(&p->latch);
            cellar_cache_unpin(h->cache, p);
            size_t n = r.klen + r.vlen;
            uint8_t *buf = malloc(n ? n : 1);
            rc = buf ? cellar_hash_read_large(h, r.extent, r.crc, buf, n) : cellar__err_oom();
            cellar_hash_large_release(h);
            if (rc == CELLAR_OK && steal) {
                /* hand the buffer over: value moved to its front, tail trimmed */
                memmove(buf, buf + r.klen, r.vlen);
                uint8_t *shrunk = realloc(buf, r.vlen ? r.vlen : 1);
                *steal = shrunk ? shrunk : buf;
                *steal_len = r.vlen;
                return CELLAR_OK;
            }
            if (rc == CELLAR_OK)
                rc = fn(ctx, buf + r.klen, r.vlen, r.expiry);
            free(buf);
            return rc;
        }
        uint32_t next = cellar__get32(p->data + BK_NEXT);
        cellar__rwunlock(&p->latch);
        cellar_cache_unpin(h->cache, p);
        if (next == 0)
            return CELLAR_ENOTFOUND;
        if (!hash_page_ok(h, next) || hops > CHAIN_MAX)
            return corrupt(h, next, "bad chain link");
        if ((rc = cellar_cache_get(h->cache, next, &p)) != CELLAR_OK)
            return rc;
        cellar__rdlock(&p->latch);
        if (p->data[BK_TYPE] != CELLAR_PAGE_CHAIN) {
            rc = corrupt(h, next, "chain link to a page that is not a chain page");
            break;
        }
    }
    cellar__rwunlock(&p->latch);
    cellar_cache_unpin(h->cache, p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* writing                                                             */
/* ------------------------------------------------------------------ */

static void dir_mark(cellar_hash *h, uint64_t index)
{
    h->dir_dirty[index / dir_epp(h->P)] = 1;
}

static int dir_double(cellar_hash *h)
{
    dir *d = atomic_load(&h->dir);
    uint32_t nd = d->depth + 1;
    uint64_t n = (uint64_t)1 << d->depth;
    uint32_t npages = pages_for(n * 2, dir_epp(h->P)), start = 0;
    dir *x = dir_new(nd);
    uint8_t *dirty = calloc(npages, 1);
    int rc = (x && dirty) ? hash_page_alloc(h, npages, &start) : cellar__err_oom();
    if (rc == CELLAR_OK)
        rc = retire(h, d);
    if (rc != CELLAR_OK) {
        free(x);
        free(dirty);
        return rc;
    }
    for (uint64_t j = 0; j < n; j++) {
        uint32_t v = atomic_load_explicit(&d->e[j], memory_order_relaxed);
        atomic_store_explicit(&x->e[j], v, memory_order_relaxed);
        atomic_store_explicit(&x->e[j + n], v, memory_order_relaxed);
    }
    cellar_cache_page_free(h->cache, h->dir_start, h->dir_pages);
    memset(dirty, 1, npages);
    free(h->dir_dirty);
    h->dir_dirty = dirty;
    h->dir_start = start;
    h->dir_pages = npages;
    atomic_store_explicit(&h->dir, x, memory_order_release);
    return CELLAR_OK;
}

static uint64_t rec_hash(cellar_hash *h, const rec *r)
{
    return (r->flags & REC_LARGE) ? r->hash : cellar_hash_key(h, r->key, r->klen);
}

/* Split the bucket at directory index idx (its local depth < global depth). */
static int split(cellar_hash *h, uint32_t idx)
{
    dir *d = atomic_load(&h->dir);
    uint32_t bpg = d->e[idx], npg = 0;
    cellar_page *b = NULL, *n = NULL;
    int rc = cellar_cache_get(h->cache, bpg, &b);
    if (rc != CELLAR_OK)
        return rc;
    if ((rc = hash_page_alloc(h, 1, &npg)) != CELLAR_OK ||
        (rc = cellar_cache_new(h->cache, npg, &n)) != CELLAR_OK) {
        cellar_cache_unpin(h->cache, b);
        return rc;
    }
    uint8_t *tmp = calloc(1, h->P); /* zeroed: free space reaches the file too */
    if (!tmp) {
        cellar_cache_unpin(h->cache, b);
        cellar_cache_unpin(h->cache, n);
        return cellar__err_oom();
    }
    cellar__wrlock(&b->latch);
    cellar__wrlock(&n->latch);
    uint8_t *bp = b->data;
    unsigned ld = bp[BK_DEPTH];
    uint32_t bits = cellar__get32(bp + BK_BITS);
    cellar__bk_init(n->data, h->P, CELLAR_PAGE_BUCKET, ld + 1, bits | (1u << ld), npg);
    cellar__bk_init(tmp, h->P, CELLAR_PAGE_BUCKET, ld + 1, bits, bpg);
    memcpy(tmp + BK_NEXT, bp + BK_NEXT, 4);
    unsigned ns = bk_nslots(bp);
    for (unsigned i = 0; i < ns; i++) {
        rec r;
        if (!cellar__rec_decode(bp, h->P, bk_slot_off(bp, i), &r)) {
            rc = corrupt(h, bpg, "record out of bounds");
            break;
        }
        uint64_t rh = rec_hash(h, &r);
        uint8_t *dst = ((rh >> ld) & 1) ? n->data : tmp;
        if (!cellar__bk_insert(dst, h->P, bk_slot_tag(bp, i), bp + r.off, r.size)) {
            rc = corrupt(h, bpg, "records do not fit after a split");
            break;
        }
    }
    if (rc == CELLAR_OK) {
        memcpy(bp, tmp, h->P);
        uint64_t step = (uint64_t)1 << (ld + 1), total = (uint64_t)1 << d->depth;
        for (uint64_t j = bits | (1u << ld); j < total; j += step) {
            atomic_store_explicit(&d->e[j], npg, memory_order_release);
            dir_mark(h, j);
        }
        atomic_fetch_add(&h->bucket_pages, 1);
        cellar_cache_mark_dirty(h->cache, b);
    }
    cellar__rwunlock(&n->latch);
    cellar__rwunlock(&b->latch);
    cellar_cache_unpin(h->cache, n);
    cellar_cache_unpin(h->cache, b);
    free(tmp);
    return rc;
}

/* Locate key for writing: the page (pinned, not latched) and slot holding it. */
typedef struct found {
    cellar_page *page; /* NULL: absent */
    int slot;
    rec r;
} found;

static int find_for_write(cellar_hash *h, uint64_t hv, const void *key, size_t klen,
                          cellar_page **bucket, found *f)
{
    dir *d = atomic_load(&h->dir);
    uint32_t pgno = d->e[hv & mask(d->depth)];
    cellar_page *p = NULL;
    int rc = cellar_cache_get(h->cache, pgno, &p);
    if (rc != CELLAR_OK)
        return rc;
    if (p->data[BK_TYPE] != CELLAR_PAGE_BUCKET || !cellar__bk_header_ok(p->data, h->P)) {
        cellar_cache_unpin(h->cache, p);
        return corrupt(h, pgno, "not a valid bucket page");
    }
    *bucket = p;
    f->page = NULL;
    cellar_page *cur = p;
    for (unsigned hops = 0;; hops++) {
        int err;
        int slot = page_find(h, cur->data, cur->pgno, hv, key, klen, &f->r, &err);
        if (err != CELLAR_OK) {
            rc = err;
            break;
        }
        if (slot >= 0) {
            if (cur == p) /* a second pin, so found and bucket are unpinned apart */
                cellar_cache_get(h->cache, p->pgno, &cur);
            f->page = cur;
            f->slot = slot;
            break;
        }
        uint32_t next = cellar__get32(cur->data + BK_NEXT);
        if (cur != p)
            cellar_cache_unpin(h->cache, cur);
        if (next == 0)
            return CELLAR_OK;
        if (!hash_page_ok(h, next) || hops > CHAIN_MAX) {
            rc = corrupt(h, next, "bad chain link");
            cur = p;
            break;
        }
        if ((rc = cellar_cache_get(h->cache, next, &cur)) != CELLAR_OK) {
            cur = p;
            break;
        }
        if (cur->data[BK_TYPE] != CELLAR_PAGE_CHAIN || !cellar__bk_header_ok(cur->data, h->P)) {
            rc = corrupt(h, next, "not a valid chain page");
            cellar_cache_unpin(h->cache, cur);
            cur = p;
            break;
        }
    }
    if (cur != p && !f->page)
        cellar_cache_unpin(h->cache, cur);
    if (rc != CELLAR_OK) {
        cellar_cache_unpin(h->cache, p);
        *bucket = NULL;
    }
    return rc;
}

/* Pages of a large record's extent. */
static uint32_t extent_pages(cellar_hash *h, uint64_t klen, uint64_t vlen)
{
    return pages_for(klen + vlen ? klen + vlen : 1, h->P);
}

/* A record of `size` bytes (its encoding in the page) placed in a page
 * (sign > 0) or taken out of one (sign < 0): the counters follow. */
static void count_rec(cellar_hash *h, unsigned flags, uint64_t size, uint64_t klen, uint64_t vlen, int sign)
{
    uint64_t used = size + 4, vpages = (flags & REC_LARGE) ? extent_pages(h, klen, vlen) : 0;
    if (sign > 0) {
        atomic_fetch_add(&h->records, 1);
        if (flags & REC_TTL)
            atomic_fetch_add(&h->ttl_records, 1);
        atomic_fetch_add(&h->used_bytes, used);
        atomic_fetch_add(&h->value_pages, vpages);
    } else {
        atomic_fetch_sub(&h->records, 1);
        if (flags & REC_TTL)
            atomic_fetch_sub(&h->ttl_records, 1);
        atomic_fetch_sub(&h->used_bytes, used);
        atomic_fetch_sub(&h->value_pages, vpages);
    }
}
static void count_found(cellar_hash *h, const rec *r, int sign)
{
    count_rec(h, r->flags, r->size, r->klen, r->vlen, sign);
}

/* Remove the found record (page pinned, not latched); frees a large extent. */
static void remove_found(cellar_hash *h, found *f)
{
    cellar__wrlock(&f->page->latch);
    cellar__bk_remove(f->page->data, h->P, (unsigned)f->slot);
    cellar_cache_mark_dirty(h->cache, f->page);
    cellar__rwunlock(&f->page->latch);
    if (f->r.flags & REC_LARGE)
        cellar_cache_extent_free(h->cache, f->r.extent, extent_pages(h, f->r.klen, f->r.vlen));
    count_found(h, &f->r, -1);
}

/* Try to put rec into the bucket's chain (pages with room) or a new chain page. */
static int chain_insert(cellar_hash *h, cellar_page *bucket, uint16_t tag, const uint8_t *rbuf, size_t len)
{
    cellar_page *cur = bucket;
    cellar_cache_get(h->cache, bucket->pgno, &cur); /* own pin */
    for (unsigned hops = 0;; hops++) {
        cellar__wrlock(&cur->latch);
        if (cellar__bk_insert(cur->data, h->P, tag, rbuf, len)) {
            cellar_cache_mark_dirty(h->cache, cur);
            cellar__rwunlock(&cur->latch);
            cellar_cache_unpin(h->cache, cur);
            return CELLAR_OK;
        }
        uint32_t next = cellar__get32(cur->data + BK_NEXT);
        if (next == 0) {
            uint32_t npg = 0;
            cellar_page *n = NULL;
            int rc = hash_page_alloc(h, 1, &npg);
            if (rc == CELLAR_OK)
                rc = cellar_cache_new(h->cache, npg, &n);
            if (rc != CELLAR_OK) {
                cellar__rwunlock(&cur->latch);
                cellar_cache_unpin(h->cache, cur);
                return rc;
            }
            cellar__wrlock(&n->latch);
            cellar__bk_init(n->data, h->P, CELLAR_PAGE_CHAIN, bucket->data[BK_DEPTH],
                            cellar__get32(bucket->data + BK_BITS), npg);
            bool ok = cellar__bk_insert(n->data, h->P, tag, rbuf, len);
            cellar__rwunlock(&n->latch);
            /* link only once the new page is complete */
            cellar__put32(cur->data + BK_NEXT, npg);
            atomic_fetch_add(&h->chain_pages, 1);
            cellar_cache_mark_dirty(h->cache, cur);
            cellar__rwunlock(&cur->latch);
            cellar_cache_unpin(h->cache, cur);
            cellar_cache_unpin(h->cache, n);
            return ok ? CELLAR_OK : cellar__err(CELLAR_EINTERNAL, 0, "record larger than a page");
        }
        cellar__rwunlock(&cur->latch);
        cellar_cache_unpin(h->cache, cur);
        if (!hash_page_ok(h, next) || hops > CHAIN_MAX)
            return corrupt(h, next, "bad chain link");
        int rc = cellar_cache_get(h->cache, next, &cur);
        if (rc != CELLAR_OK)
            return rc;
    }
}

/* Does a record of this shape go out of line? */
static bool is_large(cellar_hash *h, size_t klen, size_t vlen, uint64_t expiry)
{
    return cellar__rec_header_len(expiry ? REC_TTL : 0, klen, vlen) + klen + vlen > h->inline_max;
}

int cellar_hash_prewrite(cellar_hash *h, const void *key, size_t klen, const void *val, size_t vlen,
                         uint64_t expiry, cellar_hash_extent *out)
{
    out->page = 0;
    out->crc = 0;
    if (!is_large(h, klen, vlen, expiry))
        return CELLAR_OK;
    /* Key and value go into a fresh extent; it is unreferenced (and free in
     * the last checkpoint) until a record points at it, so a crash before
     * that loses nothing. */
    uint64_t total = (uint64_t)klen + vlen;
    uint32_t npages = pages_for(total ? total : 1, h->P), extent = 0;
    int rc = cellar_cache_extent_alloc(h->cache, npages, &extent);
    if (rc == CELLAR_OK && klen)
        rc = cellar_cache_write_raw(h->cache, extent, 0, key, klen);
    if (rc == CELLAR_OK && vlen)
        rc = cellar_cache_write_raw(h->cache, extent, klen, val, vlen);
    /* pad the last page so the extent is whole pages on disk */
    static const uint8_t zero[256];
    for (uint64_t off = total, end = (uint64_t)npages * h->P; rc == CELLAR_OK && off < end;) {
        size_t n = end - off < sizeof zero ? (size_t)(end - off) : sizeof zero;
        rc = cellar_cache_write_raw(h->cache, extent, off, zero, n);
        off += n;
    }
    if (rc != CELLAR_OK) {
        if (extent)
            cellar_cache_extent_free(h->cache, extent, npages);
        return rc;
    }
    out->page = extent;
    out->crc = cellar__crc32c(cellar__crc32c(0, key, klen), val, vlen);
    return CELLAR_OK;
}

void cellar_hash_prewrite_drop(cellar_hash *h, const cellar_hash_extent *e, size_t klen, size_t vlen)
{
    if (e->page)
        cellar_cache_extent_free(h->cache, e->page, extent_pages(h, klen, vlen));
}

int cellar_hash_put(cellar_hash *h, uint64_t hv, const void *key, size_t klen,
                    const void *val, size_t vlen, uint64_t expiry, uint64_t now, int *out_existed)
{
    cellar_hash_extent e;
    int rc = cellar_hash_prewrite(h, key, klen, val, vlen, expiry, &e);
    if (rc != CELLAR_OK)
        return rc;
    return cellar_hash_put_written(h, hv, key, klen, val, vlen, expiry, now, &e, out_existed);
}

int cellar_hash_put_written(cellar_hash *h, uint64_t hv, const void *key, size_t klen,
                            const void *val, size_t vlen, uint64_t expiry, uint64_t now,
                            const cellar_hash_extent *e, int *out_existed)
{
    unsigned flags = (expiry ? REC_TTL : 0) | (e->page ? REC_LARGE : 0);
    uint32_t extent = e->page, crc = e->crc;
    if (out_existed)
        *out_existed = 0;
    uint8_t small[(CELLAR_MAX_PAGE_SIZE - BK_SLOTS) / 4];
    size_t rlen = cellar__rec_encode(small, flags, klen, vlen, expiry, key, val, extent, crc, hv);
    uint16_t tag = tag_of(hv);
    int rc;
    for (;;) {
        cellar_page *b = NULL;
        found f;
        rc = find_for_write(h, hv, key, klen, &b, &f);
        if (rc != CELLAR_OK)
            break;
        if (f.page) {
            /* replace in place when the page has room once the old record goes,
             * so readers see the old or the new value, never neither */
            if (out_existed)
                *out_existed = !expired(&f.r, now);
            cellar__wrlock(&f.page->latch);
            bool in_place = cellar__bk_room(f.page->data) + f.r.size >= rlen;
            if (in_place) {
                cellar__bk_remove(f.page->data, h->P, (unsigned)f.slot);
                cellar__bk_insert(f.page->data, h->P, tag, small, rlen);
                cellar_cache_mark_dirty(h->cache, f.page);
            }
            cellar__rwunlock(&f.page->latch);
            if (in_place) {
                if (f.r.flags & REC_LARGE)
                    cellar_cache_extent_free(h->cache, f.r.extent, extent_pages(h, f.r.klen, f.r.vlen));
                count_found(h, &f.r, -1);
                count_rec(h, flags, rlen, klen, vlen, +1);
                cellar_cache_unpin(h->cache, f.page);
                cellar_cache_unpin(h->cache, b);
                return CELLAR_OK;
            }
        } else {
            cellar__wrlock(&b->latch);
            bool ok = cellar__bk_insert(b->data, h->P, tag, small, rlen);
            if (ok)
                cellar_cache_mark_dirty(h->cache, b);
            cellar__rwunlock(&b->latch);
            if (ok) {
                count_rec(h, flags, rlen, klen, vlen, +1);
                cellar_cache_unpin(h->cache, b);
                return CELLAR_OK;
            }
        }
        /* no room: split (doubling the directory if needed), or chain */
        dir *d = atomic_load(&h->dir);
        unsigned ld = b->data[BK_DEPTH];
        if (ld < d->depth || d->depth < h->max_depth) {
            if (f.page)
                cellar_cache_unpin(h->cache, f.page);
            cellar_cache_unpin(h->cache, b);
            if (ld >= d->depth && (rc = dir_double(h)) != CELLAR_OK)
                break;
            d = atomic_load(&h->dir);
            if ((rc = split(h, (uint32_t)hv & mask(d->depth))) != CELLAR_OK)
                break;
            continue;
        }
        rc = chain_insert(h, b, tag, small, rlen);
        if (rc == CELLAR_OK) {
            count_rec(h, flags, rlen, klen, vlen, +1);
            if (f.page)
                remove_found(h, &f);
        }
        if (f.page)
            cellar_cache_unpin(h->cache, f.page);
        cellar_cache_unpin(h->cache, b);
        return rc;
    }
    cellar_hash_prewrite_drop(h, e, klen, vlen);
    return rc;
}

int cellar_hash_del(cellar_hash *h, uint64_t hv, const void *key, size_t klen, uint64_t now)
{
    cellar_page *b = NULL;
    found f;
    int rc = find_for_write(h, hv, key, klen, &b, &f);
    if (rc != CELLAR_OK)
        return rc;
    if (!f.page) {
        cellar_cache_unpin(h->cache, b);
        return CELLAR_ENOTFOUND;
    }
    bool live = !expired(&f.r, now);
    remove_found(h, &f);
    cellar_cache_unpin(h->cache, f.page);
    cellar_cache_unpin(h->cache, b);
    return live ? CELLAR_OK : CELLAR_ENOTFOUND;
}

/* ------------------------------------------------------------------ */
/* checkpoint support                                                  */
/* ------------------------------------------------------------------ */

int cellar_hash_meta_pages(cellar_hash *h)
{
    dir *d = atomic_load(&h->dir);
    uint32_t epp = dir_epp(h->P);
    uint64_t entries = (uint64_t)1 << d->depth;
    int rc = CELLAR_OK;
    for (uint32_t k = 0; k < h->dir_pages && rc == CELLAR_OK; k++) {
        if (!h->dir_dirty[k])
            continue;
        cellar_page *p = NULL;
        if ((rc = cellar_cache_new(h->cache, h->dir_start + k, &p)) != CELLAR_OK)
            break;
        cellar__wrlock(&p->latch);
        uint8_t *img = p->data;
        img[4] = CELLAR_PAGE_DIR;
        cellar__put32(img + 8, k);
        for (uint32_t i = 0; i < epp && (uint64_t)k * epp + i < entries; i++)
            cellar__put32(img + META_HDR + (size_t)4 * i, atomic_load_explicit(&d->e[(uint64_t)k * epp + i], memory_order_relaxed));
        cellar__rwunlock(&p->latch);
        cellar_cache_unpin(h->cache, p);
        h->dir_dirty[k] = 0; /* the cache has it now, dirty */
    }
    return rc;
}
