/*
 * scan.c - iteration steps, the statistics walk and the structure check.
 *
 * Statistics come from counters (cellar_hash_counters, hash.c); the walk
 * here finds the same figures from the pages, and the check compares the
 * two, so a counter that drifts is reported rather than believed.
 *
 * Iteration order: a record's position is the bit-reversal of the low 32 bits
 * of its hash. A bucket of local depth d with bits b covers exactly the
 * positions whose top d bits are b reversed: a contiguous range, which a
 * split cuts into two halves. So a cursor over positions that only moves
 * forward yields every record present for the whole scan exactly once, however
 * buckets split meanwhile (the same idea as a reverse-binary table cursor).
 */
#include "hash/hash_int.h"

#include <stdio.h>
#include <stdlib.h>

static inline uint32_t rev32(uint32_t x)
{
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
    x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
    return (x >> 16) | (x << 16);
}
static inline uint32_t mask(uint32_t depth) { return depth >= 32 ? UINT32_MAX : (1u << depth) - 1; }

int cellar_buf_reserve(cellar_buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return CELLAR_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *nd = realloc(b->data, cap);
    if (!nd)
        return cellar__err_oom();
    b->data = nd;
    b->cap = cap;
    return CELLAR_OK;
}

static int emit(const rec *r, cellar_buf *out)
{
    size_t need = 1 + 24 + ((r->flags & REC_LARGE) ? 8 : r->klen + r->vlen);
    int rc = cellar_buf_reserve(out, need);
    if (rc != CELLAR_OK)
        return rc;
    uint8_t *p = out->data + out->len;
    p[0] = (r->flags & REC_LARGE) ? 1 : 0;
    cellar__put64(p + 1, r->expiry);
    cellar__put64(p + 9, r->klen);
    cellar__put64(p + 17, r->vlen);
    if (r->flags & REC_LARGE) {
        cellar__put32(p + 25, r->extent);
        cellar__put32(p + 29, r->crc);
    } else {
        memcpy(p + 25, r->key, r->klen);
        memcpy(p + 25 + r->klen, r->val, r->vlen);
    }
    out->len += need;
    return CELLAR_OK;
}

size_t cellar_hash_scan_entry(const uint8_t *p, cellar_scan_entry *out)
{
    out->large = p[0] != 0;
    out->expiry = cellar__get64(p + 1);
    out->klen = cellar__get64(p + 9);
    out->vlen = cellar__get64(p + 17);
    if (out->large) {
        out->key = out->val = NULL;
        out->extent = cellar__get32(p + 25);
        out->crc = cellar__get32(p + 29);
        return 25 + 8;
    }
    out->key = p + 25;
    out->val = p + 25 + out->klen;
    out->extent = out->crc = 0;
    return 25 + out->klen + out->vlen;
}

int cellar_hash_scan_step(cellar_hash *h, uint64_t *cursor, cellar_buf *out, bool *out_hold)
{
    *out_hold = false;
    if (*cursor >= ((uint64_t)1 << 32))
        return CELLAR_OK;
    for (int tries = 0;; tries++) {
        dir *d = atomic_load_explicit(&h->dir, memory_order_acquire);
        uint32_t low = rev32((uint32_t)*cursor);
        uint32_t pgno = atomic_load_explicit(&d->e[low & mask(d->depth)], memory_order_acquire);
        cellar_page *p = NULL;
        int rc = cellar_cache_get(h->cache, pgno, &p);
        if (rc != CELLAR_OK)
            return rc;
        cellar__rdlock(&p->latch);
        unsigned ld = p->data[BK_DEPTH];
        uint32_t bits = cellar__get32(p->data + BK_BITS);
        if (p->data[BK_TYPE] != CELLAR_PAGE_BUCKET || ld > 32 || (low & mask(ld)) != bits) {
            cellar__rwunlock(&p->latch);
            cellar_cache_unpin(h->cache, p);
            if (tries > 1000 && atomic_load(&h->dir) == d)
                return cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u: directory entry does not lead to a matching bucket", h->path, pgno);
            continue;
        }
        uint64_t start = rev32(bits) & ~(uint64_t)(ld >= 32 ? 0 : (((uint64_t)1 << (32 - ld)) - 1));
        uint64_t end = start + ((uint64_t)1 << (32 - ld));
        size_t mark = out->len;
        cellar_page *cur = p;
        for (unsigned hops = 0; rc == CELLAR_OK; hops++) {
            const uint8_t *pg = cur->data;
            unsigned ns = bk_nslots(pg);
            if (BK_SLOTS + 4u * ns > h->P)
                rc = cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u: slot count out of range", h->path, cur->pgno);
            for (unsigned i = 0; i < ns && rc == CELLAR_OK; i++) {
                rec r;
                if (!cellar__rec_decode(pg, h->P, bk_slot_off(pg, i), &r)) {
                    rc = cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u: record out of bounds", h->path, cur->pgno);
                    break;
                }
                uint64_t hv = (r.flags & REC_LARGE) ? r.hash : cellar_hash_key(h, r.key, r.klen);
                uint64_t pos = rev32((uint32_t)hv);
                if (pos >= *cursor && pos < end) {
                    rc = emit(&r, out);
                    *out_hold |= (r.flags & REC_LARGE) != 0;
                }
            }
            uint32_t next = cellar__get32(pg + BK_NEXT);
            if (cur != p) {
                cellar__rwunlock(&cur->latch);
                cellar_cache_unpin(h->cache, cur);
            }
            if (rc != CELLAR_OK || next == 0)
                break;
            if (!hash_page_ok(h, next) || hops > 1000000) {
                rc = cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u: bad chain link", h->path, next);
                break;
            }
            if ((rc = cellar_cache_get(h->cache, next, &cur)) != CELLAR_OK)
                break;
            cellar__rdlock(&cur->latch);
        }
        if (rc == CELLAR_OK && *out_hold)
            cellar_hash_large_hold(h); /* the caller releases it after reading the extents */
        else
            *out_hold = false;
        cellar__rwunlock(&p->latch);
        cellar_cache_unpin(h->cache, p);
        if (rc != CELLAR_OK) {
            out->len = mark;
            return rc;
        }
        *cursor = end;
        return CELLAR_OK;
    }
}

/* Visit each distinct bucket page once (at its canonical directory index). */
typedef int (*bucket_fn)(cellar_hash *h, cellar_page *p, void *ctx);

static int each_bucket(cellar_hash *h, bucket_fn fn, void *ctx)
{
    dir *d = atomic_load(&h->dir);
    uint64_t n = (uint64_t)1 << d->depth;
    for (uint64_t j = 0; j < n; j++) {
        uint32_t pgno = atomic_load(&d->e[j]);
        cellar_page *p = NULL;
        int rc = cellar_cache_get(h->cache, pgno, &p);
        if (rc != CELLAR_OK)
            return rc;
        cellar__rdlock(&p->latch);
        unsigned ld = p->data[BK_DEPTH];
        bool canonical = p->data[BK_TYPE] == CELLAR_PAGE_BUCKET && ld <= d->depth && j < ((uint64_t)1 << ld) &&
                         cellar__get32(p->data + BK_BITS) == (uint32_t)j;
        rc = canonical ? fn(h, p, ctx) : CELLAR_OK;
        cellar__rwunlock(&p->latch);
        cellar_cache_unpin(h->cache, p);
        if (rc != CELLAR_OK)
            return rc;
    }
    return CELLAR_OK;
}

/* Call fn on the bucket and each of its chain pages (bucket latched by caller). */
typedef int (*page_fn)(cellar_hash *h, const uint8_t *pg, uint32_t pgno, void *ctx);
static int each_in_chain(cellar_hash *h, cellar_page *b, page_fn fn, void *ctx)
{
    int rc = fn(h, b->data, b->pgno, ctx);
    uint32_t next = cellar__get32(b->data + BK_NEXT);
    for (unsigned hops = 0; rc == CELLAR_OK && next; hops++) {
        if (!hash_page_ok(h, next) || hops > 1000000)
            return cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u: bad chain link", h->path, next);
        cellar_page *c = NULL;
        if ((rc = cellar_cache_get(h->cache, next, &c)) != CELLAR_OK)
            return rc;
        cellar__rdlock(&c->latch);
        rc = c->data[BK_TYPE] == CELLAR_PAGE_CHAIN ? fn(h, c->data, c->pgno, ctx)
                                                   : cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u: not a chain page", h->path, next);
        next = cellar__get32(c->data + BK_NEXT);
        cellar__rwunlock(&c->latch);
        cellar_cache_unpin(h->cache, c);
    }
    return rc;
}

typedef struct live_ctx {
    uint64_t now, count;
} live_ctx;

static int live_page(cellar_hash *h, const uint8_t *pg, uint32_t pgno, void *ctx)
{
    live_ctx *c = ctx;
    unsigned ns = bk_nslots(pg);
    for (unsigned i = 0; i < ns; i++) {
        rec r;
        if (!cellar__rec_decode(pg, h->P, bk_slot_off(pg, i), &r))
            return cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u: record out of bounds", h->path, pgno);
        if (r.expiry == 0 || r.expiry > c->now)
            c->count++;
    }
    return CELLAR_OK;
}
static int live_bucket(cellar_hash *h, cellar_page *p, void *ctx) { return each_in_chain(h, p, live_page, ctx); }

int cellar_hash_count_live(cellar_hash *h, uint64_t now, uint64_t *out)
{
    if (atomic_load(&h->ttl_records) == 0) {
        *out = atomic_load(&h->records);
        return CELLAR_OK;
    }
    live_ctx c = { now, 0 };
    int rc = each_bucket(h, live_bucket, &c);
    if (rc == CELLAR_OK)
        *out = c.count;
    return rc;
}

/* What one bucket or chain page adds to the walked statistics. */
static void stats_add_page(cellar_hash *h, const uint8_t *pg, cellar_hash_stats *s)
{
    if (pg[BK_TYPE] == CELLAR_PAGE_CHAIN)
        s->chain_pages++;
    else
        s->bucket_pages++;
    s->capacity_bytes += h->P - BK_SLOTS;
    uint32_t room = cellar__bk_room(pg);
    s->used_bytes += (h->P - BK_SLOTS) > room ? (h->P - BK_SLOTS) - room : 0;
    unsigned ns = bk_nslots(pg);
    for (unsigned i = 0; i < ns; i++) {
        rec r;
        if (cellar__rec_decode(pg, h->P, bk_slot_off(pg, i), &r) && (r.flags & REC_LARGE))
            s->value_pages += pages_for(r.klen + r.vlen ? r.klen + r.vlen : 1, h->P);
    }
}

static int stats_page(cellar_hash *h, const uint8_t *pg, uint32_t pgno, void *ctx)
{
    (void)pgno;
    stats_add_page(h, pg, ctx);
    return CELLAR_OK;
}
static int stats_bucket(cellar_hash *h, cellar_page *p, void *ctx) { return each_in_chain(h, p, stats_page, ctx); }

int cellar_hash_stats_get(cellar_hash *h, cellar_hash_stats *out)
{
    memset(out, 0, sizeof *out);
    out->dir_pages = h->dir_pages;
    cellar_space_stats ss;
    cellar_cache_space_stats(h->cache, &ss);
    out->free_pages = ss.free_pages;
    return each_bucket(h, stats_bucket, out);
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

/* Problems name the file page (physical), where a person would look. */
typedef struct check_ctx {
    cellar_report_fn report;
    void *payload;
    uint64_t problems, records, ttl;
    cellar_hash_stats found; /* the walk's page counts and used bytes */
    uint8_t *owner;  /* per physical page: 0 unseen, 1 used */
    uint8_t *lowner; /* per logical page */
    uint64_t phys_pages, map_len;
    uint32_t depth, bits;
    unsigned ld;
} check_ctx;

static void problem(check_ctx *c, uint64_t pgno, const char *fmt, ...) CELLAR_PRINTF(3, 4);
static void problem(check_ctx *c, uint64_t pgno, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap); /* a long message is cut short, still reported */
    va_end(ap);
    c->problems++;
    if (c->report)
        c->report(pgno, msg, c->payload);
}

/* A run of physical pages belongs to one structure. */
static void claim(void *ctx, uint64_t start, uint64_t n, const char *what)
{
    check_ctx *c = ctx;
    for (uint64_t p = start; p < start + n; p++) {
        if (p >= c->phys_pages) {
            problem(c, p, "%s lies past the end of the file", what);
            return;
        }
        if (c->owner[p])
            problem(c, p, "%s overlaps another structure", what);
        c->owner[p] = 1;
    }
}

/* A logical page belongs to one structure. */
static void claim_logical(check_ctx *c, uint64_t pgno, uint64_t n, const char *what)
{
    for (uint64_t p = pgno; p < pgno + n; p++) {
        if (p == 0 || p >= c->map_len) {
            problem(c, p, "%s is not a page of the map", what);
            return;
        }
        if (c->lowner[p])
            problem(c, p, "%s is used twice", what);
        c->lowner[p] = 1;
    }
}

static int check_page(cellar_hash *h, const uint8_t *pg, uint32_t pgno, void *ctx)
{
    check_ctx *c = ctx;
    claim_logical(c, pgno, 1, "bucket page");
    if (!cellar__bk_sane(pg, h->P)) {
        problem(c, cellar_cache_place_of(h->cache, pgno), "bucket page layout is inconsistent");
        return CELLAR_OK;
    }
    stats_add_page(h, pg, &c->found);
    if (pg[BK_DEPTH] != c->ld || cellar__get32(pg + BK_BITS) != c->bits)
        problem(c, cellar_cache_place_of(h->cache, pgno), "chain page depth or bits differ from its bucket");
    unsigned ns = bk_nslots(pg);
    for (unsigned i = 0; i < ns; i++) {
        rec r;
        cellar__rec_decode(pg, h->P, bk_slot_off(pg, i), &r);
        uint64_t hv = (r.flags & REC_LARGE) ? r.hash : cellar_hash_key(h, r.key, r.klen);
        if (((uint32_t)hv & mask(c->ld)) != c->bits)
            problem(c, cellar_cache_place_of(h->cache, pgno), "record %u hashes to another bucket", i);
        if (bk_slot_tag(pg, i) != tag_of(hv))
            problem(c, cellar_cache_place_of(h->cache, pgno), "record %u has a wrong tag", i);
        c->records++;
        if (r.flags & REC_TTL)
            c->ttl++;
        if (r.flags & REC_LARGE) {
            uint64_t n = r.klen + r.vlen;
            claim(c, r.extent, pages_for(n ? n : 1, h->P), "value extent");
            uint8_t *buf = malloc(n ? n : 1);
            if (!buf)
                return cellar__err_oom();
            int rc = cellar_hash_read_large(h, r.extent, r.crc, buf, n);
            if (rc == CELLAR_OK && cellar_hash_key(h, buf, r.klen) != r.hash)
                problem(c, r.extent, "large record's key does not match its hash");
            else if (rc != CELLAR_OK)
                problem(c, r.extent, "%s", cellar_error_last()->message);
            free(buf);
        }
    }
    return CELLAR_OK;
}

/* The counters behind the statistics must equal what the walk found. */
static void check_counter(check_ctx *c, const char *what, uint64_t kept, uint64_t found)
{
    if (kept != found)
        problem(c, 0, "%s counter is %llu but the pages hold %llu", what, (unsigned long long)kept,
                (unsigned long long)found);
}
static void check_counters(cellar_hash *h, check_ctx *c)
{
    cellar_hash_stats k;
    cellar_hash_counters(h, &k);
    check_counter(c, "bucket page", k.bucket_pages, c->found.bucket_pages);
    check_counter(c, "chain page", k.chain_pages, c->found.chain_pages);
    check_counter(c, "value page", k.value_pages, c->found.value_pages);
    check_counter(c, "used byte", k.used_bytes, c->found.used_bytes);
}

int cellar_hash_check(cellar_hash *h, cellar_report_fn report, cellar_progress_fn progress,
                      void *payload, uint64_t *out_problems)
{
    check_ctx c;
    memset(&c, 0, sizeof c);
    c.report = report;
    c.payload = payload;
    cellar_space_stats ss;
    cellar_cache_space_stats(h->cache, &ss);
    c.phys_pages = ss.phys_pages;
    c.map_len = ss.map_len;
    c.owner = calloc(c.phys_pages ? c.phys_pages : 1, 1);
    c.lowner = calloc(c.map_len ? c.map_len : 1, 1);
    if (!c.owner || !c.lowner) {
        free(c.owner);
        free(c.lowner);
        return cellar__err_oom();
    }
    dir *d = atomic_load(&h->dir);
    uint64_t n = (uint64_t)1 << d->depth;
    cellar_cache_space_claims(h->cache, claim, &c);
    claim_logical(&c, h->dir_start, h->dir_pages, "directory");
    int rc = CELLAR_OK;
    for (uint64_t j = 0; j < n && rc == CELLAR_OK; j++) {
        if (progress && (j & 1023) == 0 && progress(j, n, payload)) {
            rc = cellar__err(CELLAR_ECANCELED, 0, "check canceled");
            break;
        }
        uint32_t pgno = atomic_load(&d->e[j]);
        cellar_page *p = NULL;
        if (!hash_page_ok(h, pgno)) {
            problem(&c, 0, "directory entry %llu points outside the file", (unsigned long long)j);
            continue;
        }
        int grc = cellar_cache_get(h->cache, pgno, &p);
        if (grc != CELLAR_OK) {
            if (grc == CELLAR_ENOMEM) {
                rc = grc;
                break;
            }
            problem(&c, cellar_cache_place_of(h->cache, pgno), "%s", cellar_error_last()->message);
            continue;
        }
        cellar__rdlock(&p->latch);
        const uint8_t *pg = p->data;
        unsigned ld = pg[BK_DEPTH];
        uint32_t bits = cellar__get32(pg + BK_BITS);
        if (pg[BK_TYPE] != CELLAR_PAGE_BUCKET)
            problem(&c, cellar_cache_place_of(h->cache, pgno), "directory entry %llu leads to a page that is not a bucket", (unsigned long long)j);
        else if (ld > d->depth || ((uint32_t)j & mask(ld)) != bits)
            problem(&c, cellar_cache_place_of(h->cache, pgno), "bucket depth/bits do not match directory entry %llu", (unsigned long long)j);
        else if (j < ((uint64_t)1 << ld)) {
            /* canonical entry: every entry of its class must point here */
            uint64_t step = (uint64_t)1 << ld;
            for (uint64_t k = j; k < n; k += step)
                if (atomic_load(&d->e[k]) != pgno) {
                    problem(&c, cellar_cache_place_of(h->cache, pgno), "directory entry %llu should point at this bucket", (unsigned long long)k);
                    break;
                }
            c.ld = ld;
            c.bits = bits;
            rc = each_in_chain(h, p, check_page, &c);
            if (rc != CELLAR_OK && rc != CELLAR_ENOMEM) {
                problem(&c, cellar_cache_place_of(h->cache, pgno), "%s", cellar_error_last()->message);
                rc = CELLAR_OK;
            }
        }
        cellar__rwunlock(&p->latch);
        cellar_cache_unpin(h->cache, p);
    }
    if (rc == CELLAR_OK) {
        if (c.records != atomic_load(&h->records))
            problem(&c, 0, "record count is %llu but %llu records were found",
                    (unsigned long long)atomic_load(&h->records), (unsigned long long)c.records);
        if (c.ttl != atomic_load(&h->ttl_records))
            problem(&c, 0, "TTL record count is %llu but %llu were found",
                    (unsigned long long)atomic_load(&h->ttl_records), (unsigned long long)c.ttl);
        check_counters(h, &c);
        uint64_t leaked = 0, lleaked = 0;
        for (uint64_t p = 0; p < c.phys_pages; p++)
            leaked += !c.owner[p];
        if (leaked)
            problem(&c, 0, "%llu pages belong to nothing (leaked)", (unsigned long long)leaked);
        for (uint32_t p = 1; p < c.map_len; p++)
            lleaked += !c.lowner[p] && cellar_cache_place_of(h->cache, p) != 0;
        if (lleaked)
            problem(&c, 0, "%llu mapped pages belong to nothing (leaked)", (unsigned long long)lleaked);
    }
    free(c.owner);
    free(c.lowner);
    if (out_problems)
        *out_problems = c.problems;
    if (rc != CELLAR_OK)
        return rc;
    return c.problems ? cellar__err(CELLAR_ECORRUPT, 0, "%s: check found %llu problem(s)", h->path,
                                    (unsigned long long)c.problems)
                      : CELLAR_OK;
}
