"""Listing a folder: GetObjectPropList streamed as it arrives, or GetObjectHandles + GetObjectInfo.

Theory of operation
-------------------
With GetObjectPropList (0x9805) one transaction describes every child of a folder (depth 1).
The client asks for property *group* 1 ("listing essentials": ObjectFileName, ObjectSize,
DateModified, ObjectFormat, ParentObject, StorageID, AssociationType, PUID) when the device's
ObjectPropDesc of ObjectFileName puts it in group 1, else for every property (0xFFFFFFFF). The
answer is parsed *while it arrives*: :class:`PropListParser` is fed each chunk of the data phase
and returns the objects completed so far; the listing yields their entries at once. Only the bytes
of one incomplete element are carried over between chunks, so the raw answer is never held whole.
Elements are assumed object-major (all properties of one object together, as every device sends
them): an object is complete when the next handle starts or the data ends.

The element decoder is :class:`~openwpd.protocol.datasets.PropListElement`'s layout with a fast
path for the types listings carry (integers and strings); other types go through
:func:`~openwpd.protocol.datatypes.read_value`. A malformed answer raises RemoteProtocolError.

Without GetObjectPropList the listing takes GetObjectHandles and one GetObjectInfo per child
(each its own turn, so other handles interleave); a clamped size (>= 4 GiB) is completed with
GetObjectPropValue(ObjectSize) when the device has it. Either way, one object the device cannot
describe is skipped and logged, and the listing goes on.

Storage roots: GetObjectPropList with handle 0 and depth 1 names the root level of *every*
storage, so entries are filtered by StorageID; GetObjectHandles takes the storage ID and parent
0xFFFFFFFF.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import AsyncGenerator
from contextlib import aclosing

from openwpd.client.connection import OpScope, wait_quietly
from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import (
    ALL,
    DataType,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import ObjectInfo, ObjectPropDesc, parse_uint32_array
from openwpd.protocol.datatypes import Value, read_value
from openwpd.protocol.errors import RemoteProtocolError, ResponseError

log = logging.getLogger("openwpd.client")

#: The "listing essentials" property group of our virtual device (and the issue's contract).
LISTING_GROUP = 1
#: Depth 1 = the direct children of the object named by p1 (MTP 1.1).
DEPTH_CHILDREN = 1

_HEAD = struct.Struct("<IHH")
_U32 = struct.Struct("<I")
_FIXED: dict[int, struct.Struct] = {
    DataType.INT8: struct.Struct("<b"),
    DataType.UINT8: struct.Struct("<B"),
    DataType.INT16: struct.Struct("<h"),
    DataType.UINT16: struct.Struct("<H"),
    DataType.INT32: struct.Struct("<i"),
    DataType.UINT32: struct.Struct("<I"),
    DataType.INT64: struct.Struct("<q"),
    DataType.UINT64: struct.Struct("<Q"),
}

_ARRAY = 0x4000  # the array bit of a data type code
#: The most bytes one ObjectPropList element may take while it is incomplete: a listing's
#: elements are integers and short strings; an array the device says is endless would
#: otherwise be collected for ever.
MAX_ELEMENT = 16 * 1024 * 1024
ObjectProps = tuple[int, dict[int, Value]]


class _Short(Exception):
    """Internal: the element is not complete in the bytes we have."""


class PropListParser:
    """Incremental ObjectPropList parser; see the module docstring.

    ``feed(chunk)`` returns the ``(handle, {code: value})`` objects completed by that chunk;
    ``finish()`` returns the last object and raises RemoteProtocolError if the data ended early
    (bytes after the last element are ignored, as for every dataset).
    """

    def __init__(self) -> None:
        self._buf = b""
        self._count: int | None = None
        self._seen = 0
        self._handle: int | None = None
        self._props: dict[int, Value] = {}

    @property
    def count(self) -> int | None:
        """The element count the device announced (None before 4 bytes arrived)."""
        return self._count

    def feed(self, chunk: bytes) -> list[ObjectProps]:
        data = self._buf + chunk if self._buf else bytes(chunk)
        pos = 0
        if self._count is None:
            if len(data) < 4:
                self._buf = data
                return []
            self._count = _U32.unpack_from(data, 0)[0]
            pos = 4
        done: list[ObjectProps] = []
        end = len(data)
        while self._seen < self._count and pos < end:
            try:
                handle, code, value, pos = _element(data, pos, end)
            except _Short:
                break
            self._seen += 1
            if handle != self._handle:
                if self._handle is not None:
                    done.append((self._handle, self._props))
                self._handle, self._props = handle, {}
            self._props[code] = value
        self._buf = data[pos:] if self._seen < self._count else b""
        if len(self._buf) > MAX_ELEMENT:
            raise RemoteProtocolError(
                f"ObjectPropList element of more than {MAX_ELEMENT} bytes (a hostile answer?)"
            )
        return done

    def finish(self) -> list[ObjectProps]:
        """The last object. Raises RemoteProtocolError when elements are missing."""
        if self._count is None or self._seen < self._count:
            raise RemoteProtocolError(
                f"ObjectPropList truncated: {self._seen} of {self._count or '?'} elements"
            )
        if self._handle is None:
            return []
        last, self._handle = (self._handle, self._props), None
        return [last]


def _element(data: bytes, pos: int, end: int) -> tuple[int, int, Value, int]:
    """Decode one element at ``pos``; raises _Short if it is incomplete."""
    if pos + 8 > end:
        raise _Short
    handle, code, datatype = _HEAD.unpack_from(data, pos)
    pos += 8
    fixed = _FIXED.get(datatype)
    if fixed is not None:
        if pos + fixed.size > end:
            raise _Short
        return handle, code, fixed.unpack_from(data, pos)[0], pos + fixed.size
    if datatype == DataType.STR:
        if pos >= end:
            raise _Short
        units = data[pos]
        stop = pos + 1 + 2 * units
        if stop > end:
            raise _Short
        text = data[pos + 1 : stop].decode("utf-16-le", errors="replace")
        nul = text.find("\x00")
        return handle, code, text if nul < 0 else text[:nul], stop
    reader = Reader(data, pos)
    try:
        value = read_value(reader, datatype)
    except RemoteProtocolError:
        if end - pos < _value_size(datatype, data, pos, end):
            raise _Short from None
        raise
    return handle, code, value, reader.position


def _value_size(datatype: int, data: bytes, pos: int, end: int) -> int:
    """Bytes a value of a rarer ``datatype`` at ``pos`` needs, when we can tell (0 when not), so
    a value cut by a chunk boundary is told apart from a malformed one."""
    if datatype in (DataType.INT128, DataType.UINT128):
        return 16
    if not datatype & _ARRAY:
        return 0  # unknown type: a real error
    if pos + 4 > end:
        return 4
    element = datatype & ~_ARRAY
    fixed = _FIXED.get(element)
    count: int = _U32.unpack_from(data, pos)[0]
    return 4 + count * (fixed.size if fixed is not None else 16)


async def group_for_listing(op: OpScope) -> int | None:
    """The property group to list with: 1 when the device's ObjectPropDesc of ObjectFileName
    says group 1, else None (ask for every property). Cached per connection."""
    conn = op.conn
    key = ("listing-group",)
    if key in conn.cache:
        cached = conn.cache[key]
        return cached if isinstance(cached, int) else None
    group: int | None = None
    if conn.supports(OperationCode.GET_OBJECT_PROP_DESC):
        try:
            res = await op.run(
                OperationCode.GET_OBJECT_PROP_DESC,
                (ObjectPropCode.OBJECT_FILE_NAME, ObjectFormatCode.UNDEFINED),
            )
            desc = ObjectPropDesc.from_bytes(res.data)
            group = LISTING_GROUP if desc.group_code == LISTING_GROUP else None
        except (ResponseError, RemoteProtocolError) as exc:
            log.info("%s: no ObjectPropDesc for ObjectFileName (%s)", conn.name, exc)
    conn.cache[key] = group
    return group


async def list_with_prop_list(
    op: OpScope, storage_id: int, parent: int
) -> AsyncGenerator[ObjectProps, None]:
    """Yield ``(handle, props)`` of the children of ``parent`` (0 = the root of ``storage_id``)
    as the data phase arrives. Objects of other storages (root listings) are filtered out.

    The transaction runs in a task of its own; the objects parsed so far wait in a list (not the
    raw bytes), so a slow consumer never holds the session. Leaving the loop early or
    cancelling the consumer cancels the transaction on the wire.

    A device that describes ObjectFileName in group 1 but refuses listings by group
    (SpecificationByGroupUnsupported: Android's MtpServer) is asked again for every property,
    and from then on for the whole connection.
    """
    group = await group_for_listing(op)
    if group is None:
        async with aclosing(_prop_list(op, storage_id, parent, None)) as items:
            async for item in items:
                yield item
        return
    first = True
    try:
        async with aclosing(_prop_list(op, storage_id, parent, group)) as items:
            async for item in items:
                first = False
                yield item
        return
    except ResponseError as exc:
        if not first or exc.code != ResponseCode.SPECIFICATION_BY_GROUP_UNSUPPORTED:
            raise
        log.info("%s: no listing by property group: asking for every property", op.conn.name)
        op.conn.cache[("listing-group",)] = None
    async with aclosing(_prop_list(op, storage_id, parent, None)) as items:
        async for item in items:
            yield item


async def _prop_list(
    op: OpScope, storage_id: int, parent: int, group: int | None
) -> AsyncGenerator[ObjectProps, None]:
    params = (
        (parent, 0, 0, group, DEPTH_CHILDREN)
        if group is not None
        else (parent, 0, ALL, 0, DEPTH_CHILDREN)
    )
    parser = PropListParser()
    ready: list[ObjectProps] = []
    arrived = asyncio.Event()

    def sink(chunk: bytes) -> None:
        done = parser.feed(chunk)
        if done:
            ready.extend(done)
            arrived.set()

    def keep(item: ObjectProps) -> bool:
        return parent != 0 or item[1].get(ObjectPropCode.STORAGE_ID, storage_id) == storage_id

    producer = asyncio.create_task(op.run(OperationCode.GET_OBJECT_PROP_LIST, params, sink=sink))
    try:
        while True:
            if ready:
                batch = ready[:]
                ready.clear()
                for item in batch:
                    if keep(item):
                        yield item
                continue
            if producer.done():
                break
            arrived.clear()
            waiter = asyncio.create_task(arrived.wait())
            try:
                await asyncio.wait([waiter, producer], return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
        producer.result()  # the transaction's error, if any
        for item in parser.finish():
            if keep(item):
                yield item
    finally:
        if not producer.done():
            producer.cancel()
            await wait_quietly(producer)
        elif not producer.cancelled():
            producer.exception()  # mark retrieved: raised above, or superseded by our error


async def list_with_object_info(
    op: OpScope, storage_id: int, parent: int
) -> AsyncGenerator[tuple[int, ObjectInfo, int | None], None]:
    """Yield ``(handle, ObjectInfo, exact size or None)`` of the children of ``parent`` (0 = the
    root of ``storage_id``), one GetObjectInfo per child; unreadable children are skipped."""
    res = await op.run(OperationCode.GET_OBJECT_HANDLES, (storage_id, 0, parent if parent else ALL))
    for handle in parse_uint32_array(res.data):
        try:
            res = await op.run(OperationCode.GET_OBJECT_INFO, (handle,))
            info = ObjectInfo.from_bytes(res.data)
        except (ResponseError, RemoteProtocolError) as exc:
            log.warning("skipping object 0x%08X: %s", handle, exc)
            continue
        size: int | None = None
        if info.size_is_clamped:
            size = await object_size(op, handle)
        yield handle, info, size


async def object_size(op: OpScope, handle: int) -> int | None:
    """ObjectSize (UINT64) of ``handle`` through GetObjectPropValue; None if unavailable."""
    if not op.conn.supports(OperationCode.GET_OBJECT_PROP_VALUE):
        return None
    try:
        res = await op.run(
            OperationCode.GET_OBJECT_PROP_VALUE, (handle, ObjectPropCode.OBJECT_SIZE)
        )
        value = read_value(Reader(res.data), DataType.UINT64)
    except (ResponseError, RemoteProtocolError) as exc:
        log.info("no ObjectSize for 0x%08X: %s", handle, exc)
        return None
    return value if isinstance(value, int) else None


__all__ = [
    "LISTING_GROUP",
    "PropListParser",
    "group_for_listing",
    "list_with_object_info",
    "list_with_prop_list",
    "object_size",
]
