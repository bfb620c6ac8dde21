/*
 * bucket.c - records inside a bucket page (layout in hash.h).
 *
 * Every decode is bounds-checked against the page, so a corrupt page that
 * passed its checksum (a bug, or a hostile file with a valid crc) yields
 * "not sane" instead of reads out of bounds.
 */
#include "hash/hash_int.h"

#include <stdlib.h>

void cellar__bk_init(uint8_t *pg, uint32_t P, int type, unsigned depth, uint32_t bits, uint32_t self)
{
    memset(pg, 0, BK_SLOTS);
    pg[BK_TYPE] = (uint8_t)type;
    pg[BK_DEPTH] = (uint8_t)depth;
    cellar__put32(pg + BK_BITS, bits);
    cellar__put32(pg + BK_DATA, P);
    cellar__put32(pg + BK_SELF, self);
}

size_t cellar__rec_header_len(unsigned flags, uint64_t klen, uint64_t vlen)
{
    return 1 + cellar__varint_len(klen) + cellar__varint_len(vlen) + ((flags & REC_TTL) ? 8 : 0);
}

size_t cellar__rec_encode(uint8_t *out, unsigned flags, uint64_t klen, uint64_t vlen, uint64_t expiry,
                          const void *key, const void *val, uint32_t extent, uint32_t crc, uint64_t hash)
{
    size_t n = 0;
    out[n++] = (uint8_t)flags;
    n += cellar__varint_put(out + n, klen);
    n += cellar__varint_put(out + n, vlen);
    if (flags & REC_TTL) {
        cellar__put64(out + n, expiry);
        n += 8;
    }
    if (flags & REC_LARGE) {
        cellar__put32(out + n, extent);
        cellar__put32(out + n + 4, crc);
        cellar__put64(out + n + 8, hash);
        return n + REC_LARGE_TAIL;
    }
    if (klen)
        memcpy(out + n, key, klen);
    n += klen;
    if (vlen)
        memcpy(out + n, val, vlen);
    return n + vlen;
}

bool cellar__rec_decode(const uint8_t *pg, uint32_t P, uint32_t off, rec *r)
{
    if (off < BK_SLOTS || off >= P)
        return false;
    const uint8_t *p = pg + off;
    size_t avail = P - off, n = 1;
    if (avail < 3)
        return false;
    r->off = off;
    r->flags = p[0];
    if (r->flags & ~(REC_LARGE | REC_TTL))
        return false;
    size_t k = cellar__varint_get(p + n, avail - n, &r->klen);
    if (!k)
        return false;
    n += k;
    k = cellar__varint_get(p + n, avail - n, &r->vlen);
    if (!k)
        return false;
    n += k;
    r->expiry = 0;
    if (r->flags & REC_TTL) {
        if (avail - n < 8)
            return false;
        r->expiry = cellar__get64(p + n);
        n += 8;
    }
    if (r->klen > CELLAR_MAX_KEY_SIZE || r->vlen > CELLAR_MAX_VALUE_SIZE)
        return false;
    if (r->flags & REC_LARGE) {
        if (avail - n < REC_LARGE_TAIL)
            return false;
        r->extent = cellar__get32(p + n);
        r->crc = cellar__get32(p + n + 4);
        r->hash = cellar__get64(p + n + 8);
        r->key = r->val = NULL;
        r->size = (uint32_t)(n + REC_LARGE_TAIL);
        return r->extent != 0;
    }
    if (r->klen + r->vlen > avail - n)
        return false;
    r->key = p + n;
    r->val = p + n + r->klen;
    r->size = (uint32_t)(n + r->klen + r->vlen);
    return true;
}

uint32_t cellar__bk_room(const uint8_t *pg)
{
    uint32_t used_top = BK_SLOTS + 4u * bk_nslots(pg);
    return cellar__get32(pg + BK_DATA) - used_top + cellar__get32(pg + BK_GARBAGE);
}

bool cellar__bk_header_ok(const uint8_t *pg, uint32_t P)
{
    uint32_t data = cellar__get32(pg + BK_DATA), ns = bk_nslots(pg);
    return data <= P && BK_SLOTS + 4u * ns <= data && cellar__get32(pg + BK_GARBAGE) <= P - data;
}

bool cellar__bk_sane(const uint8_t *pg, uint32_t P)
{
    uint32_t data = cellar__get32(pg + BK_DATA), ns = bk_nslots(pg);
    if (data > P || BK_SLOTS + 4u * ns > data || cellar__get32(pg + BK_GARBAGE) > P - data)
        return false;
    for (unsigned i = 0; i < ns; i++) {
        rec r;
        uint32_t off = bk_slot_off(pg, i);
        if (off < data || !cellar__rec_decode(pg, P, off, &r) || off + r.size > P)
            return false;
    }
    return true;
}

void cellar__bk_compact(uint8_t *pg, uint32_t P)
{
    /* a per-thread scratch page: compaction must not fail for want of memory */
    static _Thread_local uint8_t tmp[CELLAR_MAX_PAGE_SIZE];
    unsigned ns = bk_nslots(pg);
    uint32_t top = P;
    for (unsigned i = 0; i < ns; i++) {
        rec r;
        uint32_t off = bk_slot_off(pg, i);
        if (!cellar__rec_decode(pg, P, off, &r))
            continue;
        top -= r.size;
        memcpy(tmp + top, pg + off, r.size);
        cellar__put16(pg + bk_slot_at(i), (uint16_t)top);
    }
    memcpy(pg + top, tmp + top, P - top);
    cellar__put32(pg + BK_DATA, top);
    cellar__put32(pg + BK_GARBAGE, 0);
}

bool cellar__bk_insert(uint8_t *pg, uint32_t P, uint16_t tag, const uint8_t *rec, size_t len)
{
    unsigned ns = bk_nslots(pg);
    uint32_t data = cellar__get32(pg + BK_DATA);
    uint32_t top = BK_SLOTS + 4u * (ns + 1);
    if (top > data || data - top < len) {
        if (cellar__bk_room(pg) < len + 4)
            return false;
        cellar__bk_compact(pg, P);
        data = cellar__get32(pg + BK_DATA);
        if (top > data || data - top < len)
            return false;
    }
    data -= (uint32_t)len;
    memcpy(pg + data, rec, len);
    cellar__put16(pg + bk_slot_at(ns), (uint16_t)data);
    cellar__put16(pg + bk_slot_at(ns) + 2, tag);
    cellar__put16(pg + BK_NSLOTS, (uint16_t)(ns + 1));
    cellar__put32(pg + BK_DATA, data);
    return true;
}

void cellar__bk_remove(uint8_t *pg, uint32_t P, unsigned slot)
{
    unsigned ns = bk_nslots(pg);
    rec r;
    if (slot >= ns)
        return;
    uint32_t off = bk_slot_off(pg, slot);
    if (cellar__rec_decode(pg, P, off, &r)) {
        if (off == cellar__get32(pg + BK_DATA))
            cellar__put32(pg + BK_DATA, off + r.size); /* the lowest record: reclaim at once */
        else
            cellar__put32(pg + BK_GARBAGE, cellar__get32(pg + BK_GARBAGE) + r.size);
    }
    /* keep slot order irrelevant: move the last slot into the hole */
    memcpy(pg + bk_slot_at(slot), pg + bk_slot_at(ns - 1), 4);
    cellar__put16(pg + BK_NSLOTS, (uint16_t)(ns - 1));
    if (ns == 1) {
        cellar__put32(pg + BK_DATA, P);
        cellar__put32(pg + BK_GARBAGE, 0);
    }
}
