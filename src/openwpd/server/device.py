"""The virtual MTP device: folders served as storages, reachable over PTP/IP.

:class:`VirtualDevice` ties the pieces together: the object store (``server/store``), the device
properties, the handler registry (``server/handlers``), one :class:`DeviceSession` per connected
initiator, and the fan-out of events (changes made through any session, or to the folders on disk
by other programs) to every session.

Identity: the device GUID, and the serial number derived from it, live in the user's state
directory with the store's other state, so a device serving the same folders keeps its identity
across restarts and never writes into the folders it serves.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openwpd.protocol import ptpip
from openwpd.protocol.codes import EventCode, ObjectFormatCode, OperationCode
from openwpd.protocol.datasets import DeviceInfo, format_vendor_extensions
from openwpd.protocol.messages import Event
from openwpd.protocol.profiles import Imitation, Profile
from openwpd.server import handlers as _handlers  # noqa: F401  (registers every handler)
from openwpd.server import objprops
from openwpd.server.camera import Camera
from openwpd.server.handlers.capture import CAMERA_OPERATIONS
from openwpd.server.handlers.edits import OpenEdit
from openwpd.server.properties import DeviceProperties
from openwpd.server.registry import supported_operations
from openwpd.server.services import DeviceServices
from openwpd.server.session import DeviceSession
from openwpd.server.store import ObjectStore, StoreError, StoreEvent, StoreEventKind
from openwpd.transport.link import Link
from openwpd.transport.ptpip import DEFAULT_PORT, PtpIpLink, PtpIpListener, ResponderIdentity

log = logging.getLogger("openwpd.server")

MANUFACTURER = "openwpd"
MODEL = "Virtual MTP Device"
CAMERA_MODEL = "Virtual Camera"
VERSION = "0.1"

#: store events from the watcher's thread broadcast per loop pass (see _on_store_event)
EVENT_SLICE = 256

#: The vendor extensions we announce (MTP vendor extension strings: every item ends with ';'). We do
#: not announce android.com: libmtp would then stop using GetObjectPropList with us (PTP); the
#: Android operations are still listed in OperationsSupported, which is what initiators check.
VENDOR_EXTENSIONS = {"microsoft.com": "1.0", "microsoft.com/DeviceServices": "1.0"}

F = ObjectFormatCode
#: The formats we announce in DeviceInfo: what a phone holds, not every code there is (gphoto's
#: --summary prints the properties of each announced format and stops at 32 KiB). Files of
#: other types are still served, each with its own format code.
PLAYBACK_FORMATS: tuple[int, ...] = tuple(
    sorted(
        {
            F.UNDEFINED,
            F.ASSOCIATION,
            F.TEXT,
            F.HTML,
            F.XML_DOCUMENT,
            F.EXIF_JPEG,
            F.PNG,
            F.GIF,
            F.BMP,
            F.TIFF,
            F.DNG,
            F.HEIF,
            F.MP3,
            F.WAV,
            F.AAC,
            F.FLAC,
            F.OGG,
            F.WMA,
            F.M4A,
            F.AIFF,
            F.MP4_CONTAINER,
            F.THREE_GP,
            F.AVI,
            F.MPEG,
            F.QUICKTIME,
            F.WMV,
            F.ASF,
            F.VCARD2,
            F.VCARD3,
            F.ICALENDAR,
            F.VCALENDAR1,
            F.MS_WORD,
            F.MS_EXCEL,
            F.MS_POWERPOINT,
            F.M3U_PLAYLIST,
            F.PLS_PLAYLIST,
            F.WPL_PLAYLIST,
            F.ABSTRACT_AV_PLAYLIST,
        }
    )
)

EVENTS_SUPPORTED = (
    EventCode.OBJECT_ADDED,
    EventCode.OBJECT_REMOVED,
    EventCode.STORE_ADDED,
    EventCode.STORE_REMOVED,
    EventCode.DEVICE_PROP_CHANGED,
    EventCode.OBJECT_INFO_CHANGED,
    EventCode.STORAGE_INFO_CHANGED,
    EventCode.OBJECT_PROP_CHANGED,
    EventCode.SERVICE_ADDED,
    EventCode.SERVICE_REMOVED,
    EventCode.SERVICE_PROP_CHANGED,
    EventCode.METHOD_COMPLETE,
)

_EVENT_FOR = {
    StoreEventKind.OBJECT_ADDED: EventCode.OBJECT_ADDED,
    StoreEventKind.OBJECT_REMOVED: EventCode.OBJECT_REMOVED,
    StoreEventKind.OBJECT_INFO_CHANGED: EventCode.OBJECT_INFO_CHANGED,
    StoreEventKind.STORAGE_INFO_CHANGED: EventCode.STORAGE_INFO_CHANGED,
    StoreEventKind.STORE_REMOVED: EventCode.STORE_REMOVED,
    StoreEventKind.STORE_ADDED: EventCode.STORE_ADDED,
}

#: how often (seconds) the device looks whether a served folder went away or came back
STORAGE_CHECK_INTERVAL = 1.0


#: what a camera offers even under a profile that lists its operations (ptp-camera)
_CAMERA_ADDS = frozenset({*CAMERA_OPERATIONS, OperationCode.RESET_DEVICE_PROP_VALUE})


@dataclass(frozen=True, slots=True)
class StorageSpec:
    """A folder to serve: ``DIR[:NAME][:ro]`` on the command line."""

    path: Path
    name: str | None = None
    read_only: bool = False

    @classmethod
    def parse(cls, text: str) -> StorageSpec:
        """``DIR``, ``DIR:NAME``, ``DIR:ro``, ``DIR:NAME:ro`` (a Windows drive colon is kept;
        ``ro`` in any case). Anything else is refused with ValueError rather than guessed at:
        a third field other than ``ro`` (``DIR:NAME:rw``), more fields, an empty DIR or NAME,
        or the name ``rw`` (read-write is the default; it is no flag)."""
        parts = text.split(":")
        if len(parts) > 1 and len(parts[0]) == 1 and parts[0].isalpha():  # C:\...
            parts = [parts[0] + ":" + parts[1], *parts[2:]]
        path, rest = parts[0], parts[1:]
        read_only = False
        if rest and rest[-1].lower() == "ro":
            read_only = True
            rest = rest[:-1]
        if not path:
            raise ValueError(f"{text!r}: no folder before the ':'")
        if len(rest) > 1:
            raise ValueError(f"{text!r}: {rest[-1]!r} is not a flag (DIR[:NAME][:ro])")
        name = rest[0] if rest else None
        if name is not None and not name.strip():
            raise ValueError(f"{text!r}: empty storage name")
        if name is not None and name.lower() == "rw":
            raise ValueError(f"{text!r}: 'rw' is not a flag; storages are read-write unless :ro")
        return cls(Path(path), name, read_only)


def check_storage_specs(specs: Sequence[StorageSpec]) -> None:
    """Refuse (ValueError) storages that share a name, or whose folders are the same or one
    inside the other (symlinks resolved): the inner files would be served twice, and a
    ``:ro`` on one would be defeated by the other."""
    seen: list[tuple[StorageSpec, Path]] = []
    names: dict[str, StorageSpec] = {}
    for spec in specs:
        real = Path(os.path.realpath(spec.path))
        name = spec.name or real.name or str(real)
        if name in names:
            raise ValueError(
                f"two storages are named {name!r} ({names[name].path} and {spec.path}); "
                "name them apart with DIR:NAME"
            )
        names[name] = spec
        for other, other_real in seen:
            if real == other_real:
                why = "are the same folder"
            elif real.is_relative_to(other_real) or other_real.is_relative_to(real):
                why = "overlap (one is inside the other)"
            else:
                continue
            raise ValueError(f"storages {other.path} and {spec.path} {why}")
        seen.append((spec, real))


class VirtualDevice:
    """A folder-backed MTP device. Use :meth:`serve` to listen on PTP/IP.

    Raises ValueError for storages with one name or overlapping folders
    (:func:`check_storage_specs`).
    """

    def __init__(
        self,
        storages: Sequence[StorageSpec],
        *,
        friendly_name: str = "openwpd virtual device",
        state_dir: Path | None = None,
        verbose: bool = False,
        strict_tids: bool = True,
        watch: bool = True,
        profile: Profile | None = None,
        camera: bool = False,
        allow_format: bool = False,
        storage_check_interval: float = STORAGE_CHECK_INTERVAL,
    ) -> None:
        check_storage_specs(storages)
        if profile is not None and profile.device is None:
            raise ValueError(f"profile {profile.name!r} describes no device to imitate")
        #: the profile imitated (``wpd serve --profile``), None for openwpd's own behaviour
        self.profile = profile
        #: how this device behaves where devices differ (openwpd's own: every default)
        self.imitation: Imitation = (
            profile.device if profile is not None and profile.device is not None else Imitation()
        )
        self.store = ObjectStore(state_dir=state_dir)
        for spec in storages:
            self.store.add_storage(spec.path, spec.name, spec.read_only)
        self.properties = DeviceProperties(
            friendly_name,
            self._on_property_changed,
            load=self.store.setting,
            save=self.store.save_setting,
            camera=camera,
        )
        #: the still-image function (``camera=True``: ``wpd serve --camera``), else None
        self.camera: Camera | None = Camera(self) if camera else None
        #: FormatStore is offered (``wpd serve --allow-format``): off by default, since it
        #: deletes everything in a served folder at one request
        self.allow_format = allow_format
        self.verbose = verbose
        self.strict_tids = strict_tids
        self.sessions: set[DeviceSession] = set()
        #: encoded GetObjectPropList blocks of this device's objects
        self.prop_lists = objprops.PropListCache()
        #: object references (handle -> referenced handles), in memory only
        self.references: dict[int, tuple[int, ...]] = {}
        #: edits open on objects (BeginEditObject): handle -> the edit and who opened it
        self.open_edits: dict[int, OpenEdit] = {}
        self._listener: PtpIpListener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # store events from the watcher's thread, waiting for the loop (_on_store_event)
        self._foreign_lock = threading.Lock()
        self._foreign_events: collections.deque[tuple[EventCode, int]] = collections.deque()
        self._foreign_scheduled = False
        self._watch = watch
        self._storage_check_interval = storage_check_interval
        self._storage_checker: asyncio.Task[None] | None = None
        self._unsubscribe = self.store.subscribe(self._on_store_event)
        #: MTP Device Services (after the storages: a service storage follows them)
        self.services = DeviceServices(self)

    # -- identity ---------------------------------------------------------------------------

    @property
    def guid(self) -> bytes:
        return self.store.device_guid

    @property
    def serial_number(self) -> str:
        return self.guid.hex().upper()

    @property
    def friendly_name(self) -> str:
        return self.properties.friendly_name

    @property
    def model(self) -> str:
        """The model name: an imitated profile's, else "Virtual Camera" with ``camera=True``."""
        if self.camera is not None and self.profile is None:
            return CAMERA_MODEL
        return self.imitation.model

    def offers(self, code: int) -> bool:
        """Whether this device offers operation ``code`` (it has a handler, the imitated
        profile, if any, does not withhold it, the capture operations only as a camera, FormatStore
        only with ``allow_format``)."""
        if code in CAMERA_OPERATIONS and self.camera is None:
            return False
        if code == OperationCode.FORMAT_STORE and not self.allow_format:
            return False
        imitation = self.imitation
        if code in imitation.withheld:
            return False
        if self.camera is not None and code in _CAMERA_ADDS:
            return True  # --camera adds to any profile (a ptp-camera that can capture)
        return imitation.operations is None or code in imitation.operations

    def device_info(self) -> DeviceInfo:
        """The DeviceInfo dataset, derived from the handler registry (less what an imitated
        profile withholds) and the properties. A camera adds the capture operations,
        CaptureComplete and EXIF/JPEG as capture format."""
        imitation = self.imitation
        extensions = (
            VENDOR_EXTENSIONS
            if imitation.vendor_extensions is None
            else dict(imitation.vendor_extensions)
        )
        events: tuple[int, ...] = EVENTS_SUPPORTED
        if self.camera is not None:
            events = (*events, EventCode.CAPTURE_COMPLETE)
        return DeviceInfo(
            vendor_extension_desc=format_vendor_extensions(extensions) if extensions else "",
            operations_supported=tuple(op for op in supported_operations() if self.offers(op)),
            events_supported=tuple(sorted(events)),
            device_properties_supported=self.properties.supported(),
            capture_formats=(F.EXIF_JPEG,) if self.camera is not None else (),
            playback_formats=PLAYBACK_FORMATS,
            manufacturer=imitation.manufacturer,
            model=self.model,
            device_version=VERSION,
            serial_number=self.serial_number,
        )

    # -- serving ----------------------------------------------------------------------------

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        allowed_guids: Sequence[bytes] | None = None,
        quickack: bool = True,
    ) -> tuple[str, int]:
        """Start listening for PTP/IP initiators; returns the real (host, port).
        ``quickack``: acknowledge at once on every connection (see
        :class:`~openwpd.transport.ptpip.PtpIpListener`)."""
        self._listener = PtpIpListener(
            ResponderIdentity(self.guid, self.friendly_name),
            self._start_session,
            allowed_guids=allowed_guids,
            quickack=quickack,
        )
        self.start_watching()
        return await self._listener.start(host, port)

    def start_watching(self) -> None:
        """Report changes other programs make to the folders as events to every session
        (unless created with ``watch=False``); :meth:`serve` does it. Call on the event loop.
        Idempotent."""
        self._loop = asyncio.get_running_loop()
        if self._watch:
            self.store.start_watching()
            if self._storage_checker is None:
                self._storage_checker = asyncio.create_task(
                    self._check_storages(), name="storage-check"
                )

    async def _check_storages(self) -> None:
        # A served folder that goes away (an unmounted card) gives no event its watcher can
        # rely on (the watch goes with the folder; a later mount at that path is a new folder):
        # a look at each root now and then is what notices it, and its return.
        while True:
            await asyncio.sleep(self._storage_check_interval)
            try:
                self.store.check_storages()
            except StoreError:
                return  # the store closed
            except Exception:
                log.exception("checking the served folders failed")

    def _start_session(
        self, link: PtpIpLink, request: ptpip.InitCommandRequest
    ) -> asyncio.Task[None]:
        if self.verbose:
            log.info("initiator %r connected (GUID %s)", request.friendly_name, request.guid.hex())
        return self.serve_link(link, request.friendly_name or "initiator")

    def serve_link(self, link: Link, initiator: str) -> asyncio.Task[None]:
        """Serve one initiator over ``link`` (any transport: PTP/IP, USB) until the link
        closes; returns the task doing it. Call on the event loop."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        session = DeviceSession(self, link, initiator)
        self.sessions.add(session)
        return asyncio.create_task(session.run(), name=f"session-{link.name}")

    def session_ended(self, session: DeviceSession) -> None:
        self.sessions.discard(session)
        if self.camera is not None:
            self.camera.session_ended(session)
        if self.verbose:
            log.info("%s disconnected", session.initiator)

    async def aclose(self) -> None:
        """Stop listening, end every session (pending uploads roll back), stop watching."""
        if self._listener is not None:
            await self._listener.aclose()
            self._listener = None
        if self.camera is not None:
            await self.camera.aclose()
        await self.services.aclose()
        if self._storage_checker is not None:
            self._storage_checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._storage_checker
            self._storage_checker = None
        self.store.stop_watching()
        self._unsubscribe()
        self.store.close()

    # -- events -----------------------------------------------------------------------------

    def broadcast(self, code: EventCode, params: tuple[int, ...] = ()) -> None:
        """Send an event to every open session (call on the event loop)."""
        for session in list(self.sessions):
            session.post_event(Event(code, params))

    def _on_store_event(self, event: StoreEvent) -> None:
        # store events may come from the folder watcher's thread
        code = _EVENT_FOR[event.kind]
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._store_changed(code, event.target)
            return
        # From another thread: queue it, and have the loop work through the queue a slice at
        # a time. (Another program deleting a 50,000-file folder is 50,000 events: one
        # callback each ran them all in one loop pass, which held up every session -- a
        # cancel among them -- for half a second.)
        with self._foreign_lock:
            self._foreign_events.append((code, event.target))
            if self._foreign_scheduled:
                return
            self._foreign_scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._broadcast_foreign)

    def _store_changed(self, code: EventCode, target: int) -> None:
        """(On the loop.) A store event: tell every session; forget what is gone."""
        if code == EventCode.OBJECT_REMOVED:
            self.prop_lists.forget((target,))
        self.broadcast(code, (target,))

    def _broadcast_foreign(self) -> None:
        """(On the loop.) Broadcast up to EVENT_SLICE queued store events; the rest after the
        loop has had a pass of its own."""
        with self._foreign_lock:
            batch = [
                self._foreign_events.popleft()
                for _ in range(min(EVENT_SLICE, len(self._foreign_events)))
            ]
            more = bool(self._foreign_events)
            self._foreign_scheduled = more
        for code, target in batch:
            self._store_changed(code, target)
        if more and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon(self._broadcast_foreign)

    def _on_property_changed(self, code: int) -> None:
        if self._loop is not None:
            self.broadcast(EventCode.DEVICE_PROP_CHANGED, (code,))
