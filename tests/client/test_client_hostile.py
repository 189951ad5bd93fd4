"""The client against a device that sends more data than it was asked for
(tests/hostile_device.py: real PTP/IP on loopback). The violation is a RemoteProtocolError,
which the connection handles as every protocol violation: it gives the session up (the caller
gets SessionReset, caused by it) and opens a new one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hostile_device import HostileDevice, Obj
from openwpd.client import Entry, open_connection
from openwpd.client.wire import COLLECT_LIMIT
from openwpd.protocol.codes import OperationCode
from openwpd.protocol.errors import RemoteProtocolError, SessionReset

DATA = bytes(range(256)) * 64  # 16 KiB


def _device(**kwargs: object) -> HostileDevice:
    return HostileDevice([Obj(1, 0, "f.bin", data=DATA)], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("partial", [True, False], ids=["partial-windows", "get-object"])
@pytest.mark.parametrize("announce", [True, False], ids=["announced", "unknown-length"])
async def test_a_longer_data_phase_is_a_protocol_error(
    tmp_path: Path, partial: bool, announce: bool
) -> None:
    with _device(extra=1000, partial=partial, announce=announce) as device:
        async with open_connection(device.url, client_name="pytest") as conn:
            h = conn.open_handle()
            entry = await h.resolve("/Phone/f.bin")
            assert isinstance(entry, Entry) and entry.size == len(DATA)
            target = tmp_path / "f.bin"
            with pytest.raises(SessionReset, match=f"at most {len(DATA)} were expected") as e:
                await h.download(entry, target)
            # the session was given up (and a new one opened), as for any protocol violation
            assert isinstance(e.value.__cause__, RemoteProtocolError)
            # nothing partial, nothing longer, no temporary file
            assert os.listdir(tmp_path) == []
            assert len(await h.storages()) == 1


async def test_a_longer_range_read_does_not_reach_the_caller(tmp_path: Path) -> None:
    with _device(extra=7) as device:
        async with open_connection(device.url, client_name="pytest") as conn:
            h = conn.open_handle()
            entry = await h.resolve("/Phone/f.bin")
            assert isinstance(entry, Entry)
            with (
                open(tmp_path / "out", "wb") as out,
                pytest.raises(SessionReset, match="at most 10 were expected"),
            ):
                await h.download(entry, out, offset=100, length=10)
            assert (tmp_path / "out").stat().st_size == 0


async def test_an_honest_device_passes() -> None:
    with _device() as device:
        async with open_connection(device.url, client_name="pytest") as conn:
            h = conn.open_handle()
            assert await h.read("/Phone/f.bin") == DATA
            assert await h.read("/Phone/f.bin", 100, 10) == DATA[100:110]


async def test_data_collected_in_memory_is_bounded() -> None:
    """Without a sink (datasets, pass-through), at most COLLECT_LIMIT bytes are taken."""
    with _device(extra=COLLECT_LIMIT, announce=False) as device:
        async with open_connection(device.url, client_name="pytest") as conn:
            h = conn.open_handle()
            with pytest.raises(SessionReset, match=f"at most {COLLECT_LIMIT} were expected"):
                await h.execute(OperationCode.GET_OBJECT, (1,))


async def test_a_short_window_is_asked_again_not_taken_for_the_end(tmp_path: Path) -> None:
    """A window answered short before the object's known end is not the end of the object:
    the client asks again from where it stopped, and the copy is whole."""
    with _device(short_reads=1) as device:
        async with open_connection(device.url, client_name="pytest") as conn:
            h = conn.open_handle()
            target = tmp_path / "f.bin"
            assert await h.download("/Phone/f.bin", target) == len(DATA)
            assert target.read_bytes() == DATA


async def test_a_device_that_keeps_answering_short_fails_the_download(tmp_path: Path) -> None:
    """Twice short in a row: the object changed, or the device cuts its data; either way a
    short copy must not pass for a whole one, and nothing is kept."""
    with _device(short_reads=1000) as device:
        async with open_connection(device.url, client_name="pytest") as conn:
            h = conn.open_handle()
            with pytest.raises((RemoteProtocolError, SessionReset), match="did the object change"):
                await h.download("/Phone/f.bin", tmp_path / "f.bin")
            assert os.listdir(tmp_path) == []
