/*
 * iter.c - cellardb._cellardb.Iterator: streams keys, values or (key, value)
 * pairs from a cellar_iter, in constant memory.
 *
 * Weakly consistent (the core's rule): writes during the iteration, from this
 * thread or others, are allowed; every key present for the whole iteration is
 * yielded exactly once. The core iterator is freed at the end, on error, or
 * when the Python object goes away. After the database is closed, next()
 * raises ClosedError.
 */
#include "cellardb_py.h"

#include <unistd.h>

PyObject *cdb_iterator_new(cdb_Database *dbo, int kind)
{
    if (cdb_db_enter(dbo) < 0)
        return NULL;
    cellar_iter *it = NULL;
    int rc;
    CDB_UNLOCKED(rc = cellar_iter_open(&it, dbo->db));
    cdb_db_leave(dbo);
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    cdb_Iterator *self = PyObject_GC_New(cdb_Iterator, &cdb_IteratorType);
    if (self == NULL) {
        cellar_iter_close(it);
        return NULL;
    }
    self->dbo = (cdb_Database *)Py_NewRef(dbo);
    self->it = it;
    self->kind = kind;
    self->started = 0;
    self->done = 0;
    self->busy = 0;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static void iter_release(cdb_Iterator *self)
{
    if (self->it) {
        cellar_iter *it = self->it;
        self->it = NULL;
        /* Frees it, dead or alive. A forked child leaves it alone: core locks
         * may have been held at fork time. */
        if (self->dbo->pid == (long)getpid())
            cellar_iter_close(it);
    }
}

static void iter_dealloc(cdb_Iterator *self)
{
    PyObject_GC_UnTrack(self);
    iter_release(self);
    Py_CLEAR(self->dbo);
    PyObject_GC_Del(self);
}

static int iter_traverse(cdb_Iterator *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dbo);
    return 0;
}

static PyObject *iter_next(cdb_Iterator *self)
{
    if (self->done || self->it == NULL)
        return NULL;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cellardb: an iterator may be used by one thread at a time");
        return NULL;
    }
    if (cdb_db_enter(self->dbo) < 0)
        return NULL;
    self->busy = 1;
    const void *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    int want_k = self->kind != CDB_VALUES, want_v = self->kind != CDB_KEYS;
    int rc;
    CDB_UNLOCKED(rc = cellar_iter_next(self->it, want_k ? &k : NULL, want_k ? &klen : NULL,
                                       want_v ? &v : NULL, want_v ? &vlen : NULL));
    self->started = 1;
    PyObject *result = NULL, *ko = NULL, *vo = NULL;
    if (rc == CELLAR_OK) {
        /* k and v stay valid until the next call on the iterator: the busy
         * flags stay up while they are copied. Only bytes are made here:
         * they are not tracked by the garbage collector, so making them runs
         * no finalizer, which could close the database (close() waits for
         * calls in flight: a call of this very thread would never finish) or
         * let another thread in. The pair is made after the flags drop. */
        if (self->kind != CDB_VALUES)
            ko = PyBytes_FromStringAndSize(k, (Py_ssize_t)klen);
        if (self->kind != CDB_KEYS && (ko != NULL || self->kind == CDB_VALUES))
            vo = PyBytes_FromStringAndSize(v, (Py_ssize_t)vlen);
    }
    self->busy = 0;
    cdb_db_leave(self->dbo);
    if (rc != CELLAR_OK && rc != CELLAR_ENOTFOUND)
        cdb_raise(rc); /* makes an exception object: after the flags drop too */
    if (rc == CELLAR_OK) {
        if (self->kind == CDB_KEYS)
            result = Py_XNewRef(ko);
        else if (self->kind == CDB_VALUES)
            result = Py_XNewRef(vo);
        else if (ko != NULL && vo != NULL)
            result = PyTuple_Pack(2, ko, vo);
        Py_XDECREF(ko);
        Py_XDECREF(vo);
    }
    if (rc == CELLAR_ENOTFOUND || (rc != CELLAR_OK && rc != CELLAR_ECLOSED && rc != CELLAR_EFORK)) {
        self->done = 1; /* the end (StopIteration), or an error that ends it */
        iter_release(self);
    }
    return result;
}

static PyObject *iter_close(cdb_Iterator *self, PyObject *unused)
{
    (void)unused;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cellardb: an iterator may be used by one thread at a time");
        return NULL;
    }
    self->done = 1;
    iter_release(self);
    Py_RETURN_NONE;
}

static PyObject *iter_repr(cdb_Iterator *self)
{
    static const char *kinds[] = {"keys", "values", "items"};
    return PyUnicode_FromFormat("<cellardb.Iterator over %s of %R%s>", kinds[self->kind],
                                self->dbo->path, self->done ? " (exhausted)" : "");
}

static PyMethodDef iter_methods[] = {
    {"close", (PyCFunction)iter_close, METH_NOARGS,
     "close($self)\n--\n\nFree the iterator now (it is also freed at the end and when dropped)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject cdb_IteratorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cellardb.Iterator",
    .tp_basicsize = sizeof(cdb_Iterator),
    .tp_dealloc = (destructor)iter_dealloc,
    .tp_repr = (reprfunc)iter_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "An iterator over the keys, values or items of a Database (streams).",
    .tp_traverse = (traverseproc)iter_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)iter_next,
    .tp_methods = iter_methods,
};
