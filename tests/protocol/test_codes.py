"""Tests for openwpd.protocol.codes.

The main test reads the fact reference (shared/reference/protocol.md) itself and checks every
code of §2.1–§2.11 and §6.1–§6.6 against the enums: value, enum and name. Expected values are
never taken from the module under test.
"""

from __future__ import annotations

import ast
import enum
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import pytest

from openwpd.protocol import codes
from openwpd.protocol.codes import (
    DEFAULT_MIME_TYPE,
    DEVICE_PROP_TYPES,
    OBJECT_PROP_TYPES,
    AccessCapability,
    AssociationType,
    ContainerType,
    DataType,
    DevicePropCode,
    EventCode,
    FilesystemType,
    FunctionalMode,
    GetSet,
    MethodParameterType,
    ObjectFormatCode,
    ObjectPropCode,
    OperationCode,
    ProtectionStatus,
    ResponseCode,
    ServiceType,
    StorageType,
    describe,
    format_for_filename,
    mime_type_for_format,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------------------------
# Reading the reference
# --------------------------------------------------------------------------------------------


def reference_path() -> Path:
    shared = Path(os.environ.get("OPENWPD_SHARED", str(REPO_ROOT.parent / "shared")))
    return shared / "reference" / "protocol.md"


@pytest.fixture(scope="module")
def reference() -> str:
    path = reference_path()
    if not path.is_file():
        pytest.fail(
            f"fact reference not found at {path}: the shared/ directory must sit beside the "
            "clone, or OPENWPD_SHARED must name it"
        )
    return path.read_text(encoding="utf-8")


def section(text: str, number: str) -> str:
    """The body of the '### <number> ...' section, up to the next heading."""
    match = re.search(rf"^### {re.escape(number)} .*$", text, re.MULTILINE)
    assert match, f"section {number} not found in the reference"
    rest = text[match.end() :]
    end = re.search(r"^#{1,3} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each joined onto one line."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


HEX = r"0x[0-9A-Fa-f]{4}"
SINGLE = re.compile(rf"^({HEX})$")
RANGE = re.compile(rf"^({HEX})\s*[–-]\s*({HEX})$")
LIST = re.compile(rf"^{HEX}(?:\s*/\s*{HEX})+$")


@dataclass(frozen=True)
class Row:
    """One code (or range of codes) found in a reference table."""

    codes: tuple[int, ...]
    name: str | None  # None for ranges: the reference names them only in prose
    type_text: str
    is_range: bool


def table_rows(text: str) -> Iterator[Row]:
    """Every code cell of every markdown table in *text*, with its name (and type) cell.

    Understands one code per row (§2.1–§2.7, §2.9, §2.10) and the two-pairs-per-row layout
    of §2.8 (header "Code | Format | Code | Format").
    """
    header: list[str] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue  # the |---|---| separator
        pair_layout = header.count("Code") == 2
        starts = (0, 2) if pair_layout else (0,)
        for i in starts:
            code_cell, name_cell = cells[i], cells[i + 1]
            type_text = "" if pair_layout or len(cells) < 3 else cells[2]
            if not pair_layout and not header[2].startswith("Type"):
                type_text = ""
            if not code_cell:
                continue  # the empty half of the last §2.8 row
            if m := SINGLE.match(code_cell):
                yield Row((int(m[1], 16),), name_cell, type_text, False)
            elif m := RANGE.match(code_cell):
                lo, hi = int(m[1], 16), int(m[2], 16)
                yield Row(tuple(range(lo, hi + 1)), None, type_text, True)
            elif LIST.match(code_cell):
                values = [int(v, 16) for v in re.findall(HEX, code_cell)]
                names = [n.strip() for n in name_cell.split("/")]
                assert len(names) == len(values), line
                for value, name in zip(values, names, strict=True):
                    yield Row((value,), name, type_text, False)
            else:
                raise AssertionError(f"unparsed code cell {code_cell!r} in {line!r}")


# --------------------------------------------------------------------------------------------
# Names: how a reference name becomes a member name
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
    # The rules the reference test relies on, checked on the brief's examples.
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
# 1. Every code of the reference is present
# --------------------------------------------------------------------------------------------

TABLE_SECTIONS: dict[str, type[IntEnum]] = {
    "2.1": OperationCode,
    "2.2": OperationCode,
    "2.3": OperationCode,
    "2.4": OperationCode,
    "2.5": OperationCode,
    "2.6": ResponseCode,
    "2.7": EventCode,
    "2.8": ObjectFormatCode,
    "2.9": ObjectPropCode,
    "2.10": DevicePropCode,
}

# Codes inside a reference range that gphoto's ptp.h (where the reference sends us for the
# individual names) does not define.
RANGE_GAPS: dict[type[IntEnum], set[int]] = {ObjectPropCode: {0xDD53}}

# Hand-counted from the reference: codes per table section (ranges expanded, gaps and the two
# "(reserved)" cells of §2.8 excluded), and how many of them come from ranges.
EXPECTED_COUNTS = {
    "2.1": 29,
    "2.2": 9,
    "2.3": 12,
    "2.4": 5,
    "2.5": 10,
    "2.6": 54,
    "2.7": 22,
    "2.8": 104,
    "2.9": 168,
    "2.10": 64,
}
EXPECTED_RANGE_COUNTS = {"2.6": 3, "2.9": 80, "2.10": 13}


def test_reference_tables(reference: str) -> None:
    seen: dict[type[IntEnum], set[int]] = {}
    for number, enum_type in TABLE_SECTIONS.items():
        where = f"§{number}"
        count = range_count = 0
        for row in table_rows(section(reference, number)):
            if row.name == "(reserved)":
                # 0x3806 / 0x380C: reserved, deliberately without a member.
                assert row.codes[0] not in set(enum_type), f"{where}: reserved code has a member"
                continue
            for value in row.codes:
                if row.is_range and value in RANGE_GAPS.get(enum_type, set()):
                    assert value not in set(enum_type), f"{where}: gap 0x{value:04X} filled?"
                    continue
                check_member(enum_type, value, row.name, where)
                seen.setdefault(enum_type, set()).add(value)
                count += 1
                range_count += row.is_range
        assert count == EXPECTED_COUNTS[number], f"{where}: parsed {count} codes"
        assert range_count == EXPECTED_RANGE_COUNTS.get(number, 0), f"{where}: ranges"
    # Nothing invented: these enums hold exactly the reference's codes.
    for enum_type, values in seen.items():
        extra = {f"{m.name}=0x{m:04X}" for m in enum_type if m not in values}
        assert not extra, f"{enum_type.__name__} has codes the reference lacks: {extra}"


def test_range_gaps_are_real(reference: str) -> None:
    # Each declared gap must lie inside a range of the reference, or it is stale.
    ranges = [row for row in table_rows(section(reference, "2.9")) if row.is_range]
    for gap in RANGE_GAPS[ObjectPropCode]:
        assert any(gap in row.codes for row in ranges)


def test_range_member_names_follow_gphoto(reference: str) -> None:
    # The reference names range members only in prose; their names come from gphoto's ptp.h
    # and are recorded in the #: comment. The member name must be that spelling in
    # UPPER_SNAKE, except where we deliberately differ (documented in codes.py).
    comments = {(cls, value): c for cls, _, value, c in enum_members_in_source()}
    deliberate = {
        0xDD71: "TIME_TO_LIVE",  # gphoto: TimetoLive
    }
    checked = 0
    for number, enum_type in (("2.9", ObjectPropCode), ("2.10", DevicePropCode)):
        for row in table_rows(section(reference, number)):
            if not row.is_range:
                continue
            for value in row.codes:
                if value in RANGE_GAPS.get(enum_type, set()):
                    continue
                member = enum_type(value)
                spelling = comments[(enum_type.__name__, value)].split(",")[0].strip()
                # personal address parts: gphoto's "PersonalFull<Part>" loses the "Full"
                spelling = re.sub(r"PersonalFull(?=[A-Z])", "Personal", spelling)
                want = deliberate.get(value, upper_snake(spelling))
                assert member.name == want, f"0x{value:04X} {spelling}"
                checked += 1
    assert checked == 80 + 13


def test_property_types(reference: str) -> None:
    for number, enum_type, table in (
        ("2.9", ObjectPropCode, OBJECT_PROP_TYPES),
        ("2.10", DevicePropCode, DEVICE_PROP_TYPES),
    ):
        typed: dict[int, DataType] = {}
        for row in table_rows(section(reference, number)):
            m = re.match(r"(A?U?INT\d+|STR)\b", row.type_text)
            if m and not row.is_range:
                typed[row.codes[0]] = DataType[m[1]]
        assert len(typed) > 40, f"§{number}: type column not parsed"
        assert {int(k): v for k, v in table.items()} == typed, f"§{number} types"
        assert all(isinstance(k, enum_type) for k in table)
    assert OBJECT_PROP_TYPES[ObjectPropCode.OBJECT_SIZE] is DataType.UINT64
    assert DEVICE_PROP_TYPES[DevicePropCode.DATE_TIME] is DataType.STR
    with pytest.raises(TypeError):
        OBJECT_PROP_TYPES[ObjectPropCode.NAME] = DataType.UINT8  # type: ignore[index]


ENUMERATION_LABELS: dict[str, type[IntEnum]] = {
    "StorageType": StorageType,
    "FilesystemType": FilesystemType,
    "AccessCapability": AccessCapability,
    "ProtectionStatus": ProtectionStatus,
    "AssociationType": AssociationType,
    "DevicePropDesc GetSet": GetSet,
}


def test_reference_enumerations(reference: str) -> None:
    found: dict[str, int] = {}
    for para in paragraphs(section(reference, "2.11")):
        m = re.match(r"([A-Za-z ]+): (0x.*)$", para)
        if not m:
            continue
        enum_type = ENUMERATION_LABELS[m[1]]
        items = re.findall(r"(0x[0-9A-Fa-f]+) (.+?)(?=, 0x|\.(?:\s|$))", m[2])
        for value, name in items:
            check_member(enum_type, int(value, 16), name, f"§2.11 {m[1]}")
        # the enum holds nothing the reference does not list
        assert len(enum_type) == len(items), m[1]
        found[m[1]] = len(items)
    assert found == {
        "StorageType": 5,
        "FilesystemType": 4,
        "AccessCapability": 3,
        "ProtectionStatus": 4,
        "AssociationType": 8,
        "DevicePropDesc GetSet": 2,
    }


def test_reference_device_services(reference: str) -> None:
    text = " ".join(section(reference, "6.2").split())
    ops, _, rest = text.partition("Parameters and data")
    responses = rest.partition("Responses:")[2].partition("Events:")[0]
    events = rest.partition("Events:")[2]
    for part, enum_type, count in (
        (ops, OperationCode, 10),
        (responses, ResponseCode, 2),
        (events, EventCode, 4),
    ):
        items = re.findall(rf"({HEX}) (\w+)", part)
        assert len(items) == count, f"§6.2 {enum_type.__name__}: {items}"
        for value, name in items:
            check_member(enum_type, int(value, 16), name, "§6.2")

    bullet = next(p for p in section(reference, "6.1").split("\n* ") if "Device properties" in p)
    props = re.findall(rf"({HEX}) (\w+)", " ".join(bullet.split()))
    assert len(props) == 3
    for value, name in props:
        check_member(DevicePropCode, int(value, 16), name, "§6.1")


def test_reference_service_enumerations(reference: str) -> None:
    row = next(line for line in section(reference, "6.3").splitlines() if "| ServiceType |" in line)
    service_types = re.findall(r"(\d+) = (\w+)", row)
    assert service_types == [("0", "normal"), ("1", "abstract")]
    for value, name in service_types:
        assert ServiceType(int(value)).name == name.upper()
    assert len(ServiceType) == len(service_types)

    text = " ".join(section(reference, "6.6").split())
    m = re.search(r"ParameterType \(([^)]*)\)", text)
    assert m, "§6.6 ParameterType list not found"
    params = re.findall(r"(\d+) ([\w/]+)", m[1])
    assert len(params) == 4
    for value, name in params:
        assert MethodParameterType(int(value)).name == upper_snake(name)
    assert len(MethodParameterType) == len(params)


def test_functional_mode() -> None:
    # PIMA 15740 values of DevicePropCode.FUNCTIONAL_MODE (not tabulated in the reference).
    assert FunctionalMode.STANDARD == 0x0000
    assert FunctionalMode.SLEEP == 0x8001
    assert len(FunctionalMode) == 2


def test_brief_examples() -> None:
    # Spot checks written by hand from the reference, independent of the table parser.
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
# 4. File names, formats and MIME types
# --------------------------------------------------------------------------------------------

F = ObjectFormatCode

FILE_CASES = [
    ("IMG_0001.JPG", F.EXIF_JPEG, "image/jpeg"),
    ("photo.jpeg", F.EXIF_JPEG, "image/jpeg"),
    ("logo.png", F.PNG, "image/png"),
    ("anim.gif", F.GIF, "image/gif"),
    ("old.bmp", F.BMP, "image/bmp"),
    ("scan.tif", F.TIFF, "image/tiff"),
    ("scan.TIFF", F.TIFF, "image/tiff"),
    ("raw.dng", F.DNG, "image/x-adobe-dng"),
    ("IMG_1.HEIC", F.HEIF, "image/heif"),
    ("pic.heif", F.HEIF, "image/heif"),
    ("song.mp3", F.MP3, "audio/mpeg"),
    ("take.wav", F.WAV, "audio/wav"),
    ("take.aif", F.AIFF, "audio/x-aiff"),
    ("take.aiff", F.AIFF, "audio/x-aiff"),
    ("song.wma", F.WMA, "audio/x-ms-wma"),
    ("song.ogg", F.OGG, "audio/ogg"),
    ("song.aac", F.AAC, "audio/aac"),
    ("song.m4a", F.M4A, "audio/mp4"),
    ("song.flac", F.FLAC, "audio/flac"),
    ("clip.avi", F.AVI, "video/x-msvideo"),
    ("clip.mpg", F.MPEG, "video/mpeg"),
    ("clip.mpeg", F.MPEG, "video/mpeg"),
    ("clip.asf", F.ASF, "video/x-ms-asf"),
    ("clip.MOV", F.QUICKTIME, "video/quicktime"),
    ("clip.wmv", F.WMV, "video/x-ms-wmv"),
    ("clip.mp4", F.MP4_CONTAINER, "video/mp4"),
    ("clip.3gp", F.THREE_GP, "video/3gpp"),
    ("notes.txt", F.TEXT, "text/plain"),
    ("index.htm", F.HTML, "text/html"),
    ("index.html", F.HTML, "text/html"),
    ("me.vcf", F.VCARD3, "text/vcard"),
    ("cal.ics", F.ICALENDAR, "text/calendar"),
    ("cal.vcs", F.VCALENDAR1, "text/x-vcalendar"),
    ("data.xml", F.XML_DOCUMENT, "application/xml"),
    ("letter.doc", F.MS_WORD, "application/msword"),
    ("letter.docx", F.MS_WORD, "application/msword"),
    ("sheet.xlsx", F.MS_EXCEL, "application/vnd.ms-excel"),
    ("deck.pptx", F.MS_POWERPOINT, "application/vnd.ms-powerpoint"),
    ("mix.m3u", F.M3U_PLAYLIST, "audio/x-mpegurl"),
    ("radio.pls", F.PLS_PLAYLIST, "audio/x-scpls"),
    ("list.wpl", F.WPL_PLAYLIST, "application/vnd.ms-wpl"),
    ("setup.exe", F.EXECUTABLE, "application/vnd.microsoft.portable-executable"),
    # only the last path component counts, with either separator
    ("DCIM/100ANDRO/IMG.Png", F.PNG, "image/png"),
    ("C:\\Users\\me\\song.MP3", F.MP3, "audio/mpeg"),
]


@pytest.mark.parametrize(("name", "fmt", "mime"), FILE_CASES)
def test_filename_to_format_to_mime(name: str, fmt: ObjectFormatCode, mime: str) -> None:
    assert format_for_filename(name) is fmt
    assert format_for_filename(name.upper()) is fmt
    assert mime_type_for_format(format_for_filename(name)) == mime
    assert mime_type_for_format(int(fmt)) == mime  # a plain int read from a peer


@pytest.mark.parametrize(
    "name",
    ["README", "", ".profile", "archive.tar.gz", "trailing.", "photos.jpg/", "a.jpg/b", "x.xyz"],
)
def test_unknown_names_are_undefined(name: str) -> None:
    assert format_for_filename(name) is F.UNDEFINED


def test_every_known_extension_has_a_mime_type() -> None:
    # Consistency of the two private tables: a format we pick for an extension must have a
    # MIME type, or files would lose their type between upload and download.
    extensions = codes._FORMAT_BY_EXTENSION
    assert len(extensions) > 40
    for ext in extensions:
        assert mime_type_for_format(format_for_filename("f." + ext)) != DEFAULT_MIME_TYPE, ext


@pytest.mark.parametrize(
    "code", [F.UNDEFINED, F.ASSOCIATION, F.ABSTRACT_AUDIO_ALBUM, F.UNDEFINED_VIDEO, 0x3806, 0x1234]
)
def test_formats_without_mime_type(code: int) -> None:
    assert mime_type_for_format(code) == DEFAULT_MIME_TYPE == "application/octet-stream"


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
    # §1.3: an array type is 0x4000 | its element type.
    assert DataType.AUINT16.is_array and DataType.AUINT16.element is DataType.UINT16
    assert DataType.AINT128.element is DataType.INT128
    assert not DataType.UINT8.is_array and DataType.UINT8.element is DataType.UINT8
    assert not DataType.STR.is_array and DataType.STR.element is DataType.STR
