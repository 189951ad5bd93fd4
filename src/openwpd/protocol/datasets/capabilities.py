"""Format capabilities: InterdependentPropDesc (PTP/MTP) and FormatCapabilityList (MTP Device
Services).

Theory of operation: GetServiceCapabilities and GetFormatCapabilities both answer with a
FormatCapabilityList: per format, the ObjectPropDescs of its properties and the groups of
properties whose allowed values depend on each other (InterdependentPropDesc, also the answer
of GetInterdependentPropDesc). Everything is counted lists of
:class:`~openwpd.protocol.datasets.prop_desc.ObjectPropDesc`; every count is checked against
the bytes left before elements are read. An ObjectPropDesc with an opaque form swallows the rest
of the data (see :mod:`~openwpd.protocol.datasets.prop_desc`), so a list containing one fails
unless it is the very last thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.datasets._base import Dataset, read_count
from openwpd.protocol.datasets.prop_desc import ObjectPropDesc

__all__ = ["FormatCapability", "FormatCapabilityList", "InterdependentPropDesc"]


def _read_descs(reader: Reader) -> tuple[ObjectPropDesc, ...]:
    count = read_count(reader, ObjectPropDesc.MIN_SIZE, "ObjectPropDesc")
    return tuple(ObjectPropDesc.parse(reader) for _ in range(count))


def _write_descs(writer: Writer, descs: Sequence[ObjectPropDesc]) -> None:
    writer.u32(len(descs), "ObjectPropDesc count")
    for desc in descs:
        desc.build(writer)


@dataclass(frozen=True, slots=True)
class InterdependentPropDesc(Dataset):
    """Groups of interdependent property descriptions: u32 number of groups, then per group a
    u32 count and that many ObjectPropDescs."""

    arrays: tuple[tuple[ObjectPropDesc, ...], ...] = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read the groups; raises RemoteProtocolError if truncated or a count is hostile."""
        count = read_count(reader, 4, "InterdependentPropDesc array")
        return cls(tuple(_read_descs(reader) for _ in range(count)))

    def build(self, writer: Writer) -> None:
        """Write the groups; raises LocalProtocolError if a description cannot be encoded."""
        writer.u32(len(self.arrays), "InterdependentPropDesc array count")
        for descs in self.arrays:
            _write_descs(writer, descs)


@dataclass(frozen=True, slots=True)
class FormatCapability(Dataset):
    """The capabilities of one format: its property descriptions and interdependencies."""

    format_code: int
    prop_descs: tuple[ObjectPropDesc, ...] = ()
    interdependent: InterdependentPropDesc = field(default_factory=InterdependentPropDesc)

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read one format's capabilities; raises RemoteProtocolError if malformed."""
        code = reader.u16("FormatCode")
        descs = _read_descs(reader)
        return cls(code, descs, InterdependentPropDesc.parse(reader))

    def build(self, writer: Writer) -> None:
        """Write one format's capabilities; raises LocalProtocolError if they cannot be
        encoded."""
        writer.u16(self.format_code, "FormatCode")
        _write_descs(writer, self.prop_descs)
        self.interdependent.build(writer)


@dataclass(frozen=True, slots=True)
class FormatCapabilityList(Dataset):
    """The answer to GetServiceCapabilities and GetFormatCapabilities: u32 count, then that
    many :class:`FormatCapability`."""

    formats: tuple[FormatCapability, ...] = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read the list; raises RemoteProtocolError if truncated or a count is hostile."""
        # a format needs its code and two counts at least
        count = read_count(reader, 10, "FormatCapability")
        return cls(tuple(FormatCapability.parse(reader) for _ in range(count)))

    def build(self, writer: Writer) -> None:
        """Write the list; raises LocalProtocolError if an element cannot be encoded."""
        writer.u32(len(self.formats), "FormatCapability count")
        for fmt in self.formats:
            fmt.build(writer)
