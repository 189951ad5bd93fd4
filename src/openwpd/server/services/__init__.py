"""MTP Device Services on the virtual device: Contacts, Calendar, Status and Diagnostics.

See :mod:`openwpd.server.services.core` for the theory of operation and ``docs/device-services.md``
for the wire protocol (IDs, GUIDs, codes, the method-invocation and cancel flows, the hooks the
object-property handlers call).
"""

from openwpd.server.services.codes import (
    METHOD_HANDLE_BIT,
    MethodCode,
    MethodParamCode,
    ServiceId,
    ServicePropCode,
)
from openwpd.server.services.core import DeviceServices
from openwpd.server.services.methods import MethodObject, is_method_handle
from openwpd.server.services.model import (
    FormatDef,
    MethodCall,
    MethodDef,
    ObjectPropDef,
    ParamDef,
    Service,
    ServicePropDef,
)
from openwpd.server.services.status import StatusService

__all__ = [
    "METHOD_HANDLE_BIT",
    "DeviceServices",
    "FormatDef",
    "MethodCall",
    "MethodCode",
    "MethodDef",
    "MethodObject",
    "MethodParamCode",
    "ObjectPropDef",
    "ParamDef",
    "Service",
    "ServiceId",
    "ServicePropCode",
    "ServicePropDef",
    "StatusService",
    "is_method_handle",
]
