"""The device's services: the registry the 0x93xx handlers read, and the hooks the
object-property handlers call.

Theory of operation: :class:`DeviceServices` is created by :class:`VirtualDevice` (as
``device.services``) after its storages. It builds four services:

* **Contacts** and **Calendar**, each over a *service storage*: if the first served folder has
  a ``Contacts`` (``Calendar``) sub-folder, that folder is added to the store as a storage of its
  own (same read-only flag) and its StorageID is the service's ServiceStorageID. The files stay
  in the served tree (and remain visible there as ordinary files); nothing is ever created in
  the served folders on the device's own initiative. Without such a folder the service exists
  but has no storage (ServiceStorageID 0) and no objects.
* **Status** (no storage; properties change over time), **Diagnostics** (our own; methods).

Events: property changes raise ServicePropChanged (p1 ServiceID, p2 property code); method
completion raises MethodComplete (p1 method-object handle, p2 response code, p3 ServiceID);
:meth:`DeviceServices.add` / :meth:`DeviceServices.remove` raise ServiceAdded / ServiceRemoved
(p1 ServiceID). All go to every open session (``device.broadcast``).

Hooks for the object-property handlers (``server/handlers/props.py``) -- see
``docs/device-services.md``, section "Hooks" for the exact contract: :meth:`create_method_object`,
:meth:`get_object_props`, :meth:`object_props_supported`, :meth:`object_prop_desc`,
:meth:`set_object_props`, :meth:`delete_object_props`, :meth:`delete_object`,
:meth:`owns_handle`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from openwpd.protocol.codes import ALL, EventCode, ObjectPropCode, ResponseCode
from openwpd.protocol.datasets import FormatCapabilityList, ObjectPropDesc, PropListElement
from openwpd.server.context import MtpError
from openwpd.server.services import pim
from openwpd.server.services.codes import NAMESPACE_SERVICE_PUID, ServiceId, ServicePropCode
from openwpd.server.services.diagnostics import diagnostics_service
from openwpd.server.services.methods import MethodObject, MethodObjects, is_method_handle
from openwpd.server.services.model import MethodDef, Service
from openwpd.server.services.status import StatusService, status_service

if TYPE_CHECKING:
    from openwpd.server.device import VirtualDevice

#: The generic properties of every method object (before its parameters).
METHOD_OBJECT_PROPS: tuple[int, ...] = (
    ObjectPropCode.STORAGE_ID,
    ObjectPropCode.OBJECT_FORMAT,
    ObjectPropCode.PARENT_OBJECT,
)

#: Default seconds between two Status simulation steps.
STATUS_TICK_SECONDS = 5.0


class DeviceServices:
    """Every service of one virtual device (see the module docstring)."""

    def __init__(self, device: VirtualDevice, *, status_tick: float = STATUS_TICK_SECONDS) -> None:
        self._device = device
        self._services: dict[int, Service] = {}
        self.methods = MethodObjects(device, self._broadcast)
        self.methods.on_complete = self._count_completion
        contacts_sid = self._service_storage("Contacts")
        calendar_sid = self._service_storage("Calendar")
        #: The Status service; ``status.set(battery_life=...)`` is the test-rig API.
        self.status: StatusService = status_service(status_tick, lambda: bool(device.sessions))
        for service in (
            pim.contacts_service(contacts_sid),
            pim.calendar_service(calendar_sid),
            self.status,
            diagnostics_service(),
        ):
            self._register(service)

    def _service_storage(self, folder: str) -> int:
        storages = self._device.store.storages
        if not storages:
            return 0
        first = storages[0]
        path = first.root / folder
        if not path.is_dir() or path.is_symlink():
            return 0
        return self._device.store.add_storage(path, folder, first.read_only).id

    def _register(self, service: Service) -> None:
        guid = uuid.UUID(bytes=self._device.guid)
        service.puid = uuid.uuid5(NAMESPACE_SERVICE_PUID, f"{guid}/{service.name}")
        service.on_change = self._on_prop_change
        self._services[service.service_id] = service

    # -- registry --------------------------------------------------------------------------

    @property
    def ids(self) -> tuple[int, ...]:
        """The ServiceIDs, ascending (GetServiceIDs)."""
        return tuple(sorted(self._services))

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services[sid] for sid in self.ids)

    def get(self, service_id: int) -> Service:
        """The service ``service_id``; raises MtpError INVALID_SERVICE_ID."""
        service = self._services.get(service_id)
        if service is None:
            raise MtpError(ResponseCode.INVALID_SERVICE_ID, f"service 0x{service_id:08X}")
        return service

    def add(self, service: Service) -> None:
        """Add a service at run time and raise ServiceAdded. ValueError if its ID is taken."""
        if service.service_id in self._services:
            raise ValueError(f"service ID {service.service_id} is taken")
        self._register(service)
        self._broadcast(EventCode.SERVICE_ADDED, (service.service_id,))

    def remove(self, service_id: int) -> Service:
        """Remove a service, cancel its running methods, raise ServiceRemoved. KeyError if
        there is no such service."""
        service = self._services.pop(service_id)
        service.on_change = None
        self.methods.delete_for_service(service_id)
        if isinstance(service, StatusService):
            service.stop_ticking()
        self._broadcast(EventCode.SERVICE_REMOVED, (service_id,))
        return service

    def session_activity(self) -> None:
        """Called by the 0x93xx handlers: a session uses services, so the Status simulation
        runs (it stops by itself once no session is open)."""
        if ServiceId.STATUS in self._services:
            self.status.start_ticking()

    def format_capabilities(self, format_code: int) -> FormatCapabilityList:
        """GetFormatCapabilities: the capabilities of a format (or method format) some service
        declares; 0 = all of them. MtpError INVALID_OBJECT_FORMAT_CODE otherwise."""
        caps = [c for s in self for c in s.capabilities().formats]
        if format_code:
            caps = [c for c in caps if c.format_code == format_code][:1]
            if not caps:
                raise MtpError(
                    ResponseCode.INVALID_OBJECT_FORMAT_CODE, f"format 0x{format_code:04X}"
                )
        return FormatCapabilityList(tuple(caps))

    # -- events ----------------------------------------------------------------------------

    def _broadcast(self, code: EventCode, params: tuple[int, ...]) -> None:
        self._device.broadcast(code, params)

    def _on_prop_change(self, service: Service, code: int) -> None:
        self._broadcast(EventCode.SERVICE_PROP_CHANGED, (service.service_id, code))

    def _count_completion(self, obj: MethodObject) -> None:
        diag = self._services.get(ServiceId.DIAGNOSTICS)
        if diag is not None and obj.service is diag:
            count = diag.value(ServicePropCode.DIAGNOSTICS_METHODS_COMPLETED)
            assert isinstance(count, int)
            diag.set_value(ServicePropCode.DIAGNOSTICS_METHODS_COMPLETED, (count + 1) & 0xFFFFFFFF)

    # -- hooks for the object-property handlers ----------------------------------------------

    def _method(self, format_code: int) -> tuple[Service, MethodDef] | None:
        for service in self:
            method = service.method(format_code)
            if method is not None:
                return service, method
        return None

    @staticmethod
    def owns_handle(handle: int) -> bool:
        """True if ``handle`` is in the method-object range: every object operation on it
        must go through these hooks, never the store."""
        return is_method_handle(handle)

    def create_method_object(
        self,
        storage_id: int,
        parent: int,
        format_code: int,
        elements: Sequence[PropListElement],
    ) -> int | None:
        """SendObjectPropList hook. None if ``format_code`` is not a method code (the caller
        goes on as usual). Otherwise create the method object and start the method; return
        its handle. Raises MtpError (params ``(0, 0, 0, index)`` -- SendObjectPropList puts
        the failing element index in p4) when a parameter is refused."""
        found = self._method(format_code)
        if found is None:
            return None
        service, method = found
        try:
            obj = self.methods.create(service, method, storage_id, parent, elements)
        except MtpError as exc:
            raise MtpError(exc.code, str(exc), (0, 0, 0, *exc.params[:1])) from None
        return obj.handle

    def get_object_props(self, handle: int, code: int = ALL) -> list[PropListElement] | None:
        """GetObjectPropList / GetObjectPropValue hook.

        * a method-object handle: its complete property list (``code`` 0/ALL = all), and
          MtpError INVALID_OBJECT_HANDLE if no such method object exists;
        * a vCard / iCalendar object of the store: only its *field* properties (the caller
          adds the generic ones), [] when it has none;
        * anything else: None.
        """
        if is_method_handle(handle):
            obj = self.methods.get(handle)
            if obj is None:
                raise MtpError(ResponseCode.INVALID_OBJECT_HANDLE, f"0x{handle:08X}")
            return obj.props(code)
        obj_ = self._device.store.get(handle)
        if obj_.format not in pim.PIM_FIELDS or obj_.is_folder:
            return None
        return pim.read_fields(self._device.store, obj_, code)

    @staticmethod
    def field_formats() -> frozenset[int]:
        """Object formats whose objects carry service field properties (vCard, iCalendar):
        GetObjectPropList asks :meth:`get_object_props` only for these."""
        return _FIELD_FORMATS

    def object_props_supported(self, format_code: int) -> tuple[int, ...] | None:
        """GetObjectPropsSupported hook: the codes this layer adds for ``format_code`` (PIM
        field codes, or a method format's StorageID/ObjectFormat/ParentObject + parameters);
        None if it adds none."""
        fields = pim.PIM_FIELDS.get(format_code)
        if fields is not None:
            return tuple(d.code for d, _ in fields)
        found = self._method(format_code)
        if found is None:
            return None
        return METHOD_OBJECT_PROPS + tuple(p.code for p in found[1].params)

    def object_prop_desc(self, code: int, format_code: int) -> ObjectPropDesc | None:
        """GetObjectPropDesc hook: the description (with its 0x81 / 0x82 form) of a property
        this layer adds for ``format_code``; None otherwise."""
        for d, _ in pim.PIM_FIELDS.get(format_code, ()):
            if d.code == code:
                return d.desc()
        found = self._method(format_code)
        if found is not None:
            for p in found[1].params:
                if p.code == code:
                    return p.desc()
        return None

    def set_object_props(self, handle: int, elements: Sequence[PropListElement]) -> bool:
        """SetObjectPropList / SetObjectPropValue / UpdateObjectPropList hook for field
        properties of a vCard/iCalendar object: applies all ``elements`` (all checked first,
        one rewrite of the file) and returns True; False if ``handle`` is not such an object.
        Method objects are read-only after creation (MtpError ACCESS_DENIED). Errors: MtpError
        with p1 = failing element index."""
        if is_method_handle(handle):
            if self.methods.get(handle) is None:
                raise MtpError(ResponseCode.INVALID_OBJECT_HANDLE, f"0x{handle:08X}")
            raise MtpError(ResponseCode.ACCESS_DENIED, "method objects are read-only", (0,))
        obj = self._device.store.get(handle)
        if obj.format not in pim.PIM_FIELDS or obj.is_folder:
            return False
        pim.write_fields(self._device.store, obj, elements)
        return True

    def delete_object_props(self, handle: int, codes: Sequence[tuple[int, int]]) -> None:
        """DeleteObjectPropList for one object: ``codes`` are (element index, property code).
        MtpError (p1 = index) for a property that cannot be deleted."""
        if is_method_handle(handle):
            if self.methods.get(handle) is None:
                raise MtpError(ResponseCode.INVALID_OBJECT_HANDLE, f"0x{handle:08X}", (0,))
            raise MtpError(ResponseCode.ACCESS_DENIED, "method objects are read-only", (0,))
        obj = self._device.store.get(handle)
        if obj.format not in pim.PIM_FIELDS or obj.is_folder:
            index = codes[0][0] if codes else 0
            raise MtpError(
                ResponseCode.INVALID_OBJECT_PROP_CODE, "no deletable properties", (index,)
            )
        pim.delete_fields(self._device.store, obj, codes)

    def delete_object(self, handle: int) -> bool:
        """DeleteObject hook: True if ``handle`` was a method object (now deleted; a running
        method is cancelled and completes with TransactionCancelled); False if the handle is
        not in the method range (the caller deletes from the store). MtpError
        INVALID_OBJECT_HANDLE for an unknown method handle."""
        if not is_method_handle(handle):
            return False
        if not self.methods.delete(handle):
            raise MtpError(ResponseCode.INVALID_OBJECT_HANDLE, f"0x{handle:08X}")
        return True

    async def aclose(self) -> None:
        """Stop the Status ticker and cancel every running method."""
        self.status.stop_ticking()
        await self.methods.aclose()


_FIELD_FORMATS = frozenset(pim.PIM_FIELDS)
