"""ObjectPropList (MTP 1.1) and DeleteObjectPropList / DeleteServicePropList data (PTP/MTP, MTP
Device Services).

Theory of operation: an ObjectPropList is a u32 count followed by self-describing elements
(handle, property code, data type, value). One GetObjectPropList can describe a whole device
(50,000 files x a dozen properties), so :func:`iter_prop_list` yields elements one at a time and
callers can build their own index without holding a second copy; :class:`ObjectPropList` is the
materialised form used for building and for small lists. The element count is checked against
the bytes left before the first element is read (every element needs at least 9 bytes), so a
hostile count cannot make us spin.

The same layout serves GetServicePropList / SetServicePropList with the ServiceID in the handle
slot, and SendObjectPropList with handle 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Self

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.datasets._base import Dataset, read_count
from openwpd.protocol.datatypes import Value, read_value, write_value

__all__ = [
    "DeletePropList",
    "DeletePropListElement",
    "ObjectPropList",
    "PropListElement",
    "iter_prop_list",
]


@dataclass(frozen=True, slots=True)
class PropListElement(Dataset):
    """One (object, property) value: ``handle`` is the object handle (the ServiceID in service
    property lists, 0 in SendObjectPropList), ``code`` the property code, ``datatype`` the wire
    type of ``value``."""

    #: Fewest bytes an element occupies: handle, code, type and a 1-byte value.
    MIN_SIZE: ClassVar[int] = 9

    handle: int
    code: int
    datatype: int
    value: Value

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read one element; raises RemoteProtocolError if truncated or of an unknown type."""
        handle = reader.u32("ObjectHandle")
        code = reader.u16("PropertyCode")
        datatype = reader.u16("DataType")
        return cls(handle, code, datatype, read_value(reader, datatype))

    def build(self, writer: Writer) -> None:
        """Write one element; raises LocalProtocolError if ``value`` does not fit ``datatype``."""
        writer.u32(self.handle, "ObjectHandle")
        writer.u16(self.code, "PropertyCode")
        writer.u16(self.datatype, "DataType")
        write_value(writer, self.datatype, self.value)


def iter_prop_list(reader: Reader) -> Iterator[PropListElement]:
    """Yield the elements of an ObjectPropList one by one, reading lazily from ``reader``.

    The count is read and checked when iteration starts. Raises RemoteProtocolError (from
    the ``next()`` that reaches the problem) if the count is impossible for the bytes left, an
    element is truncated or has an unknown data type; elements yielded before stay valid.
    """
    count = read_count(reader, PropListElement.MIN_SIZE, "ObjectPropList element")
    for _ in range(count):
        yield PropListElement.parse(reader)


@dataclass(frozen=True, slots=True)
class ObjectPropList(Dataset):
    """A whole ObjectPropList: GetObjectPropList's answer, SetObjectPropList's and
    SendObjectPropList's data, and Get/SetServicePropList's (ServiceID as the handle)."""

    elements: tuple[PropListElement, ...] = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read every element; raises RemoteProtocolError as :func:`iter_prop_list` does."""
        return cls(tuple(iter_prop_list(reader)))

    def build(self, writer: Writer) -> None:
        """Write the list; raises LocalProtocolError if an element cannot be encoded."""
        writer.u32(len(self.elements), "ObjectPropList count")
        for element in self.elements:
            element.build(writer)


@dataclass(frozen=True, slots=True)
class DeletePropListElement:
    """One (object or service, property code) pair to delete."""

    handle: int
    code: int


@dataclass(frozen=True, slots=True)
class DeletePropList(Dataset):
    """DeleteObjectPropList / DeleteServicePropList data: u32 count, then {u32 handle or
    ServiceID, u16 property code} pairs."""

    elements: tuple[DeletePropListElement, ...] = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read the pairs; raises RemoteProtocolError if truncated or the count is hostile."""
        count = read_count(reader, 6, "DeletePropList element")
        return cls(
            tuple(
                DeletePropListElement(reader.u32("ObjectHandle"), reader.u16("PropertyCode"))
                for _ in range(count)
            )
        )

    def build(self, writer: Writer) -> None:
        """Write the pairs; raises LocalProtocolError for out-of-range fields."""
        writer.u32(len(self.elements), "DeletePropList count")
        for element in self.elements:
            writer.u32(element.handle, "ObjectHandle")
            writer.u16(element.code, "PropertyCode")
