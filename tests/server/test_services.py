"""MTP Device Services on the virtual device, over real loopback PTP/IP: discovery, capabilities,
service properties and their events, the Contacts/Calendar storages and their field properties.

Expected GUIDs, PROPERTYKEYs and codes are written from the MTP Device
Services extension and the Windows SDK service headers, not taken from the code under test.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import (
    DataType,
    EventCode,
    FormFlag,
    ObjectFormatCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import (
    DeletePropList,
    DeletePropListElement,
    DeviceInfo,
    EnumForm,
    FormatCapabilityList,
    ObjectInfo,
    ObjectPropList,
    PropListElement,
    RangeForm,
    ServiceInfo,
    ServiceMethodParameterForm,
    ServiceObjectPropertyForm,
    ServicePropDescList,
    parse_uint32_array,
)
from openwpd.protocol.messages import Event
from openwpd.server.device import VirtualDevice

PHONE = 0x00010001
CONTACTS_STORAGE = 0x00020001  # the first storage after "Phone"

VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;Augusta;Hon.;\r\n"
    "TEL;TYPE=CELL:+44 20 7946 0000\r\nTEL;TYPE=WORK,PREF:+44 20 7946 0001\r\n"
    "EMAIL;TYPE=HOME:ada@example.org\r\nORG:Analytical Engines\\, Ltd;R&D\r\n"
    "BDAY:1815-12-10\r\nX-CUSTOM:keep me\r\nEND:VCARD\r\n"
)
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1@example.org\r\n"
    "DTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z\r\nLOCATION:Room 1\r\n"
    "SUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

# From the SDK headers
SERVICE_CONTACTS = uuid.UUID("DD04D5FC-9D6E-4F76-9DCF-ECA6339B7389")
SERVICE_CALENDAR = uuid.UUID("E4DFDBD3-7F04-45E9-9FA1-5CA0EAEB0AE3")
SERVICE_STATUS = uuid.UUID("0B9F1048-B94B-DC9A-4ED7-FE4FED3A0DEB")
SERVICE_FULL_ENUM_SYNC = uuid.UUID("28D3AAC9-C075-44BE-8881-65F38D305909")
METHOD_BEGIN_SYNC = uuid.UUID("63803E07-C713-45D3-8119-3479B31D3592")
METHOD_END_SYNC = uuid.UUID("40F3F0F7-A539-422E-98DD-FD8D385C8849")
NS_STATUS = uuid.UUID("49CD1F76-5626-4B17-A4E8-18B4AA1A2213")
NS_CONTACT = uuid.UUID("FBD4FDAB-987D-4777-B3F9-726185A9312B")
NS_CALENDAR_SVC = uuid.UUID("63816297-61E5-4306-B1A3-CEDF481B8629")
FORMAT_VCARD3 = uuid.UUID("BB830000-AE6C-4804-98BA-C57B46965FE7")
FORMAT_ICALENDAR = uuid.UUID("CC4538CB-7890-41B7-A3F1-B6E60BDD2A61")
EVENT_METHOD_COMPLETE = uuid.UUID("8A33F5F8-0ACC-4D9B-9CC4-112D353B86CA")
# docs/device-services.md (our own allocation)
SERVICE_DIAGNOSTICS = uuid.UUID("6F70656E-7770-4464-8000-446961670001")
CONTACTS, CALENDAR, STATUS, DIAGNOSTICS = 1, 2, 3, 4


class Events:
    """Collects the device's events as they arrive on the event connection."""

    def __init__(self, runner: TransactionRunner) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        runner.link.on_event = self.queue.put_nowait  # type: ignore[attr-defined]

    async def wait(self, code: int, *params: int, timeout: float = 5.0) -> Event:
        """The next event with ``code`` whose first parameters are ``params``."""

        async def find() -> Event:
            while True:
                event = await self.queue.get()
                if event.code == code and event.params[: len(params)] == params:
                    return event

        return await asyncio.wait_for(find(), timeout)

    def pending(self) -> list[Event]:
        found = []
        while not self.queue.empty():
            found.append(self.queue.get_nowait())
        return found


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    (root / "Contacts").mkdir(parents=True)
    (root / "Calendar").mkdir()
    (root / "Contacts" / "ada.vcf").write_bytes(VCARD.encode())
    (root / "Calendar" / "review.ics").write_bytes(ICS.encode())
    (root / "notes.txt").write_text("hello")
    return root


async def ok(
    runner: TransactionRunner, code: int, *params: int, data: bytes | None = None
) -> bytes:
    res = await runner.transact(code, params, data=data)
    assert res.code == ResponseCode.OK, hex(res.code)
    return res.data


async def info(runner: TransactionRunner, sid: int) -> ServiceInfo:
    return ServiceInfo.from_bytes(await ok(runner, OperationCode.GET_SERVICE_INFO, sid))


# -- discovery ------------------------------------------------------------------------------


async def test_device_info_announces_device_services(runner: TransactionRunner) -> None:
    di = DeviceInfo.from_bytes(await ok(runner, OperationCode.GET_DEVICE_INFO))
    assert "microsoft.com/DeviceServices: 1.0;" in di.vendor_extension_desc
    for op in range(0x9301, 0x930B):
        assert op in di.operations_supported
    for ev in (0xC301, 0xC302, 0xC303, 0xC304):
        assert ev in di.events_supported


async def test_service_ids_and_infos(runner: TransactionRunner) -> None:
    ids = parse_uint32_array(await ok(runner, OperationCode.GET_SERVICE_IDS))
    assert ids == (CONTACTS, CALENDAR, STATUS, DIAGNOSTICS)
    guids = {sid: (await info(runner, sid)).guid for sid in ids}
    assert guids == {
        CONTACTS: SERVICE_CONTACTS,
        CALENDAR: SERVICE_CALENDAR,
        STATUS: SERVICE_STATUS,
        DIAGNOSTICS: SERVICE_DIAGNOSTICS,
    }
    contacts = await info(runner, CONTACTS)
    assert contacts.name == "Contacts" and contacts.service_type == 0 and contacts.version == 100
    assert contacts.storage_id == CONTACTS_STORAGE
    assert contacts.used_services == (SERVICE_FULL_ENUM_SYNC,)
    assert {(m.guid, m.name) for m in contacts.methods} == {
        (METHOD_BEGIN_SYNC, "BeginSync"),
        (METHOD_END_SYNC, "EndSync"),
    }
    assert (contacts.formats[0].code, contacts.formats[0].guid) == (0xBB83, FORMAT_VCARD3)
    assert (EventCode.METHOD_COMPLETE, EVENT_METHOD_COMPLETE) in {
        (e.code, e.guid) for e in contacts.events
    }
    # distinct, stable instance PUIDs
    puids = {(await info(runner, sid)).puid for sid in ids}
    assert len(puids) == 4 and uuid.UUID(int=0) not in puids
    assert (await info(runner, CALENDAR)).storage_id == 0x00030001
    assert (await info(runner, CALENDAR)).formats[0].guid == FORMAT_ICALENDAR


async def test_status_properties_carry_their_propertykeys(runner: TransactionRunner) -> None:
    status = await info(runner, STATUS)
    assert status.storage_id == 0 and status.methods == () and status.formats == ()
    keys = {p.name: (p.namespace, p.pid) for p in status.properties}
    assert keys["SignalStrength"] == (NS_STATUS, 2)
    assert keys["BatteryLife"] == (NS_STATUS, 10)
    assert keys["StorageFreeSpace"] == (NS_STATUS, 13)
    assert EventCode.SERVICE_PROP_CHANGED in {e.code for e in status.events}


async def test_unknown_service_id(runner: TransactionRunner) -> None:
    for op in (
        OperationCode.GET_SERVICE_INFO,
        OperationCode.GET_SERVICE_CAPABILITIES,
        OperationCode.GET_SERVICE_PROP_DESC,
        OperationCode.GET_SERVICE_PROP_LIST,
    ):
        res = await runner.transact(op, (99,))
        assert res.code == ResponseCode.INVALID_SERVICE_ID


# -- capabilities ---------------------------------------------------------------------------


async def test_service_capabilities_of_contacts(runner: TransactionRunner) -> None:
    caps = FormatCapabilityList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_CAPABILITIES, CONTACTS, 0)
    )
    by_code = {c.format_code: c for c in caps.formats}
    vcard = by_code[ObjectFormatCode.VCARD3]
    forms = {d.code: d.form for d in vcard.prop_descs}
    given = forms[0xDD00]
    assert isinstance(given, ServiceObjectPropertyForm)
    assert (given.namespace, given.pid, given.name) == (NS_CONTACT, 3, "GivenName")
    mobile = forms[0xDD12]
    assert isinstance(mobile, ServiceObjectPropertyForm) and mobile.pid == 42
    # the sync methods appear as (parameterless) method formats
    info_ = await info(runner, CONTACTS)
    for m in info_.methods:
        assert by_code[m.code].prop_descs == ()
    one = FormatCapabilityList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_CAPABILITIES, CONTACTS, 0xBB83)
    )
    assert [c.format_code for c in one.formats] == [0xBB83]
    res = await runner.transact(OperationCode.GET_SERVICE_CAPABILITIES, (CONTACTS, 0x3801))
    assert res.code == ResponseCode.INVALID_OBJECT_FORMAT_CODE


async def test_method_parameters_use_the_0x82_form(runner: TransactionRunner) -> None:
    diag = await info(runner, DIAGNOSTICS)
    methods = {m.name: m.code for m in diag.methods}
    assert set(methods) == {"Echo", "Sleep", "HashObject"}
    caps = FormatCapabilityList.from_bytes(
        await ok(runner, OperationCode.GET_FORMAT_CAPABILITIES, methods["HashObject"])
    )
    (fmt,) = caps.formats
    params = {}
    for d in fmt.prop_descs:
        assert isinstance(d.form, ServiceMethodParameterForm)
        params[d.form.name] = (d.datatype, d.form.param_type, d.form.param_number, d.form.form)
    assert params["Object"][:3] == (DataType.UINT32, 1, 0)
    assert params["Object"][3] is not None and params["Object"][3].flag == FormFlag.OBJECT_ID
    algorithm = params["Algorithm"]
    assert algorithm[:3] == (DataType.STR, 1, 1)
    assert isinstance(algorithm[3], EnumForm) and {"sha256", "md5"} <= set(algorithm[3].values)
    assert params["Digest"][:3] == (DataType.STR, 2, 2)
    sleep = FormatCapabilityList.from_bytes(
        await ok(runner, OperationCode.GET_FORMAT_CAPABILITIES, methods["Sleep"])
    )
    (ms,) = sleep.formats[0].prop_descs
    assert isinstance(ms.form, ServiceMethodParameterForm)
    assert isinstance(ms.form.form, RangeForm) and ms.form.form.min == 0


async def test_format_capabilities_all_and_unknown(runner: TransactionRunner) -> None:
    every = FormatCapabilityList.from_bytes(
        await ok(runner, OperationCode.GET_FORMAT_CAPABILITIES, 0)
    )
    codes = [c.format_code for c in every.formats]
    assert 0xBB83 in codes and 0xBB42 in codes and len(codes) == len(set(codes))
    res = await runner.transact(OperationCode.GET_FORMAT_CAPABILITIES, (0x3801,))
    assert res.code == ResponseCode.INVALID_OBJECT_FORMAT_CODE


# -- service properties ---------------------------------------------------------------------


async def test_service_prop_descs_and_list(runner: TransactionRunner) -> None:
    status = await info(runner, STATUS)
    code = {p.name: p.code for p in status.properties}
    descs = ServicePropDescList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_PROP_DESC, STATUS, 0)
    ).descs
    assert len(descs) == len(status.properties)
    battery = next(d for d in descs if d.code == code["BatteryLife"])
    assert (battery.datatype, battery.getset) == (DataType.UINT8, 0)
    assert battery.form == RangeForm(0, 100, 1)
    roaming = ServicePropDescList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_PROP_DESC, STATUS, code["Roaming"])
    ).descs
    assert [d.form for d in roaming] == [EnumForm((0, 1, 2))]
    values = ObjectPropList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_PROP_LIST, STATUS, 0xFFFFFFFF)
    ).elements
    assert {e.handle for e in values} == {STATUS}
    assert len(values) == len(status.properties)
    one = ObjectPropList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_PROP_LIST, STATUS, code["BatteryLife"])
    ).elements
    assert one == (PropListElement(STATUS, code["BatteryLife"], DataType.UINT8, 100),)
    res = await runner.transact(OperationCode.GET_SERVICE_PROP_DESC, (STATUS, 0x7777))
    assert res.code == ResponseCode.INVALID_SERVICE_PROP_CODE


async def test_set_service_prop_list_raises_prop_changed(runner: TransactionRunner) -> None:
    events = Events(runner)
    cal = await info(runner, CALENDAR)
    start = next(p for p in cal.properties if (p.namespace, p.pid) == (NS_CALENDAR_SVC, 2))
    data = ObjectPropList(
        (PropListElement(CALENDAR, start.code, DataType.UINT32, 1440),)
    ).to_bytes()
    await ok(runner, OperationCode.SET_SERVICE_PROP_LIST, CALENDAR, data=data)
    event = await events.wait(EventCode.SERVICE_PROP_CHANGED, CALENDAR, start.code)
    assert event.params[:2] == (CALENDAR, start.code)
    got = ObjectPropList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_PROP_LIST, CALENDAR, start.code)
    )
    assert got.elements[0].value == 1440
    # delete = back to its default (0), with p1 = 0 on success
    res = await runner.transact(
        OperationCode.DELETE_SERVICE_PROP_LIST,
        (CALENDAR,),
        data=DeletePropList((DeletePropListElement(CALENDAR, start.code),)).to_bytes(),
    )
    assert (res.code, res.params) == (ResponseCode.OK, (0,))
    got = ObjectPropList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_PROP_LIST, CALENDAR, start.code)
    )
    assert got.elements[0].value == 0


@pytest.mark.parametrize(
    ("element", "code"),
    [
        (PropListElement(STATUS, 0x030A, DataType.UINT8, 50), ResponseCode.ACCESS_DENIED),
        (
            PropListElement(DIAGNOSTICS, 0x7777, DataType.STR, "x"),
            ResponseCode.INVALID_SERVICE_PROP_CODE,
        ),
        (PropListElement(CALENDAR, 0x0402, DataType.STR, "x"), ResponseCode.INVALID_SERVICE_ID),
        (
            PropListElement(DIAGNOSTICS, 0x0402, DataType.UINT8, 1),
            ResponseCode.INVALID_OBJECT_PROP_FORMAT,
        ),
    ],
)
async def test_set_service_prop_list_refusals(
    runner: TransactionRunner, element: PropListElement, code: int
) -> None:
    sid = STATUS if element.code == 0x030A else DIAGNOSTICS
    good = PropListElement(sid, 0x0402, DataType.STR, "first") if sid == DIAGNOSTICS else element
    elements = (good, element) if sid == DIAGNOSTICS else (element,)
    res = await runner.transact(
        OperationCode.SET_SERVICE_PROP_LIST, (sid,), data=ObjectPropList(elements).to_bytes()
    )
    assert res.code == code
    assert res.params[:1] == (len(elements) - 1,)
    if sid == DIAGNOSTICS:  # nothing was applied: the list is all or nothing
        label = ObjectPropList.from_bytes(
            await ok(runner, OperationCode.GET_SERVICE_PROP_LIST, DIAGNOSTICS, 0x0402)
        )
        assert label.elements[0].value == ""


async def test_value_outside_the_form_is_refused(runner: TransactionRunner) -> None:
    data = ObjectPropList((PropListElement(CONTACTS, 0x0106, DataType.UINT8, 7),)).to_bytes()
    res = await runner.transact(OperationCode.SET_SERVICE_PROP_LIST, (CONTACTS,), data=data)
    assert (res.code, res.params) == (ResponseCode.INVALID_OBJECT_PROP_VALUE, (0,))


async def test_malformed_and_refused_deletes(runner: TransactionRunner) -> None:
    res = await runner.transact(OperationCode.SET_SERVICE_PROP_LIST, (DIAGNOSTICS,), data=b"\x05")
    assert res.code == ResponseCode.INVALID_DATASET
    for element, code in (
        (DeletePropListElement(DIAGNOSTICS, 0x0403), ResponseCode.ACCESS_DENIED),
        (DeletePropListElement(DIAGNOSTICS, 0x7777), ResponseCode.INVALID_SERVICE_PROP_CODE),
        (DeletePropListElement(STATUS, 0x0402), ResponseCode.INVALID_SERVICE_ID),
    ):
        res = await runner.transact(
            OperationCode.DELETE_SERVICE_PROP_LIST,
            (DIAGNOSTICS,),
            data=DeletePropList((DeletePropListElement(DIAGNOSTICS, 0x0402), element)).to_bytes(),
        )
        assert (res.code, res.params) == (code, (1,))
    res = await runner.transact(
        OperationCode.DELETE_SERVICE_PROP_LIST, (STATUS,), data=DeletePropList(()).to_bytes()
    )
    assert (res.code, res.params) == (ResponseCode.OK, (0,))


# -- Status: changes over time --------------------------------------------------------------


async def test_status_set_raises_service_prop_changed(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    events = Events(runner)
    await ok(runner, OperationCode.GET_SERVICE_IDS)
    dev.services.status.set(battery_life=42, roaming=1)
    seen = {(await events.wait(EventCode.SERVICE_PROP_CHANGED, STATUS)).params[1] for _ in range(2)}
    assert seen == {0x030A, 0x0309}
    values = ObjectPropList.from_bytes(
        await ok(runner, OperationCode.GET_SERVICE_PROP_LIST, STATUS, 0x030A)
    )
    assert values.elements[0].value == 42
    dev.services.status.set(battery_life=42)  # no change, no event
    with pytest.raises(ValueError):
        dev.services.status.set(battery_life=101)
    with pytest.raises(TypeError):
        dev.services.status.set(warp_drive=1)
    await asyncio.sleep(0.05)
    assert [e for e in events.pending() if e.code == EventCode.SERVICE_PROP_CHANGED] == []


async def test_status_ticker_runs_while_a_session_is_open(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    status = dev.services.status
    status.stop_ticking()
    status.tick_interval = 0.05
    status.set(battery_life=6, signal_strength=4)
    events = Events(runner)
    await ok(runner, OperationCode.GET_SERVICE_IDS)  # service activity starts the ticker
    assert status.ticking
    await events.wait(EventCode.SERVICE_PROP_CHANGED, STATUS, 0x030A)
    await events.wait(EventCode.SERVICE_PROP_CHANGED, STATUS, 0x0302)
    for _ in range(3):
        await events.wait(EventCode.SERVICE_PROP_CHANGED, STATUS, 0x030A)
    battery = status.value(0x030A)
    assert isinstance(battery, int) and battery > 6  # drained to 5 and "charged" back to 100
    await runner.aclose()
    for _ in range(100):
        if not status.ticking:
            break
        await asyncio.sleep(0.02)
    assert not status.ticking  # no session open: the simulation stopped by itself


# -- services appear and go away --------------------------------------------------------------


async def test_service_removed_and_added(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    events = Events(runner)
    diag = dev.services.remove(DIAGNOSTICS)
    await events.wait(EventCode.SERVICE_REMOVED, DIAGNOSTICS)
    assert parse_uint32_array(await ok(runner, OperationCode.GET_SERVICE_IDS)) == (1, 2, 3)
    res = await runner.transact(OperationCode.GET_SERVICE_INFO, (DIAGNOSTICS,))
    assert res.code == ResponseCode.INVALID_SERVICE_ID
    dev.services.add(diag)
    await events.wait(EventCode.SERVICE_ADDED, DIAGNOSTICS)
    assert (await info(runner, DIAGNOSTICS)).guid == SERVICE_DIAGNOSTICS
    with pytest.raises(ValueError):
        dev.services.add(diag)
    status = dev.services.remove(STATUS)
    await events.wait(EventCode.SERVICE_REMOVED, STATUS)
    await ok(runner, OperationCode.GET_SERVICE_IDS)  # no Status: no ticker to start
    assert not dev.services.status.ticking
    dev.services.add(status)


# -- Contacts and Calendar objects ----------------------------------------------------------


async def test_contacts_are_objects_of_the_service_storage(
    runner: TransactionRunner, served: Path
) -> None:
    sid = (await info(runner, CONTACTS)).storage_id
    handles = parse_uint32_array(
        await ok(runner, OperationCode.GET_OBJECT_HANDLES, sid, 0, 0xFFFFFFFF)
    )
    assert len(handles) == 1
    oi = ObjectInfo.from_bytes(await ok(runner, OperationCode.GET_OBJECT_INFO, handles[0]))
    assert (oi.filename, oi.object_format, oi.storage_id) == ("ada.vcf", 0xBB83, sid)
    assert (
        await ok(runner, OperationCode.GET_OBJECT, handles[0])
        == (served / "Contacts" / "ada.vcf").read_bytes()
    )
    # GetStorageIDs still lists what was served... plus the service storages
    ids = parse_uint32_array(await ok(runner, OperationCode.GET_STORAGE_IDS))
    assert ids[0] == PHONE and sid in ids


async def _contact_handle(dev: VirtualDevice) -> int:
    sid = dev.services.get(CONTACTS).storage_id
    (obj,) = dev.store.children(sid)
    return obj.handle


async def test_contact_fields_as_object_properties(device: tuple[VirtualDevice, int]) -> None:
    dev = device[0]
    handle = await _contact_handle(dev)
    fields = {e.code: e.value for e in dev.services.get_object_props(handle) or []}
    assert fields[0xDD00] == "Ada"  # GivenName
    assert fields[0xDD01] == "Augusta"
    assert fields[0xDD02] == "Lovelace"  # FamilyName
    assert fields[0xDD03] == "Hon."
    assert 0xDD04 not in fields  # empty Suffix
    assert fields[0xDD0D] == "+44 20 7946 0001"  # primary phone: the PREF one
    assert fields[0xDD12] == "+44 20 7946 0000"  # mobile
    assert fields[0xDD10] == "+44 20 7946 0001"  # business
    assert fields[0xDD07] == "ada@example.org"  # primary e-mail: the only one
    assert fields[0xDD34] == "Analytical Engines, Ltd"
    assert fields[0xDD37] == "18151210T000000"
    only = dev.services.get_object_props(handle, 0xDD02)
    assert only == [PropListElement(handle, 0xDD02, DataType.STR, "Lovelace")]


async def test_update_and_delete_object_prop_list_rewrite_the_vcard(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], served: Path
) -> None:
    dev = device[0]
    handle = await _contact_handle(dev)
    data = ObjectPropList(
        (
            PropListElement(handle, 0xDD00, DataType.STR, "Augusta Ada"),
            PropListElement(handle, 0xDD36, DataType.STR, "Mathematician; writer"),
            PropListElement(handle, 0xDD37, DataType.STR, "18151210T000000"),
        )
    ).to_bytes()
    res = await runner.transact(OperationCode.UPDATE_OBJECT_PROP_LIST, (handle,), data=data)
    assert (res.code, res.params) == (ResponseCode.OK, (0,))
    text = (served / "Contacts" / "ada.vcf").read_bytes().decode()
    assert "N:Lovelace;Augusta Ada;Augusta;Hon.;\r\n" in text
    assert "ROLE:Mathematician\\; writer\r\n" in text
    assert "X-CUSTOM:keep me\r\n" in text
    fields = {e.code: e.value for e in dev.services.get_object_props(handle) or []}
    assert fields[0xDD36] == "Mathematician; writer"
    res = await runner.transact(
        OperationCode.DELETE_OBJECT_PROP_LIST,
        (0xFFFFFFFF,),
        data=DeletePropList(
            (DeletePropListElement(handle, 0xDD12), DeletePropListElement(handle, 0xDD01))
        ).to_bytes(),
    )
    assert (res.code, res.params) == (ResponseCode.OK, (0,))
    text = (served / "Contacts" / "ada.vcf").read_bytes().decode()
    assert "CELL" not in text and "N:Lovelace;Augusta Ada;;Hon.;\r\n" in text


async def test_object_prop_list_refusals(
    runner: TransactionRunner, device: tuple[VirtualDevice, int]
) -> None:
    dev = device[0]
    handle = await _contact_handle(dev)
    txt = next(o.handle for o in dev.store.children(PHONE) if o.name == "notes.txt")
    cases = [
        # a second element naming another object than p1
        (
            handle,
            [
                PropListElement(handle, 0xDD00, DataType.STR, "A"),
                PropListElement(txt, 0xDD00, DataType.STR, "B"),
            ],
            ResponseCode.INVALID_OBJECT_HANDLE,
            1,
        ),
        # not a contact field of this object
        (
            handle,
            [PropListElement(0, 0xDC44, DataType.STR, "x")],
            ResponseCode.INVALID_OBJECT_PROP_CODE,
            0,
        ),
        # wrong type / bad date
        (
            handle,
            [PropListElement(0, 0xDD00, DataType.UINT8, 1)],
            ResponseCode.INVALID_OBJECT_PROP_FORMAT,
            0,
        ),
        (
            handle,
            [PropListElement(0, 0xDD37, DataType.STR, "yesterday")],
            ResponseCode.INVALID_OBJECT_PROP_VALUE,
            0,
        ),
        # a plain file has no service properties
        (
            0xFFFFFFFF,
            [
                PropListElement(handle, 0xDD00, DataType.STR, "A"),
                PropListElement(txt, 0xDD00, DataType.STR, "B"),
            ],
            ResponseCode.OBJECT_PROP_NOT_SUPPORTED,
            1,
        ),
        # no such object
        (
            0xFFFFFFFF,
            [PropListElement(0x7000_0000, 0xDD00, DataType.STR, "A")],
            ResponseCode.INVALID_OBJECT_HANDLE,
            0,
        ),
    ]
    for p1, elements, code, index in cases:
        res = await runner.transact(
            OperationCode.UPDATE_OBJECT_PROP_LIST,
            (p1,),
            data=ObjectPropList(tuple(elements)).to_bytes(),
        )
        assert (res.code, res.params) == (code, (index,)), (elements, hex(res.code))
    res = await runner.transact(
        OperationCode.DELETE_OBJECT_PROP_LIST,
        (0xFFFFFFFF,),
        data=DeletePropList(
            (DeletePropListElement(handle, 0xDD00), DeletePropListElement(txt, 0xDC44))
        ).to_bytes(),
    )
    assert (res.code, res.params) == (ResponseCode.INVALID_OBJECT_PROP_CODE, (1,))
    res = await runner.transact(
        OperationCode.DELETE_OBJECT_PROP_LIST,
        (handle,),
        data=DeletePropList((DeletePropListElement(handle, 0xDC44),)).to_bytes(),
    )
    assert (res.code, res.params) == (ResponseCode.INVALID_OBJECT_PROP_CODE, (0,))
    res = await runner.transact(OperationCode.UPDATE_OBJECT_PROP_LIST, (handle,), data=b"\x01\x00")
    assert res.code == ResponseCode.INVALID_DATASET


async def test_calendar_fields(device: tuple[VirtualDevice, int], served: Path) -> None:
    dev = device[0]
    sid = dev.services.get(CALENDAR).storage_id
    (obj,) = dev.store.children(sid)
    fields = {e.code: e.value for e in dev.services.get_object_props(obj.handle) or []}
    assert fields == {
        0xDD50: "20240102T100000Z",
        0xDD51: "20240102T110000Z",
        0xDD52: "Room 1",
    }
    dev.services.set_object_props(
        obj.handle, [PropListElement(obj.handle, 0xDD52, DataType.STR, "Room 2, floor 3")]
    )
    assert (
        "LOCATION:Room 2\\, floor 3\r\n"
        in (served / "Calendar" / "review.ics").read_bytes().decode()
    )


async def test_hooks_for_plain_objects(device: tuple[VirtualDevice, int]) -> None:
    dev = device[0]
    txt = next(o for o in dev.store.children(PHONE) if o.name == "notes.txt")
    folder = next(o for o in dev.store.children(PHONE) if o.name == "Contacts")
    services = dev.services
    assert services.get_object_props(txt.handle) is None
    assert services.get_object_props(folder.handle) is None
    assert services.set_object_props(txt.handle, []) is False
    assert services.delete_object(txt.handle) is False
    assert services.object_props_supported(0x3004) is None
    assert services.object_prop_desc(0xDD00, 0x3004) is None
    assert services.object_prop_desc(0xDC44, 0xBB83) is None
    assert 0xDD00 in (services.object_props_supported(0xBB82) or ())
    desc = services.object_prop_desc(0xDD50, 0xBB42)
    assert desc is not None and isinstance(desc.form, ServiceObjectPropertyForm)
    assert desc.form.form is not None and desc.form.form.flag == FormFlag.DATE_TIME


# -- contact fields through the generic object-property operations (handlers/props.py) -------


async def test_contact_fields_through_the_object_property_operations(
    runner: TransactionRunner, device: tuple[VirtualDevice, int], served: Path
) -> None:
    from openwpd.protocol._buffer import Reader
    from openwpd.protocol.datasets import ObjectPropDesc, iter_prop_list, parse_uint16_array
    from openwpd.protocol.datatypes import read_string

    dev = device[0]
    handle = await _contact_handle(dev)
    supported = parse_uint16_array(
        await ok(runner, OperationCode.GET_OBJECT_PROPS_SUPPORTED, 0xBB83)
    )
    assert 0xDC07 in supported and 0xDD02 in supported  # generic + FamilyName
    desc = ObjectPropDesc.from_bytes(
        await ok(runner, OperationCode.GET_OBJECT_PROP_DESC, 0xDD02, 0xBB83)
    )
    assert (desc.code, desc.datatype) == (0xDD02, DataType.STR)
    # one field, as a bare value
    raw = await ok(runner, OperationCode.GET_OBJECT_PROP_VALUE, handle, 0xDD02)
    assert read_string(Reader(raw)) == "Lovelace"
    # GetObjectPropList: the generic properties and the contact's fields, with a right count
    data = await ok(runner, OperationCode.GET_OBJECT_PROP_LIST, handle, 0, 0xFFFFFFFF, 0, 0)
    elements = list(iter_prop_list(Reader(data)))
    codes = {e.code: e.value for e in elements}
    assert codes[0xDC07] == "ada.vcf" and codes[0xDD02] == "Lovelace"
    only = list(
        iter_prop_list(
            Reader(await ok(runner, OperationCode.GET_OBJECT_PROP_LIST, handle, 0, 0xDD00, 0, 0))
        )
    )
    assert [(e.code, e.value) for e in only] == [(0xDD00, "Ada")]
    # SetObjectPropValue of a field rewrites the vCard; SetObjectPropList too
    from openwpd.protocol._buffer import Writer
    from openwpd.protocol.datatypes import write_string

    w = Writer()
    write_string(w, "Byron")
    await ok(runner, OperationCode.SET_OBJECT_PROP_VALUE, handle, 0xDD02, data=w.getvalue())
    assert "N:Byron;" in (served / "Contacts" / "ada.vcf").read_text()
    plist = ObjectPropList((PropListElement(handle, 0xDD00, DataType.STR, "Augusta"),))
    await ok(runner, OperationCode.SET_OBJECT_PROP_LIST, data=plist.to_bytes())
    assert "N:Byron;Augusta;" in (served / "Contacts" / "ada.vcf").read_text()
    # a text file has no such field
    txt = next(o.handle for o in dev.store.children(PHONE) if o.name == "notes.txt")
    res = await runner.transact(OperationCode.GET_OBJECT_PROP_VALUE, (txt, 0xDD02))
    assert res.code in (
        ResponseCode.OBJECT_PROP_NOT_SUPPORTED,
        ResponseCode.INVALID_OBJECT_PROP_CODE,
    )
