"""What the client hands out: storages and entries (files and folders), and their paths.

A :class:`Storage` is one MTP storage; its root is addressed as ``"/<description>"``. An
:class:`Entry` is one object: handle, name, size, dates, format, folder or not, and its path when
it was reached through one. Both are frozen snapshots; re-read an entry with ``handle.entry()``.

Paths are ``/<storage description>/<name>/<name>…``; names are matched exactly (MTP devices are
case-preserving and mostly case-sensitive). A name that contains ``/`` cannot be addressed by
path (use the entry itself).

Sizes: ObjectInfo carries a 32-bit size clamped to 0xFFFFFFFF for objects of 4 GiB or more; the
client reads the real size from ObjectSize (UINT64) whenever it sees the clamp. On a device that
offers no way to read ObjectSize the entry keeps 0xFFFFFFFF and ``size_exact`` is False; downloads
do not rely on ``size`` (they read until the device has no more data).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from openwpd.protocol.codes import (
    AccessCapability,
    AssociationType,
    ObjectFormatCode,
    ObjectPropCode,
)
from openwpd.protocol.datasets import ObjectInfo, StorageInfo
from openwpd.protocol.datatypes import Value, parse_datetime
from openwpd.protocol.errors import LocalProtocolError, RemoteProtocolError

log = logging.getLogger("openwpd.client")

#: ParentObject of a storage-root object in ObjectInfo / the ParentObject property.
ROOT_PARENT = 0


@dataclass(frozen=True, slots=True)
class Storage:
    """One storage of the device (StorageInfo), addressed by path ``"/" + description``."""

    id: int
    description: str
    volume_label: str
    capacity: int
    free: int
    free_objects: int
    storage_type: int
    filesystem_type: int
    access: int

    @property
    def read_only(self) -> bool:
        """True unless the storage accepts writes and deletes."""
        return self.access != AccessCapability.READ_WRITE

    @property
    def path(self) -> str:
        """``"/<description>"``, the path of the storage root."""
        return "/" + self.description

    @classmethod
    def from_info(cls, storage_id: int, info: StorageInfo) -> Storage:
        return cls(
            storage_id,
            info.storage_description,
            info.volume_label,
            info.max_capacity,
            info.free_space_in_bytes,
            info.free_space_in_objects,
            info.storage_type,
            info.filesystem_type,
            info.access_capability,
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One object (file or folder) as the device described it.

    ``parent`` is the parent's handle, 0 for objects in the storage root. ``modified`` is the
    device's DateModified (naive = the device's local time), None when unknown. ``path`` is set
    when the entry was reached through a listing or a path, else None. ``puid`` is the
    PersistentUniqueObjectIdentifier when the device reported one.
    """

    handle: int
    storage_id: int
    parent: int
    name: str
    size: int
    modified: datetime | None
    format: int
    is_folder: bool
    path: str | None = None
    size_exact: bool = True
    puid: int | None = None

    def child_path(self, name: str) -> str | None:
        """The path of a child called ``name`` (None when this entry's path is unknown)."""
        return None if self.path is None else f"{self.path}/{name}"


def _parse_date(text: str, what: str) -> datetime | None:
    try:
        return parse_datetime(text)
    except RemoteProtocolError:
        log.info("ignoring a malformed %s %r", what, text)
        return None


def entry_from_info(handle: int, info: ObjectInfo, path: str | None = None) -> Entry:
    """An entry from an ObjectInfo (the size may be clamped: see the module docstring)."""
    is_folder = info.object_format == ObjectFormatCode.ASSOCIATION
    return Entry(
        handle=handle,
        storage_id=info.storage_id,
        parent=info.parent_object,
        name=info.filename,
        size=info.compressed_size,
        modified=_parse_date(info.modification_date, "ModificationDate"),
        format=info.object_format,
        is_folder=is_folder,
        path=path,
        size_exact=not info.size_is_clamped,
    )


_P = ObjectPropCode


def entry_from_props(
    handle: int, props: Mapping[int, Value], parent_path: str | None = None
) -> Entry:
    """An entry from an object's properties (GetObjectPropList). Raises RemoteProtocolError when
    the file name or format is missing or a value has the wrong type (the caller skips it)."""
    name = props.get(_P.OBJECT_FILE_NAME)
    fmt = props.get(_P.OBJECT_FORMAT)
    if not isinstance(name, str) or not isinstance(fmt, int):
        raise RemoteProtocolError(f"object 0x{handle:08X} has no file name or format")
    size = props.get(_P.OBJECT_SIZE, 0)
    storage = props.get(_P.STORAGE_ID, 0)
    parent = props.get(_P.PARENT_OBJECT, ROOT_PARENT)
    assoc = props.get(_P.ASSOCIATION_TYPE, 0)
    modified = props.get(_P.DATE_MODIFIED, "")
    puid = props.get(_P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER)
    if not (
        isinstance(size, int)
        and isinstance(storage, int)
        and isinstance(parent, int)
        and isinstance(modified, str)
    ):
        raise RemoteProtocolError(f"object 0x{handle:08X}: a property has the wrong type")
    is_folder = fmt == ObjectFormatCode.ASSOCIATION or assoc == AssociationType.GENERIC_FOLDER
    return Entry(
        handle=handle,
        storage_id=storage,
        parent=parent,
        name=name,
        size=size,
        modified=_parse_date(modified, "DateModified"),
        format=fmt,
        is_folder=is_folder,
        path=None if parent_path is None else f"{parent_path}/{name}",
        size_exact=_P.OBJECT_SIZE in props,
        puid=puid if isinstance(puid, int) else None,
    )


def split_path(path: str) -> tuple[str, list[str]]:
    """``"/Phone/DCIM/a.jpg"`` -> ``("Phone", ["DCIM", "a.jpg"])``. A trailing ``/`` is ignored;
    empty components (``//``) are errors. Raises LocalProtocolError for a relative or empty
    path."""
    if not path.startswith("/") or path.strip("/") == "":
        raise LocalProtocolError(f"{path!r} is not an absolute device path (/<storage>/...)")
    parts = path.rstrip("/").split("/")[1:]
    if any(p == "" for p in parts):
        raise LocalProtocolError(f"{path!r} has an empty path component")
    return parts[0], parts[1:]


__all__ = ["ROOT_PARENT", "Entry", "Storage", "entry_from_info", "entry_from_props", "split_path"]
