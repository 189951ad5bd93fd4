"""A virtual device served from a thread of its own, for synchronous programs (the WPD samples,
scripts, test rigs): the WPD API blocks its caller, so the device must not share that thread's
event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from openwpd.server.device import StorageSpec, VirtualDevice


@contextmanager
def device_in_thread(
    storages: Sequence[StorageSpec],
    *,
    state_dir: Path | None = None,
    friendly_name: str = "openwpd virtual device",
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[tuple[VirtualDevice, str]]:
    """Serve ``storages`` over PTP/IP from a background thread; yields the device and its URL
    (``ptpip://HOST:PORT``, the port chosen by the system with ``port=0``). On exit the device
    stops (sessions end, pending uploads roll back) and the thread is joined."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="openwpd-device", daemon=True)
    thread.start()
    try:
        device = VirtualDevice(storages, state_dir=state_dir, friendly_name=friendly_name)
        real_host, real_port = asyncio.run_coroutine_threadsafe(
            device.serve(host, port), loop
        ).result(30)
        try:
            yield device, f"ptpip://{real_host}:{real_port}"
        finally:
            asyncio.run_coroutine_threadsafe(device.aclose(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


__all__ = ["device_in_thread"]
