"""Two-phase writes: uploads (:class:`PendingObject`) and in-place edits (:class:`EditSession`).

Both follow Android's begin/end model so that a cancelled or failed transfer leaves nothing:

* An upload reserves its handle and name at ``begin_create`` (SendObjectInfo) and writes into a
  temp file *on the destination folder's file system* (so the final step is a link or a
  rename): nameless where the OS allows, else hidden in that folder (:mod:`.tempfiles`).
  ``commit()`` gives it its name and makes the object visible; ``abort()`` throws the temp file
  away.
* An edit (BeginEditObject) copies the file to a temp file next to it -- O(size) at begin, the
  price of leaving the original untouched until EndEditObject. ``commit()`` replaces the
  original with the copy (``os.replace``: atomic -- except over an empty original, see
  ``core._replace_with_edit``; the file gets a new inode, so hard links to
  the old one keep the old content); ``abort()`` throws the copy away.

Any OS error while writing aborts the transfer and raises a :class:`StoreError`
(``STORE_FULL`` for a full disk or when the write would eat into the storage's reserve).
Both objects are context managers: leaving the ``with`` block without ``commit()`` aborts.
Neither is thread-safe on its own: one transfer is driven by one session.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Self

from openwpd.protocol.codes import ResponseCode

from .errors import StoreError, from_os_error
from .objects import StoredObject
from .tempfiles import TempFile

if TYPE_CHECKING:
    from .core import ObjectStore
    from .storage import Storage


class _State(enum.Enum):
    OPEN = "open"
    COMMITTED = "committed"
    ABORTED = "aborted"


#: a transfer asks the file system for its free space again after at most this much growth
#: (or half of what was free at the last look, whichever is less); not once per packet
ROOM_RECHECK = 64 * 1024 * 1024


class _Transfer(ABC):
    """What uploads and edits share: the temp file, the state, the error policy."""

    def __init__(self, store: ObjectStore, storage: Storage, handle: int) -> None:
        self._store = store
        self._storage = storage
        self.handle = handle
        self._state = _State.OPEN
        self._temp: TempFile | None = None
        self._file: BinaryIO | None = None
        self._size = 0
        self._pos: int | None = None  # where the file's position is, when known
        self._room = 0  # growth allowed before the free space is looked at again
        #: paths of hidden temp files recorded in the state database (cleared when finished)
        self._recorded: list[str] = []

    @property
    def is_open(self) -> bool:
        """True until ``commit()`` or ``abort()``."""
        return self._state is _State.OPEN

    @property
    def size(self) -> int:
        """Current length of the data written so far (end of the furthest write)."""
        return self._size

    def _set_committed(self) -> None:
        self._state = _State.COMMITTED

    def _set_aborted(self) -> bool:
        """Move to ABORTED; False if the transfer was already finished."""
        if self._state is not _State.OPEN:
            return False
        self._state = _State.ABORTED
        return True

    def _check_open(self) -> None:
        if self._state is not _State.OPEN:
            raise StoreError(ResponseCode.GENERAL_ERROR, f"transfer already {self._state.value}")

    def _write(self, offset: int | None, data: bytes) -> None:
        self._check_open()
        start = self._size if offset is None else offset
        try:
            if start < 0:
                raise StoreError(ResponseCode.INVALID_PARAMETER, "negative offset")
            if self._file is None:
                raise StoreError(ResponseCode.INVALID_PARAMETER, "a folder has no data")
            self._reserve(start + len(data) - self._size)
            if offset is not None and offset != self._pos:
                self._file.seek(offset)
            self._pos = None
            self._file.write(data)
            self._pos = start + len(data)
        except StoreError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise from_os_error(exc, "write") from exc
        self._size = max(self._size, start + len(data))

    def _reserve(self, growth: int) -> None:
        """STORE_FULL unless ``growth`` more bytes fit; statfs only every so often (see
        ROOM_RECHECK): a look per 1 MiB packet was a system call per packet."""
        if growth <= 0:
            return
        if growth <= self._room:
            self._room -= growth
            return
        free = self._storage.free_bytes
        if growth > free:
            raise StoreError(ResponseCode.STORE_FULL, f"storage 0x{self._storage.id:08X} is full")
        self._room = min((free - growth) // 2, ROOM_RECHECK)

    def write_at(self, offset: int, data: bytes) -> None:
        """Write ``data`` at byte ``offset`` (a gap reads back as zeros)."""
        self._write(offset, data)

    @abstractmethod
    def abort(self) -> None:
        """Throw the transfer away; nothing of it stays on disk. Idempotent."""

    def _take_temp(self) -> TempFile | None:
        """The temp file, now the caller's to close or discard."""
        temp, self._temp, self._file = self._temp, None, None
        return temp

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state is _State.OPEN:
            self.abort()


class PendingObject(_Transfer):
    """An upload between SendObjectInfo and the end of SendObject.

    ``handle`` is reserved (answer it in SendObjectInfo's response) but :meth:`ObjectStore.get`
    does not know it until :meth:`commit`. ``declared_size`` is what the initiator announced
    (None if unknown, e.g. ObjectInfo size 0xFFFFFFFF); the store does not enforce it --
    the handler compares it with :attr:`size` and aborts a short transfer.
    """

    def __init__(
        self,
        store: ObjectStore,
        storage: Storage,
        handle: int,
        *,
        key: int,
        name: str,
        is_folder: bool,
        declared_size: int | None,
        mtime: datetime | None,
        temp: TempFile | None,
    ) -> None:
        super().__init__(store, storage, handle)
        self.storage_id = storage.id
        self.name = name
        self.is_folder = is_folder
        self.declared_size = declared_size
        self.mtime = mtime
        self._key = key
        self._temp = temp
        self._file = None if temp is None else temp.file

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` to the data."""
        self._write(None, chunk)

    def commit(self) -> StoredObject:
        """Rename the data into place (or create the folder), apply the initiator's
        DateModified, make the object visible and return it. With no data written the file
        is empty. On failure the upload is aborted and a :class:`StoreError` raised
        (:class:`NameExistsError` if another program took the name meanwhile)."""
        return self._store._commit_pending(self)

    def abort(self) -> None:
        """Delete the temp file and release the name; the handle is never reused."""
        self._store._abort_pending(self)


class EditSession(_Transfer):
    """An Android edit session (BeginEditObject ... EndEditObject) on a copy of the file."""

    def __init__(
        self,
        store: ObjectStore,
        storage: Storage,
        handle: int,
        temp: TempFile,
        *,
        size: int,
    ) -> None:
        super().__init__(store, storage, handle)
        self._temp = temp
        self._file = temp.file
        self._size = size

    def truncate(self, length: int) -> None:
        """Cut (or zero-extend) the data to ``length`` bytes (TruncateObject)."""
        self._check_open()
        try:
            if length < 0:
                raise StoreError(ResponseCode.INVALID_PARAMETER, "negative length")
            self._reserve(length - self._size)
            assert self._file is not None
            self._file.truncate(length)
        except StoreError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise from_os_error(exc, "truncate") from exc
        self._size = length

    def commit(self) -> StoredObject:
        """Replace the original with the edited copy (EndEditObject); returns the updated
        object. On failure the edit is aborted and the original stays as it was."""
        return self._store._commit_edit(self)

    def abort(self) -> None:
        """Drop the edited copy; the original is untouched. Idempotent."""
        self._store._abort_edit(self)
