"""IPortableDeviceServiceCapabilities: what a service declares, in WPD's terms.

Theory of operation
-------------------
Everything comes from the service's description (:func:`openwpd.client.services.describe`:
ServiceInfo, ServicePropDescs and the FormatCapabilityList of GetServiceCapabilities), read once
per connection through the service handle (so a Cancel of the service reaches the read):

* methods: the GUIDs of ServiceInfo's methods; attributes NAME, ASSOCIATED_FORMAT (GUID_NULL for
  none), ACCESS (WPD_COMMAND_ACCESS_READ: MTP has no access level for methods) and PARAMETERS
  (the PROPERTYKEYs of the method format's 0x82 forms, in parameter order);
* formats: ServiceInfo's formats (NAME, MIMETYPE); their properties are the 0x81 forms of the
  format's capability (PROPERTYKEY, type, access, form);
* events: ServiceInfo's events; NAME, OPTIONS (every event is broadcast, none is AutoPlay) and
  PARAMETERS -- the keys openwpd puts into the event (:mod:`openwpd.wpd.service_events`);
* inherited services: ServiceInfo's UsedServices for WPD_SERVICE_INHERITANCE_IMPLEMENTATION;
* rendering profiles: MTP services have none (an empty collection for a known format);
* commands: the WPD commands this API implements on a service handle.

Unknown methods, formats, events, parameters and properties raise
HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED); arguments of the wrong kind E_INVALIDARG.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from openwpd.client.services import FormatProperty, MethodParam, ServiceDescription
from openwpd.protocol.codes import EventCode
from openwpd.protocol.datasets import ServiceEvent, ServiceFormat
from openwpd.wpd import commands as c
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd.errors import E_INVALIDARG, WpdError
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.objects import FORM_UNSPECIFIED, NOT_SUPPORTED
from openwpd.wpd.service_values import (
    GENERIC_VARTYPES,
    key_of,
    parameter_attributes,
    property_attributes,
)
from openwpd.wpd.values import (
    PortableDeviceKeyCollection,
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PortableDeviceValuesCollection,
)

if TYPE_CHECKING:
    from openwpd.wpd.service_scope import ServiceScope

#: WPD_SERVICE_INHERITANCE_TYPES
WPD_SERVICE_INHERITANCE_IMPLEMENTATION = 0
#: WPD_COMMAND_ACCESS_TYPES
WPD_COMMAND_ACCESS_READ = 1
WPD_COMMAND_ACCESS_READWRITE = 3

#: The commands a service handle takes (its facets issue them; ``send_command`` answers
#: GET_SERVICE_OBJECT_ID and the MTP pass-through).
SERVICE_COMMANDS: tuple[PropertyKey, ...] = (
    c.WPD_COMMAND_SERVICE_COMMON_GET_SERVICE_OBJECT_ID,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_SUPPORTED_METHODS,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_SUPPORTED_METHODS_BY_FORMAT,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_METHOD_ATTRIBUTES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_METHOD_PARAMETER_ATTRIBUTES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_SUPPORTED_FORMATS,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_FORMAT_ATTRIBUTES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_SUPPORTED_FORMAT_PROPERTIES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_FORMAT_PROPERTY_ATTRIBUTES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_SUPPORTED_EVENTS,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_EVENT_ATTRIBUTES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_EVENT_PARAMETER_ATTRIBUTES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_INHERITED_SERVICES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_FORMAT_RENDERING_PROFILES,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_SUPPORTED_COMMANDS,
    c.WPD_COMMAND_SERVICE_CAPABILITIES_GET_COMMAND_OPTIONS,
    c.WPD_COMMAND_SERVICE_METHODS_START_INVOKE,
    c.WPD_COMMAND_SERVICE_METHODS_CANCEL_INVOKE,
    c.WPD_COMMAND_SERVICE_METHODS_END_INVOKE,
    c.WPD_COMMAND_OBJECT_ENUMERATION_START_FIND,
    c.WPD_COMMAND_OBJECT_ENUMERATION_FIND_NEXT,
    c.WPD_COMMAND_OBJECT_ENUMERATION_END_FIND,
    c.WPD_COMMAND_OBJECT_PROPERTIES_GET_SUPPORTED,
    c.WPD_COMMAND_OBJECT_PROPERTIES_GET_ATTRIBUTES,
    c.WPD_COMMAND_OBJECT_PROPERTIES_GET,
    c.WPD_COMMAND_OBJECT_PROPERTIES_SET,
    c.WPD_COMMAND_OBJECT_PROPERTIES_GET_ALL,
    c.WPD_COMMAND_OBJECT_PROPERTIES_DELETE,
    c.WPD_COMMAND_OBJECT_RESOURCES_OPEN,
    c.WPD_COMMAND_OBJECT_RESOURCES_READ,
    c.WPD_COMMAND_OBJECT_RESOURCES_CLOSE,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_CREATE_OBJECT_WITH_PROPERTIES_ONLY,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_CREATE_OBJECT_WITH_PROPERTIES_AND_DATA,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_WRITE_OBJECT_DATA,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_COMMIT_OBJECT,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_REVERT_OBJECT,
    c.WPD_COMMAND_OBJECT_MANAGEMENT_DELETE_OBJECTS,
    c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE,
    c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_READ,
    c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_WRITE,
    c.WPD_COMMAND_MTP_EXT_READ_DATA,
    c.WPD_COMMAND_MTP_EXT_WRITE_DATA,
    c.WPD_COMMAND_MTP_EXT_END_DATA_TRANSFER,
)

#: The parameters openwpd puts into every service event, and per event code the others.
EVENT_COMMON_PARAMETERS = (k.WPD_EVENT_PARAMETER_EVENT_ID, k.WPD_EVENT_PARAMETER_PNP_DEVICE_ID)
EVENT_PARAMETERS: dict[int, tuple[PropertyKey, ...]] = {
    EventCode.OBJECT_ADDED: (
        k.WPD_OBJECT_ID,
        k.WPD_OBJECT_PERSISTENT_UNIQUE_ID,
        k.WPD_OBJECT_NAME,
        k.WPD_OBJECT_PARENT_ID,
        k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID,
    ),
    EventCode.OBJECT_REMOVED: (k.WPD_OBJECT_ID, k.WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID),
    EventCode.SERVICE_PROP_CHANGED: (k.WPD_OBJECT_ID, k.WPD_PROPERTY_MTP_EXT_EVENT_PARAMS),
    EventCode.METHOD_COMPLETE: (k.WPD_EVENT_PARAMETER_SERVICE_METHOD_CONTEXT,),
}
_EVENT_PARAMETER_TYPES: dict[PropertyKey, VarType] = {
    k.WPD_EVENT_PARAMETER_EVENT_ID: VarType.CLSID,
    k.WPD_OBJECT_PERSISTENT_UNIQUE_ID: VarType.LPWSTR,
    k.WPD_PROPERTY_MTP_EXT_EVENT_PARAMS: VarType.UNKNOWN,
}


def _clsids(items: list[uuid.UUID]) -> PortableDevicePropVariantCollection:
    return PortableDevicePropVariantCollection(items, vt=VarType.CLSID)


def _guid(value: object, what: str) -> uuid.UUID:
    if not isinstance(value, uuid.UUID):
        raise WpdError(E_INVALIDARG, f"{what} is a GUID")
    return value


def _key(value: object) -> PropertyKey:
    if not isinstance(value, PropertyKey):
        raise WpdError(E_INVALIDARG, "a key is a PropertyKey")
    return value


def find_format(desc: ServiceDescription, guid: object) -> ServiceFormat:
    """The format ``guid`` of the service (ERROR_NOT_SUPPORTED when it has none)."""
    wanted = _guid(guid, "a format")
    for f in desc.info.formats:
        if f.guid == wanted:
            return f
    raise WpdError(NOT_SUPPORTED, f"the service has no format {wanted}")


def _event(desc: ServiceDescription, guid: object) -> ServiceEvent:
    wanted = _guid(guid, "an event")
    for e in desc.info.events:
        if e.guid == wanted:
            return e
    raise WpdError(NOT_SUPPORTED, f"the service has no event {wanted}")


def _params(desc: ServiceDescription, guid: object) -> tuple[int, tuple[MethodParam, ...]]:
    wanted = _guid(guid, "a method")
    for m in desc.info.methods:
        if m.guid == wanted:
            return m.code, desc.params(m.code)
    raise WpdError(NOT_SUPPORTED, f"the service has no method {wanted}")


def format_property(desc: ServiceDescription, format_code: int, key: object) -> FormatProperty:
    """The property ``key`` of a service format (ERROR_NOT_SUPPORTED when absent)."""
    wanted = _key(key)
    for p in desc.format_properties(format_code):
        if key_of(p.namespace, p.pid) == wanted:
            return p
    raise WpdError(NOT_SUPPORTED, f"the format has no property {wanted}")


def format_guid_of(desc: ServiceDescription, code: int) -> uuid.UUID:
    """The GUID of the service's format ``code`` (GUID_NULL for 0 or an unknown code)."""
    for f in desc.info.formats:
        if f.code == code:
            return f.guid
    return g.GUID_NULL


class PortableDeviceServiceCapabilities:
    """IPortableDeviceServiceCapabilities of one service handle (see the module docstring)."""

    def __init__(self, scope: ServiceScope) -> None:
        self._scope = scope

    def _desc(self) -> ServiceDescription:
        return self._scope.description()

    # -- methods ------------------------------------------------------------------------------

    def get_supported_methods(self) -> PortableDevicePropVariantCollection:
        """GetSupportedMethods: VT_CLSID method GUIDs."""
        return _clsids([m.guid for m in self._desc().info.methods])

    def get_supported_methods_by_format(
        self, object_format: uuid.UUID
    ) -> PortableDevicePropVariantCollection:
        """GetSupportedMethodsByFormat: the methods bound to ``object_format``."""
        desc = self._desc()
        code = find_format(desc, object_format).code
        return _clsids([m.guid for m in desc.info.methods if m.associated_format == code])

    def get_method_attributes(self, method: uuid.UUID) -> PortableDeviceValues:
        """GetMethodAttributes: NAME, ASSOCIATED_FORMAT, ACCESS, PARAMETERS."""
        desc = self._desc()
        code, params = _params(desc, method)
        found = next(m for m in desc.info.methods if m.code == code)
        values = PortableDeviceValues()
        values[k.WPD_METHOD_ATTRIBUTE_NAME] = found.name
        values[k.WPD_METHOD_ATTRIBUTE_ASSOCIATED_FORMAT] = format_guid_of(
            desc, found.associated_format
        )
        values[k.WPD_METHOD_ATTRIBUTE_ACCESS] = WPD_COMMAND_ACCESS_READ
        values[k.WPD_METHOD_ATTRIBUTE_PARAMETERS] = PortableDeviceKeyCollection(
            key_of(p.namespace, p.pid) for p in params
        )
        return values

    def get_method_parameter_attributes(
        self, method: uuid.UUID, parameter: PropertyKey
    ) -> PortableDeviceValues:
        """GetMethodParameterAttributes: NAME, ORDER, USAGE, VARTYPE, FORM (+ its keys),
        DEFAULT_VALUE."""
        _, params = _params(self._desc(), method)
        wanted = _key(parameter)
        for p in params:
            if key_of(p.namespace, p.pid) == wanted:
                return parameter_attributes(
                    p.name, p.number, p.direction, p.datatype, p.form, p.default
                )
        raise WpdError(NOT_SUPPORTED, f"the method has no parameter {wanted}")

    # -- formats ------------------------------------------------------------------------------

    def get_supported_formats(self) -> PortableDevicePropVariantCollection:
        """GetSupportedFormats: VT_CLSID format GUIDs."""
        return _clsids([f.guid for f in self._desc().info.formats])

    def get_format_attributes(self, object_format: uuid.UUID) -> PortableDeviceValues:
        """GetFormatAttributes: NAME, MIMETYPE."""
        found = find_format(self._desc(), object_format)
        values = PortableDeviceValues()
        values[k.WPD_FORMAT_ATTRIBUTE_NAME] = found.name
        values[k.WPD_FORMAT_ATTRIBUTE_MIMETYPE] = found.mime_type
        return values

    def get_supported_format_properties(
        self, object_format: uuid.UUID
    ) -> PortableDeviceKeyCollection:
        """GetSupportedFormatProperties: the PROPERTYKEYs objects of the format carry."""
        desc = self._desc()
        code = find_format(desc, object_format).code
        return PortableDeviceKeyCollection(
            key_of(p.namespace, p.pid) for p in desc.format_properties(code)
        )

    def get_format_property_attributes(
        self, object_format: uuid.UUID, key: PropertyKey
    ) -> PortableDeviceValues:
        """GetFormatPropertyAttributes: CAN_READ/WRITE/DELETE, VARTYPE, FORM (+ keys), NAME."""
        desc = self._desc()
        prop = format_property(desc, find_format(desc, object_format).code, key)
        return property_attributes(
            prop.desc.datatype,
            prop.desc.getset,
            prop.form,
            name=prop.name,
            vartype=GENERIC_VARTYPES.get(prop.code),
        )

    def get_format_rendering_profiles(
        self, object_format: uuid.UUID
    ) -> PortableDeviceValuesCollection:
        """GetFormatRenderingProfiles: MTP services describe none (an empty collection)."""
        find_format(self._desc(), object_format)
        return PortableDeviceValuesCollection()

    # -- events -------------------------------------------------------------------------------

    def get_supported_events(self) -> PortableDevicePropVariantCollection:
        """GetSupportedEvents: VT_CLSID event GUIDs."""
        return _clsids([e.guid for e in self._desc().info.events])

    def get_event_attributes(self, event: uuid.UUID) -> PortableDeviceValues:
        """GetEventAttributes: NAME, OPTIONS (IS_BROADCAST_EVENT, IS_AUTOPLAY_EVENT) and
        PARAMETERS."""
        found = _event(self._desc(), event)
        values = PortableDeviceValues()
        values[k.WPD_EVENT_ATTRIBUTE_NAME] = found.name
        options = PortableDeviceValues()
        options[k.WPD_EVENT_OPTION_IS_BROADCAST_EVENT] = True
        options[k.WPD_EVENT_OPTION_IS_AUTOPLAY_EVENT] = False
        values[k.WPD_EVENT_ATTRIBUTE_OPTIONS] = options
        values[k.WPD_EVENT_ATTRIBUTE_PARAMETERS] = PortableDeviceKeyCollection(
            event_parameters(found.code)
        )
        return values

    def get_event_parameter_attributes(
        self, event: uuid.UUID, parameter: PropertyKey
    ) -> PortableDeviceValues:
        """GetEventParameterAttributes: VARTYPE and FORM (unspecified) of an event
        parameter."""
        found = _event(self._desc(), event)
        wanted = _key(parameter)
        if wanted not in event_parameters(found.code):
            raise WpdError(NOT_SUPPORTED, f"the event has no parameter {wanted}")
        values = PortableDeviceValues()
        values[k.WPD_PARAMETER_ATTRIBUTE_VARTYPE] = int(
            _EVENT_PARAMETER_TYPES.get(wanted, VarType.LPWSTR)
        )
        values[k.WPD_PARAMETER_ATTRIBUTE_FORM] = FORM_UNSPECIFIED
        return values

    # -- the rest -----------------------------------------------------------------------------

    def get_inherited_services(self, inheritance_type: int) -> PortableDevicePropVariantCollection:
        """GetInheritedServices: for WPD_SERVICE_INHERITANCE_IMPLEMENTATION the abstract
        services the service implements (e.g. SERVICE_FullEnumSync); E_INVALIDARG for another
        type."""
        if inheritance_type != WPD_SERVICE_INHERITANCE_IMPLEMENTATION:
            raise WpdError(E_INVALIDARG, f"unknown inheritance type {inheritance_type!r}")
        return _clsids(list(self._desc().info.used_services))

    def get_supported_commands(self) -> PortableDeviceKeyCollection:
        """GetSupportedCommands: the commands of :data:`SERVICE_COMMANDS`."""
        self._scope.handle.check_open()
        return PortableDeviceKeyCollection(SERVICE_COMMANDS)

    def get_command_options(self, command: PropertyKey) -> PortableDeviceValues:
        """GetCommandOptions: the options of a supported command (none of them has any);
        ERROR_NOT_SUPPORTED for another command."""
        self._scope.handle.check_open()
        if _key(command) not in SERVICE_COMMANDS:
            raise WpdError(NOT_SUPPORTED, f"{command} is not supported")
        return PortableDeviceValues()

    def cancel(self) -> None:
        """Cancel every pending operation of the service handle."""
        self._scope.cancel()


def event_parameters(code: int) -> tuple[PropertyKey, ...]:
    """The parameters openwpd puts into a service event of MTP event ``code``."""
    return EVENT_COMMON_PARAMETERS + EVENT_PARAMETERS.get(code, ())


__all__ = [
    "SERVICE_COMMANDS",
    "WPD_COMMAND_ACCESS_READ",
    "WPD_COMMAND_ACCESS_READWRITE",
    "WPD_SERVICE_INHERITANCE_IMPLEMENTATION",
    "PortableDeviceServiceCapabilities",
    "event_parameters",
    "find_format",
    "format_guid_of",
    "format_property",
]
