"""Resource streams: IStream + IPortableDeviceDataStream as Python binary file objects.

Theory of operation
-------------------
:class:`PortableDeviceDataStream` is an :class:`io.RawIOBase`, so it works wherever Python
wants a binary file (``shutil.copyfileobj``, ``io.BufferedReader``…), and it has IStream's and
IPortableDeviceDataStream's methods under WPD's names: ``read``, ``write``, ``seek`` (returns the
new position; origins STREAM_SEEK_SET/CUR/END), ``stat``, ``commit``, ``revert``, ``cancel``,
``get_object_id``.

*Read streams* (GetStream with STGM_READ) read the object's data where it is asked for: each
``read``/``readinto`` is one ranged read of the client (GetPartialObject64/GetPartialObject
windows, straight into the caller's buffer), so seeking is free and memory stays flat. The
thumbnail resource is read once (GetThumb) and served from memory.

*Write streams* (CreateObjectWithPropertiesAndData, UpdateObjectWithPropertiesAndData,
CreateResource, GetStream with STGM_WRITE/STGM_READWRITE) collect what is written in a
temporary file -- sparse where the caller seeks past the end -- and touch the device only in
``commit``: WPD's "the object does not exist until Commit". A create commit uploads the file
(the client deletes a partial object if the upload fails or is cancelled). A replace commit on
a device with the edit operations (Android's BeginEditObject ... EndEditObject with
TruncateObject) rewrites the object in one edit: it keeps its ID and persistent unique ID. Where
the device's edits work on a copy (openwpd's own device) a cut or cancelled commit leaves the old
data; where they work in place (Android) it may leave a mix of old and new data, as a phone's
own file manager would. On other devices a replace commit uploads the new data under a temporary
name next to the object, then -- as one step a cancel cannot split -- deletes the old object and
renames the new one, MTP having no other way to replace an object's data (Windows' MTP driver
does the same); the object's id then changes, and :meth:`get_object_id` gives the new one.
``revert`` (or ``close`` without ``commit``) discards the temporary file: nothing ever reaches
the device.

Cancel: every stream is a context of its handle (:mod:`openwpd.wpd.handle`). A handle-wide
cancel aborts a read or a commit in progress (it raises 0x800704C7) and tears the stream down:
later ``read``/``write``/``commit`` raise 0x800704C7, ``revert`` and ``close`` still work.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, cast

from openwpd.client import Entry, Storage
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import (
    E_INVALIDARG,
    E_UNEXPECTED,
    E_WPD_OBJECT_NOT_COMMITED,
    HRESULT_CANCELLED,
    WpdError,
)
from openwpd.wpd.objects import storage_info

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

    from openwpd.wpd.handle import WpdHandle

STGM_READ = 0
STGM_WRITE = 1
STGM_READWRITE = 2
STREAM_SEEK_SET = 0
STREAM_SEEK_CUR = 1
STREAM_SEEK_END = 2
STGC_DEFAULT = 0
STGTY_STREAM = 2

#: The optimal buffer size streams announce (bytes per read/write call).
OPTIMAL_BUFFER_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StatStg:
    """IStream::Stat: ``name`` (the object's file name), ``size`` in bytes, access ``mode``,
    ``type`` (STGTY_STREAM) and ``mtime`` when known."""

    name: str
    size: int
    mode: int
    type: int = STGTY_STREAM
    mtime: datetime | None = None


class _ViewWriter:
    """A write-only file object filling a memoryview (where ranged reads land)."""

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.done = 0

    def write(self, chunk: bytes) -> int:
        n = min(len(chunk), len(self.view) - self.done)
        self.view[self.done : self.done + n] = chunk[:n]
        self.done += n
        return len(chunk)


class PortableDeviceDataStream(io.RawIOBase):
    """The base of read and write streams (see the module docstring)."""

    def __init__(self, handle: WpdHandle, object_id: str, mode: int) -> None:
        super().__init__()
        self._handle = handle
        self._object_id = object_id
        self._mode = mode
        self._pos = 0
        self._aborted = False
        handle.register(self)

    # -- context protocol ---------------------------------------------------------------------

    def abort(self) -> None:
        """Torn down by a handle-wide cancel (see the module docstring)."""
        self._aborted = True

    def _check_live(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed stream")
        self._handle.check_open()
        if self._aborted:
            raise WpdError(HRESULT_CANCELLED, "the stream was cancelled")

    # -- WPD --------------------------------------------------------------------------------------

    def cancel(self) -> None:
        """IPortableDeviceDataStream::Cancel: cancels every pending operation of the handle."""
        self._handle.cancel()

    def get_object_id(self) -> str:
        """The id of the object this stream reads or wrote (a write stream: after commit)."""
        return self._object_id

    @property
    def size(self) -> int:
        """The stream's size in bytes."""
        raise NotImplementedError

    def stat(self) -> StatStg:
        """IStream::Stat."""
        raise NotImplementedError

    def seek(self, offset: int, origin: int = STREAM_SEEK_SET) -> int:
        """IStream::Seek: move to ``offset`` from the start, the current position or the end;
        returns the new position. WpdError(E_INVALIDARG) for a bad origin or a negative
        position."""
        if self.closed:
            raise ValueError("I/O operation on a closed stream")
        bases = {STREAM_SEEK_SET: 0, STREAM_SEEK_CUR: self._pos, STREAM_SEEK_END: self.size}
        if origin not in bases or bases[origin] + offset < 0:
            raise WpdError(E_INVALIDARG, f"cannot seek to {offset} from origin {origin}")
        self._pos = bases[origin] + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def commit(self, flags: int = STGC_DEFAULT) -> None:
        """IStream::Commit (a read stream has nothing to commit)."""
        self._check_live()

    def revert(self) -> None:
        """IStream::Revert (a read stream has nothing to revert)."""

    def close(self) -> None:
        """Release the stream (a write stream that was not committed is reverted)."""
        if not self.closed:
            self._handle.unregister(self)
        super().close()


class ReadStream(PortableDeviceDataStream):
    """A read stream over an object's data (see the module docstring)."""

    def __init__(
        self, handle: WpdHandle, entry: Entry, *, data: bytes | None = None, name: str = ""
    ) -> None:
        super().__init__(handle, m.object_id_for_handle(entry.handle), STGM_READ)
        self._entry = entry
        self._data = data
        self._name = name or entry.name

    @property
    def size(self) -> int:
        return len(self._data) if self._data is not None else self._entry.size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Read up to ``len(buffer)`` bytes at the current position; 0 at the end."""
        self._check_live()
        view = memoryview(buffer).cast("B")
        want = min(len(view), max(0, self.size - self._pos))
        if want == 0:
            return 0
        if self._data is not None:
            view[:want] = self._data[self._pos : self._pos + want]
            got = want
        else:
            sink = _ViewWriter(view[:want])
            entry, offset = self._entry, self._pos

            async def fetch() -> int:
                return await self._handle.client.download(
                    entry, cast(BinaryIO, sink), offset=offset, length=want
                )

            self._handle.call(fetch)
            got = sink.done
        self._pos += got
        return got

    def stat(self) -> StatStg:
        return StatStg(self._name, self.size, STGM_READ, mtime=self._entry.modified)


class WriteStream(PortableDeviceDataStream):
    """A write stream: creates (``parent`` given) or replaces (``target`` given) an object on
    commit (see the module docstring)."""

    def __init__(
        self,
        handle: WpdHandle,
        *,
        name: str,
        parent: Entry | Storage | None = None,
        target: Entry | None = None,
        mtime: datetime | None = None,
        mode: int = STGM_WRITE,
    ) -> None:
        super().__init__(handle, "", mode)
        self._name = name
        self._parent = parent
        self._target = target
        self._mtime = mtime
        self._spool = tempfile.TemporaryFile(prefix="openwpd-")  # noqa: SIM115
        self._done = False  # committed or reverted

    @property
    def size(self) -> int:
        if self._spool.closed:
            return 0
        self._spool.flush()
        return os.fstat(self._spool.fileno()).st_size

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return self._mode == STGM_READWRITE

    def _check_writable(self) -> None:
        self._check_live()
        if self._done:
            raise WpdError(E_UNEXPECTED, "the stream was already committed or reverted")

    def write(self, data: ReadableBuffer) -> int:
        """IStream::Write: store ``data`` at the current position; returns its length."""
        self._check_writable()
        self._spool.seek(self._pos)
        written = self._spool.write(memoryview(data).cast("B"))
        self._pos += written
        return written

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Read back what the stream holds (STGM_READWRITE streams only)."""
        self._check_writable()
        if self._mode != STGM_READWRITE:
            raise WpdError(E_UNEXPECTED, "a write-only stream cannot be read")
        self._spool.seek(self._pos)
        got = self._spool.readinto(buffer)
        self._pos += got
        return got

    def stat(self) -> StatStg:
        return StatStg(self._name, self.size, self._mode, mtime=self._mtime)

    def get_object_id(self) -> str:
        """The id of the object written; WpdError(E_WPD_OBJECT_NOT_COMMITED) before commit."""
        if not self._object_id:
            raise WpdError(E_WPD_OBJECT_NOT_COMMITED)
        return self._object_id

    def commit(self, flags: int = STGC_DEFAULT) -> None:
        """IStream::Commit: create or replace the object on the device (blocking). A cancel
        during the commit leaves nothing new on the device and raises 0x800704C7."""
        self._check_writable()
        self._handle.check_writable()
        size = self.size
        entry = self._handle.call(lambda: self._upload(size))
        self._object_id = m.object_id_for_handle(entry.handle)
        self._done = True
        self._spool.close()

    async def _upload(self, size: int) -> Entry:
        client = self._handle.client
        self._spool.seek(0)
        if self._target is None:
            assert self._parent is not None
            return await client.upload(
                cast(BinaryIO, self._spool),
                self._parent,
                name=self._name,
                size=size,
                mtime=self._mtime,
            )
        old = self._target
        if client.edits:
            # the device edits existing files: the object keeps its ID and persistent unique ID
            entry = await client.overwrite(
                old, cast(BinaryIO, self._spool), size, mtime=self._mtime
            )
            if entry.name != self._name:  # UpdateObjectWithPropertiesAndData with a new name
                entry = await client.rename(entry, self._name)
            return entry
        parent: Entry | Storage
        if old.parent:
            parent = await client.entry(old.parent)
        else:
            parent = await storage_info(client, old.storage_id)
        temp_name = f".{self._name}.openwpd-{os.urandom(4).hex()}"
        new = await client.upload(self._spool, parent, name=temp_name, size=size, mtime=self._mtime)

        aux = self._handle.aux

        async def swap() -> Entry:
            await aux.delete(old)
            return await aux.rename(new, self._name)

        # Past this point the commit is finished, not abandoned: the swap runs on the handle's
        # internal client handle (a Cancel of the handle does not reach it) and a cancel of
        # this task waits for it and reports the commit as done.
        swapping = asyncio.ensure_future(swap())
        while True:
            try:
                return await asyncio.shield(swapping)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()

    def revert(self) -> None:
        """IStream::Revert: abandon what was written; nothing reaches the device."""
        if not self._done:
            self._done = True
            self._spool.close()

    def close(self) -> None:
        if not self.closed:
            self.revert()
        super().close()


__all__ = [
    "OPTIMAL_BUFFER_SIZE",
    "STGC_DEFAULT",
    "STGM_READ",
    "STGM_READWRITE",
    "STGM_WRITE",
    "STGTY_STREAM",
    "STREAM_SEEK_CUR",
    "STREAM_SEEK_END",
    "STREAM_SEEK_SET",
    "PortableDeviceDataStream",
    "ReadStream",
    "StatStg",
    "WriteStream",
]
