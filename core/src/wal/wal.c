/*
 * wal.c - the write-ahead log (format and contract in wal.h).
 *
 * Writes are gathered in a buffer and handed to the OS with one write per
 * commit (sync=normal/full) or when the buffer passes BUF_FLUSH (sync=off).
 * Large payload pieces skip the buffer. `written` is the end handed to the OS,
 * `durable` the end made durable by the last fsync; group commit takes
 * sync_mu, and whoever holds it fsyncs everything written so far, so threads
 * that queue behind it usually find their record already durable.
 *
 * Locking: the append path (end, last_crc, buf) belongs to the db's writer
 * lock; sync_mu orders fsyncs against each other and against reset.
 */
#include "wal/wal.h"
#include "os/os.h"

#include <stdlib.h>

#define WAL_MAGIC "CELLWAL1"
#define WAL_VERSION 1u
#define BUF_FLUSH (1u << 20)
#define BIG_PIECE (256u << 10)
#define SCAN_CHUNK (1u << 20)
#define WAL_MAP_MIN ((uint64_t)1 << 20) /* first mapping of the log; doubles as needed */
#define WAL_MAP_RESIDENT ((uint64_t)4 << 20) /* mapped log pages kept in memory at most, about */

struct cellar_wal {
    const cellar_vfs *vfs;
    cellar_file *file;
    char *path;
    uint64_t file_id;
    uint64_t salt;

    uint64_t end;                 /* append position (writer lock) */
    _Atomic uint64_t written;     /* handed to the OS */
    _Atomic uint64_t durable;     /* fsynced */
    uint8_t *buf;                 /* bytes [written, written + buf_len) */
    size_t buf_len, buf_cap;
    /* The log file mapped in memory (a vfs that can): records are copied
     * into it, no call per commit; `buf` then stays empty. The file is kept
     * at the mapping's length (its blocks reserved) until close. */
    uint8_t *map;
    uint64_t map_len;
    uint64_t map_kept;            /* pages before this were given back (map_unback) */
    cellar_mutex sync_mu;

    /* batch in progress */
    uint64_t batch_start, batch_pages;
    /* scan results */
    uint64_t chain_end;
    uint64_t last_batch_start, last_batch_ckpt, last_batch_resume;

    uint32_t page_size;
    uint32_t last_crc;            /* chain seed for the next record */
    uint32_t batch_crc;
    int mode;
    /* An fsync failed: the OS may have dropped log pages it held, so later
     * records could be durable past a hole. Refuse further use; a reopen
     * recovers what did reach the disk. */
    _Atomic int sync_failed;
    bool readonly;
    bool no_map;                  /* the vfs or file system cannot: use write */
    bool has_batch;
};

static uint32_t salt_seed(uint64_t salt) { return (uint32_t)salt; }

/* the mode of the database being opened on this thread (cellar_open sets it) */
static _Thread_local unsigned t_create_mode;
void cellar_wal_set_create_mode(unsigned mode) { t_create_mode = mode; }
cellar_file *cellar_wal_file(cellar_wal *w) { return w->file; }

static int buf_reserve(cellar_wal *w, size_t more)
{
    if (w->buf_len + more <= w->buf_cap)
        return CELLAR_OK;
    size_t cap = w->buf_cap ? w->buf_cap : (size_t)64 * 1024;
    while (cap < w->buf_len + more)
        cap *= 2;
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb)
        return cellar__err_oom();
    w->buf = nb;
    w->buf_cap = cap;
    return CELLAR_OK;
}

static int buf_flush(cellar_wal *w)
{
    if (w->buf_len == 0)
        return CELLAR_OK;
    uint64_t at = atomic_load(&w->written);
    int rc = w->vfs->write(w->file, w->buf, w->buf_len, at);
    if (rc != CELLAR_OK)
        return rc;
    atomic_store(&w->written, at + w->buf_len);
    w->buf_len = 0;
    return CELLAR_OK;
}

static int write_header(cellar_wal *w)
{
    uint8_t h[CELLAR_WAL_HEADER] = { 0 };
    memcpy(h, WAL_MAGIC, 8); /* NOLINT(bugprone-not-null-terminated-result): an 8-byte tag, no NUL */
    cellar__put32(h + 8, WAL_VERSION);
    cellar__put32(h + 12, w->page_size);
    cellar__put64(h + 16, w->file_id);
    cellar__put64(h + 24, w->salt);
    cellar__put32(h + 32, cellar__crc32c(0, h, 32));
    /* From the first write on, the file may hold the new header: the
     * in-memory append state follows it at once, so no record is ever
     * appended to a chain the header no longer starts. */
    w->end = CELLAR_WAL_HEADER;
    w->last_crc = salt_seed(w->salt);
    w->buf_len = 0;
    atomic_store(&w->written, CELLAR_WAL_HEADER);
    atomic_store(&w->durable, 0);
    int rc = w->vfs->write(w->file, h, sizeof h, 0);
    /* a mapped log keeps its length (shrinking it under the mapping would
     * fault); the stale records past the header do not chain to the new salt */
    if (rc == CELLAR_OK && !w->map)
        rc = w->vfs->truncate(w->file, CELLAR_WAL_HEADER);
    if (w->map && w->map_kept < w->map_len) {
        cellar__os_unback(w->map, (size_t)w->map_len);
        w->map_kept = 0;
    }
    if (rc == CELLAR_OK)
        rc = w->vfs->sync(w->file);
    if (rc != CELLAR_OK) {
        /* The log is the old one or the new empty one, and only a reopen can
         * tell: refuse further use (either is consistent with the data file,
         * which a reset only follows once it is synced). */
        atomic_store(&w->sync_failed, 1);
        return rc;
    }
    atomic_store(&w->durable, CELLAR_WAL_HEADER);
    return CELLAR_OK;
}

int cellar_wal_open(cellar_wal **out, const cellar_vfs *vfs, const char *path,
                    uint32_t page_size, uint64_t file_id, int sync_mode, bool readonly)
{
    *out = NULL;
    cellar_wal *w = calloc(1, sizeof *w);
    if (!w || !(w->path = cellar__strdup(path))) {
        free(w);
        return cellar__err_oom();
    }
    w->vfs = vfs;
    w->page_size = page_size;
    w->file_id = file_id;
    w->mode = sync_mode;
    w->readonly = readonly;
    w->no_map = readonly || !cellar__os_can_map(vfs); /* decided once: appends map or write */
    cellar__mutex_init(&w->sync_mu);
    unsigned flags = CELLAR_VFS_NOFOLLOW | (readonly ? CELLAR_VFS_READ : CELLAR_VFS_WRITE | CELLAR_VFS_CREATE);
    int rc = vfs->open(vfs, path, flags, t_create_mode ? t_create_mode : 0666, &w->file);
    if (rc == CELLAR_ENOENT && readonly) {
        w->file = NULL; /* read-only and no log: nothing to recover */
        *out = w;
        return CELLAR_OK;
    }
    if (rc != CELLAR_OK) {
        cellar_wal_close(w);
        return rc;
    }
    *out = w;
    return CELLAR_OK;
}

/* Give back the mapping's pages behind the append position (they stay in
 * the page cache, dirty until the flusher syncs them), so the log counts
 * for at most WAL_MAP_RESIDENT bytes of the process's memory. */
static void map_unback(cellar_wal *w)
{
    uint64_t upto = w->end & ~(uint64_t)(WAL_MAP_RESIDENT - 1);
    if (upto > w->map_kept + WAL_MAP_RESIDENT) {
        cellar__os_unback(w->map + w->map_kept, (size_t)(upto - w->map_kept));
        w->map_kept = upto;
    }
}

/* Map at least `need` bytes of the log (growing by doubling); sets no_map
 * and returns CELLAR_OK if the file system cannot reserve space. */
static int map_reserve(cellar_wal *w, uint64_t need)
{
    if (need <= w->map_len)
        return CELLAR_OK;
    uint64_t len = w->map_len ? w->map_len : WAL_MAP_MIN;
    while (len < need)
        len *= 2;
    int rc = buf_flush(w);
    if (rc == CELLAR_OK)
        rc = w->vfs->reserve(w->file, len);
    if (rc == CELLAR_EINVAL && !w->map) {
        w->no_map = true;
        return CELLAR_OK;
    }
    void *p = NULL;
    if (rc == CELLAR_OK)
        rc = w->vfs->map(w->file, len, &p);
    if (rc != CELLAR_OK)
        return rc;
    if (w->map)
        (void)w->vfs->unmap(w->file, w->map, w->map_len);
    w->map = p;
    w->map_len = len;
    return CELLAR_OK;
}

int cellar_wal_close(cellar_wal *w)
{
    if (!w)
        return CELLAR_OK;
    int rc = CELLAR_OK;
    if (w->file) {
        if (!w->readonly)
            rc = buf_flush(w);
        if (w->map) {
            (void)w->vfs->unmap(w->file, w->map, w->map_len);
            /* give back the reserved tail (after a clean close, all of it) */
            if (rc == CELLAR_OK)
                rc = w->vfs->truncate(w->file, w->end);
        }
        w->vfs->close(w->file);
    }
    cellar__mutex_destroy(&w->sync_mu);
    free(w->buf);
    free(w->path);
    free(w);
    return rc;
}

/* Read one record header at off; returns 1 if it is a well-formed record of
 * the chain (payload crc checked by streaming), 0 at the end of the chain. */
typedef struct rec {
    uint64_t off, len;
    int type;
    uint32_t crc;
} rec;

static int read_rec(cellar_wal *w, uint64_t off, uint64_t size, uint32_t seed, rec *r,
                    uint8_t *scratch, int *err)
{
    uint8_t h[CELLAR_WAL_REC_HEADER];
    size_t got = 0;
    *err = CELLAR_OK;
    if (off + CELLAR_WAL_REC_HEADER > size)
        return 0;
    int rc = w->vfs->read(w->file, h, sizeof h, off, &got);
    if (rc != CELLAR_OK) {
        *err = rc;
        return 0;
    }
    if (got != sizeof h)
        return 0;
    r->off = off;
    r->type = h[4];
    r->len = cellar__get64(h + 8);
    if (r->type < CELLAR_WAL_TXN || r->type > CELLAR_WAL_CKPT || h[5] || h[6] || h[7])
        return 0;
    if (r->len > size - off - CELLAR_WAL_REC_HEADER)
        return 0;
    uint32_t crc = cellar__crc32c(seed, h + 4, 12);
    uint64_t pos = off + CELLAR_WAL_REC_HEADER, left = r->len;
    while (left) {
        size_t n = left < SCAN_CHUNK ? (size_t)left : SCAN_CHUNK;
        rc = w->vfs->read(w->file, scratch, n, pos, &got);
        if (rc != CELLAR_OK) {
            *err = rc;
            return 0;
        }
        if (got != n)
            return 0;
        crc = cellar__crc32c(crc, scratch, n);
        pos += n;
        left -= n;
    }
    if (crc != cellar__get32(h))
        return 0;
    r->crc = crc;
    return 1;
}

static int read_payload(cellar_wal *w, const rec *r, uint8_t **out)
{
    uint8_t *p = malloc(r->len ? r->len : 1);
    if (!p)
        return cellar__err_oom();
    size_t got = 0;
    int rc = w->vfs->read(w->file, p, r->len, r->off + CELLAR_WAL_REC_HEADER, &got);
    if (rc == CELLAR_OK && got != r->len)
        rc = cellar__err(CELLAR_EIO, 0, "%s: log shrank while being read", w->path);
    if (rc != CELLAR_OK) {
        free(p);
        return rc;
    }
    *out = p;
    return CELLAR_OK;
}

/* Walk the chain from the start, calling visit(ctx, rec) for each record. */
typedef int (*visit_fn)(cellar_wal *w, const rec *r, void *ctx);

static int walk(cellar_wal *w, visit_fn visit, void *ctx, uint64_t *out_end, uint32_t *out_crc)
{
    uint64_t size = 0;
    int rc = w->vfs->size(w->file, &size);
    if (rc != CELLAR_OK)
        return rc;
    uint8_t *scratch = malloc(SCAN_CHUNK);
    if (!scratch)
        return cellar__err_oom();
    uint64_t off = CELLAR_WAL_HEADER;
    uint32_t seed = salt_seed(w->salt);
    rec r;
    int err = CELLAR_OK;
    while (read_rec(w, off, size, seed, &r, scratch, &err)) {
        if (visit && (rc = visit(w, &r, ctx)) != CELLAR_OK) {
            free(scratch);
            return rc;
        }
        seed = r.crc;
        off += CELLAR_WAL_REC_HEADER + r.len;
    }
    free(scratch);
    if (err != CELLAR_OK)
        return err;
    if (out_end)
        *out_end = off;
    if (out_crc)
        *out_crc = seed;
    return CELLAR_OK;
}

static int scan_visit(cellar_wal *w, const rec *r, void *ctx)
{
    (void)ctx;
    if (r->type == CELLAR_WAL_CKPT && r->len == 24) {
        uint8_t p[24];
        size_t got = 0;
        int rc = w->vfs->read(w->file, p, 24, r->off + CELLAR_WAL_REC_HEADER, &got);
        if (rc != CELLAR_OK)
            return rc;
        uint64_t start = cellar__get64(p), resume = cellar__get64(p + 8);
        if (got == 24 && start >= CELLAR_WAL_HEADER && start <= r->off &&
            resume >= CELLAR_WAL_HEADER && resume <= r->off) {
            w->has_batch = true;
            w->last_batch_start = start;
            w->last_batch_ckpt = r->off;
            w->last_batch_resume = resume;
        }
    }
    return CELLAR_OK;
}

int cellar_wal_scan(cellar_wal *w, uint64_t *out_resume, bool *out_has_batch)
{
    *out_has_batch = false;
    *out_resume = CELLAR_WAL_HEADER;
    w->has_batch = false;
    if (!w->file)
        return CELLAR_OK;
    uint8_t h[CELLAR_WAL_HEADER];
    size_t got = 0;
    int rc = w->vfs->read(w->file, h, sizeof h, 0, &got);
    if (rc != CELLAR_OK)
        return rc;
    bool valid = got == sizeof h && memcmp(h, WAL_MAGIC, 8) == 0 &&
                 cellar__get32(h + 32) == cellar__crc32c(0, h, 32) &&
                 cellar__get32(h + 8) == WAL_VERSION &&
                 cellar__get32(h + 12) == w->page_size && cellar__get64(h + 16) == w->file_id;
    if (!valid) {
        /* No log, a torn header (only written at a reset, when the log was
         * empty anyway) or a log of another file: nothing to recover. */
        if (w->readonly) {
            w->vfs->close(w->file);
            w->file = NULL;
            return CELLAR_OK;
        }
        cellar__random(&w->salt, sizeof w->salt);
        return write_header(w);
    }
    w->salt = cellar__get64(h + 24);
    uint64_t end = 0;
    uint32_t crc = 0;
    rc = walk(w, scan_visit, NULL, &end, &crc);
    if (rc != CELLAR_OK)
        return rc;
    w->chain_end = end;
    w->end = end;
    w->last_crc = crc;
    atomic_store(&w->written, end);
    atomic_store(&w->durable, end);
    if (!w->readonly) {
        uint64_t size = 0;
        if ((rc = w->vfs->size(w->file, &size)) != CELLAR_OK)
            return rc;
        if (size != end && (rc = w->vfs->truncate(w->file, end)) != CELLAR_OK)
            return rc;
    }
    *out_has_batch = w->has_batch;
    *out_resume = w->has_batch ? w->last_batch_resume : CELLAR_WAL_HEADER;
    return CELLAR_OK;
}

typedef struct apply_ctx {
    cellar_wal_page_fn fn;
    void *ctx;
} apply_ctx;

static int apply_visit(cellar_wal *w, const rec *r, void *ctx)
{
    apply_ctx *a = ctx;
    if (r->off < w->last_batch_start || r->off > w->last_batch_ckpt || r->type != CELLAR_WAL_PAGE)
        return CELLAR_OK;
    if (r->len != 4u + w->page_size)
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: log record at %llu: bad page image size",
                           w->path, (unsigned long long)r->off);
    uint8_t *p = NULL;
    int rc = read_payload(w, r, &p);
    if (rc != CELLAR_OK)
        return rc;
    rc = a->fn(a->ctx, cellar__get32(p), p + 4);
    free(p);
    return rc;
}

int cellar_wal_batch_pages(cellar_wal *w, cellar_wal_page_fn fn, void *ctx)
{
    if (!w->file || !w->has_batch)
        return CELLAR_OK;
    apply_ctx a = { fn, ctx };
    return walk(w, apply_visit, &a, NULL, NULL);
}

typedef struct replay_ctx {
    uint64_t from;
    cellar_wal_replay_fn fn;
    void *ctx;
} replay_ctx;

static int replay_visit(cellar_wal *w, const rec *r, void *ctx)
{
    replay_ctx *c = ctx;
    if (r->type != CELLAR_WAL_TXN || r->off < c->from)
        return CELLAR_OK;
    uint8_t *p = NULL;
    int rc = read_payload(w, r, &p);
    if (rc != CELLAR_OK)
        return rc;
    rc = c->fn(c->ctx, p, r->len, r->off);
    free(p);
    return rc;
}

int cellar_wal_replay(cellar_wal *w, uint64_t from, cellar_wal_replay_fn fn, void *ctx)
{
    if (!w->file)
        return CELLAR_OK;
    replay_ctx c = { from, fn, ctx };
    return walk(w, replay_visit, &c, NULL, NULL);
}

/* Append one record of `type`; rolls back on failure. */
static int append_rec(cellar_wal *w, int type, const cellar_wal_piece *pieces, size_t n,
                      uint64_t *out_off)
{
    if (w->readonly || !w->file)
        return cellar__err(CELLAR_EREADONLY, 0, "%s: log is read-only", w->path);
    if (atomic_load(&w->sync_failed))
        return cellar__err(CELLAR_EIO, 0, "%s: an earlier fsync of the log failed; close and reopen the database", w->path);
    uint64_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += pieces[i].len;
    uint8_t h[CELLAR_WAL_REC_HEADER] = { 0 };
    h[4] = (uint8_t)type;
    cellar__put64(h + 8, len);
    uint32_t crc = cellar__crc32c(w->last_crc, h + 4, 12);
    for (size_t i = 0; i < n; i++)
        crc = cellar__crc32c(crc, pieces[i].data, pieces[i].len);
    cellar__put32(h, crc);

    uint64_t rec_off = w->end;
    if (!w->no_map) {
        /* copy into the mapping: in the kernel's page cache at once (a
         * process crash keeps it), and no call at all */
        int mrc = map_reserve(w, rec_off + sizeof h + len);
        if (mrc != CELLAR_OK)
            return mrc;
        if (w->map) {
            uint64_t at = rec_off + sizeof h;
            int wrc = CELLAR_OK;
            for (size_t i = 0; i < n && wrc == CELLAR_OK; i++) {
                /* a big value is written, not copied: the mapping's pages
                 * would count in the process's memory */
                if (pieces[i].len >= BIG_PIECE)
                    wrc = w->vfs->write(w->file, pieces[i].data, pieces[i].len, at);
                else if (pieces[i].len)
                    memcpy(w->map + at, pieces[i].data, pieces[i].len);
                at += pieces[i].len;
            }
            if (wrc != CELLAR_OK)
                return wrc; /* nothing chains yet: the header is copied last */
            memcpy(w->map + rec_off, h, sizeof h);
            w->end = rec_off + sizeof h + len;
            map_unback(w);
            w->last_crc = crc;
            atomic_store(&w->written, w->end);
            if (out_off)
                *out_off = rec_off;
            return CELLAR_OK;
        }
    }
    size_t saved_len = w->buf_len;
    int rc = buf_reserve(w, sizeof h);
    if (rc != CELLAR_OK)
        return rc;
    memcpy(w->buf + w->buf_len, h, sizeof h);
    w->buf_len += sizeof h;
    for (size_t i = 0; i < n && rc == CELLAR_OK; i++) {
        if (pieces[i].len >= BIG_PIECE) {
            if ((rc = buf_flush(w)) != CELLAR_OK)
                break;
            uint64_t at = atomic_load(&w->written);
            rc = w->vfs->write(w->file, pieces[i].data, pieces[i].len, at);
            if (rc == CELLAR_OK)
                atomic_store(&w->written, at + pieces[i].len);
        } else if ((rc = buf_reserve(w, pieces[i].len)) == CELLAR_OK) {
            memcpy(w->buf + w->buf_len, pieces[i].data, pieces[i].len);
            w->buf_len += pieces[i].len;
        }
    }
    if (rc == CELLAR_OK && (type == CELLAR_WAL_TXN ? w->mode != CELLAR_SYNC_OFF : false))
        rc = buf_flush(w);
    if (rc == CELLAR_OK && w->buf_len >= BUF_FLUSH)
        rc = buf_flush(w);
    if (rc != CELLAR_OK) {
        /* Forget this record; bytes of it that reached the file lie past the
         * end and fail the chain, and the next append overwrites them. */
        uint64_t written = atomic_load(&w->written);
        if (written > rec_off) {
            atomic_store(&w->written, rec_off);
            w->buf_len = 0;
        } else {
            w->buf_len = saved_len <= rec_off - written ? saved_len : (size_t)(rec_off - written);
        }
        if (atomic_load(&w->durable) > rec_off)
            atomic_store(&w->durable, rec_off);
        return rc;
    }
    w->end = rec_off + sizeof h + len;
    w->last_crc = crc;
    if (out_off)
        *out_off = rec_off;
    return CELLAR_OK;
}

int cellar_wal_append(cellar_wal *w, const cellar_wal_piece *pieces, size_t n,
                      uint64_t *out_off, uint64_t *out_end)
{
    int rc = append_rec(w, CELLAR_WAL_TXN, pieces, n, out_off);
    if (rc == CELLAR_OK && out_end)
        *out_end = w->end;
    return rc;
}

int cellar_wal_flush(cellar_wal *w)
{
    if (!w->file || w->readonly)
        return CELLAR_OK;
    return buf_flush(w);
}

int cellar_wal_sync(cellar_wal *w, uint64_t upto)
{
    if (!w->file || w->readonly)
        return CELLAR_OK;
    if (atomic_load(&w->sync_failed))
        return cellar__err(CELLAR_EIO, 0, "%s: an earlier fsync of the log failed; close and reopen the database", w->path);
    if (atomic_load(&w->durable) >= upto)
        return CELLAR_OK;
    cellar__mutex_lock(&w->sync_mu);
    int rc = CELLAR_OK;
    if (atomic_load(&w->durable) < upto) {
        uint64_t target = atomic_load(&w->written);
        rc = w->vfs->sync(w->file);
        if (rc == CELLAR_OK && atomic_load(&w->durable) < target)
            atomic_store(&w->durable, target);
        if (rc != CELLAR_OK)
            atomic_store(&w->sync_failed, 1);
    }
    cellar__mutex_unlock(&w->sync_mu);
    return rc;
}

int cellar_wal_batch_begin(cellar_wal *w)
{
    w->batch_start = w->end;
    w->batch_crc = w->last_crc;
    w->batch_pages = 0;
    return CELLAR_OK;
}

int cellar_wal_batch_page(cellar_wal *w, uint32_t pgno, const uint8_t *image)
{
    uint8_t no[4];
    cellar__put32(no, pgno);
    cellar_wal_piece p[2] = { { no, 4 }, { image, w->page_size } };
    int rc = append_rec(w, CELLAR_WAL_PAGE, p, 2, NULL);
    if (rc == CELLAR_OK)
        w->batch_pages++;
    return rc;
}

int cellar_wal_batch_end(cellar_wal *w, uint64_t resume)
{
    uint8_t c[24];
    cellar__put64(c, w->batch_start);
    cellar__put64(c + 8, resume);
    cellar__put64(c + 16, w->batch_pages);
    cellar_wal_piece p = { c, sizeof c };
    int rc = append_rec(w, CELLAR_WAL_CKPT, &p, 1, NULL);
    if (rc == CELLAR_OK)
        rc = buf_flush(w);
    if (rc == CELLAR_OK)
        rc = cellar_wal_sync(w, w->end);
    return rc;
}

void cellar_wal_batch_cancel(cellar_wal *w)
{
    uint64_t written = atomic_load(&w->written);
    if (written > w->batch_start) {
        atomic_store(&w->written, w->batch_start);
        w->buf_len = 0;
    } else {
        w->buf_len = (size_t)(w->batch_start - written);
    }
    if (atomic_load(&w->durable) > w->batch_start)
        atomic_store(&w->durable, w->batch_start);
    w->end = w->batch_start;
    w->last_crc = w->batch_crc;
}

int cellar_wal_reset(cellar_wal *w)
{
    if (!w->file || w->readonly)
        return CELLAR_OK;
    cellar__mutex_lock(&w->sync_mu);
    cellar__random(&w->salt, sizeof w->salt);
    int rc = write_header(w);
    cellar__mutex_unlock(&w->sync_mu);
    return rc;
}

int cellar_wal_reset_salt(cellar_wal *w, uint64_t salt)
{
    if (!w->file || w->readonly)
        return CELLAR_OK;
    cellar__mutex_lock(&w->sync_mu);
    w->salt = salt;
    int rc = write_header(w);
    cellar__mutex_unlock(&w->sync_mu);
    return rc;
}

uint64_t cellar_wal_salt(cellar_wal *w) { return w->file ? w->salt : 0; }

uint64_t cellar_wal_end(cellar_wal *w) { return w->end; }
uint64_t cellar_wal_durable(cellar_wal *w) { return atomic_load(&w->durable); }

bool cellar_wal_has_records(cellar_wal *w) { return w->file && w->end > CELLAR_WAL_HEADER; }
uint64_t cellar_wal_written(cellar_wal *w) { return atomic_load(&w->written); }

bool cellar_wal_failed(cellar_wal *w) { return atomic_load(&w->sync_failed) != 0; }
