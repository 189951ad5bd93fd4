"""openwpd's own Diagnostics service: methods to exercise invocation, completion and cancel.

* ``Echo(Text) -> Result``: returns its input.
* ``Sleep(Milliseconds)``: completes after that long (0..600000 ms).
* ``HashObject(Object, Algorithm) -> Digest``: the lowercase hex digest of a stored file's data.
  It reads :data:`HASH_CHUNK` bytes at a time and yields to the event loop between chunks, so a
  multi-gigabyte object neither blocks the device nor delays a cancel by more than one chunk.

The service also has a writable ``Label`` property (to exercise SetServicePropList on a
service of our own) and a read-only ``MethodsCompleted`` counter.
"""

from __future__ import annotations

import asyncio
import hashlib

from openwpd.protocol.codes import DataType, EventCode, MethodParameterType, ResponseCode
from openwpd.protocol.datasets import EnumForm, ObjectIdForm, RangeForm
from openwpd.protocol.datatypes import Value
from openwpd.server.context import MtpError
from openwpd.server.services.codes import (
    EVENT_METHOD_COMPLETE,
    EVENT_SERVICE_PROP_CHANGED,
    METHOD_ECHO,
    METHOD_HASH_OBJECT,
    METHOD_SLEEP,
    NAMESPACE_DIAGNOSTICS_PARAMS,
    NAMESPACE_DIAGNOSTICS_SVC,
    SERVICE_DIAGNOSTICS,
    MethodCode,
    MethodParamCode,
    ServiceId,
    ServicePropCode,
)
from openwpd.server.services.model import (
    EventDef,
    MethodCall,
    MethodDef,
    ParamDef,
    Service,
    ServicePropDef,
    display_name_prop,
)

#: Bytes HashObject reads between two yields to the event loop.
HASH_CHUNK = 1024 * 1024
#: Algorithms HashObject accepts (its Algorithm parameter's enumeration form).
HASH_ALGORITHMS = ("sha256", "md5", "sha1", "sha512")
#: Longest Sleep, in milliseconds.
MAX_SLEEP_MS = 600_000

_P = MethodParamCode
_NS = NAMESPACE_DIAGNOSTICS_PARAMS
_IN, _OUT = MethodParameterType.IN, MethodParameterType.OUT


async def _echo(call: MethodCall) -> dict[int, Value]:
    await asyncio.sleep(0)
    return {_P.ECHO_RESULT: call.params[_P.ECHO_TEXT]}


async def _sleep(call: MethodCall) -> dict[int, Value]:
    ms = call.params[_P.SLEEP_MILLISECONDS]
    assert isinstance(ms, int)
    await asyncio.sleep(ms / 1000)
    return {}


async def _hash_object(call: MethodCall) -> dict[int, Value]:
    handle, algorithm = call.params[_P.HASH_OBJECT], call.params.get(_P.HASH_ALGORITHM, "sha256")
    assert isinstance(handle, int) and isinstance(algorithm, str)
    store = call.device.store
    if store.get(handle).is_folder:
        raise MtpError(ResponseCode.INVALID_OBJECT_HANDLE, "a folder has no data")
    digest = hashlib.new(algorithm)
    with store.open_read(handle) as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
            await asyncio.sleep(0)
    return {_P.HASH_DIGEST: digest.hexdigest()}


DIAGNOSTICS_METHODS: tuple[MethodDef, ...] = (
    MethodDef(
        MethodCode.DIAGNOSTICS_ECHO,
        METHOD_ECHO,
        "Echo",
        _echo,
        (
            ParamDef(_P.ECHO_TEXT, _NS, 1, "Text", DataType.STR, _IN, 0),
            ParamDef(_P.ECHO_RESULT, _NS, 2, "Result", DataType.STR, _OUT, 1),
        ),
    ),
    MethodDef(
        MethodCode.DIAGNOSTICS_SLEEP,
        METHOD_SLEEP,
        "Sleep",
        _sleep,
        (
            ParamDef(
                _P.SLEEP_MILLISECONDS,
                _NS,
                3,
                "Milliseconds",
                DataType.UINT32,
                _IN,
                0,
                RangeForm(0, MAX_SLEEP_MS, 1),
            ),
        ),
    ),
    MethodDef(
        MethodCode.DIAGNOSTICS_HASH_OBJECT,
        METHOD_HASH_OBJECT,
        "HashObject",
        _hash_object,
        (
            ParamDef(_P.HASH_OBJECT, _NS, 4, "Object", DataType.UINT32, _IN, 0, ObjectIdForm()),
            ParamDef(
                _P.HASH_ALGORITHM,
                _NS,
                5,
                "Algorithm",
                DataType.STR,
                _IN,
                1,
                EnumForm(HASH_ALGORITHMS),
                required=False,
            ),
            ParamDef(_P.HASH_DIGEST, _NS, 6, "Digest", DataType.STR, _OUT, 2),
        ),
    ),
)


def diagnostics_service() -> Service:
    """The Diagnostics service (no storage, no formats of its own)."""
    return Service(
        service_id=ServiceId.DIAGNOSTICS,
        guid=SERVICE_DIAGNOSTICS,
        name="Diagnostics",
        props=(
            display_name_prop(ServicePropCode.DIAGNOSTICS_DISPLAY_NAME, "openwpd Diagnostics"),
            ServicePropDef(
                ServicePropCode.DIAGNOSTICS_LABEL,
                NAMESPACE_DIAGNOSTICS_SVC,
                2,
                "Label",
                DataType.STR,
                True,
                "",
            ),
            ServicePropDef(
                ServicePropCode.DIAGNOSTICS_METHODS_COMPLETED,
                NAMESPACE_DIAGNOSTICS_SVC,
                3,
                "MethodsCompleted",
                DataType.UINT32,
                False,
                0,
            ),
        ),
        methods=DIAGNOSTICS_METHODS,
        events=(
            EventDef(EventCode.METHOD_COMPLETE, EVENT_METHOD_COMPLETE, "MethodComplete"),
            EventDef(
                EventCode.SERVICE_PROP_CHANGED, EVENT_SERVICE_PROP_CHANGED, "ServicePropChanged"
            ),
        ),
    )
