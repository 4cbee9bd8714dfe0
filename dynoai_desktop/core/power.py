"""Dyno power, torque and weather correction (SAE J1349, STD), in the tuner's units.

A chassis dyno reads torque and power as observed; shops compare runs made on different days by
multiplying with a correction factor for the weather. Formulas from shared/reference/vtwin.md §6:

- SAE J1349 (June 1990): CF = 1.18 · (99 / Pd) · √((T + 273.15) / 298.15) − 0.18,
  Pd the dry-air pressure in kPa (barometer minus water vapour), T the intake air in °C.
- STD (SAE J607): CF = (101.6 / Pd) · √((T + 273.15) / 288.7) with Pd here the barometer (dry).
- DIN 70020: CF = (1013 / p) · √((T + 273) / 293), p the absolute barometer in mbar (humidity
  is not taken out), T the air in °C.
"""

from __future__ import annotations

import math

HP_PER_FTLB_RPM = 1.0 / 5252.113  # hp = torque_ftlb * rpm / 5252.113
SAE_DRY_KPA = 99.0
SAE_TEMP_K = 298.15
STD_KPA = 101.325 * 29.92 / 29.921  # 29.92 inHg
STD_TEMP_K = 288.706  # 60 °F
DIN_MBAR = 1013.0
DIN_TEMP_K = 293.0  # 20 °C, as the standard writes it (273 + 20)


def power_hp(torque_ftlb: float, rpm: float) -> float:
    """Power in hp from torque in ft-lb at an engine speed in rpm."""
    return torque_ftlb * rpm * HP_PER_FTLB_RPM


def vapour_pressure_kpa(temp_c: float, humidity_pct: float) -> float:
    """Partial pressure of water vapour (kPa): Buck's saturation formula times relative humidity."""
    saturation = 0.61121 * math.exp((18.678 - temp_c / 234.5) * (temp_c / (257.14 + temp_c)))
    return saturation * max(0.0, min(100.0, humidity_pct)) / 100.0


def dry_air_pressure_kpa(baro_kpa: float, temp_c: float, humidity_pct: float) -> float:
    """Barometric pressure minus the water vapour's share (kPa)."""
    return baro_kpa - vapour_pressure_kpa(temp_c, humidity_pct)


def sae_j1349_factor(baro_kpa: float, temp_c: float, humidity_pct: float) -> float:
    """SAE J1349 (1990) correction factor: 1.0 at 99 kPa dry air and 25 °C."""
    dry = dry_air_pressure_kpa(baro_kpa, temp_c, humidity_pct)
    return 1.18 * (SAE_DRY_KPA / dry) * math.sqrt((temp_c + 273.15) / SAE_TEMP_K) - 0.18


def std_factor(baro_kpa: float, temp_c: float, humidity_pct: float = 0.0) -> float:
    """STD (J607) correction factor: 1.0 at 29.92 inHg dry and 60 °F; reads ≈4 % above SAE."""
    dry = dry_air_pressure_kpa(baro_kpa, temp_c, humidity_pct)
    return (STD_KPA / dry) * math.sqrt((temp_c + 273.15) / STD_TEMP_K)


def din_70020_factor(baro_kpa: float, temp_c: float) -> float:
    """DIN 70020 correction factor: 1.0 at 1013 mbar absolute and 20 °C; humidity not used."""
    return (DIN_MBAR / (baro_kpa * 10.0)) * math.sqrt((temp_c + 273.0) / DIN_TEMP_K)
