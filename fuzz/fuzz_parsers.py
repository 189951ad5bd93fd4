"""Fuzz harness: every parser of the protocol core, fed arbitrary and mutated bytes.

The invariant (``docs/architecture.md``, testing): any byte string given to any parser is either
parsed or raises RemoteProtocolError -- never another exception, never a hang.

``make test`` runs a bounded run (``OPENWPD_FUZZ_EXAMPLES`` inputs per target, default 600; with
~40 targets that is tens of thousands of inputs). The long run is ``make fuzz-long`` (2,000,000
per target by default; set OPENWPD_FUZZ_EXAMPLES to taste). Inputs are hypothesis-generated:
plain random bytes, and valid encodings (from the round-trip strategies) with bytes flipped,
inserted, deleted or truncated, which reach much deeper into each parser than noise does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import pytest
import strategies as ours
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openwpd.protocol import container, ptpip
from openwpd.protocol._buffer import Reader
from openwpd.protocol.codes import DataType
from openwpd.protocol.datasets import (
    CancelRequestData,
    DeletePropList,
    DeviceInfo,
    DevicePropDesc,
    DeviceStatus,
    ExtendedEventData,
    FormatCapability,
    FormatCapabilityList,
    InterdependentPropDesc,
    ObjectInfo,
    ObjectPropDesc,
    ObjectPropList,
    ServiceInfo,
    ServicePropDesc,
    ServicePropDescList,
    StorageInfo,
    iter_prop_list,
    parse_uint16_array,
    parse_uint32_array,
    parse_vendor_extensions,
)
from openwpd.protocol.datatypes import parse_datetime, read_string, read_value
from openwpd.protocol.errors import RemoteProtocolError
from openwpd.protocol.ptpip_codec import Channel, PtpIpCodec

EXAMPLES = int(os.environ.get("OPENWPD_FUZZ_EXAMPLES", "600"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=2000,  # ms per input: a parser that takes longer is as good as hung
    suppress_health_check=list(HealthCheck),
    database=None,
)


@st.composite
def mutated(draw: st.DrawFn, seed: st.SearchStrategy[bytes]) -> bytes:
    """A valid encoding with a few random edits."""
    data = bytearray(draw(seed))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "set"]))
        pos = draw(st.integers(0, max(len(data), 1) - 1)) if data else 0
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01]))
    return bytes(data)


def inputs(seed: st.SearchStrategy[bytes] | None = None) -> st.SearchStrategy[bytes]:
    noise = st.binary(max_size=512)
    return noise if seed is None else st.one_of(noise, mutated(seed))


def _encoded(strategy: st.SearchStrategy) -> st.SearchStrategy[bytes]:  # type: ignore[type-arg]
    return strategy.map(lambda ds: ds.to_bytes())


def check(parse: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse(data)


DATASETS = [
    (DeviceInfo, ours.device_infos()),
    (StorageInfo, ours.storage_infos()),
    (ObjectInfo, ours.object_infos()),
    (ObjectPropDesc, ours.object_prop_descs()),
    (DevicePropDesc, ours.device_prop_descs()),
    (ServicePropDesc, ours.service_prop_descs()),
    (ServicePropDescList, ours.service_prop_desc_lists()),
    (ObjectPropList, ours.object_prop_lists()),
    (DeletePropList, ours.delete_prop_lists()),
    (ServiceInfo, ours.service_infos()),
    (InterdependentPropDesc, ours.interdependent_prop_descs()),
    (FormatCapability, ours.format_capabilities()),
    (FormatCapabilityList, ours.format_capability_lists()),
    (CancelRequestData, ours.cancel_requests()),
    (DeviceStatus, ours.device_statuses()),
    (ExtendedEventData, ours.extended_event_datas()),
]


@pytest.mark.parametrize(("cls", "strategy"), DATASETS, ids=lambda x: getattr(x, "__name__", ""))
def test_datasets(cls: type, strategy: st.SearchStrategy) -> None:  # type: ignore[type-arg]
    @FUZZ
    @given(inputs(_encoded(strategy)))
    def run(data: bytes) -> None:
        check(cls.from_bytes, data)  # type: ignore[attr-defined]

    run()


@pytest.mark.parametrize("datatype", list(DataType), ids=lambda d: d.name)
def test_values(datatype: DataType) -> None:
    @FUZZ
    @given(inputs())
    def run(data: bytes) -> None:
        check(lambda b: read_value(Reader(b), datatype), data)

    run()


@FUZZ
@given(inputs())
def test_strings_and_arrays(data: bytes) -> None:
    check(lambda b: read_string(Reader(b)), data)
    check(parse_uint16_array, data)
    check(parse_uint32_array, data)
    check(lambda b: list(iter_prop_list(Reader(b))), data)


@FUZZ
@given(st.text(max_size=40))
def test_datetime_and_vendor_strings(text: str) -> None:
    check(lambda _b: parse_datetime(text), b"")
    check(lambda _b: parse_vendor_extensions(text), b"")


_PACKETS = st.one_of(
    st.builds(
        ptpip.InitCommandRequest,
        st.binary(min_size=16, max_size=16),
        st.text(
            alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]),
            max_size=20,
        ),
    ),
    st.builds(
        ptpip.OperationRequest,
        st.integers(0, 2),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.lists(st.integers(0, 0xFFFFFFFF), max_size=5).map(tuple),
    ),
    st.builds(ptpip.StartData, st.integers(0, 0xFFFFFFFF), st.integers(0, 2**64 - 1)),
    st.builds(ptpip.Data, st.integers(0, 0xFFFFFFFF), st.binary(max_size=64)),
    st.builds(ptpip.EndData, st.integers(0, 0xFFFFFFFF), st.binary(max_size=64)),
    st.builds(ptpip.Cancel, st.integers(0, 0xFFFFFFFF)),
).map(lambda p: p.build())


@FUZZ
@given(inputs(_PACKETS))
def test_ptpip_packets(data: bytes) -> None:
    check(ptpip.parse_packet, data)


def _decode_all(data: bytes) -> None:
    framer = ptpip.PacketFramer(max_packet_size=4096)
    codec = PtpIpCodec()
    for i in range(0, len(data), 7):
        framer.feed(data[i : i + 7])
        for packet in framer:
            for channel in Channel:
                with contextlib.suppress(RemoteProtocolError):
                    codec.decode(packet, channel)


@FUZZ
@given(st.lists(inputs(_PACKETS), max_size=6).map(b"".join))
def test_ptpip_stream(data: bytes) -> None:
    check(_decode_all, data)


_CONTAINERS = st.one_of(
    st.builds(
        container.build_command,
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.lists(st.integers(0, 0xFFFFFFFF), max_size=5),
    ),
    st.builds(
        container.build_response,
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.lists(st.integers(0, 0xFFFFFFFF), max_size=5),
    ),
    st.builds(
        lambda c, t, p: container.build_data_header(c, t, len(p)) + p,
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.binary(max_size=100),
    ),
)


@FUZZ
@given(inputs(_CONTAINERS))
def test_usb_containers(data: bytes) -> None:
    check(container.parse_container, data)


def _frame_usb(data: bytes, mps: int) -> None:
    framer = container.BulkInFramer(mps)
    for i in range(0, len(data), mps):
        framer.feed(data[i : i + mps])


@FUZZ
@given(st.lists(inputs(_CONTAINERS), max_size=5).map(b"".join), st.sampled_from([8, 64, 512]))
def test_usb_bulk_stream(data: bytes, mps: int) -> None:
    check(lambda b: _frame_usb(b, mps), data)
