"""The Contacts and Calendar services: vCard / iCalendar files of a folder, seen as objects with
the standard contact and calendar properties, plus the FullEnumSync methods and properties.

Theory of operation: each service owns a storage (a folder of the served tree, see
:mod:`openwpd.server.services.core`); its objects are ordinary store objects -- listing,
GetObjectInfo, GetObject, SendObjectInfo/SendObject and DeleteObject need nothing from us.
What services add is the *field* view of those files: for every object of format vCard
(0xBB82/0xBB83) or iCalendar (0xBB42), wherever it is stored, the MTP contact/activity property
codes (0xDD00...) map to fields of the file (:data:`PIM_FIELDS`), each with the PROPERTYKEY of
the Windows ``ContactDeviceService.h`` / ``CalendarDeviceService.h`` headers (0x81 form).
Reading parses the file (small files only: :data:`MAX_PIM_FILE`); writing (UpdateObjectPropList,
SetObjectPropList via props.py) and deleting (DeleteObjectPropList) rewrite the file through a
store edit session, so a failure leaves the old file, and other lines survive untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from openwpd.protocol.codes import (
    ALL,
    DataType,
    EventCode,
    ObjectFormatCode,
    ObjectPropCode,
    ResponseCode,
)
from openwpd.protocol.datasets import DateTimeForm, EnumForm, ObjectIdForm, PropListElement
from openwpd.protocol.datatypes import Value
from openwpd.server.context import MtpError
from openwpd.server.services.codes import (
    EVENT_METHOD_COMPLETE,
    EVENT_OBJECT_ADDED,
    EVENT_OBJECT_REMOVED,
    FORMAT_ICALENDAR_ACTIVITY,
    FORMAT_VCARD2_CONTACT,
    FORMAT_VCARD3_CONTACT,
    METHOD_BEGIN_SYNC,
    METHOD_END_SYNC,
    NAMESPACE_CALENDAR_OBJ,
    NAMESPACE_CALENDAR_SVC,
    NAMESPACE_CONTACT_OBJ,
    NAMESPACE_FULL_ENUM_SYNC,
    NAMESPACE_GENERIC_OBJ,
    NAMESPACE_SYNC,
    SERVICE_CALENDAR,
    SERVICE_CONTACTS,
    SERVICE_FULL_ENUM_SYNC,
    MethodCode,
    ServiceId,
    ServicePropCode,
    guid_to_uint128,
)
from openwpd.server.services.model import (
    EventDef,
    FormatDef,
    MethodCall,
    MethodDef,
    ObjectPropDef,
    Service,
    ServicePropDef,
    check_value,
    display_name_prop,
)
from openwpd.server.services.pimtext import Field, PimText
from openwpd.server.store import ObjectStore, StoredObject

#: Larger files are not parsed for fields (they are still served as files).
MAX_PIM_FILE = 1 << 20

_OP = ObjectPropCode
_S = DataType.STR


def _c(
    code: int, pid: int, name: str, field: Field, form: DateTimeForm | None = None
) -> tuple[ObjectPropDef, Field]:
    return ObjectPropDef(code, NAMESPACE_CONTACT_OBJ, pid, name, _S, True, form), field


def _vc(prop: str, type_: str | None = None, component: int | None = None) -> Field:
    return Field("VCARD", prop, type_, component)


#: Contact fields: MTP code, PKEY_ContactObj_* pid and name, vCard field.
CONTACT_FIELDS: tuple[tuple[ObjectPropDef, Field], ...] = (
    _c(_OP.GIVEN_NAME, 3, "GivenName", _vc("N", component=1)),
    _c(_OP.MIDDLE_NAMES, 4, "MiddleNames", _vc("N", component=2)),
    _c(_OP.FAMILY_NAME, 5, "FamilyName", _vc("N", component=0)),
    _c(_OP.PREFIX, 6, "Title", _vc("N", component=3)),
    _c(_OP.SUFFIX, 7, "Suffix", _vc("N", component=4)),
    _c(_OP.EMAIL_PRIMARY, 31, "Email", _vc("EMAIL")),
    _c(_OP.EMAIL_PERSONAL_1, 32, "PersonalEmail", _vc("EMAIL", "HOME")),
    _c(_OP.EMAIL_BUSINESS_1, 34, "BusinessEmail", _vc("EMAIL", "WORK")),
    _c(_OP.PHONE_NUMBER_PRIMARY, 37, "Phone", _vc("TEL")),
    _c(_OP.PHONE_NUMBER_PERSONAL, 38, "PersonalPhone", _vc("TEL", "HOME")),
    _c(_OP.PHONE_NUMBER_BUSINESS, 40, "BusinessPhone", _vc("TEL", "WORK")),
    _c(_OP.PHONE_NUMBER_MOBILE, 42, "MobilePhone", _vc("TEL", "CELL")),
    _c(_OP.ORGANIZATION_NAME, 54, "Organization", _vc("ORG", component=0)),
    _c(_OP.ROLE, 56, "Role", _vc("ROLE")),
    _c(_OP.BIRTHDATE, 65, "Birthdate", Field("VCARD", "BDAY", date=True), DateTimeForm()),
)


def _a(code: int, pid: int, name: str, prop: str, date: bool) -> tuple[ObjectPropDef, Field]:
    form = DateTimeForm() if date else None
    return (
        ObjectPropDef(code, NAMESPACE_CALENDAR_OBJ, pid, name, _S, True, form),
        Field("VEVENT", prop, date=date),
    )


#: Calendar (activity) fields: MTP code, PKEY_CalendarObj_* pid and name, iCalendar field.
CALENDAR_FIELDS: tuple[tuple[ObjectPropDef, Field], ...] = (
    _a(_OP.ACTIVITY_BEGIN_TIME, 19, "BeginDateTime", "DTSTART", True),
    _a(_OP.ACTIVITY_END_TIME, 20, "EndDateTime", "DTEND", True),
    _a(_OP.ACTIVITY_LOCATION, 3, "Location", "LOCATION", False),
)

#: Object format -> its field properties.
PIM_FIELDS: dict[int, tuple[tuple[ObjectPropDef, Field], ...]] = {
    ObjectFormatCode.VCARD2: CONTACT_FIELDS,
    ObjectFormatCode.VCARD3: CONTACT_FIELDS,
    ObjectFormatCode.ICALENDAR: CALENDAR_FIELDS,
}

_G = NAMESPACE_GENERIC_OBJ
#: The generic properties every service object has (served by the object-property handlers;
#: listed in the service capabilities with their PKEY_GenericObj_* keys, Windows' MTP driver).
GENERIC_PROPS: tuple[ObjectPropDef, ...] = (
    ObjectPropDef(_OP.STORAGE_ID, _G, 23, "StorageID", DataType.UINT32, False),
    ObjectPropDef(_OP.OBJECT_FORMAT, _G, 6, "ObjectFormat", DataType.UINT16, False),
    ObjectPropDef(_OP.OBJECT_SIZE, _G, 11, "ObjectSize", DataType.UINT64, False),
    ObjectPropDef(_OP.OBJECT_FILE_NAME, _G, 12, "ObjectFileName", _S, True),
    ObjectPropDef(_OP.PARENT_OBJECT, _G, 3, "ParentID", DataType.UINT32, False, ObjectIdForm()),
    ObjectPropDef(
        _OP.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER, _G, 5, "PersistentUID", DataType.UINT128, False
    ),
    ObjectPropDef(_OP.NAME, _G, 4, "Name", _S, True),
)


# -- the field view of a file --------------------------------------------------------------


def _fields_of(obj: StoredObject) -> tuple[tuple[ObjectPropDef, Field], ...]:
    return PIM_FIELDS.get(obj.format, ()) if not obj.is_folder else ()


def _load(store: ObjectStore, obj: StoredObject) -> PimText | None:
    if obj.size > MAX_PIM_FILE:
        return None
    return PimText(store.read(obj.handle).decode("utf-8", errors="replace"))


def read_fields(store: ObjectStore, obj: StoredObject, code: int = ALL) -> list[PropListElement]:
    """The field properties of a vCard/iCalendar object that have a value (``code`` 0 or
    ALL = all of them); [] for other objects."""
    fields = [(d, f) for d, f in _fields_of(obj) if code in (0, ALL, d.code)]
    if not fields:
        return []
    doc = _load(store, obj)
    if doc is None:
        return []
    found = []
    for d, f in fields:
        value = doc.get(f)
        if value is not None:
            found.append(PropListElement(obj.handle, d.code, d.datatype, value))
    return found


def _field(obj: StoredObject, code: int, index: int) -> tuple[ObjectPropDef, Field]:
    for d, f in _fields_of(obj):
        if d.code == code:
            return d, f
    raise MtpError(ResponseCode.INVALID_OBJECT_PROP_CODE, f"element {index}", (index,))


def _rewrite(store: ObjectStore, obj: StoredObject, doc: PimText) -> None:
    with store.open_for_edit(obj.handle) as edit:
        data = doc.text().encode("utf-8")
        edit.truncate(0)
        edit.write_at(0, data)
        edit.commit()


def write_fields(
    store: ObjectStore, obj: StoredObject, elements: Sequence[PropListElement], first_index: int = 0
) -> None:
    """Set field properties of a vCard/iCalendar object (all checked, then one rewrite).
    Raises MtpError with p1 = ``first_index`` + the failing element's index."""
    doc = _load(store, obj)
    if doc is None:
        raise MtpError(ResponseCode.OBJECT_TOO_LARGE, "file too large to edit")
    for i, e in enumerate(elements):
        index = first_index + i
        d, f = _field(obj, e.code, index)
        bad = (
            ResponseCode.INVALID_OBJECT_PROP_FORMAT
            if e.datatype != d.datatype
            else check_value(d.datatype, d.form, e.value)
        )
        if bad is None and not doc.set(f, str(e.value)):
            bad = ResponseCode.INVALID_OBJECT_PROP_VALUE
        if bad is not None:
            raise MtpError(bad, f"element {index}", (index,))
    _rewrite(store, obj, doc)


def delete_fields(store: ObjectStore, obj: StoredObject, codes: Iterable[tuple[int, int]]) -> None:
    """Remove fields; ``codes`` are (element index, property code). MtpError p1 = index."""
    doc = _load(store, obj)
    if doc is None:
        raise MtpError(ResponseCode.OBJECT_TOO_LARGE, "file too large to edit")
    for index, code in codes:
        doc.delete(_field(obj, code, index)[1])
    _rewrite(store, obj, doc)


# -- the services ----------------------------------------------------------------------------


async def _sync_step(call: MethodCall) -> dict[int, Value]:
    # BeginSync/EndSync take and return nothing (the SDK's *DeviceService.h); a real phone would
    # lock and unlock its database here. Yield once so completion is always asynchronous.
    await asyncio.sleep(0)
    return {}


def _sync_props(base: int, sync_format: int, display: str) -> tuple[ServicePropDef, ...]:
    fe, sy = NAMESPACE_FULL_ENUM_SYNC, NAMESPACE_SYNC
    flag = EnumForm((0, 1))
    return (
        display_name_prop(base + 1, display),
        ServicePropDef(base + 2, fe, 4, "FullEnumReplicaID", DataType.UINT128, True, 0),
        ServicePropDef(base + 3, fe, 8, "FullEnumLastSyncProxyID", DataType.UINT128, True, 0),
        ServicePropDef(base + 4, fe, 9, "FullEnumProviderVersion", DataType.UINT16, False, 1),
        ServicePropDef(base + 5, sy, 2, "SyncFormat", DataType.UINT128, False, sync_format),
        ServicePropDef(base + 6, sy, 3, "LocalOnlyDelete", DataType.UINT8, True, 0, flag),
        ServicePropDef(base + 7, sy, 4, "FilterType", DataType.UINT8, True, 0, flag),
    )


def _sync_methods(begin: int, end: int) -> tuple[MethodDef, ...]:
    return (
        MethodDef(begin, METHOD_BEGIN_SYNC, "BeginSync", _sync_step),
        MethodDef(end, METHOD_END_SYNC, "EndSync", _sync_step),
    )


_PIM_EVENTS = (
    EventDef(EventCode.OBJECT_ADDED, EVENT_OBJECT_ADDED, "ObjectAdded"),
    EventDef(EventCode.OBJECT_REMOVED, EVENT_OBJECT_REMOVED, "ObjectRemoved"),
    EventDef(EventCode.METHOD_COMPLETE, EVENT_METHOD_COMPLETE, "MethodComplete"),
)


def contacts_service(storage_id: int) -> Service:
    """The Contacts service (SERVICE_Contacts, implements FullEnumSync) over a storage."""
    contact_props = GENERIC_PROPS + tuple(d for d, _ in CONTACT_FIELDS)
    return Service(
        service_id=ServiceId.CONTACTS,
        guid=SERVICE_CONTACTS,
        name="Contacts",
        props=_sync_props(
            ServicePropCode.CONTACTS_DISPLAY_NAME - 1,
            guid_to_uint128(FORMAT_VCARD3_CONTACT),
            "Contacts",
        ),
        formats=(
            FormatDef(
                ObjectFormatCode.VCARD3,
                FORMAT_VCARD3_CONTACT,
                "VCard3Contact",
                mime_type="text/vcard",
                props=contact_props,
            ),
            FormatDef(
                ObjectFormatCode.VCARD2,
                FORMAT_VCARD2_CONTACT,
                "VCard2Contact",
                mime_type="text/x-vcard",
                props=contact_props,
            ),
        ),
        methods=_sync_methods(MethodCode.CONTACTS_BEGIN_SYNC, MethodCode.CONTACTS_END_SYNC),
        events=_PIM_EVENTS,
        used_services=(SERVICE_FULL_ENUM_SYNC,),
        storage_id=storage_id,
    )


def calendar_service(storage_id: int) -> Service:
    """The Calendar service (SERVICE_Calendar, implements FullEnumSync) over a storage."""
    window = (
        ServicePropDef(
            ServicePropCode.CALENDAR_SYNC_WINDOW_START,
            NAMESPACE_CALENDAR_SVC,
            2,
            "SyncWindowStart",
            DataType.UINT32,
            True,
            0,
        ),
        ServicePropDef(
            ServicePropCode.CALENDAR_SYNC_WINDOW_END,
            NAMESPACE_CALENDAR_SVC,
            3,
            "SyncWindowEnd",
            DataType.UINT32,
            True,
            0,
        ),
    )
    return Service(
        service_id=ServiceId.CALENDAR,
        guid=SERVICE_CALENDAR,
        name="Calendar",
        props=_sync_props(
            ServicePropCode.CALENDAR_DISPLAY_NAME - 1,
            guid_to_uint128(FORMAT_ICALENDAR_ACTIVITY),
            "Calendar",
        )
        + window,
        formats=(
            FormatDef(
                ObjectFormatCode.ICALENDAR,
                FORMAT_ICALENDAR_ACTIVITY,
                "ICalendar",
                mime_type="text/calendar",
                props=GENERIC_PROPS + tuple(d for d, _ in CALENDAR_FIELDS),
            ),
        ),
        methods=_sync_methods(MethodCode.CALENDAR_BEGIN_SYNC, MethodCode.CALENDAR_END_SYNC),
        events=_PIM_EVENTS,
        used_services=(SERVICE_FULL_ENUM_SYNC,),
        storage_id=storage_id,
    )
