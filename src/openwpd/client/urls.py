"""Device URLs and the one place where a transport is chosen for a URL.

``ptpip://HOST[:PORT]`` is PTP/IP over TCP (port 15740 by default; IPv6 hosts in brackets).
``usb://VID:PID[/SERIAL]`` or ``usb://BUS:ADDRESS`` is MTP over USB (libusb; see
:mod:`openwpd.transport.usb`). Adding a transport means adding a branch to :func:`open_link` and
nothing else in the client.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from openwpd.client.wire import Link
from openwpd.protocol.errors import ConnectError, LocalProtocolError
from openwpd.transport.ptpip import DEFAULT_PORT, InitiatorIdentity, open_ptpip_link
from openwpd.transport.usb import open_usb_link

log = logging.getLogger("openwpd.client")

SCHEMES = ("ptpip", "usb")


@dataclass(frozen=True, slots=True)
class DeviceUrl:
    """A parsed device URL: ``scheme`` is ``"ptpip"`` or ``"usb"``; ``host``/``port`` for PTP/IP,
    ``path`` holds the rest of a USB URL (``BUS:ADDRESS`` or ``VID:PID/SERIAL``)."""

    scheme: str
    host: str = ""
    port: int = DEFAULT_PORT
    path: str = ""

    def __str__(self) -> str:
        if self.scheme == "ptpip":
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"ptpip://{host}:{self.port}"
        return f"{self.scheme}://{self.path}"


def parse_device_url(url: str) -> DeviceUrl:
    """Parse ``ptpip://HOST[:PORT]`` or ``usb://…``. Raises LocalProtocolError for anything else
    (unknown scheme, missing host, a port out of range)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {parts.scheme!r} (expected ptpip:// or usb://)")
        if scheme == "usb":
            path = url.split("://", 1)[1] if "://" in url else ""
            if not path:
                raise ValueError("usb:// needs BUS:ADDRESS or VID:PID/SERIAL")
            return DeviceUrl("usb", path=path)
        host = parts.hostname
        if not host:
            raise ValueError("missing host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("a ptpip URL has no path, query or fragment")
        port = parts.port if parts.port is not None else DEFAULT_PORT
        if port == 0:
            raise ValueError("port 0")
        return DeviceUrl("ptpip", host, port)
    except ValueError as exc:
        raise LocalProtocolError(f"bad device URL {url!r}: {exc}") from None


async def open_link(
    url: DeviceUrl, *, client_name: str, guid: bytes | None = None, timeout: float
) -> Link:
    """Open the transport for ``url`` (the handshake included, no MTP session yet).

    Raises ConnectError when the device cannot be reached or refuses us (DeviceBusy when another
    program holds a USB device). ``guid`` identifies us to PTP/IP responders (random when None).
    """
    if url.scheme == "ptpip":
        identity = InitiatorIdentity(guid or os.urandom(16), client_name)
        link, _ack = await open_ptpip_link(url.host, url.port, identity=identity, timeout=timeout)
        return link
    if url.scheme == "usb":
        return await open_usb_link(str(url), timeout=timeout)
    raise ConnectError(f"{url}: no transport for this scheme")


def attach_event_callback(link: Link, callback: object) -> bool:
    """Route the link's Event messages to ``callback`` the moment they arrive, outside the
    transaction queue (every link has the ``on_event`` slot). Returns True."""
    link.on_event = callback  # type: ignore[assignment]
    return True


#: The environment variable bounding how long discovery browses for PTP/IP devices (seconds).
ENV_BROWSE_SECONDS = "OPENWPD_BROWSE_SECONDS"
#: How long discovery browses for PTP/IP devices when nothing says otherwise.
DEFAULT_BROWSE_SECONDS = 1.0


def browse_seconds_from_env() -> float:
    """``$OPENWPD_BROWSE_SECONDS`` (0 turns browsing off), else :data:`DEFAULT_BROWSE_SECONDS`;
    a value that is not a number of seconds >= 0 raises LocalProtocolError."""
    text = os.environ.get(ENV_BROWSE_SECONDS, "").strip()
    if not text:
        return DEFAULT_BROWSE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise LocalProtocolError(f"{ENV_BROWSE_SECONDS}={text!r} is not a number of seconds >= 0")
    return value


def discover_devices(browse_seconds: float | None = None) -> list[str]:
    """Device URLs found on the transports that can be searched: USB MTP/PTP devices
    (``usb://…``), then PTP/IP devices announced by DNS-SD (``_ptp._tcp``) within
    ``browse_seconds`` (None: :func:`browse_seconds_from_env`; 0: no browsing). Never raises for
    the transports: a machine without USB access or multicast simply finds nothing there."""
    from openwpd.transport.usb import list_usb_devices

    seconds = browse_seconds_from_env() if browse_seconds is None else browse_seconds
    urls: list[str] = []
    with contextlib.suppress(Exception):  # a broken USB stack must not break the listing
        urls += [info.url for info in list_usb_devices()]
    if not seconds:
        return urls
    try:
        from openwpd.transport.dnssd import browse  # here: zeroconf may be missing
    except ImportError as exc:
        log.info("not browsing for PTP/IP devices: %s", exc)
        return urls
    try:
        urls += [found.url for found in browse(seconds)]
    except Exception:  # nor a network that cannot browse
        log.warning("browsing for PTP/IP devices failed", exc_info=True)
    return urls


__all__ = [
    "DEFAULT_BROWSE_SECONDS",
    "ENV_BROWSE_SECONDS",
    "DeviceUrl",
    "attach_event_callback",
    "browse_seconds_from_env",
    "discover_devices",
    "open_link",
    "parse_device_url",
]
