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
from dataclasses import dataclass

import numpy as np

HP_PER_FTLB_RPM = 1.0 / 5252.113  # hp = torque_ftlb * rpm / 5252.113
SAE_DRY_KPA = 99.0
SAE_TEMP_K = 298.15
STD_KPA = 101.325 * 29.92 / 29.921  # 29.92 inHg
STD_TEMP_K = 288.706  # 60 °F
DIN_MBAR = 1013.0
DIN_TEMP_K = 293.0  # 20 °C, as the standard writes it (273 + 20)
PEAK_MEDIAN_SAMPLES = 5
"""A run's peak power is taken over a running median of this many readings: one glitch of the
dyno's power channel (a drum's jolt at roll-off) does not make a peak."""


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


@dataclass(frozen=True)
class PeakPower:
    """A run's highest power (observed, as the dyno read it) and the engine speed there."""

    power_hp: float
    rpm: float | None  # None: no rpm reading at the peak

    def corrected_hp(self, factor: float | None) -> float | None:
        """The peak times a weather correction factor (SAE J1349); None without one."""
        if factor is None or not math.isfinite(factor) or factor <= 0:
            return None
        return self.power_hp * factor


def peak_power(power: np.ndarray, rpm: np.ndarray | None = None) -> PeakPower | None:
    """The highest power of a run (its ``power_hp`` samples) over a running median of
    ``PEAK_MEDIAN_SAMPLES`` readings (NaN readings skipped), with ``rpm`` there; None when the
    run has no power reading at all."""
    values = np.asarray(power, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size == 0:
        return None
    readings = values[finite]
    if readings.size >= PEAK_MEDIAN_SAMPLES:
        windows = np.lib.stride_tricks.sliding_window_view(readings, PEAK_MEDIAN_SAMPLES)
        smooth = np.median(windows, axis=1)
        best = int(np.argmax(smooth))
        peak, at = float(smooth[best]), int(finite[best + PEAK_MEDIAN_SAMPLES // 2])
    else:
        best = int(np.argmax(readings))
        peak, at = float(readings[best]), int(finite[best])
    speed = None
    if rpm is not None:
        reading = float(np.asarray(rpm, dtype=np.float64)[at])
        speed = reading if math.isfinite(reading) else None
    return PeakPower(peak, speed)
