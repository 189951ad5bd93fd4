"""The WPD API on a device without the MTP property operations (a declarative Quirks profile
disables them on the real virtual device), plus the pure helpers of the object tree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wpd_support import ThreadedDevice, client_info

import openwpd.wpd as w
from openwpd.client import Quirks, Storage
from openwpd.protocol.codes import OperationCode
from openwpd.protocol.datasets import DeviceInfo, RangeForm, RegexForm
from openwpd.wpd import bridge, objects
from openwpd.wpd import commands as c
from openwpd.wpd import errors as e
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd.values import PortableDeviceValues

_O = OperationCode
BARE = Quirks(
    disabled_operations=frozenset(
        {
            _O.GET_OBJECT_PROP_LIST,
            _O.GET_OBJECT_PROP_DESC,
            _O.GET_OBJECT_PROPS_SUPPORTED,
            _O.GET_DEVICE_PROP_VALUE,
            _O.GET_THUMB,
            _O.MOVE_OBJECT,
            _O.COPY_OBJECT,
        }
    )
)


@pytest.fixture
def bare(vdev: ThreadedDevice) -> Iterator[w.PortableDevice]:
    device = w.PortableDevice(quirks=BARE)
    device.open(vdev.url, client_info())
    try:
        yield device
    finally:
        device.close()


def test_values_from_object_info(vdev: ThreadedDevice, bare: w.PortableDevice) -> None:
    (vdev.root / "Pics").mkdir()
    (vdev.root / "Pics" / "p.png").write_bytes(b"png")
    content = bare.content()
    properties = content.properties()
    [storage] = list(content.enum_objects("DEVICE"))
    [pics] = list(content.enum_objects(storage))
    [picture] = list(content.enum_objects(pics))
    values = properties.get_values(picture)
    assert values[k.WPD_OBJECT_NAME] == "p.png"
    assert values[k.WPD_OBJECT_PARENT_ID] == pics
    assert values[k.WPD_OBJECT_CONTENT_TYPE] == g.WPD_CONTENT_TYPE_IMAGE
    assert values[k.WPD_OBJECT_SIZE] == 3
    assert values[k.WPD_OBJECT_CAN_DELETE] is True
    puid = values[k.WPD_OBJECT_PERSISTENT_UNIQUE_ID]
    assert puid == objects.fallback_puid(bridge.run(bare.handle.client.entry(int(picture[1:], 16))))
    assert list(content.get_object_ids_from_persistent_unique_ids([puid])) == [picture]
    device = properties.get_values("DEVICE")
    assert device[k.WPD_OBJECT_NAME] == "Virtual MTP Device"  # no friendly name without props
    assert k.WPD_DEVICE_FRIENDLY_NAME not in device
    name = properties.get_property_attributes(picture, k.WPD_OBJECT_NAME)
    assert name[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is True
    size = properties.get_property_attributes(picture, k.WPD_OBJECT_SIZE)
    assert size[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    assert list(content.transfer().get_supported_resources(picture)) == [k.WPD_RESOURCE_DEFAULT]
    caps = bare.capabilities()
    keys = caps.get_supported_format_properties(g.WPD_OBJECT_FORMAT_PNG)
    assert k.WPD_OBJECT_NAME in keys and k.WPD_OBJECT_SIZE not in keys
    fixed = caps.get_fixed_property_attributes(g.WPD_OBJECT_FORMAT_PNG, k.WPD_OBJECT_SIZE)
    assert fixed[k.WPD_PROPERTY_ATTRIBUTE_CAN_WRITE] is False
    commands = caps.get_supported_commands()
    assert c.WPD_COMMAND_OBJECT_MANAGEMENT_MOVE_OBJECTS not in commands
    with pytest.raises(w.WpdError) as info:
        content.move([picture], storage)
    assert info.value.hresult == e.E_NOTIMPL


def test_device_type() -> None:
    assert objects.device_type(DeviceInfo(operations_supported=(_O.INITIATE_CAPTURE,))) == 1
    assert objects.device_type(DeviceInfo(vendor_extension_desc="android.com: 1.0;")) == 3
    assert objects.device_type(DeviceInfo()) == 0
    assert objects.protocol_text(110) == "MTP: 1.10"


def test_forms_to_attributes() -> None:
    attributes = PortableDeviceValues()
    objects.form_attributes(RangeForm(0, 100, 5), attributes)
    assert attributes[k.WPD_PROPERTY_ATTRIBUTE_FORM] == objects.FORM_RANGE
    assert attributes[k.WPD_PROPERTY_ATTRIBUTE_RANGE_MAX] == 100
    assert attributes[k.WPD_PROPERTY_ATTRIBUTE_RANGE_STEP] == 5
    objects.form_attributes(RegexForm("[a-z]+"), attributes)
    assert attributes[k.WPD_PROPERTY_ATTRIBUTE_FORM] == objects.FORM_REGULAR_EXPRESSION
    assert attributes[k.WPD_PROPERTY_ATTRIBUTE_REGULAR_EXPRESSION] == "[a-z]+"


def test_storage_values() -> None:
    storage = Storage(0x20001, "Card", "VOL", 1000, 500, 42, 4, 2, 0)
    values = objects.storage_values(storage)
    assert values[k.WPD_OBJECT_ID] == "s20001"
    assert values[k.WPD_STORAGE_FREE_SPACE_IN_OBJECTS] == 42
    assert values[k.WPD_STORAGE_SERIAL_NUMBER] == "VOL"
    assert values[k.WPD_STORAGE_FILE_SYSTEM_TYPE] == "Generic Hierarchical"
    assert values.get_value(k.WPD_STORAGE_CAPACITY).vt is k.VarType.UI8


def test_blocking_call_on_the_loop_thread_is_refused() -> None:
    async def nested() -> int:
        return bridge.run(objects_noop())

    async def objects_noop() -> int:
        return 1

    with pytest.raises(w.WpdError) as info:
        bridge.run(nested())
    assert info.value.hresult == e.E_UNEXPECTED
