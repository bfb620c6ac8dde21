"""The error table, and hostile input: wrong types, huge keys, closed handles,
re-entry, corrupt files (issue 9's binding part)."""
import os
import re

import pytest

import cellardb
from conftest import REPO


def header_codes():
    """(NAME, value) of every code in the core's CELLAR_ERROR_LIST."""
    with open(os.path.join(REPO, "core", "include", "cellardb.h"), encoding="utf-8") as f:
        text = f.read()
    return [(m.group(1), int(m.group(2))) for m in re.finditer(r"X\((\w+), (-?\d+), \"", text)]


def test_every_core_code_has_a_class():
    codes = header_codes()
    assert len(codes) >= 20
    for name, value in codes:
        assert cellardb.error_codes["CELLAR_" + name] == value
        assert getattr(cellardb, "CELLAR_" + name, value) == value
        if value == 0:
            continue
        cls = cellardb.error_classes[value]
        assert issubclass(cls, cellardb.error) and issubclass(cls, OSError)
        assert cls.__module__ == "cellardb"
        assert cls.__doc__.startswith("CELLAR_" + name)


def test_class_bases():
    assert issubclass(cellardb.NotFoundError, KeyError)
    assert issubclass(cellardb.TooLargeError, ValueError)
    assert issubclass(cellardb.InvalidArgumentError, ValueError)
    assert issubclass(cellardb.NoSuchFileError, FileNotFoundError)
    assert issubclass(cellardb.AccessError, PermissionError)
    assert issubclass(cellardb.NoMemoryError, MemoryError)
    assert issubclass(cellardb.IntegerOverflowError, OverflowError)
    for cls in [cellardb.LockedError, cellardb.CorruptError, cellardb.ReadOnlyError,
                cellardb.ConflictError, cellardb.ClosedError]:
        assert issubclass(cls, cellardb.error)


def test_strerror():
    assert cellardb.strerror(-1) == "key not found"
    assert cellardb.strerror(12345) == "unknown error"


def test_key_too_large(db):
    big = b"k" * (cellardb.MAX_KEY_SIZE + 1)
    ok = b"k" * cellardb.MAX_KEY_SIZE
    db[ok] = b"v"
    assert db[ok] == b"v"
    for op in [lambda: db.__setitem__(big, b"v"), lambda: db[big], lambda: big in db,
               lambda: db.get(big), lambda: db.__delitem__(big), lambda: db.incr(big),
               lambda: db.set(big, b"v", ttl=5), lambda: db.put_many([(big, b"v")])]:
        with pytest.raises(cellardb.TooLargeError) as info:
            op()
        assert info.value.code == "CELLAR_ETOOBIG"
        assert isinstance(info.value, ValueError)
    with db.transaction() as tx:
        with pytest.raises(cellardb.TooLargeError):
            tx[big] = b"v"


def test_error_attributes(path):
    with pytest.raises(cellardb.error) as info:
        cellardb.open(path, "r")
    e = info.value
    assert e.code == "CELLAR_ENOENT" and e.number == -18
    assert path in str(e) or "no such file" in str(e).lower()


def test_locked_across_processes(path):
    import subprocess
    import sys

    from conftest import child_env

    cellardb.open(path, "n").close()
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import cellardb, sys, time; db = cellardb.open(sys.argv[1], 'w'); "
         "print('ready', flush=True); sys.stdin.readline()", path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env(), text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(cellardb.LockedError) as info:
            cellardb.open(path, "w")
        assert info.value.code == "CELLAR_ELOCKED"
        assert "lock" in str(info.value).lower()
        with pytest.raises(cellardb.LockedError):
            cellardb.open(path, "r")
    finally:
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(timeout=30)
    with cellardb.open(path, "w") as db:  # free again
        assert len(db) == 0


def test_fork_refused(path):
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    db = cellardb.open(path, "n")
    db[b"a"] = b"1"
    pid = os.fork()
    if pid == 0:  # child: every use must raise ForkError, and exit must not touch the file
        code = 1
        try:
            db[b"a"]
        except cellardb.ForkError:
            code = 0
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    db[b"b"] = b"2"   # the parent's handle still works
    assert db[b"a"] == b"1"
    db.close()


def corrupt_copy(src, dest, offset, nbytes=64):
    with open(src, "rb") as f:
        data = bytearray(f.read())
    for i in range(offset, min(offset + nbytes, len(data))):
        data[i] ^= 0x5A
    with open(dest, "wb") as f:
        f.write(data)


def test_corrupt_file_gives_clean_errors(path, tmp_path):
    with cellardb.open(path, "n") as db:
        db.put_many([(b"k%d" % i, b"v" * 200) for i in range(2000)])
    size = os.path.getsize(path)
    assert size > 3 * 4096
    for offset in [0, 100, 4096 + 50, size // 2, size - 200]:
        bad = str(tmp_path / f"bad{offset}.cdb")
        corrupt_copy(path, bad, offset)
        try:
            db = cellardb.open(bad, "w")
        except cellardb.error:
            continue  # refused at open: fine
        try:
            problems = db.check(progress=False)
            try:
                for _k, _v in db.items():
                    pass
                for i in range(0, 2000, 97):
                    db.get(b"k%d" % i)
            except cellardb.error:
                pass
            assert isinstance(problems, list)
        finally:
            try:
                db.close()
            except cellardb.error:
                pass


def test_random_junk_files(tmp_path):
    import random

    rnd = random.Random(7)
    for i in range(20):
        p = tmp_path / f"junk{i}"
        p.write_bytes(bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 10, 4096, 9000]))))
        try:
            with cellardb.open(str(p), "r") as db:
                list(db.items())
        except cellardb.error:
            pass


def test_recursion_from_iteration_is_fine(db):
    db.update({b"a": b"1", b"b": b"2"})
    for k in db:
        for k2 in db:           # nested iteration
            db.get(k2)
        with db.transaction() as tx:   # a transaction inside an iteration
            tx[k + b"!"] = b"x"
    assert db[b"a!"] == b"x"


def test_iterator_used_after_close(path):
    db = cellardb.open(path, "n")
    db.update({b"a": b"1", b"b": b"2"})
    it = iter(db)
    next(it)
    db.close()
    with pytest.raises(cellardb.ClosedError):
        next(it)
    it.close()
    del it


def test_iterator_close_and_exhaust(db):
    db.update({b"a": b"1"})
    it = db.iteritems()
    assert next(it) == (b"a", b"1")
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(StopIteration):
        next(it)
    it2 = db.itervalues()
    it2.close()
    with pytest.raises(StopIteration):
        next(it2)
    assert "Iterator" in repr(it2)


def test_subclass_and_init_misuse(path):
    db = cellardb.open(path, "n")
    with pytest.raises(RuntimeError):
        db.__init__(path)
    db.close()
    raw = cellardb.Database.__new__(cellardb.Database)
    with pytest.raises(cellardb.ClosedError):
        raw[b"a"]
    assert "closed" in repr(raw)
    with pytest.raises(TypeError):
        cellardb.Transaction()
    with pytest.raises(TypeError):
        cellardb.Iterator()


def test_value_types_in_batches(db):
    with pytest.raises(TypeError):
        db.put_many([(b"a", 1)])
    with pytest.raises(TypeError):
        db.put_many(5)
    with pytest.raises(TypeError):
        db.get_many([1])
    with pytest.raises(TypeError):
        db.get_many(5)
    assert len(db) == 0


def test_value_too_large_without_allocating(db):
    """A value over 1 GiB is refused with TooLargeError. The buffer is a lazily
    mapped anonymous region, so the test needs no real memory (and proves the
    binding passes a view instead of copying)."""
    import mmap

    big = mmap.mmap(-1, cellardb.MAX_VALUE_SIZE + 1)
    try:
        view = memoryview(big)
        with pytest.raises(cellardb.TooLargeError):
            db[b"k"] = view
        with pytest.raises(cellardb.TooLargeError):
            db.put_many([(b"k", view)])
        with db.transaction() as tx:
            with pytest.raises(cellardb.TooLargeError):
                tx[b"k"] = view
        view.release()
    finally:
        big.close()
    assert b"k" not in db
