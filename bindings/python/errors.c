/*
 * errors.c - the exception classes of cellardb and the one table that maps
 * core codes to them.
 *
 * The table is generated from the core's CELLAR_ERROR_LIST X-macro: each
 * code NAME needs a CDB_CLASS_NAME (the Python class name) and a
 * CDB_BASE_NAME (an extra built-in base, or NULL) below, so a code added to
 * the core without a Python class is a compile error here, not a silent
 * fallback. Every class derives from cellardb.error, which is an OSError (as
 * dbm modules' errors are); some also derive from the built-in exception a
 * Python programmer would catch (NotFoundError is a KeyError, ...).
 *
 * Each exception carries: .code (the code's name, "CELLAR_ENOTFOUND", as
 * every binding reports it), .number (the negative CELLAR_E* value), .errno
 * (the system errno or None) and the core's message (naming the file and
 * page) as str(e).
 */
#include "cellardb_py.h"

#define CDB_CLASS_OK        NULL
#define CDB_CLASS_ENOTFOUND "NotFoundError"
#define CDB_CLASS_EINVAL    "InvalidArgumentError"
#define CDB_CLASS_ETOOBIG   "TooLargeError"
#define CDB_CLASS_ENOMEM    "NoMemoryError"
#define CDB_CLASS_EIO       "DiskIOError"
#define CDB_CLASS_ENOSPC    "NoSpaceError"
#define CDB_CLASS_ECORRUPT  "CorruptError"
#define CDB_CLASS_ELOCKED   "LockedError"
#define CDB_CLASS_EREADONLY "ReadOnlyError"
#define CDB_CLASS_ECONFLICT "ConflictError"
#define CDB_CLASS_ECLOSED   "ClosedError"
#define CDB_CLASS_ENAN      "NotANumberError"
#define CDB_CLASS_EVERSION  "VersionError"
#define CDB_CLASS_ENOTDB    "NotADatabaseError"
#define CDB_CLASS_EMISMATCH "MismatchError"
#define CDB_CLASS_EOVERFLOW "IntegerOverflowError"
#define CDB_CLASS_EFORK     "ForkError"
#define CDB_CLASS_ENOENT    "NoSuchFileError"
#define CDB_CLASS_EACCES    "AccessError"
#define CDB_CLASS_EBUSY     "BusyError"
#define CDB_CLASS_ECANCELED "CanceledError"
#define CDB_CLASS_EINTERNAL "InternalError"

/* Extra built-in bases (addresses of the interpreter's globals). */
#define CDB_BASE_OK        NULL
#define CDB_BASE_ENOTFOUND (&PyExc_KeyError)
#define CDB_BASE_EINVAL    (&PyExc_ValueError)
#define CDB_BASE_ETOOBIG   (&PyExc_ValueError)
#define CDB_BASE_ENOMEM    (&PyExc_MemoryError)
#define CDB_BASE_EIO       NULL
#define CDB_BASE_ENOSPC    NULL
#define CDB_BASE_ECORRUPT  NULL
#define CDB_BASE_ELOCKED   NULL
#define CDB_BASE_EREADONLY NULL
#define CDB_BASE_ECONFLICT NULL
#define CDB_BASE_ECLOSED   (&PyExc_ValueError) /* as I/O on a closed file */
#define CDB_BASE_ENAN      (&PyExc_ValueError)
#define CDB_BASE_EVERSION  NULL
#define CDB_BASE_ENOTDB    NULL
#define CDB_BASE_EMISMATCH NULL
#define CDB_BASE_EOVERFLOW (&PyExc_OverflowError)
#define CDB_BASE_EFORK     NULL
#define CDB_BASE_ENOENT    (&PyExc_FileNotFoundError)
#define CDB_BASE_EACCES    (&PyExc_PermissionError)
#define CDB_BASE_EBUSY     NULL
#define CDB_BASE_ECANCELED NULL
#define CDB_BASE_EINTERNAL NULL

typedef struct {
    int code;
    const char *errname;   /* "CELLAR_ENOTFOUND" */
    const char *message;   /* the core's static text */
    const char *pyname;    /* class name, NULL for OK */
    PyObject **extra_base; /* or NULL */
    PyObject *cls;         /* filled at init */
} cdb_errrow;

#define CDB__ROW(name, value, msg) \
    { CELLAR_##name, "CELLAR_" #name, msg, CDB_CLASS_##name, CDB_BASE_##name, NULL },
static cdb_errrow cdb_errtab[] = { CELLAR_ERROR_LIST(CDB__ROW) };
#undef CDB__ROW

#define CDB_NERR ((int)(sizeof cdb_errtab / sizeof cdb_errtab[0]))

PyObject *cdb_Error;
PyObject *cdb_NotFoundError;
PyObject *cdb_ClosedError;
PyObject *cdb_ConflictError;

static PyObject *class_for(int code)
{
    for (int i = 0; i < CDB_NERR; i++)
        if (cdb_errtab[i].code == code && cdb_errtab[i].cls)
            return cdb_errtab[i].cls;
    return cdb_Error;
}

static const cdb_errrow *row_for(int code)
{
    for (int i = 0; i < CDB_NERR; i++)
        if (cdb_errtab[i].code == code)
            return &cdb_errtab[i];
    return NULL;
}

/* Build cls(*args) and set .code, .number, .errno; then raise it. */
static PyObject *raise_with(PyObject *cls, PyObject *args, int code, int sys_errno)
{
    PyObject *exc = PyObject_CallObject(cls, args);
    if (exc == NULL)
        return NULL;
    const cdb_errrow *row = row_for(code);
    PyObject *codeobj = PyLong_FromLong(code);
    PyObject *name = PyUnicode_FromString(row ? row->errname : cellar_errname(code));
    PyObject *eno = sys_errno ? PyLong_FromLong(sys_errno) : Py_NewRef(Py_None);
    if (codeobj && name && eno) {
        PyObject_SetAttrString(exc, "code", name);
        PyObject_SetAttrString(exc, "number", codeobj);
        PyObject_SetAttrString(exc, "errno", eno);
    }
    Py_XDECREF(codeobj);
    Py_XDECREF(name);
    Py_XDECREF(eno);
    if (PyErr_Occurred()) {
        Py_DECREF(exc);
        return NULL;
    }
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *cdb_raise(int rc)
{
    if (PyErr_Occurred())
        return NULL; /* a Python error (from a callback) takes precedence */
    const cellar_error *e = cellar_error_last();
    const char *msg = (e->code == rc && e->message && e->message[0]) ? e->message
                                                                      : cellar_strerror(rc);
    int sys_errno = (e->code == rc) ? e->sys_errno : 0;
    PyObject *text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace");
    if (text == NULL)
        return NULL;
    PyObject *args = PyTuple_Pack(1, text);
    Py_DECREF(text);
    if (args == NULL)
        return NULL;
    raise_with(class_for(rc), args, rc, sys_errno);
    Py_DECREF(args);
    return NULL;
}

PyObject *cdb_raise_notfound(PyObject *key)
{
    PyObject *args = PyTuple_Pack(1, key);
    if (args == NULL)
        return NULL;
    raise_with(cdb_NotFoundError, args, CELLAR_ENOTFOUND, 0);
    Py_DECREF(args);
    return NULL;
}

PyObject *cdb_raise_msg(int code, const char *msg)
{
    PyObject *args = Py_BuildValue("(s)", msg);
    if (args == NULL)
        return NULL;
    raise_with(class_for(code), args, code, 0);
    Py_DECREF(args);
    return NULL;
}

PyObject *cdb_raise_closed(const char *what)
{
    PyObject *args = Py_BuildValue("(s)", what);
    if (args == NULL)
        return NULL;
    raise_with(cdb_ClosedError, args, CELLAR_ECLOSED, 0);
    Py_DECREF(args);
    return NULL;
}

static const char error_doc[] =
    "Base class of every cellardb error (an OSError, as dbm modules' errors are).\n\n"
    "Attributes: code (the code's name, e.g. 'CELLAR_ELOCKED'), number (the negative\n"
    "CELLAR_E* value), errno (the system errno, or None). str(e) is the core's message, which names\n"
    "the file and, for corruption, the page.";

int cdb_errors_init(PyObject *m)
{
    cdb_Error = PyErr_NewExceptionWithDoc("cellardb.error", error_doc, PyExc_OSError, NULL);
    if (cdb_Error == NULL || PyModule_AddObjectRef(m, "error", cdb_Error) < 0)
        return -1;
    if (PyModule_AddObjectRef(m, "Error", cdb_Error) < 0)
        return -1;

    PyObject *codes = PyDict_New();   /* name -> code */
    PyObject *classes = PyDict_New(); /* code -> class */
    if (codes == NULL || classes == NULL)
        goto fail;
    for (int i = 0; i < CDB_NERR; i++) {
        cdb_errrow *row = &cdb_errtab[i];
        PyObject *code = PyLong_FromLong(row->code);
        if (code == NULL || PyDict_SetItemString(codes, row->errname, code) < 0) {
            Py_XDECREF(code);
            goto fail;
        }
        /* The constants CELLAR_ENOTFOUND... on the module too. */
        if (PyModule_AddObjectRef(m, row->errname, code) < 0) {
            Py_DECREF(code);
            goto fail;
        }
        if (row->pyname == NULL) {
            Py_DECREF(code);
            continue;
        }
        char qual[96];
        PyOS_snprintf(qual, sizeof qual, "cellardb.%s", row->pyname);
        char doc[160];
        PyOS_snprintf(doc, sizeof doc, "%s: %s.", row->errname, row->message);
        PyObject *bases = row->extra_base ? PyTuple_Pack(2, cdb_Error, *row->extra_base)
                                          : PyTuple_Pack(1, cdb_Error);
        row->cls = bases ? PyErr_NewExceptionWithDoc(qual, doc, bases, NULL) : NULL;
        Py_XDECREF(bases);
        if (row->cls == NULL || PyModule_AddObjectRef(m, row->pyname, row->cls) < 0 ||
            PyDict_SetItem(classes, code, row->cls) < 0) {
            Py_DECREF(code);
            goto fail;
        }
        Py_DECREF(code);
    }
    cdb_NotFoundError = class_for(CELLAR_ENOTFOUND);
    cdb_ClosedError = class_for(CELLAR_ECLOSED);
    cdb_ConflictError = class_for(CELLAR_ECONFLICT);
    if (PyModule_AddObject(m, "error_codes", codes) < 0)
        goto fail;
    codes = NULL;
    if (PyModule_AddObject(m, "error_classes", classes) < 0)
        goto fail;
    return 0;
fail:
    Py_XDECREF(codes);
    Py_XDECREF(classes);
    return -1;
}
