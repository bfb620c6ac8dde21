/*
 * cache.c - the sharded page cache (see cache.h for the contract).
 *
 * Each shard: a mutex, a chained hash table of its frames, a recency list of
 * its clean frames (pinned or not; most recent at the head), and a list of
 * dirty frames. Eviction is second-chance: from the tail, a frame touched
 * since the last look goes back to the head, an unpinned one is taken; a
 * miss with no frame to take allocates one more frame.
 *
 * A hit takes no mutex: the table is walked with atomic loads, the frame is
 * pinned with a compare-and-swap that fails while the frame is being taken
 * for another page (pins == -1), and the pin is checked against the page
 * number, so a walk that races an eviction only ever misses, and then takes
 * the locked path. Frames are freed only at close, so a walk never touches
 * freed memory; a replaced table is kept until close for the same reason.
 *
 * Loading: on a miss the frame is inserted in state "loading" with its latch
 * held exclusive by the loader; other threads that find it pin it and wait
 * on the latch, then see "valid" or "failed" (and retry).
 */
#include "cache/cache.h"

#include <sched.h>
#include <stdlib.h>

#include "cache/cache_int.h"

void cellar__page_seal(uint8_t *page, uint32_t pgno, uint32_t page_size)
{
    uint8_t no[4];
    cellar__put32(no, pgno);
    uint32_t crc = cellar__crc32c(cellar__crc32c(0, no, 4), page + 4, page_size - 4);
    cellar__put32(page, crc);
}

bool cellar__page_ok(const uint8_t *page, uint32_t pgno, uint32_t page_size)
{
    uint8_t no[4];
    cellar__put32(no, pgno);
    uint32_t crc = cellar__crc32c(cellar__crc32c(0, no, 4), page + 4, page_size - 4);
    return crc == cellar__get32(page);
}

static inline shard *shard_of(cellar_cache *c, uint32_t pgno)
{
    return &c->shards[(pgno * 0x9E3779B1u) >> 28 & (NSHARDS - 1)];
}
static inline size_t bucket_of(const ptable *t, uint32_t pgno)
{
    return ((pgno * 0x85EBCA6Bu) >> 4) & (t->nbuckets - 1);
}

static cellar_page *table_find(shard *s, uint32_t pgno)
{
    ptable *t = atomic_load_explicit(&s->table, memory_order_acquire);
    for (cellar_page *p = atomic_load_explicit(&t->b[bucket_of(t, pgno)], memory_order_acquire); p;
         p = atomic_load_explicit(&p->hnext, memory_order_acquire))
        if (atomic_load_explicit(&p->pgno, memory_order_relaxed) == pgno)
            return p;
    return NULL;
}
static void table_insert(shard *s, cellar_page *p)
{
    ptable *t = atomic_load_explicit(&s->table, memory_order_relaxed);
    size_t b = bucket_of(t, p->pgno);
    atomic_store_explicit(&p->hnext, atomic_load_explicit(&t->b[b], memory_order_relaxed), memory_order_relaxed);
    atomic_store_explicit(&p->in_table, true, memory_order_release); /* after pgno */
    atomic_store_explicit(&t->b[b], p, memory_order_release);
}
static void table_remove(shard *s, cellar_page *p)
{
    if (!atomic_load_explicit(&p->in_table, memory_order_relaxed))
        return;
    atomic_store_explicit(&p->in_table, false, memory_order_release);
    ptable *t = atomic_load_explicit(&s->table, memory_order_relaxed);
    _Atomic(cellar_page *) *pp = &t->b[bucket_of(t, p->pgno)];
    cellar_page *q;
    while ((q = atomic_load_explicit(pp, memory_order_relaxed)) != NULL && q != p)
        pp = &q->hnext;
    if (q) /* a walker standing on p still follows its link */
        atomic_store_explicit(pp, atomic_load_explicit(&p->hnext, memory_order_relaxed), memory_order_release);
}

static void frame_free(cellar_page *p)
{
    if (!p)
        return;
    cellar__rwlock_destroy(&p->latch);
    free(p->data);
    free(p);
}

/* Grow the shard's table with its frame count (chains stay short). */
static void table_grow(shard *s)
{
    ptable *t = atomic_load_explicit(&s->table, memory_order_relaxed);
    if (s->frames <= t->nbuckets)
        return;
    size_t nb = t->nbuckets * 2;
    ptable *nt = calloc(1, sizeof *nt + nb * sizeof nt->b[0]);
    ptable **r = realloc(s->retired, (s->nretired + 1) * sizeof *r); /* NOLINT(bugprone-sizeof-expression): a pointer array's element */
    if (r)
        s->retired = r;
    if (!nt || !r) {
        free(nt);
        return; /* longer chains, still correct */
    }
    nt->nbuckets = nb;
    /* frames move to the new table one by one; a walker of the old one may
     * follow a moved frame's link into a new chain and miss, never more */
    for (size_t i = 0; i < t->nbuckets; i++) {
        cellar_page *q = atomic_load_explicit(&t->b[i], memory_order_relaxed);
        while (q) {
            cellar_page *next = atomic_load_explicit(&q->hnext, memory_order_relaxed);
            size_t b = bucket_of(nt, q->pgno);
            atomic_store_explicit(&q->hnext, atomic_load_explicit(&nt->b[b], memory_order_relaxed),
                                  memory_order_release);
            atomic_store_explicit(&nt->b[b], q, memory_order_relaxed);
            q = next;
        }
    }
    atomic_store_explicit(&s->table, nt, memory_order_release);
    s->retired[s->nretired++] = t;
}

/* Take a frame for a new page in shard s (mutex held): a frame from the
 * recency list nobody pins, giving touched ones a second chance, or a new
 * one. It is returned with pins == 1, out of the table and the list.
 * Returns NULL on out-of-memory. */
static cellar_page *frame_take(cellar_cache *c, shard *s)
{
    if (s->frames >= s->limit) {
        /* each frame is looked at most twice: the work is bounded */
        for (size_t looked = 0, n = 2 * s->frames; looked < n && s->lru.lru_prev != &s->lru; looked++) {
            cellar_page *v = s->lru.lru_prev;
            int zero = 0;
            if (atomic_exchange_explicit(&v->ref, false, memory_order_relaxed) ||
                !atomic_compare_exchange_strong(&v->pins, &zero, -1)) {
                lru_remove(v);
                lru_push(s, v);
                continue;
            }
            lru_remove(v);
            table_remove(s, v);
            atomic_store_explicit(&v->pins, 1, memory_order_release);
            return v;
        }
    }
    cellar_page *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (posix_memalign((void **)&p->data, 4096, c->page_size) != 0) {
        free(p);
        return NULL;
    }
    cellar__rwlock_init(&p->latch);
    p->shard_idx = (unsigned)(s - c->shards);
    atomic_store_explicit(&p->pins, 1, memory_order_relaxed);
    s->frames++;
    table_grow(s);
    return p;
}

int cellar_cache_open(cellar_cache **out, const cellar_vfs *vfs, cellar_file *file,
                      const char *path, uint32_t page_size, size_t capacity)
{
    *out = NULL;
    cellar_cache *c = calloc(1, sizeof *c);
    if (!c)
        return cellar__err_oom();
    c->vfs = vfs;
    c->file = file;
    c->path = path;
    c->page_size = page_size;
    c->capacity = capacity / page_size;
    if (c->capacity < MIN_FRAMES)
        c->capacity = MIN_FRAMES;
    for (unsigned i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        cellar__mutex_init(&s->mu);
        ptable *t = calloc(1, sizeof *t + 64 * sizeof t->b[0]);
        if (t)
            t->nbuckets = 64;
        atomic_store(&s->table, t);
        s->limit = (c->capacity + NSHARDS - 1) / NSHARDS;
        list_init(&s->lru);
        s->dirty.dnext = s->dirty.dprev = &s->dirty;
        if (!t) {
            cellar_cache_close(c);
            return cellar__err_oom();
        }
    }
    *out = c;
    return CELLAR_OK;
}

void cellar_cache_close(cellar_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        /* frames whose load failed are only on the LRU list: free those
         * first, while the list is still intact */
        if (s->lru.lru_next) {
            cellar_page *p = s->lru.lru_next;
            while (p != &s->lru) {
                cellar_page *n = p->lru_next;
                if (!atomic_load(&p->in_table))
                    frame_free(p);
                p = n;
            }
        }
        ptable *t = atomic_load(&s->table);
        for (size_t b = 0; t && b < t->nbuckets; b++) {
            cellar_page *p = atomic_load(&t->b[b]);
            while (p) {
                cellar_page *n = atomic_load(&p->hnext);
                frame_free(p);
                p = n;
            }
        }
        free(t);
        for (size_t i = 0; i < s->nretired; i++)
            free(s->retired[i]);
        free(s->retired);
        cellar__mutex_destroy(&s->mu);
    }
    for (size_t b = 0; b < c->overlay_buckets; b++) {
        overlay_page *o = c->overlay[b];
        while (o) {
            overlay_page *n = o->next;
            free(o);
            o = n;
        }
    }
    free(c->overlay);
    cellar__space_free(c);
    free(c);
}

static overlay_page *overlay_find(const cellar_cache *c, uint64_t pgno);

static int load(cellar_cache *c, cellar_page *p)
{
    uint32_t at = cellar__phys_of(c, p->pgno);
    if (at == 0)
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u has no place in the file", c->path, p->pgno);
    size_t got = 0;
    const overlay_page *o = c->overlay_pages ? overlay_find(c, at) : NULL;
    if (o) {
        memcpy(p->data, o->data, c->page_size);
        got = c->page_size;
    }
    int rc = o ? CELLAR_OK : c->vfs->read(c->file, p->data, c->page_size, (uint64_t)at * c->page_size, &got);
    if (rc != CELLAR_OK)
        return rc;
    if (got != c->page_size)
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u (file page %u) is past the end of the file",
                           c->path, p->pgno, at);
    if (!cellar__page_ok(p->data, p->pgno, c->page_size))
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: page %u (file page %u): checksum mismatch", c->path, p->pgno, at);
    return CELLAR_OK;
}

/* A hit without the mutex: pin the frame if it holds pgno, valid. NULL
 * sends the caller to the locked path (a miss, a load in progress, or a
 * race with eviction). */
static cellar_page *try_hit(shard *s, uint32_t pgno)
{
    cellar_page *p = table_find(s, pgno);
    if (!p)
        return NULL;
    int n = atomic_load_explicit(&p->pins, memory_order_relaxed);
    do {
        if (n < 0)
            return NULL;
    } while (!atomic_compare_exchange_weak_explicit(&p->pins, &n, n + 1, memory_order_acquire, memory_order_relaxed));
    /* state and in_table first (acquire), the page number last: a frame
     * taken for another page since the walk shows that page's number */
    if (atomic_load_explicit(&p->state, memory_order_acquire) != 1 ||
        !atomic_load_explicit(&p->in_table, memory_order_acquire) ||
        atomic_load_explicit(&p->pgno, memory_order_relaxed) != pgno) {
        atomic_fetch_sub_explicit(&p->pins, 1, memory_order_release);
        return NULL;
    }
    if (!atomic_load_explicit(&p->ref, memory_order_relaxed))
        atomic_store_explicit(&p->ref, true, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
    return p;
}

int cellar_cache_get(cellar_cache *c, uint32_t pgno, cellar_page **out)
{
    shard *s = shard_of(c, pgno);
    cellar_page *hit = try_hit(s, pgno);
    if (hit) {
        *out = hit;
        return CELLAR_OK;
    }
    for (;;) {
        cellar__mutex_lock(&s->mu);
        cellar_page *p = table_find(s, pgno);
        if (p) {
            atomic_fetch_add_explicit(&p->pins, 1, memory_order_acquire); /* >= 0 under the mutex */
            atomic_store_explicit(&p->ref, true, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
            cellar__mutex_unlock(&s->mu);
            int st = atomic_load_explicit(&p->state, memory_order_acquire);
            if (st == 0) { /* being loaded: wait for the loader */
                cellar__rdlock(&p->latch);
                cellar__rwunlock(&p->latch);
                st = atomic_load_explicit(&p->state, memory_order_acquire);
            }
            if (st == 1) {
                *out = p;
                return CELLAR_OK;
            }
            cellar_cache_unpin(c, p); /* failed, or not yet latched by its loader: retry */
            if (st == 0)
                sched_yield();
            continue;
        }
        p = frame_take(c, s);
        if (!p) {
            cellar__mutex_unlock(&s->mu);
            return cellar__err_oom();
        }
        atomic_store_explicit(&p->pgno, pgno, memory_order_relaxed);
        p->dirty = false;
        atomic_store_explicit(&p->ref, false, memory_order_relaxed);
        atomic_store_explicit(&p->state, 0, memory_order_relaxed);
        table_insert(s, p);
        lru_push(s, p);
        s->misses++;
        cellar__mutex_unlock(&s->mu);
        /* Latched after the shard mutex is released (a latch is never taken
         * under it). A thread that finds the frame first and sees it still
         * loading simply retries. */
        cellar__wrlock(&p->latch);

        int rc = load(c, p);
        atomic_store_explicit(&p->state, rc == CELLAR_OK ? 1 : 2, memory_order_release);
        cellar__rwunlock(&p->latch);
        if (rc != CELLAR_OK) {
            cellar__mutex_lock(&s->mu);
            table_remove(s, p); /* reusable (on the list); not findable */
            cellar__mutex_unlock(&s->mu);
            cellar_cache_unpin(c, p);
            return rc;
        }
        *out = p;
        return CELLAR_OK;
    }
}

int cellar_cache_new(cellar_cache *c, uint32_t pgno, cellar_page **out)
{
    shard *s = shard_of(c, pgno);
    cellar__mutex_lock(&s->mu);
    cellar_page *p = table_find(s, pgno);
    if (p) {
        atomic_fetch_add_explicit(&p->pins, 1, memory_order_acquire);
    } else {
        p = frame_take(c, s);
        if (!p) {
            cellar__mutex_unlock(&s->mu);
            return cellar__err_oom();
        }
        atomic_store_explicit(&p->pgno, pgno, memory_order_relaxed);
        p->dirty = false;
        table_insert(s, p);
    }
    atomic_store_explicit(&p->state, 1, memory_order_release);
    if (!p->dirty) {
        p->dirty = true;
        lru_remove(p);
        dirty_push(s, p);
        atomic_fetch_add(&c->dirty, 1);
    }
    cellar__mutex_unlock(&s->mu);
    cellar__wrlock(&p->latch);
    memset(p->data, 0, c->page_size);
    cellar__rwunlock(&p->latch);
    *out = p;
    return CELLAR_OK;
}

void cellar_cache_unpin(cellar_cache *c, cellar_page *p)
{
    (void)c;
    atomic_fetch_sub_explicit(&p->pins, 1, memory_order_release);
}

void cellar_cache_mark_dirty(cellar_cache *c, cellar_page *p)
{
    shard *s = shard_of(c, p->pgno);
    cellar__mutex_lock(&s->mu);
    if (!p->dirty) {
        p->dirty = true;
        lru_remove(p);
        dirty_push(s, p);
        atomic_fetch_add(&c->dirty, 1);
    } else if (s->dirty.dnext != p) {
        /* most recently dirtied first: write-back takes the coldest */
        dirty_remove(s, p);
        dirty_push(s, p);
    }
    cellar__mutex_unlock(&s->mu);
}

size_t cellar_cache_dirty(cellar_cache *c) { return atomic_load(&c->dirty); }
size_t cellar_cache_capacity(cellar_cache *c) { return atomic_load_explicit(&c->capacity, memory_order_relaxed); }

void cellar_cache_set_capacity(cellar_cache *c, size_t bytes)
{
    size_t frames = bytes / c->page_size;
    if (frames < MIN_FRAMES)
        frames = MIN_FRAMES;
    atomic_store(&c->capacity, frames);
    for (unsigned i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        cellar__mutex_lock(&s->mu);
        s->limit = (frames + NSHARDS - 1) / NSHARDS;
        cellar__mutex_unlock(&s->mu);
    }
}

void cellar_cache_forget(cellar_cache *c, uint32_t pgno)
{
    shard *s = shard_of(c, pgno);
    cellar__mutex_lock(&s->mu);
    cellar_page *p = table_find(s, pgno);
    if (p) {
        if (p->dirty) {
            p->dirty = false;
            dirty_remove(s, p);
            atomic_fetch_sub(&c->dirty, 1);
        }
        table_remove(s, p);
        if (!p->in_lru) /* no longer findable; reused once unpinned */
            lru_push(s, p);
    }
    cellar__mutex_unlock(&s->mu);
}

void cellar_cache_counters_get(cellar_cache *c, cellar_cache_counters *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        cellar__mutex_lock(&s->mu);
        out->hits += atomic_load_explicit(&s->hits, memory_order_relaxed);
        out->misses += s->misses;
        out->frames += s->frames;
        cellar__mutex_unlock(&s->mu);
    }
    out->dirty = atomic_load(&c->dirty);
    out->capacity_frames = c->capacity;
}

/* ---- the memory overlay of a read-only instance ---- */

void cellar_cache_set_memory_only(cellar_cache *c) { c->memory_only = true; }

static overlay_page *overlay_find(const cellar_cache *c, uint64_t pgno)
{
    if (!c->overlay_buckets)
        return NULL;
    overlay_page *o = c->overlay[(pgno * 0x9E3779B97F4A7C15ull >> 32) & (c->overlay_buckets - 1)];
    while (o && o->pgno != pgno)
        o = o->next;
    return o;
}

static int overlay_grow(cellar_cache *c)
{
    size_t nb = c->overlay_buckets ? c->overlay_buckets * 2 : 64;
    overlay_page **nt = calloc(nb, sizeof *nt); /* NOLINT(bugprone-sizeof-expression): a pointer array's element */
    if (!nt)
        return cellar__err_oom();
    for (size_t b = 0; b < c->overlay_buckets; b++) {
        overlay_page *o = c->overlay[b];
        while (o) {
            overlay_page *n = o->next;
            size_t i = (o->pgno * 0x9E3779B97F4A7C15ull >> 32) & (nb - 1);
            o->next = nt[i];
            nt[i] = o;
            o = n;
        }
    }
    free(c->overlay);
    c->overlay = nt;
    c->overlay_buckets = nb;
    return CELLAR_OK;
}

/* The overlay copy of pgno, made from the file's page (zeros past its end). */
static int overlay_get(cellar_cache *c, uint64_t pgno, overlay_page **out)
{
    overlay_page *o = overlay_find(c, pgno);
    if (!o) {
        if (c->overlay_pages >= c->overlay_buckets) {
            int rc = overlay_grow(c);
            if (rc != CELLAR_OK)
                return rc;
        }
        o = calloc(1, sizeof *o + c->page_size);
        if (!o)
            return cellar__err_oom();
        size_t got = 0;
        int rc = c->vfs->read(c->file, o->data, c->page_size, pgno * c->page_size, &got);
        if (rc != CELLAR_OK) {
            free(o);
            return rc;
        }
        o->pgno = pgno;
        size_t i = (pgno * 0x9E3779B97F4A7C15ull >> 32) & (c->overlay_buckets - 1);
        o->next = c->overlay[i];
        c->overlay[i] = o;
        c->overlay_pages++;
    }
    *out = o;
    return CELLAR_OK;
}

/* Raw I/O over the overlay, a page at a time: what the overlay holds wins. */
static int overlay_io(cellar_cache *c, uint64_t pgno, uint64_t off, uint8_t *out, const uint8_t *in, size_t len)
{
    uint64_t pos = pgno * c->page_size + off;
    while (len) {
        uint64_t pg = pos / c->page_size;
        size_t at = (size_t)(pos % c->page_size), n = c->page_size - at;
        if (n > len)
            n = len;
        if (in) {
            overlay_page *o = NULL;
            int rc = overlay_get(c, pg, &o);
            if (rc != CELLAR_OK)
                return rc;
            memcpy(o->data + at, in, n);
            in += n;
        } else if (out) {
            const overlay_page *o = overlay_find(c, pg);
            if (o) {
                memcpy(out, o->data + at, n);
            } else {
                size_t got = 0;
                int rc = c->vfs->read(c->file, out, n, pos, &got);
                if (rc != CELLAR_OK)
                    return rc;
                if (got != n)
                    return cellar__err(CELLAR_ECORRUPT, 0, "%s: page %llu: extent runs past the end of the file",
                                       c->path, (unsigned long long)pgno);
            }
            out += n;
        }
        pos += n;
        len -= n;
    }
    return CELLAR_OK;
}

int cellar_cache_read_raw(cellar_cache *c, uint64_t pgno, uint64_t off, void *buf, size_t len)
{
    if (c->overlay_pages)
        return overlay_io(c, pgno, off, buf, NULL, len);
    size_t got = 0;
    int rc = c->vfs->read(c->file, buf, len, pgno * c->page_size + off, &got);
    if (rc != CELLAR_OK)
        return rc;
    if (got != len)
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: page %llu: extent runs past the end of the file",
                           c->path, (unsigned long long)pgno);
    return CELLAR_OK;
}

int cellar_cache_write_raw(cellar_cache *c, uint64_t pgno, uint64_t off, const void *buf, size_t len)
{
    if (c->memory_only)
        return overlay_io(c, pgno, off, NULL, buf, len);
    return c->vfs->write(c->file, buf, len, pgno * c->page_size + off);
}

