"""The upload client that tests/server/test_upload_kill.py kills: a forking server of uploads.

Run as ``python upload_child.py``: it imports the client once, then reads one JSON job per line
on stdin and forks a process per job (its PID is printed on stdout), so that each upload is a
real process of its own that the test can SIGKILL, without paying for the interpreter's start
every time. A job uploads a local file to a ``wpd serve`` through :class:`openwpd.client.Handle`,
as ``wpd put`` does: ``Handle.upload`` for a new file, ``Handle.replace`` onto an existing one.

Job fields: ``url``, ``src`` (local file), ``folder`` (device path), ``name``, ``replace``
(bool), ``piece`` (bytes per data-phase piece: small, so that progress is reported often),
``pause_at`` (stop, frozen, once that many bytes were sent; None: run to the end),
``send_object`` (upload with SendObject instead of edits) and ``flag``
(a file the process writes "paused", "done" or "failed: ERROR" to).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from openwpd.client import Quirks, open_connection, transfer
from openwpd.client.policy import EDIT_OPERATIONS


async def run(job: dict[str, object]) -> None:
    piece = int(str(job["piece"]))
    # Pieces of the data phase (not the protocol): progress is reported after each piece
    transfer.READ_CHUNK = piece
    transfer.SLICE = piece
    flag = Path(str(job["flag"]))
    pause_at = job["pause_at"]

    def progress(done: int, total: int) -> None:
        if isinstance(pause_at, int) and done >= pause_at:
            flag.write_text("paused")
            time.sleep(600)  # frozen in the middle of the data: the test kills a side now

    # without the edit operations the client uploads with SendObjectPropList + SendObject
    quirks = Quirks(disabled_operations=frozenset(EDIT_OPERATIONS)) if job["send_object"] else None
    try:
        async with open_connection(str(job["url"]), quirks=quirks) as conn:
            h = conn.open_handle()
            folder = str(job["folder"])
            if job["replace"]:
                await h.replace(f"{folder}/{job['name']}", str(job["src"]), progress=progress)
            else:
                await h.upload(str(job["src"]), folder, name=str(job["name"]), progress=progress)
    except Exception as exc:
        flag.write_text(f"failed: {exc!r}")
        raise
    flag.write_text("done")


def main() -> None:
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                asyncio.run(run(job))
                code = 0
            finally:
                os._exit(code)
        print(pid, flush=True)
        while True:  # reap the ones that ended (killed or not)
            try:
                ended, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if ended == 0:
                break


if __name__ == "__main__":
    main()
