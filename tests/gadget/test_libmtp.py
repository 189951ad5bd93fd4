"""libmtp's tools (what most Linux desktops use) against our device as a USB gadget."""

from __future__ import annotations

from gadget_lab import Device, run


def test_mtp_detect_sees_device_info_and_storage(device: Device) -> None:
    out = run("mtp-detect", timeout=120).stdout
    assert "openwpd" in out
    assert "Virtual MTP Device" in out
    assert "Phone" in out  # the storage's description
