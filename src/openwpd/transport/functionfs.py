"""MTP over USB, the device side: a Linux USB gadget function through FunctionFS.

Theory of operation
-------------------
A FunctionFS instance (``mount -t functionfs NAME DIR``) gives user space one USB function of a
configfs gadget. Its ``ep0`` takes our descriptors and strings once, and from then on delivers
events (bind, enable, disable, suspend, resume, unbind, and the control requests addressed to
our interface); ``ep1``.. are the endpoints our descriptors declared, in order: bulk IN, bulk OUT
and interrupt IN here.

:func:`descriptors_blob` and :func:`strings_blob` build what ``ep0`` takes (the v2 layout of
``linux/usb/functionfs.h``): one interface of class 6/1/1 (Still Image Capture, PIMA 15740) named
"MTP", its three endpoints at full, high and super speed (a host that connects at SuperSpeed
finds SuperSpeed descriptors with their companion descriptors), and a Microsoft OS extended
compatible ID "MTP" for the interface, which makes Windows bind its MTP driver. (The gadget's
configfs ``os_desc`` must be enabled for the kernel to answer the OS descriptor requests; ``wpd
gadget up`` does that.)

:class:`FunctionFsGadget` runs one function: a thread reads ``ep0`` events and answers the Still
Image class requests, another reads bulk OUT. Each time the host enables the function
(``ENABLE``: it configured the device) a fresh :class:`FunctionFsLink` is handed to the device,
which serves a session on it; ``DISABLE``/``UNBIND`` (host gone, cable pulled, UDC unbound) and
the class Device Reset break that link with :class:`~openwpd.protocol.errors.DeviceGone`, so the
session ends, its pending upload rolls back and its edits close; the gadget then waits for the
next host and keeps serving.

Class requests (USB Still Image class 1.0, section 5.2):

- Cancel (0x64): the transaction named goes to the link's ``on_cancel`` (the device session
  stops its handler, rolls back, and sends no response, as USB wants); the data phase in
  progress is abandoned and the half-received container forgotten. A second Cancel for the same
  transaction finds nothing to stop.
- Get Device Status (0x67): the session's answer (DeviceBusy while the cancel is carried out,
  then OK); at most wLength bytes.
- Get Extended Event Data (0x65): we never post extended event data: an empty record.
- Device Reset (0x66): the session is closed and the function is idle for a new one.
- anything else is stalled.

Bulk rules: a data phase we send is one container whose transfers are multiples of the
endpoint's max packet size, with a zero-length packet after it when its length is an exact
multiple (the max packet size is asked of the kernel for the speed the host connected at).
Bulk OUT is read in transfers of ``READ_SIZE`` bytes and framed by
:class:`~openwpd.protocol.usb_codec.UsbCodec`, for which a short transfer or ZLP ends a
container. Events go over the interrupt endpoint, one container per transfer; when the host does
not poll it, events queue up to ``EVENT_QUEUE`` and later ones are dropped.

I/O model: FunctionFS endpoints are files with blocking ``read``/``write``; each runs in a thread
of its own, and results reach the event loop with ``call_soon_threadsafe``. A write to bulk IN
completes when the host has read it; if the host stops reading without cancelling or leaving,
the write waits until it does one or the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import fcntl
import functools
import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from openwpd.protocol import container
from openwpd.protocol.codes import ResponseCode, UsbClassRequest
from openwpd.protocol.datasets.usb_control import (
    CancelRequestData,
    DeviceStatus,
    ExtendedEventData,
)
from openwpd.protocol.errors import (
    ConnectError,
    DeviceGone,
    OpenWpdError,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
)
from openwpd.protocol.messages import DataChunk, Event, FileSlice, Message, Operation, Response
from openwpd.protocol.transaction import CancelFlow
from openwpd.protocol.usb_codec import Pipe, UsbCodec
from openwpd.transport import _aio
from openwpd.transport.link import Link

log = logging.getLogger(__name__)

__all__ = [
    "EVENT_QUEUE",
    "READ_SIZE",
    "WRITE_SIZE",
    "Ep0Event",
    "Ep0EventType",
    "FunctionFsGadget",
    "FunctionFsLink",
    "Setup",
    "descriptors_blob",
    "parse_events",
    "strings_blob",
]

# --- linux/usb/functionfs.h ----------------------------------------------------------------------
_DESCRIPTORS_MAGIC_V2 = 3
_STRINGS_MAGIC = 2
_HAS_FS_DESC = 1
_HAS_HS_DESC = 2
_HAS_SS_DESC = 4
_HAS_MS_OS_DESC = 8
#: size of struct usb_functionfs_event: the 8-byte setup packet, the type, 3 bytes of padding
_EVENT_SIZE = 12
#: FUNCTIONFS_ENDPOINT_DESC = _IOR('g', 130, struct usb_endpoint_descriptor): the descriptor of
#: an endpoint for the speed the host connected at (9 bytes, the audio form of the struct)
_IOCTL_ENDPOINT_DESC = (2 << 30) | (9 << 16) | (ord("g") << 8) | 130

# --- USB 2.0 chapter 9 / USB 3.x chapter 9 values ------------------------------------------------
_DT_INTERFACE = 4
_DT_ENDPOINT = 5
_DT_SS_ENDPOINT_COMPANION = 0x30
_XFER_BULK = 2
_XFER_INTERRUPT = 3
_DIR_IN = 0x80
_TYPE_MASK = 0x60
_TYPE_CLASS = 0x20
#: Still Image class, Still Image Capture subclass, PIMA 15740 protocol
_INTERFACE_CLASS = (6, 1, 1)
#: wMaxPacketSize of the bulk endpoints per speed (the only value allowed at high and super
#: speed; 64 is the largest at full speed)
BULK_MPS = {"full": 64, "high": 512, "super": 1024}
#: wMaxPacketSize of the interrupt endpoint: an event container (at most 24 bytes) fits a packet
INTERRUPT_MPS = 28
#: bInterval of the interrupt endpoint: 6 ms at full speed (frames); 2**(6-1) x 125 us = 4 ms at
#: high and super speed
INTERRUPT_INTERVAL = 6
#: Endpoint numbers our descriptors use (FunctionFS maps them onto the UDC's own)
EP_BULK_IN = 0x81
EP_BULK_OUT = 0x02
EP_INTERRUPT_IN = 0x83

_OPEN_SESSION = 0x1002

#: bytes per bulk OUT read (a multiple of every max packet size); the kernel buffers a whole read
READ_SIZE = 128 * 1024
#: bytes per bulk IN write
WRITE_SIZE = 128 * 1024
#: events waiting for a host that does not poll the interrupt endpoint
EVENT_QUEUE = 256
#: messages decoded from bulk OUT waiting for the session (the reader waits past this)
QUEUE_DEPTH = 64


def _interface() -> bytes:
    # bLength, bDescriptorType, bInterfaceNumber, bAlternateSetting, bNumEndpoints,
    # bInterfaceClass, bInterfaceSubClass, bInterfaceProtocol, iInterface (string 1: "MTP")
    return bytes([9, _DT_INTERFACE, 0, 0, 3, *_INTERFACE_CLASS, 1])


def _endpoint(address: int, kind: int, mps: int, interval: int) -> bytes:
    return struct.pack("<BBBBHB", 7, _DT_ENDPOINT, address, kind, mps, interval)


def _companion(bytes_per_interval: int) -> bytes:
    # bMaxBurst 0 (one packet per burst), bmAttributes 0 (no streams / Mult 0)
    return struct.pack("<BBBBH", 6, _DT_SS_ENDPOINT_COMPANION, 0, 0, bytes_per_interval)


def _speed_descriptors(speed: str) -> list[bytes]:
    mps = BULK_MPS[speed]
    descs = [_interface()]
    for address, kind, size, interval in (
        (EP_BULK_IN, _XFER_BULK, mps, 0),
        (EP_BULK_OUT, _XFER_BULK, mps, 0),
        (EP_INTERRUPT_IN, _XFER_INTERRUPT, INTERRUPT_MPS, INTERRUPT_INTERVAL),
    ):
        descs.append(_endpoint(address, kind, size, interval))
        if speed == "super":
            descs.append(_companion(size if kind == _XFER_INTERRUPT else 0))
    return descs


def _ms_os_extended_compat_id(bcd_version: int) -> bytes:
    # FunctionFS's usb_os_desc_header (interface, dwLength, bcdVersion, wIndex 4 = extended
    # compat ID, bCount, reserved), then one function section of the Microsoft OS 1.0
    # extended compat ID descriptor: first interface 0, reserved 1, compatible ID "MTP",
    # no sub-compatible ID, 6 reserved zero bytes. dwLength counts this section of the blob
    # (the kernel checks it against what is left, and builds the descriptor the host reads
    # itself).
    function = bytes([0, 1]) + b"MTP".ljust(8, b"\0") + bytes(8) + bytes(6)
    header_size = 11
    header = struct.pack("<BIHHBB", 0, header_size + len(function), bcd_version, 4, 1, 0)
    return header + function


#: bcdVersion of the OS descriptor header: 1.00 as Microsoft's specification writes it; kernels
#: before the FunctionFS fix that accepts it only took the value 1 (what Android writes), which
#: :meth:`FunctionFsGadget.start` falls back to
MS_OS_BCD_VERSIONS = (0x0100, 0x0001)


def descriptors_blob(*, super_speed: bool = True, ms_os_bcd: int = 0x0100) -> bytes:
    """What ``ep0`` takes first: FunctionFS v2 descriptors for full, high and (unless
    ``super_speed`` is False) super speed, and the Microsoft OS extended compat ID "MTP"."""
    speeds = ["full", "high"] + (["super"] if super_speed else [])
    flags = _HAS_FS_DESC | _HAS_HS_DESC | _HAS_MS_OS_DESC | (_HAS_SS_DESC if super_speed else 0)
    tables = [_speed_descriptors(speed) for speed in speeds]
    counts = [len(table) for table in tables] + [1]  # one OS descriptor
    body = b"".join(struct.pack("<I", count) for count in counts)
    body += b"".join(b"".join(table) for table in tables)
    body += _ms_os_extended_compat_id(ms_os_bcd)
    return struct.pack("<III", _DESCRIPTORS_MAGIC_V2, 12 + len(body), flags) + body


def strings_blob(interface_name: str = "MTP") -> bytes:
    """What ``ep0`` takes second: one language (en-US, 0x0409) with one string, the interface
    name (string 1). libmtp and Windows look for "MTP" in it."""
    table = struct.pack("<H", 0x0409) + interface_name.encode() + b"\0"
    return struct.pack("<IIII", _STRINGS_MAGIC, 16 + len(table), 1, 1) + table


# --- ep0 events ----------------------------------------------------------------------------------


class Ep0EventType(enum.IntEnum):
    """enum usb_functionfs_event_type."""

    BIND = 0
    UNBIND = 1
    ENABLE = 2
    DISABLE = 3
    SETUP = 4
    SUSPEND = 5
    RESUME = 6


@dataclass(frozen=True, slots=True)
class Setup:
    """The 8-byte setup packet of a control request."""

    request_type: int
    request: int
    value: int
    index: int
    length: int

    @property
    def is_in(self) -> bool:
        """Device to host (we answer with data)."""
        return bool(self.request_type & _DIR_IN)

    @property
    def is_class(self) -> bool:
        return self.request_type & _TYPE_MASK == _TYPE_CLASS


@dataclass(frozen=True, slots=True)
class Ep0Event:
    """One ``struct usb_functionfs_event``; ``setup`` only for SETUP."""

    type: Ep0EventType | int
    setup: Setup | None = None


def parse_events(data: bytes) -> list[Ep0Event]:
    """The events one read of ``ep0`` returned (a whole number of 12-byte records); an
    unknown event type is kept as its number."""
    events = []
    for offset in range(0, len(data) - len(data) % _EVENT_SIZE, _EVENT_SIZE):
        record = data[offset : offset + _EVENT_SIZE]
        kind: Ep0EventType | int = record[8]
        with contextlib.suppress(ValueError):
            kind = Ep0EventType(kind)
        setup = None
        if kind == Ep0EventType.SETUP:
            setup = Setup(*struct.unpack("<BBHHH", record[:8]))
        events.append(Ep0Event(kind, setup))
    return events


# --- the link ------------------------------------------------------------------------------------


class FunctionFsLink(Link):
    """One host's connection to the function, from ENABLE until DISABLE, UNBIND or Device
    Reset; see the module docstring. Created by :class:`FunctionFsGadget`."""

    cancel_flow = CancelFlow.USB

    def __init__(self, gadget: FunctionFsGadget, max_packet_size: int, name: str) -> None:
        self.name = name
        self._gadget = gadget
        self.codec = UsbCodec(max_packet_size, transfer_size=WRITE_SIZE)
        self._queue: asyncio.Queue[Message | OpenWpdError] = asyncio.Queue()
        self._error: OpenWpdError | None = None
        self._closed = False
        #: a Cancel arrived for the transaction in flight: a broken container that follows is
        #: the rest of its data phase, not an error
        self._cancelled = False
        self._current_tid: int | None = None

    @property
    def closed(self) -> bool:
        return self._closed or self._error is not None

    def fail(self, error: OpenWpdError) -> None:
        """(Gadget) the host is gone or reset us: every later call raises ``error``."""
        if self._error is None:
            self._error = error
            self._queue.put_nowait(error)
            if self.on_broken is not None and not self._closed:
                try:
                    self.on_broken(error)
                except Exception:
                    log.exception("%s: on_broken callback failed", self.name)

    def deliver(self, transfer: bytes) -> None:
        """(Gadget, on the loop) one completed bulk OUT transfer."""
        if self._error is not None:
            return
        try:
            messages = self.codec.decode_bulk(transfer, read_size=READ_SIZE)
        except RemoteProtocolError as exc:
            if not self._cancelled:
                self.fail(exc)
                return
            self.codec.reset()  # the tail of a cancelled data phase: drop it
            return
        for msg in messages:
            if isinstance(msg, Operation):
                self._cancelled = False
                self._current_tid = msg.tid
                if msg.code == _OPEN_SESSION:
                    self._gadget.drop_stale_events()
            self._queue.put_nowait(msg)

    @property
    def backlog(self) -> int:
        """Messages waiting for :meth:`receive` (the reader waits while this is large)."""
        return self._queue.qsize()

    def cancel_requested(self, tid: int) -> bool:
        """(Gadget, on the loop) the host's class Cancel request for ``tid``. Returns True when
        it names the transaction in flight (whose data phase is then abandoned); a Cancel for
        another one (late, or a second one) changes nothing here."""
        current = tid == self._current_tid
        if current:
            self.codec.abandon_data_phase()
            self.codec.reset()  # the half-received container of the cancelled phase
            self._cancelled = True
        if self.on_cancel is not None:
            self.on_cancel(tid)
        return current

    def status(self) -> int:
        """(Gadget, on the loop) what Get Device Status answers."""
        if self.device_status is None:
            return int(ResponseCode.OK)
        return self.device_status()

    async def receive(self, timeout: float | None = None) -> Message:
        if self._closed:
            raise self._error or DeviceGone(f"{self.name}: link closed")
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            raise ReadTimeout(f"{self.name}: nothing received for {timeout} s") from None
        self._gadget.reader_may_go_on()
        if isinstance(item, OpenWpdError):
            self._queue.put_nowait(item)  # sticky
            raise item
        return item

    async def send(self, msg: Message, *, data_follows: bool = False) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise DeviceGone(f"{self.name}: link closed")
        if isinstance(msg, DataChunk) and isinstance(msg.data, FileSlice):
            raise TransportError(f"{self.name}: file slices are not supported over USB")
        if isinstance(msg, Event):
            # events go out whatever the bulk pipe is doing (even mid data phase)
            assert msg.tid is not None
            self._gadget.post_event(container.build_event(msg.code, msg.tid, msg.params))
            return
        if isinstance(msg, Response):
            self._current_tid = None  # a Cancel from now on names no transaction in flight
        for pipe, data in self.codec.encode(msg, data_follows=data_follows):
            if pipe is Pipe.INTERRUPT:
                self._gadget.post_event(data)
            else:
                await self._gadget.write_bulk(self, data)

    async def aclose(self) -> None:
        self._closed = True
        if self._error is None:
            self._error = DeviceGone(f"{self.name}: link closed")


def _consume(fut: asyncio.Future[None]) -> None:
    # a write whose caller was cancelled: its outcome is handled (or moot) elsewhere
    if not fut.cancelled():
        fut.exception()


# --- the function --------------------------------------------------------------------------------

StartSession = Callable[[FunctionFsLink], "asyncio.Task[None] | None"]


class FunctionFsGadget:
    """Serves the FunctionFS instance mounted at ``directory``; see the module docstring.

    ``start_session(link)`` is called (on the loop) for each host that enables the function.
    :meth:`start` writes the descriptors (after which the gadget can be bound to a UDC) and
    starts the threads; :meth:`aclose` stops everything.
    """

    def __init__(
        self,
        directory: Path | str,
        start_session: StartSession,
        *,
        super_speed: bool = True,
        interface_name: str = "MTP",
    ) -> None:
        self.directory = Path(directory)
        self._start_session = start_session
        self._super_speed = super_speed
        self._interface_name = interface_name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ep0: int | None = None
        self._bulk_in: int | None = None
        self._bulk_out: int | None = None
        self._interrupt: int | None = None
        self._link: FunctionFsLink | None = None
        self._hosts = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ffs-bulk-in")
        self._events = ThreadPoolExecutor(1, thread_name_prefix="ffs-interrupt")
        self._pending_events = 0
        self._event_generation = 0
        #: bulk IN writes and bulk OUT reads that can be taken back (None: plain blocking I/O)
        self._aio: _aio.AioFile | None = None
        self._aio_out: _aio.AioFile | None = None
        self._aio_int: _aio.AioFile | None = None
        self._room = threading.Condition()
        self._sessions: set[asyncio.Task[None]] = set()
        #: ep0 events seen, for logs and tests
        self.history: list[str] = []

    @property
    def link(self) -> FunctionFsLink | None:
        """The host link being served, if a host has enabled the function."""
        return self._link

    async def start(self) -> None:
        """Open ``ep0`` and write the descriptors and strings. Raises ConnectError when the
        directory is not a FunctionFS mount or the kernel refuses them."""
        self._loop = asyncio.get_running_loop()
        ep0 = self.directory / "ep0"
        try:
            fd = os.open(ep0, os.O_RDWR)
        except OSError as exc:
            raise ConnectError(f"cannot open {ep0}: {exc.strerror}") from None
        refused: OSError | None = None
        for bcd in MS_OS_BCD_VERSIONS:
            try:
                os.write(fd, descriptors_blob(super_speed=self._super_speed, ms_os_bcd=bcd))
                refused = None
                break
            except OSError as exc:
                refused = exc
        try:
            if refused is not None:
                raise refused
            os.write(fd, strings_blob(self._interface_name))
        except OSError as exc:
            os.close(fd)
            raise ConnectError(
                f"{ep0}: the kernel refused the descriptors ({exc.strerror}); is it a "
                "FunctionFS mount that no other program uses?"
            ) from None
        self._ep0 = fd
        try:
            self._bulk_in = os.open(self.directory / "ep1", os.O_RDWR)
            self._bulk_out = os.open(self.directory / "ep2", os.O_RDWR)
            self._interrupt = os.open(self.directory / "ep3", os.O_RDWR)
        except OSError as exc:
            await self.aclose()
            raise ConnectError(f"cannot open the endpoints in {self.directory}: {exc}") from None
        if _aio.available():
            try:
                self._aio = _aio.AioFile(self._bulk_in)
                self._aio_out = _aio.AioFile(self._bulk_out)
                self._aio_int = _aio.AioFile(self._interrupt)
            except OSError as exc:  # a kernel without AIO: writes cannot be taken back
                log.warning("FunctionFS: no AIO (%s); a host that stops reading blocks us", exc)
        for target, name in ((self._ep0_loop, "ffs-ep0"), (self._read_loop, "ffs-bulk-out")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    # -- ep0 ----------------------------------------------------------------------------------

    def _ep0_loop(self) -> None:
        assert self._ep0 is not None
        while not self._stopping:
            try:
                data = os.read(self._ep0, 4 * _EVENT_SIZE)
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                if not self._stopping:
                    log.warning("FunctionFS ep0: %s", exc)
                return
            if not data:
                return
            for event in parse_events(data):
                self._on_ep0_event(event)

    def _call(self, func: Callable[[], object]) -> None:
        """Run ``func`` on the loop (from a thread)."""
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(func)

    def _ask(self, func: Callable[[], int]) -> int:
        """Run ``func`` on the loop and wait for its answer (from a thread): ordered after
        everything handed to the loop before, such as a Cancel."""
        assert self._loop is not None

        async def ask() -> int:
            return func()

        return asyncio.run_coroutine_threadsafe(ask(), self._loop).result(2.0)

    def _on_ep0_event(self, event: Ep0Event) -> None:
        kind = event.type
        name = kind.name if isinstance(kind, Ep0EventType) else str(kind)
        if event.setup is None:
            self.history.append(name)
            log.debug("FunctionFS event %s", name)
        if kind == Ep0EventType.ENABLE:
            self._call(self._host_arrived)
        elif kind in (Ep0EventType.DISABLE, Ep0EventType.UNBIND):
            self._call(lambda: self._host_left(f"the host went away ({name.lower()})"))
        elif kind == Ep0EventType.SETUP and event.setup is not None:
            self._on_setup(event.setup)
        # BIND, SUSPEND, RESUME: nothing to do; a suspended host keeps its session

    def _on_setup(self, setup: Setup) -> None:
        assert self._ep0 is not None
        request = setup.request
        self.history.append(f"SETUP 0x{request:02X}")
        try:
            if setup.is_class and request == UsbClassRequest.CANCEL and not setup.is_in:
                data = os.read(self._ep0, setup.length) if setup.length else b""
                try:
                    tid = CancelRequestData.from_bytes(data).transaction_id
                except OpenWpdError as exc:
                    log.info("FunctionFS: bad Cancel request: %s", exc)
                    return
                self._call(lambda: self._cancel(tid))
            elif setup.is_class and request == UsbClassRequest.GET_DEVICE_STATUS and setup.is_in:
                code = self._ask(self._status)
                os.write(self._ep0, DeviceStatus(code).to_bytes()[: setup.length])
            elif (
                setup.is_class
                and request == UsbClassRequest.GET_EXTENDED_EVENT_DATA
                and setup.is_in
            ):
                os.write(self._ep0, ExtendedEventData(0, 0).to_bytes()[: setup.length])
            elif setup.is_class and request == UsbClassRequest.DEVICE_RESET and not setup.is_in:
                if setup.length:
                    os.read(self._ep0, setup.length)
                else:
                    os.read(self._ep0, 0)  # the status stage: acknowledge
                self._call(self._device_reset)
            else:
                self._stall(setup)
        except OSError as exc:
            log.info("FunctionFS: control request 0x%02X failed: %s", request, exc)
        except Exception:  # a control request must never kill the ep0 thread
            log.exception("FunctionFS: control request 0x%02X", request)

    def _stall(self, setup: Setup) -> None:
        """FunctionFS stalls a request when we move data against its direction."""
        assert self._ep0 is not None
        with contextlib.suppress(OSError):
            if setup.is_in:
                os.read(self._ep0, 0)
            else:
                os.write(self._ep0, b"")

    # -- on the loop ----------------------------------------------------------------------------

    def _max_packet_size(self) -> int:
        if self._bulk_in is None:
            return BULK_MPS["high"]
        try:
            desc = fcntl.ioctl(self._bulk_in, _IOCTL_ENDPOINT_DESC, bytes(9))
            return int(struct.unpack_from("<H", desc, 4)[0]) & 0x7FF or BULK_MPS["high"]
        except OSError:
            return BULK_MPS["high"]

    def _host_arrived(self) -> None:
        if self._link is not None:
            self._link.fail(DeviceGone(f"{self._link.name}: the host re-configured the device"))
        self._hosts += 1
        link = FunctionFsLink(self, self._max_packet_size(), f"usb-host #{self._hosts}")
        self._link = link
        task = self._start_session(link)
        if task is not None:
            self._sessions.add(task)
            task.add_done_callback(self._sessions.discard)

    def _host_left(self, why: str) -> None:
        self.abort_bulk_in()
        link, self._link = self._link, None
        if link is not None:
            link.fail(DeviceGone(f"{link.name}: {why}"))
        with self._room:
            self._room.notify_all()

    def _device_reset(self) -> None:
        """Class Device Reset: the session is closed, the function idle for a new one."""
        if self._link is None:
            return
        self._host_left("Device Reset from the host")
        self._host_arrived()

    def _cancel(self, tid: int) -> None:
        if self._link is not None and self._link.cancel_requested(tid):
            # whatever bulk IN holds is the cancelled transaction's (the host reads a
            # response before it sends the next operation): the host will not read it; what
            # a bulk OUT read holds is the tail of its data phase
            self.abort_bulk_in()
            self.abort_bulk_out()

    def _status(self) -> int:
        return self._link.status() if self._link is not None else int(ResponseCode.OK)

    def reader_may_go_on(self) -> None:
        with self._room:
            self._room.notify_all()

    # -- bulk OUT -------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        assert self._bulk_out is not None
        while not self._stopping:
            with self._room:
                self._room.wait_for(
                    lambda: (
                        self._stopping or self._link is None or self._link.backlog < QUEUE_DEPTH
                    ),
                    timeout=1.0,
                )
            try:
                if self._aio_out is not None:
                    data = self._aio_out.read(READ_SIZE)
                else:
                    data = os.read(self._bulk_out, READ_SIZE)
            except OSError as exc:
                if self._stopping or exc.errno == errno.EBADF:
                    return
                if exc.errno == errno.ECANCELED:
                    continue  # the tail of a cancelled data phase: dropped
                # ESHUTDOWN and friends: the host left (ep0's DISABLE says so too; the session
                # ends there); the next read waits until a host enables the function again
                log.debug("FunctionFS bulk OUT: %s", exc)
                time.sleep(0.05)
                continue
            self._call(functools.partial(self._deliver, data))

    def _deliver(self, data: bytes) -> None:
        if self._link is not None:
            self._link.deliver(data)

    # -- bulk IN and interrupt IN ---------------------------------------------------------------

    async def write_bulk(self, link: FunctionFsLink, data: bytes) -> None:
        """Write one transfer to bulk IN (``b""`` is a zero-length packet). A write the host
        cancelled (its data phase abandoned) raises CancelledError, as the handler's task is
        being cancelled anyway; a failed one breaks the link."""
        assert self._loop is not None
        fut = self._loop.run_in_executor(self._writer, self._write_bulk_now, data)
        fut.add_done_callback(_consume)
        try:
            await asyncio.shield(fut)
        except OSError as exc:
            if exc.errno == errno.ECANCELED and not link.closed:
                raise asyncio.CancelledError from None
            error = DeviceGone(f"{link.name}: bulk IN: {exc.strerror or exc}")
            link.fail(error)
            raise error from None

    def _write_bulk_now(self, data: bytes) -> None:
        if self._aio is None:
            self._write_all(self._bulk_in, data)
            return
        view = memoryview(data)
        if not view:
            self._aio.write(b"")
            return
        while view:
            view = view[self._aio.write(view) :]

    def abort_bulk_in(self) -> None:
        """Take back the bulk IN write in progress (a host cancel, reset or departure): the
        host will not read the rest of that data phase."""
        if self._aio is not None:
            self._aio.abort()

    def abort_bulk_out(self) -> None:
        """Take back the bulk OUT read in progress, dropping what it holds: after a host
        Cancel, the tail of the cancelled data phase (the next command comes in a new read)."""
        if self._aio_out is not None:
            self._aio_out.abort()

    def drop_stale_events(self) -> None:
        """(On the loop) a host program opens a session: events still waiting for the
        interrupt endpoint were meant for an earlier one (libmtp's tools never read them) and
        would only bury the new program's events."""
        self._event_generation += 1
        if self._aio_int is not None:
            self._aio_int.abort()

    def _write_event_now(self, data: bytes, generation: int) -> None:
        # a host that never polls the interrupt endpoint (libmtp's tools) leaves this write
        # pending: through AIO it can be taken back (a new session, shutdown)
        if generation != self._event_generation:
            return
        if self._aio_int is not None:
            self._aio_int.write(data)
        else:
            self._write_all(self._interrupt, data)

    @staticmethod
    def _write_all(fd: int | None, data: bytes) -> None:
        if fd is None:
            raise OSError(errno.EBADF, "the function is closed")
        if not data:
            os.write(fd, b"")
            return
        view = memoryview(data)
        while view:
            sent = os.write(fd, view)
            view = view[sent:]

    def post_event(self, data: bytes) -> None:
        """Queue one event container for the interrupt endpoint (dropped past EVENT_QUEUE)."""
        if self._pending_events >= EVENT_QUEUE:
            log.warning("FunctionFS: the host does not read events; dropping one")
            return
        self._pending_events += 1
        fut = self._events.submit(self._write_event_now, data, self._event_generation)

        def done(_f: object) -> None:
            self._pending_events -= 1

        fut.add_done_callback(lambda f: self._call(lambda: done(f)))

    # -- shutdown --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """End the session, close the endpoints and ``ep0`` (the kernel then drops the
        function's descriptors). Never raises."""
        self._stopping = True
        self._host_left("the device is shutting down")
        # pending writes and reads must return: the executors' threads are joined at exit
        for aio in (self._aio, self._aio_out, self._aio_int):
            if aio is not None:
                aio.abort()
        for task in list(self._sessions):
            task.cancel()
        for task in list(self._sessions):
            with contextlib.suppress(BaseException):
                await task
        for attr in ("_bulk_in", "_bulk_out", "_interrupt", "_ep0"):
            fd = getattr(self, attr)
            setattr(self, attr, None)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._writer.shutdown(wait=False, cancel_futures=True)
        self._events.shutdown(wait=False, cancel_futures=True)
        for aio in (self._aio, self._aio_out, self._aio_int):
            if aio is not None:
                aio.close()
        self._aio = self._aio_out = self._aio_int = None
