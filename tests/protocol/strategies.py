"""Hypothesis strategies for PTP values and MTP datasets, reusable by any test.

Import with ``from strategies import ...`` from tests in this folder (pytest puts the folder of
a test module without ``__init__.py`` on ``sys.path``). Every strategy produces values that the
builders accept, so ``parse(build(x)) == x`` must hold for all of them.
"""

from __future__ import annotations

import uuid

from hypothesis import strategies as st

from openwpd.protocol.codes import DataType
from openwpd.protocol.datasets import (
    CancelRequestData,
    DateTimeForm,
    DeletePropList,
    DeletePropListElement,
    DeviceInfo,
    DevicePropDesc,
    DeviceStatus,
    EnumForm,
    ExtendedEventData,
    Form,
    FormatCapability,
    FormatCapabilityList,
    InterdependentPropDesc,
    ObjectIdForm,
    ObjectInfo,
    ObjectPropDesc,
    ObjectPropList,
    PropListElement,
    RangeForm,
    RegexForm,
    ServiceEvent,
    ServiceFormat,
    ServiceInfo,
    ServiceMethod,
    ServiceMethodParameterForm,
    ServiceObjectPropertyForm,
    ServicePropDesc,
    ServicePropDescList,
    ServiceProperty,
    StorageInfo,
)

# Integer bounds by type, written out here rather than taken from the code under test.
INT_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.INT8: (-(2**7), 2**7 - 1),
    DataType.UINT8: (0, 2**8 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**64 - 1),
    DataType.INT128: (-(2**127), 2**127 - 1),
    DataType.UINT128: (0, 2**128 - 1),
}
ALL_DATATYPES: tuple[DataType, ...] = tuple(dt for dt in DataType if dt != DataType.UNDEF)

u8s = st.integers(0, 0xFF)
u16s = st.integers(0, 0xFFFF)
u32s = st.integers(0, 0xFFFFFFFF)
u64s = st.integers(0, 0xFFFFFFFFFFFFFFFF)
guids = st.builds(uuid.UUID, int=st.integers(0, 2**128 - 1))


def utf16_units(s: str) -> int:
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


# Any code point except NUL (a PTP string ends at the first NUL) and lone surrogates (not
# encodable); BMP and astral characters both appear.
_chars = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
_emoji = "\U0001f600"


def _cut(s: str, limit: int = 254) -> str:
    out = []
    units = 0
    for ch in s:
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            break
        out.append(ch)
    return "".join(out)


def wire_strings() -> st.SearchStrategy[str]:
    """Strings a PTP STR can carry: empty, short, astral (surrogate pairs) and maximum length
    (254 UTF-16 code units)."""
    return st.one_of(
        st.just(""),
        st.text(_chars, max_size=20),
        st.text(_chars, min_size=200, max_size=260).map(_cut),
        st.sampled_from(["x" * 254, _emoji * 127, "a" + _emoji * 126 + "b"]),
    )


def values_for(datatype: int) -> st.SearchStrategy[int | str | tuple[int, ...]]:
    """Python values valid for ``datatype``."""
    dt = DataType(datatype)
    if dt == DataType.STR:
        return wire_strings()
    if dt.is_array:
        lo, hi = INT_RANGES[dt.element]
        return st.lists(st.integers(lo, hi), max_size=12).map(tuple)
    lo, hi = INT_RANGES[dt]
    return st.integers(lo, hi)


def datatypes() -> st.SearchStrategy[DataType]:
    """Every data type except UNDEF."""
    return st.sampled_from(ALL_DATATYPES)


def typed_values() -> st.SearchStrategy[tuple[DataType, int | str | tuple[int, ...]]]:
    """A (data type, matching value) pair."""
    return datatypes().flatmap(lambda dt: st.tuples(st.just(dt), values_for(dt)))


# ----------------------------------------------------------------------------------- datasets


_small = {"max_size": 4}


def _tuples(
    elements: st.SearchStrategy[int], max_size: int = 40
) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(elements, max_size=max_size).map(tuple)


def device_infos() -> st.SearchStrategy[DeviceInfo]:
    """Any DeviceInfo, code lists of up to 40 entries."""
    codes = _tuples(u16s)
    return st.builds(
        DeviceInfo,
        standard_version=u16s,
        vendor_extension_id=u32s,
        vendor_extension_version=u16s,
        vendor_extension_desc=wire_strings(),
        functional_mode=u16s,
        operations_supported=codes,
        events_supported=codes,
        device_properties_supported=codes,
        capture_formats=codes,
        playback_formats=codes,
        manufacturer=wire_strings(),
        model=wire_strings(),
        device_version=wire_strings(),
        serial_number=wire_strings(),
    )


def storage_infos() -> st.SearchStrategy[StorageInfo]:
    """Any StorageInfo."""
    return st.builds(
        StorageInfo,
        storage_type=u16s,
        filesystem_type=u16s,
        access_capability=u16s,
        max_capacity=u64s,
        free_space_in_bytes=u64s,
        free_space_in_objects=u32s,
        storage_description=wire_strings(),
        volume_label=wire_strings(),
    )


def object_infos() -> st.SearchStrategy[ObjectInfo]:
    """Any ObjectInfo (dates are arbitrary strings: the dataset keeps them raw)."""
    return st.builds(
        ObjectInfo,
        storage_id=u32s,
        object_format=u16s,
        protection_status=u16s,
        compressed_size=u32s,
        thumb_format=u16s,
        thumb_compressed_size=u32s,
        thumb_pix_width=u32s,
        thumb_pix_height=u32s,
        image_pix_width=u32s,
        image_pix_height=u32s,
        image_bit_depth=u32s,
        parent_object=u32s,
        association_type=u16s,
        association_desc=u32s,
        sequence_number=u32s,
        filename=wire_strings(),
        capture_date=wire_strings(),
        modification_date=wire_strings(),
        keywords=wire_strings(),
    )


def forms(datatype: int, *, nested: bool = False) -> st.SearchStrategy[Form | None]:
    """Every buildable form for a property of ``datatype`` (service forms only when not
    ``nested``); None is "no form"."""
    v = values_for(datatype)
    plain: list[st.SearchStrategy[Form | None]] = [
        st.none(),
        st.builds(RangeForm, v, v, v),
        st.builds(EnumForm, st.lists(v, max_size=5).map(tuple)),
        st.just(DateTimeForm()),
        st.builds(RegexForm, wire_strings()),
        st.just(ObjectIdForm()),
    ]
    if nested:
        return st.one_of(plain)
    inner = forms(datatype, nested=True)
    service: list[st.SearchStrategy[Form | None]] = [
        st.builds(ServiceObjectPropertyForm, guids, u32s, wire_strings(), inner),
        st.builds(ServiceMethodParameterForm, guids, u32s, wire_strings(), u8s, u8s, inner),
    ]
    return st.one_of(plain + service)


def object_prop_descs() -> st.SearchStrategy[ObjectPropDesc]:
    """Any ObjectPropDesc with a buildable form."""
    return datatypes().flatmap(
        lambda dt: st.builds(
            ObjectPropDesc, u16s, st.just(int(dt)), u8s, values_for(dt), u32s, forms(dt)
        )
    )


def device_prop_descs() -> st.SearchStrategy[DevicePropDesc]:
    """Any DevicePropDesc with a buildable form."""
    return datatypes().flatmap(
        lambda dt: st.builds(
            DevicePropDesc, u16s, st.just(int(dt)), u8s, values_for(dt), values_for(dt), forms(dt)
        )
    )


def service_prop_descs() -> st.SearchStrategy[ServicePropDesc]:
    """Any ServicePropDesc with a buildable form."""
    return datatypes().flatmap(
        lambda dt: st.builds(ServicePropDesc, u16s, st.just(int(dt)), u8s, forms(dt))
    )


def service_prop_desc_lists() -> st.SearchStrategy[ServicePropDescList]:
    """Any ServicePropDescList of up to 4 descriptions."""
    return st.builds(ServicePropDescList, st.lists(service_prop_descs(), **_small).map(tuple))


def prop_list_elements() -> st.SearchStrategy[PropListElement]:
    """Any ObjectPropList element."""
    return typed_values().flatmap(
        lambda pair: st.builds(PropListElement, u32s, u16s, st.just(int(pair[0])), st.just(pair[1]))
    )


def object_prop_lists() -> st.SearchStrategy[ObjectPropList]:
    """Any ObjectPropList of up to 12 elements."""
    return st.builds(ObjectPropList, st.lists(prop_list_elements(), max_size=12).map(tuple))


def delete_prop_lists() -> st.SearchStrategy[DeletePropList]:
    """Any DeletePropList."""
    element = st.builds(DeletePropListElement, u32s, u16s)
    return st.builds(DeletePropList, st.lists(element, max_size=10).map(tuple))


def service_infos() -> st.SearchStrategy[ServiceInfo]:
    """Any ServiceInfo with up to 4 entries per list."""
    s = wire_strings()
    return st.builds(
        ServiceInfo,
        service_id=u32s,
        storage_id=u32s,
        puid=guids,
        version=u32s,
        guid=guids,
        name=s,
        service_type=u32s,
        base_service_id=u32s,
        used_services=st.lists(guids, **_small).map(tuple),
        properties=st.lists(st.builds(ServiceProperty, u16s, guids, u32s, s), **_small).map(tuple),
        formats=st.lists(st.builds(ServiceFormat, u16s, guids, s, u16s, s), **_small).map(tuple),
        methods=st.lists(st.builds(ServiceMethod, u16s, guids, s, u16s), **_small).map(tuple),
        events=st.lists(st.builds(ServiceEvent, u16s, guids, s), **_small).map(tuple),
        data_blocks=st.lists(guids, **_small).map(tuple),
    )


def interdependent_prop_descs() -> st.SearchStrategy[InterdependentPropDesc]:
    """Any InterdependentPropDesc of up to 3 groups of up to 3 descriptions."""
    group = st.lists(object_prop_descs(), max_size=3).map(tuple)
    return st.builds(InterdependentPropDesc, st.lists(group, max_size=3).map(tuple))


def format_capabilities() -> st.SearchStrategy[FormatCapability]:
    """Any FormatCapability."""
    descs = st.lists(object_prop_descs(), max_size=3).map(tuple)
    return st.builds(FormatCapability, u16s, descs, interdependent_prop_descs())


def format_capability_lists() -> st.SearchStrategy[FormatCapabilityList]:
    """Any FormatCapabilityList of up to 3 formats."""
    return st.builds(FormatCapabilityList, st.lists(format_capabilities(), max_size=3).map(tuple))


def cancel_requests() -> st.SearchStrategy[CancelRequestData]:
    """Any Cancel Request payload."""
    return st.builds(CancelRequestData, u32s)


def device_statuses() -> st.SearchStrategy[DeviceStatus]:
    """Any Get Device Status reply (endpoint entries are non-zero)."""
    return st.builds(DeviceStatus, u16s, _tuples(st.integers(1, 0xFFFF), max_size=4))


def extended_event_datas() -> st.SearchStrategy[ExtendedEventData]:
    """Any Get Extended Event Data reply."""
    return st.builds(
        ExtendedEventData, u16s, u32s, st.lists(st.binary(max_size=20), max_size=4).map(tuple)
    )
