"""ServiceInfo dataset (GetServiceInfo, MTP Device Services).

Theory of operation: ServiceInfo names a service instance and declares what it has -- its
properties (as PROPERTYKEYs), formats, methods and events -- each as a counted list of small
entries. Every GUID travels in the Windows in-memory layout (Windows GUID layout) and is a
:class:`uuid.UUID` here. Entry counts are checked against the bytes left before any entry is
read. Property entries carry no data type: that comes from GetServicePropDesc.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, Self, TypeVar

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import ServiceType
from openwpd.protocol.datasets._base import Dataset, read_count
from openwpd.protocol.datatypes import read_guid, read_string, write_guid, write_string

__all__ = [
    "ServiceEvent",
    "ServiceFormat",
    "ServiceInfo",
    "ServiceMethod",
    "ServiceProperty",
]

_NIL = uuid.UUID(int=0)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ServiceProperty:
    """A service property: its code in this service and its PROPERTYKEY (namespace + pid)."""

    code: int
    namespace: uuid.UUID
    pid: int
    name: str

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read one entry; raises RemoteProtocolError if truncated."""
        return cls(
            reader.u16("ServicePropertyCode"),
            read_guid(reader),
            reader.u32("PropertyKeyID"),
            read_string(reader),
        )

    def build(self, writer: Writer) -> None:
        """Write one entry; raises LocalProtocolError for out-of-range fields."""
        writer.u16(self.code, "ServicePropertyCode")
        write_guid(writer, self.namespace)
        writer.u32(self.pid, "PropertyKeyID")
        write_string(writer, self.name)


@dataclass(frozen=True, slots=True)
class ServiceFormat:
    """A format of the service: code, GUID, name, base format code (0 = none), MIME type."""

    code: int
    guid: uuid.UUID
    name: str
    base_format: int = 0
    mime_type: str = ""

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read one entry; raises RemoteProtocolError if truncated."""
        return cls(
            reader.u16("FormatCode"),
            read_guid(reader),
            read_string(reader),
            reader.u16("BaseFormatCode"),
            read_string(reader),
        )

    def build(self, writer: Writer) -> None:
        """Write one entry; raises LocalProtocolError for out-of-range fields."""
        writer.u16(self.code, "FormatCode")
        write_guid(writer, self.guid)
        write_string(writer, self.name)
        writer.u16(self.base_format, "BaseFormatCode")
        write_string(writer, self.mime_type)


@dataclass(frozen=True, slots=True)
class ServiceMethod:
    """A method of the service: code, GUID, name, associated format code (0 = none)."""

    code: int
    guid: uuid.UUID
    name: str
    associated_format: int = 0

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read one entry; raises RemoteProtocolError if truncated."""
        return cls(
            reader.u16("MethodCode"),
            read_guid(reader),
            read_string(reader),
            reader.u16("MethodAssociatedFormat"),
        )

    def build(self, writer: Writer) -> None:
        """Write one entry; raises LocalProtocolError for out-of-range fields."""
        writer.u16(self.code, "MethodCode")
        write_guid(writer, self.guid)
        write_string(writer, self.name)
        writer.u16(self.associated_format, "MethodAssociatedFormat")


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """An event of the service: code, GUID, name."""

    code: int
    guid: uuid.UUID
    name: str

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read one entry; raises RemoteProtocolError if truncated."""
        return cls(reader.u16("EventCode"), read_guid(reader), read_string(reader))

    def build(self, writer: Writer) -> None:
        """Write one entry; raises LocalProtocolError for out-of-range fields."""
        writer.u16(self.code, "EventCode")
        write_guid(writer, self.guid)
        write_string(writer, self.name)


def _read_list(
    reader: Reader, parse: Callable[[Reader], _T], min_size: int, what: str
) -> tuple[_T, ...]:
    count = read_count(reader, min_size, what)
    return tuple(parse(reader) for _ in range(count))


class _Entry(Protocol):
    def build(self, writer: Writer) -> None: ...


def _write_list(writer: Writer, entries: Sequence[_Entry], what: str) -> None:
    writer.u32(len(entries), f"{what} count")
    for entry in entries:
        entry.build(writer)


def _read_guids(reader: Reader, what: str) -> tuple[uuid.UUID, ...]:
    return _read_list(reader, read_guid, 16, what)


def _write_guids(writer: Writer, guids: Sequence[uuid.UUID], what: str) -> None:
    writer.u32(len(guids), f"{what} count")
    for guid in guids:
        write_guid(writer, guid)


@dataclass(frozen=True, slots=True)
class ServiceInfo(Dataset):
    """The answer to GetServiceInfo: the 14 fields of the ServiceInfo dataset.

    ``puid`` identifies this service instance, ``guid`` the service type;
    ``service_type`` is :class:`~openwpd.protocol.codes.ServiceType` (0 normal, 1 abstract).
    """

    service_id: int
    storage_id: int = 0
    puid: uuid.UUID = _NIL
    version: int = 100
    guid: uuid.UUID = _NIL
    name: str = ""
    service_type: int = ServiceType.NORMAL
    base_service_id: int = 0
    used_services: tuple[uuid.UUID, ...] = ()
    properties: tuple[ServiceProperty, ...] = ()
    formats: tuple[ServiceFormat, ...] = ()
    methods: tuple[ServiceMethod, ...] = ()
    events: tuple[ServiceEvent, ...] = ()
    data_blocks: tuple[uuid.UUID, ...] = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read a ServiceInfo; raises RemoteProtocolError if truncated, malformed or if a
        count is larger than the data could hold."""
        return cls(
            service_id=reader.u32("ServiceID"),
            storage_id=reader.u32("ServiceStorageID"),
            puid=read_guid(reader),
            version=reader.u32("ServiceVersion"),
            guid=read_guid(reader),
            name=read_string(reader),
            service_type=reader.u32("ServiceType"),
            base_service_id=reader.u32("BaseServiceID"),
            used_services=_read_guids(reader, "UsedServices"),
            # minimum entry sizes: code + GUID (+ pid) + 1-byte strings (+ u16 fields)
            properties=_read_list(reader, ServiceProperty.parse, 23, "ServiceProperty"),
            formats=_read_list(reader, ServiceFormat.parse, 22, "ServiceFormat"),
            methods=_read_list(reader, ServiceMethod.parse, 21, "ServiceMethod"),
            events=_read_list(reader, ServiceEvent.parse, 19, "ServiceEvent"),
            data_blocks=_read_guids(reader, "DataBlocks"),
        )

    def build(self, writer: Writer) -> None:
        """Write the ServiceInfo; raises LocalProtocolError for out-of-range fields."""
        writer.u32(self.service_id, "ServiceID")
        writer.u32(self.storage_id, "ServiceStorageID")
        write_guid(writer, self.puid)
        writer.u32(self.version, "ServiceVersion")
        write_guid(writer, self.guid)
        write_string(writer, self.name)
        writer.u32(self.service_type, "ServiceType")
        writer.u32(self.base_service_id, "BaseServiceID")
        _write_guids(writer, self.used_services, "UsedServices")
        _write_list(writer, self.properties, "ServiceProperty")
        _write_list(writer, self.formats, "ServiceFormat")
        _write_list(writer, self.methods, "ServiceMethod")
        _write_list(writer, self.events, "ServiceEvent")
        _write_guids(writer, self.data_blocks, "DataBlocks")
