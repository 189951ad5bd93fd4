"""Small asyncio helpers shared by the device and the client (not used by ``protocol/``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def off_loop(fn: Callable[..., object], *args: object) -> None:
    """Run a blocking disk write on a worker thread, so the event loop goes on receiving the
    next packets meanwhile (a data phase's network and disk work overlap).

    If the caller is cancelled while the write runs, this waits for the write to finish before
    re-raising: the caller's cleanup (aborting the upload, closing the file) must never race a
    write still in progress.
    """
    future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


__all__ = ["off_loop"]
