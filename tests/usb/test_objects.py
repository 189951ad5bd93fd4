"""Content against umtprd over our UsbLink and TransactionRunner: listing storages and folders,
byte-identical downloads and uploads (sizes around the 512-byte packet boundary), mkdir,
delete, rename. The storage folder is also visible to the test directly, so every result is
checked on the device side too."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from usb_mtp import (
    children,
    download,
    find,
    object_info,
    ok,
    rename,
    send_info,
    storage_ids,
    upload,
)

from openwpd.client.wire import TransactionRunner
from openwpd.protocol.codes import AssociationType, ObjectFormatCode, OperationCode

# 512 - 12: the data container is exactly one packet (a ZLP follows); 1012: two packets; etc.
SIZES = [0, 1, 499, 500, 501, 1012, 4096, 100_000, 3 * 1024 * 1024 + 7]


async def test_list_folders_and_files(runner: TransactionRunner, folder: Path) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.txt").write_text("deep")
    names = ["a.txt", "Grüße ✓.txt", "space name.jpg", "x" * 120 + ".bin"]
    for i, name in enumerate(names):
        (folder / name).write_bytes(b"z" * i)
    storage = (await storage_ids(runner))[0]
    root = await children(runner, storage, 0)
    assert folder.name in root
    handle, info = root[folder.name]
    assert info.object_format == ObjectFormatCode.ASSOCIATION
    assert info.association_type == AssociationType.GENERIC_FOLDER
    listing = await children(runner, storage, handle)
    assert set(listing) == {*names, "sub"}
    for i, name in enumerate(names):
        assert listing[name][1].compressed_size == i
        assert listing[name][1].parent_object == handle
        assert listing[name][1].storage_id == storage
    sub = await children(runner, storage, listing["sub"][0])
    assert list(sub) == ["deep.txt"]


@pytest.mark.parametrize("size", SIZES)
async def test_download_is_byte_identical(
    runner: TransactionRunner, folder: Path, size: int
) -> None:
    payload = os.urandom(size)
    (folder / "f.bin").write_bytes(payload)
    storage = (await storage_ids(runner))[0]
    handle = await find(runner, storage, f"{folder.name}/f.bin")
    got = await download(runner, handle)
    assert len(got) == size
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()


async def test_partial_object_windows(runner: TransactionRunner, folder: Path) -> None:
    payload = os.urandom(200_000)
    (folder / "p.bin").write_bytes(payload)
    storage = (await storage_ids(runner))[0]
    handle = await find(runner, storage, f"{folder.name}/p.bin")
    parts = []
    for offset in range(0, len(payload), 65_536):
        res = await ok(runner, OperationCode.GET_PARTIAL_OBJECT, (handle, offset, 65_536))
        assert res.params[0] == len(res.data)
        parts.append(res.data)
    assert b"".join(parts) == payload


@pytest.mark.parametrize("size", SIZES)
async def test_upload_is_byte_identical(runner: TransactionRunner, folder: Path, size: int) -> None:
    payload = os.urandom(size)
    storage = (await storage_ids(runner))[0]
    parent = await find(runner, storage, folder.name)
    handle = await upload(runner, storage, parent, "up.bin", payload)
    assert (folder / "up.bin").read_bytes() == payload
    assert (await object_info(runner, handle)).compressed_size == size
    assert await download(runner, handle) == payload


async def test_upload_streamed_from_an_iterator(runner: TransactionRunner, folder: Path) -> None:
    chunks = [os.urandom(n) for n in (1, 511, 512, 513, 70_000, 12)]
    storage = (await storage_ids(runner))[0]
    parent = await find(runner, storage, folder.name)
    await upload(runner, storage, parent, "it.bin", iter(chunks), sum(map(len, chunks)))
    assert (folder / "it.bin").read_bytes() == b"".join(chunks)


async def test_mkdir_delete_rename(runner: TransactionRunner, folder: Path) -> None:
    storage = (await storage_ids(runner))[0]
    parent = await find(runner, storage, folder.name)
    made = await send_info(runner, storage, parent, "made dir", 0, folder=True)
    assert (folder / "made dir").is_dir()
    inner = await upload(runner, storage, made, "inner.txt", b"inside")
    assert (folder / "made dir" / "inner.txt").read_bytes() == b"inside"
    await rename(runner, inner, "renamed ✓.txt")
    assert (folder / "made dir" / "renamed ✓.txt").read_bytes() == b"inside"
    assert not (folder / "made dir" / "inner.txt").exists()
    assert (await object_info(runner, inner)).filename == "renamed ✓.txt"
    await ok(runner, OperationCode.DELETE_OBJECT, (inner,))
    assert not (folder / "made dir" / "renamed ✓.txt").exists()
    await ok(runner, OperationCode.DELETE_OBJECT, (made,))
    assert not (folder / "made dir").exists()
    assert "made dir" not in await children(runner, storage, parent)
