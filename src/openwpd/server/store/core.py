"""The folder-backed object store of the virtual MTP device.

Theory of operation.

*Handles.* Every file or folder the store has seen gets a u32 handle from a counter: 1, 2, 3...
never 0, never 0xFFFFFFFF, never reused (a deleted object's handle stays burned; an aborted
upload's too). ``_objects`` maps handle -> :class:`StoredObject` snapshot, so :meth:`get` is one
dict lookup with no ``stat``.

*Lazy listing.* Nothing is scanned up front. The first time a folder's children are asked for,
the folder is read with one ``os.scandir`` (one ``stat`` per entry), its entries get handles and
PUIDs, and ``_kids[key]`` (name -> handle) records it as listed. After that, listing it again is
a walk over that dict. A folder is keyed by its handle; a storage root by ``-storage_id``.
Paths are never stored: an object's path is rebuilt from its parent chain, so renaming a folder
is O(1) for the cache (the PUID table is rewritten in one UPDATE).

*Keeping the cache true.* Changes made through the store update the cache in the same locked
section as the disk change. Changes made by other programs arrive from the watcher
(:mod:`.watch`) as dirty names that are re-``stat``ed and compared with the cache; only real
differences become events. A listed folder that is not (or no longer) watched while the watcher
runs is re-scanned and diffed the next time it is listed.

*Writes.* Uploads, edits and copies work on hidden temp files in the destination folder and end
with a rename under the lock (see :mod:`.writes`), so a failure leaves nothing behind and a
partial file is never visible. The store never overwrites an existing name
(:class:`NameExistsError`). Read-only storages refuse every change with ``STORE_READ_ONLY``.

*Confinement.* Every path is checked to resolve inside its storage root before it is opened or
changed, so no symlink -- listed or planted later -- leads outside the served folder.

*Threads and events.* One re-entrant lock guards every map and the state database; the watcher
thread takes it too. Subscribers are called after the lock is released, on the thread that
made the change (for disk changes: the watcher's flusher thread). The asyncio server must hop
them onto its loop with ``loop.call_soon_threadsafe``. A subscriber that raises is logged and
does not disturb the store or the other subscribers.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from openwpd.protocol.codes import ALL, ResponseCode

from .errors import NameExistsError, PartialDeletionError, StoreError, from_os_error
from .names import format_for, new_temp_name, validate_name
from .objects import MAX_HANDLE, ROOT, StoredObject, StoreEvent, StoreEventKind
from .scan import Entry, classify, is_inside, scan_dir
from .state import StateDB, default_state_dir
from .storage import Storage, storage_id_for_index
from .watch import Batch, FolderWatcher
from .writes import EditSession, PendingObject

log = logging.getLogger(__name__)

Subscriber = Callable[[StoreEvent], None]

_O_BINARY = getattr(os, "O_BINARY", 0)


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def _ns(dt: datetime) -> int:
    # A naive datetime is local time, as MTP DateTime strings without a zone are.
    return int(dt.timestamp() * 1_000_000) * 1000


class ObjectStore:
    """The objects of every served folder, with stable handles, PUIDs and change events.

    ``state_dir`` holds the PUID database and the device GUID (default: the user's state
    directory, ``platformdirs.user_state_dir("openwpd")``); nothing is ever written into the
    served folders except the objects initiators create. ``max_watched_folders`` bounds the
    watcher's per-folder watches; ``debounce`` is its quiet time in seconds.
    """

    def __init__(
        self,
        state_dir: Path | str | None = None,
        *,
        debounce: float = 0.2,
        max_watched_folders: int = 32,
    ) -> None:
        self._lock = threading.RLock()
        self._state = StateDB(Path(state_dir) if state_dir is not None else default_state_dir())
        #: The device's 16-byte GUID, created once and kept in the state directory.
        self.device_guid: bytes = self._state.meta_bytes("device_guid", os.urandom(16))
        self._storages: dict[int, Storage] = {}
        self._objects: dict[int, StoredObject] = {}
        self._kids: dict[int, dict[str, int]] = {}
        self._reserved: set[tuple[int, str]] = set()
        self._editing: set[int] = set()
        self._next_handle = 1
        self._subscribers: list[Subscriber] = []
        self._watcher: FolderWatcher | None = None
        self._debounce = debounce
        self._max_watched = max_watched_folders
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def serial_number(self) -> str:
        """A stable serial number string derived from :attr:`device_guid` (32 hex digits)."""
        return self.device_guid.hex().upper()

    def close(self) -> None:
        """Stop watching and close the state database. Idempotent."""
        self.stop_watching()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._state.close()

    def __enter__(self) -> ObjectStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start_watching(self) -> None:
        """Start reporting changes made to the served folders by other programs (watchdog).
        Folders listed before this call are re-scanned the next time they are listed."""
        with self._lock:
            if self._watcher is not None:
                return
            watcher = FolderWatcher(
                self._on_disk_batch,
                debounce=self._debounce,
                max_watches=self._max_watched,
            )
            watcher.start()
            self._watcher = watcher

    def stop_watching(self) -> None:
        """Stop the watcher threads (no-op if not watching)."""
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:  # joined outside the lock: the flusher may be waiting for it
            watcher.stop()

    # -- storages ----------------------------------------------------------------------------

    def add_storage(
        self,
        root: Path | str,
        name: str | None = None,
        read_only: bool = False,
        *,
        reserve_bytes: int = 0,
    ) -> Storage:
        """Serve folder ``root`` as the next storage (StorageID 0x00010001, 0x00020001, ...).

        Raises NotADirectoryError if ``root`` is not an existing folder.
        """
        with self._lock:
            sid = storage_id_for_index(len(self._storages))
            storage = Storage(sid, Path(root), name, read_only, reserve_bytes)
            self._storages[sid] = storage
            return storage

    @property
    def storages(self) -> list[Storage]:
        """The storages, in StorageID order."""
        return list(self._storages.values())

    def storage(self, storage_id: int) -> Storage:
        """The storage with that ID; ``INVALID_STORAGE_ID`` if there is none."""
        storage = self._storages.get(storage_id)
        if storage is None:
            raise StoreError(ResponseCode.INVALID_STORAGE_ID, f"no storage 0x{storage_id:08X}")
        return storage

    # -- events ------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every change; returns an idempotent unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, events: list[StoreEvent]) -> None:
        if not events:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for event in _one_storage_event_each(events):
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:
                    log.exception("store subscriber failed on %s", event)

    @contextlib.contextmanager
    def _op(self) -> Iterator[list[StoreEvent]]:
        # Every public operation: take the lock, collect events, emit them after unlocking.
        events: list[StoreEvent] = []
        try:
            with self._lock:
                if self._closed:
                    raise StoreError(ResponseCode.STORE_NOT_AVAILABLE, "the store is closed")
                yield events
        finally:
            self._emit(events)

    # -- reading the tree --------------------------------------------------------------------

    def get(self, handle: int) -> StoredObject:
        """The object with that handle (a dict lookup); ``INVALID_OBJECT_HANDLE`` if the
        handle is unknown, deleted, or an upload not yet committed."""
        obj = self._objects.get(handle)
        if obj is None:
            raise StoreError(ResponseCode.INVALID_OBJECT_HANDLE, f"no object 0x{handle:08X}")
        return obj

    def children(self, storage_id: int, parent: int = ROOT, format: int = 0) -> list[StoredObject]:
        """The direct children of ``parent`` (a folder handle, or ``ROOT``/0 for the storage
        root), optionally only those of ObjectFormat ``format``. ``storage_id`` may be ALL;
        with the root that means the roots of all storages.

        GetObjectHandles' "parent 0 = the whole hierarchy" is :meth:`all_objects`, not this.
        Raises ``INVALID_STORAGE_ID`` or ``INVALID_PARENT_OBJECT``.
        """
        with self._op() as events:
            if parent in (0, ROOT):
                sids = list(self._storages) if storage_id == ALL else [self.storage(storage_id).id]
                keys = [-sid for sid in sids]
            else:
                if storage_id != ALL:
                    self.storage(storage_id)
                obj = self._objects.get(parent)
                if obj is None or not obj.is_folder or storage_id not in (ALL, obj.storage_id):
                    raise StoreError(
                        ResponseCode.INVALID_PARENT_OBJECT, f"0x{parent:08X} is not a folder here"
                    )
                keys = [parent]
            found: list[StoredObject] = []
            for key in keys:
                kids = self._ensure_listed(key, events)
                objs = self._objects
                if format:
                    found.extend(o for h in kids.values() if (o := objs[h]).format == format)
                else:
                    found.extend(objs[h] for h in kids.values())
            return found

    def all_objects(self, storage_id: int = ALL, format: int = 0) -> list[StoredObject]:
        """Every object of one storage (or of all), walking and caching the whole tree --
        what GetObjectHandles with parent 0 asks for. Folders that cannot be read are skipped."""
        with self._op() as events:
            sids = list(self._storages) if storage_id == ALL else [self.storage(storage_id).id]
            found: list[StoredObject] = []
            stack = [-sid for sid in reversed(sids)]
            while stack:
                key = stack.pop()
                try:
                    kids = self._ensure_listed(key, events, watch=False)
                except StoreError:
                    continue
                folders: list[int] = []
                for h in kids.values():
                    obj = self._objects[h]
                    if not format or obj.format == format:
                        found.append(obj)
                    if obj.is_folder:
                        folders.append(h)
                stack.extend(reversed(folders))
            return found

    def path_of(self, handle: int) -> Path:
        """The object's current path on disk (for handlers that need the file itself, e.g.
        to make a thumbnail). Checked to resolve inside its storage."""
        with self._lock:
            obj = self.get(handle)
            path = self._obj_path(obj)
            self._confine(path, obj.storage_id)
            return path

    def read(self, handle: int, offset: int = 0, length: int = -1) -> bytes:
        """Up to ``length`` bytes of the file from ``offset`` (all of the rest if negative);
        ``b""`` past the end. Raises like :meth:`open_read`."""
        if offset < 0:
            raise StoreError(ResponseCode.INVALID_PARAMETER, "negative offset")
        with self.open_read(handle) as f:
            f.seek(offset)
            return f.read(length)

    def open_read(self, handle: int) -> BinaryIO:
        """Open the file for streaming (the caller closes it). Raises
        ``INVALID_OBJECT_HANDLE`` (also if the file vanished, which is then reported as
        removed), ``INVALID_PARAMETER`` for a folder, ``ACCESS_DENIED``."""
        with self._op() as events:
            obj = self._file_object(handle)
            path = self._obj_path(obj)
            self._confine(path, obj.storage_id)
            try:
                return open(path, "rb")
            except FileNotFoundError as exc:
                self._drop(handle, events, external=True)
                raise from_os_error(exc, "open") from exc
            except OSError as exc:
                raise from_os_error(exc, "open") from exc

    # -- creating ------------------------------------------------------------------------------

    def begin_create(
        self,
        storage_id: int,
        parent: int,
        name: str,
        size: int | None = None,
        *,
        is_folder: bool = False,
        mtime: datetime | None = None,
    ) -> PendingObject:
        """Start an upload (SendObjectInfo): reserve a handle and ``name`` in folder
        ``parent`` (``ROOT``/0 = root of ``storage_id``; with a folder handle ``storage_id``
        may be 0 or ALL). ``size`` is the announced size, None if unknown. ``mtime`` is the
        initiator's DateModified, applied at commit.

        Raises ``STORE_READ_ONLY``, :class:`InvalidNameError`, :class:`NameExistsError`,
        ``STORE_FULL`` (announced size above the free space), ``INVALID_STORAGE_ID``,
        ``INVALID_PARENT_OBJECT``, ``ACCESS_DENIED``. Nothing is visible until
        :meth:`PendingObject.commit`.
        """
        with self._op() as events:
            key = self._dest_key(storage_id, parent)
            storage = self._storage_of_key(key)
            self._writable(storage)
            validate_name(name)
            dir_path = self._ready_dest(key, name, events)
            if not is_folder and size and size > storage.free_bytes:
                raise StoreError(ResponseCode.STORE_FULL, f"{size} bytes do not fit")
            handle = self._alloc()
            temp_path: Path | None = None
            file: BinaryIO | None = None
            if not is_folder:
                temp_path = dir_path / new_temp_name("upload")
                try:
                    fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
                except OSError as exc:
                    raise from_os_error(exc, "create") from exc
                file = os.fdopen(fd, "wb")
            self._reserved.add((key, name))
            return PendingObject(
                self,
                storage,
                handle,
                key=key,
                name=name,
                is_folder=is_folder,
                declared_size=size,
                mtime=mtime,
                temp_path=temp_path,
                file=file,
            )

    def create_folder(
        self, storage_id: int, parent: int, name: str, *, mtime: datetime | None = None
    ) -> StoredObject:
        """Create a folder at once (SendObjectInfo for an association has no SendObject).
        Raises as :meth:`begin_create`."""
        return self.begin_create(storage_id, parent, name, is_folder=True, mtime=mtime).commit()

    def _commit_pending(self, p: PendingObject) -> StoredObject:
        with self._op() as events:
            p._check_open()
            try:
                if p._file is not None:
                    p._file.close()
                if p._key not in self._kids:
                    raise StoreError(ResponseCode.INVALID_PARENT_OBJECT, "the folder is gone")
                dir_path = self._dir_path(p._key)
                self._confine(dir_path, p.storage_id)
                final = dir_path / p.name
                if p.name in self._kids[p._key] or os.path.lexists(final):
                    raise NameExistsError(p.name)
                if p.is_folder:
                    os.mkdir(final)
                    target = final
                else:
                    assert p._temp_path is not None
                    target = dir_path / p._temp_path.name
                if p.mtime is not None:
                    mtime_ns = _ns(p.mtime)
                    os.utime(target, ns=(mtime_ns, mtime_ns))
                if not p.is_folder:
                    os.rename(target, final)
                obj = self._register(
                    p._key, self._created(p._key, p.name), p.handle, fresh_puid=True
                )
            except BaseException as exc:
                self._abort_pending_locked(p)
                if isinstance(exc, OSError):
                    raise from_os_error(exc, "commit") from exc
                raise
            p._set_committed()
            self._reserved.discard((p._key, p.name))
            events.append(StoreEvent(StoreEventKind.OBJECT_ADDED, obj.handle))
            events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, obj.storage_id))
            return obj

    def _abort_pending(self, p: PendingObject) -> None:
        with self._lock:
            self._abort_pending_locked(p)

    def _abort_pending_locked(self, p: PendingObject) -> None:
        if not p._set_aborted():
            return
        self._reserved.discard((p._key, p.name))
        if p._file is not None:
            p._file.close()
        if p._temp_path is not None:
            # The folder may have been renamed or moved since: look for the temp file there.
            candidates = [p._temp_path]
            with contextlib.suppress(KeyError, StoreError):
                candidates.insert(0, self._dir_path(p._key) / p._temp_path.name)
            for path in candidates:
                with contextlib.suppress(OSError):
                    os.unlink(path)

    # -- editing -----------------------------------------------------------------------------

    def open_for_edit(self, handle: int) -> EditSession:
        """Begin an edit session (BeginEditObject) on a copy of the file (O(size) copy now;
        see :mod:`.writes`). Raises ``STORE_READ_ONLY``, ``INVALID_OBJECT_HANDLE``,
        ``INVALID_PARAMETER`` for a folder, ``DEVICE_BUSY`` if an edit is already open,
        ``OBJECT_WRITE_PROTECTED`` if the file is not writable, ``STORE_FULL``."""
        with self._op():
            obj = self._file_object(handle)
            storage = self._storages[obj.storage_id]
            self._writable(storage)
            if handle in self._editing:
                raise StoreError(ResponseCode.DEVICE_BUSY, "an edit is already open")
            path = self._obj_path(obj)
            self._confine(path, obj.storage_id)
            if os.path.exists(path) and not os.access(path, os.W_OK):
                raise StoreError(ResponseCode.OBJECT_WRITE_PROTECTED, f"{obj.name} is read-only")
            if obj.size > storage.free_bytes:
                raise StoreError(ResponseCode.STORE_FULL, "no room for the edit copy")
            temp = path.parent / new_temp_name("edit")
            try:
                shutil.copyfile(path, temp)
                shutil.copymode(path, temp)
                file = open(temp, "r+b")  # noqa: SIM115 - owned by the session
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise from_os_error(exc, "begin edit") from exc
            self._editing.add(handle)
            return EditSession(
                self, storage, handle, temp, file=file, size=os.fstat(file.fileno()).st_size
            )

    def _commit_edit(self, s: EditSession) -> StoredObject:
        with self._op() as events:
            s._check_open()
            try:
                assert s._file is not None
                s._file.close()
                old = self.get(s.handle)
                path = self._obj_path(old)
                self._confine(path.parent, old.storage_id)
                os.replace(s._temp_path, path)
                entry = self._stat_entry(path.parent, old)
                new = replace(
                    old, size=entry.size, mtime=_dt(entry.mtime_ns), ctime=_dt(entry.ctime_ns)
                )
            except BaseException as exc:
                self._abort_edit_locked(s)
                if isinstance(exc, OSError):
                    raise from_os_error(exc, "end edit") from exc
                raise
            s._set_committed()
            self._editing.discard(s.handle)
            self._objects[s.handle] = new
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, s.handle))
            events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, new.storage_id))
            return new

    def _abort_edit(self, s: EditSession) -> None:
        with self._lock:
            self._abort_edit_locked(s)

    def _abort_edit_locked(self, s: EditSession) -> None:
        if not s._set_aborted():
            return
        self._editing.discard(s.handle)
        if s._file is not None:
            s._file.close()
        with contextlib.suppress(OSError):
            os.unlink(s._temp_path)

    # -- changing ----------------------------------------------------------------------------

    def delete(self, handle: int) -> list[int]:
        """Delete an object, a folder with everything in it. Returns the handles deleted,
        children before parents (an unlisted folder's contents had no handles). Events:
        OBJECT_REMOVED for the topmost deleted objects only -- descendants are implied.

        Raises ``STORE_READ_ONLY``, ``INVALID_OBJECT_HANDLE``, the mapped OS error if nothing
        could be deleted, or :class:`PartialDeletionError` if only some of it was.
        """
        with self._op() as events:
            obj = self.get(handle)
            self._writable(self._storages[obj.storage_id])
            self._confine(self._dir_path(self._parent_key(obj)), obj.storage_id)
            deleted: list[tuple[int, int]] = []
            failures: list[OSError] = []
            self._delete_rec(handle, deleted, failures)
            gone = {h for h, _ in deleted}
            for h, parent in deleted:
                if parent not in gone:
                    events.append(StoreEvent(StoreEventKind.OBJECT_REMOVED, h))
            if deleted:
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, obj.storage_id))
            if failures:
                if not deleted:
                    raise from_os_error(failures[0], "delete") from failures[0]
                raise PartialDeletionError(
                    [h for h, _ in deleted], f"{len(failures)} object(s) could not be deleted"
                )
            return [h for h, _ in deleted]

    def _delete_rec(
        self, handle: int, deleted: list[tuple[int, int]], failures: list[OSError]
    ) -> bool:
        obj = self._objects[handle]
        path = self._obj_path(obj)
        try:
            if obj.is_folder:
                kids = self._kids.get(handle)
                if kids is not None:
                    results = [self._delete_rec(h, deleted, failures) for h in list(kids.values())]
                    if not all(results):
                        return False
                # Whatever is left is unlisted content and temp files: remove it with the folder.
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            failures.append(exc)
            return False
        self._forget(handle)
        deleted.append((handle, obj.parent))
        return True

    def rename(self, handle: int, new_name: str) -> StoredObject:
        """Rename in place (ObjectFileName). The handle and the PUID stay; the format follows
        the new extension. Raises ``STORE_READ_ONLY``, :class:`InvalidNameError`,
        :class:`NameExistsError`, ``INVALID_OBJECT_HANDLE``."""
        with self._op() as events:
            obj = self.get(handle)
            storage = self._storages[obj.storage_id]
            self._writable(storage)
            validate_name(new_name)
            if new_name == obj.name:
                return obj
            key = self._parent_key(obj)
            dir_path = self._dir_path(key)
            self._confine(dir_path, obj.storage_id)
            src, dst = dir_path / obj.name, dir_path / new_name
            kids = self._kids[key]
            if new_name in kids or (os.path.lexists(dst) and not _same_entry(src, dst)):
                raise NameExistsError(new_name)
            try:
                os.rename(src, dst)
            except OSError as exc:
                raise from_os_error(exc, "rename") from exc
            del kids[obj.name]
            kids[new_name] = handle
            rel = self._dir_rel(key)
            root = str(storage.root)
            self._state.move((root, rel, obj.name), (root, rel, new_name))
            new = replace(obj, name=new_name, format=format_for(new_name, obj.is_folder))
            self._objects[handle] = new
            self._unwatch_subtree(handle)
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle))
            return new

    def move(self, handle: int, storage_id: int, parent: int) -> StoredObject:
        """Move an object (MoveObject) into folder ``parent`` of ``storage_id`` (``ROOT``/0 =
        its root). The handle and the PUID stay. Across file systems the data is copied to a
        temp name, renamed into place, then the source is deleted.

        Raises ``STORE_READ_ONLY`` (either side), ``INVALID_PARENT_OBJECT`` (also for a folder
        moved into itself), :class:`NameExistsError`, ``INVALID_OBJECT_HANDLE``.
        """
        with self._op() as events:
            obj = self.get(handle)
            src_storage = self._storages[obj.storage_id]
            self._writable(src_storage)
            dkey = self._dest_key(storage_id, parent)
            dst_storage = self._storage_of_key(dkey)
            self._writable(dst_storage)
            skey = self._parent_key(obj)
            if dkey == skey:
                return obj
            if obj.is_folder and self._in_subtree(dkey, handle):
                raise StoreError(ResponseCode.INVALID_PARENT_OBJECT, "cannot move into itself")
            ddir = self._ready_dest(dkey, obj.name, events)
            sdir = self._dir_path(skey)
            self._confine(sdir, obj.storage_id)
            src, dst = sdir / obj.name, ddir / obj.name
            try:
                try:
                    os.rename(src, dst)
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
                    _move_across(src, dst, str(src_storage.root))
            except OSError as exc:
                raise from_os_error(exc, "move") from exc
            del self._kids[skey][obj.name]
            self._kids[dkey][obj.name] = handle
            self._state.move(
                (str(src_storage.root), self._dir_rel(skey), obj.name),
                (str(dst_storage.root), self._dir_rel(dkey), obj.name),
            )
            new = replace(obj, storage_id=dst_storage.id, parent=max(dkey, 0))
            self._objects[handle] = new
            if dst_storage is not src_storage:
                for h in self._subtree(handle):
                    self._objects[h] = replace(self._objects[h], storage_id=dst_storage.id)
            self._unwatch_subtree(handle)
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle))
            if dst_storage is not src_storage:
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, src_storage.id))
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, dst_storage.id))
            return new

    def copy(self, handle: int, storage_id: int, parent: int) -> StoredObject:
        """Copy an object (CopyObject) into folder ``parent`` of ``storage_id``; folders
        recursively (served entries only). The copy is built under a temp name and renamed
        into place, so a failed copy leaves nothing. Returns the new object (new handle and
        PUID). The data is copied without holding the store lock.

        Raises ``STORE_READ_ONLY``, ``STORE_FULL``, :class:`NameExistsError`,
        ``INVALID_PARENT_OBJECT``, ``INVALID_OBJECT_HANDLE``.
        """
        with self._op() as events:
            obj = self.get(handle)
            dkey = self._dest_key(storage_id, parent)
            dst_storage = self._storage_of_key(dkey)
            self._writable(dst_storage)
            ddir = self._ready_dest(dkey, obj.name, events)
            if obj.size > dst_storage.free_bytes:
                raise StoreError(ResponseCode.STORE_FULL, f"{obj.size} bytes do not fit")
            src = self._obj_path(obj)
            self._confine(src, obj.storage_id)
            src_root = str(self._storages[obj.storage_id].root)
            temp = ddir / new_temp_name("copy")
            self._reserved.add((dkey, obj.name))
        try:
            try:
                _copy_any(src, temp, src_root)
            except OSError as exc:
                _remove_any(temp)
                raise from_os_error(exc, "copy") from exc
            with self._op() as events:
                try:
                    if dkey not in self._kids:
                        raise StoreError(ResponseCode.INVALID_PARENT_OBJECT, "the folder is gone")
                    final = self._dir_path(dkey) / obj.name
                    if obj.name in self._kids[dkey] or os.path.lexists(final):
                        raise NameExistsError(obj.name)
                    new_handle = self._alloc()
                    os.rename(self._dir_path(dkey) / temp.name, final)
                except BaseException as exc:
                    _remove_any(self._dir_path(dkey) / temp.name if dkey in self._kids else temp)
                    if isinstance(exc, OSError):
                        raise from_os_error(exc, "copy") from exc
                    raise
                entry = self._created(dkey, obj.name)
                new = self._register(dkey, entry, new_handle, fresh_puid=True)
                events.append(StoreEvent(StoreEventKind.OBJECT_ADDED, new.handle))
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, new.storage_id))
                return new
        finally:
            with self._lock:
                self._reserved.discard((dkey, obj.name))

    def set_mtime(self, handle: int, when: datetime) -> StoredObject:
        """Set DateModified (a naive datetime is local time). Raises ``STORE_READ_ONLY``,
        ``INVALID_OBJECT_HANDLE``, ``ACCESS_DENIED``."""
        with self._op() as events:
            obj = self.get(handle)
            self._writable(self._storages[obj.storage_id])
            path = self._obj_path(obj)
            self._confine(path, obj.storage_id)
            ns = _ns(when)
            try:
                os.utime(path, ns=(ns, ns))
            except OSError as exc:
                raise from_os_error(exc, "set the modification time") from exc
            entry = self._stat_entry(path.parent, obj)
            new = replace(obj, mtime=_dt(entry.mtime_ns), ctime=_dt(entry.ctime_ns))
            self._objects[handle] = new
            events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle))
            return new

    # -- internals: keys and paths -----------------------------------------------------------

    def _alloc(self) -> int:
        handle = self._next_handle
        if handle > MAX_HANDLE:
            raise StoreError(ResponseCode.GENERAL_ERROR, "out of object handles")
        self._next_handle = handle + 1
        return handle

    def _storage_of_key(self, key: int) -> Storage:
        sid = -key if key < 0 else self._objects[key].storage_id
        return self._storages[sid]

    @staticmethod
    def _parent_key(obj: StoredObject) -> int:
        return obj.parent or -obj.storage_id

    def _rel_parts(self, handle: int) -> list[str]:
        parts: list[str] = []
        while handle:
            obj = self._objects[handle]
            parts.append(obj.name)
            handle = obj.parent
        parts.reverse()
        return parts

    def _dir_rel(self, key: int) -> str:
        return "/".join(self._rel_parts(key)) if key > 0 else ""

    def _dir_path(self, key: int) -> Path:
        root = self._storage_of_key(key).root
        return root.joinpath(*self._rel_parts(key)) if key > 0 else root

    def _obj_path(self, obj: StoredObject) -> Path:
        return self._dir_path(self._parent_key(obj)) / obj.name

    def _confine(self, path: Path, storage_id: int) -> None:
        root = str(self._storages[storage_id].root)
        if not is_inside(os.path.realpath(path), root):
            raise StoreError(ResponseCode.ACCESS_DENIED, f"{path} leads outside the storage")

    def _file_object(self, handle: int) -> StoredObject:
        obj = self.get(handle)
        if obj.is_folder:
            raise StoreError(ResponseCode.INVALID_PARAMETER, f"{obj.name} is a folder")
        return obj

    @staticmethod
    def _writable(storage: Storage) -> None:
        if storage.read_only:
            raise StoreError(ResponseCode.STORE_READ_ONLY, f"{storage.description} is read-only")

    def _dest_key(self, storage_id: int, parent: int) -> int:
        if parent in (0, ROOT):
            return -self.storage(storage_id).id
        obj = self._objects.get(parent)
        if obj is None or not obj.is_folder:
            raise StoreError(ResponseCode.INVALID_PARENT_OBJECT, f"0x{parent:08X} is not a folder")
        if storage_id not in (0, ALL, obj.storage_id):
            raise StoreError(ResponseCode.INVALID_PARENT_OBJECT, "folder is in another storage")
        return parent

    def _ready_dest(self, key: int, name: str, events: list[StoreEvent]) -> Path:
        """Check that ``name`` is free in destination folder ``key``; return its path."""
        kids = self._ensure_listed(key, events)
        dir_path = self._dir_path(key)
        self._confine(dir_path, self._storage_of_key(key).id)
        if name in kids or (key, name) in self._reserved or os.path.lexists(dir_path / name):
            raise NameExistsError(name)
        return dir_path

    def _in_subtree(self, key: int, top: int) -> bool:
        while key > 0:
            if key == top:
                return True
            key = self._objects[key].parent
        return False

    def _subtree(self, top: int) -> list[int]:
        """Handles of the cached descendants of ``top`` (not ``top`` itself)."""
        found: list[int] = []
        stack = [top]
        while stack:
            kids = self._kids.get(stack.pop())
            if kids:
                found.extend(kids.values())
                stack.extend(kids.values())
        return found

    # -- internals: the cache ----------------------------------------------------------------

    def _make(self, handle: int, key: int, entry: Entry, puid: int) -> StoredObject:
        return StoredObject(
            handle=handle,
            storage_id=self._storage_of_key(key).id,
            parent=max(key, 0),
            name=entry.name,
            is_folder=entry.is_folder,
            size=entry.size,
            mtime=_dt(entry.mtime_ns),
            ctime=_dt(entry.ctime_ns),
            format=format_for(entry.name, entry.is_folder),
            puid=puid,
        )

    def _stat_entry(self, dir_path: Path, obj: StoredObject) -> Entry:
        entry = classify(str(dir_path), obj.name, str(self._storages[obj.storage_id].root))
        if entry is None:
            raise StoreError(ResponseCode.GENERAL_ERROR, f"{obj.name} is no longer served")
        return entry

    def _register(self, key: int, entry: Entry, handle: int, *, fresh_puid: bool) -> StoredObject:
        """Add the object ``entry`` of folder ``key`` to the cache. ``fresh_puid`` for objects
        the store just created (stale PUID rows at that path are dropped)."""
        root = str(self._storage_of_key(key).root)
        rel = self._dir_rel(key)
        if fresh_puid:
            puid = self._state.new_object(root, rel, entry.name)
        else:
            puid = self._state.puids_for_dir(root, rel, [entry.name])[entry.name]
        obj = self._make(handle, key, entry, puid)
        self._objects[handle] = obj
        self._kids[key][entry.name] = handle
        return obj

    def _created(self, key: int, name: str) -> Entry:
        """Stat what the store just created at ``key/name``."""
        entry = classify(str(self._dir_path(key)), name, str(self._storage_of_key(key).root))
        if entry is None:
            raise StoreError(ResponseCode.GENERAL_ERROR, f"{name} vanished")
        return entry

    def _ensure_listed(
        self, key: int, events: list[StoreEvent], *, watch: bool = True
    ) -> dict[str, int]:
        kids = self._kids.get(key)
        watcher = self._watcher
        if kids is None:
            if watch and watcher is not None:
                # Watch before reading, so nothing that changes in between is missed.
                watcher.watch(key, str(self._dir_path(key)))
            try:
                return self._list(key)
            except StoreError:
                if watcher is not None:
                    watcher.unwatch(key)
                raise
        if watcher is not None and not watcher.touch(key):
            if watch:
                watcher.watch(key, str(self._dir_path(key)))
            self._reconcile_dir(key, events)
        return kids

    def _list(self, key: int) -> dict[str, int]:
        storage = self._storage_of_key(key)
        dir_path = self._dir_path(key)
        self._confine(dir_path, storage.id)
        try:
            entries = scan_dir(str(dir_path), str(storage.root))
        except OSError as exc:
            raise from_os_error(exc, "list") from exc
        puids = self._state.puids_for_dir(
            str(storage.root), self._dir_rel(key), [e.name for e in entries]
        )
        kids: dict[str, int] = {}
        for entry in entries:
            handle = self._alloc()
            self._objects[handle] = self._make(handle, key, entry, puids[entry.name])
            kids[entry.name] = handle
        self._kids[key] = kids
        return kids

    def _forget(self, handle: int) -> None:
        """Remove ``handle`` and its cached subtree from the maps and the PUID table."""
        obj = self._objects[handle]
        storage = self._storages[obj.storage_id]
        key = self._parent_key(obj)
        self._state.forget(str(storage.root), self._dir_rel(key), obj.name)
        kids = self._kids.get(key)
        if kids is not None and kids.get(obj.name) == handle:
            del kids[obj.name]
        for h in [handle, *self._subtree(handle)]:
            self._objects.pop(h, None)
            if self._kids.pop(h, None) is not None and self._watcher is not None:
                self._watcher.unwatch(h)

    def _drop(self, handle: int, events: list[StoreEvent], *, external: bool) -> None:
        obj = self._objects[handle]
        self._forget(handle)
        events.append(StoreEvent(StoreEventKind.OBJECT_REMOVED, handle, external))
        events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, obj.storage_id, external))

    def _unwatch_subtree(self, top: int) -> None:
        if self._watcher is None:
            return
        for key in self._watcher.watched():
            if self._in_subtree(key, top):
                self._watcher.unwatch(key)

    def _reconcile_dir(self, key: int, events: list[StoreEvent]) -> None:
        storage = self._storage_of_key(key)
        dir_path = self._dir_path(key)
        try:
            self._confine(dir_path, storage.id)
            entries = scan_dir(str(dir_path), str(storage.root))
        except (OSError, StoreError):
            return  # unreadable now: keep what we know; the parent's watch reports removal
        seen = {e.name: e for e in entries}
        for name, handle in list(self._kids[key].items()):
            if name not in seen:
                self._drop(handle, events, external=True)
        for entry in entries:
            self._reconcile_entry(key, entry.name, entry, events)

    def _reconcile_entry(
        self, key: int, name: str, entry: Entry | None, events: list[StoreEvent]
    ) -> None:
        kids = self._kids[key]
        handle = kids.get(name)
        if handle is not None:
            old = self._objects[handle]
            if entry is not None and old.is_folder == entry.is_folder:
                mtime = _dt(entry.mtime_ns)
                if old.is_folder or (old.size, old.mtime) == (entry.size, mtime):
                    return
                self._objects[handle] = replace(
                    old, size=entry.size, mtime=mtime, ctime=_dt(entry.ctime_ns)
                )
                events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle, True))
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, old.storage_id, True))
                return
            self._drop(handle, events, external=True)
        if entry is None:
            return
        obj = self._register(key, entry, self._alloc(), fresh_puid=False)
        events.append(StoreEvent(StoreEventKind.OBJECT_ADDED, obj.handle, True))
        events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, obj.storage_id, True))

    def _keys_for_dir(self, dir_path: str) -> list[int]:
        """Listed folder keys whose path is ``dir_path`` (several if storages nest)."""
        found: list[int] = []
        for storage in self._storages.values():
            root = str(storage.root)
            if dir_path == root:
                rel = ""
            elif is_inside(dir_path, root):
                rel = dir_path[len(root.rstrip(os.sep)) + 1 :]
            else:
                continue
            key = -storage.id
            for part in rel.split(os.sep) if rel else []:
                kids = self._kids.get(key)
                if kids is None or part not in kids:
                    break
                key = kids[part]
            else:
                if key in self._kids:
                    found.append(key)
        return found

    def _on_disk_batch(self, batch: Batch) -> None:
        if self._closed:
            return
        with self._op() as events:
            for dir_path, names in batch.items():
                for key in self._keys_for_dir(dir_path):
                    root = str(self._storage_of_key(key).root)
                    for name in sorted(names):
                        if key in self._kids:  # an earlier name may have dropped the folder
                            entry = classify(dir_path, name, root)
                            self._reconcile_entry(key, name, entry, events)


def _one_storage_event_each(events: list[StoreEvent]) -> list[StoreEvent]:
    # One STORAGE_INFO_CHANGED per storage per operation (or watcher batch) is plenty.
    seen: set[int] = set()
    out: list[StoreEvent] = []
    for event in events:
        if event.kind is StoreEventKind.STORAGE_INFO_CHANGED:
            if event.target in seen:
                continue
            seen.add(event.target)
        out.append(event)
    return out


def _same_entry(a: Path, b: Path) -> bool:
    # A case-only rename on a case-insensitive file system: both names are the same file.
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _copy_any(src: Path, dst: Path, root_real: str) -> None:
    """Copy a file or folder tree (served entries only), keeping modification times."""
    if not os.path.isdir(src) or os.path.islink(src):
        shutil.copy2(src, dst)
        return
    os.mkdir(dst)
    for entry in scan_dir(str(src), root_real):
        _copy_any(src / entry.name, dst / entry.name, root_real)
    shutil.copystat(src, dst)


def _remove_any(path: Path, *, strict: bool = False) -> None:
    """Remove a file or a folder tree; errors are swallowed (cleanup) unless ``strict``."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except OSError:
        if strict:
            raise


def _move_across(src: Path, dst: Path, src_root: str) -> None:
    """Move between file systems: copy to a temp name, rename into place, delete the source.
    If the source cannot be deleted the copy is removed again, so exactly one survives."""
    temp = dst.parent / new_temp_name("move")
    try:
        _copy_any(src, temp, src_root)
        os.rename(temp, dst)
    except OSError:
        _remove_any(temp)
        raise
    try:
        _remove_any(src, strict=True)
    except OSError:
        _remove_any(dst)
        raise
