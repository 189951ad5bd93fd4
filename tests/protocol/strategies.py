"""Hypothesis strategies for PTP values and MTP datasets, reusable by any test.

Import with ``from strategies import ...`` from tests in this folder (pytest puts the folder of
a test module without ``__init__.py`` on ``sys.path``). Every strategy produces values that the
builders accept, so ``parse(build(x)) == x`` must hold for all of them.
"""

from __future__ import annotations

import uuid

from hypothesis import strategies as st

from openwpd.protocol.codes import DataType

__all__ = [
    "ALL_DATATYPES",
    "datatypes",
    "guids",
    "typed_values",
    "u8s",
    "u16s",
    "u32s",
    "u64s",
    "utf16_units",
    "values_for",
    "wire_strings",
]

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
