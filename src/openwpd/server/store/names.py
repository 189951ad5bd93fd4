"""File names: what the store accepts from initiators, what it serves, and its own temp files.

Names from initiators are validated before anything touches the disk (:func:`validate_name`).
Names found on disk that MTP cannot carry (not valid Unicode, or longer than a PTP string can
hold) are simply not served (:func:`is_servable`). The store's own temporary files all match
:func:`is_temp_name` and are never listed, watched or accepted as a client name.
"""

from __future__ import annotations

import os
import secrets

from openwpd.protocol.codes import ObjectFormatCode, format_for_filename

from .errors import InvalidNameError

#: A PTP string holds at most 255 UTF-16 code units *including* the terminating NUL
#: (PTP), so a file name can have at most 254.
MAX_NAME_UNITS = 254

TEMP_PREFIX = ".openwpd-"
TEMP_SUFFIX = ".part"


def utf16_units(name: str) -> int:
    """Number of UTF-16 code units ``name`` takes on the wire."""
    return len(name) + sum(1 for ch in name if ord(ch) > 0xFFFF)


def _has_lone_surrogate(name: str) -> bool:
    # Python strings decoded with surrogateescape (undecodable bytes on POSIX) or built from
    # broken UTF-16 contain U+D800..U+DFFF; they cannot be sent as UTF-16 nor stored as UTF-8.
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in name)


def is_temp_name(name: str) -> bool:
    """True for the store's own temporary files (uploads, edits, copies in progress)."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def new_temp_name(kind: str) -> str:
    """A fresh hidden temporary name such as ``.openwpd-upload-3f9c....part``."""
    return f"{TEMP_PREFIX}{kind}-{secrets.token_hex(8)}{TEMP_SUFFIX}"


def is_servable(name: str) -> bool:
    """Whether a name found on disk can be served over MTP (see the module docstring)."""
    return (
        not is_temp_name(name)
        and not _has_lone_surrogate(name)
        and utf16_units(name) <= MAX_NAME_UNITS
    )


def unservable_reason(name: str) -> str | None:
    """Why a name found on disk is not served, None if it is (or is the store's own temp
    file, which is not worth a word)."""
    if is_temp_name(name):
        return None
    if _has_lone_surrogate(name):
        return "not valid UTF-8 (MTP names are Unicode)"
    units = utf16_units(name)
    if units > MAX_NAME_UNITS:
        return f"{units} UTF-16 code units, more than the {MAX_NAME_UNITS} a PTP string holds"
    return None


def validate_name(name: str) -> None:
    """Raise :class:`InvalidNameError` unless ``name`` is a safe single path component.

    Refused: ``""``, ``.``, ``..``, any ``/`` or NUL (and ``\\`` on Windows), lone surrogates,
    more than :data:`MAX_NAME_UNITS` UTF-16 units, and the store's temp-file pattern.
    """
    if name in ("", ".", ".."):
        raise InvalidNameError(f"{name!r} is not a file name")
    if "/" in name or "\0" in name or (os.sep == "\\" and "\\" in name):
        raise InvalidNameError(f"{name!r} contains a path separator or NUL")
    if _has_lone_surrogate(name):
        raise InvalidNameError(f"{name!r} is not valid Unicode")
    if utf16_units(name) > MAX_NAME_UNITS:
        raise InvalidNameError(f"name longer than {MAX_NAME_UNITS} UTF-16 code units")
    if is_temp_name(name):
        raise InvalidNameError(f"{name!r} is reserved for the device's temporary files")


def format_for(name: str, is_folder: bool) -> ObjectFormatCode:
    """The ObjectFormat of an object: ASSOCIATION for folders, else by file extension
    (:func:`~openwpd.protocol.codes.format_for_filename`; UNDEFINED when unknown)."""
    if is_folder:
        return ObjectFormatCode.ASSOCIATION
    return format_for_filename(name)
