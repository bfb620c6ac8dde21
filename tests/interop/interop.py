#!/usr/bin/env python3
"""Cross-language interop matrix for cellardb.

Every available language writes a file with the content of expected.json
(through its own binding), then every language reads every file and checks
that content. Prints a line per failing (writer, reader) pair (with -v, per
pair), the matrix as a table, and a closing line "N passed, N failed,
N skipped" (each skipped language is named with the reason, toolchain or
module not found; a skip never counts as passed).

usage: interop.py [--absent-reason TEXT] [--workdir DIR] [--c-worker EXE] [--python EXE --python-path DIR]
                  [--lua EXE --lua-cdir DIR] [--node EXE --node-package DIR]
                  [--java EXE --javac EXE --java-dir DIR] [--perl EXE --perl-dir DIR]
                  [--tclsh EXE --tcl-dir DIR] [--only LANG,LANG] [-v]
An empty or missing module location means that binding was not built: skipped.
ctest passes everything (tests/interop/CMakeLists.txt).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 120


def token(v):
    """A plan token: 'x' + hex, or 'p' + N for the pattern value."""
    if isinstance(v, dict):
        return "p%d" % int(v["pattern"])
    bytes.fromhex(v)  # validate
    return "x" + v.lower()


def make_plan(expected, path):
    """The text form of expected.json that every worker reads (see interop_c.c)."""
    lines = ["# cellardb interop plan, generated from expected.json"]
    keys = []
    for r in expected["records"]:
        lines.append("put %s %s" % (token(r["key"]), token(r["value"])))
        keys.append(r["key"])
    for r in expected["ttl"]:
        lines.append("ttl %s %s %d" % (token(r["key"]), token(r["value"]), int(r["ttl_ms"])))
        keys.append(r["key"])
    for kind, name in (("commit", "committed_txn"), ("abort", "aborted_txn")):
        lines.append(kind + "".join(" %s %s" % (token(r["key"]), token(r["value"]))
                                    for r in expected[name]))
        keys.extend(r["key"] for r in expected[name])
    if len(set(k.lower() for k in keys)) != len(keys):
        raise SystemExit("expected.json: every key must be distinct")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class Lang:
    def __init__(self, name):
        self.name = name
        self.cmd = None      # argv prefix: cmd + ["write"|"read", plan, db...]
        self.env = {}
        self.skip = None     # reason, when skipped
        self.broken = None   # reason, when present but unusable (a failure)

    def run(self, args, workdir):
        env = dict(os.environ)
        env.update(self.env)
        try:
            p = subprocess.run(self.cmd + args, cwd=workdir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return 124, "timed out after %d s" % TIMEOUT
        return p.returncode, p.stdout.decode("utf-8", "replace")


ABSENT = "its toolchain was not found at configure time"


def not_built(what, where, looked_for):
    if not where:
        return "%s is not part of this build (%s)" % (what, ABSENT)
    return "%s was not built (no %s in %s)" % (what, looked_for, where)


def which(exe):
    return (exe and (shutil.which(exe) or (os.path.isfile(exe) and exe))) or None


def setup(a, workdir):
    langs = []

    c = Lang("c")
    if a.c_worker and os.path.isfile(a.c_worker):
        c.cmd = [a.c_worker]
    else:
        c.skip = "the C worker (interop_c) was not built"
    langs.append(c)

    py = Lang("python")
    pyexe = which(a.python) or sys.executable
    if not a.python_path or not os.path.isdir(os.path.join(a.python_path, "cellardb")):
        py.skip = not_built("the Python binding", a.python_path, "cellardb package")
    else:
        py.cmd = [pyexe, os.path.join(HERE, "worker.py")]
        py.env = {"PYTHONPATH": a.python_path + os.pathsep + os.environ.get("PYTHONPATH", "")}
    langs.append(py)

    lua = Lang("lua")
    luaexe = which(a.lua or "lua5.4")
    if not luaexe:
        lua.skip = "lua5.4 not found"
    elif not a.lua_cdir or not os.path.isfile(os.path.join(a.lua_cdir, "cellardb.so")):
        lua.skip = not_built("the Lua module", a.lua_cdir, "cellardb.so")
    else:
        lua.cmd = [luaexe, os.path.join(HERE, "worker.lua")]
        lua.env = {"LUA_CPATH": os.path.join(a.lua_cdir, "?.so") + ";;"}
    langs.append(lua)

    node = Lang("node")
    nodeexe = which(a.node or "node")
    if not nodeexe:
        node.skip = "node not found"
    elif not a.node_package or not os.path.isfile(
            os.path.join(a.node_package, "build", "Release", "cellardb.node")):
        node.skip = not_built("the Node.js addon", a.node_package, "build/Release/cellardb.node")
    else:
        node.cmd = [nodeexe, os.path.join(HERE, "worker.js")]
        node.env = {"CELLARDB_NODE_PACKAGE": a.node_package}
    langs.append(node)

    java = Lang("java")
    javaexe, javac = which(a.java or "java"), which(a.javac or "javac")
    jar = a.java_dir and os.path.join(a.java_dir, "cellardb.jar")
    jni = a.java_dir and os.path.join(a.java_dir, "libcellardb_jni.so")
    if not javaexe or not javac:
        java.skip = "java or javac not found"
    elif not jar or not os.path.isfile(jar) or not os.path.isfile(jni):
        java.skip = not_built("the Java binding", a.java_dir, "cellardb.jar and libcellardb_jni.so")
    else:
        classes = os.path.join(workdir, "java-classes")
        os.makedirs(classes, exist_ok=True)
        p = subprocess.run([javac, "-d", classes, "-cp", jar, os.path.join(HERE, "Worker.java")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        if p.returncode != 0:
            # The binding is built but the worker does not compile: a failure, not a skip.
            java.cmd = None
            java.broken = "javac Worker.java failed:\n" + p.stdout.decode("utf-8", "replace")
        else:
            java.cmd = [javaexe, "-Dcellardb.jni=" + jni, "-cp", jar + os.pathsep + classes, "Worker"]
    langs.append(java)

    perl = Lang("perl")
    perlexe = which(a.perl or "perl")
    if not perlexe:
        perl.skip = "perl not found"
    elif not a.perl_dir or not os.path.isfile(os.path.join(a.perl_dir, "cellardb.pm")):
        perl.skip = not_built("the Perl binding", a.perl_dir, "cellardb.pm")
    else:
        perl.cmd = [perlexe, "-I", a.perl_dir, os.path.join(HERE, "worker.pl")]
    langs.append(perl)

    tcl = Lang("tcl")
    tclsh = which(a.tclsh or "tclsh")
    if not tclsh:
        tcl.skip = "tclsh not found"
    elif not a.tcl_dir or not os.path.isfile(os.path.join(a.tcl_dir, "pkgIndex.tcl")):
        tcl.skip = not_built("the Tcl binding", a.tcl_dir, "pkgIndex.tcl")
    else:
        tcl.cmd = [tclsh, os.path.join(HERE, "worker.tcl")]
        tcl.env = {"TCLLIBPATH": a.tcl_dir}
    langs.append(tcl)

    if a.only:
        wanted = set(a.only.split(","))
        for l in langs:
            if l.name not in wanted and not l.skip:
                l.skip = "not selected (--only)"
    return langs


def main(argv):
    ap = argparse.ArgumentParser(description="cellardb cross-language interop matrix")
    for opt in ("absent-reason", "workdir", "c-worker", "python", "python-path", "lua", "lua-cdir", "node",
                "node-package", "java", "javac", "java-dir", "perl", "perl-dir", "tclsh",
                "tcl-dir", "only"):
        ap.add_argument("--" + opt, default="")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="print every write and every passing pair too")
    a = ap.parse_args(argv)

    started = time.time()
    if a.absent_reason:
        global ABSENT
        ABSENT = a.absent_reason
    if a.workdir:
        shutil.rmtree(a.workdir, ignore_errors=True)
        os.makedirs(a.workdir)
        workdir = a.workdir
    else:
        workdir = tempfile.mkdtemp(prefix="cellardb-interop-")
    workdir = os.path.abspath(workdir)
    with open(os.path.join(HERE, "expected.json")) as f:
        expected = json.load(f)
    plan = os.path.join(workdir, "plan.txt")
    make_plan(expected, plan)

    langs = setup(a, workdir)
    live = [l for l in langs if not l.skip]
    for l in langs:
        if l.skip:
            print("SKIP %-6s %s" % (l.name, l.skip))
    if not live:
        print("no language available")
        print("0 passed, 0 failed, %d skipped" % len(langs))
        return 1

    # 1. every language writes its file
    files, write_err = {}, {}
    for w in live:
        db = os.path.join(workdir, "written-by-%s.cellar" % w.name)
        if w.cmd is None:
            write_err[w.name] = w.broken or "cannot run"
            continue
        rc, out = w.run(["write", plan, db], workdir)
        if rc != 0:
            write_err[w.name] = "exit %d: %s" % (rc, out.strip())
            print("FAIL write %-6s %s" % (w.name, write_err[w.name]))
        else:
            files[w.name] = db
            if a.verbose:
                print("ok   write %s" % w.name)

    # 2. every language reads every file (one run per reader)
    result = {}  # (writer, reader) -> None (pass) or reason
    order = [w.name for w in live]
    for r in live:
        for w in order:
            if w in write_err:
                result[(w, r.name)] = "the %s writer failed" % w
        todo = [w for w in order if w in files]
        if not todo:
            continue
        if r.cmd is None:
            for w in todo:
                result[(w, r.name)] = r.broken or "cannot run"
            continue
        rc, out = r.run(["read", plan] + [files[w] for w in todo], workdir)
        seen = {}
        for line in out.splitlines():
            for w in todo:
                f = files[w]
                if line == "PASS " + f:
                    seen[w] = None
                elif line.startswith("FAIL " + f + ":"):
                    seen[w] = line[len("FAIL " + f + ":"):].strip()
        for w in todo:
            if w in seen:
                result[(w, r.name)] = seen[w]
            else:
                result[(w, r.name)] = "no verdict from the reader (exit %d): %s" % (rc, out.strip()[-2000:])
        if rc != 0 and all(seen.get(w, "x") is None for w in todo):
            # every file passed but the reader exited badly: count it against all of them
            for w in todo:
                result[(w, r.name)] = "reader exited %d: %s" % (rc, out.strip()[-2000:])

    passed = failed = 0
    for w in order:
        for r in order:
            why = result.get((w, r))
            if why is None:
                passed += 1
                if a.verbose:
                    print("PASS written by %-6s read by %s" % (w, r))
            else:
                failed += 1
                print("FAIL written by %-6s read by %s: %s" % (w, r, why))

    # the matrix at a glance (rows: writer, columns: reader); kept short, as
    # ctest keeps only the first 1 KiB of a passing test's output
    print("%-8s" % "w \\ r" + "".join("%-8s" % r for r in order))
    for w in order:
        print("%-8s" % w + "".join("%-8s" % ("ok" if result.get((w, r)) is None else "FAIL")
                                  for r in order))
    skipped = [l.name for l in langs if l.skip]
    print("languages: %s; skipped: %s; %.1f s" % (
        ", ".join(order), ", ".join(skipped) if skipped else "none", time.time() - started))
    print("%d passed, %d failed, %d skipped" % (passed, failed, len(skipped)))
    if failed == 0:  # the files are kept for a look only when something failed
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
