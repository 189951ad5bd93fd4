"""IPortableDeviceContent(2) and IEnumPortableDeviceObjectIDs.

Theory of operation
-------------------
:class:`EnumPortableDeviceObjectIDs` lists the immediate children of one object. The listing
starts at the first ``next``/``skip`` and runs as a producer task on the bridge loop that
appends ids as the device sends them (the client streams GetObjectPropList); ``next(count)``
waits until ``count`` more ids arrived or the listing ended and returns them -- a shorter (or
empty) list means the end, WPD's S_FALSE. The enumerator is a context of its handle: a Cancel
stops the listing and ``next`` raises 0x800704C7 until ``reset()`` starts it again.

:class:`PortableDeviceContent` creates, deletes, moves and copies objects through the client.
Per-object methods (``delete``, ``move``, ``copy``) return a collection of one ``VT_ERROR``
per object in input order (WPD's S_OK / S_FALSE); when every object failed they raise the first
object's error with the collection in ``WpdError.results``. A cancel is never a per-object
result: it raises 0x800704C7 for the whole call.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from openwpd.client import Entry, Handle, Storage
from openwpd.protocol.codes import OperationCode
from openwpd.protocol.errors import Cancelled, OpenWpdError
from openwpd.wpd import bridge
from openwpd.wpd import guids as g
from openwpd.wpd import keys as k
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import (
    E_ACCESSDENIED,
    E_INVALIDARG,
    E_NOTIMPL,
    ERROR_INVALID_OPERATION,
    HRESULT_CANCELLED,
    HRESULT_FROM_WIN32,
    S_OK,
    WpdError,
    failed,
    wpd_error_from,
)
from openwpd.wpd.keys import VarType
from openwpd.wpd.objects import Node, children, fallback_puid, resolve
from openwpd.wpd.streams import OPTIMAL_BUFFER_SIZE, WriteStream
from openwpd.wpd.values import (
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PropVariant,
)

if TYPE_CHECKING:
    from openwpd.wpd.handle import WpdHandle
    from openwpd.wpd.properties import PortableDeviceProperties
    from openwpd.wpd.resources import PortableDeviceResources

PORTABLE_DEVICE_DELETE_NO_RECURSION = 0
PORTABLE_DEVICE_DELETE_WITH_RECURSION = 1


class EnumPortableDeviceObjectIDs:
    """IEnumPortableDeviceObjectIDs over the children of ``parent_id`` (see the module
    docstring). Iterating it yields the remaining ids."""

    def __init__(self, handle: WpdHandle, parent_id: str) -> None:
        self._handle = handle
        self._parent_id = parent_id
        self._ids: list[str] = []
        self._pos = 0
        self._aborted = False
        # loop-thread state
        self._producer: asyncio.Task[None] | None = None
        self._arrived: asyncio.Event | None = None
        self._done = False
        self._error: BaseException | None = None
        handle.register(self)

    # -- context protocol -----------------------------------------------------------------------

    def abort(self) -> None:
        """Stop the listing (a handle-wide cancel); ``next`` raises until ``reset``."""
        self._aborted = True
        producer = self._producer
        if producer is not None:
            bridge.get_loop().call_soon_threadsafe(producer.cancel)

    # -- WPD --------------------------------------------------------------------------------------

    def next(self, count: int) -> list[str]:
        """Next: up to ``count`` ids; fewer (or none) means the enumeration is over."""
        if not isinstance(count, int) or count < 0:
            raise WpdError(E_INVALIDARG, f"bad count {count!r}")
        if self._aborted:
            self._handle.check_open()
            raise WpdError(HRESULT_CANCELLED, "the enumeration was cancelled")
        want = self._pos + count
        self._handle.call(lambda: self._wait_for(want))
        batch = self._ids[self._pos : want]
        self._pos += len(batch)
        return batch

    def skip(self, count: int) -> None:
        """Skip: pass over ``count`` ids (fewer at the end)."""
        self.next(count)

    def reset(self) -> None:
        """Reset: start over with a fresh listing (also after a cancel)."""
        self._handle.check_open()
        bridge.run(self._stop())
        self._ids = []
        self._pos = 0
        self._aborted = False

    def clone(self) -> EnumPortableDeviceObjectIDs:
        """Clone: not implemented by WPD either (E_NOTIMPL)."""
        raise WpdError(E_NOTIMPL, "IEnumPortableDeviceObjectIDs::Clone is not implemented")

    def cancel(self) -> None:
        """Cancel every pending operation of the handle this enumerator belongs to."""
        self._handle.cancel()

    def close(self) -> None:
        """Release the enumerator (stops the listing)."""
        self.abort()
        self._handle.unregister(self)

    def __iter__(self) -> Iterator[str]:
        while True:
            batch = self.next(64)
            yield from batch
            if len(batch) < 64:
                return

    def __enter__(self) -> EnumPortableDeviceObjectIDs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- loop side --------------------------------------------------------------------------------

    async def _stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
        self._done = False
        self._error = None
        self._arrived = None

    async def _wait_for(self, want: int) -> None:
        if self._producer is None:
            self._arrived = asyncio.Event()
            self._producer = asyncio.create_task(self._produce(), name="wpd enumeration")
        assert self._arrived is not None
        while len(self._ids) < want and not self._done:
            self._arrived.clear()
            await self._arrived.wait()
        if self._error is not None and len(self._ids) < want:
            error = self._error
            if isinstance(error, asyncio.CancelledError | Cancelled):
                raise WpdError(HRESULT_CANCELLED, "the enumeration was cancelled")
            raise wpd_error_from(error)

    async def _produce(self) -> None:
        client = self._handle.client
        try:
            node = await resolve(client, self._parent_id)
            async for object_id in children(client, node):
                self._ids.append(object_id)
                if self._arrived is not None:
                    self._arrived.set()
        except BaseException as exc:
            self._error = exc
            if not isinstance(exc, Exception | asyncio.CancelledError):
                raise
        finally:
            self._done = True
            if self._arrived is not None:
                self._arrived.set()


def _ids(object_ids: Iterable[object]) -> list[str]:
    ids = list(object_ids)
    if not all(isinstance(i, str) for i in ids):
        raise WpdError(E_INVALIDARG, "object ids are strings")
    return [str(i) for i in ids]


def _name_of(values: PortableDeviceValues) -> str:
    for key in (k.WPD_OBJECT_ORIGINAL_FILE_NAME, k.WPD_OBJECT_NAME):
        value = values.get(key)
        if isinstance(value, str) and value:
            return value
    raise WpdError(E_INVALIDARG, "WPD_OBJECT_ORIGINAL_FILE_NAME or WPD_OBJECT_NAME is required")


def _mtime_of(values: PortableDeviceValues) -> datetime | None:
    value = values.get(k.WPD_OBJECT_DATE_MODIFIED)
    return value if isinstance(value, datetime) else None


def _container(node: Node) -> Entry | Storage:
    """The storage or folder ``node`` names, as a parent for new objects."""
    if node.storage is not None:
        return node.storage
    if node.entry is not None and node.entry.is_folder:
        return node.entry
    raise WpdError(E_INVALIDARG, f"{node.object_id!r} cannot contain objects")


def _is_folder_request(values: PortableDeviceValues) -> bool:
    return (
        values.get(k.WPD_OBJECT_CONTENT_TYPE) == g.WPD_CONTENT_TYPE_FOLDER
        or values.get(k.WPD_OBJECT_FORMAT) == g.WPD_OBJECT_FORMAT_PROPERTIES_ONLY
    )


async def _parent_node(client: Handle, values: PortableDeviceValues) -> Entry | Storage:
    parent_id = values.get(k.WPD_OBJECT_PARENT_ID)
    if not isinstance(parent_id, str):
        raise WpdError(E_INVALIDARG, "WPD_OBJECT_PARENT_ID is required")
    return _container(await resolve(client, parent_id))


async def _entry(client: Handle, object_id: str) -> Entry:
    node = await resolve(client, object_id)
    if node.entry is None:
        raise WpdError(E_ACCESSDENIED, f"{object_id!r} is a functional object")
    return node.entry


PerObject = Callable[[str], Awaitable[None]]


async def per_object(ids: list[str], action: PerObject) -> PortableDevicePropVariantCollection:
    """Run ``action`` on every id; VT_ERROR results in input order; a cancel propagates."""
    results = PortableDevicePropVariantCollection(vt=VarType.ERROR)
    for object_id in ids:
        try:
            await action(object_id)
            results.add(PropVariant(VarType.ERROR, S_OK))
        except (Cancelled, asyncio.CancelledError):
            raise
        except (OpenWpdError, OSError) as exc:
            error = wpd_error_from(exc)
            if error.cancelled:
                raise error from exc
            results.add(PropVariant(VarType.ERROR, error.hresult))
    return results


def finish_per_object(results: PortableDevicePropVariantCollection) -> None:
    """Raise the first error (with ``results``) when every object failed."""
    codes = [int(code) for code in results]  # type: ignore[call-overload]
    if codes and all(failed(code) for code in codes):
        raise WpdError(codes[0], results=results)


class PortableDeviceContent:
    """IPortableDeviceContent2 of one handle (see the module docstring)."""

    def __init__(self, handle: WpdHandle) -> None:
        self._handle = handle

    def enum_objects(
        self, parent_id: str, filter: PortableDeviceValues | None = None, flags: int = 0
    ) -> EnumPortableDeviceObjectIDs:
        """EnumObjects: an enumerator over the immediate children of ``parent_id`` (``DEVICE``
        for the functional objects, ``""`` for DEVICE itself). ``filter`` is ignored, as in
        WPD."""
        self._handle.check_open()
        if not isinstance(parent_id, str):
            raise WpdError(E_INVALIDARG, "the parent id is a string")
        return EnumPortableDeviceObjectIDs(self._handle, parent_id)

    def properties(self) -> PortableDeviceProperties:
        """Properties: the property facet."""
        from openwpd.wpd.properties import PortableDeviceProperties

        self._handle.check_open()
        return PortableDeviceProperties(self._handle)

    def transfer(self) -> PortableDeviceResources:
        """Transfer: the resource (data stream) facet."""
        from openwpd.wpd.resources import PortableDeviceResources

        self._handle.check_open()
        return PortableDeviceResources(self._handle)

    def create_object_with_properties_only(self, values: PortableDeviceValues) -> str:
        """CreateObjectWithPropertiesOnly: a folder (content type FOLDER or format
        PROPERTIES_ONLY) or an empty object; returns the new object's id. Needs
        WPD_OBJECT_PARENT_ID and a name."""
        self._handle.check_open()
        self._handle.check_writable()
        name = _name_of(values)
        folder = _is_folder_request(values)
        mtime = _mtime_of(values)

        async def create() -> str:
            client = self._handle.client
            parent = await _parent_node(client, values)
            if folder:
                entry = await client.mkdir(parent, name)
            else:
                entry = await client.upload(io.BytesIO(b""), parent, name=name, size=0, mtime=mtime)
            return m.object_id_for_handle(entry.handle)

        return self._handle.call(create)

    def create_object_with_properties_and_data(
        self, values: PortableDeviceValues
    ) -> tuple[WriteStream, int]:
        """CreateObjectWithPropertiesAndData: a write stream and the optimal buffer size. The
        object exists only after ``stream.commit()``; ``revert()`` abandons it."""
        self._handle.check_open()
        self._handle.check_writable()
        name = _name_of(values)
        parent = self._handle.call(lambda: _parent_node(self._handle.client, values))
        stream = WriteStream(self._handle, name=name, parent=parent, mtime=_mtime_of(values))
        return stream, OPTIMAL_BUFFER_SIZE

    def update_object_with_properties_and_data(
        self, object_id: str, values: PortableDeviceValues
    ) -> tuple[WriteStream, int]:
        """UpdateObjectWithPropertiesAndData: a write stream whose commit replaces the
        object's data (and name when ``values`` has one). The object gets a new id (see
        :mod:`openwpd.wpd.streams`); ``stream.get_object_id()`` gives it."""
        self._handle.check_open()
        self._handle.check_writable()
        entry = self._handle.call(lambda: _entry(self._handle.client, object_id))
        if entry.is_folder:
            raise WpdError(E_INVALIDARG, f"{object_id!r} is a folder: it has no data")
        try:
            name = _name_of(values)
        except WpdError:
            name = entry.name
        stream = WriteStream(self._handle, name=name, target=entry, mtime=_mtime_of(values))
        return stream, OPTIMAL_BUFFER_SIZE

    def delete(
        self, options: int, object_ids: Iterable[object]
    ) -> PortableDevicePropVariantCollection:
        """Delete: PORTABLE_DEVICE_DELETE_NO_RECURSION fails a folder that has children
        (HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION)); _WITH_RECURSION deletes it with its
        contents. Returns the per-object results (see the module docstring)."""
        self._handle.check_open()
        if options not in (
            PORTABLE_DEVICE_DELETE_NO_RECURSION,
            PORTABLE_DEVICE_DELETE_WITH_RECURSION,
        ):
            raise WpdError(E_INVALIDARG, f"bad delete options {options!r}")
        self._handle.check_writable()
        ids = _ids(object_ids)
        client = self._handle.client

        async def delete_one(object_id: str) -> None:
            entry = await _entry(client, object_id)
            if entry.is_folder and options == PORTABLE_DEVICE_DELETE_NO_RECURSION:
                async with contextlib.aclosing(client.list(entry)) as listing:
                    async for _child in listing:
                        raise WpdError(
                            HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION),
                            f"{object_id!r} has children",
                        )
            await client.delete(entry)

        results = self._handle.call(lambda: per_object(ids, delete_one))
        finish_per_object(results)
        return results

    def _transfer(
        self, object_ids: Iterable[object], destination_id: str, copy: bool
    ) -> PortableDevicePropVariantCollection:
        self._handle.check_open()
        self._handle.check_writable()
        operation = OperationCode.COPY_OBJECT if copy else OperationCode.MOVE_OBJECT
        if not self._handle.conn.supports(operation):
            raise WpdError(E_NOTIMPL, f"the device cannot {'copy' if copy else 'move'} objects")
        ids = _ids(object_ids)
        client = self._handle.client

        async def run() -> PortableDevicePropVariantCollection:
            destination = _container(await resolve(client, destination_id))

            async def one(object_id: str) -> None:
                entry = await _entry(client, object_id)
                if copy:
                    await client.copy(entry, destination)
                else:
                    await client.move(entry, destination)

            return await per_object(ids, one)

        results = self._handle.call(run)
        finish_per_object(results)
        return results

    def move(
        self, object_ids: Iterable[object], destination_id: str
    ) -> PortableDevicePropVariantCollection:
        """Move objects into the folder or storage ``destination_id``; per-object results."""
        return self._transfer(object_ids, destination_id, copy=False)

    def copy(
        self, object_ids: Iterable[object], destination_id: str
    ) -> PortableDevicePropVariantCollection:
        """Copy objects into the folder or storage ``destination_id``; per-object results."""
        return self._transfer(object_ids, destination_id, copy=True)

    def get_object_ids_from_persistent_unique_ids(
        self, puids: Iterable[object]
    ) -> PortableDevicePropVariantCollection:
        """GetObjectIDsFromPersistentUniqueIDs: the current id of each PUID, in order; ``""``
        where no object has that PUID."""
        self._handle.check_open()
        wanted = _ids(puids)
        found = self._handle.call(lambda: find_puids(self._handle.client, wanted))
        return PortableDevicePropVariantCollection(
            [found.get(p, "") for p in wanted], vt=VarType.LPWSTR
        )

    def cancel(self) -> None:
        """Cancel every pending operation of the handle."""
        self._handle.cancel()


async def find_puids(client: Handle, wanted: list[str]) -> dict[str, str]:
    """Map the PUIDs in ``wanted`` to object ids: functional objects by name, objects by a walk
    of the tree that stops as soon as every PUID was found."""
    found: dict[str, str] = {}
    storages = await client.storages()
    storage_ids = {m.storage_object_id(s.id) for s in storages}
    rest: set[str] = set()
    for puid in wanted:
        if puid == g.WPD_DEVICE_OBJECT_ID or puid in storage_ids:
            found[puid] = puid
        else:
            rest.add(puid)
    folders: list[Entry | Storage] = list(storages)
    while rest and folders:
        folder = folders.pop()
        async with contextlib.aclosing(client.list(folder)) as listing:
            async for entry in listing:
                for puid in (_entry_puid(entry), fallback_puid(entry)):
                    if puid in rest:
                        found[puid] = m.object_id_for_handle(entry.handle)
                        rest.discard(puid)
                if entry.is_folder:
                    folders.append(entry)
    return found


def _entry_puid(entry: Entry) -> str:
    return m.puid_text(entry.puid) if entry.puid is not None else ""


__all__ = [
    "PORTABLE_DEVICE_DELETE_NO_RECURSION",
    "PORTABLE_DEVICE_DELETE_WITH_RECURSION",
    "EnumPortableDeviceObjectIDs",
    "PortableDeviceContent",
    "find_puids",
]
