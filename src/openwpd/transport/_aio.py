"""Linux native AIO on one file descriptor: a blocking read or write that another thread can
cancel.

FunctionFS completes a write to an IN endpoint only when the host has read it. A host that
cancels a transfer, resets the device or simply stops reading would leave a plain ``write()``
blocked for good (a signal does not help from Python: ``os.write`` retries after EINTR). Through
AIO the same write is a USB request that ``io_cancel`` takes back (FunctionFS dequeues it), which
is what Android's MTP device does too. A read taken back the same way drops what it had
received: after a host Cancel, the tail of the cancelled data phase.

The syscalls are called through ctypes (the standard library has no AIO); only x86-64 and
arm64 numbers are known. :func:`available` says whether this machine has them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import threading

__all__ = ["AioFile", "available"]

#: io_setup, io_destroy, io_getevents, io_submit, io_cancel
_SYSCALLS = {
    "x86_64": (206, 207, 208, 209, 210),
    "aarch64": (0, 1, 4, 2, 3),
}
_IOCB_CMD_PREAD = 0
_IOCB_CMD_PWRITE = 1


class _Iocb(ctypes.Structure):
    # struct iocb of linux/aio_abi.h (little-endian layout)
    _fields_ = [
        ("aio_data", ctypes.c_uint64),
        ("aio_key", ctypes.c_uint32),
        ("aio_rw_flags", ctypes.c_int32),
        ("aio_lio_opcode", ctypes.c_uint16),
        ("aio_reqprio", ctypes.c_int16),
        ("aio_fildes", ctypes.c_uint32),
        ("aio_buf", ctypes.c_uint64),
        ("aio_nbytes", ctypes.c_uint64),
        ("aio_offset", ctypes.c_int64),
        ("aio_reserved2", ctypes.c_uint64),
        ("aio_flags", ctypes.c_uint32),
        ("aio_resfd", ctypes.c_uint32),
    ]


class _IoEvent(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_uint64),
        ("obj", ctypes.c_uint64),
        ("res", ctypes.c_int64),
        ("res2", ctypes.c_int64),
    ]


def _numbers() -> tuple[int, int, int, int, int] | None:
    return _SYSCALLS.get(platform.machine())


def available() -> bool:
    """True on Linux with known AIO syscall numbers."""
    return os.name == "posix" and platform.system() == "Linux" and _numbers() is not None


class AioFile:
    """Reads or writes on ``fd``, one at a time (:meth:`read`/:meth:`write`, blocking, from one
    thread), that :meth:`abort` (from any thread) takes back. Raises OSError when AIO is
    unavailable."""

    def __init__(self, fd: int) -> None:
        numbers = _numbers()
        if numbers is None:
            raise OSError(errno.ENOSYS, "no AIO syscall numbers for this machine")
        self._setup, self._destroy, self._getevents, self._submit, self._cancel = numbers
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.syscall.restype = ctypes.c_long
        self._fd = fd
        self._ctx = ctypes.c_ulong(0)
        self._call(self._setup, ctypes.c_long(4), ctypes.byref(self._ctx))
        self._lock = threading.Lock()
        self._current: _Iocb | None = None
        self._aborts = 0

    def _call(self, number: int, *args: object) -> int:
        result = int(self._libc.syscall(ctypes.c_long(number), *args))
        if result < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return result

    def write(self, data: bytes | memoryview) -> int:
        """Write ``data`` (``b""``: a zero-length packet); returns the bytes written. Raises
        OSError(ECANCELED) when :meth:`abort` took it back, other OSErrors as write() would."""
        buf = ctypes.create_string_buffer(bytes(data), max(1, len(data)))
        return self._io(_IOCB_CMD_PWRITE, buf, len(data))

    def read(self, size: int) -> bytes:
        """Read up to ``size`` bytes. Raises OSError(ECANCELED) when :meth:`abort` took it back
        (what it had received is dropped), other OSErrors as read() would."""
        buf = ctypes.create_string_buffer(max(1, size))
        got = self._io(_IOCB_CMD_PREAD, buf, size)
        return buf.raw[:got]

    def _io(self, opcode: int, buf: ctypes.Array[ctypes.c_char], size: int) -> int:
        if not self._ctx.value:
            raise OSError(errno.EBADF, "the AIO context is closed")
        iocb = _Iocb()
        iocb.aio_lio_opcode = opcode
        iocb.aio_fildes = self._fd
        iocb.aio_buf = ctypes.addressof(buf)
        iocb.aio_nbytes = size
        pointers = (ctypes.POINTER(_Iocb) * 1)(ctypes.pointer(iocb))
        with self._lock:
            aborts = self._aborts
            self._current = iocb
        try:
            self._call(self._submit, self._ctx, ctypes.c_long(1), pointers)
            with self._lock:
                if self._aborts != aborts:  # aborted between our check and the submit
                    self._take_back(iocb)
            event = _IoEvent()
            while True:
                try:
                    got = self._call(
                        self._getevents,
                        self._ctx,
                        ctypes.c_long(1),
                        ctypes.c_long(1),
                        ctypes.byref(event),
                        None,
                    )
                except InterruptedError:
                    continue
                if got == 1:
                    break
        finally:
            with self._lock:
                self._current = None
        if event.res < 0:
            code = -event.res
            if code in (errno.ECONNRESET, errno.ECANCELED, errno.EINTR) and self._aborts != aborts:
                raise OSError(errno.ECANCELED, "taken back")
            raise OSError(code, os.strerror(code))
        return int(event.res)

    def _take_back(self, iocb: _Iocb) -> None:
        event = _IoEvent()
        # EINPROGRESS (the result comes through io_getevents) or already complete: fine
        with contextlib.suppress(OSError):
            self._call(self._cancel, self._ctx, ctypes.byref(iocb), ctypes.byref(event))

    def abort(self) -> None:
        """Take back the write in progress, if any (it raises ECANCELED in its thread)."""
        with self._lock:
            self._aborts += 1
            if self._current is not None:
                self._take_back(self._current)

    def close(self) -> None:
        """Release the AIO context (after the last write returned)."""
        if self._ctx.value:
            with contextlib.suppress(OSError):
                self._call(self._destroy, self._ctx)
            self._ctx = ctypes.c_ulong(0)
