"""Build the cellardb Python extension straight from the C core sources.

`pip install .` at the repository root compiles core/src/*/*.c together with
the binding's C files (bindings/python/*.c) into cellardb._cellardb; no CMake
and no installed libcellardb are needed. The version is read from the one
place it lives, core/include/cellardb.h.
"""
import glob
import os
import re
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def rel(pattern):
    # setuptools wants paths relative to the directory of setup.py
    return sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, pattern)))


def version():
    with open(os.path.join(HERE, "core", "include", "cellardb.h"), encoding="utf-8") as f:
        m = re.search(r'#define\s+CELLAR_VERSION_STRING\s+"([^"]+)"', f.read())
    if not m:
        sys.exit("setup.py: CELLAR_VERSION_STRING not found in core/include/cellardb.h")
    return m.group(1)


def readme():
    for name in ("bindings/python/README.md", "README.md"):
        path = os.path.join(HERE, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return f.read()
    return ""


sources = rel("core/src/*/*.c") + rel("bindings/python/*.c")
depends = rel("core/include/*.h") + rel("core/src/*/*.h") + rel("bindings/python/*.h")

extra_compile_args = []
if os.name == "posix":
    extra_compile_args = ["-std=gnu11", "-fvisibility=hidden", "-Wall", "-Wno-unused-parameter"]
if os.environ.get("CELLARDB_PY_SANITIZE") == "address":
    # For the issue-9 ASan run of the Python tests (LD_PRELOAD libasan when running).
    extra_compile_args += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]

ext = Extension(
    "cellardb._cellardb",
    sources=sources,
    depends=depends,
    include_dirs=["core/include", "core/src"],
    define_macros=[("_GNU_SOURCE", None), ("CELLAR_BUILDING", None)],
    extra_compile_args=extra_compile_args,
    extra_link_args=(["-fsanitize=address,undefined"]
                     if os.environ.get("CELLARDB_PY_SANITIZE") == "address" else []),
    libraries=["pthread"] if os.name == "posix" else [],
)

setup(
    name="cellardb",
    version=version(),
    description="cellardb: an embedded key-value store (native CPython module, dbm-compatible)",
    long_description=readme(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=["cellardb"],
    package_dir={"cellardb": "bindings/python/cellardb"},
    package_data={"cellardb": ["py.typed", "*.pyi"]},
    ext_modules=[ext],
    extras_require={"notebook": ["pandas", "tqdm"], "test": ["pytest", "nbclient", "nbformat", "ipykernel"]},
    classifiers=[
        "License :: OSI Approved :: MIT License",
        "Programming Language :: C",
        "Programming Language :: Python :: 3",
        "Topic :: Database :: Database Engines/Servers",
        "Typing :: Typed",
    ],
    zip_safe=False,
)
