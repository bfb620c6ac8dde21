/*
 * convert.c - arguments in (bytes, str, bytes-like), values out (the visit
 * callback), and the progress/report callbacks of long operations.
 */
#include "cellardb_py.h"

#include <time.h>

int cdb_buf_get(PyObject *obj, cdb_buf *b, const char *what)
{
    b->has_view = 0;
    if (PyBytes_CheckExact(obj)) { /* the fast path: no copy, no buffer export */
        b->ptr = PyBytes_AS_STRING(obj);
        b->len = PyBytes_GET_SIZE(obj);
        return 0;
    }
    if (PyUnicode_Check(obj)) {
        /* The UTF-8 form is cached in the str object, alive as long as obj is. */
        b->ptr = PyUnicode_AsUTF8AndSize(obj, &b->len);
        return b->ptr ? 0 : -1;
    }
    if (PyObject_CheckBuffer(obj)) {
        if (PyObject_GetBuffer(obj, &b->view, PyBUF_SIMPLE) < 0)
            return -1;
        b->has_view = 1;
        b->ptr = b->view.buf;
        b->len = b->view.len;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "cellardb %s must be bytes, str or a bytes-like object, not %.100s",
                 what, Py_TYPE(obj)->tp_name);
    return -1;
}

void cdb_buf_release(cdb_buf *b)
{
    if (b->has_view) {
        PyBuffer_Release(&b->view);
        b->has_view = 0;
    }
}

int cdb_seconds_to_ms(PyObject *obj, uint64_t *out, const char *what)
{
    double s = PyFloat_AsDouble(obj);
    if (s == -1.0 && PyErr_Occurred()) {
        PyErr_Format(PyExc_TypeError, "%s must be a number of seconds", what);
        return -1;
    }
    if (!(s >= 0) || s > 1e15) { /* also rejects NaN */
        PyErr_Format(PyExc_ValueError, "%s must be a number of seconds >= 0", what);
        return -1;
    }
    *out = (uint64_t)(s * 1000.0 + 0.5);
    if (*out == 0 && s > 0)
        *out = 1; /* a positive TTL never means "none" */
    return 0;
}

/*
 * The value visitor, called by cellar_get_visit with the GIL released and the
 * page's read latch held. Small values (the common case) are copied into the
 * visit struct: a memcpy of at most 256 bytes is far cheaper than taking the
 * GIL back while a latch is held (which can also make writers of that page
 * wait for the GIL). Larger values are built straight into the bytes object
 * from the borrowed view, so they are copied exactly once.
 */
int cdb_visit_fn(const void *val, size_t len, void *payload)
{
    cdb_visit *v = payload;
    if (len <= sizeof v->small_buf) {
        memcpy(v->small_buf, val, len);
        v->small_len = len;
        v->small = 1;
        return 0;
    }
    if (len > (size_t)PY_SSIZE_T_MAX)
        return CELLAR_ETOOBIG;
    PyEval_RestoreThread(v->save);
    v->result = PyBytes_FromStringAndSize(val, (Py_ssize_t)len);
    v->save = PyEval_SaveThread();
    return v->result ? 0 : 1; /* 1: a Python exception is set */
}

PyObject *cdb_visit_result(cdb_visit *v)
{
    if (v->small)
        return PyBytes_FromStringAndSize(v->small_buf, (Py_ssize_t)v->small_len);
    if (v->result)
        return v->result;
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_SystemError, "cellardb: value visitor was not called");
    return NULL;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Progress: the core calls this with the GIL released, possibly very often,
 * so Python is entered at most every 50 ms (and at the start and the end).
 * Each time, pending signals are handled first, so Ctrl-C (or "interrupt
 * kernel" in Jupyter) cancels a long compact/backup/check with
 * KeyboardInterrupt; then the callable, if any, is called. While it runs, the
 * database refuses calls from this thread (cb_thread), which could otherwise
 * deadlock against the operation in progress. An exception cancels the
 * operation and is re-raised; a true return value cancels it
 * (CanceledError).
 */
int cdb_progress_fn(uint64_t done, uint64_t total, void *payload)
{
    cdb_progress *p = payload;
    double now = mono_seconds();
    if (!(done == total || done == 0 || now - p->last_call >= 0.05))
        return 0;
    p->last_call = now;
    PyGILState_STATE g = PyGILState_Ensure();
    int cancel = 0;
    /* Signal handlers and the callable run with this thread marked as inside
     * the callback, so neither can re-enter the database. */
    unsigned long prev = p->dbo ? p->dbo->cb_thread : 0;
    if (p->dbo)
        p->dbo->cb_thread = PyThread_get_thread_ident();
    if (p->exc_type != NULL) {
        cancel = 1;
    } else if (PyErr_CheckSignals() < 0) {
        PyErr_Fetch(&p->exc_type, &p->exc_value, &p->exc_tb);
        cancel = 1;
    } else if (p->callable != NULL) {
        PyObject *r = PyObject_CallFunction(p->callable, "KK", (unsigned long long)done,
                                            (unsigned long long)total);
        if (r == NULL) {
            PyErr_Fetch(&p->exc_type, &p->exc_value, &p->exc_tb);
            cancel = 1;
        } else {
            cancel = PyObject_IsTrue(r) == 1; /* returning True cancels */
            Py_DECREF(r);
        }
    }
    if (p->dbo)
        p->dbo->cb_thread = prev;
    PyGILState_Release(g);
    return cancel;
}

void cdb_report_fn(uint64_t page, const char *message, void *payload)
{
    cdb_progress *p = payload;
    if (p->problems == NULL)
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    /* Making the tuple may run the garbage collector and so finalizers: as
     * in a progress callback, they must not re-enter the database (check
     * holds its writer lock). */
    unsigned long prev = p->dbo ? p->dbo->cb_thread : 0;
    if (p->dbo)
        p->dbo->cb_thread = PyThread_get_thread_ident();
    PyObject *t = Py_BuildValue("(Ks)", (unsigned long long)page, message ? message : "");
    if (t == NULL || PyList_Append(p->problems, t) < 0)
        PyErr_Clear(); /* best effort: a report lost to memory pressure */
    Py_XDECREF(t);
    if (p->dbo)
        p->dbo->cb_thread = prev;
    PyGILState_Release(g);
}

int cdb_progress_restore(cdb_progress *p)
{
    if (p->exc_type == NULL)
        return 0;
    PyErr_Restore(p->exc_type, p->exc_value, p->exc_tb);
    p->exc_type = p->exc_value = p->exc_tb = NULL;
    return 1;
}
