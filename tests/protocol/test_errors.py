"""The error hierarchy and its HRESULTs."""

from __future__ import annotations

import pytest

import openwpd
from openwpd.protocol import errors as e
from openwpd.protocol.codes import ResponseCode


def test_hresult_from_win32() -> None:
    assert e.hresult_from_win32(1223) == 0x800704C7 == e.HRESULT_CANCELLED
    assert e.hresult_from_win32(0) == 0
    assert e.hresult_from_win32(-2147024809) == 0x80070057  # already an HRESULT


def test_cancelled_is_the_wpd_cancel_error() -> None:
    exc = openwpd.Cancelled()
    assert exc.hresult == 0x800704C7
    assert isinstance(exc, openwpd.OpenWpdError)
    assert "cancelled" in str(exc)


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (e.LocalProtocolError, e.OpenWpdError),
        (e.RemoteProtocolError, e.OpenWpdError),
        (e.ConnectError, e.TransportError),
        (e.ReadTimeout, e.TransportError),
        (e.WriteTimeout, e.TransportError),
        (e.DeviceGone, e.TransportError),
        (e.DeviceBusy, e.TransportError),
        (e.SessionReset, e.OpenWpdError),
    ],
)
def test_hierarchy_and_hresults(cls: type[e.OpenWpdError], parent: type) -> None:
    err = cls("boom")
    assert isinstance(err, parent)
    assert err.hresult & 0x80000000, "every error is a failure HRESULT"
    assert cls("x", hresult=0x8007001F).hresult == 0x8007001F


def test_response_error_names_the_code() -> None:
    err = e.ResponseError(ResponseCode.STORE_FULL, params=(3,))
    assert err.code == 0x200C and err.params == (3,)
    assert "STORE_FULL (0x200C)" in str(err)
    assert "0xABCD" in str(e.ResponseError(0xABCD))
    assert str(e.ResponseError(0x2002, "custom")) == "custom"
