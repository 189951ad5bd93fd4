"""One module per family of operations; importing this package registers every handler."""

from openwpd.server.handlers import (  # noqa: F401
    capture,
    device,
    edits,
    objects,
    props,
    references,
    services,
    transfer,
)
