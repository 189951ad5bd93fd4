"""Small MTP helpers over a raw TransactionRunner, for the USB suite (no client involved).

umtprd 1.3.10 quirk: never GetObjectHandles with StorageID 0xFFFFFFFF (it deadlocks); every
listing here names the storage.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterable, Iterable
from pathlib import Path

from openwpd.client.wire import TransactionRunner
from openwpd.protocol._buffer import Writer
from openwpd.protocol.codes import (
    ALL,
    AssociationType,
    DataType,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import ObjectInfo, StorageInfo
from openwpd.protocol.datatypes import write_value

Op = OperationCode

#: umtprd's device on the bus (umtprd.conf and the gadget's configfs strings).
DEVICE_URL = "usb://1d6b:0100/01234567"
#: umtprd's storage folder ("shared folder"); tests write their files under it directly.
STORE = Path("/var/lib/umtp")


def u32_array(data: bytes) -> list[int]:
    (count,) = struct.unpack_from("<I", data)
    return list(struct.unpack_from(f"<{count}I", data, 4))


async def ok(runner: TransactionRunner, code: int, params: tuple[int, ...] = (), **kw: object):  # type: ignore[no-untyped-def]
    res = await runner.transact(code, params, **kw)  # type: ignore[arg-type]
    assert res.code == ResponseCode.OK, f"{Op(code).name} -> 0x{res.code:04X}"
    return res


async def storage_ids(runner: TransactionRunner) -> list[int]:
    return u32_array((await ok(runner, Op.GET_STORAGE_IDS)).data)


async def storage_info(runner: TransactionRunner, storage: int) -> StorageInfo:
    return StorageInfo.from_bytes((await ok(runner, Op.GET_STORAGE_INFO, (storage,))).data)


async def object_info(runner: TransactionRunner, handle: int) -> ObjectInfo:
    return ObjectInfo.from_bytes((await ok(runner, Op.GET_OBJECT_INFO, (handle,))).data)


async def children(
    runner: TransactionRunner, storage: int, parent: int
) -> dict[str, tuple[int, ObjectInfo]]:
    """Name -> (handle, ObjectInfo) of the children of ``parent`` (0: the storage root)."""
    res = await ok(runner, Op.GET_OBJECT_HANDLES, (storage, 0, parent or ALL))
    out = {}
    for handle in u32_array(res.data):
        info = await object_info(runner, handle)
        out[info.filename] = (handle, info)
    return out


async def find(runner: TransactionRunner, storage: int, path: str) -> int:
    parent = 0
    for part in path.strip("/").split("/"):
        parent = (await children(runner, storage, parent))[part][0]
    return parent


async def download(runner: TransactionRunner, handle: int) -> bytes:
    return (await ok(runner, Op.GET_OBJECT, (handle,))).data


async def send_info(
    runner: TransactionRunner,
    storage: int,
    parent: int,
    name: str,
    size: int,
    *,
    folder: bool = False,
) -> int:
    info = ObjectInfo.for_size(
        size,
        storage_id=storage,
        object_format=ObjectFormatCode.ASSOCIATION if folder else ObjectFormatCode.UNDEFINED,
        association_type=AssociationType.GENERIC_FOLDER if folder else AssociationType.UNDEFINED,
        parent_object=parent,
        filename=name,
    )
    res = await ok(runner, Op.SEND_OBJECT_INFO, (storage, parent or ALL), data=info.to_bytes())
    return res.params[2]


async def upload(
    runner: TransactionRunner,
    storage: int,
    parent: int,
    name: str,
    data: bytes | Iterable[bytes] | AsyncIterable[bytes],
    size: int | None = None,
) -> int:
    size = len(data) if isinstance(data, bytes) else size
    assert size is not None
    handle = await send_info(runner, storage, parent, name, size)
    await ok(runner, Op.SEND_OBJECT, data=data, data_length=size)
    return handle


def prop_string(value: str) -> bytes:
    w = Writer()
    write_value(w, DataType.STR, value)
    return w.getvalue()


async def rename(runner: TransactionRunner, handle: int, name: str) -> None:
    await ok(
        runner,
        Op.SET_OBJECT_PROP_VALUE,
        (handle, ObjectPropCode.OBJECT_FILE_NAME),
        data=prop_string(name),
    )
