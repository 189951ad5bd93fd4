"""Object properties: GetObjectPropsSupported, GetObjectPropDesc, GetObjectPropValue,
SetObjectPropValue, GetObjectPropList, SetObjectPropList, SendObjectPropList and
GetInterdependentPropDesc.

The property set, its group and its encoding live in :mod:`openwpd.server.objprops`.

GetObjectPropList (MTP 1.1) serves every combination: handle 0xFFFFFFFF = every object; handle 0
with depth >= 1 = below the virtual root (the roots of all storages); a handle with depth 0 =
that object, 1 = its children, N = N levels below, 0xFFFFFFFF = the whole subtree (Android
refuses depths other than 0 and 1 below a folder; walking the subtree costs us nothing more
than the listing). Objects come in pre-order (a folder before its contents); each object's
elements follow the property order of :data:`~openwpd.server.objprops.ALL_PROPS`. Large lists
are streamed from cached per-object blocks rather than built as one bytes object.

Writes: ObjectFileName renames, DateModified sets the modification time; everything else is
read-only (AccessDenied). A successful change is announced with ObjectPropChanged (the store
adds ObjectInfoChanged). SetObjectPropList applies its elements in order after checking all of
them; one that fails stops the list and its zero-based index is the response's p1 (earlier
elements stay applied, as the specification allows). SendObjectPropList creates the object as
SendObjectInfo does (:func:`~openwpd.server.handlers.transfer.create_object`), with the 64-bit
size of p4 (high) / p5 (low); a failing element's index is p4. Properties SendObjectPropList
carries that we do not store (Name, DateCreated, ObjectFormat...) are ignored, as Windows sends
many of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import (
    ALL,
    DataType,
    EventCode,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import (
    InterdependentPropDesc,
    ObjectPropList,
    PropListElement,
    build_uint16_array,
)
from openwpd.protocol.datatypes import Value, parse_datetime, write_value
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.protocol.profiles import PROP_LIST_ANDROID, PROP_LIST_DEPTH_IGNORED
from openwpd.server.context import SEND_CHUNK, MtpError, OperationContext, Reply
from openwpd.server.handlers.transfer import create_object
from openwpd.server.objprops import (
    ALL_PROPS,
    GROUP_LISTING,
    LISTING_PROPS,
    PROPS,
    ElementError,
    IncomingElement,
    PropSpec,
    check_format,
    chunked,
    decode_value,
    iter_incoming_prop_list,
    lookup,
    read_incoming_value,
)
from openwpd.server.registry import handles
from openwpd.server.store import ROOT, InvalidNameError, StoredObject, StoreError
from openwpd.server.store.names import validate_name

#: A checked new value: a file name or a modification time.
_NewValue = str | datetime

#: Objects encoded between two yields to the event loop (other sessions, cancels).
YIELD_EVERY = 4096
#: Largest SetObjectPropValue data phase (a PTP string is at most 511 bytes).
MAX_VALUE_BYTES = 64 * 1024


# -- describing ------------------------------------------------------------------------------


@handles(OperationCode.GET_OBJECT_PROPS_SUPPORTED)
async def get_object_props_supported(ctx: OperationContext) -> None:
    fmt = ctx.p(1)
    extra = ctx.device.services.object_props_supported(fmt)
    if extra is not None and fmt not in FORMATS:  # a service method's format: its own props
        await ctx.send_data(build_uint16_array(extra))
        return
    check_format(fmt)
    await ctx.send_data(build_uint16_array([s.code for s in ALL_PROPS] + list(extra or ())))


@handles(OperationCode.GET_OBJECT_PROP_DESC)
async def get_object_prop_desc(ctx: OperationContext) -> None:
    service_desc = ctx.device.services.object_prop_desc(ctx.p(1), ctx.p(2))
    if service_desc is not None:
        await ctx.send_data(service_desc.to_bytes())
        return
    spec = lookup(ctx.p(1))
    check_format(ctx.p(2))
    await ctx.send_data(spec.desc().to_bytes())


@handles(OperationCode.GET_INTERDEPENDENT_PROP_DESC)
async def get_interdependent_prop_desc(ctx: OperationContext) -> None:
    check_format(ctx.p(1))
    await ctx.send_data(InterdependentPropDesc().to_bytes())


# -- single values ---------------------------------------------------------------------------


@handles(OperationCode.GET_OBJECT_PROP_VALUE)
async def get_object_prop_value(ctx: OperationContext) -> None:
    handle, code = ctx.p(1), ctx.p(2)
    services = ctx.device.services
    if services.owns_handle(handle) or code not in PROPS:
        for element in services.get_object_props(handle, code) or ():
            if element.code == code:
                writer = Writer()
                write_value(writer, element.datatype, element.value)
                await ctx.send_data(writer.getvalue())
                return
    obj = ctx.device.store.get(handle)
    await ctx.send_data(lookup(code).encode(obj))


@handles(OperationCode.SET_OBJECT_PROP_VALUE, data_out=True)
async def set_object_prop_value(ctx: OperationContext) -> None:
    data = await ctx.receive_data(limit=MAX_VALUE_BYTES)
    handle, code = ctx.p(1), ctx.p(2)
    services = ctx.device.services
    if services.owns_handle(handle) or code not in PROPS:
        fmt = 0 if services.owns_handle(handle) else ctx.device.store.get(handle).format
        desc = services.object_prop_desc(code, fmt)
        if desc is not None or services.owns_handle(handle):
            datatype = desc.datatype if desc is not None else DataType.UINT32
            value = read_incoming_value(Reader(data), datatype)
            element = PropListElement(handle, code, datatype, value)
            if services.set_object_props(handle, [element]):
                return
    obj = ctx.device.store.get(handle)
    spec = _writable(lookup(code))
    _apply(ctx, obj, spec, _checked(ctx, obj, spec, decode_value(spec, data)))


def _writable(spec: PropSpec) -> PropSpec:
    if not spec.writable:
        raise MtpError(ResponseCode.ACCESS_DENIED, f"{spec.code.name} is read-only")
    return spec


def _checked(ctx: OperationContext, obj: StoredObject, spec: PropSpec, value: Value) -> _NewValue:
    """Check a new value (of the property's wire type) before anything changes: the storage
    must be writable, a name acceptable to the store, a date a DateTime."""
    if ctx.device.store.storage(obj.storage_id).read_only:
        raise MtpError(ResponseCode.STORE_READ_ONLY)
    assert isinstance(value, str)  # both writable properties are strings
    if spec.code == ObjectPropCode.OBJECT_FILE_NAME:
        try:
            validate_name(value)
        except InvalidNameError as exc:
            raise MtpError(ResponseCode.INVALID_OBJECT_PROP_VALUE, str(exc)) from None
        return value
    return _parse_date(value)


def _apply(ctx: OperationContext, obj: StoredObject, spec: PropSpec, value: _NewValue) -> None:
    """Set one checked value and announce the change."""
    store = ctx.device.store
    if isinstance(value, str):
        try:
            new = store.rename(obj.handle, value)
        except InvalidNameError as exc:  # e.g. too long for this file system
            raise MtpError(ResponseCode.INVALID_OBJECT_PROP_VALUE, str(exc)) from None
    else:
        new = store.set_mtime(obj.handle, value)
    if new != obj:
        ctx.device.broadcast(EventCode.OBJECT_PROP_CHANGED, (obj.handle, spec.code))


def _parse_date(value: str) -> datetime:
    try:
        when = parse_datetime(value)
    except RemoteProtocolError as exc:
        raise MtpError(ResponseCode.INVALID_OBJECT_PROP_VALUE, str(exc)) from None
    if when is None:
        raise MtpError(ResponseCode.INVALID_OBJECT_PROP_VALUE, "empty DateTime")
    return when


# -- lists -----------------------------------------------------------------------------------

FORMATS = frozenset(ObjectFormatCode)


def _is_field_code(ctx: OperationContext, code: int, formats: frozenset[int]) -> bool:
    services = ctx.device.services
    return any(services.object_prop_desc(code, fmt) is not None for fmt in formats)


def _as_element(element: IncomingElement) -> PropListElement:
    return PropListElement(element.handle, element.code, element.datatype, element.value)


def _selected_props(code: int, group: int) -> tuple[PropSpec, ...]:
    if code == ALL:
        return ALL_PROPS
    if code == 0:
        if group == 0:
            raise MtpError(ResponseCode.PARAMETER_NOT_SUPPORTED, "PropCode 0 needs a group")
        if group != GROUP_LISTING:
            raise MtpError(ResponseCode.SPECIFICATION_BY_GROUP_UNSUPPORTED, f"group {group}")
        return LISTING_PROPS
    return (lookup(code),)


def _below(ctx: OperationContext, tops: list[StoredObject], depth: int) -> list[StoredObject]:
    """Pre-order walk of ``tops`` and their descendants down to ``depth`` levels (``tops``
    being level 1). Subfolders that cannot be listed are skipped."""
    store = ctx.device.store
    found: list[StoredObject] = []
    stack: list[tuple[Iterator[StoredObject], int]] = [(iter(tops), 1)]
    while stack:
        it, level = stack[-1]
        obj = next(it, None)
        if obj is None:
            stack.pop()
            continue
        found.append(obj)
        if obj.is_folder and level < depth:
            try:
                kids = store.children(ALL, obj.handle)
            except StoreError:
                continue
            stack.append((iter(kids), level + 1))
    return found


def _select_objects(ctx: OperationContext, handle: int, depth: int) -> list[StoredObject]:
    store = ctx.device.store
    if handle == ALL or (handle == 0 and depth == ALL):
        return store.all_objects(ALL)
    if depth == 0:
        if handle == 0:
            raise MtpError(ResponseCode.INVALID_OBJECT_HANDLE, "handle 0 names no object")
        return [store.get(handle)]
    if handle == 0:
        tops = store.children(ALL, ROOT)
    else:
        obj = store.get(handle)
        if not obj.is_folder:
            return []
        tops = store.children(ALL, handle)
    return tops if depth == 1 else _below(ctx, tops, depth)


def _android_prop_list_request(handle: int, code: int, group: int, depth: int) -> tuple[int, int]:
    """(Imitation of Android's MtpServer) the (handle, depth) it serves for a GetObjectPropList
    request, or the error it answers: a property code is needed (no groups); depth 0 or 1 only,
    except "every object" (handle 0 or 0xFFFFFFFF with depth 0xFFFFFFFF), which it serves as
    depth 0 of 0xFFFFFFFF."""
    if code == 0:
        raise MtpError(
            ResponseCode.SPECIFICATION_BY_GROUP_UNSUPPORTED
            if group
            else ResponseCode.PARAMETER_NOT_SUPPORTED
        )
    if depth == ALL and handle in (0, ALL):
        return ALL, 0
    if depth not in (0, 1):
        raise MtpError(ResponseCode.SPECIFICATION_BY_DEPTH_UNSUPPORTED)
    return handle, depth


@handles(OperationCode.GET_OBJECT_PROP_LIST)
async def get_object_prop_list(ctx: OperationContext) -> None:
    handle, fmt, code, group, depth = (ctx.p(i) for i in range(1, 6))
    services = ctx.device.services
    if services.owns_handle(handle):  # a device-service method object (docs/device-services.md)
        elements = services.get_object_props(handle, code) or []
        await ctx.send_data(ObjectPropList(tuple(elements)).to_bytes())
        return
    imitation = ctx.device.imitation.prop_list
    if imitation == PROP_LIST_ANDROID:
        handle, depth = _android_prop_list_request(handle, code, group, depth)
    elif imitation == PROP_LIST_DEPTH_IGNORED:
        depth = 0
    field_formats = services.field_formats()
    if code not in (ALL, 0) and code not in PROPS and _is_field_code(ctx, code, field_formats):
        props: tuple[PropSpec, ...] = ()  # a contact/calendar field property only
        field_code: int | None = code
    else:
        props = _selected_props(code, group)
        field_code = ALL if code == ALL else None
    if fmt:
        check_format(fmt)
    objs = _select_objects(ctx, handle, depth)
    if fmt:
        objs = [o for o in objs if o.format == fmt]
    encoder = ctx.device.prop_lists.encoder_for(props)
    blocks: list[bytes] = [b""]
    count = 0
    for i, obj in enumerate(objs, 1):
        blocks.append(encoder.block(obj))
        count += len(props)
        if field_code is not None and obj.format in field_formats:
            # contacts and calendar entries carry their fields too (device services)
            extra = services.get_object_props(obj.handle, field_code) or []
            if extra:
                blocks.append(ObjectPropList(tuple(extra)).to_bytes()[4:])  # without its count
                count += len(extra)
        if i % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    if count > 0xFFFFFFFF:
        raise MtpError(ResponseCode.GENERAL_ERROR, "more list elements than a u32 can count")
    blocks[0] = count.to_bytes(4, "little")
    await ctx.send_stream(sum(map(len, blocks)), chunked(blocks, SEND_CHUNK))


@handles(OperationCode.SET_OBJECT_PROP_LIST, data_out=True)
async def set_object_prop_list(ctx: OperationContext) -> None:
    data = await ctx.receive_data()
    store = ctx.device.store
    services = ctx.device.services
    checked: list[tuple[int, StoredObject, PropSpec, _NewValue]] = []
    for_services: dict[int, list[tuple[int, PropListElement]]] = {}
    index = 0
    try:
        for element in iter_incoming_prop_list(data):
            index = element.index
            if services.owns_handle(element.handle) or element.code not in PROPS:
                for_services.setdefault(element.handle, []).append((index, _as_element(element)))
                continue
            obj = store.get(element.handle)
            spec = _writable(lookup(element.code))
            if element.datatype != spec.datatype:
                raise MtpError(ResponseCode.INVALID_OBJECT_PROP_FORMAT, "wrong data type")
            checked.append((index, obj, spec, _checked(ctx, obj, spec, element.value)))
        for handle, batch in for_services.items():
            index = batch[0][0]
            try:
                applied = services.set_object_props(handle, [e for _, e in batch])
            except MtpError as exc:
                failed = exc.params[0] if exc.params else 0
                index = batch[min(failed, len(batch) - 1)][0]
                raise
            if not applied:
                lookup(batch[0][1].code)  # a property nobody serves: its proper error
                raise MtpError(ResponseCode.ACCESS_DENIED, "read-only property")
        for index, obj, spec, value in checked:  # noqa: B007 - index names the failure
            # an earlier element may have changed the object: use the current snapshot
            _apply(ctx, store.get(obj.handle), spec, value)
    except ElementError as exc:
        raise MtpError(exc.code, str(exc), (exc.index,)) from None
    except (MtpError, StoreError) as exc:
        raise MtpError(exc.code, str(exc), (index,)) from None


@handles(OperationCode.SEND_OBJECT_PROP_LIST, data_out=True)
async def send_object_prop_list(ctx: OperationContext) -> Reply:
    data = await ctx.receive_data()
    fmt = ctx.p(3)
    if fmt not in FORMATS:  # perhaps a device-service method: invoking it (device-services.md)
        try:
            elements = [_as_element(e) for e in iter_incoming_prop_list(data)]
        except ElementError as exc:
            raise MtpError(exc.code, str(exc), (0, 0, 0, exc.index)) from None
        handle = ctx.device.services.create_method_object(ctx.p(1), ctx.p(2), fmt, elements)
        if handle is not None:
            return Reply((ctx.p(1), ctx.p(2), handle))
    check_format(fmt)
    size = (ctx.p(4) << 32) | ctx.p(5)
    name: str | None = None
    name_index = mtime_index = 0
    mtime: datetime | None = None
    try:
        for element in iter_incoming_prop_list(data):
            if element.code not in (ObjectPropCode.OBJECT_FILE_NAME, ObjectPropCode.DATE_MODIFIED):
                continue  # properties we do not keep (Windows sends many)
            if not isinstance(element.value, str):
                raise ElementError(
                    element.index, ResponseCode.INVALID_OBJECT_PROP_FORMAT, "not a string"
                )
            if element.code == ObjectPropCode.OBJECT_FILE_NAME:
                name, name_index = element.value, element.index
            elif element.value:  # "" = unknown date
                mtime_index = element.index
                mtime = _parse_date(element.value)
    except ElementError as exc:
        raise MtpError(exc.code, str(exc), (0, 0, 0, exc.index)) from None
    except MtpError as exc:
        raise MtpError(exc.code, str(exc), (0, 0, 0, mtime_index)) from None
    if not name:
        raise MtpError(ResponseCode.INVALID_DATASET, "no ObjectFileName")
    try:
        return create_object(
            ctx, ctx.p(1), ctx.p(2), name, size, fmt == ObjectFormatCode.ASSOCIATION, mtime
        )
    except InvalidNameError as exc:
        raise MtpError(
            ResponseCode.INVALID_OBJECT_PROP_VALUE, str(exc), (0, 0, 0, name_index)
        ) from None
