/*
 * dump.c - cellar_dump and cellar_load: the portable text dump format.
 *
 * Built on the public API only (cellar_iter_*, cellar_ttl, cellar_put_many,
 * cellar_put_ttl), so it needs nothing from the layers below and works the
 * same on any database a handle can open.
 *
 * The format, version 1
 * ---------------------
 * A UTF-8/ASCII text file of lines ending in "\n" (a "\r" before it is
 * ignored, so CRLF files load too):
 *
 *     cellardb-dump 1
 *     # any line starting with '#' is a comment
 *     KEY<TAB>VALUE
 *     KEY<TAB>VALUE<TAB>expires=1700000123456
 *
 * - Line 1 is the header: "cellardb-dump" SP version. A loader refuses a
 *   higher version (CELLAR_EVERSION) and anything else (CELLAR_EINVAL).
 * - Then one line per record: the key, a TAB, the value, then optional
 *   attributes, each a TAB and NAME=VALUE. The one attribute of version 1 is
 *   `expires=MS`: the record's absolute expiry time, in milliseconds since
 *   the Unix epoch (wall clock). Unknown attributes are an error (a format
 *   that adds some is a new version).
 * - KEY and VALUE are percent-encoded bytes: "%XX" (two hex digits, either
 *   case) stands for the byte 0xXX; every other byte stands for itself. A
 *   writer must encode '%', TAB, LF, CR and every byte a text tool could
 *   mangle; cellar_dump encodes every byte outside 0x21..0x7E except space,
 *   plus '%' and '#', so its output is pure printable ASCII and a key never
 *   starts a comment. A loader accepts any other byte unencoded (a generated
 *   dump may carry raw UTF-8). An empty key or value is an empty field.
 * - Empty lines and '#' comment lines are skipped. Records are in hash order;
 *   if a key appears twice, the later line wins.
 *
 * TTLs: cellar_dump writes `expires=` as (wall clock now + cellar_ttl()), so
 * the expiry survives a dump/load round trip in absolute time. cellar_load
 * stores such a record with the remaining time (expires - wall clock now) and
 * skips records that have already expired.
 *
 * Progress: cellar_dump reports records written out of cellar_count() at the
 * start (the total grows if writers add records meanwhile); cellar_load
 * reports bytes read out of the file size (0 = unknown, for a pipe). Both
 * call the callback every PROGRESS_EVERY records and once at the end; a
 * nonzero return stops the operation with CELLAR_ECANCELED.
 *
 * Atomicity: cellar_load stores records in batches of up to LOAD_BATCH
 * records (or LOAD_BATCH_BYTES), each one transaction (cellar_put_many). If
 * it fails part-way, the batches before the failing one are stored.
 *
 * Bounds: a line longer than the largest possible record (a 64 KiB key and a
 * 1 GiB value, percent-encoded, plus attributes) is refused before it is
 * buffered, so a hostile file cannot make the loader allocate without bound.
 */
#include "common/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DUMP_MAGIC "cellardb-dump"
#define DUMP_VERSION 1
#define PROGRESS_EVERY 4096u
#define LOAD_BATCH 1024u
#define LOAD_BATCH_BYTES (8u << 20)
/* the longest line a valid dump can have: encoded key + value + attributes */
#define MAX_LINE ((uint64_t)3 * (CELLAR_MAX_KEY_SIZE + CELLAR_MAX_VALUE_SIZE) + 256)

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static const char hexdig[] = "0123456789ABCDEF";

static int must_encode(unsigned char c)
{
    return c < 0x20 || c >= 0x7F || c == '%' || c == '#';
}

/* Percent-encode n bytes of p to f. Returns 0 or EOF. */
static int put_encoded(FILE *f, const unsigned char *p, size_t n)
{
    size_t run = 0; /* bytes at the start of p that need no encoding */
    for (size_t i = 0; i < n; i++) {
        if (!must_encode(p[i]))
            continue;
        if (i > run && fwrite(p + run, 1, i - run, f) != i - run)
            return EOF;
        char esc[3] = { '%', hexdig[p[i] >> 4], hexdig[p[i] & 15] };
        if (fwrite(esc, 1, 3, f) != 3)
            return EOF;
        run = i + 1;
    }
    if (n > run && fwrite(p + run, 1, n - run, f) != n - run)
        return EOF;
    return 0;
}

static int io_error(const char *path, const char *what)
{
    int e = errno;
    if (e == 0)
        return cellar__err(CELLAR_EIO, 0, "%s: %s: stream error", path, what);
    /* cellar__err appends the errno's text */
    return cellar__err(e == ENOSPC ? CELLAR_ENOSPC : CELLAR_EIO, e, "%s: %s", path, what);
}

static int canceled(const char *what)
{
    return cellar__err(CELLAR_ECANCELED, 0, "%s canceled by the progress callback", what);
}

CELLAR_API int cellar_dump(cellar_db *db, const char *path, cellar_progress_fn progress, void *payload)
{
    if (!db || !path)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_dump: NULL %s", db ? "path" : "db");
    uint64_t total = 0, done = 0;
    int rc = cellar_count(db, &total);
    if (rc)
        return rc;
    cellar_iter *it;
    rc = cellar_iter_open(&it, db);
    if (rc)
        return rc;

    int to_stdout = strcmp(path, "-") == 0;
    const char *name = to_stdout ? "<stdout>" : path;
    FILE *f = to_stdout ? stdout : fopen(path, "w");
    if (!f) {
        rc = cellar__err(errno == EACCES ? CELLAR_EACCES : (errno == ENOENT ? CELLAR_ENOENT : CELLAR_EIO),
                         errno, "%s: cannot create", path);
        cellar_iter_close(it);
        return rc;
    }
    errno = 0;
    if (fprintf(f, "%s %d\n# KEY<TAB>VALUE[<TAB>expires=MS]; non-printable bytes, %% and # as %%XX\n",
                DUMP_MAGIC, DUMP_VERSION) < 0)
        rc = io_error(name, "write");

    while (rc == CELLAR_OK) {
        const void *k, *v;
        size_t kl = 0, vl = 0;
        rc = cellar_iter_next(it, &k, &kl, &v, &vl);
        if (rc == CELLAR_ENOTFOUND) {
            rc = CELLAR_OK;
            break;
        }
        if (rc)
            break;
        int64_t ttl = -1;
        int trc = cellar_ttl(db, k, kl, &ttl);
        if (trc == CELLAR_ENOTFOUND)
            continue; /* expired or deleted since the iterator saw it */
        if (trc) {
            rc = trc;
            break;
        }
        if (put_encoded(f, k, kl) == EOF || putc('\t', f) == EOF || put_encoded(f, v, vl) == EOF ||
            (ttl >= 0 && fprintf(f, "\texpires=%llu", (unsigned long long)cellar__now_ms() + (uint64_t)ttl) < 0) ||
            putc('\n', f) == EOF) {
            rc = io_error(name, "write");
            break;
        }
        done++;
        if (progress && done % PROGRESS_EVERY == 0 && progress(done, done > total ? done : total, payload))
            rc = canceled("dump");
    }
    cellar_iter_close(it);

    if (rc == CELLAR_OK && progress && progress(done, done > total ? done : total, payload))
        rc = canceled("dump");
    errno = 0;
    if (fflush(f) == EOF && rc == CELLAR_OK)
        rc = io_error(name, "write");
    if (!to_stdout && fclose(f) == EOF && rc == CELLAR_OK)
        rc = io_error(name, "close");
    struct stat sb;
    if (rc != CELLAR_OK && !to_stdout && stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        unlink(path); /* no half dump left behind to be mistaken for a whole one */
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

/* A buffered line reader that refuses lines longer than MAX_LINE. */
typedef struct line_reader {
    FILE *f;
    const char *name;
    unsigned char buf[65536];
    size_t pos, len;
    int eof;
    unsigned char *line;
    size_t line_len, line_cap;
    uint64_t lineno;
    uint64_t consumed; /* bytes of the input taken so far */
} line_reader;

static int line_append(line_reader *r, const unsigned char *p, size_t n)
{
    if ((uint64_t)r->line_len + n > MAX_LINE)
        return cellar__err(CELLAR_EINVAL, 0, "%s: line %llu: longer than any valid record",
                           r->name, (unsigned long long)r->lineno);
    if (r->line_len + n + 1 > r->line_cap) {
        size_t cap = r->line_cap ? r->line_cap : 4096;
        while (cap < r->line_len + n + 1)
            cap *= 2;
        unsigned char *nl = cellar__realloc(r->line, cap);
        if (!nl)
            return cellar__err_oom();
        r->line = nl;
        r->line_cap = cap;
    }
    memcpy(r->line + r->line_len, p, n);
    r->line_len += n;
    return CELLAR_OK;
}

/* Read the next line (without its "\n" or "\r\n") into r->line/line_len.
 * Returns CELLAR_OK, CELLAR_ENOTFOUND at the end of input, or an error. */
static int read_line(line_reader *r)
{
    r->line_len = 0;
    r->lineno++;
    int any = 0;
    for (;;) {
        if (r->pos == r->len) {
            if (r->eof)
                break;
            errno = 0;
            r->len = fread(r->buf, 1, sizeof r->buf, r->f);
            r->pos = 0;
            if (r->len == 0) {
                if (ferror(r->f))
                    return io_error(r->name, "read");
                r->eof = 1;
                break;
            }
        }
        any = 1;
        unsigned char *start = r->buf + r->pos;
        unsigned char *nl = memchr(start, '\n', r->len - r->pos);
        size_t n = nl ? (size_t)(nl - start) : r->len - r->pos;
        int rc = line_append(r, start, n);
        if (rc)
            return rc;
        r->pos += n + (nl != NULL);
        r->consumed += n + (nl != NULL);
        if (nl)
            break;
    }
    if (!any)
        return CELLAR_ENOTFOUND;
    if (r->line_len && r->line[r->line_len - 1] == '\r')
        r->line_len--;
    return CELLAR_OK;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode the percent-encoded field p[0..n) in place; *out_len gets its length. */
static int decode_field(line_reader *r, unsigned char *p, size_t n, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') {
            p[o++] = p[i];
            continue;
        }
        int hi = n - i >= 3 ? hexval(p[i + 1]) : -1;
        int lo = n - i >= 3 ? hexval(p[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return cellar__err(CELLAR_EINVAL, 0, "%s: line %llu: bad %%-escape", r->name,
                               (unsigned long long)r->lineno);
        p[o++] = (unsigned char)(hi << 4 | lo);
        i += 2;
    }
    *out_len = o;
    return CELLAR_OK;
}

/* Records decoded but not yet stored: bytes in one arena, offsets per record. */
typedef struct batch_rec {
    size_t koff, klen, voff, vlen;
} batch_rec;

typedef struct batch {
    unsigned char *arena;
    size_t used, cap;
    batch_rec rec[LOAD_BATCH];
    cellar_slice ks[LOAD_BATCH], vs[LOAD_BATCH];
    size_t n;
} batch;

static int batch_add(batch *b, const unsigned char *k, size_t kl, const unsigned char *v, size_t vl)
{
    size_t need = kl + vl;
    if (b->used + need > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->used + need)
            cap *= 2;
        unsigned char *na = cellar__realloc(b->arena, cap);
        if (!na)
            return cellar__err_oom();
        b->arena = na;
        b->cap = cap;
    }
    batch_rec *r = &b->rec[b->n++];
    r->koff = b->used;
    r->klen = kl;
    memcpy(b->arena + b->used, k, kl);
    b->used += kl;
    r->voff = b->used;
    r->vlen = vl;
    memcpy(b->arena + b->used, v, vl);
    b->used += vl;
    return CELLAR_OK;
}

static int batch_flush(cellar_db *db, batch *b)
{
    if (b->n == 0)
        return CELLAR_OK;
    for (size_t i = 0; i < b->n; i++) {
        b->ks[i].data = b->arena + b->rec[i].koff;
        b->ks[i].len = b->rec[i].klen;
        b->vs[i].data = b->arena + b->rec[i].voff;
        b->vs[i].len = b->rec[i].vlen;
    }
    int rc = cellar_put_many(db, b->n, b->ks, b->vs);
    b->n = 0;
    b->used = 0;
    return rc;
}

static int parse_header(line_reader *r)
{
    int rc = read_line(r);
    if (rc == CELLAR_ENOTFOUND)
        return cellar__err(CELLAR_EINVAL, 0, "%s: empty input, not a cellardb dump", r->name);
    if (rc)
        return rc;
    size_t ml = sizeof DUMP_MAGIC - 1;
    if (r->line_len < ml + 2 || memcmp(r->line, DUMP_MAGIC " ", ml + 1) != 0)
        return cellar__err(CELLAR_EINVAL, 0, "%s: not a cellardb dump (no \"%s\" header line)", r->name,
                           DUMP_MAGIC);
    uint64_t version = 0;
    size_t i = ml + 1;
    for (; i < r->line_len && r->line[i] >= '0' && r->line[i] <= '9' && version < 1000000; i++)
        version = version * 10 + (uint64_t)(r->line[i] - '0');
    if (i == ml + 1 || (i < r->line_len && r->line[i] != ' '))
        return cellar__err(CELLAR_EINVAL, 0, "%s: bad dump header line", r->name);
    if (version != DUMP_VERSION)
        return cellar__err(CELLAR_EVERSION, 0, "%s: dump format version %llu (this library reads %d)", r->name,
                           (unsigned long long)version, DUMP_VERSION);
    return CELLAR_OK;
}

/* Parse the attributes after the value (p[0..n), starting after a TAB). */
static int parse_attrs(line_reader *r, const unsigned char *p, size_t n, uint64_t *expires)
{
    static const char exp_name[] = "expires=";
    size_t i = 0;
    while (i < n) {
        const unsigned char *tab = memchr(p + i, '\t', n - i);
        size_t end = tab ? (size_t)(tab - p) : n;
        size_t el = sizeof exp_name - 1;
        if (end - i > el && memcmp(p + i, exp_name, el) == 0) {
            uint64_t v = 0;
            size_t j = i + el;
            for (; j < end && p[j] >= '0' && p[j] <= '9'; j++) {
                if (v > (UINT64_MAX - 9) / 10)
                    break;
                v = v * 10 + (uint64_t)(p[j] - '0');
            }
            if (j != end)
                return cellar__err(CELLAR_EINVAL, 0, "%s: line %llu: bad expires= value", r->name,
                                   (unsigned long long)r->lineno);
            *expires = v;
        } else {
            return cellar__err(CELLAR_EINVAL, 0, "%s: line %llu: unknown attribute (expected expires=MS)",
                               r->name, (unsigned long long)r->lineno);
        }
        i = end + 1;
    }
    return CELLAR_OK;
}

static int load_stream(cellar_db *db, line_reader *r, batch *b, uint64_t total,
                       cellar_progress_fn progress, void *payload)
{
    int rc = parse_header(r);
    uint64_t records = 0;
    while (rc == CELLAR_OK) {
        rc = read_line(r);
        if (rc == CELLAR_ENOTFOUND) {
            rc = CELLAR_OK;
            break;
        }
        if (rc)
            break;
        if (r->line_len == 0 || r->line[0] == '#')
            continue;
        unsigned char *line = r->line;
        size_t len = r->line_len;
        unsigned char *t1 = memchr(line, '\t', len);
        if (!t1) {
            rc = cellar__err(CELLAR_EINVAL, 0, "%s: line %llu: expected KEY<TAB>VALUE", r->name,
                             (unsigned long long)r->lineno);
            break;
        }
        size_t kraw = (size_t)(t1 - line);
        unsigned char *val = t1 + 1;
        size_t rest = len - kraw - 1;
        unsigned char *t2 = memchr(val, '\t', rest);
        size_t vraw = t2 ? (size_t)(t2 - val) : rest;
        uint64_t expires = 0;
        size_t kl = 0, vl = 0;
        if (t2 && (rc = parse_attrs(r, t2 + 1, rest - vraw - 1, &expires)) != CELLAR_OK)
            break;
        if ((rc = decode_field(r, line, kraw, &kl)) != CELLAR_OK ||
            (rc = decode_field(r, val, vraw, &vl)) != CELLAR_OK)
            break;
        if (kl > CELLAR_MAX_KEY_SIZE || vl > CELLAR_MAX_VALUE_SIZE) {
            rc = cellar__err(CELLAR_ETOOBIG, 0, "%s: line %llu: %s of %zu bytes is over the limit", r->name,
                             (unsigned long long)r->lineno, kl > CELLAR_MAX_KEY_SIZE ? "key" : "value",
                             kl > CELLAR_MAX_KEY_SIZE ? kl : vl);
            break;
        }
        if (expires) {
            /* TTL records go one by one, after the batch, to keep the line order */
            uint64_t now = cellar__now_ms();
            if ((rc = batch_flush(db, b)) != CELLAR_OK)
                break;
            if (expires > now && (rc = cellar_put_ttl(db, line, kl, val, vl, expires - now)) != CELLAR_OK)
                break;
        } else {
            if ((rc = batch_add(b, line, kl, val, vl)) != CELLAR_OK)
                break;
            if ((b->n == LOAD_BATCH || b->used >= LOAD_BATCH_BYTES) && (rc = batch_flush(db, b)) != CELLAR_OK)
                break;
        }
        records++;
        if (progress && records % PROGRESS_EVERY == 0 && progress(r->consumed, total, payload))
            rc = canceled("load");
    }
    if (rc == CELLAR_OK)
        rc = batch_flush(db, b);
    if (rc == CELLAR_OK && progress && progress(r->consumed, total ? total : r->consumed, payload))
        rc = canceled("load");
    return rc;
}

CELLAR_API int cellar_load(cellar_db *db, const char *path, cellar_progress_fn progress, void *payload)
{
    if (!db || !path)
        return cellar__err(CELLAR_EINVAL, 0, "cellar_load: NULL %s", db ? "path" : "db");
    int from_stdin = strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "r");
    if (!f)
        return cellar__err(errno == ENOENT ? CELLAR_ENOENT : (errno == EACCES ? CELLAR_EACCES : CELLAR_EIO),
                           errno, "%s: cannot open", path);
    uint64_t total = 0;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
        total = (uint64_t)sb.st_size;

    line_reader *r = cellar__calloc(1, sizeof *r);
    batch *b = cellar__calloc(1, sizeof *b);
    int rc;
    if (!r || !b) {
        rc = cellar__err_oom();
    } else {
        r->f = f;
        r->name = from_stdin ? "<stdin>" : path;
        rc = load_stream(db, r, b, total, progress, payload);
    }
    if (r)
        free(r->line);
    if (b)
        free(b->arena);
    free(r);
    free(b);
    if (!from_stdin)
        (void)fclose(f); /* read only: closing loses nothing */
    return rc;
}
