"""Moving object data: GetObject, GetPartialObject, GetPartialObject64 (Android), SendObjectInfo,
SendObject.

Uploads are two-phase: SendObjectInfo reserves a handle and a hidden temp file
(``store.begin_create``), SendObject streams into it and commits (rename into place) only when
the whole data phase arrived; a cancel, an error or a dropped connection aborts it and leaves
nothing. Folders are created at SendObjectInfo time (no SendObject follows, PTP), and so are
empty files (gphoto still sends an empty SendObject, which is accepted). A SendObject whose
data phase never starts -- End Data alone is an empty one; the next request instead is none --
is answered IncompleteTransfer (the upload is dropped), and the session goes on.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime

from openwpd.protocol.codes import ALL, ObjectFormatCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import SIZE_CLAMPED, ObjectInfo
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.server.context import MtpError, NoDataPhase, OperationContext, Reply
from openwpd.server.objinfo import parent_param
from openwpd.server.registry import handles
from openwpd.server.store import InvalidNameError, PendingObject


async def _send_range(ctx: OperationContext, handle: int, offset: int, max_bytes: int) -> int:
    store = ctx.device.store
    obj = store.get(handle)
    if obj.is_folder:
        raise MtpError(ResponseCode.INVALID_OBJECT_HANDLE, "a folder has no data")
    with store.open_read(handle) as f:
        size = os.fstat(f.fileno()).st_size
        if offset > size:
            raise MtpError(ResponseCode.INVALID_PARAMETER, f"offset {offset} past the end")
        length = size - offset if max_bytes < 0 else min(max_bytes, size - offset)
        await ctx.send_file(f, offset, length)
    return length


@handles(OperationCode.GET_OBJECT)
async def get_object(ctx: OperationContext) -> None:
    await _send_range(ctx, ctx.p(1), 0, -1)


@handles(OperationCode.GET_PARTIAL_OBJECT)
async def get_partial_object(ctx: OperationContext) -> Reply:
    return Reply((await _send_range(ctx, ctx.p(1), ctx.p(2), ctx.p(3)),))


@handles(OperationCode.GET_PARTIAL_OBJECT_64)
async def get_partial_object_64(ctx: OperationContext) -> Reply:
    offset = ctx.p(2) | (ctx.p(3) << 32)
    return Reply((await _send_range(ctx, ctx.p(1), offset, ctx.p(4)),))


PENDING = "pending-upload"


@handles(OperationCode.SEND_OBJECT_INFO, data_out=True)
async def send_object_info(ctx: OperationContext) -> Reply:
    data = await ctx.receive_data(limit=1 << 20)
    try:
        info = ObjectInfo.from_bytes(data, strict_strings=True)
    except RemoteProtocolError as exc:
        raise MtpError(ResponseCode.INVALID_DATASET, str(exc)) from None
    if not info.filename:
        raise MtpError(ResponseCode.INVALID_DATASET, "empty file name")
    try:
        mtime = info.modification_datetime
    except RemoteProtocolError:
        mtime = None
    is_folder = info.object_format == ObjectFormatCode.ASSOCIATION
    size = None if info.compressed_size == SIZE_CLAMPED else info.compressed_size
    try:
        return create_object(ctx, ctx.p(1), ctx.p(2), info.filename, size, is_folder, mtime)
    except InvalidNameError as exc:  # the name is the dataset's; the data phase never came
        raise MtpError(ResponseCode.INVALID_DATASET, str(exc)) from None


def create_object(
    ctx: OperationContext,
    storage_id: int,
    parent: int,
    name: str,
    size: int | None,
    is_folder: bool,
    mtime: datetime | None,
) -> Reply:
    """Create the object SendObjectInfo or SendObjectPropList announced: a folder or an empty
    file at once, otherwise a pending upload SendObject fills. ``storage_id`` and ``parent``
    are the operation's parameters (storage 0/ALL with the root: the first writable storage);
    ``size`` None = unknown; a naive ``mtime`` is local time. Returns the response (StorageID,
    parent, handle); raises MtpError/StoreError."""
    store = ctx.device.store
    parent = parent_param(parent)
    if storage_id in (0, ALL) and parent == ALL:
        writable = [s for s in store.storages if not s.read_only]
        if not writable:
            raise MtpError(ResponseCode.STORE_READ_ONLY, "no writable storage")
        storage_id = writable[0].id
    if mtime is not None and mtime.tzinfo is None:
        mtime = mtime.astimezone()  # MTP dates are local time
    if is_folder:
        obj = store.create_folder(storage_id, parent, name, mtime=mtime)
        ctx.session.mark_created_without_data()
        return Reply((obj.storage_id, _parent_out(obj.parent), obj.handle))
    pending = store.begin_create(storage_id, parent, name, size, mtime=mtime)
    if size == 0:
        obj = pending.commit()
        ctx.session.mark_created_without_data()
        # it may be the placeholder of a windowed upload: see DeviceSession
        ctx.session.add_placeholder(obj.handle)
        return Reply((obj.storage_id, _parent_out(obj.parent), obj.handle))
    ctx.session.set_pending_upload(pending)
    return Reply((pending.storage_id, parent, pending.handle))


def _parent_out(parent: int) -> int:
    return ALL if parent in (0, ALL) else parent


@handles(OperationCode.SEND_OBJECT, data_out=True)
async def send_object(ctx: OperationContext) -> None:
    pending = ctx.session.take_pending_upload()
    if pending is None:
        received = 0
        with contextlib.suppress(NoDataPhase):  # no data is no data here
            async for chunk in ctx.iter_data():
                received += len(chunk)
        if received or not ctx.session.take_created_without_data():
            raise MtpError(ResponseCode.NO_VALID_OBJECT_INFO, "SendObject without SendObjectInfo")
        return  # the empty SendObject gphoto sends after an empty file: already created
    await _receive_into(ctx, pending)


async def _receive_into(ctx: OperationContext, pending: PendingObject) -> None:
    try:
        async for chunk in ctx.iter_data():
            # Written on the event loop as each (<= 1 MiB) packet arrives. A worker thread per
            # chunk measured 2x slower: a futex wake-up each way, and the link queueing up to
            # 64 MiB of chunks meanwhile, memory that had to be faulted in afresh each time.
            # A write stalled by the kernel's write-back holds the loop, as it held a cancel.
            pending.write(chunk)
        if pending.declared_size is not None and pending.size != pending.declared_size:
            raise MtpError(
                ResponseCode.INCOMPLETE_TRANSFER,
                f"{pending.size} bytes received, {pending.declared_size} announced",
            )
        pending.commit()
    finally:
        if pending.is_open:
            pending.abort()
