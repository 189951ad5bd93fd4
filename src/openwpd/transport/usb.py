"""MTP/PTP over USB (the host side), on libusb through the ``libusb1`` package (``usb1``).

Theory of operation
-------------------
:func:`open_usb_link` finds the device named by a ``usb://`` URL, claims its MTP interface
(detaching a kernel driver where one is bound) and returns a :class:`UsbLink`: the same small
interface as :class:`~openwpd.transport.ptpip.PtpIpLink` (``receive``, ``send``,
``send_cancel``, ``aclose``, ``name``, ``on_event``) plus what the USB cancel flow and recovery
need (``request_device_status``, ``device_reset``, ``usb_reset``, ``recover``). All framing is
:class:`~openwpd.protocol.usb_codec.UsbCodec`'s; this module only moves transfers.

I/O model: each link owns a libusb context and one thread that does nothing but handle libusb
events. Transfers are submitted from the event loop; their completion callbacks (on the libusb
thread) copy the bytes and hand them to the event loop with ``call_soon_threadsafe``. So:

- bulk IN is read continuously by ``reads_in_flight`` transfers of ``read_size`` bytes (a
  multiple of wMaxPacketSize), resubmitted as they complete, and decoded in order into a
  bounded queue that :meth:`UsbLink.receive` drains. Reading never stops, which is also how
  stale data is drained after a cancel (the transaction machine discards it).
- the interrupt IN endpoint is read the same way; its events go to ``on_event`` the moment they
  arrive (or into the queue when no callback is set), as over PTP/IP.
- bulk OUT writes keep up to ``writes_in_flight`` transfers in flight; an Operation or the end of
  a data phase waits until the device took everything.
- control requests (Cancel, Get Device Status, Device Reset, clear halt) are short synchronous
  libusb calls run in a worker thread.

Cancel (USB Still Image class): :meth:`UsbLink.send_cancel` abandons the data we were sending
(in-flight OUT transfers are cancelled) and sends the class Cancel request;
:meth:`UsbLink.request_device_status` asks Get Device Status and clears the halts of the
endpoints it lists. The machine polls it while the device is Busy, then drains. A stall of the
bulk IN pipe outside a cancel (the device aborting a transaction, Android style) is recovered
here: status read, halts cleared, and the device's status code delivered as the transaction's
response. Recovery past the cancel budget (:meth:`UsbLink.recover`): class Device Reset, then a
USB port reset; the session is gone afterwards and the caller raises SessionReset.

Errors are mapped at this boundary: libusb's "no device" becomes DeviceGone, a claim that fails
because another process holds the device becomes DeviceBusy naming that process (found through
/proc), missing permissions or libusb become ConnectError. Transport errors are sticky.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import (
    ConnectError,
    DeviceBusy,
    DeviceGone,
    LocalProtocolError,
    OpenWpdError,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
    WriteTimeout,
)
from openwpd.protocol.messages import (
    DataChunk,
    EndData,
    Event,
    Message,
    Operation,
    Response,
    SendCancel,
    StartData,
)
from openwpd.protocol.transaction import CancelFlow
from openwpd.protocol.usb_codec import (
    ControlRequest,
    Endpoints,
    MtpMatch,
    Pipe,
    UsbCodec,
    classify_interface,
    device_reset_request,
    device_status_request,
    extended_compat_id_request,
    may_need_os_descriptor,
    os_string_descriptor_request,
    parse_device_status,
    parse_extended_compat_id,
    parse_os_string_descriptor,
    pick_endpoints,
)
from openwpd.transport.link import Link

log = logging.getLogger(__name__)

#: Bytes per bulk IN read (a multiple of every wMaxPacketSize: 64, 512, 1024).
READ_SIZE = 256 * 1024
#: Bulk IN reads kept in flight, so the device never waits for us to resubmit.
READS_IN_FLIGHT = 4
#: Bulk OUT transfers kept in flight during a data phase.
WRITES_IN_FLIGHT = 4
#: Bytes per bulk OUT transfer.
WRITE_SIZE = 1024 * 1024
#: A bulk OUT transfer the device does not take within this many seconds fails (WriteTimeout).
WRITE_TIMEOUT = 30.0
#: Control requests (Cancel, Get Device Status, Device Reset, clear halt) time out after this.
CONTROL_TIMEOUT = 5.0
#: Messages decoded ahead of the reader; with READS_IN_FLIGHT this bounds our memory use.
QUEUE_DEPTH = 64
#: How long a USB port reset may take before the device is back on the bus.
REENUMERATION_TIMEOUT = 10.0
#: Recovery steps :meth:`UsbLink.recover` takes by default, in order.
DEFAULT_RECOVERY = ("device-reset", "usb-reset")

# libusb's error codes and transfer statuses (libusb.h); values of the C library, not MTP codes.
_LIBUSB_ERROR_ACCESS = -3
_LIBUSB_ERROR_NO_DEVICE = -4
_LIBUSB_ERROR_NOT_FOUND = -5
_LIBUSB_ERROR_BUSY = -6
_LIBUSB_ERROR_TIMEOUT = -7
_LIBUSB_ERROR_PIPE = -9
_LIBUSB_ERROR_INTERRUPTED = -10
_LIBUSB_ERROR_NOT_SUPPORTED = -12
_TRANSFER_COMPLETED = 0
_TRANSFER_TIMED_OUT = 2
_TRANSFER_CANCELLED = 3
_TRANSFER_STALL = 4
_TRANSFER_NO_DEVICE = 5
_TRANSFER_OVERFLOW = 6

#: Direction bit of an endpoint address (USB 2.0 §9.6.6).
_ENDPOINT_IN = 0x80
_USB_DEVFS = "/dev/bus/usb"
_DATA_STATUSES = (_TRANSFER_COMPLETED, _TRANSFER_TIMED_OUT, _TRANSFER_CANCELLED)


# --- the one place usb1 is touched: a narrow, typed wrapper ---------------------------------------


def _usb1() -> Any:
    """The ``usb1`` module (libusb1 package), imported on first use so that importing this
    module needs neither the package nor the libusb shared library. usb1 has no type stubs:
    everything from it is ``Any`` inside this module and converted at the boundary."""
    try:
        return importlib.import_module("usb1")
    except ImportError as exc:
        raise ConnectError(
            f"USB needs the libusb1 Python package and the libusb-1.0 library: {exc}"
        ) from None


def _usb_error_code(exc: BaseException) -> int | None:
    """libusb's error code of a usb1.USBError, None for anything else."""
    value = getattr(exc, "value", None)
    return value if isinstance(value, int) and type(exc).__name__.startswith("USBError") else None


def _open_context() -> Any:
    usb1 = _usb1()
    try:
        return usb1.USBContext().open()
    except OSError as exc:  # the shared library is missing: usb1 loads it here
        raise ConnectError(f"USB needs the libusb-1.0 library: {exc}") from None


# --- device IDs -----------------------------------------------------------------------------------

_VID_PID = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})(?:/(.+))?$")
_BUS_ADDRESS = re.compile(r"^(\d{1,3}):(\d{1,3})$")


@dataclass(frozen=True, slots=True)
class UsbDeviceId:
    """What a ``usb://`` URL names: ``VID:PID`` (optionally ``/SERIAL``) or ``BUS:ADDRESS``."""

    vid: int | None = None
    pid: int | None = None
    serial: str | None = None
    bus: int | None = None
    address: int | None = None

    def __str__(self) -> str:
        if self.vid is not None and self.pid is not None:
            base = f"usb://{self.vid:04x}:{self.pid:04x}"
            return f"{base}/{quote(self.serial, safe='')}" if self.serial else base
        return f"usb://{self.bus}:{self.address}"

    def matches(self, info: UsbDeviceInfo) -> bool:
        """True when ``info`` is a device this ID names."""
        if self.bus is not None:
            return (info.bus, info.address) == (self.bus, self.address)
        if (info.vid, info.pid) != (self.vid, self.pid):
            return False
        return self.serial is None or info.serial == self.serial


def parse_usb_url(url: str) -> UsbDeviceId:
    """Parse ``usb://VID:PID[/SERIAL]`` (four hex digits each; the serial percent-encoded) or
    ``usb://BUS:ADDRESS`` (decimal, one to three digits). Raises LocalProtocolError otherwise."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != "usb":
        raise LocalProtocolError(f"not a usb:// URL: {url!r}")
    if m := _VID_PID.match(rest):
        serial = unquote(m.group(3)) if m.group(3) else None
        return UsbDeviceId(int(m.group(1), 16), int(m.group(2), 16), serial)
    if m := _BUS_ADDRESS.match(rest):
        return UsbDeviceId(bus=int(m.group(1)), address=int(m.group(2)))
    raise LocalProtocolError(
        f"bad USB device URL {url!r}: expected usb://VID:PID[/SERIAL] or usb://BUS:ADDRESS"
    )


@dataclass(frozen=True, slots=True)
class UsbDeviceInfo:
    """A USB MTP/PTP device as found on the bus (what ``wpd devices`` lists).

    ``url`` is its device ID: ``usb://VID:PID/SERIAL`` when it has a serial number, else
    ``usb://BUS:ADDRESS``. ``match`` says why its interface counts as MTP.
    """

    url: str
    bus: int
    address: int
    vid: int
    pid: int
    serial: str | None
    manufacturer: str | None
    product: str | None
    interface: int
    alternate_setting: int
    interface_name: str | None
    match: MtpMatch

    @property
    def name(self) -> str:
        """A human name: manufacturer and product strings, or the URL."""
        words = [w for w in (self.manufacturer, self.product) if w]
        return " ".join(words) or self.url

    @property
    def node(self) -> str:
        """The usbfs device node, ``/dev/bus/usb/BBB/DDD``."""
        return f"{_USB_DEVFS}/{self.bus:03d}/{self.address:03d}"


def _device_url(vid: int, pid: int, serial: str | None, bus: int, address: int) -> str:
    if serial:
        return str(UsbDeviceId(vid, pid, serial))
    return str(UsbDeviceId(bus=bus, address=address))


# --- discovery ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Setting:
    number: int
    alternate: int
    cls: int
    subclass: int
    protocol: int
    string_index: int
    endpoints: tuple[tuple[int, int, int], ...]


def _settings(device: Any) -> list[_Setting]:
    out = []
    for s in device.iterSettings():
        eps = tuple(
            (int(e.getAddress()), int(e.getAttributes()), int(e.getMaxPacketSize())) for e in s
        )
        out.append(
            _Setting(
                int(s.getNumber()),
                int(s.getAlternateSetting()),
                int(s.getClass()),
                int(s.getSubClass()),
                int(s.getProtocol()),
                int(s.getDescriptor()),
                eps,
            )
        )
    return out


def _string(handle: Any, index: int) -> str | None:
    if handle is None or not index:
        return None
    try:
        value = handle.getASCIIStringDescriptor(index, errors="replace")
    except Exception:  # a device that stalls string requests just has no strings for us
        return None
    return str(value) if value else None


def _device_string(handle: Any, getter: str) -> str | None:
    if handle is None:
        return None
    try:
        value = getattr(handle, getter)()
    except Exception:  # a device that stalls string requests just has no strings for us
        return None
    return str(value) if value else None


def _os_mtp_interfaces(handle: Any) -> set[int]:
    """Interfaces whose Extended Compat ID says "MTP" (Microsoft OS descriptors); empty on any
    failure."""
    try:
        req = os_string_descriptor_request()
        raw = handle.controlRead(req.request_type, req.request, req.value, req.index, req.length)
        vendor_code = parse_os_string_descriptor(bytes(raw))
        if vendor_code is None:
            return set()
        req = extended_compat_id_request(vendor_code)
        raw = handle.controlRead(
            req.request_type, req.request, req.value, req.index, req.length, 1000
        )
        return {
            f.first_interface
            for f in parse_extended_compat_id(bytes(raw))
            if f.compatible_id == "MTP"
        }
    except Exception:  # most devices have no OS descriptor and stall the request
        return set()


@dataclass
class _Probe:
    info: UsbDeviceInfo
    endpoints: Endpoints
    device: Any
    handle: Any
    #: Why the device could not be opened (when ``handle`` is None and it was wanted).
    open_error: str | None = None


def _probe(device: Any, *, keep_open: bool) -> _Probe | None:
    """Classify one device; its handle stays open in the result when ``keep_open``."""
    settings = [s for s in _settings(device) if len(s.endpoints) == 3]
    if not settings:
        return None
    open_error = None
    try:
        handle = device.open()
    except Exception as exc:  # no permission: class 6/1/1 is still recognisable without strings
        handle = None
        node = f"{_USB_DEVFS}/{int(device.getBusNumber()):03d}/{int(device.getDeviceAddress()):03d}"
        if _usb_error_code(exc) == _LIBUSB_ERROR_ACCESS:
            open_error = f"permission denied on {node} (see `wpd doctor` and `wpd udev-rules`)"
        else:
            open_error = f"cannot open {node}: {exc}"
    try:
        os_mtp: set[int] = set()
        if handle is not None and any(may_need_os_descriptor(s.cls, 3) for s in settings):
            os_mtp = _os_mtp_interfaces(handle)
        for s in settings:
            name = _string(handle, s.string_index)
            match = classify_interface(
                s.cls, s.subclass, s.protocol, 3, name, os_compat_mtp=s.number in os_mtp
            )
            if match is None:
                continue
            try:
                endpoints = pick_endpoints(s.endpoints)
            except RemoteProtocolError as exc:
                log.info("skipping an MTP-looking interface: %s", exc)
                continue
            bus, address = int(device.getBusNumber()), int(device.getDeviceAddress())
            vid, pid = int(device.getVendorID()), int(device.getProductID())
            serial = _device_string(handle, "getSerialNumber")
            manufacturer = _device_string(handle, "getManufacturer")
            product = _device_string(handle, "getProduct")
            info = UsbDeviceInfo(
                _device_url(vid, pid, serial, bus, address),
                bus,
                address,
                vid,
                pid,
                serial,
                manufacturer,
                product,
                s.number,
                s.alternate,
                name,
                match,
            )
            probe = _Probe(info, endpoints, device, handle if keep_open else None, open_error)
            if keep_open:
                handle = None  # handed over
            return probe
        return None
    finally:
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.close()


def _scan(ctx: Any, *, keep_open: bool = False) -> list[_Probe]:
    probes = []
    for device in ctx.getDeviceIterator(skip_on_error=True):
        try:
            probe = _probe(device, keep_open=keep_open)
        except Exception as exc:  # one odd device must not hide the others
            log.info("skipping a USB device: %s", exc)
            continue
        if probe is not None:
            probes.append(probe)
    return probes


def list_usb_devices() -> list[UsbDeviceInfo]:
    """Every MTP/PTP device on the USB buses (interfaces of class 6/1/1, or naming "MTP" in
    their interface string or Microsoft OS descriptor).

    Synchronous and quick (a few control requests per candidate device). Returns an empty
    list when libusb or the libusb1 package is not available (logged), never raises for that.
    """
    try:
        ctx = _open_context()
    except ConnectError as exc:
        log.info("no USB devices listed: %s", exc)
        return []
    try:
        return [p.info for p in _scan(ctx)]
    finally:
        ctx.close()


# --- a survey: every device, and why one cannot be opened ---------------------------------------

#: USB class codes of devices that are never MTP/PTP devices themselves (hubs).
_CLASS_HUB = 9


@dataclass(frozen=True, slots=True)
class UsbDeviceStatus:
    """One USB device as ``wpd devices`` and ``wpd doctor`` report it.

    ``info`` is set when the device has an MTP/PTP interface (or might have one: see
    ``candidate``); ``problem`` says why it cannot be opened now (None when it can):
    no permission on its node, held by another process (``holders`` names them), no MTP/PTP
    interface. ``kernel_driver`` is True when a kernel driver is bound to its MTP interface
    (opening detaches it, which needs write access to the node).
    """

    bus: int
    address: int
    vid: int
    pid: int
    info: UsbDeviceInfo | None
    candidate: bool
    problem: str | None
    holders: tuple[DeviceHolder, ...] = ()
    kernel_driver: bool = False

    @property
    def node(self) -> str:
        """The usbfs device node, ``/dev/bus/usb/BBB/DDD``."""
        return f"{_USB_DEVFS}/{self.bus:03d}/{self.address:03d}"

    @property
    def url(self) -> str:
        """The device's URL: the MTP interface's when known, else ``usb://BUS:ADDRESS``."""
        return self.info.url if self.info is not None else f"usb://{self.bus}:{self.address}"


def _hides_mtp_class(vid: int, settings: Sequence[_Setting]) -> bool:
    """A device we cannot read strings from (no permission) that may still be an MTP device:
    a known phone/player vendor with a vendor-specific three-endpoint interface (Android's
    MTP interface is class 0xFF until its string is read)."""
    from openwpd.transport.udev import HIDDEN_CLASS_VENDORS

    return vid in HIDDEN_CLASS_VENDORS and any(
        s.cls == 0xFF and len(s.endpoints) == 3 for s in settings
    )


def _survey_one(device: Any) -> UsbDeviceStatus | None:
    bus, address = int(device.getBusNumber()), int(device.getDeviceAddress())
    vid, pid = int(device.getVendorID()), int(device.getProductID())
    node = f"{_USB_DEVFS}/{bus:03d}/{address:03d}"
    if int(device.getDeviceClass()) == _CLASS_HUB:
        return None
    settings = _settings(device)
    try:
        handle = device.open()
    except Exception as exc:
        probe = _probe(device, keep_open=False)  # class 6/1/1 is visible without opening
        candidate = probe is not None or _hides_mtp_class(vid, settings)
        if _usb_error_code(exc) == _LIBUSB_ERROR_ACCESS:
            problem = f"permission denied on {node} (see `wpd udev-rules`)"
        else:
            problem = f"cannot open {node}: {exc}"
        info = probe.info if probe is not None else None
        return UsbDeviceStatus(bus, address, vid, pid, info, candidate, problem)
    handle.close()
    probe = _probe(device, keep_open=True)
    if probe is None:
        return UsbDeviceStatus(
            bus, address, vid, pid, None, False, "not an MTP/PTP device (no such interface)"
        )
    info, handle = probe.info, probe.handle
    try:
        kernel_driver = False
        with contextlib.suppress(Exception):
            kernel_driver = bool(handle.kernelDriverActive(info.interface))
        try:
            handle.claimInterface(info.interface)
        except Exception as exc:
            code = _usb_error_code(exc)
            if code == _LIBUSB_ERROR_BUSY:
                if kernel_driver:  # wpd detaches it when it opens the device
                    return UsbDeviceStatus(
                        bus, address, vid, pid, info, True, None, (), kernel_driver=True
                    )
                holders, incomplete = find_device_holders(node, exclude=(os.getpid(),))
                problem = busy_message(info.url, node, holders, incomplete)
                return UsbDeviceStatus(bus, address, vid, pid, info, True, problem, tuple(holders))
            problem = f"cannot claim interface {info.interface}: {exc}"
            return UsbDeviceStatus(bus, address, vid, pid, info, True, problem)
        with contextlib.suppress(Exception):
            handle.releaseInterface(info.interface)
        return UsbDeviceStatus(
            bus, address, vid, pid, info, True, None, kernel_driver=kernel_driver
        )
    finally:
        with contextlib.suppress(Exception):
            handle.close()


def survey_usb_devices() -> list[UsbDeviceStatus]:
    """Every USB device on the buses except hubs, each with whether it is an MTP/PTP device and
    why it cannot be opened (no permission, claimed by another process: which one, no MTP/PTP
    interface). Claims and at once releases the MTP interface of each free candidate, which is
    how "held by another process" is told apart (a process that holds it makes the claim fail).

    Raises ConnectError when libusb or the libusb1 package is missing (the doctor says so).
    """
    ctx = _open_context()
    try:
        out: list[UsbDeviceStatus] = []
        for device in ctx.getDeviceIterator(skip_on_error=True):
            try:
                status = _survey_one(device)
            except Exception as exc:  # one odd device must not hide the others
                log.info("skipping a USB device: %s", exc)
                continue
            if status is not None:
                out.append(status)
        return out
    finally:
        ctx.close()


def libusb_version() -> str:
    """The libusb library's version (``1.0.26``). Raises ConnectError when it is missing."""
    usb1 = _usb1()
    try:
        v = usb1.getVersion()
    except OSError as exc:
        raise ConnectError(f"the libusb-1.0 library cannot be loaded: {exc}") from None
    return f"{v.major}.{v.minor}.{v.micro}"


# --- "device busy": who holds it --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceHolder:
    """A process that has a USB device node open."""

    pid: int
    command: str


def find_device_holders(
    node: str, *, proc: Path = Path("/proc"), exclude: Iterable[int] = ()
) -> tuple[list[DeviceHolder], bool]:
    """The processes that have ``node`` (``/dev/bus/usb/BBB/DDD``) open, found by reading the
    ``fd`` links under ``proc``; ``exclude`` (e.g. our own pid) is skipped.

    Returns the holders and whether some processes could not be inspected (no permission), in
    which case the list may be incomplete. Never raises for processes that vanish meanwhile.
    """
    skip = set(exclude)
    holders: list[DeviceHolder] = []
    denied = False
    try:
        entries = list(proc.iterdir())
    except OSError:
        return holders, True
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except PermissionError:
            denied = True
            continue
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target == node:
                holders.append(DeviceHolder(int(entry.name), _command_line(entry)))
                break
    return holders, denied


def _command_line(entry: Path) -> str:
    try:
        raw = (entry / "cmdline").read_bytes()
    except OSError:
        raw = b""
    command = raw.replace(b"\0", b" ").strip().decode("utf-8", "replace")
    if command:
        return command
    try:
        return "[" + (entry / "comm").read_text().strip() + "]"
    except OSError:
        return "?"


def busy_message(url: str, node: str, holders: Sequence[DeviceHolder], incomplete: bool) -> str:
    """The DeviceBusy text: which process holds the device and what to do about it."""
    if holders:
        who = "; ".join(f"pid {h.pid} ({h.command})" for h in holders)
        pids = " ".join(str(h.pid) for h in holders)
        return (
            f"{url} is in use by another program: {who}. Close it (or `kill {pids}`) and try "
            "again. If it is a file manager's MTP service (gvfsd-mtp, kiod/kio-mtp), unmount "
            "the device in the file manager first."
        )
    hint = (
        f"could not tell which one (no permission to inspect every process; "
        f"try `sudo fuser -v {node}`)"
        if incomplete
        else f"no process has {node} open, so it may be a kernel driver or a container"
    )
    return f"{url} is in use by another program: {hint}. Close it and try again."


# --- the link -------------------------------------------------------------------------------------


class _InFlight:
    """A submitted transfer and the future its completion resolves (status, data)."""

    __slots__ = ("future", "transfer")

    def __init__(self, transfer: Any, future: asyncio.Future[tuple[int, bytes]]) -> None:
        self.transfer = transfer
        self.future = future


class UsbLink(Link):
    """Async message I/O over one claimed USB MTP interface; see the module docstring.

    ``receive()`` returns the next message from the device; when ``on_event`` is set, Event
    messages go to it the moment they arrive instead. ``send()`` encodes a message (its ``tid``
    filled in by the machine) and writes it. ``aclose()`` always releases the interface and
    the libusb context.
    """

    #: The runner's machine uses the USB cancel procedure (USB Still Image class) over this link.
    cancel_flow = CancelFlow.USB

    def __init__(
        self,
        ctx: Any,
        probe: _Probe,
        *,
        on_event: Callable[[Event], None] | None = None,
        read_size: int = READ_SIZE,
        reads_in_flight: int = READS_IN_FLIGHT,
        writes_in_flight: int = WRITES_IN_FLIGHT,
        write_size: int = WRITE_SIZE,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.info = probe.info
        self.name = probe.info.url
        self.on_event = on_event
        #: Steps :meth:`recover` takes by default (QuirkPolicy.recovery).
        self.recovery: tuple[str, ...] = DEFAULT_RECOVERY
        self.endpoints = probe.endpoints
        eps = probe.endpoints
        self.codec = UsbCodec(
            eps.bulk_out_mps,
            interrupt_packet_size=eps.interrupt_mps,
            transfer_size=write_size,
            interface=probe.info.interface,
        )
        self._in_mps = eps.bulk_in_mps
        self._read_size = max(1, read_size // eps.bulk_in_mps) * eps.bulk_in_mps
        self._event_size = max(64, eps.interrupt_mps)
        self._reads = reads_in_flight
        self._writes = writes_in_flight
        self._write_timeout_ms = int(write_timeout * 1000)
        self._ctx = ctx
        self._device = probe.device
        self._handle = probe.handle
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Message | OpenWpdError] = asyncio.Queue(QUEUE_DEPTH)
        self._error: OpenWpdError | None = None
        self._closed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._handle_events, name=f"libusb {self.name}", daemon=True
        )
        self._bulk_in: deque[_InFlight] = deque()
        self._interrupt: _InFlight | None = None
        self._out: deque[_InFlight] = deque()
        self._out_refused = False  # the device stalled our data phase: drop the rest of it
        self._flushing = 0  # bulk IN reads being cancelled to flush them (see _flush_reads)
        self._flushed = asyncio.Event()
        self._discard = False  # drop what the reads deliver (stale data being flushed)
        self._tid = 0  # transaction in flight (for a response we synthesise after a stall)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def usb_info(self) -> UsbDeviceInfo:
        """The device's USB identity (``info``)."""
        return self.info

    # -- plumbing between libusb's thread and the event loop -----------------------------------

    def _start(self) -> None:
        self._thread.start()
        self._start_readers()

    def _start_readers(self) -> None:
        for _ in range(self._reads):
            self._bulk_in.append(self._submit_read(self._new_transfer(), self.endpoints.bulk_in))
        self._interrupt = self._submit_read(
            self._new_transfer(), self.endpoints.interrupt_in, interrupt=True
        )
        self._tasks = [
            asyncio.create_task(self._read_bulk(), name=f"{self.name} bulk-in"),
            asyncio.create_task(self._read_events(), name=f"{self.name} interrupt-in"),
        ]

    def _handle_events(self) -> None:
        while not self._stop.is_set():
            try:
                self._ctx.handleEventsTimeout(0.1)
            except Exception as exc:
                if _usb_error_code(exc) == _LIBUSB_ERROR_INTERRUPTED:
                    continue
                log.warning("%s: libusb event handling failed: %s", self.name, exc)
                self._stop.wait(0.1)

    def _new_transfer(self) -> Any:
        return self._handle.getTransfer()

    def _callback(self, future: asyncio.Future[tuple[int, bytes]]) -> Callable[[Any], None]:
        loop = self._loop

        def done(transfer: Any) -> None:  # runs on libusb's thread
            status = int(transfer.getStatus())
            data = b""
            # a cancelled or timed-out IN transfer keeps what it had received: that is how
            # partial data is flushed out of a read after a cancel
            if status in _DATA_STATUSES and transfer.getEndpoint() & _ENDPOINT_IN:
                data = bytes(transfer.getBuffer()[: transfer.getActualLength()])
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(_resolve, future, (status, data))

        return done

    def _submit_read(self, transfer: Any, endpoint: int, *, interrupt: bool = False) -> _InFlight:
        future: asyncio.Future[tuple[int, bytes]] = self._loop.create_future()
        size = self._event_size if interrupt else self._read_size
        setup = transfer.setInterrupt if interrupt else transfer.setBulk
        setup(endpoint, size, callback=self._callback(future), timeout=0)
        self._submit(transfer)
        return _InFlight(transfer, future)

    def _resubmit_read(self, slot: _InFlight) -> _InFlight:
        future: asyncio.Future[tuple[int, bytes]] = self._loop.create_future()
        slot.transfer.setCallback(self._callback(future))
        self._submit(slot.transfer)
        return _InFlight(slot.transfer, future)

    def _submit(self, transfer: Any) -> None:
        try:
            transfer.submit()
        except Exception as exc:
            raise self._map(exc, "submitting a transfer") from None

    def _map(self, exc: BaseException, what: str) -> TransportError:
        if isinstance(exc, TransportError):
            return exc
        code = _usb_error_code(exc)
        if code in (_LIBUSB_ERROR_NO_DEVICE, _LIBUSB_ERROR_NOT_FOUND):
            return DeviceGone(f"{self.name}: the device is gone ({what})")
        if code == _LIBUSB_ERROR_TIMEOUT:
            return ReadTimeout(f"{self.name}: {what} timed out")
        return DeviceGone(f"{self.name}: {what} failed: {exc}")

    # -- reading -----------------------------------------------------------------------------------

    async def _read_bulk(self) -> None:
        try:
            while self._bulk_in:
                slot = self._bulk_in[0]
                # shielded: cancelling this task must not cancel the future libusb resolves
                status, data = await asyncio.shield(slot.future)
                self._bulk_in.popleft()
                if status == _TRANSFER_CANCELLED and self._flushing:
                    # flushed after a cancel: what the read held is stale, the read goes on
                    self._flushing -= 1
                    if not self._flushing:
                        self._flushed.set()
                    status = _TRANSFER_COMPLETED
                if status == _TRANSFER_COMPLETED:
                    self._bulk_in.append(self._resubmit_read(slot))
                    for msg in self.codec.decode_bulk(data, read_size=self._read_size):
                        await self._deliver(msg)
                elif status == _TRANSFER_CANCELLED:
                    self._bulk_in.appendleft(slot)
                    return  # closing or resetting: whoever cancelled takes over
                elif status == _TRANSFER_STALL:
                    self._bulk_in.appendleft(slot)
                    await self._recover_in_stall()
                elif status == _TRANSFER_TIMED_OUT:
                    self._bulk_in.append(self._resubmit_read(slot))
                else:
                    raise self._transfer_error(status, "bulk IN")
        except asyncio.CancelledError:
            raise
        except OpenWpdError as exc:
            self._fail(exc)
        except Exception as exc:  # mapped at the boundary
            self._fail(self._map(exc, "reading bulk IN"))

    async def _read_events(self) -> None:
        try:
            while self._interrupt is not None:
                slot = self._interrupt
                status, data = await asyncio.shield(slot.future)
                if status == _TRANSFER_CANCELLED:
                    return
                if status == _TRANSFER_STALL:
                    await self._clear_halt(self.endpoints.interrupt_in)
                elif status not in (_TRANSFER_COMPLETED, _TRANSFER_TIMED_OUT):
                    raise self._transfer_error(status, "interrupt IN")
                self._interrupt = self._resubmit_read(slot)
                if status != _TRANSFER_COMPLETED:
                    continue
                try:
                    events = self.codec.decode_interrupt(data, read_size=self._event_size)
                except RemoteProtocolError as exc:  # one garbled event must not end the link
                    log.warning("%s: dropped a malformed event: %s", self.name, exc)
                    continue
                for event in events:
                    await self._deliver(event)
        except asyncio.CancelledError:
            raise
        except OpenWpdError as exc:
            self._fail(exc)
        except Exception as exc:
            self._fail(self._map(exc, "reading interrupt IN"))

    def _transfer_error(self, status: int, pipe: str) -> OpenWpdError:
        if status == _TRANSFER_NO_DEVICE:
            return DeviceGone(f"{self.name}: the device is gone")
        if status == _TRANSFER_OVERFLOW:
            return RemoteProtocolError(f"{self.name}: the device overflowed a {pipe} read")
        return DeviceGone(f"{self.name}: {pipe} transfer failed (libusb status {status})")

    async def _deliver(self, msg: Message) -> None:
        if isinstance(msg, Event) and self.on_event is not None:
            self.on_event(msg)
        elif not self._discard or isinstance(msg, Event):
            if self._queue.full():
                await self._queue.put(msg)  # backpressure: the device waits for our reader
            else:
                self._queue.put_nowait(msg)

    async def _recover_in_stall(self) -> None:
        """The device halted bulk IN: stop reading, ask its status, clear the halts, read on.

        Outside a cancel this is the device aborting the transaction (USB Still Image class,
        Android): its status code (TransactionCancelled, or an error) becomes the response of that
        transaction.
        """
        await self._cancel_slots(list(self._bulk_in))
        slots = list(self._bulk_in)
        self._bulk_in.clear()
        try:
            code = await self.request_device_status()
        finally:
            await self._clear_halt(self.endpoints.bulk_in)
            for slot in slots:
                self._bulk_in.append(self._resubmit_read(slot))
        if self.codec.cancelling is None:
            self.codec.end_cancel()  # whatever was half framed is void
            reply = code if code != ResponseCode.OK else ResponseCode.GENERAL_ERROR
            await self._deliver(Response(reply, (), self._tid))

    # -- the public interface -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True after :meth:`aclose`."""
        return self._closed

    def _fail(self, exc: OpenWpdError) -> None:
        if self._error is None:
            self._error = exc
        while True:  # make sure a waiting receive() wakes up even if the queue is full
            try:
                self._queue.put_nowait(exc)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._queue.get_nowait()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise DeviceGone(f"{self.name}: link closed")

    async def receive(self, timeout: float | None = None) -> Message:
        """The next message from the device. Raises ReadTimeout after ``timeout`` seconds of
        silence, or the link's sticky error when it broke."""
        if self._closed:
            raise self._error or DeviceGone(f"{self.name}: link closed")
        if not self._queue.empty():  # the common case while a transaction runs: no timer
            item = self._queue.get_nowait()
        else:
            try:
                async with asyncio.timeout(timeout):
                    item = await self._queue.get()
            except TimeoutError:
                raise ReadTimeout(f"{self.name}: nothing received for {timeout} s") from None
        if isinstance(item, OpenWpdError):
            self._queue.put_nowait(item)  # sticky for every later caller
            raise item
        return item

    async def send(self, msg: Message, *, data_follows: bool = False) -> None:
        """Encode one message and write it. An Operation and the end of a data phase return
        once the device took every byte; data chunks return while up to ``writes_in_flight``
        transfers are still in flight. Raises the link's transport errors (sticky)."""
        self._check()
        if isinstance(msg, Operation):
            if self.codec.cancelling is not None:
                # the machine finished the cancel flow: whatever a read still holds is stale
                await self._flush_reads(discard=True)
                self.codec.end_cancel()
            self._out_refused = False
            self._tid = msg.tid or 0
        elif isinstance(msg, StartData | DataChunk | EndData) and self._out_refused:
            self.codec.abandon_data_phase()
            return  # the device stopped this data phase; its response follows
        for pipe, data in self.codec.encode(msg, data_follows=data_follows):
            if pipe is Pipe.BULK:
                await self._write(data)
        if isinstance(msg, Operation | EndData | Response):
            await self._flush()

    async def _write(self, data: bytes) -> None:
        while len(self._out) >= self._writes:
            await self._complete_oldest_write()
        if self._out_refused:
            return
        transfer = self._new_transfer()
        future: asyncio.Future[tuple[int, bytes]] = self._loop.create_future()
        transfer.setBulk(
            self.endpoints.bulk_out,
            data,
            callback=self._callback(future),
            timeout=self._write_timeout_ms,
        )
        self._submit(transfer)
        self._out.append(_InFlight(transfer, future))

    async def _complete_oldest_write(self) -> None:
        slot = self._out[0]
        # shielded: a cancelled caller must not cancel the future the callback resolves
        status, _ = await asyncio.shield(slot.future)
        self._out.popleft()
        if status in (_TRANSFER_COMPLETED, _TRANSFER_CANCELLED):
            return
        if status == _TRANSFER_STALL:
            # the device refused the rest of the data phase; its response tells why
            self._out_refused = True
            await self._cancel_slots(list(self._out))
            self._out.clear()
            await self._clear_halt(self.endpoints.bulk_out)
            return
        if status == _TRANSFER_TIMED_OUT:
            err: OpenWpdError = WriteTimeout(f"{self.name}: the device stopped taking data")
        else:
            err = self._transfer_error(status, "bulk OUT")
        self._fail(err)
        raise err

    async def _flush(self) -> None:
        while self._out:
            await self._complete_oldest_write()

    async def _cancel_slots(self, slots: Sequence[_InFlight]) -> None:
        """Cancel submitted transfers and wait until libusb gave each of them back."""
        for slot in slots:
            if not slot.future.done():
                with contextlib.suppress(Exception):  # it completed meanwhile
                    slot.transfer.cancel()
        for slot in slots:
            if slot.future.cancelled():  # pragma: no cover - our futures are always shielded
                continue
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await asyncio.shield(slot.future)

    async def _control(self, req: ControlRequest, timeout: float = CONTROL_TIMEOUT) -> bytes:
        """Perform one control request (in a worker thread); returns what an IN request read."""
        self._check()
        ms = int(timeout * 1000)
        if req.is_in:
            raw = await asyncio.to_thread(
                self._handle.controlRead,
                req.request_type,
                req.request,
                req.value,
                req.index,
                req.length,
                ms,
            )
            return bytes(raw)
        await asyncio.to_thread(
            self._handle.controlWrite,
            req.request_type,
            req.request,
            req.value,
            req.index,
            req.data,
            ms,
        )
        return b""

    async def _clear_halt(self, endpoint: int) -> None:
        try:
            await asyncio.to_thread(self._handle.clearHalt, endpoint)
        except Exception as exc:
            if _usb_error_code(exc) in (_LIBUSB_ERROR_NO_DEVICE, _LIBUSB_ERROR_NOT_FOUND):
                raise self._map(exc, "clearing a halt") from None
            log.info("%s: clearing the halt of endpoint 0x%02X: %s", self.name, endpoint, exc)

    async def send_cancel(self, action: SendCancel) -> None:
        """Cancel transaction ``action.tid`` (USB Still Image class): abandon the data we were
        sending (in-flight OUT transfers are cancelled) and send the class Cancel request. A device
        that stalls the request (no cancel support) is logged and left to the machine's status/drain
        budget."""
        request = self.codec.begin_cancel(action)
        self._out_refused = False
        await self._cancel_slots(list(self._out))
        self._out.clear()
        try:
            await self._control(request)
        except Exception as exc:
            if _usb_error_code(exc) == _LIBUSB_ERROR_PIPE:
                log.warning("%s: the device refused the Cancel request", self.name)
                return
            err = self._map(exc, "sending Cancel")
            self._fail(err)
            raise err from None

    async def request_device_status(self) -> int:
        """Get Device Status (0x67): returns the response code (OK, DeviceBusy...) after
        clearing the halt of every endpoint it names. A device that stalls the request is
        taken as OK (the drain that follows protects the next transaction)."""
        try:
            raw = await self._control(device_status_request(self.info.interface))
        except Exception as exc:
            if _usb_error_code(exc) == _LIBUSB_ERROR_PIPE:
                log.info("%s: Get Device Status unsupported; assuming OK", self.name)
                return int(ResponseCode.OK)
            err = self._map(exc, "Get Device Status")
            self._fail(err)
            raise err from None
        status = parse_device_status(raw)
        ours = {self.endpoints.bulk_in, self.endpoints.bulk_out, self.endpoints.interrupt_in}
        for endpoint in status.params:
            if endpoint in ours:
                await self._clear_halt(endpoint)
        if self.codec.cancelling is not None and status.code != ResponseCode.DEVICE_BUSY:
            await self._flush_reads()
        return status.code

    async def _flush_reads(self, *, discard: bool = False) -> None:
        """Cancel the bulk IN reads in flight and let the reader resubmit them.

        A device that aborts a data phase on a packet boundary without a short packet (umtprd
        does) leaves a read half filled; it would complete only with the next transaction's
        response glued to stale payload. Cancelling the reads hands their partial data over
        (discarded by the cancel flow) and starts the next transaction on fresh reads, which is
        what libmtp's timed drain reads achieve too.

        With ``discard`` (the machine is done with the cancelled transaction), what the reads
        held is dropped here, together with anything still queued that is not an event.
        """
        slots = [slot for slot in self._bulk_in if not slot.future.done()]
        self._discard = discard
        try:
            self._flushed.clear()
            self._flushing = len(slots)
            for slot in slots:
                try:
                    slot.transfer.cancel()
                except Exception:  # completed meanwhile: the reader sees a normal completion
                    self._flushing -= 1
            if self._flushing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        await self._flushed.wait()
            # let the reader hand over what the flushed reads carried before we stop dropping
            await asyncio.sleep(0)
            if discard:
                kept = []
                while not self._queue.empty():
                    item = self._queue.get_nowait()
                    if isinstance(item, Event | OpenWpdError):
                        kept.append(item)
                for item in kept:
                    self._queue.put_nowait(item)
        finally:
            self._flushing = 0
            self._discard = False

    async def device_reset(self) -> None:
        """Class Device Reset (0x66): the device aborts everything and goes idle; our framing
        and any stalls are cleared too. The MTP session may or may not survive (USB Still Image
        class)."""
        self.codec.begin_cancel(self._tid)  # only for its forgiving framing; no request sent
        await self._cancel_slots(list(self._out))
        self._out.clear()
        await self._control(device_reset_request(self.info.interface))
        self._out_refused = False
        for endpoint in (self.endpoints.bulk_in, self.endpoints.bulk_out):
            await self._clear_halt(endpoint)
        await self._drain()
        await self._flush_reads(discard=True)
        self.codec.reset()

    async def _drain(self, quiet: float = 0.3, budget: float = 3.0) -> None:
        """Discard whatever the device still sends until ``quiet`` seconds of silence (at most
        ``budget`` seconds), reads in flight flushed first. For resets: the transaction machine,
        which drains after a cancel, is not involved."""
        await self._flush_reads()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while loop.time() < deadline:
            try:
                await self.receive(quiet)
            except ReadTimeout:
                return

    async def usb_reset(self) -> None:
        """USB port reset (libusb_reset_device): the device re-enumerates; the interface is
        claimed again (the device is found again by its ID if its address changed). Raises
        DeviceGone if it does not come back."""
        self._check()
        await self._stop_readers()
        try:
            await asyncio.to_thread(self._handle.resetDevice)
        except Exception as exc:
            if _usb_error_code(exc) != _LIBUSB_ERROR_NOT_FOUND:
                raise self._map(exc, "USB reset") from None
            await self._reopen()
        self.codec.reset()
        self._out_refused = False
        self._start_readers()

    async def _reopen(self) -> None:
        """After a reset that re-enumerated the device: find it again and claim it."""
        with contextlib.suppress(Exception):
            self._handle.close()
        device_id = parse_usb_url(self.info.url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REENUMERATION_TIMEOUT
        while loop.time() < deadline:
            probes = await asyncio.to_thread(_scan, self._ctx, keep_open=True)
            chosen = next((p for p in probes if device_id.matches(p.info)), None)
            for p in probes:
                if p is not chosen and p.handle is not None:
                    p.handle.close()
            if chosen is not None and chosen.handle is not None:
                _claim(chosen)
                self._handle, self._device = chosen.handle, chosen.device
                self.info = chosen.info
                return
            await asyncio.sleep(0.25)
        err = DeviceGone(f"{self.name}: the device did not come back after a USB reset")
        self._fail(err)
        raise err

    async def recover(self, steps: Sequence[str] | None = None) -> str:
        """Bring a wedged device back to idle, trying ``steps`` in order ("device-reset": class
        Device Reset then Get Device Status must say OK; "usb-reset": a port reset); None means
        :attr:`recovery` (which a quirk policy may set: a Pixel must not get a Device Reset).
        Returns the step that worked; raises DeviceGone when none did. The session is gone
        either way: the caller opens a new one."""
        steps = self.recovery if steps is None else tuple(steps)
        for step in steps:
            try:
                if step == "device-reset":
                    await self.device_reset()
                    if await self.request_device_status() == ResponseCode.OK:
                        return step
                elif step == "usb-reset":
                    await self.usb_reset()
                    return step
                else:
                    raise LocalProtocolError(f"unknown recovery step {step!r}")
            except TransportError as exc:
                log.warning("%s: recovery step %s failed: %s", self.name, step, exc)
                if self._closed:
                    break
                self._error = None  # try the next step; a real failure makes it sticky again
        err = DeviceGone(f"{self.name}: the device did not recover ({', '.join(steps)})")
        self._fail(err)
        raise err

    async def _stop_readers(self) -> None:
        for task in self._tasks:
            task.cancel()
        slots = list(self._bulk_in) + list(self._out)
        if self._interrupt is not None:
            slots.append(self._interrupt)
        await self._cancel_slots(slots)
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        self._bulk_in.clear()
        self._out.clear()
        self._interrupt = None

    async def aclose(self) -> None:
        """Cancel every transfer, release the interface, close the device and the libusb
        context. Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        if self._error is None:
            self._error = DeviceGone(f"{self.name}: link closed")
        with contextlib.suppress(BaseException):
            await self._stop_readers()
        self._stop.set()
        if self._thread.is_alive():
            with contextlib.suppress(BaseException):
                await asyncio.to_thread(self._thread.join, 2.0)
        with contextlib.suppress(Exception):
            self._handle.releaseInterface(self.info.interface)
        with contextlib.suppress(Exception):
            self._handle.close()
        with contextlib.suppress(Exception):
            self._ctx.close()


def _resolve(future: asyncio.Future[tuple[int, bytes]], value: tuple[int, bytes]) -> None:
    if not future.done():
        future.set_result(value)


def _claim(probe: _Probe) -> None:
    """Claim the probe's interface (detaching a kernel driver first); maps the failures."""
    handle, info = probe.handle, probe.info
    with contextlib.suppress(Exception):  # not supported on every OS; then we try by hand
        handle.setAutoDetachKernelDriver(True)
    try:
        if handle.kernelDriverActive(info.interface):
            handle.detachKernelDriver(info.interface)
    except Exception as exc:
        if _usb_error_code(exc) not in (_LIBUSB_ERROR_NOT_SUPPORTED, _LIBUSB_ERROR_NOT_FOUND):
            log.info("%s: could not detach the kernel driver: %s", info.url, exc)
    try:
        handle.claimInterface(info.interface)
        if info.alternate_setting:
            handle.setInterfaceAltSetting(info.interface, info.alternate_setting)
    except Exception as exc:
        code = _usb_error_code(exc)
        if code == _LIBUSB_ERROR_BUSY:
            holders, incomplete = find_device_holders(info.node, exclude=(os.getpid(),))
            raise DeviceBusy(busy_message(info.url, info.node, holders, incomplete)) from None
        if code == _LIBUSB_ERROR_ACCESS:
            raise ConnectError(
                f"{info.url}: no permission to use {info.node} (run as root or add a udev rule "
                f"granting access to {info.vid:04x}:{info.pid:04x})"
            ) from None
        if code in (_LIBUSB_ERROR_NO_DEVICE, _LIBUSB_ERROR_NOT_FOUND):
            raise DeviceGone(f"{info.url}: the device is gone") from None
        raise ConnectError(f"{info.url}: cannot claim interface {info.interface}: {exc}") from None


async def open_usb_link(
    url: str | UsbDeviceId,
    *,
    on_event: Callable[[Event], None] | None = None,
    timeout: float = 10.0,
    read_size: int = READ_SIZE,
    reads_in_flight: int = READS_IN_FLIGHT,
    write_size: int = WRITE_SIZE,
) -> UsbLink:
    """Find the USB MTP device named by ``url`` (``usb://VID:PID[/SERIAL]`` or
    ``usb://BUS:ADDRESS``; ``usb://`` alone or ``usb://*`` means the first one found), claim
    its MTP interface and return the link (no MTP session yet).

    Raises ConnectError (no such device, no permission, no libusb), DeviceBusy (another process
    holds it: the message names the process and what to do), LocalProtocolError (a malformed
    URL).
    """
    want: UsbDeviceId | None
    if isinstance(url, UsbDeviceId):
        want = url
    elif url.rstrip("/*").lower() in ("usb:", "usb:/"):
        want = None
    else:
        want = parse_usb_url(url)
    ctx = _open_context()
    try:
        async with asyncio.timeout(timeout):
            probes = await asyncio.to_thread(_scan, ctx, keep_open=True)
        chosen = next((p for p in probes if want is None or want.matches(p.info)), None)
        for p in probes:
            if p is not chosen and p.handle is not None:
                p.handle.close()
        if chosen is not None and chosen.handle is None:
            raise ConnectError(f"{chosen.info.url}: {chosen.open_error or 'cannot open'}")
        if chosen is None:
            seen = ", ".join(p.info.url for p in probes) or "none"
            raise ConnectError(
                f"{want or 'usb://'}: no such USB MTP device (MTP devices found: {seen}; "
                "`wpd doctor` says why a device is missing)"
            )
        try:
            _claim(chosen)
        except BaseException:
            chosen.handle.close()
            raise
        link = UsbLink(
            ctx,
            chosen,
            on_event=on_event,
            read_size=read_size,
            reads_in_flight=reads_in_flight,
            write_size=write_size,
        )
        link._start()
        return link
    except TimeoutError:
        ctx.close()
        raise ConnectError(f"{url}: timed out looking for the device") from None
    except BaseException:
        ctx.close()
        raise


__all__ = [
    "DEFAULT_RECOVERY",
    "DeviceHolder",
    "UsbDeviceId",
    "UsbDeviceInfo",
    "UsbDeviceStatus",
    "UsbLink",
    "busy_message",
    "find_device_holders",
    "libusb_version",
    "list_usb_devices",
    "open_usb_link",
    "parse_usb_url",
    "survey_usb_devices",
]
