"""The parts of the USB transport that need no USB bus: device URLs, the "who holds the
device" lookup through /proc (on a fake /proc tree), the busy message, and a host without
libusb. The transport itself is tested against umtprd in the lab VM (tests/usb)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openwpd.protocol.errors import ConnectError, LocalProtocolError
from openwpd.protocol.usb_codec import MtpMatch
from openwpd.transport import usb
from openwpd.transport.usb import (
    DeviceHolder,
    UsbDeviceId,
    UsbDeviceInfo,
    busy_message,
    find_device_holders,
    parse_usb_url,
)


def test_parse_usb_urls() -> None:
    assert parse_usb_url("usb://1d6b:0100/01234567") == UsbDeviceId(0x1D6B, 0x0100, "01234567")
    assert parse_usb_url("USB://18D1:4EE1") == UsbDeviceId(0x18D1, 0x4EE1)
    assert parse_usb_url("usb://3:17") == UsbDeviceId(bus=3, address=17)
    # serials may hold anything, percent-encoded in the URL
    odd = UsbDeviceId(0x04E8, 0x6860, "R58M a/b")
    assert str(odd) == "usb://04e8:6860/R58M%20a%2Fb"
    assert parse_usb_url(str(odd)) == odd
    assert str(UsbDeviceId(bus=1, address=2)) == "usb://1:2"
    assert str(UsbDeviceId(1, 2)) == "usb://0001:0002"
    for bad in ("ptpip://x", "usb://", "usb://1d6b", "usb://12345:1", "usb://g000:0000", "usb:1:2"):
        with pytest.raises(LocalProtocolError):
            parse_usb_url(bad)


def _info(**kw: object) -> UsbDeviceInfo:
    fields: dict[str, object] = dict(
        url="usb://1d6b:0100/01234567",
        bus=1,
        address=2,
        vid=0x1D6B,
        pid=0x0100,
        serial="01234567",
        manufacturer="Viveris Technologies",
        product="The Viveris Product !",
        interface=0,
        alternate_setting=0,
        interface_name="MTP",
        match=MtpMatch.STILL_IMAGE,
    )
    fields.update(kw)
    return UsbDeviceInfo(**fields)  # type: ignore[arg-type]


def test_device_id_matching_and_info() -> None:
    info = _info()
    assert parse_usb_url("usb://1d6b:0100/01234567").matches(info)
    assert parse_usb_url("usb://1d6b:0100").matches(info)
    assert not parse_usb_url("usb://1d6b:0100/other").matches(info)
    assert not parse_usb_url("usb://1d6b:0101").matches(info)
    assert parse_usb_url("usb://1:2").matches(info)
    assert not parse_usb_url("usb://1:3").matches(info)
    assert info.node == "/dev/bus/usb/001/002"
    assert info.name == "Viveris Technologies The Viveris Product !"
    assert _info(manufacturer=None, product=None).name == info.url


def _fake_process(proc: Path, pid: int, cmdline: bytes, fds: dict[str, str]) -> None:
    d = proc / str(pid)
    (d / "fd").mkdir(parents=True)
    (d / "cmdline").write_bytes(cmdline)
    (d / "comm").write_text("fake\n")
    for fd, target in fds.items():
        os.symlink(target, d / "fd" / fd)


def test_find_device_holders_on_a_fake_proc(tmp_path: Path) -> None:
    node = "/dev/bus/usb/003/007"
    _fake_process(tmp_path, 100, b"gvfsd-mtp\0--spawner\0:1.5\0", {"0": "/dev/null", "7": node})
    _fake_process(tmp_path, 200, b"bash\0", {"0": "/dev/pts/0"})
    _fake_process(tmp_path, 300, b"", {"3": node})  # a kernel thread style: no cmdline
    _fake_process(tmp_path, 400, b"me\0", {"3": node})  # excluded: that is us
    (tmp_path / "self").mkdir()  # not a pid
    (tmp_path / "500").mkdir()  # vanished: no fd folder
    holders, incomplete = find_device_holders(node, proc=tmp_path, exclude=[400])
    assert sorted(holders, key=lambda h: h.pid) == [
        DeviceHolder(100, "gvfsd-mtp --spawner :1.5"),
        DeviceHolder(300, "[fake]"),
    ]
    assert not incomplete
    assert find_device_holders(node, proc=tmp_path / "missing") == ([], True)


def test_find_device_holders_reports_unreadable_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # another user's process (as non-root): its fd folder cannot be listed
    _fake_process(tmp_path, 100, b"x\0", {})
    real_iterdir = Path.iterdir

    def iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self == tmp_path / "100" / "fd":
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    assert find_device_holders("/dev/bus/usb/001/001", proc=tmp_path) == ([], True)


def test_command_line_fallbacks(tmp_path: Path) -> None:
    d = tmp_path / "9"
    d.mkdir()
    assert usb._command_line(d) == "?"


def test_busy_message() -> None:
    node = "/dev/bus/usb/001/002"
    text = busy_message("usb://1:2", node, [DeviceHolder(42, "gvfsd-mtp")], False)
    assert "pid 42 (gvfsd-mtp)" in text and "kill 42" in text and "unmount" in text
    assert "fuser" in busy_message("usb://1:2", node, [], True)
    assert "kernel driver" in busy_message("usb://1:2", node, [], False)


async def test_without_libusb_there_is_no_device(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> object:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(usb.importlib, "import_module", missing)
    assert usb.list_usb_devices() == []
    with pytest.raises(ConnectError, match="libusb1"):
        await usb.open_usb_link("usb://1d6b:0100")
