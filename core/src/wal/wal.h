/*
 * wal.h - the write-ahead log: a logical redo log of committed transactions,
 * checksum-chained, plus checkpoint batches of full page images.
 *
 * Contract of this layer
 * ----------------------
 * - Sits on os/ only. Knows nothing of what a transaction payload means: it
 *   appends opaque TXN records and PAGE images and finds them again.
 * - A commit is durable (per the sync mode) once its TXN record is appended
 *   (normal: handed to the OS; full: fsynced, group commit; off: buffered).
 * - Recovery: the db layer replays the TXN records of the log whose salt its
 *   last durable checkpoint names. A complete batch of page images (written
 *   only by compact, to swap in the compacted file) is applied to the data
 *   file first.
 *
 * File layout (all integers little-endian; see core/doc/FORMAT.md)
 * -----------------------------------------------------------------
 * Log header, 40 bytes at offset 0:
 *   0  u8[8] magic "CELLWAL1"     8  u32 format version (1)
 *   12 u32 page size              16 u64 file id (the data file's, from its header)
 *   24 u64 salt (random, new at every reset)
 *   32 u32 crc32c of bytes 0..31  36 u32 reserved (0)
 * Records follow, each:
 *   0  u32 crc   = crc32c(seed, bytes 4..16+len) where seed is the previous
 *                  record's crc, or the low 32 bits of the salt for the first
 *   4  u8  type  (1 TXN, 2 PAGE, 3 CKPT)
 *   5  u8[3] reserved (0)
 *   8  u64 len   payload length
 *   16 payload
 * PAGE payload: u32 page number, then the page image (page size bytes).
 * CKPT payload: u64 batch start offset, u64 resume offset, u64 page count.
 * A record whose crc does not chain ends the log (torn tail or stale bytes).
 */
#ifndef CELLAR_WAL_H
#define CELLAR_WAL_H

#include "common/common.h"
#include "cellardb_vfs.h"

typedef struct cellar_wal cellar_wal;

#define CELLAR_WAL_HEADER 40u
#define CELLAR_WAL_REC_HEADER 16u
#define CELLAR_WAL_TXN 1
#define CELLAR_WAL_PAGE 2
#define CELLAR_WAL_CKPT 3

/** Pieces of one record payload, written in order (gathered). */
typedef struct cellar_wal_piece {
    const void *data;
    size_t len;
} cellar_wal_piece;

/**
 * Open (creating if missing and writable) the log at `path` for a data file
 * with the given page size and id. A missing or empty log gets a fresh header
 * (unless readonly). sync_mode: a cellar_sync_mode.
 */
int cellar_wal_open(cellar_wal **out, const cellar_vfs *vfs, const char *path,
                    uint32_t page_size, uint64_t file_id, int sync_mode, bool readonly);
/** Mode bits for a log this open creates (default 0666; umask applies). */
void cellar_wal_set_create_mode(unsigned mode);
/** The log's file (for dropping an inherited descriptor after fork). */
cellar_file *cellar_wal_file(cellar_wal *w);
/** Close (flushes buffered records first; no fsync). */
int cellar_wal_close(cellar_wal *w);

/**
 * Scan the log. If the header names another file id, the log is ignored
 * (CELLAR_OK, nothing to recover) unless `strict`. Fills:
 *   *out_resume  offset from which TXN records must be replayed
 *   *out_has_batch  whether a complete checkpoint batch exists
 * Also sets the append position to the end of the valid chain.
 */
int cellar_wal_scan(cellar_wal *w, uint64_t *out_resume, bool *out_has_batch);

/** Called with each page image of the last complete batch, in log order. */
typedef int (*cellar_wal_page_fn)(void *ctx, uint32_t pgno, const uint8_t *image);
/** Visit every page image of the last complete checkpoint batch (none if there is none). */
int cellar_wal_batch_pages(cellar_wal *w, cellar_wal_page_fn fn, void *ctx);
/** Whether the log holds any record (recovery has work to do). */
bool cellar_wal_has_records(cellar_wal *w);

/** Called for each TXN record during replay: payload bytes and the record's offset. */
typedef int (*cellar_wal_replay_fn)(void *ctx, const uint8_t *payload, size_t len, uint64_t off);
/** Replay TXN records at or after `from`, in order. */
int cellar_wal_replay(cellar_wal *w, uint64_t from, cellar_wal_replay_fn fn, void *ctx);

/**
 * Append a TXN record gathered from pieces. *out_off receives its offset and
 * *out_end the log end after it. Under the db's writer lock (one appender).
 * On failure nothing is appended (the append position is unchanged).
 */
int cellar_wal_append(cellar_wal *w, const cellar_wal_piece *pieces, size_t n,
                      uint64_t *out_off, uint64_t *out_end);

/** Make the log durable up to at least `upto` (group commit: one fsync serves all waiters). */
int cellar_wal_sync(cellar_wal *w, uint64_t upto);
/** Hand buffered records to the OS (sync=off buffers them). */
int cellar_wal_flush(cellar_wal *w);

/** Checkpoint batch: begin, add each page image, then end (appends CKPT and fsyncs). */
int cellar_wal_batch_begin(cellar_wal *w);
int cellar_wal_batch_page(cellar_wal *w, uint32_t pgno, const uint8_t *image);
int cellar_wal_batch_end(cellar_wal *w, uint64_t resume);
/** Drop a failed batch: the append position returns to where the batch began. */
void cellar_wal_batch_cancel(cellar_wal *w);

/** Empty the log: new salt, header only, fsynced. */
int cellar_wal_reset(cellar_wal *w);

/** Empty the log with the given salt (a checkpoint names the log that follows it by its salt). */
int cellar_wal_reset_salt(cellar_wal *w, uint64_t salt);
/** The log's salt (0 when there is no log file). */
uint64_t cellar_wal_salt(cellar_wal *w);

/** Current end of the log (append position) and the durable end. */
uint64_t cellar_wal_end(cellar_wal *w);
uint64_t cellar_wal_durable(cellar_wal *w);
/** End of what was handed to the OS (the flusher syncs up to it). */
uint64_t cellar_wal_written(cellar_wal *w);
/** True once an fsync of the log has failed: every later append or sync fails (reopen to recover). */
bool cellar_wal_failed(cellar_wal *w);

#endif
