"""What the tuner reads: which unit a channel is shown in, how a value is written, and what
counts as lean, rich or on target. Domain rules, so every panel and report shows the same.

Data is always stored in canonical units (FORMATS.md §2); :class:`DisplayUnits` is only the
user's choice of what to read it in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from enum import StrEnum

from dynoai_desktop.core.channels import CHANNELS, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import convert

AFR_ON_TARGET_BAND = 0.3
"""± AFR around the target that reads as on target (about ±2 % at 13:1)."""


@dataclass(frozen=True)
class DisplayUnits:
    """Units the user reads values in; data is always stored in canonical units (FORMATS.md §2)."""

    temperature: str = "F"
    torque: str = "ft-lb"
    power: str = "hp"
    pressure: str = "kPa"  # the barometer's; MAP is always kPa, as the tables' load axis is
    speed: str = "mph"
    afr: str = "AFR"  # or "lambda" (shown as λ)


@dataclass(frozen=True)
class EditorSteps:
    """What one ``+``/``-`` in the table editor adds, in the unit the cells are shown in."""

    ve_pct: float = 0.5  # VE points
    afr: float = 0.1
    lambda_: float = 0.01  # an AFR table shown in λ
    spark_deg: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    0.0 < float(value) < 100.0):
                raise InputError(f"editor step {f.name} must be a number above 0 and below 100, "
                                 f"not {value!r}")

    def by_kind(self) -> dict[str, float]:
        """The steps keyed by the editor's table kinds (ve, afr, lambda, spark)."""
        return {"ve": self.ve_pct, "afr": self.afr, "lambda": self.lambda_,
                "spark": self.spark_deg}


ALWAYS_CANONICAL = frozenset({"map_kpa"})
"""Channels shown in their canonical unit whatever the user picked: MAP is the VE and AFR
tables' load axis in kPa (Power Vision and TunerStudio show it so), so it stays in kPa."""


# Channel quantity -> which DisplayUnits field picks its display unit.
_DISPLAY_UNIT_FIELD = {
    "temperature": "temperature",
    "torque": "torque",
    "power": "power",
    "pressure": "pressure",
    "speed": "speed",
    "afr": "afr",
}
_UNIT_SYMBOLS = {"lambda": "λ", "F": "°F", "C": "°C", "deg": "°"}
# Decimals a value is shown with, by display unit (λ and bar need three to say anything).
_DECIMALS = {"AFR": 2, "lambda": 3, "rpm": 0, "bar": 3, "psi": 2, "inHg": 2, "kPa": 1}


def display_unit(channel: str, units: DisplayUnits) -> str:
    """The unit ``channel`` is shown in, from the user's display units."""
    spec = CHANNELS[channel]
    field_name = _DISPLAY_UNIT_FIELD.get(spec.quantity)
    if field_name is None or channel in ALWAYS_CANONICAL:
        return spec.unit
    return str(getattr(units, field_name))


def unit_symbol(unit: str) -> str:
    """How a unit is written on screen ("lambda" -> "λ", "F" -> "°F")."""
    return _UNIT_SYMBOLS.get(unit, unit)


def format_value(value: float, unit: str) -> str:
    """``value`` (already in ``unit``) with the unit's decimals and symbol; NaN is "—"."""
    if math.isnan(value):
        return "—"
    decimals = _DECIMALS.get(unit, 1)
    symbol = unit_symbol(unit)
    space = "" if symbol == "°" else " "  # an angle reads 28.5°, a temperature 180.0 °F
    return f"{value:,.{decimals}f}{space}{symbol}".rstrip()


class Mixture(StrEnum):
    """A measured AFR against its target."""

    ON_TARGET = "on target"
    LEAN = "lean"
    RICH = "rich"
    UNKNOWN = "unknown"  # no reading or no target


def mixture(afr: float, target: float) -> Mixture:
    """Lean above the target band, rich below it, else on target (both in AFR)."""
    if math.isnan(afr) or math.isnan(target):
        return Mixture.UNKNOWN
    if afr > target + AFR_ON_TARGET_BAND:
        return Mixture.LEAN
    if afr < target - AFR_ON_TARGET_BAND:
        return Mixture.RICH
    return Mixture.ON_TARGET


# ------------------------------------------------------------------ gauges

NO_VALUE_TEXT = "—"
"""What a gauge or read-out shows in place of a number it does not have."""

# Gauge decimals where they differ from format_value's: whole degrees on a temperature gauge.
_GAUGE_DECIMALS = {"F": 0, "C": 0}


def gauge_decimals(unit: str) -> int:
    """Decimals a gauge shows a value in ``unit`` with (λ 3, AFR 2, rpm and degrees 0)."""
    return _GAUGE_DECIMALS.get(unit, _DECIMALS.get(unit, 1))


class GaugeState(StrEnum):
    """What a gauge is showing: a value, or why it has none."""

    VALUE = "value"
    NO_READING = "no reading"  # empty in the newest row, or no rows at all
    WARMING_UP = "warming up"
    CALIBRATING = "calibrating"
    SENSOR_ERROR = "sensor error"


@dataclass(frozen=True)
class GaugeReading:
    """One gauge's face: the big ``text`` (a number, "ERR 2", "warming", "cal", "—"), the small
    ``note`` under it ("heater open", "62 %", "no reading"; "" with a value), and its state."""

    text: str
    note: str
    state: GaugeState


_ERROR_CODE = re.compile(r"error\s+(\d+)\s*:?\s*(.*)", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def gauge_reading(value: float, unit: str, status_code: float = math.nan, detail: str = "",
                  *, quiet: bool = False) -> GaugeReading:
    """What a gauge shows for the newest row: ``value`` already in ``unit`` (NaN when the row
    has it empty: the row rule empties values older than 0.5 s), the wideband's
    ``status_code`` (a :class:`~dynoai_desktop.core.channels.SensorStatus` code, NaN when the
    channel has no status or it is empty) and the device's ``detail`` line for the channel
    ("sensor error 2: heater open", "warming up, 62 % of operating temperature"; "" when fine).

    A sensor in error, warming up or calibrating shows that state in place of a number, never
    a last good value; a missing value is "—". ``quiet``: no rows arrived at all for a while
    (every device quiet), so every gauge is "—".
    """
    detail = detail.strip()
    if quiet:
        return GaugeReading(NO_VALUE_TEXT, "no data", GaugeState.NO_READING)
    status = SensorStatus.VALID
    if not math.isnan(status_code):
        try:
            status = SensorStatus.from_code(status_code)
        except InputError:
            return GaugeReading(NO_VALUE_TEXT, f"status code {status_code:g}",
                                GaugeState.NO_READING)
    if status is SensorStatus.SENSOR_ERROR:
        match = _ERROR_CODE.search(detail)
        if match:
            return GaugeReading(f"ERR {match[1]}", match[2].strip() or "sensor error",
                                GaugeState.SENSOR_ERROR)
        return GaugeReading("ERR", detail or "sensor error", GaugeState.SENSOR_ERROR)
    if status is SensorStatus.WARMING_UP:
        match = _PERCENT.search(detail)
        return GaugeReading("warming", f"{match[1]} %" if match else "",
                            GaugeState.WARMING_UP)
    if status is SensorStatus.CALIBRATING:
        return GaugeReading("cal", detail or "calibrating", GaugeState.CALIBRATING)
    if status is SensorStatus.NO_DATA:
        return GaugeReading(NO_VALUE_TEXT, detail or "no data", GaugeState.NO_READING)
    if math.isnan(value):
        return GaugeReading(NO_VALUE_TEXT, "no reading", GaugeState.NO_READING)
    text = f"{value:,.{gauge_decimals(unit)}f}"
    if text.startswith("-") and not any(c in "123456789" for c in text):
        text = text[1:]  # "-0.0" reads as a sign that is not there
    return GaugeReading(text, "", GaugeState.VALUE)


# ------------------------------------------------------------------ strip charts

# Value axis of a live strip chart, in the channel's canonical unit: AFR around where a V-twin
# runs (10-17), the rev range to just past the limiter, MAP to barometric, throttle 0-100.
_CHART_RANGES: dict[str, tuple[float, float]] = {
    "afr_front": (10.0, 17.0),
    "afr_rear": (10.0, 17.0),
    "afr_target": (10.0, 17.0),
    "rpm": (0.0, 6500.0),
    "map_kpa": (0.0, 105.0),
    "tps_pct": (0.0, 105.0),
}
CHART_MAX_GRID_LINES = 8


@dataclass(frozen=True)
class ChartScale:
    """A strip chart's value axis in the unit it is shown in: ``low``-``high``, a grid line
    (and a labelled tick) every ``step``."""

    unit: str
    low: float
    high: float
    step: float

    @property
    def lines(self) -> tuple[float, ...]:
        """The grid values inside the range: multiples of ``step``."""
        first = math.ceil(self.low / self.step - 1e-9)
        last = math.floor(self.high / self.step + 1e-9)
        return tuple(round(k * self.step, 10) for k in range(first, last + 1))

    def label(self, value: float) -> str:
        """A tick label with the decimals the step needs (0.1 λ -> "0.9", 2.5 -> "7.5")."""
        decimals = next((d for d in range(5) if abs(self.step * 10**d - round(self.step * 10**d))
                         < 1e-6), 4)
        return f"{value:.{decimals}f}"


def nice_step(span: float, max_lines: int = CHART_MAX_GRID_LINES) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k with at most ``max_lines`` steps over ``span``."""
    if not (span > 0 and math.isfinite(span)):
        return 1.0
    exponent = math.floor(math.log10(span / max_lines))
    while True:
        for mantissa in (1.0, 2.0, 2.5, 5.0):
            step = mantissa * 10.0**exponent
            if span / step <= max_lines + 1e-9:
                return step
        exponent += 1


def chart_scale(channel: str, units: DisplayUnits) -> ChartScale:
    """The value axis of a live chart of ``channel`` in the user's unit: AFR 10-17 is λ
    0.68-1.16 with a line every 0.1; rpm 0-6500 every 1000; MAP 0-105 kPa every 20."""
    spec = CHANNELS[channel]
    unit = display_unit(channel, units)
    low, high = _CHART_RANGES.get(channel, spec.display_range)
    low, high = sorted((float(convert(low, spec.unit, unit)),
                        float(convert(high, spec.unit, unit))))
    return ChartScale(unit, low, high, nice_step(high - low))


def unit_affine(from_unit: str, to_unit: str) -> tuple[float, float]:
    """(scale, offset) with ``to = from * scale + offset`` (every unit conversion is affine),
    so a whole trace can be converted, or re-converted, without a per-sample call."""
    offset = float(convert(0.0, from_unit, to_unit))
    return float(convert(1.0, from_unit, to_unit)) - offset, offset
