"""The "device busy" riddle: another process holds the interface; opening it fails with
DeviceBusy naming that process (pid and command line, found through /proc) and what to do."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from usb_mtp import DEVICE_URL

from openwpd.protocol.errors import DeviceBusy
from openwpd.transport.usb import open_usb_link

HOLDER = """
import sys, time, usb1
ctx = usb1.USBContext().open()
handle = ctx.openByVendorIDAndProductID(0x1D6B, 0x0100)
handle.claimInterface(0)
print("holding", flush=True)
time.sleep(120)
"""


async def test_busy_device_names_the_holder() -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "--pretend-to-be-a-file-manager"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(DeviceBusy) as caught:
            await open_usb_link(DEVICE_URL)
        message = str(caught.value)
        assert f"pid {holder.pid}" in message
        assert "--pretend-to-be-a-file-manager" in message
        assert f"kill {holder.pid}" in message
        assert DEVICE_URL in message
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()  # else an unclosed-file warning fails whichever test runs next
    # once the holder is gone the device opens
    time.sleep(0.2)
    link = await open_usb_link(DEVICE_URL)
    await link.aclose()
