/*
 * clock.c - cellardb.ManualClock: a clock for TTL tests that moves only when
 * told to (the conformance suite's fake clock; handy for users' tests too).
 *
 *     clock = cellardb.ManualClock(1_700_000_000_000)
 *     db = cellardb.open(path, clock=clock)
 *     db.set("k", "v", ttl=1.0); clock.advance(1000)   # now "k" is expired
 *
 * The core reads the clock from any thread without the GIL, so the time lives
 * in an atomic cell outside the Python object. Cells are never freed: the same
 * file opened twice in one process shares one core instance, which may keep
 * calling the clock of the first open after that Database (and even the
 * ManualClock) is gone. A cell is 8 bytes and they stay reachable from a list.
 */
#include "cellardb_py.h"

#include <stdatomic.h>

typedef struct cdb_clock_cell {
    _Atomic uint64_t now_ms;
    struct cdb_clock_cell *next;
} cdb_clock_cell;

static cdb_clock_cell *all_cells; /* modified under the GIL */

typedef struct {
    PyObject_HEAD
    cdb_clock_cell *cell;
} cdb_ManualClock;

static uint64_t manual_clock_fn(void *payload)
{
    cdb_clock_cell *cell = payload;
    return atomic_load_explicit(&cell->now_ms, memory_order_acquire);
}

int cdb_clock_install(PyObject *obj, cellar_options *opts)
{
    if (obj == NULL || obj == Py_None)
        return 0;
    if (!PyObject_TypeCheck(obj, &cdb_ManualClockType)) {
        PyErr_SetString(PyExc_TypeError, "clock must be None or a cellardb.ManualClock");
        return -1;
    }
    opts->clock = manual_clock_fn;
    opts->clock_payload = ((cdb_ManualClock *)obj)->cell;
    return 0;
}

static int parse_ms(PyObject *obj, uint64_t *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError) || PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "milliseconds must be an int >= 0");
        }
        return -1;
    }
    *out = v;
    return 0;
}

static PyObject *clock_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"now_ms", NULL};
    PyObject *now = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:ManualClock", kwlist, &now))
        return NULL;
    uint64_t start = 1700000000000ULL;
    if (now && parse_ms(now, &start) < 0)
        return NULL;
    cdb_clock_cell *cell = PyMem_RawCalloc(1, sizeof *cell);
    if (cell == NULL)
        return PyErr_NoMemory();
    atomic_store(&cell->now_ms, start);
    cell->next = all_cells;
    all_cells = cell;
    cdb_ManualClock *self = (cdb_ManualClock *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->cell = cell;
    return (PyObject *)self;
}

static PyObject *clock_advance(cdb_ManualClock *self, PyObject *arg)
{
    uint64_t ms;
    if (parse_ms(arg, &ms) < 0)
        return NULL;
    uint64_t now = atomic_fetch_add(&self->cell->now_ms, ms) + ms;
    return PyLong_FromUnsignedLongLong(now);
}

static PyObject *clock_get_now(cdb_ManualClock *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLongLong(manual_clock_fn(self->cell));
}

static int clock_set_now(cdb_ManualClock *self, PyObject *value, void *c)
{
    (void)c;
    uint64_t ms;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete now_ms");
        return -1;
    }
    if (parse_ms(value, &ms) < 0)
        return -1;
    atomic_store(&self->cell->now_ms, ms);
    return 0;
}

static PyObject *clock_repr(cdb_ManualClock *self)
{
    return PyUnicode_FromFormat("cellardb.ManualClock(%llu)",
                                (unsigned long long)manual_clock_fn(self->cell));
}

static PyMethodDef clock_methods[] = {
    {"advance", (PyCFunction)clock_advance, METH_O,
     "advance($self, ms, /)\n--\n\nMove the clock forward by ms milliseconds; returns the new time."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef clock_getset[] = {
    {"now_ms", (getter)clock_get_now, (setter)clock_set_now,
     "The clock's time in milliseconds since the epoch.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject cdb_ManualClockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cellardb.ManualClock",
    .tp_basicsize = sizeof(cdb_ManualClock),
    .tp_repr = (reprfunc)clock_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "ManualClock(now_ms=1700000000000)\n--\n\n"
              "A clock for TTLs that moves only by advance(ms) or by setting now_ms.\n"
              "Pass it as open(..., clock=...) to test expiry without waiting.",
    .tp_methods = clock_methods,
    .tp_getset = clock_getset,
    .tp_new = clock_new,
};
