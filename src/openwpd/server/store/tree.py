"""The in-memory tree: handles, lazy folder listings, paths, and reconciliation with the disk.

Theory of operation.

*Handles.* Every file or folder the store has seen gets a u32 handle from a counter: 1, 2, 3...
never 0, never 0xFFFFFFFF, never reused (a deleted object's handle stays burned; an aborted
upload's too). ``_objects`` maps handle -> :class:`StoredObject` snapshot, so a lookup is one
dict access with no ``stat``.

*Lazy listing.* Nothing is scanned up front. The first time a folder's children are asked for,
the folder is read with one ``os.scandir`` (one ``stat`` per entry), its entries get handles and
PUIDs, and ``_kids[key]`` (name -> handle) records it as listed. After that, listing it again is
a walk over that dict. A folder is keyed by its handle; a storage root by ``-storage_id``.
Paths are never stored: an object's path is rebuilt from its parent chain, so renaming a folder
is O(1) for the cache (the PUID table is rewritten in one UPDATE).

*Keeping the cache true.* Changes made through the store update the cache in the same locked
section as the disk change. Changes made by other programs arrive from the watcher
(:mod:`.watch`) as dirty names that are re-``stat``ed and compared with the cache
(:meth:`TreeCache._reconcile_entry`); only real differences become events. A listed folder that
is not (or no longer) watched while the watcher runs is re-scanned and diffed the next time it
is listed.

Everything here runs under the store's lock; :class:`~.core.ObjectStore` takes it.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from openwpd.protocol.codes import ALL, ResponseCode

from .errors import NameExistsError, StoreError, from_os_error
from .fsops import Folder
from .names import format_for, is_servable
from .objects import MAX_HANDLE, ROOT, StoredObject, StoreEvent, StoreEventKind
from .scan import Entry, classify, is_inside, scan_dir
from .state import StateDB
from .storage import Storage
from .watch import FolderWatcher

#: the granularity of file-system timestamps to allow for (kernel ticks are 1-10 ms)
MTIME_SLACK_NS = 20_000_000


def dt_from_ns(ns: int) -> datetime:
    """A POSIX timestamp in nanoseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def ns_from_dt(dt: datetime) -> int:
    """Nanoseconds since the epoch; a naive datetime is local time, as MTP DateTime strings
    without a zone are."""
    return int(dt.timestamp() * 1_000_000) * 1000


def _relative(path: str, root: str) -> str | None:
    """``path`` relative to the storage ``root`` ("" for the root itself); None outside it."""
    if path == root:
        return ""
    if is_inside(path, root):
        return path[len(root.rstrip(os.sep)) + 1 :]
    return None


class TreeCache:
    """The handle maps and the lazily listed folders of every storage (not thread-safe by
    itself: callers hold the store's lock)."""

    def __init__(self, state: StateDB) -> None:
        self._state = state
        self._storages: dict[int, Storage] = {}
        self._objects: dict[int, StoredObject] = {}
        self._kids: dict[int, dict[str, int]] = {}
        self._reserved: set[tuple[int, str]] = set()
        self._next_handle = 1
        self._watcher: FolderWatcher | None = None
        #: names the watcher reported that are not taken in yet: folder path -> names
        self._intake: dict[str, set[str]] = {}
        #: listed folders to compare with the disk when next listed (listed before watching)
        self._unsure: set[int] = set()
        #: when (``time.time_ns()``) each listed folder was last read whole
        self._read_at: dict[int, int] = {}

    def storage(self, storage_id: int) -> Storage:
        """The storage with that ID; ``INVALID_STORAGE_ID`` if there is none,
        ``STORE_NOT_AVAILABLE`` while its folder is gone."""
        storage = self._storages.get(storage_id)
        if storage is None:
            raise StoreError(ResponseCode.INVALID_STORAGE_ID, f"no storage 0x{storage_id:08X}")
        if not storage.available:
            raise StoreError(ResponseCode.STORE_NOT_AVAILABLE, f"{storage.description} is gone")
        return storage

    def get(self, handle: int) -> StoredObject:
        """The object with that handle (a dict lookup); ``INVALID_OBJECT_HANDLE`` if the
        handle is unknown, deleted, or an upload not yet committed."""
        obj = self._objects.get(handle)
        if obj is None:
            raise StoreError(ResponseCode.INVALID_OBJECT_HANDLE, f"no object 0x{handle:08X}")
        return obj

    # -- keys and paths -----------------------------------------------------------

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

    def _folder(self, key: int) -> Folder:
        """Folder ``key`` opened for changes, one name at a time from its storage root and
        never through a symlink (see :mod:`.fsops`). Raises a :class:`StoreError`
        (``ACCESS_DENIED`` if a symlink took the place of a folder on the way)."""
        storage = self._storage_of_key(key)
        try:
            return Folder.at(storage.root, self._rel_parts(key) if key > 0 else [])
        except OSError as exc:
            raise from_os_error(exc, "open the folder") from exc

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
        self._ensure_listed(key, events)
        dir_path = self._dir_path(key)
        self._confine(dir_path, self._storage_of_key(key).id)
        if (key, name) in self._reserved or self._taken(
            key, name, os.path.lexists(dir_path / name), events
        ):
            raise NameExistsError(name)
        return dir_path

    def _taken(self, key: int, name: str, on_disk: bool, events: list[StoreEvent]) -> bool:
        """Whether ``name`` is taken in listed folder ``key``, judged by the disk now
        (``on_disk``: whether the name exists there at this moment). A cached object another
        program has deleted, that the watcher has not reported yet, is dropped here with its
        ObjectRemoved event and does not count: its name is free at once."""
        kids = self._kids[key]
        if name in kids and not on_disk:
            self._reconcile_entry(key, name, None, events)
        return on_disk or name in kids

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

    # -- the cache ----------------------------------------------------------------

    def _make(self, handle: int, key: int, entry: Entry, puid: int) -> StoredObject:
        return StoredObject(
            handle=handle,
            storage_id=self._storage_of_key(key).id,
            parent=max(key, 0),
            name=entry.name,
            is_folder=entry.is_folder,
            size=entry.size,
            mtime=dt_from_ns(entry.mtime_ns),
            ctime=dt_from_ns(entry.ctime_ns),
            format=format_for(entry.name, entry.is_folder),
            puid=puid,
        )

    def _register(
        self, key: int, entry: Entry, handle: int, *, fresh_puid: bool, puid: int | None = None
    ) -> StoredObject:
        """Add the object ``entry`` of folder ``key`` to the cache. ``fresh_puid`` for objects
        the store just created (stale PUID rows at that path are dropped); ``puid`` if the
        caller has looked it up already."""
        root = str(self._storage_of_key(key).root)
        rel = self._dir_rel(key)
        if fresh_puid:
            puid = self._state.new_object(root, rel, entry.name)
        elif puid is None:
            puid = self._state.puid_for(root, rel, entry.name)
        obj = self._make(handle, key, entry, puid)
        self._objects[handle] = obj
        self._kids[key][entry.name] = handle
        return obj

    def _restat(self, key: int, name: str) -> Entry:
        """Stat what the store just created or changed at ``key/name``."""
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
        if watcher is not None and (
            not watcher.touch(key, str(self._dir_path(key))) or key in self._unsure
        ):
            self._unsure.discard(key)
            if watch:
                watcher.watch(key, str(self._dir_path(key)))
            self._reconcile_dir(key, events)
        elif watcher is not None:
            # What the watcher has reported for this folder and not been taken in yet is taken
            # in now, and names the folder has gained or lost since it was last read are
            # caught up with (the OS's events may lag far behind another program filling it):
            # a listing is complete while the watcher catches up.
            path = str(self._dir_path(key))

            def new(name: str) -> bool:
                # removals and changes stay the watcher's: dropping a big subtree is its
                # work, a slice at a time, not one listing's
                return name not in kids

            names = watcher.take(path, new)
            pending = self._intake.get(path)
            if pending:
                names |= {name for name in pending if new(name)}
                pending -= names
            if names:
                self._take_in(path, sorted(names), events)
            if self._changed_since_read(key, path):
                self._catch_up(key, path, events)
        return kids

    def _changed_since_read(self, key: int, path: str) -> bool:
        """Whether folder ``key`` may have gained or lost names since it was last read: its
        modification time says so (one ``stat``). The file system's clock is coarse, so a
        change within MTIME_SLACK_NS of the read counts too."""
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return False
        return mtime + MTIME_SLACK_NS > self._read_at.get(key, 0)

    def _catch_up(self, key: int, path: str, events: list[StoreEvent]) -> None:
        """Take in the names folder ``key`` has gained since it was last read: one read of its
        names, then the new ones are judged one by one. Entries the cache knows are left to
        the watcher (changes and removals: a folder of 20,000 files another program deletes
        is dropped by the watcher a slice at a time, not by one listing holding the lock),
        and a name taken again is checked when it is (``_taken``)."""
        read_at = time.time_ns()
        try:
            on_disk = set(os.listdir(path))
        except OSError:
            return
        self._read_at[key] = read_at
        kids = self._kids[key]
        gained = [name for name in on_disk if name not in kids and is_servable(name)]
        if gained:
            self._take_in(path, sorted(gained), events)

    def _list(self, key: int) -> dict[str, int]:
        storage = self._storage_of_key(key)
        dir_path = self._dir_path(key)
        self._confine(dir_path, storage.id)
        self._read_at[key] = time.time_ns()
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
        # The parent of a known object is always listed.
        del self._kids[key][obj.name]
        for h in [handle, *self._subtree(handle)]:
            self._objects.pop(h, None)
            self._read_at.pop(h, None)
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
            read_at = time.time_ns()
            entries = scan_dir(str(dir_path), str(storage.root))
            self._read_at[key] = read_at
        except (OSError, StoreError):
            return  # unreadable now: keep what we know; the parent's watch reports removal
        seen = {e.name: e for e in entries}
        kids = self._kids[key]
        for name, handle in list(kids.items()):
            if name not in seen:
                self._drop(handle, events, external=True)
        new = [e.name for e in entries if e.name not in kids]
        puids = self._state.puids_for(str(storage.root), self._dir_rel(key), new) if new else {}
        for entry in entries:
            self._reconcile_entry(key, entry.name, entry, events, puid=puids.get(entry.name))

    def _take_in(self, dir_path: str, names: list[str], events: list[StoreEvent]) -> None:
        """Compare names the watcher reported in folder ``dir_path`` with the disk, now; the
        PUIDs of the new ones in one query. A folder no client has listed yet is listed now
        (and the folders on the way to it), and the reported names in it that exist are
        announced: a change anywhere in a served tree is an event."""
        keys = self._keys_for_dir(dir_path)
        fresh: list[int] = []
        if not keys and self._watcher is not None:
            keys, fresh = self._reach(dir_path, events)
        for key in fresh:
            kids = self._kids[key]
            for name in names:
                handle = kids.get(name)
                if handle is not None:
                    events.append(StoreEvent(StoreEventKind.OBJECT_ADDED, handle, True))
                    events.append(
                        StoreEvent(
                            StoreEventKind.STORAGE_INFO_CHANGED,
                            self._objects[handle].storage_id,
                            True,
                        )
                    )
        for key in keys:
            if key in fresh:
                continue
            storage = self._storage_of_key(key)
            root = str(storage.root)
            kids = self._kids[key]
            entries = [(name, classify(dir_path, name, root)) for name in names]
            new = [name for name, entry in entries if entry is not None and name not in kids]
            puids = self._state.puids_for(root, self._dir_rel(key), new) if new else {}
            for name, entry in entries:
                self._reconcile_entry(key, name, entry, events, puid=puids.get(name))

    def _reconcile_entry(
        self,
        key: int,
        name: str,
        entry: Entry | None,
        events: list[StoreEvent],
        *,
        puid: int | None = None,
    ) -> None:
        kids = self._kids[key]
        handle = kids.get(name)
        if handle is not None:
            old = self._objects[handle]
            if entry is not None and old.is_folder == entry.is_folder:
                mtime = dt_from_ns(entry.mtime_ns)
                if old.is_folder or (old.size, old.mtime) == (entry.size, mtime):
                    return
                self._objects[handle] = replace(
                    old, size=entry.size, mtime=mtime, ctime=dt_from_ns(entry.ctime_ns)
                )
                events.append(StoreEvent(StoreEventKind.OBJECT_INFO_CHANGED, handle, True))
                events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, old.storage_id, True))
                return
            self._drop(handle, events, external=True)
        if entry is None:
            return
        obj = self._register(key, entry, self._alloc(), fresh_puid=False, puid=puid)
        events.append(StoreEvent(StoreEventKind.OBJECT_ADDED, obj.handle, True))
        events.append(StoreEvent(StoreEventKind.STORAGE_INFO_CHANGED, obj.storage_id, True))

    def _reach(self, dir_path: str, events: list[StoreEvent]) -> tuple[list[int], list[int]]:
        """List the served folder at ``dir_path`` and the folders on the way to it from its
        storage root. Returns its keys, and those of them that were not listed before."""
        keys: list[int] = []
        fresh: list[int] = []
        for storage in self._storages.values():
            rel = _relative(dir_path, str(storage.root))
            if rel is None:
                continue
            key = -storage.id
            try:
                was_listed = key in self._kids
                kids = self._ensure_listed(key, events)
                for part in rel.split(os.sep) if rel else []:
                    handle = kids.get(part)
                    if handle is None or not self._objects[handle].is_folder:
                        break
                    key = handle
                    was_listed = key in self._kids
                    kids = self._ensure_listed(key, events)
                else:
                    keys.append(key)
                    if not was_listed:
                        fresh.append(key)
            except StoreError:
                continue
        return keys, fresh

    def _keys_for_dir(self, dir_path: str) -> list[int]:
        """Listed folder keys whose path is ``dir_path`` (several if storages nest)."""
        found: list[int] = []
        for storage in self._storages.values():
            rel = _relative(dir_path, str(storage.root))
            if rel is None:
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
