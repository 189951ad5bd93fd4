"""IPortableDeviceResources: an object's data streams.

Theory of operation
-------------------
An MTP object has at most two resources: its data (WPD_RESOURCE_DEFAULT, files only) and a
thumbnail (WPD_RESOURCE_THUMBNAIL, when ObjectInfo names a thumbnail format and the device has
GetThumb). Folders, storages and the device have none. ``get_stream`` opens a
:class:`~openwpd.wpd.streams.ReadStream` (STGM_READ) or a
:class:`~openwpd.wpd.streams.WriteStream` that replaces the object's data on commit (STGM_WRITE;
STGM_READWRITE starts from the current data). The thumbnail is read-only and no MTP resource
can be deleted (E_ACCESSDENIED). ``create_resource`` can only (re)create the default resource
of an existing file -- MTP objects have no other writable resources
(HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED)).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO, cast

from openwpd.client import Entry, Handle
from openwpd.protocol.codes import OperationCode
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import E_ACCESSDENIED, E_INVALIDARG, WpdError
from openwpd.wpd.keys import PropertyKey
from openwpd.wpd.objects import NOT_SUPPORTED, resolve, storage_info
from openwpd.wpd.streams import (
    OPTIMAL_BUFFER_SIZE,
    STGM_READ,
    STGM_READWRITE,
    STGM_WRITE,
    PortableDeviceDataStream,
    ReadStream,
    WriteStream,
)
from openwpd.wpd.values import PortableDeviceKeyCollection, PortableDeviceValues

if TYPE_CHECKING:
    from openwpd.wpd.handle import WpdHandle


async def _file(client: Handle, object_id: str) -> Entry | None:
    """The entry of a file object; None for folders and functional objects."""
    node = await resolve(client, object_id)
    if node.entry is None or node.entry.is_folder:
        return None
    return node.entry


async def _resources(client: Handle, object_id: str) -> tuple[Entry | None, list[PropertyKey]]:
    entry = await _file(client, object_id)
    if entry is None:
        return None, []
    found = [k.WPD_RESOURCE_DEFAULT]
    if client.connection.supports(OperationCode.GET_THUMB):
        info = await client.object_info(entry)
        if info.thumb_format:
            found.append(k.WPD_RESOURCE_THUMBNAIL)
    return entry, found


class PortableDeviceResources:
    """IPortableDeviceResources of one handle (see the module docstring)."""

    def __init__(self, handle: WpdHandle) -> None:
        self._handle = handle

    def get_supported_resources(self, object_id: str) -> PortableDeviceKeyCollection:
        """GetSupportedResources: the resource keys the object has."""
        _entry, found = self._handle.call(lambda: _resources(self._handle.client, object_id))
        return PortableDeviceKeyCollection(found)

    def get_resource_attributes(self, object_id: str, key: PropertyKey) -> PortableDeviceValues:
        """GetResourceAttributes: WPD_RESOURCE_ATTRIBUTE_* of one resource (TOTAL_SIZE,
        CAN_READ/WRITE/DELETE, OPTIMAL_*_BUFFER_SIZE, FORMAT, RESOURCE_KEY)."""
        client = self._handle.client

        async def attributes() -> PortableDeviceValues:
            entry, found = await _resources(client, object_id)
            if entry is None or key not in found:
                raise WpdError(NOT_SUPPORTED, f"{object_id!r} has no resource {key.name}")
            v = PortableDeviceValues()
            v[k.WPD_RESOURCE_ATTRIBUTE_CAN_READ] = True
            v[k.WPD_RESOURCE_ATTRIBUTE_CAN_DELETE] = False
            v[k.WPD_RESOURCE_ATTRIBUTE_OPTIMAL_READ_BUFFER_SIZE] = OPTIMAL_BUFFER_SIZE
            v[k.WPD_RESOURCE_ATTRIBUTE_OPTIMAL_WRITE_BUFFER_SIZE] = OPTIMAL_BUFFER_SIZE
            v.set_key_value(k.WPD_RESOURCE_ATTRIBUTE_RESOURCE_KEY, key)
            if key == k.WPD_RESOURCE_THUMBNAIL:
                info = await client.object_info(entry)
                v[k.WPD_RESOURCE_ATTRIBUTE_TOTAL_SIZE] = info.thumb_compressed_size
                v[k.WPD_RESOURCE_ATTRIBUTE_CAN_WRITE] = False
                v[k.WPD_RESOURCE_ATTRIBUTE_FORMAT] = m.format_to_guid(info.thumb_format)
            else:
                storage = await storage_info(client, entry.storage_id)
                writable = not storage.read_only and not self._handle.read_only
                v[k.WPD_RESOURCE_ATTRIBUTE_TOTAL_SIZE] = entry.size
                v[k.WPD_RESOURCE_ATTRIBUTE_CAN_WRITE] = writable
                v[k.WPD_RESOURCE_ATTRIBUTE_FORMAT] = m.format_to_guid(entry.format)
            return v

        return self._handle.call(attributes)

    def get_stream(
        self, object_id: str, key: PropertyKey, mode: int
    ) -> tuple[PortableDeviceDataStream, int]:
        """GetStream: ``(stream, optimal_buffer_size)`` over one resource. ``mode`` is
        STGM_READ, STGM_WRITE or STGM_READWRITE (writing: the default resource only)."""
        if mode not in (STGM_READ, STGM_WRITE, STGM_READWRITE):
            raise WpdError(E_INVALIDARG, f"bad stream mode {mode!r}")
        handle = self._handle
        handle.check_open()
        if mode != STGM_READ:
            handle.check_writable()
        client = handle.client

        async def open_resource() -> tuple[Entry, bytes | None]:
            entry, found = await _resources(client, object_id)
            if entry is None or key not in found:
                raise WpdError(NOT_SUPPORTED, f"{object_id!r} has no resource {key.name}")
            if key == k.WPD_RESOURCE_THUMBNAIL:
                if mode != STGM_READ:
                    raise WpdError(E_ACCESSDENIED, "the thumbnail cannot be written")
                return entry, await client.thumbnail(entry)
            return entry, None

        entry, thumbnail = handle.call(open_resource)
        if mode == STGM_READ:
            return ReadStream(handle, entry, data=thumbnail), OPTIMAL_BUFFER_SIZE
        stream = WriteStream(handle, name=entry.name, target=entry, mode=mode)
        if mode == STGM_READWRITE:
            spool = cast(BinaryIO, stream._spool)
            handle.call(lambda: client.download(entry, spool))
            stream.seek(0)
        return stream, OPTIMAL_BUFFER_SIZE

    def delete(self, object_id: str, keys: Iterable[PropertyKey]) -> None:
        """Delete: MTP resources cannot be deleted (E_ACCESSDENIED; ERROR_NOT_SUPPORTED for a
        resource the object does not have)."""
        wanted = list(keys)
        _entry, found = self._handle.call(lambda: _resources(self._handle.client, object_id))
        for key in wanted:
            if key not in found:
                raise WpdError(NOT_SUPPORTED, f"{object_id!r} has no resource {key!r}")
            raise WpdError(E_ACCESSDENIED, f"{key.name} cannot be deleted")

    def create_resource(self, attributes: PortableDeviceValues) -> tuple[WriteStream, int]:
        """CreateResource: ``attributes`` name the object (WPD_OBJECT_ID) and the resource
        (WPD_RESOURCE_ATTRIBUTE_RESOURCE_KEY, set with ``set_key_value``). Only
        WPD_RESOURCE_DEFAULT of a file can be created: the stream's commit replaces the data."""
        handle = self._handle
        handle.check_open()
        handle.check_writable()
        object_id = attributes.get(k.WPD_OBJECT_ID)
        key = attributes.get(k.WPD_RESOURCE_ATTRIBUTE_RESOURCE_KEY)
        if not isinstance(object_id, str) or not isinstance(key, PropertyKey):
            raise WpdError(E_INVALIDARG, "WPD_OBJECT_ID and the resource key are required")
        if key != k.WPD_RESOURCE_DEFAULT:
            raise WpdError(NOT_SUPPORTED, f"MTP objects have no writable {key.name}")
        entry = handle.call(lambda: _file(handle.client, object_id))
        if entry is None:
            raise WpdError(E_INVALIDARG, f"{object_id!r} has no data resource")
        return WriteStream(handle, name=entry.name, target=entry), OPTIMAL_BUFFER_SIZE

    def cancel(self) -> None:
        """Cancel every pending operation of the handle."""
        self._handle.cancel()


__all__ = ["PortableDeviceResources"]
