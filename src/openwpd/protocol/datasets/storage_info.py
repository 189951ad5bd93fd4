"""StorageInfo dataset (GetStorageInfo, PTP).

Theory of operation: a fixed 26-byte head (types, capacities, free space) followed by two PTP
strings. Enumerated fields stay plain ints so values the spec does not list survive a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Self

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import AccessCapability, FilesystemType, StorageType
from openwpd.protocol.datasets._base import Dataset
from openwpd.protocol.datatypes import read_string, write_string

__all__ = ["FREE_OBJECTS_UNUSED", "StorageInfo"]

#: FreeSpaceInObjects value meaning "not used / unlimited".
FREE_OBJECTS_UNUSED: Final = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class StorageInfo(Dataset):
    """The answer to GetStorageInfo. Capacities are in bytes; see :mod:`codes` for the enums."""

    storage_type: int = StorageType.FIXED_RAM
    filesystem_type: int = FilesystemType.GENERIC_HIERARCHICAL
    access_capability: int = AccessCapability.READ_WRITE
    max_capacity: int = 0
    free_space_in_bytes: int = 0
    free_space_in_objects: int = FREE_OBJECTS_UNUSED
    storage_description: str = ""
    volume_label: str = ""

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read a StorageInfo; raises RemoteProtocolError if it is truncated or malformed."""
        return cls(
            storage_type=reader.u16("StorageType"),
            filesystem_type=reader.u16("FilesystemType"),
            access_capability=reader.u16("AccessCapability"),
            max_capacity=reader.u64("MaxCapacity"),
            free_space_in_bytes=reader.u64("FreeSpaceInBytes"),
            free_space_in_objects=reader.u32("FreeSpaceInObjects"),
            storage_description=read_string(reader),
            volume_label=read_string(reader),
        )

    def build(self, writer: Writer) -> None:
        """Write the StorageInfo; raises LocalProtocolError for out-of-range fields."""
        writer.u16(self.storage_type, "StorageType")
        writer.u16(self.filesystem_type, "FilesystemType")
        writer.u16(self.access_capability, "AccessCapability")
        writer.u64(self.max_capacity, "MaxCapacity")
        writer.u64(self.free_space_in_bytes, "FreeSpaceInBytes")
        writer.u32(self.free_space_in_objects, "FreeSpaceInObjects")
        write_string(writer, self.storage_description)
        write_string(writer, self.volume_label)
