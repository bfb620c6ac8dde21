/*
 * module.c - the extension module cellardb._cellardb: types, errors and the
 * module-level functions. The Python package cellardb re-exports it and adds
 * open(), the MutableMapping registration and the notebook helpers.
 */
#include "cellardb_py.h"

PyDoc_STRVAR(salvage_doc, "salvage($module, src, dest, progress=None)\n--\n\n"
             "Copy every readable record of the (possibly corrupt) database file src\n"
             "into a new database at dest, without trusting its directory. Returns the\n"
             "number of records copied.");
static PyObject *mod_salvage(PyObject *mod, PyObject *args, PyObject *kwds)
{
    (void)mod;
    static char *kwlist[] = {"src", "dest", "progress", NULL};
    PyObject *src = NULL, *dest = NULL, *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O&O&|O:salvage", kwlist, PyUnicode_FSConverter,
                                     &src, PyUnicode_FSConverter, &dest, &progress))
        goto fail;
    if (progress != Py_None && !PyCallable_Check(progress)) {
        PyErr_SetString(PyExc_TypeError, "progress must be None or a callable(done, total)");
        goto fail;
    }
    cdb_progress p;
    memset(&p, 0, sizeof p);
    p.callable = progress == Py_None ? NULL : progress;
    p.last_call = -1e9;
    uint64_t n = 0;
    int rc;
    CDB_UNLOCKED(rc = cellar_salvage(PyBytes_AS_STRING(src), PyBytes_AS_STRING(dest),
                                     cdb_progress_fn, &p, &n));
    Py_DECREF(src);
    Py_DECREF(dest);
    if (cdb_progress_restore(&p))
        return NULL;
    if (rc != CELLAR_OK)
        return cdb_raise(rc);
    return PyLong_FromUnsignedLongLong(n);
fail:
    Py_XDECREF(src);
    Py_XDECREF(dest);
    return NULL;
}

PyDoc_STRVAR(strerror_doc, "strerror($module, code, /)\n--\n\nThe core's text for an error code.");
static PyObject *mod_strerror(PyObject *mod, PyObject *arg)
{
    (void)mod;
    long code = PyLong_AsLong(arg);
    if (code == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(cellar_strerror((int)code));
}

static PyMethodDef mod_methods[] = {
    {"salvage", (PyCFunction)(void (*)(void))mod_salvage, METH_VARARGS | METH_KEYWORDS, salvage_doc},
    {"strerror", (PyCFunction)mod_strerror, METH_O, strerror_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cdb_module = {
    PyModuleDef_HEAD_INIT,
    "cellardb._cellardb",
    "The C extension of cellardb (use the cellardb package).",
    -1,
    mod_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cellardb(void)
{
    if (PyType_Ready(&cdb_DatabaseType) < 0 || PyType_Ready(&cdb_TransactionType) < 0 ||
        PyType_Ready(&cdb_IteratorType) < 0 || PyType_Ready(&cdb_ManualClockType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&cdb_module);
    if (m == NULL)
        return NULL;
    if (cdb_errors_init(m) < 0 ||
        PyModule_AddObjectRef(m, "Database", (PyObject *)&cdb_DatabaseType) < 0 ||
        PyModule_AddObjectRef(m, "Transaction", (PyObject *)&cdb_TransactionType) < 0 ||
        PyModule_AddObjectRef(m, "Iterator", (PyObject *)&cdb_IteratorType) < 0 ||
        PyModule_AddObjectRef(m, "ManualClock", (PyObject *)&cdb_ManualClockType) < 0 ||
        PyModule_AddStringConstant(m, "__version__", CELLAR_VERSION_STRING) < 0 ||
        PyModule_AddStringConstant(m, "core_version", cellar_version()) < 0 ||
        PyModule_AddIntConstant(m, "MAX_KEY_SIZE", (long)CELLAR_MAX_KEY_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "MAX_VALUE_SIZE", (long)CELLAR_MAX_VALUE_SIZE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
