"""Two tables side by side, cell by cell: a version against the current table, front against rear.

Qt-free so the history view, reports and tests share one rule: a cell-by-cell comparison only
means something when both tables have the same axes (the same breakpoints in the same order);
otherwise the caller is told what differs instead. The % change of a cell is relative to the
first table's value (its magnitude, so a negative spark value still reads in the right
direction); it has none where that value is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.table import FloatArray, Table
from dynoai_desktop.core.tune import (
    AFR_TARGET,
    SPARK_FRONT,
    SPARK_REAR,
    VE_FRONT_MAP,
    VE_FRONT_TPS,
    VE_REAR_MAP,
    VE_REAR_TPS,
)

_LOAD_WORDS = {"map_kpa": "MAP (kPa)", "tps_pct": "throttle (%)"}
# Colour scales a diff is drawn on: the smallest that holds its largest change.
_SCALE_STEPS_PCT = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)

FRONT_REAR_PAIRS: tuple[tuple[str, str], ...] = (
    (VE_FRONT_MAP, VE_REAR_MAP),
    (VE_FRONT_TPS, VE_REAR_TPS),
    (SPARK_FRONT, SPARK_REAR),
)
"""Tables a V-twin has once per cylinder, front first."""


@dataclass(frozen=True, eq=False)
class TableComparison:
    """``after`` against ``before``, cell by cell, in their (shared) raw layout."""

    before: Table
    after: Table
    delta: FloatArray  # after - before, per raw cell
    change_pct: FloatArray  # delta / |before| * 100; NaN where before is 0 and the cell moved

    @property
    def changed(self) -> np.ndarray:
        """Boolean mask of the cells whose value differs."""
        return self.delta != 0

    @property
    def n_changed(self) -> int:
        return int(self.changed.sum())

    @property
    def largest_pct(self) -> float:
        """The largest % change by size, with its sign (0.0 when nothing has a % change)."""
        finite = np.where(np.isfinite(self.change_pct), self.change_pct, 0.0)
        if not finite.size:
            return 0.0
        return float(finite.flat[int(np.argmax(np.abs(finite)))])

    @property
    def scale_pct(self) -> float:
        """Colour-scale half-width in %: the smallest of 1, 2, 5, 10, 20, 50, 100 % that holds
        the largest change (100 % beyond that; colours saturate there)."""
        return colour_scale_pct(abs(self.largest_pct))


def colour_scale_pct(largest_abs_pct: float) -> float:
    """The colour scale (± %) for a diff whose largest change is ``largest_abs_pct``."""
    for step in _SCALE_STEPS_PCT:
        if largest_abs_pct <= step:
            return step
    return _SCALE_STEPS_PCT[-1]


def axes_difference(before: Table, after: Table) -> str:
    """Why two tables cannot be compared cell by cell, in words; "" when their axes match."""
    if before.row_axis != after.row_axis or before.col_axis != after.col_axis:
        return (f"the load axis differs: {_LOAD_WORDS.get(before.col_axis, before.col_axis)} "
                f"against {_LOAD_WORDS.get(after.col_axis, after.col_axis)}")
    if before.shape != after.shape:
        (r0, c0), (r1, c1) = before.shape, after.shape
        return (f"the grids differ: {r0} rpm rows × {c0} load columns against "
                f"{r1} × {c1}")
    for what, a, b in (("rpm", before.row_breakpoints, after.row_breakpoints),
                       ("load", before.col_breakpoints, after.col_breakpoints)):
        bad = np.flatnonzero(a != b)
        if bad.size:
            i = int(bad[0])
            return (f"the {what} breakpoints differ: #{i + 1} is {a[i]:g} against {b[i]:g}")
    return ""


def compare_tables(before: Table, after: Table) -> TableComparison | None:
    """``after`` against ``before`` cell by cell; None when their axes differ
    (:func:`axes_difference` says how)."""
    if axes_difference(before, after):
        return None
    delta = after.values - before.values
    base = np.abs(before.values)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base > 0, delta / np.where(base > 0, base, 1.0) * 100.0, np.nan)
    pct = np.where(delta == 0, 0.0, pct)  # an unchanged 0 cell is 0 %, not unknown
    return TableComparison(before, after, delta, pct)


def change_words(table: Table) -> tuple[str, str]:
    """What a lower and a higher value mean for this table, in the tuner's words.

    More VE is more fuel (richer); a higher AFR target is leaner; more spark is more advance.
    """
    name = table.name.lower()
    if name.startswith("ve ") or name.startswith("ve("):
        return "lower · leaner", "higher · richer"
    if table.name == AFR_TARGET or table.units.upper() == "AFR":
        return "lower AFR · richer", "higher AFR · leaner"
    if name.startswith("spark"):
        return "less advance", "more advance"
    return "lower", "higher"


def front_rear_pair(name: str) -> tuple[str, str] | None:
    """The (front, rear) table names of the per-cylinder pair ``name`` belongs to, else None."""
    for pair in FRONT_REAR_PAIRS:
        if name in pair:
            return pair
    return None
