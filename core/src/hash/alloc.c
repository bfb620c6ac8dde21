/*
 * alloc.c - page allocation: free runs, and runs freed since the last
 * checkpoint ("pending"), which are not reused until that checkpoint is
 * durable, so the last checkpointed state (what recovery starts from) never
 * sees its pages overwritten.
 */
#include "hash/hash_int.h"

#include <stdlib.h>

int cellar__runs_add(runs *r, uint32_t start, uint32_t count)
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
            memmove(&r->v[lo], &r->v[lo + 1], (r->n - lo - 1) * sizeof(run));
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
        run *nv = realloc(r->v, cap * sizeof(run));
        if (!nv)
            return cellar__err_oom();
        r->v = nv;
        r->cap = cap;
    }
    memmove(&r->v[lo + 1], &r->v[lo], (r->n - lo) * sizeof(run));
    r->v[lo].start = start;
    r->v[lo].count = count;
    r->n++;
    return CELLAR_OK;
}

int cellar__alloc_pages(cellar_hash *h, uint32_t n, uint32_t *out)
{
    for (size_t i = 0; i < h->free.n; i++) {
        run *r = &h->free.v[i];
        if (r->count >= n) {
            *out = r->start;
            r->start += n;
            r->count -= n;
            if (r->count == 0) {
                memmove(r, r + 1, (h->free.n - i - 1) * sizeof(run));
                h->free.n--;
            }
            return CELLAR_OK;
        }
    }
    if ((uint64_t)h->page_count + n >= UINT32_MAX)
        return cellar__err(CELLAR_ENOSPC, 0, "%s: the file would pass 2^32 pages", h->path);
    *out = h->page_count;
    h->page_count += n;
    return CELLAR_OK;
}

int cellar__free_pages(cellar_hash *h, uint32_t start, uint32_t n)
{
    return cellar__runs_add(&h->pending, start, n);
}
