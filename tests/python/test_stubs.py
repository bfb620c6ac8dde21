"""The .pyi stubs match the module (mypy's stubtest) and type-check typical use.
Skipped when mypy is not installed (it is a development tool, not a dependency)."""
import os
import subprocess
import sys

import pytest

import cellardb


@pytest.fixture(autouse=True)
def _need_mypy():
    pytest.importorskip("mypy")

USE = '''
import cellardb
db = cellardb.open("x.cdb", "c", sync="full", clock=cellardb.ManualClock())
db[b"a"] = "b"
v: bytes = db[b"a"]
maybe: bytes | None = db.get("a")
n: int = db.incr("n")
with db.transaction() as tx:
    tx["a"] = b"1"
for k, val in db.items():
    k.decode()
keys: list[bytes] = db.keys()
r = db.transact(lambda tx: tx.get("a"))
problems: list[tuple[int, str]] = db.check(progress=False)
try:
    db[b"zz"]
except cellardb.NotFoundError as e:
    code: str = e.code
db.close()
'''


def run(args, tmp_path):
    cfg = tmp_path / "mypy.ini"
    cfg.write_text("[mypy]\nignore_missing_imports = True\n")
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(cellardb.__file__)))
    env["PYTHONPATH"] = pkg_parent
    cfg_flag = "--mypy-config-file" if args[0] == "mypy.stubtest" else "--config-file"
    return subprocess.run([sys.executable, "-m"] + args + [cfg_flag, str(cfg)],
                          cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def test_stubtest(tmp_path):
    r = run(["mypy.stubtest", "cellardb"], tmp_path)
    assert r.returncode == 0, r.stdout


def test_typed_use(tmp_path):
    (tmp_path / "use.py").write_text(USE)
    r = run(["mypy", "use.py"], tmp_path)
    assert r.returncode == 0, r.stdout
