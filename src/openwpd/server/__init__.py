"""The virtual MTP device: serves folders as MTP storages (``wpd serve DIR[:NAME][:ro] ...``).

The folder-backed object store lives in :mod:`openwpd.server.store`; the operation handlers and
the PTP/IP server are built on top of it.
"""
