"""A scripted, hostile MTP responder over real PTP/IP on loopback, for client-side tests.

The virtual device (``openwpd.server``) serves real folders and therefore cannot name an object
``../../evil.txt``, list a folder inside itself, or send more data than it announced it would:
this responder can. It speaks real PTP/IP bytes through the transport's own listener and link
(the client under test is the real one), and answers just the operations a client needs to list
and download: OpenSession, CloseSession, GetDeviceInfo, GetStorageIDs, GetStorageInfo,
GetObjectHandles, GetObjectInfo, GetObject, GetPartialObject(64). Everything else is answered
OperationNotSupported.

The content is a list of :class:`Obj`; ``children`` overrides what GetObjectHandles says for a
parent (to make cycles); ``extra`` appends that many bytes to every object data phase (announced
honestly in the Start Data packet, so only the client's own expectation can catch it).

Importable as ``hostile_device`` (pytest puts tests/ on the path).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from openwpd.protocol.codes import (
    ALL,
    AssociationType,
    ObjectFormatCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import DeviceInfo, ObjectInfo, StorageInfo
from openwpd.protocol.datasets.arrays import build_uint32_array
from openwpd.protocol.errors import OpenWpdError
from openwpd.protocol.messages import DataChunk, EndData, Operation, Response, StartData
from openwpd.transport.ptpip import PtpIpLink, PtpIpListener, ResponderIdentity

STORAGE_ID = 0x00010001

_O = OperationCode
_R = ResponseCode

PARTIAL_OPERATIONS = (_O.GET_PARTIAL_OBJECT_64, _O.GET_PARTIAL_OBJECT)
BASE_OPERATIONS = (
    _O.GET_DEVICE_INFO,
    _O.OPEN_SESSION,
    _O.CLOSE_SESSION,
    _O.GET_STORAGE_IDS,
    _O.GET_STORAGE_INFO,
    _O.GET_OBJECT_HANDLES,
    _O.GET_OBJECT_INFO,
    _O.GET_OBJECT,
)


@dataclass
class Obj:
    """One object: ``parent`` 0 is the storage root."""

    handle: int
    parent: int
    name: str
    folder: bool = False
    data: bytes = b""


@dataclass
class HostileDevice:
    """See the module docstring. ``serve()`` starts it on 127.0.0.1 (free port) in a thread of
    its own (so click's CliRunner and subprocesses can both use it); ``close()`` stops it."""

    objects: list[Obj]
    children: dict[int, list[int]] = field(default_factory=dict)
    extra: int = 0
    partial: bool = True
    #: announce the length of object data phases (False: PTP/IP's "unknown length")
    announce: bool = True
    #: the first this many partial reads send only half of what was asked, then answer OK
    short_reads: int = 0
    storage_name: str = "Phone"
    manufacturer: str = "openwpd tests"

    def __post_init__(self) -> None:
        self._by_handle = {o.handle: o for o in self.objects}
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._listener: PtpIpListener | None = None
        self.port = 0

    # -- running ---------------------------------------------------------------------------

    def serve(self) -> HostileDevice:
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._start())
        return self

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    async def _start(self) -> None:
        identity = ResponderIdentity(b"\x42" * 16, "hostile test device")
        self._listener = PtpIpListener(identity, self._session)
        _, self.port = await self._listener.start("127.0.0.1", 0)

    @property
    def url(self) -> str:
        return f"ptpip://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self._listener is not None:
            self._call(self._listener.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> HostileDevice:
        return self.serve()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answering ---------------------------------------------------------------------------

    def _session(self, link: PtpIpLink, _request: object) -> asyncio.Task[None]:
        return asyncio.ensure_future(self._serve_link(link))

    async def _serve_link(self, link: PtpIpLink) -> None:
        try:
            while True:
                msg = await link.receive()
                if isinstance(msg, Operation):
                    assert msg.tid is not None
                    await self._answer(link, msg.code, msg.params, msg.tid)
                # anything else (a Cancel, a stray data packet) is ignored: a scripted device
        except (OpenWpdError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await link.aclose()

    async def _answer(self, link: PtpIpLink, code: int, params: tuple[int, ...], tid: int) -> None:
        async def reply(rc: int = _R.OK, *rparams: int) -> None:
            await link.send(Response(rc, tuple(rparams), tid))

        async def data(payload: bytes, announce: bool = True) -> None:
            await link.send(StartData(len(payload) if announce else None, tid))
            for i in range(0, len(payload), 1 << 20):
                await link.send(DataChunk(payload[i : i + (1 << 20)], tid))
            await link.send(EndData(tid))

        if code in (_O.OPEN_SESSION, _O.CLOSE_SESSION):
            await reply()
        elif code == _O.GET_DEVICE_INFO:
            ops = BASE_OPERATIONS + (PARTIAL_OPERATIONS if self.partial else ())
            info = DeviceInfo(
                operations_supported=tuple(int(o) for o in ops),
                manufacturer=self.manufacturer,
                model="hostile",
                serial_number="HOSTILE0001",
            )
            await data(info.to_bytes())
            await reply()
        elif code == _O.GET_STORAGE_IDS:
            await data(build_uint32_array([STORAGE_ID]))
            await reply()
        elif code == _O.GET_STORAGE_INFO:
            await data(
                StorageInfo(
                    max_capacity=1 << 30,
                    free_space_in_bytes=1 << 29,
                    storage_description=self.storage_name,
                    volume_label=self.storage_name,
                ).to_bytes()
            )
            await reply()
        elif code == _O.GET_OBJECT_HANDLES:
            parent = params[2] if len(params) > 2 else 0
            parent = 0 if parent == ALL else parent
            if parent in self.children:
                handles = self.children[parent]
            else:
                handles = [o.handle for o in self.objects if o.parent == parent]
            await data(build_uint32_array(handles))
            await reply()
        elif code == _O.GET_OBJECT_INFO:
            obj = self._by_handle.get(params[0])
            if obj is None:
                await reply(_R.INVALID_OBJECT_HANDLE)
                return
            info = ObjectInfo.for_size(
                0 if obj.folder else len(obj.data),
                storage_id=STORAGE_ID,
                object_format=ObjectFormatCode.ASSOCIATION
                if obj.folder
                else ObjectFormatCode.UNDEFINED,
                parent_object=obj.parent,
                association_type=AssociationType.GENERIC_FOLDER if obj.folder else 0,
                filename=obj.name,
            )
            await data(info.to_bytes())
            await reply()
        elif code in (_O.GET_OBJECT, *PARTIAL_OPERATIONS):
            obj = self._by_handle.get(params[0])
            if obj is None or obj.folder:
                await reply(_R.INVALID_OBJECT_HANDLE)
                return
            if code == _O.GET_OBJECT:
                payload = obj.data
            elif code == _O.GET_PARTIAL_OBJECT:
                payload = obj.data[params[1] : params[1] + params[2]]
            else:
                start = params[1] | (params[2] << 32)
                payload = obj.data[start : start + params[3]]
            if code != _O.GET_OBJECT and self.short_reads > 0:
                self.short_reads -= 1
                payload = payload[: len(payload) // 2]
            payload += b"X" * self.extra
            await data(payload, self.announce)
            await reply(_R.OK, len(payload))
        else:
            await reply(_R.OPERATION_NOT_SUPPORTED)


__all__ = ["STORAGE_ID", "HostileDevice", "Obj"]
