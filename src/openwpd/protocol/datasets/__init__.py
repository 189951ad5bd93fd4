"""MTP/PTP datasets: one module per family, every dataset a frozen slotted dataclass.

Each dataset class has ``parse(reader)`` / ``from_bytes(data)`` (malformed input raises
:class:`~openwpd.protocol.errors.RemoteProtocolError`, nothing else; bytes after the dataset are
ignored) and ``build(writer)`` / ``to_bytes()`` (invalid fields raise
:class:`~openwpd.protocol.errors.LocalProtocolError`). Code fields are plain ``int`` so codes
openwpd has no enum member for survive a round trip; compare them with the enums of
:mod:`openwpd.protocol.codes`. Counts read from the wire are checked against the bytes left
before anything is allocated.
"""

from openwpd.protocol.datasets._base import Dataset
from openwpd.protocol.datasets.arrays import (
    build_uint16_array,
    build_uint32_array,
    parse_uint16_array,
    parse_uint32_array,
)
from openwpd.protocol.datasets.capabilities import (
    FormatCapability,
    FormatCapabilityList,
    InterdependentPropDesc,
)
from openwpd.protocol.datasets.device_info import (
    MTP_STANDARD_VERSION,
    MTP_VENDOR_EXTENSION_ID,
    DeviceInfo,
    format_vendor_extensions,
    parse_vendor_extensions,
)
from openwpd.protocol.datasets.object_info import SIZE_CLAMPED, ObjectInfo, compressed_size_for
from openwpd.protocol.datasets.prop_desc import (
    DateTimeForm,
    DevicePropDesc,
    EnumForm,
    Form,
    ObjectIdForm,
    ObjectPropDesc,
    OpaqueForm,
    RangeForm,
    RegexForm,
    ServiceMethodParameterForm,
    ServiceObjectPropertyForm,
    ServicePropDesc,
    ServicePropDescList,
    build_form,
    parse_form,
)
from openwpd.protocol.datasets.prop_list import (
    DeletePropList,
    DeletePropListElement,
    ObjectPropList,
    PropListElement,
    iter_prop_list,
)
from openwpd.protocol.datasets.service_info import (
    ServiceEvent,
    ServiceFormat,
    ServiceInfo,
    ServiceMethod,
    ServiceProperty,
)
from openwpd.protocol.datasets.storage_info import FREE_OBJECTS_UNUSED, StorageInfo
from openwpd.protocol.datasets.usb_control import (
    CancelRequestData,
    DeviceStatus,
    ExtendedEventData,
)

__all__ = [
    "FREE_OBJECTS_UNUSED",
    "MTP_STANDARD_VERSION",
    "MTP_VENDOR_EXTENSION_ID",
    "SIZE_CLAMPED",
    "CancelRequestData",
    "Dataset",
    "DateTimeForm",
    "DeletePropList",
    "DeletePropListElement",
    "DeviceInfo",
    "DevicePropDesc",
    "DeviceStatus",
    "EnumForm",
    "ExtendedEventData",
    "Form",
    "FormatCapability",
    "FormatCapabilityList",
    "InterdependentPropDesc",
    "ObjectIdForm",
    "ObjectInfo",
    "ObjectPropDesc",
    "ObjectPropList",
    "OpaqueForm",
    "PropListElement",
    "RangeForm",
    "RegexForm",
    "ServiceEvent",
    "ServiceFormat",
    "ServiceInfo",
    "ServiceMethod",
    "ServiceMethodParameterForm",
    "ServiceObjectPropertyForm",
    "ServicePropDesc",
    "ServicePropDescList",
    "ServiceProperty",
    "StorageInfo",
    "build_form",
    "build_uint16_array",
    "build_uint32_array",
    "compressed_size_for",
    "format_vendor_extensions",
    "iter_prop_list",
    "parse_form",
    "parse_uint16_array",
    "parse_uint32_array",
    "parse_vendor_extensions",
]
