/*
 * iter.c - iterators over all records (weakly consistent; see scan.c for why
 * every key present for the whole iteration comes out exactly once).
 *
 * An iterator copies one bucket's worth of records at a time (under that
 * page's read latch), then yields them; large values are read from their
 * extents when yielded. If cellar_compact rebuilds the file meanwhile, the
 * iterator returns CELLAR_EBUSY: open a new one.
 */
#include "db/db_int.h"

#include <stdlib.h>

struct cellar_iter {
    child head;
    uint64_t cursor, gen;
    cellar_buf buf;
    size_t pos;
    bool hold;
    uint8_t *large;
    size_t large_cap;
};

CELLAR_API int cellar_iter_open(cellar_iter **out, cellar_db *db)
{
    if (!out)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_iter_open: out is NULL");
    *out = NULL;
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    cellar_iter *it = calloc(1, sizeof *it);
    if (!it) {
        cellar__db_leave(db);
        return cellar__err_oom();
    }
    it->gen = atomic_load(&db->inst->generation);
    cellar__child_attach(db, &it->head);
    cellar__db_leave(db);
    *out = it;
    return CELLAR_OK;
}

static void drop_hold(cellar_iter *it, cellar_inst *in)
{
    if (it->hold && atomic_load(&in->generation) == it->gen)
        cellar_hash_large_release(in->hash);
    it->hold = false;
}

CELLAR_API int cellar_iter_next(cellar_iter *it, const void **key, size_t *klen, const void **val, size_t *vlen)
{
    if (!it)
        return cellar__err(CELLAR_EINVAL, 0, "iterator is NULL");
    if (atomic_load(&it->head.dead))
        return cellar__err(CELLAR_ECLOSED, 0, "iterator's database handle is closed");
    cellar_db *db = it->head.db;
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    if (atomic_load(&in->generation) != it->gen) {
        cellar__db_leave(db);
        return cellar__err(CELLAR_EBUSY, 0, "%s: the database was compacted; open a new iterator", in->path);
    }
    uint64_t now = cellar__db_now(in);
    for (;;) {
        if (it->pos < it->buf.len) {
            cellar_scan_entry e;
            it->pos += cellar_hash_scan_entry(it->buf.data + it->pos, &e);
            if (e.expiry && e.expiry <= now)
                continue;
            uint64_t kl = e.klen, vl = e.vlen;
            const uint8_t *k = e.key, *v = e.val;
            if (e.large) {
                size_t n = kl + vl;
                if (n > it->large_cap) {
                    uint8_t *nb = realloc(it->large, n);
                    if (!nb) {
                        rc = cellar__err_oom();
                        break;
                    }
                    it->large = nb;
                    it->large_cap = n;
                }
                rc = cellar_hash_read_large(in->hash, e.extent, e.crc, it->large, n);
                if (rc != CELLAR_OK)
                    break;
                k = it->large;
                v = it->large + kl;
            }
            if (key)
                *key = k;
            if (klen)
                *klen = kl;
            if (val)
                *val = v;
            if (vlen)
                *vlen = vl;
            rc = CELLAR_OK;
            break;
        }
        drop_hold(it, in);
        it->buf.len = 0;
        it->pos = 0;
        if (it->cursor >= ((uint64_t)1 << 32)) {
            rc = CELLAR_ENOTFOUND;
            break;
        }
        rc = cellar_hash_scan_step(in->hash, &it->cursor, &it->buf, &it->hold);
        if (rc != CELLAR_OK)
            break;
    }
    cellar__db_leave(db);
    return rc;
}

CELLAR_API void cellar_iter_close(cellar_iter *it)
{
    if (!it)
        return;
    /* The hold is dropped under children_mu, because cellar_close marks its
     * children dead under it before it frees the instance (an iterator freed
     * by another thread, a garbage collector's say, while its db closes sees
     * a live instance or a dead iterator), and inside enter/leave, so a
     * compact cannot swap the index meanwhile. */
    cellar_db *db = it->head.db;
    if (it->hold) {
        cellar__mutex_lock(&db->children_mu);
        if (!atomic_load(&it->head.dead) && cellar__db_enter(db, false) == CELLAR_OK) {
            drop_hold(it, db->inst);
            cellar__db_leave(db);
        }
        cellar__mutex_unlock(&db->children_mu);
    }
    free(it->buf.data);
    free(it->large);
    cellar__child_detach(&it->head);
    free(it);
}
