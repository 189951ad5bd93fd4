"""Finding, describing and rearranging objects: GetNumObjects, GetObjectHandles, GetObjectInfo,
GetThumb, DeleteObject, MoveObject, CopyObject."""

from __future__ import annotations

import asyncio

from openwpd.protocol.codes import ALL, FilesystemType, OperationCode, ResponseCode
from openwpd.protocol.datasets import build_uint32_array
from openwpd.server.context import MtpError, OperationContext, Reply
from openwpd.server.objinfo import object_info, parent_param
from openwpd.server.registry import handles
from openwpd.server.store import PartialDeletionError, StoredObject, StoreError
from openwpd.server.thumbs import read_thumbnail, thumbnail_info


def find_objects(
    ctx: OperationContext, storage_id: int, fmt: int, parent: int
) -> list[StoredObject]:
    """GetObjectHandles/GetNumObjects semantics (PTP): storage ALL = every storage,
    format 0 = any, parent 0xFFFFFFFF = the root level, 0 = the whole hierarchy.

    Format 0xFFFFFFFF is taken as "any" too: no ObjectFormat has that code, and PTP clients
    (several Python ones among them) send it to mean every format, the way 0xFFFFFFFF means
    every storage."""
    store = ctx.device.store
    if fmt == ALL:
        fmt = 0
    if storage_id == 0:
        raise MtpError(ResponseCode.INVALID_STORAGE_ID, "StorageID 0")
    if parent == 0:
        objs = store.all_objects(storage_id, fmt)
        if ctx.device.imitation.whole_storage_folders_only:
            objs = [o for o in objs if o.is_folder]
        return objs
    return store.children(storage_id, parent, fmt)


async def _stall_if_imitated(ctx: OperationContext, storage_id: int) -> None:
    """(Imitation of umtprd 1.3) a listing of all storages never answers."""
    if storage_id == ALL and ctx.device.imitation.all_storages_stall:
        await asyncio.Event().wait()


@handles(OperationCode.GET_NUM_OBJECTS)
async def get_num_objects(ctx: OperationContext) -> Reply:
    await _stall_if_imitated(ctx, ctx.p(1))
    return Reply((len(find_objects(ctx, ctx.p(1), ctx.p(2), ctx.p(3))),))


@handles(OperationCode.GET_OBJECT_HANDLES)
async def get_object_handles(ctx: OperationContext) -> None:
    await _stall_if_imitated(ctx, ctx.p(1))
    objs = find_objects(ctx, ctx.p(1), ctx.p(2), ctx.p(3))
    await ctx.send_data(build_uint32_array([o.handle for o in objs]))


@handles(OperationCode.GET_OBJECT_INFO)
async def get_object_info(ctx: OperationContext) -> None:
    store = ctx.device.store
    obj = store.get(ctx.p(1))
    path = None if obj.is_folder else str(store.path_of(obj.handle))
    await ctx.send_data(object_info(obj, path).to_bytes())


@handles(OperationCode.GET_THUMB)
async def get_thumb(ctx: OperationContext) -> None:
    store = ctx.device.store
    obj = store.get(ctx.p(1))
    if obj.is_folder:
        raise MtpError(ResponseCode.NO_THUMBNAIL_PRESENT)
    path = str(store.path_of(obj.handle))
    thumb = thumbnail_info(path, obj.size, obj.mtime.timestamp())
    if thumb is None:
        raise MtpError(ResponseCode.NO_THUMBNAIL_PRESENT)
    await ctx.send_data(read_thumbnail(path, thumb))


@handles(OperationCode.DELETE_OBJECT)
async def delete_object(ctx: OperationContext) -> None:
    store = ctx.device.store
    handle, fmt = ctx.p(1), ctx.p(2)
    if ctx.device.services.delete_object(handle):  # a service method object: cancels its method
        return
    if handle != ALL:
        if fmt:
            raise MtpError(ResponseCode.SPECIFICATION_BY_FORMAT_UNSUPPORTED)
        ctx.device.prop_lists.forget(store.delete(handle))
        return
    # every object (of a format): delete the roots' children; a format filter applies per object
    failed = False
    targets = store.all_objects(ALL, fmt) if fmt else store.children(ALL, ALL)
    for obj in targets:
        try:
            ctx.device.prop_lists.forget(store.delete(obj.handle))
        except PartialDeletionError:
            failed = True
        except StoreError as exc:
            if exc.code != ResponseCode.INVALID_OBJECT_HANDLE:  # gone with its folder: fine
                failed = True
    if failed:
        raise MtpError(ResponseCode.PARTIAL_DELETION)


@handles(OperationCode.FORMAT_STORE)
async def format_store(ctx: OperationContext) -> None:
    """FormatStore(StorageID, FilesystemFormat): only with ``wpd serve --allow-format`` (the
    device does not offer it otherwise, so it answers OperationNotSupported). Empties what the
    storage serves (see :meth:`ObjectStore.format`); the only filesystem it can "format" to is
    the one it has, so a FilesystemFormat other than 0 or generic hierarchical is
    ParameterNotSupported. A read-only storage answers StoreReadOnly."""
    store = ctx.device.store
    storage = store.storage(ctx.p(1))
    if ctx.p(2) not in (0, FilesystemType.GENERIC_HIERARCHICAL):
        raise MtpError(ResponseCode.PARAMETER_NOT_SUPPORTED, f"filesystem 0x{ctx.p(2):X}")
    try:
        deleted = store.format(storage.id)
    except PartialDeletionError as exc:
        ctx.device.prop_lists.forget(exc.deleted)
        raise MtpError(ResponseCode.PARTIAL_DELETION, str(exc)) from None
    ctx.device.prop_lists.forget(deleted)
    for handle in deleted:
        ctx.device.references.pop(handle, None)


def _move_copy_parent(ctx: OperationContext, parent: int) -> int:
    """The destination parent of MoveObject/CopyObject: 0 and 0xFFFFFFFF both name the storage
    root, unless the imitated device knows only one of them (Android: 0; the other is looked up
    as an object and is none)."""
    root = ctx.device.imitation.move_copy_root
    if root is not None and parent in (0, ALL) and parent != root:
        raise MtpError(ResponseCode.INVALID_PARENT_OBJECT, f"0x{parent:X} names no folder here")
    return parent_param(parent)


@handles(OperationCode.MOVE_OBJECT)
async def move_object(ctx: OperationContext) -> None:
    storage_id = ctx.p(2) or ctx.device.store.get(ctx.p(1)).storage_id
    ctx.device.store.move(ctx.p(1), storage_id, _move_copy_parent(ctx, ctx.p(3)))


@handles(OperationCode.COPY_OBJECT)
async def copy_object(ctx: OperationContext) -> Reply:
    storage_id = ctx.p(2) or ctx.device.store.get(ctx.p(1)).storage_id
    copy = ctx.device.store.copy(ctx.p(1), storage_id, _move_copy_parent(ctx, ctx.p(3)))
    return Reply((copy.handle,))
