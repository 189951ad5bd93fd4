"""The folder-backed object store of the virtual MTP device.

See :mod:`openwpd.server.store.core` for the theory of operation. Public API:
:class:`ObjectStore`, :class:`Storage`, :class:`StoredObject`, :class:`PendingObject`,
:class:`EditSession`, :class:`StoreEvent` / :class:`StoreEventKind`, :class:`StoreError` and
its subclasses, and the parameter constants :data:`ROOT` and :data:`ALL`.
"""

from openwpd.protocol.codes import ALL

from .core import ObjectStore
from .errors import InvalidNameError, NameExistsError, PartialDeletionError, StoreError
from .objects import ROOT, StoredObject, StoreEvent, StoreEventKind
from .storage import Storage, StorageInfoValues
from .writes import EditSession, PendingObject

__all__ = [
    "ALL",
    "ROOT",
    "EditSession",
    "InvalidNameError",
    "NameExistsError",
    "ObjectStore",
    "PartialDeletionError",
    "PendingObject",
    "Storage",
    "StorageInfoValues",
    "StoreError",
    "StoreEvent",
    "StoreEventKind",
    "StoredObject",
]
