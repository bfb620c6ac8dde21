"""The Python side of the cross-language interop test (driven by interop.py).

usage: python3 worker.py write PLAN DB | read PLAN DB...
(the plan format is described in interop_c.c)
"""
import sys

import cellardb


def decode(tok):
    if tok[0] == "p":
        n = int(tok[1:])
        pat = bytes(range(251))
        return (pat * (n // 251 + 1))[:n]
    return bytes.fromhex(tok[1:])


def read_plan(path):
    ops = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            t = line.split(" ")
            kind, rest = t[0], t[1:]
            if kind == "ttl":
                ops.append((kind, [(decode(rest[0]), decode(rest[1]))], int(rest[2])))
            else:
                pairs = [(decode(rest[i]), decode(rest[i + 1])) for i in range(0, len(rest), 2)]
                ops.append((kind, pairs, 0))
    return ops


def write(ops, path):
    db = cellardb.open(path, "n")
    for kind, pairs, ttl in ops:
        if kind == "put":
            db[pairs[0][0]] = pairs[0][1]
        elif kind == "ttl":
            db.set(pairs[0][0], pairs[0][1], ttl=ttl / 1000.0)
        else:
            tx = db.transaction()
            for k, v in pairs:
                tx[k] = v
            if kind == "commit":
                tx.commit()
            else:
                tx.abort()
    db.close()


def verify(ops, path):
    db = cellardb.open(path, "r")
    try:
        present = 0
        for kind, pairs, ttl in ops:
            for i, (k, v) in enumerate(pairs):
                got = db.get(k)
                if kind == "abort":
                    if got is not None or k in db:
                        return "key %d of the aborted transaction is present" % i
                    continue
                if got is None:
                    return "%s record (%d-byte key) is missing" % (kind, len(k))
                if got != v:
                    return "%s record (%d-byte key): %d-byte value differs (want %d bytes)" % (
                        kind, len(k), len(got), len(v))
                present += 1
                if kind == "ttl":
                    left = db.ttl(k)
                    if left is None or not 0 < left <= ttl / 1000.0:
                        return "ttl of the TTL record is %r s" % (left,)
        if len(db) != present:
            return "len %d, want %d" % (len(db), present)
        return None
    finally:
        db.close()


def main(argv):
    if len(argv) < 3 or argv[0] not in ("write", "read"):
        print(__doc__, file=sys.stderr)
        return 2
    ops = read_plan(argv[1])
    if argv[0] == "write":
        write(ops, argv[2])
        return 0
    failed = 0
    for path in argv[2:]:
        why = verify(ops, path)
        if why:
            print("FAIL %s: %s" % (path, why))
            failed = 1
        else:
            print("PASS %s" % path)
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
