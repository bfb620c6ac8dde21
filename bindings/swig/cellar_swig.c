/*
 * cellar_swig.c - the object layer under the SWIG bindings (see cellar_swig.h
 * for the error, lifetime and locking rules this file implements).
 *
 * Lock order: a child's busy mutex, then its database's rwlock; the list of
 * databases (g_dbs_lock) before any database's rwlock. Nothing here calls
 * back into a language, so no lock is held across foreign code.
 */
#define _POSIX_C_SOURCE 200809L /* pthread_rwlock_t, strdup */

#include "cellar_swig.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- status --------------------------------------------------------------- */

#define STATUS_MSG_MAX 1024

static _Thread_local struct {
    int code;
    char msg[STATUS_MSG_MAX];
} t_status;

void cellar_swig_clear(void)
{
    t_status.code = CELLAR_OK;
    t_status.msg[0] = '\0';
}

int cellar_swig_code(void) { return t_status.code; }

const char *cellar_swig_message(void) { return t_status.msg; }

/* Record a failure with our own detail. */
static void fail_msg(int code, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(t_status.msg, sizeof t_status.msg, "%s: ", cellar_strerror(code));
    if (n < 0 || (size_t)n >= sizeof t_status.msg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(t_status.msg + n, sizeof t_status.msg - (size_t)n, fmt, ap);
    va_end(ap);
    t_status.code = code;
}

void cellar_swig_fail_null(const char *type)
{
    if (strncmp(type, "struct ", 7) == 0)
        type += 7;
    fail_msg(CELLAR_ECLOSED, "the %s object is closed or null", type);
}

/* A method called on no object: 1 if self is there, else records why. */
static int have(const void *self, const char *type)
{
    if (self != NULL)
        return 1;
    cellar_swig_fail_null(type);
    return 0;
}

/* Record a failure returned by the core, with the core's detail if it has one. */
static void fail_core(int code)
{
    const cellar_error *e = cellar_error_last();
    if (e->code == code && e->message != NULL && e->message[0] != '\0')
        snprintf(t_status.msg, sizeof t_status.msg, "%s: %s", cellar_strerror(code), e->message);
    else
        snprintf(t_status.msg, sizeof t_status.msg, "%s", cellar_strerror(code));
    t_status.code = code;
}

/* Returns 1 when rc is OK, else records it and returns 0. */
static int ok(int rc)
{
    if (rc == CELLAR_OK)
        return 1;
    fail_core(rc);
    return 0;
}

/* Keys are required; a language's null/undef becomes a clear error. */
static int need_bytes(const void *p, const char *what)
{
    if (p != NULL)
        return 1;
    fail_msg(CELLAR_EINVAL, "%s must be a byte string, not null", what);
    return 0;
}

static int need_nonneg(int64_t v, const char *what)
{
    if (v >= 0)
        return 1;
    fail_msg(CELLAR_EINVAL, "%s must not be negative (got %lld)", what, (long long)v);
    return 0;
}

static CellarBytes no_bytes(void)
{
    CellarBytes b = { NULL, 0, 0 };
    return b;
}

void cellar_swig_free_bytes(CellarBytes *b)
{
    if (b->owner == CELLAR_SWIG_OWNER_CORE)
        cellar_free(b->data);
    else if (b->owner == CELLAR_SWIG_OWNER_SELF)
        free(b->data);
    b->data = NULL;
    b->owner = CELLAR_SWIG_OWNER_NONE;
}

/* A copy made by this layer (malloc'd, never NULL on success). */
static CellarBytes copy_bytes(const void *p, size_t len)
{
    CellarBytes b = no_bytes();
    b.data = malloc(len ? len : 1);
    if (b.data == NULL) {
        fail_msg(CELLAR_ENOMEM, "copying %zu bytes", len);
        return b;
    }
    if (len)
        memcpy(b.data, p, len);
    b.len = len;
    b.owner = CELLAR_SWIG_OWNER_SELF;
    return b;
}

void cellar_swig_free_bytes_list(CellarBytesList *l)
{
    for (size_t i = 0; i < l->n; i++)
        cellar_free((void *)l->items[i].data);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void cellar_swig_free_slices(CellarSlices *s)
{
    if (s->owns)
        for (size_t i = 0; i < s->n; i++)
            free((void *)s->items[i].data);
    free(s->items);
    s->items = NULL;
    s->n = 0;
}

void cellar_swig_free_strings(CellarStrings *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* ---- clocks ----------------------------------------------------------------- */

struct CellarClock {
    _Atomic int64_t now;
    CellarClock *next; /* the process-wide list that keeps every clock */
};

static pthread_mutex_t g_clocks_lock = PTHREAD_MUTEX_INITIALIZER;
static CellarClock *g_clocks;

static uint64_t clock_read(void *payload)
{
    int64_t v = atomic_load(&((CellarClock *)payload)->now);
    return v < 0 ? 0 : (uint64_t)v;
}

CellarClock *new_CellarClock(int64_t start_ms)
{
    if (!need_nonneg(start_ms, "clock start"))
        return NULL;
    CellarClock *c = calloc(1, sizeof *c);
    if (c == NULL) {
        fail_msg(CELLAR_ENOMEM, "clock");
        return NULL;
    }
    atomic_store(&c->now, start_ms);
    pthread_mutex_lock(&g_clocks_lock);
    c->next = g_clocks;
    g_clocks = c;
    pthread_mutex_unlock(&g_clocks_lock);
    return c;
}

void delete_CellarClock(CellarClock *self) { (void)self; /* kept: see header */ }

int64_t CellarClock_now(CellarClock *self)
{
    return have(self, "CellarClock") ? atomic_load(&self->now) : 0;
}

void CellarClock_set(CellarClock *self, int64_t ms)
{
    if (have(self, "CellarClock") && need_nonneg(ms, "time"))
        atomic_store(&self->now, ms);
}

void CellarClock_advance(CellarClock *self, int64_t ms)
{
    if (have(self, "CellarClock") && need_nonneg(ms, "clock step"))
        atomic_fetch_add(&self->now, ms);
}

/* ---- options ----------------------------------------------------------------- */

struct CellarOptions {
    cellar_options o;
};

CellarOptions *new_CellarOptions(void)
{
    static const cellar_options init = CELLAR_OPTIONS_INIT;
    CellarOptions *p = malloc(sizeof *p);
    if (p == NULL) {
        fail_msg(CELLAR_ENOMEM, "options");
        return NULL;
    }
    p->o = init;
    return p;
}

void delete_CellarOptions(CellarOptions *self) { free(self); }

#define OPTS "CellarOptions"

CellarOptions *CellarOptions_copy(CellarOptions *self)
{
    if (!have(self, OPTS))
        return NULL;
    CellarOptions *p = new_CellarOptions();
    if (p)
        *p = *self;
    return p;
}

void CellarOptions_set_flags(CellarOptions *self, unsigned int flags)
{
    if (have(self, OPTS))
        self->o.flags = flags;
}

unsigned int CellarOptions_get_flags(CellarOptions *self)
{
    return have(self, OPTS) ? self->o.flags : 0;
}

static void set_flag(CellarOptions *self, unsigned int flag, int on)
{
    if (!have(self, OPTS))
        return;
    if (on)
        self->o.flags |= flag;
    else
        self->o.flags &= ~flag;
}

void CellarOptions_set_readonly(CellarOptions *self, int on)
{
    set_flag(self, CELLAR_RDONLY, on);
    /* a read-only open never creates */
    if (on && self)
        set_flag(self, CELLAR_CREATE, 0);
}

void CellarOptions_set_create(CellarOptions *self, int on) { set_flag(self, CELLAR_CREATE, on); }

void CellarOptions_set_truncate(CellarOptions *self, int on) { set_flag(self, CELLAR_TRUNCATE, on); }

void CellarOptions_set_cache_size(CellarOptions *self, int64_t bytes)
{
    if (have(self, OPTS) && need_nonneg(bytes, "cache_size"))
        self->o.cache_size = (size_t)bytes;
}

void CellarOptions_set_page_size(CellarOptions *self, int64_t bytes)
{
    if (!have(self, OPTS) || !need_nonneg(bytes, "page_size"))
        return;
    if (bytes > (int64_t)CELLAR_MAX_PAGE_SIZE) {
        fail_msg(CELLAR_EINVAL, "page_size %lld is over %u", (long long)bytes,
                 CELLAR_MAX_PAGE_SIZE);
        return;
    }
    self->o.page_size = (unsigned int)bytes;
}

void CellarOptions_set_sync(CellarOptions *self, const char *mode)
{
    if (!have(self, OPTS))
        return;
    if (mode == NULL)
        fail_msg(CELLAR_EINVAL, "sync mode must be \"normal\", \"full\" or \"off\"");
    else if (strcmp(mode, "normal") == 0)
        self->o.sync = CELLAR_SYNC_NORMAL;
    else if (strcmp(mode, "full") == 0)
        self->o.sync = CELLAR_SYNC_FULL;
    else if (strcmp(mode, "off") == 0)
        self->o.sync = CELLAR_SYNC_OFF;
    else
        fail_msg(CELLAR_EINVAL, "sync mode \"%s\": use \"normal\", \"full\" or \"off\"", mode);
}

void CellarOptions_set_mode(CellarOptions *self, int mode)
{
    if (!have(self, OPTS))
        return;
    if (mode < 0 || mode > 07777)
        fail_msg(CELLAR_EINVAL, "file mode %o is out of range", (unsigned)mode);
    else
        self->o.mode = (unsigned int)mode;
}

void CellarOptions_set_lock_timeout(CellarOptions *self, int ms)
{
    if (have(self, OPTS) && need_nonneg(ms, "lock_timeout"))
        self->o.lock_timeout_ms = ms;
}

void CellarOptions_set_wal_limit(CellarOptions *self, int64_t bytes)
{
    if (have(self, OPTS) && need_nonneg(bytes, "wal_limit"))
        self->o.wal_limit = (uint64_t)bytes;
}

void CellarOptions_set_clock(CellarOptions *self, CellarClock *clock)
{
    if (!have(self, OPTS))
        return;
    self->o.clock = clock ? clock_read : NULL;
    self->o.clock_payload = clock;
}

/* ---- the database ---------------------------------------------------------- */

struct CellarDB {
    pthread_rwlock_t lock; /* read: any call on the db or a child; write: close */
    cellar_db *db;         /* NULL once closed; guarded by lock */
    atomic_int refs;       /* the proxy + each live child */
    char *path;
    CellarDB *prev, *next; /* every CellarDB, for cellar_swig_close_all; g_dbs_lock */
};

/* Taken before a CellarDB's lock, never while holding one. */
static pthread_mutex_t g_dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static CellarDB *g_dbs;

/* Enter a call on the database: holds the read lock on success. */
static int db_enter(CellarDB *d)
{
    if (d == NULL) {
        fail_msg(CELLAR_ECLOSED, "the database object was closed");
        return 0;
    }
    pthread_rwlock_rdlock(&d->lock);
    if (d->db == NULL) {
        pthread_rwlock_unlock(&d->lock);
        fail_msg(CELLAR_ECLOSED, "database %s is closed", d->path);
        return 0;
    }
    return 1;
}

static void db_leave(CellarDB *d) { pthread_rwlock_unlock(&d->lock); }

static void db_retain(CellarDB *d) { atomic_fetch_add(&d->refs, 1); }

static void db_release(CellarDB *d)
{
    if (atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    /* last reference: nobody else can reach d now (but cellar_swig_close_all) */
    pthread_mutex_lock(&g_dbs_lock);
    if (d->prev)
        d->prev->next = d->next;
    else
        g_dbs = d->next;
    if (d->next)
        d->next->prev = d->prev;
    pthread_mutex_unlock(&g_dbs_lock);
    if (d->db != NULL)
        (void)cellar_close(d->db);
    pthread_rwlock_destroy(&d->lock);
    free(d->path);
    free(d);
}

CellarDB *new_CellarDB(const char *path, CellarOptions *opts)
{
    if (path == NULL) {
        fail_msg(CELLAR_EINVAL, "path must be a string, not null");
        return NULL;
    }
    CellarDB *d = calloc(1, sizeof *d);
    char *p = strdup(path);
    if (d == NULL || p == NULL) {
        free(d);
        free(p);
        fail_msg(CELLAR_ENOMEM, "opening %s", path);
        return NULL;
    }
    int rc = cellar_open(&d->db, path, opts ? &opts->o : NULL);
    if (rc != CELLAR_OK) {
        fail_core(rc);
        free(p);
        free(d);
        return NULL;
    }
    pthread_rwlock_init(&d->lock, NULL);
    atomic_init(&d->refs, 1);
    d->path = p;
    pthread_mutex_lock(&g_dbs_lock);
    d->next = g_dbs;
    if (g_dbs)
        g_dbs->prev = d;
    g_dbs = d;
    pthread_mutex_unlock(&g_dbs_lock);
    return d;
}

void cellar_swig_close_all(void)
{
    pthread_mutex_lock(&g_dbs_lock);
    for (CellarDB *d = g_dbs; d != NULL; d = d->next)
        CellarDB_close(d);
    pthread_mutex_unlock(&g_dbs_lock);
    cellar_swig_clear(); /* a failed final checkpoint leaves the data in the log */
}

void CellarDB_close(CellarDB *self)
{
    if (self == NULL)
        return;
    int rc = CELLAR_OK;
    pthread_rwlock_wrlock(&self->lock);
    if (self->db != NULL) {
        rc = cellar_close(self->db);
        self->db = NULL;
    }
    pthread_rwlock_unlock(&self->lock);
    (void)ok(rc);
}

void delete_CellarDB(CellarDB *self)
{
    if (self != NULL)
        db_release(self);
}

int CellarDB_closed(CellarDB *self)
{
    if (self == NULL)
        return 1;
    pthread_rwlock_rdlock(&self->lock);
    int closed = self->db == NULL;
    pthread_rwlock_unlock(&self->lock);
    return closed;
}

const char *CellarDB_path(CellarDB *self) { return self ? self->path : ""; }

CellarBytes CellarDB_get(CellarDB *self, const void *key, size_t klen)
{
    CellarBytes b = no_bytes();
    if (!need_bytes(key, "key") || !db_enter(self))
        return b;
    int rc = cellar_get(self->db, key, klen, &b.data, &b.len);
    db_leave(self);
    if (ok(rc))
        b.owner = CELLAR_SWIG_OWNER_CORE;
    else
        b = no_bytes();
    return b;
}

int CellarDB_exists(CellarDB *self, const void *key, size_t klen)
{
    if (!need_bytes(key, "key") || !db_enter(self))
        return 0;
    int rc = cellar_exists(self->db, key, klen);
    db_leave(self);
    if (rc == CELLAR_ENOTFOUND)
        return 0;
    return ok(rc);
}

void CellarDB_put(CellarDB *self, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (!need_bytes(key, "key") || !need_bytes(val, "value") || !db_enter(self))
        return;
    int rc = cellar_put(self->db, key, klen, val, vlen);
    db_leave(self);
    (void)ok(rc);
}

void CellarDB_put_ttl(CellarDB *self, const void *key, size_t klen, const void *val,
                      size_t vlen, int64_t ttl_ms)
{
    if (!need_bytes(key, "key") || !need_bytes(val, "value") || !need_nonneg(ttl_ms, "ttl")
        || !db_enter(self))
        return;
    int rc = cellar_put_ttl(self->db, key, klen, val, vlen, (uint64_t)ttl_ms);
    db_leave(self);
    (void)ok(rc);
}

void CellarDB_delete(CellarDB *self, const void *key, size_t klen)
{
    if (!need_bytes(key, "key") || !db_enter(self))
        return;
    int rc = cellar_delete(self->db, key, klen);
    db_leave(self);
    (void)ok(rc);
}

int64_t CellarDB_incr(CellarDB *self, const void *key, size_t klen, int64_t delta)
{
    int64_t out = 0;
    if (!need_bytes(key, "key") || !db_enter(self))
        return 0;
    int rc = cellar_incr(self->db, key, klen, delta, &out);
    db_leave(self);
    return ok(rc) ? out : 0;
}

int64_t CellarDB_decr(CellarDB *self, const void *key, size_t klen, int64_t delta)
{
    if (delta == INT64_MIN) {
        fail_msg(CELLAR_EOVERFLOW, "decr by the smallest int64 cannot be negated");
        return 0;
    }
    return CellarDB_incr(self, key, klen, -delta);
}

void CellarDB_cas(CellarDB *self, const void *key, size_t klen, const void *expected,
                  size_t elen, const void *val, size_t vlen)
{
    if (!need_bytes(key, "key") || !db_enter(self))
        return;
    int rc = cellar_cas(self->db, key, klen, expected, elen, val, vlen);
    db_leave(self);
    (void)ok(rc);
}

void CellarDB_insert(CellarDB *self, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (need_bytes(val, "value"))
        CellarDB_cas(self, key, klen, NULL, 0, val, vlen);
}

void CellarDB_delete_if(CellarDB *self, const void *key, size_t klen, const void *expected,
                        size_t elen)
{
    if (need_bytes(expected, "expected value"))
        CellarDB_cas(self, key, klen, expected, elen, NULL, 0);
}

void CellarDB_expire(CellarDB *self, const void *key, size_t klen, int64_t ttl_ms)
{
    if (!need_bytes(key, "key") || !need_nonneg(ttl_ms, "ttl") || !db_enter(self))
        return;
    int rc = cellar_expire(self->db, key, klen, (uint64_t)ttl_ms);
    db_leave(self);
    (void)ok(rc);
}

int64_t CellarDB_ttl(CellarDB *self, const void *key, size_t klen)
{
    int64_t out = 0;
    if (!need_bytes(key, "key") || !db_enter(self))
        return 0;
    int rc = cellar_ttl(self->db, key, klen, &out);
    db_leave(self);
    return ok(rc) ? out : 0;
}

void CellarDB_persist(CellarDB *self, const void *key, size_t klen)
{
    if (!need_bytes(key, "key") || !db_enter(self))
        return;
    int rc = cellar_persist(self->db, key, klen);
    db_leave(self);
    (void)ok(rc);
}

int64_t CellarDB_count(CellarDB *self)
{
    uint64_t n = 0;
    if (!db_enter(self))
        return 0;
    int rc = cellar_count(self->db, &n);
    db_leave(self);
    return ok(rc) ? (int64_t)n : 0;
}

static int slices_ok(CellarSlices s, const char *what)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.items[i].data == NULL) {
            fail_msg(CELLAR_EINVAL, "%s %zu must be a byte string, not null", what, i);
            return 0;
        }
    return 1;
}

CellarBytesList CellarDB_get_many(CellarDB *self, CellarSlices keys)
{
    CellarBytesList out = { 0, NULL, NULL };
    if (!slices_ok(keys, "key") || !db_enter(self))
        return out;
    cellar_slice *vals = calloc(keys.n ? keys.n : 1, sizeof *vals);
    if (vals == NULL) {
        db_leave(self);
        fail_msg(CELLAR_ENOMEM, "get_many of %zu keys", keys.n);
        return out;
    }
    int rc = keys.n ? cellar_get_many(self->db, keys.n, keys.items, vals, NULL) : CELLAR_OK;
    db_leave(self);
    if (!ok(rc)) {
        free(vals);
        return out;
    }
    out.n = keys.n;
    out.items = vals;
    out.keys = keys.items;
    return out;
}

void CellarDB_put_many(CellarDB *self, CellarSlices keys, CellarSlices vals)
{
    if (keys.n != vals.n) {
        fail_msg(CELLAR_EINVAL, "put_many: %zu keys but %zu values", keys.n, vals.n);
        return;
    }
    if (!slices_ok(keys, "key") || !slices_ok(vals, "value") || !db_enter(self))
        return;
    int rc = keys.n ? cellar_put_many(self->db, keys.n, keys.items, vals.items) : CELLAR_OK;
    db_leave(self);
    (void)ok(rc);
}

CellarStats *CellarDB_stats(CellarDB *self)
{
    cellar_stats s;
    memset(&s, 0, sizeof s);
    s.version = CELLAR_STATS_VERSION;
    if (!db_enter(self))
        return NULL;
    int rc = cellar_stats_get(self->db, &s);
    db_leave(self);
    if (!ok(rc))
        return NULL;
    CellarStats *o = malloc(sizeof *o);
    if (o == NULL) {
        fail_msg(CELLAR_ENOMEM, "stats");
        return NULL;
    }
    o->records = (int64_t)s.records;
    o->file_size = (int64_t)s.file_size;
    o->page_size = (int64_t)s.page_size;
    o->pages = (int64_t)s.pages;
    o->bucket_pages = (int64_t)s.bucket_pages;
    o->overflow_pages = (int64_t)s.overflow_pages;
    o->value_pages = (int64_t)s.value_pages;
    o->directory_pages = (int64_t)s.directory_pages;
    o->free_pages = (int64_t)s.free_pages;
    o->global_depth = (int64_t)s.global_depth;
    o->fill_factor = s.fill_factor;
    o->cache_capacity = (int64_t)s.cache_capacity;
    o->cache_used = (int64_t)s.cache_used;
    o->cache_hits = (int64_t)s.cache_hits;
    o->cache_misses = (int64_t)s.cache_misses;
    o->wal_size = (int64_t)s.wal_size;
    o->commits = (int64_t)s.commits;
    o->checkpoints = (int64_t)s.checkpoints;
    return o;
}

void delete_CellarStats(CellarStats *self) { free(self); }

void CellarDB_sync(CellarDB *self)
{
    if (!db_enter(self))
        return;
    int rc = cellar_sync(self->db);
    db_leave(self);
    (void)ok(rc);
}

void CellarDB_checkpoint(CellarDB *self)
{
    if (!db_enter(self))
        return;
    int rc = cellar_checkpoint(self->db);
    db_leave(self);
    (void)ok(rc);
}

void CellarDB_compact(CellarDB *self)
{
    if (!db_enter(self))
        return;
    int rc = cellar_compact(self->db, NULL, NULL);
    db_leave(self);
    (void)ok(rc);
}

void CellarDB_backup(CellarDB *self, const char *dest)
{
    if (!need_bytes(dest, "backup path") || !db_enter(self))
        return;
    int rc = cellar_backup(self->db, dest, NULL, NULL);
    db_leave(self);
    (void)ok(rc);
}

void CellarDB_dump(CellarDB *self, const char *path)
{
    if (!need_bytes(path, "dump path") || !db_enter(self))
        return;
    int rc = cellar_dump(self->db, path, NULL, NULL);
    db_leave(self);
    (void)ok(rc);
}

void CellarDB_load(CellarDB *self, const char *path)
{
    if (!need_bytes(path, "dump path") || !db_enter(self))
        return;
    int rc = cellar_load(self->db, path, NULL, NULL);
    db_leave(self);
    (void)ok(rc);
}

/* cellar_check's reports, collected; bounded so a wrecked file cannot make
 * the list grow without limit. */
#define CHECK_MAX_REPORTS 1000

typedef struct {
    CellarStrings list;
    size_t cap;
    uint64_t dropped;
    int nomem;
} check_acc;

static int acc_add(check_acc *a, char *s)
{
    if (s == NULL)
        return 0;
    if (a->list.n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        char **items = realloc(a->list.items, cap * sizeof *items);
        if (items == NULL) {
            free(s);
            return 0;
        }
        a->list.items = items;
        a->cap = cap;
    }
    a->list.items[a->list.n++] = s;
    return 1;
}

static char *fmt_report(uint64_t page, const char *message)
{
    const char *m = message ? message : "";
    size_t n = strlen(m) + 48;
    char *s = malloc(n);
    if (s == NULL)
        return NULL;
    if (page)
        snprintf(s, n, "page %llu: %s", (unsigned long long)page, m);
    else
        snprintf(s, n, "%s", m);
    return s;
}

static void check_report(uint64_t page, const char *message, void *payload)
{
    check_acc *a = payload;
    if (a->nomem)
        return;
    if (a->list.n >= CHECK_MAX_REPORTS) {
        a->dropped++;
        return;
    }
    if (!acc_add(a, fmt_report(page, message)))
        a->nomem = 1;
}

CellarStrings CellarDB_check(CellarDB *self)
{
    check_acc a;
    memset(&a, 0, sizeof a);
    if (!db_enter(self))
        return a.list;
    uint64_t problems = 0;
    int rc = cellar_check(self->db, check_report, NULL, &a, &problems);
    db_leave(self);
    if (a.nomem) {
        cellar_swig_free_strings(&a.list);
        fail_msg(CELLAR_ENOMEM, "collecting check reports");
        return a.list;
    }
    if (rc == CELLAR_ECORRUPT) {
        /* problems are the result, not a failure of the call */
        if (a.dropped) {
            char buf[96];
            snprintf(buf, sizeof buf, "... and %llu more problems",
                     (unsigned long long)a.dropped);
            acc_add(&a, strdup(buf));
        } else if (a.list.n == 0) {
            acc_add(&a, strdup("database file is corrupt"));
        }
        return a.list;
    }
    if (!ok(rc))
        cellar_swig_free_strings(&a.list);
    return a.list;
}

/* ---- children: transactions and iterators -------------------------------- */

struct CellarTxn {
    CellarDB *owner;      /* holds a reference */
    pthread_mutex_t busy; /* one thread at a time */
    cellar_txn *txn;      /* NULL once committed or aborted; read and written under busy */
};

struct CellarIter {
    CellarDB *owner;
    pthread_mutex_t busy;
    cellar_iter *it; /* NULL once closed; read and written under busy */
    const void *key, *val;
    size_t klen, vlen;
    int state; /* 0: before the first record, 1: on a record, 2: at the end,
                  3: stopped by the error `err` (sticky: never mistaken for the end) */
    int err;
};

/* A child's busy mutex, or CELLAR_EBUSY recorded (another thread is in a
 * call on it). */
static int child_lock(pthread_mutex_t *busy, const char *what)
{
    if (pthread_mutex_trylock(busy) == 0)
        return 1;
    fail_msg(CELLAR_EBUSY, "the %s is in use by another thread", what);
    return 0;
}

static void child_leave(pthread_mutex_t *busy, CellarDB *owner)
{
    pthread_rwlock_unlock(&owner->lock);
    pthread_mutex_unlock(busy);
}

/* The database of a child was closed: the core made the child dead. */
static int owner_open(CellarDB *owner, const char *what)
{
    if (owner->db != NULL)
        return 1;
    fail_msg(CELLAR_ECLOSED, "the database of this %s was closed", what);
    return 0;
}

/*
 * Enter a call on a transaction: its busy mutex, then its database's read
 * lock (release both with child_leave). Returns the live core transaction,
 * or NULL with the failure recorded (EBUSY, or ECLOSED: it has ended, or
 * need_db and its database was closed; commit does without, as it frees a
 * dead transaction) and nothing held.
 *
 * The handle is read only once the busy mutex is held, and the call uses
 * that one read: abort and close end a handle (free it and set it to NULL)
 * under the same mutex, so a handle read before it may be one another
 * thread has just ended. (It was: the check passed on the stale pointer,
 * then the call handed the core the NULL that the abort had left, which the
 * core rightly calls CELLAR_EINVAL.)
 */
static cellar_txn *txn_enter(CellarTxn *t, int need_db)
{
    if (t == NULL) {
        fail_msg(CELLAR_ECLOSED, "the transaction object was freed");
        return NULL;
    }
    if (!child_lock(&t->busy, "transaction"))
        return NULL;
    cellar_txn *h = t->txn;
    if (h == NULL) {
        pthread_mutex_unlock(&t->busy);
        fail_msg(CELLAR_ECLOSED, "the transaction has ended");
        return NULL;
    }
    pthread_rwlock_rdlock(&t->owner->lock);
    if (need_db && !owner_open(t->owner, "transaction")) {
        child_leave(&t->busy, t->owner);
        return NULL;
    }
    return h;
}

/* As txn_enter, for an iterator (its database must be open). */
static cellar_iter *iter_enter(CellarIter *it)
{
    if (it == NULL) {
        fail_msg(CELLAR_ECLOSED, "the iterator object was freed");
        return NULL;
    }
    if (!child_lock(&it->busy, "iterator"))
        return NULL;
    cellar_iter *h = it->it;
    if (h == NULL) {
        pthread_mutex_unlock(&it->busy);
        fail_msg(CELLAR_ECLOSED, "the iterator has ended");
        return NULL;
    }
    pthread_rwlock_rdlock(&it->owner->lock);
    if (!owner_open(it->owner, "iterator")) {
        child_leave(&it->busy, it->owner);
        return NULL;
    }
    return h;
}

CellarTxn *CellarDB_begin(CellarDB *self, int readonly)
{
    CellarTxn *t = calloc(1, sizeof *t);
    if (t == NULL) {
        fail_msg(CELLAR_ENOMEM, "transaction");
        return NULL;
    }
    if (!db_enter(self)) {
        free(t);
        return NULL;
    }
    int rc = cellar_txn_begin(&t->txn, self->db, readonly ? CELLAR_RDONLY : 0);
    db_leave(self);
    if (!ok(rc)) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->busy, NULL);
    db_retain(self);
    t->owner = self;
    return t;
}

CellarBytes CellarTxn_get(CellarTxn *self, const void *key, size_t klen)
{
    CellarBytes b = no_bytes();
    if (!need_bytes(key, "key"))
        return b;
    cellar_txn *h = txn_enter(self, 1);
    if (h == NULL)
        return b;
    int rc = cellar_txn_get(h, key, klen, &b.data, &b.len);
    child_leave(&self->busy, self->owner);
    if (ok(rc))
        b.owner = CELLAR_SWIG_OWNER_CORE;
    else
        b = no_bytes();
    return b;
}

int CellarTxn_exists(CellarTxn *self, const void *key, size_t klen)
{
    if (!need_bytes(key, "key"))
        return 0;
    cellar_txn *h = txn_enter(self, 1);
    if (h == NULL)
        return 0;
    int rc = cellar_txn_exists(h, key, klen);
    child_leave(&self->busy, self->owner);
    if (rc == CELLAR_ENOTFOUND)
        return 0;
    return ok(rc);
}

void CellarTxn_put(CellarTxn *self, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (!need_bytes(key, "key") || !need_bytes(val, "value"))
        return;
    cellar_txn *h = txn_enter(self, 1);
    if (h == NULL)
        return;
    int rc = cellar_txn_put(h, key, klen, val, vlen);
    child_leave(&self->busy, self->owner);
    (void)ok(rc);
}

void CellarTxn_put_ttl(CellarTxn *self, const void *key, size_t klen, const void *val,
                       size_t vlen, int64_t ttl_ms)
{
    if (!need_bytes(key, "key") || !need_bytes(val, "value") || !need_nonneg(ttl_ms, "ttl"))
        return;
    cellar_txn *h = txn_enter(self, 1);
    if (h == NULL)
        return;
    int rc = cellar_txn_put_ttl(h, key, klen, val, vlen, (uint64_t)ttl_ms);
    child_leave(&self->busy, self->owner);
    (void)ok(rc);
}

void CellarTxn_delete(CellarTxn *self, const void *key, size_t klen)
{
    if (!need_bytes(key, "key"))
        return;
    cellar_txn *h = txn_enter(self, 1);
    if (h == NULL)
        return;
    int rc = cellar_txn_delete(h, key, klen);
    child_leave(&self->busy, self->owner);
    (void)ok(rc);
}

void CellarTxn_commit(CellarTxn *self)
{
    cellar_txn *h = txn_enter(self, 0);
    if (h == NULL)
        return;
    int rc = CELLAR_OK, db_closed = self->owner->db == NULL;
    if (db_closed)
        cellar_txn_abort(h); /* frees the dead transaction */
    else
        rc = cellar_txn_commit(h); /* frees it, success or not */
    self->txn = NULL;
    child_leave(&self->busy, self->owner);
    if (db_closed)
        fail_msg(CELLAR_ECLOSED, "the database of this transaction was closed");
    else
        (void)ok(rc);
}

void CellarTxn_abort(CellarTxn *self)
{
    if (self == NULL)
        return;
    pthread_mutex_lock(&self->busy);
    if (self->txn != NULL) {
        pthread_rwlock_rdlock(&self->owner->lock);
        cellar_txn_abort(self->txn);
        self->txn = NULL;
        pthread_rwlock_unlock(&self->owner->lock);
    }
    pthread_mutex_unlock(&self->busy);
}

int CellarTxn_active(CellarTxn *self)
{
    if (self == NULL)
        return 0;
    pthread_mutex_lock(&self->busy);
    int live = self->txn != NULL;
    pthread_mutex_unlock(&self->busy);
    return live;
}

void delete_CellarTxn(CellarTxn *self)
{
    if (self == NULL)
        return;
    CellarTxn_abort(self);
    pthread_mutex_destroy(&self->busy);
    db_release(self->owner);
    free(self);
}

CellarIter *CellarDB_iterate(CellarDB *self)
{
    CellarIter *it = calloc(1, sizeof *it);
    if (it == NULL) {
        fail_msg(CELLAR_ENOMEM, "iterator");
        return NULL;
    }
    if (!db_enter(self)) {
        free(it);
        return NULL;
    }
    int rc = cellar_iter_open(&it->it, self->db);
    db_leave(self);
    if (!ok(rc)) {
        free(it);
        return NULL;
    }
    pthread_mutex_init(&it->busy, NULL);
    db_retain(self);
    it->owner = self;
    return it;
}

int CellarIter_advance(CellarIter *self)
{
    cellar_iter *h = iter_enter(self);
    if (h == NULL)
        return 0;
    int more = 0;
    if (self->state == 2) {
        more = 0; /* the end is sticky */
    } else if (self->state == 3) {
        fail_msg(self->err, "the iterator stopped on an earlier error; open a new one");
    } else {
        int rc = cellar_iter_next(h, &self->key, &self->klen, &self->val, &self->vlen);
        if (rc == CELLAR_OK) {
            self->state = 1;
            more = 1;
        } else if (rc == CELLAR_ENOTFOUND) {
            self->state = 2;
        } else {
            self->state = 3;
            self->err = rc;
            fail_core(rc);
        }
    }
    child_leave(&self->busy, self->owner);
    return more;
}

static CellarBytes iter_copy(CellarIter *self, int want_key)
{
    CellarBytes b = no_bytes();
    if (iter_enter(self) == NULL)
        return b;
    if (self->state == 3)
        fail_msg(self->err, "the iterator stopped on an earlier error; open a new one");
    else if (self->state != 1)
        fail_msg(CELLAR_EINVAL, "the iterator is not on a record (call advance first)");
    else if (want_key)
        b = copy_bytes(self->key, self->klen);
    else
        b = copy_bytes(self->val, self->vlen);
    child_leave(&self->busy, self->owner);
    return b;
}

CellarBytes CellarIter_key(CellarIter *self) { return iter_copy(self, 1); }

CellarBytes CellarIter_value(CellarIter *self) { return iter_copy(self, 0); }

void CellarIter_close(CellarIter *self)
{
    if (self == NULL)
        return;
    pthread_mutex_lock(&self->busy);
    if (self->it != NULL) {
        pthread_rwlock_rdlock(&self->owner->lock);
        cellar_iter_close(self->it);
        self->it = NULL;
        self->state = 2;
        pthread_rwlock_unlock(&self->owner->lock);
    }
    pthread_mutex_unlock(&self->busy);
}

void delete_CellarIter(CellarIter *self)
{
    if (self == NULL)
        return;
    CellarIter_close(self);
    pthread_mutex_destroy(&self->busy);
    db_release(self->owner);
    free(self);
}
