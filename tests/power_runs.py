"""Run files of dyno pulls for the comparison tests: synthetic WOT pulls with a torque curve
known by hand (a parabola), written as real run files with their weather."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynoai_desktop.core.power import HP_PER_FTLB_RPM
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.run_files import RunMetadata, write_run

STANDARD_DAY = Weather(99.0, 25.0, 0.0)  # SAE J1349's reference air: factor 1
HOT_HIGH = Weather(90.0, 35.0, 40.0)  # a hot day up high: the factor is well above 1
TORQUE_DROP = 5e-6  # ft-lb per rpm² away from the torque peak


def pulls_frame(pulls: list[tuple[float, float]], peak_ftlb: float = 100.0,
                peak_rpm: float = 3500.0, rate_hz: float = 50.0) -> pd.DataFrame:
    """Idle, then each (from, to) rpm pull at WOT rising 400 rpm/s, a chop and the roll-down.
    WOT torque is ``peak_ftlb - TORQUE_DROP·(rpm - peak_rpm)²``; AFR 12.8 front, 12.6 rear."""
    rpm_parts, tps_parts = [], []
    for rpm_from, rpm_to in pulls:
        idle = np.full(int(3 * rate_hz), 1000.0)
        ramp_in = np.linspace(1000.0, rpm_from, int(2 * rate_hz))
        rise = np.arange(rpm_from, rpm_to + 1.0, 400.0 / rate_hz)
        down = np.linspace(rise[-1] - 20.0, 1000.0, int(4 * rate_hz))
        rpm_parts += [idle, ramp_in, rise, down]
        tps_parts += [np.full(idle.size, 2.0), np.full(ramp_in.size, 20.0),
                      np.full(rise.size, 100.0), np.full(down.size, 0.0)]
    rpm, tps = np.concatenate(rpm_parts), np.concatenate(tps_parts)
    wot = tps > 90
    torque = np.where(wot, peak_ftlb - TORQUE_DROP * (rpm - peak_rpm) ** 2, 10.0)
    return pd.DataFrame({
        "time_s": np.arange(rpm.size) / rate_hz, "rpm": rpm, "tps_pct": tps,
        "torque_ftlb": torque, "power_hp": torque * rpm * HP_PER_FTLB_RPM,
        "afr_front": np.where(wot, 12.8, 14.5), "afr_rear": np.where(wot, 12.6, 14.5),
    })


def run_file(folder: Path, name: str, frame: pd.DataFrame, weather: Weather = STANDARD_DAY
             ) -> Path:
    path = folder / f"{name.replace(' ', '_')}.parquet"
    write_run(path, frame, RunMetadata(name=name, started_at="2026-11-22T10:00:00",
                                       weather=weather))
    return path


def peak_power_hp(peak_ftlb: float, peak_rpm: float, rpm_from: float, rpm_to: float) -> float:
    rpm = np.arange(rpm_from, rpm_to + 1.0, 1.0)
    return float(np.max((peak_ftlb - TORQUE_DROP * (rpm - peak_rpm) ** 2) * rpm * HP_PER_FTLB_RPM))


# Four runs of different rpm ranges (and tunes): name, pull, torque peak, its rpm.
FOUR = (
    ("Base map", (2000.0, 5500.0), 100.0, 3500.0),
    ("After autotune", (2500.0, 6000.0), 104.0, 3500.0),
    ("Stage 2 cam", (3000.0, 6200.0), 112.0, 4200.0),
    ("Short pull", (3500.0, 4800.0), 101.0, 3600.0),
)




def four_run_files(folder: Path, weather: Weather = STANDARD_DAY) -> list[Path]:
    """The four runs of FOUR, as run files in ``folder``."""
    return [run_file(folder, name, pulls_frame([span], peak, at), weather)
            for name, span, peak, at in FOUR]
