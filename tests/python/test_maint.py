"""stats, sync, checkpoint, compact, backup, check, dump / load, salvage, progress."""
import os

import pytest

import cellardb


def fill(db, n=2000, size=100):
    db.put_many([(b"key%06d" % i, os.urandom(size)) for i in range(n)])


def test_stats(db):
    fill(db, 100)
    st = db.stats()
    for field in ["records", "file_size", "page_size", "pages", "bucket_pages", "overflow_pages",
                  "value_pages", "directory_pages", "free_pages", "global_depth", "fill_factor",
                  "cache_capacity", "cache_used", "cache_hits", "cache_misses", "cache_hit_ratio",
                  "wal_size", "commits", "checkpoints"]:
        assert field in st, field
    assert st["records"] == 100
    assert st["page_size"] == 4096


def test_sync_checkpoint(db):
    fill(db, 10)
    db.sync()
    db.checkpoint()
    assert len(db) == 10


def test_compact_shrinks_and_keeps_data(db):
    fill(db, 3000)
    for i in range(0, 3000, 2):
        del db[b"key%06d" % i]
    db.checkpoint()
    before = db.stats()["file_size"]
    calls = []
    db.compact(progress=lambda done, total: calls.append((done, total)))
    assert len(db) == 1500
    assert db[b"key000001"]
    assert db.stats()["file_size"] <= before
    assert db.check(progress=False) == []


def test_progress_cancel_by_return_value(db):
    fill(db, 500)
    with pytest.raises(cellardb.CanceledError):
        db.compact(progress=lambda done, total: True)
    assert len(db) == 500


def test_progress_exception_propagates(db):
    fill(db, 500)

    class Stop(Exception):
        pass

    def boom(done, total):
        raise Stop()

    with pytest.raises(Stop):
        db.compact(progress=boom)
    assert len(db) == 500


def test_progress_reentry_refused(db):
    fill(db, 500)
    errors = []

    def reenter(done, total):
        try:
            db[b"x"] = b"1"
        except RuntimeError as exc:
            errors.append(exc)
        return False

    db.compact(progress=reenter)
    assert errors, "the callback ran at least once and was refused"
    assert b"x" not in db


def test_progress_argument_checked(db):
    with pytest.raises(TypeError):
        db.compact(progress=42)


def test_progress_tqdm(db, capsys):
    pytest.importorskip("tqdm")
    fill(db, 200)
    db.compact(progress=True)   # a tqdm bar (to stderr); must not fail
    db.check(progress=True)


def test_backup(db, tmp_path):
    fill(db, 500)
    dest = str(tmp_path / "copy.cdb")
    db.backup(dest)
    db.backup(dest)  # replaced if it exists
    with cellardb.open(dest, "r") as copy:
        assert len(copy) == 500
        assert copy[b"key000042"] == db[b"key000042"]


def test_check_clean(db):
    fill(db, 300)
    assert db.check() == []


def test_dump_and_load(db, tmp_path):
    fill(db, 300)
    db[b"\x00bin\xff"] = b"\x00\x01\xfe"
    dump = str(tmp_path / "d.dump")
    db.dump(dump)
    with cellardb.open(str(tmp_path / "other.cdb"), "n") as other:
        other.load(dump)
        assert len(other) == 301
        assert other[b"\x00bin\xff"] == b"\x00\x01\xfe"


def test_load_missing_file(db, tmp_path):
    with pytest.raises(cellardb.error):
        db.load(str(tmp_path / "missing.dump"))


def test_salvage(db, path, tmp_path):
    fill(db, 200)
    db.close()  # salvage reads a file nobody has open for writing
    dest = str(tmp_path / "salvaged.cdb")
    n = cellardb.salvage(path, dest)
    assert n == 200
    with cellardb.open(dest, "r") as s:
        assert len(s) == 200


def test_bulk_import(db):
    n = db.bulk_import(((b"k%d" % i, b"v") for i in range(2500)), batch_size=1000,
                       progress=False)
    assert n == 2500 and len(db) == 2500
    seen = []
    db.bulk_import({b"a": b"1", b"b": b"2"}, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (2, 2)
    with pytest.raises(ValueError):
        db.bulk_import([], batch_size=0)


def test_reorganize_alias(db):
    fill(db, 10)
    db.reorganize()
    assert len(db) == 10
