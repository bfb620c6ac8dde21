# Type stubs for the cellardb package.
from collections.abc import Callable, ItemsView as _ItemsView, MutableMapping
from collections.abc import ValuesView as _ValuesView
import shelve
from typing import Any, Literal, TypeVar

from ._cellardb import (
    MAX_KEY_SIZE as MAX_KEY_SIZE,
    MAX_VALUE_SIZE as MAX_VALUE_SIZE,
    AccessError as AccessError,
    BusyError as BusyError,
    CanceledError as CanceledError,
    ClosedError as ClosedError,
    ConflictError as ConflictError,
    CorruptError as CorruptError,
    DiskIOError as DiskIOError,
    Error as Error,
    ForkError as ForkError,
    IntegerOverflowError as IntegerOverflowError,
    InternalError as InternalError,
    InvalidArgumentError as InvalidArgumentError,
    Iterator as Iterator,
    LockedError as LockedError,
    ManualClock as ManualClock,
    MismatchError as MismatchError,
    NoMemoryError as NoMemoryError,
    NoSpaceError as NoSpaceError,
    NoSuchFileError as NoSuchFileError,
    NotADatabaseError as NotADatabaseError,
    NotANumberError as NotANumberError,
    NotFoundError as NotFoundError,
    ReadOnlyError as ReadOnlyError,
    TooLargeError as TooLargeError,
    Transaction as Transaction,
    VersionError as VersionError,
    __version__ as __version__,
    core_version as core_version,
    error as error,
    error_classes as error_classes,
    error_codes as error_codes,
    strerror as strerror,
)
from ._cellardb import (
    CELLAR_OK as CELLAR_OK,
    CELLAR_ENOTFOUND as CELLAR_ENOTFOUND,
    CELLAR_EINVAL as CELLAR_EINVAL,
    CELLAR_ETOOBIG as CELLAR_ETOOBIG,
    CELLAR_ENOMEM as CELLAR_ENOMEM,
    CELLAR_EIO as CELLAR_EIO,
    CELLAR_ENOSPC as CELLAR_ENOSPC,
    CELLAR_ECORRUPT as CELLAR_ECORRUPT,
    CELLAR_ELOCKED as CELLAR_ELOCKED,
    CELLAR_EREADONLY as CELLAR_EREADONLY,
    CELLAR_ECONFLICT as CELLAR_ECONFLICT,
    CELLAR_ECLOSED as CELLAR_ECLOSED,
    CELLAR_ENAN as CELLAR_ENAN,
    CELLAR_EVERSION as CELLAR_EVERSION,
    CELLAR_ENOTDB as CELLAR_ENOTDB,
    CELLAR_EMISMATCH as CELLAR_EMISMATCH,
    CELLAR_EOVERFLOW as CELLAR_EOVERFLOW,
    CELLAR_EFORK as CELLAR_EFORK,
    CELLAR_ENOENT as CELLAR_ENOENT,
    CELLAR_EACCES as CELLAR_EACCES,
    CELLAR_EBUSY as CELLAR_EBUSY,
    CELLAR_ECANCELED as CELLAR_ECANCELED,
    CELLAR_EINTERNAL as CELLAR_EINTERNAL,
)
from ._cellardb import Database as _CDatabase
from ._cellardb import _Pairs, _Path

_T = TypeVar("_T")

__all__ = [
    "open", "open_shelf", "salvage", "Database", "Transaction", "Iterator", "ManualClock",
    "error", "Error", "NotFoundError", "InvalidArgumentError", "TooLargeError",
    "NoMemoryError", "DiskIOError", "NoSpaceError", "CorruptError", "LockedError",
    "ReadOnlyError", "ConflictError", "ClosedError", "NotANumberError", "VersionError",
    "NotADatabaseError", "MismatchError", "IntegerOverflowError", "ForkError",
    "NoSuchFileError", "AccessError", "BusyError", "CanceledError", "InternalError",
    "MAX_KEY_SIZE", "MAX_VALUE_SIZE", "__version__",
]
_Progress = bool | Callable[[int, int], bool | None] | None
_Decode = Literal["json", "bytes"] | str | Callable[[bytes], Any] | None

class ItemsView(_ItemsView[bytes, bytes]): ...
class ValuesView(_ValuesView[bytes]): ...

class Database(_CDatabase, MutableMapping[bytes, bytes]):  # type: ignore[misc]
    def items(self) -> ItemsView: ...  # type: ignore[override]
    def values(self) -> ValuesView: ...  # type: ignore[override]
    def transact(self, fn: Callable[[Transaction], _T], *, retries: int = 10,
                 readonly: bool = False) -> _T: ...
    def compact(self, progress: _Progress = None) -> None: ...
    def backup(self, path: _Path, progress: _Progress = None) -> None: ...
    def check(self, progress: _Progress = None) -> list[tuple[int, str]]: ...
    def dump(self, path: _Path, progress: _Progress = None) -> None: ...
    def load(self, path: _Path, progress: _Progress = None) -> None: ...
    def bulk_import(self, items: _Pairs, *, batch_size: int = 10000,
                    progress: _Progress = None, total: int | None = None) -> int: ...
    def reorganize(self) -> None: ...
    def sample(self, n: int = 5, *, exact: bool = False) -> list[tuple[bytes, bytes]]: ...
    def to_pandas(self, limit: int | None = None, *, decode: _Decode = None,
                  key_decode: _Decode = None, value_decode: _Decode = None) -> Any: ...
    def _repr_html_(self) -> str: ...

def open(path: _Path, flag: str = "c", mode: int = 0o666, *, cache_size: int | None = None,
         sync: Literal["normal", "full", "off"] | None = None, page_size: int | None = None,
         lock_timeout: float | None = None, clock: ManualClock | None = None) -> Database: ...
def open_shelf(path: _Path, flag: str = "c", protocol: int | None = None,
               writeback: bool = False, **options: Any) -> shelve.Shelf[Any]: ...
def salvage(src: _Path, dest: _Path, progress: _Progress = None) -> int: ...
