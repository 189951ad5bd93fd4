"""Device URLs and the one place where a transport is chosen for a URL.

``ptpip://HOST[:PORT]`` is PTP/IP over TCP (port 15740 by default; IPv6 hosts in brackets).
``usb://VID:PID[/SERIAL]`` or ``usb://BUS:ADDRESS`` is MTP over USB (libusb; see
:mod:`openwpd.transport.usb`). Adding a transport means adding a branch to :func:`open_link` and
nothing else in the client.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from openwpd.client.wire import Link
from openwpd.protocol.errors import ConnectError, LocalProtocolError
from openwpd.transport.ptpip import DEFAULT_PORT, InitiatorIdentity, open_ptpip_link
from openwpd.transport.usb import open_usb_link

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


def discover_devices() -> list[str]:
    """Device URLs found on the transports that can be searched: USB MTP/PTP devices
    (``usb://…``). PTP/IP devices cannot be found this way; they are named by URL. Never raises:
    a machine without USB access simply finds nothing."""
    from openwpd.transport.usb import list_usb_devices

    try:
        return [info.url for info in list_usb_devices()]
    except Exception:  # a broken USB stack must not break listing the named devices
        return []


__all__ = [
    "DeviceUrl",
    "attach_event_callback",
    "discover_devices",
    "open_link",
    "parse_device_url",
]
