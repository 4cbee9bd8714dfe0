"""What the tuner reads: which unit a channel is shown in, how a value is written, and what
counts as lean, rich or on target. Domain rules, so every panel and report shows the same.

Data is always stored in canonical units (FORMATS.md §2); :class:`DisplayUnits` is only the
user's choice of what to read it in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from dynoai_desktop.core.channels import CHANNELS

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
_UNIT_SYMBOLS = {"lambda": "λ", "F": "°F", "C": "°C"}
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
    return f"{value:,.{decimals}f} {unit_symbol(unit)}".rstrip()


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
