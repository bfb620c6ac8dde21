"""One database shared by many threads: the GIL is released around core calls,
and close() waits for the calls in flight."""
import threading
import time


import cellardb


def run_threads(n, target, *args):
    errors = []

    def wrap(i):
        try:
            target(i, *args)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_threads_hammer_one_db(db):
    per = 500

    def worker(i):
        for j in range(per):
            k = b"t%d-%d" % (i, j)
            db[k] = b"v%d" % j
            assert db[k] == b"v%d" % j
            if j % 7 == 0:
                del db[k]
            if j % 50 == 0:
                len(db)
                db.incr(b"counter")
                db.get_many([k, b"nope"])

    run_threads(6, worker)
    expected = sum(1 for j in range(per) if j % 7 != 0) * 6 + 1
    assert len(db) == expected
    assert db[b"counter"] == b"%d" % (6 * (per // 50))


def test_threads_iterate_while_writing(db):
    db.put_many([(b"base%d" % i, b"x") for i in range(2000)])
    stop = threading.Event()

    def writer(i):
        j = 0
        while not stop.is_set():
            db[b"w%d-%d" % (i, j % 500)] = b"y"
            j += 1

    def reader(i):
        for _ in range(3):
            keys = set(db)
            assert {b"base%d" % k for k in range(2000)} <= keys

    ws = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for w in ws:
        w.start()
    try:
        run_threads(2, reader)
    finally:
        stop.set()
        for w in ws:
            w.join()


def test_incr_is_atomic_across_threads(db):
    def worker(i):
        for _ in range(300):
            db.incr(b"n")

    run_threads(4, worker)
    assert db[b"n"] == b"1200"


def test_gil_released_during_long_operation(db):
    """While one thread is inside compact (a long core call), another thread
    runs Python code: only possible if the GIL was released."""
    db.put_many([(b"k%d" % i, b"v" * 100) for i in range(20000)])
    for i in range(0, 20000, 2):
        del db[b"k%d" % i]
    in_compact = threading.Event()
    done = threading.Event()
    ticks = []

    def ticker():
        while not done.is_set():
            if in_compact.is_set():
                ticks.append(1)
            time.sleep(0.0005)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        in_compact.set()
        db.compact(progress=False)
        in_compact.clear()
    finally:
        done.set()
        t.join()
    assert ticks, "no other thread ran during compact: was the GIL held?"


def test_concurrent_close(path):
    db = cellardb.open(path, "n")
    db.put_many([(b"k%d" % i, b"v") for i in range(1000)])
    started = threading.Event()

    def user(i):
        started.set()
        try:
            while True:
                for k in db:
                    db.get(k)
                db[b"x%d" % i] = b"1"
        except cellardb.ClosedError:
            return

    threads = [threading.Thread(target=user, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.05)
    db.close()  # waits for calls in flight; the users then get ClosedError
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    with cellardb.open(path, "r") as again:
        assert len(again) >= 1000


def test_close_from_two_threads(path):
    db = cellardb.open(path, "n")
    db[b"a"] = b"1"
    run_threads(4, lambda i: db.close())
    assert db.closed


def test_shared_transaction_refused(db):
    """A transaction is for one thread at a time: concurrent use raises, never races."""
    tx = db.transaction()
    errors = []

    def user(i):
        for j in range(2000):
            try:
                tx[b"k%d" % (j % 10)] = b"v"
                tx.get(b"k1")
            except RuntimeError as exc:
                errors.append(exc)
            except cellardb.error:
                pass

    run_threads(4, user)
    tx.rollback()
    # Whether a collision happened is up to the scheduler; no crash is the point.
    for e in errors:
        assert "one thread" in str(e)


def test_threads_each_with_own_handle(path):
    cellardb.open(path, "n").close()

    def worker(i):
        with cellardb.open(path, "c") as d:
            for j in range(200):
                d[b"%d-%d" % (i, j)] = b"v"

    run_threads(4, worker)
    with cellardb.open(path, "r") as d:
        assert len(d) == 800
