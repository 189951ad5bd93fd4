"""Moving object data: downloads and range reads, uploads; windowed so other handles get turns.

Theory of operation
-------------------
Downloads read in windows (``Connection.window_for``: the policy's window while other handles
wait for turns, its larger solo window while none does): GetPartialObject64 when the device has
it (any offset), else GetPartialObject (offsets below 4 GiB), else one GetObject (whose bytes before
the requested range are dropped, and after it ignored). Each window is its own transaction at the
handle's turn, and the data goes straight from the link to the destination through a sink, so
memory stays flat whatever the size. A download stops at the entry's size when it is exact, and
otherwise when a window comes back short. The device is trusted to send no more than asked: a
window longer than requested, or a GetObject longer than the object's exact size, is a
RemoteProtocolError (the session is then given up, as for any protocol violation) and the
surplus never reaches the destination.

Downloading to a path writes a temporary file next to the target and renames it into place only
when every byte arrived (then applies the device's DateModified); any failure or cancel removes
the temporary file, so there is never a partial file under the target name. A caller's own file
object receives the bytes as they come and is left as it is. The temporary file is created as
any new file is (mode 0666 less the umask, not mkstemp's 0600), so the download ends with the
permissions a file created here gets.

A process killed outright (SIGKILL, a power cut) cannot remove its temporary file: it stays as
``.NAME.XXXXXXXX.openwpd-part`` next to the target (``XXXXXXXX``: 8 characters of
``[a-z0-9_]``). While a download runs it holds an exclusive ``flock`` on that file, which the
kernel drops when the process dies, so :func:`remove_leftovers` can tell a dead download's file
from a live one's and removes only the former (``wpd get`` and ``wpd sync`` call it for the
names they are about to write). Without ``flock`` (Windows) an open file cannot be deleted,
which keeps a live download's file safe the same way.

Uploads, when the device has the Android edit operations (BeginEditObject, SendPartialObject,
EndEditObject): create the object empty (SendObjectPropList, else SendObjectInfo + an empty
SendObject) and open an edit on it in the same turn, send SendPartialObject windows, end the edit,
then set DateModified (the edit commit stamps the time of the commit). Otherwise: SendObjectPropList
(64-bit size) or SendObjectInfo (size clamped at 4 GiB), directly followed by SendObject with the
whole data phase, in one turn, since MTP allows nothing between the two (other handles wait for the
whole upload on such devices). In both cases a failure or cancel after the object exists deletes it
(as an internal step no cancel can stop, bounded by the response timeout), so nothing is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from openwpd._aio import off_loop
from openwpd._files import discard
from openwpd.client.connection import OpScope, ProtectedScope, wait_quietly
from openwpd.client.entries import Entry
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
from openwpd.protocol.datasets import ObjectInfo, ObjectPropList, PropListElement
from openwpd.protocol.datatypes import Value, format_datetime, write_value
from openwpd.protocol.errors import (
    LocalProtocolError,
    OpenWpdError,
    RemoteProtocolError,
    ResponseError,
)
from openwpd.protocol.messages import FileSlice

log = logging.getLogger("openwpd.client")

#: ``progress(bytes_done, bytes_total)``; the total is None when unknown.
Progress = Callable[[int, int | None], object]

READ_CHUNK = 1024 * 1024
_U32_LIMIT = 1 << 32

_O = OperationCode
_P = ObjectPropCode


# --- downloads ---------------------------------------------------------------------------------


async def read_into(
    op: OpScope,
    entry: Entry,
    out: BinaryIO,
    *,
    offset: int = 0,
    length: int | None = None,
    progress: Progress | None = None,
    inline_writes: bool = False,
) -> int:
    """Write ``length`` bytes (None: to the end) of ``entry`` from ``offset`` into ``out``;
    returns the bytes written. Raises LocalProtocolError for a folder or a negative range.

    ``inline_writes``: ``out`` is a local file of ours; write each chunk on the event loop as
    it arrives (about 1.5x faster than a worker-thread hop per chunk). Otherwise (a caller's
    file object, which may be slow) each write runs on a worker thread."""
    if entry.is_folder:
        raise LocalProtocolError(f"{entry.name!r} is a folder")
    if offset < 0 or (length is not None and length < 0):
        raise LocalProtocolError("offset and length must not be negative")
    end: int | None = None if length is None else offset + length
    if entry.size_exact:
        end = entry.size if end is None else min(end, entry.size)
    total = None if end is None else max(0, end - offset)
    done = 0

    async def sink(chunk: bytes) -> None:
        nonlocal done
        if inline_writes:
            out.write(chunk)
        else:
            await off_loop(out.write, chunk)  # the disk write overlaps the next packets' arrival
        done += len(chunk)
        if progress is not None:
            progress(done, total)

    read_op = op.conn.policy.partial_read
    if read_op == _O.GET_PARTIAL_OBJECT and (end is None or end > _U32_LIMIT):
        read_op = None  # GetPartialObject cannot address past 4 GiB
    if read_op is None:
        return await _read_whole(op, entry, out, offset, total, progress, inline_writes)
    position = offset
    retried = False
    while end is None or position < end:
        window = op.conn.window_for(op.owner)
        want = window if end is None else min(window, end - position)
        before = done
        params: tuple[int, ...] = (
            (entry.handle, position & 0xFFFFFFFF, position >> 32, want)
            if read_op == _O.GET_PARTIAL_OBJECT_64
            else (entry.handle, position, want)
        )
        started = time.monotonic()
        # a device that sends more than the window asked for would write past it
        await op.run(read_op, params, sink=sink, max_data=want)
        got = done - before
        op.conn.window_done(got, time.monotonic() - started)
        position += got
        if got < want:
            # Short before the end the device gave: not the end of the object. Ask once more
            # from there (the bytes so far are good); a second short answer means the object
            # changed meanwhile, and a short copy must not pass for a whole one.
            if end is None or not entry.size_exact:
                break
            if retried:
                raise RemoteProtocolError(
                    f"{entry.name}: the device sent {position - offset} of "
                    f"{end - offset} bytes (did the object change?)"
                )
            retried = True
            continue
        retried = False
    if total is not None and done < total:
        log.info("%s: %d of %d bytes (the object shrank?)", entry.name, done, total)
    return done


async def _read_whole(
    op: OpScope,
    entry: Entry,
    out: BinaryIO,
    offset: int,
    total: int | None,
    progress: Progress | None,
    inline_writes: bool,
) -> int:
    """GetObject, keeping only [offset, offset + total)."""
    seen = 0
    done = 0

    async def sink(chunk: bytes) -> None:
        nonlocal seen, done
        start = max(0, offset - seen)
        seen += len(chunk)
        if start >= len(chunk):
            return
        piece = chunk[start:]
        if total is not None:
            piece = piece[: total - done]
        if piece:
            if inline_writes:
                out.write(piece)
            else:
                await off_loop(out.write, piece)
            done += len(piece)
            if progress is not None:
                progress(done, total)

    # the object's size is what the device said it is: more data than that is not this object
    limit = entry.size if entry.size_exact else None
    await op.run(_O.GET_OBJECT, (entry.handle,), sink=sink, max_data=limit)
    return done


async def download_to_path(
    op: OpScope,
    entry: Entry,
    target: str | os.PathLike[str],
    *,
    offset: int = 0,
    length: int | None = None,
    progress: Progress | None = None,
    replace: bool = True,
) -> int:
    """Download into a temp file next to ``target``, rename on success (see the module
    docstring); returns the bytes written. With ``replace=False`` an existing ``target`` is
    never replaced, even one another program makes during the download: the copy is
    hard-linked into place, which raises FileExistsError (the copy is discarded) rather than
    replace anything; where there are no hard links (FAT) a check and a rename stand in."""
    target = Path(target)
    fd, temp = _create_part(target)
    file = os.fdopen(fd, "wb")
    out: BinaryIO | None = file
    try:
        done = await read_into(
            op,
            entry,
            file,
            offset=offset,
            length=length,
            progress=progress,
            inline_writes=True,
        )
        if fcntl is None:  # pragma: no cover - Windows: an open file cannot be renamed
            out = None
            file.close()
        else:
            file.flush()  # kept open (and locked) until renamed: see remove_leftovers
        if entry.modified is not None and offset == 0 and length is None:
            stamp = entry.modified.timestamp()  # naive = local time, as MTP dates are
            os.utime(temp, (stamp, stamp))
        if replace:
            os.replace(temp, target)
        else:
            _place_new(temp, target)
    except BaseException:
        discard(out, temp)  # the name goes at once; the pages are freed on another thread
        raise
    file.close()
    return done


_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})


def _place_new(temp: Path, target: Path) -> None:
    """Give ``temp`` the name ``target`` only if nothing has that name (FileExistsError)."""
    try:
        os.link(temp, target)
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(target):  # no hard links here: a check, then a rename
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
        os.rename(temp, target)
        return
    os.unlink(temp)


#: the suffix of a download's temporary file (see the module docstring)
PART_SUFFIX = ".openwpd-part"
_PART_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_PART = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}" + re.escape(PART_SUFFIX) + r"\Z", re.DOTALL)
_O_BINARY = getattr(os, "O_BINARY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _create_part(target: Path) -> tuple[int, Path]:
    """A new, locked temporary file ``.NAME.XXXXXXXX.openwpd-part`` next to ``target``,
    created with mode 0666 so that the umask (and a default ACL) apply as to any new file."""
    for _ in range(100):
        random = "".join(secrets.choice(_PART_CHARS) for _ in range(8))
        temp = target.parent / f".{target.name}.{random}{PART_SUFFIX}"
        try:
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_NOFOLLOW, 0o666
            )
        except FileExistsError:
            continue
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # ours, new: never blocks
        return fd, temp
    raise FileExistsError(f"no free temporary name next to {target}")


def _abandoned(path: str) -> bool:
    """True when the temporary file at ``path`` is a regular file that no live download holds
    (see the module docstring)."""
    if fcntl is None:  # pragma: no cover - Windows: deleting a live one's fails anyway
        return True
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False  # a download is writing it
    finally:
        os.close(fd)
    return True


def remove_leftovers(
    folder: str | os.PathLike[str], names: Iterable[str] | None = None, *, dry_run: bool = False
) -> list[Path]:
    """Remove the temporary files that killed downloads left in ``folder`` (only those of
    targets named in ``names``; every target when None) and return their paths. Only files of
    our exact pattern that no running download holds are touched (see the module docstring);
    ``dry_run`` finds them without removing. A missing ``folder`` has none."""
    wanted = None if names is None else set(names)
    found: list[Path] = []
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return found
    with entries:
        for item in entries:
            match = _PART.match(item.name)
            if match is None or (wanted is not None and match["name"] not in wanted):
                continue
            with contextlib.suppress(OSError):
                if not item.is_file(follow_symlinks=False) or not _abandoned(item.path):
                    continue
                if not dry_run:
                    os.unlink(item.path)
                found.append(Path(item.path))
    return found


# --- uploads -----------------------------------------------------------------------------------


def _chunks(src: BinaryIO, length: int) -> Iterator[bytes]:
    left = length
    while left > 0:
        chunk = src.read(min(READ_CHUNK, left))
        if not chunk:
            raise LocalProtocolError("the source file ended before its announced size")
        left -= len(chunk)
        yield chunk


#: bytes per FileSlice of an upload (one PTP/IP Data packet, one sendfile call)
SLICE = 4 * 1024 * 1024


def _slices(src: BinaryIO, length: int) -> Iterator[FileSlice]:
    """``length`` bytes of a regular file from its position, as FileSlices (sent with
    sendfile: no copy through Python); the position moves past them, as reading would."""
    start = src.tell()
    if os.fstat(src.fileno()).st_size < start + length:
        raise LocalProtocolError("the source file ended before its announced size")
    for offset in range(start, start + length, SLICE):
        yield FileSlice(src, offset, min(SLICE, start + length - offset))
        src.seek(min(offset + SLICE, start + length))


def _dest_params(storage_id: int, parent: int) -> tuple[int, int]:
    """(StorageID, Parent) operation parameters: parent 0xFFFFFFFF names the storage root."""
    return storage_id, parent if parent else ALL


def _mtp_date(mtime: datetime | None) -> str:
    if mtime is None:
        return ""
    local = mtime.astimezone().replace(tzinfo=None) if mtime.tzinfo else mtime
    return format_datetime(local)


async def create_object(
    op: OpScope,
    storage_id: int,
    parent: int,
    name: str,
    *,
    size: int,
    mtime: datetime | None,
    is_folder: bool = False,
    object_format: int | None = None,
) -> int:
    """SendObjectPropList (when available) or SendObjectInfo for a new object; returns its
    handle. Must be called inside ``op.turn()`` when a SendObject is to follow. Folders and
    size-0 files are complete afterwards (an empty SendObject follows SendObjectInfo for a
    file, as gphoto does, for devices that create the object only then)."""
    fmt = object_format
    if fmt is None:
        fmt = ObjectFormatCode.ASSOCIATION if is_folder else _format_for(name)
    store, dest = _dest_params(storage_id, parent)
    if op.conn.policy.send_prop_list:
        elements = [PropListElement(0, _P.OBJECT_FILE_NAME, DataType.STR, name)]
        if mtime is not None:
            elements.append(PropListElement(0, _P.DATE_MODIFIED, DataType.STR, _mtp_date(mtime)))
        if is_folder:
            elements.append(
                PropListElement(
                    0, _P.ASSOCIATION_TYPE, DataType.UINT16, AssociationType.GENERIC_FOLDER
                )
            )
        res = await op.run_held(
            _O.SEND_OBJECT_PROP_LIST,
            (store, dest, fmt, size >> 32, size & 0xFFFFFFFF),
            data=ObjectPropList(tuple(elements)).to_bytes(),
        )
        return res.params[2]
    info = ObjectInfo.for_size(
        size,
        storage_id=storage_id,
        object_format=fmt,
        association_type=AssociationType.GENERIC_FOLDER if is_folder else 0,
        filename=name,
        modification_date=_mtp_date(mtime),
    )
    res = await op.run_held(_O.SEND_OBJECT_INFO, (store, dest), data=info.to_bytes())
    handle = res.params[2]
    if size == 0 and not is_folder:
        await op.run_held(_O.SEND_OBJECT, (), data=b"")
    return handle


def _format_for(name: str) -> int:
    from openwpd.protocol.codes import format_for_filename

    return int(format_for_filename(name))


async def upload(
    op: OpScope,
    src: BinaryIO,
    size: int,
    storage_id: int,
    parent: int,
    name: str,
    *,
    mtime: datetime | None,
    progress: Progress | None = None,
    own_file: bool = False,
) -> int:
    """Upload ``size`` bytes from ``src`` as ``name`` into ``parent`` (0 = the root of
    ``storage_id``); returns the new object's handle. Nothing is left on a failure or cancel.

    ``own_file``: ``src`` is a regular file we opened ourselves; over a link that can (PTP/IP)
    its bytes then go to the socket with sendfile, with no copy through Python. (Not for a
    caller's file object: its ``fileno()`` need not be where its bytes come from.)"""
    source = _feeder(src, size, progress, own_file and op.conn.supports_file_slices)
    handle: int | None = None
    editing = False
    try:
        if op.conn.policy.windowed_upload:

            async def create_empty(scope: OpScope) -> int:
                nonlocal handle, editing
                async with scope.turn():
                    new = await create_object(scope, storage_id, parent, name, size=0, mtime=mtime)
                    handle = new
                    if size:
                        # In the same turn: nothing of ours comes between, so the device knows
                        # the empty file is a placeholder to delete if the session ends before
                        # the edit does. (editing first: a failed BeginEditObject may still
                        # have opened the edit.)
                        editing = True
                        await scope.run_held(_O.BEGIN_EDIT_OBJECT, (new,))
                    return new

            created, interrupted = await op.protected(create_empty)
            if interrupted is not None:
                raise interrupted
            if size:
                await _send_windows(op, created, size, source)
                editing = False
                await op.run(_O.END_EDIT_OBJECT, (created,))
                await _set_date_modified(op, created, mtime)
        else:

            async def create(scope: OpScope) -> int:
                return await create_object(scope, storage_id, parent, name, size=size, mtime=mtime)

            async with op.turn():
                # the turn is ours: SendObject must directly follow the object's creation
                created, interrupted = await op.protected(create)
                handle = created
                if interrupted is not None:
                    raise interrupted
                if size:
                    await op.run_held(_O.SEND_OBJECT, (), data=source(size), data_length=size)
    except BaseException:
        if handle is not None:
            # where edits work on a copy, deleting the object drops the edit with it: ending
            # it first would commit the partial data, left behind if we die before the delete
            end_edit = editing and not op.conn.policy.edits_on_copy
            await delete_quietly(op, handle, end_edit=end_edit)
        raise
    if progress is not None and size == 0:
        progress(0, 0)
    return created


def _feeder(
    src: BinaryIO, size: int, progress: Progress | None, sendfile: bool
) -> Callable[[int], Iterator[bytes | FileSlice]]:
    """``source(length)``: the next ``length`` bytes of ``src`` as data-phase pieces (file
    slices for sendfile when ``sendfile``), reporting ``progress(done, size)`` as they go."""
    done = 0

    def source(length: int) -> Iterator[bytes | FileSlice]:
        nonlocal done
        chunks: Iterator[bytes] | Iterator[FileSlice] = (
            _slices(src, length) if sendfile else _chunks(src, length)
        )
        for chunk in chunks:
            yield chunk
            done += chunk.length if isinstance(chunk, FileSlice) else len(chunk)
            if progress is not None:
                progress(done, size)

    return source


async def _send_windows(
    op: OpScope,
    handle: int,
    size: int,
    source: Callable[[int], Iterator[bytes | FileSlice]],
    start: int = 0,
) -> None:
    position, end = start, start + size
    while position < end:
        n = min(op.conn.window_for(op.owner), end - position)
        started = time.monotonic()
        await op.run(
            _O.SEND_PARTIAL_OBJECT,
            (handle, position & 0xFFFFFFFF, position >> 32, n),
            data=source(n),
            data_length=n,
        )
        op.conn.window_done(n, time.monotonic() - started)
        position += n


async def replace_data(
    op: OpScope,
    handle: int,
    src: BinaryIO,
    size: int,
    *,
    mtime: datetime | None,
    progress: Progress | None = None,
    own_file: bool = False,
) -> None:
    """Replace the data of file ``handle`` with ``size`` bytes from ``src`` in one edit:
    BeginEditObject, TruncateObject to 0, SendPartialObject windows, EndEditObject, then
    DateModified. Only for devices whose edits work on a copy (``policy.atomic_replace``): the
    object keeps its old data until EndEditObject, and an edit cut before it (a failed or
    cancelled window, the connection lost, either side killed) is thrown away by the device.
    An edit stopped between two windows stays open on the device until the session ends (MTP
    has no operation that aborts an edit); the object keeps its old data meanwhile."""
    source = _feeder(src, size, progress, own_file and op.conn.supports_file_slices)
    await op.run(_O.BEGIN_EDIT_OBJECT, (handle,))
    await op.run(_O.TRUNCATE_OBJECT, (handle, 0, 0))
    await _send_windows(op, handle, size, source)
    await op.run(_O.END_EDIT_OBJECT, (handle,))
    await _set_date_modified(op, handle, mtime)
    if progress is not None and size == 0:
        progress(0, 0)


async def edit_object(
    op: OpScope,
    handle: int,
    *,
    src: BinaryIO | None = None,
    offset: int = 0,
    size: int = 0,
    truncate: int | None = None,
    grow_to: int | None = None,
    mtime: datetime | None = None,
) -> None:
    """One edit of file ``handle``: BeginEditObject, TruncateObject to ``grow_to`` (when
    given: devices refuse writes that start past the end), ``size`` bytes of ``src`` written at
    ``offset`` in SendPartialObject windows, then TruncateObject to ``truncate`` (when given),
    EndEditObject, DateModified. The object keeps its handle and persistent unique ID.

    Where the device edits in place (Android) what was written before a failure or cancel
    stays written, and the edit is ended as a clean-up step no cancel stops, so it never stays
    open on the device (holding the object). Where edits work on a copy
    (``policy.edits_on_copy``) ending it would commit the partial copy: the edit is left for
    the device to drop (a cancelled window, or the end of the session)."""
    try:
        await op.run(_O.BEGIN_EDIT_OBJECT, (handle,))
    except ResponseError:
        raise  # refused: no edit was opened
    except BaseException:
        await _end_edit_quietly(op, handle)  # a cancelled BeginEditObject may have opened it
        raise
    try:
        if grow_to is not None:
            await op.run(_O.TRUNCATE_OBJECT, (handle, grow_to & 0xFFFFFFFF, grow_to >> 32))
        if size:
            assert src is not None
            await _send_windows(op, handle, size, _feeder(src, size, None, False), offset)
        if truncate is not None:
            await op.run(_O.TRUNCATE_OBJECT, (handle, truncate & 0xFFFFFFFF, truncate >> 32))
    except BaseException:
        await _end_edit_quietly(op, handle)
        raise
    try:
        await op.run(_O.END_EDIT_OBJECT, (handle,))
    except ResponseError:
        raise  # the device's verdict on the edit, which is over
    except BaseException:
        await _end_edit_quietly(op, handle)
        raise
    await _set_date_modified(op, handle, mtime)


async def _end_edit_quietly(op: OpScope, handle: int) -> None:
    """End an edit left open by a failed or cancelled in-place edit (see :func:`edit_object`);
    nothing where edits work on a copy."""
    if op.conn.policy.edits_on_copy:
        return
    cleanup = ProtectedScope(op)

    async def run() -> None:
        try:
            await cleanup.run(_O.END_EDIT_OBJECT, (handle,), check=False)
        except OpenWpdError as exc:
            log.warning("could not end the edit of 0x%08X: %s", handle, exc)

    await wait_quietly(asyncio.ensure_future(run()))


async def _set_date_modified(op: OpScope, handle: int, mtime: datetime | None) -> None:
    if mtime is None or not op.conn.supports(_O.SET_OBJECT_PROP_VALUE):
        return
    try:
        await op.run(
            _O.SET_OBJECT_PROP_VALUE,
            (handle, _P.DATE_MODIFIED),
            data=encode_value(DataType.STR, _mtp_date(mtime)),
        )
    except ResponseError as exc:
        log.info("could not set DateModified of 0x%08X: %s", handle, exc)


def encode_value(datatype: int, value: Value) -> bytes:
    """One property value in its wire encoding (LocalProtocolError if it does not fit)."""
    writer = Writer()
    write_value(writer, datatype, value)
    return writer.getvalue()


async def delete_quietly(op: OpScope, handle: int, *, end_edit: bool = False) -> None:
    """Delete ``handle`` as an internal cleanup step: not stopped by the handle's cancel (it
    runs in a task of its own, waited for even if we are cancelled meanwhile); a handle that is
    already gone is fine; other failures are logged (the session may be gone).

    ``end_edit``: an edit may still be open on the object; MTP has no "abort edit", so it is
    ended first (committing a partial copy that is deleted right after) rather than left open on
    the device, where it would hold the object and a copy of its data. An edit the device
    already aborted makes EndEditObject fail, which is fine."""
    cleanup = ProtectedScope(op)

    async def run() -> None:
        try:
            if end_edit:
                await cleanup.run(_O.END_EDIT_OBJECT, (handle,), check=False)
            await cleanup.run(_O.DELETE_OBJECT, (handle, 0))
        except ResponseError as exc:
            if exc.code != ResponseCode.INVALID_OBJECT_HANDLE:
                log.warning("could not delete the partial object 0x%08X: %s", handle, exc)
        except OpenWpdError as exc:
            log.warning("could not delete the partial object 0x%08X: %s", handle, exc)

    await wait_quietly(asyncio.ensure_future(run()))


__all__ = [
    "PART_SUFFIX",
    "Progress",
    "create_object",
    "delete_quietly",
    "download_to_path",
    "edit_object",
    "encode_value",
    "read_into",
    "remove_leftovers",
    "replace_data",
    "upload",
]
