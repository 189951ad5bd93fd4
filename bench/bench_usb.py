"""USB benchmark: openwpd against libmtp, both talking to umtprd over the lab VM's USB bus.

Run on the host (``python bench/bench_usb.py``): it boots the USB lab VM (tools/usbvm) and runs
this same file inside it with ``--guest``, where it measures, in one VM run and against the
same umtprd:

- download throughput of one file: openwpd's client (``usb://``, end to end: process start,
  device open, session, path lookup, download to a file) vs libmtp's ``mtp-getfile``;
- listing a 5,000-file folder: openwpd's client listing that folder vs libmtp's ``mtp-files``
  (which lists the whole device; the folder is almost all of it).

Every measurement gets a freshly started umtprd (its handle database is empty, so the responder
does the same folder scans for both sides, and umtprd 1.3.10's deadlock after a StorageID
0xFFFFFFFF listing, which libmtp sends, cannot leak into the next tool). Both tools are timed
as whole processes. The ratios are openwpd/libmtp throughput (above 1: openwpd is faster).

Env: OPENWPD_BENCH_USB_MB (file size, default 128), OPENWPD_BENCH_USB_FILES (default 5000).
Exit code 0 also when the VM cannot run here (it says so).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
STORE = Path("/var/lib/umtp")
BENCH = STORE / "bench"
RESPONDER = CHECKOUT / "tools" / "usbvm" / "guest" / "responder.sh"
URL = "usb://1d6b:0100/01234567"
MiB = 1024 * 1024


# --- inside the VM -------------------------------------------------------------------------------


def _restart() -> None:
    subprocess.run(["sh", str(RESPONDER), "restart"], check=True, capture_output=True, timeout=60)


def _timed(cmd: list[str], **kw: object) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - t0
    if run.returncode:
        raise SystemExit(f"{cmd[0]} failed ({run.returncode}): {run.stderr[-2000:]}")
    return elapsed, run


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 * MiB):
            h.update(block)
    return h.hexdigest()


def _prepare(size_mb: int, files: int) -> str:
    (BENCH / "many").mkdir(parents=True, exist_ok=True)
    big = BENCH / "big.bin"
    block = os.urandom(MiB)
    with open(big, "wb") as f:
        for i in range(size_mb):
            f.write(block[i % 7 :] + block[: i % 7])  # no two MiB alike
    for i in range(files):
        (BENCH / "many" / f"file{i:05d}.txt").write_text(f"{i}\n")
    return _sha(big)


def _openwpd(mode: str, dest: str) -> int:
    """One openwpd client run (a process of its own, like the libmtp tools)."""
    sys.path.insert(0, str(CHECKOUT / "src"))
    from openwpd.client import open_connection
    from openwpd.client.quirks import policy_for_usb

    quirks = policy_for_usb(0x1D6B, 0x0100, "Viveris Technologies")

    async def main() -> int:
        async with open_connection(URL, quirks=quirks) as conn, conn.open_handle() as h:
            if mode == "download":
                t0 = time.perf_counter()
                n = await h.download("/shared folder/bench/big.bin", dest)
                print(f"TRANSFER {time.perf_counter() - t0:.3f}", flush=True)
                return n
            count = 0
            async for _ in h.list("/shared folder/bench/many"):
                count += 1
            return count

    print(f"COUNT {asyncio.run(main())}")
    return 0


def guest() -> int:
    size_mb = int(os.environ.get("OPENWPD_BENCH_USB_MB", "128"))
    files = int(os.environ.get("OPENWPD_BENCH_USB_FILES", "5000"))
    digest = _prepare(size_mb, files)
    size = size_mb * MiB
    me = [sys.executable, str(Path(__file__).resolve())]
    out: dict[str, float | int | str] = {"size_mb": size_mb, "files": files}

    _restart()
    t, run = _timed(["mtp-files"])
    out["libmtp_list_s"] = round(t, 3)
    listed = run.stdout.count("File ID:")
    m = re.search(r"File ID: (\d+)\n\s+Filename: big\.bin", run.stdout)
    if m is None or listed < files:
        raise SystemExit(f"mtp-files listed {listed} objects, no big.bin:\n{run.stdout[-1500:]}")
    out["libmtp_listed"] = listed

    _restart()  # the same handle numbers: umtprd assigns them in the same scan order
    dest = Path("/tmp/libmtp.bin")
    t, _ = _timed(["mtp-getfile", m.group(1), str(dest)])
    if _sha(dest) != digest:
        raise SystemExit("mtp-getfile: the download differs")
    dest.unlink()
    out["libmtp_get_s"] = round(t, 3)

    _restart()
    dest = Path("/tmp/openwpd.bin")
    t, run = _timed([*me, "--openwpd", "download", str(dest)])
    if _sha(dest) != digest:
        raise SystemExit("openwpd: the download differs")
    dest.unlink()
    out["openwpd_get_s"] = round(t, 3)
    transfer = re.search(r"TRANSFER ([\d.]+)", run.stdout)
    out["openwpd_transfer_only_s"] = float(transfer.group(1)) if transfer else -1.0

    _restart()
    t, run = _timed([*me, "--openwpd", "list", "-"])
    count = re.search(r"COUNT (\d+)", run.stdout)
    if count is None or int(count.group(1)) != files:
        raise SystemExit(f"openwpd listed {count and count.group(1)} of {files}")
    out["openwpd_list_s"] = round(t, 3)

    out["download_ratio"] = round(out["libmtp_get_s"] / out["openwpd_get_s"], 3)  # type: ignore[operator]
    out["list_ratio"] = round(out["libmtp_list_s"] / out["openwpd_list_s"], 3)  # type: ignore[operator]
    out["openwpd_MBps"] = round(size / MiB / out["openwpd_get_s"], 1)  # type: ignore[operator]
    out["libmtp_MBps"] = round(size / MiB / out["libmtp_get_s"], 1)  # type: ignore[operator]
    print("RESULT " + json.dumps(out), flush=True)
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
            "bench/bench_usb.py",
            "--guest",
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=CHECKOUT,
    )
    wall = time.perf_counter() - t0
    if run.returncode == 3:
        print("bench_usb: skipped, the USB lab VM cannot be built here:", run.stderr.strip()[-500:])
        return 0
    m = re.search(r"RESULT (\{.*\})", run.stdout)
    if run.returncode or m is None:
        print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
        print(f"bench_usb: FAILED (exit code {run.returncode})")
        return 1
    r = json.loads(m.group(1))
    print(f"USB benchmark against umtprd in the lab VM (TCG), VM run {wall:.1f} s")
    print(
        f"  download {r['size_mb']} MiB : openwpd {r['openwpd_get_s']:.2f} s "
        f"({r['openwpd_MBps']} MB/s; transfer alone {r['openwpd_transfer_only_s']:.2f} s)  "
        f"mtp-getfile {r['libmtp_get_s']:.2f} s ({r['libmtp_MBps']} MB/s)  "
        f"ratio {r['download_ratio']:.2f}"
    )
    print(
        f"  list {r['files']} files  : openwpd {r['openwpd_list_s']:.2f} s  "
        f"mtp-files {r['libmtp_list_s']:.2f} s ({r['libmtp_listed']} objects)  "
        f"ratio {r['list_ratio']:.2f}"
    )
    print("  (ratio = libmtp time / openwpd time; above 1 means openwpd is faster)")
    print("RESULT " + json.dumps({**r, "vm_wall_s": round(wall, 1)}))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--guest"]:
        sys.exit(guest())
    if sys.argv[1:2] == ["--openwpd"]:
        sys.exit(_openwpd(sys.argv[2], sys.argv[3]))
    sys.exit(host())
