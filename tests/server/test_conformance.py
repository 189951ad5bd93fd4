"""Conformance of the virtual device with the session and transaction rules (PTP):
operations outside a session, OpenSession, transaction IDs, unknown operations, malformed
datasets and hostile names in SendObjectInfo, read-only and full storages.

Packets are written by hand through :mod:`ptpip_raw` wherever a well-behaved initiator could not
produce the traffic (wrong transaction IDs, hand-made PTP strings); the well-behaved cases use
the transaction runner.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import (
    ALL,
    AccessCapability,
    AssociationType,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import DeviceInfo, ObjectInfo, StorageInfo, parse_uint32_array
from openwpd.server.device import StorageSpec, VirtualDevice
from ptpip_raw import RawInitiator
from support import connect, nameless_files

PHONE = 0x00010001
ARCHIVE = 0x00020001
ROOT = ALL  # "the root" as an operation parameter (ObjectInfo says 0 instead)

#: What a refused name may be answered with: a precise code, never OK or GeneralError.
NAME_REFUSALS = {ResponseCode.INVALID_PARAMETER, ResponseCode.INVALID_DATASET}
WRITE_REFUSALS = {ResponseCode.STORE_READ_ONLY, ResponseCode.ACCESS_DENIED}


def tree(root: Path) -> set[str]:
    """Every entry under ``root`` (hidden temp files included), as relative paths."""
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


async def handle_of(runner: TransactionRunner, name: str, storage: int = ALL) -> int:
    res = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (storage, 0, 0))
    assert res.code == ResponseCode.OK
    for handle in parse_uint32_array(res.data):
        info = await runner.transact(OperationCode.GET_OBJECT_INFO, (handle,))
        if ObjectInfo.from_bytes(info.data).filename == name:
            return handle
    raise AssertionError(f"{name!r} not found")


async def expect_working(runner: TransactionRunner) -> None:
    res = await runner.transact(OperationCode.GET_STORAGE_IDS)
    assert res.code == ResponseCode.OK
    assert PHONE in parse_uint32_array(res.data)


# -- sessions -------------------------------------------------------------------------------


@pytest.fixture
async def raw(device: tuple[VirtualDevice, int]) -> AsyncIterator[RawInitiator]:
    r = await RawInitiator.connect(device[1])
    try:
        yield r
    finally:
        await r.close()


async def test_outside_a_session_only_device_info_and_open_session(
    raw: RawInitiator, device: tuple[VirtualDevice, int]
) -> None:
    reply = await raw.transact(OperationCode.GET_DEVICE_INFO, 0)
    assert reply.code == ResponseCode.OK
    info = DeviceInfo.from_bytes(reply.data)
    assert info.manufacturer == "openwpd"
    # every other supported operation: SessionNotOpen, even those with a data phase (drained)
    for code in info.operations_supported:
        if code in (OperationCode.GET_DEVICE_INFO, OperationCode.OPEN_SESSION):
            continue
        data = b"\x00" * 300 if code in _DATA_OUT else None
        reply = await raw.transact(code, 0, (1, 0, 0), data)
        assert reply.code == ResponseCode.SESSION_NOT_OPEN, f"0x{code:04X}"
        assert reply.data == b""
    assert await _open(raw, 1) == ResponseCode.OK
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 1)).code == ResponseCode.OK


_DATA_OUT = {
    OperationCode.SEND_OBJECT_INFO,
    OperationCode.SEND_OBJECT,
    OperationCode.SET_DEVICE_PROP_VALUE,
    OperationCode.SET_OBJECT_PROP_VALUE,
    OperationCode.SET_OBJECT_PROP_LIST,
    OperationCode.SEND_OBJECT_PROP_LIST,
    OperationCode.SET_OBJECT_REFERENCES,
    OperationCode.SEND_PARTIAL_OBJECT,
    OperationCode.SET_SERVICE_PROP_LIST,
    OperationCode.DELETE_SERVICE_PROP_LIST,
    OperationCode.DELETE_OBJECT_PROP_LIST,
    OperationCode.UPDATE_OBJECT_PROP_LIST,
}


async def _open(raw: RawInitiator, session_id: int, tid: int = 0) -> int:
    reply = await raw.transact(OperationCode.OPEN_SESSION, tid, (session_id,))
    return reply.code


async def test_open_session_twice_answers_already_open_with_the_session_id(
    raw: RawInitiator,
) -> None:
    assert await _open(raw, 7) == ResponseCode.OK
    reply = await raw.transact(OperationCode.OPEN_SESSION, 0, (9,))
    assert reply.code == ResponseCode.SESSION_ALREADY_OPEN
    assert reply.params[:1] == (7,)
    # still the same session, still usable
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 1)).code == ResponseCode.OK


async def test_session_id_zero_is_invalid_and_opens_nothing(raw: RawInitiator) -> None:
    assert await _open(raw, 0) == ResponseCode.INVALID_PARAMETER
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 0)).code == (
        ResponseCode.SESSION_NOT_OPEN
    )
    assert await _open(raw, 1) == ResponseCode.OK


async def test_close_session_then_reopen(raw: RawInitiator) -> None:
    assert await _open(raw, 1) == ResponseCode.OK
    assert (await raw.transact(OperationCode.CLOSE_SESSION, 1)).code == ResponseCode.OK
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 0)).code == (
        ResponseCode.SESSION_NOT_OPEN
    )
    assert await _open(raw, 2) == ResponseCode.OK
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 1)).code == ResponseCode.OK


# -- transaction IDs ------------------------------------------------------------------------


async def test_wrong_transaction_ids_are_refused_and_do_nothing(
    raw: RawInitiator, served: Path
) -> None:
    (served / "victim.txt").write_text("still here")
    assert await _open(raw, 1) == ResponseCode.OK
    reply = await raw.transact(OperationCode.GET_OBJECT_HANDLES, 1, (PHONE, 0, ROOT))
    assert reply.code == ResponseCode.OK
    (victim,) = parse_uint32_array(reply.data)
    # expected 2: a jump ahead, a repeat and 0 are all refused, and the operation is not run
    for bad in (5, 5, 0):
        reply = await raw.transact(OperationCode.DELETE_OBJECT, bad, (victim,))
        assert reply.code == ResponseCode.INVALID_TRANSACTION_ID, bad
        assert (served / "victim.txt").exists()
    # a refused request with a data phase has its data drained; nothing is created
    reply = await raw.transact(
        OperationCode.SEND_OBJECT_INFO,
        3,
        (PHONE, ROOT),
        ObjectInfo(
            object_format=ObjectFormatCode.TEXT, compressed_size=4, filename="x.txt"
        ).to_bytes(),
    )
    assert reply.code == ResponseCode.INVALID_TRANSACTION_ID
    # the device follows the initiator's count: the next ID after the last one it saw works
    reply = await raw.transact(OperationCode.GET_OBJECT_INFO, 4, (victim,))
    assert reply.code == ResponseCode.OK
    assert ObjectInfo.from_bytes(reply.data).filename == "victim.txt"
    reply = await raw.transact(OperationCode.GET_OBJECT, 5, (victim,))
    assert (reply.code, reply.data) == (ResponseCode.OK, b"still here")
    assert tree(served) == {"victim.txt"}


async def test_transaction_id_wraps_from_ffffffff_to_1(raw: RawInitiator) -> None:
    assert await _open(raw, 1) == ResponseCode.OK
    last = 0xFFFFFFFF
    # jump (refused) so that the device expects ...FFFF next
    reply = await raw.transact(OperationCode.GET_STORAGE_IDS, last - 1)
    assert reply.code == ResponseCode.INVALID_TRANSACTION_ID
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, last)).code == ResponseCode.OK
    # 0 is skipped on wrap-around (PTP)
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 0)).code == (
        ResponseCode.INVALID_TRANSACTION_ID
    )
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 1)).code == ResponseCode.OK
    assert (await raw.transact(OperationCode.GET_STORAGE_IDS, 2)).code == ResponseCode.OK


# -- unknown operations ---------------------------------------------------------------------


async def test_unsupported_operations(runner: TransactionRunner) -> None:
    info = DeviceInfo.from_bytes((await runner.transact(OperationCode.GET_DEVICE_INFO)).data)
    supported = set(info.operations_supported)
    assert OperationCode.GET_OBJECT in supported
    unsupported = [c for c in OperationCode if c not in supported and c not in _DATA_OUT]
    assert OperationCode.INITIATE_CAPTURE in unsupported
    not_a_code = next(c for c in range(0x9FFF, 0x9000, -1) if c not in set(OperationCode))
    for code in [*unsupported, not_a_code]:
        res = await runner.transact(code, (1, 2, 3))
        assert res.code == ResponseCode.OPERATION_NOT_SUPPORTED, f"0x{code:04X}"
    await expect_working(runner)


# -- SendObjectInfo: malformed datasets and hostile names -----------------------------------


def object_info_head(fmt: int = ObjectFormatCode.UNDEFINED, size: int = 5) -> bytes:
    """The 52-byte fixed part of an ObjectInfo (PTP), built with the library and cut off
    before the Filename string."""
    assoc = AssociationType.GENERIC_FOLDER if fmt == ObjectFormatCode.ASSOCIATION else 0
    whole = ObjectInfo(
        object_format=fmt, compressed_size=size, association_type=assoc, filename="x"
    ).to_bytes()
    head = whole[:52]
    assert whole[52:57] == b"\x02x\x00\x00\x00"  # count 2, 'x', NUL: the string starts at 52
    return head


def ptp_string(units: bytes, count: int | None = None) -> bytes:
    """A PTP string written by hand: u8 count, then the UTF-16LE units as given."""
    n = len(units) // 2 if count is None else count
    return bytes([n]) + units


def u16le(text: str) -> bytes:
    return text.encode("utf-16-le", errors="surrogatepass")


GARBAGE_DATASETS = {
    "empty": b"",
    "ten random bytes": bytes(range(10)),
    "head only": object_info_head(),
    "filename count beyond the data": object_info_head() + bytes([200]) + u16le("abc"),
    "empty filename": object_info_head() + b"\x00\x00\x00\x00",
    "filename of only a NUL": object_info_head() + ptp_string(b"\x00\x00") + b"\x00" * 3,
}


@pytest.mark.parametrize("dataset", GARBAGE_DATASETS.values(), ids=GARBAGE_DATASETS.keys())
async def test_garbage_object_info_is_invalid_dataset_and_creates_nothing(
    runner: TransactionRunner, served: Path, dataset: bytes
) -> None:
    res = await runner.transact(OperationCode.SEND_OBJECT_INFO, (PHONE, ROOT), data=dataset)
    assert res.code == ResponseCode.INVALID_DATASET
    # no upload is pending: SendObject has nothing to fill
    res = await runner.transact(OperationCode.SEND_OBJECT, data=b"hello")
    assert res.code == ResponseCode.NO_VALID_OBJECT_INFO
    assert tree(served) == set()
    await expect_working(runner)


async def test_oversized_object_info_is_drained_and_refused(
    runner: TransactionRunner, served: Path
) -> None:
    info = ObjectInfo(compressed_size=3, filename="big.txt").to_bytes()
    res = await runner.transact(
        OperationCode.SEND_OBJECT_INFO, (PHONE, ROOT), data=info + b"\x00" * (2 << 20)
    )
    assert res.code == ResponseCode.INVALID_DATASET
    assert tree(served) == set()
    await expect_working(runner)


HOSTILE_NAMES = [
    pytest.param(u16le(".") + b"\x00\x00", id="dot"),
    pytest.param(u16le("..") + b"\x00\x00", id="dotdot"),
    pytest.param(u16le("a/b") + b"\x00\x00", id="slash"),
    pytest.param(u16le("../escape.txt") + b"\x00\x00", id="escape"),
    pytest.param(u16le("/tmp/abs.txt") + b"\x00\x00", id="absolute"),
    pytest.param(u16le("a\x00b.txt") + b"\x00\x00", id="nul inside"),
    pytest.param(u16le("n" * 255), id="255 units, no terminator"),
    pytest.param(u16le("bad\ud800.txt") + b"\x00\x00", id="lone high surrogate"),
    pytest.param(u16le("\udc00") + b"\x00\x00", id="lone low surrogate"),
    pytest.param(u16le(".openwpd-upload-0123.part") + b"\x00\x00", id="temp-file pattern"),
]


@pytest.mark.parametrize("folder", [False, True], ids=["file", "folder"])
@pytest.mark.parametrize("units", HOSTILE_NAMES)
async def test_hostile_names_are_refused_and_nothing_is_written(
    runner: TransactionRunner, served: Path, tmp_path: Path, units: bytes, folder: bool
) -> None:
    fmt = ObjectFormatCode.ASSOCIATION if folder else ObjectFormatCode.TEXT
    dataset = object_info_head(fmt, 0 if folder else 5) + ptp_string(units) + b"\x00" * 3
    outside = tree(tmp_path)
    res = await runner.transact(OperationCode.SEND_OBJECT_INFO, (PHONE, ROOT), data=dataset)
    assert res.code in NAME_REFUSALS, ResponseCode(res.code).name
    if not folder:
        res = await runner.transact(OperationCode.SEND_OBJECT, data=b"hello")
        assert res.code == ResponseCode.NO_VALID_OBJECT_INFO
    assert tree(served) == set()
    assert tree(tmp_path) == outside
    await expect_working(runner)


async def test_longest_legal_name_is_accepted(runner: TransactionRunner, served: Path) -> None:
    # 254 units + NUL = count 255, the PTP maximum: the control for the cases above
    name = "n" * 250 + ".txt"
    dataset = object_info_head(ObjectFormatCode.TEXT, 2) + ptp_string(u16le(name) + b"\x00\x00")
    dataset += b"\x00" * 3
    res = await runner.transact(OperationCode.SEND_OBJECT_INFO, (PHONE, ROOT), data=dataset)
    assert res.code == ResponseCode.OK
    res = await runner.transact(OperationCode.SEND_OBJECT, data=b"ok")
    assert res.code == ResponseCode.OK
    assert (served / name).read_bytes() == b"ok"


# -- read-only and full storages ------------------------------------------------------------


@pytest.fixture
async def two_storages(served: Path, tmp_path: Path) -> AsyncIterator[tuple[Path, Path, int]]:
    """ "Phone" (read-write, ``served``) and "Archive" (read-only), with a few files."""
    archive = tmp_path / "archive"
    (archive / "folder").mkdir(parents=True)
    (archive / "old.txt").write_text("old")
    (archive / "folder" / "deep.txt").write_text("deep")
    (served / "mine.txt").write_text("mine")
    (served / "dir").mkdir()
    dev = VirtualDevice(
        [StorageSpec(served, "Phone"), StorageSpec(archive, "Archive", read_only=True)],
        state_dir=tmp_path / "state",
    )
    _, port = await dev.serve("127.0.0.1", 0)
    try:
        yield served, archive, port
    finally:
        await dev.aclose()


async def test_read_only_storage_refuses_every_write(
    two_storages: tuple[Path, Path, int],
) -> None:
    served, archive, port = two_storages
    runner = await connect(port)
    try:
        before_archive, before_served = tree(archive), tree(served)
        res = await runner.transact(OperationCode.GET_STORAGE_INFO, (ARCHIVE,))
        info = StorageInfo.from_bytes(res.data)
        assert info.access_capability == AccessCapability.READ_ONLY_WITHOUT_OBJECT_DELETION
        assert info.free_space_in_bytes == 0
        old = await handle_of(runner, "old.txt", ARCHIVE)
        folder = await handle_of(runner, "folder", ARCHIVE)
        mine = await handle_of(runner, "mine.txt", PHONE)
        rw_dir = await handle_of(runner, "dir", PHONE)

        async def refused(code: int, params: tuple[int, ...], data: bytes | None = None) -> None:
            res = await runner.transact(code, params, data=data)
            assert res.code in WRITE_REFUSALS, (OperationCode(code).name, ResponseCode(res.code))

        new_file = ObjectInfo(
            object_format=ObjectFormatCode.TEXT, compressed_size=3, filename="n.txt"
        )
        new_dir = ObjectInfo(
            object_format=ObjectFormatCode.ASSOCIATION,
            association_type=AssociationType.GENERIC_FOLDER,
            filename="newdir",
        )
        for parent in (ROOT, folder):
            await refused(OperationCode.SEND_OBJECT_INFO, (ARCHIVE, parent), new_file.to_bytes())
            res = await runner.transact(OperationCode.SEND_OBJECT, data=b"abc")
            assert res.code == ResponseCode.NO_VALID_OBJECT_INFO
            await refused(OperationCode.SEND_OBJECT_INFO, (ARCHIVE, parent), new_dir.to_bytes())
        await refused(OperationCode.DELETE_OBJECT, (old,))
        await refused(OperationCode.DELETE_OBJECT, (folder,))
        await refused(OperationCode.MOVE_OBJECT, (old, PHONE, ROOT))  # out of the archive
        await refused(OperationCode.MOVE_OBJECT, (mine, ARCHIVE, ROOT))  # into it
        await refused(OperationCode.COPY_OBJECT, (mine, ARCHIVE, folder))
        supported = set(
            DeviceInfo.from_bytes(
                (await runner.transact(OperationCode.GET_DEVICE_INFO)).data
            ).operations_supported
        )
        if OperationCode.SET_OBJECT_PROP_VALUE in supported:
            await refused(
                OperationCode.SET_OBJECT_PROP_VALUE,
                (old, ObjectPropCode.OBJECT_FILE_NAME),
                ptp_string(u16le("renamed.txt") + b"\x00\x00"),
            )
        if OperationCode.BEGIN_EDIT_OBJECT in supported:
            # Android edits: the refusal comes at BeginEditObject; without an open edit,
            # SendPartialObject and TruncateObject must fail too and change nothing
            await refused(OperationCode.BEGIN_EDIT_OBJECT, (old,))
            res = await runner.transact(OperationCode.SEND_PARTIAL_OBJECT, (old, 0, 0), data=b"zz")
            assert res.code != ResponseCode.OK
            res = await runner.transact(OperationCode.TRUNCATE_OBJECT, (old, 0, 0))
            assert res.code != ResponseCode.OK
        assert tree(archive) == before_archive
        assert tree(served) == before_served
        # reading from it and copying out of it are fine
        res = await runner.transact(OperationCode.GET_OBJECT, (old,))
        assert (res.code, res.data) == (ResponseCode.OK, b"old")
        res = await runner.transact(OperationCode.COPY_OBJECT, (old, PHONE, rw_dir))
        assert res.code == ResponseCode.OK
        assert (served / "dir" / "old.txt").read_text() == "old"
        assert (archive / "old.txt").read_text() == "old"
    finally:
        await runner.aclose()


async def test_delete_all_spares_the_read_only_storage(
    two_storages: tuple[Path, Path, int],
) -> None:
    _, archive, port = two_storages
    before_archive = tree(archive)
    runner = await connect(port)
    try:
        res = await runner.transact(OperationCode.DELETE_OBJECT, (ALL, 0))
        assert res.code in {ResponseCode.PARTIAL_DELETION, *WRITE_REFUSALS}
        assert tree(archive) == before_archive
    finally:
        await runner.aclose()


def shrink_free_space(device: VirtualDevice, leave: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the storage report ``leave`` free bytes, through its reserve (store/storage.py).

    Other programs on this machine create and delete big files all the time, and a reserve
    computed from the real, moving free-space figure lets an upload through whenever someone
    frees more than the test sends. So the disk the storage sees is one only this test writes
    to: the figures of a snapshot, less what is in the served folder now (temp files included).
    """
    (storage,) = device.store.storages
    root = storage.root
    snapshot = shutil.disk_usage(root)

    def usage(_path: object) -> object:
        written = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        written += sum(nameless_files(root).values())  # O_TMPFILE temp files
        return type(snapshot)(snapshot.total, snapshot.used + written, snapshot.free - written)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    storage.reserve_bytes = max(0, snapshot.free - leave)


async def test_full_storage_refuses_announced_size(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    served: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shrink_free_space(device[0], 1 << 20, monkeypatch)
    res = await runner.transact(OperationCode.GET_STORAGE_INFO, (PHONE,))
    assert StorageInfo.from_bytes(res.data).free_space_in_bytes <= 1 << 20
    # 3 GiB announced: far more than is left
    info = ObjectInfo(
        object_format=ObjectFormatCode.UNDEFINED, compressed_size=3 << 30, filename="huge.bin"
    )
    res = await runner.transact(OperationCode.SEND_OBJECT_INFO, (PHONE, ROOT), data=info.to_bytes())
    assert res.code == ResponseCode.STORE_FULL
    res = await runner.transact(OperationCode.SEND_OBJECT, data=b"x" * 100)
    assert res.code == ResponseCode.NO_VALID_OBJECT_INFO
    assert tree(served) == set()
    # a small file still fits
    info = ObjectInfo(object_format=ObjectFormatCode.TEXT, compressed_size=5, filename="small.txt")
    res = await runner.transact(OperationCode.SEND_OBJECT_INFO, (PHONE, ROOT), data=info.to_bytes())
    assert res.code == ResponseCode.OK
    assert (await runner.transact(OperationCode.SEND_OBJECT, data=b"small")).code == ResponseCode.OK
    assert (served / "small.txt").read_bytes() == b"small"


async def test_full_storage_while_streaming_unknown_size(
    runner: TransactionRunner,
    device: tuple[VirtualDevice, int],
    served: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shrink_free_space(device[0], 1 << 20, monkeypatch)
    # size 0xFFFFFFFF: "not known" (PTP), so the device only finds out while writing
    info = ObjectInfo(compressed_size=0xFFFFFFFF, filename="stream.bin")
    res = await runner.transact(OperationCode.SEND_OBJECT_INFO, (PHONE, ROOT), data=info.to_bytes())
    assert res.code == ResponseCode.OK
    res = await runner.transact(OperationCode.SEND_OBJECT, data=os.urandom(64 << 20))
    assert res.code == ResponseCode.STORE_FULL
    assert tree(served) == set()
    await expect_working(runner)
