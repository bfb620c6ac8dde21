/*
 * db_int.h - the db layer's shared structures: the open-database instance
 * (one per file per process, shared through the registry), the user handle,
 * transactions and iterators.
 *
 * Locks (order: registry_mu -> quiesce (exclusive) -> write_mu -> wal sync_mu
 * -> page latch -> cache shard mutex; see core/doc/LOCKING.md):
 * - write_mu: one committer at a time; guards the hash index's writer side,
 *   the wal append side, checkpoints, commit_seq (written), and the sweep.
 * - quiesce: a big-reader lock. Every API call that reads takes it shared (a
 *   per-thread slot, no shared cache line); compact and close take it
 *   exclusive to swap the index under no reader.
 * - children_mu (per handle): the list of live transactions and iterators.
 */
#ifndef CELLAR_DB_INT_H
#define CELLAR_DB_INT_H

#include "cache/cache.h"
#include "hash/hash.h"
#include "os/os.h"
#include "wal/wal.h"

#define CELLAR_FORMAT_VERSION 2u
#define CELLAR_CACHE_START ((size_t)64 << 20) /* the default cache budget to start with */
#define CELLAR_HEADER_MAGIC "CELLARDB"
#define HDR_LEN 256u
#define CONFLICT_SLOTS 65536u
#define QSLOTS 32u

/* the big-reader lock */
typedef struct qslot {
    _Atomic long n;
    char pad[64 - sizeof(long)];
} qslot;
typedef struct quiesce {
    qslot slot[QSLOTS];
    _Atomic int closing;
    cellar_mutex mu;
} quiesce;

typedef struct cellar_inst {
    /* registry */
    struct cellar_inst *next;
    uint64_t dev, ino;
    const cellar_vfs *vfs;
    int refs;                   /* handles (registry_mu) */
    bool closing;               /* the last handle is closing it (registry_mu) */
    unsigned long fork_gen;

    char *path, *wal_path;
    cellar_file *file;
    bool readonly;
    bool wal_auto;                        /* no wal_limit given: it grows with the data */
    bool cache_auto;                      /* no cache_size given: the budget follows the data */
    int sync;
    uint32_t P;
    uint64_t file_id;
    cellar_cache *cache;
    cellar_hash *hash;
    cellar_wal *wal;
    cellar_clock_fn clock;
    void *clock_payload;
    uint64_t wal_limit;

    quiesce q;
    cellar_mutex write_mu;
    _Atomic uint64_t commit_seq;          /* last applied commit */
    _Atomic uint64_t conflict[CONFLICT_SLOTS]; /* seq of the last commit that wrote a key hashing here */
    _Atomic int broken;                   /* nonzero: an apply failed; reopen to recover */
    uint64_t sweep_cursor;
    uint64_t commits, checkpoints;
    uint64_t ck_gen;                      /* generation of the last durable checkpoint (write_mu) */
    size_t cache_auto_max;                /* an automatic budget grows up to this many bytes */
    _Atomic uint64_t generation;          /* bumped when compact rebuilds the file */
    uint8_t *scratch;                     /* log record building (write_mu) */
    size_t scratch_cap;

    /* sync=normal: a thread that fsyncs the log about once a second */
    pthread_t flusher;
    bool flusher_on, flusher_stop;
    cellar_mutex flush_mu;
    cellar_cond flush_cv;
} cellar_inst;

typedef struct child child;
struct cellar_db {
    cellar_inst *inst;
    bool readonly;
    _Atomic int refs;           /* 1 for the user + 1 per live child */
    _Atomic int closed;
    cellar_mutex children_mu;
    child *children;
};

/* common head of transactions and iterators */
struct child {
    child *next, *prev;
    cellar_db *db;
    _Atomic int dead;
};

/* ---- one operation of a commit ---- */
enum { OP_PUT = 1, OP_DEL = 2, OP_PUT_TTL = 3 };
typedef struct op {
    int type;
    const uint8_t *key;
    size_t klen;
    const uint8_t *val;
    size_t vlen;
    uint64_t expiry;
    uint64_t hv;
} op;

typedef struct readrec {
    uint64_t hv, seq;
} readrec;

/* open.c */
int cellar__db_enter(cellar_db *db, bool write);  /* checks closed/fork/readonly; takes quiesce shared */
void cellar__db_leave(cellar_db *db);
/**
 * Take in->write_mu from inside cellar__db_enter/leave. If it is busy, wait
 * for it outside the shared side of the quiesce lock: cellar_compact holds
 * write_mu while it waits for quiesce exclusively, so waiting with both
 * would deadlock. After this returns, in->hash and in->cache may be new ones
 * (compact swapped them): read them again. Hash values stay valid (compact
 * keeps the seed).
 */
void cellar__write_lock(cellar_inst *in);
uint64_t cellar__db_now(cellar_inst *in);
/** Checkpoint (write_mu held): shadow write-back of every dirty page, the
 * map and free list, the other meta slot, the log emptied (open.c header). */
int cellar__checkpoint(cellar_inst *in);
/** A checkpoint that also moves pages down into the file's free space and
 * gives the freed end back, when an eighth or more of the file is free
 * (close, cellar_checkpoint). */
int cellar__checkpoint_compact(cellar_inst *in);
/** Before a commit (write_mu held): checkpoint when the log or the freed
 * space has grown past its bound, else write dirty pages back when they
 * pass half the cache; grow an automatic cache budget with the data. */
int cellar__maybe_checkpoint(cellar_inst *in);
/** Grow an automatic cache budget with the data, then write dirty pages
 * back if they pass three quarters of the cache (write_mu held). */
int cellar__cache_pressure(cellar_inst *in);
/** Grow an automatic cache budget to the data's size (write_mu held). */
void cellar__cache_autosize(cellar_inst *in);
/** The bound of an automatic cache budget: a quarter of physical memory. */
size_t cellar__cache_auto_bound(void);
void cellar__quiesce_lock(quiesce *q);
void cellar__quiesce_unlock(quiesce *q);
int cellar__child_attach(cellar_db *db, child *c);
void cellar__child_detach(child *c);
void cellar__db_unref(cellar_db *db);

/** Header checksum (bytes 0..15 and 20..255) and the index meta a header holds. */
uint32_t cellar__header_crc(const uint8_t *hdr);
void cellar__header_meta(const uint8_t *hdr, cellar_hash_meta *out, cellar_space_meta *sm);
/** The current meta page of the two slots (valid checksum, higher
 * generation) into hdr (HDR_LEN bytes), read through c's raw reads. */
int cellar__meta_read(cellar_inst *in, cellar_cache *c, uint8_t *hdr, uint64_t file_size);
/** Open the index of the current meta page over cache c: the meta page
 * into hdr, c's space loaded, *out the index (with the instance's clock);
 * sets in->ck_gen. Used at open and after compact swaps the file in. */
int cellar__index_load(cellar_inst *in, cellar_cache *c, uint64_t file_size, uint64_t file_pages, uint8_t *hdr,
                       cellar_hash **out);

/* txn.c */
/** Commit ops under write_mu (caller holds it): validate reads, log, apply;
 * every 64th commit also runs one cellar__sweep_step. */
int cellar__commit_locked(cellar_inst *in, const op *ops, size_t n, const readrec *reads,
                          size_t nreads, uint64_t *out_end);
/** Finish a commit after write_mu is released: wait for durability per sync mode. */
int cellar__commit_durable(cellar_inst *in, uint64_t end);
/** Apply one TXN log record payload (replay). */
int cellar__apply_record(cellar_inst *in, const uint8_t *p, size_t len, uint64_t off);
/** One bounded step of the TTL sweep (write_mu held). */
void cellar__sweep_step(cellar_inst *in);

/** Visitor that copies a value into fresh memory: ctx is a copy_ctx (out NULL: no copy). */
typedef struct copy_ctx {
    void **out;
    size_t *out_len;
} copy_ctx;
int cellar__copy_visit(void *ctx, const uint8_t *val, size_t vlen, uint64_t expiry);

/* key/value argument checks shared by the API */
static inline int cellar__check_key(const void *key, size_t klen)
{
    if (!key && klen)
        return cellar__err(CELLAR_EINVAL, 0, "key is NULL");
    if (klen > CELLAR_MAX_KEY_SIZE)
        return cellar__err(CELLAR_ETOOBIG, 0, "key of %zu bytes is over the %u-byte limit", klen,
                           CELLAR_MAX_KEY_SIZE);
    return CELLAR_OK;
}
static inline int cellar__check_val(const void *val, size_t vlen)
{
    if (!val && vlen)
        return cellar__err(CELLAR_EINVAL, 0, "value is NULL");
    if (vlen > CELLAR_MAX_VALUE_SIZE)
        return cellar__err(CELLAR_ETOOBIG, 0, "value of %zu bytes is over the %u-byte limit", vlen,
                           CELLAR_MAX_VALUE_SIZE);
    return CELLAR_OK;
}

#endif
