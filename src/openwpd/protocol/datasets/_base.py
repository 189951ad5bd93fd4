"""Shared plumbing of the dataset classes: the ``from_bytes``/``to_bytes`` pair and count guards."""

from __future__ import annotations

from typing import Self

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.errors import RemoteProtocolError


class Dataset:
    """Base of every dataset: subclasses provide ``parse(reader)`` and ``build(writer)``.

    ``from_bytes`` parses from the start of ``data`` and ignores bytes after the dataset (some
    devices pad their data phases); ``to_bytes`` returns exactly what ``build`` writes.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, reader: Reader) -> Self:  # pragma: no cover - every subclass overrides it
        """Read one dataset from ``reader``; malformed bytes raise RemoteProtocolError."""
        raise NotImplementedError

    def build(self, writer: Writer) -> None:  # pragma: no cover - every subclass overrides it
        """Append the wire form to ``writer``; invalid fields raise LocalProtocolError."""
        raise NotImplementedError

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, *, strict_strings: bool = False
    ) -> Self:
        """Parse a dataset from ``data`` (trailing bytes are ignored).

        Raises :class:`~openwpd.protocol.errors.RemoteProtocolError` if ``data`` is malformed.
        ``strict_strings``: also reject strings with a lone surrogate or an embedded NUL (a
        device parsing names it will create uses this).
        """
        return cls.parse(Reader(data, strict_strings=strict_strings))

    def to_bytes(self) -> bytes:
        """The wire form. Raises :class:`~openwpd.protocol.errors.LocalProtocolError` if a
        field cannot be encoded."""
        writer = Writer()
        self.build(writer)
        return writer.getvalue()


def read_count(reader: Reader, min_item_size: int, what: str) -> int:
    """Read a u32 element count and check that the bytes left could hold that many items.

    Rejecting an impossible count up front keeps a hostile peer from making us loop or
    allocate for billions of elements. Raises RemoteProtocolError.
    """
    count = reader.u32(f"{what} count")
    return _check_count(reader, count, min_item_size, what)


def read_count16(reader: Reader, min_item_size: int, what: str) -> int:
    """Like :func:`read_count` for the u16 counts of enumeration forms."""
    count = reader.u16(f"{what} count")
    return _check_count(reader, count, min_item_size, what)


def _check_count(reader: Reader, count: int, min_item_size: int, what: str) -> int:
    if count * min_item_size > reader.remaining:
        raise RemoteProtocolError(
            f"{what} count {count} needs at least {count * min_item_size} bytes, "
            f"{reader.remaining} left"
        )
    return count
