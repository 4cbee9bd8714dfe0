"""The VE surface's statistics, for a real tune's VE tables and for simulated bikes alike.

docs/simulator.md §3.4 compares the real TC110 tune (a Power Vision export, vtwin.md §3) with 20
simulated bikes of the matching build on these figures, each computed the same way on the same
axes (the real tune's own rows and columns):

* **light-load VE range**: the lowest and highest table VE, both cylinders, over the cells at
  19-40 kPa (the columns 19.9-39.9 of the real table: cruise and light throttle; the 10 and
  15 kPa columns are closed-throttle decel cells) and 1000-6000 rpm (idle to the rev limiter's
  threshold; the real table's rows above 6000 are untouched filler);
* **rear-front spread**: the standard deviation of 100 · (rear / front − 1) over the common
  cells at 19-105 kPa, 1000-6000 rpm;
* **roughness**: the RMS of the second difference of the VE surface along rpm (row to row) and
  along MAP (column to column), each relative to the middle cell, in %, both cylinders, over the
  same cells.

Tables here are ``core.table.Table`` objects: the caller reads the tune (storage) and passes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.table import Table
from dynoai_desktop.sim.engine import FRONT, REAR, EngineModel
from dynoai_desktop.sim.presets import EnginePreset

STATS_RPM_RANGE = (1000.0, 6000.0)
STATS_MIN_KPA, LIGHT_LOAD_MAX_KPA = 19.0, 40.0
REAL_TUNE_SEEDS = tuple(range(1, 21))  # the bikes compared with the real tune


@dataclass(frozen=True)
class VeSurfaceFigures:
    """One VE surface's statistics (definitions in the module docstring)."""

    light_load_min_pct: float
    light_load_max_pct: float
    rear_minus_front_sd_pct: float
    roughness_rpm_pct: float
    roughness_map_pct: float

    @staticmethod
    def labels() -> dict[str, str]:
        """Field name -> what a tuner calls it, with units."""
        return {
            "light_load_min_pct": "light-load VE, lowest (%)",
            "light_load_max_pct": "light-load VE, highest (%)",
            "rear_minus_front_sd_pct": "rear-front spread, SD (%)",
            "roughness_rpm_pct": "roughness along rpm, 2nd-diff RMS (%)",
            "roughness_map_pct": "roughness along MAP, 2nd-diff RMS (%)",
        }


def stats_axes(table: Table) -> tuple[np.ndarray, np.ndarray]:
    """The rows (rpm) and columns (kPa) of ``table`` the statistics use: distinct, in range."""
    rpm = np.unique(table.row_breakpoints)
    kpa = np.unique(table.col_breakpoints)
    lo, hi = STATS_RPM_RANGE
    return rpm[(rpm >= lo) & (rpm <= hi)], kpa[kpa >= STATS_MIN_KPA]


def cells(table: Table, rpm: np.ndarray, kpa: np.ndarray) -> np.ndarray:
    """The table's values at exactly these breakpoints (the first of a repeated row)."""
    rows = [int(np.flatnonzero(table.row_breakpoints == r)[0]) for r in rpm]
    cols = [int(np.flatnonzero(table.col_breakpoints == k)[0]) for k in kpa]
    return np.asarray(table.values, float)[np.ix_(rows, cols)]


def _second_difference_rms_pct(values: np.ndarray, axis: int) -> float:
    v = np.moveaxis(values, axis, 0)
    d2 = (v[2:] - 2.0 * v[1:-1] + v[:-2]) / v[1:-1]
    return float(100.0 * np.sqrt(np.mean(d2 * d2)))


def surface_figures(kpa: np.ndarray, front: np.ndarray, rear: np.ndarray) -> VeSurfaceFigures:
    """The figures of a VE surface pair given on (rpm rows × ``kpa`` columns)."""
    light = kpa <= LIGHT_LOAD_MAX_KPA
    light_cells = np.concatenate([front[:, light].ravel(), rear[:, light].ravel()])
    spread = 100.0 * (rear / front - 1.0)
    return VeSurfaceFigures(
        light_load_min_pct=float(light_cells.min()),
        light_load_max_pct=float(light_cells.max()),
        rear_minus_front_sd_pct=float(spread.std()),
        roughness_rpm_pct=0.5 * (_second_difference_rms_pct(front, 0)
                                 + _second_difference_rms_pct(rear, 0)),
        roughness_map_pct=0.5 * (_second_difference_rms_pct(front, 1)
                                 + _second_difference_rms_pct(rear, 1)),
    )


def tune_figures(front: Table, rear: Table) -> VeSurfaceFigures:
    """The figures of a tune's MAP-based VE tables (front, rear) on their own axes."""
    rpm, kpa = stats_axes(front)
    return surface_figures(kpa, cells(front, rpm, kpa), cells(rear, rpm, kpa))


def engine_surfaces(engine: EngineModel, rpm: np.ndarray, kpa: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """A simulated bike's true VE (table scale), front and rear, on (``rpm`` × ``kpa``)."""
    front = np.array([[engine.ve_true(FRONT, r, k) for k in kpa] for r in rpm])
    rear = np.array([[engine.ve_true(REAR, r, k) for k in kpa] for r in rpm])
    return front, rear


def bike_figures(preset: EnginePreset, bike_seeds: Iterable[int], rpm: np.ndarray,
                 kpa: np.ndarray, baro_kpa: float | None = None) -> list[VeSurfaceFigures]:
    """The figures of each simulated bike of ``preset``, sampled on the given axes."""
    out = []
    for seed in bike_seeds:
        engine = EngineModel(preset, baro_kpa, bike_seed=seed)
        out.append(surface_figures(kpa, *engine_surfaces(engine, rpm, kpa)))
    return out


@dataclass(frozen=True)
class FigureComparison:
    """A real figure against the simulated bikes' 5th, 50th and 95th percentiles."""

    name: str
    label: str
    real: float
    p5: float
    p50: float
    p95: float

    @property
    def inside(self) -> bool:
        return self.p5 <= self.real <= self.p95


def compare(real: VeSurfaceFigures, bikes: list[VeSurfaceFigures]) -> list[FigureComparison]:
    """Each real figure with the bikes' percentiles (linear interpolation, numpy's default)."""
    out = []
    for name, label in VeSurfaceFigures.labels().items():
        values = np.array([getattr(b, name) for b in bikes])
        p5, p50, p95 = (float(x) for x in np.percentile(values, [5.0, 50.0, 95.0]))
        out.append(FigureComparison(name, label, float(getattr(real, name)), p5, p50, p95))
    return out


def table_ve_scale_fit(front: Table, rear: Table, nominal: EngineModel
                       ) -> list[tuple[float, float]]:
    """(kPa, real table VE / simulated physical VE) per column: how TABLE_VE_SCALE is derived.

    Both are means over the statistics' rows and both cylinders; ``nominal`` is the build's
    average bike (no scatter), so the fit sees the build, not one bike's bumps.
    """
    rpm, kpa = stats_axes(front)
    real = 0.5 * (cells(front, rpm, kpa).mean(axis=0) + cells(rear, rpm, kpa).mean(axis=0))
    phys = np.array([[0.5 * (nominal.ve_physical(FRONT, r, k) + nominal.ve_physical(REAR, r, k))
                      for k in kpa] for r in rpm]).mean(axis=0)
    return [(float(k), float(a / b)) for k, a, b in zip(kpa, real, phys, strict=True)]
