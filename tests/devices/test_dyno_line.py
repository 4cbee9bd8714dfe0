"""Dyno line protocol (docs/dyno-line-protocol.md): worked examples, units, layouts, commands,
round trips and fuzzing."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.channels import CHANNELS as CANONICAL
from dynoai_desktop.core.channels import SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import convert
from dynoai_desktop.devices import dyno_line as dl
from dynoai_desktop.devices.base import DynoCommand, Reading

DOC = Path(__file__).resolve().parents[2] / "docs" / "dyno-line-protocol.md"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELDS = [
    ("time_s", "s"),
    ("rpm", "rpm"),
    ("roller_mph", "mph"),
    ("torque_ftlb", "ft-lb"),
    ("map_kpa", "kPa"),
    ("tps_pct", "%"),
    ("iat_c", "C"),
    ("engine_temp", "F"),
]
DECIMALS = [3, 0, 2, 2, 1, 1, 1, 1]
CHANNELS = [
    "rpm",
    "speed_mph",
    "torque_ftlb",
    "map_kpa",
    "tps_pct",
    "iat_c",
    "engine_temp_c",
]

HEADER = (
    b"#DYNO v1,time_s[s],rpm[rpm],roller_mph[mph],torque_ftlb[ft-lb],map_kpa[kPa],tps_pct[%],"
    b"iat_c[C],engine_temp[F]"
)
EXAMPLE1 = [  # the dyno's lines of worked example 1, in order
    b",55.2,18.0,31.0,284.0\r\n",
    HEADER + b"\r\n",
    b"12.500,2500,31.25,72.40,55.2,18.0,31.0,284.0\r\n",
    b"12.520,2512,31.40,,55.4,18.5,31.0,284.0\r\n",
    b"#ACK HOLD 3500\r\n",
    b"12.540,2530,31.62,73.10,56.0,19.0,31.1,285.8\r\n",
    HEADER + b"*7D31\r\n",
    b"0.000,2540,31.75,73.40,56.2,19.5,31.1,285.8*119C\r\n",
    b"0.020,2551,31.88,73.6\r\n",
]
EXAMPLE1_HOST = b"!HOLD 3500\r\n"
EXAMPLE1_READINGS = [  # (device_time_s, values in channel order; None = missing)
    (12.5, [2500, 31.25, 72.4, 55.2, 18.0, 31.0, 140.0]),
    (12.52, [2512, 31.4, None, 55.4, 18.5, 31.0, 140.0]),
    (12.54, [2530, 31.62, 73.1, 56.0, 19.0, 31.1, 141.0]),
    (0.0, [2540, 31.75, 73.4, 56.2, 19.5, 31.1, 141.0]),
]
EXAMPLE2 = [
    b"#DYNO v1,time[ms],engine_rpm[rpm],speed[km/h],torque[Nm],afr_front[lambda],"
    b"afr_front_status[],oil_temp_c[F]\r\n",
    b"40125,3000,80.47,135.58,0.900,0,212.0\r\n",
    b"40145,3010,80.63,136.10,,1,212.5\r\n",
]


def key(reading: Reading) -> tuple:
    """A Reading as a comparable value (NaN equal to NaN; details left out)."""
    values = tuple(sorted((k, "nan" if math.isnan(v) else v) for k, v in reading.values.items()))
    return (reading.device_time_s, values)


def decode(data: bytes, chunk: int | None = None, **options) -> tuple[list[Reading], object]:
    decoder = dl.DynoLineDecoder(**options)
    readings: list[Reading] = []
    step = chunk or max(len(data), 1)
    for i in range(0, len(data), step):
        readings += decoder.feed(data[i : i + step])
    return readings, decoder


# ------------------------------------------------------------------ worked examples
def test_doc_shows_the_worked_examples_byte_for_byte() -> None:
    text = DOC.read_text(encoding="utf-8")
    for line in EXAMPLE1:
        assert f"dyno: {line.decode().replace(chr(13) + chr(10), '')}\\r\\n" in text
    assert f"host: {EXAMPLE1_HOST.decode().strip()}\\r\\n" in text
    for line in EXAMPLE2:
        assert f"\n{line.decode().strip()}\\r\\n\n" in text
    assert "`!HOLD 3500*AF61\\r\\n`" in text
    assert " ".join(f"{b:02X}" for b in EXAMPLE1_HOST) in text


def test_worked_example_1_decodes() -> None:
    stream = b"".join(EXAMPLE1)
    assert len(stream) == 474
    readings, decoder = decode(stream)
    assert len(readings) == len(EXAMPLE1_READINGS)
    for reading, (device_time, values) in zip(readings, EXAMPLE1_READINGS, strict=True):
        assert reading.device_time_s == pytest.approx(device_time)
        expected = {c: v for c, v in zip(CHANNELS, values, strict=True) if v is not None}
        assert reading.values == pytest.approx(expected)
        assert "time_s" not in reading.values
    assert [r.details for r in readings] == [{}, {}, {"dyno": "dyno OK: HOLD 3500"}, {}]
    assert decoder.stats.bytes_in == 474
    assert (decoder.stats.frames_ok, decoder.stats.frames_rejected) == (7, 1)
    assert decoder.stats.bytes_skipped == 23
    assert list(decoder.replies) == [dl.DynoReply(True, "HOLD 3500")]
    assert decoder.checksum_required
    assert "checksum" in (decoder.last_error or "")
    assert [f.channel for f in decoder.layout or ()] == ["time_s", *CHANNELS]


def test_worked_example_1_encodes() -> None:
    assert dl.encode_header(FIELDS) == EXAMPLE1[1]
    assert dl.encode_header(FIELDS, checksum=True) == EXAMPLE1[6]
    lines = [EXAMPLE1[2], EXAMPLE1[3], EXAMPLE1[5], EXAMPLE1[7]]
    for line, (device_time, values) in zip(lines, EXAMPLE1_READINGS, strict=True):
        device_values = [device_time, *values[:-1], convert(values[-1], "C", "F")]
        assert dl.encode_data_line(device_values, DECIMALS, checksum=b"*" in line) == line
    hold = DynoCommand("hold_rpm", 3500)
    assert dl.encode_command(hold) == EXAMPLE1_HOST
    assert dl.encode_command(hold, checksum=True) == b"!HOLD 3500*AF61\r\n"
    assert dl.encode_reply(hold) == EXAMPLE1[4]
    assert dl.encode_data_line([0.020, 2551, 31.88, 73.6], [3, 0, 2, 1]) == EXAMPLE1[8]
    assert dl.parse_command(EXAMPLE1_HOST) == hold


def test_worked_example_2_metric_daq_with_wideband() -> None:
    readings, decoder = decode(b"".join(EXAMPLE2))
    assert decoder.stats.frames_ok == 3 and decoder.stats.frames_rejected == 0
    first, second = readings
    assert first.device_time_s == pytest.approx(40.125)
    assert first.values == pytest.approx(
        {
            "rpm": 3000,
            "speed_mph": 80.47 / 1.609344,
            "torque_ftlb": convert(135.58, "N·m", "ft-lb"),
            "afr_front": 0.9 * 14.7,
            "afr_front_status": 0.0,
            "oil_temp_c": 100.0,
        }
    )
    assert first.details == {}
    assert second.device_time_s == pytest.approx(40.145)
    assert math.isnan(second.values["afr_front"])
    assert second.values["afr_front_status"] == SensorStatus.WARMING_UP
    assert second.details == {"afr_front": "warming up (reported by the dyno DAQ)"}
    assert second.values["oil_temp_c"] == pytest.approx(convert(212.5, "F", "C"))
    header = [
        ("time", "ms"),
        ("engine_rpm", "rpm"),
        ("speed", "km/h"),
        ("torque", "Nm"),
        ("afr_front", "lambda"),
        ("afr_front_status", ""),
        ("oil_temp_c", "F"),
    ]
    assert dl.encode_header(header) == EXAMPLE2[0]
    decimals = [0, 0, 2, 2, 3, 0, 1]
    line1 = dl.encode_data_line([40125, 3000, 80.47, 135.58, 0.9, 0, 212.0], decimals)
    line2 = dl.encode_data_line([40145, 3010, 80.63, 136.10, None, 1, 212.5], decimals)
    assert [line1, line2] == EXAMPLE2[1:]


# ------------------------------------------------------------------ units and mapping
@pytest.mark.parametrize(
    ("field", "text", "channel", "expected"),
    [
        ("engine_temp[F]", b"212", "engine_temp_c", 100.0),
        ("head_temp[degF]", b"32", "engine_temp_c", 0.0),
        ("torque[N·m]", b"135.5817948", "torque_ftlb", 100.0),
        ("torque[Nm]", b"1.3558179483314004", "torque_ftlb", 1.0),
        ("torque_ftlb[lb-ft]", b"95", "torque_ftlb", 95.0),
        ("power[kW]", b"74.569987158227", "power_hp", 100.0),
        ("map[inHg]", b"29.92", "map_kpa", 29.92 * 3.386389),
        ("baro[psi]", b"14.7", "baro_kpa", convert(14.7, "psi", "kPa")),
        ("baro_kpa[bar]", b"1.0132", "baro_kpa", 101.32),
        ("speed[kph]", b"160.9344", "speed_mph", 100.0),
        ("afr_rear[lambda]", b"0.85", "afr_rear", 0.85 * 14.7),
        ("afr_rear[AFR]", b"12.9", "afr_rear", 12.9),
        ("MAP_KPA[KPA]", b"55", "map_kpa", 55.0),
        ("humidity[%]", b"40", "humidity_pct", 40.0),
        ("egt_front_c[F]", b"1112", "egt_front_c", 600.0),  # extra: converted, name kept
        ("oil_press[psi]", b"10", "oil_press", convert(10.0, "psi", "kPa")),
        ("fan_duty[%]", b"30", "fan_duty", 30.0),
        ("spark_front_deg[deg]", b"28.5", "spark_front_deg", 28.5),
    ],
)
def test_units_land_in_canonical_channels(field, text, channel, expected) -> None:
    data = f"#DYNO v1,t[s],rpm[rpm],{field}\r\n".encode() + b"1.0,3000," + text + b"\r\n"
    readings, decoder = decode(data)
    assert decoder.last_error is None
    assert len(readings) == 1
    assert readings[0].values[channel] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("unit", "seconds"), [("s", 1.5), ("ms", 0.0015), ("us", 1.5e-6)])
def test_time_field_units(unit: str, seconds: float) -> None:
    readings, _ = decode(f"#DYNO v1,time[{unit}],rpm[rpm]\n1.5,2000\n".encode())
    assert readings[0].device_time_s == pytest.approx(seconds)
    assert readings[0].values == {"rpm": 2000.0}


def test_header_resent_mid_stream_switches_layout() -> None:
    stream = (
        b"#DYNO v1,time_s[s],rpm[rpm],map_kpa[kPa]\r\n1.0,2000,50\r\n"
        b"1.02,20"  # the connection drops mid-line; on reconnect the DAQ re-sends its header
        b"#DYNO v1,time[ms],map[psi],rpm[rpm],engine_temp[F]\r\n0,14.5,2100,212\r\n"
        b"20,,2110,\r\n"
    )
    for chunk in (None, 1, 7):
        readings, decoder = decode(stream, chunk)
        assert [key(r) for r in readings] == [
            (1.0, (("map_kpa", 50.0), ("rpm", 2000.0))),
            (0.0, tuple(sorted({
                "map_kpa": convert(14.5, "psi", "kPa"), "rpm": 2100.0, "engine_temp_c": 100.0
            }.items()))),
            (0.02, (("rpm", 2110.0),)),
        ]  # fmt: skip
        assert decoder.stats.frames_rejected == 0
        assert decoder.stats.bytes_skipped == len(b"1.02,20")  # the cut line before the header


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (b"#DYNO v1,time_s[s],rpm[rpm],volts[V]", "unknown unit 'V'"),
        (b"#DYNO v1,time_s[s],rpm[rpm],map_kpa[C]", "cannot convert"),
        (b"#DYNO v1,time_s[s],rpm[kPa]", "cannot convert"),
        (b"#DYNO v1,time_s[s],rpm[rpm],map[kPa],map_kpa[kPa]", "both feed map_kpa"),
        (b"#DYNO v1,rpm[rpm],map[kPa]", "no time_s field"),
        (b"#DYNO v1,time_s[s],map[kPa]", "no rpm field"),
        (b"#DYNO v1,time_s[h],rpm[rpm]", "s, ms or us"),
        (b"#DYNO v2,time_s[s],rpm[rpm]", "version v2"),
        (b"#DYNO v1,time_s[s],rpm", "not written name[unit]"),
        (b"#DYNO v1,time_s[s],,rpm[rpm]", "not written name[unit]"),
        (b"#DYNO time_s[s],rpm[rpm]", "#DYNO v1,"),
        (b"#DYNO v1,time_s[s],rpm[rpm],x[\xff]", "not UTF-8"),
    ],
)
def test_bad_header_is_rejected_and_clears_the_layout(header: bytes, reason: str) -> None:
    good = b"#DYNO v1,time_s[s],rpm[rpm]\r\n1,1000\r\n"
    readings, decoder = decode(good + header + b"\r\n2,2000\r\n3,3000\r\n")
    assert [r.values["rpm"] for r in readings] == [1000.0]
    assert decoder.layout is None
    assert decoder.stats.frames_rejected == 1
    assert decoder.stats.bytes_skipped == 2 * len(b"2,2000\r\n")
    assert reason in (decoder.last_error or "")


def test_channel_map_renames_and_ignores_fields() -> None:
    kind = dl.KIND
    channel_map = {"Eng_Speed": "rpm", "a0": "", "t_ms": "time_s"}
    options = kind.resolve_options({"channel_map": channel_map})
    decoder = kind.make_decoder(options)
    readings = decoder.feed(b"#DYNO v1,t_ms[ms],eng_speed[rpm],a0[V],iat[C]\n500,3100,812,25\n")
    assert [(r.device_time_s, r.values) for r in readings] == [
        (0.5, {"rpm": 3100.0, "iat_c": 25.0})
    ]
    assert [f.channel for f in decoder.layout] == ["time_s", "rpm", "", "iat_c"]
    assert decoder.feed(b"600,3200,x,25\n") == []  # an ignored field must still be a number
    with pytest.raises(InputError, match="channel_map"):
        dl.DynoLineDecoder(channel_map={"rpm": 5})
    with pytest.raises(InputError, match="channel_map"):
        dl.DynoLineDecoder(channel_map={"bad name": "rpm"})


def test_kind() -> None:
    kind = dl.KIND
    assert (kind.protocol, kind.role, kind.baudrate) == ("dyno-line", "dyno", 115200)
    assert kind.title == "Dyno line (CSV over serial)"
    assert kind.controls_load and kind.encode_command is dl.encode_command
    assert kind.resolve_options(None) == {"channel_map": {}}
    assert isinstance(kind.make_decoder(kind.resolve_options(None)), dl.DynoLineDecoder)


# ------------------------------------------------------------------ line checks
GOOD = b"#DYNO v1,time_s[s],rpm[rpm],afr_front[AFR],afr_front_status[]\r\n"


@pytest.mark.parametrize(
    "line",
    [
        b"1,2000,13.0\r\n",  # too few fields
        b"1,2000,13.0,0,5\r\n",  # too many
        b"1,2000,abc,0\r\n",
        b"1,2000,nan,0\r\n",
        b"1,2000,inf,0\r\n",
        b"1,2000,1e999,0\r\n",
        b"1,2000,1_3,0\r\n",
        b"1,2000,13.0,7\r\n",  # not a status code
        b"1,2000,13.0,0.5\r\n",
        b"1,2000,13.0,0\xb0\r\n",
        b"1,2\r000,13.0,0\r\n",
        b"1,2000,13.0,0*0000\r\n",  # wrong checksum
        b"1," + b"0" * 1100 + b",13.0,0\r\n",  # over-long
    ],
)
def test_bad_data_line_is_rejected(line: bytes) -> None:
    for chunk in (None, 1, 5):
        readings, decoder = decode(GOOD + line + b"2,2100,14.0,\r\n", chunk)
        assert [key(r) for r in readings] == [
            (2.0, (("afr_front", 14.0), ("afr_front_status", 0.0), ("rpm", 2100.0)))
        ]
        assert decoder.stats.frames_rejected == 1
        assert decoder.stats.bytes_skipped == 0


def test_accepted_number_spellings_and_spaces() -> None:
    readings, _ = decode(GOOD + b" +1.5 ,\t2e3, .5e1 ,\r\n2.,-0,,3\n")
    assert [key(r) for r in readings] == [
        (1.5, (("afr_front", 5.0), ("afr_front_status", 0.0), ("rpm", 2000.0))),
        (2.0, (("afr_front", "nan"), ("afr_front_status", 3.0), ("rpm", 0.0))),
    ]
    assert readings[1].details == {"afr_front": "sensor error (reported by the dyno DAQ)"}


def test_lines_before_the_first_header_are_skipped() -> None:
    stream = b"0,2000\r\n\r\n# a comment\r\n#DYNO v1,time_s[s],rpm[rpm]\n1,2100\n"
    readings, decoder = decode(stream)
    assert [r.values for r in readings] == [{"rpm": 2100.0}]
    assert decoder.stats.bytes_skipped == len(b"0,2000\r\n\r\n# a comment\r\n")
    assert decoder.stats.frames_rejected == 0


def test_checksum_mode() -> None:
    header = dl.encode_header([("time_s", "s"), ("rpm", "rpm")], checksum=True)
    good = dl.encode_data_line([1.0, 2000], [1, 0], checksum=True)
    lower = good.replace(good[-6:-2], good[-6:-2].lower())
    bare = dl.encode_data_line([2.0, 2100], [1, 0])
    ack = dl.encode_reply(DynoCommand("release"), checksum=True)
    readings, decoder = decode(header + good + lower + bare + ack + b"#ACK RELEASE\r\n")
    assert [r.values["rpm"] for r in readings] == [2000.0, 2000.0]
    assert decoder.stats.frames_rejected == 2  # the bare data line and the bare reply
    assert list(decoder.replies) == [dl.DynoReply(True, "RELEASE")]
    # a header without a checksum ends checksum mode
    readings, decoder = decode(header + dl.encode_header([("time_s", "s"), ("rpm", "rpm")]) + bare)
    assert [r.values for r in readings] == [{"rpm": 2100.0}]


def test_damaged_header_voids_the_old_layout() -> None:
    header = dl.encode_header([("time_s", "s"), ("rpm", "rpm")], checksum=True)
    damaged = header.replace(b"rpm[rpm]", b"rpm[rpn]")
    readings, decoder = decode(header + damaged + b"1,2000*0000\r\n1,2000\r\n")
    assert readings == [] and decoder.layout is None
    assert decoder.last_error == "checksum mismatch"


def test_replies_reach_the_next_reading() -> None:
    hold = DynoCommand("hold_rpm", 9000)
    err = dl.encode_reply(hold, "above the rev limit *ABCD\n")
    assert err == b"#ERR HOLD 9000: above the rev limit ?ABCD?\r\n"
    stream = b"#DYNO v1,time_s[s],rpm[rpm]\n" + err + dl.encode_reply(DynoCommand("release"))
    readings, decoder = decode(stream + b"1,2000\n2,2000\n")
    assert readings[0].details == {
        "dyno": "dyno error: HOLD 9000: above the rev limit ?ABCD?; dyno OK: RELEASE"
    }
    assert readings[1].details == {}
    assert [r.ok for r in decoder.replies] == [False, True]


def test_garbage_without_line_end_keeps_memory_bounded() -> None:
    decoder = dl.DynoLineDecoder()
    for _ in range(100):
        decoder.feed(b"x" * 1000)
        assert len(decoder._lines._buf) <= dl.MAX_LINE + 1
    assert decoder.stats.frames_rejected == 1
    assert decoder.feed(b"\n#DYNO v1,time_s[s],rpm[rpm]\n1,2\n")[0].values == {"rpm": 2.0}


# ------------------------------------------------------------------ commands
PLANS = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)
COMMANDS = st.one_of(
    st.builds(DynoCommand, st.just("hold_rpm"), st.floats(1e-3, 1e6) | st.integers(1, 20000)),
    st.builds(DynoCommand, st.just("release")),
    st.builds(DynoCommand, st.just("run_plan"), PLANS),
)


@FUZZ
@given(COMMANDS, st.booleans())
def test_command_round_trip(cmd: DynoCommand, checksum: bool) -> None:
    line = dl.encode_command(cmd, checksum=checksum)
    assert line.endswith(b"\r\n") and line.startswith(b"!")
    assert dl.parse_command(line) == cmd
    assert dl.parse_command(line.decode()) == cmd
    assert dl.parse_command(line[:-2]) == cmd


@pytest.mark.parametrize(
    "cmd",
    [
        DynoCommand("hold_rpm", 0),
        DynoCommand("hold_rpm", -5),
        DynoCommand("hold_rpm", math.inf),
        DynoCommand("hold_rpm", "3500"),
        DynoCommand("hold_rpm", True),
        DynoCommand("release", 1),
        DynoCommand("run_plan", "wot pull"),
        DynoCommand("run_plan", None),
        DynoCommand("brake"),
    ],
)
def test_invalid_commands_are_not_encoded(cmd: DynoCommand) -> None:
    with pytest.raises(InputError):
        dl.encode_command(cmd)


@pytest.mark.parametrize(
    "line",
    [b"!HOLD\r\n", b"!HOLD 0\r\n", b"!HOLD abc\r\n", b"!hold 3500\r\n", b"!RELEASE now\r\n",
     b"!PLAN\r\n", b"!PLAN a b\r\n", b"!HOLD 3500*0000\r\n", b"HOLD 3500\r\n", b"", b"!"],
)  # fmt: skip
def test_parse_command_refuses_bad_lines(line: bytes) -> None:
    assert dl.parse_command(line) is None


@FUZZ
@given(st.lists(COMMANDS, max_size=6), st.binary(max_size=40), st.randoms(use_true_random=False))
def test_command_decoder_chunking(cmds, junk: bytes, rnd) -> None:
    stream = b"".join(dl.encode_command(c, checksum=rnd.random() < 0.5) for c in cmds)
    stream = junk.replace(b"\n", b"") + b"\r\n" + stream
    whole_decoder = dl.CommandDecoder()
    whole = whole_decoder.feed(stream)
    decoder, got = dl.CommandDecoder(), []
    for b in stream:
        got += decoder.feed(bytes([b]))
    assert got == whole
    junk_cmd = dl.parse_command(junk.replace(b"\n", b""))
    assert whole == ([junk_cmd] if junk_cmd else []) + cmds
    assert decoder.stats == whole_decoder.stats


@FUZZ
@given(st.binary(max_size=200))
def test_parse_command_never_raises(data: bytes) -> None:
    result = dl.parse_command(data)
    assert result is None or dl.parse_command(dl.encode_command(result)) == result


# ------------------------------------------------------------------ round trips
# (field name, unit, channel, value range in the device unit, decimals)
FIELD_CHOICES = [
    ("rpm", "rpm", "rpm", (0, 7000), 0),
    ("roller_mph", "mph", "speed_mph", (0, 160), 2),
    ("speed", "km/h", "speed_mph", (0, 250), 1),
    ("torque", "N·m", "torque_ftlb", (0, 270), 2),
    ("torque_ftlb", "ft-lb", "torque_ftlb", (0, 200), 1),
    ("power", "kW", "power_hp", (0, 150), 2),
    ("map_kpa", "kPa", "map_kpa", (10, 105), 1),
    ("map", "inHg", "map_kpa", (3, 31), 2),
    ("tps", "%", "tps_pct", (0, 100), 1),
    ("iat", "F", "iat_c", (-4, 250), 1),
    ("engine_temp_c", "C", "engine_temp_c", (0, 250), 1),
    ("baro", "psi", "baro_kpa", (9, 16), 3),
    ("afr_front", "lambda", "afr_front", (0.6, 1.4), 3),
    ("afr_rear", "AFR", "afr_rear", (9, 20), 2),
    ("egt_rear_c", "F", "egt_rear_c", (200, 1800), 0),
]


@st.composite
def layouts(draw):
    """A header (time + rpm + a random subset of fields, in a random order) and its lines."""
    extra = draw(st.lists(st.sampled_from(FIELD_CHOICES[1:]), unique_by=lambda f: f[2]))
    fields = draw(st.permutations([FIELD_CHOICES[0], *extra]))
    time_unit, time_decimals = draw(st.sampled_from([("s", 3), ("ms", 0), ("us", 0)]))
    position = draw(st.integers(0, len(fields)))
    fields.insert(position, ("time", time_unit, "time_s", (0, 1e4), time_decimals))
    rows = draw(
        st.lists(
            st.tuples(*[
                st.none() | st.floats(*f[3], allow_nan=False) for f in fields
            ]),
            min_size=1,
            max_size=8,
        )
    )  # fmt: skip
    return fields, rows


def expected_reading(fields, row) -> tuple:
    values: dict[str, float] = {}
    device_time = None
    for (_, unit, channel, _, decimals), value in zip(fields, row, strict=True):
        if value is None:
            continue
        sent = float(f"{value:.{decimals}f}")
        if channel == "time_s":
            device_time = sent * dl.TIME_UNITS[unit]
        else:
            values[channel] = float(convert(sent, unit, canonical_unit(channel)))
    for afr in ("afr_front", "afr_rear"):
        if afr in values:
            values[f"{afr}_status"] = 0.0
    return device_time, values


def encode_session(fields, rows, checksum: bool) -> tuple[bytes, list[bytes]]:
    lines = [dl.encode_header([(f[0], f[1]) for f in fields], checksum=checksum)]
    decimals = [f[4] for f in fields]
    lines += [dl.encode_data_line(list(row), decimals, checksum=checksum) for row in rows]
    return b"".join(lines), lines


@FUZZ
@given(layouts(), st.booleans())
def test_encode_decode_round_trip(layout, checksum: bool) -> None:
    fields, rows = layout
    stream, _ = encode_session(fields, rows, checksum)
    readings, decoder = decode(stream)
    assert decoder.stats.frames_rejected == 0, decoder.last_error
    assert len(readings) == len(rows)
    for reading, row in zip(readings, rows, strict=True):
        device_time, values = expected_reading(fields, row)
        assert reading.device_time_s == (
            None if device_time is None else pytest.approx(device_time, rel=1e-12)
        )
        assert reading.values == pytest.approx(values, rel=1e-12, abs=1e-12)
        for (_, unit, channel, _, decimals), value in zip(fields, row, strict=True):
            if value is not None and channel != "time_s":  # within the line's resolution
                dst = canonical_unit(channel)
                step = abs(float(convert(10.0**-decimals, unit, dst) - convert(0.0, unit, dst)))
                exact = float(convert(value, unit, dst))
                assert abs(reading.values[channel] - exact) <= step / 2 + 1e-9


def canonical_unit(channel: str) -> str:
    return "C" if channel == "egt_rear_c" else CANONICAL[channel].unit


# ------------------------------------------------------------------ chunking and fuzzing
@st.composite
def sessions(draw, checksum: bool = True):
    """A clean stream: header, data lines, a reply, a re-sent header; and its lines."""
    fields, rows = draw(layouts())
    stream, lines = encode_session(fields, rows, checksum)
    reply = dl.encode_reply(DynoCommand("hold_rpm", 3000), checksum=checksum)
    at = draw(st.integers(1, len(lines)))
    lines = [*lines[:at], reply, *lines[at:], lines[0], *lines[1:at]]
    return b"".join(lines), lines


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


@FUZZ
@given(sessions(checksum=False) | sessions(), st.lists(st.integers(0, 10**6), max_size=30))
def test_any_chunking_gives_the_same_readings(session, cuts) -> None:
    stream, _ = session
    whole, ref = decode(stream)
    one, one_dec = decode(stream, 1)
    decoder = dl.DynoLineDecoder()
    pieces = [r for chunk in chunked(stream, cuts) for r in decoder.feed(chunk)]
    assert [key(r) for r in one] == [key(r) for r in pieces] == [key(r) for r in whole]
    assert [r.details for r in one] == [r.details for r in whole]
    assert one_dec.stats == decoder.stats == ref.stats
    assert ref.stats.frames_rejected == 0


@FUZZ
@given(st.binary(max_size=3000), st.lists(st.integers(0, 10**6), max_size=10))
def test_random_bytes_never_raise_nor_read(data: bytes, cuts) -> None:
    decoder = dl.DynoLineDecoder()
    readings = [r for chunk in chunked(data, cuts) for r in decoder.feed(chunk)]
    assert readings == []
    assert decoder.stats.bytes_in == len(data)


@FUZZ
@given(st.binary(max_size=2000), st.lists(st.integers(0, 10**6), max_size=10))
def test_random_bytes_after_a_header_never_raise(data: bytes, cuts) -> None:
    decoder = dl.DynoLineDecoder()
    decoder.feed(GOOD)
    for chunk in chunked(data, cuts):
        for reading in decoder.feed(chunk):
            assert set(reading.values) <= {"rpm", "afr_front", "afr_front_status"}
    assert decoder.stats.bytes_in == len(GOOD) + len(data)


def assert_only_sent_readings(damaged: bytes, clean: bytes, sent_lines: list[bytes], cuts) -> None:
    """Every reading decoded from ``damaged`` is one decoded from the clean stream.

    A damaged line that still carries a valid CRC-16 is a collision (1 in 65536) the protocol
    cannot catch: such examples are discarded."""
    contents = {line.rstrip(b"\r\n") for line in sent_lines}
    for line in damaged.split(b"\n")[:-1]:
        content = line.removesuffix(b"\r")
        if content not in contents and re.fullmatch(rb"(?s).*\*[0-9A-Fa-f]{4}", content):
            assume(dl.crc16(content[:-5]) != int(content[-4:], 16))
    allowed = {key(r) for r in decode(clean)[0]}
    decoder = dl.DynoLineDecoder()
    for chunk in chunked(damaged, cuts):
        for reading in decoder.feed(chunk):
            assert key(reading) in allowed


@FUZZ
@given(sessions(), st.data())
def test_truncated_stream_reads_a_prefix(session, data) -> None:
    stream, _ = session
    end = data.draw(st.integers(0, len(stream)))
    cuts = data.draw(st.lists(st.integers(0, 10**6), max_size=10))
    decoder = dl.DynoLineDecoder()
    got = [key(r) for chunk in chunked(stream[:end], cuts) for r in decoder.feed(chunk)]
    full = [key(r) for r in decode(stream)[0]]
    assert got == full[: len(got)]


@FUZZ
@given(sessions(), st.data())
def test_lost_bytes_never_invent_a_reading(session, data) -> None:
    stream, lines = session
    start = data.draw(st.integers(0, len(stream)))
    end = data.draw(st.integers(start, min(len(stream), start + 200)))
    damaged = stream[:start] + stream[end:]
    assert_only_sent_readings(damaged, stream, lines, data.draw(st.lists(st.integers(0, 10**6))))


@FUZZ
@given(sessions(), st.data())
def test_spliced_lines_never_invent_a_reading(session, data) -> None:
    stream, lines = session
    donor = data.draw(st.sampled_from(lines))
    a = data.draw(st.integers(0, len(donor)))
    b = data.draw(st.integers(a, len(donor)))
    at = data.draw(st.integers(0, len(stream)))
    damaged = stream[:at] + donor[a:b] + stream[at:]
    assert_only_sent_readings(damaged, stream, lines, data.draw(st.lists(st.integers(0, 10**6))))


@FUZZ
@given(sessions(), st.data())
def test_bit_flips_never_invent_a_reading(session, data) -> None:
    stream, lines = session
    flipped = []
    for line in lines:  # at most one flipped bit per line: CRC-16 catches every such flip
        if data.draw(st.booleans()):
            i = data.draw(st.integers(0, len(line) - 1))
            line = line[:i] + bytes([line[i] ^ (1 << data.draw(st.integers(0, 7)))]) + line[i + 1 :]
        flipped.append(line)
    damaged = b"".join(flipped)
    assert_only_sent_readings(damaged, stream, lines, data.draw(st.lists(st.integers(0, 10**6))))
