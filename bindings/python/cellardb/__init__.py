"""cellardb: an embedded key-value store, as a dbm-compatible mapping of bytes.

    import cellardb
    with cellardb.open("data.cdb", "c") as db:
        db[b"user:1"] = b"alice"          # str keys/values are stored as UTF-8
        db.set("session", "x", ttl=60)    # expires after 60 s
        with db.transaction() as tx:      # commits here, rolls back on an exception
            tx["a"] = tx.get("b", b"0")
        for key, value in db.items():     # streams, constant memory
            ...

cellardb.open(path, flag) takes dbm's flags ('r', 'w', 'c', 'n'), and
cellardb.error is an OSError, so the module drops in where a dbm module is
used (and under shelve.Shelf: see open_shelf). Every data path (get, put,
delete, iteration, batches, transactions) is native code that releases the
GIL while it waits or touches the disk; one database may be shared by threads.
"""
import random as _random
import time as _time
from collections.abc import ItemsView as _ItemsView
from collections.abc import MutableMapping as _MutableMapping
from collections.abc import ValuesView as _ValuesView

from . import _cellardb
from . import _notebook
from ._cellardb import (  # noqa: F401  (re-exported)
    MAX_KEY_SIZE,
    MAX_VALUE_SIZE,
    AccessError,
    BusyError,
    CanceledError,
    ClosedError,
    ConflictError,
    CorruptError,
    DiskIOError,
    Error,
    ForkError,
    IntegerOverflowError,
    InternalError,
    InvalidArgumentError,
    Iterator,
    LockedError,
    ManualClock,
    MismatchError,
    NoMemoryError,
    NoSpaceError,
    NoSuchFileError,
    NotADatabaseError,
    NotANumberError,
    NotFoundError,
    ReadOnlyError,
    TooLargeError,
    Transaction,
    VersionError,
    __version__,
    core_version,
    error,
    error_classes,
    error_codes,
    strerror,
)

# The core's error codes as constants: cellardb.CELLAR_ENOTFOUND == -1, ...
globals().update({_name: getattr(_cellardb, _name) for _name in error_codes})

__all__ = [
    "open", "open_shelf", "salvage", "Database", "Transaction", "Iterator", "ManualClock",
    "error", "Error", "NotFoundError", "InvalidArgumentError", "TooLargeError",
    "NoMemoryError", "DiskIOError", "NoSpaceError", "CorruptError", "LockedError",
    "ReadOnlyError", "ConflictError", "ClosedError", "NotANumberError", "VersionError",
    "NotADatabaseError", "MismatchError", "IntegerOverflowError", "ForkError",
    "NoSuchFileError", "AccessError", "BusyError", "CanceledError", "InternalError",
    "MAX_KEY_SIZE", "MAX_VALUE_SIZE", "__version__",
]


class ItemsView(_ItemsView):
    """The items of a Database: iterating streams (key, value) pairs."""

    __slots__ = ()

    def __iter__(self):
        return self._mapping.iteritems()

    def __contains__(self, item):
        key, value = item
        current = self._mapping.get(key)
        if current is None:
            return False
        if isinstance(value, str):
            value = value.encode("utf-8")
        return current == value


class ValuesView(_ValuesView):
    """The values of a Database: iterating streams them."""

    __slots__ = ()

    def __iter__(self):
        return self._mapping.itervalues()


class Database(_cellardb.Database, _MutableMapping):
    """An open cellardb database: a MutableMapping of bytes to bytes.

    Keys and values are bytes; str is accepted and stored UTF-8 encoded;
    bytearray and memoryview are accepted as input; other types raise
    TypeError. Reading a missing key raises NotFoundError, which is a KeyError.

    keys() returns a list (as dbm modules do); iterating the database,
    items() and values() stream in constant memory. len() is the record count.
    Use cellardb.open() to make one; `with` closes it.
    """

    __slots__ = ()

    # A database is equal only to itself (not compared item by item as the
    # Mapping mixin would) and hashable, like a file object.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __reduce_ex__(self, protocol):
        # An open file handle cannot travel: pickle the path and reopen instead.
        raise TypeError(f"cannot pickle {type(self).__name__!r} object (an open database)")

    def items(self):
        """A view of the (key, value) pairs; iterating it streams."""
        return ItemsView(self)

    def values(self):
        """A view of the values; iterating it streams."""
        return ValuesView(self)

    def transact(self, fn, *, retries=10, readonly=False):
        """Run fn(tx) in a transaction and commit; on ConflictError, run it again.

        fn may run several times (up to retries + 1), so it should only touch
        the database through tx. Returns fn's result; re-raises the last
        ConflictError when every attempt conflicted, and any other exception
        at once (after rolling back).
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        if not isinstance(retries, int) or isinstance(retries, bool):
            raise TypeError(f"retries must be an int, not {type(retries).__name__}")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        for attempt in range(retries + 1):
            try:
                with self.transaction(readonly=readonly) as tx:
                    result = fn(tx)
                return result
            except ConflictError:
                if attempt == retries:
                    raise
                # back off a little, with jitter, so competing writers spread out
                _time.sleep(min(0.0005 * (2 ** attempt), 0.05) * _random.random())
        raise AssertionError("unreachable")

    # Long operations take progress=None (a tqdm bar when tqdm is installed and
    # the session is interactive), True (a bar if tqdm is installed), False, or
    # a callable(done, total) that may return True (or raise) to cancel.

    def compact(self, progress=None):
        """Rebuild the file without free space and shrink it (see _cellardb)."""
        with _notebook.progress_callback(progress, "compact") as cb:
            return super().compact(progress=cb)

    def backup(self, path, progress=None):
        """Write a consistent copy to path while other threads go on working."""
        with _notebook.progress_callback(progress, "backup") as cb:
            return super().backup(path, progress=cb)

    def check(self, progress=None):
        """Verify every page and structure; a list of (page, message) problems."""
        with _notebook.progress_callback(progress, "check") as cb:
            return super().check(progress=cb)

    def dump(self, path, progress=None):
        """Write every record to path in the portable text dump format."""
        with _notebook.progress_callback(progress, "dump") as cb:
            return super().dump(path, progress=cb)

    def load(self, path, progress=None):
        """Store every record of a dump written by dump() or the cellardb tool."""
        with _notebook.progress_callback(progress, "load") as cb:
            return super().load(path, progress=cb)

    def bulk_import(self, items, *, batch_size=10000, progress=None, total=None):
        """Store many pairs (a mapping or an iterable of pairs), batch_size per
        transaction, with a progress bar. Returns the number of pairs stored.
        Each batch is atomic; the import as a whole is not."""
        return _notebook.bulk_import(self, items, batch_size=batch_size,
                                     progress=progress, total=total)

    def reorganize(self):
        """dbm.gnu's name for compact()."""
        self.compact(progress=False)

    # ---- notebook helpers ----

    def sample(self, n=5, *, exact=False):
        """A few (key, value) pairs: see cellardb._notebook.sample."""
        return _notebook.sample(self, n, exact=exact)

    def to_pandas(self, limit=None, *, decode=None, key_decode=None, value_decode=None):
        """A pandas DataFrame with columns key and value: see _notebook.to_pandas."""
        return _notebook.to_pandas(self, limit, decode=decode, key_decode=key_decode,
                                   value_decode=value_decode)

    def _repr_html_(self):
        return _notebook.repr_html(self)


# A Transaction has the whole mapping API (keys/items/values return lists).
_MutableMapping.register(Transaction)


def open(path, flag="c", mode=0o666, *, cache_size=None, sync=None, page_size=None,
         lock_timeout=None, clock=None):
    """Open (or create) the database at path and return a Database.

    path: str, bytes or os.PathLike; the write-ahead log lives beside it at
        "<path>-wal".
    flag: as Python's dbm: 'r' read-only; 'w' read-write, the file must exist;
        'c' read-write, created if missing (default); 'n' a new empty database.
        A trailing 's' asks for sync='full' (as dbm.gnu); 'f' is accepted.
    mode: permission bits for a new file (the umask applies), default 0o666.
    cache_size: page cache budget in bytes, a hard bound (default: automatic,
        64 MiB growing with the data up to a quarter of physical memory).
    sync: 'normal' (the default: a commit survives a process crash; power loss
        may lose the last ~1 s), 'full' (fsync before each commit returns; also
        asked for by flag 's') or 'off' (nothing durable until sync/close).
    page_size: for a new file: a power of two from 4096 to 65536.
    lock_timeout: seconds to wait for another process's lock (default: fail at
        once with LockedError).
    clock: None (wall clock) or a ManualClock, which TTLs then follow: for
        testing expiry without waiting.

    Raises NoSuchFileError (a FileNotFoundError) for 'r'/'w' on a missing file,
    LockedError when another process has it open for writing,
    NotADatabaseError, CorruptError, VersionError, AccessError, ... all
    subclasses of cellardb.error (an OSError).
    """
    return Database(path, flag, mode, cache_size=cache_size, sync=sync, page_size=page_size,
                    lock_timeout=lock_timeout, clock=clock)


def open_shelf(path, flag="c", protocol=None, writeback=False, **options):
    """A shelve.Shelf (a persistent dict of pickled objects) stored in cellardb."""
    import shelve

    return shelve.Shelf(open(path, flag, **options), protocol=protocol, writeback=writeback)


def salvage(src, dest, progress=None):
    """Copy every readable record of a (possibly corrupt) file src into a new
    database at dest; returns the number of records copied."""
    with _notebook.progress_callback(progress, "salvage") as cb:
        return _cellardb.salvage(src, dest, progress=cb)
