"""Counters, compare-and-swap and TTLs (with a ManualClock: no waiting)."""
import pytest

import cellardb


@pytest.fixture
def cdb(path, clock):
    d = cellardb.open(path, "n", clock=clock)
    yield d
    d.close()


def test_incr_decr(db):
    assert db.incr(b"n") == 1
    assert db.incr(b"n", 10) == 11
    assert db.incr(b"n", delta=-1) == 10
    assert db.decr(b"n") == 9
    assert db.decr(b"n", 20) == -11
    assert db[b"n"] == b"-11"
    db[b"s"] = b"42"
    assert db.incr("s") == 43


def test_incr_errors(db):
    db[b"t"] = b"hello"
    with pytest.raises(cellardb.NotANumberError) as info:
        db.incr(b"t")
    assert isinstance(info.value, ValueError)
    assert info.value.code == "CELLAR_ENAN"
    db[b"big"] = b"9223372036854775807"
    with pytest.raises(cellardb.IntegerOverflowError) as info:
        db.incr(b"big")
    assert isinstance(info.value, OverflowError)
    assert db[b"big"] == b"9223372036854775807"
    with pytest.raises(OverflowError):
        db.incr(b"n", 2 ** 64)
    with pytest.raises(TypeError):
        db.incr(b"n", "1")
    with pytest.raises(OverflowError):
        db.decr(b"n", -(2 ** 63))


def test_cas(db):
    assert db.cas(b"k", None, b"v1") is True       # only if absent
    assert db.cas(b"k", None, b"v2") is False
    assert db.cas(b"k", b"v1", b"v2") is True
    assert db.cas(b"k", b"v1", b"v3") is False
    assert db[b"k"] == b"v2"
    assert db.cas(b"k", "v2", None) is True         # delete
    assert b"k" not in db
    with pytest.raises(TypeError):
        db.cas(b"k", 1, b"x")


def test_ttl_with_manual_clock(cdb, clock):
    cdb.set(b"k", b"v", ttl=10)
    assert cdb.ttl(b"k") == pytest.approx(10.0)
    clock.advance(4000)
    assert cdb.ttl(b"k") == pytest.approx(6.0)
    assert cdb[b"k"] == b"v"
    clock.advance(6000)
    assert b"k" not in cdb
    with pytest.raises(KeyError):
        cdb[b"k"]
    with pytest.raises(KeyError):
        cdb.ttl(b"k")


def test_expire_persist(cdb, clock):
    cdb[b"k"] = b"v"
    assert cdb.ttl(b"k") is None
    assert cdb.expire(b"k", 2.5) is True
    assert cdb.ttl(b"k") == pytest.approx(2.5)
    assert cdb.persist(b"k") is True
    assert cdb.ttl(b"k") is None
    clock.advance(10_000)
    assert cdb[b"k"] == b"v"
    assert cdb.expire(b"nope", 1) is False
    assert cdb.persist(b"nope") is False
    assert cdb.expire(b"k", 0) is True
    assert b"k" not in cdb


def test_put_clears_ttl_incr_keeps_it(cdb, clock):
    cdb.set(b"k", b"1", ttl=5)
    cdb.incr(b"k")
    assert cdb.ttl(b"k") == pytest.approx(5.0)
    cdb[b"k"] = b"1"
    assert cdb.ttl(b"k") is None


def test_expired_keys_vanish_everywhere(cdb, clock):
    cdb.set(b"a", b"1", ttl=1)
    cdb[b"b"] = b"2"
    clock.advance(1000)
    assert len(cdb) == 1
    assert list(cdb) == [b"b"]
    assert cdb.get_many([b"a", b"b"]) == [None, b"2"]


def test_ttl_bad_values(db):
    with pytest.raises(ValueError):
        db.set(b"k", b"v", ttl=-1)
    with pytest.raises(ValueError):
        db.set(b"k", b"v", ttl=0)
    with pytest.raises(ValueError):
        db.set(b"k", b"v", ttl=float("nan"))
    with pytest.raises(TypeError):
        db.set(b"k", b"v", ttl="1")
    db[b"k"] = b"v"
    with pytest.raises(ValueError):
        db.expire(b"k", -5)


def test_ttl_survives_reopen(path, clock):
    with cellardb.open(path, "n", clock=clock) as db:
        db.set(b"k", b"v", ttl=3)
    with cellardb.open(path, "r", clock=clock) as db:
        assert db.ttl(b"k") == pytest.approx(3.0)
        clock.advance(3000)
        assert b"k" not in db


def test_manual_clock():
    c = cellardb.ManualClock(5)
    assert c.now_ms == 5
    assert c.advance(10) == 15
    c.now_ms = 100
    assert c.now_ms == 100
    assert "100" in repr(c)
    with pytest.raises(ValueError):
        c.advance(-1)
    with pytest.raises(ValueError):
        cellardb.ManualClock(-3)
    assert cellardb.ManualClock().now_ms == 1_700_000_000_000
