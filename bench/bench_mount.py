"""``wpd mount`` benchmarks against the virtual device in its own process (``wpd serve``).

Targets (issue 16), measured in one run so the figures are comparable:

* a 1 GiB ``cp`` out of and into the mount vs ``wpd get`` / ``wpd put`` of the same file:
  ratio (wpd time / cp time) >= 0.8 each way. Each is run ``--rounds`` times, alternating, and
  the best of each is compared (these machines are shared and noisy).
* ``ls -l`` of a 5,000-file folder through a fresh mount (cold: nothing cached).

    .venv/bin/python bench/bench_mount.py [--size MiB] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 1024 * 1024
WPD = [sys.executable, "-m", "openwpd.cli"]


def _start_device(folder: Path, state: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [*WPD, "serve", f"{folder}:Phone", "--port", "0", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("serving "):
        raise SystemExit(f"wpd serve did not start: {line!r}")
    return proc, line.split()[1]


def _mount(url: str, mnt: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*WPD, "-d", url, "mount", str(mnt)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("mounted "):
        raise SystemExit(f"wpd mount did not start: {line!r}")
    return proc


def _unmount(proc: subprocess.Popen[str], mnt: Path) -> None:
    subprocess.run(["fusermount3", "-u", str(mnt)], check=False)
    proc.wait(60)
    if proc.stdout is not None:
        proc.stdout.close()


def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _random_file(path: Path, size: int) -> None:
    block = random.Random(1).randbytes(MiB)
    with open(path, "wb") as f:
        for n in range(size // MiB):
            f.write(n.to_bytes(8, "little") + block[8:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="MiB to copy (default 1024)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args()
    if not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None:
        print("bench_mount: skipped: no /dev/fuse or no fusermount3 (apt-get install fuse3)")
        return
    size = args.size * MiB
    with tempfile.TemporaryDirectory(prefix="bench-mount-") as tmp_name:
        tmp = Path(tmp_name)
        served, state, mnt, local = tmp / "served", tmp / "state", tmp / "mnt", tmp / "local"
        for folder in (served, state, mnt, local):
            folder.mkdir()
        many = served / "many"
        many.mkdir()
        for i in range(args.files):
            (many / f"file{i:05}.jpg").write_bytes(b"x" * (i % 100))
        src = local / "src.bin"
        _random_file(src, size)
        device, url = _start_device(served, state)
        try:
            # ls -l cold: a fresh mount, nothing listed yet
            mount = _mount(url, mnt)
            try:
                started = time.perf_counter()
                out = subprocess.run(
                    ["ls", "-l", str(mnt / "Phone" / "many")],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                cold = time.perf_counter() - started
                assert out.count("\n") == args.files + 1
                started = time.perf_counter()
                subprocess.run(
                    ["ls", "-l", str(mnt / "Phone" / "many")], check=True, capture_output=True
                )
                warm = time.perf_counter() - started
                cp_in, put, cp_out, get = [], [], [], []
                for _ in range(args.rounds):
                    cp_in.append(_timed(["cp", str(src), str(mnt / "Phone" / "in.bin")]))
                    put.append(_timed([*WPD, "-d", url, "put", str(src), "/Phone/put.bin"]))
                    (served / "put.bin").unlink()
                    out_file = local / "out.bin"
                    cp_out.append(_timed(["cp", str(mnt / "Phone" / "in.bin"), str(out_file)]))
                    out_file.unlink()
                    get.append(_timed([*WPD, "-d", url, "get", "/Phone/in.bin", str(out_file)]))
                    out_file.unlink()
                    (mnt / "Phone" / "in.bin").unlink()
            finally:
                _unmount(mount, mnt)
        finally:
            device.terminate()
            device.wait(30)
            if device.stdout is not None:
                device.stdout.close()
    mib = size / MiB
    print(f"bench_mount: {args.size} MiB, best of {args.rounds} rounds each")
    print(
        f"  into the mount: cp {min(cp_in):.2f} s ({mib / min(cp_in):.0f} MiB/s), "
        f"wpd put {min(put):.2f} s ({mib / min(put):.0f} MiB/s): "
        f"ratio {min(put) / min(cp_in):.2f} (target >= 0.8)"
    )
    print(
        f"  out of the mount: cp {min(cp_out):.2f} s ({mib / min(cp_out):.0f} MiB/s), "
        f"wpd get {min(get):.2f} s ({mib / min(get):.0f} MiB/s): "
        f"ratio {min(get) / min(cp_out):.2f} (target >= 0.8)"
    )
    print(f"  ls -l of {args.files} files: cold {cold:.2f} s, warm {warm:.2f} s")
    print(
        f"  all rounds: cp in {_fmt(cp_in)}; put {_fmt(put)}; cp out {_fmt(cp_out)}; "
        f"get {_fmt(get)}"
    )


def _fmt(times: list[float]) -> str:
    return " ".join(f"{t:.2f}" for t in times)


if __name__ == "__main__":
    main()
