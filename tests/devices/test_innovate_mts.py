"""Innovate MTS codec: the worked bytes of protocols.md §1.9, chains, resync and fuzzing."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.channels import SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import Reading
from dynoai_desktop.devices.innovate_mts import (
    KIND,
    MAX_FRAME_BYTES,
    MtsDecoder,
    decode_payload,
    encode_aux_word,
    encode_lambda_word_pair,
    encode_lc2_chain,
    encode_lm1_block,
    encode_packet,
    lambda_to_raw,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LM1_V1 = bytes.fromhex("81 13 03 7C 1E 66 01 26 00 72 00 49 00 3B 00 3B")


def decode(data: bytes, front: int = 1, rear: int = 2) -> list[Reading]:
    return MtsDecoder(front, rear).feed(data)


def key(reading: Reading) -> tuple:
    """A comparable form of a reading (NaN equals NaN, floats to 9 decimals)."""
    vals = tuple(
        sorted((k, None if math.isnan(v) else round(v, 9)) for k, v in reading.values.items())
    )
    return vals, tuple(sorted(reading.details.items()))


# ------------------------------------------------------------------ §1.9 worked byte sequences


@pytest.mark.parametrize(
    ("hex_bytes", "afr", "status", "detail"),
    [
        ("B2 82 43 13 03 6B", 0.991 * 14.7, SensorStatus.VALID, None),
        ("B2 82 43 13 03 74", 14.7, SensorStatus.VALID, None),
        ("B2 82 43 13 0B 33", 1.959 * 14.7, SensorStatus.VALID, None),
        ("B2 82 53 13 03 74", None, SensorStatus.WARMING_UP,
         "warming up, 50 % of operating temperature"),
        ("B2 82 4F 13 00 00", None, SensorStatus.SENSOR_ERROR, "needs free-air calibration"),
        ("B2 82 5B 13 00 02", None, SensorStatus.SENSOR_ERROR, "sensor error 2: heater open"),
    ],
)
def test_single_lc2_worked_examples_decode(hex_bytes, afr, status, detail) -> None:
    (reading,) = decode(bytes.fromhex(hex_bytes))
    assert set(reading.values) == {"afr_front", "afr_front_status"}  # single LC-2: front only
    assert reading.values["afr_front_status"] == float(status)
    if afr is None:
        assert math.isnan(reading.values["afr_front"])
    else:
        assert reading.values["afr_front"] == pytest.approx(afr, abs=1e-9)
    assert reading.details.get("afr_front") == detail


def test_worked_examples_round_to_the_documented_afr() -> None:
    afrs = [decode(bytes.fromhex(h))[0].values["afr_front"]
            for h in ("B2 82 43 13 03 6B", "B2 82 43 13 03 74", "B2 82 43 13 0B 33")]
    assert [round(a, 2) for a in afrs] == [14.57, 14.70, 28.80]


@pytest.mark.parametrize(
    ("packet", "hex_bytes"),
    [
        (lambda: encode_lc2_chain(0.991), "B2 82 43 13 03 6B"),
        (lambda: encode_lc2_chain(1.0), "B2 82 43 13 03 74"),
        (lambda: encode_lc2_chain(1.959), "B2 82 43 13 0B 33"),
        (lambda: encode_lc2_chain(None, front_function=4, front_raw=500), "B2 82 53 13 03 74"),
        (lambda: encode_lc2_chain(None, front_function=3), "B2 82 4F 13 00 00"),
        (lambda: encode_lc2_chain(None, front_function=6, front_raw=2), "B2 82 5B 13 00 02"),
        (lambda: encode_lc2_chain(1.0, 0.991), "B2 84 43 13 03 74 43 13 03 6B"),
        (lambda: encode_packet([encode_lambda_word_pair(1.0)]
                               + [encode_aux_word(r) for r in (0, 256, 512, 1023)]),
         "B2 86 43 13 03 74 00 00 02 00 04 00 07 7F"),
        (lambda: encode_packet([encode_lambda_word_pair(0.991)] + [encode_aux_word(0)] * 5),
         "B2 87 43 13 03 6B 00 00 00 00 00 00 00 00 00 00"),
        (lambda: encode_lm1_block(1.008, battery_raw=870, battery_mult=3,
                                  aux=(166, 114, 73, 59, 59)), LM1_V1.hex()),
    ],
)
def test_worked_examples_encode_byte_for_byte(packet, hex_bytes) -> None:
    assert packet() == bytes.fromhex(hex_bytes)


def test_two_lc2_chain_far_unit_is_front() -> None:
    (reading,) = decode(bytes.fromhex("B2 84 43 13 03 74 43 13 03 6B"))
    assert reading.values["afr_front"] == pytest.approx(14.7)  # first = furthest from host
    assert reading.values["afr_rear"] == pytest.approx(0.991 * 14.7)
    assert reading.values["afr_front_status"] == reading.values["afr_rear_status"] == 0.0


def test_lc2_plus_ssi4_aux_volts_in_packet_order() -> None:
    (reading,) = decode(bytes.fromhex("B2 86 43 13 03 74 00 00 02 00 04 00 07 7F"))
    volts = [reading.values[f"mts_aux{i}_v"] for i in range(1, 5)]
    assert volts == pytest.approx([0.0, 1.251, 2.502, 5.0], abs=5e-4)
    assert reading.values["afr_front"] == pytest.approx(14.7)
    assert "afr_rear" not in reading.values


def test_lm2_packet_lambda_and_five_aux() -> None:
    (reading,) = decode(bytes.fromhex("B2 87 43 13 03 6B 00 00 00 00 00 00 00 00 00 00"))
    assert reading.values["afr_front"] == pytest.approx(0.991 * 14.7)
    assert [reading.values[f"mts_aux{i}_v"] for i in range(1, 6)] == [0.0] * 5


@pytest.mark.parametrize("via_mts", [False, True])
def test_lm1_v1_row_decodes_standalone_and_inside_mts(via_mts: bool) -> None:
    reading = decode(encode_packet([LM1_V1]))[0] if via_mts else decode_payload(LM1_V1)
    assert reading is not None
    assert reading.values["afr_front"] == pytest.approx(1.008 * 14.7)
    assert round(reading.values["afr_front"], 2) == 14.82
    assert reading.values["lm1_battery_v"] == pytest.approx(12.76, abs=5e-3)
    volts = [reading.values[f"mts_aux{i}_v"] for i in range(1, 6)]
    assert volts == pytest.approx([0.811, 0.557, 0.357, 0.288, 0.288], abs=5e-4)


def test_lm1_block_then_lc2_counts_both_as_lambda_subpackets() -> None:
    packet = encode_packet([LM1_V1, encode_lambda_word_pair(0.9)])
    (reading,) = decode(packet)
    assert reading.values["afr_front"] == pytest.approx(1.008 * 14.7)
    assert reading.values["afr_rear"] == pytest.approx(0.9 * 14.7)


# ------------------------------------------------------------------ status codes and options


@pytest.mark.parametrize(
    ("function", "raw", "status", "detail"),
    [
        (1, 209, SensorStatus.NO_DATA, "free-air O2 mode, 20.9 % O2"),
        (2, 0, SensorStatus.CALIBRATING, "free-air calibration in progress"),
        (3, 0, SensorStatus.SENSOR_ERROR, "needs free-air calibration"),
        (4, 725, SensorStatus.WARMING_UP, "warming up, 72.5 % of operating temperature"),
        (5, 17, SensorStatus.CALIBRATING, "heater calibration, countdown 17"),
        (6, 9, SensorStatus.SENSOR_ERROR, "sensor error 9: supply voltage low"),
        (6, 42, SensorStatus.SENSOR_ERROR, "sensor error 42: unknown error code"),
        (7, 0, SensorStatus.NO_DATA, "no data (reserved status code 7)"),
    ],
)
def test_function_codes_become_status_nan_and_detail(function, raw, status, detail) -> None:
    (reading,) = decode(encode_lc2_chain(1.0, None, rear_function=function, rear_raw=raw))
    assert reading.values["afr_rear_status"] == float(status)
    assert math.isnan(reading.values["afr_rear"])
    assert reading.details["afr_rear"] == detail
    assert reading.values["afr_front"] == pytest.approx(14.7)  # the other unit unaffected


def test_afr_is_gasoline_scale_whatever_the_fuel() -> None:
    (reading,) = decode(encode_lc2_chain(0.85, af=64))  # methanol controller setting
    assert reading.values["afr_front"] == pytest.approx(0.85 * 14.7)
    assert "6.4" in reading.details["afr_front"]


def test_options_swapped_swap_the_channels() -> None:
    packet = encode_lc2_chain(0.80, 1.10)
    (normal,) = decode(packet)
    (swapped,) = decode(packet, front=2, rear=1)
    assert normal.values["afr_front"] == swapped.values["afr_rear"] == pytest.approx(0.80 * 14.7)
    assert normal.values["afr_rear"] == swapped.values["afr_front"] == pytest.approx(1.10 * 14.7)


def test_unused_and_missing_channels() -> None:
    packet = encode_lc2_chain(0.80, 1.10)
    (front_only,) = decode(packet, front=1, rear=0)
    assert "afr_rear" not in front_only.values
    (rear_only,) = decode(packet, front=0, rear=2)
    assert set(rear_only.values) == {"afr_rear", "afr_rear_status"}
    (third,) = decode(packet, front=1, rear=3)  # a packet with fewer lambdas lacks the channel
    assert "afr_rear" not in third.values
    assert decode(packet, front=0, rear=0) == []  # nothing asked for, nothing published


def test_kind_declares_protocol_and_options() -> None:
    assert (KIND.protocol, KIND.role, KIND.baudrate) == ("innovate-mts", "wideband", 19200)
    resolved = KIND.resolve_options(None)
    assert resolved == {"front": 1, "rear": 2}
    decoder = KIND.make_decoder(KIND.resolve_options({"front": 2, "rear": 1}))
    (reading,) = decoder.feed(encode_lc2_chain(0.8, 1.1))
    assert reading.values["afr_front"] == pytest.approx(1.1 * 14.7)
    with pytest.raises(InputError):
        KIND.resolve_options({"front": 9})
    with pytest.raises(InputError, match="front and rear"):
        KIND.make_decoder({"front": 2, "rear": 2})


def test_recording_bit_is_exposed_and_readings_unchanged() -> None:
    decoder = MtsDecoder()
    (reading,) = decoder.feed(encode_lc2_chain(1.0, recording=True))
    assert decoder.recording
    assert key(reading) == key(decode(encode_lc2_chain(1.0))[0])


def test_long_packet_uses_b7_length_bit() -> None:
    packet = encode_packet([encode_lambda_word_pair(0.9)] + [encode_aux_word(7)] * 150)
    assert packet[0] == 0xB3 and packet[1] == 0x80 | (152 & 0x7F)
    (reading,) = decode(packet + encode_lc2_chain(1.0))[:1]
    assert reading.values["mts_aux150_v"] == pytest.approx(7 * 5 / 1023)


def test_encoder_rounds_and_clamps_lambda() -> None:
    assert lambda_to_raw(0.9914) == 491 and lambda_to_raw(0.9916) == 492
    assert lambda_to_raw(0.2) == 0 and lambda_to_raw(20.0) == 8191
    with pytest.raises(ValueError):
        encode_lambda_word_pair(math.nan)
    with pytest.raises(ValueError):
        encode_aux_word(8192)


# ------------------------------------------------------------------ framing and resync


def test_response_packet_is_skipped_and_counted() -> None:
    response = encode_packet([encode_aux_word(0xCE), b"LC-2\x00\x00\x00\x00"], response=True)
    assert response[0] == 0xA2
    decoder = MtsDecoder()
    readings = decoder.feed(response + encode_lc2_chain(1.0))
    assert len(readings) == 1 and decoder.responses == 1
    assert decoder.stats.frames_ok == 1 and decoder.stats.frames_rejected == 0


def test_fixed_bit_failure_rejects_the_whole_frame() -> None:
    bad = bytearray(encode_lc2_chain(1.0, 0.9))
    bad[6] &= ~0x02  # rear lambda word 0 loses its fixed bit 9
    decoder = MtsDecoder()
    readings = decoder.feed(bytes(bad) + encode_lc2_chain(0.8))
    assert [r.values["afr_front"] for r in readings] == [pytest.approx(0.8 * 14.7)]
    assert decoder.stats.frames_rejected == 1


def test_cut_packet_then_full_packet_yields_exactly_the_full_one() -> None:
    full = encode_lc2_chain(0.95, 1.05)
    decoder = MtsDecoder()
    readings = decoder.feed(full[:5] + full)
    assert [key(r) for r in readings] == [key(decode(full)[0])]
    assert decoder.stats.frames_rejected == 1 and decoder.stats.frames_ok == 1


def test_cut_is_rejected_as_soon_as_the_next_header_arrives() -> None:
    decoder = MtsDecoder()
    big = encode_packet([encode_aux_word(1)] * 200)
    assert decoder.feed(big[:10]) == []
    assert decoder.feed(encode_lc2_chain(1.0)) != []  # not held back by the 200-word claim


def test_one_byte_chunks_equal_whole_stream() -> None:
    stream = b"".join(bytes.fromhex(h) for h in (
        "B2 82 43 13 03 6B", "B2 84 43 13 03 74 43 13 03 6B", "00 FF B2",
        "B2 86 43 13 03 74 00 00 02 00 04 00 07 7F", "B2 82 5B 13"))
    stream += encode_packet([LM1_V1]) + encode_lc2_chain(1.0)
    whole = MtsDecoder()
    expected = [key(r) for r in whole.feed(stream)]
    single = MtsDecoder()
    got = [key(r) for b in stream for r in single.feed(bytes([b]))]
    assert got == expected and len(expected) == 5
    assert single.stats == whole.stats


def test_buffer_stays_bounded_on_garbage() -> None:
    decoder = MtsDecoder()
    for chunk in (b"\xb2\x84" * 5000, bytes(range(256)) * 40, b"\xff" * 10000):
        decoder.feed(chunk)
        assert decoder.buffered <= MAX_FRAME_BYTES


# ------------------------------------------------------------------ properties and fuzzing

STATUS_OF = {0: 0, 1: 4, 2: 2, 3: 3, 4: 1, 5: 2, 6: 3, 7: 4}

lc_spec = st.tuples(st.just("lc"), st.integers(0, 7), st.integers(0, 255), st.integers(0, 8191))
aux_spec = st.tuples(st.just("aux"), st.integers(0, 8191))
lm1_spec = st.tuples(st.just("lm1"), st.integers(0, 7), st.integers(0, 255),
                     st.integers(0, 8191), st.integers(0, 1023), st.integers(0, 7))
packet_spec = st.tuples(st.lists(st.one_of(lc_spec, aux_spec, lm1_spec), max_size=10),
                        st.booleans())
packets = st.lists(packet_spec, min_size=1, max_size=6)
indices = st.tuples(st.integers(0, 8), st.integers(0, 8)).filter(lambda fr: fr[0] != fr[1] or
                                                                 fr == (0, 0))


def encode_spec(spec) -> bytes:
    subs, recording = spec
    out = []
    for s in subs:
        if s[0] == "lc":
            out.append(encode_lambda_word_pair(function=s[1], af=s[2], raw=s[3]))
        elif s[0] == "aux":
            out.append(encode_aux_word(s[1]))
        else:
            out.append(encode_lm1_block(function=s[1], af=s[2], raw=s[3], battery_raw=s[4],
                                        battery_mult=s[5]))
    return encode_packet(out, recording=recording)


def expected_values(spec, front: int = 1, rear: int = 2) -> dict | None:
    """What the packet should decode to, computed independently of the codec."""
    values: dict[str, float] = {}
    n_lambda = n_aux = 0
    for s in spec[0]:
        if s[0] == "aux":
            n_aux += 1
            values[f"mts_aux{n_aux}_v"] = s[1] * 5 / 1023
            continue
        n_lambda += 1
        for index, name in ((front, "afr_front"), (rear, "afr_rear")):
            if index == n_lambda:
                values[name] = (s[3] + 500) / 1000 * 14.7 if s[1] == 0 else math.nan
                values[name + "_status"] = STATUS_OF[s[1]]
        if s[0] == "lm1" and "lm1_battery_v" not in values:
            values["lm1_battery_v"] = s[4] * 5 * s[5] / 1023
    return values or None


def value_key(values: dict) -> tuple:
    return tuple(sorted((k, None if math.isnan(v) else round(v, 9)) for k, v in values.items()))


def decoded_keys(stream: bytes, chunks: list[int] | None = None) -> list[tuple]:
    decoder = MtsDecoder()
    if chunks is None:
        out = decoder.feed(stream)
    else:
        out, pos = [], 0
        for size in chunks + [len(stream)]:
            out += decoder.feed(stream[pos:pos + size])
            pos += size
    assert decoder.buffered <= MAX_FRAME_BYTES
    return [value_key(dict(r.values)) for r in out]


def expected_keys(specs) -> list[tuple]:
    return [value_key(v) for v in map(expected_values, specs) if v is not None]


SENTINELS = [([("lc", 0, 147, 500), ("lc", 0, 147, 400)], False)] * 2  # flush pending frames


@FUZZ
@given(packets, st.lists(st.integers(1, 40), max_size=30))
def test_roundtrip_any_chunking(specs, chunks) -> None:
    stream = b"".join(map(encode_spec, specs))
    assert decoded_keys(stream, chunks) == expected_keys(specs)


@FUZZ
@given(packet_spec, indices)
def test_roundtrip_front_rear_options(spec, fr) -> None:
    (reading,) = decode(encode_spec(spec), *fr) or [None]
    expected = expected_values(spec, *fr)
    assert (reading is None and expected is None) or value_key(dict(reading.values)) == (
        value_key(expected))


@FUZZ
@given(st.floats(0.5, 8.691), st.floats(0.5, 8.691))
def test_roundtrip_lambda_within_resolution(front, rear) -> None:
    (reading,) = decode(encode_lc2_chain(front, rear))
    assert abs(reading.values["afr_front"] / 14.7 - front) <= 0.0005 + 1e-9
    assert abs(reading.values["afr_rear"] / 14.7 - rear) <= 0.0005 + 1e-9


@FUZZ
@given(st.binary(max_size=600), st.lists(st.integers(1, 64), max_size=20))
def test_random_bytes_never_raise_and_chunking_is_invisible(data, chunks) -> None:
    whole = MtsDecoder()
    readings = whole.feed(data)
    assert decoded_keys(data, chunks) == [value_key(dict(r.values)) for r in readings]
    assert whole.stats.bytes_skipped + whole.buffered <= whole.stats.bytes_in
    for r in readings:
        for name in ("afr_front", "afr_rear"):
            if name in r.values:
                status = SensorStatus.from_code(r.values[name + "_status"])
                assert math.isnan(r.values[name]) == (status != SensorStatus.VALID)


@FUZZ
@given(packets, st.lists(st.binary(max_size=30), min_size=8, max_size=8))
def test_garbage_between_packets_every_packet_decodes(specs, garbage) -> None:
    specs = specs + SENTINELS
    stream = b"".join(g + encode_spec(s) for g, s in zip(garbage, specs, strict=False))
    got, want = iter(decoded_keys(stream)), expected_keys(specs)
    assert all(any(g == w for g in got) for w in want)  # want is a subsequence of got


@FUZZ
@given(packets, st.data())
def test_cut_or_truncated_frame_yields_no_reading(specs, data) -> None:
    k = data.draw(st.integers(0, len(specs) - 1))
    frames = [encode_spec(s) for s in specs + SENTINELS]
    frames[k] = frames[k][: data.draw(st.integers(1, len(frames[k]) - 1))]
    kept = specs[:k] + specs[k + 1:] + SENTINELS
    assert decoded_keys(b"".join(frames)) == expected_keys(kept)


@FUZZ
@given(packets, st.data())
def test_bit_flip_touches_at_most_the_flipped_frame(specs, data) -> None:
    k = data.draw(st.integers(0, len(specs) - 1))
    frames = [bytearray(encode_spec(s)) for s in specs + SENTINELS]
    byte = data.draw(st.integers(0, len(frames[k]) - 1))
    frames[k][byte] ^= 1 << data.draw(st.integers(0, 7))
    got = decoded_keys(b"".join(map(bytes, frames)))
    before, after = expected_keys(specs[:k]), expected_keys(specs[k + 1:] + SENTINELS)
    assert got[: len(before)] == before
    assert got[len(got) - len(after):] == after
    assert len(got) - len(before) - len(after) in (0, 1)


@FUZZ
@given(packets, st.data())
def test_framing_bit_flip_rejects_the_frame(specs, data) -> None:
    """Flipping bit 7 of any byte of an all-LC-2 frame, or a fixed lambda bit, drops it."""
    specs = [([("lc", 0, 147, 500)] * data.draw(st.integers(1, 4)), False)] + specs
    frames = [bytearray(encode_spec(s)) for s in specs + SENTINELS]
    target = frames[0]
    byte = data.draw(st.integers(0, len(target) - 1))
    fixed = {0: (7, 5, 1), 1: (7,)}.get(byte) if byte < 2 else (
        (7, 5, 1) if (byte - 2) % 4 == 0 else (7, 6) if (byte - 2) % 4 == 2 else (7,))
    target[byte] ^= 1 << data.draw(st.sampled_from(fixed))
    got = decoded_keys(b"".join(map(bytes, frames)))
    assert got == expected_keys(specs[1:] + SENTINELS)
