"""The device's tree as a file system, in asyncio terms; runs on the mount's event loop.

Theory of operation
-------------------
Paths are ``/<storage description>/<name>/...`` as in the client. Each folder's children are
read once with the client's bulk listing (GetObjectPropList: one transaction for a whole
folder, so ``ls -l`` of 5,000 files costs no round trip per file) and kept in a cache keyed by
(StorageID, folder handle). The device's events keep the cache fresh: ObjectAdded reads the new
object (one GetObjectInfo) and puts it in its folder if that folder is cached, ObjectRemoved
drops it, ObjectInfoChanged re-reads it (a rename or a move on the device side), StoreAdded /
StoreRemoved / StorageInfoChanged re-read the storages, and an event stream that overflowed
(``dropped``) or a DeviceReset forgets every cached folder, to be listed again on next use.
Changes made through the mount update the cache at once (the events that follow are then
no-ops), so a program sees its own writes without waiting for an event.

Metadata operations run on one client handle (``meta``); each open file has a handle of its own
(see :mod:`.files`), so a long read or write of one file never waits behind another's queue,
and the client's scheduler shares the session between them turn by turn.

Errors: the client's exceptions become :class:`FsError` with an errno by :func:`errno_of`
(ENOENT, EROFS, ENOSPC, EACCES, EINTR for a cancel, EIO with a log line naming the device's
response for anything else).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import datetime

from openwpd.client import Connection, DeviceEvent, Entry, Handle, Storage
from openwpd.protocol.codes import EventCode, ObjectPropCode, ResponseCode, describe
from openwpd.protocol.errors import (
    Cancelled,
    LocalProtocolError,
    OpenWpdError,
    ResponseError,
    TransportError,
)

log = logging.getLogger("openwpd.mount")

Node = Storage | Entry | None  # None: the mount's root (the list of storages)
FolderKey = tuple[int, int]  # (StorageID, folder handle; 0 = the storage's root)
#: :meth:`DeviceTree.lookup_cached`'s answer when a folder on the way is not cached
MISS = object()

_RC = ResponseCode
_ERRNO_OF_RESPONSE: dict[int, int] = {
    _RC.INVALID_OBJECT_HANDLE: errno.ENOENT,
    _RC.INVALID_PARENT_OBJECT: errno.ENOENT,
    _RC.INVALID_STORAGE_ID: errno.ENOENT,
    _RC.STORE_NOT_AVAILABLE: errno.ENOENT,
    _RC.STORE_READ_ONLY: errno.EROFS,
    _RC.OBJECT_WRITE_PROTECTED: errno.EACCES,
    _RC.ACCESS_DENIED: errno.EACCES,
    _RC.STORE_FULL: errno.ENOSPC,
    _RC.OBJECT_TOO_LARGE: errno.EFBIG,
    _RC.DEVICE_BUSY: errno.EBUSY,
    _RC.TRANSACTION_CANCELLED: errno.EINTR,
    _RC.OPERATION_NOT_SUPPORTED: errno.EOPNOTSUPP,
}


class FsError(OSError):
    """A file-system error with its errno (what the FUSE layer returns to the kernel)."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(code, message or errno.errorcode.get(code, str(code)))


def errno_of(exc: BaseException, what: str) -> int:
    """The errno for a failure of ``what`` (a path or an operation); logs the device's response
    for the errors that would otherwise say nothing (EIO)."""
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    if isinstance(exc, Cancelled | asyncio.CancelledError):
        return errno.EINTR
    if isinstance(exc, ResponseError):
        code = _ERRNO_OF_RESPONSE.get(exc.code)
        if code is not None:
            return code
        log.warning("%s: the device answered %s", what, describe(ResponseCode, exc.code))
        return errno.EIO
    if isinstance(exc, TransportError):
        log.warning("%s: %s", what, exc)
        return errno.EIO
    if isinstance(exc, LocalProtocolError | OpenWpdError):
        log.warning("%s: %s", what, exc)
        return errno.EIO
    log.exception("%s: unexpected failure", what, exc_info=exc)
    return errno.EIO


def split(path: str) -> list[str]:
    """``"/a/b"`` -> ``["a", "b"]``; ``"/"`` -> ``[]``."""
    return [p for p in path.split("/") if p]


def key_of(node: Storage | Entry) -> FolderKey:
    """The cache key of a folder node."""
    if isinstance(node, Storage):
        return node.id, 0
    return node.storage_id, node.handle


class DeviceTree:
    """The cached tree of one device (see the module docstring). ``read_only`` refuses every
    change with EROFS (besides the storages the device itself marks read-only)."""

    def __init__(self, conn: Connection, *, read_only: bool = False) -> None:
        self.conn = conn
        self.read_only = read_only
        self.meta: Handle = conn.open_handle()
        self.storages: dict[str, Storage] = {}
        self._storage_time = 0.0
        self._folders: dict[FolderKey, dict[str, Entry]] = {}
        self._loading: dict[FolderKey, asyncio.Future[dict[str, Entry]]] = {}
        #: handle -> the folder whose cached listing holds it
        self._where: dict[int, FolderKey] = {}
        #: objects the mount deleted (MTP does not reuse handles within a session)
        self._gone: set[int] = set()
        #: sizes of files being written through the mount (the writer knows them first)
        self.live_sizes: dict[int, int] = {}
        self._events: asyncio.Task[None] | None = None
        #: told the path of every object an event changed (the FUSE layer drops the kernel's
        #: cached attributes of it); called on the loop, must not block
        self.on_change: Callable[[str], None] | None = None
        self.started = time.time()

    # -- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Read the storages and start following the device's events."""
        stream = self.meta.events()
        await self._read_storages()
        self._events = asyncio.create_task(self._follow(stream), name="openwpd mount events")

    async def aclose(self) -> None:
        if self._events is not None:
            self._events.cancel()
            with contextlib.suppress(BaseException):
                await self._events
        await self.meta.aclose()

    async def _read_storages(self) -> None:
        self.storages = {s.description: s for s in await self.meta.storages()}
        self._storage_time = time.monotonic()

    # -- events -----------------------------------------------------------------------------

    async def _follow(self, stream: AsyncIterator[DeviceEvent]) -> None:
        dropped = 0
        async for event in stream:
            now_dropped = getattr(stream, "dropped", 0)
            if now_dropped != dropped:
                dropped = now_dropped
                log.info("events were lost: listing folders afresh")
                self.forget_all()
            try:
                await self._on_event(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("event %s: %s", event.name, exc)

    async def _on_event(self, event: DeviceEvent) -> None:
        code = event.code
        if code in (EventCode.OBJECT_ADDED, EventCode.OBJECT_INFO_CHANGED):
            handle = event.params[0] if event.params else 0
            before = self.path_of(handle)
            try:
                entry = await self.meta.entry(handle)
            except ResponseError as exc:
                if exc.code == _RC.INVALID_OBJECT_HANDLE:
                    self.drop(handle)
                    self._changed(before)
                    return
                raise
            self.put(entry)
            self._changed(before)
            self._changed(self.path_of(handle))
        elif code == EventCode.OBJECT_REMOVED:
            if event.params:
                before = self.path_of(event.params[0])
                self.drop(event.params[0])
                self._changed(before)
        elif code in (
            EventCode.STORE_ADDED,
            EventCode.STORE_REMOVED,
            EventCode.STORAGE_INFO_CHANGED,
        ):
            await self._read_storages()
        elif code == EventCode.DEVICE_RESET:
            self.forget_all()
            await self._read_storages()

    def _changed(self, path: str | None) -> None:
        if path is not None and self.on_change is not None:
            self.on_change(path)

    def path_of(self, handle: int) -> str | None:
        """The path of a cached object (None when a folder on the way is not cached)."""
        names: list[str] = []
        while True:
            key = self._where.get(handle)
            if key is None:
                return None
            folder = self._folders.get(key)
            entry = next((e for e in (folder or {}).values() if e.handle == handle), None)
            if entry is None:
                return None
            names.append(entry.name)
            handle = key[1]
            if handle == 0:
                break
        storage = next((s for s in self.storages.values() if s.id == key[0]), None)
        if storage is None:
            return None
        return "/" + "/".join([storage.description, *reversed(names)])

    def forget_all(self) -> None:
        self._folders.clear()
        self._where.clear()

    def removed(self, handle: int) -> None:
        """Forget an object the mount itself deleted, for good: an event about it that was
        being handled meanwhile (its entry read just before the delete) must not bring it
        back, and the device need not tell the session that deleted it."""
        self._gone.add(handle)
        self.drop(handle)

    def put(self, entry: Entry) -> None:
        """Put ``entry`` (new or changed) into its folder's cached listing, if that is
        cached; forget it where it was before (a move or a rename)."""
        if entry.handle in self._gone:
            return
        self.drop(entry.handle, keep_folder=True)
        key = (entry.storage_id, entry.parent)
        folder = self._folders.get(key)
        if folder is not None:
            folder[entry.name] = entry
            self._where[entry.handle] = key

    def drop(self, handle: int, *, keep_folder: bool = False) -> None:
        """Forget the object ``handle`` (and, unless ``keep_folder``, its own listing)."""
        key = self._where.pop(handle, None)
        if key is not None:
            folder = self._folders.get(key)
            if folder is not None:
                for name, entry in list(folder.items()):
                    if entry.handle == handle:
                        del folder[name]
        if not keep_folder:
            for fkey in [k for k in self._folders if k[1] == handle and handle]:
                self._forget_folder(fkey)

    def _forget_folder(self, key: FolderKey) -> None:
        folder = self._folders.pop(key, None)
        if folder is None:
            return
        for entry in folder.values():
            self._where.pop(entry.handle, None)
            if entry.is_folder:
                self._forget_folder((entry.storage_id, entry.handle))

    # -- lookups ----------------------------------------------------------------------------

    async def listing(self, folder: Storage | Entry) -> dict[str, Entry]:
        """The children of ``folder`` by name (cached; one bulk listing on a miss)."""
        key = key_of(folder)
        cached = self._folders.get(key)
        if cached is not None:
            return cached
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(folder, key))
            self._loading[key] = pending
            pending.add_done_callback(lambda _f: self._loading.pop(key, None))
        return await asyncio.shield(pending)

    async def _load(self, folder: Storage | Entry, key: FolderKey) -> dict[str, Entry]:
        children: dict[str, Entry] = {}
        async with aclosing(self.meta.list(folder)) as entries:
            async for entry in entries:
                children[entry.name] = entry
        self._folders[key] = children
        for entry in children.values():
            self._where[entry.handle] = key
        return children

    async def lookup(self, path: str) -> Node:
        """The node at ``path``; FsError(ENOENT) when there is none."""
        parts = split(path)
        if not parts:
            return None
        storage = self.storages.get(parts[0])
        if storage is None:
            raise FsError(errno.ENOENT)
        node: Storage | Entry = storage
        for name in parts[1:]:
            if isinstance(node, Entry) and not node.is_folder:
                raise FsError(errno.ENOTDIR)
            found = (await self.listing(node)).get(name)
            if found is None:
                raise FsError(errno.ENOENT)
            node = found
        return node

    def lookup_cached(self, path: str) -> Node | object:
        """The node at ``path`` when every folder on the way is cached, else :data:`MISS`;
        FsError(ENOENT) when a cached folder says it is not there. Plain dict reads: safe to
        call from the FUSE threads while the loop updates the cache."""
        parts = split(path)
        if not parts:
            return None
        node: Storage | Entry | None = self.storages.get(parts[0])
        if node is None:
            raise FsError(errno.ENOENT)
        for name in parts[1:]:
            if isinstance(node, Entry) and not node.is_folder:
                raise FsError(errno.ENOTDIR)
            listing = self._folders.get(key_of(node))
            if listing is None:
                return MISS
            node = listing.get(name)
            if node is None:
                raise FsError(errno.ENOENT)
        return node

    async def folder(self, path: str) -> Storage | Entry:
        """The folder (or storage root) at ``path``; ENOTDIR for a file, EACCES for ``/``."""
        node = await self.lookup(path)
        if node is None:
            raise FsError(errno.EACCES, "the mount's root holds only the storages")
        if isinstance(node, Entry) and not node.is_folder:
            raise FsError(errno.ENOTDIR)
        return node

    async def entry(self, path: str) -> Entry:
        """The object at ``path`` (EISDIR-free: folders are entries too; a storage root is
        EACCES)."""
        node = await self.lookup(path)
        if not isinstance(node, Entry):
            raise FsError(errno.EACCES, "a storage root cannot be changed")
        return node

    def storage_of(self, node: Storage | Entry) -> Storage | None:
        storage_id = node.id if isinstance(node, Storage) else node.storage_id
        for storage in self.storages.values():
            if storage.id == storage_id:
                return storage
        return None

    def check_writable(self, node: Storage | Entry) -> None:
        """EROFS for a read-only mount or storage."""
        storage = self.storage_of(node)
        if self.read_only or storage is None or storage.read_only:
            raise FsError(errno.EROFS)

    async def fresh_storage(self, path: str) -> Storage | None:
        """The storage of ``path`` with its free space at most a second old (statfs)."""
        parts = split(path)
        if time.monotonic() - self._storage_time > 1.0:
            await self._read_storages()
        if not parts:
            return None
        storage = self.storages.get(parts[0])
        if storage is None:
            raise FsError(errno.ENOENT)
        return storage

    # -- changes ----------------------------------------------------------------------------

    async def _parent_and_name(self, path: str) -> tuple[Storage | Entry, str]:
        parts = split(path)
        if len(parts) < 2:
            raise FsError(errno.EACCES, "storages cannot be created, removed or renamed")
        parent = await self.folder("/" + "/".join(parts[:-1]))
        return parent, parts[-1]

    async def create_file(self, path: str) -> Entry:
        """An empty new file at ``path`` (EEXIST if the name is taken)."""
        parent, name = await self._parent_and_name(path)
        self.check_writable(parent)
        if name in await self.listing(parent):
            raise FsError(errno.EEXIST)
        entry = await self.meta.create_file(parent, name, mtime=datetime.now())
        self.put(entry)
        return entry

    async def mkdir(self, path: str) -> None:
        parent, name = await self._parent_and_name(path)
        self.check_writable(parent)
        if name in await self.listing(parent):
            raise FsError(errno.EEXIST)
        entry = await self.meta.mkdir(parent, name)
        self.put(entry)
        self._folders[key_of(entry)] = {}  # a new folder is empty: no listing needed

    async def remove(self, path: str, *, folder: bool) -> None:
        """unlink (``folder`` False) or rmdir (True)."""
        entry = await self.entry(path)
        if entry.is_folder != folder:
            raise FsError(errno.EISDIR if entry.is_folder else errno.ENOTDIR)
        self.check_writable(entry)
        if folder and await self.listing(entry):
            raise FsError(errno.ENOTEMPTY)
        await self.meta.delete(entry)
        self.removed(entry.handle)

    async def rename(self, old: str, new: str) -> None:
        """Rename or move; an existing target is replaced as POSIX rename does (a file, or an
        empty folder), deleted first since a folder cannot hold two objects of one name."""
        entry = await self.entry(old)
        self.check_writable(entry)
        parent, name = await self._parent_and_name(new)
        self.check_writable(parent)
        target = (await self.listing(parent)).get(name)
        if target is not None and target.handle == entry.handle:
            return
        if target is not None:
            if target.is_folder != entry.is_folder:
                raise FsError(errno.EISDIR if target.is_folder else errno.ENOTDIR)
            if target.is_folder and await self.listing(target):
                raise FsError(errno.ENOTEMPTY)
            await self.meta.delete(target)
            self.removed(target.handle)
        moved = entry
        same_folder = key_of(parent) == (entry.storage_id, entry.parent)
        if not same_folder:
            if (isinstance(parent, Storage) and parent.id != entry.storage_id) or (
                isinstance(parent, Entry) and parent.storage_id != entry.storage_id
            ):
                raise FsError(errno.EXDEV)
            moved = await self.meta.move(entry, parent)
        if moved.name != name:
            moved = await self.meta.rename(moved, name)
        self.put(moved)

    async def set_mtime(self, path: str, mtime: float) -> None:
        """DateModified; a device that refuses to set it is logged and ignored (MTP devices
        may stamp their own times; cp -p and rsync should not fail for it)."""
        from openwpd.protocol.datatypes import format_datetime

        entry = await self.entry(path)
        self.check_writable(entry)
        stamp = datetime.fromtimestamp(mtime).replace(microsecond=0)
        try:
            await self.meta.set_property(
                entry, ObjectPropCode.DATE_MODIFIED, format_datetime(stamp)
            )
        except ResponseError as exc:
            log.info("%s: the device keeps its own DateModified (%s)", path, exc)
            return
        await self.refresh(entry)

    async def refresh(self, entry: Entry) -> Entry:
        """Re-read ``entry`` from the device and cache it."""
        fresh = await self.meta.entry(entry.handle)
        self.put(fresh)
        return fresh


__all__ = ["MISS", "DeviceTree", "FsError", "Node", "errno_of", "key_of", "split"]
