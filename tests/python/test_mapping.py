"""The Database as a dbm-compatible MutableMapping of bytes."""
import collections.abc
import dbm
import os
import shelve
import stat

import pytest

import cellardb


def test_module_surface():
    assert cellardb.__version__ == cellardb.core_version
    assert issubclass(cellardb.error, OSError)
    assert cellardb.Error is cellardb.error
    assert cellardb.MAX_KEY_SIZE == 65536
    assert callable(cellardb.open)
    assert "path" in cellardb.open.__doc__ and "flag" in cellardb.open.__doc__
    for name in cellardb.__all__:
        assert hasattr(cellardb, name), name


def test_put_get_basic(db):
    db[b"a"] = b"1"
    assert db[b"a"] == b"1"
    assert db.get(b"a") == b"1"
    assert db.get(b"zz") is None
    assert db.get(b"zz", b"dflt") == b"dflt"
    assert b"a" in db and b"zz" not in db
    assert len(db) == 1


def test_str_is_utf8(db):
    db["clé"] = "välue"
    assert db["clé".encode()] == "välue".encode()
    assert db["clé"] == "välue".encode()
    assert "clé" in db


def test_bytes_like_inputs(db):
    db[bytearray(b"k1")] = bytearray(b"v1")
    db[memoryview(b"k2")] = memoryview(b"v2")
    assert db[b"k1"] == b"v1" and db[b"k2"] == b"v2"
    assert db[memoryview(b"xk1")[1:]] == b"v1"
    assert type(db[b"k1"]) is bytes


@pytest.mark.parametrize("bad", [1, 1.5, None, object(), ["a"], {"a": 1}])
def test_wrong_types_raise_typeerror(db, bad):
    with pytest.raises(TypeError):
        db[bad] = b"v"
    if bad is not None:  # None is a valid default/absent marker in some APIs
        with pytest.raises(TypeError):
            db[b"k"] = bad
    with pytest.raises(TypeError):
        db[bad]
    with pytest.raises(TypeError):
        bad in db  # noqa: B015
    with pytest.raises(TypeError):
        db.get(bad)


def test_non_contiguous_buffer_rejected(db):
    try:
        import array
    except ImportError:  # pragma: no cover
        pytest.skip("no array module")
    mv = memoryview(array.array("b", range(10)))[::2]
    with pytest.raises((TypeError, BufferError, ValueError)):
        db[b"k"] = mv


def test_empty_key_and_value(db):
    db[b""] = b""
    assert db[b""] == b""
    assert b"" in db
    assert len(db) == 1


def test_binary_data_roundtrip(db):
    data = bytes(range(256)) * 3
    db[b"\x00\xff\x00"] = data
    assert db[b"\x00\xff\x00"] == data


def test_large_value_roundtrip(db):
    big = os.urandom(3 * 1024 * 1024 + 17)
    db[b"big"] = big
    assert db[b"big"] == big
    assert db.get(b"big") == big
    db[b"mid"] = b"x" * 300  # just over the binding's small-copy threshold
    assert db[b"mid"] == b"x" * 300


def test_missing_key_is_keyerror(db):
    with pytest.raises(KeyError) as info:
        db[b"nope"]
    assert isinstance(info.value, cellardb.NotFoundError)
    assert isinstance(info.value, cellardb.error)
    assert info.value.args[0] == b"nope"
    assert info.value.code == "CELLAR_ENOTFOUND"
    with pytest.raises(KeyError):
        del db[b"nope"]


def test_delete(db):
    db[b"a"] = b"1"
    del db[b"a"]
    assert b"a" not in db
    assert db.delete(b"a") is False
    db[b"a"] = b"1"
    assert db.delete(b"a") is True


def test_pop_popitem_setdefault(db):
    db[b"a"] = b"1"
    assert db.pop(b"a") == b"1"
    assert db.pop(b"a", None) is None
    with pytest.raises(KeyError):
        db.pop(b"a")
    assert db.setdefault(b"s", b"x") == b"x"
    assert db.setdefault(b"s", b"y") == b"x"
    assert db.setdefault(b"e") == b""
    assert db[b"e"] == b""
    k, v = db.popitem()
    assert (k, v) in [(b"s", b"x"), (b"e", b"")]
    db.popitem()
    with pytest.raises(KeyError):
        db.popitem()


def test_update_forms(db):
    db.update({b"a": b"1"})
    db.update([(b"b", b"2"), [b"c", b"3"]])
    db.update(d="4")
    db.update(((k, v) for k, v in [(b"e", b"5")]))

    class M(collections.abc.Mapping):
        def __getitem__(self, k):
            return {b"f": b"6"}[k]

        def __iter__(self):
            return iter([b"f"])

        def __len__(self):
            return 1

    db.update(M())
    assert dict(db.items()) == {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4", b"e": b"5",
                                b"f": b"6"}
    with pytest.raises(ValueError):
        db.update([(b"x",)])
    with pytest.raises(TypeError):
        db.update([(b"x", 5)])
    assert b"x" not in db  # all or nothing


def test_put_many_get_many(db):
    db.put_many([(b"k%d" % i, b"v%d" % i) for i in range(100)])
    assert len(db) == 100
    got = db.get_many([b"k1", b"nope", b"k99"])
    assert got == [b"v1", None, b"v99"]
    assert db.get_many([b"nope"], default=b"-") == [b"-"]
    assert db.get_many([]) == []
    db.put_many({})


def test_keys_is_list_and_iteration_streams(db):
    for i in range(50):
        db[b"%03d" % i] = b"v"
    keys = db.keys()
    assert isinstance(keys, list)
    assert sorted(keys) == [b"%03d" % i for i in range(50)]
    assert keys[0] in db  # dbm code indexes keys()
    it = iter(db)
    assert isinstance(it, cellardb.Iterator)
    assert sorted(it) == sorted(keys)
    assert sorted(db.values()) == [b"v"] * 50
    assert len(db.items()) == 50
    assert (b"001", b"v") in db.items()
    assert (b"001", b"w") not in db.items()
    assert sorted(dict(db).keys()) == sorted(keys)


def test_iteration_allows_writes(db):
    for i in range(200):
        db[b"k%d" % i] = b"v"
    seen = set()
    for k in db:
        seen.add(k)
        db[k] = b"w"          # overwrite during iteration
        db[b"new" + k] = b"x"  # and insert: weakly consistent, no crash
    assert {b"k%d" % i for i in range(200)} <= seen
    assert all(db[b"k%d" % i] == b"w" for i in range(200))


def test_clear(db):
    for i in range(2500):
        db[b"k%d" % i] = b"v"
    db.clear()
    assert len(db) == 0
    assert list(db) == []


def test_is_mutable_mapping(db):
    assert isinstance(db, collections.abc.MutableMapping)
    assert isinstance(db, cellardb.Database)
    assert db == db and db != object()
    assert hash(db) == hash(db)
    db[b"a"] = b"1"
    assert dict(db) == {b"a": b"1"}


def test_repr_and_properties(db, path):
    db[b"a"] = b"1"
    r = repr(db)
    assert "cellardb.Database" in r and "records=1" in r and path in r
    assert db.path == path and db.flag == "n" and not db.readonly and db.sync_mode == "normal"
    assert not db.closed
    db.close()
    assert db.closed and "closed" in repr(db)


def test_context_manager_closes(path):
    with cellardb.open(path, "c") as db:
        db[b"a"] = b"1"
    assert db.closed
    with pytest.raises(cellardb.ClosedError):
        db[b"a"]


@pytest.mark.parametrize("op", [
    lambda db: db[b"a"], lambda db: db.__setitem__(b"a", b"1"), lambda db: len(db),
    lambda db: b"a" in db, lambda db: db.get(b"a"), lambda db: list(db), lambda db: db.keys(),
    lambda db: db.incr(b"n"), lambda db: db.stats(), lambda db: db.transaction(),
    lambda db: db.sync(), lambda db: db.update({b"a": b"b"}), lambda db: db.get_many([b"a"]),
])
def test_use_after_close_raises_closed(path, op):
    db = cellardb.open(path, "c")
    db.close()
    db.close()  # twice is harmless
    with pytest.raises(cellardb.ClosedError) as info:
        op(db)
    assert info.value.code == "CELLAR_ECLOSED"
    assert isinstance(info.value, ValueError)  # as I/O on a closed file


def test_flags(path):
    with pytest.raises(cellardb.NoSuchFileError) as info:
        cellardb.open(path, "r")
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        cellardb.open(path, "w")
    with cellardb.open(path, "c") as db:
        db[b"a"] = b"1"
    with cellardb.open(path, "w") as db:
        assert db[b"a"] == b"1"
        db[b"b"] = b"2"
    with cellardb.open(path, "r") as db:
        assert db.readonly and len(db) == 2
        with pytest.raises(cellardb.ReadOnlyError):
            db[b"c"] = b"3"
        with pytest.raises(cellardb.ReadOnlyError):
            del db[b"a"]
    with cellardb.open(path, "n") as db:
        assert len(db) == 0
    with cellardb.open(path, "cs") as db:
        assert db.sync_mode == "full"
    with cellardb.open(path, "cf") as db:
        pass


@pytest.mark.parametrize("flag", ["x", "", "rw", "cu", "C"])
def test_bad_flag(path, flag):
    with pytest.raises(ValueError) as info:
        cellardb.open(path, flag)
    assert isinstance(info.value, cellardb.InvalidArgumentError)


def test_bad_options(path):
    with pytest.raises(ValueError):
        cellardb.open(path, "c", sync="sometimes")
    with pytest.raises(ValueError):
        cellardb.open(path, "c", cache_size=-1)
    with pytest.raises(TypeError):
        cellardb.open(path, "c", cache_size="big")
    with pytest.raises(ValueError):
        cellardb.open(path, "c", page_size=1000)
    with pytest.raises(ValueError):
        cellardb.open(path, "c", page_size=12288)
    with pytest.raises(ValueError):
        cellardb.open(path, "c", mode=0)
    with pytest.raises(TypeError):
        cellardb.open(123)
    with pytest.raises(ValueError):
        cellardb.open(path + "\0x")
    with pytest.raises(TypeError):
        cellardb.open(path, "c", clock=12)
    with pytest.raises(ValueError):
        cellardb.open(path, "c", lock_timeout=-1)


def test_path_types(tmp_path):

    p = tmp_path / "p.cdb"
    with cellardb.open(p) as db:
        db[b"a"] = b"1"
    with cellardb.open(str(p).encode(), "r") as db:
        assert db[b"a"] == b"1"
        assert db.path == str(p)


def test_options_accepted(path):
    with cellardb.open(path, "n", cache_size=1 << 20, page_size=8192, sync="off",
                       lock_timeout=0.5) as db:
        db[b"a"] = b"1"
        assert db.stats()["page_size"] == 8192
        assert db.sync_mode == "off"


def test_mode_respects_umask(tmp_path):
    old = os.umask(0o022)
    try:
        p = str(tmp_path / "m.cdb")
        cellardb.open(p, "n", 0o666).close()
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644
        p2 = str(tmp_path / "m2.cdb")
        cellardb.open(p2, "n", 0o600).close()
        assert stat.S_IMODE(os.stat(p2).st_mode) == 0o600
    finally:
        os.umask(old)


def test_not_a_database(tmp_path):
    p = tmp_path / "junk"
    p.write_bytes(b"this is not a cellardb file at all" * 200)
    with pytest.raises((cellardb.NotADatabaseError, cellardb.CorruptError)):
        cellardb.open(str(p), "w")


def test_shelve(path):
    with cellardb.open_shelf(path) as sh:
        sh["config"] = {"a": [1, 2, 3]}
        sh["n"] = 42
    with shelve.Shelf(cellardb.open(path, "r")) as sh:
        assert sh["config"] == {"a": [1, 2, 3]}
        assert sh["n"] == 42
        assert sorted(sh.keys()) == ["config", "n"]


def test_dbm_drop_in(path):
    # Code written for dbm: `except dbm.error` catches cellardb errors (dbm's
    # tuple includes OSError), and keys() is an indexable list.
    with pytest.raises(dbm.error):
        cellardb.open(path, "r")
    db = cellardb.open(path, "c")
    db["a"] = "1"
    try:
        assert db.keys()[0] == b"a"
        assert db.setdefault("b", b"2") == b"2"
    finally:
        db.close()


def test_reopen_persists(path):
    with cellardb.open(path, "n") as db:
        for i in range(1000):
            db[b"k%d" % i] = b"v%d" % i
    with cellardb.open(path, "r") as db:
        assert len(db) == 1000
        assert db[b"k999"] == b"v999"


def test_same_file_twice_in_process(path):
    a = cellardb.open(path, "c")
    b = cellardb.open(path, "c")
    try:
        a[b"x"] = b"1"
        assert b[b"x"] == b"1"
    finally:
        a.close()
    assert b[b"x"] == b"1"  # the shared instance lives while a handle is open
    b.close()


def test_weakref(db):
    import weakref

    r = weakref.ref(db)
    assert r() is db


def test_help_texts():
    for name in ["get", "set", "pop", "update", "put_many", "get_many", "incr", "cas",
                 "expire", "ttl", "persist", "stats", "compact", "backup", "check",
                 "transaction", "close", "keys"]:
        assert getattr(cellardb.Database, name).__doc__, name
    assert cellardb.Database.__doc__ and cellardb.Transaction.__doc__


def test_not_picklable(db):
    import copy
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(db)
    with pytest.raises(TypeError):
        copy.copy(db)
    with db.transaction() as tx:
        with pytest.raises(TypeError):
            pickle.dumps(tx)
    with pytest.raises(TypeError):
        pickle.dumps(iter(db))


def test_iteration_streams_in_constant_memory(db):
    """Iterating items() of 100k records holds one record at a time (Python
    allocations stay tiny), where keys() materializes every key."""
    import tracemalloc

    n = 100_000
    db.bulk_import(((b"key%08d" % i, b"v" * 100) for i in range(n)), progress=False)
    tracemalloc.start()
    try:
        count = 0
        for _k, _v in db.items():
            count += 1
        _, peak_stream = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        keys = db.keys()
        _, peak_list = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n and len(keys) == n
    assert peak_stream < 256 * 1024, peak_stream
    assert peak_list > 10 * peak_stream
