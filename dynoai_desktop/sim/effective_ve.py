"""The VE each table cell needs in the run's own conditions, from what the run visited.

The true VE is what a perfect table holds at a 90 °C head with an IAT sensor that reads the
charge and a MAP sensor that reads true, in steady state. On a real run the IAT sensor reads
hotter than the charge after a heat soak (the ECM under-fuels), a hot head heats the charge in
the port, the MAP sensor has its offset, warm-up enrichment adds fuel, and in a sweep the port
wall film grows with the fuel flow and holds some back. At a moment, the table VE the ECM looked
up was off by the factor

    need = (1 + closed-loop trim) · λ_burned / λ_target

(1: the burning mixture was on target), which in steady state is VE_true · (MAP / MAP_read) ·
(T_iat_sensor / T_charge) / fuel_scale / VE_table (the ECM's own equation, ``sim.mixture``).
The cell adds the samples a correct autotune would keep: settled holds and idle, and WOT pulls
on the roller; never accel/decel enrichment, fuel cut or hot-idle cuts. Each spreads over the
four cells around the point the ECM looked up (rpm, MAP *read*) with its bilinear weights, as a
table lookup does, and a cell's effective VE is the loaded table's value there × the weighted
mean of its samples' ``need``. So a table whose lookups put every visited moment on target is
its own effective VE, even where the run only passed between breakpoints (a WOT pull at 97 kPa
below a 100 kPa row). ``weight_s`` says how much time went into a cell (0: never visited, its
VE is null). ``wideband_reads_lean_pct`` is the weighted mean of how much leaner the wideband
read than what burned there (cam reversion at idle and light load): an autotune that trusts the
wideband there lands that much rich of the effective VE.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import numpy as np

from dynoai_desktop.core.table import Table


def _corners(axis: Sequence[float], x: float) -> tuple[int, int, float]:
    """Indices below/above ``x`` on ``axis`` and the weight of the upper one (edge-clamped)."""
    if x <= axis[0]:
        return 0, 0, 0.0
    if x >= axis[-1]:
        last = len(axis) - 1
        return last, last, 0.0
    i = bisect_right(axis, x)
    return i - 1, i, (x - axis[i - 1]) / (axis[i] - axis[i - 1])


class EffectiveVe:
    """Accumulates steady samples on an rpm x MAP grid."""

    def __init__(self, rpm: Sequence[float], map_kpa: Sequence[float],
                 ve_tables: tuple[Table, Table]) -> None:
        self.rpm = [float(r) for r in rpm]
        self.map_kpa = [float(m) for m in map_kpa]
        self.ve_tables = ve_tables
        """The VE tables the ECM fuelled with (front, rear), MAP-based."""
        shape = (len(self.rpm), len(self.map_kpa))
        self._weight = np.zeros(shape)
        self._ve = [np.zeros(shape), np.zeros(shape)]
        self._lean = [np.zeros(shape), np.zeros(shape)]

    def add(self, dt: float, rpm: float, map_read_kpa: float, need: tuple[float, ...],
            false_lean: tuple[float, float]) -> None:
        """One sample of ``dt`` seconds where the ECM looked up (rpm, MAP read) and the VE it
        found was off by ``need`` (per cylinder; 1: on target)."""
        r0, r1, wr = _corners(self.rpm, rpm)
        m0, m1, wm = _corners(self.map_kpa, map_read_kpa)
        for r, w_r in ((r0, 1.0 - wr), (r1, wr)):
            for m, w_m in ((m0, 1.0 - wm), (m1, wm)):
                w = w_r * w_m * dt
                if w <= 0.0:
                    continue
                self._weight[r, m] += w
                for c in (0, 1):
                    self._ve[c][r, m] += w * need[c]
                    self._lean[c][r, m] += w * false_lean[c]

    def tables(self) -> dict[str, Any]:
        """The truth's ``ve_effective`` entry: per cylinder VE (null where never visited)."""
        visited = self._weight > 0.0
        out: dict[str, Any] = {"rpm": self.rpm, "map_kpa": self.map_kpa}
        rpm, kpa = np.meshgrid(self.rpm, self.map_kpa, indexing="ij")
        for c, name in enumerate(("front", "rear")):
            need = np.divide(self._ve[c], self._weight, out=np.full_like(self._weight, np.nan),
                             where=visited)
            ve = np.asarray(self.ve_tables[c].lookup(rpm, kpa), dtype=np.float64) * need
            lean = np.divide(self._lean[c], self._weight, out=np.full_like(self._weight, np.nan),
                             where=visited)
            out[name] = {
                "name": f"effective VE ({name})", "units": "%", "rpm": self.rpm,
                "map_kpa": self.map_kpa, "values": _nulls(np.round(ve, 2)),
                "wideband_reads_lean_pct": _nulls(np.round(100 * lean, 2)),
            }
        out["weight_s"] = np.round(self._weight, 3).tolist()
        return out


def _nulls(values: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(v) else float(v) for v in row] for row in values]
