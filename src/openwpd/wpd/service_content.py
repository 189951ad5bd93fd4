"""The content of a service: IPortableDeviceContent2, its enumerator and IPortableDeviceProperties
as a service handle sees them.

Theory of operation
-------------------
A service handle sees a restricted tree (WPD services): ``DEVICE`` has one child, the
service's functional object (``"v<ServiceID>"``, see :mod:`openwpd.wpd.services`), whose
children are the objects at the root of the service's storage (Contacts and Calendar keep
theirs in a storage of their own, ``docs/device-services.md``, section 2.1); below them folders list
as usual. Objects elsewhere on the device are out of scope: naming one raises
HRESULT_FROM_WIN32(ERROR_NOT_FOUND).

*Properties.* The service object carries the WPD functional-object keys (WPD_OBJECT_ID,
_NAME, _PERSISTENT_UNIQUE_ID from the service PUID, _CONTENT_TYPE FUNCTIONAL_OBJECT,
WPD_FUNCTIONAL_OBJECT_CATEGORY = the service GUID, WPD_SERVICE_VERSION ...) and every service
property under its PROPERTYKEY (GetServicePropList); writing one is a SetServicePropList,
deleting one a DeleteServicePropList (back to its default). An object carries what the device
handle shows (:func:`openwpd.wpd.objects.entry_values`) with the service's format properties
under the PROPERTYKEYs the service declares for them (e.g. PKEY_ContactObj_GivenName for MTP
0xDD00), WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID = the service object, and the service object
as parent of the storage root's objects. Writing a format property is a SetObjectPropValue;
deleting one a DeleteObjectPropList (the field leaves the file).

*Creating.* ``create_object_with_properties_only`` with a format the service stores (or the
service's content type) creates a minimal vCard / iCalendar file and writes the given format
properties into it with one UpdateObjectPropList -- a properties-only contact, as WPD has it;
if writing them fails the new object is deleted. A folder is created for the FOLDER content
type. ``create_object_with_properties_and_data`` uploads what the stream receives.

Every call runs on the service handle: its Cancel reaches them all.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openwpd.client import Entry, Storage
from openwpd.client.services import ServiceDescription
from openwpd.protocol.codes import ObjectFormatCode, ObjectPropCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import (
    DeletePropList,
    DeletePropListElement,
    ObjectPropList,
    PropListElement,
)
from openwpd.protocol.errors import ResponseError
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.content import (
    PORTABLE_DEVICE_DELETE_NO_RECURSION,
    PORTABLE_DEVICE_DELETE_WITH_RECURSION,
    finish_per_object,
    per_object,
)
from openwpd.wpd.errors import (
    E_ACCESSDENIED,
    E_INVALIDARG,
    ERROR_INVALID_OPERATION,
    ERROR_NOT_FOUND,
    HRESULT_CANCELLED,
    HRESULT_FROM_WIN32,
    S_OK,
    WpdError,
    wpd_error_from,
)
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.objects import NAME_KEYS, NOT_SUPPORTED, base_attributes, entry_values, select
from openwpd.wpd.resources import PortableDeviceResources
from openwpd.wpd.service_values import (
    GENERIC_VARTYPES,
    from_variant,
    key_of,
    property_attributes,
    to_variant,
)
from openwpd.wpd.streams import OPTIMAL_BUFFER_SIZE, WriteStream
from openwpd.wpd.values import (
    PortableDeviceKeyCollection,
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PropVariant,
)

if TYPE_CHECKING:
    from openwpd.wpd.service_scope import ServiceScope

_O = OperationCode
NOT_FOUND = HRESULT_FROM_WIN32(ERROR_NOT_FOUND)

#: The file a properties-only object of a PIM format starts as (fields are written into it).
SKELETONS: dict[int, tuple[str, str]] = {
    ObjectFormatCode.VCARD3: (".vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\nEND:VCARD\r\n"),
    ObjectFormatCode.VCARD2: (".vcf", "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:{name}\r\nEND:VCARD\r\n"),
    ObjectFormatCode.ICALENDAR: (
        ".ics",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//openwpd//EN\r\nBEGIN:VEVENT\r\n"
        "SUMMARY:{name}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ),
}


@dataclass(frozen=True, slots=True)
class ServiceNode:
    """What an object id names on a service handle: the DEVICE, the service object, or an
    object (``entry``) of the service's storage."""

    object_id: str
    entry: Entry | None = None


async def resolve_in(scope: ServiceScope, object_id: str) -> ServiceNode:
    """The node ``object_id`` names in the service's scope; ERROR_NOT_FOUND outside it."""
    if not isinstance(object_id, str):
        raise WpdError(E_INVALIDARG, "object ids are strings")
    if object_id in (g.WPD_DEVICE_OBJECT_ID, scope.object_id, ""):
        return ServiceNode(object_id)
    ref = m.parse_object_id(object_id)
    desc = await scope.service.description()
    if ref.kind is m.Kind.OBJECT and desc.info.storage_id:
        entry = await scope.handle.client.entry(ref.number)
        if entry.storage_id == desc.info.storage_id:
            scope.known.add(entry.handle)
            return ServiceNode(object_id, entry)
    raise WpdError(NOT_FOUND, f"{object_id!r} is not in the service")


async def children_in(scope: ServiceScope, node: ServiceNode) -> list[str]:
    """The object ids of the children of ``node`` in the service's scope."""
    if node.object_id == "":
        return [g.WPD_DEVICE_OBJECT_ID]
    if node.object_id == g.WPD_DEVICE_OBJECT_ID:
        return [scope.object_id]
    parent: Entry | Storage | None = node.entry
    if node.entry is None:
        parent = await scope.storage()
    if parent is None or (isinstance(parent, Entry) and not parent.is_folder):
        return []
    found: list[str] = []
    async for entry in scope.handle.client.list(parent):
        scope.known.add(entry.handle)
        found.append(m.object_id_for_handle(entry.handle))
    return found


def service_version(version: int) -> str:
    """WPD_SERVICE_VERSION text of a ServiceVersion (100 -> ``"1.00"``)."""
    return f"{version // 100}.{version % 100:02d}"


async def service_object_values(scope: ServiceScope) -> PortableDeviceValues:
    """The properties of the service object (see the module docstring)."""
    desc = await scope.service.description()
    info = desc.info
    v = PortableDeviceValues()
    v[k.WPD_OBJECT_ID] = scope.object_id
    v[k.WPD_OBJECT_PARENT_ID] = g.WPD_DEVICE_OBJECT_ID
    v[k.WPD_OBJECT_NAME] = info.name
    v[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID] = "{" + str(info.puid).upper() + "}"
    v[k.WPD_OBJECT_FORMAT] = g.WPD_OBJECT_FORMAT_UNSPECIFIED
    v[k.WPD_OBJECT_CONTENT_TYPE] = g.WPD_CONTENT_TYPE_FUNCTIONAL_OBJECT
    v[k.WPD_FUNCTIONAL_OBJECT_CATEGORY] = info.guid
    v[k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] = scope.object_id
    v[k.WPD_SERVICE_VERSION] = service_version(info.version)
    if info.properties:
        current = await scope.service.get_props()
        for prop in info.properties:
            d = desc.prop_descs.get(prop.code)
            if prop.code in current and d is not None:
                v.set_value(
                    key_of(prop.namespace, prop.pid),
                    to_variant(d.datatype, d.form, current[prop.code]),
                )
    return v


async def object_values(scope: ServiceScope, entry: Entry) -> PortableDeviceValues:
    """The properties of an object of the service (see the module docstring)."""
    desc = await scope.service.description()
    v = await entry_values(scope.handle.client, entry)
    for prop in desc.format_properties(entry.format):
        key = key_of(prop.namespace, prop.pid)
        mtp_key = m.object_prop(prop.code).key
        if mtp_key != key and mtp_key in v:
            raw = v.pop(mtp_key)
            if isinstance(raw, str | int) and not isinstance(raw, bool):
                v.set_value(key, to_variant(prop.desc.datatype, prop.form, raw))
    v[k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] = scope.object_id
    if not entry.parent:
        v[k.WPD_OBJECT_PARENT_ID] = scope.object_id
    return v


async def node_values(scope: ServiceScope, node: ServiceNode) -> PortableDeviceValues:
    """Every property of ``node``."""
    if node.entry is not None:
        return await object_values(scope, node.entry)
    if node.object_id == scope.object_id:
        return await service_object_values(scope)
    if node.object_id == g.WPD_DEVICE_OBJECT_ID:
        from openwpd.wpd.objects import device_values

        return await device_values(scope.handle.client, scope.handle.pnp_id)
    raise WpdError(NOT_SUPPORTED, "the root has no properties")


def _format_prop_code(desc: ServiceDescription, entry: Entry, key: PropertyKey) -> int | None:
    for prop in desc.format_properties(entry.format):
        if key_of(prop.namespace, prop.pid) == key and prop.code not in _GENERIC_CODES:
            return prop.code
    return None


#: Object properties every object has (written through the generic paths, never as fields).
_GENERIC_CODES = frozenset(
    {
        ObjectPropCode.STORAGE_ID,
        ObjectPropCode.OBJECT_FORMAT,
        ObjectPropCode.OBJECT_SIZE,
        ObjectPropCode.OBJECT_FILE_NAME,
        ObjectPropCode.PARENT_OBJECT,
        ObjectPropCode.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER,
        ObjectPropCode.NAME,
    }
)


async def write_one(
    scope: ServiceScope, node: ServiceNode, key: PropertyKey, value: object
) -> None:
    """Write one property of ``node`` (see the module docstring)."""
    desc = await scope.service.description()
    client = scope.handle.client
    if node.entry is not None:
        entry = node.entry
        if key in NAME_KEYS:
            if not isinstance(value, str) or not value:
                raise WpdError(E_INVALIDARG, "a name is a non-empty string")
            await client.rename(entry, value)
            return
        for prop in desc.format_properties(entry.format):
            if key_of(prop.namespace, prop.pid) == key and prop.code not in _GENERIC_CODES:
                mtp = from_variant(prop.desc.datatype, prop.form, value)
                await client.set_property(entry, prop.code, mtp)
                return
    elif node.object_id == scope.object_id:
        found = desc.property_by_key(key.fmtid, key.pid)
        d = desc.prop_descs.get(found.code) if found is not None else None
        if found is not None and d is not None:
            await scope.service.set_props({found.code: from_variant(d.datatype, d.form, value)})
            return
    raise WpdError(E_ACCESSDENIED, f"{key} cannot be written")


def _keys(keys: Iterable[object]) -> list[PropertyKey]:
    out = list(keys)
    if not all(isinstance(key, PropertyKey) for key in out):
        raise WpdError(E_INVALIDARG, "keys are PropertyKey objects")
    return [key for key in out if isinstance(key, PropertyKey)]


class ServiceObjectEnumerator:
    """IEnumPortableDeviceObjectIDs on a service handle: the children of ``parent_id`` in the
    service's scope. The listing is read at the first ``next``/``skip``; a Cancel of the
    service aborts it (``next`` raises 0x800704C7 until ``reset``). Iterating yields the ids."""

    def __init__(self, scope: ServiceScope, parent_id: str) -> None:
        self._scope = scope
        self._parent_id = parent_id
        self._ids: list[str] | None = None
        self._pos = 0
        self._aborted = False
        scope.handle.register(self)

    def abort(self) -> None:
        """Context protocol: a Cancel of the handle aborts the enumeration."""
        self._aborted = True

    def next(self, count: int) -> list[str]:
        """Next: up to ``count`` ids; fewer (or none) at the end."""
        if not isinstance(count, int) or count < 0:
            raise WpdError(E_INVALIDARG, f"bad count {count!r}")
        if self._aborted:
            self._scope.handle.check_open()
            raise WpdError(HRESULT_CANCELLED, "the enumeration was cancelled")
        if self._ids is None:
            scope = self._scope

            async def listing() -> list[str]:
                return await children_in(scope, await resolve_in(scope, self._parent_id))

            self._ids = scope.call(listing)
        batch = self._ids[self._pos : self._pos + count]
        self._pos += len(batch)
        return batch

    def skip(self, count: int) -> None:
        """Skip ``count`` ids."""
        self.next(count)

    def reset(self) -> None:
        """Reset: start over with a fresh listing (also after a Cancel)."""
        self._scope.handle.check_open()
        self._ids = None
        self._pos = 0
        self._aborted = False

    def cancel(self) -> None:
        """Cancel every pending operation of the service handle."""
        self._scope.cancel()

    def close(self) -> None:
        """Release the enumerator."""
        self._scope.handle.unregister(self)

    def __iter__(self) -> Iterator[str]:
        while batch := self.next(64):
            yield from batch

    def __enter__(self) -> ServiceObjectEnumerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PortableDeviceServiceProperties:
    """IPortableDeviceProperties on a service handle (see the module docstring)."""

    def __init__(self, scope: ServiceScope) -> None:
        self._scope = scope

    def _values(self, object_id: str) -> PortableDeviceValues:
        scope = self._scope

        async def read() -> PortableDeviceValues:
            return await node_values(scope, await resolve_in(scope, object_id))

        return scope.call(read)

    def get_supported_properties(self, object_id: str) -> PortableDeviceKeyCollection:
        """GetSupportedProperties: the keys the object has."""
        return PortableDeviceKeyCollection(self._values(object_id))

    def get_values(
        self, object_id: str, keys: Iterable[PropertyKey] | None = None
    ) -> PortableDeviceValues:
        """GetValues: every property, or ``keys`` (a key the object lacks holds VT_ERROR
        HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED))."""
        wanted = None if keys is None else _keys(keys)
        values = self._values(object_id)
        return values if wanted is None else select(values, wanted)

    def get_property_attributes(self, object_id: str, key: PropertyKey) -> PortableDeviceValues:
        """GetPropertyAttributes of ``key`` on the object (ERROR_NOT_SUPPORTED if it lacks
        it)."""
        if not isinstance(key, PropertyKey):
            raise WpdError(E_INVALIDARG, "key is a PropertyKey")
        scope = self._scope

        async def attributes() -> PortableDeviceValues:
            node = await resolve_in(scope, object_id)
            values = await node_values(scope, node)
            if key not in values:
                raise WpdError(NOT_SUPPORTED, f"{object_id!r} has no {key}")
            desc = await scope.service.description()
            if node.object_id == scope.object_id:
                prop = desc.property_by_key(key.fmtid, key.pid)
                d = desc.prop_descs.get(prop.code) if prop is not None else None
                if prop is not None and d is not None:
                    return property_attributes(d.datatype, d.getset, d.form, name=prop.name)
            elif node.entry is not None:
                code = _format_prop_code(desc, node.entry, key)
                for p in desc.format_properties(node.entry.format):
                    if p.code == code:
                        return property_attributes(
                            p.desc.datatype,
                            p.desc.getset,
                            p.form,
                            name=p.name,
                            vartype=GENERIC_VARTYPES.get(p.code),
                        )
                writable = key in NAME_KEYS
                return base_attributes(values.get_value(key).vt, can_write=writable)
            return base_attributes(values.get_value(key).vt, can_write=False)

        return scope.call(attributes)

    def set_values(self, object_id: str, values: PortableDeviceValues) -> PortableDeviceValues:
        """SetValues: one VT_ERROR result per key (S_OK or why it failed)."""
        if not isinstance(values, PortableDeviceValues):
            raise WpdError(E_INVALIDARG, "values is a PortableDeviceValues")
        scope = self._scope
        scope.handle.check_writable()

        async def write() -> PortableDeviceValues:
            node = await resolve_in(scope, object_id)
            results = PortableDeviceValues()
            for key in list(values):
                try:
                    await write_one(scope, node, key, values[key])
                    hresult = S_OK
                except (ResponseError, WpdError) as exc:
                    hresult = wpd_error_from(exc).hresult
                results.set_value(key, PropVariant(VarType.ERROR, hresult))
            return results

        return scope.call(write)

    def delete(self, object_id: str, keys: Iterable[PropertyKey]) -> None:
        """Delete: a writable service property returns to its default; a format property of
        an object leaves the object (DeleteObjectPropList). E_ACCESSDENIED for other keys."""
        wanted = _keys(keys)
        scope = self._scope
        scope.handle.check_writable()

        async def delete() -> None:
            node = await resolve_in(scope, object_id)
            desc = await scope.service.description()
            if node.object_id == scope.object_id:
                codes = []
                for key in wanted:
                    prop = desc.property_by_key(key.fmtid, key.pid)
                    if prop is None:
                        raise WpdError(E_ACCESSDENIED, f"{key} cannot be deleted")
                    codes.append(prop.code)
                await scope.service.delete_props(codes)
                return
            if node.entry is None:
                raise WpdError(E_ACCESSDENIED, "the device object has no deletable properties")
            elements = []
            for key in wanted:
                code = _format_prop_code(desc, node.entry, key)
                if code is None:
                    raise WpdError(E_ACCESSDENIED, f"{key} cannot be deleted")
                elements.append(DeletePropListElement(node.entry.handle, code))
            res = await scope.handle.client.execute(
                _O.DELETE_OBJECT_PROP_LIST,
                (node.entry.handle,),
                data=DeletePropList(tuple(elements)).to_bytes(),
            )
            if res.code != ResponseCode.OK:
                raise ResponseError(res.code, params=res.params)

        scope.call(delete)

    def cancel(self) -> None:
        """Cancel every pending operation of the service handle."""
        self._scope.cancel()


def _name_of(values: PortableDeviceValues) -> str:
    for key in (k.WPD_OBJECT_ORIGINAL_FILE_NAME, k.WPD_OBJECT_NAME):
        value = values.get(key)
        if isinstance(value, str) and value:
            return value
    raise WpdError(E_INVALIDARG, "WPD_OBJECT_ORIGINAL_FILE_NAME or WPD_OBJECT_NAME is required")


class PortableDeviceServiceContent:
    """IPortableDeviceContent2 on a service handle (see the module docstring)."""

    def __init__(self, scope: ServiceScope) -> None:
        self._scope = scope

    def enum_objects(
        self, parent_id: str, filter: PortableDeviceValues | None = None, flags: int = 0
    ) -> ServiceObjectEnumerator:
        """EnumObjects: the children of ``parent_id`` in the service's scope (``DEVICE`` gives
        the service object). ``filter`` is ignored, as in WPD."""
        self._scope.handle.check_open()
        if not isinstance(parent_id, str):
            raise WpdError(E_INVALIDARG, "the parent id is a string")
        return ServiceObjectEnumerator(self._scope, parent_id)

    def properties(self) -> PortableDeviceServiceProperties:
        """Properties: the property facet."""
        self._scope.handle.check_open()
        return PortableDeviceServiceProperties(self._scope)

    def transfer(self) -> PortableDeviceResources:
        """Transfer: the resource facet (streams of the service's objects)."""
        self._scope.handle.check_open()
        return PortableDeviceResources(self._scope.handle)

    async def _parent(self, values: PortableDeviceValues) -> Entry | Storage:
        parent_id = values.get(k.WPD_OBJECT_PARENT_ID)
        if not isinstance(parent_id, str):
            raise WpdError(E_INVALIDARG, "WPD_OBJECT_PARENT_ID is required")
        node = await resolve_in(self._scope, parent_id)
        if node.entry is not None and node.entry.is_folder:
            return node.entry
        if node.object_id == self._scope.object_id:
            storage = await self._scope.storage()
            if storage is not None:
                return storage
        raise WpdError(E_INVALIDARG, f"{parent_id!r} cannot contain objects")

    def create_object_with_properties_only(self, values: PortableDeviceValues) -> str:
        """CreateObjectWithPropertiesOnly: a folder (content type FOLDER), a properties-only
        object of a service format (a vCard / iCalendar file holding the given format
        properties, see the module docstring) or an empty file. Returns the new id."""
        scope = self._scope
        scope.handle.check_open()
        scope.handle.check_writable()
        name = _name_of(values)
        desc = scope.description()
        fmt = _format_code(desc, values)

        async def create() -> str:
            client = scope.handle.client
            parent = await self._parent(values)
            if values.get(k.WPD_OBJECT_CONTENT_TYPE) == g.WPD_CONTENT_TYPE_FOLDER:
                entry = await client.mkdir(parent, name)
            elif fmt in SKELETONS:
                entry = await _create_pim(scope, desc, parent, fmt, name, values)
            else:
                entry = await client.upload(io.BytesIO(b""), parent, name=name, size=0)
            scope.known.add(entry.handle)
            return m.object_id_for_handle(entry.handle)

        return scope.call(create)

    def create_object_with_properties_and_data(
        self, values: PortableDeviceValues
    ) -> tuple[WriteStream, int]:
        """CreateObjectWithPropertiesAndData: a write stream; the object exists after
        ``commit()`` (``get_object_id()`` then names it)."""
        scope = self._scope
        scope.handle.check_open()
        scope.handle.check_writable()
        name = _name_of(values)
        parent = scope.call(lambda: self._parent(values))
        return WriteStream(scope.handle, name=name, parent=parent), OPTIMAL_BUFFER_SIZE

    def delete(
        self, options: int, object_ids: Iterable[object]
    ) -> PortableDevicePropVariantCollection:
        """Delete objects of the service; per-object VT_ERROR results (see
        :meth:`openwpd.wpd.PortableDeviceContent.delete`)."""
        scope = self._scope
        scope.handle.check_open()
        if options not in (
            PORTABLE_DEVICE_DELETE_NO_RECURSION,
            PORTABLE_DEVICE_DELETE_WITH_RECURSION,
        ):
            raise WpdError(E_INVALIDARG, f"bad delete options {options!r}")
        scope.handle.check_writable()
        ids = list(object_ids)
        if not all(isinstance(i, str) for i in ids):
            raise WpdError(E_INVALIDARG, "object ids are strings")

        async def delete_one(object_id: str) -> None:
            node = await resolve_in(scope, object_id)
            if node.entry is None:
                raise WpdError(E_ACCESSDENIED, f"{object_id!r} is a functional object")
            if (
                node.entry.is_folder
                and options == PORTABLE_DEVICE_DELETE_NO_RECURSION
                and await children_in(scope, node)
            ):
                raise WpdError(
                    HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION), f"{object_id!r} has children"
                )
            await scope.handle.client.delete(node.entry)

        results = scope.call(lambda: per_object([str(i) for i in ids], delete_one))
        finish_per_object(results)
        return results

    def cancel(self) -> None:
        """Cancel every pending operation of the service handle."""
        self._scope.cancel()


def _format_code(desc: ServiceDescription, values: PortableDeviceValues) -> int | None:
    fmt = values.get(k.WPD_OBJECT_FORMAT)
    if isinstance(fmt, uuid.UUID):
        for f in desc.info.formats:
            if f.guid == fmt:
                return f.code
        return m.guid_to_format(fmt)
    if values.get(k.WPD_OBJECT_CONTENT_TYPE) == g.WPD_CONTENT_TYPE_CONTACT:
        return next((f.code for f in desc.info.formats if f.code in SKELETONS), None)
    return None


async def _create_pim(
    scope: ServiceScope,
    desc: ServiceDescription,
    parent: Entry | Storage,
    fmt: int,
    name: str,
    values: PortableDeviceValues,
) -> Entry:
    client = scope.handle.client
    suffix, template = SKELETONS[fmt]
    title = name[: -len(suffix)] if name.lower().endswith(suffix) else name
    file_name = name if name.lower().endswith(suffix) else name + suffix
    elements = []
    for key in values:
        for prop in desc.format_properties(fmt):
            if key_of(prop.namespace, prop.pid) == key and prop.code not in _GENERIC_CODES:
                mtp = from_variant(prop.desc.datatype, prop.form, values.get_value(key))
                elements.append(PropListElement(0, prop.code, prop.desc.datatype, mtp))
    data = template.format(name=title.replace("\r", " ").replace("\n", " ")).encode()
    entry = await client.upload(io.BytesIO(data), parent, name=file_name, size=len(data))
    if elements:
        try:
            res = await client.execute(
                _O.UPDATE_OBJECT_PROP_LIST,
                (entry.handle,),
                data=ObjectPropList(tuple(elements)).to_bytes(),
            )
            if res.code != ResponseCode.OK:
                raise ResponseError(res.code, params=res.params)
        except BaseException:
            # the caller sees a failure: the new object must not stay (the internal handle
            # is not reached by a Cancel of the service)
            await scope.handle.aux.delete(entry)
            raise
        entry = await client.entry(entry.handle)
    return entry


__all__ = [
    "SKELETONS",
    "PortableDeviceServiceContent",
    "PortableDeviceServiceProperties",
    "ServiceNode",
    "ServiceObjectEnumerator",
    "children_in",
    "node_values",
    "object_values",
    "resolve_in",
    "service_object_values",
    "service_version",
]
