"""The openwpd error hierarchy.

Every error says who was wrong and carries an ``hresult`` so the WPD layer can surface it the way
Windows does:

- :class:`LocalProtocolError` -- our caller broke a protocol rule (sending out of turn...).
- :class:`RemoteProtocolError` -- the peer sent something malformed or out of turn.
- :class:`ResponseError` -- the device answered a transaction with a non-OK response code.
- :class:`TransportError` and its family -- the link failed; sticky for the connection.
- :class:`Cancelled` -- the operation was cancelled (``HRESULT_FROM_WIN32(ERROR_CANCELLED)``).
- :class:`SessionReset` -- recovery failed and the session had to be torn down and reopened.

These live in ``protocol/`` because the protocol core raises them; higher layers re-export them
from :mod:`openwpd`.
"""

from __future__ import annotations


def hresult_from_win32(code: int) -> int:
    """``HRESULT_FROM_WIN32``: map a Win32 error code to its HRESULT (as an unsigned 32-bit int)."""
    if code <= 0:
        return code & 0xFFFFFFFF
    return ((code & 0xFFFF) | (7 << 16) | 0x80000000) & 0xFFFFFFFF


ERROR_CANCELLED = 1223
ERROR_GEN_FAILURE = 31
ERROR_TIMEOUT = 1460
ERROR_NOT_SUPPORTED = 50
ERROR_DEVICE_NOT_CONNECTED = 1167
ERROR_BUSY = 170
ERROR_INVALID_DATA = 13

E_FAIL = 0x80004005
E_INVALIDARG = 0x80070057
E_UNEXPECTED = 0x8000FFFF

#: ``HRESULT_FROM_WIN32(ERROR_CANCELLED)`` == 0x800704C7: what every cancelled operation fails with.
HRESULT_CANCELLED = hresult_from_win32(ERROR_CANCELLED)


class OpenWpdError(Exception):
    """Base class of every error openwpd raises on purpose."""

    hresult: int = E_FAIL

    def __init__(self, message: str = "", *, hresult: int | None = None) -> None:
        super().__init__(message)
        if hresult is not None:
            self.hresult = hresult & 0xFFFFFFFF


class LocalProtocolError(OpenWpdError):
    """We (our caller) tried to do something the protocol does not allow in the current state."""

    hresult = E_UNEXPECTED


class RemoteProtocolError(OpenWpdError):
    """The peer sent bytes that are malformed or arrive out of turn."""

    hresult = hresult_from_win32(ERROR_INVALID_DATA)


class ResponseError(OpenWpdError):
    """The device answered with a response code other than OK.

    ``code`` is the MTP/PTP response code, ``params`` the response parameters (for
    SetObjectPropList/SendObjectPropList these carry the index of the failing element).
    """

    def __init__(
        self,
        code: int,
        message: str = "",
        *,
        params: tuple[int, ...] = (),
        hresult: int | None = None,
    ) -> None:
        self.code = int(code)
        self.params = tuple(params)
        if not message:
            message = f"device answered {_response_name(self.code)}"
        super().__init__(message, hresult=hresult)


def _response_name(code: int) -> str:
    try:
        from openwpd.protocol.codes import ResponseCode

        return f"{ResponseCode(code).name} (0x{code:04X})"
    except (ImportError, ValueError):
        return f"0x{code:04X}"


class TransportError(OpenWpdError):
    """The link to the device failed. Sticky: the connection is unusable afterwards."""

    hresult = hresult_from_win32(ERROR_GEN_FAILURE)


class ConnectError(TransportError):
    """The device could not be reached or refused the connection (PTP/IP Init Fail...)."""

    hresult = hresult_from_win32(ERROR_DEVICE_NOT_CONNECTED)


class ReadTimeout(TransportError):
    """The device did not send what we waited for within the deadline."""

    hresult = hresult_from_win32(ERROR_TIMEOUT)


class WriteTimeout(TransportError):
    """The device did not accept our bytes within the deadline."""

    hresult = hresult_from_win32(ERROR_TIMEOUT)


class DeviceGone(TransportError):
    """The device disconnected (connection closed, USB device unplugged)."""

    hresult = hresult_from_win32(ERROR_DEVICE_NOT_CONNECTED)


class DeviceBusy(TransportError):
    """Another program holds the device; the message says which one when we can tell."""

    hresult = hresult_from_win32(ERROR_BUSY)


class Cancelled(OpenWpdError):
    """The operation was cancelled (``hresult`` 0x800704C7). The session is still usable."""

    hresult = HRESULT_CANCELLED

    def __init__(self, message: str = "the operation was cancelled") -> None:
        super().__init__(message)


class SessionReset(OpenWpdError):
    """The device did not recover within its budget; the session was torn down.

    Operations that were pending fail with this; the connection may have reopened a new session
    (handles and transaction state from before are gone).
    """

    hresult = hresult_from_win32(ERROR_GEN_FAILURE)
