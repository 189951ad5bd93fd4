"""Reverse lookup: the WPD name of a PROPERTYKEY or a GUID (for printing and debugging).

Built lazily from :mod:`~openwpd.wpd.keys`, :mod:`~openwpd.wpd.commands` and
:mod:`~openwpd.wpd.guids`; where two names share a value (a ``PKEY_GenericObj_*`` key equal to
a ``WPD_OBJECT_*`` key, a reference alias) the ``WPD_*`` name defined first wins.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openwpd.wpd.keys import PropertyKey


@cache
def _key_names() -> dict[PropertyKey, str]:
    from openwpd.wpd import commands, keys

    names: dict[PropertyKey, str] = {}
    for module in (keys, commands):
        for name, value in vars(module).items():
            if isinstance(value, keys.PropertyKey) and (name.isupper() or name.startswith("PKEY_")):
                names.setdefault(value, name)
    return names


@cache
def _guid_names() -> dict[uuid.UUID, str]:
    from openwpd.wpd import guids

    names: dict[uuid.UUID, str] = {}
    for name, value in vars(guids).items():
        if isinstance(value, uuid.UUID) and name.isupper():
            names.setdefault(value, name)
    return names


def key_name(key: PropertyKey) -> str:
    """``"WPD_OBJECT_NAME"`` for that key; the key's text form when it has no name."""
    return _key_names().get(key, str(key))


def guid_name(guid: uuid.UUID) -> str:
    """``"WPD_CONTENT_TYPE_FOLDER"`` for that GUID; ``{GUID}`` when it has no name."""
    return _guid_names().get(guid, "{" + str(guid).upper() + "}")


__all__ = ["guid_name", "key_name"]
