"""Object references: GetObjectReferences and SetObjectReferences (AUINT32 of handles, PTP/MTP).

References (a playlist's tracks, an album's pictures) live in memory, in the device's table
(``VirtualDevice.references``): they are NOT kept across restarts of the device, and a folder on
disk has no place to keep them. Handles that stop existing drop out of the answer to
GetObjectReferences. Setting the references of an object on a read-only storage is refused like any
other change to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.protocol.datasets import build_uint32_array, parse_uint32_array
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.server.context import MtpError, OperationContext
from openwpd.server.registry import handles
from openwpd.server.store import StoreError

if TYPE_CHECKING:
    pass

#: Most references one object may hold (keeps a hostile list from eating memory).
MAX_REFERENCES = 1_000_000


def _exists(ctx: OperationContext, handle: int) -> bool:
    try:
        ctx.device.store.get(handle)
    except StoreError:
        return False
    return True


@handles(OperationCode.GET_OBJECT_REFERENCES)
async def get_object_references(ctx: OperationContext) -> None:
    handle = ctx.device.store.get(ctx.p(1)).handle
    refs = ctx.device.references.get(handle, ())
    await ctx.send_data(build_uint32_array([h for h in refs if _exists(ctx, h)]))


@handles(OperationCode.SET_OBJECT_REFERENCES, data_out=True)
async def set_object_references(ctx: OperationContext) -> None:
    data = await ctx.receive_data(limit=4 + 4 * MAX_REFERENCES)
    store = ctx.device.store
    obj = store.get(ctx.p(1))
    if store.storage(obj.storage_id).read_only:
        raise MtpError(ResponseCode.STORE_READ_ONLY)
    try:
        refs = parse_uint32_array(data)
    except RemoteProtocolError as exc:
        raise MtpError(ResponseCode.INVALID_DATASET, str(exc)) from None
    for ref in refs:
        if not _exists(ctx, ref):
            raise MtpError(ResponseCode.INVALID_OBJECT_REFERENCE, f"no object 0x{ref:08X}")
    table = ctx.device.references
    if refs:
        table[obj.handle] = refs
    else:
        table.pop(obj.handle, None)
