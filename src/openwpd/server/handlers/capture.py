"""Still-image capture (``wpd serve --camera``): InitiateCapture, InitiateOpenCapture and
TerminateOpenCapture. The behaviour lives in :mod:`openwpd.server.camera`; a device that is no
camera answers OperationNotSupported and does not list these operations in DeviceInfo."""

from __future__ import annotations

from openwpd.protocol.codes import EventCode, ObjectFormatCode, OperationCode, ResponseCode
from openwpd.protocol.messages import Event
from openwpd.server.camera import Camera
from openwpd.server.context import MtpError, OperationContext
from openwpd.server.registry import handles

#: the operations only a camera supports
CAMERA_OPERATIONS = frozenset(
    {
        OperationCode.INITIATE_CAPTURE,
        OperationCode.INITIATE_OPEN_CAPTURE,
        OperationCode.TERMINATE_OPEN_CAPTURE,
    }
)

_FORMATS = (0, ObjectFormatCode.EXIF_JPEG)


def _camera(ctx: OperationContext) -> Camera:
    camera = ctx.device.camera
    if camera is None:
        raise MtpError(ResponseCode.OPERATION_NOT_SUPPORTED, "not a camera")
    return camera


def _check_params(ctx: OperationContext) -> None:
    """StorageID 0 = the device's choice, or the storage it uses; ObjectFormatCode 0 or
    EXIF/JPEG, the one format it captures."""
    storage = ctx.p(1)
    if storage not in (0, 0xFFFFFFFF) and storage not in [s.id for s in ctx.device.store.storages]:
        raise MtpError(ResponseCode.INVALID_STORAGE_ID, f"storage 0x{storage:08X}")
    if ctx.p(2) not in _FORMATS:
        raise MtpError(ResponseCode.INVALID_OBJECT_FORMAT_CODE, f"format 0x{ctx.p(2):04X}")


@handles(OperationCode.INITIATE_CAPTURE)
async def initiate_capture(ctx: OperationContext) -> None:
    camera = _camera(ctx)
    _check_params(ctx)
    await camera.capture()
    ctx.session.post_event(Event(EventCode.CAPTURE_COMPLETE, (ctx.tid,)))


@handles(OperationCode.INITIATE_OPEN_CAPTURE)
async def initiate_open_capture(ctx: OperationContext) -> None:
    camera = _camera(ctx)
    _check_params(ctx)
    camera.open_capture(ctx.session, ctx.tid)


@handles(OperationCode.TERMINATE_OPEN_CAPTURE)
async def terminate_open_capture(ctx: OperationContext) -> None:
    await _camera(ctx).terminate_open_capture(ctx.p(1))
