"""Device services without the wire: the vCard/iCalendar field editor, value checks, service
definitions, oversized files, a device without storages."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from openwpd.protocol.codes import DataType, ObjectFormatCode, ResponseCode
from openwpd.protocol.datasets import EnumForm, PropListElement, RangeForm
from openwpd.server.context import MtpError
from openwpd.server.device import StorageSpec, VirtualDevice
from openwpd.server.services import pim
from openwpd.server.services.model import Service, ServicePropDef, check_value
from openwpd.server.services.pimtext import Field, PimText, from_mtp_date, to_mtp_date

VCARD21 = (
    "BEGIN:VCARD\nVERSION:2.1\nN:Smith;Jo\nTEL;CELL;VOICE:123\nTEL;HOME:456\n"
    "NOTE:a long note that is\n  folded onto\n\ta third line\nEMAIL;type=work:jo@work\n"
    "END:VCARD\n"
)


def test_vcard21_bare_types_and_folding() -> None:
    doc = PimText(VCARD21)
    assert doc.get(Field("VCARD", "TEL", "CELL")) == "123"
    assert doc.get(Field("VCARD", "TEL", "HOME")) == "456"
    assert doc.get(Field("VCARD", "TEL")) == "123"  # no PREF: the first
    assert doc.get(Field("VCARD", "EMAIL", "WORK")) == "jo@work"
    assert doc.get(Field("VCARD", "NOTE")) == "a long note that is folded ontoa third line"
    assert doc.get(Field("VCARD", "N", component=3)) is None  # component past the end
    assert doc.get(Field("VCARD", "TEL", "FAX")) is None
    assert doc.get(Field("VEVENT", "DTSTART", date=True)) is None  # no such section


def test_editing_keeps_other_lines_and_escapes() -> None:
    doc = PimText(VCARD21)
    assert doc.set(Field("VCARD", "N", component=4), "Jr.")
    assert "N:Smith;Jo;;;Jr." in doc.lines
    assert doc.set(Field("VCARD", "ORG", component=1), "R;D")  # absent: added
    assert "ORG:;R\\;D" in doc.lines
    assert doc.set(Field("VCARD", "TEL", "WORK"), "789")
    assert "TEL;TYPE=WORK:789" in doc.lines
    assert doc.set(Field("VCARD", "BDAY", date=True), "20000101T120000")
    assert doc.get(Field("VCARD", "BDAY", date=True)) == "20000101T120000"
    assert not doc.set(Field("VCARD", "BDAY", date=True), "not a date")
    assert not doc.set(Field("VEVENT", "LOCATION"), "x")  # no such section
    doc.delete(Field("VCARD", "N", component=1))
    doc.delete(Field("VCARD", "N", component=9))
    doc.delete(Field("VCARD", "NOTE"))
    doc.delete(Field("VCARD", "GEO"))  # absent: nothing to do
    assert "N:Smith;;;;Jr." in doc.lines
    assert doc.text().startswith("BEGIN:VCARD\r\nVERSION:2.1\r\n")
    assert "NOTE" not in doc.text()
    assert doc.text().endswith("END:VCARD\r\n")


def test_unescaping() -> None:
    doc = PimText("BEGIN:VCARD\r\nNOTE:a\\nb\\,c\\\\d\\;e\r\nEND:VCARD\r\n")
    assert doc.get(Field("VCARD", "NOTE")) == "a\nb,c\\d;e"
    doc.set(Field("VCARD", "NOTE"), "x\ny")
    assert doc.get(Field("VCARD", "NOTE")) == "x\ny"


@pytest.mark.parametrize(
    ("text", "mtp"),
    [
        ("1815-12-10", "18151210T000000"),
        ("20240102", "20240102T000000"),
        ("20240102T100000Z", "20240102T100000Z"),
        ("2024-01-02T10:00:00", "20240102T100000"),
        ("soon", None),
    ],
)
def test_dates(text: str, mtp: str | None) -> None:
    assert to_mtp_date(text) == mtp


def test_mtp_dates_in() -> None:
    assert from_mtp_date("20240102T100000.5Z") == "20240102T100000Z"
    assert from_mtp_date("2024") is None


def test_check_value() -> None:
    assert check_value(DataType.UINT8, None, 300) == ResponseCode.INVALID_OBJECT_PROP_FORMAT
    assert check_value(DataType.UINT8, RangeForm(0, 10, 2), 4) is None
    assert (
        check_value(DataType.UINT8, RangeForm(0, 10, 2), 5)
        == ResponseCode.INVALID_OBJECT_PROP_VALUE
    )
    assert check_value(DataType.UINT8, RangeForm(0, 10, 0), 5) is None
    assert (
        check_value(DataType.STR, EnumForm(("a",)), "b") == ResponseCode.INVALID_OBJECT_PROP_VALUE
    )


def test_service_values() -> None:
    changes: list[int] = []
    prop = ServicePropDef(7, uuid.UUID(int=1), 2, "X", DataType.UINT8, True, 1)
    svc = Service(9, uuid.UUID(int=2), "S", props=(prop,))
    svc.on_change = lambda _s, code: changes.append(code)
    svc.set_value(7, 1)
    svc.set_value(7, 2)
    assert changes == [7] and svc.value(7) == 2
    with pytest.raises(ValueError):
        svc.set_value(7, -1)
    assert svc.format(0xBB83) is None and svc.method(1) is None
    with pytest.raises(MtpError):
        svc.value(8)


def test_device_without_storages_or_folders(tmp_path: Path) -> None:
    dev = VirtualDevice([], state_dir=tmp_path / "state", watch=False)
    assert [s.storage_id for s in dev.services] == [0, 0, 0, 0]
    dev.store.close()
    served = tmp_path / "served"
    served.mkdir()
    (served / "Contacts").symlink_to(tmp_path)  # a symlinked folder is not served
    dev = VirtualDevice([StorageSpec(served)], state_dir=tmp_path / "state", watch=False)
    assert dev.services.get(1).storage_id == 0
    dev.store.close()


def test_oversized_pim_files_are_plain_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tmp_path / "served"
    (served / "Contacts").mkdir(parents=True)
    (served / "Contacts" / "big.vcf").write_text("BEGIN:VCARD\r\nN:A;B\r\nEND:VCARD\r\n")
    dev = VirtualDevice([StorageSpec(served)], state_dir=tmp_path / "state", watch=False)
    try:
        (obj,) = dev.store.children(dev.services.get(1).storage_id)
        assert obj.format == ObjectFormatCode.VCARD3
        assert pim.read_fields(dev.store, obj, 0xDD52) == []  # not a contact field
        monkeypatch.setattr(pim, "MAX_PIM_FILE", 4)
        assert dev.services.get_object_props(obj.handle) == []
        element = PropListElement(obj.handle, 0xDD00, DataType.STR, "C")
        for call in (
            lambda: dev.services.set_object_props(obj.handle, [element]),
            lambda: dev.services.delete_object_props(obj.handle, [(0, 0xDD00)]),
        ):
            with pytest.raises(MtpError) as err:
                call()
            assert err.value.code == ResponseCode.OBJECT_TOO_LARGE
    finally:
        dev.store.close()
