"""MTP Device Services operations (0x9301-0x930A, MTP Device Services): discovery, service
properties, format capabilities, and the object-property operations of the extension
(UpdateObjectPropList, DeleteObjectPropList).

The services themselves live in :mod:`openwpd.server.services`; these handlers only decode
parameters and datasets and encode answers. Lists that fail part-way answer with the
zero-based index of the failing element in p1 (Set/DeleteServicePropList,
Update/DeleteObjectPropList); Update- and DeleteObjectPropList always carry that one parameter
(0 on success), as Symbian's DeleteObjectPropList does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from openwpd.protocol.codes import ALL, OperationCode, ResponseCode
from openwpd.protocol.datasets import (
    DeletePropList,
    ObjectPropList,
    PropListElement,
    build_uint32_array,
)
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.server.context import MtpError, OperationContext, Reply
from openwpd.server.registry import handles
from openwpd.server.services import DeviceServices, Service
from openwpd.server.store import StoreError

#: Largest property-list data phase accepted.
MAX_LIST = 4 * 1024 * 1024

_D = TypeVar("_D", ObjectPropList, DeletePropList)


def _services(ctx: OperationContext) -> DeviceServices:
    services = ctx.device.services
    services.session_activity()
    return services


def _service(ctx: OperationContext) -> Service:
    return _services(ctx).get(ctx.p(1))


async def _receive(ctx: OperationContext, parse: Callable[[bytes], _D]) -> _D:
    data = await ctx.receive_data(limit=MAX_LIST)
    try:
        return parse(data)
    except RemoteProtocolError as exc:
        raise MtpError(ResponseCode.INVALID_DATASET, str(exc)) from None


@handles(OperationCode.GET_SERVICE_IDS)
async def get_service_ids(ctx: OperationContext) -> None:
    await ctx.send_data(build_uint32_array(_services(ctx).ids))


@handles(OperationCode.GET_SERVICE_INFO)
async def get_service_info(ctx: OperationContext) -> None:
    await ctx.send_data(_service(ctx).info().to_bytes())


@handles(OperationCode.GET_SERVICE_CAPABILITIES)
async def get_service_capabilities(ctx: OperationContext) -> None:
    await ctx.send_data(_service(ctx).capabilities(ctx.p(2)).to_bytes())


@handles(OperationCode.GET_SERVICE_PROP_DESC)
async def get_service_prop_desc(ctx: OperationContext) -> None:
    await ctx.send_data(_service(ctx).prop_descs(ctx.p(2)).to_bytes())


@handles(OperationCode.GET_SERVICE_PROP_LIST)
async def get_service_prop_list(ctx: OperationContext) -> None:
    await ctx.send_data(_service(ctx).prop_list(ctx.p(2)).to_bytes())


@handles(OperationCode.SET_SERVICE_PROP_LIST, data_out=True)
async def set_service_prop_list(ctx: OperationContext) -> None:
    service = _service(ctx)
    props = await _receive(ctx, ObjectPropList.from_bytes)
    service.apply_prop_list(props.elements)


@handles(OperationCode.DELETE_SERVICE_PROP_LIST, data_out=True)
async def delete_service_prop_list(ctx: OperationContext) -> Reply:
    service = _service(ctx)
    items = await _receive(ctx, DeletePropList.from_bytes)
    service.delete_props(items.elements)
    return Reply((0,))


@handles(OperationCode.GET_FORMAT_CAPABILITIES)
async def get_format_capabilities(ctx: OperationContext) -> None:
    await ctx.send_data(_services(ctx).format_capabilities(ctx.p(1)).to_bytes())


def _runs(handles_: Sequence[int]) -> list[tuple[int, int, int]]:
    """(handle, first index, end index) for each run of equal consecutive handles."""
    runs: list[tuple[int, int, int]] = []
    for i, h in enumerate(handles_):
        if runs and runs[-1][0] == h:
            runs[-1] = (h, runs[-1][1], i + 1)
        else:
            runs.append((h, i, i + 1))
    return runs


def _target(p1: int, handle: int, index: int) -> int:
    # with a specific p1 every element must name that object (as Symbian checks); 0 in an
    # element means "the object of p1"
    if p1 == ALL:
        return handle
    if handle not in (0, p1):
        raise MtpError(ResponseCode.INVALID_OBJECT_HANDLE, f"element {index}", (index,))
    return p1


def _at(exc: MtpError | StoreError, index: int) -> MtpError:
    if isinstance(exc, StoreError):
        return MtpError(exc.code, str(exc), (index,))
    return MtpError(exc.code, str(exc), (index + (exc.params[0] if exc.params else 0),))


@handles(OperationCode.UPDATE_OBJECT_PROP_LIST, data_out=True)
async def update_object_prop_list(ctx: OperationContext) -> Reply:
    services = _services(ctx)
    props = await _receive(ctx, ObjectPropList.from_bytes)
    targets = [_target(ctx.p(1), e.handle, i) for i, e in enumerate(props.elements)]
    for handle, start, end in _runs(targets):
        elements: list[PropListElement] = list(props.elements[start:end])
        try:
            done = services.set_object_props(handle, elements)
        except (MtpError, StoreError) as exc:
            raise _at(exc, start) from None
        if not done:
            raise MtpError(ResponseCode.OBJECT_PROP_NOT_SUPPORTED, "not a service object", (start,))
    return Reply((0,))


@handles(OperationCode.DELETE_OBJECT_PROP_LIST, data_out=True)
async def delete_object_prop_list(ctx: OperationContext) -> Reply:
    services = _services(ctx)
    items = await _receive(ctx, DeletePropList.from_bytes)
    targets = [_target(ctx.p(1), e.handle, i) for i, e in enumerate(items.elements)]
    for handle, start, end in _runs(targets):
        codes = [(i - start, items.elements[i].code) for i in range(start, end)]
        try:
            services.delete_object_props(handle, codes)
        except (MtpError, StoreError) as exc:
            raise _at(exc, start) from None
    return Reply((0,))
