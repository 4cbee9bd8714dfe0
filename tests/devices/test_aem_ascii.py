"""AEM X-Series / 30-4110 ASCII codec: worked example, round trips, and garbage on the line."""

from __future__ import annotations

import math
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.channels import GASOLINE_AFR_SCALE, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.aem_ascii import (
    KIND,
    MAX_PENDING_BYTES,
    AemAsciiDecoder,
    encode_lambda,
    encode_line,
    resolution,
)
from dynoai_desktop.devices.base import Reading
from tests.devices.chunking import feed_chunks

FUZZ = settings(max_examples=200, deadline=None)


def decoder(**options: object) -> AemAsciiDecoder:
    return KIND.make_decoder(KIND.resolve_options(options))


def afrs(readings: list[Reading], channel: str = "afr_front") -> list[float]:
    return [r.values[channel] for r in readings]


# ------------------------------------------------------------------ worked example (§2.1)
def test_worked_example_14_7_decodes_to_afr_14_7_valid() -> None:
    dec = decoder()
    (reading,) = dec.feed(bytes.fromhex("31 34 2E 37 0D 0A"))
    assert reading.values == {"afr_front": 14.7, "afr_front_status": float(SensorStatus.VALID)}
    assert reading.details == {}
    assert (dec.stats.frames_ok, dec.stats.frames_rejected, dec.stats.bytes_in) == (1, 0, 6)


def test_worked_example_encodes_byte_for_byte() -> None:
    assert encode_line(14.7) == bytes.fromhex("31 34 2E 37 0D 0A")
    assert encode_lambda(1.0) == b"14.7\r\n"  # gasoline AFR-mode gauge at lambda 1


def test_lambda_mode_reading_is_published_on_the_gasoline_scale() -> None:
    dec = decoder(mode="lambda")
    assert encode_line(1.0, "lambda") == b"1.00\r\n"
    assert encode_line(0.85, "lambda", decimals=3) == b"0.850\r\n"
    assert afrs(dec.feed(b"1.00\r\n0.850\r\n1.000\n")) == [
        pytest.approx(14.7),
        pytest.approx(0.85 * 14.7),
        pytest.approx(14.7),
    ]


def test_rear_gauge_publishes_only_the_rear_pair() -> None:
    (reading,) = decoder(cylinder="rear").feed(b"13.1\r\n")
    assert reading.values == {"afr_rear": 13.1, "afr_rear_status": 0.0}


def test_e85_gauge_in_afr_mode_is_converted_through_lambda() -> None:
    dec = decoder(stoich_afr=9.8)
    values = afrs(dec.feed(b"9.8\r\n8.3\r\n"))
    assert values == [pytest.approx(14.7), pytest.approx(8.3 / 9.8 * 14.7)]


# ------------------------------------------------------------------ line rules
def test_bare_newline_and_blank_lines_are_fine() -> None:
    dec = decoder()
    assert afrs(dec.feed(b"\r\n\n14.7\n \r\n13.0\r\n")) == [14.7, 13.0]
    assert (dec.stats.frames_ok, dec.stats.frames_rejected) == (2, 0)


@pytest.mark.parametrize(
    "line",
    [
        b"abc",
        b"14,7",
        b"-14.7",
        b"nan",
        b"inf",
        b"1e1",
        b"14.7.1",
        b"6.9",
        b"45.1",
        b"1.00",
        b"14.7\r13.1",
        b"1" * 17,
        b"Warm",
        b"\x00\xff",
    ],
)
def test_implausible_line_is_rejected_and_the_next_one_decoded(line: bytes) -> None:
    dec = decoder()
    assert afrs(dec.feed(line + b"\r\n12.5\r\n")) == [12.5]
    assert (dec.stats.frames_ok, dec.stats.frames_rejected) == (1, 1)


@pytest.mark.parametrize("line", [b"0.49", b"3.01", b"14.7", b"0"])
def test_lambda_mode_rejects_out_of_range_values(line: bytes) -> None:
    dec = decoder(mode="lambda")
    assert dec.feed(line + b"\r\n") == []
    assert dec.stats.frames_rejected == 1


def test_gauge_left_in_the_other_mode_gives_rejected_lines_not_wrong_afr() -> None:
    dec = decoder(mode="afr")
    assert dec.feed(encode_line(0.95, "lambda") * 5) == []
    assert dec.stats.frames_rejected == 5


def test_unterminated_garbage_is_discarded_and_memory_stays_bounded() -> None:
    dec = decoder()
    for _ in range(1000):
        assert dec.feed(b"Z" * 97) == []
        assert len(dec._pending) <= MAX_PENDING_BYTES
    assert afrs(dec.feed(b"garbage tail\n14.2\r\n")) == [14.2]
    assert dec.stats.bytes_skipped == 97_000 + len(b"garbage tail\n")
    assert dec.stats.frames_rejected == 0


def test_line_of_32_bytes_is_rejected_not_skipped() -> None:
    dec = decoder()
    assert dec.feed(b"1" * MAX_PENDING_BYTES + b"\n14.7\n") and dec.stats.frames_rejected == 1
    assert dec.stats.bytes_skipped == 0


# ------------------------------------------------------------------ device kind
def test_kind_declares_the_protocol() -> None:
    assert (KIND.protocol, KIND.role, KIND.baudrate) == ("aem-ascii", "wideband", 9600)
    assert KIND.title == "AEM X-Series / 30-4110 (ASCII)"
    assert KIND.resolve_options(None) == {"cylinder": "front", "mode": "afr", "stoich_afr": 14.7}
    assert not KIND.controls_load
    with pytest.raises(InputError, match="cylinder"):
        KIND.resolve_options({"cylinder": "middle"})
    with pytest.raises(InputError, match="unknown device option"):
        KIND.resolve_options({"fuel": "e85"})


@pytest.mark.parametrize("stoich", [0, -14.7, math.nan, math.inf, "14.7", True, None])
def test_bad_stoich_afr_is_an_input_error_naming_the_option(stoich: object) -> None:
    with pytest.raises(InputError, match="stoich_afr"):
        decoder(stoich_afr=stoich)


def test_encoder_refuses_values_a_gauge_cannot_show() -> None:
    for bad in (math.nan, -1.0, math.inf):
        with pytest.raises(ValueError):
            encode_line(bad)
    with pytest.raises(ValueError):
        encode_line(14.7, mode="volts")


# ------------------------------------------------------------------ round trips
@FUZZ
@given(
    lams=st.lists(st.floats(0.52, 2.9), min_size=1, max_size=20),
    mode=st.sampled_from(["afr", "lambda"]),
    decimals=st.integers(0, 4),
    stoich=st.sampled_from([14.7, 14.1, 9.8, 6.4, 13.37]),
    cylinder=st.sampled_from(["front", "rear"]),
)
def test_round_trip_within_the_encoders_decimals(
    lams: list[float], mode: str, decimals: int, stoich: float, cylinder: str
) -> None:
    if mode == "afr" and decimals == 0:
        decimals = 1  # whole-AFR text can round a lean 45.4 out of the window
    dec = decoder(mode=mode, stoich_afr=stoich, cylinder=cylinder)
    stream = b"".join(encode_lambda(lam, mode, stoich, decimals) for lam in lams)
    readings = dec.feed(stream)
    assert len(readings) == len(lams)
    step = resolution(mode, decimals)  # in the displayed unit
    tol_afr = step * (GASOLINE_AFR_SCALE if mode == "lambda" else GASOLINE_AFR_SCALE / stoich)
    for lam, reading in zip(lams, readings, strict=True):
        assert reading.values[f"afr_{cylinder}"] == pytest.approx(
            lam * GASOLINE_AFR_SCALE, abs=tol_afr * (1 + 1e-9)
        )
        assert reading.values[f"afr_{cylinder}_status"] == 0.0


# ------------------------------------------------------------------ fuzzing
plausible_afr = st.floats(7.0, 45.0).map(lambda v: round(v, 1))
lines = st.lists(plausible_afr, min_size=1, max_size=15)


def plausible(afr: float) -> bool:
    return 7.0 - 1e-9 <= afr <= 45.0 + 1e-9


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
    assert all(plausible(v) for v in afrs(expected))
    assert len(one_by_one._pending) <= MAX_PENDING_BYTES


@FUZZ
@given(values=lines, junk=st.binary(max_size=80), cuts=st.lists(st.integers(0, 300)))
def test_lines_after_garbage_decode_exactly_in_any_chunking(
    values: list[float], junk: bytes, cuts: list[int]
) -> None:
    stream = junk + b"\n" + b"".join(encode_line(v) for v in values)
    readings = feed_chunks(decoder(), stream, cuts)
    assert afrs(readings)[-len(values) :] == values


def _consistent(decoded: list[float], expected: list[tuple[float, bool]]) -> bool:
    """``decoded`` is ``expected`` where exact, and at most one plausible value elsewhere."""

    @cache
    def go(i: int, j: int) -> bool:
        if j == len(expected):
            return i == len(decoded)
        value, exact = expected[j]
        if exact:
            return i < len(decoded) and decoded[i] == value and go(i + 1, j + 1)
        return go(i, j + 1) or (i < len(decoded) and plausible(decoded[i]) and go(i + 1, j + 1))

    return go(0, 0)


@FUZZ
@given(
    plan=st.lists(st.tuples(plausible_afr, st.integers(0, 8), st.booleans()), max_size=20),
    cuts=st.lists(st.integers(0, 200), max_size=20),
)
def test_truncated_and_spliced_lines_never_give_a_reading_from_an_intact_line_wrong(
    plan: list[tuple[float, int, bool]], cuts: list[int]
) -> None:
    # A truncated line (no newline) runs into the next one. ASCII has no checksum, so "1" +
    # "9.8" reads as 19.8: such a spliced line may give one plausible value, or none; every
    # line sent whole after a newline must come out exactly.
    stream, expected, dirty = b"", [], False
    for value, keep, truncate in plan:
        line = encode_line(value)
        if truncate:
            stream += line[: min(keep, len(line) - 2)]
            dirty = True
        else:
            stream += line
            expected.append((value, not dirty))
            dirty = False
    decoded = afrs(feed_chunks(decoder(), stream, cuts))
    assert _consistent(decoded, expected), (decoded, expected)


@FUZZ
@given(values=lines, where=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_bit_flip_spoils_at_most_its_own_line_and_the_next(
    values: list[float], where: int, bit: int
) -> None:
    encoded = [encode_line(v) for v in values]
    stream = bytearray(b"".join(encoded))
    pos = where % len(stream)
    stream[pos] ^= 1 << bit
    line_no = next(i for i in range(len(encoded)) if pos < sum(map(len, encoded[: i + 1])))
    decoded = afrs(decoder().feed(bytes(stream)))
    assert decoded[:line_no] == values[:line_no]
    after = values[line_no + 2 :]
    assert decoded[len(decoded) - len(after) :] == after
    middle = decoded[line_no : len(decoded) - len(after)]
    assert len(middle) <= 2 and all(plausible(v) for v in middle)
    if len(middle) == 2:  # the flipped line survived as some value; the next one is intact
        assert middle[1] == values[line_no + 1]
