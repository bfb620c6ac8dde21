/*
 * ops.c - Database methods for counters, compare-and-swap and time-to-live.
 * Each is one atomic core call made with the GIL released.
 */
#include "cellardb_py.h"

/* ---- the core calls (cdb_key_fn: made with the GIL released) ---- */

typedef struct {
    int64_t delta;
    int64_t out;
} incr_arg;

static int core_incr(const cdb_target *t, const cdb_buf *k, void *arg)
{
    incr_arg *a = arg;
    return cellar_incr(t->dbo->db, k->ptr, (size_t)k->len, a->delta, &a->out);
}

int cdb_core_cas(const cdb_target *t, const cdb_buf *k, void *arg)
{
    const cdb_cas_arg *a = arg;
    return cellar_cas(t->dbo->db, k->ptr, (size_t)k->len, a->expected ? a->expected->ptr : NULL,
                      a->expected ? (size_t)a->expected->len : 0, a->value ? a->value->ptr : NULL,
                      a->value ? (size_t)a->value->len : 0);
}

static int core_expire(const cdb_target *t, const cdb_buf *k, void *arg)
{
    return cellar_expire(t->dbo->db, k->ptr, (size_t)k->len, *(const uint64_t *)arg);
}

static int core_ttl(const cdb_target *t, const cdb_buf *k, void *arg)
{
    return cellar_ttl(t->dbo->db, k->ptr, (size_t)k->len, (int64_t *)arg);
}

static int core_persist(const cdb_target *t, const cdb_buf *k, void *arg)
{
    (void)arg;
    return cellar_persist(t->dbo->db, k->ptr, (size_t)k->len);
}

/* expire and persist: True if done, False if the key does not exist. */
static PyObject *key_exists_op(cdb_Database *self, PyObject *key, cdb_key_fn fn, void *arg)
{
    cdb_target t = {self, NULL};
    int rc;
    if (cdb_key_call(&t, key, fn, arg, &rc) < 0)
        return NULL;
    if (rc == CELLAR_OK || rc == CELLAR_ENOTFOUND)
        return PyBool_FromLong(rc == CELLAR_OK);
    return cdb_raise(rc);
}

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
    cdb_target t = {self, NULL};
    incr_arg a = {(int64_t)delta, 0};
    int rc;
    if (cdb_key_call(&t, key, core_incr, &a, &rc) < 0)
        return NULL;
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    return PyLong_FromLongLong((long long)a.out);
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
    cdb_target t = {self, NULL};
    cdb_cas_arg a = {have_e ? &e : NULL, have_v ? &v : NULL};
    PyObject *result = NULL;
    int rc;
    if (cdb_target_call(&t, &k, cdb_core_cas, &a, &rc) == 0) {
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
    return key_exists_op(self, args[0], core_expire, &ms);
}

const char cdb_ttl_doc[] = "ttl($self, key, /)\n--\n\n"
             "Remaining time-to-live of key in seconds (a float), or None if it has\n"
             "none. Raises NotFoundError (a KeyError) if the key does not exist.";
PyObject *cdb_db_ttl(cdb_Database *self, PyObject *key)
{
    cdb_target t = {self, NULL};
    int64_t ms = -1;
    int rc;
    if (cdb_key_call(&t, key, core_ttl, &ms, &rc) < 0)
        return NULL;
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
    return key_exists_op(self, key, core_persist, NULL);
}
