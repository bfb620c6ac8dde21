/*
 * maint.c - Database maintenance methods: stats, sync, checkpoint, and the long
 * operations (compact, backup, dump, load, check) with progress callbacks.
 */
#include "cellardb_py.h"

#include <stddef.h>

/* ---- maintenance ---- */

#define STAT_FIELD(name) {#name, offsetof(cellar_stats, name)}
PyObject *cdb_stats_dict(const cellar_stats *st)
{
    static const struct { const char *name; size_t off; } u64[] = {
        STAT_FIELD(records), STAT_FIELD(file_size), STAT_FIELD(page_size), STAT_FIELD(pages),
        STAT_FIELD(bucket_pages), STAT_FIELD(overflow_pages), STAT_FIELD(value_pages),
        STAT_FIELD(directory_pages), STAT_FIELD(free_pages), STAT_FIELD(cache_capacity),
        STAT_FIELD(cache_used), STAT_FIELD(cache_hits), STAT_FIELD(cache_misses),
        STAT_FIELD(wal_size), STAT_FIELD(commits), STAT_FIELD(checkpoints),
    };
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof u64 / sizeof u64[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)st + u64[i].off, sizeof v);
        PyObject *o = PyLong_FromUnsignedLongLong(v);
        if (o == NULL || PyDict_SetItemString(d, u64[i].name, o) < 0) {
            Py_XDECREF(o);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(o);
    }
    PyObject *gd = PyLong_FromUnsignedLong(st->global_depth);
    PyObject *ff = PyFloat_FromDouble(st->fill_factor);
    uint64_t lookups = st->cache_hits + st->cache_misses;
    PyObject *hr = lookups ? PyFloat_FromDouble((double)st->cache_hits / (double)lookups)
                           : Py_NewRef(Py_None);
    int bad = gd == NULL || ff == NULL || hr == NULL ||
              PyDict_SetItemString(d, "global_depth", gd) < 0 ||
              PyDict_SetItemString(d, "fill_factor", ff) < 0 ||
              PyDict_SetItemString(d, "cache_hit_ratio", hr) < 0;
    Py_XDECREF(gd);
    Py_XDECREF(ff);
    Py_XDECREF(hr);
    if (bad) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

const char cdb_stats_doc[] = "stats($self)\n--\n\n"
             "Statistics as a dict: records, file_size, page_size, pages, bucket_pages,\n"
             "overflow_pages, value_pages, directory_pages, free_pages, global_depth,\n"
             "fill_factor, cache_capacity, cache_used, cache_hits, cache_misses,\n"
             "cache_hit_ratio (None before any lookup), wal_size, commits, checkpoints.";
PyObject *cdb_db_stats(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    if (cdb_db_enter(self) < 0)
        return NULL;
    cellar_stats st;
    memset(&st, 0, sizeof st);
    st.version = CELLAR_STATS_VERSION;
    int rc;
    CDB_UNLOCKED(rc = cellar_stats_get(self->db, &st));
    cdb_db_leave(self);
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    return cdb_stats_dict(&st);
}

static PyObject *simple_call(cdb_Database *self, int (*fn)(cellar_db *))
{
    if (cdb_db_enter(self) < 0)
        return NULL;
    int rc;
    CDB_UNLOCKED(rc = fn(self->db));
    cdb_db_leave(self);
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    Py_RETURN_NONE;
}

const char cdb_sync_doc[] = "sync($self)\n--\n\nMake every commit so far durable (fsync the log).";
PyObject *cdb_db_sync(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    return simple_call(self, cellar_sync);
}

const char cdb_checkpoint_doc[] = "checkpoint($self)\n--\n\n"
             "Write every dirty page to the file and reset the log.";
PyObject *cdb_db_checkpoint(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    return simple_call(self, cellar_checkpoint);
}

static int parse_progress(PyObject *obj, cdb_progress *p, cdb_Database *dbo)
{
    memset(p, 0, sizeof *p);
    p->dbo = dbo;
    p->last_call = -1e9;
    if (obj == NULL || obj == Py_None)
        return 0;
    if (!PyCallable_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "progress must be None or a callable(done, total)");
        return -1;
    }
    p->callable = obj;
    return 0;
}

/* Run one long operation with a progress callable; op selects which. */
enum { OP_COMPACT, OP_BACKUP, OP_DUMP, OP_LOAD, OP_CHECK };

static PyObject *long_op(cdb_Database *self, int op, PyObject *pathobj, PyObject *progress)
{
    cdb_progress p;
    if (parse_progress(progress, &p, self) < 0)
        return NULL;
    PyObject *path = NULL;
    if (pathobj && !PyUnicode_FSConverter(pathobj, &path))
        return NULL;
    if (op == OP_CHECK && (p.problems = PyList_New(0)) == NULL)
        return NULL;
    if (cdb_db_enter(self) < 0) {
        Py_XDECREF(path);
        Py_XDECREF(p.problems);
        return NULL;
    }
    const char *cpath = path ? PyBytes_AS_STRING(path) : NULL;
    int rc = CELLAR_OK;
    uint64_t nprob = 0;
    Py_BEGIN_ALLOW_THREADS
    switch (op) {
    case OP_COMPACT: rc = cellar_compact(self->db, cdb_progress_fn, &p); break;
    case OP_BACKUP: rc = cellar_backup(self->db, cpath, cdb_progress_fn, &p); break;
    case OP_DUMP: rc = cellar_dump(self->db, cpath, cdb_progress_fn, &p); break;
    case OP_LOAD: rc = cellar_load(self->db, cpath, cdb_progress_fn, &p); break;
    case OP_CHECK:
        rc = cellar_check(self->db, cdb_report_fn, cdb_progress_fn, &p, &nprob);
        break;
    }
    Py_END_ALLOW_THREADS
    cdb_db_leave(self);
    Py_XDECREF(path);
    if (cdb_progress_restore(&p)) {
        Py_XDECREF(p.problems);
        return NULL;
    }
    if (op == OP_CHECK && (rc == CELLAR_OK || rc == CELLAR_ECORRUPT)) {
        if (rc == CELLAR_ECORRUPT && PyList_GET_SIZE(p.problems) == 0) {
            PyObject *t = Py_BuildValue("(Ks)", 0ULL, cellar_error_last()->message);
            if (t == NULL || PyList_Append(p.problems, t) < 0) {
                Py_XDECREF(t);
                Py_DECREF(p.problems);
                return NULL;
            }
            Py_DECREF(t);
        }
        (void)nprob;
        return p.problems;
    }
    Py_XDECREF(p.problems);
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    Py_RETURN_NONE;
}

static PyObject *path_op(cdb_Database *self, PyObject *args, PyObject *kwds, int op,
                         const char *fmt)
{
    static char *kwlist[] = {"path", "progress", NULL};
    PyObject *path, *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, fmt, kwlist, &path, &progress))
        return NULL;
    return long_op(self, op, path, progress);
}

static PyObject *noarg_op(cdb_Database *self, PyObject *args, PyObject *kwds, int op,
                          const char *fmt)
{
    static char *kwlist[] = {"progress", NULL};
    PyObject *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, fmt, kwlist, &progress))
        return NULL;
    return long_op(self, op, NULL, progress);
}

const char cdb_compact_doc[] = "compact($self, progress=None)\n--\n\n"
             "Rebuild the file without free space and shrink it. Writers wait while it\n"
             "runs; readers go on. progress: callable(done, total); returning True or\n"
             "raising cancels (CanceledError, or the exception raised).";
PyObject *cdb_db_compact(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    return noarg_op(self, args, kwds, OP_COMPACT, "|O:compact");
}

const char cdb_backup_doc[] = "backup($self, path, progress=None)\n--\n\n"
             "Write a consistent copy of the database to path (replaced if it exists)\n"
             "while other threads go on reading and writing.";
PyObject *cdb_db_backup(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    return path_op(self, args, kwds, OP_BACKUP, "O|O:backup");
}

const char cdb_dump_doc[] = "dump($self, path, progress=None)\n--\n\n"
             "Write every record to path in the portable text dump format.";
PyObject *cdb_db_dump(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    return path_op(self, args, kwds, OP_DUMP, "O|O:dump");
}

const char cdb_load_doc[] = "load($self, path, progress=None)\n--\n\n"
             "Read a dump written by dump() (or the cellardb tool) and store its records.";
PyObject *cdb_db_load(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    return path_op(self, args, kwds, OP_LOAD, "O|O:load");
}

const char cdb_check_doc[] = "check($self, progress=None)\n--\n\n"
             "Verify every page checksum and the whole structure. Returns a list of\n"
             "problems as (page, message) tuples: empty when the file is sound.";
PyObject *cdb_db_check(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    return noarg_op(self, args, kwds, OP_CHECK, "|O:check");
}
