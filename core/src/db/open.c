/*
 * open.c - opening, recovery, checkpoints and closing.
 *
 * Meta page (physical pages 0 and 1, two copies; the one with the higher
 * generation whose checksum holds is current; byte layout also in
 * core/doc/FORMAT.md):
 *   0  u8[8] magic "CELLARDB"   8  u32 format version (2)   12 u32 page size
 *   16 u32 crc32c of bytes 0..15 and 20..255            20 u32 flags (0)
 *   24 u64 file id   32 u64 seed0   40 u64 seed1   48 u32 global depth
 *   52 u32 directory start (logical)   56 u32 directory pages
 *   60 u32 map index start   64 u32 map index pages   68 u32 file pages
 *   72 u64 records   80 u64 records with a TTL   88 u64 checkpoint generation
 *   96 u64 salt of the log whose records follow this checkpoint
 *   104 u32 logical pages   108 u32 free-list start   112 u32 free-list pages
 *   116 u32 bucket pages   120 u32 chain pages   124 u32 value-extent pages
 *   128 u64 used bytes of bucket and chain pages (record bytes + 4-byte slots)
 *   136..255 reserved (0)
 * The counters at 116..135 (like the record counts at 72 and 80) are what
 * cellar_stats reports without reading pages; cellar_check recounts them.
 *
 * Checkpoint (write_mu held; readers go on), shadow paging (cache/space.c):
 *   1. every dirty page is written back, once, to a place the last durable
 *      checkpoint does not use; then the changed map pages, a new map index
 *      and a new free list, also to fresh places; fsync of the data file;
 *   2. the meta page of generation g+1 goes to slot (g+1) % 2, naming a new
 *      log salt; fsync;
 *   3. the log is emptied with that salt.
 * A crash before 2 is durable leaves generation g intact (nothing it refers
 * to was written over) and the log it names; a torn meta page fails its
 * checksum and the other copy is used. After 2, the log still holding the
 * old salt is known to be covered by the checkpoint and is not replayed.
 * No page is written twice and nothing is written in place but the meta.
 */
#include "db/db_int.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The open instances, one per file. An open holds registry_mu throughout;
 * the last close does not hold it while it waits for the instance's users
 * (a compact on that instance opens its copy through the registry) and
 * checkpoints: the instance stays listed, marked closing, and an open of the
 * same file waits on registry_cv until it is gone. */
static cellar_mutex registry_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t registry_cv = PTHREAD_COND_INITIALIZER;
static cellar_inst *registry;
static _Atomic unsigned long fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In the child: handles from before the fork are refused (EFORK), and the
 * child's copies of their descriptors are closed so that the parent's file
 * lock ends when the parent closes. No other thread runs in the child, so the
 * registry is walked without its mutex (which another thread may have held). */
static void on_fork_child(void)
{
    atomic_fetch_add(&fork_gen, 1);
    for (cellar_inst *in = registry; in; in = in->next) {
        cellar__os_drop_inherited(in->vfs, in->file);
        if (in->wal)
            cellar__os_drop_inherited(in->vfs, cellar_wal_file(in->wal));
    }
}
static void atfork_init(void) { pthread_atfork(NULL, NULL, on_fork_child); }

/* ------------------------------------------------------------------ */
/* the big-reader lock                                                 */
/* ------------------------------------------------------------------ */

static _Atomic unsigned slot_next;
static _Thread_local unsigned t_slot = UINT32_MAX;

static unsigned my_slot(void)
{
    if (t_slot == UINT32_MAX)
        t_slot = atomic_fetch_add(&slot_next, 1) % QSLOTS;
    return t_slot;
}

static void quiesce_enter(quiesce *q)
{
    qslot *s = &q->slot[my_slot()];
    for (;;) {
        atomic_fetch_add(&s->n, 1);
        if (!atomic_load(&q->closing))
            return;
        atomic_fetch_sub(&s->n, 1);
        cellar__mutex_lock(&q->mu); /* wait for the exclusive holder */
        cellar__mutex_unlock(&q->mu);
    }
}

static void quiesce_leave(quiesce *q) { atomic_fetch_sub(&q->slot[my_slot()].n, 1); }

void cellar__quiesce_lock(quiesce *q)
{
    cellar__mutex_lock(&q->mu);
    atomic_store(&q->closing, 1);
    for (unsigned i = 0; i < QSLOTS; i++)
        while (atomic_load(&q->slot[i].n) != 0)
            sched_yield();
}

void cellar__quiesce_unlock(quiesce *q)
{
    atomic_store(&q->closing, 0);
    cellar__mutex_unlock(&q->mu);
}

/* ------------------------------------------------------------------ */
/* handles                                                             */
/* ------------------------------------------------------------------ */

int cellar__db_enter(cellar_db *db, bool write)
{
    if (!db)
        return cellar__err(CELLAR_EINVAL, 0, "database handle is NULL");
    if (atomic_load(&db->closed))
        return cellar__err(CELLAR_ECLOSED, 0, "database handle is closed");
    cellar_inst *in = db->inst;
    if (in->fork_gen != atomic_load(&fork_gen))
        return cellar__err(CELLAR_EFORK, 0, "%s: handle opened in the parent process used after fork()", in->path);
    if (write && db->readonly)
        return cellar__err(CELLAR_EREADONLY, 0, "%s: opened read-only", in->path);
    if (in->broken || (in->wal && cellar_wal_failed(in->wal)))
        return cellar__err(CELLAR_EIO, 0, "%s: an earlier I/O error left this handle behind its log; close and reopen the database", in->path);
    quiesce_enter(&in->q);
    return CELLAR_OK;
}

void cellar__db_leave(cellar_db *db) { quiesce_leave(&db->inst->q); }

void cellar__write_lock(cellar_inst *in)
{
    if (cellar__mutex_trylock(&in->write_mu))
        return;
    quiesce_leave(&in->q);
    cellar__mutex_lock(&in->write_mu);
    /* With write_mu held nobody can be taking quiesce exclusively (compact
     * does so only under write_mu; the last close races no other call). */
    quiesce_enter(&in->q);
}

uint64_t cellar__db_now(cellar_inst *in)
{
    return in->clock ? in->clock(in->clock_payload) : cellar__now_ms();
}

int cellar__child_attach(cellar_db *db, child *c)
{
    c->db = db;
    atomic_store(&c->dead, 0);
    atomic_fetch_add(&db->refs, 1);
    cellar__mutex_lock(&db->children_mu);
    c->prev = NULL;
    c->next = db->children;
    if (db->children)
        db->children->prev = c;
    db->children = c;
    cellar__mutex_unlock(&db->children_mu);
    return CELLAR_OK;
}

void cellar__db_unref(cellar_db *db)
{
    if (atomic_fetch_sub(&db->refs, 1) == 1) {
        cellar__mutex_destroy(&db->children_mu);
        free(db);
    }
}

void cellar__child_detach(child *c)
{
    cellar_db *db = c->db;
    cellar__mutex_lock(&db->children_mu);
    if (c->prev)
        c->prev->next = c->next;
    else if (db->children == c)
        db->children = c->next;
    if (c->next)
        c->next->prev = c->prev;
    cellar__mutex_unlock(&db->children_mu);
    cellar__db_unref(db);
}

/* ------------------------------------------------------------------ */
/* header                                                              */
/* ------------------------------------------------------------------ */

uint32_t cellar__header_crc(const uint8_t *h)
{
    return cellar__crc32c(cellar__crc32c(0, h, 16), h + 20, HDR_LEN - 20);
}

static void header_encode(cellar_inst *in, const cellar_hash_meta *m, const cellar_space_meta *sm, uint64_t gen,
                          uint64_t salt, uint8_t *pg)
{
    memset(pg, 0, in->P);
    memcpy(pg, CELLAR_HEADER_MAGIC, 8); /* NOLINT(bugprone-not-null-terminated-result): an 8-byte tag, no NUL */
    cellar__put32(pg + 8, CELLAR_FORMAT_VERSION);
    cellar__put32(pg + 12, in->P);
    cellar__put64(pg + 24, in->file_id);
    cellar__put64(pg + 32, m->seed0);
    cellar__put64(pg + 40, m->seed1);
    cellar__put32(pg + 48, m->global_depth);
    cellar__put32(pg + 52, m->dir_start);
    cellar__put32(pg + 56, m->dir_pages);
    cellar__put32(pg + 60, sm->index_start);
    cellar__put32(pg + 64, sm->index_pages);
    cellar__put32(pg + 68, sm->phys_pages);
    cellar__put64(pg + 72, m->records);
    cellar__put64(pg + 80, m->ttl_records);
    cellar__put64(pg + 88, gen);
    cellar__put64(pg + 96, salt);
    cellar__put32(pg + 104, sm->map_len);
    cellar__put32(pg + 108, sm->free_start);
    cellar__put32(pg + 112, sm->free_pages);
    cellar__put32(pg + 116, m->bucket_pages);
    cellar__put32(pg + 120, m->chain_pages);
    cellar__put32(pg + 124, m->value_pages);
    cellar__put64(pg + 128, m->used_bytes);
    cellar__put32(pg + 16, cellar__header_crc(pg));
}

static bool page_size_ok(uint32_t P)
{
    return P >= CELLAR_MIN_PAGE_SIZE && P <= CELLAR_MAX_PAGE_SIZE && (P & (P - 1)) == 0;
}

/* Judge a header: CELLAR_OK, ENOTDB, EVERSION or ECORRUPT (crc). */
static int header_judge(const char *path, const uint8_t *h, size_t got)
{
    if (got < 8 || memcmp(h, CELLAR_HEADER_MAGIC, 8) != 0)
        return cellar__err(CELLAR_ENOTDB, 0, "%s: not a cellardb database (bad magic)", path);
    if (got < HDR_LEN)
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: page 0: file is truncated (%zu bytes)", path, got);
    uint32_t ver = cellar__get32(h + 8);
    bool crc_ok = cellar__get32(h + 16) == cellar__header_crc(h);
    /* A newer version is believed when its header checks out, or when the
     * number is a plausible next one; a garbage number is corruption. */
    if (ver > CELLAR_FORMAT_VERSION && (crc_ok || ver <= CELLAR_FORMAT_VERSION + 16))
        return cellar__err(CELLAR_EVERSION, 0, "%s: format version %u is newer than this library's (%u)",
                           path, ver, CELLAR_FORMAT_VERSION);
    if (ver == 1 && crc_ok)
        return cellar__err(CELLAR_EVERSION, 0,
                           "%s: format version 1 is older than this library's (%u); convert it with the "
                           "cellardb release that wrote it: `cellardb FILE dump > FILE.dump`, then with this one: "
                           "`cellardb NEWFILE load < FILE.dump`", path, CELLAR_FORMAT_VERSION);
    if (ver == 0 || !crc_ok || !page_size_ok(cellar__get32(h + 12)))
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: page 0: header checksum mismatch", path);
    return CELLAR_OK;
}

void cellar__header_meta(const uint8_t *hdr, cellar_hash_meta *out, cellar_space_meta *sm)
{
    out->seed0 = cellar__get64(hdr + 32);
    out->seed1 = cellar__get64(hdr + 40);
    out->global_depth = cellar__get32(hdr + 48);
    out->dir_start = cellar__get32(hdr + 52);
    out->dir_pages = cellar__get32(hdr + 56);
    out->records = cellar__get64(hdr + 72);
    out->ttl_records = cellar__get64(hdr + 80);
    out->bucket_pages = cellar__get32(hdr + 116);
    out->chain_pages = cellar__get32(hdr + 120);
    out->value_pages = cellar__get32(hdr + 124);
    out->used_bytes = cellar__get64(hdr + 128);
    sm->index_start = cellar__get32(hdr + 60);
    sm->index_pages = cellar__get32(hdr + 64);
    sm->phys_pages = cellar__get32(hdr + 68);
    sm->map_len = cellar__get32(hdr + 104);
    sm->free_start = cellar__get32(hdr + 108);
    sm->free_pages = cellar__get32(hdr + 112);
}

/* ------------------------------------------------------------------ */
/* checkpoint                                                          */
/* ------------------------------------------------------------------ */

int cellar__checkpoint(cellar_inst *in)
{
    if (in->readonly)
        return CELLAR_OK;
    const cellar_vfs *vfs = in->vfs;
    cellar_space_meta sm;
    uint8_t *pg = calloc(1, in->P);
    int rc = pg ? cellar_hash_meta_pages(in->hash) : cellar__err_oom();
    if (rc == CELLAR_OK)
        rc = cellar_cache_checkpoint(in->cache, &sm);
    /* Past this point a failure leaves the file in doubt: after a failed
     * fsync the system may have dropped pages it was asked to write, and a
     * meta page whose write or fsync failed may yet be on disk, naming a log
     * salt the log does not have. The handle refuses further use; a reopen
     * recovers from whichever checkpoint is durable, with its log. */
    bool doubt = false;
    if (rc == CELLAR_OK) {
        /* the file holds every page the meta counts, even free ones at its
         * end that were allocated and never written (a failed write) */
        uint64_t size = 0;
        rc = vfs->size(in->file, &size);
        if (rc == CELLAR_OK && size < (uint64_t)sm.phys_pages * in->P)
            rc = vfs->truncate(in->file, (uint64_t)sm.phys_pages * in->P);
    }
    if (rc == CELLAR_OK) {
        rc = vfs->sync(in->file); /* everything the new meta names, value extents too */
        doubt = rc != CELLAR_OK;
    }
    uint64_t salt = 0;
    cellar__random(&salt, sizeof salt);
    salt |= 1; /* never 0, which means "no log" */
    if (rc == CELLAR_OK) {
        cellar_hash_meta m;
        cellar_hash_meta_get(in->hash, &m);
        header_encode(in, &m, &sm, in->ck_gen + 1, salt, pg);
        rc = vfs->write(in->file, pg, in->P, (uint64_t)((in->ck_gen + 1) % CELLAR_META_SLOTS) * in->P);
        if (rc == CELLAR_OK)
            rc = vfs->sync(in->file);
        doubt = rc != CELLAR_OK;
    }
    free(pg);
    if (doubt)
        in->broken = rc;
    bool ok = rc == CELLAR_OK;
    int drc = cellar_cache_checkpoint_done(in->cache, ok, ok && cellar_hash_extents_idle(in->hash));
    if (!ok)
        return rc;
    in->ck_gen++;
    in->checkpoints++;
    /* the log that follows this checkpoint: its salt is the one the meta
     * names; until it is written, the old log is known to be covered */
    rc = cellar_wal_reset_salt(in->wal, salt);
    if (rc != CELLAR_OK) {
        in->broken = rc; /* commits appended to the old log would not be replayed */
        return rc;
    }
    return drc;
}

int cellar__checkpoint_compact(cellar_inst *in)
{
    int rc = cellar__checkpoint(in);
    /* shadow paging leaves the old places free inside the file: move the
     * pages at the end down into them, then the end is given back (the
     * first checkpoint records the moves, the second frees what they left) */
    uint32_t moved = 0;
    if (rc == CELLAR_OK)
        rc = cellar_cache_move_down(in->cache, &moved);
    if (rc == CELLAR_OK && moved)
        rc = cellar__checkpoint(in);
    if (rc == CELLAR_OK && moved)
        rc = cellar__checkpoint(in);
    return rc;
}

int cellar__maybe_checkpoint(cellar_inst *in)
{
    if (in->readonly)
        return CELLAR_OK;
    cellar_cache *c = in->cache;
    /* A checkpoint writes every page dirtied since the last one, and random
     * writes dirty nearly all of them: with no wal_limit given, the log may
     * grow with the data (to half its size, 64 MiB to 1 GiB), so the cost of
     * checkpoints per commit stays flat as the database grows. */
    uint64_t limit = in->wal_limit;
    if (in->wal_auto) {
        uint64_t half = (uint64_t)cellar_cache_map_len(c) * in->P / 2;
        if (half > limit)
            limit = half < ((uint64_t)1 << 30) ? half : ((uint64_t)1 << 30);
    }
    if (cellar_wal_end(in->wal) > limit || cellar_cache_space_crowded(c))
        return cellar__checkpoint(in);
    return cellar__cache_pressure(in);
}

int cellar__cache_pressure(cellar_inst *in)
{
    if (in->readonly)
        return CELLAR_OK;
    cellar__cache_autosize(in);
    return cellar_cache_relieve(in->cache);
}

size_t cellar__cache_auto_bound(void)
{
    /* a quarter of the machine's memory, at least the starting budget */
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
    uint64_t b = ram / 4;
    if (b < CELLAR_CACHE_START)
        b = CELLAR_CACHE_START;
    if (b > SIZE_MAX / 2)
        b = SIZE_MAX / 2;
    return (size_t)b;
}

void cellar__cache_autosize(cellar_inst *in)
{
    /* no cache_size given: the budget follows the data, up to a bound */
    if (!in->cache_auto)
        return;
    size_t cap = cellar_cache_capacity(in->cache), max = in->cache_auto_max / in->P;
    size_t pages = cellar_cache_map_len(in->cache);
    if (pages + pages / 8 < cap || cap >= max)
        return;
    size_t want = pages + pages / 2;
    cellar_cache_set_capacity(in->cache, (want < max ? want : max) * in->P);
}

/* ------------------------------------------------------------------ */
/* the log flusher (sync=normal)                                       */
/* ------------------------------------------------------------------ */

static void *flusher_main(void *arg)
{
    cellar_inst *in = arg;
    cellar__mutex_lock(&in->flush_mu);
    while (!in->flusher_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&in->flush_cv, &in->flush_mu, &ts);
        if (in->flusher_stop)
            break;
        cellar__mutex_unlock(&in->flush_mu);
        uint64_t w = cellar_wal_written(in->wal);
        if (cellar_wal_durable(in->wal) < w)
            cellar_wal_sync(in->wal, w); /* a failure is retried next second */
        cellar__mutex_lock(&in->flush_mu);
    }
    cellar__mutex_unlock(&in->flush_mu);
    return NULL;
}

static void flusher_stop(cellar_inst *in)
{
    if (!in->flusher_on)
        return;
    cellar__mutex_lock(&in->flush_mu);
    in->flusher_stop = true;
    pthread_cond_signal(&in->flush_cv);
    cellar__mutex_unlock(&in->flush_mu);
    pthread_join(in->flusher, NULL);
    in->flusher_on = false;
}

/* ------------------------------------------------------------------ */
/* open                                                                */
/* ------------------------------------------------------------------ */

static void inst_free(cellar_inst *in)
{
    if (!in)
        return;
    flusher_stop(in);
    cellar_wal_close(in->wal);
    cellar_hash_close(in->hash);
    cellar_cache_close(in->cache);
    if (in->file)
        in->vfs->close(in->file);
    cellar__mutex_destroy(&in->write_mu);
    cellar__mutex_destroy(&in->q.mu);
    cellar__mutex_destroy(&in->flush_mu);
    cellar__cond_destroy(&in->flush_cv);
    free(in->scratch);
    free(in->path);
    free(in->wal_path);
    free(in);
}

static int replay_one(void *ctx, const uint8_t *payload, size_t len, uint64_t off)
{
    return cellar__apply_record(ctx, payload, len, off);
}

static int batch_to_file(void *ctx, uint32_t pgno, const uint8_t *image)
{
    cellar_inst *in = ctx;
    return in->vfs->write(in->file, image, in->P, (uint64_t)pgno * in->P);
}

/* Read-only: the batch goes to the cache's memory overlay, where page loads
 * and raw reads find it before the file. */
static int batch_to_overlay(void *ctx, uint32_t pgno, const uint8_t *image)
{
    cellar_inst *in = ctx;
    return cellar_cache_write_raw(in->cache, pgno, 0, image, in->P);
}

/* Page size and file id from the log's header, when the meta pages are torn. */
static int peek_log(cellar_inst *in, uint32_t *P, uint64_t *id)
{
    cellar_file *f = NULL;
    uint8_t h[CELLAR_WAL_HEADER];
    int rc = in->vfs->open(in->vfs, in->wal_path, CELLAR_VFS_READ | CELLAR_VFS_NOFOLLOW, 0, &f);
    if (rc != CELLAR_OK)
        return rc;
    rc = cellar__os_read_full(in->vfs, f, h, sizeof h, 0);
    in->vfs->close(f);
    if (rc != CELLAR_OK || memcmp(h, "CELLWAL1", 8) != 0 || cellar__get32(h + 32) != cellar__crc32c(0, h, 32))
        return CELLAR_ECORRUPT;
    *P = cellar__get32(h + 12);
    *id = cellar__get64(h + 16);
    return page_size_ok(*P) ? CELLAR_OK : CELLAR_ECORRUPT;
}

static int create_new(cellar_inst *in, const cellar_options *o, size_t cache_size)
{
    in->P = o->page_size ? o->page_size : 4096;
    cellar__random(&in->file_id, sizeof in->file_id);
    uint64_t seed[2];
    cellar__random(seed, sizeof seed);
    int rc = cellar_cache_open(&in->cache, in->vfs, in->file, in->path, in->P, cache_size);
    if (rc == CELLAR_OK) {
        cellar_cache_space_init(in->cache);
        rc = cellar_hash_create(&in->hash, in->cache, in->path, in->P, seed[0], seed[1]);
    }
    if (rc == CELLAR_OK)
        cellar_hash_set_clock(in->hash, in->clock, in->clock_payload);
    if (rc == CELLAR_OK)
        rc = cellar_wal_open(&in->wal, in->vfs, in->wal_path, in->P, in->file_id, in->sync, false);
    uint64_t resume;
    bool has_batch;
    if (rc == CELLAR_OK)
        rc = cellar_wal_scan(in->wal, &resume, &has_batch);
    /* generations 1 and 2: both meta slots hold a valid copy from the start */
    if (rc == CELLAR_OK)
        rc = cellar__checkpoint(in);
    if (rc == CELLAR_OK)
        rc = cellar__checkpoint(in);
    return rc;
}

/* The current meta page of the two (valid checksum, higher generation), as
 * read through the cache's raw reads (so a read-only open sees a compact
 * batch it holds in memory). */
int cellar__meta_read(cellar_inst *in, cellar_cache *c, uint8_t *hdr, uint64_t file_size)
{
    uint8_t two[2][HDR_LEN];
    int judged[2];
    for (unsigned i = 0; i < CELLAR_META_SLOTS; i++) {
        memset(two[i], 0, HDR_LEN);
        size_t got = file_size >= (uint64_t)i * in->P + HDR_LEN ? HDR_LEN : 0;
        int rc = got ? cellar_cache_read_raw(c, i, 0, two[i], HDR_LEN) : CELLAR_OK;
        if (rc != CELLAR_OK)
            return rc;
        judged[i] = header_judge(in->path, two[i], got);
        if (judged[i] == CELLAR_EVERSION)
            return judged[i];
        if (judged[i] == CELLAR_OK &&
            (cellar__get32(two[i] + 12) != in->P || cellar__get64(two[i] + 24) != in->file_id))
            judged[i] = cellar__err(CELLAR_ECORRUPT, 0, "%s: meta page %u does not match the other", in->path, i);
    }
    int pick = -1;
    for (int i = 0; i < (int)CELLAR_META_SLOTS; i++)
        if (judged[i] == CELLAR_OK && (pick < 0 || cellar__get64(two[i] + 88) > cellar__get64(two[pick] + 88)))
            pick = i;
    if (pick < 0)
        return header_judge(in->path, two[0], file_size < HDR_LEN ? (size_t)file_size : HDR_LEN) == CELLAR_ENOTDB
                   ? CELLAR_ENOTDB
                   : cellar__err(CELLAR_ECORRUPT, 0, "%s: page 0: no meta page checks out", in->path);
    memcpy(hdr, two[pick], HDR_LEN);
    return CELLAR_OK;
}

int cellar__index_load(cellar_inst *in, cellar_cache *c, uint64_t file_size, uint64_t file_pages, uint8_t *hdr,
                       cellar_hash **out)
{
    int rc = cellar__meta_read(in, c, hdr, file_size);
    cellar_hash_meta m;
    cellar_space_meta sm;
    if (rc == CELLAR_OK) {
        cellar__header_meta(hdr, &m, &sm);
        rc = cellar_cache_space_load(c, &sm, file_pages);
    }
    if (rc == CELLAR_OK)
        rc = cellar_hash_open(out, c, in->path, in->P, &m);
    if (rc != CELLAR_OK)
        return rc;
    cellar_hash_set_clock(*out, in->clock, in->clock_payload);
    in->ck_gen = cellar__get64(hdr + 88);
    return CELLAR_OK;
}

static int load_existing(cellar_inst *in, size_t cache_size, uint64_t file_size)
{
    uint8_t hdr[HDR_LEN] = { 0 };
    size_t got = 0;
    int rc = in->vfs->read(in->file, hdr, HDR_LEN, 0, &got);
    if (rc != CELLAR_OK)
        return rc;
    int judged = header_judge(in->path, hdr, got);
    if (judged == CELLAR_EVERSION)
        return judged;
    if (judged == CELLAR_OK) {
        in->P = cellar__get32(hdr + 12);
        in->file_id = cellar__get64(hdr + 24);
    } else {
        /* slot 0 torn or never written: slot 1, else the log, knows */
        uint8_t h1[HDR_LEN];
        size_t g1 = 0;
        bool one = false;
        for (uint32_t P = CELLAR_MIN_PAGE_SIZE; P <= CELLAR_MAX_PAGE_SIZE && !one; P *= 2) {
            if (in->vfs->read(in->file, h1, HDR_LEN, P, &g1) == CELLAR_OK && g1 == HDR_LEN &&
                header_judge(in->path, h1, HDR_LEN) == CELLAR_OK && cellar__get32(h1 + 12) == P) {
                in->P = P;
                in->file_id = cellar__get64(h1 + 24);
                one = true;
            }
        }
        if (!one && (judged == CELLAR_ENOTDB || peek_log(in, &in->P, &in->file_id) != CELLAR_OK))
            return header_judge(in->path, hdr, got); /* re-record the first page's error */
    }
    rc = cellar_cache_open(&in->cache, in->vfs, in->file, in->path, in->P, cache_size);
    if (rc == CELLAR_OK && in->readonly)
        cellar_cache_set_memory_only(in->cache); /* recovery writes nothing to the file */
    if (rc == CELLAR_OK)
        rc = cellar_wal_open(&in->wal, in->vfs, in->wal_path, in->P, in->file_id, in->sync, in->readonly);
    uint64_t resume = 0;
    bool has_batch = false;
    if (rc == CELLAR_OK)
        rc = cellar_wal_scan(in->wal, &resume, &has_batch);
    if (rc != CELLAR_OK)
        return rc;
    uint64_t file_pages = file_size / in->P;
    if (has_batch) {
        /* a compact's swap: its pages go over the file first */
        if (in->readonly) {
            rc = cellar_wal_batch_pages(in->wal, batch_to_overlay, in);
            file_pages = UINT32_MAX; /* pages may live in the overlay only */
            file_size = (uint64_t)UINT32_MAX * in->P;
        } else {
            rc = cellar_wal_batch_pages(in->wal, batch_to_file, in);
            if (rc == CELLAR_OK)
                rc = in->vfs->sync(in->file);
            if (rc == CELLAR_OK && (rc = in->vfs->size(in->file, &file_size)) == CELLAR_OK)
                file_pages = file_size / in->P;
        }
        if (rc != CELLAR_OK)
            return rc;
    }
    if ((rc = cellar__index_load(in, in->cache, file_size, file_pages, hdr, &in->hash)) != CELLAR_OK)
        return rc;
    cellar__cache_autosize(in); /* an automatic budget fits the data from the start */
    /* the log this checkpoint names holds the commits after it; any other
     * log is older and covered */
    bool ours = cellar_wal_salt(in->wal) == cellar__get64(hdr + 96);
    if (ours && cellar_wal_has_records(in->wal))
        rc = cellar_wal_replay(in->wal, CELLAR_WAL_HEADER, replay_one, in);
    if (rc == CELLAR_OK && !in->readonly && (!ours || cellar_wal_has_records(in->wal) || has_batch))
        rc = cellar__checkpoint(in);
    return rc;
}

static int open_inst(cellar_inst *in, const cellar_options *o)
{
    unsigned vflags = in->readonly ? CELLAR_VFS_READ : CELLAR_VFS_WRITE | ((o->flags & CELLAR_CREATE) ? CELLAR_VFS_CREATE : 0);
    int rc = in->vfs->open(in->vfs, in->path, vflags, o->mode ? o->mode : 0666, &in->file);
    if (rc != CELLAR_OK)
        return rc;
    return CELLAR_OK;
}

static int finish_open(cellar_inst *in, const cellar_options *o, size_t cache_size)
{
    int rc = in->vfs->lock(in->file, in->readonly ? CELLAR_LOCK_SH : CELLAR_LOCK_EX, o->lock_timeout_ms);
    if (rc == CELLAR_ELOCKED)
        return cellar__err(CELLAR_ELOCKED, 0, "%s: database is locked by another process", in->path);
    if (rc != CELLAR_OK)
        return rc;
    if (o->flags & CELLAR_TRUNCATE) {
        rc = in->vfs->truncate(in->file, 0);
        if (rc == CELLAR_OK) {
            rc = in->vfs->remove(in->vfs, in->wal_path);
            if (rc == CELLAR_ENOENT)
                rc = CELLAR_OK;
        }
        if (rc != CELLAR_OK)
            return rc;
    }
    uint64_t size = 0;
    if ((rc = in->vfs->size(in->file, &size)) != CELLAR_OK)
        return rc;
    if (size == 0) {
        if (in->readonly)
            return cellar__err(CELLAR_ENOTDB, 0, "%s: empty file is not a cellardb database", in->path);
        rc = create_new(in, o, cache_size);
    } else {
        rc = load_existing(in, cache_size, size);
    }
    if (rc == CELLAR_OK && !in->readonly && in->sync == CELLAR_SYNC_NORMAL) {
        if (pthread_create(&in->flusher, NULL, flusher_main, in) == 0)
            in->flusher_on = true;
    }
    return rc;
}

static int make_handle(cellar_inst *in, bool readonly, cellar_db **out)
{
    cellar_db *db = calloc(1, sizeof *db);
    if (!db)
        return cellar__err_oom();
    db->inst = in;
    db->readonly = readonly;
    atomic_store(&db->refs, 1);
    cellar__mutex_init(&db->children_mu);
    *out = db;
    return CELLAR_OK;
}

CELLAR_API int cellar_open(cellar_db **out, const char *path, const cellar_options *opts)
{
    if (!out)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_open: out is NULL");
    *out = NULL;
    pthread_once(&atfork_once, atfork_init);
    if (!path || !*path)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_open: path is empty");
    cellar_options o = CELLAR_OPTIONS_INIT;
    if (opts)
        o = *opts;
    if (o.version != CELLAR_OPTIONS_VERSION)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_open: options version %u is not %u (use CELLAR_OPTIONS_INIT)",
                           o.version, CELLAR_OPTIONS_VERSION);
    if (o.flags & ~(CELLAR_RDONLY | CELLAR_CREATE | CELLAR_TRUNCATE))
        return cellar__err(CELLAR_EINVAL, 0, "cellar_open: unknown flags 0x%x", o.flags);
    if ((o.flags & CELLAR_RDONLY) && (o.flags & CELLAR_TRUNCATE))
        return cellar__err(CELLAR_EINVAL, 0, "cellar_open: read-only and truncate together");
    if (o.page_size && !page_size_ok(o.page_size))
        return cellar__err(CELLAR_EINVAL, 0, "cellar_open: page size %u is not a power of two from 4096 to 65536", o.page_size);
    if (o.sync < CELLAR_SYNC_NORMAL || o.sync > CELLAR_SYNC_OFF)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_open: unknown sync mode %d", o.sync);
    if (o.mode > 07777)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_open: mode 0%o is not a file mode", o.mode);
    const cellar_vfs *vfs = cellar__os_vfs(o.vfs);
    int rc = cellar__os_vfs_check(vfs);
    if (rc != CELLAR_OK)
        return rc;
    cellar_wal_set_create_mode(o.mode ? o.mode : 0666); /* the log gets the database's mode */
    size_t cache_size = o.cache_size ? o.cache_size : CELLAR_CACHE_START;
    bool readonly = (o.flags & CELLAR_RDONLY) != 0;

    cellar_inst *in = calloc(1, sizeof *in);
    if (!in)
        return cellar__err_oom();
    in->vfs = vfs;
    in->readonly = readonly;
    in->sync = o.sync;
    in->clock = o.clock;
    in->clock_payload = o.clock_payload;
    in->wal_limit = o.wal_limit ? o.wal_limit : (uint64_t)64 << 20;
    in->wal_auto = o.wal_limit == 0;
    in->cache_auto = o.cache_size == 0;
    in->cache_auto_max = cellar__cache_auto_bound();
    cellar__mutex_init(&in->write_mu);
    cellar__mutex_init(&in->q.mu);
    cellar__mutex_init(&in->flush_mu);
    cellar__cond_init(&in->flush_cv);
    in->fork_gen = atomic_load(&fork_gen);
    in->path = cellar__strdup(path);
    in->wal_path = cellar__strcat_dup(path, "-wal");
    if (!in->path || !in->wal_path) {
        inst_free(in);
        return cellar__err_oom();
    }

    cellar__mutex_lock(&registry_mu);
    rc = open_inst(in, &o);
    if (rc == CELLAR_OK)
        rc = vfs->file_id(in->file, &in->dev, &in->ino);
    if (rc == CELLAR_OK) {
    rescan:
        for (cellar_inst *x = registry; x; x = x->next) {
            if (x->vfs != vfs || x->dev != in->dev || x->ino != in->ino || x->fork_gen != in->fork_gen)
                continue;
            if (x->closing) {
                pthread_cond_wait(&registry_cv, &registry_mu);
                goto rescan;
            }
            if (!readonly && x->readonly)
                rc = cellar__err(CELLAR_EINVAL, 0, "%s: already open read-only in this process; close it before opening it for writing", path);
            else if (o.flags & CELLAR_TRUNCATE)
                rc = cellar__err(CELLAR_EBUSY, 0, "%s: cannot truncate a database that is open in this process", path);
            else if ((rc = make_handle(x, readonly, out)) == CELLAR_OK)
                x->refs++;
            cellar__mutex_unlock(&registry_mu);
            inst_free(in);
            return rc;
        }
    }
    if (rc == CELLAR_OK) {
        rc = finish_open(in, &o, cache_size);
    }
    if (rc == CELLAR_OK) {
        rc = make_handle(in, readonly, out);
    }
    if (rc != CELLAR_OK) {
        cellar__mutex_unlock(&registry_mu);
        inst_free(in);
        return rc;
    }
    in->refs = 1;
    in->next = registry;
    registry = in;
    cellar__mutex_unlock(&registry_mu);
    return CELLAR_OK;
}

CELLAR_API int cellar_close(cellar_db *db)
{
    if (!db)
        return CELLAR_OK;
    if (atomic_exchange(&db->closed, 1))
        return cellar__err(CELLAR_ECLOSED, 0, "database handle is already closed");
    cellar_inst *in = db->inst;
    if (in->fork_gen != atomic_load(&fork_gen))
        return CELLAR_OK; /* a child after fork: the parent owns the file; leak */
    cellar__mutex_lock(&db->children_mu);
    for (child *c = db->children; c; c = c->next)
        atomic_store(&c->dead, 1);
    cellar__mutex_unlock(&db->children_mu);

    int rc = CELLAR_OK;
    cellar__mutex_lock(&registry_mu);
    bool last = --in->refs == 0;
    in->closing = last;
    cellar__mutex_unlock(&registry_mu);
    if (last) {
        /* write_mu before the quiesce lock, as cellar_compact takes them */
        cellar__mutex_lock(&in->write_mu);
        cellar__quiesce_lock(&in->q);
        flusher_stop(in);
        if (!in->readonly && !in->broken && !cellar_wal_failed(in->wal))
            rc = cellar__checkpoint_compact(in);
        cellar__quiesce_unlock(&in->q);
        cellar__mutex_unlock(&in->write_mu);
        cellar__mutex_lock(&registry_mu);
        cellar_inst **pp = &registry;
        while (*pp && *pp != in)
            pp = &(*pp)->next;
        if (*pp)
            *pp = in->next;
        inst_free(in); /* closes the file, ending its lock, before an opener waiting for it goes on */
        pthread_cond_broadcast(&registry_cv);
        cellar__mutex_unlock(&registry_mu);
    }
    cellar__db_unref(db);
    return rc;
}
