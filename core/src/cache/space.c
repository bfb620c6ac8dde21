/*
 * space.c - the page map and the file's space: shadow paging.
 *
 * Every cached page has a logical number (what directory entries and chain
 * pointers hold) and lives in a physical page of the file that the page map
 * names. Write-back never writes over a physical page that the last durable
 * checkpoint refers to:
 *   - a page placed since that checkpoint ("fresh") is written again where
 *     it is: nothing durable refers to that place;
 *   - any other page goes to a free page, and its old place joins the
 *     pending list, reused only after the next checkpoint is durable.
 * So a crash at any moment leaves the last durable checkpoint's pages
 * exactly as they were written, and recovery starts from them.
 *
 * Persisted at each checkpoint, all to fresh pages (never in place):
 *   - the map pages that changed: u32 physical page per logical id;
 *   - the map index: the physical page of every map page;
 *   - the free list: the physical runs free once the checkpoint is durable
 *     (free now, plus pending), in a run taken from the free pages.
 * The meta page (db layer) names the index, the free list, the number of
 * logical ids and the file's length in pages.
 *
 * Map, index and free-list page layout (16-byte header, then entries):
 *   0 u32 crc (sealed with the physical page number)   4 u8 type
 *   8 u32 page index within its structure              12 u32 entry count
 * entries: map and index pages u32 physical page; free-list pages u32 start,
 * u32 count per run.
 *
 * Logical ids with no place (entry 0) are free; the free logical ids are
 * found again at load. Work per write-back batch: at most WB_BATCH pages, one
 * write per contiguous group of physical pages.
 */
#include "cache/cache_int.h"

#include <stdlib.h>

#define SP_HDR 16u
#define PAGE_MAP 6
#define PAGE_INDEX 7
#define PAGE_FREELIST 5

static inline uint32_t map_epp(const cellar_cache *c) { return (c->page_size - SP_HDR) / 4; }
static inline uint32_t free_epp(const cellar_cache *c) { return (c->page_size - SP_HDR) / 8; }
static inline uint32_t div_up(uint64_t a, uint32_t b) { return (uint32_t)((a + b - 1) / b); }

static int space_corrupt(cellar_cache *c, uint64_t pgno, const char *what)
{
    (void)cellar__err(CELLAR_ECORRUPT, 0, "%s: page %llu: %s", c->path, (unsigned long long)pgno, what);
    return CELLAR_ECORRUPT;
}

/* ------------------------------------------------------------------ */
/* runs                                                                */
/* ------------------------------------------------------------------ */

int cellar__runs_add(cellar_runs *r, uint32_t start, uint32_t count)
{
    if (count == 0)
        return CELLAR_OK;
    /* keep sorted by start and merged with neighbours */
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->v[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && r->v[lo - 1].start + r->v[lo - 1].count == start) {
        r->v[lo - 1].count += count;
        if (lo < r->n && r->v[lo - 1].start + r->v[lo - 1].count == r->v[lo].start) {
            r->v[lo - 1].count += r->v[lo].count;
            memmove(&r->v[lo], &r->v[lo + 1], (r->n - lo - 1) * sizeof(cellar_run));
            r->n--;
        }
        return CELLAR_OK;
    }
    if (lo < r->n && start + count == r->v[lo].start) {
        r->v[lo].start = start;
        r->v[lo].count += count;
        return CELLAR_OK;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        cellar_run *nv = realloc(r->v, cap * sizeof(cellar_run));
        if (!nv)
            return cellar__err_oom();
        r->v = nv;
        r->cap = cap;
    }
    memmove(&r->v[lo + 1], &r->v[lo], (r->n - lo) * sizeof(cellar_run));
    r->v[lo].start = start;
    r->v[lo].count = count;
    r->n++;
    return CELLAR_OK;
}

/* First fit of n contiguous pages from r; false if no run is long enough. */
static bool runs_take(cellar_runs *r, uint32_t n, uint32_t *out)
{
    for (size_t i = 0; i < r->n; i++) {
        cellar_run *x = &r->v[i];
        if (x->count >= n) {
            *out = x->start;
            x->start += n;
            x->count -= n;
            if (x->count == 0) {
                memmove(x, x + 1, (r->n - i - 1) * sizeof(cellar_run));
                r->n--;
            }
            return true;
        }
    }
    return false;
}

static uint64_t runs_total(const cellar_runs *r)
{
    uint64_t t = 0;
    for (size_t i = 0; i < r->n; i++)
        t += r->v[i].count;
    return t;
}

/* ------------------------------------------------------------------ */
/* the map                                                             */
/* ------------------------------------------------------------------ */

void cellar__space_free(cellar_cache *c)
{
    free(atomic_load(&c->pm));
    for (size_t i = 0; i < c->npm_retired; i++)
        free(c->pm_retired[i]);
    free(c->pm_retired);
    free(c->fresh);
    free(c->map_at);
    free(c->map_dirty);
    free(c->lfree.v);
    free(c->pfree.v);
    free(c->ppending.v);
    free(c->ck_all.v);
    free(c->wb_buf);
}

/* Room for logical ids below `need` in the map and its side arrays. */
static int map_reserve(cellar_cache *c, uint64_t need)
{
    if (need > UINT32_MAX - 1)
        return cellar__err(CELLAR_ENOSPC, 0, "%s: the database would pass 2^32 pages", c->path);
    pmap *m = atomic_load_explicit(&c->pm, memory_order_relaxed);
    uint32_t cap = m ? m->cap : 0;
    if (need > cap) {
        uint64_t ncap = cap ? (uint64_t)cap * 2 : 1024;
        while (ncap < need)
            ncap *= 2;
        if (ncap > UINT32_MAX)
            ncap = UINT32_MAX;
        pmap *n = calloc(1, sizeof *n + ncap * sizeof(uint32_t));
        uint8_t *f = realloc(c->fresh, ncap);
        if (f)
            c->fresh = f;
        pmap **r = m ? realloc(c->pm_retired, (c->npm_retired + 1) * sizeof *r) : c->pm_retired; /* NOLINT(bugprone-sizeof-expression): a pointer array's element */
        if (r)
            c->pm_retired = r;
        if (!n || !f || (m && !r)) {
            free(n);
            return cellar__err_oom();
        }
        memset(c->fresh + cap, 0, ncap - cap);
        n->cap = (uint32_t)ncap;
        for (uint32_t i = 0; i < cap; i++)
            atomic_store_explicit(&n->e[i], atomic_load_explicit(&m->e[i], memory_order_relaxed), memory_order_relaxed);
        atomic_store_explicit(&c->pm, n, memory_order_release);
        if (m)
            c->pm_retired[c->npm_retired++] = m; /* a reader may still hold it */
    }
    uint32_t nmap = div_up(need, map_epp(c));
    if (nmap > c->map_cap) {
        uint32_t mc = c->map_cap ? c->map_cap * 2 : 16;
        while (mc < nmap)
            mc *= 2;
        uint32_t *at = realloc(c->map_at, mc * sizeof *at);
        if (at)
            c->map_at = at;
        uint8_t *d = realloc(c->map_dirty, mc);
        if (d)
            c->map_dirty = d;
        if (!at || !d)
            return cellar__err_oom();
        memset(c->map_at + c->map_cap, 0, (mc - c->map_cap) * sizeof *at);
        memset(c->map_dirty + c->map_cap, 0, mc - c->map_cap);
        c->map_cap = mc;
    }
    return CELLAR_OK;
}

static void pm_set(cellar_cache *c, uint32_t pgno, uint32_t phys)
{
    pmap *m = atomic_load_explicit(&c->pm, memory_order_relaxed);
    atomic_store_explicit(&m->e[pgno], phys, memory_order_release);
    c->map_dirty[pgno / map_epp(c)] = 1;
}

void cellar_cache_space_init(cellar_cache *c)
{
    atomic_store(&c->phys_pages, CELLAR_META_SLOTS);
    c->pm_len = 1; /* logical id 0 means "none" */
}

uint32_t cellar_cache_logical_pages(cellar_cache *c)
{
    pmap *m = atomic_load_explicit(&c->pm, memory_order_acquire);
    return m ? m->cap : 0;
}

int cellar_cache_page_alloc(cellar_cache *c, uint32_t n, uint32_t *out)
{
    if (runs_take(&c->lfree, n, out))
        return CELLAR_OK;
    int rc = map_reserve(c, (uint64_t)c->pm_len + n);
    if (rc != CELLAR_OK)
        return rc;
    *out = c->pm_len;
    c->pm_len += n;
    return CELLAR_OK;
}

/* A physical page no longer used: free at once if nothing durable refers to it. */
static void pend(cellar_cache *c, uint32_t start, uint32_t n)
{
    if (cellar__runs_add(&c->ppending, start, n) == CELLAR_OK) /* on ENOMEM it leaks until compact */
        c->pending_pages += n;
}

static void phys_release(cellar_cache *c, uint32_t phys, bool fresh)
{
    if (phys && fresh)
        (void)cellar__runs_add(&c->pfree, phys, 1); /* on ENOMEM it leaks until compact */
    else if (phys)
        pend(c, phys, 1);
}

uint32_t cellar_cache_map_len(cellar_cache *c) { return c->pm_len; }

int cellar_cache_relieve(cellar_cache *c)
{
    /* dirty pages may take three quarters of the cache: a hot page is
     * written back once per checkpoint, not once per pass of the LRU */
    size_t cap = cellar_cache_capacity(c);
    if (cellar_cache_dirty(c) > cap / 4 * 3)
        return cellar_cache_writeback(c, cap / 8 * 5);
    return CELLAR_OK;
}

int cellar_cache_move_down(cellar_cache *c, uint32_t *out_moved)
{
    *out_moved = 0;
    uint64_t phys = atomic_load(&c->phys_pages);
    uint64_t free_now = runs_total(&c->pfree), bound = phys - free_now;
    if (c->memory_only || free_now * 8 < phys)
        return CELLAR_OK;
    for (uint32_t l = 1; l < c->pm_len; l++) {
        if (cellar__phys_of(c, l) < bound)
            continue;
        cellar_page *p = NULL;
        int rc = cellar_cache_get(c, l, &p);
        if (rc != CELLAR_OK)
            return rc;
        c->fresh[l] = 0; /* to a free page, lowest first, not where it is */
        cellar_cache_mark_dirty(c, p);
        cellar_cache_unpin(c, p);
        (*out_moved)++;
        if ((rc = cellar_cache_relieve(c)) != CELLAR_OK)
            return rc;
    }
    return CELLAR_OK;
}

bool cellar_cache_space_crowded(cellar_cache *c)
{
    return c->pending_pages > 1024 && c->pending_pages > atomic_load(&c->phys_pages) / 2;
}

void cellar_cache_page_free(cellar_cache *c, uint32_t pgno, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = pgno + i;
        cellar_cache_forget(c, l);
        phys_release(c, cellar__phys_of(c, l), c->fresh[l] != 0);
        c->fresh[l] = 0;
        pm_set(c, l, 0);
    }
    (void)cellar__runs_add(&c->lfree, pgno, n); /* on ENOMEM the ids are not reused */
}

/* n physical pages past the end of the space. */
static int phys_extend(cellar_cache *c, uint32_t n, uint32_t *out)
{
    uint32_t end = atomic_load_explicit(&c->phys_pages, memory_order_relaxed);
    if ((uint64_t)end + n >= UINT32_MAX)
        return cellar__err(CELLAR_ENOSPC, 0, "%s: the file would pass 2^32 pages", c->path);
    *out = end;
    atomic_store_explicit(&c->phys_pages, end + n, memory_order_release);
    return CELLAR_OK;
}

/* n contiguous free physical pages, lowest first (holes before growth). */
static int phys_alloc(cellar_cache *c, uint32_t n, uint32_t *out)
{
    if (runs_take(&c->pfree, n, out))
        return CELLAR_OK;
    return phys_extend(c, n, out);
}

int cellar_cache_extent_alloc(cellar_cache *c, uint32_t n, uint32_t *out) { return phys_alloc(c, n, out); }

void cellar_cache_extent_free(cellar_cache *c, uint32_t start, uint32_t n) { pend(c, start, n); }

bool cellar_cache_extent_ok(cellar_cache *c, uint64_t start, uint64_t n)
{
    return start >= CELLAR_META_SLOTS && start + n <= atomic_load_explicit(&c->phys_pages, memory_order_acquire);
}

/* ------------------------------------------------------------------ */
/* write-back                                                          */
/* ------------------------------------------------------------------ */

typedef struct wb_item {
    cellar_page *p;
    uint32_t phys, old;
    bool moved;
    unsigned slot; /* its image in wb_buf */
} wb_item;

static int cmp_phys(const void *a, const void *b)
{
    uint32_t x = ((const wb_item *)a)->phys, y = ((const wb_item *)b)->phys;
    return x < y ? -1 : x > y;
}

/* Pin up to `want` of the least recently dirtied pages, spread over the shards. */
static size_t wb_gather(cellar_cache *c, wb_item *it, size_t want)
{
    size_t n = 0;
    bool more = true;
    while (n < want && more) {
        more = false;
        for (unsigned i = 0; i < NSHARDS && n < want; i++) {
            shard *s = &c->shards[i];
            cellar__mutex_lock(&s->mu);
            /* from the tail: the page dirtied longest ago and not pinned by us yet */
            for (cellar_page *p = s->dirty.dprev; p != &s->dirty; p = p->dprev) {
                if (p->wb)
                    continue;
                p->wb = true;
                atomic_fetch_add_explicit(&p->pins, 1, memory_order_acquire);
                it[n++].p = p;
                more = true;
                break;
            }
            cellar__mutex_unlock(&s->mu);
        }
    }
    return n;
}

static void wb_release(cellar_cache *c, wb_item *it, size_t n, bool clean)
{
    for (size_t i = 0; i < n; i++) {
        cellar_page *p = it[i].p;
        shard *s = &c->shards[p->shard_idx];
        cellar__mutex_lock(&s->mu);
        p->wb = false;
        if (clean && p->dirty) {
            p->dirty = false;
            dirty_remove(s, p);
            atomic_fetch_sub(&c->dirty, 1);
        }
        if (!p->dirty && !p->in_lru && atomic_load(&p->in_table))
            lru_push(s, p);
        cellar__mutex_unlock(&s->mu);
        atomic_fetch_sub_explicit(&p->pins, 1, memory_order_release);
    }
}

/* Write one batch of pinned dirty pages back. */
static int wb_batch(cellar_cache *c, wb_item *it, size_t n)
{
    const uint32_t P = c->page_size;
    for (size_t i = 0; i < n; i++) {
        cellar_page *p = it[i].p;
        /* only this thread (the writer) changes pages: the bytes are stable */
        memcpy(c->wb_buf + (size_t)i * P, p->data, P);
        cellar__page_seal(c->wb_buf + (size_t)i * P, p->pgno, P);
        it[i].slot = (unsigned)i;
        it[i].old = cellar__phys_of(c, p->pgno);
        it[i].moved = !(it[i].old && c->fresh[p->pgno]);
        it[i].phys = it[i].old;
    }
    int rc = CELLAR_OK;
    for (size_t i = 0; i < n && rc == CELLAR_OK; i++)
        if (it[i].moved)
            rc = phys_alloc(c, 1, &it[i].phys);
    if (rc == CELLAR_OK) {
        qsort(it, n, sizeof *it, cmp_phys);
        /* one write per run of consecutive physical pages whose images are
         * consecutive in wb_buf too; otherwise page by page */
        for (size_t i = 0; i < n && rc == CELLAR_OK;) {
            size_t j = i + 1;
            while (j < n && it[j].phys == it[j - 1].phys + 1 && it[j].slot == it[j - 1].slot + 1)
                j++;
            rc = c->vfs->write(c->file, c->wb_buf + (size_t)it[i].slot * P, (j - i) * P, (uint64_t)it[i].phys * P);
            c->writeback_writes++;
            i = j;
        }
    }
    if (rc != CELLAR_OK) {
        /* the pages stay dirty where they were; new places go back */
        for (size_t i = 0; i < n; i++)
            if (it[i].moved && it[i].phys && it[i].phys != it[i].old)
                (void)cellar__runs_add(&c->pfree, it[i].phys, 1);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t l = it[i].p->pgno;
        if (it[i].moved) {
            phys_release(c, it[i].old, false);
            pm_set(c, l, it[i].phys);
            c->fresh[l] = 1;
        }
    }
    c->writebacks += n;
    return CELLAR_OK;
}

int cellar_cache_writeback(cellar_cache *c, size_t target)
{
    if (c->memory_only)
        return CELLAR_OK; /* a read-only instance keeps its pages */
    if (!c->wb_buf && !(c->wb_buf = malloc((size_t)WB_BATCH * c->page_size)))
        return cellar__err_oom();
    wb_item it[WB_BATCH];
    while (atomic_load(&c->dirty) > target) {
        size_t want = atomic_load(&c->dirty) - target;
        size_t n = wb_gather(c, it, want < WB_BATCH ? want : WB_BATCH);
        if (n == 0)
            break;
        int rc = wb_batch(c, it, n);
        wb_release(c, it, n, rc == CELLAR_OK);
        if (rc != CELLAR_OK)
            return rc;
    }
    return CELLAR_OK;
}

/* ------------------------------------------------------------------ */
/* checkpoint and load                                                 */
/* ------------------------------------------------------------------ */

static void sp_page_init(uint8_t *img, uint32_t P, int type, uint32_t k, uint32_t count)
{
    memset(img, 0, P);
    img[4] = (uint8_t)type;
    cellar__put32(img + 8, k);
    cellar__put32(img + 12, count);
}

static int sp_write(cellar_cache *c, uint8_t *img, uint32_t phys)
{
    cellar__page_seal(img, phys, c->page_size);
    return c->vfs->write(c->file, img, c->page_size, (uint64_t)phys * c->page_size);
}

int cellar_cache_checkpoint(cellar_cache *c, cellar_space_meta *out)
{
    int rc = cellar_cache_writeback(c, 0);
    if (rc != CELLAR_OK)
        return rc;
    const uint32_t P = c->page_size;
    uint8_t *img = malloc(P);
    if (!img)
        return cellar__err_oom();
    /* free pages at the end of the file are given back to the file system
     * once this checkpoint is durable (nothing durable refers to them) */
    while (c->pfree.n && c->pfree.v[c->pfree.n - 1].start + c->pfree.v[c->pfree.n - 1].count ==
                             atomic_load(&c->phys_pages)) {
        atomic_store(&c->phys_pages, c->pfree.v[c->pfree.n - 1].start);
        c->pfree.n--;
        c->trim_to = atomic_load(&c->phys_pages);
    }
    /* changed map pages, each to a fresh page */
    uint32_t epp = map_epp(c), nmap = div_up(c->pm_len, epp);
    pmap *m = atomic_load(&c->pm);
    for (uint32_t k = 0; k < nmap && rc == CELLAR_OK; k++) {
        if (k < c->map_pages && !c->map_dirty[k] && c->map_at[k])
            continue;
        uint32_t np = 0;
        if ((rc = phys_alloc(c, 1, &np)) != CELLAR_OK)
            break;
        uint32_t cnt = c->pm_len - k * epp < epp ? c->pm_len - k * epp : epp;
        sp_page_init(img, P, PAGE_MAP, k, cnt);
        for (uint32_t i = 0; i < cnt; i++)
            cellar__put32(img + SP_HDR + (size_t)4 * i,
                          atomic_load_explicit(&m->e[(uint64_t)k * epp + i], memory_order_relaxed));
        rc = sp_write(c, img, np);
        if (k < c->map_pages)
            phys_release(c, c->map_at[k], false);
        c->map_at[k] = np;
        c->map_dirty[k] = 0;
    }
    if (rc == CELLAR_OK)
        c->map_pages = nmap;
    /* the index of the map pages, one contiguous run */
    uint32_t ni = div_up(nmap, epp), istart = 0;
    if (rc == CELLAR_OK && (rc = phys_alloc(c, ni, &istart)) == CELLAR_OK) {
        for (uint32_t k = 0; k < ni && rc == CELLAR_OK; k++) {
            uint32_t cnt = nmap - k * epp < epp ? nmap - k * epp : epp;
            sp_page_init(img, P, PAGE_INDEX, k, cnt);
            for (uint32_t i = 0; i < cnt; i++)
                cellar__put32(img + SP_HDR + (size_t)4 * i, c->map_at[(size_t)k * epp + i]);
            rc = sp_write(c, img, istart + k);
        }
        if (c->index_pages)
            pend(c, c->index_start, c->index_pages);
        c->index_start = istart;
        c->index_pages = ni;
    }
    /* the free list once this checkpoint is durable: free + pending (with
     * the old list's own run). Its own run is taken from the free pages
     * first, low in the file (so the end can be given back); taking it
     * splits at most one run, which the page count allows for. */
    if (rc == CELLAR_OK && c->flist_pages) {
        pend(c, c->flist_start, c->flist_pages);
        c->flist_pages = 0;
    }
    uint32_t fpp = free_epp(c), nf = (uint32_t)((c->pfree.n + c->ppending.n + 1 + fpp - 1) / fpp), fstart = 0;
    if (rc == CELLAR_OK && nf)
        rc = phys_alloc(c, nf, &fstart);
    c->ck_all.n = 0;
    for (size_t i = 0; i < c->pfree.n && rc == CELLAR_OK; i++)
        rc = cellar__runs_add(&c->ck_all, c->pfree.v[i].start, c->pfree.v[i].count);
    for (size_t i = 0; i < c->ppending.n && rc == CELLAR_OK; i++)
        rc = cellar__runs_add(&c->ck_all, c->ppending.v[i].start, c->ppending.v[i].count);
    if (rc == CELLAR_OK && c->ck_all.n > (size_t)nf * fpp)
        rc = cellar__err(CELLAR_EINTERNAL, 0, "%s: free list outgrew its pages", c->path);
    for (uint32_t k = 0; k < nf && rc == CELLAR_OK; k++) {
        uint32_t cnt = 0;
        sp_page_init(img, P, PAGE_FREELIST, k, 0);
        for (size_t i = (size_t)k * fpp; i < c->ck_all.n && cnt < fpp; i++, cnt++) {
            cellar__put32(img + SP_HDR + (size_t)8 * cnt, c->ck_all.v[i].start);
            cellar__put32(img + SP_HDR + (size_t)8 * cnt + 4, c->ck_all.v[i].count);
        }
        cellar__put32(img + 12, cnt);
        rc = sp_write(c, img, fstart + k);
    }
    if (rc == CELLAR_OK) {
        c->flist_start = fstart;
        c->flist_pages = nf;
        out->phys_pages = atomic_load(&c->phys_pages);
        out->map_len = c->pm_len;
        out->index_start = c->index_start;
        out->index_pages = c->index_pages;
        out->free_start = fstart;
        out->free_pages = nf;
    } else if (nf && fstart) {
        (void)cellar__runs_add(&c->pfree, fstart, nf); /* nothing refers to it */
    }
    free(img);
    return rc;
}

int cellar_cache_checkpoint_done(cellar_cache *c, bool ok, bool reuse_pending)
{
    if (!ok) {
        /* a map page may have been half written: write them all next time */
        memset(c->map_dirty, 1, c->map_pages);
        c->ck_all.n = 0;
        return CELLAR_OK;
    }
    memset(c->fresh, 0, cellar_cache_logical_pages(c));
    if (reuse_pending) {
        cellar_runs t = c->pfree;
        c->pfree = c->ck_all;
        c->ck_all = t;
        c->ppending.n = 0;
        c->pending_pages = 0;
    }
    c->ck_all.n = 0;
    int rc = CELLAR_OK;
    if (c->trim_to) {
        uint64_t size = 0;
        uint32_t end = atomic_load(&c->phys_pages);
        if (c->vfs->size(c->file, &size) == CELLAR_OK && size > (uint64_t)end * c->page_size)
            rc = c->vfs->truncate(c->file, (uint64_t)end * c->page_size);
        c->trim_to = 0;
    }
    return rc;
}

static int sp_read(cellar_cache *c, uint32_t phys, int type, uint32_t k, uint32_t max, uint8_t *buf,
                   uint32_t *out_count)
{
    int rc = cellar_cache_read_raw(c, phys, 0, buf, c->page_size);
    if (rc != CELLAR_OK)
        return rc;
    if (!cellar__page_ok(buf, phys, c->page_size))
        return space_corrupt(c, phys, "checksum mismatch");
    *out_count = cellar__get32(buf + 12);
    if (buf[4] != type || cellar__get32(buf + 8) != k || *out_count > max)
        return space_corrupt(c, phys, type == PAGE_MAP     ? "not the expected page-map page"
                                      : type == PAGE_INDEX ? "not the expected page-map index page"
                                                           : "not the expected free-list page");
    return CELLAR_OK;
}

int cellar_cache_space_load(cellar_cache *c, const cellar_space_meta *m, uint64_t file_pages)
{
    uint32_t epp = map_epp(c), fpp = free_epp(c), ph = m->phys_pages;
    uint32_t nmap = div_up(m->map_len, epp);
    if (ph < CELLAR_META_SLOTS || ph > file_pages || m->map_len < 1 || m->index_pages != div_up(nmap, epp) ||
        m->index_start < CELLAR_META_SLOTS || (uint64_t)m->index_start + m->index_pages > ph ||
        (m->free_pages && (m->free_start < CELLAR_META_SLOTS || (uint64_t)m->free_start + m->free_pages > ph)))
        return space_corrupt(c, 0, "meta page describes an impossible space");
    atomic_store(&c->phys_pages, ph);
    int rc = map_reserve(c, m->map_len);
    uint8_t *buf = rc == CELLAR_OK ? malloc(c->page_size) : NULL;
    if (rc == CELLAR_OK && !buf)
        rc = cellar__err_oom();
    if (rc != CELLAR_OK)
        return rc;
    c->pm_len = m->map_len;
    c->index_start = m->index_start;
    c->index_pages = m->index_pages;
    c->flist_start = m->free_start;
    c->flist_pages = m->free_pages;
    for (uint32_t k = 0; k < m->index_pages && rc == CELLAR_OK; k++) {
        uint32_t cnt = 0, want = nmap - k * epp < epp ? nmap - k * epp : epp;
        rc = sp_read(c, m->index_start + k, PAGE_INDEX, k, epp, buf, &cnt);
        if (rc == CELLAR_OK && cnt != want)
            rc = space_corrupt(c, m->index_start + k, "page-map index count is wrong");
        for (uint32_t i = 0; rc == CELLAR_OK && i < cnt; i++) {
            uint32_t at = cellar__get32(buf + SP_HDR + (size_t)4 * i);
            if (at < CELLAR_META_SLOTS || at >= ph)
                rc = space_corrupt(c, m->index_start + k, "page-map index entry out of range");
            c->map_at[(size_t)k * epp + i] = at;
        }
    }
    c->map_pages = rc == CELLAR_OK ? nmap : 0;
    pmap *pm = atomic_load(&c->pm);
    for (uint32_t k = 0; k < nmap && rc == CELLAR_OK; k++) {
        uint32_t cnt = 0, want = m->map_len - k * epp < epp ? m->map_len - k * epp : epp;
        rc = sp_read(c, c->map_at[k], PAGE_MAP, k, epp, buf, &cnt);
        if (rc == CELLAR_OK && cnt != want)
            rc = space_corrupt(c, c->map_at[k], "page-map count is wrong");
        for (uint32_t i = 0; rc == CELLAR_OK && i < cnt; i++) {
            uint32_t at = cellar__get32(buf + SP_HDR + (size_t)4 * i);
            uint64_t l = (uint64_t)k * epp + i;
            if (at != 0 && (at < CELLAR_META_SLOTS || at >= ph || l == 0))
                rc = space_corrupt(c, c->map_at[k], "page-map entry out of range");
            atomic_store_explicit(&pm->e[l], at, memory_order_relaxed);
            if (at == 0 && l != 0)
                rc = cellar__runs_add(&c->lfree, (uint32_t)l, 1);
        }
    }
    for (uint32_t k = 0; k < m->free_pages && rc == CELLAR_OK; k++) {
        uint32_t cnt = 0;
        rc = sp_read(c, m->free_start + k, PAGE_FREELIST, k, fpp, buf, &cnt);
        for (uint32_t i = 0; rc == CELLAR_OK && i < cnt; i++) {
            uint32_t s = cellar__get32(buf + SP_HDR + (size_t)8 * i), n = cellar__get32(buf + SP_HDR + (size_t)8 * i + 4);
            if (s < CELLAR_META_SLOTS || n == 0 || (uint64_t)s + n > ph ||
                (c->pfree.n && c->pfree.v[c->pfree.n - 1].start + c->pfree.v[c->pfree.n - 1].count > s))
                rc = space_corrupt(c, m->free_start + k, "free-list run out of range or out of order");
            else
                rc = cellar__runs_add(&c->pfree, s, n);
        }
    }
    free(buf);
    return rc;
}

void cellar_cache_space_stats(cellar_cache *c, cellar_space_stats *out)
{
    out->phys_pages = atomic_load(&c->phys_pages);
    out->free_pages = runs_total(&c->pfree) + runs_total(&c->ppending);
    out->logical_pages = c->pm_len - 1 - runs_total(&c->lfree);
    out->map_len = c->pm_len;
    out->writebacks = c->writebacks;
    out->writeback_writes = c->writeback_writes;
}

uint32_t cellar_cache_place_of(cellar_cache *c, uint32_t pgno) { return cellar__phys_of(c, pgno); }

void cellar_cache_space_claims(cellar_cache *c, cellar_claim_fn fn, void *ctx)
{
    fn(ctx, 0, CELLAR_META_SLOTS, "meta page");
    for (uint32_t k = 0; k < c->map_pages; k++)
        fn(ctx, c->map_at[k], 1, "page-map page");
    fn(ctx, c->index_start, c->index_pages, "page-map index");
    fn(ctx, c->flist_start, c->flist_pages, "free list");
    for (size_t i = 0; i < c->pfree.n; i++)
        fn(ctx, c->pfree.v[i].start, c->pfree.v[i].count, "free run");
    for (size_t i = 0; i < c->ppending.n; i++)
        fn(ctx, c->ppending.v[i].start, c->ppending.v[i].count, "freed run");
    for (uint32_t l = 1; l < c->pm_len; l++) {
        uint32_t at = cellar__phys_of(c, l);
        if (at)
            fn(ctx, at, 1, "page");
    }
}
