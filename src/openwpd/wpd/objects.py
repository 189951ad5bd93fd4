"""The WPD object tree over the client: what an object id names, its children, its properties.

Theory of operation
-------------------
Everything here is a coroutine that runs on the bridge loop with a
:class:`~openwpd.wpd.handle.WpdHandle`'s client handle. :func:`resolve` turns an object id into a
:class:`Node` -- the device, a storage (:class:`~openwpd.client.Storage`, read with
GetStorageInfo) or an object (:class:`~openwpd.client.Entry`, read with GetObjectInfo) -- so a
stale or unknown id fails with the device's answer (HRESULT_FROM_WIN32(ERROR_NOT_FOUND)).

:func:`node_values` builds an object's WPD properties:

* DEVICE -- DeviceInfo (manufacturer, model, firmware, serial number, protocol, type,
  transport) plus every device property the device lists, mapped by
  :func:`~openwpd.wpd.mapping.device_prop`;
* a storage -- StorageInfo as WPD_STORAGE_* keys (functional category STORAGE);
* an object -- every MTP object property of one GetObjectPropList (or, on a device without it,
  the ObjectInfo dataset), mapped by :func:`~openwpd.wpd.mapping.object_prop`, plus the
  synthesized keys (ID, PARENT_ID, NAME, CONTENT_TYPE, …).

PUIDs: objects use the device's PersistentUniqueObjectIdentifier (stable across sessions on
devices that have it); storages use their object id and the device object ``"DEVICE"`` (StorageIDs
are stable for a device), so PUIDs survive reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from openwpd.client import Entry, Handle, Storage
from openwpd.protocol.codes import (
    OBJECT_PROP_TYPES,
    DevicePropCode,
    GetSet,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import (
    DeviceInfo,
    DevicePropDesc,
    EnumForm,
    ObjectIdForm,
    ObjectPropDesc,
    RangeForm,
    RegexForm,
    StorageInfo,
)
from openwpd.protocol.datatypes import Value
from openwpd.protocol.errors import Cancelled, OpenWpdError, ResponseError
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import (
    ERROR_NOT_SUPPORTED,
    HRESULT_FROM_WIN32,
    WpdError,
)
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.values import (
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PropVariant,
)

log = logging.getLogger("openwpd.wpd")

_O = OperationCode
_P = ObjectPropCode

#: WPD_DEVICE_TYPES (PortableDevice.h)
DEVICE_TYPE_GENERIC = 0
DEVICE_TYPE_CAMERA = 1
DEVICE_TYPE_PHONE = 3
#: WPD_DEVICE_TRANSPORTS
TRANSPORT_USB = 1
TRANSPORT_IP = 2
#: WpdAttributeForm
FORM_UNSPECIFIED = 0
FORM_RANGE = 1
FORM_ENUMERATION = 2
FORM_REGULAR_EXPRESSION = 3
FORM_OBJECT_IDENTIFIER = 4

NOT_SUPPORTED = HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED)

_PROP_TYPES: dict[int, int] = {int(c): int(t) for c, t in OBJECT_PROP_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Node:
    """What an object id names: ``ref``, and the storage or entry behind it."""

    ref: m.ObjectRef
    storage: Storage | None = None
    entry: Entry | None = None

    @property
    def object_id(self) -> str:
        return self.ref.object_id


async def storage_info(client: Handle, storage_id: int) -> Storage:
    """One storage (GetStorageInfo). Raises ResponseError for an unknown StorageID."""
    res = await client.execute(_O.GET_STORAGE_INFO, (storage_id,))
    if res.code != ResponseCode.OK:
        raise ResponseError(res.code, params=res.params)
    return Storage.from_info(storage_id, StorageInfo.from_bytes(res.data))


async def resolve(client: Handle, object_id: str) -> Node:
    """The node named by ``object_id`` (see the module docstring)."""
    ref = m.parse_object_id(object_id)
    if ref.kind is m.Kind.STORAGE:
        return Node(ref, storage=await storage_info(client, ref.number))
    if ref.kind is m.Kind.OBJECT:
        return Node(ref, entry=await client.entry(ref.number))
    return Node(ref)


async def children(client: Handle, node: Node) -> AsyncGenerator[str, None]:
    """The object ids of the immediate children of ``node``, as the device lists them."""
    if node.ref.kind is m.Kind.ROOT:
        yield g.WPD_DEVICE_OBJECT_ID
        return
    if node.ref.kind is m.Kind.DEVICE:
        for storage in await client.storages():
            yield m.storage_object_id(storage.id)
        return
    parent = node.storage if node.storage is not None else node.entry
    assert parent is not None
    if isinstance(parent, Entry) and not parent.is_folder:
        return
    async with aclosing(client.list(parent)) as entries:
        async for entry in entries:
            yield m.object_id_for_handle(entry.handle)


# --- property values ---------------------------------------------------------------------------


def device_type(info: DeviceInfo) -> int:
    """WPD_DEVICE_TYPE of a device: CAMERA when it can capture, PHONE for Android, else
    GENERIC."""
    if _O.INITIATE_CAPTURE in info.operations_supported:
        return DEVICE_TYPE_CAMERA
    if "android.com" in info.vendor_extension_desc:
        return DEVICE_TYPE_PHONE
    return DEVICE_TYPE_GENERIC


def protocol_text(standard_version: int) -> str:
    """WPD_DEVICE_PROTOCOL for a DeviceInfo StandardVersion (100 -> ``"MTP: 1.00"``)."""
    return f"MTP: {standard_version // 100}.{standard_version % 100:02d}"


async def device_values(client: Handle, pnp_id: str) -> PortableDeviceValues:
    """The DEVICE object's properties."""
    info = client.connection.device_info
    v = PortableDeviceValues()
    v[k.WPD_OBJECT_ID] = g.WPD_DEVICE_OBJECT_ID
    v[k.WPD_OBJECT_PARENT_ID] = ""
    v[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID] = g.WPD_DEVICE_OBJECT_ID
    v[k.WPD_OBJECT_FORMAT] = g.WPD_OBJECT_FORMAT_UNSPECIFIED
    v[k.WPD_OBJECT_CONTENT_TYPE] = g.WPD_CONTENT_TYPE_FUNCTIONAL_OBJECT
    v[k.WPD_FUNCTIONAL_OBJECT_CATEGORY] = g.WPD_FUNCTIONAL_CATEGORY_DEVICE
    v[k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] = g.WPD_DEVICE_OBJECT_ID
    v[k.WPD_DEVICE_MANUFACTURER] = info.manufacturer
    v[k.WPD_DEVICE_MODEL] = info.model
    v[k.WPD_DEVICE_FIRMWARE_VERSION] = info.device_version
    v[k.WPD_DEVICE_SERIAL_NUMBER] = info.serial_number
    v[k.WPD_DEVICE_PROTOCOL] = protocol_text(info.standard_version)
    v[k.WPD_DEVICE_TYPE] = device_type(info)
    v[k.WPD_DEVICE_TRANSPORT] = TRANSPORT_IP if pnp_id.startswith("ptpip:") else TRANSPORT_USB
    name = info.model
    if client.connection.supports(_O.GET_DEVICE_PROP_VALUE):
        for code in info.device_properties_supported:
            try:
                value = await client.get_device_property(code)
            except Cancelled:
                raise
            except OpenWpdError as exc:
                log.info("device property 0x%04X unreadable: %s", code, exc)
                continue
            prop = m.device_prop(code)
            v.set_value(prop.key, m.mtp_to_variant(prop.conv, value))
            if code == DevicePropCode.DEVICE_FRIENDLY_NAME and isinstance(value, str) and value:
                name = value
    v[k.WPD_OBJECT_NAME] = name
    return v


def storage_values(storage: Storage) -> PortableDeviceValues:
    """A storage functional object's properties."""
    oid = m.storage_object_id(storage.id)
    v = PortableDeviceValues()
    v[k.WPD_OBJECT_ID] = oid
    v[k.WPD_OBJECT_PARENT_ID] = g.WPD_DEVICE_OBJECT_ID
    v[k.WPD_OBJECT_NAME] = storage.description
    v[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID] = oid
    v[k.WPD_OBJECT_FORMAT] = g.WPD_OBJECT_FORMAT_UNSPECIFIED
    v[k.WPD_OBJECT_CONTENT_TYPE] = g.WPD_CONTENT_TYPE_FUNCTIONAL_OBJECT
    v[k.WPD_FUNCTIONAL_OBJECT_CATEGORY] = g.WPD_FUNCTIONAL_CATEGORY_STORAGE
    v[k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] = oid
    v[k.WPD_STORAGE_TYPE] = storage.storage_type
    v[k.WPD_STORAGE_FILE_SYSTEM_TYPE] = m.filesystem_name(storage.filesystem_type)
    v[k.WPD_STORAGE_CAPACITY] = storage.capacity
    v[k.WPD_STORAGE_FREE_SPACE_IN_BYTES] = storage.free
    if storage.free_objects != 0xFFFFFFFF:
        v[k.WPD_STORAGE_FREE_SPACE_IN_OBJECTS] = storage.free_objects
    v[k.WPD_STORAGE_DESCRIPTION] = storage.description
    v[k.WPD_STORAGE_SERIAL_NUMBER] = storage.volume_label
    v[k.WPD_STORAGE_ACCESS_CAPABILITY] = storage.access
    return v


async def mtp_properties(client: Handle, entry: Entry) -> dict[int, Value]:
    """Every MTP property of ``entry``: one GetObjectPropList, or the ObjectInfo fields."""
    if client.connection.policy.prop_list:
        return await client.get_properties(entry)
    info = await client.object_info(entry)
    props: dict[int, Value] = {
        _P.STORAGE_ID: info.storage_id,
        _P.OBJECT_FORMAT: info.object_format,
        _P.PROTECTION_STATUS: info.protection_status,
        _P.OBJECT_SIZE: entry.size,
        _P.ASSOCIATION_TYPE: info.association_type,
        _P.OBJECT_FILE_NAME: info.filename,
        _P.PARENT_OBJECT: info.parent_object,
    }
    if info.capture_date:
        props[_P.DATE_CREATED] = info.capture_date
    if info.modification_date:
        props[_P.DATE_MODIFIED] = info.modification_date
    if info.keywords:
        props[_P.KEYWORDS] = info.keywords
    return props


async def entry_values(client: Handle, entry: Entry) -> PortableDeviceValues:
    """An object's properties (see the module docstring)."""
    props = await mtp_properties(client, entry)
    v = PortableDeviceValues()
    v[k.WPD_OBJECT_ID] = m.object_id_for_handle(entry.handle)
    for code, value in props.items():
        prop = m.object_prop(code)
        datatype = _PROP_TYPES.get(code)
        v.set_value(
            prop.key,
            m.mtp_to_variant(prop.conv, value, datatype=datatype, storage_id=entry.storage_id),
        )
    v.setdefault(k.WPD_OBJECT_PARENT_ID, _parent_id(entry))
    v.setdefault(k.WPD_OBJECT_ORIGINAL_FILE_NAME, entry.name)
    v.setdefault(k.WPD_OBJECT_NAME, v[k.WPD_OBJECT_ORIGINAL_FILE_NAME])
    v.setdefault(k.WPD_OBJECT_FORMAT, m.format_to_guid(entry.format))
    v.setdefault(k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID, m.storage_object_id(entry.storage_id))
    v[k.WPD_OBJECT_CONTENT_TYPE] = m.content_type_for_format(
        ObjectFormatCode.ASSOCIATION if entry.is_folder else entry.format
    )
    if entry.is_folder:
        v.pop(k.WPD_OBJECT_SIZE, None)
    else:
        v.setdefault(k.WPD_OBJECT_SIZE, entry.size)
    if k.WPD_OBJECT_PERSISTENT_UNIQUE_ID not in v:
        # no PUID property on this device: the best stable name we have
        v[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID] = fallback_puid(entry)
    v.setdefault(k.WPD_OBJECT_CAN_DELETE, True)
    return v


def _parent_id(entry: Entry) -> str:
    if entry.parent:
        return m.object_id_for_handle(entry.parent)
    return m.storage_object_id(entry.storage_id)


def fallback_puid(entry: Entry) -> str:
    """The PUID of an object on a device without PersistentUniqueObjectIdentifier."""
    return f"{entry.storage_id:08X}:{entry.handle:08X}"


async def node_values(client: Handle, node: Node, pnp_id: str) -> PortableDeviceValues:
    """Every property of ``node``."""
    if node.ref.kind is m.Kind.DEVICE:
        return await device_values(client, pnp_id)
    if node.storage is not None:
        return storage_values(node.storage)
    if node.entry is not None:
        return await entry_values(client, node.entry)
    raise WpdError(NOT_SUPPORTED, "the root has no properties")


def select(values: PortableDeviceValues, wanted: list[PropertyKey]) -> PortableDeviceValues:
    """``wanted`` keys of ``values`` in that order; a key the object lacks gets a VT_ERROR value
    (HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED)), as WPD reports per-key failures."""
    out = PortableDeviceValues()
    for key in wanted:
        if key in values:
            out.set_value(key, values.get_value(key))
        else:
            out.set_value(key, PropVariant(VarType.ERROR, NOT_SUPPORTED))
    return out


# --- attributes -------------------------------------------------------------------------------

#: Keys an object's name can be written through (both rename the object: ObjectFileName).
NAME_KEYS = (k.WPD_OBJECT_NAME, k.WPD_OBJECT_ORIGINAL_FILE_NAME)


def form_attributes(form: object, attributes: PortableDeviceValues) -> None:
    """WPD_PROPERTY_ATTRIBUTE_FORM and the form's keys for an MTP form."""
    if isinstance(form, RangeForm):
        attributes[k.WPD_PROPERTY_ATTRIBUTE_FORM] = FORM_RANGE
        for key, value in (
            (k.WPD_PROPERTY_ATTRIBUTE_RANGE_MIN, form.min),
            (k.WPD_PROPERTY_ATTRIBUTE_RANGE_MAX, form.max),
            (k.WPD_PROPERTY_ATTRIBUTE_RANGE_STEP, form.step),
        ):
            attributes.set_value(key, m.mtp_to_variant(m.Conv.PLAIN, value))
    elif isinstance(form, EnumForm):
        attributes[k.WPD_PROPERTY_ATTRIBUTE_FORM] = FORM_ENUMERATION
        elements = PortableDevicePropVariantCollection()
        for value in form.values:
            elements.add(m.mtp_to_variant(m.Conv.PLAIN, value))
        attributes[k.WPD_PROPERTY_ATTRIBUTE_ENUMERATION_ELEMENTS] = elements
    elif isinstance(form, RegexForm):
        attributes[k.WPD_PROPERTY_ATTRIBUTE_FORM] = FORM_REGULAR_EXPRESSION
        attributes[k.WPD_PROPERTY_ATTRIBUTE_REGULAR_EXPRESSION] = form.pattern
    elif isinstance(form, ObjectIdForm):
        attributes[k.WPD_PROPERTY_ATTRIBUTE_FORM] = FORM_OBJECT_IDENTIFIER
    else:
        attributes[k.WPD_PROPERTY_ATTRIBUTE_FORM] = FORM_UNSPECIFIED


def base_attributes(vt: VarType | None, *, can_write: bool) -> PortableDeviceValues:
    """Attributes every property has: readable, not deletable, ``can_write``, no form."""
    attributes = PortableDeviceValues()
    attributes[k.WPD_PROPERTY_ATTRIBUTE_CAN_READ] = True
    attributes[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] = can_write
    attributes[k.WPD_PROPERTY_ATTRIBUTE_CAN_DELETE] = False
    attributes[k.WPD_PROPERTY_ATTRIBUTE_FORM] = FORM_UNSPECIFIED
    if vt is not None:
        attributes[k.WPD_PROPERTY_ATTRIBUTE_VARTYPE] = int(vt)
    return attributes


def desc_attributes(
    desc: ObjectPropDesc | DevicePropDesc, conv: m.Conv, vt: VarType | None
) -> PortableDeviceValues:
    """Attributes from an MTP property description."""
    attributes = base_attributes(vt, can_write=desc.getset == GetSet.GET_SET)
    form_attributes(desc.form, attributes)
    default = desc.factory_default
    if not (isinstance(default, str) and not default):
        attributes.set_value(
            k.WPD_PROPERTY_ATTRIBUTE_DEFAULT_VALUE, m.mtp_to_variant(conv, default)
        )
    if isinstance(desc, ObjectPropDesc):
        attributes[k.WPD_PROPERTY_ATTRIBUTE_FAST_PROPERTY] = desc.group_code != 0
    return attributes


async def object_prop_desc(client: Handle, code: int, fmt: int) -> ObjectPropDesc | None:
    """The device's ObjectPropDesc, None when the device cannot describe the property."""
    if not client.connection.supports(_O.GET_OBJECT_PROP_DESC):
        return None
    try:
        return await client.property_desc(code, fmt)
    except ResponseError:
        return None


async def entry_attributes(
    client: Handle, entry: Entry, key: PropertyKey, vt: VarType | None
) -> PortableDeviceValues:
    """Attributes of property ``key`` of an object."""
    code: int | None = _P.OBJECT_FILE_NAME if key in NAME_KEYS else None
    prop = m.object_prop_for_key(key)
    if code is None and prop is not None:
        code = prop.code
    if code is None:
        return base_attributes(vt, can_write=False)
    desc = await object_prop_desc(client, code, entry.format)
    if desc is None:
        return base_attributes(vt, can_write=code == _P.OBJECT_FILE_NAME)
    return desc_attributes(desc, prop.conv if prop is not None else m.Conv.PLAIN, vt)


async def device_attributes(
    client: Handle, key: PropertyKey, vt: VarType | None
) -> PortableDeviceValues:
    """Attributes of property ``key`` of the DEVICE object."""
    prop = m.device_prop_for_key(key)
    info = client.connection.device_info
    if prop is None or prop.code not in info.device_properties_supported:
        return base_attributes(vt, can_write=False)
    desc = await client.device_property_desc(prop.code)
    return desc_attributes(desc, prop.conv, vt)


__all__ = [
    "NOT_SUPPORTED",
    "Node",
    "base_attributes",
    "children",
    "device_attributes",
    "device_values",
    "entry_attributes",
    "entry_values",
    "fallback_puid",
    "mtp_properties",
    "node_values",
    "protocol_text",
    "resolve",
    "select",
    "storage_info",
    "storage_values",
]
