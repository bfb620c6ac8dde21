/*
 * txn_map.c - the Transaction's whole-mapping methods: keys, values, items,
 * iteration and len, as the transaction sees the database.
 *
 * The core keeps a transaction's write set private and iterates only the
 * committed database, so the binding records, per Transaction object, which
 * keys it stored or deleted (the `writes` dict) and merges: every key of the
 * database that the transaction did not touch, then every key it stored.
 * Values are read through the transaction (cellar_txn_get), so they count as
 * reads for conflict detection; the key listing itself does not (keys that
 * other commits add or remove meanwhile are not conflicts). Transactions are
 * meant to be short, so these methods return lists (as keys() of a dbm does).
 */
#include "cellardb_py.h"

static int txn_alive(cdb_Transaction *self)
{
    if (self->txn == NULL) {
        cdb_raise_closed("cellardb: the transaction is finished (committed or rolled back)");
        return -1;
    }
    return 0;
}

PyObject *cdb_txn_keys(cdb_Transaction *self, PyObject *unused)
{
    (void)unused;
    if (txn_alive(self) < 0)
        return NULL;
    /* A snapshot of the write set first: the database scan below releases
     * the GIL, and the dict must not change under PyDict_Next. */
    PyObject *writes = PyDict_Copy(self->writes);
    PyObject *list = writes ? PyList_New(0) : NULL;
    PyObject *it = list ? cdb_iterator_new(self->dbo, CDB_KEYS) : NULL;
    if (it == NULL)
        goto fail;
    PyObject *key;
    while ((key = PyIter_Next(it)) != NULL) {
        int touched = PyDict_Contains(writes, key);
        int bad = touched < 0 || (touched == 0 && PyList_Append(list, key) < 0);
        Py_DECREF(key);
        if (bad)
            goto fail;
    }
    if (PyErr_Occurred())
        goto fail;
    Py_CLEAR(it);
    PyObject *k, *alive;
    Py_ssize_t pos = 0;
    while (PyDict_Next(writes, &pos, &k, &alive))
        if (alive == Py_True && PyList_Append(list, k) < 0)
            goto fail;
    Py_DECREF(writes);
    return list;
fail:
    Py_XDECREF(it);
    Py_XDECREF(list);
    Py_XDECREF(writes);
    return NULL;
}

/* values (want_keys 0) or items (want_keys 1), read through the transaction. */
static PyObject *txn_collect(cdb_Transaction *self, int want_keys)
{
    PyObject *keys = cdb_txn_keys(self, NULL);
    if (keys == NULL)
        return NULL;
    PyObject *out = PyList_New(0);
    for (Py_ssize_t i = 0; out && i < PyList_GET_SIZE(keys); i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        PyObject *val = cdb_map_fetch((PyObject *)self, key);
        if (val == NULL) {
            if (PyErr_Occurred())
                Py_CLEAR(out);
            continue; /* removed by another commit since the scan */
        }
        PyObject *entry = want_keys ? PyTuple_Pack(2, key, val) : Py_NewRef(val);
        Py_DECREF(val);
        if (entry == NULL || PyList_Append(out, entry) < 0)
            Py_CLEAR(out);
        Py_XDECREF(entry);
    }
    Py_DECREF(keys);
    return out;
}

PyObject *cdb_txn_values(cdb_Transaction *self, PyObject *unused)
{
    (void)unused;
    return txn_collect(self, 0);
}

PyObject *cdb_txn_items(cdb_Transaction *self, PyObject *unused)
{
    (void)unused;
    return txn_collect(self, 1);
}

PyObject *cdb_txn_iter(cdb_Transaction *self)
{
    PyObject *keys = cdb_txn_keys(self, NULL);
    if (keys == NULL)
        return NULL;
    PyObject *it = PyObject_GetIter(keys);
    Py_DECREF(keys);
    return it;
}

/* The committed count, corrected by each key this transaction stored
 * (absent from the database: +1) or deleted (present in it: -1). */
Py_ssize_t cdb_txn_length(cdb_Transaction *self)
{
    /* Every Python object is made outside enter/leave: making one may run
     * the garbage collector, whose finalizers must not find a call of this
     * thread in flight (close() would wait for it forever). */
    PyObject *writes = PyDict_Items(self->writes);
    if (writes == NULL)
        return -1;
    if (cdb_txn_enter(self) < 0) {
        Py_DECREF(writes);
        return -1;
    }
    uint64_t n = 0;
    int rc;
    int64_t count = 0;
    CDB_UNLOCKED(rc = cellar_count(self->dbo->db, &n));
    if (rc == CELLAR_OK)
        count = (int64_t)n;
    for (Py_ssize_t i = 0; rc == CELLAR_OK && i < PyList_GET_SIZE(writes); i++) {
        PyObject *pair = PyList_GET_ITEM(writes, i);
        PyObject *key = PyTuple_GET_ITEM(pair, 0); /* bytes */
        int alive = PyTuple_GET_ITEM(pair, 1) == Py_True;
        CDB_UNLOCKED(rc = cellar_exists(self->dbo->db, PyBytes_AS_STRING(key),
                                        (size_t)PyBytes_GET_SIZE(key)));
        int in_db = rc == CELLAR_OK;
        if (rc == CELLAR_ENOTFOUND)
            rc = CELLAR_OK;
        count += (alive && !in_db) - (!alive && in_db);
    }
    cdb_txn_leave(self);
    Py_DECREF(writes);
    if (rc != CELLAR_OK) {
        cdb_raise(rc);
        return -1;
    }
    return count < 0 ? 0 : (Py_ssize_t)count;
}

PyObject *cdb_txn_clear(cdb_Transaction *self, PyObject *unused)
{
    (void)unused;
    PyObject *keys = cdb_txn_keys(self, NULL);
    if (keys == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++) {
        if (PyObject_DelItem((PyObject *)self, PyList_GET_ITEM(keys, i)) < 0) {
            if (!PyErr_ExceptionMatches(PyExc_KeyError)) { /* gone meanwhile: fine */
                Py_DECREF(keys);
                return NULL;
            }
            PyErr_Clear();
        }
    }
    Py_DECREF(keys);
    Py_RETURN_NONE;
}

PyObject *cdb_txn_popitem(cdb_Transaction *self, PyObject *unused)
{
    (void)unused;
    PyObject *keys = cdb_txn_keys(self, NULL);
    if (keys == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        PyObject *val = cdb_map_fetch((PyObject *)self, key);
        if (val == NULL) {
            if (PyErr_Occurred())
                break;
            continue;
        }
        PyObject *result = NULL;
        if (PyObject_DelItem((PyObject *)self, key) == 0)
            result = PyTuple_Pack(2, key, val);
        Py_DECREF(val);
        Py_DECREF(keys);
        return result;
    }
    Py_DECREF(keys);
    if (PyErr_Occurred())
        return NULL;
    return cdb_raise_msg(CELLAR_ENOTFOUND, "popitem(): the transaction sees no records");
}
