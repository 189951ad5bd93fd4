"""``wpd serve``: argument handling, the first line, errors and exit codes, SIGTERM/SIGINT --
run as a user runs it, through the console script in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openwpd.protocol.codes import AccessCapability, OperationCode, ResponseCode
from openwpd.protocol.datasets import DeviceInfo, ObjectInfo, StorageInfo, parse_uint32_array
from openwpd.protocol.errors import ConnectError
from openwpd.server.device import StorageSpec
from openwpd.transport.ptpip import InitiatorIdentity, open_ptpip_link
from support import connect
from wpd_process import FIRST_LINE, STOP_TIMEOUT, first_line, spawn_wpd, temp_files, wpd_script

RUN_TIMEOUT = 30.0


def run_wpd(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``wpd ARGS`` to completion (for the error cases that must exit by themselves)."""
    return subprocess.run(
        [str(wpd_script()), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=tmp_path,
        check=False,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="nameless temp files are Linux's")
async def test_a_device_killed_during_an_upload_leaves_nothing(tmp_path: Path) -> None:
    """SIGKILL runs no cleanup at all: only a nameless temp file (O_TMPFILE) is sure to go."""
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "sub").mkdir()
    served = Served([str(folder), "--port", "0"], tmp_path)
    runner = await connect(served.port)
    try:
        res = await runner.transact(OperationCode.GET_OBJECT_HANDLES, (0x00010001, 0, 0xFFFFFFFF))
        (sub,) = parse_uint32_array(res.data)
        info = ObjectInfo(compressed_size=64 << 20, filename="partial.bin")
        res = await runner.transact(
            OperationCode.SEND_OBJECT_INFO, (0x00010001, sub), data=info.to_bytes()
        )
        assert res.code == ResponseCode.OK
        assert temp_files(folder, served.proc.pid)  # the pending upload's temp file
        rc, _ = served.stop(signal.SIGKILL)
    finally:
        await runner.aclose()
    assert rc == -signal.SIGKILL
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == ["sub"]


class Served:
    """A ``wpd serve`` subprocess for one test."""

    def __init__(self, args: list[str], tmp_path: Path) -> None:
        self.log = tmp_path / f"serve-{time.monotonic_ns()}.log"
        self.proc = spawn_wpd(["serve", "--state-dir", str(tmp_path / "state"), *args], self.log)
        self.line = first_line(self.proc)

    @property
    def port(self) -> int:
        match = FIRST_LINE.match(self.line)
        assert match, f"first line {self.line!r}; stderr: {self.log.read_text()}"
        return int(match.group(1))

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        """Send ``sig``; return the exit code and how long the exit took."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            assert self.proc.stdout is not None
            self.proc.stdout.close()
        return rc, time.monotonic() - start


# -- DIR[:NAME][:ro] ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "name", "read_only"),
    [
        ("photos", "photos", None, False),
        ("photos:Camera", "photos", "Camera", False),
        ("photos:ro", "photos", None, True),
        ("photos:RO", "photos", None, True),
        ("photos:Camera:ro", "photos", "Camera", True),
        ("/abs/path:Card A", "/abs/path", "Card A", False),
        ("C:\\Users\\me:Docs:ro", "C:\\Users\\me", "Docs", True),  # a drive letter stays
        ("photos:robot", "photos", "robot", False),  # only a whole "ro" part means read-only
    ],
)
def test_storage_spec_parsing(text: str, path: str, name: str | None, read_only: bool) -> None:
    assert StorageSpec.parse(text) == StorageSpec(Path(path), name, read_only)


@pytest.mark.parametrize(
    "text",
    ["photos:Camera:rw", "photos:Camera:ro:x", "photos:a:b", "photos:rw", "photos::ro", ":Camera"],
)
def test_storage_specs_that_are_not_understood_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        StorageSpec.parse(text)


def one_wpd_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single ``wpd:`` line of a refused ``wpd serve``."""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wpd: "), done.stderr
    assert done.stdout == ""
    return lines[0]


@pytest.mark.parametrize("spec", ["{d}:Phone:rw", "{d}:Phone:ro:extra", "{d}:rw"])
def test_serve_refuses_a_spec_it_does_not_understand(tmp_path: Path, spec: str) -> None:
    (tmp_path / "d").mkdir()
    args = ["serve", spec.format(d=tmp_path / "d"), "--port", "0", "--state-dir", "st"]
    done = run_wpd(args, tmp_path)
    assert done.returncode == 2
    assert "rw" in one_wpd_line(done) or "extra" in one_wpd_line(done)


def test_serve_refuses_two_storages_with_one_name(tmp_path: Path) -> None:
    for sub in ("a/photos", "b/photos", "c"):
        (tmp_path / sub).mkdir(parents=True)
    for specs in (
        [f"{tmp_path}/a/photos", f"{tmp_path}/b/photos"],  # named after their folders
        [f"{tmp_path}/a/photos:Card", f"{tmp_path}/c:Card:ro"],
    ):
        done = run_wpd(["serve", *specs, "--port", "0", "--state-dir", "st"], tmp_path)
        assert done.returncode == 2
        assert "named" in one_wpd_line(done)


def test_serve_refuses_overlapping_storages(tmp_path: Path) -> None:
    # DIR and DIR/sub:ro would let DIR write what DIR/sub:ro promises to keep
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(d)
    for specs in (
        [f"{d}:All", f"{d}/sub:Sub:ro"],
        [f"{d}/sub:Sub:ro", f"{d}:All"],
        [f"{d}:One", f"{d}:Two:ro"],
        [f"{d}:One", f"{tmp_path}/link:Two:ro"],
    ):
        done = run_wpd(["serve", *specs, "--port", "0", "--state-dir", "st"], tmp_path)
        assert done.returncode == 2, done.stderr
        line = one_wpd_line(done)
        assert "overlap" in line or "same folder" in line


def test_non_loopback_host_without_allow_guid_warns(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    # 192.0.2.1 (TEST-NET-1) is nobody's address: the warning comes before the bind fails
    done = run_wpd(
        ["serve", str(tmp_path / "d"), "--host", "192.0.2.1", "--port", "0", "--state-dir", "st"],
        tmp_path,
    )
    warning, error = done.stderr.splitlines()
    assert warning.startswith("wpd: warning: ") and "--allow-guid" in warning
    assert error.startswith("wpd: cannot listen on 192.0.2.1")
    args = ["serve", str(tmp_path / "d"), "--host", "192.0.2.1", "--port", "0"]
    guarded = run_wpd([*args, "--state-dir", "st", "--allow-guid", "00" * 16], tmp_path)
    assert "warning" not in guarded.stderr


async def test_specs_become_named_storages(tmp_path: Path) -> None:
    a, b = tmp_path / "alpha", tmp_path / "beta"
    a.mkdir()
    b.mkdir()
    (b / "kept.txt").write_text("kept")
    served = Served([f"{a}:Alpha", f"{b}:Beta Card:ro", "--port", "0"], tmp_path)
    try:
        runner = await connect(served.port)
        try:
            res = await runner.transact(OperationCode.GET_STORAGE_IDS)
            ids = parse_uint32_array(res.data)
            assert len(ids) == 2
            infos = [
                StorageInfo.from_bytes(
                    (await runner.transact(OperationCode.GET_STORAGE_INFO, (sid,))).data
                )
                for sid in ids
            ]
        finally:
            await runner.aclose()
    finally:
        rc, _ = served.stop()
    assert rc == 0
    assert [i.storage_description for i in infos] == ["Alpha", "Beta Card"]
    assert [i.access_capability for i in infos] == [
        AccessCapability.READ_WRITE,
        AccessCapability.READ_ONLY_WITHOUT_OBJECT_DELETION,
    ]


# -- errors ---------------------------------------------------------------------------------


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    done = run_wpd(["serve", f"{missing}:Phone", "--port", "0"], tmp_path)
    assert done.returncode == 2
    assert str(missing) in done.stderr
    assert "not a folder" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    done = run_wpd(["serve", str(file), "--port", "0"], tmp_path)
    assert done.returncode == 2
    assert "not a folder" in done.stderr


def test_no_folder_at_all_is_a_usage_error(tmp_path: Path) -> None:
    done = run_wpd(["serve", "--port", "0"], tmp_path)
    assert done.returncode == 2
    assert "DIR" in done.stderr


def test_bad_guid_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    done = run_wpd(["serve", str(tmp_path / "d"), "--port", "0", "--allow-guid", "xyz"], tmp_path)
    assert done.returncode == 2
    assert "GUID" in done.stderr
    assert "Traceback" not in done.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_wpd(
            ["serve", str(tmp_path / "d"), "--port", str(port), "--state-dir", "st"], tmp_path
        )
    assert done.returncode not in (0, None)
    line = one_wpd_line(done)
    assert f"127.0.0.1:{port}" in line
    assert "cannot listen" in line
    assert "--port 0" in line


async def test_two_state_directories_are_two_devices(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    one = Served([str(tmp_path / "d"), "--port", "0"], tmp_path)
    two = Served(
        [str(tmp_path / "d"), "--port", "0", "--state-dir", str(tmp_path / "other")], tmp_path
    )
    try:
        acks = []
        for port in (one.port, two.port):
            link, ack = await open_ptpip_link(
                "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), "t")
            )
            await link.aclose()
            acks.append(ack)
            runner = await connect(port)
            try:
                info = DeviceInfo.from_bytes(
                    (await runner.transact(OperationCode.GET_DEVICE_INFO)).data
                )
            finally:
                await runner.aclose()
            acks.append(info.serial_number)
    finally:
        assert one.stop()[0] == 0
        assert two.stop()[0] == 0
    (ack1, serial1, ack2, serial2) = acks
    assert ack1.guid != ack2.guid
    assert serial1 != serial2


def test_one_state_directory_serves_one_device(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "e").mkdir()
    first = Served([str(tmp_path / "d"), "--port", "0"], tmp_path)
    try:
        second = run_wpd(
            ["serve", str(tmp_path / "e"), "--port", "0", "--state-dir", str(tmp_path / "state")],
            tmp_path,
        )
        assert second.returncode == 1
        line = one_wpd_line(second)
        assert f"pid {first.proc.pid}" in line and str(tmp_path / "state") in line
        assert "--state-dir" in line
    finally:
        rc, _ = first.stop(signal.SIGKILL)
    assert rc == -signal.SIGKILL
    # the lock died with the process: the state directory serves again
    again = Served([str(tmp_path / "e"), "--port", "0"], tmp_path)
    assert FIRST_LINE.match(again.line), again.log.read_text()
    assert again.stop()[0] == 0


# -- running --------------------------------------------------------------------------------


async def test_first_line_and_sigterm(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    served = Served([str(folder), "--port", "0"], tmp_path)
    assert FIRST_LINE.match(served.line), served.line
    port = served.port
    assert 0 < port < 65536
    # it really serves there
    link, ack = await open_ptpip_link(
        "127.0.0.1", port, identity=InitiatorIdentity(os.urandom(16), "t")
    )
    await link.aclose()
    assert ack.friendly_name == "openwpd virtual device"
    rc, took = served.stop(signal.SIGTERM)
    assert rc == 0, served.log.read_text()
    assert took < 5.0
    assert "Traceback" not in served.log.read_text()
    assert temp_files(folder) == []
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_first_line_with_explicit_host(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    served = Served([str(tmp_path / "d"), "--host", "127.0.0.1", "--port", str(free)], tmp_path)
    try:
        assert served.line == f"serving ptpip://127.0.0.1:{free}"
    finally:
        rc, _ = served.stop(signal.SIGINT)  # Ctrl-C
    assert rc == 0


async def test_sigterm_during_an_upload_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    served = Served([str(folder), "--port", "0"], tmp_path)
    runner = await connect(served.port)
    try:
        info = ObjectInfo(compressed_size=64 << 20, filename="partial.bin")
        res = await runner.transact(
            OperationCode.SEND_OBJECT_INFO, (0x00010001, 0xFFFFFFFF), data=info.to_bytes()
        )
        assert res.code == ResponseCode.OK
        assert temp_files(folder, served.proc.pid)  # the upload's temp file exists now
        rc, took = served.stop(signal.SIGTERM)
    finally:
        await runner.aclose()
    assert rc == 0
    assert took < 5.0
    assert list(folder.iterdir()) == []


async def test_allow_guid_option(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    guid = bytes(range(16))
    served = Served(
        [str(tmp_path / "d"), "--port", "0", "--allow-guid", ":".join(f"{b:02x}" for b in guid)],
        tmp_path,
    )
    try:
        link, _ = await open_ptpip_link(
            "127.0.0.1", served.port, identity=InitiatorIdentity(guid, "allowed")
        )
        await link.aclose()
        with pytest.raises(ConnectError, match="rejected initiator"):
            await open_ptpip_link(
                "127.0.0.1", served.port, identity=InitiatorIdentity(os.urandom(16), "other")
            )
    finally:
        rc, _ = served.stop()
    assert rc == 0


def test_sigterm_with_a_handshake_in_progress_exits_quietly(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    served = Served([str(tmp_path / "d"), "--port", "0"], tmp_path)
    with socket.create_connection(("127.0.0.1", served.port), timeout=5):
        time.sleep(0.2)  # connected, first packet not sent: the handshake is waiting
        rc, took = served.stop(signal.SIGTERM)
    assert rc == 0
    assert took < 5.0
    assert "Traceback" not in served.log.read_text()


# -- --profile -------------------------------------------------------------------------------


async def test_profile_makes_the_device_advertise_what_the_imitated_one_does(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "phone"
    folder.mkdir()
    served = Served([str(folder), "--port", "0", "--profile", "umtprd"], tmp_path)
    try:
        runner = await connect(served.port)
        try:
            # umtprd answers GetDeviceInfo only inside a session (support.connect opened one)
            info = DeviceInfo.from_bytes(
                (await runner.transact(OperationCode.GET_DEVICE_INFO)).data
            )
            res = await runner.transact(OperationCode.SEND_OBJECT_PROP_LIST, (0, 0, 0, 0, 0))
        finally:
            await runner.aclose()
    finally:
        rc, _ = served.stop()
    assert rc == 0
    assert info.manufacturer == "Viveris Technologies"
    assert "android.com" in info.vendor_extension_desc
    assert OperationCode.SEND_OBJECT_PROP_LIST not in info.operations_supported
    assert res.code == ResponseCode.OPERATION_NOT_SUPPORTED


def test_an_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    done = run_wpd(["serve", str(tmp_path), "--port", "0", "--profile", "nokia"], tmp_path)
    assert done.returncode == 2
    assert "android" in done.stderr and "ptp-camera" in done.stderr
