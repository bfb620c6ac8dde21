/*
 * txn.c - the commit path (validate, log, apply), replay, the TTL sweep, and
 * transactions.
 *
 * TXN log record payload (inside a wal TXN record; FORMAT.md):
 *   u64 commit sequence, u32 op count, then per op:
 *   u8 type (1 put, 2 delete, 3 put with expiry), varint klen, varint vlen,
 *   [u64 expiry ms, type 3 only], key bytes, value bytes.
 * Ops are absolute (set / delete), so applying a record twice, or on top of a
 * state that already holds part of it, gives the same result. Pages may be
 * written back in the middle of applying a large transaction; they are not
 * part of any checkpoint until the next one, after the whole commit.
 *
 * Transaction states: ACTIVE -> (commit) -> freed, or ACTIVE -> (abort) ->
 * freed; a transaction of a closed handle is DEAD: every call but abort
 * returns CELLAR_ECLOSED. Conflicts (serializable, optimistic): each read
 * notes commit_seq before it reads; commit fails if any commit since then
 * wrote a key in the same conflict slot (64 Ki slots by key hash; a slot
 * collision can only cause a spurious conflict, never a missed one).
 */
#include "db/db_int.h"

#include <stdlib.h>

#define BIG_VALUE (64u << 10)
#define APPLY_CHECK_EVERY 256u

static int scratch_reserve(cellar_inst *in, size_t need)
{
    if (need <= in->scratch_cap)
        return CELLAR_OK;
    size_t cap = in->scratch_cap ? in->scratch_cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *n = realloc(in->scratch, cap);
    if (!n)
        return cellar__err_oom();
    in->scratch = n;
    in->scratch_cap = cap;
    return CELLAR_OK;
}

/* Build the record into scratch + pieces (big values referenced in place). */
typedef struct piece_at {
    size_t off, len;      /* in scratch, when data == NULL */
    const uint8_t *data;  /* a big value */
} piece_at;

#define LOCAL_PIECES 9u /* a commit with up to 4 big values needs no allocation */

/* *out_pieces is `local` (LOCAL_PIECES entries) when it fits, else malloc'd. */
static int encode_ops(cellar_inst *in, uint64_t seq, const op *ops, size_t n,
                      cellar_wal_piece *local, cellar_wal_piece **out_pieces, size_t *out_np)
{
    size_t need = 12;
    size_t nbig = 0;
    for (size_t i = 0; i < n; i++) {
        need += 1 + 10 + 10 + 8 + ops[i].klen;
        if (ops[i].vlen >= BIG_VALUE)
            nbig++;
        else
            need += ops[i].vlen;
    }
    int rc = scratch_reserve(in, need);
    if (rc != CELLAR_OK)
        return rc;
    piece_at pa_local[LOCAL_PIECES];
    bool small = 2 * nbig + 1 <= LOCAL_PIECES;
    piece_at *pa = small ? pa_local : malloc((2 * nbig + 1) * sizeof *pa);
    if (!pa)
        return cellar__err_oom();
    size_t np = 0, w = 0, start = 0;
    uint8_t *s = in->scratch;
    cellar__put64(s, seq);
    cellar__put32(s + 8, (uint32_t)n);
    w = 12;
    for (size_t i = 0; i < n; i++) {
        const op *o = &ops[i];
        s[w++] = (uint8_t)o->type;
        w += cellar__varint_put(s + w, o->klen);
        w += cellar__varint_put(s + w, o->type == OP_DEL ? 0 : o->vlen);
        if (o->type == OP_PUT_TTL) {
            cellar__put64(s + w, o->expiry);
            w += 8;
        }
        if (o->klen)
            memcpy(s + w, o->key, o->klen);
        w += o->klen;
        if (o->type == OP_DEL || o->vlen == 0)
            continue;
        if (o->vlen >= BIG_VALUE) {
            pa[np++] = (piece_at){ start, w - start, NULL };
            pa[np++] = (piece_at){ 0, o->vlen, o->val };
            start = w;
        } else {
            memcpy(s + w, o->val, o->vlen);
            w += o->vlen;
        }
    }
    pa[np++] = (piece_at){ start, w - start, NULL };
    cellar_wal_piece *pieces = small ? local : malloc(np * sizeof *pieces);
    if (!pieces) {
        free(pa);
        return cellar__err_oom();
    }
    for (size_t i = 0; i < np; i++) {
        pieces[i].data = pa[i].data ? (const void *)pa[i].data : (const void *)(in->scratch + pa[i].off);
        pieces[i].len = pa[i].len;
    }
    if (!small)
        free(pa);
    *out_pieces = pieces;
    *out_np = np;
    return CELLAR_OK;
}

/* Apply ops to the index. ext: extents already written for the puts (a
 * commit), or NULL (replay writes them as it goes). */
static int apply_ops(cellar_inst *in, const op *ops, size_t n, const cellar_hash_extent *ext)
{
    static const cellar_hash_extent inline_rec = { 0, 0 };
    uint64_t now = cellar__db_now(in);
    for (size_t i = 0; i < n; i++) {
        const op *o = &ops[i];
        int rc;
        if (o->type == OP_DEL) {
            rc = cellar_hash_del(in->hash, o->hv, o->key, o->klen, now);
            if (rc == CELLAR_ENOTFOUND)
                rc = CELLAR_OK;
        } else if (ext) {
            rc = cellar_hash_put_written(in->hash, o->hv, o->key, o->klen, o->val, o->vlen,
                                         o->type == OP_PUT_TTL ? o->expiry : 0, now,
                                         ext[i].page ? &ext[i] : &inline_rec, NULL);
        } else {
            rc = cellar_hash_put(in->hash, o->hv, o->key, o->klen, o->val, o->vlen,
                                 o->type == OP_PUT_TTL ? o->expiry : 0, now, NULL);
        }
        if (rc != CELLAR_OK)
            return rc;
        /* a huge transaction: write pages back as it goes (shadow paging
         * makes that safe at any moment), so dirty pages stay bounded */
        if ((i % APPLY_CHECK_EVERY) == APPLY_CHECK_EVERY - 1 && (rc = cellar__cache_pressure(in)) != CELLAR_OK)
            return rc;
    }
    return CELLAR_OK;
}

/* One commit: log, then apply (cellar__commit_locked adds the TTL sweep). */
static int commit_ops(cellar_inst *in, const op *ops, size_t n, const readrec *reads, size_t nreads,
                      uint64_t *out_end)
{
    *out_end = 0;
    if (in->broken)
        return cellar__err(CELLAR_EIO, 0, "%s: an earlier I/O error left this handle behind its log; close and reopen the database", in->path);
    for (size_t i = 0; i < nreads; i++)
        if (atomic_load_explicit(&in->conflict[reads[i].hv % CONFLICT_SLOTS], memory_order_acquire) > reads[i].seq)
            return cellar__err(CELLAR_ECONFLICT, 0, "%s: a key this transaction read was changed by another commit", in->path);
    if (n == 0)
        return CELLAR_OK;
    int rc = cellar__maybe_checkpoint(in);
    if (rc != CELLAR_OK)
        return rc;
    /* Values that go out of line are written now, before the commit is
     * logged: a full disk (or an I/O error) then fails the commit with
     * nothing logged, instead of failing after it, in the apply. */
    cellar_hash_extent ext_local[8], *ext = n <= 8 ? ext_local : calloc(n, sizeof *ext);
    if (!ext)
        return cellar__err_oom();
    size_t done = 0;
    for (; done < n && rc == CELLAR_OK; done++) {
        ext[done] = (cellar_hash_extent){ 0, 0 };
        if (ops[done].type != OP_DEL)
            rc = cellar_hash_prewrite(in->hash, ops[done].key, ops[done].klen, ops[done].val, ops[done].vlen,
                                      ops[done].type == OP_PUT_TTL ? ops[done].expiry : 0, &ext[done]);
    }
    uint64_t seq = atomic_load(&in->commit_seq) + 1;
    cellar_wal_piece local[LOCAL_PIECES], *pieces = NULL;
    size_t np = 0;
    if (rc == CELLAR_OK)
        rc = encode_ops(in, seq, ops, n, local, &pieces, &np);
    uint64_t off = 0, end = 0;
    if (rc == CELLAR_OK) {
        rc = cellar_wal_append(in->wal, pieces, np, &off, &end);
        if (pieces != local)
            free(pieces);
    }
    if (rc != CELLAR_OK) {
        for (size_t i = 0; i < done; i++)
            cellar_hash_prewrite_drop(in->hash, &ext[i], ops[i].klen, ops[i].vlen);
        if (ext != ext_local)
            free(ext);
        return rc;
    }
    rc = apply_ops(in, ops, n, ext);
    if (ext != ext_local)
        free(ext);
    if (rc != CELLAR_OK) {
        /* logged but not fully applied: memory is behind the log until a
         * reopen replays it. Refuse further use rather than serve it. */
        in->broken = rc;
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&in->conflict[ops[i].hv % CONFLICT_SLOTS], seq, memory_order_relaxed);
    atomic_store_explicit(&in->commit_seq, seq, memory_order_release);
    in->commits++;
    *out_end = end;
    return CELLAR_OK;
}

int cellar__commit_locked(cellar_inst *in, const op *ops, size_t n, const readrec *reads,
                          size_t nreads, uint64_t *out_end)
{
    int rc = commit_ops(in, ops, n, reads, nreads, out_end);
    /* every 64th commit sweeps one bucket; the sweep commits through
     * commit_ops, so it never starts another sweep */
    if (rc == CELLAR_OK && n != 0 && (in->commits & 63) == 0)
        cellar__sweep_step(in);
    return rc;
}

int cellar__commit_durable(cellar_inst *in, uint64_t end)
{
    if (end && in->sync == CELLAR_SYNC_FULL)
        return cellar_wal_sync(in->wal, end);
    return CELLAR_OK;
}

int cellar__apply_record(cellar_inst *in, const uint8_t *p, size_t len, uint64_t off)
{
    if (len < 12)
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: log record at %llu is too short", in->wal_path, (unsigned long long)off);
    uint64_t seq = cellar__get64(p);
    uint32_t n = cellar__get32(p + 8);
    if (n > len)
        return cellar__err(CELLAR_ECORRUPT, 0, "%s: log record at %llu: op count out of range", in->wal_path, (unsigned long long)off);
    op *ops = malloc((n ? n : 1) * sizeof *ops);
    if (!ops)
        return cellar__err_oom();
    size_t w = 12;
    int rc = CELLAR_OK;
    for (uint32_t i = 0; i < n && rc == CELLAR_OK; i++) {
        op *o = &ops[i];
        uint64_t kl = 0, vl = 0;
        size_t k;
        if (w >= len || (o->type = p[w++]) < OP_PUT || o->type > OP_PUT_TTL ||
            !(k = cellar__varint_get(p + w, len - w, &kl)) || (w += k, 0) ||
            !(k = cellar__varint_get(p + w, len - w, &vl)) || (w += k, 0)) {
            rc = CELLAR_ECORRUPT;
            break;
        }
        o->expiry = 0;
        if (o->type == OP_PUT_TTL) {
            if (len - w < 8) {
                rc = CELLAR_ECORRUPT;
                break;
            }
            o->expiry = cellar__get64(p + w);
            w += 8;
        }
        if (kl > CELLAR_MAX_KEY_SIZE || vl > CELLAR_MAX_VALUE_SIZE || kl + vl > len - w) {
            rc = CELLAR_ECORRUPT;
            break;
        }
        o->key = p + w;
        o->klen = kl;
        w += kl;
        o->val = p + w;
        o->vlen = vl;
        w += vl;
        o->hv = cellar_hash_key(in->hash, o->key, o->klen);
    }
    if (rc == CELLAR_ECORRUPT)
        rc = cellar__err(CELLAR_ECORRUPT, 0, "%s: log record at %llu is malformed", in->wal_path, (unsigned long long)off);
    if (rc == CELLAR_OK)
        rc = apply_ops(in, ops, n, NULL);
    if (rc == CELLAR_OK) {
        if (seq > atomic_load(&in->commit_seq))
            atomic_store(&in->commit_seq, seq);
        /* write-back between records keeps dirty pages bounded */
        rc = cellar__cache_pressure(in);
    }
    free(ops);
    return rc;
}

/* ------------------------------------------------------------------ */
/* TTL sweep: each step looks at one bucket and deletes what expired.   */
/* ------------------------------------------------------------------ */

void cellar__sweep_step(cellar_inst *in)
{
    if (in->hash == NULL || in->readonly) /* write_mu held: the index is not being swapped */
        return;
    cellar_hash_meta m;
    cellar_hash_meta_get(in->hash, &m);
    if (m.ttl_records == 0)
        return;
    cellar_buf buf = { 0 };
    bool hold = false;
    uint64_t now = cellar__db_now(in);
    if (in->sweep_cursor >= ((uint64_t)1 << 32))
        in->sweep_cursor = 0;
    if (cellar_hash_scan_step(in->hash, &in->sweep_cursor, &buf, &hold) != CELLAR_OK) {
        free(buf.data);
        return;
    }
    size_t nops = 0, cap = 16;
    op *ops = malloc(cap * sizeof *ops);
    uint8_t **keys = malloc(cap * sizeof *keys);
    if (!ops || !keys)
        buf.len = 0; /* no memory: sweep another time */
    for (size_t pos = 0; pos < buf.len;) {
        cellar_scan_entry e;
        pos += cellar_hash_scan_entry(buf.data + pos, &e);
        if (!e.expiry || e.expiry > now)
            continue;
        uint64_t kl = e.klen, vl = e.vlen;
        uint8_t *key = malloc(kl ? kl : 1);
        if (!key)
            break;
        if (e.large) {
            uint8_t *both = malloc(kl + vl ? kl + vl : 1);
            if (!both || cellar_hash_read_large(in->hash, e.extent, e.crc, both, kl + vl) != CELLAR_OK) {
                free(both);
                free(key);
                continue;
            }
            memcpy(key, both, kl);
            free(both);
        } else {
            memcpy(key, e.key, kl);
        }
        if (nops == cap) {
            cap *= 2;
            op *no = realloc(ops, cap * sizeof *ops);
            uint8_t **nk = realloc(keys, cap * sizeof *keys);
            if (no)
                ops = no;
            if (nk)
                keys = nk;
            if (!no || !nk) {
                free(key);
                break;
            }
        }
        keys[nops] = key;
        ops[nops] = (op){ OP_DEL, key, kl, NULL, 0, 0, cellar_hash_key(in->hash, key, kl) };
        nops++;
    }
    if (hold)
        cellar_hash_large_release(in->hash);
    if (nops) {
        uint64_t end;
        (void)commit_ops(in, ops, nops, NULL, 0, &end); /* best effort */
    }
    for (size_t i = 0; i < nops; i++)
        free(keys[i]);
    free(ops);
    free(keys);
    free(buf.data);
}

/* ------------------------------------------------------------------ */
/* transactions                                                        */
/* ------------------------------------------------------------------ */

typedef struct wentry {
    op o;
    uint8_t *mem; /* key then value, owned */
} wentry;

struct cellar_txn {
    child head;
    bool readonly;
    wentry *w;
    size_t nw, capw;
    uint32_t *index; /* open addressing: entry index + 1, 0 = empty */
    size_t index_cap;
    readrec *r;
    size_t nr, capr;
};

static int txn_enter(cellar_txn *t, bool write)
{
    if (!t)
        return cellar__err(CELLAR_EINVAL, 0, "transaction is NULL");
    if (atomic_load(&t->head.dead))
        return cellar__err(CELLAR_ECLOSED, 0, "transaction's database handle is closed");
    if (write && t->readonly)
        return cellar__err(CELLAR_EREADONLY, 0, "read-only transaction");
    return cellar__db_enter(t->head.db, false);
}

CELLAR_API int cellar_txn_begin(cellar_txn **out, cellar_db *db, unsigned int flags)
{
    if (!out)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_txn_begin: out is NULL");
    *out = NULL;
    if (flags & ~CELLAR_RDONLY)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_txn_begin: unknown flags 0x%x", flags);
    int rc = cellar__db_enter(db, !(flags & CELLAR_RDONLY));
    if (rc != CELLAR_OK)
        return rc;
    cellar_txn *t = calloc(1, sizeof *t);
    if (!t) {
        cellar__db_leave(db);
        return cellar__err_oom();
    }
    t->readonly = (flags & CELLAR_RDONLY) != 0;
    cellar__child_attach(db, &t->head);
    cellar__db_leave(db);
    *out = t;
    return CELLAR_OK;
}

static wentry *wfind(cellar_txn *t, uint64_t hv, const void *key, size_t klen)
{
    if (!t->index_cap)
        return NULL;
    for (size_t i = hv & (t->index_cap - 1);; i = (i + 1) & (t->index_cap - 1)) {
        uint32_t e = t->index[i];
        if (!e)
            return NULL;
        wentry *w = &t->w[e - 1];
        if (w->o.hv == hv && w->o.klen == klen && (klen == 0 || memcmp(w->o.key, key, klen) == 0))
            return w;
    }
}

static int windex_add(cellar_txn *t, size_t idx)
{
    if ((t->nw + 1) * 2 > t->index_cap) {
        size_t cap = t->index_cap ? t->index_cap * 2 : 16;
        uint32_t *ni = calloc(cap, sizeof *ni);
        if (!ni)
            return cellar__err_oom();
        for (size_t j = 0; j < t->nw; j++) {
            if (j == idx)
                continue;
            size_t i = t->w[j].o.hv & (cap - 1);
            while (ni[i])
                i = (i + 1) & (cap - 1);
            ni[i] = (uint32_t)j + 1;
        }
        free(t->index);
        t->index = ni;
        t->index_cap = cap;
    }
    size_t i = t->w[idx].o.hv & (t->index_cap - 1);
    while (t->index[i])
        i = (i + 1) & (t->index_cap - 1);
    t->index[i] = (uint32_t)idx + 1;
    return CELLAR_OK;
}

static int wset(cellar_txn *t, int type, uint64_t hv, const void *key, size_t klen,
                const void *val, size_t vlen, uint64_t expiry)
{
    uint8_t *mem = malloc(klen + vlen ? klen + vlen : 1);
    if (!mem)
        return cellar__err_oom();
    if (klen)
        memcpy(mem, key, klen);
    if (vlen)
        memcpy(mem + klen, val, vlen);
    op o = { type, mem, klen, mem + klen, vlen, expiry, hv };
    wentry *w = wfind(t, hv, key, klen);
    if (w) {
        free(w->mem);
        w->o = o;
        w->mem = mem;
        return CELLAR_OK;
    }
    if (t->nw == t->capw) {
        size_t cap = t->capw ? t->capw * 2 : 8;
        wentry *nw = realloc(t->w, cap * sizeof *nw);
        if (!nw) {
            free(mem);
            return cellar__err_oom();
        }
        t->w = nw;
        t->capw = cap;
    }
    t->w[t->nw] = (wentry){ o, mem }; /* the entry owns mem from here */
    int rc = windex_add(t, t->nw);
    if (rc != CELLAR_OK) {
        free(mem);
        return rc;
    }
    t->nw++;
    // cppcheck-suppress memleak ; mem is owned by t->w[t->nw - 1] and freed by txn_free
    return CELLAR_OK;
}

static int note_read(cellar_txn *t, uint64_t hv, uint64_t seq)
{
    if (t->nr == t->capr) {
        size_t cap = t->capr ? t->capr * 2 : 8;
        readrec *nr = realloc(t->r, cap * sizeof *nr);
        if (!nr)
            return cellar__err_oom();
        t->r = nr;
        t->capr = cap;
    }
    t->r[t->nr++] = (readrec){ hv, seq };
    return CELLAR_OK;
}


int cellar__copy_visit(void *ctx, const uint8_t *val, size_t vlen, uint64_t expiry)
{
    copy_ctx *c = ctx;
    (void)expiry;
    if (!c->out)
        return CELLAR_OK;
    void *p = malloc(vlen ? vlen : 1);
    if (!p)
        return cellar__err_oom();
    if (vlen)
        memcpy(p, val, vlen);
    *c->out = p;
    if (c->out_len)
        *c->out_len = vlen;
    return CELLAR_OK;
}

/* get inside a transaction: own writes first, then the db (noting the read);
 * the value is copied out through c (c->out NULL: no copy) */
static int txn_read(cellar_txn *t, const void *key, size_t klen, copy_ctx *c)
{
    int rc = cellar__check_key(key, klen);
    if (rc != CELLAR_OK)
        return rc;
    cellar_inst *in = t->head.db->inst;
    uint64_t hv = cellar_hash_key(in->hash, key, klen);
    wentry *w = wfind(t, hv, key, klen);
    if (w) {
        if (w->o.type == OP_DEL || (w->o.type == OP_PUT_TTL && w->o.expiry <= cellar__db_now(in)))
            return CELLAR_ENOTFOUND;
        return cellar__copy_visit(c, w->o.val, w->o.vlen, 0);
    }
    uint64_t seq = atomic_load_explicit(&in->commit_seq, memory_order_acquire);
    if ((rc = note_read(t, hv, seq)) != CELLAR_OK)
        return rc;
    return cellar_hash_get(in->hash, hv, key, klen, cellar__db_now(in), cellar__copy_visit, c);
}

CELLAR_API int cellar_txn_get(cellar_txn *txn, const void *key, size_t klen, void **out, size_t *out_len)
{
    if (!out || !out_len)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_txn_get: out or out_len is NULL");
    *out = NULL;
    *out_len = 0;
    int rc = txn_enter(txn, false);
    if (rc != CELLAR_OK)
        return rc;
    copy_ctx c = { out, out_len };
    rc = txn_read(txn, key, klen, &c);
    cellar__db_leave(txn->head.db);
    return rc;
}

CELLAR_API int cellar_txn_exists(cellar_txn *txn, const void *key, size_t klen)
{
    int rc = txn_enter(txn, false);
    if (rc != CELLAR_OK)
        return rc;
    rc = txn_read(txn, key, klen, &(copy_ctx){ NULL, NULL });
    cellar__db_leave(txn->head.db);
    return rc;
}

CELLAR_API int cellar_txn_put_ttl(cellar_txn *txn, const void *key, size_t klen,
                                  const void *val, size_t vlen, uint64_t ttl_ms)
{
    int rc = txn_enter(txn, true);
    if (rc != CELLAR_OK)
        return rc;
    if ((rc = cellar__check_key(key, klen)) == CELLAR_OK && (rc = cellar__check_val(val, vlen)) == CELLAR_OK) {
        cellar_inst *in = txn->head.db->inst;
        uint64_t hv = cellar_hash_key(in->hash, key, klen);
        uint64_t expiry = ttl_ms ? cellar__db_now(in) + ttl_ms : 0;
        rc = wset(txn, ttl_ms ? OP_PUT_TTL : OP_PUT, hv, key, klen, val, vlen, expiry);
    }
    cellar__db_leave(txn->head.db);
    return rc;
}

CELLAR_API int cellar_txn_put(cellar_txn *txn, const void *key, size_t klen, const void *val, size_t vlen)
{
    return cellar_txn_put_ttl(txn, key, klen, val, vlen, 0);
}

CELLAR_API int cellar_txn_delete(cellar_txn *txn, const void *key, size_t klen)
{
    int rc = txn_enter(txn, true);
    if (rc != CELLAR_OK)
        return rc;
    int existed = txn_read(txn, key, klen, &(copy_ctx){ NULL, NULL });
    if (existed == CELLAR_OK || existed == CELLAR_ENOTFOUND) {
        cellar_inst *in = txn->head.db->inst;
        rc = wset(txn, OP_DEL, cellar_hash_key(in->hash, key, klen), key, klen, NULL, 0, 0);
        if (rc == CELLAR_OK)
            rc = existed;
    } else {
        rc = existed;
    }
    cellar__db_leave(txn->head.db);
    return rc;
}

static void txn_free(cellar_txn *t)
{
    for (size_t i = 0; i < t->nw; i++)
        free(t->w[i].mem);
    free(t->w);
    free(t->index);
    free(t->r);
    cellar__child_detach(&t->head);
    free(t);
}

CELLAR_API int cellar_txn_commit(cellar_txn *txn)
{
    if (!txn)
        return cellar__err(CELLAR_EINVAL, 0, "transaction is NULL");
    int rc = txn_enter(txn, false);
    if (rc != CELLAR_OK) {
        txn_free(txn);
        return rc;
    }
    cellar_db *db = txn->head.db;
    cellar_inst *in = db->inst;
    op *ops = malloc((txn->nw ? txn->nw : 1) * sizeof *ops);
    if (!ops)
        rc = cellar__err_oom();
    uint64_t end = 0;
    if (rc == CELLAR_OK) {
        for (size_t i = 0; i < txn->nw; i++)
            ops[i] = txn->w[i].o;
        cellar__write_lock(in);
        rc = cellar__commit_locked(in, ops, txn->nw, txn->r, txn->nr, &end);
        cellar__mutex_unlock(&in->write_mu);
        if (rc == CELLAR_OK)
            rc = cellar__commit_durable(in, end);
    }
    free(ops);
    cellar__db_leave(db);
    txn_free(txn);
    return rc;
}

CELLAR_API void cellar_txn_abort(cellar_txn *txn)
{
    if (txn)
        txn_free(txn);
}
