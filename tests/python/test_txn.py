"""Transactions: context manager, commit / rollback, conflicts, transact()."""
import threading

import pytest

import cellardb


def test_commit_on_exit(db):
    with db.transaction() as tx:
        tx[b"a"] = b"1"
        tx["b"] = "2"
        assert tx[b"a"] == b"1"          # reads see own writes
        assert b"a" not in db            # invisible outside until commit
        assert tx.active
    assert not tx.active
    assert db[b"a"] == b"1" and db[b"b"] == b"2"


def test_rollback_on_exception(db):
    db[b"keep"] = b"0"
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            tx[b"a"] = b"1"
            del tx[b"keep"]
            raise RuntimeError("boom")
    assert b"a" not in db and db[b"keep"] == b"0"


def test_explicit_commit_and_rollback(db):
    tx = db.transaction()
    tx[b"a"] = b"1"
    tx.commit()
    assert db[b"a"] == b"1"
    tx2 = db.transaction()
    tx2[b"a"] = b"2"
    tx2.rollback()
    tx2.rollback()  # harmless
    assert db[b"a"] == b"1"
    with pytest.raises(cellardb.ClosedError):
        tx2[b"x"] = b"1"
    with pytest.raises(cellardb.ClosedError):
        tx.commit()


def test_commit_inside_with_block(db):
    with db.transaction() as tx:
        tx[b"a"] = b"1"
        tx.commit()
    assert db[b"a"] == b"1"


def test_mapping_api(db):
    db[b"x"] = b"1"
    with db.transaction() as tx:
        assert tx.get(b"x") == b"1"
        assert tx.get(b"nope") is None and tx.get(b"nope", b"d") == b"d"
        assert b"x" in tx and b"nope" not in tx
        with pytest.raises(KeyError):
            tx[b"nope"]
        with pytest.raises(KeyError):
            del tx[b"nope"]
        assert tx.delete(b"nope") is False
        assert tx.pop(b"x") == b"1"
        assert tx.pop(b"x", None) is None
        assert tx.setdefault(b"s", b"v") == b"v"
        assert tx.setdefault(b"s", b"w") == b"v"
        assert tx.setdefault(b"t", "str") == b"str"
        tx.update({b"u": b"1"}, w=b"2")
        tx.update([(b"v", b"3")])
        tx.set(b"ttl", b"x", ttl=100)
    assert b"x" not in db
    assert db[b"s"] == b"v" and db[b"u"] == b"1" and db[b"w"] == b"2" and db[b"v"] == b"3"
    assert 0 < db.ttl(b"ttl") <= 100


def test_types_in_transaction(db):
    with db.transaction() as tx:
        with pytest.raises(TypeError):
            tx[1] = b"x"
        with pytest.raises(TypeError):
            tx[b"k"] = 1.5
        tx[bytearray(b"k")] = memoryview(b"v")
    assert db[b"k"] == b"v"


def test_conflict(db):
    db[b"n"] = b"0"
    t1 = db.transaction()
    t2 = db.transaction()
    v1 = t1[b"n"]
    v2 = t2[b"n"]
    t1[b"n"] = b"%d" % (int(v1) + 1)
    t2[b"n"] = b"%d" % (int(v2) + 1)
    t1.commit()
    with pytest.raises(cellardb.ConflictError) as info:
        t2.commit()
    assert info.value.code == "CELLAR_ECONFLICT"
    assert not t2.active
    assert db[b"n"] == b"1"


def test_conflict_in_with_block_raises(db):
    db[b"n"] = b"0"
    with pytest.raises(cellardb.ConflictError):
        with db.transaction() as tx:
            tx[b"n"]
            db[b"n"] = b"other"   # another commit changes what tx read
            tx[b"n"] = b"mine"
    assert db[b"n"] == b"other"


def test_transact_retries(db):
    db[b"n"] = b"0"
    calls = []

    def bump(tx):
        calls.append(1)
        n = int(tx[b"n"])
        if len(calls) == 1:
            db[b"n"] = b"10"  # make the first attempt conflict
        tx[b"n"] = str(n + 1)
        return n + 1

    assert db.transact(bump) == 11
    assert len(calls) == 2
    assert db[b"n"] == b"11"


def test_transact_gives_up(db):
    db[b"n"] = b"0"

    def always_conflicts(tx):
        tx[b"n"]
        db[b"n"] = b"x"
        tx[b"n"] = b"y"

    with pytest.raises(cellardb.ConflictError):
        db.transact(always_conflicts, retries=2)
    with pytest.raises(ValueError):
        db.transact(always_conflicts, retries=-1)


def test_transact_other_exception_not_retried(db):
    calls = []

    def fail(tx):
        calls.append(1)
        tx[b"a"] = b"1"
        raise KeyError("mine")

    with pytest.raises(KeyError):
        db.transact(fail)
    assert calls == [1] and b"a" not in db


def test_threads_incrementing_with_transact(db):
    db[b"n"] = b"0"

    def worker():
        for _ in range(50):
            db.transact(lambda tx: tx.__setitem__(b"n", b"%d" % (int(tx[b"n"]) + 1)),
                        retries=1000)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db[b"n"] == b"200"


def test_readonly_transaction(db):
    db[b"a"] = b"1"
    with db.transaction(readonly=True) as tx:
        assert tx.readonly
        assert tx[b"a"] == b"1"
        with pytest.raises(cellardb.ReadOnlyError):
            tx[b"b"] = b"2"


def test_write_transaction_on_readonly_db(path):
    cellardb.open(path, "n").close()
    with cellardb.open(path, "r") as db:
        with pytest.raises(cellardb.ReadOnlyError):
            db.transaction()
        with db.transaction(readonly=True) as tx:
            assert b"x" not in tx


def test_transaction_after_db_close(path):
    db = cellardb.open(path, "n")
    tx = db.transaction()
    tx[b"a"] = b"1"
    db.close()
    with pytest.raises(cellardb.ClosedError):
        tx[b"b"]
    with pytest.raises(cellardb.ClosedError):
        tx.commit()
    tx.rollback()  # harmless
    with cellardb.open(path, "r") as db2:
        assert b"a" not in db2


def test_transaction_dropped_without_commit(db):
    tx = db.transaction()
    tx[b"a"] = b"1"
    del tx  # garbage collected: rolled back
    assert b"a" not in db


def test_transaction_keeps_db_alive(path):
    tx = cellardb.open(path, "n").transaction()
    tx[b"a"] = b"1"
    tx.commit()
    db = tx.db
    assert db[b"a"] == b"1"
    db.close()


def test_transaction_whole_mapping_api(db):
    db.update({b"a": b"1", b"b": b"2", b"c": b"3"})
    with db.transaction() as tx:
        tx[b"d"] = b"4"          # new
        tx[b"a"] = b"one"        # overwritten
        del tx[b"b"]             # deleted
        assert tx.delete(b"zz") is False
        assert sorted(tx.keys()) == [b"a", b"c", b"d"]
        assert sorted(tx) == [b"a", b"c", b"d"]
        assert len(tx) == 3
        assert sorted(tx.items()) == [(b"a", b"one"), (b"c", b"3"), (b"d", b"4")]
        assert sorted(tx.values()) == [b"3", b"4", b"one"]
        assert dict(tx) == {b"a": b"one", b"c": b"3", b"d": b"4"}
        assert sorted(db.keys()) == [b"a", b"b", b"c"]   # outside: unchanged
        assert len(db) == 3
        tx[b"b"] = b"back"
        assert len(tx) == 4
        assert "Transaction" in repr(tx)
    assert dict(db.items()) == {b"a": b"one", b"b": b"back", b"c": b"3", b"d": b"4"}
    tx2 = db.transaction()
    tx2.rollback()
    with pytest.raises(cellardb.ClosedError):
        tx2.keys()
    with pytest.raises(cellardb.ClosedError):
        len(tx2)


def test_transaction_popitem_clear_abc(db):
    import collections.abc

    db.update({b"a": b"1", b"b": b"2"})
    with db.transaction() as tx:
        assert isinstance(tx, collections.abc.MutableMapping)
        k, v = tx.popitem()
        assert db[k] == v and k not in tx
        tx[b"n"] = b"new"
        tx.clear()
        assert len(tx) == 0 and tx.keys() == []
        with pytest.raises(KeyError):
            tx.popitem()
        assert len(db) == 2
    assert len(db) == 0


def test_transaction_values_are_reads(db):
    db[b"k"] = b"0"
    with pytest.raises(cellardb.ConflictError):
        with db.transaction() as tx:
            list(tx.items())     # reads k through the transaction
            db[b"k"] = b"changed"
            tx[b"other"] = b"x"


def test_large_transaction(db):
    with db.transaction() as tx:
        for i in range(5000):
            tx[b"k%d" % i] = b"v" * 50
    assert len(db) == 5000
