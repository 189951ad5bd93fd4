"""The link interface: what every transport gives the client's runner and the device's session.

Theory of operation
-------------------
A link turns one connection to a peer (PTP/IP's two TCP connections, a claimed USB interface, a
FunctionFS gadget, an in-memory pair) into a stream of transaction messages
(:mod:`openwpd.protocol.messages`) and back. Both roles use the same interface: the client's
:class:`~openwpd.client.wire.TransactionRunner` (initiator) and the device's
:class:`~openwpd.server.session.DeviceSession` (responder) each drive a transaction machine and
hand its messages to a link.

:class:`Link` declares it once. What every link must do is abstract (``receive``, ``send``,
``aclose``, ``closed``). What only some links can do is an explicit member with a default that
says "not here", so callers never probe with ``getattr``:

- ``cancel_flow``: which cancel procedure the machine follows over this link (PTP/IP's Cancel
  packet answered by a response, or USB's class Cancel request, device status polling and no
  response).
- ``supports_file_slices``: :class:`~openwpd.protocol.messages.FileSlice` payloads may be sent
  as they are (the kernel copies them, sendfile); other links get bytes.
- ``on_event`` / ``on_cancel`` / ``on_broken``: callback slots the owner may fill -- events the
  moment they arrive (initiator), a Cancel the moment it arrives (responder, before the queue),
  the link breaking by itself.
- ``device_status``: (responder, USB) the callback the link asks what Get Device Status answers
  (the session's machine says DeviceBusy while a cancel is being carried out).
- ``usb_info``: the USB identity of the device at the other end, when there is one.
- ``send_cancel``, ``request_device_status``, ``recover``, ``recovery``, ``flush``: the
  initiator's cancel and recovery steps; the defaults refuse (a link that cannot cancel) or do
  nothing (a link with nothing to flush or recover).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from openwpd.protocol.errors import LocalProtocolError, OpenWpdError
from openwpd.protocol.messages import Event, Message, SendCancel
from openwpd.protocol.transaction import CancelFlow

if TYPE_CHECKING:
    from openwpd.transport.usb import UsbDeviceInfo

__all__ = ["Link"]


class Link(abc.ABC):
    """One connection to a peer as a stream of transaction messages; see the module docstring.

    Errors: transport failures raise :class:`~openwpd.protocol.errors.TransportError`
    subclasses and are sticky (every later call raises the same error); malformed input from
    the peer raises :class:`~openwpd.protocol.errors.RemoteProtocolError`.
    """

    #: shown in logs and error messages
    name: str = "link"
    #: the cancel procedure of this transport
    cancel_flow: ClassVar[CancelFlow] = CancelFlow.PTPIP
    #: FileSlice payloads may be sent as they are (otherwise the caller reads them into bytes)
    supports_file_slices: ClassVar[bool] = False
    #: events go to this callback the moment they arrive instead of ``receive()``
    on_event: Callable[[Event], None] | None = None
    #: (responder) called with the transaction ID the moment a Cancel arrives
    on_cancel: Callable[[int], None] | None = None
    #: called once when the link breaks by itself (not when closed with ``aclose()``)
    on_broken: Callable[[OpenWpdError], None] | None = None
    #: (responder, USB) what Get Device Status answers: a response code
    device_status: Callable[[], int] | None = None
    #: (initiator) the recovery steps ``recover()`` takes after a failed cancel
    recovery: tuple[str, ...] = ()

    @property
    def usb_info(self) -> UsbDeviceInfo | None:
        """(Initiator, USB) the device's USB identity (quirk profiles key on it); None here."""
        return None

    @property
    @abc.abstractmethod
    def closed(self) -> bool:
        """True once the link was closed or broke."""

    @abc.abstractmethod
    async def receive(self, timeout: float | None = None) -> Message:
        """The next message from the peer; ReadTimeout after ``timeout`` seconds."""

    @abc.abstractmethod
    async def send(self, msg: Message, *, data_follows: bool = False) -> None:
        """Put one message (its transaction ID filled in by the machine) on the wire."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release everything; idempotent, never raises."""

    async def send_cancel(self, action: SendCancel) -> None:
        """(Initiator) cancel transaction ``action.tid`` at the peer. Default: this link
        cannot (LocalProtocolError)."""
        raise LocalProtocolError(f"{self.name}: this link cannot cancel a transaction")

    async def request_device_status(self) -> int:
        """(Initiator, USB) the device's status code. Default: LocalProtocolError."""
        raise LocalProtocolError(f"{self.name}: this link cannot ask for the device status")

    async def recover(self, steps: Sequence[str] | None = None) -> str | None:
        """(Initiator) bring the peer back to idle after a cancel that failed, so a new session
        can start, with ``steps`` (default: ``recovery``); returns the step that worked.
        Default: nothing to do (None)."""
        return None

    async def flush(self) -> None:
        """Wait until every write already started has finished, even one whose caller was
        cancelled (a FileSlice's file must stay open until then). Default: nothing pending."""
        return None
