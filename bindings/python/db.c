/*
 * db.c - cellardb._cellardb.Database: one open database, a mapping of bytes.
 *
 * The Python package subclasses this type (cellardb.Database) to add the
 * collections.abc.MutableMapping registration, views and notebook helpers;
 * every data path (get, put, delete, iteration, batches, transactions) is here
 * in C. See cellardb_py.h for the GIL, busy-count and lifetime rules.
 */
#include "cellardb_py.h"

#include <unistd.h>

/* ---- guards ---- */

int cdb_db_enter(cdb_Database *dbo)
{
    if (dbo->db == NULL || dbo->closing) {
        cdb_raise_closed("cellardb: the database is closed");
        return -1;
    }
    if (dbo->cb_thread != 0 && dbo->cb_thread == PyThread_get_thread_ident()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cellardb: cannot use the database from inside its own progress callback");
        return -1;
    }
    dbo->busy++;
    return 0;
}

void cdb_db_leave(cdb_Database *dbo)
{
    dbo->busy--;
}

/* ---- construction ---- */

static PyObject *db_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    cdb_Database *self = (cdb_Database *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->db = NULL;
    self->path = Py_NewRef(Py_None);
    self->flag = 'c';
    return (PyObject *)self;
}

static int parse_sync(PyObject *obj, int *out)
{
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "sync must be None, 'normal', 'full' or 'off', not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *s = PyUnicode_AsUTF8(obj);
    if (s && strcmp(s, "normal") == 0)
        *out = CELLAR_SYNC_NORMAL;
    else if (s && strcmp(s, "full") == 0)
        *out = CELLAR_SYNC_FULL;
    else if (s && strcmp(s, "off") == 0)
        *out = CELLAR_SYNC_OFF;
    else {
        PyErr_Clear();
        cdb_raise_msg(CELLAR_EINVAL, "sync must be 'normal', 'full' or 'off'");
        return -1;
    }
    return 0;
}

/* An optional positive size in bytes; None gives 0 (the core's default). */
static int parse_size(PyObject *obj, size_t *out, size_t max, const char *msg)
{
    *out = 0;
    if (obj == Py_None)
        return 0;
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s", msg);
        return -1;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v <= 0 || (unsigned long long)v > max) {
        cdb_raise_msg(CELLAR_EINVAL, msg);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int db_init(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"path", "flag", "mode", "cache_size", "sync", "page_size",
                             "lock_timeout", "clock", NULL};
    PyObject *path = NULL, *cache = Py_None, *sync = Py_None, *page = Py_None,
             *timeout = Py_None, *clock = Py_None;
    const char *flag = "c";
    int mode = 0666;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O&|si$OOOOO:open", kwlist,
                                     PyUnicode_FSConverter, &path, &flag, &mode, &cache,
                                     &sync, &page, &timeout, &clock))
        return -1;
    if (self->db != NULL) {
        Py_DECREF(path);
        PyErr_SetString(PyExc_RuntimeError, "cellardb: Database.__init__ called twice");
        return -1;
    }

    cellar_options opts = CELLAR_OPTIONS_INIT;
    int sync_mode = CELLAR_SYNC_NORMAL;
    /* dbm's flags: r (read-only), w (read-write, must exist), c (create),
     * n (new, empty); plus gdbm's modifiers s (sync=full) and f (fast: accepted,
     * as 'normal' already batches syncs). Anything else is refused. */
    char base = flag[0];
    switch (base) {
    case 'r': opts.flags = CELLAR_RDONLY; break;
    case 'w': opts.flags = 0; break;
    case 'c': opts.flags = CELLAR_CREATE; break;
    case 'n': opts.flags = CELLAR_CREATE | CELLAR_TRUNCATE; break;
    default: goto badflag;
    }
    for (const char *p = flag + 1; *p; p++) {
        if (*p == 's')
            sync_mode = CELLAR_SYNC_FULL;
        else if (*p != 'f')
            goto badflag;
    }
    if (sync != Py_None && parse_sync(sync, &sync_mode) < 0)
        goto fail;
    size_t cache_size, page_size;
    if (parse_size(cache, &cache_size, (size_t)PY_SSIZE_T_MAX,
                   "cache_size must be None or an int number of bytes > 0") < 0 ||
        parse_size(page, &page_size, 0x7fffffff,
                   "page_size must be None or a power of two from 4096 to 65536") < 0)
        goto fail;
    if (mode <= 0 || mode > 07777) {
        /* mode 0 would mean "no permissions" to a dbm user but 0666 to the core */
        char msg[120];
        PyOS_snprintf(msg, sizeof msg,
                      "mode must be permission bits from 0o1 to 0o7777 such as 0o666, not %d", mode);
        cdb_raise_msg(CELLAR_EINVAL, msg);
        goto fail;
    }
    int timeout_ms = 0;
    if (timeout != Py_None) {
        uint64_t ms;
        if (cdb_seconds_to_ms(timeout, &ms, "lock_timeout") < 0)
            goto fail;
        timeout_ms = ms > (uint64_t)INT32_MAX ? INT32_MAX : (int)ms;
    }
    if (cdb_clock_install(clock, &opts) < 0)
        goto fail;
    opts.cache_size = cache_size;
    opts.page_size = (unsigned int)page_size;
    opts.sync = sync_mode;
    opts.mode = (unsigned int)mode;
    opts.lock_timeout_ms = timeout_ms;

    const char *cpath = PyBytes_AS_STRING(path);
    cellar_db *db = NULL;
    int rc;
    CDB_UNLOCKED(rc = cellar_open(&db, cpath, &opts));
    if (rc != CELLAR_OK) {
        cdb_raise(rc);
        goto fail;
    }
    self->db = db;
    self->readonly = (opts.flags & CELLAR_RDONLY) != 0;
    self->flag = base;
    self->sync_mode = sync_mode;
    self->pid = (long)getpid();
    if (clock != Py_None)
        self->clock = Py_NewRef(clock);
    Py_SETREF(self->path, PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(path),
                                                          PyBytes_GET_SIZE(path)));
    Py_DECREF(path);
    return self->path ? 0 : -1;

badflag:
    {
        char msg[160];
        PyOS_snprintf(msg, sizeof msg,
                      "flag must be 'r', 'w', 'c' or 'n' (optionally followed by 's' or 'f'), not '%.20s'",
                      flag);
        cdb_raise_msg(CELLAR_EINVAL, msg);
    }
fail:
    Py_DECREF(path);
    return -1;
}

/* Close the core handle, waiting for calls in flight on other threads. */
static int db_do_close(cdb_Database *self)
{
    if (self->db == NULL)
        return 0;
    if (self->cb_thread != 0 && self->cb_thread == PyThread_get_thread_ident()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cellardb: cannot close the database from inside its own progress callback");
        return -1;
    }
    self->closing = 1;
    while (self->busy > 0) {
        Py_BEGIN_ALLOW_THREADS
        usleep(200);
        Py_END_ALLOW_THREADS
    }
    cellar_db *db = self->db;
    self->db = NULL;
    self->closing = 0;
    if (db == NULL) /* another thread closed it while we waited */
        return 0;
    if (self->pid != (long)getpid())
        return 0; /* a forked child must not checkpoint or unlock the parent's file */
    int rc;
    CDB_UNLOCKED(rc = cellar_close(db));
    if (rc != CELLAR_OK) {
        cdb_raise(rc);
        return -1;
    }
    return 0;
}

static void db_dealloc(cdb_Database *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->db) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (db_do_close(self) < 0)
            PyErr_WriteUnraisable((PyObject *)self);
        PyErr_Restore(et, ev, tb);
    }
    Py_CLEAR(self->path);
    Py_CLEAR(self->clock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A Database holds no references to other collectable objects (a subclass's
 * instance dict is traversed by the subclass). */
static int db_traverse(cdb_Database *self, visitproc visit, void *arg)
{
    (void)self;
    (void)visit;
    (void)arg;
    return 0;
}

/* ---- len and iteration (the mapping slots are in mapping.c) ---- */

Py_ssize_t cdb_db_length(cdb_Database *self)
{
    if (cdb_db_enter(self) < 0)
        return -1;
    uint64_t n = 0;
    int rc;
    CDB_UNLOCKED(rc = cellar_count(self->db, &n));
    cdb_db_leave(self);
    if (rc != CELLAR_OK) {
        cdb_raise(rc);
        return -1;
    }
    return n > (uint64_t)PY_SSIZE_T_MAX ? PY_SSIZE_T_MAX : (Py_ssize_t)n;
}

static PyObject *db_iter(cdb_Database *self)
{
    return cdb_iterator_new(self, CDB_KEYS);
}

/* ---- methods ---- */

PyDoc_STRVAR(get_doc, "get($self, key, default=None, /)\n--\n\n"
             "The value of key as bytes, or default if the key is absent (or expired).");

PyDoc_STRVAR(set_doc, "set($self, key, value, ttl=None)\n--\n\n"
             "Store value under key (as db[key] = value). ttl: seconds after which the\n"
             "key reads as absent (None: no expiry; any previous TTL is cleared).");

PyDoc_STRVAR(delete_doc, "delete($self, key, /)\n--\n\n"
             "Remove key. Returns True if it existed, False if not (del db[key] raises\n"
             "KeyError instead).");

PyDoc_STRVAR(pop_doc, "pop(key[, default])\n\n"
             "Remove key and return its value (atomically); if absent, return default,\n"
             "or raise NotFoundError (a KeyError) when no default is given.");

/* The first key in iteration order, or NULL (no error) when the db is empty. */
static PyObject *db_first_key(cdb_Database *self)
{
    PyObject *it = cdb_iterator_new(self, CDB_KEYS);
    if (it == NULL)
        return NULL;
    PyObject *key = PyIter_Next(it);
    Py_DECREF(it);
    return key;
}

PyDoc_STRVAR(popitem_doc, "popitem($self)\n--\n\n"
             "Remove and return some (key, value) pair; raise NotFoundError (a KeyError)\n"
             "if the database is empty.");
static PyObject *db_popitem(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    for (;;) {
        PyObject *key = db_first_key(self);
        if (key == NULL) {
            if (PyErr_Occurred())
                return NULL;
            return cdb_raise_msg(CELLAR_ENOTFOUND, "popitem(): database is empty");
        }
        PyObject *val = cdb_map_take((PyObject *)self, key);
        if (val) {
            PyObject *t = PyTuple_Pack(2, key, val);
            Py_DECREF(key);
            Py_DECREF(val);
            return t;
        }
        Py_DECREF(key);
        if (PyErr_Occurred())
            return NULL;
        /* deleted by another thread between the scan and the take: go again */
    }
}

PyDoc_STRVAR(setdefault_doc, "setdefault($self, key, default=b'', /)\n--\n\n"
             "Return the value of key; if absent, store default and return it (atomically).");
static PyObject *db_setdefault(cdb_Database *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (cdb_check_nargs("setdefault", nargs) < 0)
        return NULL;
    PyObject *key = args[0];
    PyObject *dflt = nargs > 1 ? args[1] : NULL;
    cdb_buf k, v;
    if (cdb_buf_get(key, &k, "key") < 0)
        return NULL;
    if (dflt) {
        if (cdb_buf_get(dflt, &v, "value") < 0) {
            cdb_buf_release(&k);
            return NULL;
        }
    } else {
        v.ptr = "";
        v.len = 0;
        v.has_view = 0;
    }
    cdb_target t = {self, NULL};
    cdb_cas_arg create = {NULL, &v}; /* store v only where the key is absent */
    PyObject *result = NULL;
    for (;;) {
        result = cdb_map_fetch((PyObject *)self, key);
        if (result || PyErr_Occurred())
            break;
        int rc;
        if (cdb_target_call(&t, &k, cdb_core_cas, &create, &rc) < 0)
            break;
        if (rc == CELLAR_OK) {
            result = PyBytes_FromStringAndSize(v.ptr, v.len);
            break;
        }
        if (rc != CELLAR_EMISMATCH) {
            cdb_raise(rc);
            break;
        }
        /* created by another thread meanwhile: read it */
    }
    cdb_buf_release(&k);
    cdb_buf_release(&v);
    return result;
}

PyDoc_STRVAR(keys_doc, "keys($self)\n--\n\n"
             "A list of every key, as dbm modules return. To stream the keys in constant\n"
             "memory, iterate the database itself (for key in db) or use iterkeys().");
static PyObject *db_keys(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    PyObject *it = cdb_iterator_new(self, CDB_KEYS);
    if (it == NULL)
        return NULL;
    PyObject *list = PySequence_List(it);
    Py_DECREF(it);
    return list;
}

PyDoc_STRVAR(iterkeys_doc, "iterkeys($self)\n--\n\nAn iterator over the keys (streams, constant memory).");
static PyObject *db_iterkeys(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    return cdb_iterator_new(self, CDB_KEYS);
}

PyDoc_STRVAR(itervalues_doc, "itervalues($self)\n--\n\nAn iterator over the values (streams).");
static PyObject *db_itervalues(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    return cdb_iterator_new(self, CDB_VALUES);
}

PyDoc_STRVAR(iteritems_doc, "iteritems($self)\n--\n\nAn iterator over (key, value) pairs (streams).");
static PyObject *db_iteritems(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    return cdb_iterator_new(self, CDB_ITEMS);
}

PyDoc_STRVAR(transaction_doc, "transaction($self, readonly=False)\n--\n\n"
             "Begin a transaction: a Transaction with the mapping API whose writes are\n"
             "buffered until commit(). As a context manager it commits on normal exit\n"
             "and rolls back on an exception. A commit raises ConflictError if a key\n"
             "it read was changed by another commit meanwhile (see Database.transact).");
static PyObject *db_transaction(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"readonly", NULL};
    int ro = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p:transaction", kwlist, &ro))
        return NULL;
    return cdb_transaction_new(self, ro);
}

PyDoc_STRVAR(close_doc, "close($self)\n--\n\n"
             "Close the database (waiting for calls in progress on other threads). Later\n"
             "calls raise ClosedError; its transactions and iterators become dead.\n"
             "Closing twice is harmless.");
static PyObject *db_close(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    if (db_do_close(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *db_enter(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    if (self->db == NULL)
        return cdb_raise_closed("cellardb: the database is closed");
    return Py_NewRef(self);
}

static PyObject *db_exit(cdb_Database *self, PyObject *args)
{
    (void)args;
    if (db_do_close(self) < 0)
        return NULL;
    Py_RETURN_FALSE;
}

static PyObject *db_repr(cdb_Database *self)
{
    const char *tname = "cellardb.Database";
    if (self->db == NULL)
        return PyUnicode_FromFormat("<%s %R closed>", tname, self->path);
    uint64_t n = 0;
    int rc = -1;
    if (!self->closing && (self->cb_thread == 0 || self->cb_thread != PyThread_get_thread_ident())) {
        self->busy++;
        CDB_UNLOCKED(rc = cellar_count(self->db, &n));
        self->busy--;
    }
    if (rc != CELLAR_OK)
        return PyUnicode_FromFormat("<%s %R flag='%c'>", tname, self->path, self->flag);
    return PyUnicode_FromFormat("<%s %R flag='%c' records=%llu>", tname, self->path, self->flag,
                                (unsigned long long)n);
}

static PyObject *db_get_path(cdb_Database *self, void *c)
{
    (void)c;
    return Py_NewRef(self->path);
}

static PyObject *db_get_closed(cdb_Database *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->db == NULL);
}

static PyObject *db_get_readonly(cdb_Database *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->readonly);
}

static PyObject *db_get_flag(cdb_Database *self, void *c)
{
    (void)c;
    return PyUnicode_FromStringAndSize(&self->flag, 1);
}

static PyObject *db_get_sync(cdb_Database *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(self->sync_mode == CELLAR_SYNC_FULL  ? "full"
                                : self->sync_mode == CELLAR_SYNC_OFF ? "off"
                                                                     : "normal");
}

static PyObject *db_get_clock(cdb_Database *self, void *c)
{
    (void)c;
    return Py_NewRef(self->clock ? self->clock : Py_None);
}

static PyGetSetDef db_getset[] = {
    {"clock", (getter)db_get_clock, NULL, "The ManualClock given to open(), or None.", NULL},
    {"path", (getter)db_get_path, NULL, "The path the database was opened with.", NULL},
    {"closed", (getter)db_get_closed, NULL, "True once close() was called.", NULL},
    {"readonly", (getter)db_get_readonly, NULL, "True if opened with flag 'r'.", NULL},
    {"flag", (getter)db_get_flag, NULL, "The open flag: 'r', 'w', 'c' or 'n'.", NULL},
    {"sync_mode", (getter)db_get_sync, NULL, "The durability mode: 'normal', 'full' or 'off'.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define FAST (METH_FASTCALL)
#define KW (METH_VARARGS | METH_KEYWORDS)
static PyMethodDef db_methods[] = {
    {"get", (PyCFunction)(void (*)(void))cdb_map_get, FAST, get_doc},
    {"set", (PyCFunction)(void (*)(void))cdb_map_set, KW, set_doc},
    {"delete", (PyCFunction)cdb_map_delete, METH_O, delete_doc},
    {"pop", (PyCFunction)(void (*)(void))cdb_map_pop, FAST, pop_doc},
    {"popitem", (PyCFunction)db_popitem, METH_NOARGS, popitem_doc},
    {"setdefault", (PyCFunction)(void (*)(void))db_setdefault, FAST, setdefault_doc},
    {"update", (PyCFunction)(void (*)(void))cdb_db_update, KW, cdb_update_doc},
    {"put_many", (PyCFunction)cdb_db_put_many, METH_O, cdb_put_many_doc},
    {"get_many", (PyCFunction)(void (*)(void))cdb_db_get_many, KW, cdb_get_many_doc},
    {"clear", (PyCFunction)cdb_db_clear, METH_NOARGS, cdb_clear_doc},
    {"keys", (PyCFunction)db_keys, METH_NOARGS, keys_doc},
    {"iterkeys", (PyCFunction)db_iterkeys, METH_NOARGS, iterkeys_doc},
    {"itervalues", (PyCFunction)db_itervalues, METH_NOARGS, itervalues_doc},
    {"iteritems", (PyCFunction)db_iteritems, METH_NOARGS, iteritems_doc},
    {"incr", (PyCFunction)(void (*)(void))cdb_db_incr, KW, cdb_incr_doc},
    {"decr", (PyCFunction)(void (*)(void))cdb_db_decr, KW, cdb_decr_doc},
    {"cas", (PyCFunction)(void (*)(void))cdb_db_cas, KW, cdb_cas_doc},
    {"expire", (PyCFunction)(void (*)(void))cdb_db_expire, FAST, cdb_expire_doc},
    {"ttl", (PyCFunction)cdb_db_ttl, METH_O, cdb_ttl_doc},
    {"persist", (PyCFunction)cdb_db_persist, METH_O, cdb_persist_doc},
    {"stats", (PyCFunction)cdb_db_stats, METH_NOARGS, cdb_stats_doc},
    {"sync", (PyCFunction)cdb_db_sync, METH_NOARGS, cdb_sync_doc},
    {"checkpoint", (PyCFunction)cdb_db_checkpoint, METH_NOARGS, cdb_checkpoint_doc},
    {"compact", (PyCFunction)(void (*)(void))cdb_db_compact, KW, cdb_compact_doc},
    {"backup", (PyCFunction)(void (*)(void))cdb_db_backup, KW, cdb_backup_doc},
    {"dump", (PyCFunction)(void (*)(void))cdb_db_dump, KW, cdb_dump_doc},
    {"load", (PyCFunction)(void (*)(void))cdb_db_load, KW, cdb_load_doc},
    {"check", (PyCFunction)(void (*)(void))cdb_db_check, KW, cdb_check_doc},
    {"transaction", (PyCFunction)(void (*)(void))db_transaction, KW, transaction_doc},
    {"close", (PyCFunction)db_close, METH_NOARGS, close_doc},
    {"__enter__", (PyCFunction)db_enter, METH_NOARGS, "Return self."},
    {"__exit__", (PyCFunction)db_exit, METH_VARARGS, "Close the database."},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(db_doc,
             "Database(path, flag='c', mode=0o666, *, cache_size=None, sync=None,\n"
             "         page_size=None, lock_timeout=None, clock=None)\n"
             "--\n\n"
             "An open cellardb database: a mutable mapping of bytes keys to bytes values\n"
             "(str keys and values are stored UTF-8 encoded). Use cellardb.open().");

PyTypeObject cdb_DatabaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cellardb._cellardb.Database",
    .tp_basicsize = sizeof(cdb_Database),
    .tp_dealloc = (destructor)db_dealloc,
    .tp_repr = (reprfunc)db_repr,
    .tp_as_sequence = &cdb_map_as_sequence,
    .tp_as_mapping = &cdb_map_as_mapping,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = db_doc,
    .tp_traverse = (traverseproc)db_traverse,
    .tp_weaklistoffset = offsetof(cdb_Database, weakrefs),
    .tp_iter = (getiterfunc)db_iter,
    .tp_methods = db_methods,
    .tp_getset = db_getset,
    .tp_init = (initproc)db_init,
    .tp_new = db_new,
};

