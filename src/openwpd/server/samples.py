"""Sample content for a virtual device: photos, music, documents, contacts, calendar entries.

Theory of operation
-------------------
:func:`make_samples` fills a folder with the kind of content a phone holds, generated on the spot
(nothing is shipped, nothing is downloaded), deterministic for a given ``seed``:

* ``DCIM/Camera/IMG_*.jpg`` -- real baseline JPEGs with an EXIF APP1 segment whose IFD1 carries
  a JPEG thumbnail (JPEGInterchangeFormat / JPEGInterchangeFormatLength), as cameras write them,
  so the device's GetThumb (:mod:`openwpd.server.thumbs`) finds it. The encoder is a small
  DC-only one: every 8x8 block is one flat colour (its AC coefficients are zero), which keeps it
  short, exact and dependency-free while any JPEG decoder reads the result.
* ``Music/*.wav`` -- short PCM melodies (the stdlib ``wave`` module).
* ``Documents/`` -- a text file, a Markdown file and a one-page PDF.
* ``Contacts/*.vcf`` and ``Calendar/*.ics`` -- one vCard / one VEVENT per file: the folders the
  device's Contacts and Calendar services serve (see :mod:`openwpd.server.services.core`).
* optionally a large file (``big_size`` bytes, sparse: it costs no disk and reads as zeros).
"""

from __future__ import annotations

import array
import io
import math
import os
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

RGB = tuple[int, int, int]
Pixel = Callable[[int, int], RGB]

#: File name of the optional large sample, under ``Backups/``.
BIG_NAME = "archive.bin"


@dataclass(frozen=True, slots=True)
class SampleSet:
    """What :func:`make_samples` wrote (absolute paths)."""

    root: Path
    photos: tuple[Path, ...]
    music: tuple[Path, ...]
    documents: tuple[Path, ...]
    contacts: tuple[Path, ...]
    events: tuple[Path, ...]
    big: Path | None = None
    folders: tuple[Path, ...] = field(default=())

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file written, the large one included."""
        extra = (self.big,) if self.big is not None else ()
        return self.photos + self.music + self.documents + self.contacts + self.events + extra


# --- JPEG ------------------------------------------------------------------------------------

# Huffman table for DC differences: the JPEG standard's luminance DC table (Annex K.3), given as
# code counts per length 1..16 and the categories they code.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
# AC table: only end-of-block (symbol 0x00) ever occurs, so one 2-bit code is enough.
_AC_BITS = (0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_AC_VALUES = (0,)
# Every block is flat, so only the DC quantiser matters: 8 makes the quantised DC of a flat
# block equal to its level-shifted sample value (the DC coefficient is 8 * (v - 128)).
_QUANT = 8


def _huffman_codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes (JPEG Annex C): symbol -> (code, length)."""
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    k = 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


_DC_CODES = _huffman_codes(_DC_BITS, _DC_VALUES)
_EOB = _huffman_codes(_AC_BITS, _AC_VALUES)[0]


class _BitWriter:
    """Entropy-coded segment bits, MSB first, with 0xFF byte stuffing."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._n = 0

    def write(self, value: int, length: int) -> None:
        self._acc = (self._acc << length) | (value & ((1 << length) - 1))
        self._n += length
        while self._n >= 8:
            self._n -= 8
            byte = (self._acc >> self._n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
        self._acc &= (1 << self._n) - 1

    def finish(self) -> bytes:
        if self._n:
            self.write((1 << (8 - self._n)) - 1, 8 - self._n)  # pad with 1 bits
        return bytes(self.out)


def _ycbcr(rgb: RGB) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return tuple(max(0, min(255, round(c))) for c in (y, cb, cr))  # type: ignore[return-value]


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def make_jpeg(width: int, height: int, pixel: Pixel, *, app1: bytes = b"") -> bytes:
    """A baseline JPEG of ``width`` x ``height`` pixels (multiples of 8) in which each 8x8 block
    has the colour ``pixel(block_x, block_y)``; ``app1`` (a whole APP1 segment, e.g. from
    :func:`exif_segment`) is placed right after SOI. Raises ValueError for bad dimensions."""
    if width <= 0 or height <= 0 or width % 8 or height % 8 or max(width, height) > 65535:
        raise ValueError("width and height must be positive multiples of 8 (at most 65535)")
    head = bytearray(b"\xff\xd8")
    head += app1
    head += _segment(0xDB, bytes([0]) + bytes([_QUANT]) * 64)
    components = b"".join(bytes([cid, 0x11, 0]) for cid in (1, 2, 3))
    head += _segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + components)
    head += _segment(0xC4, bytes([0x00, *_DC_BITS, *_DC_VALUES]))
    head += _segment(0xC4, bytes([0x10, *_AC_BITS, *_AC_VALUES]))
    scan = bytes([3]) + b"".join(bytes([cid, 0x00]) for cid in (1, 2, 3)) + bytes([0, 63, 0])
    head += _segment(0xDA, scan)
    bits = _BitWriter()
    previous = [0, 0, 0]
    for by in range(height // 8):
        for bx in range(width // 8):
            for i, sample in enumerate(_ycbcr(pixel(bx, by))):
                dc = sample - 128
                diff = dc - previous[i]
                previous[i] = dc
                category = abs(diff).bit_length()
                code, length = _DC_CODES[category]
                bits.write(code, length)
                if category:
                    bits.write(diff if diff > 0 else diff + (1 << category) - 1, category)
                bits.write(*_EOB)
    return bytes(head) + bits.finish() + b"\xff\xd9"


def _tiff_ifd(
    entries: list[tuple[int, int, int, bytes]], data_at: int, next_ifd: int
) -> tuple[bytes, bytes]:
    """One little-endian IFD whose out-of-line values go at TIFF offset ``data_at``; returns
    (ifd bytes, out-of-line data). Entries are (tag, type, count, value bytes)."""
    ifd = bytearray(struct.pack("<H", len(entries)))
    data = bytearray()
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            ifd += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, kind, count, data_at + len(data))
            data += value + (b"\0" if len(value) % 2 else b"")
    ifd += struct.pack("<I", next_ifd)
    return bytes(ifd), bytes(data)


_ASCII, _SHORT, _LONG = 2, 3, 4


def exif_segment(thumbnail: bytes, *, make: str, model: str, taken: datetime) -> bytes:
    """An APP1 "Exif" segment: IFD0 (Make, Model, Orientation, DateTime) and IFD1 holding
    ``thumbnail`` (a JPEG) through JPEGInterchangeFormat/-Length. Raises ValueError when it
    does not fit in one segment (64 KiB)."""

    def ascii_(text: str) -> bytes:
        return text.encode("ascii", "replace") + b"\0"

    ifd0_entries = [
        (0x010F, _ASCII, len(ascii_(make)), ascii_(make)),
        (0x0110, _ASCII, len(ascii_(model)), ascii_(model)),
        (0x0112, _SHORT, 1, struct.pack("<H", 1)),
        (0x0132, _ASCII, 20, ascii_(taken.strftime("%Y:%m:%d %H:%M:%S"))),
    ]
    ifd0_at = 8
    ifd1_at = ifd0_at + 2 + 12 * len(ifd0_entries) + 4
    data_at = ifd1_at + 2 + 12 * 3 + 4
    # IFD0's strings go first in the data area, the thumbnail after them
    ifd0, strings = _tiff_ifd(ifd0_entries, data_at, ifd1_at)
    thumb_at = data_at + len(strings)
    ifd1_entries = [
        (0x0103, _SHORT, 1, struct.pack("<H", 6)),  # Compression: JPEG (old-style)
        (0x0201, _LONG, 1, struct.pack("<I", thumb_at)),
        (0x0202, _LONG, 1, struct.pack("<I", len(thumbnail))),
    ]
    ifd1, _ = _tiff_ifd(ifd1_entries, thumb_at, 0)
    tiff = b"II" + struct.pack("<HI", 42, ifd0_at) + ifd0 + ifd1 + strings + thumbnail
    payload = b"Exif\0\0" + tiff
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("the thumbnail is too large for one APP1 segment")
    return _segment(0xE1, payload)


def _scene(index: int) -> Callable[[float, float], RGB]:
    """A small landscape-like picture as a function of (x, y) in [0, 1)."""
    hue = (index * 0.37) % 1.0

    def colour(x: float, y: float) -> RGB:
        horizon = 0.55 + 0.08 * math.sin(6.0 * x + index)
        sun = math.hypot(x - 0.25 - 0.5 * hue, y - 0.3)
        if sun < 0.08:
            return (255, 236, 150)
        if y < horizon:
            t = y / horizon
            return (
                int(60 + 150 * t + 40 * hue),
                int(110 + 90 * t),
                int(200 + 40 * (1 - t)),
            )
        t = (y - horizon) / (1 - horizon)
        return (int(40 + 60 * hue), int(120 - 50 * t + 40 * math.sin(20 * x)), int(50 + 30 * t))

    return colour


def photo(
    index: int, *, width: int = 640, height: int = 480, taken: datetime | None = None
) -> bytes:
    """Camera photo number ``index``: a JPEG with an EXIF thumbnail (160x120)."""
    scene = _scene(index)
    bw, bh = width // 8, height // 8
    thumb = make_jpeg(160, 120, lambda bx, by: scene(bx / 20, by / 15))
    app1 = exif_segment(
        thumb,
        make="openwpd",
        model="Virtual Camera",
        taken=taken or datetime(2024, 6, 1, 12, 0, 0) + timedelta(minutes=7 * index),
    )
    return make_jpeg(width, height, lambda bx, by: scene(bx / bw, by / bh), app1=app1)


# --- audio, documents, PIM --------------------------------------------------------------------


def melody_wav(notes: tuple[int, ...], *, note_seconds: float = 0.25, rate: int = 22050) -> bytes:
    """A mono 16-bit WAV playing MIDI ``notes`` one after another (sine tones with a fade)."""
    samples = array.array("h")
    per_note = int(rate * note_seconds)
    for note in notes:
        freq = 440.0 * 2 ** ((note - 69) / 12)
        step = 2 * math.pi * freq / rate
        for i in range(per_note):
            envelope = min(1.0, i / 200, (per_note - i) / 800)
            samples.append(int(9000 * envelope * math.sin(step * i)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buf.getvalue()


def one_page_pdf(text: str) -> bytes:
    """A minimal valid PDF with one page showing ``text`` (ASCII) in Helvetica."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"\\\\")
    safe = safe.replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 24 Tf 72 720 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


CONTACTS = (
    ("Ada", "Lovelace", "+44 20 7946 0001", "ada@example.org"),
    ("Alan", "Turing", "+44 20 7946 0002", "alan@example.org"),
    ("Grace", "Hopper", "+1 202 555 0143", "grace@example.org"),
    ("Linus", "Torvalds", "+358 9 555 0101", "linus@example.org"),
)

EVENTS = (
    ("Team review", datetime(2024, 6, 3, 10, 0), 60, "Room 4"),
    ("Dentist", datetime(2024, 6, 5, 15, 30), 30, "High Street 12"),
    ("Release party", datetime(2024, 6, 14, 18, 0), 180, "Rooftop"),
)


def vcard(given: str, family: str, phone: str, email: str) -> bytes:
    """A vCard 3.0 with name, phone and e-mail."""
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"FN:{given} {family}",
        f"N:{family};{given};;;",
        f"TEL;TYPE=CELL:{phone}",
        f"EMAIL;TYPE=HOME:{email}",
        "END:VCARD",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def vevent(uid: str, summary: str, start: datetime, minutes: int, location: str) -> bytes:
    """An iCalendar file with one VEVENT."""
    end = start + timedelta(minutes=minutes)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//openwpd//samples//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SUMMARY:{summary}",
        f"DTSTART:{start:%Y%m%dT%H%M%S}",
        f"DTEND:{end:%Y%m%dT%H%M%S}",
        f"LOCATION:{location}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


# --- the whole set ------------------------------------------------------------------------------

_SONGS = {
    "Morning.wav": (60, 64, 67, 72, 67, 64, 60, 55),
    "Überlied 🎵.wav": (69, 71, 72, 74, 76, 74, 72, 71, 69),
}


def _write(path: Path, data: bytes, when: datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))
    return path


def make_samples(root: Path, *, photos: int = 4, big_size: int = 0, seed: int = 0) -> SampleSet:
    """Fill ``root`` (created if needed) with sample content; see the module docstring.
    ``big_size`` > 0 adds ``Backups/archive.bin`` of that many bytes (sparse). Existing files of
    the same names are overwritten. Returns what was written."""
    root.mkdir(parents=True, exist_ok=True)
    base = datetime(2024, 6, 1, 12, 0, 0)
    shots = tuple(
        _write(
            root / "DCIM" / "Camera" / f"IMG_{seed * 100 + i + 1:04d}.jpg",
            photo(seed * 100 + i, taken=base + timedelta(minutes=7 * i)),
            base + timedelta(minutes=7 * i),
        )
        for i in range(photos)
    )
    music = tuple(
        _write(root / "Music" / name, melody_wav(notes), base + timedelta(days=1))
        for name, notes in _SONGS.items()
    )
    docs = (
        _write(
            root / "Documents" / "notes.txt",
            b"Shopping: bread, milk, coffee.\nCall Ada about the review.\n",
            base + timedelta(days=2),
        ),
        _write(
            root / "Documents" / "README.md",
            b"# Sample documents\n\nServed by the openwpd virtual device.\n",
            base + timedelta(days=2),
        ),
        _write(
            root / "Documents" / "report.pdf",
            one_page_pdf("Quarterly report - served by openwpd"),
            base + timedelta(days=3),
        ),
    )
    contacts = tuple(
        _write(
            root / "Contacts" / f"{given.lower()}-{family.lower()}.vcf",
            vcard(given, family, phone, email),
            base,
        )
        for given, family, phone, email in CONTACTS
    )
    events = tuple(
        _write(
            root / "Calendar" / f"event-{i + 1}.ics",
            vevent(f"{i + 1}@samples.openwpd", summary, start, minutes, place),
            base,
        )
        for i, (summary, start, minutes, place) in enumerate(EVENTS)
    )
    big = None
    if big_size > 0:
        big = root / "Backups" / BIG_NAME
        big.parent.mkdir(parents=True, exist_ok=True)
        with open(big, "wb") as f:
            f.truncate(big_size)  # sparse: costs no disk, reads as zeros
    folders = tuple(
        sorted(
            {p.parent for p in (*shots, *music, *docs, *contacts, *events)}
            | ({big.parent} if big else set())
        )
    )
    return SampleSet(root, shots, music, docs, contacts, events, big, folders)


__all__ = [
    "BIG_NAME",
    "SampleSet",
    "exif_segment",
    "make_jpeg",
    "make_samples",
    "melody_wav",
    "one_page_pdf",
    "photo",
    "vcard",
    "vevent",
]
