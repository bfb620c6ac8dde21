/*
 * txn.c - cellardb._cellardb.Transaction: the mapping API over a cellar_txn.
 *
 * Writes are buffered in the core transaction (its reads see them) until
 * commit(); rollback() drops them. As a context manager the transaction
 * commits on normal exit and rolls back when the block raises. A commit that
 * conflicts raises ConflictError (the transaction is finished either way).
 *
 * The core allows one thread at a time on a transaction: a second thread's
 * concurrent call raises RuntimeError instead of racing (the busy flag).
 * keys/values/items/iteration/len (txn_map.c) merge the database with the
 * keys written through this object, which it records in `writes`. The
 * single-key methods (get, set, delete, pop, [], in) are the Database's own,
 * in mapping.c, made on the transaction.
 */
#include "cellardb_py.h"

#include <unistd.h>

int cdb_txn_enter(cdb_Transaction *self)
{
    if (self->txn == NULL) {
        cdb_raise_closed("cellardb: the transaction is finished (committed or rolled back)");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cellardb: a transaction may be used by one thread at a time");
        return -1;
    }
    if (cdb_db_enter(self->dbo) < 0)
        return -1;
    self->busy = 1;
    return 0;
}

void cdb_txn_leave(cdb_Transaction *self)
{
    self->busy = 0;
    cdb_db_leave(self->dbo);
}

PyObject *cdb_transaction_new(cdb_Database *dbo, int readonly)
{
    if (cdb_db_enter(dbo) < 0)
        return NULL;
    cellar_txn *txn = NULL;
    int rc;
    CDB_UNLOCKED(rc = cellar_txn_begin(&txn, dbo->db, readonly ? CELLAR_RDONLY : 0));
    cdb_db_leave(dbo);
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    cdb_Transaction *self = PyObject_GC_New(cdb_Transaction, &cdb_TransactionType);
    if (self == NULL) {
        cellar_txn_abort(txn);
        return NULL;
    }
    self->dbo = (cdb_Database *)Py_NewRef(dbo);
    self->txn = txn;
    self->readonly = readonly;
    self->busy = 0;
    self->weakrefs = NULL;
    self->writes = PyDict_New();
    if (self->writes == NULL) {
        Py_DECREF(self); /* dealloc aborts the transaction */
        return NULL;
    }
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static void txn_dealloc(cdb_Transaction *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->txn) {
        cellar_txn *txn = self->txn;
        self->txn = NULL;
        /* Frees it, dead or alive; never touches the disk. A forked child
         * leaves it alone: core locks may have been held at fork time. */
        if (self->dbo->pid == (long)getpid())
            cellar_txn_abort(txn);
    }
    Py_CLEAR(self->dbo);
    Py_CLEAR(self->writes);
    PyObject_GC_Del(self);
}

static int txn_traverse(cdb_Transaction *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dbo);
    Py_VISIT(self->writes);
    return 0;
}

static int txn_clear(cdb_Transaction *self)
{
    /* The cellar_txn stays alive until dealloc, which aborts it while the
     * Database (kept by the core's own bookkeeping) is still valid. */
    (void)self;
    return 0;
}

static PyObject *txn_setdefault(cdb_Transaction *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (cdb_check_nargs("setdefault", nargs) < 0)
        return NULL;
    PyObject *r = cdb_map_fetch((PyObject *)self, args[0]);
    if (r || PyErr_Occurred())
        return r;
    PyObject *dflt = nargs > 1 ? args[1] : NULL;
    PyObject *empty = NULL;
    if (dflt == NULL)
        dflt = empty = PyBytes_FromStringAndSize("", 0);
    if (dflt == NULL || cdb_map_store((PyObject *)self, args[0], dflt, 0) < 0) {
        Py_XDECREF(empty);
        return NULL;
    }
    if (empty)
        return empty;
    if (PyBytes_Check(dflt))
        return Py_NewRef(dflt);
    return cdb_map_subscript((PyObject *)self, args[0]); /* str or buffer: return the bytes stored */
}

static PyObject *txn_update(cdb_Transaction *self, PyObject *args, PyObject *kwds)
{
    PyObject *other = NULL;
    if (!PyArg_UnpackTuple(args, "update", 0, 1, &other))
        return NULL;
    if (other) {
        PyObject *items;
        if (PyDict_Check(other))
            items = PyDict_Items(other);
        else if (PyObject_HasAttrString(other, "keys")) {
            items = PyList_New(0);
            PyObject *keys = items ? PyObject_CallMethod(other, "keys", NULL) : NULL;
            PyObject *it = keys ? PyObject_GetIter(keys) : NULL;
            Py_XDECREF(keys);
            PyObject *k;
            while (it && (k = PyIter_Next(it)) != NULL) {
                PyObject *v = PyObject_GetItem(other, k);
                PyObject *t = v ? PyTuple_Pack(2, k, v) : NULL;
                Py_XDECREF(v);
                Py_DECREF(k);
                if (t == NULL || PyList_Append(items, t) < 0) {
                    Py_XDECREF(t);
                    break;
                }
                Py_DECREF(t);
            }
            Py_XDECREF(it);
            if (PyErr_Occurred())
                Py_CLEAR(items);
        } else {
            items = PySequence_List(other);
        }
        if (items == NULL)
            return NULL;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
            PyObject *pair = PySequence_Fast(PyList_GET_ITEM(items, i),
                                             "update expects (key, value) pairs");
            if (pair && PySequence_Fast_GET_SIZE(pair) != 2) {
                PyErr_SetString(PyExc_ValueError, "update expects (key, value) pairs");
                Py_CLEAR(pair);
            }
            int rc = pair ? cdb_map_store((PyObject *)self, PySequence_Fast_GET_ITEM(pair, 0),
                                          PySequence_Fast_GET_ITEM(pair, 1), 0)
                          : -1;
            Py_XDECREF(pair);
            if (rc < 0) {
                Py_DECREF(items);
                return NULL;
            }
        }
        Py_DECREF(items);
    }
    if (kwds) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kwds, &pos, &k, &v))
            if (cdb_map_store((PyObject *)self, k, v, 0) < 0)
                return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(commit_doc, "commit($self)\n--\n\n"
             "Apply every write of the transaction atomically. Raises ConflictError if a\n"
             "key it read was changed by another commit meanwhile. The transaction is\n"
             "finished afterwards, whether the commit succeeded or not.");
static PyObject *txn_commit(cdb_Transaction *self, PyObject *unused)
{
    (void)unused;
    if (self->txn && !self->busy && (self->dbo->db == NULL || self->dbo->closing)) {
        cellar_txn *dead = self->txn;
        self->txn = NULL;
        cellar_txn_abort(dead);
        return cdb_raise_closed("cellardb: the database is closed");
    }
    if (cdb_txn_enter(self) < 0)
        return NULL;
    cellar_txn *txn = self->txn;
    self->txn = NULL; /* commit frees it on success and failure alike */
    int rc;
    CDB_UNLOCKED(rc = cellar_txn_commit(txn));
    cdb_txn_leave(self);
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(rollback_doc, "rollback($self)\n--\n\n"
             "Drop every write of the transaction. Harmless on a finished transaction.");
static PyObject *txn_rollback(cdb_Transaction *self, PyObject *unused)
{
    (void)unused;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cellardb: a transaction may be used by one thread at a time");
        return NULL;
    }
    if (self->txn) {
        cellar_txn *txn = self->txn;
        self->txn = NULL;
        cellar_txn_abort(txn); /* frees a buffer: no disk, no wait */
    }
    Py_RETURN_NONE;
}

static PyObject *txn_enter_cm(cdb_Transaction *self, PyObject *unused)
{
    (void)unused;
    if (self->txn == NULL)
        return cdb_raise_closed("cellardb: the transaction is finished (committed or rolled back)");
    if (self->dbo->db == NULL || self->dbo->closing)
        return cdb_raise_closed("cellardb: the database is closed");
    return Py_NewRef(self);
}

static PyObject *txn_exit_cm(cdb_Transaction *self, PyObject *args)
{
    PyObject *et = Py_None, *ev = Py_None, *tb = Py_None;
    if (!PyArg_UnpackTuple(args, "__exit__", 0, 3, &et, &ev, &tb))
        return NULL;
    if (self->txn == NULL)
        Py_RETURN_FALSE; /* finished inside the block */
    PyObject *r = (et == Py_None) ? txn_commit(self, NULL) : txn_rollback(self, NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *txn_repr(cdb_Transaction *self)
{
    return PyUnicode_FromFormat("<cellardb.Transaction on %R%s%s>", self->dbo->path,
                                self->readonly ? " readonly" : "",
                                self->txn ? "" : " finished");
}

static PyObject *txn_get_active(cdb_Transaction *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->txn != NULL);
}

static PyObject *txn_get_readonly(cdb_Transaction *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->readonly);
}

static PyObject *txn_get_db(cdb_Transaction *self, void *c)
{
    (void)c;
    return Py_NewRef(self->dbo);
}

static PyGetSetDef txn_getset[] = {
    {"active", (getter)txn_get_active, NULL, "True until commit() or rollback().", NULL},
    {"readonly", (getter)txn_get_readonly, NULL, "True for a read-only transaction.", NULL},
    {"db", (getter)txn_get_db, NULL, "The Database of this transaction.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define FAST (METH_FASTCALL)
#define KW (METH_VARARGS | METH_KEYWORDS)
static PyMethodDef txn_methods[] = {
    {"get", (PyCFunction)(void (*)(void))cdb_map_get, FAST,
     "get($self, key, default=None, /)\n--\n\nThe value of key as this transaction sees it, or default."},
    {"set", (PyCFunction)(void (*)(void))cdb_map_set, KW,
     "set($self, key, value, ttl=None)\n--\n\nBuffer a write of value under key (ttl in seconds)."},
    {"delete", (PyCFunction)cdb_map_delete, METH_O,
     "delete($self, key, /)\n--\n\nBuffer the removal of key; True if it existed (as seen here)."},
    {"pop", (PyCFunction)(void (*)(void))cdb_map_pop, FAST,
     "pop(key[, default])\n\nRemove key and return its value."},
    {"setdefault", (PyCFunction)(void (*)(void))txn_setdefault, FAST,
     "setdefault($self, key, default=b'', /)\n--\n\nThe value of key; if absent, store default."},
    {"update", (PyCFunction)(void (*)(void))txn_update, KW,
     "update($self, other=(), /, **kwargs)\n--\n\nBuffer every pair of a mapping or iterable."},
    {"keys", (PyCFunction)cdb_txn_keys, METH_NOARGS,
     "keys($self)\n--\n\nA list of the keys as this transaction sees them."},
    {"values", (PyCFunction)cdb_txn_values, METH_NOARGS,
     "values($self)\n--\n\nA list of the values as this transaction sees them."},
    {"items", (PyCFunction)cdb_txn_items, METH_NOARGS,
     "items($self)\n--\n\nA list of the (key, value) pairs as this transaction sees them."},
    {"popitem", (PyCFunction)cdb_txn_popitem, METH_NOARGS,
     "popitem($self)\n--\n\nRemove and return some (key, value) pair, in the transaction."},
    {"clear", (PyCFunction)cdb_txn_clear, METH_NOARGS,
     "clear($self)\n--\n\nDelete every key, in the transaction."},
    {"commit", (PyCFunction)txn_commit, METH_NOARGS, commit_doc},
    {"rollback", (PyCFunction)txn_rollback, METH_NOARGS, rollback_doc},
    {"abort", (PyCFunction)txn_rollback, METH_NOARGS, "abort($self)\n--\n\nAs rollback()."},
    {"__enter__", (PyCFunction)txn_enter_cm, METH_NOARGS, "Return self."},
    {"__exit__", (PyCFunction)txn_exit_cm, METH_VARARGS,
     "Commit on normal exit, roll back on an exception."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject cdb_TransactionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cellardb.Transaction",
    .tp_basicsize = sizeof(cdb_Transaction),
    .tp_dealloc = (destructor)txn_dealloc,
    .tp_repr = (reprfunc)txn_repr,
    .tp_as_sequence = &cdb_map_as_sequence,
    .tp_as_mapping = &cdb_map_as_mapping,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A transaction (from Database.transaction()): the mapping API (tx[key], in,\n"
              "get, set, delete, pop, setdefault, update, keys, values, items, len,\n"
              "iteration) over the database as the transaction sees it; commit() /\n"
              "rollback(); a context manager (commits on success).",
    .tp_traverse = (traverseproc)txn_traverse,
    .tp_clear = (inquiry)txn_clear,
    .tp_weaklistoffset = offsetof(cdb_Transaction, weakrefs),
    .tp_iter = (getiterfunc)cdb_txn_iter,
    .tp_methods = txn_methods,
    .tp_getset = txn_getset,
};
