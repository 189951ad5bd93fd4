"""The flow of Microsoft's WpdApiSample (Windows-classic-samples PortableDeviceCOM) with openwpd's
WPD API.

Usage::

    python examples/wpd_api_sample.py [DEVICE_URL]

The device comes from the argument, else from OPENWPD_DEVICES (the first one); with neither, the
sample starts openwpd's virtual MTP device over a temporary folder and uses that.

Steps: enumerate devices and print their names; open one with client information; enumerate
all content recursively; read properties; read a resource into a local file; create an object
with properties and data from a local file; create a folder; move the new object into it;
register for events and see them arrive; delete; and cancel -- a large read on one handle is
cancelled from another thread while a second handle on the same device keeps working.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openwpd.wpd import (
    E_NOTIMPL,
    ENV_DEVICES,
    HRESULT_CANCELLED,
    PORTABLE_DEVICE_DELETE_WITH_RECURSION,
    SECURITY_IMPERSONATION,
    STGM_READ,
    WPD_CLIENT_MAJOR_VERSION,
    WPD_CLIENT_MINOR_VERSION,
    WPD_CLIENT_NAME,
    WPD_CLIENT_REVISION,
    WPD_CLIENT_SECURITY_QUALITY_OF_SERVICE,
    WPD_CONTENT_TYPE_FOLDER,
    WPD_DEVICE_OBJECT_ID,
    WPD_EVENT_PARAMETER_EVENT_ID,
    WPD_OBJECT_CONTENT_TYPE,
    WPD_OBJECT_FORMAT,
    WPD_OBJECT_NAME,
    WPD_OBJECT_ORIGINAL_FILE_NAME,
    WPD_OBJECT_PARENT_ID,
    WPD_OBJECT_PERSISTENT_UNIQUE_ID,
    WPD_OBJECT_SIZE,
    WPD_RESOURCE_DEFAULT,
    PortableDevice,
    PortableDeviceContent,
    PortableDeviceKeyCollection,
    PortableDeviceManager,
    PortableDeviceValues,
    VarType,
    WpdError,
    guid_name,
)

BIG_SIZE = 256 * 1024 * 1024


def client_info() -> PortableDeviceValues:
    """The client information the WPD samples send."""
    info = PortableDeviceValues()
    info.set_string_value(WPD_CLIENT_NAME, "openwpd WpdApiSample")
    info.set_unsigned_integer_value(WPD_CLIENT_MAJOR_VERSION, 1)
    info.set_unsigned_integer_value(WPD_CLIENT_MINOR_VERSION, 0)
    info.set_unsigned_integer_value(WPD_CLIENT_REVISION, 2)
    info.set_unsigned_integer_value(WPD_CLIENT_SECURITY_QUALITY_OF_SERVICE, SECURITY_IMPERSONATION)
    return info


@contextmanager
def virtual_device() -> Iterator[str]:
    """The built-in virtual device over a temporary folder, served from a thread; yields its
    URL."""
    from openwpd.server.background import device_in_thread
    from openwpd.server.device import StorageSpec

    with tempfile.TemporaryDirectory(prefix="wpd-sample-") as tmp:
        root = Path(tmp) / "Phone"
        (root / "DCIM" / "Camera").mkdir(parents=True)
        (root / "DCIM" / "Camera" / "IMG_0001.jpg").write_bytes(os.urandom(200_000))
        (root / "Music").mkdir()
        (root / "notes.txt").write_text("hello from the virtual device\n")
        with open(root / "big.bin", "wb") as f:
            f.truncate(BIG_SIZE)  # sparse: the cancel demo reads it
        with device_in_thread(
            [StorageSpec(root, "Phone")], state_dir=Path(tmp) / "state", friendly_name="Sample"
        ) as (_, url):
            yield url


def enumerate_all(content: PortableDeviceContent, object_id: str, depth: int = 0) -> list[str]:
    """Recursive EnumObjects from ``object_id``, printing the tree; returns every id."""
    properties = content.properties()
    name = properties.get_values(object_id, [WPD_OBJECT_NAME]).get(WPD_OBJECT_NAME)
    print(f"{'  ' * depth}{object_id}  {name}")
    found = [object_id]
    enumerator = content.enum_objects(object_id)
    while True:
        batch = enumerator.next(10)
        for child in batch:
            found += enumerate_all(content, child, depth + 1)
        if len(batch) < 10:  # S_FALSE: the enumeration is over
            return found


def find(content: PortableDeviceContent, parent: str, name: str) -> str:
    """The child of ``parent`` called ``name``."""
    properties = content.properties()
    for child in content.enum_objects(parent):
        if properties.get_values(child, [WPD_OBJECT_NAME]).get(WPD_OBJECT_NAME) == name:
            return child
    raise LookupError(name)


def transfer_from_device(content: PortableDeviceContent, object_id: str, folder: Path) -> Path:
    """GetStream(WPD_RESOURCE_DEFAULT, STGM_READ) into a local file named by
    WPD_OBJECT_ORIGINAL_FILE_NAME."""
    values = content.properties().get_values(object_id, [WPD_OBJECT_ORIGINAL_FILE_NAME])
    name = values.get(WPD_OBJECT_ORIGINAL_FILE_NAME)
    target = folder / (name if isinstance(name, str) else f"{object_id}.data")
    stream, optimal = content.transfer().get_stream(object_id, WPD_RESOURCE_DEFAULT, STGM_READ)
    with stream, open(target, "wb") as out:
        while chunk := stream.read(optimal):
            out.write(chunk)
    print(f"read {object_id} into {target} ({target.stat().st_size} bytes)")
    return target


def transfer_to_device(content: PortableDeviceContent, source: Path, parent: str) -> str:
    """CreateObjectWithPropertiesAndData from a local file; returns the new object's id."""
    values = PortableDeviceValues()
    values[WPD_OBJECT_PARENT_ID] = parent
    values[WPD_OBJECT_SIZE] = source.stat().st_size
    values[WPD_OBJECT_ORIGINAL_FILE_NAME] = source.name
    values[WPD_OBJECT_NAME] = source.name
    stream, optimal = content.create_object_with_properties_and_data(values)
    with stream, open(source, "rb") as f:
        while chunk := f.read(optimal):
            stream.write(chunk)
        stream.commit()
        object_id = stream.get_object_id()
    print(f"created {object_id} from {source}")
    return object_id


def create_folder(content: PortableDeviceContent, parent: str, name: str) -> str:
    """CreateObjectWithPropertiesOnly with content type FOLDER."""
    values = PortableDeviceValues()
    values[WPD_OBJECT_PARENT_ID] = parent
    values[WPD_OBJECT_NAME] = name
    values[WPD_OBJECT_CONTENT_TYPE] = WPD_CONTENT_TYPE_FOLDER
    object_id = content.create_object_with_properties_only(values)
    print(f"created folder {object_id} ({name})")
    return object_id


class EventPrinter:
    """IPortableDeviceEventCallback: prints and remembers the events."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.arrived = threading.Event()

    def on_event(self, values: PortableDeviceValues) -> None:
        event = guid_name(values.get_guid_value(WPD_EVENT_PARAMETER_EVENT_ID))
        self.seen.append(event)
        self.arrived.set()
        print(f"  event {event} {values.get(WPD_OBJECT_NAME) or ''}")


def cancel_demo(url: str, big: str, small: str) -> tuple[bool, str]:
    """Handle A reads ``big`` in one thread, handle B downloads ``small``; A is cancelled from
    the main thread. Returns (A was cancelled, B's SHA-256)."""
    a, b = PortableDevice(), PortableDevice()
    a.open(url, client_info())
    b.open(url, client_info())
    outcome: dict[str, object] = {}

    def read_big() -> None:
        stream, optimal = a.content().transfer().get_stream(big, WPD_RESOURCE_DEFAULT, STGM_READ)
        try:
            with stream:
                while stream.read(optimal):
                    pass
            outcome["a"] = "finished"
        except WpdError as exc:
            outcome["a"] = exc.hresult

    def read_small() -> None:
        digest = hashlib.sha256()
        stream, optimal = b.content().transfer().get_stream(small, WPD_RESOURCE_DEFAULT, STGM_READ)
        with stream:
            while chunk := stream.read(optimal):
                digest.update(chunk)
        outcome["b"] = digest.hexdigest()

    threads = [threading.Thread(target=read_big), threading.Thread(target=read_small)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    a.cancel()  # from another thread: only handle A's operations are cancelled
    for thread in threads:
        thread.join()
    after = a.content().properties().get_values(WPD_DEVICE_OBJECT_ID)  # A works again
    a_result = outcome["a"]
    a_text = f"0x{a_result:08X}" if isinstance(a_result, int) else str(a_result)
    print(
        f"cancel: A -> {a_text}, B -> sha256 {outcome['b']}, A then read "
        f"{len(after)} device properties"
    )
    a.close()
    b.close()
    return outcome["a"] == HRESULT_CANCELLED, str(outcome["b"])


def run(url: str, workdir: Path) -> dict[str, object]:
    """The whole sample against ``url``; returns what it observed (for tests)."""
    manager = PortableDeviceManager([url])
    for device_id in manager.get_devices():
        print(
            f"{device_id}: {manager.get_device_friendly_name(device_id)!r} by "
            f"{manager.get_device_manufacturer(device_id)!r} "
            f"({manager.get_device_description(device_id)!r})"
        )
    device = PortableDevice()
    device.open(url, client_info())
    try:
        content = device.content()
        printer = EventPrinter()
        cookie = device.advise(printer)
        every = enumerate_all(content, WPD_DEVICE_OBJECT_ID)
        storage = next(iter(content.enum_objects(WPD_DEVICE_OBJECT_ID)))
        keys = PortableDeviceKeyCollection(
            [
                WPD_OBJECT_PARENT_ID,
                WPD_OBJECT_NAME,
                WPD_OBJECT_PERSISTENT_UNIQUE_ID,
                WPD_OBJECT_FORMAT,
                WPD_OBJECT_CONTENT_TYPE,
            ]
        )
        try:
            notes = find(content, storage, "notes.txt")
        except LookupError:  # another device: the first file there is
            properties = content.properties()
            notes = next(
                i
                for i in every
                if WPD_OBJECT_SIZE in properties.get_values(i, [WPD_OBJECT_SIZE])
                and properties.get_values(i, [WPD_OBJECT_SIZE]).get_value(WPD_OBJECT_SIZE).vt
                != VarType.ERROR
            )
        for key, value in content.properties().get_values(notes, keys).items():
            print(f"  {key.name} = {value}")
        local = transfer_from_device(content, notes, workdir)
        copy = local.with_name("notes (copy).txt")
        copy.write_bytes(local.read_bytes())
        created = transfer_to_device(content, copy, storage)
        folder = create_folder(content, storage, "From the sample")
        try:
            content.move([created], folder)
        except WpdError as exc:
            if exc.hresult != E_NOTIMPL:
                raise
            # not every device can move objects (umtprd 1.3 has no MoveObject): WPD says so
            # with E_NOTIMPL, and a program goes on without it
            print("  the device cannot move objects (E_NOTIMPL): the copy stays where it is")
            content.delete(PORTABLE_DEVICE_DELETE_WITH_RECURSION, [created])
        printer.arrived.wait(5)
        content.delete(PORTABLE_DEVICE_DELETE_WITH_RECURSION, [folder])
        time.sleep(0.5)
        device.unadvise(cookie)
        try:
            big = find(content, storage, "big.bin")
            camera = find(content, find(content, storage, "DCIM"), "Camera")
            photo = find(content, camera, "IMG_0001.jpg")
        except LookupError:
            print("cancel demo skipped: it needs big.bin and DCIM/Camera/IMG_0001.jpg")
            cancelled, digest = False, ""
        else:
            cancelled, digest = cancel_demo(url, big, photo)
        return {
            "objects": every,
            "downloaded": local.read_bytes(),
            "events": printer.seen,
            "cancelled": cancelled,
            "digest": digest,
        }
    finally:
        device.close()


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get(ENV_DEVICES, "").split(",")[0].strip()
    with tempfile.TemporaryDirectory(prefix="wpd-sample-out-") as out:
        if url:
            run(url, Path(out))
        else:
            with virtual_device() as local_url:
                run(local_url, Path(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
