"""Helpers for the device-services tests of the WPD API: a virtual device (in a thread of its
own, as the WPD API needs) over a folder with a Contacts sub-folder, a small file and a sparse
2 GiB file."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from openwpd.server.device import StorageSpec, VirtualDevice

T = TypeVar("T")

ADA = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\n"
    "TEL;TYPE=CELL:+44 20 0000 0001\r\nEMAIL;TYPE=HOME:ada@example.org\r\nEND:VCARD\r\n"
)
ALAN = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alan Turing\r\nN:Turing;Alan;;;\r\nEND:VCARD\r\n"
BIG = 2 << 30


def populate(root: Path) -> None:
    """The served folder: Contacts/ (two vCards), small.bin, big.bin (sparse 2 GiB)."""
    contacts = root / "Contacts"
    contacts.mkdir(parents=True)
    (contacts / "ada.vcf").write_text(ADA, newline="")
    (contacts / "alan.vcf").write_text(ALAN, newline="")
    (root / "small.bin").write_bytes(bytes(range(256)) * 64)
    with open(root / "big.bin", "wb") as f:
        f.truncate(BIG)


class DeviceThread:
    """A virtual device serving ``root`` (storage "Phone") on 127.0.0.1 from its own thread."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.device = VirtualDevice(
            [StorageSpec(root, "Phone")], state_dir=state, friendly_name="services test"
        )
        _, self.port = self.run(self.device.serve("127.0.0.1", 0))
        self.url = f"ptpip://127.0.0.1:{self.port}"

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the device's loop thread."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def handle_of(self, name: str) -> int:
        """The handle of a file at the root of the "Phone" storage."""

        def find() -> int:
            store = self.device.store
            return next(o.handle for o in store.children(0x00010001) if o.name == name)

        return self.call(find)

    def method_objects(self) -> int:
        return self.call(lambda: len(self.device.services.methods))

    def close(self) -> None:
        self.run(self.device.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true (False after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def open_service(url: str, guid: object, **client: object) -> Any:
    """A PortableDeviceService open on the first service of type ``guid`` of ``url``."""
    from openwpd.wpd import PortableDeviceValues, keys
    from openwpd.wpd.services import PortableDeviceService, PortableDeviceServiceManager

    (pnp,) = PortableDeviceServiceManager().get_device_services(url, guid)  # type: ignore[arg-type]
    info = PortableDeviceValues()
    info[keys.WPD_CLIENT_NAME] = "pytest services"
    for name, value in client.items():
        info[getattr(keys, name)] = value
    service = PortableDeviceService()
    service.open(pnp, info)
    return service
