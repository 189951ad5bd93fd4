"""HRESULTs and :class:`WpdError`, the one exception the WPD layer raises.

Theory of operation
-------------------
WPD reports every failure as an HRESULT. Here a failing method raises :class:`WpdError` carrying
``hresult`` (an unsigned 32-bit int) and a message; methods that only return an HRESULT in WPD
return ``None`` on success. Partial successes (``S_FALSE``) are not errors: the method returns its
per-item results (``VT_ERROR`` values) and the caller inspects them.

Errors from the layers below (:mod:`openwpd.client`, :mod:`openwpd.protocol`) cross into this
layer through :func:`wpd_error_from`: a cancel (``Cancelled`` or an asyncio cancel) becomes
``HRESULT_FROM_WIN32(ERROR_CANCELLED)`` = 0x800704C7, a device's non-OK response code becomes
the HRESULT the Windows MTP driver would plausibly report (table :data:`RESPONSE_HRESULTS`),
and every other :class:`~openwpd.protocol.errors.OpenWpdError` keeps the ``hresult`` it already
carries.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping
from types import MappingProxyType

from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import (
    Cancelled,
    OpenWpdError,
    ResponseError,
    hresult_from_win32,
)

# --- generic HRESULTs (PortableDevice.h) ----------------------------------------------------------

S_OK = 0x00000000
S_FALSE = 0x00000001
E_NOTIMPL = 0x80004001
E_NOINTERFACE = 0x80004002
E_POINTER = 0x80004003
E_ABORT = 0x80004004
E_FAIL = 0x80004005
E_UNEXPECTED = 0x8000FFFF
E_ACCESSDENIED = 0x80070005
E_OUTOFMEMORY = 0x8007000E
E_INVALIDARG = 0x80070057
DISP_E_TYPEMISMATCH = 0x80020005

# --- Win32 error codes used through HRESULT_FROM_WIN32 -------------------------------------------

ERROR_FILE_NOT_FOUND = 2
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_DATA = 13
ERROR_GEN_FAILURE = 31
ERROR_NOT_SUPPORTED = 50
ERROR_INVALID_PARAMETER = 87
ERROR_INSUFFICIENT_BUFFER = 122
ERROR_DISK_FULL = 112
ERROR_DIR_NOT_EMPTY = 145
ERROR_BUSY = 170
ERROR_ALREADY_EXISTS = 183
ERROR_FILE_TOO_LARGE = 223
ERROR_OPERATION_ABORTED = 995
ERROR_NOT_FOUND = 1168
ERROR_DEVICE_NOT_CONNECTED = 1167
ERROR_CANCELLED = 1223
ERROR_TIMEOUT = 1460
ERROR_INVALID_OPERATION = 4317


def HRESULT_FROM_WIN32(code: int) -> int:  # noqa: N802 - the Windows macro's name
    """``HRESULT_FROM_WIN32``: the HRESULT (unsigned) of a Win32 error code."""
    return hresult_from_win32(code)


#: 0x800704C7: what every operation aborted by a Cancel raises.
HRESULT_CANCELLED = HRESULT_FROM_WIN32(ERROR_CANCELLED)

# --- FACILITY_WPD errors (PortableDevice.h) -------------------------------------------------------

FACILITY_WPD = 42
E_WPD_DEVICE_ALREADY_OPENED = 0x802A0001
E_WPD_DEVICE_NOT_OPEN = 0x802A0002
E_WPD_OBJECT_ALREADY_ATTACHED_TO_DEVICE = 0x802A0003
E_WPD_OBJECT_NOT_ATTACHED_TO_DEVICE = 0x802A0004
E_WPD_OBJECT_NOT_COMMITED = 0x802A0005
E_WPD_DEVICE_IS_HUNG = 0x802A0006
E_WPD_SMS_INVALID_RECIPIENT = 0x802A0064
E_WPD_SMS_INVALID_MESSAGE_BODY = 0x802A0065
E_WPD_SMS_SERVICE_UNAVAILABLE = 0x802A0066
E_WPD_SERVICE_ALREADY_OPENED = 0x802A00C8
E_WPD_SERVICE_NOT_OPEN = 0x802A00C9
E_WPD_OBJECT_ALREADY_ATTACHED_TO_SERVICE = 0x802A00CA
E_WPD_OBJECT_NOT_ATTACHED_TO_SERVICE = 0x802A00CB
E_WPD_SERVICE_BAD_PARAMETER_ORDER = 0x802A00CC


def succeeded(hresult: int) -> bool:
    """``SUCCEEDED(hr)``: the severity bit is clear."""
    return not hresult & 0x80000000


def failed(hresult: int) -> bool:
    """``FAILED(hr)``: the severity bit is set."""
    return bool(hresult & 0x80000000)


class WpdError(OpenWpdError):
    """A WPD method failed: ``hresult`` (unsigned 32-bit) says why, as in Windows.

    ``results`` holds the per-item results of a method that failed for every item (Delete,
    Move, Copy), else None.
    """

    def __init__(self, hresult: int, message: str = "", *, results: object = None) -> None:
        hresult &= 0xFFFFFFFF
        self.message = message or describe_hresult(hresult)
        self.results = results
        super().__init__(f"0x{hresult:08X}: {self.message}", hresult=hresult)

    @property
    def cancelled(self) -> bool:
        """True when the operation was aborted by a Cancel (hresult 0x800704C7)."""
        return self.hresult == HRESULT_CANCELLED


_NAMES: Mapping[int, str] = MappingProxyType(
    {
        E_NOTIMPL: "not implemented",
        E_POINTER: "invalid pointer",
        E_ABORT: "operation aborted",
        E_FAIL: "unspecified failure",
        E_UNEXPECTED: "unexpected failure",
        E_ACCESSDENIED: "access denied",
        E_INVALIDARG: "invalid argument",
        DISP_E_TYPEMISMATCH: "type mismatch",
        HRESULT_CANCELLED: "the operation was cancelled",
        HRESULT_FROM_WIN32(ERROR_NOT_FOUND): "element not found",
        HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED): "not supported",
        HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION): "invalid operation",
        HRESULT_FROM_WIN32(ERROR_DIR_NOT_EMPTY): "the folder is not empty",
        E_WPD_DEVICE_ALREADY_OPENED: "the device is already open",
        E_WPD_DEVICE_NOT_OPEN: "the device is not open",
        E_WPD_OBJECT_NOT_COMMITED: "the object is not committed yet",
    }
)


def describe_hresult(hresult: int) -> str:
    """A short text for well-known HRESULTs, else ``"HRESULT 0x…"``."""
    return _NAMES.get(hresult & 0xFFFFFFFF, f"HRESULT 0x{hresult & 0xFFFFFFFF:08X}")


_R = ResponseCode

#: HRESULT for a device's non-OK MTP response code (anything else: E_FAIL).
RESPONSE_HRESULTS: Mapping[int, int] = MappingProxyType(
    {
        _R.GENERAL_ERROR: E_FAIL,
        _R.OPERATION_NOT_SUPPORTED: E_NOTIMPL,
        _R.PARAMETER_NOT_SUPPORTED: HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED),
        _R.INVALID_STORAGE_ID: HRESULT_FROM_WIN32(ERROR_NOT_FOUND),
        _R.INVALID_OBJECT_HANDLE: HRESULT_FROM_WIN32(ERROR_NOT_FOUND),
        _R.INVALID_PARENT_OBJECT: HRESULT_FROM_WIN32(ERROR_NOT_FOUND),
        _R.DEVICE_PROP_NOT_SUPPORTED: HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED),
        _R.OBJECT_PROP_NOT_SUPPORTED: HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED),
        _R.INVALID_OBJECT_PROP_CODE: HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED),
        _R.STORE_FULL: HRESULT_FROM_WIN32(ERROR_DISK_FULL),
        _R.OBJECT_TOO_LARGE: HRESULT_FROM_WIN32(ERROR_FILE_TOO_LARGE),
        _R.OBJECT_WRITE_PROTECTED: E_ACCESSDENIED,
        _R.STORE_READ_ONLY: E_ACCESSDENIED,
        _R.ACCESS_DENIED: E_ACCESSDENIED,
        _R.DEVICE_BUSY: HRESULT_FROM_WIN32(ERROR_BUSY),
        _R.TRANSACTION_CANCELLED: HRESULT_CANCELLED,
        _R.INVALID_PARAMETER: E_INVALIDARG,
        _R.INVALID_OBJECT_FORMAT_CODE: E_INVALIDARG,
        _R.INVALID_OBJECT_PROP_VALUE: E_INVALIDARG,
        _R.INVALID_OBJECT_PROP_FORMAT: E_INVALIDARG,
        _R.INVALID_DEVICE_PROP_VALUE: E_INVALIDARG,
        _R.INVALID_DEVICE_PROP_FORMAT: E_INVALIDARG,
        _R.INVALID_DATASET: E_INVALIDARG,
        _R.SPECIFICATION_OF_DESTINATION_UNSUPPORTED: HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED),
        _R.NO_THUMBNAIL_PRESENT: HRESULT_FROM_WIN32(ERROR_NOT_FOUND),
        _R.STORE_NOT_AVAILABLE: HRESULT_FROM_WIN32(ERROR_DEVICE_NOT_CONNECTED),
        _R.PARTIAL_DELETION: E_ACCESSDENIED,
    }
)


def hresult_for_response(code: int) -> int:
    """The HRESULT for MTP response ``code`` (S_OK for OK, E_FAIL when unknown)."""
    if code == _R.OK:
        return S_OK
    return RESPONSE_HRESULTS.get(code, E_FAIL)


def wpd_error_from(exc: BaseException) -> WpdError:
    """The :class:`WpdError` a failure of a lower layer surfaces as (see the module docstring)."""
    if isinstance(exc, WpdError):
        return exc
    if isinstance(exc, Cancelled | asyncio.CancelledError | concurrent.futures.CancelledError):
        return WpdError(HRESULT_CANCELLED, "the operation was cancelled")
    if isinstance(exc, ResponseError):
        return WpdError(hresult_for_response(exc.code), str(exc))
    if isinstance(exc, OpenWpdError):
        return WpdError(exc.hresult, str(exc))
    if isinstance(exc, OSError):
        return WpdError(E_FAIL, f"{type(exc).__name__}: {exc}")
    return WpdError(E_UNEXPECTED, f"{type(exc).__name__}: {exc}")


__all__ = [
    "DISP_E_TYPEMISMATCH",
    "ERROR_ACCESS_DENIED",
    "ERROR_ALREADY_EXISTS",
    "ERROR_BUSY",
    "ERROR_CANCELLED",
    "ERROR_DEVICE_NOT_CONNECTED",
    "ERROR_DIR_NOT_EMPTY",
    "ERROR_DISK_FULL",
    "ERROR_FILE_NOT_FOUND",
    "ERROR_FILE_TOO_LARGE",
    "ERROR_GEN_FAILURE",
    "ERROR_INSUFFICIENT_BUFFER",
    "ERROR_INVALID_DATA",
    "ERROR_INVALID_OPERATION",
    "ERROR_INVALID_PARAMETER",
    "ERROR_NOT_FOUND",
    "ERROR_NOT_SUPPORTED",
    "ERROR_OPERATION_ABORTED",
    "ERROR_TIMEOUT",
    "E_ABORT",
    "E_ACCESSDENIED",
    "E_FAIL",
    "E_INVALIDARG",
    "E_NOINTERFACE",
    "E_NOTIMPL",
    "E_OUTOFMEMORY",
    "E_POINTER",
    "E_UNEXPECTED",
    "E_WPD_DEVICE_ALREADY_OPENED",
    "E_WPD_DEVICE_IS_HUNG",
    "E_WPD_DEVICE_NOT_OPEN",
    "E_WPD_OBJECT_ALREADY_ATTACHED_TO_DEVICE",
    "E_WPD_OBJECT_ALREADY_ATTACHED_TO_SERVICE",
    "E_WPD_OBJECT_NOT_ATTACHED_TO_DEVICE",
    "E_WPD_OBJECT_NOT_ATTACHED_TO_SERVICE",
    "E_WPD_OBJECT_NOT_COMMITED",
    "E_WPD_SERVICE_ALREADY_OPENED",
    "E_WPD_SERVICE_BAD_PARAMETER_ORDER",
    "E_WPD_SERVICE_NOT_OPEN",
    "E_WPD_SMS_INVALID_MESSAGE_BODY",
    "E_WPD_SMS_INVALID_RECIPIENT",
    "E_WPD_SMS_SERVICE_UNAVAILABLE",
    "FACILITY_WPD",
    "HRESULT_CANCELLED",
    "HRESULT_FROM_WIN32",
    "RESPONSE_HRESULTS",
    "S_FALSE",
    "S_OK",
    "WpdError",
    "describe_hresult",
    "failed",
    "hresult_for_response",
    "succeeded",
    "wpd_error_from",
]
