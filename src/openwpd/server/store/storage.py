"""One served folder = one MTP storage.

Capacity and free space are read from the file system on every call (``shutil.disk_usage``),
less an optional reserve: ``wpd serve --reserve N`` keeps N bytes of the disk out of reach of
initiators, and the store refuses uploads that would eat into it (``STORE_FULL``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from openwpd.protocol.codes import AccessCapability, FilesystemType, StorageType

#: FreeSpaceInObjects value meaning "not used" (PTP).
FREE_OBJECTS_UNUSED = 0xFFFFFFFF


def storage_id_for_index(index: int) -> int:
    """StorageID of the ``index``-th storage (0-based): 0x00010001, 0x00020001, ... -- physical
    storage number in the high 16 bits, logical partition 1 in the low 16 bits."""
    return ((index + 1) << 16) | 1


@dataclass(frozen=True, slots=True)
class StorageInfoValues:
    """The numbers and strings of a StorageInfo dataset (PTP)."""

    storage_type: StorageType
    filesystem_type: FilesystemType
    access_capability: AccessCapability
    max_capacity: int
    free_space_in_bytes: int
    free_space_in_objects: int
    storage_description: str
    volume_label: str


class Storage:
    """A folder served as a storage.

    ``root`` is the folder's real path (symlinks resolved); nothing outside it is ever listed,
    read or written. ``description`` defaults to the folder's name. ``reserve_bytes`` is held
    back from the disk's free space (and from its capacity).
    """

    def __init__(
        self,
        storage_id: int,
        root: Path,
        description: str | None,
        read_only: bool,
        reserve_bytes: int = 0,
    ) -> None:
        real = Path(os.path.realpath(root))
        if not real.is_dir():
            raise NotADirectoryError(f"not a folder: {root}")
        if reserve_bytes < 0:
            raise ValueError("reserve_bytes must be >= 0")
        self.id = storage_id
        self.root = real
        self.description = description or real.name or str(real)
        self.read_only = read_only
        self.reserve_bytes = reserve_bytes
        #: False while the served folder is gone (see ObjectStore.check_storages)
        self.available = True

    def __repr__(self) -> str:
        return f"Storage(0x{self.id:08X}, {str(self.root)!r}, ro={self.read_only})"

    @property
    def capacity_bytes(self) -> int:
        """Total size of the file system holding the folder, less the reserve."""
        return max(0, shutil.disk_usage(self.root).total - self.reserve_bytes)

    @property
    def free_bytes(self) -> int:
        """Bytes an initiator may still write (0 for a read-only storage)."""
        if self.read_only:
            return 0
        return max(0, shutil.disk_usage(self.root).free - self.reserve_bytes)

    def storage_info(self) -> StorageInfoValues:
        """Values for GetStorageInfo: FixedRAM, GenericHierarchical, and ReadWrite or
        ReadOnly-without-deletion (a read-only storage refuses deletes too)."""
        usage = shutil.disk_usage(self.root)
        access = (
            AccessCapability.READ_ONLY_WITHOUT_OBJECT_DELETION
            if self.read_only
            else AccessCapability.READ_WRITE
        )
        free = 0 if self.read_only else max(0, usage.free - self.reserve_bytes)
        return StorageInfoValues(
            storage_type=StorageType.FIXED_RAM,
            filesystem_type=FilesystemType.GENERIC_HIERARCHICAL,
            access_capability=access,
            max_capacity=max(0, usage.total - self.reserve_bytes),
            free_space_in_bytes=free,
            free_space_in_objects=FREE_OBJECTS_UNUSED,
            storage_description=self.description,
            volume_label=self.root.name or self.description,
        )
