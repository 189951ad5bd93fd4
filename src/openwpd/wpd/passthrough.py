"""SendCommand: the raw command path -- WPD_COMMAND_COMMON_RESET_DEVICE and the MTP pass-through
commands of WpdMtpExtensions.h.

Theory of operation
-------------------
As in WPD, ``send_command`` raises only when the command did not get through (bad parameters,
a closed handle, a cancel: 0x800704C7); the command's own outcome is
WPD_PROPERTY_COMMON_HRESULT in the results (E_NOTIMPL for a command this API does not take).
WPD_COMMAND_STILL_IMAGE_CAPTURE_INITIATE takes a picture on a camera (see :meth:`_capture`),
WPD_COMMAND_STORAGE_FORMAT formats a storage (see :meth:`_format`).
The device's MTP response of a pass-through operation is not an HRESULT: it is returned as
WPD_PROPERTY_MTP_EXT_RESPONSE_CODE / _RESPONSE_PARAMS next to an S_OK HRESULT.

The three-step data commands keep a *transfer context* per handle: EXECUTE_COMMAND_WITH_DATA_TO_READ
runs the operation at once and keeps its data, READ_DATA hands it out in pieces, END_DATA_TRANSFER
returns the response; EXECUTE_COMMAND_WITH_DATA_TO_WRITE opens a context that WRITE_DATA fills and
END_DATA_TRANSFER sends as the operation's data phase. After a successful ResetDevice the session
is gone on the device, so the shared connection is retired (the next ``open`` reconnects).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openwpd.protocol.codes import OperationCode, ResponseCode
from openwpd.wpd import commands as c
from openwpd.wpd import mapping as m
from openwpd.wpd.errors import (
    E_INVALIDARG,
    E_NOTIMPL,
    ERROR_NOT_FOUND,
    HRESULT_FROM_WIN32,
    S_OK,
    WpdError,
    hresult_for_response,
)
from openwpd.wpd.keys import PropertyKey, VarType
from openwpd.wpd.values import (
    PortableDevicePropVariantCollection,
    PortableDeviceValues,
    PropVariant,
)

if TYPE_CHECKING:
    from openwpd.wpd.handle import WpdHandle

#: Pieces READ_DATA / WRITE_DATA are asked to move at most.
OPTIMAL_TRANSFER_BUFFER_SIZE = 256 * 1024
#: Operation codes of the MTP specification and device services (not vendor extensions).
_STANDARD_RANGES = ((0x1000, 0x1FFF), (0x9300, 0x93FF), (0x9800, 0x98FF))


@dataclass(eq=False)
class _Transfer:
    operation: int
    params: tuple[int, ...]
    reading: bool
    data: bytearray = field(default_factory=bytearray)
    position: int = 0
    total: int = 0
    response: tuple[int, tuple[int, ...]] | None = None


def _uint(values: PortableDeviceValues, key: PropertyKey) -> int:
    value = values.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise WpdError(E_INVALIDARG, f"{key.name} is required")
    return value


def _params(values: PortableDeviceValues) -> tuple[int, ...]:
    value = values.get(c.WPD_PROPERTY_MTP_EXT_OPERATION_PARAMS)
    if value is None:
        return ()
    items = list(value) if isinstance(value, PortableDevicePropVariantCollection) else None
    if items is None or not all(isinstance(i, int) and not isinstance(i, bool) for i in items):
        raise WpdError(E_INVALIDARG, "OPERATION_PARAMS is a collection of VT_UI4")
    return tuple(int(i) for i in items)  # type: ignore[call-overload]


def _uint4s(items: tuple[int, ...]) -> PortableDevicePropVariantCollection:
    return PortableDevicePropVariantCollection(items, vt=VarType.UI4)


def vendor_operations(operations: tuple[int, ...]) -> list[int]:
    """The operations of OperationsSupported outside the PTP/MTP/device-services ranges."""
    return [op for op in operations if not any(lo <= op <= hi for lo, hi in _STANDARD_RANGES)]


class CommandRunner:
    """The SendCommand implementation of one handle (see the module docstring)."""

    def __init__(self, handle: WpdHandle) -> None:
        self._handle = handle
        self._transfers: dict[str, _Transfer] = {}

    def send(self, parameters: PortableDeviceValues) -> PortableDeviceValues:
        """Run one command; see the module docstring for what raises and what is returned."""
        if not isinstance(parameters, PortableDeviceValues):
            raise WpdError(E_INVALIDARG, "parameters is a PortableDeviceValues")
        category = parameters.get(c.WPD_PROPERTY_COMMON_COMMAND_CATEGORY)
        command_id = parameters.get(c.WPD_PROPERTY_COMMON_COMMAND_ID)
        if not isinstance(category, uuid.UUID) or not isinstance(command_id, int):
            raise WpdError(E_INVALIDARG, "COMMAND_CATEGORY and COMMAND_ID are required")
        self._handle.check_open()
        command = PropertyKey(category, command_id)
        results = PortableDeviceValues()
        try:
            hresult = self._dispatch(command, parameters, results)
        except WpdError as exc:
            if exc.cancelled:
                raise
            hresult = exc.hresult
        results.set_value(c.WPD_PROPERTY_COMMON_HRESULT, PropVariant(VarType.ERROR, hresult))
        return results

    def _execute(
        self, operation: int, params: tuple[int, ...], data: bytes | None = None
    ) -> tuple[int, tuple[int, ...], bytes]:
        client = self._handle.client

        async def run() -> tuple[int, tuple[int, ...], bytes]:
            result = await client.execute(operation, params, data=data)
            return result.code, result.params, result.data

        return self._handle.call(run)

    def _capture(self) -> int:
        """STILL_IMAGE_CAPTURE_INITIATE: InitiateCapture, returning once the device has sent
        CaptureComplete (the new pictures arrive as WPD_EVENT_OBJECT_ADDED through Advise).
        E_NOTIMPL on a device without InitiateCapture; the device's refusal (DeviceBusy...) as
        its HRESULT; ``Cancel()`` cancels a pending capture on the wire."""
        if not self._handle.conn.supports(OperationCode.INITIATE_CAPTURE):
            return E_NOTIMPL
        self._handle.check_writable()
        client = self._handle.client

        async def run() -> None:
            await client.capture()

        self._handle.call(run)
        return S_OK

    def _format(self, p: PortableDeviceValues) -> int:
        """STORAGE_FORMAT: FormatStore on the storage WPD_PROPERTY_STORAGE_OBJECT_ID names
        (FilesystemFormat 0: the device's own). E_INVALIDARG when that names no storage object,
        E_NOTIMPL on a device without FormatStore, else the device's answer as its HRESULT
        (StoreReadOnly: E_ACCESSDENIED). The removed objects arrive as WPD_EVENT_OBJECT_REMOVED
        through Advise."""
        ref = m.parse_object_id(p.get(c.WPD_PROPERTY_STORAGE_OBJECT_ID))  # type: ignore[arg-type]
        if ref.kind is not m.Kind.STORAGE:
            raise WpdError(E_INVALIDARG, "STORAGE_OBJECT_ID must name a storage object")
        if not self._handle.conn.supports(OperationCode.FORMAT_STORE):
            return E_NOTIMPL
        self._handle.check_writable()
        code = self._execute(OperationCode.FORMAT_STORE, (ref.number, 0))[0]
        return hresult_for_response(code)

    def _respond(self, results: PortableDeviceValues, code: int, params: tuple[int, ...]) -> None:
        results[c.WPD_PROPERTY_MTP_EXT_RESPONSE_CODE] = code
        results[c.WPD_PROPERTY_MTP_EXT_RESPONSE_PARAMS] = _uint4s(params)

    def _transfer(self, parameters: PortableDeviceValues) -> tuple[str, _Transfer]:
        context = parameters.get(c.WPD_PROPERTY_MTP_EXT_TRANSFER_CONTEXT)
        transfer = self._transfers.get(context) if isinstance(context, str) else None
        if transfer is None or not isinstance(context, str):
            raise WpdError(HRESULT_FROM_WIN32(ERROR_NOT_FOUND), "unknown transfer context")
        return context, transfer

    def _dispatch(
        self, command: PropertyKey, p: PortableDeviceValues, results: PortableDeviceValues
    ) -> int:
        info = self._handle.conn.device_info
        if command == c.WPD_COMMAND_COMMON_RESET_DEVICE:
            self._handle.check_writable()
            code = self._execute(OperationCode.RESET_DEVICE, ())[0]
            if code == ResponseCode.OK:
                self._handle.shared.retired = True
            return hresult_for_response(code)
        if command == c.WPD_COMMAND_STILL_IMAGE_CAPTURE_INITIATE:
            return self._capture()
        if command == c.WPD_COMMAND_STORAGE_FORMAT:
            return self._format(p)
        if command == c.WPD_COMMAND_MTP_EXT_GET_SUPPORTED_VENDOR_OPCODES:
            ops = tuple(vendor_operations(info.operations_supported))
            results[c.WPD_PROPERTY_MTP_EXT_VENDOR_OPERATION_CODES] = _uint4s(ops)
            return S_OK
        if command == c.WPD_COMMAND_MTP_EXT_GET_VENDOR_EXTENSION_DESCRIPTION:
            results[c.WPD_PROPERTY_MTP_EXT_VENDOR_EXTENSION_DESCRIPTION] = (
                info.vendor_extension_desc
            )
            return S_OK
        if command == c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITHOUT_DATA_PHASE:
            code, params, _data = self._execute(
                _uint(p, c.WPD_PROPERTY_MTP_EXT_OPERATION_CODE), _params(p)
            )
            self._respond(results, code, params)
            return S_OK
        if command == c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_READ:
            operation, params = _uint(p, c.WPD_PROPERTY_MTP_EXT_OPERATION_CODE), _params(p)
            code, response, data = self._execute(operation, params)
            transfer = _Transfer(operation, params, True, bytearray(data), total=len(data))
            transfer.response = (code, response)
            return self._open(transfer, results)
        if command == c.WPD_COMMAND_MTP_EXT_EXECUTE_COMMAND_WITH_DATA_TO_WRITE:
            operation, params = _uint(p, c.WPD_PROPERTY_MTP_EXT_OPERATION_CODE), _params(p)
            total = _uint(p, c.WPD_PROPERTY_MTP_EXT_TRANSFER_TOTAL_DATA_SIZE)
            return self._open(_Transfer(operation, params, False, total=total), results)
        if command == c.WPD_COMMAND_MTP_EXT_READ_DATA:
            _context, transfer = self._transfer(p)
            want = _uint(p, c.WPD_PROPERTY_MTP_EXT_TRANSFER_NUM_BYTES_TO_READ)
            piece = bytes(transfer.data[transfer.position : transfer.position + want])
            transfer.position += len(piece)
            results[c.WPD_PROPERTY_MTP_EXT_TRANSFER_NUM_BYTES_READ] = len(piece)
            results[c.WPD_PROPERTY_MTP_EXT_TRANSFER_DATA] = piece
            return S_OK
        if command == c.WPD_COMMAND_MTP_EXT_WRITE_DATA:
            _context, transfer = self._transfer(p)
            chunk = p.get(c.WPD_PROPERTY_MTP_EXT_TRANSFER_DATA)
            if not isinstance(chunk, bytes) or transfer.reading:
                raise WpdError(E_INVALIDARG, "TRANSFER_DATA (bytes) on a write context needed")
            count = min(len(chunk), _uint(p, c.WPD_PROPERTY_MTP_EXT_TRANSFER_NUM_BYTES_TO_WRITE))
            transfer.data += chunk[:count]
            results[c.WPD_PROPERTY_MTP_EXT_TRANSFER_NUM_BYTES_WRITTEN] = count
            return S_OK
        if command == c.WPD_COMMAND_MTP_EXT_END_DATA_TRANSFER:
            context, transfer = self._transfer(p)
            del self._transfers[context]
            if transfer.response is None:
                code, response, _data = self._execute(
                    transfer.operation, transfer.params, bytes(transfer.data)
                )
                transfer.response = (code, response)
            self._respond(results, *transfer.response)
            return S_OK
        return E_NOTIMPL

    def _open(self, transfer: _Transfer, results: PortableDeviceValues) -> int:
        context = "{" + str(uuid.uuid4()).upper() + "}"
        self._transfers[context] = transfer
        results[c.WPD_PROPERTY_MTP_EXT_TRANSFER_CONTEXT] = context
        results[c.WPD_PROPERTY_MTP_EXT_OPTIMAL_TRANSFER_BUFFER_SIZE] = OPTIMAL_TRANSFER_BUFFER_SIZE
        if transfer.reading:
            results[c.WPD_PROPERTY_MTP_EXT_TRANSFER_TOTAL_DATA_SIZE] = transfer.total
        return S_OK


__all__ = ["OPTIMAL_TRANSFER_BUFFER_SIZE", "CommandRunner", "vendor_operations"]
