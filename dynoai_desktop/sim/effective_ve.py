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
from dynoai_desktop.core.units import GASOLINE_STOICH_AFR
from dynoai_desktop.sim.ecm import EcmOutput
from dynoai_desktop.sim.plans import Setpoint


def _corners(axis: Sequence[float], x: float) -> tuple[int, int, float]:
    """Indices below/above ``x`` on ``axis`` and the weight of the upper one (edge-clamped)."""
    if x <= axis[0]:
        return 0, 0, 0.0
    if x >= axis[-1]:
        last = len(axis) - 1
        return last, last, 0.0
    i = bisect_right(axis, x)
    return i - 1, i, (x - axis[i - 1]) / (axis[i] - axis[i - 1])


def counts_for_effective_ve(sp: Setpoint, out: EcmOutput, ve_mode: str) -> bool:
    """A moment a correct autotune would keep (once the throttle has been still for a while:
    the cell's part): a settled hold or idle, or a WOT pull on the roller; no accel/decel
    enrichment, fuel cut or hot-idle cuts; MAP-based fuelling."""
    if ve_mode != "map" or out.fuel_cut or out.enrichment_active or out.hot_idle_phase >= 4:
        return False
    in_pull = (sp.target_rpm is None and not sp.clutch_in and sp.tps_pct is not None
               and sp.tps_pct >= 90.0)
    return sp.steady or in_pull


class EffectiveVe:
    """Accumulates steady samples on an rpm x MAP grid."""

    def __init__(self, rpm: Sequence[float], map_kpa: Sequence[float],
                 ve_tables: tuple[Table, Table]) -> None:
        self.rpm = [float(r) for r in rpm]
        self.map_kpa = [float(m) for m in map_kpa]
        self.ve_tables = ve_tables
        """The VE tables the ECM fuelled with (front, rear), MAP-based."""
        # Plain lists: ``add`` runs every step, and numpy is slow one element at a time.
        rows, cols = len(self.rpm), len(self.map_kpa)
        self._weight = [[0.0] * cols for _ in range(rows)]
        self._ve = [[[0.0] * cols for _ in range(rows)] for _ in range(2)]
        self._lean = [[[0.0] * cols for _ in range(rows)] for _ in range(2)]

    def add(self, dt: float, rpm: float, map_read_kpa: float, need: tuple[float, ...],
            false_lean: tuple[float, float]) -> None:
        """One sample of ``dt`` seconds where the ECM looked up (rpm, MAP read) and the VE it
        found was off by ``need`` (per cylinder; 1: on target)."""
        r0, r1, wr = _corners(self.rpm, rpm)
        m0, m1, wm = _corners(self.map_kpa, map_read_kpa)
        (ve_front, ve_rear), (lean_front, lean_rear) = self._ve, self._lean
        for r, w_r in ((r0, 1.0 - wr), (r1, wr)):
            for m, w_m in ((m0, 1.0 - wm), (m1, wm)):
                w = w_r * w_m * dt
                if w <= 0.0:
                    continue
                self._weight[r][m] += w
                ve_front[r][m] += w * need[0]
                ve_rear[r][m] += w * need[1]
                lean_front[r][m] += w * false_lean[0]
                lean_rear[r][m] += w * false_lean[1]

    def add_burned(self, dt: float, rpm: float, map_read_kpa: float, afr_target: float,
                   lambdas: list[float], trims_pct: tuple[float, float],
                   false_lean: list[float], max_true_lambda: float) -> None:
        """``add`` what burned (λ per cylinder, ``lambdas``) with the closed-loop trims: by how
        much the table VE the ECM looked up missed what would have put it on ``afr_target``.
        Nothing while a cylinder burns nothing (λ past ``max_true_lambda``)."""
        if max(lambdas) > max_true_lambda:
            return
        wanted = afr_target / GASOLINE_STOICH_AFR
        need = ((1.0 + trims_pct[0] / 100.0) * lambdas[0] / wanted,
                (1.0 + trims_pct[1] / 100.0) * lambdas[1] / wanted)
        self.add(dt, rpm, map_read_kpa, need, (false_lean[0], false_lean[1]))

    def tables(self) -> dict[str, Any]:
        """The truth's ``ve_effective`` entry: per cylinder VE (null where never visited)."""
        weight = np.array(self._weight)
        visited = weight > 0.0
        out: dict[str, Any] = {"rpm": self.rpm, "map_kpa": self.map_kpa}
        rpm, kpa = np.meshgrid(self.rpm, self.map_kpa, indexing="ij")
        for c, name in enumerate(("front", "rear")):
            need = np.divide(self._ve[c], weight, out=np.full_like(weight, np.nan),
                             where=visited)
            ve = np.asarray(self.ve_tables[c].lookup(rpm, kpa), dtype=np.float64) * need
            lean = np.divide(self._lean[c], weight, out=np.full_like(weight, np.nan),
                             where=visited)
            out[name] = {
                "name": f"effective VE ({name})", "units": "%", "rpm": self.rpm,
                "map_kpa": self.map_kpa, "values": _nulls(np.round(ve, 2)),
                "wideband_reads_lean_pct": _nulls(np.round(100 * lean, 2)),
            }
        out["weight_s"] = np.round(weight, 3).tolist()
        return out


def _nulls(values: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(v) else float(v) for v in row] for row in values]
