"""The object-property model of the virtual device: which MTP object properties it serves, how
each is described (ObjectPropDesc), encoded on the wire and -- for the two writable ones --
decoded from an initiator.

Theory of operation
-------------------
*The property set.* The device serves a folder, so every object is "a file" (or a folder) and
every format gets the same set (Android's base set plus the PTP basics; PTP/MTP):

=========================  ========  ===  =====  ======================================
property                   type      set  group  value
=========================  ========  ===  =====  ======================================
StorageID                  UINT32         1      the object's storage
ObjectFormat               UINT16         1      by extension; Association for folders
ProtectionStatus           UINT16                0 (as ObjectInfo says; enum form)
ObjectSize                 UINT64         1      real size, also >= 4 GiB (0 for folders)
AssociationType            UINT16         1      1 GenericFolder for folders, else 0
AssociationDesc            UINT32                0
ObjectFileName             STR       yes  1      the name on disk; setting it renames
DateCreated                STR                   birth (or inode change) time, local
DateModified               STR       yes  1      mtime, local; setting it sets the mtime
ParentObject               UINT32         1      parent handle, 0 in a storage root
Hidden                     UINT16                1 for dot-files, else 0 (enum form)
PersistentUniqueObjectID   UINT128        1      the store's stable PUID
Name                       STR                   = ObjectFileName (Android: read-only)
DateAdded                  STR                   = DateCreated
DisplayName                STR                   = ObjectFileName
=========================  ========  ===  =====  ======================================

Name and DisplayName are read-only views of the file name, as on Android: one writable name
avoids two ways of renaming. No AUINT128 (gphoto stops parsing a list at one) and no
NonConsumable/Keywords: a plain folder has nothing true to say about them.

*Group 1, "listing essentials"* -- beyond Android, which supports no groups: the eight
properties marked 1 above, reported as GroupCode 1 in their ObjectPropDesc. GetObjectPropList
with PropCode 0 and GroupCode 1 returns exactly those, which is what a file browser needs to
show a folder (the async client lists 50,000-file folders with it). Other groups are refused.

*Speed.* A GetObjectPropList of a 50,000-file folder must take well under a second, so the hot
path does not go through the generic Writer: :class:`BlockEncoder` packs one object's elements
with ``struct`` and caches the block keyed by (snapshot, property tuple), in the device's
:class:`PropListCache`. A :class:`~openwpd.server.store.StoredObject` is an immutable, hashable
snapshot and the encoding depends on nothing else, so a cached block is valid exactly as long as
the store hands out the same snapshot; a changed object is a new snapshot and a new key. The
cache is bounded (oldest entries go first).

*Incoming values.* :func:`read_strict_string` decodes a PTP string the way a value we *act on*
must be decoded: NUL-terminated, no NUL inside, no lone surrogate (the lenient dataset reader
would turn those into "a" or U+FFFD and rename the file to something the initiator never
asked for). :func:`iter_incoming_prop_list` walks a SetObjectPropList/SendObjectPropList
dataset element by element so that a failure can be reported with its element index (MTP 1.1).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType

from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import (
    AssociationType,
    DataType,
    GetSet,
    ObjectFormatCode,
    ObjectPropCode,
    ProtectionStatus,
    ResponseCode,
)
from openwpd.protocol.datasets import DateTimeForm, EnumForm, Form, ObjectPropDesc
from openwpd.protocol.datatypes import (
    MAX_STRING_UNITS,
    Value,
    min_wire_size,
    read_value,
    truncate_for_wire,
)
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.server.context import MtpError
from openwpd.server.objinfo import mtp_date
from openwpd.server.store import StoredObject

#: GroupCode of the "listing essentials" group (see the module docstring).
GROUP_LISTING = 1
#: GroupCode 0 = the property belongs to no group.
NO_GROUP = 0

_P = ObjectPropCode
_u16 = struct.Struct("<H").pack
_u32 = struct.Struct("<I").pack
_u64 = struct.Struct("<Q").pack
_code_type = struct.Struct("<HH").pack


def encode_string(text: str) -> bytes:
    """``text`` as a PTP string (u8 unit count incl. NUL, UTF-16LE units, NUL; ``""`` is
    ``00``). Longer names are cut to what a PTP string holds (the store never serves one)."""
    if not text:
        return b"\x00"
    units = text.encode("utf-16-le", "surrogatepass")
    if len(units) > 2 * MAX_STRING_UNITS:
        units = truncate_for_wire(text).encode("utf-16-le", "surrogatepass")
    return bytes((len(units) // 2 + 1,)) + units + b"\x00\x00"


@lru_cache(maxsize=65536)
def _date_at(second: int) -> bytes:
    # many files of a folder share their second; formatting a date costs microseconds
    return encode_string(mtp_date(datetime.fromtimestamp(second, UTC)))


def _date_value(when: datetime) -> bytes:
    """A DateTime value (local time, whole seconds as MTP dates carry them)."""
    return _date_at(math.floor(when.timestamp()))


def _name(obj: StoredObject) -> bytes:
    return encode_string(obj.name)


def _created(obj: StoredObject) -> bytes:
    return _date_value(obj.ctime)


def _modified(obj: StoredObject) -> bytes:
    return _date_value(obj.mtime)


def _hidden(obj: StoredObject) -> bytes:
    return b"\x01\x00" if obj.name.startswith(".") else b"\x00\x00"


Encoder = Callable[[StoredObject], bytes]


@dataclass(frozen=True, slots=True, eq=False)
class PropSpec:
    """One supported object property: its wire type, access, group, form and encoder.

    ``encode(obj)`` returns the value's wire bytes for ``obj``. Specs compare by identity
    (there is one per property), which keeps hashing property tuples cheap.
    """

    code: ObjectPropCode
    datatype: DataType
    writable: bool
    group: int
    form: Form | None
    encode: Encoder

    def desc(self) -> ObjectPropDesc:
        """The ObjectPropDesc dataset (factory default 0 or ``""``)."""
        return ObjectPropDesc(
            code=self.code,
            datatype=self.datatype,
            getset=GetSet.GET_SET if self.writable else GetSet.GET,
            factory_default="" if self.datatype == DataType.STR else 0,
            group_code=self.group,
            form=self.form,
        )


_DATE = DateTimeForm()
_ZERO16 = _u16(0)
_ZERO32 = _u32(0)

_SPECS: tuple[PropSpec, ...] = (
    PropSpec(
        _P.STORAGE_ID, DataType.UINT32, False, GROUP_LISTING, None, lambda o: _u32(o.storage_id)
    ),
    PropSpec(
        _P.OBJECT_FORMAT, DataType.UINT16, False, GROUP_LISTING, None, lambda o: _u16(o.format)
    ),
    PropSpec(
        _P.PROTECTION_STATUS,
        DataType.UINT16,
        False,
        NO_GROUP,
        EnumForm(tuple(ProtectionStatus)),
        lambda o: _ZERO16,
    ),
    PropSpec(_P.OBJECT_SIZE, DataType.UINT64, False, GROUP_LISTING, None, lambda o: _u64(o.size)),
    PropSpec(
        _P.ASSOCIATION_TYPE,
        DataType.UINT16,
        False,
        GROUP_LISTING,
        EnumForm((AssociationType.UNDEFINED, AssociationType.GENERIC_FOLDER)),
        lambda o: _u16(AssociationType.GENERIC_FOLDER if o.is_folder else 0),
    ),
    PropSpec(_P.ASSOCIATION_DESC, DataType.UINT32, False, NO_GROUP, None, lambda o: _ZERO32),
    PropSpec(
        _P.OBJECT_FILE_NAME,
        DataType.STR,
        True,
        GROUP_LISTING,
        None,
        _name,
    ),
    PropSpec(_P.DATE_CREATED, DataType.STR, False, NO_GROUP, _DATE, _created),
    PropSpec(_P.DATE_MODIFIED, DataType.STR, True, GROUP_LISTING, _DATE, _modified),
    PropSpec(
        _P.PARENT_OBJECT, DataType.UINT32, False, GROUP_LISTING, None, lambda o: _u32(o.parent)
    ),
    PropSpec(_P.HIDDEN, DataType.UINT16, False, NO_GROUP, EnumForm((0, 1)), _hidden),
    PropSpec(
        _P.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER,
        DataType.UINT128,
        False,
        GROUP_LISTING,
        None,
        lambda o: o.puid.to_bytes(16, "little"),
    ),
    PropSpec(_P.NAME, DataType.STR, False, NO_GROUP, None, _name),
    PropSpec(_P.DATE_ADDED, DataType.STR, False, NO_GROUP, _DATE, _created),
    PropSpec(_P.DISPLAY_NAME, DataType.STR, False, NO_GROUP, None, _name),
)

#: Every supported property by code, in the order lists report them.
PROPS: Mapping[int, PropSpec] = MappingProxyType({s.code: s for s in _SPECS})
#: All supported properties (GetObjectPropList PropCode 0xFFFFFFFF).
ALL_PROPS: tuple[PropSpec, ...] = _SPECS
#: The "listing essentials" group (GetObjectPropList PropCode 0, GroupCode 1).
LISTING_PROPS: tuple[PropSpec, ...] = tuple(s for s in _SPECS if s.group == GROUP_LISTING)


def check_format(fmt: int) -> ObjectFormatCode:
    """The format named by an operation parameter; every format we know has the same
    properties. Raises MtpError(INVALID_OBJECT_FORMAT_CODE) for 0 and unknown codes."""
    try:
        return ObjectFormatCode(fmt)
    except ValueError:
        raise MtpError(
            ResponseCode.INVALID_OBJECT_FORMAT_CODE, f"unknown format 0x{fmt:04X}"
        ) from None


_KNOWN_CODES = frozenset(ObjectPropCode)


def lookup(code: int) -> PropSpec:
    """The supported property ``code``. Raises MtpError: INVALID_OBJECT_PROP_CODE for a code
    that is no MTP object property, OBJECT_PROP_NOT_SUPPORTED for one we do not serve."""
    spec = PROPS.get(code)
    if spec is not None:
        return spec
    if code in _KNOWN_CODES:
        raise MtpError(ResponseCode.OBJECT_PROP_NOT_SUPPORTED, f"0x{code:04X} not supported")
    raise MtpError(ResponseCode.INVALID_OBJECT_PROP_CODE, f"0x{code:04X} is no object property")


# -- the hot path: encoded per-object blocks -------------------------------------------------

#: Most cached blocks per property tuple (~350 bytes each with every property).
CACHE_LIMIT = 131_072


class BlockEncoder:
    """Encodes (and caches) the ObjectPropList elements of one object for a fixed property
    tuple. Get one from the device's :class:`PropListCache`; values shared by several
    properties (the file name for ObjectFileName, Name and DisplayName) are computed once per
    object."""

    def __init__(self, props: tuple[PropSpec, ...]) -> None:
        self.props = props
        funcs: list[Encoder] = []
        layout: list[tuple[bytes, int]] = []
        for spec in props:
            if spec.encode not in funcs:
                funcs.append(spec.encode)
            layout.append((_code_type(spec.code, spec.datatype), funcs.index(spec.encode)))
        self._funcs = tuple(funcs)
        self._layout = tuple(layout)
        # handle -> (the object as encoded, its block); a hit needs the very same object: the
        # store replaces an object's instance whenever it changes
        self._cache: dict[int, tuple[StoredObject, bytes]] = {}

    def block(self, obj: StoredObject) -> bytes:
        """The elements of ``obj``, in property order."""
        hit = self._cache.get(obj.handle)
        if hit is not None and hit[0] is obj:
            return hit[1]
        handle = _u32(obj.handle)
        values = [f(obj) for f in self._funcs]
        block = b"".join([handle + ct + values[i] for ct, i in self._layout])
        cache = self._cache
        if len(cache) >= CACHE_LIMIT:
            # drop the oldest tenth: dicts keep insertion order
            for stale in list(cache)[: CACHE_LIMIT // 10]:
                del cache[stale]
        cache[obj.handle] = (obj, block)
        return block

    def forget(self, handle: int) -> None:
        self._cache.pop(handle, None)

    def cached_handles(self) -> set[int]:
        return set(self._cache)


class PropListCache:
    """The encoded ObjectPropList blocks of one device's objects: one :class:`BlockEncoder` per
    property tuple (there are few distinct tuples: all, the group, and one per single property).
    It belongs to its device (``VirtualDevice.prop_lists``), since handles only mean something
    within one device."""

    def __init__(self) -> None:
        self._encoders: dict[tuple[PropSpec, ...], BlockEncoder] = {}

    def encoder_for(self, props: tuple[PropSpec, ...]) -> BlockEncoder:
        """The encoder of ``props``, created on first use."""
        encoder = self._encoders.get(props)
        if encoder is None:
            encoder = self._encoders[props] = BlockEncoder(props)
        return encoder

    def forget(self, handles: Iterable[int]) -> None:
        """Drop the cached blocks of objects that are gone (a cache entry keeps its object alive:
        after another program deleted a 50,000-file folder that had been listed, ~36 MB)."""
        for handle in handles:
            for encoder in self._encoders.values():
                encoder.forget(handle)

    def cached_handles(self) -> set[int]:
        """The handles that have a cached block under some property tuple."""
        return {h for encoder in self._encoders.values() for h in encoder.cached_handles()}


def chunked(blocks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Join ``blocks`` into chunks of about ``size`` bytes (the last may be shorter)."""
    parts: list[bytes] = []
    held = 0
    for block in blocks:
        parts.append(block)
        held += len(block)
        if held >= size:
            yield b"".join(parts)
            parts, held = [], 0
    if parts:
        yield b"".join(parts)


# -- incoming values -------------------------------------------------------------------------


def read_strict_string(reader: Reader) -> str:
    """Read a PTP string for a value the device acts on. Raises MtpError
    INVALID_OBJECT_PROP_VALUE if it is not NUL-terminated, holds a NUL or a lone surrogate;
    RemoteProtocolError if truncated."""
    count = reader.u8("string length")
    if count == 0:
        return ""
    raw = reader.read_bytes(2 * count, "string characters")
    if raw[-2:] != b"\x00\x00":
        raise MtpError(ResponseCode.INVALID_OBJECT_PROP_VALUE, "string without its NUL")
    try:
        text = raw[:-2].decode("utf-16-le")
    except UnicodeDecodeError:
        raise MtpError(ResponseCode.INVALID_OBJECT_PROP_VALUE, "lone surrogate") from None
    if "\x00" in text:
        raise MtpError(ResponseCode.INVALID_OBJECT_PROP_VALUE, "NUL inside a string")
    return text


def read_incoming_value(reader: Reader, datatype: int) -> Value:
    """One value of ``datatype`` from an initiator (strings strictly, see
    :func:`read_strict_string`). Raises MtpError INVALID_OBJECT_PROP_FORMAT if truncated or of
    an unknown type, INVALID_OBJECT_PROP_VALUE for a bad string."""
    try:
        if datatype == DataType.STR:
            return read_strict_string(reader)
        return read_value(reader, datatype)
    except RemoteProtocolError as exc:
        raise MtpError(ResponseCode.INVALID_OBJECT_PROP_FORMAT, str(exc)) from None


def decode_value(spec: PropSpec, data: bytes) -> Value:
    """The bare value of SetObjectPropValue's data phase, which must be exactly one value of
    the property's type. Raises MtpError as :func:`read_incoming_value`, and
    INVALID_OBJECT_PROP_FORMAT for bytes left over."""
    reader = Reader(data)
    value = read_incoming_value(reader, spec.datatype)
    if not reader.at_end():
        raise MtpError(ResponseCode.INVALID_OBJECT_PROP_FORMAT, "bytes after the value")
    return value


@dataclass(frozen=True, slots=True)
class IncomingElement:
    """One element of an ObjectPropList an initiator sent; ``index`` is zero-based."""

    index: int
    handle: int
    code: int
    datatype: int
    value: Value


class ElementError(Exception):
    """Element ``index`` of an incoming ObjectPropList failed with ``code``."""

    def __init__(self, index: int, code: ResponseCode, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.code = code


def iter_incoming_prop_list(data: bytes) -> Iterator[IncomingElement]:
    """Walk an ObjectPropList from an initiator lazily.

    Raises :class:`ElementError` for the element that cannot be read: INVALID_DATASET if the
    list is truncated (also a missing count: index 0), INVALID_OBJECT_PROP_FORMAT for an
    unknown data type, INVALID_OBJECT_PROP_VALUE for a bad string. Bytes after the last
    element are ignored, as for every dataset.
    """
    reader = Reader(data)
    index = 0
    try:
        count = reader.u32("ObjectPropList count")
        for index in range(count):
            handle = reader.u32("ObjectHandle")
            code = reader.u16("PropertyCode")
            datatype = reader.u16("DataType")
            try:
                min_wire_size(datatype)
            except RemoteProtocolError as exc:
                raise ElementError(
                    index, ResponseCode.INVALID_OBJECT_PROP_FORMAT, str(exc)
                ) from None
            if datatype == DataType.STR:
                value: Value = read_strict_string(reader)
            else:
                value = read_value(reader, datatype)
            yield IncomingElement(index, handle, code, datatype, value)
    except RemoteProtocolError as exc:
        raise ElementError(index, ResponseCode.INVALID_DATASET, str(exc)) from None
    except MtpError as exc:
        raise ElementError(index, exc.code, str(exc)) from None
