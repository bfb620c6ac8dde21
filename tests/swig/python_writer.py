"""Write the interop fixture with the Python binding, for the SWIG tests.

usage: python3 python_writer.py PATH
Exit status 77 (and a message) when the Python binding cannot be imported,
so that the caller reports a skip, never a pass.
"""
import sys

try:
    import cellardb
except ImportError as e:  # the Python binding is not built here
    print("cannot import the Python binding: %s" % e)
    sys.exit(77)

path = sys.argv[1]
db = cellardb.open(path, "n")
db[b"from-python"] = b"hello from python"
db[b"binary\x00key"] = bytes(range(256))
db[b""] = b""
db["text"] = "caf\u00e9"  # str is stored as UTF-8
for i in range(100):
    db[b"n%03d" % i] = str(i).encode()
db.close()
print("written")
