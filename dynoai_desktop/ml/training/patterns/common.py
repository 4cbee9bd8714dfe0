"""What the extractors share: a session's runs made safe to read, stretches of a mask, medians
that never warn, the table's regions, and the VE each cell of the table measured.

**Runs.** :func:`session_runs` gives every run's columns as float arrays of ``time_s``'s length,
rows in time order, rows without a time dropped; a column of another length or not numbers is
left out. A channel counts as logged only when it holds at least one finite value (a run file
keeps every canonical channel, all empty when it was not logged).

**Measured VE.** :func:`measure` runs autotune (``core.autotune``: its filters, wideband delay
and bilinear binning) over logs grouped by the VE tables they were fuelled from, and keeps each
cell's *measured* correction: the weighted mean of measured / target AFR there, before
autotune's table fit, authority limit and smoothing (those decide what to write into a table;
this is what the samples say). As the VE the cell needed (table value x that ratio) it pools over
groups fuelled from different tables.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune import AutotuneSettings, LogData, TableCorrection, autotune
from dynoai_desktop.core.autotune.settings import CYLINDERS
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.training.session_data import SessionData

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

VE_TABLES = tuple(CYLINDERS)
"""The VE tables patterns are measured on: ``ve_front`` and ``ve_rear``."""


# ------------------------------------------------------------------------ runs
@dataclass(frozen=True, eq=False)
class Run:
    """One run of the session, safe to compute on."""

    name: str
    kind: str
    columns: dict[str, FloatArray]
    """Float columns of one length, rows in time order (``time_s`` always there)."""
    tables: Mapping[str, Table]
    """``ve_front``/``ve_rear`` it was fuelled from (the session's starting tables when the run
    does not say)."""
    own_tables: bool
    """Whether the run itself said which tables fuelled it."""
    markers: tuple[tuple[float, str], ...] = ()
    """The tuner's markers (time on ``time_s``, note), those with a finite time and a text."""
    after_decel_fix: bool | None = None
    """As ``RunData.after_decel_fix``."""

    @property
    def rows(self) -> int:
        return int(self.columns["time_s"].size)

    @property
    def time_s(self) -> FloatArray:
        return self.columns["time_s"]

    @property
    def duration_s(self) -> float:
        t = self.time_s
        return float(t[-1] - t[0]) if t.size > 1 else 0.0

    def channel(self, name: str) -> FloatArray | None:
        """The column, or None when the run did not log it (absent or all empty)."""
        column = self.columns.get(name)
        if column is None or not np.isfinite(column).any():
            return None
        return column


def _float_column(value: object, size: int) -> FloatArray | None:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array if array.shape == (size,) else None


def clean_run(name: str, kind: str, columns: Mapping[str, object],
              tables: Mapping[str, Table], fallback: Mapping[str, Table],
              markers: object = (), after_decel_fix: object = None) -> Run:
    """A run's columns made safe (see the module docstring)."""
    raw_time = columns.get("time_s") if isinstance(columns, Mapping) else None
    time_s = None
    if raw_time is not None:
        try:
            time_s = np.asarray(raw_time, dtype=np.float64)
        except (TypeError, ValueError):
            time_s = None
    if time_s is None or time_s.ndim != 1:
        time_s = np.zeros(0)
    keep = np.isfinite(time_s)
    order = np.argsort(time_s[keep], kind="stable")
    out: dict[str, FloatArray] = {"time_s": time_s[keep][order]}
    for key, value in (columns.items() if isinstance(columns, Mapping) else ()):
        if key == "time_s":
            continue
        array = _float_column(value, time_s.size)
        if array is not None:
            out[str(key)] = array[keep][order]
    own = {k: t for k, t in (tables or {}).items() if k in VE_TABLES and isinstance(t, Table)}
    chosen = own if set(own) == set(VE_TABLES) else {
        k: t for k, t in fallback.items() if k in VE_TABLES}
    return Run(str(name), str(kind), out, chosen, chosen is own, _clean_markers(markers),
               after_decel_fix if isinstance(after_decel_fix, bool) else None)


def _clean_markers(markers: object) -> tuple[tuple[float, str], ...]:
    out = []
    for marker in markers if isinstance(markers, (list, tuple)) else ():
        if not isinstance(marker, (list, tuple)) or len(marker) != 2:
            continue
        at, note = marker
        if isinstance(at, (int, float)) and math.isfinite(at) and isinstance(note, str):
            out.append((float(at), note))
    return tuple(out)


def session_runs(session: SessionData) -> list[Run]:
    """The session's runs, in order, made safe (see the module docstring)."""
    fallback = {k: t for k, t in (session.tables_before or {}).items()
                if k in VE_TABLES and isinstance(t, Table)}
    return [clean_run(run.name, run.kind, run.columns, run.tables, fallback, run.markers,
                      run.after_decel_fix) for run in session.runs]


# ------------------------------------------------------------------------ array helpers
def stretches(mask: BoolArray, segment: IntArray) -> tuple[IntArray, IntArray]:
    """First and last index of every run of True in ``mask`` that stays in one segment."""
    n = mask.size
    if n == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    same = segment[1:] == segment[:-1]
    prev = np.concatenate(([False], mask[:-1] & same))
    nxt = np.concatenate((mask[1:] & same, [False]))
    return np.flatnonzero(mask & ~prev), np.flatnonzero(mask & ~nxt)


def finite_median(values: FloatArray) -> float:
    """Median of the finite values; NaN when there are none (no warning)."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else math.nan


def window_medians(values: FloatArray, at: IntArray, half: int) -> FloatArray:
    """Median of the finite values within ``half`` samples either side of each index in ``at``
    (NaN where there are none), without a warning."""
    if at.size == 0:
        return np.zeros(0)
    offsets = np.arange(-half, half + 1)
    index = at[:, None] + offsets[None, :]
    inside = (index >= 0) & (index < values.size)
    window = np.where(inside, values[np.clip(index, 0, values.size - 1)], np.nan)
    ordered = np.sort(window, axis=1)  # NaN sorts last
    count = np.isfinite(ordered).sum(axis=1)
    rows = np.arange(at.size)
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, np.maximum(count, 1) // 2]
    return np.where(count > 0, 0.5 * (low + high), np.nan)


def sample_period_s(time_s: FloatArray) -> float:
    """The typical time between rows (0 for fewer than two)."""
    if time_s.size < 2:
        return 0.0
    step = np.diff(time_s)
    step = step[step > 0]
    return float(np.median(step)) if step.size else 0.0


# ------------------------------------------------------------------------ regions
@dataclass(frozen=True)
class Box:
    """An rpm x load rectangle of a table, bounds included."""

    rpm: tuple[float, float]
    load: tuple[float, float]

    def contains(self, rpm: npt.ArrayLike, load: npt.ArrayLike) -> BoolArray:
        r = np.asarray(rpm, dtype=np.float64)
        x = np.asarray(load, dtype=np.float64)
        return ((r >= self.rpm[0]) & (r <= self.rpm[1])
                & (x >= self.load[0]) & (x <= self.load[1]))


REGION_BOXES_MAP: dict[str, Box] = {
    "idle": Box((0.0, 1500.0), (0.0, 45.0)),
    "cruise": Box((1500.0, 4000.0), (30.0, 70.0)),
    "midrange": Box((2500.0, 4500.0), (60.0, 90.0)),
    "wot": Box((0.0, math.inf), (90.0, math.inf)),
}
"""The regions on a MAP-based table (kPa), bounds included; they overlap where a tuner's words
do (3000 rpm at 65 kPa is cruise and midrange): idle up to 1500 rpm at 45 kPa or less; cruise
1500-4000 rpm at 30-70 kPa; midrange 2500-4500 rpm at 60-90 kPa; WOT 90 kPa and more at any
rpm."""

REGION_BOXES_TPS: dict[str, Box] = {
    "idle": Box((0.0, 1500.0), (0.0, 3.0)),
    "cruise": Box((1500.0, 4000.0), (2.0, 25.0)),
    "midrange": Box((2500.0, 4500.0), (25.0, 80.0)),
    "wot": Box((0.0, math.inf), (80.0, math.inf)),
}
"""The same regions on a throttle-based table (%): idle up to 1500 rpm at 3 % or less; cruise
1500-4000 rpm at 2-25 %; midrange 2500-4500 rpm at 25-80 %; WOT 80 % and more."""


def region_boxes(load_channel: str) -> dict[str, Box]:
    return REGION_BOXES_TPS if load_channel == "tps_pct" else REGION_BOXES_MAP


# ------------------------------------------------------------------------ measured VE
@dataclass(frozen=True, eq=False)
class Measured:
    """Per cell of one grid (normalised axes), per VE table: what the samples measured."""

    load_channel: str
    rpm: FloatArray
    load: FloatArray
    reference: dict[str, FloatArray]
    """The values of the tables the first group of logs was fuelled from."""
    need: dict[str, FloatArray]
    """The VE the samples say the cell needed (table units; NaN where no usable sample)."""
    weight: dict[str, FloatArray]
    """Summed bilinear weight of the good samples."""
    ci95_pct: dict[str, FloatArray]
    """95 % interval of the measured correction (inf where unknown)."""
    afr_error: dict[str, FloatArray]
    """Measured - target AFR (weighted mean)."""
    samples: dict[str, FloatArray]
    """Good samples whose nearest cell this is."""
    notes: tuple[str, ...] = ()

    def covered(self, name: str, settings: AutotuneSettings) -> BoolArray:
        """Cells with enough weight and a narrow enough interval to trust (autotune's own
        ``min_weight`` and ``max_ci95_pct``)."""
        return (np.isfinite(self.need[name]) & (self.weight[name] >= settings.min_weight)
                & (self.ci95_pct[name] <= settings.max_ci95_pct))

    def correction_pct(self, name: str) -> FloatArray:
        """The measured correction of the reference table, %."""
        ref = self.reference[name]
        return np.divide(self.need[name], ref, out=np.full(ref.shape, np.nan),
                         where=ref > 0) * 100.0 - 100.0


MIN_CI95_PCT = 0.01
"""An interval reported as 0 (no spread at all) counts as this narrow when groups are pooled."""

Piece = tuple[str, Mapping[str, FloatArray], Mapping[str, Table]]
"""A log to measure: its name, its columns and the VE tables it was fuelled from."""


def _tables_key(tables: Mapping[str, Table]) -> tuple[object, ...]:
    return tuple((name, tables[name].col_axis, tables[name].row_breakpoints.tobytes(),
                  tables[name].col_breakpoints.tobytes(), tables[name].values.tobytes())
                 for name in VE_TABLES)


def same_tables(a: Mapping[str, Table], b: Mapping[str, Table]) -> bool:
    return (set(VE_TABLES) <= set(a) and set(VE_TABLES) <= set(b)
            and _tables_key(a) == _tables_key(b))


def measure(pieces: Sequence[Piece], target: Table | None, settings: AutotuneSettings,
            ) -> tuple[Measured | None, str | None]:
    """Each cell's measured VE over ``pieces`` (see the module docstring); (None, why) when no
    log has a usable sample. ``target``: the AFR target table, None for each log's column."""
    groups: dict[tuple[object, ...], tuple[Mapping[str, Table], list[LogData]]] = {}
    notes: list[str] = []
    for name, columns, tables in pieces:
        if not set(VE_TABLES) <= set(tables):
            notes.append(f"{name}: no VE tables it was fuelled from")
            continue
        load_axis = tables["ve_front"].col_axis
        needed = ("time_s", "rpm", load_axis)
        missing = [c for c in needed if c not in columns
                   or not np.isfinite(columns[c]).any()]
        if target is None and not np.isfinite(columns.get("afr_target", np.zeros(0))).any():
            missing.append("afr_target")
        if missing:
            notes.append(f"{name}: no {', '.join(missing)}")
            continue
        groups.setdefault(_tables_key(tables), (tables, []))[1].append(
            LogData(name, dict(columns)))
    if not groups:
        return None, ("no run has what the widebands are compared by ("
                      + ("; ".join(notes[:3]) if notes else "no runs") + ")")
    raw = dataclasses.replace(settings, min_weight=math.inf, smooth=False)
    first = next(iter(groups.values()))[0]
    ref_view = {name: first[name].normalised() for name in VE_TABLES}
    rpm_axis = ref_view["ve_front"].row_breakpoints
    load_axis_values = ref_view["ve_front"].col_breakpoints
    shape = (rpm_axis.size, load_axis_values.size)
    sums = {name: {k: np.zeros(shape) for k in ("w", "wv", "inv_var", "we", "n")}
            for name in VE_TABLES}
    used = 0
    for tables, logs in groups.values():
        views = {name: tables[name].normalised() for name in VE_TABLES}
        if any(tables[name].col_axis != first[name].col_axis
               or not np.array_equal(views[name].row_breakpoints, rpm_axis)
               or not np.array_equal(views[name].col_breakpoints, load_axis_values)
               for name in VE_TABLES):
            notes.append(f"{', '.join(log.name for log in logs)}: fuelled from tables on other "
                         "axes than the first run's; left out")
            continue
        try:
            result = autotune(logs, {name: tables[name] for name in VE_TABLES}, target, raw)
        except InputError as exc:
            notes.append(str(exc))
            continue
        used += 1
        for name in VE_TABLES:
            _add_cells(sums[name], result.tables[name], views[name].values, rpm_axis,
                       load_axis_values)
    if not used or not any(s["w"].any() for s in sums.values()):
        return None, ("no usable wideband sample in the runs"
                      + (f" ({'; '.join(notes[:3])})" if notes else ""))
    need, weight, ci, err, count = {}, {}, {}, {}, {}
    for name, s in sums.items():
        w = s["w"]
        has = w > 0
        need[name] = np.divide(s["wv"], w, out=np.full(shape, np.nan), where=has)
        err[name] = np.divide(s["we"], w, out=np.full(shape, np.nan), where=has)
        ci[name] = np.divide(1.0, np.sqrt(s["inv_var"]), out=np.full(shape, np.inf),
                             where=s["inv_var"] > 0)
        weight[name], count[name] = w, s["n"]
    reference = {name: np.asarray(ref_view[name].values, dtype=np.float64)
                 for name in VE_TABLES}
    return Measured(first["ve_front"].col_axis, rpm_axis, load_axis_values, reference, need,
                    weight, ci, err, count, tuple(notes)), None


def _add_cells(sums: dict[str, FloatArray], correction: TableCorrection, values: FloatArray,
               rpm_axis: FloatArray, load_axis: FloatArray) -> None:
    """One group's cells (autotune's report: one entry per visited cell) into the pooled sums."""
    cells = [c for c in correction.cells if c.correction_pct is not None and c.weight > 0]
    if not cells:
        return
    i = np.searchsorted(rpm_axis, [c.rpm for c in cells])
    j = np.searchsorted(load_axis, [c.load for c in cells])
    w = np.array([c.weight for c in cells], dtype=np.float64)
    corr = np.array([c.correction_pct for c in cells], dtype=np.float64)
    ci = np.array([math.inf if c.ci95_pct is None else c.ci95_pct for c in cells])
    error = correction.afr_error[[c.row for c in cells], [c.col for c in cells]]
    np.add.at(sums["w"], (i, j), w)
    np.add.at(sums["wv"], (i, j), w * values[i, j] * (1.0 + corr / 100.0))
    np.add.at(sums["inv_var"], (i, j), np.where(np.isfinite(ci),
                                                1.0 / np.maximum(ci, MIN_CI95_PCT) ** 2, 0.0))
    np.add.at(sums["we"], (i, j), w * np.nan_to_num(error))
    np.add.at(sums["n"], (i, j), np.array([c.samples_used for c in cells], dtype=np.float64))
