"""PROPVARIANTs and WPD's value containers (PortableDeviceTypes.h): :class:`PropVariant`,
:class:`PortableDeviceValues`, :class:`PortableDeviceKeyCollection`,
:class:`PortableDevicePropVariantCollection` and :class:`PortableDeviceValuesCollection`.

Theory of operation
-------------------
A :class:`PropVariant` is a VARTYPE plus a Python value of the matching kind: ``int`` for the
integer types and ``VT_ERROR`` (an unsigned HRESULT), ``float`` for ``VT_R4``/``VT_R8``, ``bool``,
``str`` for ``VT_LPWSTR``, :class:`uuid.UUID` for ``VT_CLSID``, ``bytes`` for
``VT_VECTOR|VT_UI1``, :class:`datetime.datetime` for ``VT_DATE``/``VT_FILETIME``, and for
``VT_UNKNOWN`` a :class:`~openwpd.wpd.keys.PropertyKey` (WPD's ``SetKeyValue``) or a nested
values object or collection. Constructing one checks the value (WpdError(E_INVALIDARG) if it
does not fit the type).

:class:`PortableDeviceValues` is an ordered mapping PROPERTYKEY -> value (setting an existing key
overwrites). Plain item assignment picks the VARTYPE WPD documents for the key
(:data:`~openwpd.wpd.keys.KEY_TYPES`) when the value fits it, else one inferred from the Python
type; the typed ``set_*_value`` methods store exactly their VARTYPE and the ``get_*_value`` methods
insist on it: a missing key raises ``WpdError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND))`` (also a
``KeyError``), another VARTYPE raises ``WpdError(DISP_E_TYPEMISMATCH)``.

The collections have WPD's methods (``add``, ``get_at``, ``get_count``, ``remove_at``, ``clear``)
and behave as Python sequences. A PropVariant collection is homogeneous, as in WPD: an item of
another type is converted to the collection's type when that is possible, else refused with
DISP_E_TYPEMISMATCH; ``change_type`` converts every item.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar, overload

from openwpd.wpd.commands import PARAMETER_TYPES
from openwpd.wpd.errors import (
    DISP_E_TYPEMISMATCH,
    E_INVALIDARG,
    ERROR_NOT_FOUND,
    HRESULT_FROM_WIN32,
    WpdError,
)
from openwpd.wpd.keys import KEY_TYPES, PropertyKey, VarType

_INT_RANGES: dict[VarType, tuple[int, int]] = {
    VarType.I1: (-(1 << 7), (1 << 7) - 1),
    VarType.UI1: (0, (1 << 8) - 1),
    VarType.I2: (-(1 << 15), (1 << 15) - 1),
    VarType.UI2: (0, (1 << 16) - 1),
    VarType.I4: (-(1 << 31), (1 << 31) - 1),
    VarType.UI4: (0, (1 << 32) - 1),
    VarType.I8: (-(1 << 63), (1 << 63) - 1),
    VarType.UI8: (0, (1 << 64) - 1),
    VarType.ERROR: (0, (1 << 32) - 1),
}


class WpdKeyError(WpdError, KeyError):
    """A key is not in a :class:`PortableDeviceValues` (HRESULT_FROM_WIN32(ERROR_NOT_FOUND));
    also a ``KeyError`` so the mapping protocol (``get``, ``in``) works."""

    def __init__(self, key: PropertyKey) -> None:
        super().__init__(HRESULT_FROM_WIN32(ERROR_NOT_FOUND), f"no value for {key.name}")

    def __str__(self) -> str:
        return Exception.__str__(self)


def _is_unknown(value: object) -> bool:
    return isinstance(
        value,
        PropertyKey
        | PortableDeviceValues
        | PortableDeviceKeyCollection
        | PortableDevicePropVariantCollection
        | PortableDeviceValuesCollection,
    )


def _fits(vt: VarType, value: object) -> bool:
    """True when ``value`` is a valid Python value for ``vt``."""
    if vt in _INT_RANGES:
        low, high = _INT_RANGES[vt]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if vt in (VarType.R4, VarType.R8):
        return isinstance(value, float)
    if vt in (VarType.EMPTY, VarType.NULL):
        return value is None
    checks: dict[VarType, type | tuple[type, ...]] = {
        VarType.BOOL: bool,
        VarType.LPWSTR: str,
        VarType.CLSID: uuid.UUID,
        VarType.VECTOR_UI1: bytes,
        VarType.DATE: datetime,
        VarType.FILETIME: datetime,
    }
    if vt == VarType.UNKNOWN:
        return _is_unknown(value)
    return isinstance(value, checks[vt])


def _normalise(vt: VarType, value: object) -> object:
    """Accept the obvious near-misses (a bytearray for bytes, an int for a float, a negative
    HRESULT) before checking."""
    if vt == VarType.VECTOR_UI1 and isinstance(value, bytearray | memoryview):
        return bytes(value)
    if vt in (VarType.R4, VarType.R8) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if vt == VarType.ERROR and isinstance(value, int) and not isinstance(value, bool):
        return value & 0xFFFFFFFF if value < 0 else value
    return value


def infer_vartype(value: object) -> VarType:
    """The VARTYPE a Python value is stored as when no type is asked for (see module docstring).
    Raises WpdError(E_INVALIDARG) for a value no PROPVARIANT can hold."""
    if value is None:
        return VarType.EMPTY
    if isinstance(value, bool):
        return VarType.BOOL
    if isinstance(value, int):
        for vt in (VarType.UI4, VarType.I4, VarType.UI8, VarType.I8):
            if _fits(vt, value):
                return vt
        raise WpdError(E_INVALIDARG, f"{value} does not fit in 64 bits")
    simple: list[tuple[type | tuple[type, ...], VarType]] = [
        (float, VarType.R8),
        (str, VarType.LPWSTR),
        (uuid.UUID, VarType.CLSID),
        ((bytes, bytearray, memoryview), VarType.VECTOR_UI1),
        (datetime, VarType.DATE),
    ]
    for kind, vt in simple:
        if isinstance(value, kind):
            return vt
    if _is_unknown(value):
        return VarType.UNKNOWN
    raise WpdError(E_INVALIDARG, f"no PROPVARIANT type holds a {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class PropVariant:
    """A VARTYPE and its value (see the module docstring). Raises WpdError(E_INVALIDARG) when
    the value does not fit the type."""

    vt: VarType
    value: object

    def __post_init__(self) -> None:
        try:
            vt = VarType(self.vt)
        except ValueError:
            raise WpdError(E_INVALIDARG, f"unsupported VARTYPE {self.vt!r}") from None
        value = _normalise(vt, self.value)
        if not _fits(vt, value):
            raise WpdError(E_INVALIDARG, f"{value!r} is not a valid {vt.name} value")
        object.__setattr__(self, "vt", vt)
        object.__setattr__(self, "value", value)

    @classmethod
    def of(cls, value: object, hint: VarType | None = None) -> PropVariant:
        """``value`` as a PropVariant: itself if it already is one; with type ``hint`` when the
        value fits it; else with the inferred type."""
        if isinstance(value, PropVariant):
            return value
        if hint is not None:
            candidate = _normalise(hint, value)
            if _fits(hint, candidate):
                return cls(hint, candidate)
        return cls(infer_vartype(value), value)


def convert(item: PropVariant, vt: VarType) -> PropVariant:
    """``item`` converted to ``vt`` (PropVariantChangeType, the cases WPD needs): integers to
    other integer types in range, numbers to floats, anything simple to a string, strings to
    numbers and GUIDs. Raises WpdError(DISP_E_TYPEMISMATCH) when it cannot be done."""
    if item.vt == vt:
        return item
    value = item.value
    try:
        if vt == VarType.LPWSTR and item.vt != VarType.UNKNOWN and value is not None:
            if isinstance(value, uuid.UUID):
                return PropVariant(vt, "{" + str(value).upper() + "}")
            if isinstance(value, bytes | datetime):
                raise ValueError
            return PropVariant(vt, str(value))
        if isinstance(value, str):
            if vt == VarType.CLSID:
                return PropVariant(vt, uuid.UUID(value))
            if vt in (VarType.R4, VarType.R8):
                return PropVariant(vt, float(value))
            value = int(value, 0)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if vt in (VarType.R4, VarType.R8):
                return PropVariant(vt, float(value))
            if vt in _INT_RANGES and float(value).is_integer() and math.isfinite(value):
                return PropVariant(vt, int(value))
    except (ValueError, WpdError):
        pass
    raise WpdError(DISP_E_TYPEMISMATCH, f"cannot convert {item.vt.name} {value!r} to {vt.name}")


def _declared_type(key: PropertyKey) -> VarType | None:
    return KEY_TYPES.get(key) or PARAMETER_TYPES.get(key)


_T = TypeVar("_T")


class PortableDeviceValues(MutableMapping[PropertyKey, object]):
    """IPortableDeviceValues: an ordered PROPERTYKEY -> value mapping with WPD's typed
    accessors (see the module docstring). ``values[key]`` gives the Python value;
    :meth:`get_value` the :class:`PropVariant`."""

    def __init__(
        self, items: Mapping[PropertyKey, object] | Iterable[tuple[PropertyKey, object]] = ()
    ) -> None:
        self._items: dict[PropertyKey, PropVariant] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self[key] = value

    # -- mapping protocol -----------------------------------------------------------------------

    def __getitem__(self, key: PropertyKey) -> object:
        return self.get_value(key).value

    def __setitem__(self, key: PropertyKey, value: object) -> None:
        self.set_value(key, value)

    def __delitem__(self, key: PropertyKey) -> None:
        if key not in self._items:
            raise WpdKeyError(key)
        del self._items[key]

    def __iter__(self) -> Iterator[PropertyKey]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __repr__(self) -> str:
        inner = ", ".join(f"{k.name}: {v.vt.name} {v.value!r}" for k, v in self._items.items())
        return f"PortableDeviceValues({{{inner}}})"

    # -- WPD's generic methods --------------------------------------------------------------------

    def get_count(self) -> int:
        """GetCount."""
        return len(self._items)

    def get_at(self, index: int) -> tuple[PropertyKey, object]:
        """GetAt: the (key, value) at ``index`` in insertion order; WpdError(E_INVALIDARG) when
        out of range."""
        if not 0 <= index < len(self._items):
            raise WpdError(E_INVALIDARG, f"index {index} out of range")
        key = list(self._items)[index]
        return key, self._items[key].value

    def get_value(self, key: PropertyKey) -> PropVariant:
        """GetValue: the PropVariant stored under ``key`` (WpdKeyError when absent)."""
        try:
            return self._items[key]
        except KeyError:
            raise WpdKeyError(key) from None

    def set_value(self, key: PropertyKey, value: object) -> None:
        """SetValue: store a PropVariant, or a Python value typed as the module docstring says."""
        if not isinstance(key, PropertyKey):
            raise WpdError(E_INVALIDARG, f"keys are PropertyKey objects, not {key!r}")
        self._items[key] = PropVariant.of(value, _declared_type(key))

    def remove_value(self, key: PropertyKey) -> None:
        """RemoveValue (WpdKeyError when absent)."""
        del self[key]

    def clear(self) -> None:
        """Clear."""
        self._items.clear()

    def copy(self) -> PortableDeviceValues:
        """A shallow copy (nested values are shared)."""
        new = PortableDeviceValues()
        new._items = dict(self._items)
        return new

    def _typed(self, key: PropertyKey, vt: VarType, kind: type[_T]) -> _T:
        item = self.get_value(key)
        if item.vt != vt or not isinstance(item.value, kind):
            raise WpdError(
                DISP_E_TYPEMISMATCH, f"{key.name} holds a {item.vt.name}, not a {vt.name}"
            )
        return item.value

    def _store(self, key: PropertyKey, vt: VarType, value: object, kind: type) -> None:
        if not isinstance(key, PropertyKey):
            raise WpdError(E_INVALIDARG, f"keys are PropertyKey objects, not {key!r}")
        if not isinstance(value, kind):
            raise WpdError(E_INVALIDARG, f"{value!r} is not a {kind.__name__}")
        self._items[key] = PropVariant(vt, value)

    # -- typed accessors ----------------------------------------------------------------------

    def get_string_value(self, key: PropertyKey) -> str:
        """GetStringValue (VT_LPWSTR)."""
        return self._typed(key, VarType.LPWSTR, str)

    def set_string_value(self, key: PropertyKey, value: str) -> None:
        """SetStringValue (VT_LPWSTR)."""
        self._store(key, VarType.LPWSTR, value, str)

    def get_unsigned_integer_value(self, key: PropertyKey) -> int:
        """GetUnsignedIntegerValue (VT_UI4)."""
        return self._typed(key, VarType.UI4, int)

    def set_unsigned_integer_value(self, key: PropertyKey, value: int) -> None:
        """SetUnsignedIntegerValue (VT_UI4)."""
        self._store(key, VarType.UI4, value, int)

    def get_signed_integer_value(self, key: PropertyKey) -> int:
        """GetSignedIntegerValue (VT_I4)."""
        return self._typed(key, VarType.I4, int)

    def set_signed_integer_value(self, key: PropertyKey, value: int) -> None:
        """SetSignedIntegerValue (VT_I4)."""
        self._store(key, VarType.I4, value, int)

    def get_unsigned_large_integer_value(self, key: PropertyKey) -> int:
        """GetUnsignedLargeIntegerValue (VT_UI8)."""
        return self._typed(key, VarType.UI8, int)

    def set_unsigned_large_integer_value(self, key: PropertyKey, value: int) -> None:
        """SetUnsignedLargeIntegerValue (VT_UI8)."""
        self._store(key, VarType.UI8, value, int)

    def get_signed_large_integer_value(self, key: PropertyKey) -> int:
        """GetSignedLargeIntegerValue (VT_I8)."""
        return self._typed(key, VarType.I8, int)

    def set_signed_large_integer_value(self, key: PropertyKey, value: int) -> None:
        """SetSignedLargeIntegerValue (VT_I8)."""
        self._store(key, VarType.I8, value, int)

    def get_float_value(self, key: PropertyKey) -> float:
        """GetFloatValue (VT_R4)."""
        return self._typed(key, VarType.R4, float)

    def set_float_value(self, key: PropertyKey, value: float) -> None:
        """SetFloatValue (VT_R4; an int is accepted)."""
        self._store(key, VarType.R4, _normalise(VarType.R4, value), float)

    def get_bool_value(self, key: PropertyKey) -> bool:
        """GetBoolValue (VT_BOOL)."""
        return self._typed(key, VarType.BOOL, bool)

    def set_bool_value(self, key: PropertyKey, value: bool) -> None:
        """SetBoolValue (VT_BOOL)."""
        self._store(key, VarType.BOOL, value, bool)

    def get_guid_value(self, key: PropertyKey) -> uuid.UUID:
        """GetGuidValue (VT_CLSID)."""
        return self._typed(key, VarType.CLSID, uuid.UUID)

    def set_guid_value(self, key: PropertyKey, value: uuid.UUID) -> None:
        """SetGuidValue (VT_CLSID)."""
        self._store(key, VarType.CLSID, value, uuid.UUID)

    def get_buffer_value(self, key: PropertyKey) -> bytes:
        """GetBufferValue (VT_VECTOR|VT_UI1)."""
        return self._typed(key, VarType.VECTOR_UI1, bytes)

    def set_buffer_value(self, key: PropertyKey, value: bytes | bytearray | memoryview) -> None:
        """SetBufferValue (VT_VECTOR|VT_UI1)."""
        self._store(key, VarType.VECTOR_UI1, _normalise(VarType.VECTOR_UI1, value), bytes)

    def get_error_value(self, key: PropertyKey) -> int:
        """GetErrorValue (VT_ERROR): an unsigned HRESULT."""
        return self._typed(key, VarType.ERROR, int)

    def set_error_value(self, key: PropertyKey, value: int) -> None:
        """SetErrorValue (VT_ERROR; a negative HRESULT is stored unsigned)."""
        self._store(key, VarType.ERROR, _normalise(VarType.ERROR, value), int)

    def get_key_value(self, key: PropertyKey) -> PropertyKey:
        """GetKeyValue (a PROPERTYKEY stored as VT_UNKNOWN)."""
        return self._typed(key, VarType.UNKNOWN, PropertyKey)

    def set_key_value(self, key: PropertyKey, value: PropertyKey) -> None:
        """SetKeyValue."""
        self._store(key, VarType.UNKNOWN, value, PropertyKey)

    def get_values_value(self, key: PropertyKey) -> PortableDeviceValues:
        """GetIPortableDeviceValuesValue."""
        return self._typed(key, VarType.UNKNOWN, PortableDeviceValues)

    def set_values_value(self, key: PropertyKey, value: PortableDeviceValues) -> None:
        """SetIPortableDeviceValuesValue."""
        self._store(key, VarType.UNKNOWN, value, PortableDeviceValues)

    def get_key_collection_value(self, key: PropertyKey) -> PortableDeviceKeyCollection:
        """GetIPortableDeviceKeyCollectionValue."""
        return self._typed(key, VarType.UNKNOWN, PortableDeviceKeyCollection)

    def set_key_collection_value(
        self, key: PropertyKey, value: PortableDeviceKeyCollection
    ) -> None:
        """SetIPortableDeviceKeyCollectionValue."""
        self._store(key, VarType.UNKNOWN, value, PortableDeviceKeyCollection)

    def get_prop_variant_collection_value(
        self, key: PropertyKey
    ) -> PortableDevicePropVariantCollection:
        """GetIPortableDevicePropVariantCollectionValue."""
        return self._typed(key, VarType.UNKNOWN, PortableDevicePropVariantCollection)

    def set_prop_variant_collection_value(
        self, key: PropertyKey, value: PortableDevicePropVariantCollection
    ) -> None:
        """SetIPortableDevicePropVariantCollectionValue."""
        self._store(key, VarType.UNKNOWN, value, PortableDevicePropVariantCollection)

    def get_values_collection_value(self, key: PropertyKey) -> PortableDeviceValuesCollection:
        """GetIPortableDeviceValuesCollectionValue."""
        return self._typed(key, VarType.UNKNOWN, PortableDeviceValuesCollection)

    def set_values_collection_value(
        self, key: PropertyKey, value: PortableDeviceValuesCollection
    ) -> None:
        """SetIPortableDeviceValuesCollectionValue."""
        self._store(key, VarType.UNKNOWN, value, PortableDeviceValuesCollection)


_I = TypeVar("_I")


class _Collection(Generic[_I]):
    """The shared part of WPD's collections: a list with GetCount/GetAt/RemoveAt/Clear."""

    def __init__(self) -> None:
        self._items: list[_I] = []

    def _check(self, index: int) -> None:
        if not isinstance(index, int) or not 0 <= index < len(self._items):
            raise WpdError(E_INVALIDARG, f"index {index!r} out of range")

    def get_count(self) -> int:
        """GetCount."""
        return len(self._items)

    def remove_at(self, index: int) -> None:
        """RemoveAt (WpdError(E_INVALIDARG) when out of range)."""
        self._check(index)
        del self._items[index]

    def clear(self) -> None:
        """Clear."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Collection)
        return self._items == other._items

    __hash__ = None  # type: ignore[assignment]


class PortableDeviceKeyCollection(_Collection[PropertyKey]):
    """IPortableDeviceKeyCollection: an ordered list of PROPERTYKEYs."""

    def __init__(self, keys: Iterable[PropertyKey] = ()) -> None:
        super().__init__()
        for key in keys:
            self.add(key)

    def add(self, key: PropertyKey) -> None:
        """Add (WpdError(E_INVALIDARG) for anything but a PropertyKey)."""
        if not isinstance(key, PropertyKey):
            raise WpdError(E_INVALIDARG, f"not a PropertyKey: {key!r}")
        self._items.append(key)

    def get_at(self, index: int) -> PropertyKey:
        """GetAt."""
        self._check(index)
        return self._items[index]

    def __iter__(self) -> Iterator[PropertyKey]:
        return iter(list(self._items))

    def __getitem__(self, index: int) -> PropertyKey:
        return self._items[index]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __repr__(self) -> str:
        return f"PortableDeviceKeyCollection([{', '.join(k.name for k in self._items)}])"


class PortableDevicePropVariantCollection(_Collection[PropVariant]):
    """IPortableDevicePropVariantCollection: a homogeneous list of PROPVARIANTs (see the module
    docstring). Indexing and iteration give Python values; :meth:`get_variant_at` the
    PropVariant."""

    def __init__(self, items: Iterable[object] = (), vt: VarType | None = None) -> None:
        super().__init__()
        self._vt = vt
        for item in items:
            self.add(item)

    def add(self, value: object) -> None:
        """Add a value or PropVariant; converted to the collection's type when it has one
        (WpdError(DISP_E_TYPEMISMATCH) when impossible)."""
        item = PropVariant.of(value, self._vt)
        if self._vt is None:
            self._vt = item.vt
        self._items.append(convert(item, self._vt))

    def get_at(self, index: int) -> object:
        """GetAt: the Python value at ``index``."""
        self._check(index)
        return self._items[index].value

    def get_variant_at(self, index: int) -> PropVariant:
        """GetAt: the PropVariant at ``index``."""
        self._check(index)
        return self._items[index]

    def get_type(self) -> VarType:
        """GetType: the items' VARTYPE (VT_EMPTY for an empty, untyped collection)."""
        return self._vt if self._vt is not None else VarType.EMPTY

    def change_type(self, vt: VarType) -> None:
        """ChangeType: convert every item to ``vt`` (DISP_E_TYPEMISMATCH when one cannot be;
        the collection is then left unchanged)."""
        self._items = [convert(item, vt) for item in self._items]
        self._vt = vt

    def __iter__(self) -> Iterator[object]:
        return iter([item.value for item in self._items])

    @overload
    def __getitem__(self, index: int) -> object: ...
    @overload
    def __getitem__(self, index: slice) -> list[object]: ...
    def __getitem__(self, index: int | slice) -> object:
        if isinstance(index, slice):
            return [item.value for item in self._items[index]]
        return self._items[index].value

    def __contains__(self, value: object) -> bool:
        return any(item.value == value for item in self._items)

    def __repr__(self) -> str:
        return f"PortableDevicePropVariantCollection({[i.value for i in self._items]!r})"


class PortableDeviceValuesCollection(_Collection[PortableDeviceValues]):
    """IPortableDeviceValuesCollection: an ordered list of :class:`PortableDeviceValues`."""

    def __init__(self, items: Iterable[PortableDeviceValues] = ()) -> None:
        super().__init__()
        for item in items:
            self.add(item)

    def add(self, values: PortableDeviceValues) -> None:
        """Add (WpdError(E_INVALIDARG) for anything but a PortableDeviceValues)."""
        if not isinstance(values, PortableDeviceValues):
            raise WpdError(E_INVALIDARG, f"not a PortableDeviceValues: {values!r}")
        self._items.append(values)

    def get_at(self, index: int) -> PortableDeviceValues:
        """GetAt."""
        self._check(index)
        return self._items[index]

    def __iter__(self) -> Iterator[PortableDeviceValues]:
        return iter(list(self._items))

    def __getitem__(self, index: int) -> PortableDeviceValues:
        return self._items[index]

    def __repr__(self) -> str:
        return f"PortableDeviceValuesCollection({self._items!r})"


__all__ = [
    "PortableDeviceKeyCollection",
    "PortableDevicePropVariantCollection",
    "PortableDeviceValues",
    "PortableDeviceValuesCollection",
    "PropVariant",
    "WpdKeyError",
    "convert",
    "infer_vartype",
]
