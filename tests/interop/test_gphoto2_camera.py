"""The real gphoto2 CLI drives ``wpd serve --camera`` as it drives a PTP camera: captures with
and without download, the camera settings (listed, read and set by gphoto2, read back by us
and the other way round), events, and tethered capture of a picture taken on the device
(SIGUSR1 is its shutter button)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from openwpd.protocol._buffer import Writer
from openwpd.protocol.codes import DataType, DevicePropCode, OperationCode, ResponseCode
from openwpd.protocol.datasets import DevicePropDesc
from openwpd.protocol.datatypes import write_value
from support import connect
from wpd_process import Gphoto, WpdServer

pytestmark = pytest.mark.interop

StartWpd = Callable[..., WpdServer]
MakeGphoto = Callable[[int], Gphoto]
CAPTURES = "DCIM/100OWPD"
JPEG_START = b"\xff\xd8\xff\xe1"


def pictures(served: Path) -> list[str]:
    folder = served / CAPTURES
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def our_value(port: int, code: int) -> object:
    """The property's current value as our own initiator reads it."""

    async def read() -> object:
        runner = await connect(port)
        try:
            res = await runner.transact(OperationCode.GET_DEVICE_PROP_DESC, (code,))
            assert res.code == ResponseCode.OK
            return DevicePropDesc.from_bytes(res.data).current
        finally:
            await runner.aclose()

    return asyncio.run(read())


def our_set(port: int, code: int, datatype: int, value: object) -> None:
    async def write() -> None:
        runner = await connect(port)
        try:
            w = Writer()
            write_value(w, datatype, value)  # type: ignore[arg-type]
            res = await runner.transact(
                OperationCode.SET_DEVICE_PROP_VALUE, (code,), data=w.getvalue()
            )
            assert res.code == ResponseCode.OK
        finally:
            await runner.aclose()

    asyncio.run(write())


def current(output: str) -> str:
    found = re.search(r"^Current: (.*)$", output, re.M)
    assert found, output
    return found.group(1)


def test_capture_image_and_download(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto
) -> None:
    server = wpd_factory(served, "--camera")
    gp = gphoto_factory(server.port)
    out = gp.run("--capture-image-and-download").stdout
    assert f"/store_00010001/{CAPTURES}/IMG_0001.JPG" in out, out
    data = (gp.cwd / "IMG_0001.JPG").read_bytes()
    assert data.startswith(JPEG_START) and data.endswith(b"\xff\xd9")
    # gphoto deletes the picture from the camera after downloading it, as with any camera
    assert pictures(served) == []


def test_capture_image_then_get_file(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto
) -> None:
    server = wpd_factory(served, "--camera")
    gp = gphoto_factory(server.port)
    out = gp.run("--capture-image").stdout
    assert f"/store_00010001/{CAPTURES}/IMG_0001.JPG" in out, out
    assert pictures(served) == ["IMG_0001.JPG"]
    gp.run("--folder", f"/store_00010001/{CAPTURES}", "--get-file", "1")
    got = (gp.cwd / "IMG_0001.JPG").read_bytes()
    assert got == (served / CAPTURES / "IMG_0001.JPG").read_bytes()
    gp.run("--capture-image")
    assert pictures(served) == ["IMG_0001.JPG", "IMG_0002.JPG"]


def test_config_list_get_set_both_ways(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto
) -> None:
    server = wpd_factory(served, "--camera")
    gp = gphoto_factory(server.port)
    listed = gp.run("--list-config").stdout.split()
    for name in (
        "/main/capturesettings/f-number",
        "/main/imgsettings/iso",
        "/main/imgsettings/whitebalance",
        "/main/capturesettings/shutterspeed",
        "/main/capturesettings/focallength",
        "/main/status/batterylevel",
    ):
        assert name in listed, listed
    fnum = gp.run("--get-config", "f-number").stdout
    assert current(fnum) == "f/5.6" and "Choice: 0 f/2.8" in fnum, fnum
    gp.run(
        "--set-config",
        "f-number=f/8",
        "--set-config",
        "iso=400",
        "--set-config",
        "whitebalance=Tungsten",
        "--set-config",
        "/main/other/501e=Ada Lovelace",
    )
    # gphoto reads back what it set...
    assert current(gp.run("--get-config", "f-number").stdout) == "f/8"
    assert current(gp.run("--get-config", "iso").stdout) == "400"
    assert current(gp.run("--get-config", "whitebalance").stdout) == "Tungsten"
    # ...and so do we
    assert our_value(server.port, DevicePropCode.F_NUMBER) == 800
    assert our_value(server.port, DevicePropCode.EXPOSURE_INDEX) == 400
    assert our_value(server.port, DevicePropCode.WHITE_BALANCE) == 6
    assert our_value(server.port, DevicePropCode.ARTIST) == "Ada Lovelace"
    # what we set, gphoto reads
    our_set(server.port, DevicePropCode.EXPOSURE_BIAS_COMPENSATION, DataType.INT16, -1500)
    bias = gp.run("--get-config", "/main/other/5010").stdout
    assert current(bias) == "-1500" and re.search(r"^Step: 500$", bias, re.M), bias
    # a value the camera does not offer is refused, and nothing changes
    bad = gp.run("--set-config", "f-number=f/9", check=False)
    assert bad.returncode != 0
    assert our_value(server.port, DevicePropCode.F_NUMBER) == 800


def press_until_done(server: WpdServer, proc: subprocess.Popen[str]) -> str:
    """Press the device's shutter (SIGUSR1) once a second until gphoto2 exits (it needs a
    moment to connect before it sees the events); returns its output."""
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(1.0)
        if proc.poll() is None:
            server.proc.send_signal(signal.SIGUSR1)
    if proc.poll() is None:
        proc.kill()
    out, _ = proc.communicate()
    return out


def background(gp: Gphoto, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            gp.binary,
            "--camera",
            "PTP/IP Camera",
            "--port",
            f"ptpip:127.0.0.1:{gp.port}:{gp.port}",
            *args,
        ],
        cwd=gp.cwd,
        env=dict(os.environ, HOME=str(gp.home), LANG="C.UTF-8", LC_ALL="C.UTF-8"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_wait_event_sees_a_capture(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto
) -> None:
    server = wpd_factory(served, "--camera")
    gp = gphoto_factory(server.port)
    out = press_until_done(server, background(gp, "--wait-event=CAPTURECOMPLETE"))
    assert re.search(rf"^FILEADDED IMG_0001\.JPG /store_00010001/{CAPTURES}$", out, re.M), out
    assert "CAPTURECOMPLETE" in out.split("FILEADDED IMG_0001.JPG")[1], out


def test_capture_tethered_downloads_a_picture_taken_on_the_device(
    served: Path, wpd_factory: StartWpd, gphoto_factory: MakeGphoto
) -> None:
    server = wpd_factory(served, "--camera")
    gp = gphoto_factory(server.port)
    out = press_until_done(server, background(gp, "--capture-tethered=1f", "--keep"))
    saved = re.search(r"^Saving file as (IMG_\d{4}\.JPG)$", out, re.M)
    assert saved, out
    name = saved.group(1)
    assert (gp.cwd / name).read_bytes() == (served / CAPTURES / name).read_bytes()
