"""Shared fixtures for the cellardb Python tests.

The tests import the `cellardb` package from wherever Python finds it: an
installed wheel (pip install .), or PYTHONPATH pointing at an in-place build
(ctest sets it). When neither is there, the extension is built once from the
sources into a directory under the system temp dir (setup.py build_py +
build_ext), which takes a minute the first time.
"""
import importlib
import os
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_DIR = os.path.join(REPO, "tests", "spec")


def _ensure_importable():
    try:
        importlib.import_module("cellardb._cellardb")
        return
    except ImportError:
        pass
    build = os.environ.get("CELLARDB_PY_BUILD") or os.path.join(
        tempfile.gettempdir(), f"cellardb-py-build-{os.getuid()}")
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", build,
                    "build_ext", "--build-lib", build, "--build-temp", os.path.join(build, "tmp"),
                    "-j", "2"], cwd=REPO, check=True)
    sys.path.insert(0, build)
    os.environ["PYTHONPATH"] = build + os.pathsep + os.environ.get("PYTHONPATH", "")
    for name in [m for m in sys.modules if m == "cellardb" or m.startswith("cellardb.")]:
        del sys.modules[name]
    importlib.import_module("cellardb._cellardb")


_ensure_importable()

import cellardb  # noqa: E402


@pytest.fixture
def path(tmp_path):
    """A path for a new database file in a fresh temporary directory."""
    return str(tmp_path / "test.cdb")


@pytest.fixture
def db(path):
    """A new, empty database opened read-write; closed after the test."""
    d = cellardb.open(path, "n")
    yield d
    d.close()


@pytest.fixture
def clock():
    """A ManualClock at the spec suite's default start time."""
    return cellardb.ManualClock(1_700_000_000_000)


def child_env():
    """The environment for a subprocess that must import the same cellardb."""
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(cellardb.__file__)))
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    return env
