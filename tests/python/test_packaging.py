"""Packaging: `pip install .` in a fresh virtual environment (with build
isolation), and an sdist that builds a wheel that installs and works.

Slow (compiles the core twice, fetches setuptools into the isolated build
environment), so it runs only when CELLARDB_TEST_PACKAGING=1 (ctest sets it).
"""
import glob
import os
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(os.environ.get("CELLARDB_TEST_PACKAGING") != "1",
                                reason="set CELLARDB_TEST_PACKAGING=1 to build and install")

SMOKE = r"""
import os, sys, tempfile, cellardb
assert cellardb.__file__.startswith(sys.prefix), cellardb.__file__
d = tempfile.mkdtemp()
with cellardb.open(os.path.join(d, "x.cdb"), "n") as db:
    db["k"] = "v"
    with db.transaction() as tx:
        tx["n"] = b"1"
    assert db["k"] == b"v" and db.incr("n") == 2 and sorted(db.keys()) == [b"k", b"n"]
import importlib.resources as r
names = {p.name for p in r.files("cellardb").iterdir()}
assert {"py.typed", "__init__.pyi", "_cellardb.pyi"} <= names, names
print("ok")
"""


def venv(tmp_path, name):
    path = tmp_path / name
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return str(path / "bin" / "python")


def clean_env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the venv must use only what it installed
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_pip_install_in_fresh_venv(tmp_path):
    py = venv(tmp_path, "v1")
    subprocess.run([py, "-m", "pip", "install", "-q", REPO], check=True, env=clean_env())
    out = subprocess.run([py, "-c", SMOKE], check=True, env=clean_env(), cwd=str(tmp_path),
                         stdout=subprocess.PIPE, text=True).stdout
    assert out.strip() == "ok"


def test_sdist_builds_installable_wheel(tmp_path):
    py = venv(tmp_path, "v2")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(dist)], cwd=REPO,
                   check=True, env=clean_env())
    sdists = glob.glob(str(dist / "cellardb-*.tar.gz"))
    assert len(sdists) == 1
    wheels = tmp_path / "wheels"
    subprocess.run([py, "-m", "pip", "wheel", "-q", "--no-deps", sdists[0], "-w", str(wheels)],
                   check=True, env=clean_env(), cwd=str(tmp_path))
    whl = glob.glob(str(wheels / "cellardb-*.whl"))
    assert len(whl) == 1
    subprocess.run([py, "-m", "pip", "install", "-q", whl[0]], check=True, env=clean_env())
    out = subprocess.run([py, "-c", SMOKE], check=True, env=clean_env(), cwd=str(tmp_path),
                         stdout=subprocess.PIPE, text=True).stdout
    assert out.strip() == "ok"
