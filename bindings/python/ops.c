/*
 * ops.c - Database methods for counters, compare-and-swap and time-to-live.
 * Each is one atomic core call made with the GIL released.
 */
#include "cellardb_py.h"

/* ---- counters, compare-and-swap, TTL ---- */

static PyObject *do_incr(cdb_Database *self, PyObject *args, PyObject *kwds, int sign,
                         const char *fmt)
{
    static char *kwlist[] = {"key", "delta", NULL};
    PyObject *key;
    long long delta = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, fmt, kwlist, &key, &delta))
        return NULL;
    if (sign < 0) {
        if (delta == INT64_MIN) {
            PyErr_SetString(PyExc_OverflowError, "delta out of range");
            return NULL;
        }
        delta = -delta;
    }
    cdb_buf k;
    if (cdb_buf_get(key, &k, "key") < 0)
        return NULL;
    if (cdb_db_enter(self) < 0) {
        cdb_buf_release(&k);
        return NULL;
    }
    int64_t out = 0;
    int rc;
    CDB_UNLOCKED(rc = cellar_incr(self->db, k.ptr, (size_t)k.len, (int64_t)delta, &out));
    cdb_db_leave(self);
    cdb_buf_release(&k);
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    return PyLong_FromLongLong((long long)out);
}

const char cdb_incr_doc[] = "incr($self, key, delta=1)\n--\n\n"
             "Add delta to the decimal integer stored under key (absent counts as 0),\n"
             "atomically, and return the new value. Raises NotANumberError if the value\n"
             "is not a decimal int64, IntegerOverflowError on overflow. Keeps any TTL.";
PyObject *cdb_db_incr(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    return do_incr(self, args, kwds, 1, "O|L:incr");
}

const char cdb_decr_doc[] = "decr($self, key, delta=1)\n--\n\nAs incr(key, -delta).";
PyObject *cdb_db_decr(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    return do_incr(self, args, kwds, -1, "O|L:decr");
}

const char cdb_cas_doc[] = "cas($self, key, expected, value)\n--\n\n"
             "Compare and swap, atomically: if the value of key equals expected (None:\n"
             "if key is absent), store value (None: delete key). Returns True if it\n"
             "swapped, False if the current value did not match.";
PyObject *cdb_db_cas(cdb_Database *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"key", "expected", "value", NULL};
    PyObject *key, *exp, *val;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO:cas", kwlist, &key, &exp, &val))
        return NULL;
    cdb_buf k, e, v;
    int have_e = exp != Py_None, have_v = val != Py_None;
    if (cdb_buf_get(key, &k, "key") < 0)
        return NULL;
    if (have_e && cdb_buf_get(exp, &e, "expected value") < 0) {
        cdb_buf_release(&k);
        return NULL;
    }
    if (have_v && cdb_buf_get(val, &v, "value") < 0) {
        cdb_buf_release(&k);
        if (have_e)
            cdb_buf_release(&e);
        return NULL;
    }
    PyObject *result = NULL;
    if (cdb_db_enter(self) == 0) {
        int rc;
        CDB_UNLOCKED(rc = cellar_cas(self->db, k.ptr, (size_t)k.len, have_e ? e.ptr : NULL,
                                     have_e ? (size_t)e.len : 0, have_v ? v.ptr : NULL,
                                     have_v ? (size_t)v.len : 0));
        cdb_db_leave(self);
        if (rc == CELLAR_OK)
            result = Py_NewRef(Py_True);
        else if (rc == CELLAR_EMISMATCH)
            result = Py_NewRef(Py_False);
        else
            cdb_raise(rc);
    }
    cdb_buf_release(&k);
    if (have_e)
        cdb_buf_release(&e);
    if (have_v)
        cdb_buf_release(&v);
    return result;
}

const char cdb_expire_doc[] = "expire($self, key, ttl, /)\n--\n\n"
             "Give an existing key a time-to-live of ttl seconds from now (0 expires it\n"
             "at once). Returns True, or False if the key does not exist.";
PyObject *cdb_db_expire(cdb_Database *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "expire expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    uint64_t ms;
    if (cdb_seconds_to_ms(args[1], &ms, "ttl") < 0)
        return NULL;
    cdb_buf k;
    if (cdb_buf_get(args[0], &k, "key") < 0)
        return NULL;
    if (cdb_db_enter(self) < 0) {
        cdb_buf_release(&k);
        return NULL;
    }
    int rc;
    CDB_UNLOCKED(rc = cellar_expire(self->db, k.ptr, (size_t)k.len, ms));
    cdb_db_leave(self);
    cdb_buf_release(&k);
    if (rc == CELLAR_OK || rc == CELLAR_ENOTFOUND)
        return PyBool_FromLong(rc == CELLAR_OK);
    return cdb_raise(rc);
}

const char cdb_ttl_doc[] = "ttl($self, key, /)\n--\n\n"
             "Remaining time-to-live of key in seconds (a float), or None if it has\n"
             "none. Raises NotFoundError (a KeyError) if the key does not exist.";
PyObject *cdb_db_ttl(cdb_Database *self, PyObject *key)
{
    cdb_buf k;
    if (cdb_buf_get(key, &k, "key") < 0)
        return NULL;
    if (cdb_db_enter(self) < 0) {
        cdb_buf_release(&k);
        return NULL;
    }
    int64_t ms = -1;
    int rc;
    CDB_UNLOCKED(rc = cellar_ttl(self->db, k.ptr, (size_t)k.len, &ms));
    cdb_db_leave(self);
    cdb_buf_release(&k);
    if (rc == CELLAR_ENOTFOUND)
        return cdb_raise_notfound(key);
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    if (ms < 0)
        Py_RETURN_NONE;
    return PyFloat_FromDouble((double)ms / 1000.0);
}

const char cdb_persist_doc[] = "persist($self, key, /)\n--\n\n"
             "Remove the TTL of key. Returns True, or False if the key does not exist.";
PyObject *cdb_db_persist(cdb_Database *self, PyObject *key)
{
    cdb_buf k;
    if (cdb_buf_get(key, &k, "key") < 0)
        return NULL;
    if (cdb_db_enter(self) < 0) {
        cdb_buf_release(&k);
        return NULL;
    }
    int rc;
    CDB_UNLOCKED(rc = cellar_persist(self->db, k.ptr, (size_t)k.len));
    cdb_db_leave(self);
    cdb_buf_release(&k);
    if (rc == CELLAR_OK || rc == CELLAR_ENOTFOUND)
        return PyBool_FromLong(rc == CELLAR_OK);
    return cdb_raise(rc);
}
