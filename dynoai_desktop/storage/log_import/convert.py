"""One source column's numbers into a canonical channel's unit, with core.units.

Where a file gives no unit the importer assumes the rule's unit, or (temperatures, barometer,
engine speed) reads the unit off the values and says so in a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core import units
from dynoai_desktop.core.channels import CHANNELS
from dynoai_desktop.storage.log_import.names import parse_unit, unit_label

_CONVERTIBLE = frozenset(units.UNIT_CHOICES) - {"afr"}
_FIXED_UNIT = {"rotational_speed": "rpm", "percent": "%", "humidity": "%", "angle": "deg"}
_KRPM_MAX = 20.0  # engine speed logged in thousands (Dynojet's "Engine RPM" 2.991 = 2991 rpm)
# Barometer readings by unit: (low, high) of what a weather station reads between sea level
# storms and ~3000 m. The ranges do not overlap, so the value says the unit.
_BARO_RANGES = (
    ("inHg", 20.0, 32.5),
    ("kPa", 60.0, 110.0),
    ("mbar", 600.0, 1100.0),
    ("psi", 8.5, 16.0),
    ("bar", 0.6, 1.1),
)
_AMBIENT_F_ABOVE = 55.0  # no dyno cell is 55 °C; 55 °F is a cool morning


class Unusable(Exception):
    """The column cannot feed the channel (its unit is of another kind); the message says why."""


@dataclass(frozen=True)
class Converted:
    """Values in the channel's unit, the unit they were read in, and what was assumed."""

    values: np.ndarray
    unit: str
    warning: str = ""


def median(values: np.ndarray) -> float:
    """Median of the finite values; NaN when there are none (no warning)."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def value_range(values: np.ndarray) -> str:
    """ "51 to 116": the finite values' span as a tuner reads it."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return "no values"
    if finite.min() == finite.max():
        return f"{finite[0]:.4g} throughout"
    return f"{finite.min():.4g} to {finite.max():.4g}"


def to_channel(
    channel: str, name: str, unit_text: str, default_unit: str, values: np.ndarray
) -> Converted:
    """``values`` from column ``name`` (unit as written) in ``channel``'s canonical unit."""
    quantity = CHANNELS[channel].quantity
    symbol = parse_unit(unit_text)
    if symbol is None:
        raise Unusable(
            f"column '{name}' has unit '{unit_text}', which is not a known unit of "
            f"{quantity.replace('_', ' ')}: not used"
        )
    if symbol == "":
        return _unitless(channel, quantity, name, default_unit, values)
    return _with_unit(channel, quantity, name, symbol, values)


def _with_unit(
    channel: str, quantity: str, name: str, symbol: str, values: np.ndarray
) -> Converted:
    if quantity == "rotational_speed" and symbol == "krpm":
        return Converted(values * 1000.0, symbol)
    if quantity in _FIXED_UNIT:
        if symbol != _FIXED_UNIT[quantity]:
            raise _wrong_kind(name, symbol, channel)
        return Converted(values, symbol)
    if quantity == "pressure" and symbol == "mbar":
        return Converted(np.asarray(units.convert(values / 1000.0, "bar", "kPa")), symbol)
    if quantity not in _CONVERTIBLE or symbol not in units.UNIT_CHOICES[quantity]:
        if quantity == "ratio":
            return Converted(values, symbol)
        raise _wrong_kind(name, symbol, channel)
    canonical = CHANNELS[channel].unit
    return Converted(np.asarray(units.convert(values, symbol, canonical), dtype=float), symbol)


def _wrong_kind(name: str, symbol: str, channel: str) -> Unusable:
    wanted = CHANNELS[channel].unit or "no unit"
    return Unusable(
        f"column '{name}' is in {unit_label(symbol)}, not {wanted}: not used for {channel}"
    )


def _unitless(
    channel: str, quantity: str, name: str, default_unit: str, values: np.ndarray
) -> Converted:
    if quantity == "rotational_speed":
        return _rpm(name, values)
    if quantity == "temperature":
        return _temperature(channel, name, values)
    if channel == "baro_kpa" and not default_unit:
        return _baro(name, values)
    if not default_unit:
        return Converted(values, "")
    return _with_unit(channel, quantity, name, default_unit, values)


def _rpm(name: str, values: np.ndarray) -> Converted:
    top = np.nanmax(values) if np.isfinite(values).any() else np.nan
    if 0.0 < top <= _KRPM_MAX:
        return Converted(
            values * 1000.0,
            "krpm",
            f"column '{name}' reads {value_range(values)}: read as rpm × 1000",
        )
    return Converted(values, "rpm")


def _temperature(channel: str, name: str, values: np.ndarray) -> Converted:
    middle = median(values)
    if channel == "ambient_temp_c" and middle > _AMBIENT_F_ABOVE:
        converted = np.asarray(units.convert(values, "F", "C"), dtype=float)
        return Converted(
            converted,
            "F",
            f"column '{name}' has no unit and reads "
            f"{value_range(values)}, too hot for °C: read as °F",
        )
    return Converted(
        values,
        "C",
        f"column '{name}' has no unit: read as °C "
        f"({value_range(values)}); if the logger wrote °F the temperatures are wrong",
    )


def _baro(name: str, values: np.ndarray) -> Converted:
    middle = median(values)
    for symbol, low, high in _BARO_RANGES:
        if low <= middle <= high:
            converted = _with_unit("baro_kpa", "pressure", name, symbol, values)
            return Converted(
                converted.values,
                symbol,
                f"column '{name}' has no unit and reads {value_range(values)}: read as {symbol}",
            )
    raise Unusable(
        f"column '{name}' has no unit and reads {value_range(values)}, which is no "
        "barometer reading in kPa, inHg, mbar, psi or bar: not used"
    )
