"""The canonical channel table is the frozen contract of FORMATS.md §2."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from dynoai_desktop.core import channels as ch
from dynoai_desktop.core.channels import (
    CHANNELS,
    GASOLINE_AFR_SCALE,
    LOG_COLUMNS,
    STATUS_CHANNEL_FOR,
    Channel,
    SensorStatus,
    channel,
)
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import UNIT_CHOICES, canonical_unit

# Copied from FORMATS.md §2, table order. Changing this list breaks saved runs and importers.
FORMATS_COLUMNS = (
    "time_s",
    "rpm",
    "map_kpa",
    "tps_pct",
    "afr_front",
    "afr_rear",
    "afr_front_status",
    "afr_rear_status",
    "afr_target",
    "engine_temp_c",
    "iat_c",
    "spark_front_deg",
    "spark_rear_deg",
    "knock_retard_front_deg",
    "knock_retard_rear_deg",
    "torque_ftlb",
    "power_hp",
    "speed_mph",
    "baro_kpa",
    "ambient_temp_c",
    "humidity_pct",
    "correction_factor",
    "cl_trim_front_pct",
    "cl_trim_rear_pct",
)

_FORMATS_MD_CANDIDATES = [
    Path(__file__).resolve().parents[2] / "docs" / "formats" / "FORMATS.md",
    Path(__file__).resolve().parents[3] / "shared" / "FORMATS.md",
]


def test_log_columns_match_formats_md_order_and_names():
    assert LOG_COLUMNS == FORMATS_COLUMNS
    assert tuple(CHANNELS) == FORMATS_COLUMNS
    assert tuple(c.name for c in CHANNELS.values()) == FORMATS_COLUMNS


def test_log_columns_match_formats_md_file_when_present():
    path = next((p for p in _FORMATS_MD_CANDIDATES if p.is_file()), None)
    if path is None:
        pytest.skip("FORMATS.md not found next to the repository")
    text = path.read_text(encoding="utf-8")
    section = text.split("## 2.", 1)[1].split("\n## ", 1)[0]
    table_rows = [line for line in section.splitlines() if line.startswith("| `")]
    names: list[str] = []
    for row in table_rows:
        first_cell = row.split("|")[1]
        names.extend(re.findall(r"`([a-z0-9_]+)`", first_cell))
    assert tuple(names) == LOG_COLUMNS


def test_channel_lookup():
    rpm = channel("rpm")
    assert isinstance(rpm, Channel)
    assert rpm.name == "rpm"
    assert rpm is CHANNELS["rpm"]
    assert ch.is_channel("baro_kpa")
    assert not ch.is_channel("lambda_front")


@pytest.mark.parametrize("name", ["RPM", "afr", "", "lambda_front"])
def test_unknown_channel_is_input_error(name):
    with pytest.raises(InputError) as info:
        channel(name)
    message = str(info.value)
    assert f"unknown channel {name!r}" in message
    assert "known channels are time_s, rpm, map_kpa" in message
    assert "correction_factor" in message


@pytest.mark.parametrize("c", list(CHANNELS.values()), ids=list(CHANNELS))
def test_unit_is_the_canonical_unit_of_the_quantity(c):
    assert c.unit == canonical_unit(c.quantity)
    if c.quantity in UNIT_CHOICES:
        assert c.unit == UNIT_CHOICES[c.quantity][0]


# Suffix in the column name -> unit it promises.
_SUFFIX_UNITS = {
    "_s": "s",
    "_kpa": "kPa",
    "_pct": "%",
    "_c": "C",
    "_deg": "deg",
    "_ftlb": "ft-lb",
    "_hp": "hp",
    "_mph": "mph",
}


@pytest.mark.parametrize("c", list(CHANNELS.values()), ids=list(CHANNELS))
def test_name_suffix_matches_unit(c):
    for suffix, unit in _SUFFIX_UNITS.items():
        if c.name.endswith(suffix):
            assert c.unit == unit
            break
    else:
        assert c.name in {"rpm", "afr_front", "afr_rear", "afr_target", "correction_factor"} or (
            c.name.endswith("_status") and c.unit == ""
        )


def test_specific_units_and_quantities():
    assert CHANNELS["rpm"].unit == "rpm"
    assert CHANNELS["afr_front"].unit == "AFR"
    assert CHANNELS["afr_front"].quantity == "afr"
    assert CHANNELS["afr_target"].quantity == "afr"
    assert CHANNELS["afr_rear_status"].unit == ""
    assert CHANNELS["afr_rear_status"].quantity == "status"
    assert CHANNELS["correction_factor"].unit == ""
    assert CHANNELS["humidity_pct"].quantity == "humidity"
    assert CHANNELS["speed_mph"].quantity == "speed"


@pytest.mark.parametrize("c", list(CHANNELS.values()), ids=list(CHANNELS))
def test_display_range_is_sensible(c):
    lo, hi = c.display_range
    assert lo < hi
    assert (lo, hi) == (c.display_min, c.display_max)
    assert c.description


def test_display_ranges_cover_real_values():
    assert CHANNELS["rpm"].display_max >= 6200  # H-D rev limiter
    assert CHANNELS["afr_front"].display_min <= 10.0
    assert CHANNELS["afr_front"].display_max >= 18.0
    assert CHANNELS["map_kpa"].display_max >= 105.0
    assert CHANNELS["correction_factor"].display_range[0] <= 0.95 <= 1.23 <= 1.3


def test_table_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CHANNELS["rpm"].unit = "rps"  # type: ignore[misc]
    with pytest.raises(TypeError):
        CHANNELS["new"] = CHANNELS["rpm"]  # type: ignore[index]


def test_status_channels():
    assert dict(STATUS_CHANNEL_FOR) == {
        "afr_front": "afr_front_status",
        "afr_rear": "afr_rear_status",
    }
    for afr_name, status_name in STATUS_CHANNEL_FOR.items():
        assert CHANNELS[afr_name].quantity == "afr"
        assert CHANNELS[status_name].is_status
    assert [c.name for c in CHANNELS.values() if c.is_status] == list(STATUS_CHANNEL_FOR.values())


def test_sensor_status_codes_and_labels():
    assert [(s.name, int(s)) for s in SensorStatus] == [
        ("VALID", 0),
        ("WARMING_UP", 1),
        ("CALIBRATING", 2),
        ("SENSOR_ERROR", 3),
        ("NO_DATA", 4),
    ]
    assert [s.label for s in SensorStatus] == [
        "valid",
        "warming up",
        "calibrating",
        "sensor error",
        "no data",
    ]
    assert SensorStatus.VALID == 0
    assert CHANNELS["afr_front_status"].display_range == (0.0, 4.0)


@pytest.mark.parametrize(("code", "expected"), [(0, SensorStatus.VALID), (3.0, 3), (4, 4)])
def test_sensor_status_from_code(code, expected):
    assert SensorStatus.from_code(code) is SensorStatus(expected)


@pytest.mark.parametrize("code", [5, -1, 1.5, float("nan"), "valid", None])
def test_sensor_status_unknown_code(code):
    with pytest.raises(
        InputError, match=r"afr_rear_status: unknown sensor status code .*4 no data"
    ):
        SensorStatus.from_code(code, "afr_rear_status")


def test_gasoline_afr_scale():
    assert GASOLINE_AFR_SCALE == 14.7
