"""ObjectInfo dataset (GetObjectInfo / SendObjectInfo, PTP).

Theory of operation: a fixed 52-byte head followed by four PTP strings (Filename, CaptureDate,
ModificationDate, Keywords). The dates stay the raw strings the peer sent, so nothing is lost
(cameras with an unset clock send odd values); :attr:`ObjectInfo.capture_datetime` and
:attr:`ObjectInfo.modification_datetime` decode them on demand.

Parsing is lenient at the end only: the head and the Filename are required (53 bytes at least;
gphoto insists on 57), but CaptureDate, ModificationDate and Keywords may be missing when the
data ends right after the previous field -- they then read as ``""``. Building always writes
all four strings.

Sizes: ObjectCompressedSize is a u32; an object of 0xFFFFFFFF bytes or more is reported as
:data:`SIZE_CLAMPED` (0xFFFFFFFF) and the real size travels in the ObjectSize (0xDC04, UINT64)
property. :func:`compressed_size_for` and :meth:`ObjectInfo.for_size` apply that rule;
:attr:`ObjectInfo.size_is_clamped` tells a reader to go and fetch ObjectSize.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Self

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import AssociationType, ObjectFormatCode, ProtectionStatus
from openwpd.protocol.datasets._base import Dataset
from openwpd.protocol.datatypes import parse_datetime, read_string, write_string
from openwpd.protocol.errors import LocalProtocolError

__all__ = ["SIZE_CLAMPED", "ObjectInfo", "compressed_size_for"]

#: ObjectCompressedSize of an object of 4 GiB or more: "see ObjectSize (0xDC04)".
SIZE_CLAMPED: Final = 0xFFFFFFFF


def compressed_size_for(size: int) -> int:
    """The ObjectCompressedSize to report for an object of ``size`` bytes.

    Sizes that do not fit below 0xFFFFFFFF are clamped to :data:`SIZE_CLAMPED` (a size of
    exactly 0xFFFFFFFF would be ambiguous, so it is clamped too). Raises
    :class:`LocalProtocolError` for a negative size.
    """
    if not isinstance(size, int) or size < 0:
        raise LocalProtocolError(f"object size must be a non-negative int, not {size!r}")
    return min(size, SIZE_CLAMPED)


def _trailing_string(reader: Reader) -> str:
    # Lenient end: a missing trailing string is an empty one (see the module docstring).
    return "" if reader.at_end() else read_string(reader)


@dataclass(frozen=True, slots=True)
class ObjectInfo(Dataset):
    """The ObjectInfo of one object, as sent by GetObjectInfo or SendObjectInfo.

    ``parent_object`` is 0 for objects in the storage root. Code fields are plain ints.
    """

    storage_id: int = 0
    object_format: int = ObjectFormatCode.UNDEFINED
    protection_status: int = ProtectionStatus.NONE
    compressed_size: int = 0
    thumb_format: int = 0
    thumb_compressed_size: int = 0
    thumb_pix_width: int = 0
    thumb_pix_height: int = 0
    image_pix_width: int = 0
    image_pix_height: int = 0
    image_bit_depth: int = 0
    parent_object: int = 0
    association_type: int = AssociationType.UNDEFINED
    association_desc: int = 0
    sequence_number: int = 0
    filename: str = ""
    capture_date: str = ""
    modification_date: str = ""
    keywords: str = ""

    @classmethod
    def for_size(cls, size: int, **fields: Any) -> Self:
        """An ObjectInfo for an object of ``size`` bytes, with the 4 GiB rule applied to
        ``compressed_size``; other fields are passed through. Raises LocalProtocolError for a
        negative size."""
        return cls(compressed_size=compressed_size_for(size), **fields)

    @property
    def size_is_clamped(self) -> bool:
        """True when ``compressed_size`` is 0xFFFFFFFF: the real size is in ObjectSize."""
        return self.compressed_size == SIZE_CLAMPED

    @property
    def capture_datetime(self) -> datetime | None:
        """``capture_date`` decoded (None when empty). Raises RemoteProtocolError if malformed."""
        return parse_datetime(self.capture_date)

    @property
    def modification_datetime(self) -> datetime | None:
        """``modification_date`` decoded (None when empty). Raises RemoteProtocolError if
        malformed."""
        return parse_datetime(self.modification_date)

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read an ObjectInfo; raises RemoteProtocolError if the head or Filename is truncated
        or any present string is malformed. Missing trailing strings read as ``""``."""
        return cls(
            storage_id=reader.u32("StorageID"),
            object_format=reader.u16("ObjectFormat"),
            protection_status=reader.u16("ProtectionStatus"),
            compressed_size=reader.u32("ObjectCompressedSize"),
            thumb_format=reader.u16("ThumbFormat"),
            thumb_compressed_size=reader.u32("ThumbCompressedSize"),
            thumb_pix_width=reader.u32("ThumbPixWidth"),
            thumb_pix_height=reader.u32("ThumbPixHeight"),
            image_pix_width=reader.u32("ImagePixWidth"),
            image_pix_height=reader.u32("ImagePixHeight"),
            image_bit_depth=reader.u32("ImageBitDepth"),
            parent_object=reader.u32("ParentObject"),
            association_type=reader.u16("AssociationType"),
            association_desc=reader.u32("AssociationDesc"),
            sequence_number=reader.u32("SequenceNumber"),
            filename=read_string(reader),
            capture_date=_trailing_string(reader),
            modification_date=_trailing_string(reader),
            keywords=_trailing_string(reader),
        )

    def build(self, writer: Writer) -> None:
        """Write the ObjectInfo with all four strings; raises LocalProtocolError for
        out-of-range fields or invalid strings."""
        writer.u32(self.storage_id, "StorageID")
        writer.u16(self.object_format, "ObjectFormat")
        writer.u16(self.protection_status, "ProtectionStatus")
        writer.u32(self.compressed_size, "ObjectCompressedSize")
        writer.u16(self.thumb_format, "ThumbFormat")
        writer.u32(self.thumb_compressed_size, "ThumbCompressedSize")
        writer.u32(self.thumb_pix_width, "ThumbPixWidth")
        writer.u32(self.thumb_pix_height, "ThumbPixHeight")
        writer.u32(self.image_pix_width, "ImagePixWidth")
        writer.u32(self.image_pix_height, "ImagePixHeight")
        writer.u32(self.image_bit_depth, "ImageBitDepth")
        writer.u32(self.parent_object, "ParentObject")
        writer.u16(self.association_type, "AssociationType")
        writer.u32(self.association_desc, "AssociationDesc")
        writer.u32(self.sequence_number, "SequenceNumber")
        for text in (self.filename, self.capture_date, self.modification_date, self.keywords):
            write_string(writer, text)
