"""PLX iMFD codec: worked examples, front/rear instances, round trips, and garbage on the line."""

from __future__ import annotations

import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.channels import GASOLINE_AFR_SCALE, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import Reading
from dynoai_desktop.devices.plx_imfd import (
    AFR_RESOLUTION,
    KIND,
    MAX_PAYLOAD,
    MAX_SENSORS,
    PlxImfdDecoder,
    egt_sensor,
    encode_frame,
    lambda_to_raw,
    raw_to_gasoline_afr,
    raw_to_lambda,
    wideband_sensor,
)
from tests.devices.chunking import feed_chunks

FUZZ = settings(max_examples=200, deadline=None)
VALID = float(SensorStatus.VALID)

# §4.6: SM-AFR #0 raw 4, SM-AFR #1 raw 5, SM-EGT #0 raw 15.
FORUM_EXAMPLE = bytes.fromhex("80 0000000004 0000010005 000100000F 40")
# §4.6: λ 1.00 / AFR 14.7 -> raw 120.
STOICH_EXAMPLE = bytes.fromhex("80 00 00 00 01 38 40")


def decoder(**options: object) -> PlxImfdDecoder:
    return KIND.make_decoder(KIND.resolve_options(options))


def decode_one(frame: bytes, **options: object) -> list[Reading]:
    return decoder(**options).feed(frame)


# ------------------------------------------------------------------ worked examples (§4.6)
def test_forum_example_two_widebands_and_an_egt() -> None:
    dec = decoder()
    (reading,) = dec.feed(FORUM_EXAMPLE)
    v = reading.values
    # Raw 4 is λ 0.691; the iMFD's own gasoline formula shows 10.16 AFR, the canonical
    # λ × 14.7 is 10.153: the two lines agree within a tenth of a raw step here.
    assert raw_to_lambda(4) == pytest.approx(0.691, abs=5e-4)
    assert v["afr_front"] == pytest.approx(raw_to_lambda(4) * GASOLINE_AFR_SCALE)
    assert raw_to_gasoline_afr(4) == pytest.approx(10.16, abs=0.005)
    assert v["afr_front"] == pytest.approx(10.16, abs=AFR_RESOLUTION)
    assert raw_to_gasoline_afr(5) == pytest.approx(10.20, abs=0.005)
    assert v["afr_rear"] == pytest.approx(10.20, abs=AFR_RESOLUTION)
    assert v["afr_front_status"] == v["afr_rear_status"] == VALID
    assert v["egt_front_c"] == 15.0
    assert set(v) == {"afr_front", "afr_front_status", "afr_rear", "afr_rear_status", "egt_front_c"}
    assert dec.stats.frames_ok == 1 and dec.stats.frames_rejected == dec.stats.bytes_skipped == 0


def test_forum_example_encodes_byte_for_byte() -> None:
    assert encode_frame([(0, 0, 4), (0, 1, 5), (1, 0, 15)]) == FORUM_EXAMPLE
    assert encode_frame([(0, 0, 4), (0, 1, 5), egt_sensor(15.0)]) == FORUM_EXAMPLE


def test_lambda_one_example_both_ways() -> None:
    assert lambda_to_raw(1.0) == 120
    assert encode_frame([wideband_sensor(1.0)]) == STOICH_EXAMPLE
    (reading,) = decode_one(STOICH_EXAMPLE)
    assert reading.values == {"afr_front": pytest.approx(14.7), "afr_front_status": VALID}
    assert raw_to_gasoline_afr(120) == pytest.approx(14.706, abs=5e-4)  # the iMFD's display


def test_romraider_test_records_incl_bogus_sensor_address() -> None:
    frame = bytes.fromhex("80 0000000020 0000010005 0001003F3F 3F00000000 40")
    dec = decoder()
    (reading,) = dec.feed(frame)
    assert reading.values["afr_front"] == pytest.approx(raw_to_lambda(32) * 14.7)
    assert reading.values["egt_front_c"] == 4095.0
    assert len(reading.values) == 5  # address 4032 is skipped, the frame still counts
    assert dec.stats.frames_ok == 1 and dec.stats.frames_rejected == 0


# ------------------------------------------------------------------ front / rear instances
def test_two_widebands_kept_apart_and_swapped_with_the_options() -> None:
    frame = encode_frame(
        [wideband_sensor(0.85, 0), wideband_sensor(1.10, 1), egt_sensor(650, 0), egt_sensor(700, 1)]
    )
    (normal,) = decode_one(frame)
    (swapped,) = decode_one(frame, front_instance=1, rear_instance=0)
    assert normal.values["afr_front"] == pytest.approx(0.85 * 14.7, abs=AFR_RESOLUTION)
    assert normal.values["afr_rear"] == pytest.approx(1.10 * 14.7, abs=AFR_RESOLUTION)
    assert (normal.values["egt_front_c"], normal.values["egt_rear_c"]) == (650.0, 700.0)
    assert swapped.values["afr_front"] == normal.values["afr_rear"]
    assert swapped.values["afr_rear"] == normal.values["afr_front"]
    assert (swapped.values["egt_front_c"], swapped.values["egt_rear_c"]) == (700.0, 650.0)


def test_other_instances_and_sensor_types_are_published_under_plx_names() -> None:
    frame = encode_frame(
        [
            wideband_sensor(1.0, 2),
            egt_sensor(500, 3),
            (6, 0, 200),
            (4, 0, 227),
            (24, 0, 1),
            (1000, 0, 7),
        ]
    )
    (reading,) = decode_one(frame)
    assert reading.values == {
        "plx_afr_2": pytest.approx(14.7),
        "plx_egt_c_3": 500.0,
        "plx_rpm_0": pytest.approx(3910.0),
        "plx_boost_psi_0": pytest.approx(227 / 22.73),
        "plx_wideband_status_raw_0": 1.0,
    }


def test_rear_only_frame_has_no_front_channels() -> None:
    (reading,) = decode_one(encode_frame([wideband_sensor(0.9, 1)]))
    assert set(reading.values) == {"afr_rear", "afr_rear_status"}


def test_frame_without_sensors_or_known_ones_is_ok_but_says_nothing() -> None:
    dec = decoder()
    assert dec.feed(b"\x80\x40" + encode_frame([(4000, 0, 1)])) == []
    assert dec.stats.frames_ok == 2 and dec.stats.frames_rejected == 0


# ------------------------------------------------------------------ rejections and resync
GOOD = encode_frame([wideband_sensor(0.95, 0), wideband_sensor(1.05, 1)])


@pytest.mark.parametrize(
    ("bad", "skipped"),
    [
        (b"\x80\x00\x00\x00\x01\x40", 0),  # stop byte after 4 payload bytes
        (b"\x80\x00\x00\x00\x01\x38\x00\x40", 0),  # 6 payload bytes
        (b"\x80\x00\x00\x00\x41\x38\x40", 2),  # 0x41 breaks the 6-bit rule: hunt after it
        (b"\x80\x00\x00\xc0\x01\x38\x40", 3),
        (b"\x80\x00\x00\x00\x01", 0),  # cut short by the next start byte
    ],
)
def test_bad_frame_is_rejected_and_the_next_one_decoded(bad: bytes, skipped: int) -> None:
    dec = decoder()
    assert dec.feed(bad + GOOD) == decode_one(GOOD)
    assert (dec.stats.frames_ok, dec.stats.frames_rejected) == (1, 1)
    assert dec.stats.bytes_skipped == skipped


def test_garbage_without_a_start_byte_is_skipped_and_memory_stays_bounded() -> None:
    dec = decoder()
    for _ in range(1000):
        assert dec.feed(bytes(range(0x00, 0x7F))) == []
        assert len(dec._buf) == 0
    assert dec.stats.bytes_skipped == 127_000
    assert dec.feed(GOOD) == decode_one(GOOD)


def test_endless_frame_is_rejected_at_the_size_limit() -> None:
    dec = decoder()
    dec.feed(b"\x80")
    for _ in range(200):
        assert dec.feed(b"\x00" * 37) == []
        assert len(dec._buf) <= MAX_PAYLOAD + 1
    assert dec.stats.frames_rejected == 1
    assert dec.stats.bytes_skipped == 200 * 37 - (MAX_PAYLOAD + 1)
    assert dec.feed(GOOD) == decode_one(GOOD)


def test_largest_frame_is_accepted() -> None:
    frame = encode_frame([(6, i % 64, i) for i in range(MAX_SENSORS)])
    dec = decoder()
    assert len(dec.feed(frame)) == 1 and dec.stats.frames_ok == 1


# ------------------------------------------------------------------ device kind and encoder
def test_kind_declares_the_protocol() -> None:
    assert (KIND.protocol, KIND.role, KIND.baudrate) == ("plx-imfd", "wideband", 19200)
    assert KIND.title == "PLX iMFD (SM-AFR, SM-EGT)"
    assert KIND.resolve_options({}) == {"front_instance": 0, "rear_instance": 1}
    with pytest.raises(InputError, match="front_instance"):
        KIND.resolve_options({"front_instance": 64})
    with pytest.raises(InputError, match="different instance"):
        decoder(front_instance=1, rear_instance=1)


def test_encoder_refuses_out_of_range_records_and_saturates_helpers() -> None:
    for record in [(4096, 0, 0), (0, 64, 0), (0, 0, 4096), (-1, 0, 0)]:
        with pytest.raises(ValueError):
            encode_frame([record])
    assert lambda_to_raw(0.5) == 0 and lambda_to_raw(20.0) == 4095
    assert egt_sensor(-40.0) == (1, 0, 0) and egt_sensor(5000.0) == (1, 0, 4095)
    with pytest.raises(ValueError):
        wideband_sensor(float("nan"))


# ------------------------------------------------------------------ round trips
@FUZZ
@given(
    lam_front=st.floats(0.68, 2.0),
    lam_rear=st.floats(0.68, 2.0),
    egt_front=st.floats(0.0, 1200.0),
    egt_rear=st.floats(0.0, 1200.0),
    instances=st.lists(st.integers(0, 63), min_size=2, max_size=2, unique=True),
    seed=st.integers(0, 2**16),
)
def test_round_trip_within_one_raw_step(
    lam_front: float,
    lam_rear: float,
    egt_front: float,
    egt_rear: float,
    instances: list[int],
    seed: int,
) -> None:
    front, rear = instances
    sensors = [
        wideband_sensor(lam_front, front),
        wideband_sensor(lam_rear, rear),
        egt_sensor(egt_front, front),
        egt_sensor(egt_rear, rear),
        (6, front, 99),
    ]
    random.Random(seed).shuffle(sensors)
    (reading,) = decode_one(encode_frame(sensors), front_instance=front, rear_instance=rear)
    v = reading.values
    tol = AFR_RESOLUTION * (1 + 1e-9)
    assert v["afr_front"] == pytest.approx(lam_front * GASOLINE_AFR_SCALE, abs=tol)
    assert v["afr_rear"] == pytest.approx(lam_rear * GASOLINE_AFR_SCALE, abs=tol)
    assert v["afr_front_status"] == v["afr_rear_status"] == VALID
    assert v["egt_front_c"] == pytest.approx(egt_front, abs=0.5)
    assert v["egt_rear_c"] == pytest.approx(egt_rear, abs=0.5)


# ------------------------------------------------------------------ fuzzing
records = st.tuples(
    st.one_of(st.sampled_from([0, 1, 2, 6, 24, 4032]), st.integers(0, 4095)),
    st.integers(0, 3),
    st.integers(0, 4095),
)
frames = st.lists(records, max_size=5).map(encode_frame)


def expected_of(frame: bytes) -> list[Reading]:
    return decode_one(frame)


@FUZZ
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=30))
def test_random_bytes_never_raise_and_any_chunking_gives_the_same_result(
    data: bytes, cuts: list[int]
) -> None:
    whole, chunked, one_by_one = decoder(), decoder(), decoder()
    expected = whole.feed(data)
    assert feed_chunks(chunked, data, cuts) == expected
    assert [r for b in data for r in one_by_one.feed(bytes([b]))] == expected
    assert chunked.stats == whole.stats == one_by_one.stats
    assert whole.stats.bytes_in == len(data)
    assert len(one_by_one._buf) <= MAX_PAYLOAD + 1


@FUZZ
@given(
    parts=st.lists(st.one_of(frames, st.binary(max_size=12)), max_size=12),
    cuts=st.lists(st.integers(0, 400), max_size=30),
)
def test_frames_mixed_with_garbage_chunk_invariant(parts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(parts)
    whole, one_by_one = decoder(), decoder()
    expected = whole.feed(stream)
    assert feed_chunks(decoder(), stream, cuts) == expected
    assert [r for b in stream for r in one_by_one.feed(bytes([b]))] == expected
    assert one_by_one.stats == whole.stats


def _consistent(decoded: list[Reading], expected: list[tuple[Reading | None, bool]]) -> bool:
    """``decoded`` is ``expected`` where exact; a non-exact entry gives at most one reading."""

    @cache
    def go(i: int, j: int) -> bool:
        if j == len(expected):
            return i == len(decoded)
        reading, exact = expected[j]
        if exact:
            if reading is None:
                return go(i, j + 1)
            return i < len(decoded) and decoded[i] == reading and go(i + 1, j + 1)
        return go(i, j + 1) or (i < len(decoded) and go(i + 1, j + 1))

    return go(0, 0)


@FUZZ
@given(
    plan=st.lists(
        st.tuples(frames, st.sampled_from(["whole", "head", "tail"]), st.integers(1, 40)),
        max_size=12,
    ),
    cuts=st.lists(st.integers(0, 400), max_size=30),
)
def test_truncated_and_spliced_frames(plan: list[tuple[bytes, str, int]], cuts: list[int]) -> None:
    # A head (start byte, no stop) followed by a whole frame is rejected by that frame's start
    # byte; a tail (no start byte) is skipped while hunting. Only head + tail can look whole:
    # with no checksum (§4.5) such a splice of the right length decodes, so it may give one
    # reading; every frame sent whole must come out exactly, in order.
    stream, expected, head_open = b"", [], False
    for frame, kind, cut in plan:
        if kind == "whole":
            stream += frame
            expected += [(r, True) for r in expected_of(frame)] or [(None, True)]
            head_open = False
        elif kind == "head":
            stream += frame[: 1 + cut % (len(frame) - 1)]
            head_open = True
        else:
            stream += frame[1 + cut % (len(frame) - 1) :]
            if head_open:
                expected.append((None, False))
            head_open = False
    decoded = feed_chunks(decoder(), stream, cuts)
    assert _consistent(decoded, expected), (decoded, expected)


@FUZZ
@given(
    frame_list=st.lists(frames, min_size=1, max_size=8),
    where=st.integers(0, 10_000),
    bit=st.integers(0, 7),
)
def test_bit_flip_spoils_at_most_its_own_frame(
    frame_list: list[bytes], where: int, bit: int
) -> None:
    stream = bytearray(b"".join(frame_list))
    pos = where % len(stream)
    stream[pos] ^= 1 << bit
    frame_no, offset = 0, pos
    while offset >= len(frame_list[frame_no]):
        offset -= len(frame_list[frame_no])
        frame_no += 1
    decoded = decoder().feed(bytes(stream))
    per_frame = [expected_of(f) for f in frame_list]
    before = [r for rs in per_frame[:frame_no] for r in rs]
    after = [r for rs in per_frame[frame_no + 1 :] for r in rs]
    assert decoded[: len(before)] == before
    assert decoded[len(decoded) - len(after) :] == after
    middle = decoded[len(before) : len(decoded) - len(after)]
    assert len(middle) <= 1
    is_payload = 0 < offset < len(frame_list[frame_no]) - 1
    if is_payload and stream[pos] > 0x3F and stream[pos] not in (0x40, 0x80):
        assert middle == []  # a byte above 0x3F inside a frame always rejects it
