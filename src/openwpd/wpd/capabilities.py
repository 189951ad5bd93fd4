"""IPortableDeviceCapabilities: what the device (and this API over it) can do.

Theory of operation
-------------------
Most answers come from the DeviceInfo dataset read when the session opened: formats from
PlaybackFormats and CaptureFormats (mapped to GUIDs and content types, Windows' MTP driver), events
from EventsSupported (mapped as :mod:`openwpd.wpd.mapping` says, plus WPD_EVENT_DEVICE_REMOVED which
this API raises itself when the link drops). Functional categories are DEVICE and STORAGE (and
STILL_IMAGE_CAPTURE on a device with InitiateCapture); their objects are ``DEVICE`` and the
storages. Format properties come from GetObjectPropsSupported and GetObjectPropDesc. The
supported commands are the WPD commands this API implements for the device -- the ones its
facets issue, the ones ``send_command`` takes -- narrowed by the operations the device offers.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from openwpd.client import Handle
from openwpd.protocol.codes import ObjectFormatCode, ObjectPropCode, OperationCode
from openwpd.wpd import commands as c
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import E_INVALIDARG, WpdError
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.objects import NOT_SUPPORTED, base_attributes, desc_attributes, object_prop_desc
from openwpd.wpd.values import (
    PortableDeviceKeyCollection,
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
)

if TYPE_CHECKING:
    from openwpd.wpd.handle import WpdHandle

_O = OperationCode

#: Commands every MTP device gets (the API implements them with base operations).
BASE_COMMANDS: tuple[PropertyKey, ...] = (
    c.WPD_COMMAND_COMMON_GET_OBJECT_IDS_FROM_PERSISTENT_UNIQUE_IDS,
    c.WPD_COMMAND_OBJECT_ENUMERATION_START_FIND,
    c.WPD_COMMAND_OBJECT_ENUMERATION_FIND_NEXT,
    c.WPD_COMMAND_OBJECT_ENUMERATION_END_FIND,
    c.WPD_COMMAND_OBJECT_PROPERTIES_GET_SUPPORTED,
    c.WPD_COMMAND_OBJECT_PROPERTIES_GET_ATTRIBUTES,
    c.WPD_COMMAND_OBJECT_PROPERTIES_GET,
    c.WPD_COMMAND_OBJECT_PROPERTIES_SET,
    c.WPD_COMMAND_OBJECT_PROPERTIES_GET_ALL,
    c.WPD_COMMAND_OBJECT_PROPERTIES_DELETE,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_GET_VALUES_BY_OBJECT_LIST_START,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_GET_VALUES_BY_OBJECT_LIST_NEXT,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_GET_VALUES_BY_OBJECT_LIST_END,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_GET_VALUES_BY_OBJECT_FORMAT_START,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_GET_VALUES_BY_OBJECT_FORMAT_NEXT,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_GET_VALUES_BY_OBJECT_FORMAT_END,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_SET_VALUES_BY_OBJECT_LIST_START,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_SET_VALUES_BY_OBJECT_LIST_NEXT,
    c.WPD_COMMAND_OBJECT_PROPERTIES_BULK_SET_VALUES_BY_OBJECT_LIST_END,
    c.WPD_COMMAND_OBJECT_RESOURCES_GET_SUPPORTED,
    c.WPD_COMMAND_OBJECT_RESOURCES_GET_ATTRIBUTES,
    c.WPD_COMMAND_OBJECT_RESOURCES_OPEN,
    c.WPD_COMMAND_OBJECT_RESOURCES_READ,
    c.WPD_COMMAND_OBJECT_RESOURCES_WRITE,
    c.WPD_COMMAND_OBJECT_RESOURCES_CLOSE,
    c.WPD_COMMAND_OBJECT_RESOURCES_DELETE,
    c.WPD_COMMAND_OBJECT_RESOURCES_CREATE_RESOURCE,
    c.WPD_COMMAND_OBJECT_RESOURCES_REVERT,
    c.WPD_COMMAND_OBJECT_RESOURCES_SEEK,
    c.WPD_COMMAND_OBJECT_RESOURCES_COMMIT,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_CREATE_OBJECT_WITH_PROPERTIES_ONLY,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_CREATE_OBJECT_WITH_PROPERTIES_AND_DATA,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_WRITE_OBJECT_DATA,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_COMMIT_OBJECT,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_REVERT_OBJECT,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_DELETE_OBJECTS,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_UPDATE_OBJECT_WITH_PROPERTIES_AND_DATA,
    c.WPD_COMMAND_CAPABILITIES_GET_SUPPORTED_COMMANDS,
    c.WPD_COMMAND_CAPABILITIES_GET_COMMAND_OPTIONS,
    c.WPD_COMMAND_CAPABILITIES_GET_SUPPORTED_FUNCTIONAL_CATEGORIES,
    c.WPD_COMMAND_CAPABILITIES_GET_FUNCTIONAL_OBJECTS,
    c.WPD_COMMAND_CAPABILITIES_GET_SUPPORTED_CONTENT_TYPES,
    c.WPD_COMMAND_CAPABILITIES_GET_SUPPORTED_FORMATS,
    c.WPD_COMMAND_CAPABILITIES_GET_SUPPORTED_FORMAT_PROPERTIES,
    c.WPD_COMMAND_CAPABILITIES_GET_FIXED_PROPERTY_ATTRIBUTES,
    c.WPD_COMMAND_CAPABILITIES_GET_SUPPORTED_EVENTS,
    c.WPD_COMMAND_CAPABILITIES_GET_EVENT_OPTIONS,
    c.WPD_COMMAND_MTP_EXT_GET_SUPPORTED_VENDOR_OPCODES,
    c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE,
    c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_READ,
    c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_WRITE,
    c.WPD_COMMAND_MTP_EXT_READ_DATA,
    c.WPD_COMMAND_MTP_EXT_WRITE_DATA,
    c.WPD_COMMAND_MTP_EXT_END_DATA_TRANSFER,
    c.WPD_COMMAND_MTP_EXT_GET_VENDOR_EXTENSION_DESCRIPTION,
)

#: Commands that need one device operation.
OPTIONAL_COMMANDS: tuple[tuple[PropertyKey, int], ...] = (
    (c.WPD_COMMAND_COMMON_RESET_DEVICE, _O.RESET_DEVICE),
    (c.WPD_COMMAND_OBJECT_MANAGEMENT_MOVE_OBJECTS, _O.MOVE_OBJECT),
    (c.WPD_COMMAND_OBJECT_MANAGEMENT_COPY_OBJECTS, _O.COPY_OBJECT),
    (c.WPD_COMMAND_STORAGE_FORMAT, _O.FORMAT_STORE),
    (c.WPD_COMMAND_STILL_IMAGE_CAPTURE_INITIATE, _O.INITIATE_CAPTURE),
)


def supported_commands(handle: WpdHandle) -> list[PropertyKey]:
    """The commands of :data:`BASE_COMMANDS` plus those of :data:`OPTIONAL_COMMANDS` whose
    operation the device offers."""
    conn = handle.conn
    extra = [command for command, op in OPTIONAL_COMMANDS if conn.supports(op)]
    return [*BASE_COMMANDS, *extra]


def _formats(handle: WpdHandle) -> list[int]:
    info = handle.conn.device_info
    seen: dict[int, None] = {}
    for code in (*info.playback_formats, *info.capture_formats):
        seen.setdefault(code, None)
    return list(seen)


def _content_types(formats: list[int]) -> list[uuid.UUID]:
    found: dict[uuid.UUID, None] = {g.WPD_CONTENT_TYPE_FOLDER: None}
    for code in formats:
        if code != ObjectFormatCode.ASSOCIATION:
            found.setdefault(m.content_type_for_format(code), None)
    return list(found)


def _clsids(items: list[uuid.UUID]) -> PortableDevicePropVariantCollection:
    return PortableDevicePropVariantCollection(items, vt=VarType.CLSID)


class PortableDeviceCapabilities:
    """IPortableDeviceCapabilities of one handle (see the module docstring)."""

    def __init__(self, handle: WpdHandle) -> None:
        self._handle = handle

    def get_supported_commands(self) -> PortableDeviceKeyCollection:
        """GetSupportedCommands."""
        self._handle.check_open()
        return PortableDeviceKeyCollection(supported_commands(self._handle))

    def get_command_options(self, command: PropertyKey) -> PortableDeviceValues:
        """GetCommandOptions: WPD_OPTION_* of a supported command (recursive delete, seeking);
        HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED) for a command that is not supported."""
        self._handle.check_open()
        if command not in supported_commands(self._handle):
            raise WpdError(NOT_SUPPORTED, f"{command!r} is not supported")
        options = PortableDeviceValues()
        if command == c.WPD_COMMAND_OBJECT_MANAGEMENT_DELETE_OBJECTS:
            options[c.WPD_OPTION_OBJECT_MANAGEMENT_RECURSIVE_DELETE_SUPPORTED] = True
        elif command.fmtid == g.WPD_CATEGORY_OBJECT_RESOURCES:
            options[c.WPD_OPTION_OBJECT_RESOURCES_SEEK_ON_READ_SUPPORTED] = True
            options[c.WPD_OPTION_OBJECT_RESOURCES_SEEK_ON_WRITE_SUPPORTED] = True
        return options

    def get_functional_categories(self) -> PortableDevicePropVariantCollection:
        """GetFunctionalCategories: VT_CLSID categories."""
        self._handle.check_open()
        found = [g.WPD_FUNCTIONAL_CATEGORY_DEVICE, g.WPD_FUNCTIONAL_CATEGORY_STORAGE]
        if self._handle.conn.supports(_O.INITIATE_CAPTURE):
            found.append(g.WPD_FUNCTIONAL_CATEGORY_STILL_IMAGE_CAPTURE)
        return _clsids(found)

    def get_functional_objects(self, category: uuid.UUID) -> PortableDevicePropVariantCollection:
        """GetFunctionalObjects: the ids of the functional objects of ``category``
        (WPD_FUNCTIONAL_CATEGORY_ALL: all of them)."""
        handle = self._handle
        found: list[str] = []
        if category in (g.WPD_FUNCTIONAL_CATEGORY_DEVICE, g.WPD_FUNCTIONAL_CATEGORY_ALL):
            found.append(g.WPD_DEVICE_OBJECT_ID)
        if category in (g.WPD_FUNCTIONAL_CATEGORY_STORAGE, g.WPD_FUNCTIONAL_CATEGORY_ALL):

            async def storages() -> list[str]:
                return [m.storage_object_id(s.id) for s in await handle.client.storages()]

            found.extend(handle.call(storages))
        handle.check_open()
        return PortableDevicePropVariantCollection(found, vt=VarType.LPWSTR)

    def get_supported_content_types(
        self, category: uuid.UUID
    ) -> PortableDevicePropVariantCollection:
        """GetSupportedContentTypes: what objects of ``category`` can hold."""
        self._handle.check_open()
        found: list[uuid.UUID] = []
        if category in (g.WPD_FUNCTIONAL_CATEGORY_STORAGE, g.WPD_FUNCTIONAL_CATEGORY_ALL):
            found = _content_types(_formats(self._handle))
        elif category == g.WPD_FUNCTIONAL_CATEGORY_STILL_IMAGE_CAPTURE:
            found = [g.WPD_CONTENT_TYPE_IMAGE]
        return _clsids(found)

    def get_supported_formats(self, content_type: uuid.UUID) -> PortableDevicePropVariantCollection:
        """GetSupportedFormats: the format GUIDs of ``content_type`` the device handles
        (WPD_CONTENT_TYPE_ALL: every format)."""
        self._handle.check_open()
        found = [
            m.format_to_guid(code)
            for code in _formats(self._handle)
            if content_type in (g.WPD_CONTENT_TYPE_ALL, m.content_type_for_format(code))
        ]
        return _clsids(found)

    def get_supported_format_properties(
        self, object_format: uuid.UUID
    ) -> PortableDeviceKeyCollection:
        """GetSupportedFormatProperties: the keys objects of ``object_format`` carry."""
        code = _format_code(object_format)
        client: Handle = self._handle.client

        async def codes() -> tuple[int, ...]:
            if client.connection.supports(_O.GET_OBJECT_PROPS_SUPPORTED):
                return await client.properties_supported(code)
            return ()

        keys: dict[PropertyKey, None] = dict.fromkeys(
            (
                k.WPD_OBJECT_ID,
                k.WPD_OBJECT_PARENT_ID,
                k.WPD_OBJECT_NAME,
                k.WPD_OBJECT_PERSISTENT_UNIQUE_ID,
                k.WPD_OBJECT_FORMAT,
                k.WPD_OBJECT_CONTENT_TYPE,
                k.WPD_OBJECT_ORIGINAL_FILE_NAME,
                k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID,
            )
        )
        for prop in self._handle.call(codes):
            keys.setdefault(m.object_prop(prop).key, None)
        return PortableDeviceKeyCollection(keys)

    def get_fixed_property_attributes(
        self, object_format: uuid.UUID, key: PropertyKey
    ) -> PortableDeviceValues:
        """GetFixedPropertyAttributes: the attributes every object of ``object_format`` has for
        ``key`` (from the device's ObjectPropDesc)."""
        code = _format_code(object_format)
        prop = m.object_prop_for_key(key)
        client = self._handle.client
        if key == k.WPD_OBJECT_NAME:
            prop = m.object_prop(ObjectPropCode.OBJECT_FILE_NAME)
        if prop is None:
            self._handle.check_open()
            return base_attributes(None, can_write=False)
        found = prop

        async def attributes() -> PortableDeviceValues:
            desc = await object_prop_desc(client, found.code, code)
            if desc is None:
                return base_attributes(None, can_write=False)
            return desc_attributes(desc, found.conv, None)

        return self._handle.call(attributes)

    def get_supported_events(self) -> PortableDevicePropVariantCollection:
        """GetSupportedEvents: VT_CLSID event GUIDs."""
        self._handle.check_open()
        return _clsids(supported_events(self._handle))

    def get_event_options(self, event: uuid.UUID) -> PortableDeviceValues:
        """GetEventOptions: every event is broadcast, none is an AutoPlay event.
        HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED) for an event the device does not send."""
        self._handle.check_open()
        if event not in supported_events(self._handle):
            raise WpdError(NOT_SUPPORTED, f"event {event} is not supported")
        options = PortableDeviceValues()
        options[k.WPD_EVENT_OPTION_IS_BROADCAST_EVENT] = True
        options[k.WPD_EVENT_OPTION_IS_AUTOPLAY_EVENT] = False
        return options

    def cancel(self) -> None:
        """Cancel every pending operation of the handle."""
        self._handle.cancel()


def supported_events(handle: WpdHandle) -> list[uuid.UUID]:
    """The WPD events the device can raise (plus DEVICE_REMOVED)."""
    found: dict[uuid.UUID, None] = {}
    for code in handle.conn.device_info.events_supported:
        found.setdefault(m.event_guid(code), None)
    found.setdefault(g.WPD_EVENT_DEVICE_REMOVED, None)
    return list(found)


def _format_code(object_format: uuid.UUID) -> int:
    code = m.guid_to_format(object_format) if isinstance(object_format, uuid.UUID) else None
    if code is None:
        raise WpdError(E_INVALIDARG, f"{object_format!r} is not an MTP format")
    return code


__all__ = [
    "BASE_COMMANDS",
    "OPTIONAL_COMMANDS",
    "PortableDeviceCapabilities",
    "supported_commands",
    "supported_events",
]
