"""Open files of the mount: read-ahead for readers, streamed writes for writers.

Theory of operation
-------------------
These objects live on the FUSE worker threads; everything that talks to the device runs as a
coroutine on the mount's event loop through :class:`Bridge`, which waits for it in slices and
gives up when the kernel interrupts the request (the program was killed, Ctrl-C on ``cp``): the
coroutine's task is then cancelled, which the client turns into a cancel *on the wire*, and the
operation returns EINTR while the session goes on serving the other open files.

Every open file has a client handle of its own: the client's scheduler gives each handle a
turn in round robin, so two readers of big files share the one MTP session fairly.

Reads (:class:`Reader`): random reads fetch exactly what is asked (GetPartialObject64). Once a
reader is seen going forward (a read starting where the previous one ended), the file is read
in chunks of :data:`CHUNK` bytes, :data:`AHEAD` of them ahead of the reader, so the wire stays
busy while the program consumes what came; chunks behind the reader are dropped.

Writes on a device with Android's edit operations (:class:`EditWriter`): the object exists from
``create`` on (empty); the first write opens an edit, appended data is gathered into chunks of
:data:`CHUNK` bytes and each full chunk is sent (SendPartialObject) while the next one fills, at
most one in flight: the file streams to the device as it is written, nothing is spooled. A write
elsewhere (not appending) is sent as it is. ``flush`` (every ``close``) and ``fsync`` send what
is left and end the edit: the device's verdict (EndEditObject) is the verdict of ``close``. A
failed send is reported by the next write or the close; a new file whose writing failed, or
whose writer was killed by a signal, is deleted, so nothing partial stays on the device.

Writes on a device without edit operations (:class:`SpoolWriter`), or with ``--spool``: MTP
wants the size of a file before its first byte (SendObjectInfo), so the data is gathered in a
spool file in the user's cache directory (an existing file is first downloaded there, after
checking the free space), and uploaded on ``flush`` under a temporary name that then replaces
the original: a failed upload leaves the original as it was and fails the ``close``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from openwpd.client import Entry, Handle
from openwpd.mount.tree import DeviceTree, FsError

log = logging.getLogger("openwpd.mount")

T = TypeVar("T")

#: bytes per read-ahead chunk and per streamed write (one transaction each)
CHUNK = 8 * 1024 * 1024
#: chunks read ahead of a sequential reader
AHEAD = 2
#: streamed write chunks queued for the wire at once
IN_FLIGHT = 2
#: how often a waiting FUSE thread checks whether its request was interrupted
POLL_SECONDS = 0.05


class Bridge:
    """Runs coroutines on the mount's loop for FUSE threads (see the module docstring).
    ``interrupted()`` says whether the current FUSE request was interrupted or the mount is
    stopping; it is called on the waiting thread."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, interrupted: Callable[[], bool] | None = None
    ) -> None:
        self.loop = loop
        self.interrupted = interrupted or (lambda: False)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` and return its result; an interrupt cancels it (on the wire) and raises
        FsError(EINTR)."""
        return self.wait(self.submit(coro), cancel=True)

    def wait(self, future: concurrent.futures.Future[T], *, cancel: bool) -> T:
        while True:
            try:
                return future.result(POLL_SECONDS)
            except concurrent.futures.TimeoutError:
                if self.interrupted():
                    if cancel:
                        future.cancel()
                    raise FsError(errno.EINTR) from None
            except concurrent.futures.CancelledError:
                raise FsError(errno.EINTR) from None


class OpenFile:
    """What every open file has: its client handle and entry."""

    def __init__(self, bridge: Bridge, tree: DeviceTree, handle: Handle, entry: Entry) -> None:
        self.bridge = bridge
        self.tree = tree
        self.handle = handle
        self.entry = entry

    def close(self) -> None:
        """Release: cancel what is left on this file's handle, then detach it."""
        self.bridge.submit(self.handle.aclose())


class Reader(OpenFile):
    """Reads with read-ahead (see the module docstring)."""

    def __init__(self, bridge: Bridge, tree: DeviceTree, handle: Handle, entry: Entry) -> None:
        super().__init__(bridge, tree, handle, entry)
        self._lock = threading.Lock()
        self._chunks: dict[int, concurrent.futures.Future[bytes]] = {}
        self._next = -1  # where the previous read ended
        self._sequential = False

    def _fetch(self, offset: int, length: int) -> concurrent.futures.Future[bytes]:
        return self.bridge.submit(self.handle.read(self.entry, offset, length))

    def read(self, offset: int, size: int) -> bytes:
        if self.entry.size_exact and offset >= self.entry.size:
            return b""
        with self._lock:
            sequential = offset == self._next or (offset == 0 and self._next == -1)
            self._sequential = sequential or (self._sequential and self._covered(offset))
            self._next = offset + size
            if not self._sequential:
                random = True
            else:
                random = False
                first, last = offset // CHUNK, (offset + size - 1) // CHUNK
                futures = [self._chunk(i) for i in range(first, last + 1)]
                for i in range(last + 1, last + 1 + AHEAD):
                    if self.entry.size_exact and i * CHUNK >= self.entry.size:
                        break
                    self._chunk(i)
                for i in [i for i in self._chunks if i < first - 1]:
                    self._chunks.pop(i).cancel()
        if random:
            return self.bridge.call(self.handle.read(self.entry, offset, size))
        parts: list[bytes] = []
        position = offset
        end = offset + size
        for index, future in zip(range(first, last + 1), futures, strict=True):
            chunk = self.bridge.wait(future, cancel=False)
            base = index * CHUNK
            piece = chunk[position - base : end - base]  # no copy of the whole chunk
            parts.append(piece)
            position += len(piece)
            if len(chunk) < CHUNK or position >= end:
                break  # the end of the file
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _covered(self, offset: int) -> bool:
        return offset // CHUNK in self._chunks

    def _chunk(self, index: int) -> concurrent.futures.Future[bytes]:
        future = self._chunks.get(index)
        if future is None or future.cancelled():
            future = self._fetch(index * CHUNK, CHUNK)
            self._chunks[index] = future
        return future

    def close(self) -> None:
        with self._lock:
            for future in self._chunks.values():
                future.cancel()
            self._chunks.clear()
        super().close()


class Writer(OpenFile):
    """The interface the FUSE layer uses for files opened for writing."""

    #: created by this open (a killed writer's file is deleted)
    created = False

    def read(self, offset: int, size: int) -> bytes:
        raise NotImplementedError

    def write(self, data: bytes, offset: int) -> int:
        raise NotImplementedError

    def truncate(self, size: int) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        """Send everything and return the device's verdict (raises FsError)."""
        raise NotImplementedError

    def abort(self) -> None:
        """The writer was killed: leave nothing partial (see the module docstring)."""
        raise NotImplementedError

    @property
    def size(self) -> int:
        raise NotImplementedError


class EditWriter(Writer):
    """Streamed writes through an edit (see the module docstring)."""

    def __init__(
        self,
        bridge: Bridge,
        tree: DeviceTree,
        handle: Handle,
        entry: Entry,
        *,
        created: bool,
    ) -> None:
        super().__init__(bridge, tree, handle, entry)
        self.created = created
        self._lock = threading.Lock()
        self._size = entry.size
        self._device_size = entry.size  # what the device holds, with the sends in flight
        self._pending = bytearray()
        self._pending_at = 0
        self._inflight: list[concurrent.futures.Future[None]] = []
        self._editing = False
        self._error: BaseException | None = None
        self._dirty = False

    @property
    def size(self) -> int:
        return self._size

    def _raise_error(self) -> None:
        if self._error is not None:
            error = self._error
            if isinstance(error, OSError):
                raise FsError(error.errno or errno.EIO, str(error))
            from openwpd.mount.tree import errno_of

            raise FsError(errno_of(error, self.entry.name), str(error))

    async def _send(
        self,
        after: concurrent.futures.Future[None] | None,
        begin: bool,
        offset: int,
        data: bytes,
        extend: bool,
    ) -> None:
        if after is not None:
            await asyncio.wrap_future(after)  # in order; a failed send stops the ones after it
        if begin:
            await self.handle.begin_edit(self.entry)
        if extend:  # devices refuse a write that would leave a hole: fill it with zeros first
            await self.handle.truncate_object(self.entry, offset)
        await self.handle.write_at(self.entry, offset, data)

    def _submit(self, offset: int, data: bytes) -> None:
        """Queue ``data`` at ``offset`` behind the sends in flight (at most :data:`IN_FLIGHT`:
        the oldest is waited for first). The next send is queued before the previous one is
        done, so the wire does not wait for this thread between two chunks."""
        while len(self._inflight) >= IN_FLIGHT:
            self._wait_oldest()
        begin = not self._editing
        self._editing = True
        self._dirty = True
        extend = offset > self._device_size
        self._device_size = max(self._device_size, offset + len(data))
        after = self._inflight[-1] if self._inflight else None
        self._inflight.append(self.bridge.submit(self._send(after, begin, offset, data, extend)))

    def _wait_inflight(self) -> None:
        while self._inflight:
            self._wait_oldest()

    def _wait_oldest(self) -> None:
        future = self._inflight.pop(0)
        try:
            self.bridge.wait(future, cancel=True)
        except FsError as exc:
            if exc.errno == errno.EINTR:
                self._error = exc
                self._cancel_inflight()
            raise
        except BaseException as exc:
            self._error = exc
            self._editing = False  # the device aborts an edit whose write failed
            self._cancel_inflight()
        self._raise_error()

    def _cancel_inflight(self) -> None:
        futures, self._inflight = self._inflight, []
        for future in futures:
            future.cancel()

    def _send_pending(self) -> None:
        if self._pending:
            data, self._pending = bytes(self._pending), bytearray()
            self._submit(self._pending_at, data)

    def write(self, data: bytes, offset: int) -> int:
        with self._lock:
            self._raise_error()
            end_pending = self._pending_at + len(self._pending)
            if self._pending and offset == end_pending:
                self._pending += data
            else:
                self._send_pending()
                self._pending_at = offset
                self._pending = bytearray(data)
            self._size = max(self._size, offset + len(data))
            self.tree.live_sizes[self.entry.handle] = self._size
            if len(self._pending) >= CHUNK:
                self._send_pending()
            return len(data)

    def read(self, offset: int, size: int) -> bytes:
        with self._lock:
            if self._editing or self._pending:
                self._send_pending()
                self._wait_inflight()
                self._end_edit()
        return self.bridge.call(self.handle.read(self.entry, offset, size))

    def truncate(self, size: int) -> None:
        with self._lock:
            self._raise_error()
            self._send_pending()
            self._wait_inflight()
            if size == self._size and not self._editing:
                return

            async def cut(begin: bool) -> None:
                if begin:
                    await self.handle.begin_edit(self.entry)
                await self.handle.truncate_object(self.entry, size)

            begin = not self._editing
            self._editing = True
            self._dirty = True
            try:
                self.bridge.call(cut(begin))
            except BaseException as exc:
                self._error = exc
                self._editing = False
                raise
            self._size = self._device_size = size
            self.tree.live_sizes[self.entry.handle] = size

    def _end_edit(self) -> None:
        if self._editing:
            self._editing = False
            try:
                self.bridge.call(self.handle.end_edit(self.entry))
            except BaseException as exc:
                self._error = exc
                raise
        if self._dirty:
            self._dirty = False
            self.entry = self.bridge.call(self.tree.refresh(self.entry))
            self._device_size = self.entry.size

    def commit(self) -> None:
        with self._lock:
            try:
                self._raise_error()
                self._send_pending()
                self._wait_inflight()
                self._end_edit()
            except BaseException:
                if self.created:
                    self._discard()
                raise
            finally:
                self.tree.live_sizes.pop(self.entry.handle, None)

    def _discard(self) -> None:
        """Delete the object this open created (cancelling what is in flight first)."""
        self._cancel_inflight()
        editing, self._editing = self._editing, False
        self._pending = bytearray()

        async def discard() -> None:
            await self.handle.cancel()
            await self.handle.discard(self.entry, end_edit=editing)
            self.tree.removed(self.entry.handle)

        with contextlib.suppress(FsError):
            self.bridge.wait(self.bridge.submit(discard()), cancel=False)
        self.created = False

    def abort(self) -> None:
        with self._lock:
            self.tree.live_sizes.pop(self.entry.handle, None)
            if self.created:
                self._discard()
                return
        # an existing file: MTP has no way to abandon an edit, so it is committed as far as
        # the program got (what a local file system keeps, too)
        self.commit()


class SpoolWriter(Writer):
    """Writes gathered in a spool file, uploaded on ``flush`` (see the module docstring)."""

    def __init__(
        self,
        bridge: Bridge,
        tree: DeviceTree,
        handle: Handle,
        entry: Entry,
        *,
        created: bool,
        spool_dir: Path,
        truncated: bool,
    ) -> None:
        super().__init__(bridge, tree, handle, entry)
        self.created = created
        self._lock = threading.Lock()
        spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=spool_dir, prefix=".spool-", suffix=".openwpd")
        os.unlink(name)  # nameless: nothing is left behind, whatever happens to us
        self._fd = fd
        self._spool_dir = spool_dir
        self._loaded = created or truncated or entry.size == 0
        self._size = 0 if self._loaded else entry.size
        self._dirty = truncated and entry.size > 0

    @property
    def size(self) -> int:
        return self._size

    def _load(self) -> None:
        """Download the existing file into the spool (after checking for room)."""
        if self._loaded:
            return
        if shutil.disk_usage(self._spool_dir).free < self.entry.size + (64 << 20):
            raise FsError(errno.ENOSPC, "no room in the cache directory to edit this file")
        with os.fdopen(os.dup(self._fd), "r+b") as f:
            self.bridge.call(self.handle.download(self.entry, f))
        self._loaded = True

    def read(self, offset: int, size: int) -> bytes:
        with self._lock:
            self._load()
            return os.pread(self._fd, size, offset)

    def write(self, data: bytes, offset: int) -> int:
        with self._lock:
            self._load()
            written = os.pwrite(self._fd, data, offset)
            self._size = max(self._size, offset + written)
            self._dirty = True
            self.tree.live_sizes[self.entry.handle] = self._size
            return written

    def truncate(self, size: int) -> None:
        with self._lock:
            if size:
                self._load()
            os.ftruncate(self._fd, size)
            self._size = size
            self._dirty = True
            self.tree.live_sizes[self.entry.handle] = size

    def commit(self) -> None:
        with self._lock:
            try:
                if self._dirty:
                    self._upload()
                    self._dirty = False
            except BaseException:
                if self.created:
                    self._discard()
                raise
            finally:
                self.tree.live_sizes.pop(self.entry.handle, None)

    def _upload(self) -> None:
        entry = self.entry

        async def replace() -> Entry:
            with os.fdopen(os.dup(self._fd), "rb") as f:
                f.seek(0)
                new = await self.handle.replace(entry, f, size=self._size)
            if new.handle != entry.handle:
                self.tree.removed(entry.handle)
            self.tree.put(new)
            return new

        self.entry = self.bridge.call(replace())

    def _discard(self) -> None:
        async def discard() -> None:
            await self.handle.cancel()
            await self.handle.discard(self.entry)
            self.tree.removed(self.entry.handle)

        with contextlib.suppress(FsError):
            self.bridge.wait(self.bridge.submit(discard()), cancel=False)
        self.created = False

    def abort(self) -> None:
        with self._lock:
            self.tree.live_sizes.pop(self.entry.handle, None)
            self._dirty = False
            if self.created:
                self._discard()

    def close(self) -> None:
        os.close(self._fd)
        super().close()


__all__ = ["AHEAD", "CHUNK", "Bridge", "EditWriter", "OpenFile", "Reader", "SpoolWriter", "Writer"]
