"""Helpers for the WPD API tests (importable as ``wpd_support``): a virtual device served from
a thread of its own, and the client information WPD's Open wants.

The WPD API is synchronous and runs the client on its own background loop, so the device must
not live on the test's event loop (a blocking WPD call would stop it): :class:`ThreadedDevice`
runs a :class:`~openwpd.server.device.VirtualDevice` on a loop in a separate thread.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.wpd import PortableDeviceValues, keys


class ThreadedDevice:
    """A virtual device serving ``root`` (storage "Phone") on 127.0.0.1 from its own thread."""

    def __init__(
        self,
        root: Path,
        state: Path,
        *,
        read_only: bool = False,
        camera: bool = False,
        allow_format: bool = False,
    ) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.device = VirtualDevice(
            [StorageSpec(root, "Phone", read_only=read_only)],
            state_dir=state,
            friendly_name="test device",
            camera=camera,
            allow_format=allow_format,
        )
        _, self.port = self.run(self.device.serve("127.0.0.1", 0))
        self.url = f"ptpip://127.0.0.1:{self.port}"

    def run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self.run(self.device.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def client_info(name: str = "pytest") -> PortableDeviceValues:
    info = PortableDeviceValues()
    info[keys.WPD_CLIENT_NAME] = name
    info[keys.WPD_CLIENT_MAJOR_VERSION] = 1
    return info


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as module ``name`` (in process, so coverage counts it)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
