"""DNS-SD (multicast DNS service discovery) for PTP/IP devices, with the ``zeroconf`` library.

A PTP/IP responder is announced as a ``_ptp._tcp`` service: its instance name is the device's
friendly name, the SRV record gives the host and TCP port, and the TXT record carries
``name`` (the friendly name) and ``guid`` (the responder's GUID, 32 hex digits).

Choices:

- The advertiser announces only on the interfaces the server listens on: a server bound to
  one address is announced on that address only (``127.0.0.1`` stays on loopback), a server
  bound to the wildcard address on every IPv4 interface.
- Browsing is bounded in time (``seconds``) and returns what answered by then; 0 seconds
  does not browse at all. It never raises for a network that cannot do multicast: a host
  without a usable interface simply finds nothing (the failure is logged).
- Two services announcing the same instance name are told apart by zeroconf (it renames the
  second), so two virtual devices with the same friendly name can be announced side by side.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass

import ifaddr
from zeroconf import InterfaceChoice, IPVersion, ServiceInfo, ServiceListener, Zeroconf
from zeroconf.asyncio import AsyncZeroconf

log = logging.getLogger("openwpd.dnssd")

#: The DNS-SD service type of PTP/IP responders.
SERVICE_TYPE = "_ptp._tcp.local."
#: PTP/IP's registered TCP port: a URL with this port leaves it out.
DEFAULT_PORT = 15740
#: How long a resolution of one found service may take at most, in milliseconds.
_RESOLVE_MS = 1000


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """A PTP/IP device that answered a browse."""

    name: str
    guid: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """The device URL (``ptpip://HOST[:PORT]``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ptpip://{host}" if self.port == DEFAULT_PORT else f"ptpip://{host}:{self.port}"


def _addresses_for(host: str) -> list[str]:
    """The IPv4 addresses a server bound to ``host`` is reachable on."""
    if host.lower() == "localhost":
        return ["127.0.0.1"]
    address = ipaddress.ip_address(host)
    if not address.is_unspecified:
        return [str(address)]
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and ip.ip not in found:
                found.append(ip.ip)
    return found


def _instance_label(name: str) -> str:
    # a DNS label is at most 63 bytes and a dot would split it
    label = name.replace(".", " ").strip() or "openwpd device"
    return label.encode()[:63].decode(errors="ignore")


class Advertiser:
    """Announces one PTP/IP responder until :meth:`aclose` (see the module docstring)."""

    def __init__(self, name: str, guid: bytes, host: str, port: int) -> None:
        self.addresses = _addresses_for(host)
        self._zc = AsyncZeroconf(interfaces=self.addresses, ip_version=IPVersion.V4Only)
        label = _instance_label(name)
        self.info = ServiceInfo(
            SERVICE_TYPE,
            f"{label}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(a) for a in self.addresses],
            port=port,
            properties={"name": name, "guid": guid.hex().upper()},
            server=f"openwpd-{guid.hex()[:12]}.local.",
        )

    async def start(self) -> None:
        """Announce (zeroconf picks another instance name if this one is taken); returns once
        the name is probed and the first announcement sent."""
        broadcast = await self._zc.async_register_service(self.info, allow_name_change=True)
        await broadcast

    async def aclose(self) -> None:
        """Say goodbye (the service disappears from browsers at once) and close the sockets."""
        try:
            await self._zc.async_unregister_all_services()
        finally:
            await self._zc.async_close()


class _Collector(ServiceListener):
    def __init__(self) -> None:
        self.names: list[str] = []
        self.lock = threading.Lock()

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        with self.lock:
            if name not in self.names:
                self.names.append(name)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.add_service(zc, type_, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        with self.lock:
            if name in self.names:
                self.names.remove(name)


def _text(value: bytes | None) -> str:
    return value.decode(errors="replace") if value is not None else ""


def browse(seconds: float) -> list[FoundDevice]:
    """The PTP/IP devices announced on the local network within ``seconds`` (0: none), one
    entry per address a device announced, in the order they answered."""
    if seconds <= 0:
        return []
    from zeroconf import ServiceBrowser

    try:
        zc = Zeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only)
    except OSError as exc:
        log.warning("cannot browse for PTP/IP devices: %s", exc)
        return []
    found: list[FoundDevice] = []
    try:
        collector = _Collector()
        browser = ServiceBrowser(zc, SERVICE_TYPE, collector)
        time.sleep(seconds)
        browser.cancel()
        with collector.lock:
            names = list(collector.names)
        for service in names:
            info = zc.get_service_info(SERVICE_TYPE, service, _RESOLVE_MS)
            if info is None or info.port is None:
                continue
            props = info.properties
            name = _text(props.get(b"name")) or service.removesuffix("." + SERVICE_TYPE)
            for address in info.parsed_addresses(IPVersion.V4Only):
                found.append(FoundDevice(name, _text(props.get(b"guid")), address, info.port))
    finally:
        zc.close()
    return found


__all__ = ["DEFAULT_PORT", "SERVICE_TYPE", "Advertiser", "FoundDevice", "browse"]
