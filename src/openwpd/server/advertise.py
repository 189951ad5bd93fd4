"""Announcing a served virtual device by DNS-SD (``_ptp._tcp``), so initiators find it.

The announcement names the device by its friendly name and carries its GUID in the TXT record
(see :mod:`openwpd.transport.dnssd`); it covers only the interfaces the device listens on.
"""

from __future__ import annotations

import contextlib

from openwpd.server.device import VirtualDevice
from openwpd.transport.dnssd import Advertiser


async def advertise(device: VirtualDevice, host: str, port: int) -> Advertiser:
    """Announce ``device``, served on ``host``:``port``, until the returned advertiser is
    closed. Raises what the network raises (e.g. OSError for an interface without multicast),
    after closing what it opened."""
    advertiser = Advertiser(device.friendly_name, device.guid, host, port)
    try:
        await advertiser.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await advertiser.aclose()
        raise
    return advertiser


__all__ = ["advertise"]
