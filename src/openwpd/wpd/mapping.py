"""The mechanical mappings between MTP and WPD (Windows' MTP driver): object ids, formats, content
types, object and device properties, values, events.

Theory of operation
-------------------
*Object ids* are strings, as in WPD: ``"DEVICE"`` is the root, a storage is ``"s"`` + its
StorageID in hex (``"s10001"``), an object ``"o"`` + its handle in hex (``"o1A"``), the style
the Windows MTP driver is observed to use. ``""`` names the parent of DEVICE (its only
child is DEVICE). :func:`parse_object_id` turns an id back into an :class:`ObjectRef`.

*Formats*: ``{code:04X}0000-AE6C-4804-98BA-C57B46965FE7`` both ways (PortableDevice.h); of the five
GUIDs outside the rule only M4A has an MTP code. *Content types* are derived from the format family
(folders, images, audio, video, playlists, contacts, calendars, documents, programs, generic
files).

*Properties* (Windows' MTP driver): every MTP object property code maps to exactly one PROPERTYKEY
and back. Codes with a classic-view WPD key use it (ObjectFileName -> WPD_OBJECT_ORIGINAL_FILE_NAME,
ParentObject -> WPD_OBJECT_PARENT_ID, …); the other codes of that table use their
``PKEY_GenericObj_*``/``PKEY_MediaObj_*`` key; every remaining code (vendor codes
0xD800–0xDBFF, and standard codes the table does not list) maps to
``{WPD_PROPERTIES_MTP_VENDOR_EXTENDED_OBJECT_PROPS}.code``. Device properties likewise:
BatteryLevel, DateTime, SynchronizationPartner and DeviceFriendlyName have WPD_DEVICE_* keys,
the PTP camera properties their WPD_STILL_IMAGE_* keys (on the DEVICE object: there is no
separate still-image functional object), every other code maps into
``WPD_PROPERTIES_MTP_VENDOR_EXTENDED_DEVICE_PROPS``.

*Values* (Windows' MTP driver): integers become VT_UI4 (UINT64 VT_UI8, signed types VT_I4/VT_I8),
the 16-bit booleans Hidden/System VT_BOOL, ProtectionStatus VT_BOOL "can delete", UINT128 PUIDs a
GUID-style string, MTP strings VT_LPWSTR, MTP date strings VT_DATE (a datetime), handles and storage
ids object-id strings, format codes VT_CLSID, arrays a PropVariant collection of VT_UI4.

*Events* (Windows' MTP driver): ObjectAdded/StoreAdded -> OBJECT_ADDED, ObjectRemoved/StoreRemoved
-> OBJECT_REMOVED, ObjectInfoChanged/ObjectPropChanged -> OBJECT_UPDATED, DeviceInfoChanged ->
DEVICE_CAPABILITIES_UPDATED, RequestObjectTransfer -> OBJECT_TRANSFER_REQUESTED, DeviceReset ->
DEVICE_RESET; beyond the table StorageInfoChanged -> OBJECT_UPDATED of the storage (free space
changed); anything else -> the vendor event GUID ``{code:04X}0000-5738-…``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from types import MappingProxyType

from openwpd.protocol.codes import (
    DataType,
    DevicePropCode,
    EventCode,
    FilesystemType,
    ObjectFormatCode,
    ObjectPropCode,
)
from openwpd.protocol.datatypes import Value, format_datetime, parse_datetime
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd.errors import E_INVALIDARG, ERROR_NOT_FOUND, HRESULT_FROM_WIN32, WpdError
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.values import PortableDevicePropVariantCollection, PropVariant

# --- object ids ------------------------------------------------------------------------------


class Kind(Enum):
    """What an object id names."""

    ROOT = "root"  #: "", the parent of DEVICE
    DEVICE = "device"  #: "DEVICE"
    STORAGE = "storage"  #: "s<StorageID>"
    OBJECT = "object"  #: "o<handle>"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A parsed object id: ``kind`` and the StorageID or handle (0 for ROOT/DEVICE)."""

    kind: Kind
    number: int = 0

    @property
    def object_id(self) -> str:
        """The id string again."""
        if self.kind is Kind.ROOT:
            return ""
        if self.kind is Kind.DEVICE:
            return g.WPD_DEVICE_OBJECT_ID
        prefix = "s" if self.kind is Kind.STORAGE else "o"
        return f"{prefix}{self.number:X}"


def storage_object_id(storage_id: int) -> str:
    """``"s10001"`` for StorageID 0x00010001."""
    return ObjectRef(Kind.STORAGE, storage_id).object_id


def object_id_for_handle(handle: int) -> str:
    """``"o1A"`` for object handle 0x1A."""
    return ObjectRef(Kind.OBJECT, handle).object_id


def parse_object_id(object_id: str) -> ObjectRef:
    """The :class:`ObjectRef` of ``object_id``. Raises WpdError(E_INVALIDARG) for a non-string
    and WpdError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND)) for a string that names no object."""
    if not isinstance(object_id, str):
        raise WpdError(E_INVALIDARG, f"object ids are strings, not {object_id!r}")
    if object_id == "":
        return ObjectRef(Kind.ROOT)
    if object_id == g.WPD_DEVICE_OBJECT_ID:
        return ObjectRef(Kind.DEVICE)
    prefix, digits = object_id[:1], object_id[1:]
    kinds = {"s": Kind.STORAGE, "o": Kind.OBJECT}
    if prefix in kinds and 0 < len(digits) <= 8 and all(c in "0123456789ABCDEF" for c in digits):
        number = int(digits, 16)
        if number not in (0, 0xFFFFFFFF):
            return ObjectRef(kinds[prefix], number)
    raise WpdError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND), f"no object {object_id!r}")


# --- formats and content types ---------------------------------------------------------------

_F = ObjectFormatCode


def format_to_guid(code: int) -> uuid.UUID:
    """The WPD format GUID of an MTP ObjectFormatCode (M4A has its own GUID, PortableDevice.h)."""
    if code == _F.M4A:
        return g.WPD_OBJECT_FORMAT_M4A
    return g.format_guid(code)


def guid_to_format(guid: uuid.UUID) -> int | None:
    """The MTP ObjectFormatCode of a WPD format GUID; None for WPD_OBJECT_FORMAT_ALL and for
    GUIDs that name no MTP format."""
    if guid == g.WPD_OBJECT_FORMAT_M4A:
        return int(_F.M4A)
    text = str(guid).upper()
    if text.endswith(g.FORMAT_GUID_TAIL) and text[4:8] == "0000" and text[:4] != "0000":
        return int(text[:4], 16)
    return None


_CONTENT_BY_FORMAT: Mapping[int, uuid.UUID] = MappingProxyType(
    {
        _F.ASSOCIATION: g.WPD_CONTENT_TYPE_FOLDER,
        _F.SCRIPT: g.WPD_CONTENT_TYPE_PROGRAM,
        _F.EXECUTABLE: g.WPD_CONTENT_TYPE_PROGRAM,
        _F.TEXT: g.WPD_CONTENT_TYPE_DOCUMENT,
        _F.HTML: g.WPD_CONTENT_TYPE_DOCUMENT,
        _F.AIFF: g.WPD_CONTENT_TYPE_AUDIO,
        _F.WAV: g.WPD_CONTENT_TYPE_AUDIO,
        _F.MP3: g.WPD_CONTENT_TYPE_AUDIO,
        _F.AVI: g.WPD_CONTENT_TYPE_VIDEO,
        _F.MPEG: g.WPD_CONTENT_TYPE_VIDEO,
        _F.ASF: g.WPD_CONTENT_TYPE_VIDEO,
        _F.QUICKTIME: g.WPD_CONTENT_TYPE_VIDEO,
        _F.M4A: g.WPD_CONTENT_TYPE_AUDIO,
    }
)

#: (first code, last code, content type) for format families.
_CONTENT_RANGES: tuple[tuple[int, int, uuid.UUID], ...] = (
    (0x3800, 0x38FF, g.WPD_CONTENT_TYPE_IMAGE),
    (0xB800, 0xB8FF, g.WPD_CONTENT_TYPE_IMAGE),
    (0xB900, 0xB97F, g.WPD_CONTENT_TYPE_AUDIO),
    (0xB980, 0xB9FF, g.WPD_CONTENT_TYPE_VIDEO),
    (0xBA10, 0xBA1F, g.WPD_CONTENT_TYPE_PLAYLIST),
    (0xBA80, 0xBA8F, g.WPD_CONTENT_TYPE_DOCUMENT),
    (0xBB80, 0xBB8F, g.WPD_CONTENT_TYPE_CONTACT),
    (0xBE00, 0xBE0F, g.WPD_CONTENT_TYPE_CALENDAR),
)


def content_type_for_format(code: int) -> uuid.UUID:
    """The WPD content type of objects of MTP format ``code`` (GENERIC_FILE when unknown)."""
    if code in _CONTENT_BY_FORMAT:
        return _CONTENT_BY_FORMAT[code]
    if code == _F.ABSTRACT_CONTACT_GROUP:
        return g.WPD_CONTENT_TYPE_CONTACT_GROUP
    for first, last, content_type in _CONTENT_RANGES:
        if first <= code <= last:
            return content_type
    return g.WPD_CONTENT_TYPE_GENERIC_FILE


# --- values ----------------------------------------------------------------------------------


def puid_text(value: int) -> str:
    """A UINT128 PersistentUniqueObjectIdentifier as WPD's PUID string (GUID style)."""
    return "{" + str(uuid.UUID(int=value & ((1 << 128) - 1))).upper() + "}"


def puid_value(text: str) -> int | None:
    """The UINT128 of a PUID string made by :func:`puid_text`; None for other strings."""
    try:
        return uuid.UUID(text).int
    except (ValueError, TypeError, AttributeError):
        return None


def mtp_date(text: str) -> datetime | None:
    """An MTP DateTime string as a datetime (None when empty or malformed)."""
    try:
        return parse_datetime(text)
    except RemoteProtocolError:
        return None


def mtp_date_text(value: datetime) -> str:
    """A datetime as an MTP DateTime string (aware values are converted to local time)."""
    local = value.astimezone().replace(tzinfo=None) if value.tzinfo else value
    return format_datetime(local)


FILESYSTEM_NAMES: Mapping[int, str] = MappingProxyType(
    {
        FilesystemType.GENERIC_FLAT: "Generic Flat",
        FilesystemType.GENERIC_HIERARCHICAL: "Generic Hierarchical",
        FilesystemType.DCF: "DCF",
    }
)


def filesystem_name(code: int) -> str:
    """WPD_STORAGE_FILE_SYSTEM_TYPE text for an MTP FilesystemType."""
    return FILESYSTEM_NAMES.get(code, "Undefined")


# --- object properties -----------------------------------------------------------------------


class Conv(Enum):
    """How an MTP value becomes a PROPVARIANT (and back)."""

    PLAIN = "plain"  #: integers, strings, arrays by their data type
    BOOL = "bool"  #: nonzero -> True
    CAN_DELETE = "can-delete"  #: ProtectionStatus 0 -> True
    DATE = "date"  #: MTP date string -> VT_DATE
    PARENT = "parent"  #: ParentObject handle -> object id (0 -> the storage)
    STORAGE = "storage"  #: StorageID -> storage object id
    FORMAT = "format"  #: ObjectFormat -> format GUID
    PUID = "puid"  #: UINT128 -> PUID string


_P = ObjectPropCode


@dataclass(frozen=True, slots=True)
class PropMap:
    """One MTP object property's WPD face: its ``key`` and value conversion ``conv``."""

    code: int
    key: PropertyKey
    conv: Conv = Conv.PLAIN


_OBJECT_PROPS: tuple[PropMap, ...] = (
    PropMap(_P.STORAGE_ID, k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID, Conv.STORAGE),
    PropMap(_P.OBJECT_FORMAT, k.WPD_OBJECT_FORMAT, Conv.FORMAT),
    PropMap(_P.PROTECTION_STATUS, k.WPD_OBJECT_CAN_DELETE, Conv.CAN_DELETE),
    PropMap(_P.OBJECT_SIZE, k.WPD_OBJECT_SIZE),
    PropMap(_P.ASSOCIATION_TYPE, k.PKEY_GenericObj_AssociationType),
    PropMap(_P.ASSOCIATION_DESC, k.PKEY_GenericObj_AssociationDesc),
    PropMap(_P.OBJECT_FILE_NAME, k.WPD_OBJECT_ORIGINAL_FILE_NAME),
    PropMap(_P.DATE_CREATED, k.WPD_OBJECT_DATE_CREATED, Conv.DATE),
    PropMap(_P.DATE_MODIFIED, k.WPD_OBJECT_DATE_MODIFIED, Conv.DATE),
    PropMap(_P.KEYWORDS, k.WPD_OBJECT_KEYWORDS),
    PropMap(_P.PARENT_OBJECT, k.WPD_OBJECT_PARENT_ID, Conv.PARENT),
    PropMap(_P.ALLOWED_FOLDER_CONTENTS, k.PKEY_GenericObj_AllowedFolderContents),
    PropMap(_P.HIDDEN, k.WPD_OBJECT_ISHIDDEN, Conv.BOOL),
    PropMap(_P.SYSTEM_OBJECT, k.WPD_OBJECT_ISSYSTEM, Conv.BOOL),
    PropMap(_P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER, k.WPD_OBJECT_PERSISTENT_UNIQUE_ID, Conv.PUID),
    PropMap(_P.SYNC_ID, k.WPD_OBJECT_SYNC_ID),
    PropMap(_P.NAME, k.WPD_OBJECT_NAME),
    PropMap(_P.ARTIST, k.WPD_MEDIA_ARTIST),
    PropMap(_P.DATE_AUTHORED, k.WPD_OBJECT_DATE_AUTHORED, Conv.DATE),
    PropMap(_P.DESCRIPTION, k.PKEY_GenericObj_Description),
    PropMap(_P.LANGUAGE_LOCALE, k.WPD_OBJECT_LANGUAGE_LOCALE),
    PropMap(_P.COPYRIGHT_INFORMATION, k.PKEY_GenericObj_Copyright),
    PropMap(_P.DATE_ADDED, k.PKEY_GenericObj_DateAdded, Conv.DATE),
    PropMap(_P.NON_CONSUMABLE, k.PKEY_GenericObj_NonConsumable, Conv.BOOL),
    PropMap(_P.WIDTH, k.WPD_MEDIA_WIDTH),
    PropMap(_P.HEIGHT, k.WPD_MEDIA_HEIGHT),
    PropMap(_P.DURATION, k.WPD_MEDIA_DURATION),
    PropMap(_P.TRACK, k.PKEY_MediaObj_Track),
    PropMap(_P.GENRE, k.WPD_MEDIA_GENRE),
    PropMap(_P.ALBUM_NAME, k.PKEY_MediaObj_AlbumName),
)

_BY_CODE: Mapping[int, PropMap] = MappingProxyType({m.code: m for m in _OBJECT_PROPS})
_BY_KEY: Mapping[PropertyKey, PropMap] = MappingProxyType({m.key: m for m in _OBJECT_PROPS})


def object_prop(code: int) -> PropMap:
    """The WPD face of MTP object property ``code`` (vendor-extended key when it has none)."""
    found = _BY_CODE.get(code)
    if found is not None:
        return found
    return PropMap(code, k.vendor_object_property_key(code))


def object_prop_for_key(key: PropertyKey) -> PropMap | None:
    """The MTP object property behind ``key``; None when no MTP property maps to it."""
    found = _BY_KEY.get(key)
    if found is not None:
        return found
    if key.fmtid == g.WPD_PROPERTIES_MTP_VENDOR_EXTENDED_OBJECT_PROPS and key.pid <= 0xFFFF:
        return PropMap(key.pid, key)
    return None


def _plain(value: Value, datatype: int | None) -> PropVariant:
    if isinstance(value, tuple):
        return PropVariant(
            VarType.UNKNOWN, PortableDevicePropVariantCollection(value, vt=VarType.UI4)
        )
    if isinstance(value, str):
        return PropVariant(VarType.LPWSTR, value)
    signed = datatype in (DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64)
    wide = datatype in (DataType.INT64, DataType.UINT64) or not -(1 << 31) <= value < (1 << 32)
    if signed or value < 0:
        return PropVariant(VarType.I8 if wide else VarType.I4, value)
    if datatype in (DataType.INT128, DataType.UINT128) or value >= (1 << 64):
        return PropVariant(VarType.LPWSTR, f"0x{value:032X}")
    return PropVariant(VarType.UI8 if wide else VarType.UI4, value)


def mtp_to_variant(
    conv: Conv, value: Value, *, datatype: int | None = None, storage_id: int = 0
) -> PropVariant:
    """An MTP property value as a PropVariant (see the module docstring). ``storage_id`` names
    the parent of an object in a storage root (ParentObject 0). Values of the wrong kind are
    passed through :func:`_plain`."""
    if conv is Conv.DATE and isinstance(value, str):
        parsed = mtp_date(value)
        if parsed is not None:
            return PropVariant(VarType.DATE, parsed)
    elif isinstance(value, int):
        if conv is Conv.BOOL:
            return PropVariant(VarType.BOOL, value != 0)
        if conv is Conv.CAN_DELETE:
            return PropVariant(VarType.BOOL, value == 0)
        if conv is Conv.PARENT:
            parent = object_id_for_handle(value) if value else storage_object_id(storage_id)
            return PropVariant(VarType.LPWSTR, parent)
        if conv is Conv.STORAGE:
            return PropVariant(VarType.LPWSTR, storage_object_id(value))
        if conv is Conv.FORMAT:
            return PropVariant(VarType.CLSID, format_to_guid(value))
        if conv is Conv.PUID:
            return PropVariant(VarType.LPWSTR, puid_text(value))
    return _plain(value, datatype)


def variant_to_mtp(conv: Conv, value: object) -> Value:
    """A WPD value to write as an MTP value (the inverse of :func:`mtp_to_variant` for the
    writable kinds). Raises WpdError(E_INVALIDARG) when the value does not fit."""
    if conv is Conv.DATE and isinstance(value, datetime):
        return mtp_date_text(value)
    if conv is Conv.BOOL and isinstance(value, bool):
        return int(value)
    if conv is Conv.PLAIN:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, PortableDevicePropVariantCollection):
            items = list(value)
            if all(isinstance(i, int) and not isinstance(i, bool) for i in items):
                return tuple(int(i) for i in items)  # type: ignore[call-overload]
    raise WpdError(E_INVALIDARG, f"{value!r} cannot be written as this property")


# --- device properties -----------------------------------------------------------------------

_D = DevicePropCode

_DEVICE_PROPS: tuple[PropMap, ...] = (
    PropMap(_D.BATTERY_LEVEL, k.WPD_DEVICE_POWER_LEVEL),
    PropMap(_D.DATE_TIME, k.WPD_DEVICE_DATETIME, Conv.DATE),
    PropMap(_D.SYNCHRONIZATION_PARTNER, k.WPD_DEVICE_SYNC_PARTNER),
    PropMap(_D.DEVICE_FRIENDLY_NAME, k.WPD_DEVICE_FRIENDLY_NAME),
    # the camera settings (Windows keeps them under WPD_STILL_IMAGE_*; CompressionSetting,
    # whose WPD type is VT_UI8, and CopyrightInfo, which has no key, stay vendor-extended)
    PropMap(_D.IMAGE_SIZE, k.WPD_STILL_IMAGE_CAPTURE_RESOLUTION),
    PropMap(_D.WHITE_BALANCE, k.WPD_STILL_IMAGE_WHITE_BALANCE),
    PropMap(_D.RGB_GAIN, k.WPD_STILL_IMAGE_RGB_GAIN),
    PropMap(_D.F_NUMBER, k.WPD_STILL_IMAGE_FNUMBER),
    PropMap(_D.FOCAL_LENGTH, k.WPD_STILL_IMAGE_FOCAL_LENGTH),
    PropMap(_D.FOCUS_DISTANCE, k.WPD_STILL_IMAGE_FOCUS_DISTANCE),
    PropMap(_D.FOCUS_MODE, k.WPD_STILL_IMAGE_FOCUS_MODE),
    PropMap(_D.EXPOSURE_METERING_MODE, k.WPD_STILL_IMAGE_EXPOSURE_METERING_MODE),
    PropMap(_D.FLASH_MODE, k.WPD_STILL_IMAGE_FLASH_MODE),
    PropMap(_D.EXPOSURE_TIME, k.WPD_STILL_IMAGE_EXPOSURE_TIME),
    PropMap(_D.EXPOSURE_PROGRAM_MODE, k.WPD_STILL_IMAGE_EXPOSURE_PROGRAM_MODE),
    PropMap(_D.EXPOSURE_INDEX, k.WPD_STILL_IMAGE_EXPOSURE_INDEX),
    PropMap(_D.EXPOSURE_BIAS_COMPENSATION, k.WPD_STILL_IMAGE_EXPOSURE_BIAS_COMPENSATION),
    PropMap(_D.CAPTURE_DELAY, k.WPD_STILL_IMAGE_CAPTURE_DELAY),
    PropMap(_D.STILL_CAPTURE_MODE, k.WPD_STILL_IMAGE_CAPTURE_MODE),
    PropMap(_D.CONTRAST, k.WPD_STILL_IMAGE_CONTRAST),
    PropMap(_D.SHARPNESS, k.WPD_STILL_IMAGE_SHARPNESS),
    PropMap(_D.DIGITAL_ZOOM, k.WPD_STILL_IMAGE_DIGITAL_ZOOM),
    PropMap(_D.EFFECT_MODE, k.WPD_STILL_IMAGE_EFFECT_MODE),
    PropMap(_D.BURST_NUMBER, k.WPD_STILL_IMAGE_BURST_NUMBER),
    PropMap(_D.BURST_INTERVAL, k.WPD_STILL_IMAGE_BURST_INTERVAL),
    PropMap(_D.TIMELAPSE_NUMBER, k.WPD_STILL_IMAGE_TIMELAPSE_NUMBER),
    PropMap(_D.TIMELAPSE_INTERVAL, k.WPD_STILL_IMAGE_TIMELAPSE_INTERVAL),
    PropMap(_D.FOCUS_METERING_MODE, k.WPD_STILL_IMAGE_FOCUS_METERING_MODE),
    PropMap(_D.UPLOAD_URL, k.WPD_STILL_IMAGE_UPLOAD_URL),
    PropMap(_D.ARTIST, k.WPD_STILL_IMAGE_ARTIST),
)
_DEVICE_BY_CODE: Mapping[int, PropMap] = MappingProxyType({m.code: m for m in _DEVICE_PROPS})
_DEVICE_BY_KEY: Mapping[PropertyKey, PropMap] = MappingProxyType({m.key: m for m in _DEVICE_PROPS})


def device_prop(code: int) -> PropMap:
    """The WPD face of MTP device property ``code`` (vendor-extended key when it has none)."""
    found = _DEVICE_BY_CODE.get(code)
    if found is not None:
        return found
    return PropMap(code, k.vendor_device_property_key(code))


def device_prop_for_key(key: PropertyKey) -> PropMap | None:
    """The MTP device property behind ``key``; None when there is none."""
    found = _DEVICE_BY_KEY.get(key)
    if found is not None:
        return found
    if key.fmtid == g.WPD_PROPERTIES_MTP_VENDOR_EXTENDED_DEVICE_PROPS and key.pid <= 0xFFFF:
        return PropMap(key.pid, key)
    return None


# --- events ----------------------------------------------------------------------------------

_E = EventCode

EVENT_GUIDS: Mapping[int, uuid.UUID] = MappingProxyType(
    {
        _E.OBJECT_ADDED: g.WPD_EVENT_OBJECT_ADDED,
        _E.OBJECT_REMOVED: g.WPD_EVENT_OBJECT_REMOVED,
        _E.STORE_ADDED: g.WPD_EVENT_OBJECT_ADDED,
        _E.STORE_REMOVED: g.WPD_EVENT_OBJECT_REMOVED,
        _E.OBJECT_INFO_CHANGED: g.WPD_EVENT_OBJECT_UPDATED,
        _E.OBJECT_PROP_CHANGED: g.WPD_EVENT_OBJECT_UPDATED,
        _E.STORAGE_INFO_CHANGED: g.WPD_EVENT_OBJECT_UPDATED,
        _E.DEVICE_INFO_CHANGED: g.WPD_EVENT_DEVICE_CAPABILITIES_UPDATED,
        _E.REQUEST_OBJECT_TRANSFER: g.WPD_EVENT_OBJECT_TRANSFER_REQUESTED,
        _E.DEVICE_RESET: g.WPD_EVENT_DEVICE_RESET,
    }
)

#: Events whose first parameter is an object handle / a StorageID.
OBJECT_EVENTS = frozenset(
    {
        _E.OBJECT_ADDED,
        _E.OBJECT_REMOVED,
        _E.OBJECT_INFO_CHANGED,
        _E.OBJECT_PROP_CHANGED,
        _E.REQUEST_OBJECT_TRANSFER,
    }
)
STORAGE_EVENTS = frozenset({_E.STORE_ADDED, _E.STORE_REMOVED, _E.STORAGE_INFO_CHANGED})


def event_guid(code: int) -> uuid.UUID:
    """The WPD event GUID of MTP event ``code`` (vendor event GUID when the table has none)."""
    return EVENT_GUIDS.get(code, g.vendor_event_guid(code))


__all__ = [
    "EVENT_GUIDS",
    "FILESYSTEM_NAMES",
    "OBJECT_EVENTS",
    "STORAGE_EVENTS",
    "Conv",
    "Kind",
    "ObjectRef",
    "PropMap",
    "content_type_for_format",
    "device_prop",
    "device_prop_for_key",
    "event_guid",
    "filesystem_name",
    "format_to_guid",
    "guid_to_format",
    "mtp_date",
    "mtp_date_text",
    "mtp_to_variant",
    "object_id_for_handle",
    "object_prop",
    "object_prop_for_key",
    "parse_object_id",
    "puid_text",
    "puid_value",
    "storage_object_id",
    "variant_to_mtp",
]
