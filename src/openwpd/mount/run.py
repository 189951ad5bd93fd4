"""Running a mount: the client's loop on a thread of its own, libfuse in the calling thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from openwpd.client import Connection, open_connection
from openwpd.mount.fuse import MountOptions, Operations
from openwpd.mount.tree import DeviceTree

log = logging.getLogger("openwpd.mount")

#: seconds the kernel may cache a file's attributes (size, times)
ATTR_SECONDS = 30
#: seconds a thread may hold the GIL while another waits for it
SWITCH_INTERVAL = 0.0005


class _Session:
    """The connection and the tree, opened and closed by one keeper task on the loop."""

    def __init__(self, url: str, read_only: bool) -> None:
        self.url = url
        self.read_only = read_only
        self.ready: asyncio.Future[tuple[Connection, DeviceTree]] | None = None
        self.stop: asyncio.Event | None = None
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> tuple[Connection, DeviceTree]:
        loop = asyncio.get_running_loop()
        self.ready = loop.create_future()
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self._keep())
        return await self.ready

    async def _keep(self) -> None:
        assert self.ready is not None and self.stop is not None
        try:
            async with open_connection(self.url, client_name="wpd mount") as conn:
                tree = DeviceTree(conn, read_only=self.read_only)
                await tree.start()
                try:
                    self.ready.set_result((conn, tree))
                    await self.stop.wait()
                finally:
                    await tree.aclose()
        except BaseException as exc:
            if not self.ready.done():
                self.ready.set_exception(exc)
            elif isinstance(exc, Exception):
                log.info("closing the connection failed: %s", exc)
            else:
                raise

    async def close(self) -> None:
        if self.stop is not None:
            self.stop.set()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task


def run_mount(
    url: str,
    mountpoint: Path,
    options: MountOptions,
    *,
    on_connected: Callable[[Connection, DeviceTree], None] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Connect to ``url``, mount it on ``mountpoint`` and serve until unmounted (Ctrl-C,
    SIGTERM, ``fusermount3 -u``). Raises what connecting raises; RuntimeError when libfuse
    cannot mount."""
    import mfusepy

    # FUSE threads and the client's loop share the GIL: with the default 5 ms switch
    # interval, a FUSE request waits up to 5 ms for it whenever the loop is busy moving data
    # (measured: 1 GiB cp into the mount 7.5 s at 5 ms, see docs/mount.md for the figures)
    sys.setswitchinterval(SWITCH_INTERVAL)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="openwpd-mount-loop", daemon=True)
    thread.start()
    session = _Session(url, options.read_only)
    try:
        conn, tree = asyncio.run_coroutine_threadsafe(session.open(), loop).result()
        if on_connected is not None:
            on_connected(conn, tree)
        ops = Operations(loop, conn, tree, options, on_ready)
        fuse_options: dict[str, object] = {
            "foreground": True,
            "fsname": "openwpd",
            "subtype": "wpd",
            "use_ino": True,
            # the kernel may keep attributes long: changes made through the mount update them,
            # and the device's events drop them (fuse_invalidate_path, see fuse.py)
            "attr_timeout": ATTR_SECONDS,
        }
        if options.read_only:
            fuse_options["ro"] = True
        if options.allow_other:
            fuse_options["allow_other"] = True
            fuse_options["default_permissions"] = True
        try:
            mfusepy.FUSE(ops, str(mountpoint), **fuse_options)
        finally:
            ops.close_all()
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(session.close(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


__all__ = ["run_mount"]
