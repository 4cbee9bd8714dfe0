"""What a tuning session changed in the tune, as the customer's sheet summarises it: per table,
how many cells moved and by how much, by the regions of the map a tuner talks about.

The regions split a VE table's cells (each cell goes to exactly one, by its breakpoints):

- **Idle**: below 1,500 rpm, any load;
- **Decel**: 1,500 rpm and up, MAP below 35 kPa (closed throttle: the decel-pop cells);
- **Cruise**: MAP 35 to 70 kPa (steady riding and light acceleration);
- **Mid load**: MAP 70 to 90 kPa;
- **WOT**: MAP 90 kPa and up (wide open: what the dyno pulls read).

A TPS-based table gets the same bands on throttle: closed below 2 %, cruise 2–25 %, mid load
25–60 %, WOT 60 % and up. A cell's % change is relative to its value before (its magnitude);
"mean" is over the changed cells, with its sign (VE up is richer). Tables are compared in their
normalised view (ascending, a repeated padding breakpoint counted once), the cells the ECM uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.table import FloatArray, Table
from dynoai_desktop.core.table_compare import axes_difference, front_rear_pair
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_FRONT_TPS, VE_REAR_MAP, VE_REAR_TPS

IDLE_BELOW_RPM = 1500.0
# Load bounds (decel | cruise | mid load | WOT) per load axis.
LOAD_BOUNDS = {"map_kpa": (35.0, 70.0, 90.0), "tps_pct": (2.0, 25.0, 60.0)}
_UNIT = {"map_kpa": "kPa", "tps_pct": "%"}
_LOAD = {"map_kpa": "MAP", "tps_pct": "throttle"}

VE_PAIRS = ((VE_FRONT_MAP, VE_REAR_MAP), (VE_FRONT_TPS, VE_REAR_TPS))
"""The VE tables a sheet maps cell by cell, front then rear, MAP-based first."""


@dataclass(frozen=True)
class Region:
    """One band of the map, with the words that say where it is."""

    name: str
    where: str


def regions(load_channel: str) -> tuple[Region, ...]:
    """The sheet's regions of a table over ``load_channel``, in the order they are listed."""
    decel, cruise, mid = LOAD_BOUNDS[load_channel]
    unit, load = _UNIT[load_channel], _LOAD[load_channel]
    return (
        Region("Idle", f"below {IDLE_BELOW_RPM:,.0f} rpm"),
        Region("Decel", f"{load} below {decel:g} {unit}"),
        Region("Cruise", f"{load} {decel:g}–{cruise:g} {unit}"),
        Region("Mid load", f"{load} {cruise:g}–{mid:g} {unit}"),
        Region("WOT", f"{load} {mid:g} {unit} and up"),
    )


def region_of_cells(rpm: FloatArray, load: FloatArray, load_channel: str) -> np.ndarray:
    """Index into :func:`regions` of each cell of an rpm x load grid (rows x columns)."""
    decel, cruise, mid = LOAD_BOUNDS[load_channel]
    by_load = np.searchsorted(np.array([decel, cruise, mid]), load, side="right") + 1
    index = np.broadcast_to(by_load[None, :], (rpm.size, load.size)).copy()
    index[rpm < IDLE_BELOW_RPM, :] = 0
    return index


@dataclass(frozen=True)
class RegionChange:
    """The cells of one region: how many, how many changed, the mean and the largest % change
    of those that changed (NaN when none did)."""

    region: Region
    cells: int
    changed: int
    mean_pct: float
    largest_pct: float


@dataclass(frozen=True, eq=False)
class TableChange:
    """One table after against before, on its normalised grid."""

    name: str
    load_channel: str
    rpm: FloatArray
    load: FloatArray
    change_pct: FloatArray  # (after - before) / |before| * 100; 0 where unchanged
    by_region: tuple[RegionChange, ...]

    @property
    def cells(self) -> int:
        return int(self.change_pct.size)

    @property
    def changed_mask(self) -> np.ndarray:
        return self.change_pct != 0

    @property
    def changed(self) -> int:
        return int(self.changed_mask.sum())

    @property
    def mean_pct(self) -> float:
        return _mean(self.change_pct[self.changed_mask])

    @property
    def largest_pct(self) -> float:
        return _largest(self.change_pct[self.changed_mask])

    @property
    def cylinder(self) -> str:
        """'Front' or 'Rear' for a per-cylinder table, else the table's name."""
        pair = front_rear_pair(self.name)
        if pair is None:
            return self.name
        return "Front" if self.name == pair[0] else "Rear"


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _largest(values: np.ndarray) -> float:
    """The largest change by size, with its sign."""
    finite = values[np.isfinite(values)]
    return float(finite[np.argmax(np.abs(finite))]) if finite.size else math.nan


def table_change(before: Table, after: Table) -> TableChange | None:
    """``after`` against ``before`` by region; None when their axes differ (the cells do not
    correspond: ``core.table_compare.axes_difference`` says how)."""
    if axes_difference(before, after):
        return None
    old, new = before.normalised(), after.normalised()
    base = np.abs(old.values)
    delta = new.values - old.values
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base > 0, delta / np.where(base > 0, base, 1.0) * 100.0, np.nan)
    pct = np.where(delta == 0, 0.0, pct)
    where = region_of_cells(old.row_breakpoints, old.col_breakpoints, before.col_axis)
    by_region = []
    for k, region in enumerate(regions(before.col_axis)):
        inside = where == k
        moved = pct[inside & (pct != 0)]
        by_region.append(RegionChange(region, int(inside.sum()), int(moved.size), _mean(moved),
                                      _largest(moved)))
    return TableChange(after.name, before.col_axis, old.row_breakpoints.copy(),
                       old.col_breakpoints.copy(), pct, tuple(by_region))


@dataclass(frozen=True, eq=False)
class TuneChanges:
    """What changed from one version of a tune to another: the VE tables cell by cell (front,
    rear), and a line for each other table that changed."""

    ve: tuple[TableChange, ...]
    other_lines: tuple[str, ...]

    @property
    def nothing(self) -> bool:
        return not self.other_lines and all(c.changed == 0 for c in self.ve)


def tune_changes(before: Mapping[str, Table], after: Mapping[str, Table]) -> TuneChanges:
    """The changes from ``before`` to ``after`` (tables by name): the first VE pair both hold
    (MAP-based, else TPS-based) by region, every other table that differs in one line."""
    ve: list[TableChange] = []
    mapped: set[str] = set()
    for pair in VE_PAIRS:
        if not ve and all(n in before and n in after for n in pair):
            for name in pair:
                change = table_change(before[name], after[name])
                if change is not None:
                    ve.append(change)
                    mapped.add(name)
    lines = []
    for name in dict.fromkeys([*before, *after]):
        if name in mapped:
            continue
        old, new = before.get(name), after.get(name)
        if old is None:
            lines.append(f"{name}: added")
        elif new is None:
            lines.append(f"{name}: removed")
        elif old != new:
            change = table_change(old, new)
            lines.append(f"{name}: {axes_difference(old, new)}" if change is None
                         else f"{name}: {change_words(change)}")
    return TuneChanges(tuple(ve), tuple(lines))


def format_pct(value: float) -> str:
    """'+3.2 %', '−1.0 %' (a true minus sign), '—' for none."""
    if math.isnan(value):
        return "—"
    text = f"{value:+.1f} %"
    return text.replace("-", "−")


def change_words(change: TableChange) -> str:
    """'41 of 336 cells changed, mean +3.2 %, largest +9.8 %' (or 'no cell changed')."""
    if change.changed == 0:
        return "no cell changed"
    return (f"{change.changed} of {change.cells} cells changed, mean "
            f"{format_pct(change.mean_pct)}, largest {format_pct(change.largest_pct)}")
