"""FunctionFS: the descriptor and string blobs byte for byte, and ep0 event records.

The expected bytes are written out by hand from the specifications, not from the code:
- the FunctionFS ABI (linux/usb/functionfs.h): v2 header magic 3, flags HAS_FS_DESC 1 |
  HAS_HS_DESC 2 | HAS_SS_DESC 4 | HAS_MS_OS_DESC 8, then fs/hs/ss/os counts; strings magic 2;
  struct usb_os_desc_header (u8 interface, le32 dwLength, le16 bcdVersion, le16 wIndex, u8
  bCount, u8 Reserved); struct usb_functionfs_event (8-byte setup packet, u8 type, 3 pad);
- USB 2.0 section 9.6.5/9.6.6: interface descriptor (9 bytes, type 4), endpoint descriptor (7
  bytes, type 5); bulk wMaxPacketSize 64 at full speed and 512 at high speed;
- USB 3.x section 9.6.6/9.6.7: bulk wMaxPacketSize 1024, and the SuperSpeed endpoint companion
  descriptor (6 bytes, type 0x30) after each endpoint;
- USB Still Image class 1.0: interface class 6, subclass 1, protocol 1;
- Microsoft OS 1.0 descriptors: extended compat ID (wIndex 4, bcdVersion 1.00), a function
  section of 24 bytes: bFirstInterfaceNumber, reserved 1, compatibleID[8], subCompatibleID[8],
  reserved[6].
"""

from __future__ import annotations

from openwpd.transport.functionfs import (
    Ep0Event,
    Ep0EventType,
    Setup,
    descriptors_blob,
    parse_events,
    strings_blob,
)

INTERFACE = bytes.fromhex("09 04 00 00 03 06 01 01 01")  # 3 endpoints, class 6/1/1, iInterface 1


def _endpoints(mps_lo: int, mps_hi: int) -> bytes:
    return (
        bytes([7, 5, 0x81, 0x02, mps_lo, mps_hi, 0])  # bulk IN
        + bytes([7, 5, 0x02, 0x02, mps_lo, mps_hi, 0])  # bulk OUT
        + bytes([7, 5, 0x83, 0x03, 28, 0, 6])  # interrupt IN, 28 bytes, bInterval 6
    )


FULL = INTERFACE + _endpoints(64, 0)
HIGH = INTERFACE + _endpoints(0x00, 0x02)  # 512
SUPER = INTERFACE + bytes.fromhex(
    "07 05 81 02 00 04 00"  # bulk IN, 1024
    " 06 30 00 00 00 00"  # companion: no burst, no streams
    " 07 05 02 02 00 04 00"  # bulk OUT, 1024
    " 06 30 00 00 00 00"
    " 07 05 83 03 1c 00 06"  # interrupt IN
    " 06 30 00 00 1c 00"  # wBytesPerInterval = one 28-byte packet
)
MS_OS = (
    bytes([0])  # interface
    + (11 + 24).to_bytes(4, "little")  # dwLength: this header and one function section
    + bytes([0x00, 0x01])  # bcdVersion 1.00
    + bytes([4, 0])  # wIndex: extended compat ID
    + bytes([1, 0])  # bCount, reserved
    + bytes([0, 1])  # bFirstInterfaceNumber, reserved (must be 1)
    + b"MTP\0\0\0\0\0"
    + bytes(8)
    + bytes(6)
)


def test_descriptors_for_full_high_and_super_speed_with_ms_os_descriptor() -> None:
    body = (
        bytes([4, 0, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0])  # fs, hs, ss, os counts
        + FULL
        + HIGH
        + SUPER
        + MS_OS
    )
    length = 12 + len(body)
    assert length == 171
    expected = bytes([3, 0, 0, 0, length, 0, 0, 0, 0x0F, 0, 0, 0]) + body
    assert descriptors_blob() == expected


def test_descriptors_without_super_speed() -> None:
    body = bytes([4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0]) + FULL + HIGH + MS_OS
    expected = bytes([3, 0, 0, 0, 12 + len(body), 0, 0, 0, 0x0B, 0, 0, 0]) + body
    assert descriptors_blob(super_speed=False) == expected


def test_the_older_ms_os_version_value() -> None:
    blob = descriptors_blob(ms_os_bcd=1)
    assert blob[-35:-24] == bytes([0, 35, 0, 0, 0, 1, 0, 4, 0, 1, 0])


def test_strings_one_language_one_string() -> None:
    expected = bytes([2, 0, 0, 0, 22, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0x09, 0x04]) + b"MTP\0"
    assert strings_blob() == expected
    assert strings_blob("Gerät")[-7:] == "Gerät".encode() + b"\0"


def test_ep0_event_records() -> None:
    cancel = bytes([0x21, 0x64, 0, 0, 0, 0, 6, 0, 4, 0, 0, 0])  # class OUT to interface 0
    status = bytes([0xA1, 0x67, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0])
    enable = bytes(8) + bytes([2, 0, 0, 0])
    odd = bytes(8) + bytes([9, 0, 0, 0])
    events = parse_events(enable + cancel + status + odd + b"\x01")  # a stray byte is ignored
    assert events == [
        Ep0Event(Ep0EventType.ENABLE),
        Ep0Event(Ep0EventType.SETUP, Setup(0x21, 0x64, 0, 0, 6)),
        Ep0Event(Ep0EventType.SETUP, Setup(0xA1, 0x67, 0, 0, 4)),
        Ep0Event(9),
    ]
    setup = events[2].setup
    assert setup is not None and setup.is_in and setup.is_class
    cancel_setup = events[1].setup
    assert cancel_setup is not None and not cancel_setup.is_in
