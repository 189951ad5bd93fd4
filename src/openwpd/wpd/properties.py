"""IPortableDeviceProperties: read, describe and write object properties.

Theory of operation
-------------------
Reading goes through :func:`openwpd.wpd.objects.node_values`: one GetObjectPropList (or
ObjectInfo) per object, mapped mechanically to PROPERTYKEYs (Windows' MTP driver). ``get_values``
with keys returns exactly those keys; a key the object does not have comes back as a
``VT_ERROR`` value (WPD's per-key failure, S_FALSE) rather than an exception.

Writing (``set_values``) maps each key back to what MTP can change: WPD_OBJECT_NAME and
WPD_OBJECT_ORIGINAL_FILE_NAME rename the object (ObjectFileName), other mapped keys are written
with SetObjectPropValue, DEVICE keys with SetDevicePropValue. Keys nothing can write (the id,
the parent, the format, any key of a storage…) fail with E_ACCESSDENIED. The results hold one
``VT_ERROR`` per key. MTP has no deletable properties, so ``delete`` fails with E_ACCESSDENIED.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from openwpd.protocol.errors import Cancelled, OpenWpdError
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import (
    E_ACCESSDENIED,
    E_INVALIDARG,
    S_OK,
    WpdError,
    wpd_error_from,
)
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.objects import (
    NAME_KEYS,
    NOT_SUPPORTED,
    Node,
    base_attributes,
    device_attributes,
    entry_attributes,
    node_values,
    resolve,
    select,
)
from openwpd.wpd.values import PortableDeviceKeyCollection, PortableDeviceValues, PropVariant

if TYPE_CHECKING:
    from openwpd.wpd.bulk import PortableDevicePropertiesBulk
    from openwpd.wpd.handle import WpdHandle


def _keys(keys: Iterable[object]) -> list[PropertyKey]:
    out = list(keys)
    if not all(isinstance(key, PropertyKey) for key in out):
        raise WpdError(E_INVALIDARG, "keys are PropertyKey objects")
    return [key for key in out if isinstance(key, PropertyKey)]


async def read_values(
    handle: WpdHandle, object_id: str, keys: list[PropertyKey] | None
) -> PortableDeviceValues:
    """The properties of ``object_id`` (all, or ``keys`` as :func:`objects.select` does)."""
    node = await resolve(handle.client, object_id)
    values = await node_values(handle.client, node, handle.pnp_id)
    return values if keys is None else select(values, keys)


async def write_values(
    handle: WpdHandle, object_id: str, values: PortableDeviceValues
) -> PortableDeviceValues:
    """Write ``values`` to ``object_id``; one VT_ERROR result per key (see module docstring)."""
    client = handle.client
    node = await resolve(client, object_id)
    results = PortableDeviceValues()
    for key in list(values):
        try:
            await _write_one(handle, node, key, values[key])
            hresult = S_OK
        except (Cancelled, asyncio.CancelledError):
            raise
        except OpenWpdError as exc:
            error = wpd_error_from(exc)
            if error.cancelled:
                raise error from exc
            hresult = error.hresult
        results.set_value(key, PropVariant(VarType.ERROR, hresult))
    return results


async def _write_one(handle: WpdHandle, node: Node, key: PropertyKey, value: object) -> None:
    client = handle.client
    if node.entry is not None:
        if key in NAME_KEYS:
            if not isinstance(value, str) or not value:
                raise WpdError(E_INVALIDARG, "a name is a non-empty string")
            await client.rename(node.entry, value)
            return
        prop = m.object_prop_for_key(key)
        if prop is not None and prop.conv in (m.Conv.PLAIN, m.Conv.DATE, m.Conv.BOOL):
            await client.set_property(node.entry, prop.code, m.variant_to_mtp(prop.conv, value))
            return
    elif node.ref.kind is m.Kind.DEVICE:
        prop = m.device_prop_for_key(key)
        info = client.connection.device_info
        if prop is not None and prop.code in info.device_properties_supported:
            await client.set_device_property(prop.code, m.variant_to_mtp(prop.conv, value))
            return
    raise WpdError(E_ACCESSDENIED, f"{key.name} cannot be written")


class PortableDeviceProperties:
    """IPortableDeviceProperties of one handle (see the module docstring)."""

    def __init__(self, handle: WpdHandle) -> None:
        self._handle = handle

    def get_supported_properties(self, object_id: str) -> PortableDeviceKeyCollection:
        """GetSupportedProperties: the keys the object has."""
        values = self._handle.call(lambda: read_values(self._handle, object_id, None))
        return PortableDeviceKeyCollection(values)

    def get_property_attributes(self, object_id: str, key: PropertyKey) -> PortableDeviceValues:
        """GetPropertyAttributes: WPD_PROPERTY_ATTRIBUTE_* of ``key`` on the object
        (CAN_READ/WRITE/DELETE, FORM and its range/enumeration, VARTYPE…).
        HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED) when the object lacks the key."""
        if not isinstance(key, PropertyKey):
            raise WpdError(E_INVALIDARG, "key is a PropertyKey")
        handle = self._handle

        async def attributes() -> PortableDeviceValues:
            node = await resolve(handle.client, object_id)
            values = await node_values(handle.client, node, handle.pnp_id)
            if key not in values:
                raise WpdError(NOT_SUPPORTED, f"{object_id!r} has no {key.name}")
            vt = values.get_value(key).vt
            if node.entry is not None:
                return await entry_attributes(handle.client, node.entry, key, vt)
            if node.ref.kind is m.Kind.DEVICE:
                return await device_attributes(handle.client, key, vt)
            return base_attributes(vt, can_write=False)

        return handle.call(attributes)

    def get_values(
        self, object_id: str, keys: Iterable[PropertyKey] | None = None
    ) -> PortableDeviceValues:
        """GetValues: every property (``keys`` None) or the given keys; a key the object does
        not have holds a VT_ERROR value (HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED))."""
        wanted = None if keys is None else _keys(keys)
        return self._handle.call(lambda: read_values(self._handle, object_id, wanted))

    def set_values(self, object_id: str, values: PortableDeviceValues) -> PortableDeviceValues:
        """SetValues: write ``values``; returns one VT_ERROR result per key (S_OK or why)."""
        if not isinstance(values, PortableDeviceValues):
            raise WpdError(E_INVALIDARG, "values is a PortableDeviceValues")
        self._handle.check_open()
        self._handle.check_writable()
        return self._handle.call(lambda: write_values(self._handle, object_id, values))

    def delete(self, object_id: str, keys: Iterable[PropertyKey]) -> None:
        """Delete: MTP properties cannot be deleted: E_ACCESSDENIED for any key the object has,
        HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED) for one it lacks."""
        wanted = _keys(keys)
        values = self._handle.call(lambda: read_values(self._handle, object_id, None))
        for key in wanted:
            if key not in values:
                raise WpdError(NOT_SUPPORTED, f"{object_id!r} has no {key.name}")
            raise WpdError(E_ACCESSDENIED, f"{key.name} cannot be deleted")

    def cancel(self) -> None:
        """Cancel every pending operation of the handle."""
        self._handle.cancel()

    def bulk(self) -> PortableDevicePropertiesBulk:
        """QueryInterface for IPortableDevicePropertiesBulk."""
        from openwpd.wpd.bulk import PortableDevicePropertiesBulk

        self._handle.check_open()
        return PortableDevicePropertiesBulk(self._handle)


__all__ = ["PortableDeviceProperties", "read_values", "write_values"]
