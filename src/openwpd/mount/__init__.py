"""``wpd mount``: the device as a folder (FUSE), on top of the async client.

Layers: :mod:`.tree` is the file system in asyncio terms (the cached tree of the device, kept
fresh by its events; open files with read-ahead and streamed writes) and uses only
:mod:`openwpd.client`; :mod:`.fuse` adapts it to the kernel through mfusepy's threads, running
the client on an event loop in a thread of its own. ``cli`` imports this package, nothing below
imports it.
"""
