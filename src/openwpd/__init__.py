"""openwpd: Windows Portable Devices (WPD) for Python, everywhere.

Layers (see ``ls src/openwpd``): ``protocol`` (sans-I/O MTP/PTP), ``transport`` (PTP/IP, USB),
``server`` (the virtual MTP device), ``client`` (async initiator), ``wpd`` (the WPD API),
``cli`` (the ``wpd`` command).
"""

from openwpd.protocol.errors import (
    HRESULT_CANCELLED,
    Cancelled,
    ConnectError,
    DeviceBusy,
    DeviceGone,
    LocalProtocolError,
    OpenWpdError,
    ReadTimeout,
    RemoteProtocolError,
    ResponseError,
    SessionReset,
    TransportError,
    WriteTimeout,
)

__version__ = "0.1.0"

__all__ = [
    "HRESULT_CANCELLED",
    "Cancelled",
    "ConnectError",
    "DeviceBusy",
    "DeviceGone",
    "LocalProtocolError",
    "OpenWpdError",
    "ReadTimeout",
    "RemoteProtocolError",
    "ResponseError",
    "SessionReset",
    "TransportError",
    "WriteTimeout",
    "__version__",
]
