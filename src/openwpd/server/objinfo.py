"""Object metadata as MTP presents it: the ObjectInfo dataset of a stored object, MTP dates, and
the parameter conventions for parents (ObjectInfo says 0 for the root, operations say
0xFFFFFFFF; never the StorageID)."""

from __future__ import annotations

from datetime import datetime

from openwpd.protocol.codes import ALL, AssociationType, ObjectFormatCode, ProtectionStatus
from openwpd.protocol.datasets import ObjectInfo, compressed_size_for
from openwpd.protocol.datatypes import format_datetime, truncate_for_wire
from openwpd.server.store import StoredObject
from openwpd.server.thumbs import thumbnail_info


def mtp_date(when: datetime) -> str:
    """``YYYYMMDDThhmmss`` in local time, as Android and uMTP emit and gphoto expects (PTP)."""
    return format_datetime(when.astimezone().replace(tzinfo=None))


def parent_param(parent: int) -> int:
    """Normalise a destination/parent *operation parameter*: 0 and 0xFFFFFFFF both mean root."""
    return ALL if parent in (0, ALL) else parent


def object_info(obj: StoredObject, path_for_thumb: str | None = None) -> ObjectInfo:
    """The ObjectInfo dataset of ``obj`` (>= 4 GiB sizes clamp to 0xFFFFFFFF)."""
    thumb_format = thumb_size = thumb_w = thumb_h = 0
    if path_for_thumb is not None and obj.format == ObjectFormatCode.EXIF_JPEG:
        thumb = thumbnail_info(path_for_thumb, obj.size, obj.mtime.timestamp())
        if thumb is not None:
            thumb_format = ObjectFormatCode.EXIF_JPEG
            thumb_size, thumb_w, thumb_h = thumb.size, thumb.width, thumb.height
    return ObjectInfo(
        storage_id=obj.storage_id,
        object_format=obj.format,
        protection_status=ProtectionStatus.NONE,
        compressed_size=compressed_size_for(obj.size),
        thumb_format=thumb_format,
        thumb_compressed_size=thumb_size,
        thumb_pix_width=thumb_w,
        thumb_pix_height=thumb_h,
        image_pix_width=0,
        image_pix_height=0,
        image_bit_depth=0,
        parent_object=obj.parent if obj.parent != ALL else 0,
        association_type=AssociationType.GENERIC_FOLDER if obj.is_folder else 0,
        association_desc=0,
        sequence_number=0,
        filename=truncate_for_wire(obj.name),
        capture_date=mtp_date(obj.ctime),
        modification_date=mtp_date(obj.mtime),
        keywords="",
    )
