"""Embedded EXIF thumbnails of JPEG files (GetThumb, ObjectInfo's Thumb* fields).

A camera JPEG carries a small JPEG thumbnail in its APP1 "Exif" segment: IFD1 of the TIFF
structure there names its offset (tag 0x0201) and length (tag 0x0202). We read only the first
segment bytes of the file, never decode the image, and cache the result per (path, size, mtime).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

_MAX_HEADER = 128 * 1024  # APP1 is at most 64 KiB and comes first (after APP0 at most)
_TAG_OFFSET = 0x0201
_TAG_LENGTH = 0x0202


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """Where the thumbnail is and how big (pixels from the thumbnail's own SOF marker)."""

    offset: int  # from the start of the file
    size: int
    width: int
    height: int


def thumbnail_info(path: str, size: int, mtime: float) -> Thumbnail | None:
    """The embedded thumbnail of the JPEG at ``path``, or None (size/mtime key the cache)."""
    return _cached(path, size, mtime)


@lru_cache(maxsize=4096)
def _cached(path: str, size: int, mtime: float) -> Thumbnail | None:
    try:
        with open(path, "rb") as f:
            head = f.read(_MAX_HEADER)
    except OSError:
        return None
    try:
        return _parse(head)
    except (struct.error, IndexError, ValueError):
        return None


def read_thumbnail(path: str, thumb: Thumbnail) -> bytes:
    """The thumbnail's JPEG bytes."""
    with open(path, "rb") as f:
        f.seek(thumb.offset)
        return f.read(thumb.size)


def _parse(data: bytes) -> Thumbnail | None:
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        seg_len = struct.unpack_from(">H", data, pos + 2)[0]
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return _from_tiff(data, pos + 10)
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no EXIF before the image
            return None
        pos += 2 + seg_len
    return None


def _from_tiff(data: bytes, base: int) -> Thumbnail | None:
    order = data[base : base + 2]
    endian = "<" if order == b"II" else ">" if order == b"MM" else None
    if endian is None:
        return None
    u16 = struct.Struct(endian + "H")
    u32 = struct.Struct(endian + "I")
    ifd0 = u32.unpack_from(data, base + 4)[0]
    count0 = u16.unpack_from(data, base + ifd0)[0]
    ifd1 = u32.unpack_from(data, base + ifd0 + 2 + 12 * count0)[0]
    if ifd1 == 0:
        return None
    entries = u16.unpack_from(data, base + ifd1)[0]
    offset = length = None
    for i in range(entries):
        entry = base + ifd1 + 2 + 12 * i
        tag = u16.unpack_from(data, entry)[0]
        if tag in (_TAG_OFFSET, _TAG_LENGTH):
            value = u32.unpack_from(data, entry + 8)[0]
            if tag == _TAG_OFFSET:
                offset = value
            else:
                length = value
    if offset is None or not length:
        return None
    start = base + offset
    thumb = data[start : start + length]
    if len(thumb) != length or thumb[:2] != b"\xff\xd8":
        return None
    width, height = _jpeg_size(thumb)
    return Thumbnail(start, length, width, height)


def _jpeg_size(jpeg: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 9 <= len(jpeg) and jpeg[pos] == 0xFF:
        marker = jpeg[pos + 1]
        seg_len = struct.unpack_from(">H", jpeg, pos + 2)[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack_from(">HH", jpeg, pos + 5)
            return width, height
        pos += 2 + seg_len
    return 0, 0
