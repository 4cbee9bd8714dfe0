"""Synthetic logs for the autotune tests: 100 Hz, canonical channels, steady unless told."""

from __future__ import annotations

from typing import Any

import numpy as np

from dynoai_desktop.core.autotune import LogData
from dynoai_desktop.core.table import Table

RATE_HZ = 100.0
RPM = [1000.0, 2000.0, 3000.0, 4000.0, 5000.0]
MAP = [20.0, 40.0, 60.0, 80.0, 100.0]


def ve_table(name: str = "VE front", col_axis: str = "map_kpa") -> Table:
    """A 5 x 5 VE table with values that are not round (so bitwise checks mean something)."""
    values = 40.0 + np.arange(25, dtype=float).reshape(5, 5) / 3.0
    cols = MAP if col_axis == "map_kpa" else [0.0, 25.0, 50.0, 75.0, 100.0]
    return Table(name, "%", "rpm", col_axis, RPM, cols, values)


def steady_log(seconds: float = 10.0, *, rpm: Any = 3000.0, map_kpa: Any = 60.0,
               tps: Any = 40.0, afr: Any = 13.0, target: Any = 13.0, t0: float = 0.0,
               name: str = "log", noise_afr: float = 0.03, **extra: Any) -> LogData:
    """A log at 100 Hz; each channel a constant or an array (same length)."""
    n = int(round(seconds * RATE_HZ))
    t = t0 + np.arange(n) / RATE_HZ

    def col(v: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()

    cols = {"time_s": t, "rpm": col(rpm), "map_kpa": col(map_kpa), "tps_pct": col(tps),
            "afr_front": col(afr), "afr_rear": col(afr), "afr_front_status": col(0.0),
            "afr_rear_status": col(0.0), "afr_target": col(target),
            "engine_temp_c": col(100.0), "baro_kpa": col(100.0)}
    for key, value in extra.items():
        cols[key] = col(value)
    # A little sensor noise so nothing reads as stuck, reproducibly.
    noise = np.random.default_rng(7).normal(0.0, noise_afr, n)
    cols["afr_front"] = cols["afr_front"] + noise
    cols["afr_rear"] = cols["afr_rear"] + noise
    return LogData(name, cols)
