"""What a gauge shows for a sensor's state, and the live charts' value axes in the user's unit."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from dynoai_desktop.core.channels import CHANNELS, SensorStatus
from dynoai_desktop.core.display import (
    NO_VALUE_TEXT,
    ChartScale,
    DisplayUnits,
    GaugeReading,
    GaugeState,
    chart_scale,
    format_value,
    gauge_decimals,
    gauge_reading,
    nice_step,
    unit_affine,
)
from dynoai_desktop.core.units import UNIT_CHOICES, convert
from dynoai_desktop.devices.innovate_mts import Function, _lambda_state

NAN = math.nan


# ------------------------------------------------------------------ gauges

@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        (SensorStatus.SENSOR_ERROR, "sensor error 2: heater open",
         GaugeReading("ERR 2", "heater open", GaugeState.SENSOR_ERROR)),
        (SensorStatus.SENSOR_ERROR, "",
         GaugeReading("ERR", "sensor error", GaugeState.SENSOR_ERROR)),
        (SensorStatus.SENSOR_ERROR, "needs free-air calibration",
         GaugeReading("ERR", "needs free-air calibration", GaugeState.SENSOR_ERROR)),
        (SensorStatus.WARMING_UP, "warming up, 62 % of operating temperature",
         GaugeReading("warming", "62 %", GaugeState.WARMING_UP)),
        (SensorStatus.WARMING_UP, "warming up (reported by the dyno DAQ)",
         GaugeReading("warming", "", GaugeState.WARMING_UP)),
        (SensorStatus.CALIBRATING, "free-air calibration in progress",
         GaugeReading("cal", "free-air calibration in progress", GaugeState.CALIBRATING)),
        (SensorStatus.CALIBRATING, "", GaugeReading("cal", "calibrating", GaugeState.CALIBRATING)),
        (SensorStatus.NO_DATA, "free-air O2 mode, 20.9 % O2",
         GaugeReading(NO_VALUE_TEXT, "free-air O2 mode, 20.9 % O2", GaugeState.NO_READING)),
        (SensorStatus.NO_DATA, "", GaugeReading(NO_VALUE_TEXT, "no data", GaugeState.NO_READING)),
    ],
)
def test_a_sensor_that_is_not_reading_shows_its_state_never_a_number(
        status: SensorStatus, detail: str, expected: GaugeReading) -> None:
    for value in (NAN, 13.2):  # even when a device still sends its last AFR
        assert gauge_reading(value, "AFR", float(status), detail) == expected


def test_a_valid_reading_shows_the_number_in_the_units_decimals() -> None:
    assert gauge_reading(13.1, "AFR", 0.0) == GaugeReading("13.10", "", GaugeState.VALUE)
    assert gauge_reading(0.891, "lambda", 0.0).text == "0.891"
    assert gauge_reading(212.4, "F").text == "212"  # no status channel: NaN
    assert gauge_reading(3512.0, "rpm").text == "3,512"
    assert gauge_reading(14.26, "psi").text == "14.26"
    assert gauge_reading(-0.01, "kPa").text == "0.0"  # no sign on a value that rounds to 0


def test_a_missing_value_is_a_dash_with_why() -> None:
    assert gauge_reading(NAN, "AFR", 0.0) == GaugeReading(NO_VALUE_TEXT, "no reading",
                                                         GaugeState.NO_READING)
    assert gauge_reading(NAN, "rpm") == GaugeReading(NO_VALUE_TEXT, "no reading",
                                                    GaugeState.NO_READING)


def test_when_no_rows_come_at_all_every_gauge_is_a_dash() -> None:
    for status in (NAN, 0.0, 3.0):
        assert gauge_reading(13.0, "AFR", status, "sensor error 2: heater open",
                             quiet=True) == GaugeReading(NO_VALUE_TEXT, "no data",
                                                         GaugeState.NO_READING)


def test_an_unknown_status_code_is_no_reading_and_says_the_code() -> None:
    assert gauge_reading(13.0, "AFR", 7.0) == GaugeReading(NO_VALUE_TEXT, "status code 7",
                                                          GaugeState.NO_READING)


@pytest.mark.parametrize("function", list(Function))
def test_every_innovate_state_reads_on_a_gauge(function: Function) -> None:
    """The MTS codec's own wording goes through the rule: a state is never shown as a number."""
    afr, status, detail = _lambda_state(int(function), 147, 123)
    reading = gauge_reading(afr, "AFR", float(status), detail or "")
    if status is SensorStatus.VALID:
        assert reading.state is GaugeState.VALUE and reading.text == f"{afr:.2f}"
    else:
        assert reading.state is not GaugeState.VALUE
        assert reading.text in {"ERR 123", "ERR", "warming", "cal", NO_VALUE_TEXT}
    if function is Function.WARMING_UP:
        assert reading.note == "12.3 %"


def test_gauge_decimals_follow_the_unit() -> None:
    assert [gauge_decimals(u) for u in ("AFR", "lambda", "rpm", "F", "C", "kPa", "psi", "hp")] \
        == [2, 3, 0, 0, 0, 1, 2, 1]


def test_a_read_out_writes_spark_in_degrees_and_temperatures_with_their_scale() -> None:
    spark = CHANNELS["spark_front_deg"].unit
    assert format_value(30.84, spark) == "30.8°"  # crank degrees: no space, as tuners write it
    assert format_value(0.0, CHANNELS["knock_retard_rear_deg"].unit) == "0.0°"
    assert format_value(222.06, "F") == "222.1 °F" and format_value(105.6, "C") == "105.6 °C"
    assert format_value(NAN, spark) == "—"


# ------------------------------------------------------------------ strip chart axes

def test_the_afr_chart_reads_10_to_17_afr_or_the_same_range_in_lambda() -> None:
    afr = chart_scale("afr_front", DisplayUnits())
    assert (afr.unit, afr.low, afr.high, afr.step) == ("AFR", 10.0, 17.0, 1.0)
    assert afr.lines == (10, 11, 12, 13, 14, 15, 16, 17)
    lam = chart_scale("afr_front", DisplayUnits(afr="lambda"))
    assert lam.unit == "lambda"
    assert lam.low == pytest.approx(0.680, abs=1e-3) and lam.high == pytest.approx(1.156, abs=1e-3)
    assert lam.lines == (0.7, 0.8, 0.9, 1.0, 1.1)
    assert [lam.label(v) for v in lam.lines] == ["0.7", "0.8", "0.9", "1.0", "1.1"]


def test_rpm_and_throttle_axes_are_fixed_and_map_follows_cores_unit() -> None:
    for units in (DisplayUnits(), DisplayUnits(pressure="psi", afr="lambda")):
        assert chart_scale("rpm", units) == ChartScale("rpm", 0.0, 6500.0, 1000.0)
        assert chart_scale("tps_pct", units) == ChartScale("%", 0.0, 105.0, 20.0)
        scale = chart_scale("map_kpa", units)
        assert scale.unit == "kPa"  # MAP stays kPa: the tables' load axis (ALWAYS_CANONICAL)
        assert (scale.low, scale.high, scale.step) == (0.0, 105.0, 20.0)


def test_map_in_another_pressure_unit_gets_its_own_sensible_grid(monkeypatch) -> None:
    """Should core ever show MAP in the barometer's unit, the axis is that unit's range."""
    monkeypatch.setattr("dynoai_desktop.core.display.ALWAYS_CANONICAL", frozenset())
    psi = chart_scale("map_kpa", DisplayUnits(pressure="psi"))
    assert psi.unit == "psi" and psi.high == pytest.approx(15.23, abs=0.01)
    assert psi.step == 2.0
    inhg = chart_scale("map_kpa", DisplayUnits(pressure="inHg"))
    assert inhg.high == pytest.approx(31.0, abs=0.1) and inhg.step == 5.0


@pytest.mark.parametrize(("span", "step"), [(7, 1), (0.476, 0.1), (6500, 1000), (105, 20),
                                            (15.2, 2), (31, 5), (1.05, 0.2)])
def test_grid_steps_are_1_2_2_5_or_5_times_a_power_of_ten(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)
    assert span / nice_step(span) <= 8


def test_unit_affine_is_the_same_conversion_as_convert() -> None:
    for field in fields(DisplayUnits):
        quantity = next(c.quantity for c in CHANNELS.values() if c.quantity == field.name)
        canonical = UNIT_CHOICES[quantity][0]
        for unit in UNIT_CHOICES[quantity]:
            a, b = unit_affine(canonical, unit)
            for value in (-20.0, 0.0, 13.7, 101.3):
                assert value * a + b == pytest.approx(float(convert(value, canonical, unit)))
