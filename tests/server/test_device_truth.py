"""The device tells the truth quickly: what a client set survives a restart, the PTP "all
formats" wildcard lists everything, and a name another program just freed is free at once."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pytest

from openwpd.client.wire import TransactionRunner
from openwpd.protocol import ptpip
from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import (
    ALL,
    DevicePropCode,
    InitFailReason,
    OperationCode,
    ResponseCode,
)
from openwpd.protocol.datasets import parse_uint32_array
from openwpd.protocol.datatypes import read_string, write_string
from openwpd.server.device import StorageSpec, VirtualDevice
from ptpip_raw import Conn, RawInitiator
from support import connect

OP = OperationCode


def _str(text: str) -> bytes:
    w = Writer()
    write_string(w, text)
    return w.getvalue()


async def _get_str(runner: TransactionRunner, code: int) -> str:
    res = await runner.transact(OP.GET_DEVICE_PROP_VALUE, (code,))
    assert res.code == ResponseCode.OK
    return read_string(Reader(res.data))


async def test_names_a_client_sets_survive_a_restart(served: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    name, partner = DevicePropCode.DEVICE_FRIENDLY_NAME, DevicePropCode.SYNCHRONIZATION_PARTNER
    dev = VirtualDevice([StorageSpec(served, "Phone")], state_dir=state, friendly_name="factory")
    _, port = await dev.serve("127.0.0.1", 0)
    runner = await connect(port)
    try:
        for code, text in ((name, "Ada's phone"), (partner, "Photos backup")):
            res = await runner.transact(OP.SET_DEVICE_PROP_VALUE, (code,), data=_str(text))
            assert res.code == ResponseCode.OK
    finally:
        await runner.aclose()
        await dev.aclose()

    dev = VirtualDevice([StorageSpec(served, "Phone")], state_dir=state, friendly_name="factory")
    _, port = await dev.serve("127.0.0.1", 0)
    runner = await connect(port)
    try:
        assert await _get_str(runner, name) == "Ada's phone" == dev.friendly_name
        assert await _get_str(runner, partner) == "Photos backup"
        # a reset goes back to the factory default, and forgets the saved value
        res = await runner.transact(OP.RESET_DEVICE_PROP_VALUE, (name,))
        assert res.code == ResponseCode.OK
    finally:
        await runner.aclose()
        await dev.aclose()

    dev = VirtualDevice([StorageSpec(served, "Phone")], state_dir=state, friendly_name="factory")
    try:
        assert dev.friendly_name == "factory"
        assert dev.properties.value(partner) == "Photos backup"
    finally:
        await dev.aclose()


async def test_all_formats_wildcard(served: Path, runner: TransactionRunner) -> None:
    (served / "a.jpg").write_bytes(b"x")
    (served / "b.txt").write_bytes(b"y")
    (served / "DCIM").mkdir()
    (served / "DCIM" / "c.png").write_bytes(b"z")
    for parent in (0xFFFFFFFF, 0):
        res = await runner.transact(OP.GET_OBJECT_HANDLES, (ALL, 0, parent))
        every = parse_uint32_array(res.data)
        res = await runner.transact(OP.GET_OBJECT_HANDLES, (ALL, 0xFFFFFFFF, parent))
        assert res.code == ResponseCode.OK
        assert sorted(parse_uint32_array(res.data)) == sorted(every)
        assert len(every) == (3 if parent else 4)
        res = await runner.transact(OP.GET_NUM_OBJECTS, (ALL, 0xFFFFFFFF, parent))
        assert res.params[0] == len(every)


async def test_a_malformed_connection_request_gets_init_fail_with_a_reason(
    device: tuple[VirtualDevice, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openwpd.transport.ptpip")
    conn = await Conn.open(device[1])
    try:
        # an Init Command Request cut after its GUID: no name, no version
        body = bytes(16)
        await conn.send(struct.pack("<II", 8 + len(body), 1) + body)
        assert await conn.recv() == ptpip.InitFail(InitFailReason.UNSPECIFIED)
        await conn.wait_closed_by_peer()
    finally:
        await conn.close()
    assert "connection request from 127.0.0.1 refused" in caplog.text
    assert "friendly name" in caplog.text
    raw = await RawInitiator.connect(device[1])  # the device still takes others
    await raw.close()


async def test_a_protocol_violation_is_named(
    device: tuple[VirtualDevice, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openwpd.transport.ptpip")
    raw = await RawInitiator.connect(device[1])
    try:
        await raw.cmd.send(struct.pack("<II", 12, 0x77) + b"\x00" * 4)  # no such packet type
        await raw.cmd.wait_closed_by_peer()
    finally:
        await raw.close()
    assert "protocol violation" in caplog.text
