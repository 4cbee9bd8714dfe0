"""Unit conversions a tuner needs: AFR/lambda, temperature, torque, power, pressure, speed.

Every function is vectorised: give it a float and get a float back, give it a numpy array and
get an array of the same shape back. ``convert`` works on the unit symbols used everywhere in
the app (channel units, settings, importers). Canonical units are the ones the log channels
use (FORMATS.md §2): C, ft-lb, hp, kPa, mph, AFR (gasoline scale).
"""

from __future__ import annotations

import math
import numbers
from enum import StrEnum
from typing import TypeAlias

import numpy as np

from dynoai_desktop.core.errors import InputError

FloatOrArray: TypeAlias = float | np.ndarray

# ------------------------------------------------------------------ exact constants
# International foot = 0.3048 m and pound-force = 4.4482216152605 N (NIST SP 811, B.8), so
# 1 ft·lbf = 1.3558179483314004 N·m exactly.
NM_PER_FTLB = 0.3048 * 4.4482216152605
# Mechanical horsepower = 550 ft·lbf/s = 745.69987158227022 W (NIST SP 811, B.8).
KW_PER_HP = 550.0 * NM_PER_FTLB / 1000.0
# Conventional inch of mercury (mercury density 13.5951 g/cm³, i.e. at 0 °C, standard
# gravity): 3.386389 kPa (NIST SP 811, B.8). Barometers and dyno weather stations read this.
KPA_PER_INHG = 3.386389
# 1 bar = 100 kPa exactly (SI).
KPA_PER_BAR = 100.0
# 1 psi = 1 lbf/in² = 4.4482216152605 N / (0.0254 m)² = 6.894757293168361 kPa.
KPA_PER_PSI = 4.4482216152605 / (0.0254**2) / 1000.0
# International mile = 1609.344 m exactly.
KMH_PER_MPH = 1.609344

GASOLINE_STOICH_AFR = 14.7


class Fuel(StrEnum):
    """Fuels a V-twin may run on; ``stoich_afr`` is the mass air/fuel ratio at λ = 1."""

    GASOLINE = "gasoline"
    E10 = "e10"
    E15 = "e15"
    E85 = "e85"
    ETHANOL = "ethanol"
    METHANOL = "methanol"
    RACE_GAS = "race_gas"

    @property
    def stoich_afr(self) -> float:
        """Stoichiometric AFR (mass of air per mass of fuel)."""
        return STOICH_AFR[self]

    @property
    def label(self) -> str:
        """Name as a tuner writes it."""
        return (
            self.value.upper()
            if self.value[0] == "e" and self.value[1:].isdigit()
            else (self.value.replace("_", " "))
        )


# Stoichiometric AFRs by mass. Blends are [INF]: mass-weighted from the pure fuels with
# densities ethanol 0.789 and gasoline ~0.745 kg/L (see ethanol_blend_stoich_afr).
STOICH_AFR: dict[Fuel, float] = {
    # Pump gasoline: 14.7 is the universal convention (Bosch Automotive Handbook; every
    # wideband controller's default AFR multiplier).
    Fuel.GASOLINE: 14.7,
    # E10 (10 % ethanol by volume): 14.1 [INF], blend calculation above.
    Fuel.E10: 14.1,
    # E15: 13.8 [INF], blend calculation above.
    Fuel.E15: 13.8,
    # E85 (nominal 85 % by volume): 9.8 [INF]; seasonal E85 (51-83 %) is leaner-stoich.
    Fuel.E85: 9.8,
    # Ethanol C2H5OH: 3 O2 per molecule, 96/46.07 g O2 per g, air 23.14 % O2 by mass -> 9.0.
    Fuel.ETHANOL: 9.0,
    # Methanol CH3OH: 1.5 O2 per molecule -> 6.47 by calculation; tuners and wideband
    # controllers use 6.4.
    Fuel.METHANOL: 6.4,
    # Unleaded, unoxygenated race gas is close to gasoline: 14.7. Oxygenated race fuels
    # (e.g. ~13 AFR stoich) differ: pass their stoich_afr explicitly.
    Fuel.RACE_GAS: 14.7,
}


_ETHANOL_DENSITY_KG_PER_L = 0.789
_GASOLINE_DENSITY_KG_PER_L = 0.745


def ethanol_blend_stoich_afr(ethanol_vol_pct: float) -> float:
    """Stoichiometric AFR of a gasoline/ethanol blend with ``ethanol_vol_pct`` % ethanol by volume.

    Air demand adds by mass, so the blend's stoich is the mass-weighted mean of 14.7 and 9.0.
    """
    if not 0.0 <= ethanol_vol_pct <= 100.0:
        raise InputError(
            f"ethanol content {ethanol_vol_pct} % is out of range: give 0 to 100 % by volume"
        )
    ethanol_kg = ethanol_vol_pct / 100.0 * _ETHANOL_DENSITY_KG_PER_L
    gasoline_kg = (1.0 - ethanol_vol_pct / 100.0) * _GASOLINE_DENSITY_KG_PER_L
    ethanol_mass_frac = ethanol_kg / (ethanol_kg + gasoline_kg)
    return ethanol_mass_frac * STOICH_AFR[Fuel.ETHANOL] + (1.0 - ethanol_mass_frac) * 14.7


# ------------------------------------------------------------------ AFR and lambda
def _stoich(stoich_afr: float | Fuel) -> float:
    value = stoich_afr.stoich_afr if isinstance(stoich_afr, Fuel) else stoich_afr
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (math.isfinite(value) and value > 0)
    ):
        raise InputError(
            f"stoichiometric AFR {stoich_afr!r} is invalid: give a positive number "
            "(14.7 for gasoline, 9.8 for E85)"
        )
    return float(value)


def _asinput(value: FloatOrArray) -> FloatOrArray:
    """Lists and tuples become arrays; floats and arrays pass through."""
    if isinstance(value, list | tuple):
        return np.asarray(value, dtype=float)
    return value


def afr_to_lambda(
    afr: FloatOrArray, stoich_afr: float | Fuel = GASOLINE_STOICH_AFR
) -> FloatOrArray:
    """λ from an AFR measured on the scale of a fuel with ``stoich_afr``."""
    return _asinput(afr) / _stoich(stoich_afr)


def lambda_to_afr(
    lam: FloatOrArray, stoich_afr: float | Fuel = GASOLINE_STOICH_AFR
) -> FloatOrArray:
    """AFR on the scale of a fuel with ``stoich_afr`` from λ."""
    return _asinput(lam) * _stoich(stoich_afr)


# ------------------------------------------------------------------ named conversions
def f_to_c(temp_f: FloatOrArray) -> FloatOrArray:
    """°F to °C."""
    return (_asinput(temp_f) - 32.0) * 5.0 / 9.0


def c_to_f(temp_c: FloatOrArray) -> FloatOrArray:
    """°C to °F."""
    return _asinput(temp_c) * 9.0 / 5.0 + 32.0


def ftlb_to_nm(torque_ftlb: FloatOrArray) -> FloatOrArray:
    """ft-lb (lbf·ft) to N·m."""
    return _asinput(torque_ftlb) * NM_PER_FTLB


def nm_to_ftlb(torque_nm: FloatOrArray) -> FloatOrArray:
    """N·m to ft-lb."""
    return _asinput(torque_nm) / NM_PER_FTLB


def hp_to_kw(power_hp: FloatOrArray) -> FloatOrArray:
    """Mechanical hp to kW."""
    return _asinput(power_hp) * KW_PER_HP


def kw_to_hp(power_kw: FloatOrArray) -> FloatOrArray:
    """kW to mechanical hp."""
    return _asinput(power_kw) / KW_PER_HP


def inhg_to_kpa(pressure_inhg: FloatOrArray) -> FloatOrArray:
    """inHg (conventional, 0 °C) to kPa."""
    return _asinput(pressure_inhg) * KPA_PER_INHG


def kpa_to_inhg(pressure_kpa: FloatOrArray) -> FloatOrArray:
    """kPa to inHg (conventional, 0 °C)."""
    return _asinput(pressure_kpa) / KPA_PER_INHG


def bar_to_kpa(pressure_bar: FloatOrArray) -> FloatOrArray:
    """bar to kPa."""
    return _asinput(pressure_bar) * KPA_PER_BAR


def kpa_to_bar(pressure_kpa: FloatOrArray) -> FloatOrArray:
    """kPa to bar."""
    return _asinput(pressure_kpa) / KPA_PER_BAR


def psi_to_kpa(pressure_psi: FloatOrArray) -> FloatOrArray:
    """psi to kPa."""
    return _asinput(pressure_psi) * KPA_PER_PSI


def kpa_to_psi(pressure_kpa: FloatOrArray) -> FloatOrArray:
    """kPa to psi."""
    return _asinput(pressure_kpa) / KPA_PER_PSI


def mph_to_kmh(speed_mph: FloatOrArray) -> FloatOrArray:
    """mph to km/h."""
    return _asinput(speed_mph) * KMH_PER_MPH


def kmh_to_mph(speed_kmh: FloatOrArray) -> FloatOrArray:
    """km/h to mph."""
    return _asinput(speed_kmh) / KMH_PER_MPH


# ------------------------------------------------------------------ generic convert
# quantity -> symbol -> (scale, offset) such that canonical = value * scale + offset.
# The first symbol of each quantity is its canonical unit (the log channels' unit).
_AFFINE: dict[str, dict[str, tuple[float, float]]] = {
    "temperature": {"C": (1.0, 0.0), "F": (5.0 / 9.0, -32.0 * 5.0 / 9.0)},
    "torque": {"ft-lb": (1.0, 0.0), "N·m": (1.0 / NM_PER_FTLB, 0.0)},
    "power": {"hp": (1.0, 0.0), "kW": (1.0 / KW_PER_HP, 0.0)},
    "pressure": {
        "kPa": (1.0, 0.0),
        "inHg": (KPA_PER_INHG, 0.0),
        "bar": (KPA_PER_BAR, 0.0),
        "psi": (KPA_PER_PSI, 0.0),
    },
    "speed": {"mph": (1.0, 0.0), "km/h": (1.0 / KMH_PER_MPH, 0.0)},
    "afr": {"AFR": (1.0, 0.0), "lambda": (GASOLINE_STOICH_AFR, 0.0)},
}

UNIT_CHOICES: dict[str, tuple[str, ...]] = {q: tuple(units) for q, units in _AFFINE.items()}
"""Quantity -> unit symbols a user may display it in; the first is the canonical unit."""

FIXED_UNITS: dict[str, str] = {
    "time": "s",
    "rotational_speed": "rpm",
    "percent": "%",
    "humidity": "%",
    "angle": "deg",
    "ratio": "",
    "status": "",
}
"""Quantities with one unit only (no display choice); "" means dimensionless."""

# Spellings seen in foreign logs and settings, mapped to the canonical symbol.
UNIT_ALIASES: dict[str, str] = {
    "°C": "C",
    "degC": "C",
    "°F": "F",
    "degF": "F",
    "Nm": "N·m",
    "N-m": "N·m",
    "lb-ft": "ft-lb",
    "lbft": "ft-lb",
    "ftlb": "ft-lb",
    "kph": "km/h",
    "kmh": "km/h",
    "λ": "lambda",
    "°": "deg",
}

_QUANTITY_OF: dict[str, str] = {s: q for q, units in _AFFINE.items() for s in units}
_FIXED_SYMBOLS = frozenset(FIXED_UNITS.values())


def normalise_unit(symbol: str) -> str:
    """Canonical spelling of a unit symbol ("Nm" -> "N·m"); unknown symbols raise InputError."""
    canonical = UNIT_ALIASES.get(symbol, symbol)
    if canonical not in _QUANTITY_OF and canonical not in _FIXED_SYMBOLS:
        raise InputError(
            f"unknown unit {symbol!r}: use one of {_valid_units_text()}; "
            f"or the fixed units {', '.join(repr(u) for u in sorted(_FIXED_SYMBOLS))}"
        )
    return canonical


def canonical_unit(quantity: str) -> str:
    """The unit a quantity is stored in (logs, run files, analyses)."""
    if quantity in UNIT_CHOICES:
        return UNIT_CHOICES[quantity][0]
    if quantity in FIXED_UNITS:
        return FIXED_UNITS[quantity]
    known = ", ".join([*UNIT_CHOICES, *FIXED_UNITS])
    raise InputError(f"unknown quantity {quantity!r}: known quantities are {known}")


def convert(value: FloatOrArray, from_unit: str, to_unit: str) -> FloatOrArray:
    """Convert ``value`` from one unit symbol to another of the same quantity.

    Identity conversions return ``value`` itself. AFR<->lambda uses the gasoline scale (14.7);
    use ``afr_to_lambda`` for other fuels.
    """
    src = normalise_unit(from_unit)
    dst = normalise_unit(to_unit)
    if src == dst:
        return value
    src_quantity = _QUANTITY_OF.get(src)
    dst_quantity = _QUANTITY_OF.get(dst)
    if src_quantity is None or src_quantity != dst_quantity:
        raise InputError(
            f"cannot convert {from_unit!r} ({_quantity_name(src)}) to {to_unit!r} "
            f"({_quantity_name(dst)}): convert only within one group: {_valid_units_text()}"
        )
    src_scale, src_offset = _AFFINE[src_quantity][src]
    dst_scale, dst_offset = _AFFINE[dst_quantity][dst]
    canonical = _asinput(value) * src_scale + src_offset
    return (canonical - dst_offset) / dst_scale


def _quantity_name(symbol: str) -> str:
    if symbol in _QUANTITY_OF:
        return _QUANTITY_OF[symbol]
    names = [q for q, unit in FIXED_UNITS.items() if unit == symbol]
    return "/".join(names) + " (no other unit)"


def _valid_units_text() -> str:
    groups = [f"{q} {{{', '.join(units)}}}" for q, units in UNIT_CHOICES.items()]
    return "; ".join(groups)


# ------------------------------------------------------------------ more exact constants
# Kept here with the others so that no layer re-declares a unit conversion (the simulator used
# to). Temperature: T[K] = T[°C] + 273.15 and T[°F] = T[°C] · 1.8 + 32, exactly (SI; NIST SP 811,
# B.8). Shaft speed: 1 rpm = 2π/60 rad/s. One standard atmosphere = 101.325 kPa exactly.
KELVIN_AT_0_C = 273.15
F_PER_C = 1.8
F_AT_0_C = 32.0
RAD_S_PER_RPM = 2.0 * math.pi / 60.0
KPA_PER_ATM = 101.325
