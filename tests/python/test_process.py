"""Across processes: kill -9 in the middle of writing, and files written by the
C command-line tool (and read back by it)."""
import glob
import os
import shutil
import signal
import subprocess
import sys

import pytest

import cellardb
from conftest import REPO, child_env

WRITER = r"""
import sys, cellardb
path, sync = sys.argv[1], sys.argv[2]
db = cellardb.open(path, "c", sync=sync)
i = 0
while True:
    if i % 3 == 2:
        with db.transaction() as tx:          # multi-key commits: all or nothing
            tx[b"tx%d-a" % i] = b"%d" % i
            tx[b"tx%d-b" % i] = b"%d" % i
    else:
        db[b"k%d" % i] = (b"%d:" % i) * 20
    print(i, flush=True)                      # acknowledged after the commit returned
    i += 1
"""


@pytest.mark.parametrize("sync", ["full", "normal"])
def test_kill_9_keeps_acknowledged_commits(tmp_path, sync):
    path = str(tmp_path / "crash.cdb")
    for round_ in range(3):
        child = subprocess.Popen([sys.executable, "-c", WRITER, path, sync],
                                 stdout=subprocess.PIPE, env=child_env(), text=True)
        acked = -1
        target = 200 + 150 * round_
        try:
            for line in child.stdout:
                acked = int(line)
                if acked >= target:
                    break
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        assert acked >= target, "the writer died before the kill"
        with cellardb.open(path, "w") as db:
            assert db.check(progress=False) == []
            for i in range(acked + 1):
                # process crash: every acknowledged commit survives in every sync mode
                if i % 3 == 2:
                    assert db[b"tx%d-a" % i] == db[b"tx%d-b" % i] == b"%d" % i
                else:
                    assert db[b"k%d" % i] == (b"%d:" % i) * 20
            # atomicity of the commit in flight at the kill, if any
            i = acked + 1
            if i % 3 == 2:
                assert (b"tx%d-a" % i in db) == (b"tx%d-b" % i in db)


def find_tool():
    tool = os.environ.get("CELLARDB_TOOL")
    if tool and os.access(tool, os.X_OK):
        return tool
    for cand in glob.glob(os.path.join(REPO, "build*", "core", "tools", "cellardb")):
        if os.access(cand, os.X_OK):
            return cand
    return shutil.which("cellardb")


@pytest.fixture
def tool():
    t = find_tool()
    if t is None:
        pytest.skip("the cellardb command-line tool is not built (set CELLARDB_TOOL)")
    return t


def test_reopen_file_written_by_c_tool(tool, tmp_path):
    path = str(tmp_path / "tool.cdb")
    subprocess.run([tool, path, "put", "hello", "world"], check=True)
    subprocess.run([tool, path, "put", "n", "41"], check=True)
    with cellardb.open(path, "w") as db:
        assert db[b"hello"] == b"world"
        assert db.incr(b"n") == 42
        db[b"from-python"] = "ünïcode"
    out = subprocess.run([tool, path, "get", "from-python"], check=True,
                         stdout=subprocess.PIPE).stdout
    assert out.rstrip(b"\n") == "ünïcode".encode()
    out = subprocess.run([tool, path, "get", "n"], check=True, stdout=subprocess.PIPE).stdout
    assert out.strip() == b"42"


def test_tool_dump_loads_in_python(tool, tmp_path):
    path = str(tmp_path / "a.cdb")
    with cellardb.open(path, "n") as db:
        db.update({b"a": b"1", b"\x00b": b"\xff\x00"})
    dump = str(tmp_path / "a.dump")
    subprocess.run([tool, path, "dump", dump], check=True)
    with cellardb.open(str(tmp_path / "b.cdb"), "n") as db:
        db.load(dump, progress=False)
        assert dict(db.items()) == {b"a": b"1", b"\x00b": b"\xff\x00"}
