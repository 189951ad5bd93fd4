"""DeviceInfo dataset (GetDeviceInfo, PTP) and VendorExtensionDesc (MTP vendor extension strings).

Theory of operation: DeviceInfo is a flat sequence of fields; the five code lists are AUINT16
arrays (u32 count) and the four identity strings are PTP strings. Code lists are kept as plain
``tuple[int, ...]`` because devices advertise vendor codes openwpd has no enum member for, and
those must survive a round trip. The VendorExtensionDesc string is kept raw in the dataset;
:func:`parse_vendor_extensions` / :func:`format_vendor_extensions` convert it to and from a
mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Self, cast

from openwpd.protocol._buffer import Reader, Writer
from openwpd.protocol.codes import DataType, FunctionalMode
from openwpd.protocol.datasets._base import Dataset
from openwpd.protocol.datatypes import read_string, read_value, write_string, write_value
from openwpd.protocol.errors import LocalProtocolError

__all__ = [
    "MTP_STANDARD_VERSION",
    "MTP_VENDOR_EXTENSION_ID",
    "DeviceInfo",
    "format_vendor_extensions",
    "parse_vendor_extensions",
]

#: VendorExtensionID of MTP (Microsoft).
MTP_VENDOR_EXTENSION_ID: Final = 6
#: StandardVersion / VendorExtensionVersion 1.00, as every MTP device sends it.
MTP_STANDARD_VERSION: Final = 100


def _read_codes(reader: Reader) -> tuple[int, ...]:
    return cast("tuple[int, ...]", read_value(reader, DataType.AUINT16))


@dataclass(frozen=True, slots=True)
class DeviceInfo(Dataset):
    """The answer to GetDeviceInfo: versions, the supported code lists and the device identity.

    Code fields are plain ints (unknown vendor codes round trip); defaults describe an MTP
    device with empty lists.
    """

    standard_version: int = MTP_STANDARD_VERSION
    vendor_extension_id: int = MTP_VENDOR_EXTENSION_ID
    vendor_extension_version: int = MTP_STANDARD_VERSION
    vendor_extension_desc: str = "microsoft.com: 1.0;"
    functional_mode: int = FunctionalMode.STANDARD
    operations_supported: tuple[int, ...] = ()
    events_supported: tuple[int, ...] = ()
    device_properties_supported: tuple[int, ...] = ()
    capture_formats: tuple[int, ...] = ()
    playback_formats: tuple[int, ...] = ()
    manufacturer: str = ""
    model: str = ""
    device_version: str = ""
    serial_number: str = ""

    @classmethod
    def parse(cls, reader: Reader) -> Self:
        """Read a DeviceInfo; raises RemoteProtocolError if it is truncated or malformed."""
        return cls(
            standard_version=reader.u16("StandardVersion"),
            vendor_extension_id=reader.u32("VendorExtensionID"),
            vendor_extension_version=reader.u16("VendorExtensionVersion"),
            vendor_extension_desc=read_string(reader),
            functional_mode=reader.u16("FunctionalMode"),
            operations_supported=_read_codes(reader),
            events_supported=_read_codes(reader),
            device_properties_supported=_read_codes(reader),
            capture_formats=_read_codes(reader),
            playback_formats=_read_codes(reader),
            manufacturer=read_string(reader),
            model=read_string(reader),
            device_version=read_string(reader),
            serial_number=read_string(reader),
        )

    def build(self, writer: Writer) -> None:
        """Write the DeviceInfo; raises LocalProtocolError for out-of-range fields."""
        writer.u16(self.standard_version, "StandardVersion")
        writer.u32(self.vendor_extension_id, "VendorExtensionID")
        writer.u16(self.vendor_extension_version, "VendorExtensionVersion")
        write_string(writer, self.vendor_extension_desc)
        writer.u16(self.functional_mode, "FunctionalMode")
        for codes in (
            self.operations_supported,
            self.events_supported,
            self.device_properties_supported,
            self.capture_formats,
            self.playback_formats,
        ):
            write_value(writer, DataType.AUINT16, codes)
        for text in (self.manufacturer, self.model, self.device_version, self.serial_number):
            write_string(writer, text)

    @property
    def vendor_extensions(self) -> dict[str, str]:
        """:func:`parse_vendor_extensions` of :attr:`vendor_extension_desc`."""
        return parse_vendor_extensions(self.vendor_extension_desc)


def parse_vendor_extensions(desc: str) -> dict[str, str]:
    """Split a VendorExtensionDesc into ``{name: version}``.

    Items are ``name: version`` separated by ``;`` with optional spaces (MTP vendor extension
    strings); an item without ``:`` maps to ``""`` and later duplicates win. libmtp ignores a last
    item that lacks its ``;``; we accept it, because an initiator gains nothing by pretending not to
    see it. Never raises.
    """
    result: dict[str, str] = {}
    for item in desc.split(";"):
        name, _, version = item.partition(":")
        name = name.strip()
        if name:
            result[name] = version.strip()
    return result


def format_vendor_extensions(mapping: Mapping[str, str]) -> str:
    """Build a VendorExtensionDesc from ``{name: version}``: ``"a: 1.0; b: 1.0;"``.

    Every item ends with ``;`` (libmtp ignores one that does not); an empty version gives a bare
    ``name;``. Raises :class:`LocalProtocolError` for an empty name, a name containing ``:`` or
    ``;``, a version containing ``;``, or surrounding whitespace (which would not survive a
    round trip).
    """
    items = []
    for name, version in mapping.items():
        if not name or ":" in name or ";" in name or name != name.strip():
            raise LocalProtocolError(f"invalid vendor extension name {name!r}")
        if ";" in version or version != version.strip():
            raise LocalProtocolError(f"invalid vendor extension version {version!r}")
        items.append(f"{name}: {version};" if version else f"{name};")
    return " ".join(items)
