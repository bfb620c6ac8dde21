"""A short run through every data path of the Python binding, for valgrind
memcheck (tests/python/sanitize.sh runs it). Not a pytest file: the calls
themselves are the checks."""
import os
import tempfile

import cellardb

d = tempfile.mkdtemp()
p = os.path.join(d, "v.cdb")
for _round in range(2):
    db = cellardb.open(p, "n", clock=cellardb.ManualClock())
    db.update({b"k%d" % i: b"v" * (i % 600) for i in range(300)})
    for k in db:
        db[k]
    list(db.items())
    db.keys()
    list(db.values())
    db.get_many([b"k1", b"zz"])
    db.incr(b"n")
    db.cas(b"n", b"1", b"5")
    db.set(b"t", b"x", ttl=5)
    db.ttl(b"t")
    db.expire(b"t", 1)
    db.persist(b"t")
    try:
        db[b"nope"]
    except KeyError:
        pass
    try:
        db[1]
    except TypeError:
        pass
    with db.transaction() as tx:
        tx[b"a"] = b"1"
        tx.get(b"k2")
        del tx[b"k3"]
        len(tx)
        tx.keys()
        tx.items()
    t = db.transaction()
    t[b"x"] = b"y"
    del t
    it = iter(db)
    next(it)
    db.stats()
    db.check(progress=False)
    db.compact(progress=lambda done, total: False)
    db.backup(p + ".bak")
    db.dump(p + ".dump")
    db.pop(b"k4")
    db.popitem()
    db.setdefault(b"sd", b"v")
    db.clear()
    db.close()
    try:
        next(it)
    except cellardb.ClosedError:
        pass
    del it
cellardb.salvage(p + ".bak", p + ".salv")
