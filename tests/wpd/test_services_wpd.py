"""The WPD device-services API against the virtual device: the service manager, opening and
closing a service, its capabilities, its scoped content and properties (the Contacts round trip
with the vCard on disk following), send_command and events."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from services_support import ADA, DeviceThread, open_service, populate, wait_until

from openwpd.wpd import (
    E_ACCESSDENIED,
    E_INVALIDARG,
    E_WPD_SERVICE_ALREADY_OPENED,
    E_WPD_SERVICE_NOT_OPEN,
    ERROR_INVALID_OPERATION,
    ERROR_NOT_FOUND,
    ERROR_NOT_SUPPORTED,
    GENERIC_READ,
    GUID_DEVINTERFACE_WPD_SERVICE,
    HRESULT_FROM_WIN32,
    PORTABLE_DEVICE_DELETE_NO_RECURSION,
    PORTABLE_DEVICE_DELETE_WITH_RECURSION,
    S_OK,
    WPD_CONTENT_TYPE_CONTACT,
    WPD_CONTENT_TYPE_FOLDER,
    WPD_CONTENT_TYPE_FUNCTIONAL_OBJECT,
    WPD_DEVICE_OBJECT_ID,
    WPD_EVENT_OBJECT_ADDED,
    WPD_EVENT_OBJECT_REMOVED,
    WPD_EVENT_PARAMETER_EVENT_ID,
    WPD_EVENT_PARAMETER_PNP_DEVICE_ID,
    WPD_FUNCTIONAL_OBJECT_CATEGORY,
    WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID,
    WPD_OBJECT_CONTENT_TYPE,
    WPD_OBJECT_FORMAT,
    WPD_OBJECT_ID,
    WPD_OBJECT_NAME,
    WPD_OBJECT_ORIGINAL_FILE_NAME,
    WPD_OBJECT_PARENT_ID,
    WPD_OBJECT_PERSISTENT_UNIQUE_ID,
    WPD_OBJECT_SIZE,
    WPD_PROPERTY_ATTRIBUTE_CAN_WRITE,
    WPD_PROPERTY_ATTRIBUTE_ENUMERATION_ELEMENTS,
    WPD_PROPERTY_ATTRIBUTE_FORM,
    WPD_PROPERTY_ATTRIBUTE_NAME,
    WPD_PROPERTY_ATTRIBUTE_RANGE_MAX,
    WPD_PROPERTY_ATTRIBUTE_VARTYPE,
    WPD_PROPERTY_MTP_EXT_EVENT_PARAMS,
    WPD_RESOURCE_DEFAULT,
    WPD_SERVICE_VERSION,
    PortableDevice,
    PortableDeviceKeyCollection,
    PortableDeviceValues,
    SERVICE_Calendar,
    SERVICE_Contacts,
    SERVICE_FullEnumSync,
    SERVICE_Status,
    VarType,
    WpdError,
    commands,
)
from openwpd.wpd import service_keys as sk
from openwpd.wpd.service_capabilities import (
    SERVICE_COMMANDS,
    WPD_COMMAND_ACCESS_READ,
)
from openwpd.wpd.services import (
    PortableDeviceService,
    PortableDeviceServiceManager,
    parse_service_pnp_id,
    service_pnp_id,
)

NOT_FOUND = HRESULT_FROM_WIN32(ERROR_NOT_FOUND)
NOT_SUPPORTED = HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DeviceThread]:
    root = tmp_path / "served"
    populate(root)
    device = DeviceThread(root, tmp_path / "state")
    try:
        yield device
    finally:
        device.close()


@pytest.fixture
def contacts(dev: DeviceThread) -> Iterator[PortableDeviceService]:
    service = open_service(dev.url, SERVICE_Contacts)
    try:
        yield service
    finally:
        service.close()


def error_of(call: Any) -> int:
    with pytest.raises(WpdError) as err:
        call()
    return err.value.hresult


# -- the manager --------------------------------------------------------------------------------


def test_get_device_services_by_category(dev: DeviceThread) -> None:
    manager = PortableDeviceServiceManager()
    every = manager.get_device_services(dev.url, GUID_DEVINTERFACE_WPD_SERVICE)
    assert [parse_service_pnp_id(p)[2] for p in every] == [1, 2, 3, 4]
    contacts = manager.get_device_services(dev.url, SERVICE_Contacts)
    assert contacts == [f"{dev.url}#service/{{{str(SERVICE_Contacts).upper()}}}/v1"]
    # an abstract service is found through the services that implement it
    assert manager.get_device_services(dev.url, SERVICE_FullEnumSync) == every[:2]
    assert manager.get_device_services(dev.url, SERVICE_Status) == [every[2]]
    assert manager.get_device_services(dev.url, uuid.uuid4()) == []
    assert manager.get_device_for_service(contacts[0]) == dev.url
    assert error_of(lambda: manager.get_device_services(5, SERVICE_Contacts)) == E_INVALIDARG  # type: ignore[arg-type]
    assert error_of(lambda: manager.get_device_services(dev.url, "x")) == E_INVALIDARG  # type: ignore[arg-type]
    assert error_of(lambda: manager.get_device_services("nope://x", SERVICE_Contacts)) == (
        E_INVALIDARG
    )
    assert error_of(lambda: manager.get_device_for_service(dev.url)) == E_INVALIDARG
    assert error_of(lambda: manager.get_device_services("ptpip://127.0.0.1:1", SERVICE_Contacts))


def test_service_pnp_ids() -> None:
    pnp = service_pnp_id("ptpip://host:15740", SERVICE_Calendar, 0x1A)
    assert pnp.endswith("#service/{E4DFDBD3-7F04-45E9-9FA1-5CA0EAEB0AE3}/v1A")
    assert parse_service_pnp_id(pnp) == ("ptpip://host:15740", SERVICE_Calendar, 0x1A)
    for bad in (
        "ptpip://host",
        "ptpip://host#service/{E4DFDBD3-7F04-45E9-9FA1-5CA0EAEB0AE3}/s1",
        "#service/{E4DFDBD3-7F04-45E9-9FA1-5CA0EAEB0AE3}/v1",
        "bogus://host#service/{E4DFDBD3-7F04-45E9-9FA1-5CA0EAEB0AE3}/v1",
        7,
    ):
        assert error_of(lambda b=bad: parse_service_pnp_id(b)) == E_INVALIDARG  # type: ignore[misc]


# -- open, close, identity ----------------------------------------------------------------------


def test_open_close_and_identity(dev: DeviceThread) -> None:
    (pnp,) = PortableDeviceServiceManager().get_device_services(dev.url, SERVICE_Contacts)
    service = PortableDeviceService()
    assert error_of(service.get_service_object_id) == E_WPD_SERVICE_NOT_OPEN
    with service:
        service.open(pnp)
        assert service.get_pnp_service_id() == pnp
        assert service.get_service_object_id() == "v1"
        assert error_of(lambda: service.open(pnp)) == E_WPD_SERVICE_ALREADY_OPENED
        caps = service.capabilities()
    # after close every facet says so
    for call in (
        service.cancel,
        service.content,
        service.methods,
        service.capabilities,
        service.get_pnp_service_id,
        lambda: service.advise(print),
        lambda: service.unadvise("{x}"),
        lambda: service.send_command(PortableDeviceValues()),
        caps.get_supported_methods,
        caps.cancel,
    ):
        assert error_of(call) == E_WPD_SERVICE_NOT_OPEN
    service.close()  # idempotent
    service.open(pnp)  # and it opens again
    service.close()


def test_open_refusals(dev: DeviceThread) -> None:
    service = PortableDeviceService()
    assert error_of(lambda: service.open("ptpip://x")) == E_INVALIDARG
    missing = service_pnp_id(dev.url, SERVICE_Contacts, 9)
    assert error_of(lambda: service.open(missing)) == NOT_FOUND
    wrong_type = service_pnp_id(dev.url, SERVICE_Calendar, 1)
    assert error_of(lambda: service.open(wrong_type)) == NOT_FOUND
    pnp = service_pnp_id(dev.url, SERVICE_Contacts, 1)
    assert error_of(lambda: service.open(pnp, "info")) == E_INVALIDARG  # type: ignore[arg-type]
    unreachable = service_pnp_id("ptpip://127.0.0.1:1", SERVICE_Contacts, 1)
    assert error_of(lambda: service.open(unreachable))
    service.open(pnp)  # none of that left it half-open
    service.close()


def test_read_only_service_handle(dev: DeviceThread) -> None:
    service = open_service(dev.url, SERVICE_Contacts, WPD_CLIENT_DESIRED_ACCESS=GENERIC_READ)
    try:
        content = service.content()
        values = PortableDeviceValues()
        values[WPD_OBJECT_PARENT_ID] = service.get_service_object_id()
        values[WPD_OBJECT_NAME] = "x.vcf"
        assert error_of(lambda: content.create_object_with_properties_only(values)) == (
            E_ACCESSDENIED
        )
        assert len(list(content.enum_objects(service.get_service_object_id()))) == 2
    finally:
        service.close()


def test_send_command(contacts: PortableDeviceService, dev: DeviceThread) -> None:
    params = PortableDeviceValues()
    command = commands.WPD_COMMAND_SERVICE_COMMON_GET_SERVICE_OBJECT_ID
    params[commands.WPD_PROPERTY_COMMON_COMMAND_CATEGORY] = command.fmtid
    params[commands.WPD_PROPERTY_COMMON_COMMAND_ID] = command.pid
    results = contacts.send_command(params)
    assert results[commands.WPD_PROPERTY_SERVICE_OBJECT_ID] == "v1"
    assert results[commands.WPD_PROPERTY_COMMON_HRESULT] == S_OK
    # the MTP pass-through works on a service handle too: GetServiceIDs
    raw = PortableDeviceValues()
    execute = commands.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE
    raw[commands.WPD_PROPERTY_COMMON_COMMAND_CATEGORY] = execute.fmtid
    raw[commands.WPD_PROPERTY_COMMON_COMMAND_ID] = execute.pid
    raw[commands.WPD_PROPERTY_MTP_EXT_OPERATION_CODE] = 0x1001  # GetDeviceInfo
    out = contacts.send_command(raw)
    assert out[commands.WPD_PROPERTY_COMMON_HRESULT] == S_OK
    assert out[commands.WPD_PROPERTY_MTP_EXT_RESPONSE_CODE] == 0x2001
    assert error_of(lambda: contacts.send_command("x")) == E_INVALIDARG  # type: ignore[arg-type]


# -- capabilities -------------------------------------------------------------------------------


def test_capabilities_of_contacts(contacts: PortableDeviceService) -> None:
    caps = contacts.capabilities()
    methods = list(caps.get_supported_methods())
    assert methods == [sk.METHOD_FullEnumSyncSvc_BeginSync, sk.METHOD_FullEnumSyncSvc_EndSync]
    attributes = caps.get_method_attributes(sk.METHOD_FullEnumSyncSvc_BeginSync)
    assert attributes["WPD_METHOD_ATTRIBUTE_NAME" and sk_key("WPD_METHOD_ATTRIBUTE_NAME")] == (
        "BeginSync"
    )
    assert attributes[sk_key("WPD_METHOD_ATTRIBUTE_ACCESS")] == WPD_COMMAND_ACCESS_READ
    assert attributes[sk_key("WPD_METHOD_ATTRIBUTE_ASSOCIATED_FORMAT")] == uuid.UUID(int=0)
    assert list(attributes[sk_key("WPD_METHOD_ATTRIBUTE_PARAMETERS")]) == []
    formats = list(caps.get_supported_formats())
    assert formats == [sk.FORMAT_VCard3Contact, sk.FORMAT_VCard2Contact]
    fmt = caps.get_format_attributes(sk.FORMAT_VCard3Contact)
    assert fmt[sk_key("WPD_FORMAT_ATTRIBUTE_NAME")] == "VCard3Contact"
    assert fmt[sk_key("WPD_FORMAT_ATTRIBUTE_MIMETYPE")] == "text/vcard"
    keys = caps.get_supported_format_properties(sk.FORMAT_VCard3Contact)
    assert sk.PKEY_ContactObj_GivenName in keys and WPD_OBJECT_NAME in keys
    assert sk.PKEY_ContactObj_Birthdate in keys
    given = caps.get_format_property_attributes(
        sk.FORMAT_VCard3Contact, sk.PKEY_ContactObj_GivenName
    )
    assert given[WPD_PROPERTY_ATTRIBUTE_VARTYPE] == VarType.LPWSTR
    assert given[WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    assert given[WPD_PROPERTY_ATTRIBUTE_NAME] == "GivenName"
    birth = caps.get_format_property_attributes(
        sk.FORMAT_VCard3Contact, sk.PKEY_ContactObj_Birthdate
    )
    assert birth[WPD_PROPERTY_ATTRIBUTE_VARTYPE] == VarType.DATE
    fmt_key = caps.get_format_property_attributes(sk.FORMAT_VCard3Contact, WPD_OBJECT_FORMAT)
    assert fmt_key[WPD_PROPERTY_ATTRIBUTE_VARTYPE] == VarType.CLSID
    assert list(caps.get_supported_methods_by_format(sk.FORMAT_VCard3Contact)) == []
    assert len(caps.get_format_rendering_profiles(sk.FORMAT_VCard3Contact)) == 0
    events = list(caps.get_supported_events())
    assert events[:2] == [WPD_EVENT_OBJECT_ADDED, WPD_EVENT_OBJECT_REMOVED]
    event = caps.get_event_attributes(WPD_EVENT_OBJECT_ADDED)
    assert event[sk_key("WPD_EVENT_ATTRIBUTE_NAME")] == "ObjectAdded"
    options = event[sk_key("WPD_EVENT_ATTRIBUTE_OPTIONS")]
    assert isinstance(options, PortableDeviceValues)
    assert options[sk_key("WPD_EVENT_OPTION_IS_BROADCAST_EVENT")] is True
    parameters = event[sk_key("WPD_EVENT_ATTRIBUTE_PARAMETERS")]
    assert isinstance(parameters, PortableDeviceKeyCollection)
    assert WPD_OBJECT_ID in parameters and WPD_EVENT_PARAMETER_PNP_DEVICE_ID in parameters
    event_param = caps.get_event_parameter_attributes(
        WPD_EVENT_OBJECT_ADDED, WPD_EVENT_PARAMETER_EVENT_ID
    )
    assert event_param[sk_key("WPD_PARAMETER_ATTRIBUTE_VARTYPE")] == VarType.CLSID
    assert event_param[sk_key("WPD_PARAMETER_ATTRIBUTE_FORM")] == 0
    assert list(caps.get_inherited_services(0)) == [SERVICE_FullEnumSync]
    commands_ = caps.get_supported_commands()
    assert list(commands_) == list(SERVICE_COMMANDS)
    assert len(caps.get_command_options(SERVICE_COMMANDS[0])) == 0
    # refusals
    unknown = uuid.uuid4()
    for call in (
        lambda: caps.get_method_attributes(unknown),
        lambda: caps.get_method_parameter_attributes(
            sk.METHOD_FullEnumSyncSvc_BeginSync, WPD_OBJECT_ID
        ),
        lambda: caps.get_format_attributes(unknown),
        lambda: caps.get_format_property_attributes(
            sk.FORMAT_VCard3Contact, sk.PKEY_Services_ServiceDisplayName
        ),
        lambda: caps.get_event_attributes(unknown),
        lambda: caps.get_event_parameter_attributes(WPD_EVENT_OBJECT_ADDED, WPD_OBJECT_SIZE),
        lambda: caps.get_command_options(commands.WPD_COMMAND_STORAGE_FORMAT),
    ):
        assert error_of(call) == NOT_SUPPORTED
    for call in (
        lambda: caps.get_method_attributes("x"),
        lambda: caps.get_format_property_attributes(sk.FORMAT_VCard3Contact, "x"),
        lambda: caps.get_inherited_services(1),
    ):
        assert error_of(call) == E_INVALIDARG
    caps.cancel()  # nothing pending: a no-op


def sk_key(name: str) -> Any:
    from openwpd.wpd import keys

    return getattr(keys, name)


def test_capabilities_of_diagnostics_methods(dev: DeviceThread) -> None:
    service = open_service(dev.url, sk.SERVICE_OpenwpdDiagnostics)
    try:
        caps = service.capabilities()
        attributes = caps.get_method_attributes(sk.METHOD_OpenwpdDiagnostics_HashObject)
        params = list(attributes[sk_key("WPD_METHOD_ATTRIBUTE_PARAMETERS")])
        assert params == [
            sk.PKEY_OpenwpdDiagnostics_HashObject,
            sk.PKEY_OpenwpdDiagnostics_HashAlgorithm,
            sk.PKEY_OpenwpdDiagnostics_HashDigest,
        ]
        get = caps.get_method_parameter_attributes
        obj = get(sk.METHOD_OpenwpdDiagnostics_HashObject, sk.PKEY_OpenwpdDiagnostics_HashObject)
        assert obj[sk_key("WPD_PARAMETER_ATTRIBUTE_NAME")] == "Object"
        assert obj[sk_key("WPD_PARAMETER_ATTRIBUTE_ORDER")] == 0
        assert obj[sk_key("WPD_PARAMETER_ATTRIBUTE_USAGE")] == 1  # in
        assert obj[sk_key("WPD_PARAMETER_ATTRIBUTE_VARTYPE")] == VarType.LPWSTR  # an object id
        assert obj[sk_key("WPD_PARAMETER_ATTRIBUTE_FORM")] == 4  # object identifier
        algo = get(
            sk.METHOD_OpenwpdDiagnostics_HashObject, sk.PKEY_OpenwpdDiagnostics_HashAlgorithm
        )
        assert algo[sk_key("WPD_PARAMETER_ATTRIBUTE_FORM")] == 2  # enumeration
        assert list(algo[sk_key("WPD_PARAMETER_ATTRIBUTE_ENUMERATION_ELEMENTS")]) == [
            "sha256",
            "md5",
            "sha1",
            "sha512",
        ]
        digest = get(sk.METHOD_OpenwpdDiagnostics_HashObject, sk.PKEY_OpenwpdDiagnostics_HashDigest)
        assert digest[sk_key("WPD_PARAMETER_ATTRIBUTE_USAGE")] == 2  # out
        sleep = get(
            sk.METHOD_OpenwpdDiagnostics_Sleep, sk.PKEY_OpenwpdDiagnostics_SleepMilliseconds
        )
        assert sleep[sk_key("WPD_PARAMETER_ATTRIBUTE_FORM")] == 1  # range
        assert sleep[sk_key("WPD_PARAMETER_ATTRIBUTE_RANGE_MAX")] == 600_000
        assert sleep[sk_key("WPD_PARAMETER_ATTRIBUTE_VARTYPE")] == VarType.UI4
        assert sleep[sk_key("WPD_PARAMETER_ATTRIBUTE_DEFAULT_VALUE")] == 0
        assert caps.get_supported_formats().get_count() == 0
        assert error_of(lambda: caps.get_supported_methods_by_format(sk.FORMAT_VCard3Contact)) == (
            NOT_SUPPORTED
        )
        assert list(caps.get_inherited_services(0)) == []
    finally:
        service.close()


# -- content and properties ---------------------------------------------------------------------


def test_enumerate_the_service_scope(contacts: PortableDeviceService, dev: DeviceThread) -> None:
    content = contacts.content()
    oid = contacts.get_service_object_id()
    assert list(content.enum_objects("")) == [WPD_DEVICE_OBJECT_ID]
    assert list(content.enum_objects(WPD_DEVICE_OBJECT_ID)) == [oid]
    with content.enum_objects(oid) as enumerator:
        first = enumerator.next(1)
        enumerator.skip(5)
        assert enumerator.next(3) == []
        enumerator.reset()
        everything = enumerator.next(10)
    assert everything[:1] == first and len(everything) == 2
    properties = content.properties()
    names = sorted(str(properties.get_values(i)[WPD_OBJECT_NAME]) for i in everything)
    assert names == ["ada.vcf", "alan.vcf"]
    assert list(content.enum_objects(everything[0])) == []  # a file has no children
    # an object outside the service is not there
    small = f"o{dev.handle_of('small.bin'):X}"
    assert error_of(lambda: properties.get_values(small)) == NOT_FOUND
    assert error_of(lambda: content.enum_objects(small).next(1)) == NOT_FOUND
    assert error_of(lambda: content.enum_objects(5)) == E_INVALIDARG  # type: ignore[arg-type]
    assert error_of(lambda: content.enum_objects(oid).next(-1)) == E_INVALIDARG
    assert error_of(lambda: properties.get_values(5)) == E_INVALIDARG  # type: ignore[arg-type]


def test_service_object_properties(contacts: PortableDeviceService, dev: DeviceThread) -> None:
    properties = contacts.content().properties()
    oid = contacts.get_service_object_id()
    values = properties.get_values(oid)
    assert values[WPD_OBJECT_ID] == oid and values[WPD_OBJECT_PARENT_ID] == WPD_DEVICE_OBJECT_ID
    assert values[WPD_OBJECT_NAME] == "Contacts"
    assert values[WPD_OBJECT_CONTENT_TYPE] == WPD_CONTENT_TYPE_FUNCTIONAL_OBJECT
    assert values[WPD_FUNCTIONAL_OBJECT_CATEGORY] == SERVICE_Contacts
    assert values[WPD_SERVICE_VERSION] == "1.00"
    assert values[sk.PKEY_Services_ServiceDisplayName] == "Contacts"
    assert values[sk.PKEY_SyncSvc_SyncFormat] == sk.FORMAT_VCard3Contact  # a UINT128 as a GUID
    assert values[sk.PKEY_FullEnumSyncSvc_ProviderVersion] == 1
    puid = values[WPD_OBJECT_PERSISTENT_UNIQUE_ID]
    assert isinstance(puid, str) and puid.startswith("{") and len(puid) == 38
    assert sk.PKEY_SyncSvc_FilterType in properties.get_supported_properties(oid)
    # attributes: a writable enumeration, a read-only one
    attributes = properties.get_property_attributes(oid, sk.PKEY_SyncSvc_FilterType)
    assert attributes[WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    assert attributes[WPD_PROPERTY_ATTRIBUTE_FORM] == 2
    assert list(attributes[WPD_PROPERTY_ATTRIBUTE_ENUMERATION_ELEMENTS]) == [0, 1]
    assert (
        properties.get_property_attributes(oid, sk.PKEY_SyncSvc_SyncFormat)[
            WPD_PROPERTY_ATTRIBUTE_CAN_WRITE
        ]
        is False
    )
    assert (
        properties.get_property_attributes(oid, WPD_OBJECT_NAME)[WPD_PROPERTY_ATTRIBUTE_CAN_WRITE]
        is False
    )
    # writing: a GUID property, an enumeration, and a read-only one
    replica = uuid.uuid4()
    change = PortableDeviceValues()
    change[sk.PKEY_FullEnumSyncSvc_ReplicaID] = replica
    change[sk.PKEY_SyncSvc_FilterType] = 1
    change[sk.PKEY_SyncSvc_SyncFormat] = uuid.uuid4()
    change[WPD_OBJECT_NAME] = "renamed"
    results = properties.set_values(oid, change)
    assert results[sk.PKEY_FullEnumSyncSvc_ReplicaID] == S_OK
    assert results[sk.PKEY_SyncSvc_FilterType] == S_OK
    assert results[sk.PKEY_SyncSvc_SyncFormat] == E_ACCESSDENIED
    assert results[WPD_OBJECT_NAME] == E_ACCESSDENIED
    after = properties.get_values(
        oid, [sk.PKEY_FullEnumSyncSvc_ReplicaID, sk.PKEY_SyncSvc_FilterType]
    )
    assert after[sk.PKEY_FullEnumSyncSvc_ReplicaID] == replica
    assert after[sk.PKEY_SyncSvc_FilterType] == 1
    # deleting returns them to their defaults
    properties.delete(oid, [sk.PKEY_FullEnumSyncSvc_ReplicaID, sk.PKEY_SyncSvc_FilterType])
    again = properties.get_values(
        oid, [sk.PKEY_FullEnumSyncSvc_ReplicaID, sk.PKEY_SyncSvc_FilterType]
    )
    assert again[sk.PKEY_FullEnumSyncSvc_ReplicaID] == uuid.UUID(int=0)
    assert again[sk.PKEY_SyncSvc_FilterType] == 0
    assert error_of(lambda: properties.delete(oid, [WPD_OBJECT_NAME])) == E_ACCESSDENIED
    assert error_of(lambda: properties.delete(oid, [sk.PKEY_SyncSvc_SyncFormat])) == E_ACCESSDENIED
    assert error_of(lambda: properties.delete(WPD_DEVICE_OBJECT_ID, [WPD_OBJECT_NAME])) == (
        E_ACCESSDENIED
    )
    # a key it lacks
    assert error_of(lambda: properties.get_property_attributes(oid, WPD_OBJECT_SIZE)) == (
        NOT_SUPPORTED
    )
    assert properties.get_values(oid, [WPD_OBJECT_SIZE]).get_value(WPD_OBJECT_SIZE).vt == (
        VarType.ERROR
    )
    # DEVICE is readable from a service handle; the root has nothing
    assert properties.get_values(WPD_DEVICE_OBJECT_ID)[WPD_OBJECT_ID] == WPD_DEVICE_OBJECT_ID
    assert error_of(lambda: properties.get_values("")) == NOT_SUPPORTED
    assert (
        properties.get_property_attributes(WPD_DEVICE_OBJECT_ID, WPD_OBJECT_NAME)[
            WPD_PROPERTY_ATTRIBUTE_CAN_WRITE
        ]
        is False
    )
    assert error_of(lambda: properties.get_values(oid, ["x"])) == E_INVALIDARG  # type: ignore[list-item]
    assert error_of(lambda: properties.set_values(oid, {})) == E_INVALIDARG  # type: ignore[arg-type]
    assert error_of(lambda: properties.get_property_attributes(oid, "x")) == E_INVALIDARG  # type: ignore[arg-type]
    properties.cancel()


def find_contact(contacts: PortableDeviceService, file_name: str) -> str:
    content = contacts.content()
    properties = content.properties()
    for object_id in content.enum_objects(contacts.get_service_object_id()):
        if properties.get_values(object_id)[WPD_OBJECT_ORIGINAL_FILE_NAME] == file_name:
            return object_id
    raise LookupError(file_name)


def test_contact_properties(contacts: PortableDeviceService, dev: DeviceThread) -> None:
    properties = contacts.content().properties()
    ada = find_contact(contacts, "ada.vcf")
    values = properties.get_values(ada)
    assert values[sk.PKEY_ContactObj_GivenName] == "Ada"
    assert values[sk.PKEY_ContactObj_FamilyName] == "Lovelace"
    assert values[sk.PKEY_ContactObj_MobilePhone] == "+44 20 0000 0001"
    assert values[sk.PKEY_ContactObj_PersonalEmail] == "ada@example.org"
    assert values[WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] == contacts.get_service_object_id()
    assert values[WPD_OBJECT_PARENT_ID] == contacts.get_service_object_id()
    assert values[WPD_OBJECT_CONTENT_TYPE] == WPD_CONTENT_TYPE_CONTACT
    assert values[WPD_OBJECT_FORMAT] == sk.FORMAT_VCard3Contact
    attributes = properties.get_property_attributes(ada, sk.PKEY_ContactObj_GivenName)
    assert attributes[WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    assert attributes[WPD_PROPERTY_ATTRIBUTE_VARTYPE] == VarType.LPWSTR
    name_attributes = properties.get_property_attributes(ada, WPD_OBJECT_ORIGINAL_FILE_NAME)
    assert name_attributes[WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    size_attributes = properties.get_property_attributes(ada, WPD_OBJECT_SIZE)
    assert size_attributes[WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    # the data of a contact is its vCard
    stream, optimal = contacts.content().transfer().get_stream(ada, WPD_RESOURCE_DEFAULT, 0)
    with stream:
        assert stream.read(optimal) == ADA.encode()


def test_contacts_round_trip(contacts: PortableDeviceService, dev: DeviceThread) -> None:
    """Create a contact through the service, read it back, update it, delete it; the vCard on
    disk follows every step."""
    content = contacts.content()
    properties = content.properties()
    oid = contacts.get_service_object_id()
    folder = dev.root / "Contacts"
    values = PortableDeviceValues()
    values[WPD_OBJECT_PARENT_ID] = oid
    values[WPD_OBJECT_NAME] = "Grace Hopper"
    values[WPD_OBJECT_CONTENT_TYPE] = WPD_CONTENT_TYPE_CONTACT
    values[sk.PKEY_ContactObj_GivenName] = "Grace"
    values[sk.PKEY_ContactObj_FamilyName] = "Hopper"
    values[sk.PKEY_ContactObj_Organization] = "US Navy"
    values[sk.PKEY_ContactObj_Birthdate] = datetime(1906, 12, 9)
    grace = content.create_object_with_properties_only(values)
    text = (folder / "Grace Hopper.vcf").read_text()
    assert "FN:Grace Hopper" in text and "N:Hopper;Grace" in text
    assert "ORG:US Navy" in text and "BDAY:19061209" in text
    back = properties.get_values(grace)
    assert back[sk.PKEY_ContactObj_GivenName] == "Grace"
    assert back[sk.PKEY_ContactObj_Organization] == "US Navy"
    assert back[sk.PKEY_ContactObj_Birthdate] == datetime(1906, 12, 9)
    assert grace in list(content.enum_objects(oid))
    # update
    change = PortableDeviceValues()
    change[sk.PKEY_ContactObj_MiddleNames] = "Brewster"
    change[sk.PKEY_ContactObj_MobilePhone] = "+1 555 0100"
    change[sk.PKEY_ContactObj_Birthdate] = 12  # not a date
    change[sk.PKEY_StatusSvc_BatteryLife] = 3  # not a contact property
    results = properties.set_values(grace, change)
    assert results[sk.PKEY_ContactObj_MiddleNames] == S_OK
    assert results[sk.PKEY_ContactObj_MobilePhone] == S_OK
    assert results[sk.PKEY_ContactObj_Birthdate] == E_INVALIDARG
    assert results[sk.PKEY_StatusSvc_BatteryLife] == E_ACCESSDENIED
    text = (folder / "Grace Hopper.vcf").read_text()
    assert "N:Hopper;Grace;Brewster" in text and "TEL;TYPE=CELL:+1 555 0100" in text
    assert properties.get_values(grace)[sk.PKEY_ContactObj_MiddleNames] == "Brewster"
    # a field can be deleted; the file loses it
    properties.delete(grace, [sk.PKEY_ContactObj_Organization])
    assert "US Navy" not in (folder / "Grace Hopper.vcf").read_text()
    gone = properties.get_values(grace, [sk.PKEY_ContactObj_Organization])
    assert gone.get_value(sk.PKEY_ContactObj_Organization).vt == VarType.ERROR
    assert error_of(lambda: properties.delete(grace, [WPD_OBJECT_SIZE])) == E_ACCESSDENIED
    # rename through the name key
    rename = PortableDeviceValues()
    rename[WPD_OBJECT_ORIGINAL_FILE_NAME] = "hopper.vcf"
    assert properties.set_values(grace, rename)[WPD_OBJECT_ORIGINAL_FILE_NAME] == S_OK
    assert wait_until((folder / "hopper.vcf").exists)
    bad = PortableDeviceValues()
    bad[WPD_OBJECT_NAME] = ""
    assert properties.set_values(grace, bad)[WPD_OBJECT_NAME] == E_INVALIDARG
    # delete
    results_ = content.delete(PORTABLE_DEVICE_DELETE_NO_RECURSION, [grace])
    assert list(results_) == [S_OK]
    assert wait_until(lambda: not (folder / "hopper.vcf").exists())
    assert error_of(lambda: properties.get_values(grace)) == NOT_FOUND


def test_create_with_data_folders_and_refusals(
    contacts: PortableDeviceService, dev: DeviceThread
) -> None:
    content = contacts.content()
    oid = contacts.get_service_object_id()
    folder = dev.root / "Contacts"
    values = PortableDeviceValues()
    values[WPD_OBJECT_PARENT_ID] = oid
    values[WPD_OBJECT_ORIGINAL_FILE_NAME] = "linus.vcf"
    values[WPD_OBJECT_FORMAT] = sk.FORMAT_VCard3Contact
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Torvalds;Linus;;;\r\nEND:VCARD\r\n"
    stream, _ = content.create_object_with_properties_and_data(values)
    with stream:
        stream.write(card)
        stream.commit()
        linus = stream.get_object_id()
    assert (folder / "linus.vcf").read_bytes() == card
    given = content.properties().get_values(linus, [sk.PKEY_ContactObj_GivenName])
    assert given[sk.PKEY_ContactObj_GivenName] == "Linus"
    # a folder, an empty file inside it, a vCard 2.1 properties-only contact inside it
    mkdir = PortableDeviceValues()
    mkdir[WPD_OBJECT_PARENT_ID] = oid
    mkdir[WPD_OBJECT_NAME] = "Work"
    mkdir[WPD_OBJECT_CONTENT_TYPE] = WPD_CONTENT_TYPE_FOLDER
    work = content.create_object_with_properties_only(mkdir)
    assert (folder / "Work").is_dir()
    empty = PortableDeviceValues()
    empty[WPD_OBJECT_PARENT_ID] = work
    empty[WPD_OBJECT_NAME] = "notes.txt"
    content.create_object_with_properties_only(empty)
    v2 = PortableDeviceValues()
    v2[WPD_OBJECT_PARENT_ID] = work
    v2[WPD_OBJECT_NAME] = "old.vcf"
    v2[WPD_OBJECT_FORMAT] = sk.FORMAT_VCard2Contact
    content.create_object_with_properties_only(v2)
    assert "VERSION:2.1" in (folder / "Work" / "old.vcf").read_text()
    assert sorted(p.name for p in (folder / "Work").iterdir()) == ["notes.txt", "old.vcf"]
    # a field the device refuses: nothing is left behind
    refused = PortableDeviceValues()
    refused[WPD_OBJECT_PARENT_ID] = oid
    refused[WPD_OBJECT_NAME] = "bad"
    refused[WPD_OBJECT_FORMAT] = sk.FORMAT_VCard3Contact
    refused[sk.PKEY_ContactObj_Birthdate] = "not a date"
    assert error_of(lambda: content.create_object_with_properties_only(refused)) == E_INVALIDARG
    assert wait_until(lambda: not (folder / "bad.vcf").exists())
    # refusals: no name, no parent, a parent that holds nothing, a parent outside the service
    nameless = PortableDeviceValues()
    nameless[WPD_OBJECT_PARENT_ID] = oid
    assert error_of(lambda: content.create_object_with_properties_only(nameless)) == E_INVALIDARG
    orphan = PortableDeviceValues()
    orphan[WPD_OBJECT_NAME] = "x"
    assert error_of(lambda: content.create_object_with_properties_only(orphan)) == E_INVALIDARG
    in_file = PortableDeviceValues()
    in_file[WPD_OBJECT_PARENT_ID] = linus
    in_file[WPD_OBJECT_NAME] = "x"
    assert error_of(lambda: content.create_object_with_properties_and_data(in_file)) == (
        E_INVALIDARG
    )
    in_device = PortableDeviceValues()
    in_device[WPD_OBJECT_PARENT_ID] = WPD_DEVICE_OBJECT_ID
    in_device[WPD_OBJECT_NAME] = "x"
    assert error_of(lambda: content.create_object_with_properties_only(in_device)) == (E_INVALIDARG)
    # delete: a folder with children needs recursion; functional objects cannot be deleted
    no_rec = HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION)
    assert error_of(lambda: content.delete(PORTABLE_DEVICE_DELETE_NO_RECURSION, [work])) == no_rec
    mixed = content.delete(PORTABLE_DEVICE_DELETE_WITH_RECURSION, [work, oid])
    assert list(mixed) == [S_OK, E_ACCESSDENIED]
    assert wait_until(lambda: not (folder / "Work").exists())
    assert error_of(lambda: content.delete(7, [linus])) == E_INVALIDARG
    assert error_of(lambda: content.delete(0, [5])) == E_INVALIDARG  # type: ignore[list-item]
    content.cancel()


def test_a_service_without_storage_has_no_objects(dev: DeviceThread) -> None:
    status = open_service(dev.url, SERVICE_Status)
    try:
        content = status.content()
        oid = status.get_service_object_id()
        assert list(content.enum_objects(oid)) == []
        small = f"o{dev.handle_of('small.bin'):X}"
        assert error_of(lambda: content.properties().get_values(small)) == NOT_FOUND
        values = content.properties().get_values(oid)
        assert values[sk.PKEY_StatusSvc_NetworkName] == "openwpd"
        attributes = content.properties().get_property_attributes(
            oid, sk.PKEY_StatusSvc_BatteryLife
        )
        assert attributes[WPD_PROPERTY_ATTRIBUTE_FORM] == 1
        assert attributes[WPD_PROPERTY_ATTRIBUTE_RANGE_MAX] == 100
        make = PortableDeviceValues()
        make[WPD_OBJECT_PARENT_ID] = oid
        make[WPD_OBJECT_NAME] = "x"
        assert error_of(lambda: content.create_object_with_properties_only(make)) == E_INVALIDARG
    finally:
        status.close()


# -- events -------------------------------------------------------------------------------------


class Events:
    def __init__(self) -> None:
        self.seen: list[PortableDeviceValues] = []
        self.arrived = threading.Event()

    def on_event(self, values: PortableDeviceValues) -> None:
        self.seen.append(values)
        self.arrived.set()

    def ids(self) -> list[object]:
        return [v.get(WPD_EVENT_PARAMETER_EVENT_ID) for v in self.seen]


def test_service_events(dev: DeviceThread) -> None:
    diagnostics = open_service(dev.url, sk.SERVICE_OpenwpdDiagnostics)
    contacts = open_service(dev.url, SERVICE_Contacts)
    try:
        prop_changed = Events()
        cookie = diagnostics.advise(prop_changed)
        filtered = Events()
        only_removed = PortableDeviceValues()
        only_removed[WPD_EVENT_PARAMETER_EVENT_ID] = WPD_EVENT_OBJECT_REMOVED
        diagnostics.advise(filtered, only_removed)
        label = PortableDeviceValues()
        label[sk.PKEY_OpenwpdDiagnostics_Label] = "watched"
        props = diagnostics.content().properties()
        assert (
            props.set_values(diagnostics.get_service_object_id(), label)[
                sk.PKEY_OpenwpdDiagnostics_Label
            ]
            == S_OK
        )
        assert wait_until(lambda: bool(prop_changed.seen))
        event = prop_changed.seen[0]
        assert event[WPD_OBJECT_ID] == diagnostics.get_service_object_id()
        assert event[WPD_EVENT_PARAMETER_PNP_DEVICE_ID] == diagnostics.get_pnp_service_id()
        assert list(event[WPD_PROPERTY_MTP_EXT_EVENT_PARAMS]) == [4, 0x0402]
        diagnostics.unadvise(cookie)
        assert error_of(lambda: diagnostics.unadvise(cookie)) == NOT_FOUND
        # method completions are never delivered
        echo = PortableDeviceValues()
        echo[sk.PKEY_OpenwpdDiagnostics_EchoText] = "x"
        diagnostics.methods().invoke(sk.METHOD_OpenwpdDiagnostics_Echo, echo)
        assert filtered.seen == []
        # contacts: an added contact, then its removal (the Phone view's events are not ours)
        events = Events()
        contacts.advise(events.on_event)
        assert len(list(contacts.content().enum_objects("v1"))) == 2  # the folder is watched
        (dev.root / "Contacts" / "new.vcf").write_text(ADA)
        assert wait_until(lambda: WPD_EVENT_OBJECT_ADDED in events.ids())
        added = events.seen[events.ids().index(WPD_EVENT_OBJECT_ADDED)]
        assert added[WPD_OBJECT_ORIGINAL_FILE_NAME] == "new.vcf"
        assert added[WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] == "v1"
        (dev.root / "Contacts" / "new.vcf").unlink()
        assert wait_until(lambda: WPD_EVENT_OBJECT_REMOVED in events.ids())
        assert all(v[WPD_OBJECT_CONTAINER_FUNCTIONAL_OBJECT_ID] == "v1" for v in events.seen)
        # the service goes away
        dev.call(lambda: dev.device.services.remove(1))
        assert wait_until(lambda: events.ids().count(WPD_EVENT_OBJECT_REMOVED) == 2)
        assert events.seen[-1][WPD_OBJECT_ID] == "v1"
        for bad in (object(), lambda: None):
            if not callable(bad):
                assert error_of(lambda b=bad: contacts.advise(b)) == E_INVALIDARG  # type: ignore[misc]
        assert error_of(lambda: contacts.advise(print, "x")) == E_INVALIDARG  # type: ignore[arg-type]
        wrong = PortableDeviceValues()
        wrong[WPD_EVENT_PARAMETER_EVENT_ID] = "not a guid"
        assert error_of(lambda: contacts.advise(print, wrong)) == E_INVALIDARG
    finally:
        diagnostics.close()
        contacts.close()


def test_device_handle_and_service_handle_share_the_session(dev: DeviceThread) -> None:
    device = PortableDevice()
    device.open(dev.url)
    service = open_service(dev.url, SERVICE_Contacts)
    try:
        from openwpd.wpd import bridge

        assert len([s for s in bridge.POOL.connections() if s.key.endswith(str(dev.port))]) == 1
        names = [str(n) for n in service.content().enum_objects(service.get_service_object_id())]
        assert len(names) == 2
        assert device.content().enum_objects(WPD_DEVICE_OBJECT_ID).next(10)
    finally:
        service.close()
        device.close()


def test_event_conversion_edges(contacts: PortableDeviceService, dev: DeviceThread) -> None:
    """Events without parameters or of other services are not delivered; an object the device
    cannot describe any more drops its event; a failing callback does not stop the others."""
    from openwpd.client import DeviceEvent
    from openwpd.protocol.codes import EventCode
    from openwpd.wpd import bridge

    dispatcher = contacts._events
    assert dispatcher is not None
    convert = dispatcher.convert
    assert bridge.run(convert(DeviceEvent(EventCode.DEVICE_INFO_CHANGED, ()))) is None
    assert bridge.run(convert(DeviceEvent(EventCode.SERVICE_PROP_CHANGED, (4, 0x402)))) is None
    assert bridge.run(convert(DeviceEvent(EventCode.OBJECT_REMOVED, (0x7777,)))) is None
    with pytest.raises(Exception):  # noqa: B017 - the device's answer for a gone object
        bridge.run(convert(DeviceEvent(EventCode.OBJECT_ADDED, (0x7777,))))
    failing = threading.Event()

    def broken(values: PortableDeviceValues) -> None:
        failing.set()
        raise RuntimeError("callback failure")

    good = Events()
    contacts.advise(broken)
    contacts.advise(good)
    assert len(list(contacts.content().enum_objects("v1"))) == 2
    (dev.root / "Contacts" / "late.vcf").write_text(ADA)
    assert wait_until(lambda: bool(good.seen)) and failing.is_set()
