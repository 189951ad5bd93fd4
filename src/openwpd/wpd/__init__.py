"""The WPD API: Windows Portable Devices' COM interfaces as synchronous Python classes.

A Windows WPD programmer finds here what ``PortableDeviceApi.h`` offers, with snake_case method
names (Microsoft's PortableDeviceApi.h): :class:`PortableDeviceManager`, :class:`PortableDevice`,
:class:`PortableDeviceContent` (Content2), :class:`EnumPortableDeviceObjectIDs`,
:class:`PortableDeviceProperties`, :class:`PortableDevicePropertiesBulk`,
:class:`PortableDeviceResources`, :class:`PortableDeviceDataStream`,
:class:`PortableDeviceCapabilities`; the value types :class:`PropertyKey`,
:class:`PortableDeviceValues`, :class:`PortableDeviceKeyCollection`,
:class:`PortableDevicePropVariantCollection`, :class:`PortableDeviceValuesCollection`; every
PROPERTYKEY, GUID, command and HRESULT of the SDK headers under its WPD name; and
:class:`WpdError`, the one exception (``hresult`` says why; a cancelled operation has
``hresult == 0x800704C7``).

Underneath, :mod:`openwpd.client` runs on one background event loop (:mod:`.bridge`); every
``PortableDevice.open()`` is a handle of its own on the device's shared MTP session, with WPD's
handle-wide ``cancel()`` (:mod:`.handle`).

Layout: :mod:`.manager`, :mod:`.device`, :mod:`.content`, :mod:`.properties`, :mod:`.bulk`,
:mod:`.resources`, :mod:`.streams`, :mod:`.capabilities`, :mod:`.events`, :mod:`.passthrough`
(SendCommand); :mod:`.values`, :mod:`.keys`, :mod:`.commands`, :mod:`.guids`, :mod:`.errors`,
:mod:`.names`; :mod:`.mapping` (MTP <-> WPD), :mod:`.objects` (the object tree).
"""

from openwpd.wpd import commands, errors, guids, keys
from openwpd.wpd.bulk import PortableDevicePropertiesBulk, PropertiesBulkCallback
from openwpd.wpd.capabilities import PortableDeviceCapabilities
from openwpd.wpd.commands import *  # noqa: F403
from openwpd.wpd.content import (
    PORTABLE_DEVICE_DELETE_NO_RECURSION,
    PORTABLE_DEVICE_DELETE_WITH_RECURSION,
    EnumPortableDeviceObjectIDs,
    PortableDeviceContent,
)
from openwpd.wpd.device import (
    GENERIC_READ,
    GENERIC_WRITE,
    SECURITY_IMPERSONATION,
    PortableDevice,
)
from openwpd.wpd.errors import *  # noqa: F403
from openwpd.wpd.guids import *  # noqa: F403
from openwpd.wpd.keys import *  # noqa: F403
from openwpd.wpd.manager import ENV_DEVICES, PortableDeviceManager
from openwpd.wpd.names import guid_name, key_name
from openwpd.wpd.properties import PortableDeviceProperties
from openwpd.wpd.resources import PortableDeviceResources
from openwpd.wpd.services import PortableDeviceService, PortableDeviceServiceManager
from openwpd.wpd.streams import (
    STGC_DEFAULT,
    STGM_READ,
    STGM_READWRITE,
    STGM_WRITE,
    STREAM_SEEK_CUR,
    STREAM_SEEK_END,
    STREAM_SEEK_SET,
    PortableDeviceDataStream,
    StatStg,
)
from openwpd.wpd.values import (
    PortableDeviceKeyCollection,
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PortableDeviceValuesCollection,
    PropVariant,
)

__all__ = [
    "ENV_DEVICES",
    "GENERIC_READ",
    "GENERIC_WRITE",
    "PORTABLE_DEVICE_DELETE_NO_RECURSION",
    "PORTABLE_DEVICE_DELETE_WITH_RECURSION",
    "SECURITY_IMPERSONATION",
    "STGC_DEFAULT",
    "STGM_READ",
    "STGM_READWRITE",
    "STGM_WRITE",
    "STREAM_SEEK_CUR",
    "STREAM_SEEK_END",
    "STREAM_SEEK_SET",
    "EnumPortableDeviceObjectIDs",
    "PortableDevice",
    "PortableDeviceCapabilities",
    "PortableDeviceContent",
    "PortableDeviceDataStream",
    "PortableDeviceKeyCollection",
    "PortableDeviceManager",
    "PortableDevicePropVariantCollection",
    "PortableDeviceProperties",
    "PortableDevicePropertiesBulk",
    "PortableDeviceResources",
    "PortableDeviceService",
    "PortableDeviceServiceManager",
    "PortableDeviceValues",
    "PortableDeviceValuesCollection",
    "PropVariant",
    "PropertiesBulkCallback",
    "StatStg",
    "guid_name",
    "key_name",
]
__all__ += commands.__all__
__all__ += errors.__all__
__all__ += guids.__all__
__all__ += keys.__all__
