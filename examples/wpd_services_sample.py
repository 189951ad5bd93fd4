"""The flow of Microsoft's WpdServicesApiSample (Windows-classic-samples PortableDeviceServices)
with openwpd's WPD API.

Usage::

    python examples/wpd_services_sample.py [DEVICE_URL]

The device comes from the argument, else from OPENWPD_DEVICES (the first one); with neither, the
sample starts openwpd's virtual MTP device over a temporary folder whose Contacts/ folder holds
a few vCards (the device offers that folder as its Contacts service).

Steps: find the Contacts services of the device (GetDeviceServices with SERVICE_Contacts),
print the device behind the first one (GetDeviceForService), open it, read the service
object's properties, list its formats (with their properties), methods (with their parameters),
events (with their parameters) and the abstract services it implements, enumerate the contacts
with their properties, then invoke the FullEnumSync methods BeginSync/EndSync synchronously and
asynchronously (one fresh callback per call, waiting on an event set by ``on_complete``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openwpd.wpd import (
    ENV_DEVICES,
    SECURITY_IMPERSONATION,
    WPD_CLIENT_MAJOR_VERSION,
    WPD_CLIENT_MINOR_VERSION,
    WPD_CLIENT_NAME,
    WPD_CLIENT_REVISION,
    WPD_CLIENT_SECURITY_QUALITY_OF_SERVICE,
    WPD_DEVICE_OBJECT_ID,
    WPD_EVENT_ATTRIBUTE_NAME,
    WPD_EVENT_ATTRIBUTE_OPTIONS,
    WPD_EVENT_ATTRIBUTE_PARAMETERS,
    WPD_EVENT_OPTION_IS_BROADCAST_EVENT,
    WPD_FORMAT_ATTRIBUTE_MIMETYPE,
    WPD_FORMAT_ATTRIBUTE_NAME,
    WPD_METHOD_ATTRIBUTE_ACCESS,
    WPD_METHOD_ATTRIBUTE_ASSOCIATED_FORMAT,
    WPD_METHOD_ATTRIBUTE_NAME,
    WPD_METHOD_ATTRIBUTE_PARAMETERS,
    WPD_OBJECT_NAME,
    WPD_OBJECT_PARENT_ID,
    WPD_OBJECT_PERSISTENT_UNIQUE_ID,
    WPD_PARAMETER_ATTRIBUTE_FORM,
    WPD_PARAMETER_ATTRIBUTE_NAME,
    WPD_PARAMETER_ATTRIBUTE_USAGE,
    WPD_PARAMETER_ATTRIBUTE_VARTYPE,
    WPD_PROPERTY_ATTRIBUTE_VARTYPE,
    PortableDeviceKeyCollection,
    PortableDeviceManager,
    PortableDeviceService,
    PortableDeviceServiceManager,
    PortableDeviceValues,
    SERVICE_AnchorSync,
    SERVICE_Contacts,
    SERVICE_FullEnumSync,
    guid_name,
)
from openwpd.wpd import service_keys as sk

CONTACTS = {
    "ada.vcf": "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\n"
    "TEL;TYPE=CELL:+44 20 0000 0001\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n",
    "grace.vcf": "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;Brewster;;\r\n"
    "ORG:US Navy\r\nEND:VCARD\r\n",
    "alan.vcf": "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alan Turing\r\nN:Turing;Alan;Mathison;;\r\n"
    "END:VCARD\r\n",
}

#: Contact properties read for every contact (the sample's PKEY_GenericObj_* plus two fields).
CONTACT_KEYS = [
    WPD_OBJECT_PARENT_ID,
    WPD_OBJECT_NAME,
    WPD_OBJECT_PERSISTENT_UNIQUE_ID,
    sk.PKEY_ContactObj_GivenName,
    sk.PKEY_ContactObj_FamilyName,
]


def client_info() -> PortableDeviceValues:
    """The client information the WPD samples send."""
    info = PortableDeviceValues()
    info.set_string_value(WPD_CLIENT_NAME, "openwpd WpdServicesApiSample")
    info.set_unsigned_integer_value(WPD_CLIENT_MAJOR_VERSION, 1)
    info.set_unsigned_integer_value(WPD_CLIENT_MINOR_VERSION, 0)
    info.set_unsigned_integer_value(WPD_CLIENT_REVISION, 2)
    info.set_unsigned_integer_value(WPD_CLIENT_SECURITY_QUALITY_OF_SERVICE, SECURITY_IMPERSONATION)
    return info


@contextmanager
def virtual_device() -> Iterator[str]:
    """The built-in virtual device over a temporary folder with a Contacts/ folder, served from
    a thread; yields its URL."""
    from openwpd.server.background import device_in_thread
    from openwpd.server.device import StorageSpec

    with tempfile.TemporaryDirectory(prefix="wpd-services-sample-") as tmp:
        root = Path(tmp) / "Phone"
        (root / "Contacts").mkdir(parents=True)
        for name, text in CONTACTS.items():
            (root / "Contacts" / name).write_text(text, newline="")
        with device_in_thread(
            [StorageSpec(root, "Phone")], state_dir=Path(tmp) / "state", friendly_name="Sample"
        ) as (_, url):
            yield url


def find_contacts_service(url: str) -> str | None:
    """GetDeviceServices(SERVICE_Contacts) on every device; the first service found."""
    manager = PortableDeviceManager([url])
    services = PortableDeviceServiceManager(manager)
    for device_id in manager.get_devices():
        found = services.get_device_services(device_id, SERVICE_Contacts)
        print(f"{device_id}: {len(found)} Contacts service(s)")
        if found:
            parent = services.get_device_for_service(found[0])
            print(
                f"  {found[0]} on {manager.get_device_friendly_name(parent)!r} by "
                f"{manager.get_device_manufacturer(parent)!r}"
            )
            return found[0]
    return None


def read_service_properties(service: PortableDeviceService) -> PortableDeviceValues:
    """Every property of the service object (GetServiceObjectID + GetValues)."""
    object_id = service.get_service_object_id()
    values = service.content().properties().get_values(object_id)
    print(f"service object {object_id}:")
    for key, value in values.items():
        print(f"  {key.name} = {value}")
    return values


def list_formats(service: PortableDeviceService) -> list[str]:
    """GetSupportedFormats -> GetFormatAttributes (+ the format's properties)."""
    caps = service.capabilities()
    names = []
    for fmt in caps.get_supported_formats():
        assert isinstance(fmt, uuid.UUID)
        attributes = caps.get_format_attributes(fmt)
        name = str(attributes[WPD_FORMAT_ATTRIBUTE_NAME])
        names.append(name)
        print(f"format {name} ({attributes[WPD_FORMAT_ATTRIBUTE_MIMETYPE]})")
        for key in caps.get_supported_format_properties(fmt):
            attrs = caps.get_format_property_attributes(fmt, key)
            print(f"  property {key.name}: VARTYPE {attrs.get(WPD_PROPERTY_ATTRIBUTE_VARTYPE)}")
    return names


def list_methods(service: PortableDeviceService) -> list[str]:
    """GetSupportedMethods -> GetMethodAttributes -> GetMethodParameterAttributes."""
    caps = service.capabilities()
    names = []
    for method in caps.get_supported_methods():
        assert isinstance(method, uuid.UUID)
        attributes = caps.get_method_attributes(method)
        name = str(attributes[WPD_METHOD_ATTRIBUTE_NAME])
        names.append(name)
        associated = attributes[WPD_METHOD_ATTRIBUTE_ASSOCIATED_FORMAT]
        print(
            f"method {name}: access {attributes[WPD_METHOD_ATTRIBUTE_ACCESS]}, "
            f"format {guid_name(associated) if isinstance(associated, uuid.UUID) else '-'}"
        )
        parameters = attributes[WPD_METHOD_ATTRIBUTE_PARAMETERS]
        assert isinstance(parameters, PortableDeviceKeyCollection)
        for key in parameters:
            p = caps.get_method_parameter_attributes(method, key)
            print(
                f"  parameter {p[WPD_PARAMETER_ATTRIBUTE_NAME]}: "
                f"usage {p[WPD_PARAMETER_ATTRIBUTE_USAGE]}, "
                f"VARTYPE {p[WPD_PARAMETER_ATTRIBUTE_VARTYPE]}, "
                f"form {p[WPD_PARAMETER_ATTRIBUTE_FORM]}"
            )
    return names


def list_events(service: PortableDeviceService) -> list[str]:
    """GetSupportedEvents -> GetEventAttributes -> GetEventParameterAttributes."""
    caps = service.capabilities()
    names = []
    for event in caps.get_supported_events():
        assert isinstance(event, uuid.UUID)
        attributes = caps.get_event_attributes(event)
        options = attributes[WPD_EVENT_ATTRIBUTE_OPTIONS]
        assert isinstance(options, PortableDeviceValues)
        name = str(attributes[WPD_EVENT_ATTRIBUTE_NAME])
        names.append(name)
        print(f"event {name}: broadcast {options[WPD_EVENT_OPTION_IS_BROADCAST_EVENT]}")
        parameters = attributes[WPD_EVENT_ATTRIBUTE_PARAMETERS]
        assert isinstance(parameters, PortableDeviceKeyCollection)
        for key in parameters:
            p = caps.get_event_parameter_attributes(event, key)
            print(
                f"  parameter {key.name}: VARTYPE {p[WPD_PARAMETER_ATTRIBUTE_VARTYPE]}, "
                f"form {p[WPD_PARAMETER_ATTRIBUTE_FORM]}"
            )
    return names


def list_abstract_services(service: PortableDeviceService) -> list[uuid.UUID]:
    """GetInheritedServices(WPD_SERVICE_INHERITANCE_IMPLEMENTATION)."""
    found = [
        g for g in service.capabilities().get_inherited_services(0) if isinstance(g, uuid.UUID)
    ]
    for guid in found:
        kind = {SERVICE_FullEnumSync: "FullEnumSync", SERVICE_AnchorSync: "AnchorSync"}
        print(f"implements {kind.get(guid, guid_name(guid))}")
    return found


def enumerate_contacts(service: PortableDeviceService) -> dict[str, PortableDeviceValues]:
    """Recursive EnumObjects from DEVICE on the service handle; the properties of each."""
    content = service.content()
    properties = content.properties()
    found: dict[str, PortableDeviceValues] = {}

    def walk(object_id: str, depth: int) -> None:
        for child in content.enum_objects(object_id):
            values = properties.get_values(child, CONTACT_KEYS)
            print(f"{'  ' * depth}{child}  {values.get(WPD_OBJECT_NAME)}")
            if child != service.get_service_object_id():
                found[child] = values
                for key in (sk.PKEY_ContactObj_GivenName, sk.PKEY_ContactObj_FamilyName):
                    print(f"{'  ' * depth}  {key} = {values.get(key)}")
            walk(child, depth + 1)

    walk(WPD_DEVICE_OBJECT_ID, 0)
    return found


class Completion:
    """IPortableDeviceServiceMethodCallback: remembers the status and signals an event."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.hresult: int | None = None

    def on_complete(self, hresult: int, results: PortableDeviceValues) -> None:
        self.hresult = hresult
        self.done.set()


def invoke_methods(service: PortableDeviceService) -> list[int]:
    """BeginSync/EndSync with Invoke, then with InvokeAsync; the async statuses."""
    methods = service.methods()
    for method in (sk.METHOD_FullEnumSyncSvc_BeginSync, sk.METHOD_FullEnumSyncSvc_EndSync):
        methods.invoke(method)
        print(f"invoked {guid_name(method)}")
    statuses = []
    for method in (sk.METHOD_FullEnumSyncSvc_BeginSync, sk.METHOD_FullEnumSyncSvc_EndSync):
        callback = Completion()  # a new callback per call: it names the invocation
        methods.invoke_async(method, None, callback)
        callback.done.wait(30)
        assert callback.hresult is not None
        statuses.append(callback.hresult)
        print(f"invoked {guid_name(method)} asynchronously: 0x{callback.hresult:08X}")
    return statuses


def run(url: str) -> dict[str, object]:
    """The whole sample against ``url``; returns what it observed (for tests)."""
    service_id = find_contacts_service(url)
    if service_id is None:
        print("no Contacts service")
        return {}
    service = PortableDeviceService()
    service.open(service_id, client_info())
    try:
        return {
            "service": read_service_properties(service),
            "formats": list_formats(service),
            "methods": list_methods(service),
            "events": list_events(service),
            "abstract": list_abstract_services(service),
            "contacts": enumerate_contacts(service),
            "async": invoke_methods(service),
        }
    finally:
        service.close()


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get(ENV_DEVICES, "").split(",")[0].strip()
    if url:
        run(url)
    else:
        with virtual_device() as local_url:
            run(local_url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
