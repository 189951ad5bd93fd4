"""Gadget benchmark: openwpd's device vs umtprd, each as the USB gadget of the lab VM, serving
the same folder, measured with libmtp's tools.

Run on the host (``python bench/bench_gadget.py``): it boots the USB lab VM (tools/usbvm) and
runs this file inside it with ``--guest``, which for each device in turn measures

- ``mtp-getfile`` of one file (256 MiB by default), checked byte for byte;
- ``mtp-sendfile`` of a file of the same size, checked byte for byte;
- ``mtp-files`` listing a device that holds that file and a folder of 5,000 small files.

Each tool run gets a freshly started device (umtprd 1.3.10 hangs after the StorageID 0xFFFFFFFF
listing libmtp sends, so it must be restarted anyway; ours is restarted too, for fairness). The
tools are timed as whole processes. Ratios are umtprd's time / ours (above 1: ours is faster).

Env: OPENWPD_BENCH_GADGET_MB (file size, default 256), OPENWPD_BENCH_GADGET_FILES (default 5000).
Exit code 0 also when the VM cannot run here (it says so).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
ROOT = Path("/srv/bench-root")  # served by both devices
UMTP_STORE = Path("/var/lib/umtp")
RESPONDER = CHECKOUT / "tools" / "usbvm" / "guest" / "responder.sh"
MiB = 1024 * 1024


# --- inside the VM -------------------------------------------------------------------------------


def _sh(*cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout)


def _wpd(*args: str) -> list[str]:
    return [sys.executable, "-m", "openwpd.cli", *args]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(CHECKOUT / "src"))


def _present(vid: str, pid: str) -> bool:
    for dev in Path("/sys/bus/usb/devices").glob("*"):
        try:
            if (dev / "idVendor").read_text().strip() == vid and (
                dev / "idProduct"
            ).read_text().strip() == pid:
                return True
        except OSError:
            continue
    return False


def _wait(predicate: object, what: str) -> None:
    for _ in range(300):
        if predicate():  # type: ignore[operator]
            time.sleep(0.5)  # devtmpfs' usbfs node
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


class Umtprd:
    name = "umtprd"

    def start(self) -> None:
        _sh("sh", str(RESPONDER), "up")

    def stop(self) -> None:
        _sh("sh", str(RESPONDER), "down")


class Openwpd:
    name = "openwpd"

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        subprocess.run(_wpd("gadget", "up"), check=True, capture_output=True, env=_env())
        self.proc = subprocess.Popen(
            _wpd("serve", "--usb", f"{ROOT}:Phone", "--state-dir", "/tmp/bench-state"),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("serving usb"):
            raise SystemExit(f"wpd serve --usb: {line!r}")
        _wait(lambda: _present("1d6b", "0104"), "openwpd's gadget")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
        subprocess.run(_wpd("gadget", "down"), check=True, capture_output=True, env=_env())


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 * MiB):
            h.update(block)
    return h.hexdigest()


def _make(path: Path, size_mb: int, salt: int) -> str:
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        for i in range(size_mb):
            f.write(block[(i + salt) % 7 :] + block[: (i + salt) % 7])
    return _sha(path)


def _timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=1200)
    elapsed = time.perf_counter() - t0
    if run.returncode or "Error" in run.stdout:
        raise SystemExit(f"{cmd[0]} failed ({run.returncode}): {run.stdout[-1500:]}")
    return elapsed, run.stdout


def _measure(device: Umtprd | Openwpd, size_mb: int, digest: str, upload: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    device.start()
    try:
        t, listing = _timed(["mtp-files"])
    finally:
        device.stop()
    out["list_s"] = t
    out["listed"] = listing.count("File ID:")
    m = re.search(r"File ID: (\d+)\n\s+Filename: big\.bin", listing)
    if m is None:
        raise SystemExit(f"{device.name}: mtp-files shows no big.bin")
    device.start()
    try:
        dest = Path("/tmp/got.bin")
        t, _ = _timed(["mtp-getfile", m.group(1), str(dest)])
    finally:
        device.stop()
    if _sha(dest) != digest:
        raise SystemExit(f"{device.name}: mtp-getfile gave other bytes")
    dest.unlink()
    out["get_s"] = t
    device.start()
    try:
        t, _ = _timed(["mtp-sendfile", str(upload), "/bench"])
    finally:
        device.stop()
    sent = ROOT / "bench" / upload.name
    if _sha(sent) != _sha(upload):
        raise SystemExit(f"{device.name}: mtp-sendfile stored other bytes")
    sent.unlink()
    out["send_s"] = t
    out["get_MBps"] = size_mb / out["get_s"]
    out["send_MBps"] = size_mb / out["send_s"]
    return out


def guest() -> int:
    size_mb = int(os.environ.get("OPENWPD_BENCH_GADGET_MB", "256"))
    files = int(os.environ.get("OPENWPD_BENCH_GADGET_FILES", "5000"))
    Umtprd().stop()
    bench = ROOT / "bench"
    (bench / "many").mkdir(parents=True, exist_ok=True)
    digest = _make(bench / "big.bin", size_mb, 0)
    upload = Path("/tmp/up.bin")
    _make(upload, size_mb, 3)
    for i in range(files):
        (bench / "many" / f"file{i:05d}.txt").write_text(f"{i}\n")
    # umtprd serves /var/lib/umtp: the same folder, bind-mounted
    UMTP_STORE.mkdir(parents=True, exist_ok=True)
    _sh("mount", "--bind", str(ROOT), str(UMTP_STORE))
    result: dict[str, object] = {"size_mb": size_mb, "files": files}
    for device in (Openwpd(), Umtprd()):
        result[device.name] = {
            k: round(v, 3) for k, v in _measure(device, size_mb, digest, upload).items()
        }
    ours, theirs = result["openwpd"], result["umtprd"]
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    result["ratios"] = {
        key: round(theirs[f"{key}_s"] / ours[f"{key}_s"], 3) for key in ("get", "send", "list")
    }
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --- on the host ---------------------------------------------------------------------------------


def host() -> int:
    t0 = time.perf_counter()
    run = subprocess.run(
        [
            str(CHECKOUT / "tools" / "usbvm" / "usbvm"),
            "run",
            "--",
            "python3",
            "bench/bench_gadget.py",
            "--guest",
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=CHECKOUT,
        env=dict(os.environ, OPENWPD_USBVM_TIMEOUT=os.environ.get("OPENWPD_USBVM_TIMEOUT", "1500")),
    )
    wall = time.perf_counter() - t0
    if run.returncode == 3:
        print("bench_gadget: skipped, the lab VM cannot be built here:", run.stderr.strip()[-500:])
        return 0
    m = re.search(r"RESULT (\{.*\})", run.stdout)
    if run.returncode or m is None:
        print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
        print(f"bench_gadget: FAILED (exit code {run.returncode})")
        return 1
    r = json.loads(m.group(1))
    ours, theirs, ratios = r["openwpd"], r["umtprd"], r["ratios"]
    print(f"Gadget benchmark in the lab VM (TCG, dummy_hcd), VM run {wall:.1f} s")
    print(
        f"  mtp-getfile {r['size_mb']} MiB : openwpd {ours['get_s']:.2f} s "
        f"({ours['get_MBps']:.1f} MB/s)  umtprd {theirs['get_s']:.2f} s "
        f"({theirs['get_MBps']:.1f} MB/s)  ratio {ratios['get']:.2f}"
    )
    print(
        f"  mtp-sendfile {r['size_mb']} MiB: openwpd {ours['send_s']:.2f} s "
        f"({ours['send_MBps']:.1f} MB/s)  umtprd {theirs['send_s']:.2f} s "
        f"({theirs['send_MBps']:.1f} MB/s)  ratio {ratios['send']:.2f}"
    )
    print(
        f"  mtp-files ({r['files']} files)  : openwpd {ours['list_s']:.2f} s "
        f"({ours['listed']:.0f} objects)  umtprd {theirs['list_s']:.2f} s "
        f"({theirs['listed']:.0f} objects)  ratio {ratios['list']:.2f}"
    )
    print("  (ratio = umtprd time / openwpd time; above 1 means openwpd is faster)")
    print("RESULT " + json.dumps({**r, "vm_wall_s": round(wall, 1)}))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--guest"]:
        sys.exit(guest())
    sys.exit(host())
