"""Tests for openwpd.protocol.codes.

The main test reads the code tables of PTP, MTP 1.1, Android's extensions and the MTP Device
Services extension from ``data/codes.csv`` (the project's own test data, one row per code:
enum, value, spec name, customary data type, table, whether the code comes from a range) and
checks every code against the enums: value, enum and name. Expected values are never taken
from the module under test.
"""

from __future__ import annotations

import ast
import csv
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import pytest

from openwpd.protocol import codes
from openwpd.protocol.codes import (
    DEVICE_PROP_TYPES,
    OBJECT_PROP_TYPES,
    AssociationType,
    ContainerType,
    DataType,
    DevicePropCode,
    EventCode,
    FunctionalMode,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ProtectionStatus,
    ResponseCode,
    describe,
    format_for_filename,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CODES_CSV = Path(__file__).resolve().parent / "data" / "codes.csv"

# --------------------------------------------------------------------------------------------
# The expected codes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One code of a spec table, as ``data/codes.csv`` records it."""

    enum: str
    value: int
    name: str | None  # None for codes of a range: the spec names them only in prose
    type: str  # the customary data type ("UINT32", "STR", ...), "" where none is given
    table: str
    is_range: bool


def load_rows(path: Path = CODES_CSV) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as f:
        return [
            Row(
                enum=r["enum"],
                value=int(r["value"], 16),
                name=r["name"] or None,
                type=r["type"],
                table=r["table"],
                is_range=r["range"] == "range",
            )
            for r in csv.DictReader(f)
        ]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return load_rows()


def enum_of(row: Row) -> type[IntEnum]:
    enum_type = getattr(codes, row.enum)
    assert isinstance(enum_type, type) and issubclass(enum_type, IntEnum), row
    return enum_type


# --------------------------------------------------------------------------------------------
# Names: how a spec name becomes a member name
# --------------------------------------------------------------------------------------------

_CAMEL_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def upper_snake(spec_name: str) -> str:
    """'GetObjectPropList' -> 'GET_OBJECT_PROP_LIST'; parenthesised remarks are dropped."""
    name = re.sub(r"\s*\([^)]*\)", "", spec_name).replace("IDs", "Ids")
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        words += _CAMEL_WORD.findall(chunk)
    return "_".join(w.upper() for w in words)


def format_member_name(label: str) -> str:
    """'EXIF/JPEG' -> 'EXIF_JPEG', 'MP4 container' -> 'MP4_CONTAINER' (no camel splitting:
    format names are acronyms and trade marks such as QuickTime and FlashPix)."""
    label = re.sub(r"\s*\([^)]*\)", "", label)
    return "_".join(w.upper() for w in re.split(r"[^A-Za-z0-9]+", label) if w)


# Where the mechanical rule gives a poor or impossible identifier, the name we chose instead.
NAME_EXCEPTIONS: dict[type[IntEnum], dict[int, str]] = {
    ObjectFormatCode: {
        0xB211: "MEDIA_CARD",
        0xB212: "MEDIA_CARD_GROUP",
        0xB214: "ENCOUNTER_BOX",
        0xB984: "THREE_GP",
        0xB985: "THREE_G2",  # disputed 3G2 / AVCHD
        0xBB22: "VCALENDAR1",
        0xBB82: "VCARD2",
        0xBB83: "VCARD3",
        0xBE02: "VCALENDAR1_LEGACY",
        0xBE03: "VCALENDAR2",
    },
    DevicePropCode: {
        0xD101: "SECURE_TIME",
        0xD102: "DEVICE_CERTIFICATE",
        0xD103: "REVOCATION_INFO",
    },
    ProtectionStatus: {0x8002: "READ_ONLY_DATA", 0x8003: "NON_TRANSFERABLE_DATA"},
    AssociationType: {0x0006: "TWO_D_PANORAMIC"},
}


def expected_name(enum_type: type[IntEnum], value: int, spec_name: str) -> str:
    if value in NAME_EXCEPTIONS.get(enum_type, {}):
        return NAME_EXCEPTIONS[enum_type][value]
    if enum_type is ObjectFormatCode:
        return format_member_name(spec_name)
    return upper_snake(spec_name)


def check_member(enum_type: type[IntEnum], value: int, spec_name: str | None, where: str) -> None:
    try:
        member = enum_type(value)
    except ValueError:
        pytest.fail(f"{where}: 0x{value:04X} {spec_name or ''} missing from {enum_type.__name__}")
    if spec_name is not None:
        want = expected_name(enum_type, value, spec_name)
        assert member.name == want, f"{where}: 0x{value:04X} {spec_name!r}"


def test_name_rules() -> None:
    # The rules the table test relies on, checked on the brief's examples.
    assert upper_snake("GetObjectPropList") == "GET_OBJECT_PROP_LIST"
    assert upper_snake("GetPartialObject64") == "GET_PARTIAL_OBJECT_64"
    assert upper_snake("PersistentUniqueObjectIdentifier (PUID)") == (
        "PERSISTENT_UNIQUE_OBJECT_IDENTIFIER"
    )
    assert upper_snake("GetServiceIDs") == "GET_SERVICE_IDS"
    assert upper_snake("Invalid_ObjectProp_Format") == "INVALID_OBJECT_PROP_FORMAT"
    assert upper_snake("VideoFourCCCodec") == "VIDEO_FOUR_CC_CODEC"
    assert upper_snake("Read/Write") == "READ_WRITE"
    assert format_member_name("EXIF/JPEG") == "EXIF_JPEG"
    assert format_member_name("QuickTime (MOV)") == "QUICKTIME"


# --------------------------------------------------------------------------------------------
# 1. Every code of the tables is present
# --------------------------------------------------------------------------------------------

# Codes inside a range that gphoto's ptp.h (which names the individual members) does not define:
# absent from the data file, and from the enum.
RANGE_GAPS: dict[type[IntEnum], set[int]] = {ObjectPropCode: {0xDD53}}

# Hand-counted: codes per table (ranges expanded, gaps excluded, the two "(reserved)" object
# formats included), and how many of them come from ranges. A truncated or damaged data file
# fails here.
EXPECTED_COUNTS = {
    "PTP 1.0 operations": 29,
    "PTP 1.1 operations": 9,
    "MTP operations": 12,
    "Android extension operations": 5,
    "MTP Device Services operations": 10,
    "responses": 54,
    "events": 22,
    "object formats": 106,
    "object properties": 168,
    "device properties": 64,
    "StorageType values": 5,
    "FilesystemType values": 4,
    "AccessCapability values": 3,
    "ProtectionStatus values": 4,
    "AssociationType values": 8,
    "DevicePropDesc GetSet values": 2,
    "Device Services operations": 10,
    "Device Services responses": 2,
    "Device Services events": 4,
    "Device Services device properties": 3,
    "ServiceInfo ServiceType values": 2,
    "method ParameterType values": 4,
}
EXPECTED_RANGE_COUNTS = {"responses": 3, "object properties": 80, "device properties": 13}


def test_data_file_counts(rows: list[Row]) -> None:
    counts: dict[str, int] = {}
    range_counts: dict[str, int] = {}
    for row in rows:
        counts[row.table] = counts.get(row.table, 0) + 1
        range_counts[row.table] = range_counts.get(row.table, 0) + row.is_range
    assert counts == EXPECTED_COUNTS
    assert {k: v for k, v in range_counts.items() if v} == EXPECTED_RANGE_COUNTS


def test_code_tables(rows: list[Row]) -> None:
    seen: dict[type[IntEnum], set[int]] = {}
    for row in rows:
        enum_type = enum_of(row)
        where = f"{row.table} 0x{row.value:04X}"
        if row.name == "(reserved)":
            # 0x3806 / 0x380C: reserved, deliberately without a member.
            assert row.value not in set(enum_type), f"{where}: reserved code has a member"
            continue
        check_member(enum_type, row.value, row.name, where)
        seen.setdefault(enum_type, set()).add(row.value)
    for enum_type, gaps in RANGE_GAPS.items():
        assert not gaps & {int(m) for m in enum_type}, "a range gap got a member"
    # Nothing invented: these enums hold exactly the tables' codes.
    for enum_type, values in seen.items():
        extra = {f"{m.name}=0x{m:04X}" for m in enum_type if m not in values}
        assert not extra, f"{enum_type.__name__} has codes the tables lack: {extra}"


def test_range_gaps_are_real(rows: list[Row]) -> None:
    # Each declared gap must lie inside a range of codes (between two range rows), or it is stale.
    ranged = sorted(r.value for r in rows if r.is_range and r.enum == "ObjectPropCode")
    for gap in RANGE_GAPS[ObjectPropCode]:
        assert gap - 1 in ranged and gap + 1 in ranged


def test_range_member_names_follow_gphoto(rows: list[Row]) -> None:
    # The spec names range members only in prose; their names come from gphoto's ptp.h and are
    # recorded in the #: comment. The member name must be that spelling in UPPER_SNAKE, except
    # where we deliberately differ (documented in codes.py).
    comments = {(cls, value): c for cls, _, value, c in enum_members_in_source()}
    deliberate = {
        0xDD71: "TIME_TO_LIVE",  # gphoto: TimetoLive
    }
    checked = 0
    for row in rows:
        if not row.is_range or row.table == "responses":
            continue
        member = enum_of(row)(row.value)
        spelling = comments[(row.enum, row.value)].split(",")[0].strip()
        # personal address parts: gphoto's "PersonalFull<Part>" loses the "Full"
        spelling = re.sub(r"PersonalFull(?=[A-Z])", "Personal", spelling)
        want = deliberate.get(row.value, upper_snake(spelling))
        assert member.name == want, f"0x{row.value:04X} {spelling}"
        checked += 1
    assert checked == 80 + 13


def test_property_types(rows: list[Row]) -> None:
    for enum_name, table in (
        ("ObjectPropCode", OBJECT_PROP_TYPES),
        ("DevicePropCode", DEVICE_PROP_TYPES),
    ):
        typed = {
            r.value: DataType[r.type]
            for r in rows
            if r.enum == enum_name and r.type and not r.is_range
        }
        assert len(typed) > 40, f"{enum_name}: no types in the data file"
        assert {int(k): v for k, v in table.items()} == typed, f"{enum_name} types"
        assert all(isinstance(k, getattr(codes, enum_name)) for k in table)
    assert OBJECT_PROP_TYPES[ObjectPropCode.OBJECT_SIZE] is DataType.UINT64
    assert DEVICE_PROP_TYPES[DevicePropCode.DATE_TIME] is DataType.STR
    with pytest.raises(TypeError):
        OBJECT_PROP_TYPES[ObjectPropCode.NAME] = DataType.UINT8  # type: ignore[index]


def test_functional_mode() -> None:
    # PIMA 15740 values of DevicePropCode.FUNCTIONAL_MODE (not in the code tables).
    assert FunctionalMode.STANDARD == 0x0000
    assert FunctionalMode.SLEEP == 0x8001
    assert len(FunctionalMode) == 2


def test_brief_examples() -> None:
    # Spot checks written by hand, independent of the data file.
    assert OperationCode.GET_OBJECT_PROP_LIST == 0x9805
    assert OperationCode.GET_PARTIAL_OBJECT_64 == 0x95C1
    assert OperationCode.SKIP == 0x9820
    assert EventCode.OBJECT_ADDED == 0x4002
    assert ObjectPropCode.OBJECT_FILE_NAME == 0xDC07
    assert ObjectPropCode.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER == 0xDC41
    assert ObjectPropCode.GIVEN_NAME == 0xDD00
    assert ObjectPropCode.BIRTHDATE == 0xDD37
    assert ObjectPropCode.ACTIVITY_REQUIRED_ATTENDEES == 0xDD54
    assert ObjectPropCode.MEDIA_GUID == 0xDD72
    assert DevicePropCode.DEVICE_FRIENDLY_NAME == 0xD402
    assert DevicePropCode.SYNCHRONIZATION_PARTNER == 0xD401
    assert DevicePropCode.DATE_TIME == 0x5011
    assert DevicePropCode.BATTERY_LEVEL == 0x5001
    assert DevicePropCode.SUPPORTED_STREAMS == 0x5020
    assert DevicePropCode.AUDIO_VOLUME == 0x502C
    assert ObjectFormatCode.ASSOCIATION == 0x3001
    assert ObjectFormatCode.THREE_G2 == 0xB985


# --------------------------------------------------------------------------------------------
# 2. No aliases
# --------------------------------------------------------------------------------------------

ALL_ENUMS = sorted(
    (
        obj
        for obj in vars(codes).values()
        if isinstance(obj, type) and issubclass(obj, IntEnum) and obj.__module__ == codes.__name__
    ),
    key=lambda e: e.__name__,
)


def aliases(enum_type: type[IntEnum]) -> list[str]:
    """Member names that are aliases of an earlier member (a duplicated value)."""
    return [name for name, member in enum_type.__members__.items() if member.name != name]


def test_alias_detector_works() -> None:
    class Dup(IntEnum):
        A = 1
        B = 1

    assert aliases(Dup) == ["B"]


@pytest.mark.parametrize("enum_type", ALL_ENUMS, ids=lambda e: e.__name__)
def test_no_duplicate_values(enum_type: type[IntEnum]) -> None:
    assert aliases(enum_type) == []
    assert enum.unique(enum_type) is enum_type


# --------------------------------------------------------------------------------------------
# 3. Naming and the #: comment of every member (read from the source)
# --------------------------------------------------------------------------------------------

UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")


def enum_members_in_source() -> Iterator[tuple[str, str, int, str]]:
    """(class, member, value, #: comment text) for every member assignment in codes.py."""
    source = Path(codes.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        if not any(isinstance(b, ast.Name) and b.id == "IntEnum" for b in node.bases):
            continue
        for stmt in node.body:
            if not isinstance(stmt, ast.Assign):
                continue
            assert len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            assert isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, int)
            line = lines[stmt.lineno - 1]
            previous = lines[stmt.lineno - 2].strip()
            if "#:" in line:
                comment = line.split("#:", 1)[1]
            elif previous.startswith("#:"):
                comment = previous[2:]
            else:
                comment = ""
            yield node.name, stmt.targets[0].id, stmt.value.value, comment


def test_source_walk_sees_every_enum() -> None:
    classes = {cls for cls, _, _, _ in enum_members_in_source()}
    assert classes == {e.__name__ for e in ALL_ENUMS}
    count = sum(1 for _ in enum_members_in_source())
    assert count == sum(len(e) for e in ALL_ENUMS)


@pytest.mark.parametrize(
    ("cls", "member", "value", "comment"),
    list(enum_members_in_source()),
    ids=lambda v: v if isinstance(v, str) and UPPER_SNAKE.match(v) else "",
)
def test_member_naming_and_comment(cls: str, member: str, value: int, comment: str) -> None:
    assert UPPER_SNAKE.match(member), f"{cls}.{member} is not UPPER_SNAKE"
    assert comment.strip(), f"{cls}.{member} has no #: comment"
    numbers = {int(n, 0) for n in re.findall(r"\b0x[0-9A-Fa-f]+\b|\b\d+\b", comment)}
    assert value in numbers, f"{cls}.{member}: #: comment does not give the value {value:#x}"


# --------------------------------------------------------------------------------------------
# 4. File names and formats
# --------------------------------------------------------------------------------------------

F = ObjectFormatCode

FILE_CASES = [
    ("IMG_0001.JPG", F.EXIF_JPEG),
    ("photo.jpeg", F.EXIF_JPEG),
    ("logo.png", F.PNG),
    ("anim.gif", F.GIF),
    ("old.bmp", F.BMP),
    ("scan.tif", F.TIFF),
    ("scan.TIFF", F.TIFF),
    ("raw.dng", F.DNG),
    ("IMG_1.HEIC", F.HEIF),
    ("pic.heif", F.HEIF),
    ("song.mp3", F.MP3),
    ("take.wav", F.WAV),
    ("take.aif", F.AIFF),
    ("take.aiff", F.AIFF),
    ("song.wma", F.WMA),
    ("song.ogg", F.OGG),
    ("song.aac", F.AAC),
    ("song.m4a", F.M4A),
    ("song.flac", F.FLAC),
    ("clip.avi", F.AVI),
    ("clip.mpg", F.MPEG),
    ("clip.mpeg", F.MPEG),
    ("clip.asf", F.ASF),
    ("clip.MOV", F.QUICKTIME),
    ("clip.wmv", F.WMV),
    ("clip.mp4", F.MP4_CONTAINER),
    ("clip.3gp", F.THREE_GP),
    ("notes.txt", F.TEXT),
    ("index.htm", F.HTML),
    ("index.html", F.HTML),
    ("me.vcf", F.VCARD3),
    ("cal.ics", F.ICALENDAR),
    ("cal.vcs", F.VCALENDAR1),
    ("data.xml", F.XML_DOCUMENT),
    ("letter.doc", F.MS_WORD),
    ("letter.docx", F.MS_WORD),
    ("sheet.xlsx", F.MS_EXCEL),
    ("deck.pptx", F.MS_POWERPOINT),
    ("mix.m3u", F.M3U_PLAYLIST),
    ("radio.pls", F.PLS_PLAYLIST),
    ("list.wpl", F.WPL_PLAYLIST),
    ("setup.exe", F.EXECUTABLE),
    # only the last path component counts, with either separator
    ("DCIM/100ANDRO/IMG.Png", F.PNG),
    ("C:\\Users\\me\\song.MP3", F.MP3),
]


@pytest.mark.parametrize(("name", "fmt"), FILE_CASES)
def test_filename_to_format(name: str, fmt: ObjectFormatCode) -> None:
    assert format_for_filename(name) is fmt
    assert format_for_filename(name.upper()) is fmt


@pytest.mark.parametrize(
    "name",
    ["README", "", ".profile", "archive.tar.gz", "trailing.", "photos.jpg/", "a.jpg/b", "x.xyz"],
)
def test_unknown_names_are_undefined(name: str) -> None:
    assert format_for_filename(name) is F.UNDEFINED


# --------------------------------------------------------------------------------------------
# describe() and the existing DataType helpers
# --------------------------------------------------------------------------------------------


def test_describe() -> None:
    assert describe(OperationCode, 0x1009) == "GET_OBJECT (0x1009)"
    assert describe(ResponseCode, 0x2001) == "OK (0x2001)"
    assert describe(ObjectFormatCode, ObjectFormatCode.PNG) == "PNG (0x380B)"
    assert describe(ContainerType, 1) == "COMMAND (0x0001)"
    assert describe(OperationCode, 0x9999) == "0x9999"
    assert describe(EventCode, 0x1009) == "0x1009"  # an operation code is not an event
    assert describe(DataType, 0x4) == "UINT16 (0x0004)"


def test_data_type_arrays() -> None:
    # PTP: an array type is 0x4000 | its element type.
    assert DataType.AUINT16.is_array and DataType.AUINT16.element is DataType.UINT16
    assert DataType.AINT128.element is DataType.INT128
    assert not DataType.UINT8.is_array and DataType.UINT8.element is DataType.UINT8
    assert not DataType.STR.is_array and DataType.STR.element is DataType.STR
