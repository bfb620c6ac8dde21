/*
 * maint.c - statistics, sync and checkpoint, compact, backup, check, salvage.
 *
 * compact: the records are copied into a new file beside the database
 * ("PATH-compact"), then that file's pages are written over the database as
 * one checkpoint batch through the log (so a crash at any point leaves either
 * the old or the new content), the file is shrunk and the index reloaded.
 * Writers wait meanwhile; readers wait only for the final swap. Iterators
 * open across a compaction return CELLAR_EBUSY.
 *
 * backup: a checkpoint, then a copy of the file, with writers held off for
 * the copy (readers go on), so the copy is the state after one commit.
 */
#include "db/db_int.h"
#include "hash/hash_int.h"

#include <stdio.h>
#include <stdlib.h>

#define COPY_CHUNK (1u << 20)

CELLAR_API int cellar_stats_get(cellar_db *db, cellar_stats *out)
{
    if (!out || out->version != CELLAR_STATS_VERSION)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_stats_get: set out->version to CELLAR_STATS_VERSION");
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    cellar_hash_meta m;
    cellar_hash_stats hs;
    cellar_cache_counters cc;
    cellar_space_stats ss;
    cellar__write_lock(in);
    /* every figure comes from a counter: no page is read (O(1), but for the
     * free space's runs, which are in memory) */
    cellar_hash_meta_get(in->hash, &m);
    cellar_cache_space_stats(in->cache, &ss);
    cellar_hash_counters(in->hash, &hs);
    uint64_t wal = cellar_wal_end(in->wal);
    uint64_t commits = in->commits, cks = in->checkpoints;
    cellar__mutex_unlock(&in->write_mu);
    uint64_t size = 0;
    if (rc == CELLAR_OK)
        rc = in->vfs->size(in->file, &size);
    if (rc == CELLAR_OK) {
        cellar_cache_counters_get(in->cache, &cc);
        memset(out, 0, sizeof *out);
        out->version = CELLAR_STATS_VERSION;
        out->records = m.records;
        out->file_size = size;
        out->page_size = in->P;
        out->pages = ss.phys_pages;
        out->bucket_pages = hs.bucket_pages;
        out->overflow_pages = hs.chain_pages;
        out->value_pages = hs.value_pages;
        out->directory_pages = hs.dir_pages;
        out->free_pages = hs.free_pages;
        out->global_depth = m.global_depth;
        out->fill_factor = hs.capacity_bytes ? (double)hs.used_bytes / (double)hs.capacity_bytes : 0.0;
        out->cache_capacity = cc.capacity_frames * in->P;
        out->cache_used = cc.frames * in->P;
        out->cache_hits = cc.hits;
        out->cache_misses = cc.misses;
        out->wal_size = wal;
        out->commits = commits;
        out->checkpoints = cks;
    }
    cellar__db_leave(db);
    return rc;
}

CELLAR_API int cellar_sync(cellar_db *db)
{
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    if (!in->readonly) {
        cellar__write_lock(in);
        rc = cellar_wal_flush(in->wal);
        uint64_t end = cellar_wal_end(in->wal);
        cellar__mutex_unlock(&in->write_mu);
        if (rc == CELLAR_OK)
            rc = cellar_wal_sync(in->wal, end);
    }
    cellar__db_leave(db);
    return rc;
}

CELLAR_API int cellar_checkpoint(cellar_db *db)
{
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    if (!in->readonly) {
        cellar__write_lock(in);
        rc = cellar__checkpoint_compact(in);
        cellar__mutex_unlock(&in->write_mu);
    }
    cellar__db_leave(db);
    return rc;
}

/* Copy every record of `in` into the open database `dst` (write_mu held). */
static int copy_records(cellar_inst *in, cellar_db *dst, cellar_progress_fn progress, void *payload,
                        uint64_t total)
{
    cellar_buf buf = { 0 };
    uint64_t cursor = 0, done = 0, now = cellar__db_now(in);
    int rc = CELLAR_OK;
    uint8_t *large = NULL;
    while (rc == CELLAR_OK && cursor < ((uint64_t)1 << 32)) {
        bool hold = false;
        buf.len = 0;
        if ((rc = cellar_hash_scan_step(in->hash, &cursor, &buf, &hold)) != CELLAR_OK)
            break;
        cellar_txn *t = NULL;
        if (buf.len && (rc = cellar_txn_begin(&t, dst, 0)) != CELLAR_OK)
            break;
        for (size_t pos = 0; rc == CELLAR_OK && pos < buf.len;) {
            cellar_scan_entry e;
            pos += cellar_hash_scan_entry(buf.data + pos, &e);
            if (e.expiry && e.expiry <= now)
                continue;
            uint64_t expiry = e.expiry, kl = e.klen, vl = e.vlen;
            const uint8_t *k = e.key, *v = e.val;
            if (e.large) {
                free(large);
                large = malloc(kl + vl ? kl + vl : 1);
                if (!large) {
                    rc = cellar__err_oom();
                    break;
                }
                if ((rc = cellar_hash_read_large(in->hash, e.extent, e.crc, large, kl + vl)) != CELLAR_OK)
                    break;
                k = large;
                v = large + kl;
            }
            rc = cellar_txn_put_ttl(t, k, kl, v, vl, expiry ? expiry - now : 0);
            done++;
        }
        if (hold)
            cellar_hash_large_release(in->hash);
        if (t)
            rc = rc == CELLAR_OK ? cellar_txn_commit(t) : (cellar_txn_abort(t), rc);
        if (rc == CELLAR_OK && progress && progress(done, total, payload))
            rc = cellar__err(CELLAR_ECANCELED, 0, "canceled by the progress callback");
    }
    free(large);
    free(buf.data);
    return rc;
}

/* Write the pages of file `src` over the database as one logged batch.
 * Both meta slots get the copy's newest meta page, with this database's
 * identity and the salt of the log that follows. */
static int swap_in(cellar_inst *in, const char *src)
{
    cellar_file *f = NULL;
    int rc = in->vfs->open(in->vfs, src, CELLAR_VFS_READ, 0, &f);
    if (rc != CELLAR_OK)
        return rc;
    uint64_t size = 0;
    uint8_t *pg = malloc(in->P), meta[2][HDR_LEN];
    rc = pg ? in->vfs->size(f, &size) : cellar__err_oom();
    uint64_t pages = size / in->P;
    uint64_t salt = 0;
    cellar__random(&salt, sizeof salt);
    salt |= 1;
    /* the copy's newest meta page, patched */
    int pick = -1;
    for (unsigned i = 0; i < CELLAR_META_SLOTS && rc == CELLAR_OK; i++) {
        rc = cellar__os_read_full(in->vfs, f, meta[i], HDR_LEN, (uint64_t)i * in->P);
        if (rc == CELLAR_OK && cellar__get32(meta[i] + 16) == cellar__header_crc(meta[i]) &&
            (pick < 0 || cellar__get64(meta[i] + 88) > cellar__get64(meta[pick] + 88)))
            pick = (int)i;
    }
    if (rc == CELLAR_OK && pick < 0)
        rc = cellar__err(CELLAR_ECORRUPT, 0, "%s: the compacted copy has no valid meta page", src);
    if (rc == CELLAR_OK) {
        cellar__put64(meta[pick] + 24, in->file_id);
        cellar__put64(meta[pick] + 88, in->ck_gen + 1);
        cellar__put64(meta[pick] + 96, salt);
        cellar__put32(meta[pick] + 16, cellar__header_crc(meta[pick]));
    }
    uint64_t batch_at = cellar_wal_end(in->wal);
    if (rc == CELLAR_OK)
        rc = cellar_wal_batch_begin(in->wal);
    for (int pass = 0; pass < 2 && rc == CELLAR_OK; pass++) {
        for (uint64_t p = 0; p < pages && rc == CELLAR_OK; p++) {
            if (p < CELLAR_META_SLOTS) {
                memset(pg, 0, in->P);
                memcpy(pg, meta[pick], HDR_LEN);
            } else if ((rc = cellar__os_read_full(in->vfs, f, pg, in->P, p * in->P)) != CELLAR_OK) {
                break;
            }
            rc = pass == 0 ? cellar_wal_batch_page(in->wal, (uint32_t)p, pg)
                           : in->vfs->write(in->file, pg, in->P, p * in->P);
        }
        if (pass == 0) {
            if (rc == CELLAR_OK)
                rc = cellar_wal_batch_end(in->wal, batch_at);
            if (rc != CELLAR_OK) {
                cellar_wal_batch_cancel(in->wal);
                break;
            }
        }
    }
    if (rc == CELLAR_OK)
        rc = in->vfs->truncate(in->file, pages * in->P);
    if (rc == CELLAR_OK)
        rc = in->vfs->sync(in->file);
    if (rc == CELLAR_OK)
        rc = cellar_wal_reset_salt(in->wal, salt);
    free(pg);
    in->vfs->close(f);
    return rc;
}

/* Reload cache and index from the file (quiesced, write_mu held). */
static int reload(cellar_inst *in, size_t cache_bytes)
{
    uint64_t size = 0;
    int rc = in->vfs->size(in->file, &size);
    if (rc != CELLAR_OK)
        return rc;
    cellar_cache *c = NULL;
    cellar_hash *h = NULL;
    uint8_t hdr[HDR_LEN];
    rc = cellar_cache_open(&c, in->vfs, in->file, in->path, in->P, cache_bytes);
    if (rc == CELLAR_OK)
        rc = cellar__index_load(in, c, size, size / in->P, hdr, &h);
    if (rc != CELLAR_OK) {
        cellar_hash_close(h);
        cellar_cache_close(c);
        return rc;
    }
    cellar_hash_close(in->hash);
    cellar_cache_close(in->cache);
    in->hash = h;
    in->cache = c;
    return CELLAR_OK;
}

CELLAR_API int cellar_compact(cellar_db *db, cellar_progress_fn progress, void *payload)
{
    int rc = cellar__db_enter(db, true);
    if (rc != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    char *tmp = cellar__strcat_dup(in->path, "-compact"), *tmpwal = cellar__strcat_dup(in->path, "-compact-wal");
    if (!tmp || !tmpwal) {
        free(tmp);
        free(tmpwal);
        cellar__db_leave(db);
        return cellar__err_oom();
    }
    cellar__write_lock(in);
    rc = cellar__checkpoint(in);
    cellar_db *dst = NULL;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    o.page_size = in->P;
    o.sync = CELLAR_SYNC_OFF;
    o.vfs = in->vfs;
    o.clock = in->clock;
    o.clock_payload = in->clock_payload;
    o.cache_size = (size_t)16 << 20;
    if (rc == CELLAR_OK)
        rc = cellar_open(&dst, tmp, &o);
    if (rc == CELLAR_OK) {
        cellar_hash_meta m;
        cellar_hash_meta_get(in->hash, &m);
        /* The copy hashes keys with this file's seed: hash values computed
         * before the swap (buffered in open transactions, or by writers
         * waiting for write_mu) stay valid after it. */
        cellar_hash_set_seed(dst->inst->hash, m.seed0, m.seed1);
        rc = copy_records(in, dst, progress, payload, m.records);
        int crc = cellar_close(dst);
        if (rc == CELLAR_OK)
            rc = crc;
    }
    if (rc == CELLAR_OK) {
        size_t cache_bytes = cellar_cache_capacity(in->cache) * in->P;
        /* readers step out of the way for the swap */
        cellar__db_leave(db);
        cellar__quiesce_lock(&in->q);
        rc = swap_in(in, tmp);
        if (rc == CELLAR_OK)
            rc = reload(in, cache_bytes);
        if (rc == CELLAR_OK)
            atomic_fetch_add(&in->generation, 1);
        else
            in->broken = rc; /* the log batch restores a consistent state on reopen */
        cellar__quiesce_unlock(&in->q);
        cellar__mutex_unlock(&in->write_mu);
        in->vfs->remove(in->vfs, tmp);
        in->vfs->remove(in->vfs, tmpwal);
        free(tmp);
        free(tmpwal);
        return rc;
    }
    cellar__mutex_unlock(&in->write_mu);
    in->vfs->remove(in->vfs, tmp);
    in->vfs->remove(in->vfs, tmpwal);
    free(tmp);
    free(tmpwal);
    cellar__db_leave(db);
    return rc;
}

CELLAR_API int cellar_backup(cellar_db *db, const char *dest, cellar_progress_fn progress, void *payload)
{
    if (!dest || !*dest)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_backup: destination path is empty");
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    if (strcmp(dest, in->path) == 0) {
        cellar__db_leave(db);
        return cellar__err(CELLAR_EINVAL, 0, "cellar_backup: destination is the database itself");
    }
    cellar__write_lock(in);
    if (in->readonly && cellar_cache_dirty(in->cache))
        rc = cellar__err(CELLAR_EBUSY, 0, "%s: needs recovery by a read-write open before a backup", in->path);
    else
        rc = cellar__checkpoint(in);
    cellar_file *f = NULL;
    uint8_t *buf = NULL;
    uint64_t size = 0;
    if (rc == CELLAR_OK)
        rc = in->vfs->open(in->vfs, dest, CELLAR_VFS_WRITE | CELLAR_VFS_CREATE, 0666, &f);
    if (rc == CELLAR_OK)
        rc = in->vfs->truncate(f, 0);
    if (rc == CELLAR_OK)
        rc = in->vfs->size(in->file, &size);
    if (rc == CELLAR_OK && !(buf = malloc(COPY_CHUNK)))
        rc = cellar__err_oom();
    for (uint64_t off = 0; rc == CELLAR_OK && off < size; off += COPY_CHUNK) {
        size_t n = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
        rc = cellar__os_read_full(in->vfs, in->file, buf, n, off);
        if (rc == CELLAR_OK)
            rc = in->vfs->write(f, buf, n, off);
        if (rc == CELLAR_OK && progress && progress(off + n, size, payload))
            rc = cellar__err(CELLAR_ECANCELED, 0, "backup canceled by the progress callback");
    }
    if (rc == CELLAR_OK)
        rc = in->vfs->sync(f);
    cellar__mutex_unlock(&in->write_mu);
    if (f)
        in->vfs->close(f);
    free(buf);
    if (rc == CELLAR_OK) {
        /* a stale log beside the copy belongs to another file id and would be
         * ignored, but remove it so the copy stands alone */
        char *w = cellar__strcat_dup(dest, "-wal");
        if (w) {
            in->vfs->remove(in->vfs, w);
            free(w);
        }
    }
    cellar__db_leave(db);
    return rc;
}

CELLAR_API int cellar_check(cellar_db *db, cellar_report_fn report, cellar_progress_fn progress,
                            void *payload, uint64_t *out)
{
    if (out)
        *out = 0;
    int rc = cellar__db_enter(db, false);
    if (rc != CELLAR_OK)
        return rc;
    cellar_inst *in = db->inst;
    cellar__write_lock(in);
    rc = cellar_hash_check(in->hash, report, progress, payload, out);
    cellar__mutex_unlock(&in->write_mu);
    cellar__db_leave(db);
    return rc;
}

/* ------------------------------------------------------------------ */
/* salvage                                                             */
/* ------------------------------------------------------------------ */

static uint32_t guess_page_size(const cellar_vfs *vfs, cellar_file *f, uint64_t size)
{
    uint8_t h[HDR_LEN];
    if (cellar__os_read_full(vfs, f, h, HDR_LEN, 0) == CELLAR_OK && memcmp(h, CELLAR_HEADER_MAGIC, 8) == 0) {
        uint32_t P = cellar__get32(h + 12);
        if (P >= CELLAR_MIN_PAGE_SIZE && P <= CELLAR_MAX_PAGE_SIZE && (P & (P - 1)) == 0)
            return P;
    }
    uint8_t *pg = malloc(CELLAR_MAX_PAGE_SIZE);
    uint32_t found = 4096;
    for (uint32_t P = CELLAR_MIN_PAGE_SIZE; pg && P <= CELLAR_MAX_PAGE_SIZE; P *= 2) {
        int hits = 0;
        for (uint32_t p = 1; p < 9 && (uint64_t)(p + 1) * P <= size; p++)
            if (cellar__os_read_full(vfs, f, pg, P, (uint64_t)p * P) == CELLAR_OK &&
                (cellar__page_ok(pg, p, P) || cellar__page_ok(pg, cellar__get32(pg + BK_SELF), P)))
                hits++;
        if (hits) {
            found = P;
            break;
        }
    }
    free(pg);
    return found;
}

/* Shadow paging leaves older copies of pages in free space. When a meta
 * page and the page map it names still read back, only the pages the map
 * places are salvaged (one per logical page, the current ones); otherwise
 * NULL, and every page is tried (older copies may then bring back older
 * values of some keys). */
static uint8_t *live_pages(const cellar_vfs *vfs, cellar_file *f, const char *src, uint32_t P, uint64_t size)
{
    cellar_inst in;
    memset(&in, 0, sizeof in);
    in.path = cellar__strdup(src);
    in.P = P;
    if (!in.path)
        return NULL;
    uint8_t hdr[HDR_LEN];
    cellar_cache *c = NULL;
    if (cellar_cache_open(&c, vfs, f, src, P, (size_t)1 << 20) != CELLAR_OK) {
        free(in.path);
        return NULL;
    }
    for (unsigned i = 0; i < CELLAR_META_SLOTS && !in.file_id; i++)
        if (cellar__os_read_full(vfs, f, hdr, HDR_LEN, (uint64_t)i * P) == CELLAR_OK &&
            cellar__get32(hdr + 16) == cellar__header_crc(hdr) && cellar__get32(hdr + 12) == P)
            in.file_id = cellar__get64(hdr + 24);
    uint64_t pages = size / P;
    uint8_t *live = NULL;
    cellar_hash_meta m;
    cellar_space_meta sm;
    if (in.file_id && cellar__meta_read(&in, c, hdr, size) == CELLAR_OK) {
        cellar__header_meta(hdr, &m, &sm);
        if (cellar_cache_space_load(c, &sm, pages) == CELLAR_OK && (live = calloc(pages ? pages : 1, 1))) {
            for (uint32_t l = 1; l < cellar_cache_map_len(c); l++) {
                uint32_t at = cellar_cache_place_of(c, l);
                if (at && at < pages)
                    live[at] = 1;
            }
        }
    }
    cellar_cache_close(c);
    free(in.path);
    return live;
}

CELLAR_API int cellar_salvage(const char *src, const char *dest, cellar_progress_fn progress, void *payload,
                              uint64_t *out)
{
    if (out)
        *out = 0;
    if (!src || !dest || !*src || !*dest)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_salvage: empty path");
    const cellar_vfs *vfs = cellar_vfs_posix();
    cellar_file *f = NULL;
    int rc = vfs->open(vfs, src, CELLAR_VFS_READ, 0, &f);
    if (rc != CELLAR_OK)
        return rc;
    rc = vfs->lock(f, CELLAR_LOCK_SH, 0);
    if (rc == CELLAR_ELOCKED)
        rc = cellar__err(CELLAR_ELOCKED, 0, "%s: database is locked by a writer", src);
    uint64_t size = 0;
    if (rc == CELLAR_OK)
        rc = vfs->size(f, &size);
    uint32_t P = rc == CELLAR_OK ? guess_page_size(vfs, f, size) : 4096;
    cellar_db *dst = NULL;
    cellar_options o = CELLAR_OPTIONS_INIT;
    o.flags = CELLAR_CREATE | CELLAR_TRUNCATE;
    o.page_size = P;
    o.sync = CELLAR_SYNC_OFF;
    if (rc == CELLAR_OK)
        rc = cellar_open(&dst, dest, &o);
    uint8_t *pg = malloc(P);
    if (rc == CELLAR_OK && !pg)
        rc = cellar__err_oom();
    uint8_t *live = rc == CELLAR_OK ? live_pages(vfs, f, src, P, size) : NULL;
    uint64_t pages = size / P, copied = 0, now = cellar__now_ms();
    for (uint64_t p = 1; rc == CELLAR_OK && p < pages && p < UINT32_MAX; p++) {
        if (progress && (p & 255) == 0 && progress(p, pages, payload)) {
            rc = cellar__err(CELLAR_ECANCELED, 0, "salvage canceled by the progress callback");
            break;
        }
        if (live && !live[p])
            continue;
        /* bucket and chain pages are sealed with their logical number, which they hold */
        if (cellar__os_read_full(vfs, f, pg, P, p * P) != CELLAR_OK || !cellar__page_ok(pg, cellar__get32(pg + BK_SELF), P))
            continue;
        if ((pg[BK_TYPE] != CELLAR_PAGE_BUCKET && pg[BK_TYPE] != CELLAR_PAGE_CHAIN) || !cellar__bk_sane(pg, P))
            continue;
        unsigned ns = bk_nslots(pg);
        for (unsigned i = 0; i < ns && rc == CELLAR_OK; i++) {
            rec r;
            if (!cellar__rec_decode(pg, P, bk_slot_off(pg, i), &r))
                continue;
            if (r.expiry && r.expiry <= now)
                continue;
            uint64_t ttl = r.expiry ? r.expiry - now : 0;
            if (!(r.flags & REC_LARGE)) {
                rc = cellar_put_ttl(dst, r.key, r.klen, r.val, r.vlen, ttl);
                copied += rc == CELLAR_OK;
                continue;
            }
            uint64_t n = r.klen + r.vlen;
            if ((uint64_t)r.extent * P + n > size)
                continue;
            uint8_t *buf = malloc(n ? n : 1);
            if (!buf) {
                rc = cellar__err_oom();
                break;
            }
            if (cellar__os_read_full(vfs, f, buf, n, (uint64_t)r.extent * P) == CELLAR_OK &&
                cellar__crc32c(0, buf, n) == r.crc) {
                rc = cellar_put_ttl(dst, buf, r.klen, buf + r.klen, r.vlen, ttl);
                copied += rc == CELLAR_OK;
            }
            free(buf);
        }
    }
    free(pg);
    free(live);
    int crc = cellar_close(dst);
    if (rc == CELLAR_OK)
        rc = crc;
    vfs->close(f);
    if (out)
        *out = copied;
    return rc;
}
