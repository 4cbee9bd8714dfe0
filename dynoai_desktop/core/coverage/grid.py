"""Coverage of a VE table's cells: one run's good samples, and the sum over a vehicle's runs.

A **good sample** is one autotune would use: the engine warm, the throttle and MAP steady long
enough (a WOT pull's rising rpm kept), not decel or overrun, not a closed-loop trim, and the
cylinder's wideband reading valid (``core.autotune.filters``). Each good sample adds its bilinear
weight to the four cells around it (a sample at a cell's centre counts 1 there), exactly as
autotune bins it, so "covered" here means "autotune has enough to correct it". Raw hits count
every sample at its nearest cell, filtered or not, so a tuner sees where the bike *went* as well
as where it gave usable data.

:class:`VehicleCoverage` sums runs per table: a run counts once however often it is added, and a
run binned on other table axes is refused with a message (its weights would land in the wrong
cells).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune.binning import locate, place_corners
from dynoai_desktop.core.autotune.filters import (
    USABLE,
    afr_usable,
    engine_reasons,
    segments,
    with_dwell,
)
from dynoai_desktop.core.autotune.settings import CYLINDERS, AutotuneSettings
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LOAD_NAMES = {"map_kpa": ("MAP", "kPa"), "tps_pct": ("throttle", "%")}
"""A load axis's name and unit in the tuner's words."""


@dataclass(frozen=True, eq=False)
class CoverageAxes:
    """The grid coverage is kept on: a table's normalised (ascending) breakpoints."""

    load_channel: str
    rpm: FloatArray
    load: FloatArray

    @classmethod
    def of_table(cls, table: Table) -> CoverageAxes:
        view = table.normalised()
        return cls(table.col_axis, np.asarray(view.row_breakpoints, dtype=np.float64),
                   np.asarray(view.col_breakpoints, dtype=np.float64))

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.rpm.size), int(self.load.size))

    def same_as(self, other: CoverageAxes) -> bool:
        return (self.load_channel == other.load_channel
                and np.array_equal(self.rpm, other.rpm)
                and np.array_equal(self.load, other.load))

    def describe(self) -> str:
        name, unit = LOAD_NAMES.get(self.load_channel, (self.load_channel, ""))
        return (f"rpm {self.rpm[0]:g}-{self.rpm[-1]:g} ({self.rpm.size} rows) x {name} "
                f"{self.load[0]:g}-{self.load[-1]:g} {unit} ({self.load.size} columns)")

    def table(self, name: str = "coverage") -> Table:
        """A blank table on these axes (what ``locate`` bins onto)."""
        return Table(name, "", "rpm", self.load_channel, self.rpm, self.load,
                     np.zeros(self.shape))


@dataclass(frozen=True, eq=False)
class RunCoverage:
    """One run's contribution to one table: good-sample weight and raw hits per cell."""

    axes: CoverageAxes
    weight: FloatArray
    hits: IntArray
    good_samples: int = 0
    seconds: float = 0.0
    """How long the run lasted (its first to last time_s)."""


def good_samples(columns: Mapping[str, FloatArray], cylinder: str,
                 settings: AutotuneSettings) -> BoolArray:
    """Per sample: would autotune use it for ``cylinder`` (``front``/``rear``)?"""
    time_s = np.asarray(columns["time_s"], dtype=np.float64)
    n = time_s.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    seg = segments(time_s, settings.seam_gap_s)
    code, _wot = engine_reasons(dict(columns), seg, settings)
    code = with_dwell(code, time_s, seg, settings.min_dwell_s)
    good = code == USABLE
    afr = columns.get(f"afr_{cylinder}")
    ok, _why = afr_usable(None if afr is None else np.asarray(afr, dtype=np.float64),
                          columns.get(f"afr_{cylinder}_status"), n, settings)
    good &= ok
    trim = columns.get(f"cl_trim_{cylinder}_pct")
    if trim is not None:
        good &= ~np.isfinite(np.asarray(trim, dtype=np.float64))
    return good


def run_coverage(columns: Mapping[str, FloatArray], axes: CoverageAxes, cylinder: str,
                 settings: AutotuneSettings | None = None, source: str = "the log",
                 counted_s: tuple[float, float] | None = None) -> RunCoverage:
    """One run's coverage of a table on ``axes`` from the wideband of ``cylinder``.

    ``columns``: canonical channels (time_s, rpm, the load channel, afr_<cyl> and what the
    filters read when present). InputError naming ``source`` when a needed column is missing.
    ``counted_s``: count only the samples from the first time up to (not including) the second;
    the others only give the filters their context (a run counted piece by piece as it
    records: see ``LiveCoverage``).
    """
    settings = settings or AutotuneSettings()
    for needed in ("time_s", "rpm", axes.load_channel):
        if needed not in columns:
            raise InputError(f"{source}: no {needed} column, which coverage needs; "
                             "import a log that has it")
    time_s = np.asarray(columns["time_s"], dtype=np.float64)
    rpm = np.asarray(columns["rpm"], dtype=np.float64)
    load = np.asarray(columns[axes.load_channel], dtype=np.float64)
    size = axes.shape[0] * axes.shape[1]
    good = good_samples(columns, cylinder, settings)
    if counted_s is not None:
        with np.errstate(invalid="ignore"):
            inside = (time_s >= counted_s[0]) & (time_s < counted_s[1])
        rpm, load, good = np.where(inside, rpm, np.nan), np.where(inside, load, np.nan), \
            good & inside
    bins = locate(axes.table().normalised(), rpm, load)
    hits = np.bincount(bins.nearest, minlength=size).astype(np.int64)
    cells, weights = place_corners(bins.place, axes.shape)
    use = good[bins.located]
    weight = np.bincount(cells.ravel(), (weights * use).ravel(), minlength=size)
    finite = time_s[np.isfinite(time_s)]
    if counted_s is not None:
        finite = finite[(finite >= counted_s[0]) & (finite < counted_s[1])]
    seconds = float(finite[-1] - finite[0]) if finite.size > 1 else 0.0
    return RunCoverage(axes, weight.reshape(axes.shape), hits.reshape(axes.shape),
                       int(use.sum()), seconds)


def tables_coverage(columns: Mapping[str, FloatArray], tables: Mapping[str, Table],
                    settings: AutotuneSettings | None = None, source: str = "the log",
                    ) -> dict[str, RunCoverage]:
    """One run's coverage of each VE table (``ve_front``/``ve_rear``) by its cylinder."""
    out = {}
    for name, table in tables.items():
        cylinder = CYLINDERS.get(name)
        if cylinder is None:
            raise InputError(f"coverage is kept for {' and '.join(CYLINDERS)}; got {name!r}")
        out[name] = run_coverage(columns, CoverageAxes.of_table(table), cylinder, settings,
                                 source)
    return out


@dataclass
class TableCoverage:
    """The sum of a vehicle's runs over one table."""

    name: str
    axes: CoverageAxes
    weight: FloatArray = field(init=False)
    hits: IntArray = field(init=False)
    runs: list[str] = field(default_factory=list)
    """The runs counted, in the order they were added (their keys)."""

    def __post_init__(self) -> None:
        self.weight = np.zeros(self.axes.shape)
        self.hits = np.zeros(self.axes.shape, dtype=np.int64)

    def covered(self, min_weight: float) -> BoolArray:
        """Cells with enough good-sample weight for autotune."""
        return self.weight >= min_weight


class VehicleCoverage:
    """Coverage of every VE table of one vehicle, summed over its runs."""

    def __init__(self) -> None:
        self.tables: dict[str, TableCoverage] = {}

    def has(self, table: str, run_key: str) -> bool:
        entry = self.tables.get(table)
        return entry is not None and run_key in entry.runs

    def check(self, table: str, run_key: str, axes: CoverageAxes) -> None:
        """InputError when ``run_key``'s grid differs from what ``table`` is kept on."""
        entry = self.tables.get(table)
        if entry is not None and entry.runs and not entry.axes.same_as(axes):
            raise InputError(
                f"{run_key}: its {table} axes ({axes.describe()}) differ from the ones this "
                f"vehicle's coverage is kept on ({entry.axes.describe()}); reset the {table} "
                "coverage to start again on the new layout, or analyse the run with the tune "
                "it was logged on")

    def add(self, table: str, run_key: str, run: RunCoverage) -> bool:
        """Count ``run`` into ``table``; False (and nothing changes) when it is already counted.
        InputError when its axes differ from the table's."""
        if self.has(table, run_key):
            return False
        self.check(table, run_key, run.axes)
        entry = self.tables.get(table)
        if entry is None or not entry.runs:
            entry = self.tables[table] = TableCoverage(table, run.axes)
        entry.weight += run.weight
        entry.hits += run.hits
        entry.runs.append(run_key)
        return True

    def reset(self, table: str | None = None) -> None:
        """Forget every run of ``table`` (None: of every table)."""
        if table is None:
            self.tables.clear()
        else:
            self.tables.pop(table, None)

    def combined(self, tables: tuple[str, ...] = tuple(CYLINDERS)) -> TableCoverage | None:
        """The tables on one grid seen together: a cell's weight is the least of theirs (both
        cylinders must be covered) and its hits the most. None when none is kept; a table on
        other axes than the first is left out."""
        kept = [self.tables[t] for t in tables if t in self.tables and self.tables[t].runs]
        if not kept:
            return None
        first = kept[0]
        same = [t for t in kept if t.axes.same_as(first.axes)]
        out = TableCoverage("+".join(t.name for t in same), first.axes)
        out.weight = np.minimum.reduce([t.weight for t in same])
        out.hits = np.maximum.reduce([t.hits for t in same])
        out.runs = list(dict.fromkeys(r for t in same for r in t.runs))
        return out
