"""What a handler sees of its transaction: parameters, the data phase in either direction, and
how to fail with a response code.

Handlers are ``async def handler(ctx) -> Reply | None`` (None means OK without parameters). To
fail, raise :class:`MtpError` (or let a ``StoreError`` escape: the session maps its code). A
handler that reads a data phase uses :meth:`OperationContext.receive_data` (a small dataset, in
memory) or :meth:`OperationContext.iter_data` (a stream of chunks); one that sends data uses
:meth:`OperationContext.send_data` / :meth:`OperationContext.send_stream`. When the initiator
cancels, the handler's task is cancelled at its next ``await``: cleanup belongs in ``finally``
blocks (abort pending writes), and the session answers TransactionCancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.protocol.messages import (
    DataChunk,
    DataFinished,
    DataReceived,
    DataStarted,
    EndData,
    FileSlice,
    StartData,
)

if TYPE_CHECKING:
    from openwpd.server.device import VirtualDevice
    from openwpd.server.session import DeviceSession

#: Largest dataset a handler accepts in memory (ObjectInfo, prop lists...).
MAX_DATASET = 64 * 1024 * 1024
#: Payload bytes per PTP/IP Data packet we send (gphoto copes with any size; 1 MiB keeps the
#: per-packet overhead small while a cancel still lands within one packet).
SEND_CHUNK = 1024 * 1024


#: Bytes per PTP/IP Data packet when sending straight from a file (a cancel lands between two).
FILE_SLICE = 4 * 1024 * 1024
READ_CHUNK = 1024 * 1024


def _file_chunks(f: BinaryIO, length: int) -> Iterator[bytes]:
    left = length
    while left > 0:
        chunk = f.read(min(READ_CHUNK, left))
        if not chunk:
            raise OSError("the file shrank while it was being sent")
        left -= len(chunk)
        yield chunk


class MtpError(Exception):
    """Fail the operation with ``code`` (and optional response parameters)."""

    def __init__(self, code: ResponseCode, message: str = "", params: tuple[int, ...] = ()) -> None:
        super().__init__(message or code.name)
        self.code = code
        self.params = params


class NoDataPhase(MtpError):
    """The initiator owed a data phase but sent the next request (or, on the session's side,
    nothing that starts one): the operation is answered IncompleteTransfer and the session
    goes on with that request."""

    def __init__(self) -> None:
        super().__init__(ResponseCode.INCOMPLETE_TRANSFER, "no data phase came")


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful (or explicitly coded) response."""

    params: tuple[int, ...] = ()
    code: ResponseCode = ResponseCode.OK


@dataclass
class OperationContext:
    """One transaction as its handler sees it."""

    device: VirtualDevice
    session: DeviceSession
    code: int
    tid: int
    params: tuple[int, ...]
    data_started: bool = field(default=False, init=False)
    data_done: bool = field(default=False, init=False)

    def p(self, index: int) -> int:
        """Parameter ``index`` (1-based, as the specification numbers them); missing ones are 0."""
        return self.params[index - 1] if index <= len(self.params) else 0

    @property
    def nparams(self) -> int:
        return len(self.params)

    # -- data from the initiator ------------------------------------------------------------

    async def iter_data(self) -> AsyncIterator[bytes]:
        """The initiator's data phase, chunk by chunk. Ends when the phase is complete."""
        while not self.data_done:
            try:
                events = await self.session.next_data_events()
            except NoDataPhase:
                self.data_done = True  # nothing left to drain
                raise
            for event in events:
                if isinstance(event, DataStarted):
                    self.data_started = True
                elif isinstance(event, DataReceived):
                    yield bytes(event.data)
                    # One loop pass between chunks, so the sockets are polled: a Cancel (the
                    # link reports it from its read callback) then stops the handler after
                    # at most one more chunk's write. Without it a handler works through every
                    # chunk already queued (up to 8 MiB of writes; 20 ms on cold pages) first.
                    await asyncio.sleep(0)
                elif isinstance(event, DataFinished):
                    self.data_done = True
                else:  # pragma: no cover - the machine only lets data through here
                    raise RemoteProtocolError(f"unexpected {event!r} during a data phase")

    async def receive_data(self, limit: int = MAX_DATASET) -> bytes:
        """The whole data phase in memory. Over ``limit`` bytes: InvalidDataset (rest drained)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.iter_data():
            size += len(chunk)
            if size > limit:
                async for _ in self.iter_data():
                    pass
                raise MtpError(ResponseCode.INVALID_DATASET, f"dataset over {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    # -- data to the initiator --------------------------------------------------------------

    async def send_data(self, data: bytes) -> None:
        """A whole data phase from memory."""
        await self.send_stream(len(data), [data])

    async def send_file(self, file: BinaryIO, offset: int, length: int) -> None:
        """A data phase of ``length`` bytes of ``file`` from ``offset``. Over a link that can,
        the bytes go from the file to the socket with sendfile (zero-copy); otherwise in chunks.
        The file must not shrink meanwhile (OSError if it does)."""
        session = self.session
        if not session.link.supports_file_slices:
            file.seek(offset)
            await self.send_stream(length, _file_chunks(file, length))
            return
        await session.send(StartData(length))
        self.data_started = True
        end = offset + length
        try:
            for start in range(offset, end, FILE_SLICE):
                slice_ = FileSlice(file, start, min(FILE_SLICE, end - start))
                await session.send(DataChunk(slice_))
        finally:
            # a cancel returns before the slice on the wire is finished; the caller closes the
            # file when we return, so wait for that write (it is short: one slice)
            await asyncio.shield(session.link.flush())
        await session.send(EndData())
        self.data_done = True

    async def send_stream(self, total: int, chunks: Iterable[bytes]) -> None:
        """A data phase of exactly ``total`` bytes from ``chunks`` (split to packet size)."""
        session = self.session
        await session.send(StartData(total))
        self.data_started = True
        for chunk in chunks:
            view = memoryview(chunk)
            for i in range(0, len(view), SEND_CHUNK):
                await session.send(DataChunk(view[i : i + SEND_CHUNK]))
        await session.send(EndData())
        self.data_done = True
