"""Errors raised by the object store.

Every failure carries the MTP :class:`~openwpd.protocol.codes.ResponseCode` the operation handler
should answer with. Subclasses mark the cases where a handler may want a different code than the
default (a bad name arriving through SetObjectPropValue is better answered with
``INVALID_OBJECT_PROP_VALUE`` than with the default ``INVALID_PARAMETER``).
"""

from __future__ import annotations

import errno

from openwpd.protocol.codes import ResponseCode


class StoreError(Exception):
    """An object-store operation failed; ``code`` is the MTP response to send.

    Nothing is left half-done on disk when a ``StoreError`` is raised, except where the subclass
    says so (:class:`PartialDeletionError`).
    """

    def __init__(self, code: ResponseCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


class InvalidNameError(StoreError):
    """A file name was refused (empty, ``.``/``..``, a separator, NUL, too long, not Unicode,
    or the store's own temporary-file pattern). Code: ``INVALID_PARAMETER``."""

    def __init__(self, message: str) -> None:
        super().__init__(ResponseCode.INVALID_PARAMETER, message)


class NameExistsError(StoreError):
    """The destination name is already taken in the target folder (by an object, by another
    program's file, or by another pending upload). Code: ``GENERAL_ERROR`` -- PTP has no
    "already exists" response; handlers may answer something else. The store never overwrites."""

    def __init__(self, name: str) -> None:
        super().__init__(ResponseCode.GENERAL_ERROR, f"an object named {name!r} already exists")
        self.name = name


class PartialDeletionError(StoreError):
    """A recursive delete removed some objects but not all. ``deleted`` lists the handles that are
    gone (children before parents). Code: ``PARTIAL_DELETION``."""

    def __init__(self, deleted: list[int], message: str) -> None:
        super().__init__(ResponseCode.PARTIAL_DELETION, message)
        self.deleted = deleted


#: errno values meaning "no room" (ENOSPC, and EDQUOT where the platform has it).
_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def from_os_error(exc: OSError, what: str) -> StoreError:
    """Translate an OS error met while doing ``what`` into the matching :class:`StoreError`."""
    if exc.errno in _FULL_ERRNOS:
        return StoreError(ResponseCode.STORE_FULL, f"{what}: no space left")
    if exc.errno == errno.ELOOP:  # fsops: a symlink where a served folder or file was
        return StoreError(ResponseCode.ACCESS_DENIED, f"{what}: {exc.strerror}")
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return StoreError(ResponseCode.ACCESS_DENIED, f"{what}: {exc.strerror}")
    if isinstance(exc, FileNotFoundError):
        return StoreError(ResponseCode.INVALID_OBJECT_HANDLE, f"{what}: object vanished")
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidNameError(f"{what}: name too long for the file system")
    return StoreError(ResponseCode.GENERAL_ERROR, f"{what}: {exc.strerror or exc}")
