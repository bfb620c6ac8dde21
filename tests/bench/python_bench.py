#!/usr/bin/env python3
"""Micro-benchmark of the cellardb Python module against its Python peers.

    python3 tests/bench/python_bench.py [-n 50000] [--repeat 3] [--only cellardb,lmdb]

Workloads (keys 16 bytes, values 100 bytes, as the C harness): get (random
order, every key present), put (autocommit: one commit per put, new keys),
delete, iteration (a full scan of keys and values), a transaction of 100
puts, and bulk: n new records in one batch call (cellardb put_many, py-lmdb
putmulti in one write transaction, sqlite3 executemany in one transaction).
Every store runs with its default options. Peers: dict (the ceiling), sqlite3 used as a key-value table (WAL,
synchronous=NORMAL: the same promise as cellardb's sync='normal'), py-lmdb
(get inside one read transaction; put one per transaction and batched; with
sync on, its default, and off, which like cellardb's 'normal' survives a
process crash but not power loss) and dbm.gnu where available.

Prints ops/s per store and workload, then the ratios the project tracks. The
numbers are for reading side by side on one machine; nothing is asserted.
"""
import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

try:
    import cellardb
except ImportError:  # run from a source tree: build with setup.py or set PYTHONPATH
    sys.exit("python_bench: cannot import cellardb (pip install . or set PYTHONPATH)")

VALUE_SIZE = 100
TXN_SIZE = 100
GET_PASSES = 3   # each key read this many times (steadier numbers)
SCAN_PASSES = 5  # full scans per timing


def make_keys(n, seed=1):
    rnd = random.Random(seed)
    return [b"%016x" % rnd.getrandbits(64) for _ in range(n)]


def timed(fn, count):
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return count / elapsed if elapsed > 0 else float("inf")


class Store:
    """One store under test: subclasses implement the workloads."""

    name = "?"

    def __init__(self, workdir):
        self.dir = tempfile.mkdtemp(dir=workdir)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class MappingStore(Store):
    """A store that is a Python mapping (self.m): the loops are the same for
    a dict and a cellardb database."""

    def put(self, keys, value):
        m = self.m
        for k in keys:
            m[k] = value

    def get(self, keys):
        m = self.m
        for k in keys:
            m[k]

    def delete(self, keys):
        m = self.m
        for k in keys:
            del m[k]

    def scan(self):
        for _k, _v in self.m.items():
            pass

    def bulk(self, items):
        self.m.update(items)


class DictStore(MappingStore):
    name = "dict"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.m = {}

    def txn_puts(self, batches, value):
        m = self.m
        for batch in batches:
            for k in batch:
                m[k] = value


class CellarStore(MappingStore):
    def __init__(self, workdir, sync="normal"):
        super().__init__(workdir)
        self.name = f"cellardb({sync})"
        # default options (the cache budget grows with the data), as users meet it
        self.db = self.m = cellardb.open(os.path.join(self.dir, "bench.cdb"), "n", sync=sync)

    def bulk(self, items):
        self.db.put_many(items)  # one call, one commit

    def txn_puts(self, batches, value):
        db = self.db
        for batch in batches:
            with db.transaction() as tx:
                for k in batch:
                    tx[k] = value

    def close(self):
        self.db.close()
        super().close()


class SqliteStore(Store):
    name = "sqlite3"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.con = sqlite3.connect(os.path.join(self.dir, "bench.sqlite"), isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")

    def put(self, keys, value):
        ex = self.con.execute
        for k in keys:  # autocommit: each statement is its own transaction
            ex("INSERT OR REPLACE INTO kv VALUES (?, ?)", (k, value))

    def get(self, keys):
        ex = self.con.execute
        for k in keys:
            ex("SELECT v FROM kv WHERE k = ?", (k,)).fetchone()[0]

    def delete(self, keys):
        ex = self.con.execute
        for k in keys:
            ex("DELETE FROM kv WHERE k = ?", (k,))

    def scan(self):
        for _k, _v in self.con.execute("SELECT k, v FROM kv"):
            pass

    def bulk(self, items):
        self.con.execute("BEGIN")
        self.con.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", items)
        self.con.execute("COMMIT")

    def txn_puts(self, batches, value):
        ex = self.con.execute
        for batch in batches:
            ex("BEGIN")
            for k in batch:
                ex("INSERT OR REPLACE INTO kv VALUES (?, ?)", (k, value))
            ex("COMMIT")

    def close(self):
        self.con.close()
        super().close()


class LmdbStore(Store):
    def __init__(self, workdir, sync=True):
        import lmdb

        super().__init__(workdir)
        self.name = "lmdb(sync)" if sync else "lmdb(nosync)"
        self.env = lmdb.open(self.dir, map_size=4 << 30, sync=sync, metasync=sync)

    def put(self, keys, value):
        env = self.env
        for k in keys:  # one write transaction per put
            with env.begin(write=True) as txn:
                txn.put(k, value)

    def get(self, keys):
        with self.env.begin() as txn:  # one read transaction for all gets
            get = txn.get
            for k in keys:
                get(k)

    def delete(self, keys):
        env = self.env
        for k in keys:
            with env.begin(write=True) as txn:
                txn.delete(k)

    def scan(self):
        with self.env.begin() as txn:
            for _k, _v in txn.cursor():
                pass

    def txn_puts(self, batches, value):
        env = self.env
        for batch in batches:
            with env.begin(write=True) as txn:
                for k in batch:
                    txn.put(k, value)

    def bulk(self, items):
        with self.env.begin(write=True) as txn:  # putmulti in one write transaction
            txn.cursor().putmulti(items)

    def close(self):
        self.env.close()
        super().close()


class GdbmStore(Store):
    name = "dbm.gnu"

    def __init__(self, workdir):
        import dbm.gnu

        super().__init__(workdir)
        self.db = dbm.gnu.open(os.path.join(self.dir, "bench.gdbm"), "nf")

    def put(self, keys, value):
        db = self.db
        for k in keys:
            db[k] = value

    def get(self, keys):
        db = self.db
        for k in keys:
            db[k]

    def delete(self, keys):
        db = self.db
        for k in keys:
            del db[k]

    def scan(self):
        db = self.db
        k = db.firstkey()
        while k is not None:
            db[k]
            k = db.nextkey(k)

    def txn_puts(self, batches, value):  # no transactions: plain puts
        db = self.db
        for batch in batches:
            for k in batch:
                db[k] = value

    def bulk(self, items):
        db = self.db
        for k, v in items:
            db[k] = v

    def close(self):
        self.db.close()
        super().close()


def available_stores(only):
    makers = [("dict", DictStore), ("cellardb", CellarStore),
              ("cellardb-full", lambda w: CellarStore(w, "full")),
              ("sqlite3", SqliteStore)]
    try:
        import lmdb  # noqa: F401

        makers += [("lmdb", LmdbStore), ("lmdb-nosync", lambda w: LmdbStore(w, sync=False))]
    except ImportError:
        print("python_bench: py-lmdb not installed: skipped", file=sys.stderr)
    try:
        import dbm.gnu  # noqa: F401

        makers.append(("gdbm", GdbmStore))
    except ImportError:
        print("python_bench: dbm.gnu not available: skipped", file=sys.stderr)
    return [(n, m) for n, m in makers if not only or n in only]


WORKLOADS = ["put", "get", "scan", "txn100", "delete", "bulk"]


def bench_store(make, workdir, n, n_sync):
    """ops/s for each workload on one store (fresh store per run)."""
    keys = make_keys(n)
    value = os.urandom(VALUE_SIZE)
    store = make(workdir)
    try:
        # Durable-per-commit stores (fsync on every commit) run a smaller count.
        slow = store.name in ("lmdb(sync)", "cellardb(full)")
        m = n_sync if slow else n
        res = {}
        res["put"] = timed(lambda: store.put(keys[:m], value), m)
        if m < n:
            store.txn_puts([keys[i:i + 1000] for i in range(m, n, 1000)], value)
        lookup = keys[:]
        random.Random(2).shuffle(lookup)
        reads = lookup * GET_PASSES
        res["get"] = timed(lambda: store.get(reads), len(reads))

        def scans():
            for _ in range(SCAN_PASSES):
                store.scan()

        res["scan"] = timed(scans, n * SCAN_PASSES)
        extra = make_keys(max(m // TXN_SIZE, 10) * TXN_SIZE, seed=3)
        batches = [extra[i:i + TXN_SIZE] for i in range(0, len(extra), TXN_SIZE)]
        res["txn100"] = timed(lambda: store.txn_puts(batches, value), len(batches))
        res["delete"] = timed(lambda: store.delete(lookup[:m]), m)
        # n new records in one batch call (put_many / putmulti / executemany)
        items = [(k, value) for k in make_keys(n, seed=5)]
        res["bulk"] = timed(lambda: store.bulk(items), n)
        return store.name, res
    finally:
        store.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=50000, help="keys per run (default 50000)")
    ap.add_argument("--sync-n", type=int, default=None,
                    help="puts/deletes for stores that fsync every commit (default n/25)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per store; the best is kept")
    ap.add_argument("--only", default="", help="comma-separated store names")
    ap.add_argument("--dir", default=None, help="where to put the files (default: a temp dir)")
    args = ap.parse_args(argv)
    only = {s for s in args.only.split(",") if s}
    n_sync = args.sync_n or max(args.n // 25, 200)
    workdir = tempfile.mkdtemp(prefix="cellardb-pybench-", dir=args.dir)
    results = {}
    try:
        for label, make in available_stores(only):
            best = {}
            name = label
            for _ in range(args.repeat):
                name, res = bench_store(make, workdir, args.n, n_sync)
                for w, v in res.items():
                    best[w] = max(best.get(w, 0), v)
            results[name] = best
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"cellardb {cellardb.__version__} Python micro-benchmark: n={args.n} "
          f"(fsync-per-commit stores: {n_sync} puts/deletes), keys 16 B, values {VALUE_SIZE} B, "
          f"best of {args.repeat}; ops/s (txn100: transactions of 100 puts per second)")
    header = "| store | " + " | ".join(WORKLOADS) + " |"
    print(header)
    print("|" + "---|" * (len(WORKLOADS) + 1))
    for name, res in results.items():
        print(f"| {name} | " + " | ".join(f"{res.get(w, 0):,.0f}" for w in WORKLOADS) + " |")

    c = results.get("cellardb(normal)")
    if c:
        print("\nratios (cellardb sync=normal vs peer; target in brackets)")

        def ratio(label, mine, peer_name, peer_w, target):
            peer = results.get(peer_name, {}).get(peer_w)
            if peer:
                r = c[mine] / peer
                flag = "ok" if r >= target else "BELOW TARGET"
                print(f"  {label:<44} {r:8.2f}x  [>= {target}x] {flag}")

        ratio("get vs lmdb get in one read txn", "get", "lmdb(sync)", "get", 1.5)
        ratio("get vs lmdb(nosync) get in one read txn", "get", "lmdb(nosync)", "get", 1.5)
        ratio("autocommit put vs lmdb put-per-txn (sync)", "put", "lmdb(sync)", "put", 3.0)
        ratio("autocommit put vs lmdb put-per-txn (nosync)", "put", "lmdb(nosync)", "put", 2.0)
        ratio("put_many vs lmdb putmulti (nosync)", "bulk", "lmdb(nosync)", "bulk", 1.0)
        ratio("get vs sqlite3", "get", "sqlite3", "get", 3.0)
        ratio("put vs sqlite3", "put", "sqlite3", "put", 3.0)
        ratio("delete vs sqlite3", "delete", "sqlite3", "delete", 3.0)
        ratio("scan vs sqlite3", "scan", "sqlite3", "scan", 3.0)
        ratio("txn100 vs sqlite3", "txn100", "sqlite3", "txn100", 3.0)
        ratio("txn100 vs lmdb batched (sync)", "txn100", "lmdb(sync)", "txn100", 1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
