/*
 * mapping.c - the single-key mapping methods that Database and Transaction
 * share: db[key], db[key] = value, del db[key], key in db, get, set, delete,
 * pop; and the one pattern under every single-key core call (convert the key,
 * enter, make the call with the GIL released, leave).
 *
 * A method works on a cdb_target: the Database itself, or a Transaction on
 * it. The target decides the guards (cdb_db_enter / cdb_txn_enter) and which
 * core call is made (cellar_put or cellar_txn_put, ...); everything around
 * the call (argument checks, conversions, results, errors) is the same code,
 * and so are the two types' mapping and sequence slots.
 * Where the two differ in what they promise (pop is one atomic transaction
 * on a Database; a Transaction records the keys it writes) the difference is
 * spelled out below.
 */
#include "cellardb_py.h"

cdb_target cdb_target_of(PyObject *self)
{
    cdb_target t;
    if (Py_IS_TYPE(self, &cdb_TransactionType)) { /* Transaction has no subclasses */
        t.txo = (cdb_Transaction *)self;
        t.dbo = t.txo->dbo;
    } else {
        t.txo = NULL;
        t.dbo = (cdb_Database *)self;
    }
    return t;
}

static int target_enter(const cdb_target *t)
{
    return t->txo ? cdb_txn_enter(t->txo) : cdb_db_enter(t->dbo);
}

static void target_leave(const cdb_target *t)
{
    if (t->txo)
        cdb_txn_leave(t->txo);
    else
        cdb_db_leave(t->dbo);
}

int cdb_target_call(const cdb_target *t, const cdb_buf *k, cdb_key_fn fn, void *arg, int *rc)
{
    if (target_enter(t) < 0)
        return -1;
    int r;
    CDB_UNLOCKED(r = fn(t, k, arg));
    target_leave(t);
    *rc = r;
    return 0;
}

int cdb_key_call(const cdb_target *t, PyObject *key, cdb_key_fn fn, void *arg, int *rc)
{
    cdb_buf k;
    if (cdb_buf_get(key, &k, "key") < 0)
        return -1;
    int r = cdb_target_call(t, &k, fn, arg, rc);
    cdb_buf_release(&k);
    return r;
}

int cdb_check_nargs(const char *name, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "%s expected 1 or 2 arguments, got %zd", name, nargs);
        return -1;
    }
    return 0;
}

/* ---- the core calls (made with the GIL released) ---- */

typedef struct {
    cdb_visit v;    /* the Database's read: cellar_get_visit */
    void *val;      /* the Transaction's read: cellar_txn_get (cellar_free it) */
    size_t vlen;
} fetch_arg;

static int core_fetch(const cdb_target *t, const cdb_buf *k, void *arg)
{
    fetch_arg *a = arg;
    if (t->txo)
        return cellar_txn_get(t->txo->txn, k->ptr, (size_t)k->len, &a->val, &a->vlen);
    return cellar_get_visit(t->dbo->db, k->ptr, (size_t)k->len, cdb_visit_fn, &a->v);
}

typedef struct {
    const cdb_buf *v; /* NULL: delete */
    uint64_t ttl_ms;  /* 0: none */
} put_arg;

static int core_put(const cdb_target *t, const cdb_buf *k, void *arg)
{
    const put_arg *p = arg;
    const char *kp = k->ptr;
    size_t kl = (size_t)k->len;
    if (t->txo) {
        cellar_txn *txn = t->txo->txn;
        if (p->v == NULL)
            return cellar_txn_delete(txn, kp, kl);
        if (p->ttl_ms == 0)
            return cellar_txn_put(txn, kp, kl, p->v->ptr, (size_t)p->v->len);
        return cellar_txn_put_ttl(txn, kp, kl, p->v->ptr, (size_t)p->v->len, p->ttl_ms);
    }
    cellar_db *db = t->dbo->db;
    if (p->v == NULL)
        return cellar_delete(db, kp, kl);
    if (p->ttl_ms == 0)
        return cellar_put(db, kp, kl, p->v->ptr, (size_t)p->v->len);
    return cellar_put_ttl(db, kp, kl, p->v->ptr, (size_t)p->v->len, p->ttl_ms);
}

static int core_exists(const cdb_target *t, const cdb_buf *k, void *arg)
{
    (void)arg;
    if (t->txo)
        return cellar_txn_exists(t->txo->txn, k->ptr, (size_t)k->len);
    return cellar_exists(t->dbo->db, k->ptr, (size_t)k->len);
}

typedef struct {
    void *val;
    size_t vlen;
} take_arg;

/* The Database's atomic read-and-delete: one transaction of its own. */
static int core_take(const cdb_target *t, const cdb_buf *k, void *arg)
{
    take_arg *a = arg;
    cellar_txn *txn = NULL;
    int rc = cellar_txn_begin(&txn, t->dbo->db, 0);
    if (rc != CELLAR_OK)
        return rc;
    rc = cellar_txn_get(txn, k->ptr, (size_t)k->len, &a->val, &a->vlen);
    if (rc == CELLAR_OK)
        rc = cellar_txn_delete(txn, k->ptr, (size_t)k->len);
    if (rc == CELLAR_OK)
        return cellar_txn_commit(txn);
    cellar_txn_abort(txn);
    return rc;
}

/* ---- fetch, store, take ---- */

PyObject *cdb_map_fetch(PyObject *self, PyObject *key)
{
    cdb_target t = cdb_target_of(self);
    fetch_arg a;
    a.v.small = 0;
    a.v.result = NULL;
    /* The visitor re-takes the GIL with v.save: the thread state that
     * CDB_UNLOCKED releases, which is this thread's own. */
    a.v.save = PyThreadState_Get();
    a.val = NULL;
    a.vlen = 0;
    int rc;
    if (cdb_key_call(&t, key, core_fetch, &a, &rc) < 0)
        return NULL;
    if (rc == CELLAR_OK) {
        if (!t.txo)
            return cdb_visit_result(&a.v);
        PyObject *r = PyBytes_FromStringAndSize(a.val, (Py_ssize_t)a.vlen);
        cellar_free(a.val);
        return r;
    }
    Py_CLEAR(a.v.result);
    if (rc == CELLAR_ENOTFOUND)
        return NULL;
    return cdb_raise(rc);
}

/* Remember the key's fate for the transaction's keys()/len(): the core keeps
 * the write set private. (Out of memory here raises, with the write buffered.) */
static int txn_note_write(cdb_Transaction *txo, const cdb_buf *k, int alive)
{
    PyObject *kb = PyBytes_FromStringAndSize(k->ptr, k->len);
    if (kb == NULL || PyDict_SetItem(txo->writes, kb, alive ? Py_True : Py_False) < 0) {
        Py_XDECREF(kb);
        return -1;
    }
    Py_DECREF(kb);
    return 0;
}

int cdb_map_store(PyObject *self, PyObject *key, PyObject *val, uint64_t ttl_ms)
{
    cdb_target t = cdb_target_of(self);
    cdb_buf k, v;
    if (cdb_buf_get(key, &k, "key") < 0)
        return -1;
    if (val && cdb_buf_get(val, &v, "value") < 0) {
        cdb_buf_release(&k);
        return -1;
    }
    put_arg p = {val ? &v : NULL, ttl_ms};
    int rc;
    int ret = cdb_target_call(&t, &k, core_put, &p, &rc);
    if (val)
        cdb_buf_release(&v);
    if (ret == 0 && t.txo && (rc == CELLAR_OK || (rc == CELLAR_ENOTFOUND && val == NULL)))
        ret = txn_note_write(t.txo, &k, val != NULL);
    cdb_buf_release(&k);
    if (ret < 0)
        return -1;
    if (rc == CELLAR_ENOTFOUND && val == NULL)
        return 1;
    if (rc != CELLAR_OK) {
        cdb_raise(rc);
        return -1;
    }
    return 0;
}

PyObject *cdb_map_take(PyObject *self, PyObject *key)
{
    cdb_target t = cdb_target_of(self);
    if (t.txo) {
        /* a read, then a buffered delete: the commit makes the pair atomic */
        PyObject *r = cdb_map_fetch(self, key);
        if (r && cdb_map_store(self, key, NULL, 0) < 0)
            Py_CLEAR(r);
        return r;
    }
    cdb_buf k;
    if (cdb_buf_get(key, &k, "key") < 0)
        return NULL;
    PyObject *result = NULL;
    for (int attempt = 0;; attempt++) {
        take_arg a = {NULL, 0};
        int rc;
        if (cdb_target_call(&t, &k, core_take, &a, &rc) < 0)
            break;
        if (rc == CELLAR_OK) {
            result = PyBytes_FromStringAndSize(a.val, (Py_ssize_t)a.vlen);
            cellar_free(a.val);
            break;
        }
        cellar_free(a.val);
        if (rc == CELLAR_ENOTFOUND)
            break;
        if (rc == CELLAR_ECONFLICT && attempt < 1000)
            continue;
        cdb_raise(rc);
        break;
    }
    cdb_buf_release(&k);
    return result;
}

/* ---- the methods and slots ---- */

static Py_ssize_t map_length(PyObject *self)
{
    cdb_target t = cdb_target_of(self);
    return t.txo ? cdb_txn_length(t.txo) : cdb_db_length(t.dbo);
}

PyObject *cdb_map_subscript(PyObject *self, PyObject *key)
{
    PyObject *r = cdb_map_fetch(self, key);
    if (r == NULL && !PyErr_Occurred())
        return cdb_raise_notfound(key);
    return r;
}

int cdb_map_ass_subscript(PyObject *self, PyObject *key, PyObject *val)
{
    int rc = cdb_map_store(self, key, val, 0);
    if (rc == 1) {
        cdb_raise_notfound(key);
        return -1;
    }
    return rc;
}

int cdb_map_contains(PyObject *self, PyObject *key)
{
    cdb_target t = cdb_target_of(self);
    int rc;
    if (cdb_key_call(&t, key, core_exists, NULL, &rc) < 0)
        return -1;
    if (rc == CELLAR_OK)
        return 1;
    if (rc == CELLAR_ENOTFOUND)
        return 0;
    cdb_raise(rc);
    return -1;
}

PyObject *cdb_map_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (cdb_check_nargs("get", nargs) < 0)
        return NULL;
    PyObject *r = cdb_map_fetch(self, args[0]);
    if (r == NULL && !PyErr_Occurred())
        return Py_NewRef(nargs > 1 ? args[1] : Py_None);
    return r;
}

PyObject *cdb_map_set(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"key", "value", "ttl", NULL};
    PyObject *key, *val, *ttl = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|O:set", kwlist, &key, &val, &ttl))
        return NULL;
    uint64_t ms = 0;
    if (ttl != Py_None && cdb_seconds_to_ms(ttl, &ms, "ttl") < 0)
        return NULL;
    if (ttl != Py_None && ms == 0) {
        /* a transaction has no expire() */
        PyErr_SetString(PyExc_ValueError,
                        cdb_target_of(self).txo
                            ? "ttl must be > 0 seconds"
                            : "ttl must be > 0 seconds (use expire(key, 0) to expire now)");
        return NULL;
    }
    if (cdb_map_store(self, key, val, ms) < 0)
        return NULL;
    Py_RETURN_NONE;
}

PyObject *cdb_map_delete(PyObject *self, PyObject *key)
{
    int rc = cdb_map_store(self, key, NULL, 0);
    if (rc < 0)
        return NULL;
    return PyBool_FromLong(rc == CELLAR_OK);
}

PyObject *cdb_map_pop(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (cdb_check_nargs("pop", nargs) < 0)
        return NULL;
    PyObject *r = cdb_map_take(self, args[0]);
    if (r == NULL && !PyErr_Occurred()) {
        if (nargs > 1)
            return Py_NewRef(args[1]);
        return cdb_raise_notfound(args[0]);
    }
    return r;
}

PyMappingMethods cdb_map_as_mapping = {
    .mp_length = map_length,
    .mp_subscript = cdb_map_subscript,
    .mp_ass_subscript = cdb_map_ass_subscript,
};

PySequenceMethods cdb_map_as_sequence = {
    .sq_contains = cdb_map_contains,
};
