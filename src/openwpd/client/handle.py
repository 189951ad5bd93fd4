"""A handle: one WPD-style client of the shared session, with its own queue and its own cancel.

Theory of operation
-------------------
A :class:`Handle` is what WPD calls a device handle (one ``Open``): any number of them share the
connection's MTP session. Every method is an operation that runs in the caller's task; each of
its transactions waits for the handle's turn (FIFO per handle, round-robin across handles; see
:mod:`openwpd.client.scheduler`).

``await handle.cancel()`` is WPD's ``Cancel``: every operation of this handle that is waiting
fails at once with :class:`~openwpd.protocol.errors.Cancelled` (``hresult`` 0x800704C7), the
handle's transaction on the wire (if it owns it) is cancelled *on the wire*, and operations of the
handle that are between two transactions fail at their next one. It returns when the session is
idle again; other handles' operations then go on. Operations started after the cancel run
normally. Cancelling the asyncio task of one operation cancels just that operation the same way
(it raises ``CancelledError``, as asyncio requires).

Where an object is expected, an :class:`~openwpd.client.entries.Entry` or a path
(``"/<storage description>/a/b"``) is accepted; where a parent folder is expected, a
:class:`~openwpd.client.entries.Storage` (its root), an entry of a folder, or a path.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import io
import logging
import os
import tempfile
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

from openwpd.client import listing, transfer, wire
from openwpd.client.camera import DeviceProperty
from openwpd.client.connection import OpScope, wait_quietly
from openwpd.client.entries import (
    Entry,
    Storage,
    entry_from_info,
    entry_from_props,
    split_path,
)
from openwpd.client.events import EventStream
from openwpd.client.transfer import Progress, encode_value
from openwpd.client.wire import DataSource
from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import (
    ALL,
    OBJECT_PROP_TYPES,
    EventCode,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import (
    DevicePropDesc,
    ObjectInfo,
    ObjectPropDesc,
    StorageInfo,
    parse_uint16_array,
    parse_uint32_array,
)
from openwpd.protocol.datatypes import Value, read_value
from openwpd.protocol.errors import (
    Cancelled,
    LocalProtocolError,
    RemoteProtocolError,
    ResponseError,
)

if TYPE_CHECKING:
    from openwpd.client.connection import Connection

log = logging.getLogger("openwpd.client")

_O = OperationCode
#: How long :meth:`Handle.capture` waits for CaptureComplete after the device answered.
CAPTURE_TIMEOUT = 60.0
_P = ObjectPropCode

ObjectRef = Entry | str
ParentRef = Entry | Storage | str


@dataclass(frozen=True, slots=True)
class ExecuteResult:
    """The outcome of a raw operation: response ``code`` and ``params``, and the ``data`` the
    device sent (empty when it sent none)."""

    code: int
    params: tuple[int, ...]
    data: bytes


class Handle:
    """One client of the connection's MTP session; see the module docstring.

    Obtain it with :meth:`Connection.open_handle`; close it with :meth:`aclose` (or ``async
    with``), which cancels what is pending on it.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._epoch = 0
        self._closed = False
        self._inflight: asyncio.Task[object] | None = None
        self._streams: set[EventStream] = set()

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def closed(self) -> bool:
        return self._closed

    def _op(self) -> OpScope:
        if self._closed:
            raise LocalProtocolError("the handle is closed")
        return OpScope(self)

    # -- cancel and close -------------------------------------------------------------------

    async def cancel(self) -> None:
        """Cancel every pending operation of this handle (they raise Cancelled); returns once
        the handle's transaction, if it was on the wire, is finished (cancelled on the wire, or
        escalated after the recovery budget; on a device where that is not safe,
        ``policy.cancel_in_flight_safe`` False, it runs to its end). Never raises; a no-op when
        nothing is pending."""
        self._epoch += 1
        self._conn._scheduler.fail_waiting(self, Cancelled)
        task = self._inflight
        if task is not None and not task.done():
            if self._conn.policy.cancel_in_flight_safe:
                task.cancel()
            # else the running transaction (a bounded window) finishes, and the operation
            # stops before its next one (DevicePolicy.cancel_in_flight_safe)
            await wait_quietly(task)

    async def aclose(self) -> None:
        """Cancel what is pending, end this handle's event streams, detach from the connection.
        Idempotent."""
        if self._closed:
            return
        await self.cancel()
        self._closed = True
        for stream in list(self._streams):
            await stream.aclose()
        self._conn._forget(self)

    async def __aenter__(self) -> Handle:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- events -----------------------------------------------------------------------------

    def events(self) -> EventStream:
        """Every device event from now on (an async iterator; ends when this handle or the
        connection closes). Events arrive whether or not a transaction runs."""
        stream = self._conn._hub.subscribe()
        self._streams.add(stream)
        return stream

    # -- storages and paths -----------------------------------------------------------------

    async def storages(self) -> builtins.list[Storage]:
        """The device's storages (GetStorageIDs + GetStorageInfo). Storages whose info cannot be
        read (a removed card) are left out and logged."""
        op = self._op()
        ids = parse_uint32_array((await op.run(_O.GET_STORAGE_IDS)).data)
        result: builtins.list[Storage] = []
        for storage_id in ids:
            try:
                res = await op.run(_O.GET_STORAGE_INFO, (storage_id,))
                result.append(Storage.from_info(storage_id, StorageInfo.from_bytes(res.data)))
            except (ResponseError, RemoteProtocolError) as exc:
                log.warning("skipping storage 0x%08X: %s", storage_id, exc)
        return result

    async def resolve(self, path: str) -> Entry | Storage:
        """The object at ``path`` (``"/<storage description>/a/b"``); ``"/<storage>"`` alone is
        the :class:`Storage`. Raises ResponseError(INVALID_OBJECT_HANDLE) when a component does
        not exist (INVALID_STORAGE_ID for an unknown storage) and LocalProtocolError for a
        malformed path."""
        storage_name, names = split_path(path)
        storage = await self._storage_named(storage_name)
        current: Entry | Storage = storage
        for name in names:
            if isinstance(current, Entry) and not current.is_folder:
                raise ResponseError(
                    ResponseCode.INVALID_PARENT_OBJECT, f"{current.path!r} is not a folder"
                )
            found: Entry | None = None
            async with aclosing(self.list(current)) as children:
                async for child in children:
                    if child.name == name:
                        found = child
                        break
            if found is None:
                raise ResponseError(ResponseCode.INVALID_OBJECT_HANDLE, f"{path!r} not found")
            current = found
        return current

    async def _storage_named(self, name: str) -> Storage:
        for storage in await self.storages():
            if storage.description == name:
                return storage
        raise ResponseError(ResponseCode.INVALID_STORAGE_ID, f"no storage called {name!r}")

    async def _object(self, target: ObjectRef) -> Entry:
        if isinstance(target, Entry):
            return target
        if isinstance(target, str):
            found = await self.resolve(target)
            if isinstance(found, Entry):
                return found
            raise LocalProtocolError(f"{target!r} is a storage, not an object")
        raise TypeError(f"expected an Entry or a path, not {type(target).__name__}")

    async def _parent(self, target: ParentRef) -> tuple[int, int, str | None]:
        """(StorageID, parent handle with 0 = root, path of the parent or None)."""
        if isinstance(target, str):
            target = await self.resolve(target)
        if isinstance(target, Storage):
            return target.id, 0, target.path
        if isinstance(target, Entry):
            if not target.is_folder:
                raise LocalProtocolError(f"{target.name!r} is not a folder")
            return target.storage_id, target.handle, target.path
        raise TypeError(f"expected a Storage, an Entry or a path, not {type(target).__name__}")

    # -- listing ----------------------------------------------------------------------------

    async def list(self, parent: ParentRef) -> AsyncGenerator[Entry, None]:
        """The children of ``parent``, yielded as they arrive (see
        :mod:`openwpd.client.listing`). Objects the device cannot describe are skipped and
        logged. Leaving the loop early cancels the rest of the listing on the wire."""
        storage_id, parent_handle, parent_path = await self._parent(parent)
        op = self._op()
        if self._conn.policy.prop_list:
            async with aclosing(
                listing.list_with_prop_list(op, storage_id, parent_handle)
            ) as objects:
                async for handle, props in objects:
                    try:
                        yield entry_from_props(handle, props, parent_path)
                    except RemoteProtocolError as exc:
                        log.warning("skipping object 0x%08X: %s", handle, exc)
            return
        async with aclosing(listing.list_with_object_info(op, storage_id, parent_handle)) as infos:
            async for handle, info, size in infos:
                entry = entry_from_info(
                    handle, info, None if parent_path is None else f"{parent_path}/{info.filename}"
                )
                if size is not None:
                    entry = _with_size(entry, size)
                yield entry

    async def entry(self, target: int | ObjectRef) -> Entry:
        """A fresh :class:`Entry` for an object handle, an entry (re-read) or a path."""
        if isinstance(target, str):
            return await self._object(target)
        entry = await self._entry_in(
            self._op(), target.handle if isinstance(target, Entry) else target
        )
        if isinstance(target, Entry) and target.path:
            return _with_path(entry, f"{target.path.rsplit('/', 1)[0]}/{entry.name}")
        return entry

    async def _entry_in(self, op: OpScope, handle: int) -> Entry:
        info = ObjectInfo.from_bytes((await op.run(_O.GET_OBJECT_INFO, (handle,))).data)
        entry = entry_from_info(handle, info)
        if info.size_is_clamped:
            size = await listing.object_size(op, handle)
            if size is not None:
                entry = _with_size(entry, size)
        return entry

    async def object_info(self, target: ObjectRef) -> ObjectInfo:
        """The raw ObjectInfo dataset of an object."""
        entry = await self._object(target)
        res = await self._op().run(_O.GET_OBJECT_INFO, (entry.handle,))
        return ObjectInfo.from_bytes(res.data)

    # -- data -------------------------------------------------------------------------------

    async def download(
        self,
        target: ObjectRef,
        dest: str | os.PathLike[str] | BinaryIO,
        *,
        offset: int = 0,
        length: int | None = None,
        progress: Progress | None = None,
        replace: bool = True,
    ) -> int:
        """Copy an object (or ``length`` bytes from ``offset``) to ``dest``: a path (written
        through a temporary file, renamed when complete: a failed or cancelled download leaves
        nothing), or a writable binary file object (written as the data comes). Returns the
        number of bytes written. ``progress(done, total)`` is called as data arrives.

        ``replace=False`` (paths only): an existing ``dest`` is never replaced, not even one
        another program makes while the data comes; FileExistsError then, and nothing kept."""
        entry = await self._object(target)
        op = self._op()
        if isinstance(dest, str | os.PathLike):
            return await transfer.download_to_path(
                op, entry, dest, offset=offset, length=length, progress=progress, replace=replace
            )
        return await transfer.read_into(
            op, entry, dest, offset=offset, length=length, progress=progress
        )

    async def read(self, target: ObjectRef, offset: int = 0, length: int | None = None) -> bytes:
        """``length`` bytes (None: to the end) of an object from ``offset``, in memory."""
        entry = await self._object(target)
        buf = io.BytesIO()
        await transfer.read_into(
            self._op(), entry, buf, offset=offset, length=length, inline_writes=True
        )
        return buf.getvalue()

    async def upload(
        self,
        src: str | os.PathLike[str] | BinaryIO,
        parent: ParentRef,
        *,
        name: str | None = None,
        mtime: datetime | None = None,
        size: int | None = None,
        progress: Progress | None = None,
    ) -> Entry:
        """Create a new file in ``parent`` from a local path or a readable binary file object
        and return its entry. The name defaults to the local file's name and the modification
        time to its mtime (a file object needs ``name``; its size is taken from ``size`` or by
        seeking). A failed or cancelled upload leaves nothing on the device."""
        storage_id, parent_handle, parent_path = await self._parent(parent)
        op = self._op()
        if isinstance(src, str | os.PathLike):
            path = Path(src)
            stat = path.stat()
            name = name or path.name
            if mtime is None:
                mtime = datetime.fromtimestamp(stat.st_mtime)
            with open(path, "rb") as f:
                handle = await transfer.upload(
                    op,
                    f,
                    stat.st_size if size is None else size,
                    storage_id,
                    parent_handle,
                    name,
                    mtime=mtime,
                    progress=progress,
                    own_file=True,
                )
        else:
            if not name:
                raise LocalProtocolError("uploading a file object needs name=")
            if size is None:
                here = src.tell()
                size = src.seek(0, os.SEEK_END) - here
                src.seek(here)
            handle = await transfer.upload(
                op, src, size, storage_id, parent_handle, name, mtime=mtime, progress=progress
            )
        return await self._created(op, handle, parent_path)

    #: suffix of the temporary name :meth:`replace` uploads under where edits are in place
    REPLACE_SUFFIX = ".wpd-part"

    async def replace(
        self,
        target: ObjectRef,
        src: str | os.PathLike[str] | BinaryIO,
        *,
        size: int | None = None,
        mtime: datetime | None = None,
        progress: Progress | None = None,
    ) -> Entry:
        """Replace the content of the existing file ``target`` with the local file ``src``
        (its modification time too, unless ``mtime`` is given); returns the new entry. ``src``
        may also be a readable binary file object at its start, of ``size`` bytes (its data
        then gets the device's time unless ``mtime`` is given).

        Where the device's edits work on a copy (``policy.atomic_replace``: openwpd's own
        device) this is one edit, committed only when every byte arrived: an upload cut
        anywhere -- cancelled, failed, the connection lost, either side killed -- leaves the
        old content, and the object keeps its handle. Elsewhere the new content is uploaded
        next to it as ``.NAME.wpd-part`` first (a failed upload removes it, the old file
        stays), then the old object is deleted and the new one renamed: an interruption after
        the upload and before the rename leaves the new content under the temporary name."""
        entry = await self._object(target)
        if entry.is_folder:
            raise LocalProtocolError(f"{entry.name!r} is a folder")
        own_file = isinstance(src, str | os.PathLike)
        with contextlib.ExitStack() as stack:
            if isinstance(src, str | os.PathLike):
                stat = os.stat(src)
                size = stat.st_size
                if mtime is None:
                    mtime = datetime.fromtimestamp(stat.st_mtime)
                f: BinaryIO = stack.enter_context(open(src, "rb"))
            elif size is None:
                raise ValueError("size is needed with a file object")
            else:
                f = src
            parent_path = entry.path.rsplit("/", 1)[0] if entry.path else None
            op = self._op()
            if self._conn.policy.atomic_replace:
                await transfer.replace_data(
                    op, entry.handle, f, size, mtime=mtime, progress=progress, own_file=own_file
                )
                return await self._entry_at(entry.handle, parent_path)
            parent = 0 if entry.parent in (0, ALL) else entry.parent
            handle = await transfer.upload(
                op,
                f,
                size,
                entry.storage_id,
                parent,
                f".{entry.name}{self.REPLACE_SUFFIX}",
                mtime=mtime,
                progress=progress,
                own_file=own_file,
            )
        temp = await self._created(op, handle, parent_path)
        await self.delete(entry)
        return await self.rename(temp, entry.name)

    @property
    def edits(self) -> bool:
        """True when this device edits existing files (Android's edit operations, TruncateObject
        included): :meth:`write`, :meth:`truncate` and :meth:`overwrite` then keep the object,
        its handle and persistent unique ID."""
        policy = self._conn.policy
        return policy.in_place_edits or policy.atomic_replace

    async def write(self, target: ObjectRef, offset: int, data: bytes) -> Entry:
        """Write ``data`` at ``offset`` of the existing file ``target`` (past the end grows it);
        returns its entry.

        On a device with the edit operations (:attr:`edits`) this is one edit in place: the
        object keeps its handle and persistent unique ID. A cancel or failure ends the edit (it
        never stays open on the device); on a device that edits in place (Android) the windows
        already sent stay written, where edits work on a copy (openwpd) nothing changes.
        Elsewhere the file is downloaded, changed locally and put back with :meth:`replace`
        (a device that cannot rename either, such as a PTP camera: the old object is deleted
        and the new one uploaded under its name): the object gets a new handle and ID."""
        if offset < 0:
            raise ValueError("negative offset")
        entry = await self._object(target)
        if entry.is_folder:
            raise LocalProtocolError(f"{entry.name!r} is a folder")
        if self.edits:
            await transfer.edit_object(
                self._op(),
                entry.handle,
                src=io.BytesIO(data),
                offset=offset,
                size=len(data),
                # a device writes only within or right at the end of the file: grow it first
                grow_to=offset if offset > entry.size else None,
            )
            return await self._entry_at(entry.handle, _parent_path(entry))

        def patch(f: BinaryIO) -> None:
            f.seek(offset)
            f.write(data)

        return await self._patched(entry, patch)

    async def truncate(self, target: ObjectRef, size: int) -> Entry:
        """Cut (or extend with zeros) the existing file ``target`` to ``size`` bytes; returns
        its entry. In place (same object) on a device with the edit operations (:attr:`edits`);
        elsewhere the file is replaced (a new object), as :meth:`write`."""
        if size < 0:
            raise ValueError("negative size")
        entry = await self._object(target)
        if entry.is_folder:
            raise LocalProtocolError(f"{entry.name!r} is a folder")
        if self.edits:
            await transfer.edit_object(self._op(), entry.handle, truncate=size)
            return await self._entry_at(entry.handle, _parent_path(entry))
        return await self._patched(entry, lambda f: f.truncate(size))

    async def overwrite(
        self, target: ObjectRef, src: BinaryIO, size: int, *, mtime: datetime | None = None
    ) -> Entry:
        """Make ``size`` bytes of ``src`` the whole content of the existing file ``target``;
        returns its entry. Where edits work on a copy this is :meth:`replace`'s one atomic
        edit; on a device that edits in place (Android) one edit that writes the new data over
        the old and truncates it (the object keeps its handle and ID, but a cut edit leaves a
        mix); elsewhere :meth:`replace` (a new object)."""
        entry = await self._object(target)
        if entry.is_folder:
            raise LocalProtocolError(f"{entry.name!r} is a folder")
        policy = self._conn.policy
        op = self._op()
        if policy.atomic_replace:
            await transfer.replace_data(op, entry.handle, src, size, mtime=mtime)
        elif policy.in_place_edits:
            await transfer.edit_object(
                op, entry.handle, src=src, size=size, truncate=size, mtime=mtime
            )
        else:
            return await self.replace(entry, src, size=size, mtime=mtime)
        return await self._entry_at(entry.handle, _parent_path(entry))

    async def _patched(self, entry: Entry, patch: Callable[[BinaryIO], object]) -> Entry:
        """(No edit operations.) Download ``entry``, ``patch`` the local copy, replace it."""
        with tempfile.TemporaryDirectory(prefix="openwpd-") as tmp:
            local = Path(tmp) / "data"
            await self.download(entry, local)
            with open(local, "r+b") as f:
                patch(f)
            if self._conn.supports(_O.SET_OBJECT_PROP_VALUE):
                return await self.replace(entry, local, mtime=datetime.now())
            # no renaming (a PTP camera): the old object goes first, then the new one comes
            # under its name (a cut in between loses the file on the device)
            await self.delete(entry)
            op = self._op()
            parent = 0 if entry.parent in (0, ALL) else entry.parent
            with open(local, "rb") as f:
                handle = await transfer.upload(
                    op,
                    f,
                    local.stat().st_size,
                    entry.storage_id,
                    parent,
                    entry.name,
                    mtime=datetime.now(),
                    own_file=True,
                )
            return await self._created(op, handle, _parent_path(entry))

    async def _created(self, op: OpScope, handle: int, parent_path: str | None) -> Entry:
        """The entry of an object the operation just created; if reading it fails or is
        cancelled, the caller sees a failed operation, so the object must not stay behind."""
        try:
            return await self._entry_at(handle, parent_path, op)
        except BaseException:
            await transfer.delete_quietly(op, handle)
            raise

    async def _entry_at(
        self, handle: int, parent_path: str | None, op: OpScope | None = None
    ) -> Entry:
        entry = await self._entry_in(op or self._op(), handle)
        if parent_path is None:
            return entry
        return _with_path(entry, f"{parent_path}/{entry.name}")

    async def create_file(
        self, parent: ParentRef, name: str, *, mtime: datetime | None = None
    ) -> Entry:
        """Create an empty file ``name`` in ``parent`` (to be filled by an edit: see
        :meth:`begin_edit`); returns its entry. A create cancelled meanwhile leaves nothing."""
        storage_id, parent_handle, parent_path = await self._parent(parent)
        op = self._op()

        async def create(scope: OpScope) -> int:
            async with scope.turn():
                return await transfer.create_object(
                    scope, storage_id, parent_handle, name, size=0, mtime=mtime
                )

        handle = await _undo_if_cancelled(op, await op.protected(create))
        return await self._created(op, handle, parent_path)

    # -- in-place edits (Android's BeginEditObject / SendPartialObject / TruncateObject /
    # EndEditObject; check ``connection.policy.windowed_upload`` first) ---------------------

    async def begin_edit(self, target: ObjectRef) -> None:
        """Open an edit of an existing file: the writes and truncations that follow change a
        copy the device commits at :meth:`end_edit` (until then readers see the original)."""
        entry = await self._object(target)
        await self._op().run(_O.BEGIN_EDIT_OBJECT, (entry.handle,))

    async def write_at(self, target: ObjectRef, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` (64-bit) into the file being edited; writing past the
        end grows it. One SendPartialObject: a cancel cuts it on the wire and the device
        aborts the whole edit."""
        entry = await self._object(target)
        await self._op().run(
            _O.SEND_PARTIAL_OBJECT,
            (entry.handle, offset & 0xFFFFFFFF, offset >> 32, len(data)),
            data=data,
            data_length=len(data),
        )

    async def truncate_object(self, target: ObjectRef, size: int) -> None:
        """Cut or extend (with zeros) the file being edited to ``size`` bytes."""
        entry = await self._object(target)
        await self._op().run(_O.TRUNCATE_OBJECT, (entry.handle, size & 0xFFFFFFFF, size >> 32))

    async def end_edit(self, target: ObjectRef) -> None:
        """Commit the edit: the device's verdict (STORE_FULL...) is raised as ResponseError."""
        entry = await self._object(target)
        await self._op().run(_O.END_EDIT_OBJECT, (entry.handle,))

    async def discard(self, target: ObjectRef, *, end_edit: bool = False) -> None:
        """Delete an object as a clean-up step no cancel of this handle stops (a file whose
        writing failed); ``end_edit`` closes an edit left open on it first. Already gone is
        fine; other failures are logged, not raised."""
        entry = await self._object(target)
        await transfer.delete_quietly(self._op(), entry.handle, end_edit=end_edit)

    async def thumbnail(self, target: ObjectRef) -> bytes:
        """The object's thumbnail (GetThumb). Raises ResponseError(NO_THUMBNAIL_PRESENT)."""
        entry = await self._object(target)
        return (await self._op().run(_O.GET_THUMB, (entry.handle,))).data

    # -- changing the tree ------------------------------------------------------------------

    async def mkdir(self, parent: ParentRef, name: str) -> Entry:
        """Create a folder ``name`` in ``parent``; returns its entry."""
        storage_id, parent_handle, parent_path = await self._parent(parent)
        op = self._op()

        async def create(scope: OpScope) -> int:
            async with scope.turn():
                return await transfer.create_object(
                    scope, storage_id, parent_handle, name, size=0, mtime=None, is_folder=True
                )

        handle = await _undo_if_cancelled(op, await op.protected(create))
        return await self._created(op, handle, parent_path)

    async def delete(self, target: ObjectRef) -> None:
        """Delete an object (a folder with everything in it)."""
        entry = await self._object(target)
        await self._op().run(_O.DELETE_OBJECT, (entry.handle, 0))

    async def format(self, storage: Storage | str) -> None:
        """Format a storage (FormatStore): everything on it is deleted. ``storage`` is a
        :class:`Storage` or a path naming one (``"/<description>"``). The device's answer
        comes as it is: ResponseError with OperationNotSupported (a device that does not
        format, e.g. ``wpd serve`` without ``--allow-format``), StoreReadOnly, or
        InvalidStorageID. The filesystem is left to the device (FilesystemFormat 0)."""
        if isinstance(storage, str):
            found = await self.resolve(storage)
            if not isinstance(found, Storage):
                raise LocalProtocolError(f"{storage!r} is an object, not a storage")
            storage = found
        if not isinstance(storage, Storage):
            raise TypeError(f"expected a Storage or a path, not {type(storage).__name__}")
        await self._op().run(_O.FORMAT_STORE, (storage.id, 0))

    async def move(self, target: ObjectRef, parent: ParentRef) -> Entry:
        """Move an object into ``parent``; returns its new entry."""
        entry = await self._object(target)
        storage_id, parent_handle, parent_path = await self._parent(parent)
        await self._op().run(
            _O.MOVE_OBJECT,
            (
                entry.handle,
                storage_id,
                self._conn.policy.parent_param(_O.MOVE_OBJECT, parent_handle),
            ),
        )
        return await self._entry_at(entry.handle, parent_path)

    async def copy(self, target: ObjectRef, parent: ParentRef) -> Entry:
        """Copy an object into ``parent``; returns the copy's entry."""
        entry = await self._object(target)
        storage_id, parent_handle, parent_path = await self._parent(parent)
        op = self._op()

        async def copy(scope: OpScope) -> int:
            res = await scope.run(
                _O.COPY_OBJECT,
                (
                    entry.handle,
                    storage_id,
                    self._conn.policy.parent_param(_O.COPY_OBJECT, parent_handle),
                ),
            )
            return res.params[0]

        handle = await _undo_if_cancelled(op, await op.protected(copy))
        return await self._created(op, handle, parent_path)

    async def rename(self, target: ObjectRef, new_name: str) -> Entry:
        """Rename an object (SetObjectPropValue of ObjectFileName); returns its new entry."""
        entry = await self._object(target)
        await self.set_property(entry, _P.OBJECT_FILE_NAME, new_name)
        parent_path = entry.path.rsplit("/", 1)[0] if entry.path else None
        return await self._entry_at(entry.handle, parent_path)

    # -- properties -------------------------------------------------------------------------

    async def property_desc(
        self, code: int, object_format: int = ObjectFormatCode.UNDEFINED
    ) -> ObjectPropDesc:
        """The device's ObjectPropDesc of property ``code`` for ``object_format`` (cached; MTP
        wants a real format here: Undefined, 0x3000, stands for "any file")."""
        key = ("object-prop-desc", code, object_format)
        cached = self._conn.cache.get(key)
        if isinstance(cached, ObjectPropDesc):
            return cached
        res = await self._op().run(_O.GET_OBJECT_PROP_DESC, (code, object_format))
        desc = ObjectPropDesc.from_bytes(res.data)
        self._conn.cache[key] = desc
        return desc

    async def properties_supported(
        self, object_format: int = ObjectFormatCode.UNDEFINED
    ) -> tuple[int, ...]:
        """Property codes the device supports for ``object_format`` (GetObjectPropsSupported)."""
        res = await self._op().run(_O.GET_OBJECT_PROPS_SUPPORTED, (object_format,))
        return parse_uint16_array(res.data)

    async def _object_prop_type(self, code: int, object_format: int) -> int:
        if self._conn.supports(_O.GET_OBJECT_PROP_DESC):
            try:
                return (await self.property_desc(code, object_format)).datatype
            except ResponseError as exc:
                log.info("no ObjectPropDesc for 0x%04X: %s", code, exc)
        try:
            return int(OBJECT_PROP_TYPES[ObjectPropCode(code)])
        except (KeyError, ValueError):
            raise LocalProtocolError(f"the data type of property 0x{code:04X} is unknown") from None

    async def get_property(self, target: ObjectRef, code: int) -> Value:
        """One property of an object (GetObjectPropValue), decoded with the device's type."""
        entry = await self._object(target)
        datatype = await self._object_prop_type(code, entry.format)
        res = await self._op().run(_O.GET_OBJECT_PROP_VALUE, (entry.handle, code))
        return read_value(Reader(res.data), datatype)

    async def set_property(self, target: ObjectRef, code: int, value: Value) -> None:
        """Set one property of an object (SetObjectPropValue), encoded with the device's type."""
        entry = await self._object(target)
        datatype = await self._object_prop_type(code, entry.format)
        await self._op().run(
            _O.SET_OBJECT_PROP_VALUE, (entry.handle, code), data=encode_value(datatype, value)
        )

    async def get_properties(self, target: ObjectRef) -> dict[int, Value]:
        """Every property of an object in one GetObjectPropList (depth 0)."""
        entry = await self._object(target)
        parser = listing.PropListParser()
        objects: builtins.list[listing.ObjectProps] = []

        def sink(chunk: bytes) -> None:
            objects.extend(parser.feed(chunk))

        await self._op().run(
            _O.GET_OBJECT_PROP_LIST,
            (entry.handle, 0, ALL, 0, 0),
            sink=sink,
            max_data=wire.COLLECT_LIMIT,  # the parsed answer is kept whole
        )
        objects.extend(parser.finish())
        result: dict[int, Value] = {}
        for handle, props in objects:
            if handle == entry.handle:
                result.update(props)
        return result

    async def device_property_desc(self, code: int) -> DevicePropDesc:
        """The DevicePropDesc of device property ``code`` (with its current value)."""
        res = await self._op().run(_O.GET_DEVICE_PROP_DESC, (code,))
        return DevicePropDesc.from_bytes(res.data)

    async def _device_prop_type(self, code: int) -> int:
        key = ("device-prop-type", code)
        cached = self._conn.cache.get(key)
        if isinstance(cached, int):
            return cached
        datatype = (await self.device_property_desc(code)).datatype
        self._conn.cache[key] = datatype
        return datatype

    async def get_device_property(self, code: int) -> Value:
        """The current value of device property ``code`` (GetDevicePropValue)."""
        datatype = await self._device_prop_type(code)
        res = await self._op().run(_O.GET_DEVICE_PROP_VALUE, (code,))
        return read_value(Reader(res.data), datatype)

    async def set_device_property(self, code: int, value: Value) -> None:
        """Set device property ``code`` (SetDevicePropValue)."""
        datatype = await self._device_prop_type(code)
        await self._op().run(_O.SET_DEVICE_PROP_VALUE, (code,), data=encode_value(datatype, value))

    async def reset_device_property(self, code: int) -> None:
        """Reset device property ``code`` to its factory default (ResetDevicePropValue)."""
        await self._op().run(_O.RESET_DEVICE_PROP_VALUE, (code,))

    async def device_properties(self) -> builtins.list[DeviceProperty]:
        """Every device property DeviceInfo lists, described (type, form and allowed values,
        current value, factory default), with readable names (:mod:`openwpd.client.camera`).
        A property whose description the device refuses is left out."""
        found: builtins.list[DeviceProperty] = []
        for code in self._conn.device_info.device_properties_supported:
            try:
                desc = await self.device_property_desc(code)
            except ResponseError:
                continue
            found.append(DeviceProperty.from_desc(desc))
        return found

    # -- capture ----------------------------------------------------------------------------

    async def capture(
        self, storage_id: int = 0, object_format: int = 0, *, timeout: float = CAPTURE_TIMEOUT
    ) -> builtins.list[Entry]:
        """Take a picture (InitiateCapture; storage 0 and format 0 leave both to the device)
        and return the new objects (a burst gives several), once the device has sent
        CaptureComplete for this capture. Folders the device made for them are not returned.

        Raises ResponseError (DeviceBusy while another capture runs, OperationNotSupported
        when the device is no camera), Cancelled on :meth:`cancel` (also while waiting for the
        capture's events), and RemoteProtocolError when no CaptureComplete comes within
        ``timeout`` seconds of the answer."""
        op = self._op()
        added: builtins.list[int] = []
        async with self.events() as stream:
            res = await op.run(_O.INITIATE_CAPTURE, (storage_id, object_format))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                op.check()
                left = deadline - loop.time()
                if left <= 0:
                    raise RemoteProtocolError(f"no CaptureComplete within {timeout:g} s")
                try:
                    event = await asyncio.wait_for(anext(stream), min(left, 0.1))
                except TimeoutError:
                    continue
                except StopAsyncIteration:
                    raise Cancelled("the handle was closed") from None
                if event.code == EventCode.OBJECT_ADDED and event.params:
                    added.append(event.params[0])
                elif event.code == EventCode.CAPTURE_COMPLETE and (
                    not event.params or event.params[0] == res.tid
                ):
                    break
        entries = [await self.entry(h) for h in added]
        return [e for e in entries if not e.is_folder]

    # -- pass-through -----------------------------------------------------------------------

    async def execute(
        self, operation: int, params: tuple[int, ...] = (), *, data: DataSource | None = None
    ) -> ExecuteResult:
        """Run any operation as it is (WPD's MTP pass-through): ``data`` is sent as the data
        phase when given; data the device sends is returned. A non-OK response is returned, not
        raised; cancel, transport errors and resets raise as for every operation."""
        if len(params) > 5:
            raise LocalProtocolError("an operation has at most 5 parameters")
        res = await self._op().run(operation, tuple(params), data=data, check=False)
        return ExecuteResult(res.code, res.params, res.data)


async def _undo_if_cancelled(op: OpScope, outcome: tuple[int, BaseException | None]) -> int:
    """After a protected step that created object ``outcome[0]``: if the operation was
    cancelled meanwhile, delete the object and raise the cancel; else return the handle."""
    handle, interrupted = outcome
    if interrupted is not None:
        await transfer.delete_quietly(op, handle)
        raise interrupted
    return handle


def _with_size(entry: Entry, size: int) -> Entry:
    return replace(entry, size=size, size_exact=True)


def _with_path(entry: Entry, path: str) -> Entry:
    return replace(entry, path=path)


__all__ = ["ExecuteResult", "Handle"]


def _parent_path(entry: Entry) -> str | None:
    return entry.path.rsplit("/", 1)[0] if entry.path else None
