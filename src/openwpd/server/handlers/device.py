"""Device and session operations: GetDeviceInfo, OpenSession, CloseSession, the storages, and the
device properties."""

from __future__ import annotations

from openwpd.protocol.codes import ALL, OperationCode, ResponseCode
from openwpd.protocol.datasets import StorageInfo, build_uint32_array
from openwpd.server.context import MtpError, OperationContext, Reply
from openwpd.server.registry import handles


@handles(OperationCode.GET_DEVICE_INFO, needs_session=False)
async def get_device_info(ctx: OperationContext) -> None:
    await ctx.send_data(ctx.device.device_info().to_bytes())


@handles(OperationCode.OPEN_SESSION, needs_session=False)
async def open_session(ctx: OperationContext) -> Reply | None:
    if ctx.session.session_id is not None:
        # Android answers with the open session's ID; gphoto and libmtp take it as success
        return Reply((ctx.session.session_id,), ResponseCode.SESSION_ALREADY_OPEN)
    if ctx.p(1) == 0:
        raise MtpError(ResponseCode.INVALID_PARAMETER, "SessionID 0")
    return None


@handles(OperationCode.CLOSE_SESSION)
async def close_session(ctx: OperationContext) -> None:
    ctx.session.end_session_state()


@handles(OperationCode.GET_STORAGE_IDS)
async def get_storage_ids(ctx: OperationContext) -> None:
    ids = [s.id for s in ctx.device.store.storages]
    await ctx.send_data(build_uint32_array(ids))


@handles(OperationCode.GET_STORAGE_INFO)
async def get_storage_info(ctx: OperationContext) -> None:
    values = ctx.device.store.storage(ctx.p(1)).storage_info()
    info = StorageInfo(
        storage_type=values.storage_type,
        filesystem_type=values.filesystem_type,
        access_capability=values.access_capability,
        max_capacity=values.max_capacity,
        free_space_in_bytes=values.free_space_in_bytes,
        free_space_in_objects=values.free_space_in_objects,
        storage_description=values.storage_description,
        volume_label=values.volume_label,
    )
    await ctx.send_data(info.to_bytes())


@handles(OperationCode.GET_DEVICE_PROP_DESC)
async def get_device_prop_desc(ctx: OperationContext) -> None:
    await ctx.send_data(ctx.device.properties.desc(ctx.p(1)).to_bytes())


@handles(OperationCode.GET_DEVICE_PROP_VALUE)
async def get_device_prop_value(ctx: OperationContext) -> None:
    await ctx.send_data(ctx.device.properties.value_bytes(ctx.p(1)))


@handles(OperationCode.SET_DEVICE_PROP_VALUE, data_out=True)
async def set_device_prop_value(ctx: OperationContext) -> None:
    data = await ctx.receive_data(limit=4096)
    ctx.device.properties.set_from_wire(ctx.p(1), data)


@handles(OperationCode.RESET_DEVICE_PROP_VALUE)
async def reset_device_prop_value(ctx: OperationContext) -> None:
    ctx.device.properties.reset(ctx.p(1) if ctx.nparams else ALL)
