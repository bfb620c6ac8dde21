/*
 * open.c - opening, recovery, checkpoints and closing.
 *
 * Header page (page 0; byte layout also in core/doc/FORMAT.md):
 *   0  u8[8] magic "CELLARDB"   8  u32 format version   12 u32 page size
 *   16 u32 crc32c of bytes 0..15 and 20..255            20 u32 flags (0)
 *   24 u64 file id   32 u64 seed0   40 u64 seed1   48 u32 global depth
 *   52 u32 directory start   56 u32 directory pages
 *   60 u32 free-list start   64 u32 free-list pages   68 u32 page count
 *   72 u64 records   80 u64 records with a TTL   88..255 reserved (0)
 *
 * Checkpoint (write_mu held; readers go on):
 *   1. the images of every dirty page, the changed directory pages, a new
 *      free list and the header go to the log as one batch, then fsync;
 *   2. the same images are written in place, then fsync of the data file;
 *   3. if no transaction is half applied, the log is reset.
 * A crash in 1 leaves an incomplete batch (ignored: the data file is
 * untouched and the log's records are replayed); a crash in 2 or 3 leaves a
 * complete batch, which recovery writes again before replaying the records
 * from the batch's resume offset. So no torn page survives.
 */
#include "db/db_int.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static void header_encode(cellar_inst *in, const cellar_hash_meta *m, uint8_t *pg)
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
    cellar__put32(pg + 60, m->free_start);
    cellar__put32(pg + 64, m->free_pages);
    cellar__put32(pg + 68, m->page_count);
    cellar__put64(pg + 72, m->records);
    cellar__put64(pg + 80, m->ttl_records);
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
    if (ver == 0 || !crc_ok || !page_size_ok(cellar__get32(h + 12)))
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: page 0: header checksum mismatch", path);
    return CELLAR_OK;
}

void cellar__header_meta(const uint8_t *hdr, cellar_hash_meta *out)
{
    out->seed0 = cellar__get64(hdr + 32);
    out->seed1 = cellar__get64(hdr + 40);
    out->global_depth = cellar__get32(hdr + 48);
    out->dir_start = cellar__get32(hdr + 52);
    out->dir_pages = cellar__get32(hdr + 56);
    out->free_start = cellar__get32(hdr + 60);
    out->free_pages = cellar__get32(hdr + 64);
    out->page_count = cellar__get32(hdr + 68);
    out->records = cellar__get64(hdr + 72);
    out->ttl_records = cellar__get64(hdr + 80);
}

/* ------------------------------------------------------------------ */
/* checkpoint                                                          */
/* ------------------------------------------------------------------ */

typedef struct ck_imgs {
    cellar_inst *in;
    uint8_t **img;
    uint32_t *pgno;
    size_t n, cap;
} ck_imgs;

static int ck_keep(void *ctx, uint32_t pgno, const uint8_t *image)
{
    ck_imgs *k = ctx;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        uint8_t **ni = realloc(k->img, cap * sizeof *ni);
        if (ni)
            k->img = ni;
        uint32_t *np = realloc(k->pgno, cap * sizeof *np);
        if (np)
            k->pgno = np;
        if (!ni || !np)
            return cellar__err_oom();
        k->cap = cap;
    }
    uint8_t *copy = malloc(k->in->P);
    if (!copy)
        return cellar__err_oom();
    memcpy(copy, image, k->in->P);
    k->img[k->n] = copy;
    k->pgno[k->n++] = pgno;
    return cellar_wal_batch_page(k->in->wal, pgno, image);
}

int cellar__checkpoint(cellar_inst *in, uint64_t resume, bool at_end)
{
    if (in->readonly)
        return CELLAR_OK;
    cellar_page **pages = NULL;
    size_t np = 0;
    ck_imgs k = { in, NULL, NULL, 0, 0 };
    int rc = cellar_wal_flush(in->wal);
    if (rc == CELLAR_OK)
        rc = cellar_cache_dirty_list(in->cache, &pages, &np);
    if (rc != CELLAR_OK)
        return rc;
    uint64_t batch_at = cellar_wal_end(in->wal);
    cellar_wal_batch_begin(in->wal);
    for (size_t i = 0; i < np && rc == CELLAR_OK; i++) {
        cellar__wrlock(&pages[i]->latch);
        cellar__page_seal(pages[i]->data, pages[i]->pgno, in->P);
        cellar__rwunlock(&pages[i]->latch);
        rc = cellar_wal_batch_page(in->wal, pages[i]->pgno, pages[i]->data);
    }
    bool meta_taken = false;
    if (rc == CELLAR_OK) {
        rc = cellar_hash_meta_pages(in->hash, ck_keep, &k);
        meta_taken = rc == CELLAR_OK;
    }
    cellar_hash_meta m;
    cellar_hash_meta_get(in->hash, &m);
    if (rc == CELLAR_OK) {
        uint8_t *hdr = calloc(1, in->P);
        if (!hdr)
            rc = cellar__err_oom();
        else {
            header_encode(in, &m, hdr);
            rc = ck_keep(&k, 0, hdr);
            free(hdr);
        }
    }
    /* value extents written since the last sync must be durable before a
     * batch that refers to them is: recovery will not replay their records */
    bool raw = cellar_cache_take_raw_flag(in->cache);
    if (rc == CELLAR_OK && raw)
        rc = in->vfs->sync(in->file);
    if (rc == CELLAR_OK)
        rc = cellar_wal_batch_end(in->wal, at_end ? batch_at : resume);
    if (rc != CELLAR_OK) {
        cellar_wal_batch_cancel(in->wal);
        if (raw) /* not synced after all: keep the flag for the next try */
            cellar_cache_keep_raw_flag(in->cache);
    }
    /* in place */
    const cellar_vfs *vfs = in->vfs;
    for (size_t i = 0; i < np && rc == CELLAR_OK; i++)
        rc = vfs->write(in->file, pages[i]->data, in->P, (uint64_t)pages[i]->pgno * in->P);
    for (size_t i = 0; i < k.n && rc == CELLAR_OK; i++)
        rc = vfs->write(in->file, k.img[i], in->P, (uint64_t)k.pgno[i] * in->P);
    if (rc == CELLAR_OK) {
        uint64_t size = 0;
        rc = vfs->size(in->file, &size);
        if (rc == CELLAR_OK && size < (uint64_t)m.page_count * in->P)
            rc = vfs->truncate(in->file, (uint64_t)m.page_count * in->P);
    }
    if (rc == CELLAR_OK)
        rc = vfs->sync(in->file);
    if (rc == CELLAR_OK && at_end)
        rc = cellar_wal_reset(in->wal);
    cellar_cache_dirty_done(in->cache, pages, np, rc == CELLAR_OK);
    if (meta_taken || rc != CELLAR_OK)
        cellar_hash_checkpoint_done(in->hash, rc == CELLAR_OK);
    for (size_t i = 0; i < k.n; i++)
        free(k.img[i]);
    free(k.img);
    free(k.pgno);
    if (rc == CELLAR_OK)
        in->checkpoints++;
    return rc;
}

int cellar__maybe_checkpoint(cellar_inst *in)
{
    if (in->readonly)
        return CELLAR_OK;
    if (cellar_wal_end(in->wal) > in->wal_limit || cellar_cache_dirty(in->cache) > cellar_cache_capacity(in->cache) / 2)
        return cellar__checkpoint(in, 0, true);
    return CELLAR_OK;
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
 * and raw reads (directory, free list) find it before the file. */
static int batch_to_overlay(void *ctx, uint32_t pgno, const uint8_t *image)
{
    cellar_inst *in = ctx;
    return cellar_cache_write_raw(in->cache, pgno, 0, image, in->P);
}

/* Page size and file id from the log's header, when the data header is torn. */
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
    if (rc == CELLAR_OK && (rc = cellar_hash_create(&in->hash, in->cache, in->path, in->P, seed[0], seed[1])) == CELLAR_OK)
        cellar_hash_set_clock(in->hash, in->clock, in->clock_payload);
    if (rc == CELLAR_OK)
        rc = cellar_wal_open(&in->wal, in->vfs, in->wal_path, in->P, in->file_id, in->sync, false);
    uint64_t resume;
    bool has_batch;
    if (rc == CELLAR_OK)
        rc = cellar_wal_reset(in->wal);
    if (rc == CELLAR_OK)
        rc = cellar_wal_scan(in->wal, &resume, &has_batch);
    if (rc == CELLAR_OK)
        rc = cellar__checkpoint(in, 0, true);
    return rc;
}

static int load_existing(cellar_inst *in, size_t cache_size, uint64_t file_size)
{
    uint8_t hdr[HDR_LEN] = { 0 };
    size_t got = 0;
    int rc = in->vfs->read(in->file, hdr, HDR_LEN, 0, &got);
    if (rc != CELLAR_OK)
        return rc;
    int judged = header_judge(in->path, hdr, got);
    if (judged == CELLAR_ENOTDB || judged == CELLAR_EVERSION)
        return judged;
    if (judged == CELLAR_OK) {
        in->P = cellar__get32(hdr + 12);
        in->file_id = cellar__get64(hdr + 24);
    } else if (peek_log(in, &in->P, &in->file_id) != CELLAR_OK) {
        return header_judge(in->path, hdr, got); /* re-record the header's error */
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
        if (in->readonly) {
            rc = cellar_wal_batch_pages(in->wal, batch_to_overlay, in);
            if (rc == CELLAR_OK)
                rc = cellar_cache_read_raw(in->cache, 0, 0, hdr, HDR_LEN);
            file_pages = UINT32_MAX; /* pages may live in the overlay only */
        } else {
            rc = cellar_wal_batch_pages(in->wal, batch_to_file, in);
            if (rc == CELLAR_OK)
                rc = in->vfs->read(in->file, hdr, HDR_LEN, 0, &got);
            /* the batch's header is trusted (its log chain checked out): give
             * the file the length it names, which the crash may have undone */
            uint64_t want = (uint64_t)cellar__get32(hdr + 68) * in->P;
            if (rc == CELLAR_OK && got == HDR_LEN && header_judge(in->path, hdr, HDR_LEN) == CELLAR_OK &&
                (rc = in->vfs->size(in->file, &file_size)) == CELLAR_OK && file_size < want)
                rc = in->vfs->truncate(in->file, want);
            if (rc == CELLAR_OK)
                rc = in->vfs->sync(in->file);
            if (rc == CELLAR_OK && (rc = in->vfs->size(in->file, &file_size)) == CELLAR_OK)
                file_pages = file_size / in->P;
        }
        if (rc != CELLAR_OK)
            return rc;
    }
    /* without a batch to repair it, a bad header stays bad */
    if ((rc = header_judge(in->path, hdr, has_batch ? HDR_LEN : got)) != CELLAR_OK)
        return rc;
    if (cellar__get32(hdr + 12) != in->P || cellar__get64(hdr + 24) != in->file_id)
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: page 0: header does not match its log", in->path);
    cellar_hash_meta m;
    cellar__header_meta(hdr, &m);
    rc = cellar_hash_open(&in->hash, in->cache, in->path, in->P, &m, file_pages);
    if (rc != CELLAR_OK)
        return rc;
    cellar_hash_set_clock(in->hash, in->clock, in->clock_payload);
    bool work = cellar_wal_has_records(in->wal);
    if (work) {
        rc = cellar_wal_replay(in->wal, resume, replay_one, in);
        if (rc == CELLAR_OK && !in->readonly)
            rc = cellar__checkpoint(in, 0, true);
    }
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
    size_t cache_size = o.cache_size ? o.cache_size : (size_t)64 << 20;
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
            rc = cellar__checkpoint(in, 0, true);
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
