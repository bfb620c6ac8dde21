"""A short run through every data path of the Python binding, for valgrind
memcheck (ctest python_memcheck, and tests/python/sanitize.sh valgrind).
Not a pytest file: the calls themselves are the checks, and any exception
fails the run. Run with PYTHONMALLOC=malloc so that every object the binding
makes is a malloc block memcheck can see."""
import gc
import os
import shutil
import sys
import tempfile

import cellardb


def expect(exc, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc:
        return
    raise AssertionError(f"{fn!r}{args} did not raise {exc.__name__}")


def argument_refcounts(db):
    """Calls must not keep a reference to their arguments: such a leak is an
    object the interpreter made, with no cellardb frame for memcheck to see."""
    key, val, other, default = b"ref-key", b"ref-value" * 50, b"ref-other", object()
    keys, pairs = [key, b"zz"], {key: val}

    def progress(done, total):
        return None

    objs = [key, val, other, default, keys, pairs, progress]
    before = [sys.getrefcount(o) for o in objs]
    for _ in range(5):
        db[key] = val
        db[key], db.get(key), db.get(b"zz", default), key in db
        db.get_many(keys), db.update(pairs), db.put_many(pairs.items())
        db.cas(key, val, other), db.cas(key, other, val), db.set(key, val, ttl=100)
        db.setdefault(key, other), db.pop(key), db.pop(key, default)
        with db.transaction() as tx:
            tx[key] = val
            tx.get(key), tx.get(b"zz", default), tx.pop(key), tx.setdefault(key, val)
        db.check(progress=progress)
    del tx
    assert [sys.getrefcount(o) for o in objs] == before, "a call kept a reference"


def open_fds():
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def work(p):
    clock = cellardb.ManualClock()
    db = cellardb.open(p, "n", clock=clock, cache_size=1 << 20)
    # writes: small, out-of-line (larger than a page) and str values
    db.update({b"k%d" % i: b"v" * (i * 37 % 6000) for i in range(300)})
    db["s"] = "text"
    db.set(b"t", b"x", ttl=5)
    db.put_many([(b"p1", b"1"), (b"p2", b"2" * 9000)])
    db.update(kw=b"arg")
    # reads
    assert db[b"k1"] == b"v" * 37 and db.get(b"zz") is None and b"k2" in db
    assert len(db.get_many([b"k1", b"zz", b"p2"])) == 3
    for k in db:
        db[k]
    list(db.items()), db.keys(), list(db.values())
    list(db.iterkeys()), list(db.itervalues()), list(db.iteritems())
    # counters, compare-and-swap, TTLs
    db.incr(b"n"), db.decr(b"n", 3), db.cas(b"n", b"-2", b"5"), db.cas(b"n", b"0", b"6")
    db.ttl(b"t"), db.expire(b"t", 1), db.persist(b"t"), db.expire(b"zz", 1)
    db.set(b"gone", b"x", ttl=1)
    clock.advance(5000)
    assert db.get(b"gone") is None
    # deletes
    del db[b"k5"]
    db.delete(b"k6"), db.delete(b"zz"), db.pop(b"k4"), db.pop(b"zz", None)
    db.popitem(), db.setdefault(b"sd", b"v")
    # errors
    expect(KeyError, db.__getitem__, b"nope")
    expect(KeyError, db.__delitem__, b"nope")
    expect(TypeError, db.__getitem__, 1)
    expect(cellardb.TooLargeError, db.__setitem__, b"k" * 70000, b"v")
    db[b"word"] = b"not a number"
    expect(cellardb.NotANumberError, db.incr, b"word")
    argument_refcounts(db)
    # transactions: commit, rollback on exception, explicit, abandoned
    with db.transaction() as tx:
        tx[b"a"] = b"1"
        tx.get(b"k2"), tx.get(b"zz"), b"a" in tx
        tx[b"k3"] = b"w"
        del tx[b"k3"]
        len(tx), tx.keys(), tx.items(), tx.values(), list(tx)
        tx.update({b"tu": b"1"}), tx.setdefault(b"td", b"2"), tx.pop(b"tu")
    try:
        with db.transaction() as tx:
            tx[b"rolled"] = b"back"
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    tx = db.transaction()
    tx[b"x"] = b"y"
    tx.commit()
    expect(cellardb.ClosedError, tx.__setitem__, b"after", b"commit")
    db.transaction().rollback()
    db.transaction(readonly=True).get(b"a")
    db.transact(lambda t: t.get(b"a"))
    # a conflict: tx1 read a key that a later commit changed
    tx1 = db.transaction()
    tx1.get(b"a")
    db[b"a"] = b"2"
    tx1[b"b"] = b"3"
    expect(cellardb.ConflictError, tx1.commit)
    abandoned = db.transaction()
    abandoned[b"x"] = b"y"
    del abandoned
    # maintenance, with and without progress callbacks
    db.stats(), db.sync(), db.checkpoint()
    db.check(progress=False)
    db.compact(progress=lambda done, total: None)
    expect(cellardb.CanceledError, db.compact, progress=lambda done, total: True)

    def boom(done, total):
        raise ZeroDivisionError("from the progress callback")
    expect(ZeroDivisionError, db.check, progress=boom)
    db.backup(p + ".bak")
    db.dump(p + ".dump")
    db.load(p + ".dump")
    db.bulk_import([(b"b%d" % i, b"v") for i in range(50)], batch_size=16)
    repr(db), db._repr_html_(), db.sample(3)
    # a second handle on the same file shares the open database
    with cellardb.open(p) as again:
        again.get(b"k1")
    # an iterator still open when the db closes, then used
    it = iter(db)
    next(it)
    open_it = db.iteritems()
    next(open_it)
    db.clear()
    db.close()
    db.close()
    expect(cellardb.ClosedError, next, it)
    expect(cellardb.ClosedError, db.__getitem__, b"k1")
    del it, open_it
    # open errors, read-only errors
    expect(cellardb.NoSuchFileError, cellardb.open, p + ".none", "r")
    expect(cellardb.NotADatabaseError, cellardb.open, p + ".dump", "w")
    ro = cellardb.open(p + ".bak", "r")
    ro.get(b"k1")
    expect(cellardb.ReadOnlyError, ro.__setitem__, b"a", b"b")
    ro.close()
    cellardb.salvage(p + ".bak", p + ".salv")
    # handles nobody closed: collected with a transaction and an iterator
    # open, they close the file
    fds = open_fds()
    forgotten = cellardb.open(p + ".forgotten")
    forgotten[b"a"] = b"b"
    ftx = forgotten.transaction()
    ftx[b"c"] = b"d"
    fit = iter(forgotten)
    next(fit)
    del forgotten, ftx, fit
    gc.collect()
    assert open_fds() == fds, "the forgotten db was not closed when collected"


d = tempfile.mkdtemp(prefix="cellardb-memcheck-")
try:
    for _round in range(2):
        work(os.path.join(d, "v%d.cdb" % _round))
finally:
    shutil.rmtree(d)
gc.collect()
print("valgrind_smoke: done")
