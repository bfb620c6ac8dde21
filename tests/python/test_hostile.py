"""Hostile use of every public method: wrong types, keys and values over the
limits, bad open flags and options, closed handles, transactions and
iterators; re-entry into the database from inside an iteration and a
transaction; close() racing other threads. Each must give a clear error (and
leave the database as it was), never a crash or a hang."""
import gc
import mmap
import os
import threading
import time

import pytest

import cellardb

BIG_KEY = b"k" * (cellardb.MAX_KEY_SIZE + 1)


def snapshot(db):
    return dict(db.iteritems())


@pytest.fixture
def full(db):
    """The db fixture holding a few records (one with a TTL, one counter)."""
    db.update({b"a": b"1", b"b": b"2", b"n": b"5"})
    db.set(b"t", b"x", ttl=3600)
    return db


# ---- wrong types ----

NOT_BYTES = [1, 1.5, None, object(), [b"a"], {b"a": 1}, True]


def key_calls(db, key):
    """One call per public Database method that takes a key."""
    return {
        "getitem": lambda: db[key], "setitem": lambda: db.__setitem__(key, b"v"),
        "delitem": lambda: db.__delitem__(key), "contains": lambda: key in db,
        "get": lambda: db.get(key), "get_default": lambda: db.get(key, b"d"),
        "set": lambda: db.set(key, b"v"), "set_ttl": lambda: db.set(key, b"v", ttl=5),
        "delete": lambda: db.delete(key), "pop": lambda: db.pop(key),
        "pop_default": lambda: db.pop(key, None), "setdefault": lambda: db.setdefault(key, b"v"),
        "incr": lambda: db.incr(key), "decr": lambda: db.decr(key, 2),
        "cas": lambda: db.cas(key, None, b"v"), "expire": lambda: db.expire(key, 5),
        "ttl": lambda: db.ttl(key), "persist": lambda: db.persist(key),
        "get_many": lambda: db.get_many([b"a", key]), "put_many": lambda: db.put_many([(key, b"v")]),
        "update": lambda: db.update([(b"zz", b"1"), (key, b"v")]),
    }


def txn_key_calls(tx, key):
    """One call per public Transaction method that takes a key."""
    return {
        "getitem": lambda: tx[key], "setitem": lambda: tx.__setitem__(key, b"v"),
        "delitem": lambda: tx.__delitem__(key), "contains": lambda: key in tx,
        "get": lambda: tx.get(key), "set": lambda: tx.set(key, b"v"),
        "set_ttl": lambda: tx.set(key, b"v", ttl=5), "delete": lambda: tx.delete(key),
        "pop": lambda: tx.pop(key, None), "setdefault": lambda: tx.setdefault(key, b"v"),
        "update": lambda: tx.update({key: b"v"}),
    }


@pytest.mark.parametrize("bad", NOT_BYTES, ids=lambda b: type(b).__name__)
def test_wrong_key_type_everywhere(full, bad):
    before = snapshot(full)
    for name, call in key_calls(full, bad).items():
        with pytest.raises(TypeError) as info:
            call()
        assert "key" in str(info.value) or "iterable" in str(info.value), name
    with full.transaction() as tx:
        for name, call in txn_key_calls(tx, bad).items():
            with pytest.raises(TypeError):
                call()
        assert tx.active, "a refused argument does not end the transaction"
    assert snapshot(full) == before


@pytest.mark.parametrize("bad", [1, 1.5, object(), [b"a"], {b"a": 1}, True],
                         ids=lambda b: type(b).__name__)
def test_wrong_value_type_everywhere(full, bad):
    before = snapshot(full)
    for call in [lambda: full.__setitem__(b"a", bad), lambda: full.set(b"a", bad),
                 lambda: full.set(b"a", bad, ttl=1), lambda: full.setdefault(b"new", bad),
                 lambda: full.cas(b"a", b"1", bad), lambda: full.cas(b"a", bad, b"2"),
                 lambda: full.put_many({b"a": bad}), lambda: full.update({b"x": b"1", b"a": bad}),
                 lambda: full.update(a=bad)]:
        with pytest.raises(TypeError):
            call()
    with full.transaction() as tx:
        for call in [lambda: tx.__setitem__(b"a", bad), lambda: tx.set(b"a", bad),
                     lambda: tx.setdefault(b"new", bad), lambda: tx.update({b"a": bad})]:
            with pytest.raises(TypeError):
                call()
    assert snapshot(full) == before


def test_wrong_types_of_other_arguments(full):
    before = snapshot(full)
    for exc, call in [
        (TypeError, lambda: full.incr(b"n", "1")), (TypeError, lambda: full.incr(b"n", 1.5)),
        (TypeError, lambda: full.decr(b"n", None)), (OverflowError, lambda: full.incr(b"n", 2**70)),
        (OverflowError, lambda: full.decr(b"n", -2**63)),
        (TypeError, lambda: full.expire(b"a", "soon")), (ValueError, lambda: full.expire(b"a", -1)),
        (ValueError, lambda: full.expire(b"a", float("nan"))), (TypeError, lambda: full.expire(b"a")),
        (TypeError, lambda: full.set(b"a", b"1", ttl="1")), (ValueError, lambda: full.set(b"a", b"1", ttl=0)),
        (ValueError, lambda: full.set(b"a", b"1", ttl=float("inf"))),
        (TypeError, lambda: full.get_many("ab")), (TypeError, lambda: full.get_many(b"ab")),
        (TypeError, lambda: full.get_many(5)), (TypeError, lambda: full.put_many(5)),
        (ValueError, lambda: full.update([(b"a",)])), (TypeError, lambda: full.update(5)),
        (TypeError, lambda: full.get()), (TypeError, lambda: full.get(b"a", 1, 2)),
        (TypeError, lambda: full.pop()), (TypeError, lambda: full.setdefault()),
        (TypeError, lambda: full.transaction(foo=1)),
        (TypeError, lambda: full.transact(5)), (TypeError, lambda: full.transact(len, retries="3")),
        (ValueError, lambda: full.transact(len, retries=-1)),
        (TypeError, lambda: full.backup(5)), (ValueError, lambda: full.backup("x\0y")),
        (TypeError, lambda: full.dump(None)), (TypeError, lambda: full.load(3.5)),
        (TypeError, lambda: full.compact(progress=5)), (TypeError, lambda: full.check(progress="x")),
        (TypeError, lambda: full.bulk_import(5)), (ValueError, lambda: full.bulk_import({}, batch_size=0)),
        (TypeError, lambda: cellardb.salvage(5, 6)), (TypeError, lambda: cellardb.strerror("x")),
    ]:
        with pytest.raises(exc):
            call()
    assert snapshot(full) == before


# ---- sizes over the limits ----

def test_key_over_the_limit_everywhere(full):
    before = snapshot(full)
    for name, call in key_calls(full, BIG_KEY).items():
        with pytest.raises(cellardb.TooLargeError) as info:
            call()
        assert info.value.code == "CELLAR_ETOOBIG", name
        assert "65537" in str(info.value), name
    with full.transaction() as tx:
        for name, call in txn_key_calls(tx, BIG_KEY).items():
            with pytest.raises(cellardb.TooLargeError):
                call()
        tx[b"fine"] = b"1"  # the transaction goes on
    assert full.pop(b"fine") == b"1"
    assert snapshot(full) == before
    assert full.check(progress=False) == []


def test_value_over_the_limit_everywhere(full):
    """Values over 1 GiB, as a lazily mapped region (no real memory)."""
    before = snapshot(full)
    region = mmap.mmap(-1, cellardb.MAX_VALUE_SIZE + 1)
    try:
        big = memoryview(region)
        for call in [lambda: full.set(b"a", big), lambda: full.set(b"a", big, ttl=9),
                     lambda: full.setdefault(b"new", big), lambda: full.cas(b"a", b"1", big),
                     lambda: full.update({b"x": b"1", b"a": big})]:
            with pytest.raises(cellardb.TooLargeError):
                call()
        with full.transaction() as tx:
            for call in [lambda: tx.set(b"a", big), lambda: tx.setdefault(b"new", big),
                         lambda: tx.update([(b"a", big)])]:
                with pytest.raises(cellardb.TooLargeError):
                    call()
        big.release()
    finally:
        region.close()
    assert snapshot(full) == before


# ---- open flags and options ----

@pytest.mark.parametrize("flag", ["x", "", "rw", "cu", "C", "c ", " c", "cc", "nn", "r\n", "é"])
def test_unknown_flags_refused(path, flag):
    with pytest.raises(cellardb.InvalidArgumentError) as info:
        cellardb.open(path, flag)
    assert "flag" in str(info.value)
    assert not os.path.exists(path)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(sync="sometimes"), ValueError, "sync"), (dict(sync="FULL"), ValueError, "sync"),
    (dict(sync=""), ValueError, "sync"), (dict(sync=1), TypeError, "sync"),
    (dict(sync=b"full"), TypeError, "sync"),
    (dict(cache_size=-1), ValueError, "cache_size"), (dict(cache_size=0), ValueError, "cache_size"),
    (dict(cache_size=2**64), ValueError, "cache_size"), (dict(cache_size=-2**70), ValueError, "cache_size"),
    (dict(cache_size="1MB"), TypeError, "cache_size"), (dict(cache_size=1.5), TypeError, "cache_size"),
    (dict(page_size=1000), ValueError, "page"), (dict(page_size=2**40), ValueError, "page"),
    (dict(page_size=-4096), ValueError, "page"), (dict(page_size="4k"), TypeError, "page"),
    (dict(mode=0), ValueError, "mode"), (dict(mode=-1), ValueError, "mode"),
    (dict(mode=0o10000), ValueError, "mode"), (dict(mode="rw"), TypeError, ""),
    (dict(lock_timeout=-1), ValueError, "lock_timeout"),
    (dict(lock_timeout=float("nan")), ValueError, "lock_timeout"),
    (dict(lock_timeout="1"), TypeError, "lock_timeout"),
    (dict(clock=12), TypeError, "clock"), (dict(clock=cellardb.ManualClock), TypeError, "clock"),
], ids=lambda v: repr(v) if isinstance(v, dict) else None)
def test_bad_options_refused(path, kwargs, exc, words):
    with pytest.raises(exc) as info:
        cellardb.open(path, "c", **kwargs)
    assert words in str(info.value)
    assert not os.path.exists(path), "a refused open creates no file"


def test_bad_open_arguments(path):
    for exc, call in [
        (TypeError, lambda: cellardb.open(path, None)), (TypeError, lambda: cellardb.open(path, 5)),
        (TypeError, lambda: cellardb.open(path, b"c")), (ValueError, lambda: cellardb.open(path, "c\0")),
        (OverflowError, lambda: cellardb.open(path, "c", 2**40)),
        (TypeError, lambda: cellardb.open(path, "c", foo=1)), (TypeError, lambda: cellardb.open(None)),
        (cellardb.InvalidArgumentError, lambda: cellardb.open("")),
        (ValueError, lambda: cellardb.open(path + "\0x")),
        (cellardb.InvalidArgumentError, lambda: cellardb.open(os.path.dirname(path), "c")),
    ]:
        with pytest.raises(exc):
            call()
    assert not os.path.exists(path)


def test_absurd_cache_size_is_a_budget_not_an_allocation(path):
    with cellardb.open(path, "n", cache_size=2**62) as db:
        db[b"a"] = b"1"
        assert db.stats()["cache_capacity"] >= 2**40
    with cellardb.open(path, "w", cache_size=1) as db:  # tiny: the core's minimum applies
        assert db[b"a"] == b"1"


# ---- closed database, transactions, iterators ----

CLOSED_DB_CALLS = {
    "getitem": lambda db: db[b"a"], "setitem": lambda db: db.__setitem__(b"a", b"1"),
    "delitem": lambda db: db.__delitem__(b"a"), "contains": lambda db: b"a" in db,
    "len": len, "iter": lambda db: next(iter(db)), "get": lambda db: db.get(b"a"),
    "set": lambda db: db.set(b"a", b"1", ttl=1), "delete": lambda db: db.delete(b"a"),
    "pop": lambda db: db.pop(b"a", None), "popitem": lambda db: db.popitem(),
    "setdefault": lambda db: db.setdefault(b"a"), "update": lambda db: db.update({b"a": b"1"}),
    "put_many": lambda db: db.put_many([]), "get_many": lambda db: db.get_many([]),
    "clear": lambda db: db.clear(), "keys": lambda db: db.keys(),
    "values": lambda db: list(db.values()), "items": lambda db: list(db.items()),
    "iterkeys": lambda db: db.iterkeys(), "itervalues": lambda db: db.itervalues(),
    "iteritems": lambda db: db.iteritems(), "incr": lambda db: db.incr(b"n"),
    "decr": lambda db: db.decr(b"n"), "cas": lambda db: db.cas(b"a", None, b"1"),
    "expire": lambda db: db.expire(b"a", 1), "ttl": lambda db: db.ttl(b"a"),
    "persist": lambda db: db.persist(b"a"), "stats": lambda db: db.stats(),
    "sync": lambda db: db.sync(), "checkpoint": lambda db: db.checkpoint(),
    "compact": lambda db: db.compact(progress=False), "reorganize": lambda db: db.reorganize(),
    "backup": lambda db: db.backup(db.path + ".bak", progress=False),
    "dump": lambda db: db.dump(db.path + ".dump", progress=False),
    "load": lambda db: db.load(db.path + ".dump", progress=False),
    "check": lambda db: db.check(progress=False), "transaction": lambda db: db.transaction(),
    "transact": lambda db: db.transact(lambda tx: 1),
    "bulk_import": lambda db: db.bulk_import({b"a": b"1"}, progress=False),
    "sample": lambda db: db.sample(), "enter": lambda db: db.__enter__(),
}


@pytest.mark.parametrize("name", sorted(CLOSED_DB_CALLS))
def test_every_method_of_a_closed_db(path, name):
    db = cellardb.open(path, "n")
    db[b"a"] = b"1"
    db.close()
    with pytest.raises(cellardb.ClosedError) as info:
        CLOSED_DB_CALLS[name](db)
    assert info.value.code == "CELLAR_ECLOSED"
    assert "closed" in str(info.value)
    db.close()  # still harmless
    assert "closed" in repr(db) and "closed" in db._repr_html_()
    with cellardb.open(path, "r") as again:  # the file is intact
        assert again[b"a"] == b"1"


TXN_CALLS = {
    "getitem": lambda tx: tx[b"a"], "setitem": lambda tx: tx.__setitem__(b"a", b"2"),
    "delitem": lambda tx: tx.__delitem__(b"a"), "contains": lambda tx: b"a" in tx,
    "get": lambda tx: tx.get(b"a"), "set": lambda tx: tx.set(b"a", b"2"),
    "delete": lambda tx: tx.delete(b"a"), "pop": lambda tx: tx.pop(b"a", None),
    "setdefault": lambda tx: tx.setdefault(b"q"), "update": lambda tx: tx.update({b"a": b"2"}),
    "keys": lambda tx: tx.keys(), "values": lambda tx: tx.values(), "items": lambda tx: tx.items(),
    "len": len, "iter": lambda tx: iter(tx), "popitem": lambda tx: tx.popitem(),
    "clear": lambda tx: tx.clear(), "commit": lambda tx: tx.commit(),
    "enter": lambda tx: tx.__enter__(),
}


@pytest.mark.parametrize("how", ["committed", "rolled back", "db closed"])
@pytest.mark.parametrize("name", sorted(TXN_CALLS))
def test_every_method_of_a_finished_transaction(path, how, name):
    db = cellardb.open(path, "n")
    db[b"a"] = b"1"
    tx = db.transaction()
    tx[b"b"] = b"2"
    if how == "committed":
        tx.commit()
    elif how == "rolled back":
        tx.rollback()
    else:
        db.close()
    with pytest.raises(cellardb.ClosedError):
        TXN_CALLS[name](tx)
    tx.rollback()  # harmless, always
    assert tx.__exit__(None, None, None) is False
    assert not tx.active and "finished" in repr(tx)
    db.close()
    with cellardb.open(path, "r") as again:
        assert dict(again.items()) == ({b"a": b"1", b"b": b"2"} if how == "committed"
                                       else {b"a": b"1"})


def test_exhausted_closed_and_dead_iterators(path):
    db = cellardb.open(path, "n")
    db.update({b"a": b"1", b"b": b"2"})
    for make in [db.iterkeys, db.itervalues, db.iteritems]:
        it = make()
        assert len(list(it)) == 2
        for _ in range(3):
            with pytest.raises(StopIteration):
                next(it)
        it.close()
        it.close()
        it2 = make()
        it2.close()
        with pytest.raises(StopIteration):
            next(it2)
    live = [db.iterkeys(), db.itervalues(), db.iteritems()]
    for it in live:
        next(it)
    db.close()
    for it in live:
        for _ in range(2):
            with pytest.raises(cellardb.ClosedError):
                next(it)
        it.close()
        with pytest.raises(StopIteration):
            next(it)


# ---- re-entry from inside an iteration ----

def test_writes_and_reads_inside_an_iteration(db):
    db.update({b"k%d" % i: b"v" for i in range(300)})
    seen = set()
    for k, v in db.items():
        if k.startswith(b"k"):
            assert k not in seen, "a key present until it is yielded comes once"
            seen.add(k)
            assert db[k] == v
            db[b"new-" + k] = b"x"          # write
            del db[k]                        # delete the current key
            assert db.get(k) is None
            for _ in db.iterkeys():          # a nested iteration
                break
            with db.transaction() as tx:     # a transaction
                tx[b"tx-" + k] = b"y"
    assert seen == {b"k%d" % i for i in range(300)}
    assert not any(k.startswith(b"k") for k in db)
    assert len([k for k in db if k.startswith(b"tx-")]) == 300


def test_maintenance_inside_an_iteration(db, tmp_path):
    db.update({b"k%d" % i: b"v" * (i % 50) for i in range(200)})
    it = db.iteritems()
    next(it)
    db.backup(str(tmp_path / "copy.cdb"), progress=False)
    assert db.check(progress=False) == []
    db.checkpoint()
    db.sync()
    db.stats()
    assert len(list(it)) == 199  # none of these disturb the iteration


def test_compact_inside_an_iteration_ends_it_with_busy_error(db):
    db.update({b"k%d" % i: b"v" for i in range(200)})
    with pytest.raises(cellardb.BusyError) as info:
        for i, _k in enumerate(db):
            if i == 3:
                db.compact(progress=False)
    assert "compacted" in str(info.value)
    assert len(db) == 200 and len(list(db)) == 200  # a new iteration is fine


def test_close_inside_an_iteration(path):
    db = cellardb.open(path, "n")
    db.update({b"k%d" % i: b"v" for i in range(100)})
    with pytest.raises(cellardb.ClosedError):
        for _k in db:
            db.close()
    assert db.closed
    with cellardb.open(path, "r") as again:
        assert len(again) == 100


def test_close_from_a_finalizer_during_an_iteration(path):
    """A garbage-collector callback (or a __del__) that closes the db while
    this very thread is inside a step of an iteration: the step finishes, the
    next one raises ClosedError (close() used to wait forever for the step)."""
    db = cellardb.open(path, "n")
    db.update({b"k%d" % i: b"v" for i in range(50)})
    armed = []

    def on_gc(phase, info):
        if armed and phase == "start":
            armed.clear()
            db.close()

    it = db.iteritems()
    hold = [(i, -i) for i in range(10000)]  # no free 2-tuples: the next pair is a GC allocation
    old = gc.get_threshold()
    gc.callbacks.append(on_gc)
    got = []
    raised = None
    try:
        gc.set_threshold(1)
        armed.append(True)  # nothing below allocates before the first step
        try:
            for pair in it:
                got.append(pair)
        except cellardb.ClosedError as exc:
            raised = exc
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(on_gc)
    del hold
    assert db.closed and isinstance(raised, cellardb.ClosedError)
    assert len(got) >= 1, "the step that ran the collection still returned its pair"


def test_close_from_a_finalizer_during_check_reports(path):
    """check() on a damaged file reports problems through a callback that
    makes Python objects (so may run the garbage collector) while check holds
    the writer lock: a close() from a finalizer then is refused, no hang."""
    with cellardb.open(path, "n") as db:
        db.put_many([(b"k%d" % i, b"v" * 100) for i in range(3000)])
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        for off in (size // 3, size // 2, 2 * size // 3):  # a few pages in the middle
            f.seek(off)
            f.write(b"\xff" * 64)
    try:
        db = cellardb.open(path, "w")
    except cellardb.error:
        pytest.skip("the damage was refused at open")
    refused = []
    armed = []

    def on_gc(phase, info):
        if phase == "start" and armed and not refused:
            try:
                db.close()
                refused.append("closed")
            except RuntimeError as exc:
                refused.append(str(exc))

    check = cellardb._cellardb.Database.check.__get__(db)  # the C method: no Python in between
    hold = [(i, -i) for i in range(10000)]  # no free 2-tuples: each report is a GC allocation
    old = gc.get_threshold()
    gc.callbacks.append(on_gc)
    try:
        gc.set_threshold(1)
        armed.append(True)
        problems = check()
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(on_gc)
    del hold
    assert problems, "the damage was found"
    assert refused and "callback" in refused[0]
    assert not db.closed
    db.close()


# ---- re-entry from inside a transaction ----

def test_db_methods_inside_a_transaction(full):
    with full.transaction() as tx:
        tx[b"tx"] = b"1"
        full[b"direct"] = b"2"                       # commits at once
        assert full.get(b"tx") is None               # tx writes are private
        full.transact(lambda t2: t2.__setitem__(b"nested", b"3"))
        with full.transaction(readonly=True) as ro:  # nested read-only
            assert ro[b"direct"] == b"2"
        assert full.incr(b"n") == 6
        assert len(list(full)) == 6
        assert tx[b"tx"] == b"1"
    assert [full.get(k) for k in (b"tx", b"direct", b"nested")] == [b"1", b"2", b"3"]


def test_maintenance_inside_a_transaction(full, tmp_path):
    """compact/backup/check/checkpoint while a transaction is open: its
    buffered writes still commit where reads find them (compact used to
    rehash the file and lose them)."""
    with full.transaction() as tx:
        tx[b"before"] = b"1"
        full.compact(progress=False)
        full.backup(str(tmp_path / "copy.cdb"), progress=False)
        assert full.check(progress=False) == []
        full.checkpoint()
        assert tx[b"before"] == b"1"                 # its own write, after compact
        tx[b"after"] = b"2"
    assert full[b"before"] == b"1" and full[b"after"] == b"2"
    assert full.check(progress=False) == []
    path = full.path
    full.close()
    with cellardb.open(path, "r") as again:
        assert again[b"before"] == b"1" and again[b"after"] == b"2"


def test_transaction_reading_a_key_the_db_changes_conflicts(full):
    with pytest.raises(cellardb.ConflictError):
        with full.transaction() as tx:
            tx[b"a"] = tx[b"a"] + b"!"
            full[b"a"] = b"changed"                  # a commit after the read
    assert full[b"a"] == b"changed"
    calls = []

    def fn(tx):                                      # transact retries it
        calls.append(1)
        tx[b"a"] = tx[b"a"] + b"!"
        if len(calls) == 1:
            full[b"a"] = b"again"
    full.transact(fn)
    assert full[b"a"] == b"again!" and len(calls) == 2


def test_commit_rollback_and_raise_inside_a_transaction(full):
    with full.transaction() as tx:
        tx[b"c1"] = b"1"
        tx.commit()
        with pytest.raises(cellardb.ClosedError):
            tx[b"c2"] = b"2"
    with full.transaction() as tx:
        tx[b"r1"] = b"1"
        tx.rollback()
    with pytest.raises(KeyError, match="boom"):
        with full.transaction() as tx:
            tx[b"e1"] = b"1"
            raise KeyError("boom")
    assert full.transact(lambda tx: (tx.__setitem__(b"tc", b"1"), tx.commit(), 7)[2]) == 7
    assert [full.get(k) for k in (b"c1", b"c2", b"r1", b"e1", b"tc")] == [b"1", None, None, None, b"1"]
    assert full[b"a"] == b"1"  # usable throughout


def test_close_inside_a_transaction(path):
    db = cellardb.open(path, "n")
    db[b"kept"] = b"1"
    with pytest.raises(cellardb.ClosedError):
        with db.transaction() as tx:
            tx[b"lost"] = b"1"
            db.close()
    db = cellardb.open(path, "w")
    calls = []

    def closer(tx):
        calls.append(1)
        tx[b"lost2"] = b"1"
        db.close()
    with pytest.raises(cellardb.ClosedError):
        db.transact(closer, retries=5)
    assert calls == [1], "ClosedError is not retried"
    with cellardb.open(path, "r") as again:
        assert dict(again.items()) == {b"kept": b"1"}


def test_transaction_used_from_inside_its_own_iteration(full):
    with full.transaction() as tx:
        for k in tx:               # a list snapshot: changing tx meanwhile is fine
            tx[k + b"!"] = b"x"
            del tx[k]
        assert sorted(tx.keys()) == [b"a!", b"b!", b"n!", b"t!"]
        tx.rollback()
    assert sorted(full.keys()) == [b"a", b"b", b"n", b"t"]


# ---- concurrent close ----

def join_all(threads, timeout=60):
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"


@pytest.mark.parametrize("round_", range(3))
def test_close_while_threads_work(path, round_):
    """Threads in get/put/iteration/transactions/batches while another thread
    closes: each gets ClosedError (or finishes), none hangs, and every write
    acknowledged before the close is there after reopening."""
    db = cellardb.open(path, "n")
    db.put_many([(b"base%d" % i, b"v" * 40) for i in range(500)])
    acked = [[] for _ in range(6)]
    errors = []
    go = threading.Barrier(7)

    def worker(i):
        go.wait()
        n = 0
        try:
            while True:
                n += 1
                kind = (i + n) % 6
                if kind == 0:
                    db[b"w%d-%d" % (i, n)] = b"x"
                    acked[i].append(b"w%d-%d" % (i, n))
                elif kind == 1:
                    with db.transaction() as tx:
                        tx[b"t%d-%d" % (i, n)] = tx.get(b"base1", b"")
                    acked[i].append(b"t%d-%d" % (i, n))
                elif kind == 2:
                    for j, _pair in enumerate(db.iteritems()):
                        if j > 50:
                            break
                elif kind == 3:
                    db.put_many([(b"m%d-%d" % (i, n), b"y")])
                    acked[i].append(b"m%d-%d" % (i, n))
                elif kind == 4:
                    db.get_many([b"base1", b"base2"])
                    db.incr(b"counter%d" % i)
                else:
                    assert db.get(b"base7") == b"v" * 40
                    db.pop(b"nothing", None)
        except cellardb.ClosedError:
            pass
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    go.wait()
    while (sum(map(len, acked)) < 20 * (round_ + 1) and not errors
           and any(t.is_alive() for t in threads)):
        threading.Event().wait(0.001)
    db.close()
    join_all(threads)
    if errors:
        raise errors[0]
    with cellardb.open(path, "r") as again:
        missing = [k for keys in acked for k in keys if k not in again]
        assert missing == []
        assert again.check(progress=False) == []


def test_close_while_a_transaction_of_another_thread_is_open(path):
    db = cellardb.open(path, "n")
    began = threading.Event()
    closed = threading.Event()
    result = []

    def user():
        tx = db.transaction()
        tx[b"a"] = b"1"
        began.set()
        closed.wait(30)
        for call in (lambda: tx[b"a"], lambda: tx.__setitem__(b"b", b"2"), tx.commit):
            try:
                call()
                result.append("ok")
            except cellardb.ClosedError:
                result.append("closed")
        tx.rollback()

    t = threading.Thread(target=user)
    t.start()
    began.wait(30)
    db.close()
    closed.set()
    join_all([t])
    assert result == ["closed"] * 3


LONG_TESTS = os.environ.get("CELLAR_LONG_TESTS", "") not in ("", "0")


def test_child_ended_under_a_user_thread(path):
    """A transaction and an iterator ended by this thread (rollback, close,
    or the close of their database) while another thread uses them: the user
    only ever sees ClosedError, or RuntimeError while the other thread is in
    a call (Python's CELLAR_EBUSY); the iterator just ends. Many rounds, as
    in every binding (CELLAR_LONG_TESTS=1: ten times as many)."""
    rounds = 200 if LONG_TESTS else 20
    anchor = cellardb.open(path, "n")  # keeps the file open: the other handles are cheap
    anchor.put_many([(b"k%d" % i, b"v%d" % i) for i in range(200)])
    for round_ in range(rounds):
        db = cellardb.open(path, "w")
        tx = db.transaction()
        it = db.iteritems()
        steps = [0]
        errors = []

        def user():
            i = 0
            while i < 100000:  # ended long before (else the test fails below)
                try:
                    tx[b"t%d-%d" % (round_, i)] = b"1"
                    tx.get(b"k1")
                    next(it, None)
                    steps[0] += 1
                    i += 1
                    time.sleep(0)  # lets the main thread in between calls too
                except RuntimeError as exc:  # the other thread is in a call on tx or it
                    if "one thread" not in str(exc):
                        errors.append(exc)
                        return
                except cellardb.ClosedError:
                    return
                except BaseException as exc:  # re-raised in the test's thread
                    errors.append(exc)
                    return
            errors.append(AssertionError("round %d: the user was never closed out" % round_))

        def retry(end):
            """end() is refused (RuntimeError) while the user is in a call on
            the same object: sleep, so the user runs on to a point where it
            holds the GIL outside any call, and try again."""
            while True:
                try:
                    return end()
                except RuntimeError:
                    time.sleep(0.0002)

        t = threading.Thread(target=user)
        t.start()
        while steps[0] < 1 + round_ % 23 and t.is_alive():
            time.sleep(0)
        if round_ % 3 == 0:
            retry(tx.rollback)
            retry(it.close)
        elif round_ % 3 == 1:
            retry(it.close)
            retry(tx.rollback)
        else:
            db.close()  # waits for the user's call in flight; both children die
        join_all([t])
        if errors:
            raise errors[0]
        retry(tx.rollback)
        db.close()
        assert b"t%d-0" % round_ not in anchor, "an ended transaction wrote"
    assert anchor.check(progress=False) == []
    anchor.close()


def test_compact_while_threads_write(db):
    """compact's swap used to deadlock against writers waiting for the
    writer lock."""
    db.put_many([(b"k%d" % i, b"v" * 64) for i in range(3000)])
    stop = threading.Event()
    errors = []

    def writer(i):
        n = 0
        try:
            while not stop.is_set():
                n += 1
                db[b"w%d-%d" % (i, n % 200)] = b"x" * 30
                if n % 5 == 0:
                    with db.transaction() as tx:
                        tx[b"t%d" % i] = b"%d" % n
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(5):
            db.compact(progress=False)
    finally:
        stop.set()
        join_all(threads)
    if errors:
        raise errors[0]
    assert db.check(progress=False) == []
    assert all(db[b"k%d" % i] == b"v" * 64 for i in range(0, 3000, 101))


def test_iterators_dropped_while_another_thread_closes(path):
    """Iterators freed (by close() or the garbage collector) on one thread
    while the db closes on another: no crash, no leak of the file."""
    for round_ in range(20):
        db = cellardb.open(path, "n" if round_ == 0 else "w")
        if round_ == 0:
            db.put_many([(b"k%d" % i, b"L" * 5000) for i in range(40)])  # values out of line
        its = []
        for _ in range(8):
            it = db.iteritems()
            next(it)
            its.append(it)
        ready = threading.Event()

        def dropper():
            ready.set()
            while its:
                its.pop().close()

        t = threading.Thread(target=dropper)
        t.start()
        ready.wait(30)
        db.close()
        join_all([t])
    with cellardb.open(path, "r") as again:
        assert len(again) == 40 and again.check(progress=False) == []
