"""IPortableDeviceServiceMethods: invoke a service's methods, wait or be called back, cancel.

Theory of operation
-------------------
Parameters and results are :class:`~openwpd.wpd.values.PortableDeviceValues` keyed by the
parameters' PROPERTYKEYs, as the service describes them (GetMethodAttributes /
GetMethodParameterAttributes); values are converted by :mod:`openwpd.wpd.service_values`. Each
call is a :class:`~openwpd.client.services.MethodInvocation` on the service's client handle: a
method object is created, the device runs the method, MethodComplete ends it, the results are
read and the object deleted.

* ``invoke`` blocks until the method ends and returns its results (an empty collection for a
  method without outputs); a method that fails raises WpdError with the HRESULT of its MTP
  response code (Windows' MTP driver, e.g. InvalidObjectHandle ->
  HRESULT_FROM_WIN32(ERROR_NOT_FOUND)).
* ``invoke_async`` returns at once; the method's end calls ``callback.on_complete(hresult,
  results)`` (or ``callback(hresult, results)``) on the service's callback thread. The callback
  object is the invocation's identity, as in WPD.
* ``cancel(callback)`` cancels the invocations started with that callback (identity);
  ``cancel(None)`` every invocation of the service handle, synchronous ones included. Each
  cancelled invocation reports 0x800704C7 -- ``invoke`` raises it, ``on_complete`` gets it --
  and its method object is deleted, which stops the method on the device. ``cancel`` returns
  when they have all finished.

A handle-wide cancel (``PortableDeviceService.cancel`` or any facet's ``cancel``) cancels every
invocation the same way (see :mod:`openwpd.wpd.service_scope`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

from openwpd.client.services import MethodOutcome, ServiceDescription
from openwpd.protocol.codes import ResponseCode
from openwpd.protocol.datatypes import Value
from openwpd.protocol.errors import Cancelled, OpenWpdError
from openwpd.wpd import bridge
from openwpd.wpd.errors import (
    E_INVALIDARG,
    HRESULT_CANCELLED,
    S_OK,
    WpdError,
    hresult_for_response,
    wpd_error_from,
)
from openwpd.wpd.service_scope import NO_CALLBACK, Pending
from openwpd.wpd.service_values import from_variant, key_of, to_variant
from openwpd.wpd.values import PortableDeviceValues

if TYPE_CHECKING:
    from openwpd.wpd.service_scope import ServiceScope

OnComplete = Callable[[int, PortableDeviceValues], object]


def _on_complete(callback: object) -> OnComplete | None:
    if callback is None:
        return None
    method: object = getattr(callback, "on_complete", None)
    if not callable(method):
        method = callback
    if callable(method):
        return cast(OnComplete, method)
    raise WpdError(E_INVALIDARG, "the callback has no on_complete method")


def method_code(desc: ServiceDescription, method: uuid.UUID) -> int:
    """The code of method ``method`` of the service; E_INVALIDARG when it has none."""
    if not isinstance(method, uuid.UUID):
        raise WpdError(E_INVALIDARG, "a method is a GUID")
    for m in desc.info.methods:
        if m.guid == method:
            return m.code
    raise WpdError(E_INVALIDARG, f"the service has no method {method}")


def encode_params(
    desc: ServiceDescription, code: int, parameters: PortableDeviceValues | None
) -> dict[int, Value]:
    """WPD parameters (keyed by parameter PROPERTYKEY) as MTP values by parameter code.
    E_INVALIDARG for a key that is not an in-parameter of the method or a value that does not
    fit it."""
    if parameters is None:
        return {}
    if not isinstance(parameters, PortableDeviceValues):
        raise WpdError(E_INVALIDARG, "parameters is a PortableDeviceValues")
    specs = {key_of(p.namespace, p.pid): p for p in desc.params(code) if p.is_input}
    encoded: dict[int, Value] = {}
    for key in parameters:
        spec = specs.get(key)
        if spec is None:
            raise WpdError(E_INVALIDARG, f"{key} is not an in-parameter of the method")
        encoded[spec.code] = from_variant(spec.datatype, spec.form, parameters.get_value(key))
    return encoded


def decode_results(
    desc: ServiceDescription, code: int, results: Mapping[int, Value]
) -> PortableDeviceValues:
    """MTP out-parameter values as WPD results keyed by parameter PROPERTYKEY."""
    values = PortableDeviceValues()
    for p in desc.params(code):
        if p.code in results:
            values.set_value(
                key_of(p.namespace, p.pid), to_variant(p.datatype, p.form, results[p.code])
            )
    return values


def _outcome(desc: ServiceDescription, code: int, outcome: MethodOutcome) -> PortableDeviceValues:
    if outcome.code != ResponseCode.OK:
        raise WpdError(
            hresult_for_response(outcome.code), f"the method failed (0x{outcome.code:04X})"
        )
    return decode_results(desc, code, outcome.results)


class PortableDeviceServiceMethods:
    """IPortableDeviceServiceMethods of one service handle (see the module docstring)."""

    def __init__(self, scope: ServiceScope) -> None:
        self._scope = scope

    def _prepare(
        self, method: uuid.UUID, parameters: PortableDeviceValues | None
    ) -> tuple[ServiceDescription, int, dict[int, Value]]:
        self._scope.handle.check_open()
        desc = self._scope.description()
        code = method_code(desc, method)
        return desc, code, encode_params(desc, code, parameters)

    def invoke(
        self, method: uuid.UUID, parameters: PortableDeviceValues | None = None
    ) -> PortableDeviceValues:
        """Invoke: run ``method`` (a method GUID) and wait; returns its results. Raises
        WpdError: E_INVALIDARG (unknown method or parameter), the method's failure, 0x800704C7
        when cancelled."""
        desc, code, params = self._prepare(method, parameters)
        scope = self._scope

        async def run() -> PortableDeviceValues:
            invocation = scope.service.invocation(code, params)
            scope.add(Pending(invocation, NO_CALLBACK, asyncio.current_task()))
            try:
                outcome = await invocation.run()
            finally:
                scope.remove(invocation)
            return _outcome(desc, code, outcome)

        return scope.call(run)

    def invoke_async(
        self,
        method: uuid.UUID,
        parameters: PortableDeviceValues | None = None,
        callback: object = None,
    ) -> None:
        """InvokeAsync: start ``method`` and return; ``callback.on_complete(hresult,
        results)`` (or ``callback(hresult, results)``) is called when it ends, on the service's
        callback thread. ``callback`` None: nobody is told. Raises at once what ``invoke``
        raises before the method starts."""
        sink = _on_complete(callback)
        desc, code, params = self._prepare(method, parameters)
        scope = self._scope

        async def run() -> None:
            invocation = scope.service.invocation(code, params)
            pending = Pending(invocation, callback, asyncio.current_task())
            scope.add(pending)
            hresult, results = S_OK, PortableDeviceValues()
            try:
                results = _outcome(desc, code, await invocation.run())
            except (Cancelled, asyncio.CancelledError):
                hresult = HRESULT_CANCELLED
            except (OpenWpdError, OSError) as exc:
                hresult = wpd_error_from(exc).hresult
            finally:
                scope.remove(invocation)
            if sink is not None:
                scope.callbacks.post(lambda: sink(hresult, results))

        async def start() -> None:
            scope.handle.check_open()
            asyncio.get_running_loop().create_task(run(), name="wpd invoke_async")
            await asyncio.sleep(0)  # registered before invoke_async returns

        bridge.run(start())

    def cancel(self, callback: object = None) -> None:
        """Cancel: the invocations started with ``callback`` (None: every invocation of the
        service handle) end with 0x800704C7; returns when they have. A no-op when none is
        pending."""
        self._scope.handle.check_open()
        bridge.run(self._scope.cancel_invocations(callback))


__all__ = [
    "PortableDeviceServiceMethods",
    "decode_results",
    "encode_params",
    "method_code",
]
