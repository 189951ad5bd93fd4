"""The virtual device's own device-services allocations, and the standard GUIDs/PROPERTYKEYs.

Theory of operation: MTP Device Services leaves ServiceIDs, service property codes, method codes
and method-parameter property codes to the responder (Symbian hands them out from
counters). These are *our device's* allocations, not protocol-wide codes, so they
live here rather than in :mod:`openwpd.protocol.codes`; they are still IntEnums (see
``docs/conventions.md``) and are fixed, so a client may cache them, and ``docs/device-services.md``
lists them. Everything the standard defines (service, format, method and event GUIDs, property
namespaces) is spelled as in the Windows SDK headers (PortableDevice.h, the ``*DeviceService.h``
headers).

Allocation scheme (documented in ``docs/device-services.md``):

* ServiceIDs 1..4; service property codes ``0x0S01..`` where S is the ServiceID.
* Method codes are device-unique and lie at the top of the vendor object-format range
  (0xB7xx), because a method code travels as the ObjectFormat of a method object.
* Method-parameter property codes lie in the vendor object-property range (0xDAxx).
* Method-object handles are ``0x80000000 | n``: the object store hands out handles from 1 up,
  so the two never meet.
"""

from __future__ import annotations

import uuid
from enum import IntEnum

#: Method-object handles are METHOD_HANDLE_BIT | n (n = 1, 2, ...).
METHOD_HANDLE_BIT = 0x80000000


class ServiceId(IntEnum):
    """ServiceIDs of the virtual device."""

    CONTACTS = 0x00000001  #: Contacts, 0x00000001
    CALENDAR = 0x00000002  #: Calendar, 0x00000002
    STATUS = 0x00000003  #: Status, 0x00000003
    DIAGNOSTICS = 0x00000004  #: Diagnostics (openwpd), 0x00000004


class ServicePropCode(IntEnum):
    """Service property codes (GetServicePropDesc/List, SetServicePropList)."""

    CONTACTS_DISPLAY_NAME = 0x0101  #: Contacts ServiceDisplayName, 0x0101
    CONTACTS_REPLICA_ID = 0x0102  #: Contacts FullEnumSync ReplicaID, 0x0102
    CONTACTS_LAST_SYNC_PROXY_ID = 0x0103  #: Contacts FullEnumSync LastSyncProxyID, 0x0103
    CONTACTS_PROVIDER_VERSION = 0x0104  #: Contacts FullEnumSync ProviderVersion, 0x0104
    CONTACTS_SYNC_FORMAT = 0x0105  #: Contacts Sync SyncFormat, 0x0105
    CONTACTS_LOCAL_ONLY_DELETE = 0x0106  #: Contacts Sync LocalOnlyDelete, 0x0106
    CONTACTS_FILTER_TYPE = 0x0107  #: Contacts Sync FilterType, 0x0107
    CALENDAR_DISPLAY_NAME = 0x0201  #: Calendar ServiceDisplayName, 0x0201
    CALENDAR_REPLICA_ID = 0x0202  #: Calendar FullEnumSync ReplicaID, 0x0202
    CALENDAR_LAST_SYNC_PROXY_ID = 0x0203  #: Calendar FullEnumSync LastSyncProxyID, 0x0203
    CALENDAR_PROVIDER_VERSION = 0x0204  #: Calendar FullEnumSync ProviderVersion, 0x0204
    CALENDAR_SYNC_FORMAT = 0x0205  #: Calendar Sync SyncFormat, 0x0205
    CALENDAR_LOCAL_ONLY_DELETE = 0x0206  #: Calendar Sync LocalOnlyDelete, 0x0206
    CALENDAR_FILTER_TYPE = 0x0207  #: Calendar Sync FilterType, 0x0207
    CALENDAR_SYNC_WINDOW_START = 0x0208  #: Calendar SyncWindowStart, 0x0208
    CALENDAR_SYNC_WINDOW_END = 0x0209  #: Calendar SyncWindowEnd, 0x0209
    STATUS_DISPLAY_NAME = 0x0301  #: Status ServiceDisplayName, 0x0301
    STATUS_SIGNAL_STRENGTH = 0x0302  #: Status SignalStrength, 0x0302
    STATUS_TEXT_MESSAGES = 0x0303  #: Status TextMessages, 0x0303
    STATUS_NEW_PICTURES = 0x0304  #: Status NewPictures, 0x0304
    STATUS_MISSED_CALLS = 0x0305  #: Status MissedCalls, 0x0305
    STATUS_VOICE_MAIL = 0x0306  #: Status VoiceMail, 0x0306
    STATUS_NETWORK_NAME = 0x0307  #: Status NetworkName, 0x0307
    STATUS_NETWORK_TYPE = 0x0308  #: Status NetworkType, 0x0308
    STATUS_ROAMING = 0x0309  #: Status Roaming, 0x0309
    STATUS_BATTERY_LIFE = 0x030A  #: Status BatteryLife, 0x030A
    STATUS_CHARGING_STATE = 0x030B  #: Status ChargingState, 0x030B
    STATUS_STORAGE_CAPACITY = 0x030C  #: Status StorageCapacity, 0x030C
    STATUS_STORAGE_FREE_SPACE = 0x030D  #: Status StorageFreeSpace, 0x030D
    DIAGNOSTICS_DISPLAY_NAME = 0x0401  #: Diagnostics ServiceDisplayName, 0x0401
    DIAGNOSTICS_LABEL = 0x0402  #: Diagnostics Label, 0x0402
    DIAGNOSTICS_METHODS_COMPLETED = 0x0403  #: Diagnostics MethodsCompleted, 0x0403


class MethodCode(IntEnum):
    """Method codes; each is also the ObjectFormat of that method's method objects."""

    CONTACTS_BEGIN_SYNC = 0xB701  #: Contacts BeginSync, 0xB701
    CONTACTS_END_SYNC = 0xB702  #: Contacts EndSync, 0xB702
    CALENDAR_BEGIN_SYNC = 0xB711  #: Calendar BeginSync, 0xB711
    CALENDAR_END_SYNC = 0xB712  #: Calendar EndSync, 0xB712
    DIAGNOSTICS_ECHO = 0xB741  #: Diagnostics Echo, 0xB741
    DIAGNOSTICS_SLEEP = 0xB742  #: Diagnostics Sleep, 0xB742
    DIAGNOSTICS_HASH_OBJECT = 0xB743  #: Diagnostics HashObject, 0xB743


class MethodParamCode(IntEnum):
    """Object property codes of method parameters (properties of method objects)."""

    ECHO_TEXT = 0xDA41  #: Echo Text (in), 0xDA41
    ECHO_RESULT = 0xDA42  #: Echo Result (out), 0xDA42
    SLEEP_MILLISECONDS = 0xDA43  #: Sleep Milliseconds (in), 0xDA43
    HASH_OBJECT = 0xDA44  #: HashObject Object (in), 0xDA44
    HASH_ALGORITHM = 0xDA45  #: HashObject Algorithm (in), 0xDA45
    HASH_DIGEST = 0xDA46  #: HashObject Digest (out), 0xDA46


def _g(text: str) -> uuid.UUID:
    return uuid.UUID(text)


# -- standard services (ContactDeviceService.h, CalendarDeviceService.h, StatusDeviceService.h,
#    SyncDeviceService.h, FullEnumSyncDeviceService.h, DeviceServices.h) ---

SERVICE_CONTACTS = _g("DD04D5FC-9D6E-4F76-9DCF-ECA6339B7389")
SERVICE_CALENDAR = _g("E4DFDBD3-7F04-45E9-9FA1-5CA0EAEB0AE3")
SERVICE_STATUS = _g("0B9F1048-B94B-DC9A-4ED7-FE4FED3A0DEB")
SERVICE_FULL_ENUM_SYNC = _g("28D3AAC9-C075-44BE-8881-65F38D305909")

FORMAT_VCARD2_CONTACT = _g("BB820000-AE6C-4804-98BA-C57B46965FE7")
FORMAT_VCARD3_CONTACT = _g("BB830000-AE6C-4804-98BA-C57B46965FE7")
FORMAT_ICALENDAR_ACTIVITY = _g("CC4538CB-7890-41B7-A3F1-B6E60BDD2A61")

METHOD_BEGIN_SYNC = _g("63803E07-C713-45D3-8119-3479B31D3592")
METHOD_END_SYNC = _g("40F3F0F7-A539-422E-98DD-FD8D385C8849")

NAMESPACE_SERVICES = _g("14FA7268-0B6C-4214-9487-435B480A8C4F")  # PKEY_Services_*
NAMESPACE_FULL_ENUM_SYNC = _g("63B10E6C-4F3A-456D-95CB-9894EDEC9FA5")
NAMESPACE_SYNC = _g("703D392C-532C-4607-9158-9CEA742F3A16")
NAMESPACE_CALENDAR_SVC = _g("63816297-61E5-4306-B1A3-CEDF481B8629")
NAMESPACE_STATUS = _g("49CD1F76-5626-4B17-A4E8-18B4AA1A2213")
NAMESPACE_CONTACT_OBJ = _g("FBD4FDAB-987D-4777-B3F9-726185A9312B")
NAMESPACE_CALENDAR_OBJ = _g("F99EFD03-431D-40D8-A1C9-4E220D9C88D3")
NAMESPACE_GENERIC_OBJ = _g("EF6B490D-5CD8-437A-AFFC-DA8B60EE4A3C")  # WPD_OBJECT_PROPERTIES_V1

#: WPD_EVENT_SERVICE_METHOD_COMPLETE, WPD_EVENT_OBJECT_ADDED, WPD_EVENT_OBJECT_REMOVED.
EVENT_METHOD_COMPLETE = _g("8A33F5F8-0ACC-4D9B-9CC4-112D353B86CA")
EVENT_OBJECT_ADDED = _g("A726DA95-E207-4B02-8D44-BEF2E86CBFFC")
EVENT_OBJECT_REMOVED = _g("BE82AB88-A52C-4823-96E5-D0272671FC38")
#: ServicePropChanged has no WPD event GUID of its own; we use the driver's mechanical mapping
#: of an MTP event code C303 to {C3030000-5738-4FF2-8445-BE3126691059} (Windows' MTP driver).
EVENT_SERVICE_PROP_CHANGED = _g("C3030000-5738-4FF2-8445-BE3126691059")

# -- openwpd's own Diagnostics service (fixed GUIDs; "openwpd" = 6F 70 65 6E 77 70 64) -------

SERVICE_DIAGNOSTICS = _g("6F70656E-7770-4464-8000-446961670001")
NAMESPACE_DIAGNOSTICS_SVC = _g("6F70656E-7770-4464-8000-446961670002")
NAMESPACE_DIAGNOSTICS_PARAMS = _g("6F70656E-7770-4464-8000-446961670003")
METHOD_ECHO = _g("6F70656E-7770-4464-8000-446961670010")
METHOD_SLEEP = _g("6F70656E-7770-4464-8000-446961670011")
METHOD_HASH_OBJECT = _g("6F70656E-7770-4464-8000-446961670012")
#: Namespace from which service-instance PUIDs are derived (uuid5 of the device GUID + name).
NAMESPACE_SERVICE_PUID = _g("6F70656E-7770-4464-8000-446961670020")


def guid_to_uint128(guid: uuid.UUID) -> int:
    """The UINT128 value whose wire form is ``guid`` in the Windows layout (Windows GUID layout)."""
    return int.from_bytes(guid.bytes_le, "little")
