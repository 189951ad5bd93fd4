"""What an upload leaves when it does not finish: placeholders and temp files.

In the store: what a device records while a transfer runs (placeholders, hidden temp files) is
removed by the next store opened on the same state directory -- a placeholder only while it is
still the file recorded. In the session: a file created empty is deleted when its session ends
before its data came, and kept when it was a real empty file (the session went on).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from openwpd.protocol.codes import ALL, ObjectFormatCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import ObjectInfo
from openwpd.server.device import VirtualDevice
from openwpd.server.store import ROOT, ObjectStore, tempfiles
from support import connect

PHONE = 0x00010001


def everything(root: Path) -> list[str]:
    """Every entry below root, hidden ones included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def handle_of(store: ObjectStore, sid: int, name: str) -> int:
    return next(o.handle for o in store.children(sid) if o.name == name)


@pytest.fixture
def named_temps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hidden temp files, as where the OS has no nameless ones."""
    monkeypatch.setitem(tempfiles._probed, "linkable", False)


def test_hidden_temp_files_of_a_killed_device_are_removed_at_the_next_start(
    served: Path, tmp_path: Path, named_temps: None
) -> None:
    (served / "a.txt").write_bytes(b"old")
    (served / "sub").mkdir()
    # named like ours but not recorded: not ours to remove (another device's, say)
    (served / ".openwpd-upload-0123456789abcdef.part").write_bytes(b"someone's")
    first = ObjectStore(state_dir=tmp_path / "state")
    sid = first.add_storage(served, "Phone").id
    upload = first.begin_create(sid, ROOT, "new.bin", 6)
    upload.write(b"abc")
    edit = first.open_for_edit(handle_of(first, sid, "a.txt"))
    edit.write_at(0, b"xyz")
    sub = handle_of(first, sid, "sub")
    nested = first.begin_create(sid, sub, "deep.bin", 3)
    nested.write(b"d")
    hidden = [n for n in everything(served) if os.path.basename(n).startswith(".openwpd-")]
    assert len(hidden) == 4
    first.close()  # the device dies: no transfer is aborted, nothing is cleaned up

    second = ObjectStore(state_dir=tmp_path / "state")
    second.add_storage(served, "Phone")
    assert everything(served) == [".openwpd-upload-0123456789abcdef.part", "a.txt", "sub"]
    assert (served / "a.txt").read_bytes() == b"old"
    second.close()
    for transfer in (upload, edit, nested):
        assert transfer._temp is not None
        transfer._temp.close()


def test_finished_transfers_leave_no_record(
    served: Path, tmp_path: Path, named_temps: None
) -> None:
    first = ObjectStore(state_dir=tmp_path / "state")
    sid = first.add_storage(served, "Phone").id
    upload = first.begin_create(sid, ROOT, "kept.bin", 2)
    upload.write(b"ok")
    upload.commit()
    edit = first.open_for_edit(handle_of(first, sid, "kept.bin"))
    edit.write_at(0, b"OK")
    edit.commit()
    assert first._state.leftovers(str(served.resolve())) == []
    first.close()


def test_placeholders_of_a_killed_device_go_only_while_they_are_ours(
    served: Path, tmp_path: Path
) -> None:
    first = ObjectStore(state_dir=tmp_path / "state")
    sid = first.add_storage(served, "Phone").id
    for name in ("untouched", "written", "touched", "settled", "renamed"):
        handle = first.begin_create(sid, ROOT, name, 0).commit().handle
        first.mark_placeholder(handle)
    first.settle_placeholder(handle_of(first, sid, "settled"))
    first.rename(handle_of(first, sid, "renamed"), "renamed-too")
    first.close()  # killed
    # other programs, while no device ran
    with open(served / "written", "ab") as f:
        f.write(b"their data")
    os.utime(served / "touched", ns=(1_000_000_000, 1_000_000_000))

    second = ObjectStore(state_dir=tmp_path / "state")
    second.add_storage(served, "Phone")
    assert everything(served) == ["settled", "touched", "written"]
    assert (served / "written").read_bytes() == b"their data"
    assert second._state.leftovers(str(served.resolve())) == []
    second.close()


def test_a_recorded_path_through_a_symlink_is_not_followed(
    served: Path, tmp_path: Path, named_temps: None
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (served / "sub").mkdir()
    first = ObjectStore(state_dir=tmp_path / "state")
    sid = first.add_storage(served, "Phone").id
    upload = first.begin_create(sid, handle_of(first, sid, "sub"), "x.bin", 1)
    assert upload._temp is not None and upload._temp.path is not None
    temp_name = upload._temp.path.name
    first.close()
    # another program swaps the folder for a link to a folder outside holding that name
    upload._temp.close()
    os.unlink(served / "sub" / temp_name)
    os.rmdir(served / "sub")
    (outside / temp_name).write_bytes(b"outside")
    os.symlink(outside, served / "sub")

    second = ObjectStore(state_dir=tmp_path / "state")
    second.add_storage(served, "Phone")
    assert (outside / temp_name).read_bytes() == b"outside"
    second.close()


# -- sessions ----------------------------------------------------------------------------------


def info(name: str, size: int) -> bytes:
    return ObjectInfo(
        object_format=ObjectFormatCode.UNDEFINED, compressed_size=size, filename=name
    ).to_bytes()


async def sessions_gone(dev: VirtualDevice) -> None:
    async with asyncio.timeout(10):
        while dev.sessions:
            await asyncio.sleep(0.01)


async def create_empty(runner, name: str) -> int:  # type: ignore[no-untyped-def]
    res = await runner.transact(OperationCode.SEND_OBJECT_INFO, (PHONE, ALL), data=info(name, 0))
    assert res.code == ResponseCode.OK
    assert (await runner.transact(OperationCode.SEND_OBJECT, (), data=b"")).code == ResponseCode.OK
    return int(res.params[2])


async def test_an_empty_file_whose_session_went_on_is_kept(
    device: tuple[VirtualDevice, int], served: Path
) -> None:
    dev, port = device
    runner = await connect(port)
    handle = await create_empty(runner, "empty.txt")
    res = await runner.transact(OperationCode.GET_OBJECT_INFO, (handle,))
    assert res.code == ResponseCode.OK
    closing = await connect(port)
    await create_empty(closing, "closed.txt")
    assert (await closing.transact(OperationCode.CLOSE_SESSION)).code == ResponseCode.OK
    await runner.aclose()
    await closing.aclose()
    await sessions_gone(dev)
    assert everything(served) == ["closed.txt", "empty.txt"]


async def test_a_placeholder_whose_session_ends_is_deleted(
    device: tuple[VirtualDevice, int], served: Path
) -> None:
    dev, port = device
    runner = await connect(port)
    await create_empty(runner, "dropped-at-once.bin")
    other = await connect(port)
    handle = await create_empty(other, "dropped-mid-edit.bin")
    ok = ResponseCode.OK
    assert (await other.transact(OperationCode.BEGIN_EDIT_OBJECT, (handle,))).code == ok
    res = await other.transact(
        OperationCode.SEND_PARTIAL_OBJECT, (handle, 0, 0, 4), data=b"part", data_length=4
    )
    assert res.code == ok
    assert everything(served) == ["dropped-at-once.bin", "dropped-mid-edit.bin"]
    await runner.aclose()
    await other.aclose()
    await sessions_gone(dev)
    assert everything(served) == []
    assert dev.store._state.leftovers(str(served.resolve())) == []


async def test_a_filled_placeholder_stays_and_one_written_by_another_program_too(
    device: tuple[VirtualDevice, int], served: Path
) -> None:
    dev, port = device
    runner = await connect(port)
    ok = ResponseCode.OK
    filled = await create_empty(runner, "filled.bin")
    assert (await runner.transact(OperationCode.BEGIN_EDIT_OBJECT, (filled,))).code == ok
    res = await runner.transact(
        OperationCode.SEND_PARTIAL_OBJECT, (filled, 0, 0, 4), data=b"data", data_length=4
    )
    assert res.code == ok
    assert (await runner.transact(OperationCode.END_EDIT_OBJECT, (filled,))).code == ok
    theirs = await create_empty(runner, "theirs.bin")
    assert (await runner.transact(OperationCode.BEGIN_EDIT_OBJECT, (theirs,))).code == ok
    (served / "theirs.bin").write_bytes(b"another program's")
    await runner.aclose()
    await sessions_gone(dev)
    assert everything(served) == ["filled.bin", "theirs.bin"]
    assert (served / "filled.bin").read_bytes() == b"data"
    assert (served / "theirs.bin").read_bytes() == b"another program's"
