"""Device-provided names on the local disk, and on a terminal.

A device names its objects as it likes: an MTP file name is any string, so a hostile or broken
device can name a file ``../../.bashrc``, a folder ``..``, or put a NUL or an escape sequence in
a name. Anything that writes files here under names that come from a device goes through
:func:`local_path`, which refuses (:class:`UnsafeName`) a name that is empty, ``.`` or ``..``,
contains ``/``, ``\\`` or NUL, or whose joined path does not stay inside the target folder once
resolved (a symlink already inside the target that points out of it counts as outside). The
target folder itself is the caller's choice and may be anywhere.

:func:`printable` escapes what a terminal would interpret (C0/C1 control characters, DEL, and
the Unicode line and paragraph separators and bidirectional overrides), so that a name shown to
a person is one visible line: ``"a\\x1b]0;t\\x07"`` shows as ``a\\x1b]0;t\\x07`` literally.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from openwpd.protocol.errors import OpenWpdError

#: Characters a local name must not contain: path separators (both conventions: a name from a
#: device is one component on every host) and NUL.
_FORBIDDEN = ("/", "\\", "\x00")


class UnsafeName(OpenWpdError):
    """A name from the device cannot be used as a local file name (see the module docstring).
    ``name`` is the name as the device gave it; ``reason`` says why in words."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"unsafe name from device: {printable(name)} ({reason})")
        self.name = name
        self.reason = reason


def check_name(name: str) -> str:
    """``name`` if it can be one local path component, else raise :class:`UnsafeName`."""
    if not name:
        raise UnsafeName(name, "empty")
    if name in (".", ".."):
        raise UnsafeName(name, "a relative path component")
    for bad in _FORBIDDEN:
        if bad in name:
            raise UnsafeName(name, "contains NUL" if bad == "\x00" else f"contains {bad!r}")
    return name


def _within(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


def local_path(base: str | os.PathLike[str], *names: str) -> Path:
    """``base/names[0]/names[1]/...`` where every name came from a device: each is checked with
    :func:`check_name`, and the result, resolved (symlinks followed, as far as they exist),
    must stay inside ``base`` resolved. Raises :class:`UnsafeName` naming the offending name
    (the last one when only the resolution escapes). Touches nothing on disk."""
    root = Path(base)
    for name in names:
        check_name(name)
    path = root.joinpath(*names)
    if names and not _within(path.resolve(), root.resolve()):
        raise UnsafeName(names[-1], f"leads outside {root}")
    return path


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on escaped as ``\\xNN``,
    ``\\uNNNN`` or ``\\UNNNNNNNN`` (``\\x1b``, ``\\n``, ``\\u202e``...). Backslashes are
    left as they are, so ordinary names read naturally (the escaped form is for a person to
    read, not to be parsed back)."""
    if text.isprintable():
        return text
    return "".join(_escape(ch) if _unsafe_char(ch) else ch for ch in text)


def _unsafe_char(ch: str) -> bool:
    # Cc: C0, DEL, C1 controls; Cf: format characters (bidirectional overrides, zero-width);
    # Zl/Zp: line and paragraph separators; Cs: lone surrogates (undecodable bytes). Spaces
    # (Zs) and letters of every script are shown as they are.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")


__all__ = ["UnsafeName", "check_name", "local_path", "printable"]
