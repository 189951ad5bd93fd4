"""Android's in-place edits (Android's MTP extensions): BeginEditObject, SendPartialObject,
TruncateObject, EndEditObject. (GetPartialObject64 lives with the other reads in ``transfer.py``.)

Theory of operation
-------------------
BeginEditObject opens a store edit session (:meth:`ObjectStore.open_for_edit`): a hidden copy of
the file that SendPartialObject writes into at 64-bit offsets and TruncateObject cuts or
extends. EndEditObject replaces the original with the copy in one rename; until then the
original is untouched, and it stays untouched when the edit is aborted.

An edit belongs to the session that began it; the other operations answer GeneralError (as
Android does) for a handle that this session is not editing. The open edits are kept in one
table per device rather than in ``DeviceSession.state`` so that edits left behind by a session
that ended can still be found: before every edit operation, edits whose session has ended
(disconnected) or was closed are aborted (copy deleted, the file free to edit again); and the
session itself aborts its edits at once when it closes or ends (``DeviceSession.on_close``).

Cancel: a cancelled (or broken-off) SendPartialObject aborts the whole edit, so a transfer cut
in the middle can never be committed by a later EndEditObject. A store failure while writing
(disk full...) aborts it too; the initiator must begin again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.server.context import MtpError, OperationContext, Reply
from openwpd.server.registry import handles
from openwpd.server.store import EditSession

if TYPE_CHECKING:
    from openwpd.server.device import VirtualDevice
    from openwpd.server.session import DeviceSession


@dataclass(frozen=True, slots=True)
class OpenEdit:
    """An edit open on an object, and the session (and its session id) that opened it."""

    session: DeviceSession
    session_id: int | None
    edit: EditSession


def _sweep(device: VirtualDevice) -> None:
    """Abort the edits of sessions that ended or were closed, forget finished ones."""
    table = device.open_edits
    for handle, entry in list(table.items()):
        session = entry.session
        if session not in device.sessions or session.session_id != entry.session_id:
            entry.edit.abort()
        if not entry.edit.is_open:
            del table[handle]


def abort_session_edits(device: VirtualDevice, session: DeviceSession) -> None:
    """Abort every edit ``session`` left open (the originals stay as they were)."""
    table = device.open_edits
    for handle, entry in list(table.items()):
        if entry.session is session:
            entry.edit.abort()
            del table[handle]


@dataclass(frozen=True, slots=True)
class _SessionCleanup:
    """The callback registered with ``DeviceSession.on_close`` (equal for the same session)."""

    device: VirtualDevice
    session: DeviceSession

    def __call__(self) -> None:
        abort_session_edits(self.device, self.session)


def _editing(ctx: OperationContext, handle: int) -> EditSession:
    _sweep(ctx.device)
    entry = ctx.device.open_edits.get(handle)
    if entry is None or entry.session is not ctx.session:
        raise MtpError(ResponseCode.GENERAL_ERROR, f"0x{handle:08X} is not open for editing")
    return entry.edit


def _forget_if_done(ctx: OperationContext, handle: int) -> None:
    table = ctx.device.open_edits
    entry = table.get(handle)
    if entry is not None and not entry.edit.is_open:
        del table[handle]


@handles(OperationCode.BEGIN_EDIT_OBJECT)
async def begin_edit_object(ctx: OperationContext) -> None:
    _sweep(ctx.device)
    handle = ctx.p(1)
    edit = ctx.device.store.open_for_edit(handle)
    session = ctx.session
    ctx.device.open_edits[handle] = OpenEdit(session, session.session_id, edit)
    session.on_close(_SessionCleanup(ctx.device, session))


@handles(OperationCode.SEND_PARTIAL_OBJECT, data_out=True)
async def send_partial_object(ctx: OperationContext) -> Reply:
    handle = ctx.p(1)
    offset = ctx.p(2) | (ctx.p(3) << 32)
    edit = _editing(ctx, handle)
    if offset > edit.size:
        # Android refuses to leave a hole before the data
        raise MtpError(ResponseCode.INVALID_PARAMETER, f"offset {offset} past the end")
    written = 0
    try:
        async for chunk in ctx.iter_data():
            # on the loop, as each packet arrives: see server/handlers/transfer.py
            edit.write_at(offset + written, chunk)
            written += len(chunk)
    except asyncio.CancelledError:
        edit.abort()
        raise
    finally:
        _forget_if_done(ctx, handle)
    return Reply((written,))


@handles(OperationCode.TRUNCATE_OBJECT)
async def truncate_object(ctx: OperationContext) -> None:
    handle = ctx.p(1)
    edit = _editing(ctx, handle)
    try:
        edit.truncate(ctx.p(2) | (ctx.p(3) << 32))
    finally:
        _forget_if_done(ctx, handle)


@handles(OperationCode.END_EDIT_OBJECT)
async def end_edit_object(ctx: OperationContext) -> None:
    handle = ctx.p(1)
    edit = _editing(ctx, handle)
    del ctx.device.open_edits[handle]
    edit.commit()
