"""``wpd tour``: a guided walk through openwpd against the built-in virtual device (``make run``).

It starts the virtual device in-process on an ephemeral loopback port over a temporary folder of
generated sample content (:mod:`openwpd.server.samples`), talks to it over real PTP/IP and shows
each step: the device found from the device list, open, capabilities, the content tree, the
properties and thumbnail of a photo, a download with a progress bar, an upload, a rename, a
delete, the events that arrive meanwhile, the contacts, and the centre of openwpd: a large
download cancelled on the wire with ``cancel()`` while a second handle's transfer finishes, and
the first handle working again. It ends with the ``wpd`` commands to try next.

The tour runs on the async client (:mod:`openwpd.client`); it moves onto the WPD API
(:mod:`openwpd.wpd`) as that lands. It must finish in well under a minute and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
import time
from contextlib import aclosing
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from openwpd.cli._core import ENV_DEVICES, CliError, ExitCode, translate
from openwpd.cli._output import format_name, human_size
from openwpd.cli._remote import Walked, walk
from openwpd.client import Connection, DeviceEvent, Entry, Handle, Storage, open_connection
from openwpd.client import services as svc
from openwpd.protocol.codes import ObjectPropCode, ResponseCode, describe
from openwpd.protocol.errors import HRESULT_CANCELLED, Cancelled, OpenWpdError
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.server.samples import BIG_NAME, SampleSet, make_samples, photo

#: The large sample the tour cancels (sparse: no disk, reads as zeros).
BIG = 512 * 1024 * 1024
#: The share of the large download after which the tour cancels it.
CANCEL_AT = 0.2
#: The second handle's transfer that runs alongside (and finishes).
SIDE_LENGTH = 48 * 1024 * 1024

_P = ObjectPropCode


@click.command()
def tour() -> None:
    """Walk through openwpd against the built-in virtual device (what `make run` runs)."""
    con = Console(highlight=False, soft_wrap=True)
    started = time.monotonic()
    try:
        asyncio.run(_tour(con))
    except (OpenWpdError, OSError) as exc:
        raise translate(exc, "tour") from None
    except KeyboardInterrupt:
        raise CliError("interrupted", ExitCode.INTERRUPTED) from None
    con.print(f"[dim]tour finished in {time.monotonic() - started:.1f} s[/]")


async def _tour(con: Console) -> None:
    with tempfile.TemporaryDirectory(prefix="openwpd-tour-") as tmp:
        base = Path(tmp)
        samples = make_samples(base / "Phone", big_size=BIG)
        device = VirtualDevice(
            [StorageSpec(samples.root, "Phone")],
            friendly_name="openwpd tour device",
            state_dir=base / "state",
        )
        host, port = await device.serve("127.0.0.1", 0)
        url = f"ptpip://{host}:{port}"
        con.rule("[bold]openwpd tour")
        con.print(
            f"A virtual MTP device serves generated sample content ({len(samples.files)} files: "
            f"photos with EXIF thumbnails, music, documents, contacts, calendar entries) "
            f"at [green]{url}[/]."
        )
        try:
            await _walk(con, url, samples, base)
        finally:
            await device.aclose()
    _next_steps(con)


def _step(con: Console, n: int, title: str) -> None:
    con.print()
    con.print(f"[bold cyan]{n}. {title}[/]")


async def _walk(con: Console, url: str, samples: SampleSet, base: Path) -> None:
    _step(con, 1, "The device manager finds the device")
    # the WPD API is synchronous (it runs the client on a loop of its own): call it from a
    # worker thread so that this loop, which also runs the virtual device, goes on
    found, names = await asyncio.to_thread(_manager, url)
    con.print(f"   PortableDeviceManager (told {url}, as {ENV_DEVICES} would):")
    con.print(f"   get_devices() -> {found}")
    con.print(f"   friendly name {names[0]!r}, description {names[1]!r}, manufacturer {names[2]!r}")

    _step(con, 2, "Open it (PTP/IP handshake, OpenSession, DeviceInfo)")
    async with open_connection(found[0], client_name="openwpd tour") as conn:
        h = conn.open_handle()
        info = conn.device_info
        con.print(
            f"   {info.manufacturer} {info.model} {info.device_version}, "
            f"serial {info.serial_number}"
        )
        _capabilities(con, conn)
        storages = await h.storages()
        _step(con, 4, "The content tree")
        phone = next(s for s in storages if s.description == "Phone")
        items = await walk(h, phone)
        _tree(con, phone, items)
        entries = {w.relative: w.entry for w in items}
        await _photo(con, h, entries["DCIM/Camera/IMG_0001.jpg"])
        await _transfers(con, h, entries, samples, base)
        await _contacts(con, h, storages)
        big = entries[f"Backups/{BIG_NAME}"]
        await _cancel(con, conn, h, big, base)
        song = entries["Music/Morning.wav"]
        _step(con, 13, "The same through the WPD API: PortableDevice.cancel()")
        for line in await asyncio.to_thread(_wpd_cancel, url, big.handle, song.handle):
            con.print(f"   {line}")
        _step(con, 14, "Close: CloseSession, the link closes")
    con.print("   done; the virtual device stops with the tour.")


def _manager(url: str) -> tuple[list[str], tuple[str, str, str]]:
    from openwpd.wpd import PortableDeviceManager

    manager = PortableDeviceManager([url])
    found = manager.get_devices()
    device = found[0]
    return found, (
        manager.get_device_friendly_name(device),
        manager.get_device_description(device),
        manager.get_device_manufacturer(device),
    )


def _capabilities(con: Console, conn: Connection) -> None:
    _step(con, 3, "Capabilities")
    info = conn.device_info
    policy = conn.policy
    con.print(
        f"   {len(info.operations_supported)} operations, {len(info.events_supported)} events, "
        f"{len(info.playback_formats)} formats; extensions: {info.vendor_extension_desc}"
    )
    listing = "GetObjectPropList (one transaction per folder)" if policy.prop_list else "per object"
    reads = "GetPartialObject64 windows" if policy.partial_read else "one GetObject"
    writes = "edit sessions (SendPartialObject windows)" if policy.windowed_upload else "SendObject"
    con.print(f"   openwpd will list with {listing}, read in {reads}, write through {writes}.")


def _tree(con: Console, storage: Storage, items: list[Walked]) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column(f"   /{storage.description}")
    table.add_column("size", justify="right")
    table.add_column("format")
    for item in items:
        entry = item.entry
        name = "   " + "  " * item.depth + entry.name + ("/" if entry.is_folder else "")
        size = "" if entry.is_folder else human_size(entry.size)
        table.add_row(name, size, "" if entry.is_folder else format_name(entry.format))
    con.print(table)
    files = [i for i in items if not i.entry.is_folder]
    con.print(f"   {len(files)} files in {len(items) - len(files)} folders")


async def _photo(con: Console, h: Handle, entry: Entry) -> None:
    _step(con, 5, f"Properties of a photo: {entry.path}")
    props = await h.get_properties(entry)
    for code in (_P.OBJECT_FILE_NAME, _P.OBJECT_SIZE, _P.DATE_MODIFIED, _P.OBJECT_FORMAT):
        value = props.get(code)
        shown = format_name(value) if code == _P.OBJECT_FORMAT and isinstance(value, int) else value
        con.print(f"   {code.name:<28} {shown}")
    puid = props.get(_P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER)
    if isinstance(puid, int):
        con.print(f"   {'PERSISTENT_UNIQUE_OBJECT_ID':<28} {puid:032x}")
    con.print(f"   ({len(props)} properties in one GetObjectPropList)")
    thumb = await h.thumbnail(entry)
    kind = "a JPEG" if thumb[:2] == b"\xff\xd8" else "not a JPEG?"
    con.print(f"   thumbnail (GetThumb, from the EXIF IFD1): {len(thumb):,} bytes, {kind}")


def _progress(con: Console) -> Progress:
    return Progress(
        TextColumn("   {task.description:<24}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=con,
    )


async def _expect_events(
    con: Console, events: asyncio.Queue[DeviceEvent], names: set[str], timeout: float = 3.0
) -> None:
    """Print the events that arrive until one of each of ``names`` was seen (or a timeout)."""
    missing = set(names)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while missing:
                event = await events.get()
                params = " ".join(f"0x{p:08X}" for p in event.params)
                con.print(f"   [magenta]event[/] {event.name} {params}")
                missing.discard(event.name.split(" ")[0])


async def _transfers(
    con: Console, h: Handle, entries: dict[str, Entry], samples: SampleSet, base: Path
) -> None:
    queue: asyncio.Queue[DeviceEvent] = asyncio.Queue()
    stream = h.events()

    async def pump() -> None:
        async for event in stream:
            queue.put_nowait(event)

    pumping = asyncio.create_task(pump())
    try:
        song = entries["Music/Überlied 🎵.wav"]
        _step(con, 6, f"Download with a progress bar: {song.name}")
        target = base / "download.wav"
        with _progress(con) as bars:
            task = bars.add_task(song.name, total=song.size)
            await h.download(
                song, target, progress=lambda done, _t: bars.update(task, completed=done)
            )
        same = target.read_bytes() == (samples.root / "Music" / song.name).read_bytes()
        con.print(
            f"   {song.size:,} bytes, identical to the device's file: "
            + ("[green]yes[/]" if same else "[red]NO[/]")
        )

        _step(con, 7, "Upload a new photo into DCIM/Camera")
        picture = base / "IMG_9000.jpg"
        picture.write_bytes(photo(9000))
        camera = entries["DCIM/Camera"]
        with _progress(con) as bars:
            task = bars.add_task(picture.name, total=picture.stat().st_size)
            uploaded = await h.upload(
                picture, camera, progress=lambda done, _t: bars.update(task, completed=done)
            )
        con.print(f"   created {uploaded.path} ({uploaded.size:,} bytes)")
        await _expect_events(con, queue, {"OBJECT_ADDED"})

        _step(con, 8, "Rename it")
        renamed = await h.rename(uploaded, "Holiday 2024.jpg")
        con.print(f"   {uploaded.name} -> {renamed.path}")
        await _expect_events(con, queue, {"OBJECT_INFO_CHANGED", "OBJECT_PROP_CHANGED"}, 1.0)

        _step(con, 9, "Delete it")
        await h.delete(renamed)
        con.print(f"   deleted {renamed.path}")
        await _expect_events(con, queue, {"OBJECT_REMOVED"})

        _step(con, 10, "Events from outside: another program drops a file into the served folder")
        (samples.root / "Documents" / "dropped.txt").write_text("hello from outside\n")
        await _expect_events(con, queue, {"OBJECT_ADDED"}, 5.0)
    finally:
        await stream.aclose()
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumping


async def _contacts(con: Console, h: Handle, storages: list[Storage]) -> None:
    _step(con, 11, "Services: Contacts enumerated, methods invoked")
    contacts = next((s for s in storages if s.description == "Contacts"), None)
    if contacts is None:
        con.print("   (the device has no Contacts storage)")
        return
    names = []
    async with aclosing(h.list(contacts)) as listing:
        async for entry in listing:
            names.append(entry)
    for entry in names:
        props = await h.get_properties(entry)
        fields = [
            str(props[c])
            for c in (_P.GIVEN_NAME, _P.FAMILY_NAME, _P.PHONE_NUMBER_MOBILE, _P.EMAIL_PRIMARY)
            if c in props and props[c] != entry.name
        ]
        if not fields:  # no field view from this device: read the vCard itself
            card = (await h.read(entry)).decode("utf-8", "replace").splitlines()
            fields = [line.split(":", 1)[1] for line in card if line.startswith(("FN", "TEL"))]
        con.print(f"   {entry.name:<24} {' | '.join(fields)}")
    await _methods(con, h)


async def _methods(con: Console, h: Handle) -> None:
    """The Diagnostics service: a method invoked synchronously, one asynchronously (others go
    on meanwhile), and one cancelled."""
    found = {d.info.name: d for d in await svc.services(h)}
    con.print(f"   services: {', '.join(found)}")
    diag = found.get("Diagnostics")
    if diag is None:
        return
    methods = {m.name: m.code for m in diag.info.methods}
    params = {p.name: p.code for m in methods.values() for p in diag.params(m)}
    service = await svc.open_service(h.connection, diag.service_id)
    try:
        echo = await service.invoke(methods["Echo"], {params["Text"]: "hello, device"})
        con.print(f"   Diagnostics.Echo(Text='hello, device') -> {echo.get(params['Result'])!r}")
        slow = service.invocation(methods["Sleep"], {params["Milliseconds"]: 400})
        started = time.perf_counter()
        running = asyncio.create_task(slow.run())
        quick = await service.invoke(methods["Echo"], {params["Text"]: "meanwhile"})
        quick_ms = (time.perf_counter() - started) * 1000
        outcome = await running
        slow_ms = (time.perf_counter() - started) * 1000
        con.print(
            f"   Sleep(400 ms) started asynchronously; Echo({quick.get(params['Result'])!r}) "
            f"answered after {quick_ms:.0f} ms; Sleep completed (MethodComplete event, "
            f"{describe(ResponseCode, outcome.code)}) after {slow_ms:.0f} ms"
        )
        doomed = service.invocation(methods["Sleep"], {params["Milliseconds"]: 60_000})
        waiting = asyncio.create_task(doomed.run())
        await asyncio.sleep(0.1)
        doomed.cancel()
        try:
            await waiting
            con.print("   [red]the cancelled Sleep completed?[/]")
        except Cancelled as exc:
            con.print(
                f"   Sleep(60 s) cancelled after 0.1 s: Cancelled, HRESULT 0x{exc.hresult:08X}"
            )
    finally:
        await service.aclose()


async def _cancel(con: Console, conn: Connection, h: Handle, big: Entry, base: Path) -> None:
    _step(con, 12, "Cancel: a large download cancelled on the wire, another handle unaffected")
    other = conn.open_handle()
    con.print(
        f"   handle A downloads {big.name} ({human_size(big.size)}); handle B reads "
        f"{human_size(SIDE_LENGTH)} of it at the same time (one MTP session, turns round-robin)"
    )
    reached = asyncio.Event()
    a_done = 0
    with _progress(con) as bars:
        a_bar = bars.add_task("A (to be cancelled)", total=big.size)
        b_bar = bars.add_task("B", total=SIDE_LENGTH)

        def a_progress(done: int, _total: int | None) -> None:
            nonlocal a_done
            a_done = done
            bars.update(a_bar, completed=done)
            if done >= big.size * CANCEL_AT:
                reached.set()

        a_task = asyncio.create_task(h.download(big, base / "big.bin", progress=a_progress))
        b_task = asyncio.create_task(
            other.download(
                big,
                base / "side.bin",
                length=SIDE_LENGTH,
                progress=lambda done, _t: bars.update(b_bar, completed=done),
            )
        )
        waiter = asyncio.create_task(reached.wait())
        await asyncio.wait([waiter, a_task], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        started = time.perf_counter()
        await h.cancel()
        took = (time.perf_counter() - started) * 1000
        try:
            await a_task
            outcome = "[red]it completed (the cancel came too late)[/]"
        except Cancelled as exc:
            outcome = f"it failed with Cancelled, HRESULT [bold]0x{exc.hresult:08X}[/]"
            if exc.hresult == HRESULT_CANCELLED:
                outcome += " = HRESULT_FROM_WIN32(ERROR_CANCELLED)"
        b_bytes = await b_task
    con.print(f"   A: cancel() after {human_size(a_done)} returned in {took:.1f} ms; {outcome}")
    con.print(f"   A's partial file kept: {'yes' if (base / 'big.bin').exists() else 'no'}")
    con.print(f"   B: finished, {b_bytes:,} bytes")
    head = await h.read(big, 0, 1024 * 1024)
    digest = hashlib.sha256(head).hexdigest()[:16]
    con.print(
        f"   A works again: read {len(head):,} bytes (sha256 {digest}...) "
        + ("[green]OK[/]" if head == bytes(len(head)) else "[red]WRONG[/]")
    )
    await other.aclose()


def _wpd_cancel(url: str, big: int, small: int) -> list[str]:
    """Handle A reads ``big`` through a WPD stream in a thread, handle B reads ``small``; A is
    cancelled from this thread once it is under way; then A reads again. Returns report lines."""
    import threading

    from openwpd.wpd import STGM_READ, WPD_RESOURCE_DEFAULT, PortableDevice, WpdError
    from openwpd.wpd.mapping import object_id_for_handle

    a, b = PortableDevice(), PortableDevice()
    a.open(url)
    b.open(url)
    outcome: dict[str, str] = {}
    started = threading.Event()
    try:

        def read_big() -> None:
            stream, optimal = (
                a.content()
                .transfer()
                .get_stream(object_id_for_handle(big), WPD_RESOURCE_DEFAULT, STGM_READ)
            )
            done = 0
            try:
                while chunk := stream.read(optimal):
                    done += len(chunk)
                    started.set()
                outcome["a"] = f"read all {done:,} bytes (the cancel came too late)"
            except WpdError as exc:
                outcome["a"] = f"WpdError, hresult 0x{exc.hresult:08X}, after {human_size(done)}"
            finally:
                started.set()
                stream.close()

        def read_small() -> None:
            stream, optimal = (
                b.content()
                .transfer()
                .get_stream(object_id_for_handle(small), WPD_RESOURCE_DEFAULT, STGM_READ)
            )
            digest = hashlib.sha256()
            with contextlib.closing(stream):
                while chunk := stream.read(optimal):
                    digest.update(chunk)
            outcome["b"] = digest.hexdigest()[:16]

        reader = threading.Thread(target=read_big)
        reader.start()
        started.wait(30)
        side = threading.Thread(target=read_small)
        side.start()
        a.cancel()  # from another thread: only handle A's operations are cancelled
        reader.join(60)
        side.join(60)
        stream, optimal = (
            a.content()
            .transfer()
            .get_stream(object_id_for_handle(small), WPD_RESOURCE_DEFAULT, STGM_READ)
        )
        with contextlib.closing(stream):
            again = stream.read(optimal)
    finally:
        a.close()
        b.close()
    return [
        f"handle A's stream read: {outcome.get('a', '?')}",
        f"handle B read another file meanwhile: sha256 {outcome.get('b', '?')}...",
        f"handle A after cancel(): read {len(again):,} bytes "
        + ("[green]OK[/]" if again else "[red]nothing[/]"),
    ]


def _next_steps(con: Console) -> None:
    con.rule("[bold]next")
    con.print("Serve a folder of your own as a device (--samples fills it with sample content):")
    con.print("   wpd serve ~/Pictures:Photos            # prints: serving ptpip://127.0.0.1:15740")
    con.print("   wpd serve --samples /tmp/phone:Phone   # the tour's content")
    con.print("Then, in another terminal:")
    for line in (
        "export OPENWPD_DEVICE=ptpip://127.0.0.1:15740",
        "wpd info",
        "wpd ls -l /Photos",
        "wpd tree /Photos",
        "wpd get /Photos/some-folder ./copy        # progress bars; Ctrl-C cancels on the wire",
        "wpd put ./notes.txt /Photos",
        "wpd sync /Photos ./backup                 # only what is missing or changed",
        "wpd watch                                 # events as they happen",
        "wpd ls --json /Photos | jq .",
    ):
        con.print(f"   {line}")
    con.print("Any PTP/IP initiator works too: gphoto2 --port ptpip:127.0.0.1:15740 --list-files")
