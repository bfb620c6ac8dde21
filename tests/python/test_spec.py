"""The conformance suite (tests/spec/cases/*.json, format in tests/spec/README.md)
run through the Python binding: one pytest test per case.

Each op is done the way a Python user would do it (db[k], del db[k], `in`,
db.set(..., ttl=...), tx[k] = v, ...), and the binding's result or exception is
turned back into the suite's terms: an exception's .code ("CELLAR_ENOTFOUND")
is the error name; methods that answer False where the C API returns an error
code (expire, persist, cas, tx.delete) are mapped to that code.
"""
import glob
import json
import os
from collections import Counter

import pytest

import cellardb
from conftest import SPEC_DIR

CASES_DIR = os.path.join(SPEC_DIR, "cases")


def load_cases():
    cases = []
    for path in sorted(glob.glob(os.path.join(CASES_DIR, "*.json"))):
        with open(path, encoding="utf-8") as f:
            suite = json.load(f)
        for case in suite["cases"]:
            cases.append(pytest.param(case, id=case["name"]))
    return cases


def to_bytes(spec):
    """A BYTES of the suite to Python bytes (None stays None)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if "repeat" in spec:
        return spec["repeat"].encode("utf-8") * spec["count"]
    raise ValueError(f"bad BYTES {spec!r}")


class Mismatch(Exception):
    """A binding result the suite did not expect (carries the error code)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Runner:
    """One case: the database handle, named transactions and the fake clock."""

    def __init__(self, case, tmp_path):
        self.case = case
        self.options = dict(case.get("options", {}))
        self.path = str(tmp_path / "db")
        self.clock = cellardb.ManualClock(self.options.get("clock", 1_700_000_000_000))
        self.db = None
        self.txns = {}

    def open(self, overrides=None):
        opts = dict(self.options)
        opts.update(overrides or {})
        kwargs = {"clock": self.clock}
        if "page_size" in opts:
            kwargs["page_size"] = opts["page_size"]
        if "cache_size" in opts:
            kwargs["cache_size"] = opts["cache_size"]
        if "sync" in opts:
            kwargs["sync"] = opts["sync"]
        flag = "r" if opts.get("readonly") else "c"
        self.db = cellardb.open(self.path, flag, **kwargs)

    def close(self):
        for tx in self.txns.values():
            tx.rollback()
        self.txns.clear()
        if self.db is not None:
            self.db.close()

    # Every op returns the suite's result value or raises (a cellardb.error,
    # whose .code names the error, or Mismatch).

    def op_get(self, key):
        return self.db[to_bytes(key)]

    def op_put(self, key, value):
        self.db[to_bytes(key)] = to_bytes(value)

    def op_put_ttl(self, key, value, ttl_ms):
        self.db.set(to_bytes(key), to_bytes(value), ttl=ttl_ms / 1000 if ttl_ms else None)

    def op_delete(self, key):
        del self.db[to_bytes(key)]

    def op_exists(self, key):
        return to_bytes(key) in self.db

    def op_count(self):
        return len(self.db)

    def op_incr(self, key, delta=1):
        return self.db.incr(to_bytes(key), delta)

    def op_decr(self, key, delta=1):
        return self.db.decr(to_bytes(key), delta)

    def op_cas(self, key, expected, new):
        if not self.db.cas(to_bytes(key), to_bytes(expected), to_bytes(new)):
            raise Mismatch("CELLAR_EMISMATCH")

    def op_expire(self, key, ttl_ms):
        if not self.db.expire(to_bytes(key), ttl_ms / 1000):
            raise Mismatch("CELLAR_ENOTFOUND")

    def op_ttl(self, key):
        seconds = self.db.ttl(to_bytes(key))
        return -1 if seconds is None else round(seconds * 1000)

    def op_persist(self, key):
        if not self.db.persist(to_bytes(key)):
            raise Mismatch("CELLAR_ENOTFOUND")

    def op_get_many(self, keys):
        return self.db.get_many([to_bytes(k) for k in keys])

    def op_put_many(self, pairs):
        self.db.put_many([(to_bytes(k), to_bytes(v)) for k, v in pairs])

    def op_iterate(self):
        return list(self.db.items())

    def op_advance_clock(self, ms):
        self.clock.advance(ms)

    def op_close(self):
        self.db.close()

    def op_reopen(self, overrides=None):
        if self.db is not None:
            self.db.close()
        self.open(overrides)

    def op_txn_begin(self, name, mode=None):
        self.txns[name] = self.db.transaction(readonly=(mode == "readonly"))

    def op_txn_get(self, name, key):
        return self.txns[name][to_bytes(key)]

    def op_txn_exists(self, name, key):
        return to_bytes(key) in self.txns[name]

    def op_txn_put(self, name, key, value):
        self.txns[name][to_bytes(key)] = to_bytes(value)

    def op_txn_put_ttl(self, name, key, value, ttl_ms):
        self.txns[name].set(to_bytes(key), to_bytes(value), ttl=ttl_ms / 1000 if ttl_ms else None)

    def op_txn_delete(self, name, key):
        del self.txns[name][to_bytes(key)]

    def op_txn_commit(self, name):
        self.txns.pop(name).commit()

    def op_txn_abort(self, name):
        self.txns.pop(name).rollback()

    def run_step(self, step):
        fn = getattr(self, "op_" + step["op"], None)
        if fn is None:
            raise AssertionError(f"unknown op {step['op']!r}")
        try:
            return "ok", fn(*step.get("args", []))
        except (cellardb.error, Mismatch) as exc:
            return "error", exc.code


def expected_value(op, value):
    """The suite's expected result, in the binding's terms."""
    if op in ("get", "txn_get"):
        return to_bytes(value)
    if op == "get_many":
        return [to_bytes(v) for v in value]
    if op == "iterate":
        return Counter((to_bytes(k), to_bytes(v)) for k, v in value)
    return value


def actual_value(op, value):
    if op == "iterate":
        return Counter(value)
    return value


@pytest.mark.parametrize("case", load_cases())
def test_spec_case(case, tmp_path):
    runner = Runner(case, tmp_path)
    open_expect = case.get("open_expect", {"ok": None})
    try:
        try:
            runner.open()
            opened = ("ok", None)
        except cellardb.error as exc:
            opened = ("error", exc.code)
        if "error" in open_expect:
            assert opened == ("error", open_expect["error"]), f"open: expected {open_expect}"
        else:
            assert opened[0] == "ok", f"open failed: {opened[1]}"
        for i, step in enumerate(case["steps"]):
            kind, result = runner.run_step(step)
            expect = step.get("expect")
            where = f"step {i} ({step['op']} {step.get('args', [])!r})"
            if expect is None:
                assert kind == "ok", f"{where}: failed with {result}"
            elif "error" in expect:
                assert (kind, result) == ("error", expect["error"]), (
                    f"{where}: expected error {expect['error']}, got {kind} {result!r}")
            else:
                assert kind == "ok", f"{where}: expected ok, got error {result}"
                want = expected_value(step["op"], expect["ok"])
                got = actual_value(step["op"], result)
                assert got == want, f"{where}: expected {want!r}, got {got!r}"
    finally:
        runner.close()


def test_spec_suite_present():
    """The suite must not silently vanish: at least one case per file."""
    files = glob.glob(os.path.join(CASES_DIR, "*.json"))
    assert files, f"no cases under {CASES_DIR}"
    assert len(load_cases()) >= len(files)
