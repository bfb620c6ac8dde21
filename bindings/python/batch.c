/*
 * batch.c - Database methods over many keys at once: update / put_many (one
 * cellar_put_many call: one transaction, one log append), get_many, clear.
 */
#include "cellardb_py.h"

/* Append the tuple (k, v) to list. 0 or -1. */
static int append_pair(PyObject *list, PyObject *k, PyObject *v)
{
    PyObject *t = PyTuple_Pack(2, k, v);
    int r = t ? PyList_Append(list, t) : -1;
    Py_XDECREF(t);
    return r;
}

/* Collect (key, value) pairs from a mapping, an iterable of pairs and/or
 * keyword arguments into a new list of 2-tuples. */
static PyObject *collect_pairs(PyObject *other, PyObject *kwds)
{
    PyObject *pairs = PyList_New(0);
    if (pairs == NULL)
        return NULL;
    if (other && other != Py_None) {
        if (PyDict_Check(other)) {
            PyObject *k, *v;
            Py_ssize_t pos = 0;
            while (PyDict_Next(other, &pos, &k, &v))
                if (append_pair(pairs, k, v) < 0)
                    goto fail;
        } else {
            PyObject *keys = NULL;
            int is_mapping = PyObject_HasAttrString(other, "keys");
            PyObject *it = NULL;
            if (is_mapping) {
                keys = PyObject_CallMethod(other, "keys", NULL);
                if (keys == NULL)
                    goto fail;
                it = PyObject_GetIter(keys);
            } else {
                it = PyObject_GetIter(other);
            }
            Py_XDECREF(keys);
            if (it == NULL)
                goto fail;
            PyObject *item;
            while ((item = PyIter_Next(it)) != NULL) {
                PyObject *t;
                if (is_mapping) {
                    PyObject *v = PyObject_GetItem(other, item);
                    t = v ? PyTuple_Pack(2, item, v) : NULL;
                    Py_XDECREF(v);
                } else {
                    PyObject *seq = PySequence_Fast(item, "update expects (key, value) pairs");
                    if (seq && PySequence_Fast_GET_SIZE(seq) != 2) {
                        PyErr_Format(PyExc_ValueError,
                                     "update sequence element has length %zd; 2 is required",
                                     PySequence_Fast_GET_SIZE(seq));
                        Py_CLEAR(seq);
                    }
                    t = seq ? PyTuple_Pack(2, PySequence_Fast_GET_ITEM(seq, 0),
                                           PySequence_Fast_GET_ITEM(seq, 1))
                            : NULL;
                    Py_XDECREF(seq);
                }
                Py_DECREF(item);
                if (t == NULL || PyList_Append(pairs, t) < 0) {
                    Py_XDECREF(t);
                    Py_DECREF(it);
                    goto fail;
                }
                Py_DECREF(t);
            }
            Py_DECREF(it);
            if (PyErr_Occurred())
                goto fail;
        }
    }
    if (kwds) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kwds, &pos, &k, &v))
            if (append_pair(pairs, k, v) < 0)
                goto fail;
    }
    return pairs;
fail:
    Py_DECREF(pairs);
    return NULL;
}

/* Store a list of 2-tuples with one cellar_put_many call (one transaction). */
static int put_pairs(cdb_Database *self, PyObject *pairs)
{
    Py_ssize_t n = PyList_GET_SIZE(pairs);
    if (n == 0) /* nothing to store, but a closed database still raises */
        return cdb_db_enter(self) < 0 ? -1 : (cdb_db_leave(self), 0);
    cellar_slice *ks = PyMem_Calloc((size_t)n * 2, sizeof *ks);
    cdb_buf *bufs = PyMem_Calloc((size_t)n * 2, sizeof *bufs);
    if (ks == NULL || bufs == NULL) {
        PyMem_Free(ks);
        PyMem_Free(bufs);
        PyErr_NoMemory();
        return -1;
    }
    cellar_slice *vs = ks + n;
    Py_ssize_t got = 0; /* buffers filled */
    int ret = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(pairs, i);
        if (cdb_buf_get(PyTuple_GET_ITEM(t, 0), &bufs[2 * i], "key") < 0)
            goto done;
        got++;
        if (cdb_buf_get(PyTuple_GET_ITEM(t, 1), &bufs[2 * i + 1], "value") < 0)
            goto done;
        got++;
        ks[i].data = bufs[2 * i].ptr;
        ks[i].len = (size_t)bufs[2 * i].len;
        vs[i].data = bufs[2 * i + 1].ptr;
        vs[i].len = (size_t)bufs[2 * i + 1].len;
    }
    if (cdb_db_enter(self) < 0)
        goto done;
    int rc;
    CDB_UNLOCKED(rc = cellar_put_many(self->db, (size_t)n, ks, vs));
    cdb_db_leave(self);
    if (rc != CELLAR_OK)
        cdb_raise(rc);
    else
        ret = 0;
done:
    for (Py_ssize_t i = 0; i < got; i++)
        cdb_buf_release(&bufs[i]);
    PyMem_Free(bufs);
    PyMem_Free(ks);
    return ret;
}

/* update and put_many: collect, then store as one transaction. */
static PyObject *store_collected(cdb_Database *self, PyObject *other, PyObject *kwds)
{
    PyObject *pairs = collect_pairs(other, kwds);
    if (pairs == NULL)
        return NULL;
    int r = put_pairs(self, pairs);
    Py_DECREF(pairs);
    if (r < 0)
        return NULL;
    Py_RETURN_NONE;
}

const char cdb_update_doc[] = "update($self, other=(), /, **kwargs)\n--\n\n"
             "Store every pair of a mapping or an iterable of (key, value) pairs, and the\n"
             "keyword arguments, as one transaction (all or nothing).";
PyObject *cdb_db_update(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    PyObject *other = NULL;
    if (!PyArg_UnpackTuple(args, "update", 0, 1, &other))
        return NULL;
    return store_collected(self, other, kwds);
}

const char cdb_put_many_doc[] = "put_many($self, items, /)\n--\n\n"
             "Store a mapping or an iterable of (key, value) pairs as one transaction\n"
             "(one log append): all are stored or none.";
PyObject *cdb_db_put_many(cdb_Database *self, PyObject *items)
{
    return store_collected(self, items, NULL);
}

const char cdb_get_many_doc[] = "get_many($self, keys, /, default=None)\n--\n\n"
             "The values of several keys at once, as a list in the order of keys;\n"
             "default stands for each absent key.";
PyObject *cdb_db_get_many(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"", "default", NULL};
    PyObject *keys, *dflt = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:get_many", kwlist, &keys, &dflt))
        return NULL;
    if (PyUnicode_Check(keys) || PyObject_CheckBuffer(keys)) {
        /* one key where a collection of keys belongs: refuse it rather than
         * look up each character or byte */
        PyErr_Format(PyExc_TypeError, "get_many expects an iterable of keys, not one key (%.100s)",
                     Py_TYPE(keys)->tp_name);
        return NULL;
    }
    PyObject *seq = PySequence_Fast(keys, "get_many expects an iterable of keys");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    cellar_slice *ks = PyMem_Calloc((size_t)n * 2 + 1, sizeof *ks);
    cdb_buf *bufs = PyMem_Calloc((size_t)n + 1, sizeof *bufs);
    unsigned char *found = PyMem_Calloc((size_t)n + 1, 1);
    Py_ssize_t got = 0;
    if (out == NULL || ks == NULL || bufs == NULL || found == NULL) {
        if (out)
            PyErr_NoMemory();
        goto fail;
    }
    cellar_slice *vs = ks + n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (cdb_buf_get(PySequence_Fast_GET_ITEM(seq, i), &bufs[i], "key") < 0)
            goto fail;
        got++;
        ks[i].data = bufs[i].ptr;
        ks[i].len = (size_t)bufs[i].len;
    }
    if (cdb_db_enter(self) < 0) /* even for no keys: a closed database raises */
        goto fail;
    int rc = CELLAR_OK;
    if (n > 0)
        CDB_UNLOCKED(rc = cellar_get_many(self->db, (size_t)n, ks, vs, found));
    cdb_db_leave(self);
    if (rc != CELLAR_OK) {
        cdb_raise(rc);
        goto fail;
    }
    int err = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v;
        if (found[i]) {
            v = err ? NULL : PyBytes_FromStringAndSize(vs[i].data, (Py_ssize_t)vs[i].len);
            cellar_free((void *)vs[i].data);
            if (v == NULL)
                err = 1;
        } else {
            v = Py_NewRef(dflt);
        }
        if (v)
            PyList_SET_ITEM(out, i, v);
        else
            PyList_SET_ITEM(out, i, Py_NewRef(Py_None));
    }
    if (!err)
        goto done;
fail:
    Py_CLEAR(out);
done:
    for (Py_ssize_t i = 0; i < got; i++)
        cdb_buf_release(&bufs[i]);
    PyMem_Free(ks);
    PyMem_Free(bufs);
    PyMem_Free(found);
    Py_DECREF(seq);
    return out;
}

const char cdb_clear_doc[] = "clear($self)\n--\n\n"
             "Remove every record (in batches of up to 1000 keys, each batch one transaction).\n"
             "Keys written by other threads meanwhile may survive.";
PyObject *cdb_db_clear(cdb_Database *self, PyObject *unused)
{
    (void)unused;
    for (;;) {
        PyObject *it = cdb_iterator_new(self, CDB_KEYS);
        if (it == NULL)
            return NULL;
        PyObject *batch = PyList_New(0);
        PyObject *key;
        while (batch && PyList_GET_SIZE(batch) < 1000 && (key = PyIter_Next(it)) != NULL) {
            if (PyList_Append(batch, key) < 0)
                Py_CLEAR(batch);
            Py_DECREF(key);
        }
        Py_DECREF(it);
        if (batch == NULL || PyErr_Occurred()) {
            Py_XDECREF(batch);
            return NULL;
        }
        Py_ssize_t n = PyList_GET_SIZE(batch);
        if (n == 0) {
            Py_DECREF(batch);
            Py_RETURN_NONE;
        }
        if (cdb_db_enter(self) < 0) {
            Py_DECREF(batch);
            return NULL;
        }
        int rc;
        PyThreadState *save = PyEval_SaveThread();
        cellar_txn *txn = NULL;
        rc = cellar_txn_begin(&txn, self->db, 0);
        for (Py_ssize_t i = 0; rc == CELLAR_OK && i < n; i++) {
            PyObject *k = PyList_GET_ITEM(batch, i); /* bytes, owned by batch */
            rc = cellar_txn_delete(txn, PyBytes_AS_STRING(k), (size_t)PyBytes_GET_SIZE(k));
            if (rc == CELLAR_ENOTFOUND)
                rc = CELLAR_OK;
        }
        if (txn) {
            if (rc == CELLAR_OK)
                rc = cellar_txn_commit(txn);
            else
                cellar_txn_abort(txn);
        }
        PyEval_RestoreThread(save);
        cdb_db_leave(self);
        Py_DECREF(batch);
        if (rc != CELLAR_OK && rc != CELLAR_ECONFLICT)
            return cdb_raise(rc);
    }
}
