"""Just enough vCard (RFC 2426/6350) and iCalendar (RFC 5545) to read and edit single fields.

Theory of operation: both formats are sequences of *content lines* ``NAME;PARAMS:VALUE``, folded
at 75 octets (a line starting with a space or tab continues the previous one), grouped by
``BEGIN:X`` / ``END:X``. A :class:`Field` names one value inside the first ``section`` (VCARD or
VEVENT): a property name, optionally a TYPE it must carry (HOME, WORK, CELL; vCard 2.1 writes
bare ``TEL;CELL``), optionally a component of a structured value (``N:Family;Given;...``).
Reading unescapes (``\\n``, ``\\,``, ``\\;``, ``\\\\``); editing rewrites only the line concerned
and leaves every other line byte-for-byte as it was, so fields we do not model survive.
Dates are converted between the files' forms (``1980-04-01``, ``20240101``,
``20240101T100000Z``) and MTP DateTime strings (``YYYYMMDDThhmmss``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Field", "PimText"]

_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2})(Z?))?$")


@dataclass(frozen=True, slots=True)
class Field:
    """One field: property ``prop`` in ``section``, filtered by ``type``, optionally one
    ``component`` of a structured value; ``date`` fields convert to/from MTP DateTime."""

    section: str
    prop: str
    type: str | None = None
    component: int | None = None
    date: bool = False


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def _unescape(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt in ("n", "N") else nxt)
        else:
            out.append(ch)
    return "".join(out)


def _split_components(value: str) -> list[str]:
    parts: list[str] = [""]
    escaped = False
    for ch in value:
        if escaped:
            parts[-1] += "\\" + ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ";":
            parts.append("")
        else:
            parts[-1] += ch
    return parts


def to_mtp_date(value: str) -> str | None:
    """``1980-04-01`` / ``19800401`` / ``20240101T100000Z`` -> ``YYYYMMDDThhmmss[Z]``."""
    m = _DATE.match(value.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s, z = m.groups()
    return f"{y}{mo}{d}T{h or '00'}{mi or '00'}{s or '00'}{z or ''}"


def from_mtp_date(value: str) -> str | None:
    """An MTP DateTime (``YYYYMMDDThhmmss[.s][Z]``) -> ``YYYYMMDDThhmmss[Z]``; None if bad."""
    m = re.match(r"^(\d{8}T\d{6})(?:\.\d)?(Z?)$", value)
    return None if m is None else m.group(1) + m.group(2)


class PimText:
    """The content lines of one vCard/iCalendar file, editable field by field."""

    def __init__(self, text: str) -> None:
        self.lines: list[str] = []
        for raw in text.splitlines():
            if raw[:1] in (" ", "\t") and self.lines:
                self.lines[-1] += raw[1:]
            elif raw:
                self.lines.append(raw)

    def text(self) -> str:
        """The file again (CRLF line ends, as both RFCs require)."""
        return "".join(line + "\r\n" for line in self.lines)

    # -- locating --------------------------------------------------------------------------

    def _section(self, name: str) -> tuple[int, int] | None:
        start = None
        for i, line in enumerate(self.lines):
            key = line.upper()
            if start is None and key == f"BEGIN:{name}":
                start = i
            elif start is not None and key == f"END:{name}":
                return start, i
        return None

    @staticmethod
    def _split(line: str) -> tuple[str, list[str], str]:
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        return name.upper(), params, value

    @staticmethod
    def _types(params: list[str]) -> set[str]:
        found: set[str] = set()
        for p in params:
            key, eq, val = p.partition("=")
            tokens = val if eq and key.upper() == "TYPE" else ("" if eq else key)
            found.update(t.strip().upper() for t in tokens.split(",") if t.strip())
        return found

    def _find(self, f: Field) -> int | None:
        bounds = self._section(f.section)
        if bounds is None:
            return None
        candidates = []
        for i in range(bounds[0] + 1, bounds[1]):
            name, params, _ = self._split(self.lines[i])
            if name == f.prop and (f.type is None or f.type in self._types(params)):
                candidates.append(i)
        if f.type is None:  # the primary one: marked PREF if any, else the first
            preferred = [
                i for i in candidates if "PREF" in self._types(self._split(self.lines[i])[1])
            ]
            candidates = preferred or candidates
        return candidates[0] if candidates else None

    # -- reading and editing ---------------------------------------------------------------

    def get(self, f: Field) -> str | None:
        """The field's value (unescaped; dates as MTP DateTime), or None if absent/empty."""
        i = self._find(f)
        if i is None:
            return None
        value = self._split(self.lines[i])[2]
        if f.component is not None:
            parts = _split_components(value)
            value = parts[f.component] if f.component < len(parts) else ""
        value = _unescape(value)
        if f.date:
            return to_mtp_date(value)
        return value or None

    def set(self, f: Field, value: str) -> bool:
        """Set the field (adding the line if needed); False if ``f.section`` is missing or a
        date value is not an MTP DateTime."""
        bounds = self._section(f.section)
        if bounds is None:
            return False
        if f.date:
            converted = from_mtp_date(value)
            if converted is None:
                return False
            encoded = converted
        else:
            encoded = _escape(value)
        i = self._find(f)
        if i is None:
            head = f.prop if f.type is None else f"{f.prop};TYPE={f.type}"
            body = encoded
            if f.component is not None:
                body = ";".join(encoded if n == f.component else "" for n in range(f.component + 1))
            self.lines.insert(bounds[1], f"{head}:{body}")
            return True
        head, _, old = self.lines[i].partition(":")
        if f.component is not None:
            parts = _split_components(old)
            parts += [""] * (f.component + 1 - len(parts))
            parts[f.component] = encoded
            encoded = ";".join(parts)
        self.lines[i] = f"{head}:{encoded}"
        return True

    def delete(self, f: Field) -> None:
        """Remove the field: its component is emptied, or its whole line removed."""
        i = self._find(f)
        if i is None:
            return
        if f.component is None:
            del self.lines[i]
            return
        head, _, old = self.lines[i].partition(":")
        parts = _split_components(old)
        if f.component < len(parts):
            parts[f.component] = ""
        self.lines[i] = f"{head}:{';'.join(parts)}"
