"""Value types handed out by the object store: objects, events and their kinds.

A :class:`StoredObject` is an immutable snapshot. When an object changes (rename, move, new size)
the store swaps in a new snapshot under the same handle, so a handler that holds an old one never
sees it change under its feet; it calls :meth:`ObjectStore.get` again for the current one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from openwpd.protocol.codes import ALL, ObjectFormatCode

#: Parent value meaning "the root of the storage" in operation parameters (GetObjectHandles p3,
#: SendObjectInfo p2). In a :class:`StoredObject` the root parent is written ``0`` instead.
ROOT = ALL

#: The largest handle the store hands out; 0 and 0xFFFFFFFF are never used as handles.
MAX_HANDLE = 0xFFFFFFFE


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One file or folder of a storage, as the store last saw it.

    ``parent`` is the parent folder's handle, 0 for objects in the storage root. ``size`` is the
    real size in bytes (0 for folders; may exceed 4 GiB -- the ObjectInfo dataset then carries
    0xFFFFFFFF). ``mtime`` and ``ctime`` are timezone-aware UTC datetimes; ``ctime`` is the
    birth time where the OS reports one, else the inode change time. ``puid`` is the 128-bit
    PersistentUniqueObjectIdentifier, stable across restarts and across renames and moves made
    through the store.
    """

    handle: int
    storage_id: int
    parent: int
    name: str
    is_folder: bool
    size: int
    mtime: datetime
    ctime: datetime
    format: ObjectFormatCode
    puid: int


class StoreEventKind(enum.Enum):
    """What changed. Not a wire code: the server maps these to MTP EventCodes."""

    OBJECT_ADDED = "object-added"
    OBJECT_REMOVED = "object-removed"
    OBJECT_INFO_CHANGED = "object-info-changed"
    STORAGE_INFO_CHANGED = "storage-info-changed"
    #: a served folder went away (an unmounted card): the storage is out of GetStorageIDs
    STORE_REMOVED = "store-removed"
    #: a served folder that had gone away is back, under the same StorageID
    STORE_ADDED = "store-added"


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """A change notification. ``target`` is an object handle, or a StorageID for
    ``STORAGE_INFO_CHANGED``, ``STORE_REMOVED`` and ``STORE_ADDED``. ``external`` is True when
    another program changed the folder on disk, False when the change went through the store
    (any session)."""

    kind: StoreEventKind
    target: int
    external: bool = False
