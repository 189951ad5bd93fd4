"""The async MTP initiator: one session per device shared by many handles (see
docs/architecture.md).

``async with open_connection("ptpip://host") as conn`` opens the session; ``conn.open_handle()``
gives a handle with its own queue of operations and its own ``cancel()``. Modules:
:mod:`.connection` (the session, recovery), :mod:`.handle` (the operations),
:mod:`.scheduler` (turns), :mod:`.listing`, :mod:`.transfer`, :mod:`.entries`, :mod:`.events`,
:mod:`.policy` (which operations to use), :mod:`.urls` (transports), :mod:`.wire` (one
transaction at a time with protocol-level cancel), :mod:`.names` (device names made safe for
the local disk and the terminal: use ``names.local_path`` wherever a device's name becomes a
local file name).
"""

from openwpd.client.connection import Connection, open_connection
from openwpd.client.entries import Entry, Storage
from openwpd.client.events import DeviceEvent, EventStream
from openwpd.client.handle import ExecuteResult, Handle
from openwpd.client.policy import DevicePolicy, Quirks
from openwpd.client.urls import DeviceUrl, discover_devices, parse_device_url

__all__ = [
    "Connection",
    "DeviceEvent",
    "DevicePolicy",
    "DeviceUrl",
    "Entry",
    "EventStream",
    "ExecuteResult",
    "Handle",
    "Quirks",
    "Storage",
    "discover_devices",
    "open_connection",
    "parse_device_url",
]
