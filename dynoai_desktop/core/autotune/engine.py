"""Autotune: VE corrections per cylinder from one or more logs (FORMATS.md §3, docs/autotune.md).

Per log: filter (each sample gets one reason or none), shift the AFR back by the wideband's
delay, take measured/target AFR per sample and bin it into the table's cells. Sums from all logs
are pooled; then per cell the statistics, holds, authority clamp and smoothing (``cells``).
The result is plain data; :meth:`TableCorrection.to_overlay` is the seam to the app's overlays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune import delay as delay_mod
from dynoai_desktop.core.autotune.binning import Bins, CellSums, locate, placeable
from dynoai_desktop.core.autotune.cells import CellStats, cell_stats
from dynoai_desktop.core.autotune.filters import (
    CODE,
    USABLE,
    afr_usable,
    engine_reasons,
    lean_spikes,
    sample_seconds,
    segments,
    with_dwell,
)
from dynoai_desktop.core.autotune.settings import CYLINDERS, REJECT_REASONS, AutotuneSettings
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table

if TYPE_CHECKING:
    from dynoai_desktop.core.overlay.model import Overlay

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Target = float | Table | None
REPORT_SCHEMA_VERSION = 1

AUTOTUNE_CHANNELS: tuple[str, ...] = (
    "time_s", "rpm", "map_kpa", "tps_pct", "afr_front", "afr_rear", "afr_front_status",
    "afr_rear_status", "afr_target", "engine_temp_c", "baro_kpa", "cl_trim_front_pct",
    "cl_trim_rear_pct", "torque_ftlb")
"""The canonical channels autotune reads; a reader may skip the rest of a long log."""
SOAK_CHANNELS: tuple[str, ...] = ("iat_c", "ambient_temp_c")
"""The channels a heat-soak compensation reads besides (``Compensation``)."""


class Compensation(Protocol):
    """What takes a known bias out of a log's readings before they are binned: the heat-soak
    compensator (``ml.soak_compensation``). ``label`` names it in the report."""

    label: str

    def inflation_pct(self, columns: Mapping[str, FloatArray],
                      settings: AutotuneSettings | None = None) -> FloatArray:
        """Per row: how much % VE the bias made the engine appear to need (0: none)."""
        ...


@dataclass(frozen=True, eq=False)
class LogData:
    """One log on canonical channels (FORMATS.md §2), as float arrays; absent channels left out."""

    name: str
    columns: Mapping[str, FloatArray]
    refusals: tuple[str, ...] = ()
    """Channels the importer refused (a stuck wideband, say), in its words, for messages."""

    @classmethod
    def from_frame(cls, name: str, frame: Any, refusals: Sequence[str] = (),
                   channels: Sequence[str] = AUTOTUNE_CHANNELS) -> LogData:
        """From a pandas DataFrame (or any mapping of columns) of canonical channels; those of
        ``channels`` are kept."""
        cols: dict[str, FloatArray] = {}
        for ch in channels:
            if ch in frame:
                try:
                    cols[ch] = np.asarray(frame[ch], dtype=np.float64)
                except (TypeError, ValueError):
                    raise InputError(f"{name}: column {ch} is not numbers; check the log "
                                     "is unedited") from None
        if "time_s" not in cols or "rpm" not in cols:
            missing = "time_s" if "time_s" not in cols else "rpm"
            raise InputError(f"{name}: no {missing} column; autotune needs time and rpm")
        order = np.argsort(cols["time_s"], kind="stable")
        if not np.array_equal(order, np.arange(order.size)):
            cols = {k: v[order] for k, v in cols.items()}
        return cls(name, cols, tuple(refusals))

    @property
    def rows(self) -> int:
        return int(self.columns["time_s"].size)


@dataclass(frozen=True, eq=False)
class CellResult:
    """One raw cell of the report (FORMATS.md §3)."""

    row: int
    col: int
    rpm: float
    load: float
    samples_used: int
    weight: float
    rejected: dict[str, int]
    correction_pct: float | None
    ci95_pct: float | None
    confidence: float
    applied_change_pct: float
    held_reason: str | None
    heat_soak_removed_pct: float | None = None
    """Mean % taken out of its usable samples for a heat soak (None: no compensation ran)."""

    def to_dict(self) -> dict[str, Any]:
        out = {"row": self.row, "col": self.col, "rpm": self.rpm, "load": self.load,
               "samples_used": self.samples_used, "weight": self.weight,
               "rejected": dict(self.rejected), "correction_pct": self.correction_pct,
               "ci95_pct": self.ci95_pct, "confidence": self.confidence,
               "applied_change_pct": self.applied_change_pct, "held_reason": self.held_reason}
        if self.heat_soak_removed_pct is not None:
            out["heat_soak_removed_pct"] = self.heat_soak_removed_pct
        return out


@dataclass(frozen=True, eq=False)
class TableCorrection:
    """Autotune's result for one VE table, in the table's raw layout."""

    name: str
    base: Table
    corrected: Table
    """``base`` with the applied changes (changed cells rounded to 0.01); others bitwise equal."""
    change_pct: FloatArray
    """Applied change per raw cell, percent; NaN where nothing is applied."""
    confidence: FloatArray
    """0–1 per raw cell; NaN where no usable data."""
    evidence: FloatArray
    """Measured rich error per raw cell, percent: max(0, −correction); NaN where not measured."""
    afr_error: FloatArray
    """Measured − target AFR per raw cell (weighted means of the usable samples), what a
    tuner's AFR-error histogram shows; NaN where no usable sample."""
    cells: tuple[CellResult, ...]
    stats: CellStats
    """The normalised grid's statistics (for plots and tests)."""

    @property
    def mask(self) -> BoolArray:
        """Raw cells the correction changes."""
        return np.isfinite(self.change_pct)

    def to_overlay(self, description: str = "", table: str | None = None) -> Overlay:
        """The correction as an app overlay (multiplicative %, source autotune) on the tune's
        table ``table`` (default this correction's name); the overlay rules (locks,
        authority, WOT evidence) then hold in the app."""
        from dynoai_desktop.core.overlay.model import Overlay, OverlayKind, OverlaySource

        mask = self.mask
        return Overlay(table or self.name, OverlayKind.MULTIPLICATIVE,
                       np.where(mask, self.change_pct, 0.0), mask, OverlaySource.AUTOTUNE,
                       confidence=np.where(mask, np.nan_to_num(self.confidence), 0.0),
                       evidence=self.evidence, description=description)


@dataclass(frozen=True, eq=False)
class AutotuneResult:
    """Every table's correction and how the wideband delay was found."""

    logs: tuple[str, ...]
    delay_ms_by_rpm: list[list[float]]
    delay_source: str
    """``measured``, ``given`` or ``default``."""
    tables: dict[str, TableCorrection]
    warnings: list[str] = field(default_factory=list)
    """Logs (or parts) that could not be used, in the tuner's words."""
    heat_soak: dict[str, Any] | None = None
    """What a compensation took out (``compensation_summary``); None when none ran."""

    def report(self) -> dict[str, Any]:
        """report.json's content (FORMATS.md §3)."""
        out: dict[str, Any] = {
            "schema_version": REPORT_SCHEMA_VERSION, "logs": list(self.logs),
            "delay_ms_by_rpm": self.delay_ms_by_rpm, "delay_source": self.delay_source,
            "tables": {name: {"cells": [c.to_dict() for c in t.cells]}
                       for name, t in self.tables.items()}}
        if self.heat_soak is not None:
            out["heat_soak"] = dict(self.heat_soak)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


class _Prepared:
    """What every stage needs of one log, worked out once: segments, the sample interval and
    each cylinder's usable-AFR mask (with why none is usable)."""

    def __init__(self, log: LogData, cylinders: Sequence[str], settings: AutotuneSettings,
                 whole_log: bool = True):
        """``whole_log`` False: a window of a stream, where a quiet sensor is not yet "stuck"
        (that is judged over a whole log)."""
        self.log = log
        time_s = log.columns["time_s"]
        self.seg = segments(time_s, settings.seam_gap_s)
        self.dt_s = float(np.median(np.diff(time_s))) if log.rows > 1 else 0.0
        self.afr_ok: dict[str, BoolArray | None] = {}
        self.problems: list[str] = []
        for cyl in cylinders:
            afr = log.columns.get(f"afr_{cyl}")
            if afr is None:
                refused = [r for r in log.refusals if f"afr {cyl}" in r.lower()]
                self.problems.append(refused[0] if refused else f"no afr_{cyl} column")
                self.afr_ok[cyl] = None
                continue
            ok, why = afr_usable(afr, log.columns.get(f"afr_{cyl}_status"), log.rows, settings,
                                 check_stuck=whole_log)
            self.afr_ok[cyl] = ok
            if why is not None:
                self.problems.append(f"afr_{cyl} {why}")

    def afr_clean(self, cyl: str, settings: AutotuneSettings) -> BoolArray | None:
        """The usable readings without lean spikes: what is binned (the delay is timed on
        every usable reading, a tip-in's lean swing included)."""
        ok = self.afr_ok[cyl]
        if ok is None:
            return None
        return ok & ~lean_spikes(self.log.columns[f"afr_{cyl}"], ok,
                                 self.log.columns["time_s"], self.seg, settings.spike_block_s,
                                 settings.spike_pct)

    @property
    def problem(self) -> str | None:
        """Why no cylinder has usable AFR (None when one has)."""
        return None if len(self.problems) < len(self.afr_ok) else "; ".join(self.problems)


def log_problem(log: LogData, cylinders: Sequence[str], settings: AutotuneSettings,
                ) -> str | None:
    """Why ``log`` has no usable AFR for any of ``cylinders`` (None when it has some)."""
    return _Prepared(log, cylinders, settings).problem


def _target_per_sample(log: LogData, target: Target) -> FloatArray:
    cols = log.columns
    if isinstance(target, Table):
        load = cols.get(target.col_axis)
        if load is None:
            raise InputError(f"{log.name}: no {target.col_axis} column, which the AFR target "
                             f"table is looked up by; give --afr-target-value instead")
        return np.asarray(target.lookup(cols["rpm"], load), dtype=np.float64)
    if target is not None:
        return np.full(log.rows, float(target))
    if "afr_target" not in cols:
        raise InputError(f"{log.name}: no afr_target column and no target given; give "
                         "--afr-target FILE or --afr-target-value AFR")
    return cols["afr_target"]


def _delay_curve(preps: Sequence[_Prepared], settings: AutotuneSettings,
                 ) -> tuple[tuple[FloatArray, FloatArray], str]:
    if settings.delay_ms is not None:
        ms = float(settings.delay_ms)
        return (np.array([0.0, 1e6]), np.array([ms, ms])), "given"
    rpms, delays = [], []
    for prep in preps:
        c = prep.log.columns
        if "tps_pct" not in c:
            continue
        for cyl, ok in prep.afr_ok.items():
            if ok is None:
                continue
            r, d = delay_mod.measure_steps(c["time_s"], c["rpm"], c["tps_pct"], c[f"afr_{cyl}"],
                                           ok, prep.seg, prep.dt_s)
            rpms.append(r)
            delays.append(d)
    if rpms:
        curve = delay_mod.curve_from_steps(np.concatenate(rpms), np.concatenate(delays))
        if curve is not None:
            return curve, "measured"
    return delay_mod.default_curve(), "default"


def compensation_summary(label: str, removed: Sequence[FloatArray]) -> dict[str, Any]:
    """The report's ``heat_soak``: what ``label`` took out of the logs' rows."""
    rows = np.concatenate(removed) if removed else np.zeros(0)
    taken = rows[rows != 0.0]
    return {"applied": True, "model": label,
            "logs_with_soak": sum(1 for r in removed if np.any(r != 0.0)),
            "rows_compensated": int(taken.size),
            "mean_removed_pct": round(float(np.mean(taken)), 3) if taken.size else 0.0,
            "max_removed_pct": round(float(taken[np.argmax(np.abs(taken))]), 3)
            if taken.size else 0.0}


def autotune(logs: Sequence[LogData], tables: Mapping[str, Table], target: Target = None,
             settings: AutotuneSettings | None = None,
             locked: Mapping[str, BoolArray] | None = None,
             progress: Callable[[str], None] | None = None,
             compensation: Compensation | None = None) -> AutotuneResult:
    """Corrections for ``tables`` (keys ``ve_front``/``ve_rear``) from ``logs`` pooled.

    ``target``: a fixed AFR, an AFR target table, or None for each log's ``afr_target``.
    ``locked``: per table, raw cells never changed (held ``locked``). ``compensation``: takes
    its bias (a heat soak) out of each row's measured/target AFR before it is binned. A log
    with no usable AFR is left out with a warning; InputError when none is usable.
    """
    settings = settings or AutotuneSettings()
    unknown = sorted(set(tables) - set(CYLINDERS))
    if unknown or not tables:
        raise InputError(f"autotune corrects {' and '.join(CYLINDERS)}; got {unknown or 'none'}")
    cylinders = [CYLINDERS[name] for name in tables]
    usable, warnings = [], []
    for log in logs:
        prep = _Prepared(log, cylinders, settings)
        if prep.problem is None:
            usable.append(prep)
            warnings.extend(f"{log.name}: {why}; that cylinder's table gets nothing from it"
                            for why in prep.problems)
            warnings.extend(_unplaced(log, tables))
        else:
            warnings.append(f"no usable AFR in {log.name} ({prep.problem}); left out")
    if not usable:
        first = logs[0].name if logs else "the logs"
        why = log_problem(logs[0], cylinders, settings) if logs else "no logs given"
        raise InputError(f"no usable AFR in {first} ({why}); check the wideband's wiring, "
                         "calibration and that the log has its AFR columns")
    curve, source = _delay_curve(usable, settings)

    sums = {name: CellSums(t.normalised().shape) for name, t in tables.items()}
    removed_by_log: list[FloatArray] = []
    for n, prep in enumerate(usable):
        if progress is not None:
            progress(f"log {n + 1}/{len(usable)}: {prep.log.name} ({prep.log.rows} rows)")
        removed = None
        if compensation is not None:
            removed = np.asarray(compensation.inflation_pct(prep.log.columns, settings),
                                 dtype=np.float64)
            removed_by_log.append(removed)
        _bin_log(prep, tables, target, settings, curve, sums, removed=removed)

    out = {name: _finish(name, table, sums[name], settings,
                         None if locked is None else locked.get(name))
           for name, table in tables.items()}
    summary = (None if compensation is None
               else compensation_summary(compensation.label, removed_by_log))
    return AutotuneResult(tuple(log.name for log in logs), delay_mod.report_pairs(curve), source,
                          out, warnings, summary)


def _unplaced(log: LogData, tables: Mapping[str, Table]) -> list[str]:
    """A warning per load axis for the rows no cell can take: no rpm or no load reading (rows
    logged before the dyno's first line, a dropped sensor). They are in no cell's counts."""
    rpm = log.columns["rpm"]
    out = []
    for axis in dict.fromkeys(t.col_axis for t in tables.values()):
        load = log.columns.get(axis)
        if load is None:
            continue  # refused when binned, naming the column
        n = int(np.count_nonzero(~placeable(rpm, load)))
        if n:
            out.append(f"{log.name}: {n} of {log.rows} rows have no rpm or {axis} reading; no "
                       "cell can take them, so they are in no cell's counts")
    return out


def _bin_log(prep: _Prepared, tables: Mapping[str, Table], target: Target,
             settings: AutotuneSettings, curve: tuple[FloatArray, FloatArray],
             sums: dict[str, CellSums], commit: BoolArray | None = None,
             removed: FloatArray | None = None) -> None:
    """Filter, align and bin one log into ``sums``; with ``commit``, only those samples are
    binned (the rest are context: a stream's window, core/autotune/stream.py); ``removed``:
    the % VE a compensation takes out of each row's reading."""
    log, seg = prep.log, prep.seg
    c = log.columns
    time_s, rpm = c["time_s"], c["rpm"]
    engine_code, _wot = engine_reasons(dict(c), seg, settings)
    seconds = sample_seconds(time_s, seg)
    # Dwell is the engine's: a dropped or spiking reading does not cut a steady hold short.
    engine_code = with_dwell(engine_code, time_s, seg, settings.min_dwell_s)
    tgt = _target_per_sample(log, target)
    tgt_ok = np.isfinite(tgt) & (tgt > 0)
    points = delay_mod.read_points(time_s, delay_mod.delay_s_at(rpm, curve), seg)
    located: dict[tuple[str, bytes, bytes], Bins] = {}  # front and rear usually share axes
    for name, table in tables.items():
        cyl = CYLINDERS[name]
        load = c.get(table.col_axis)
        if load is None:
            raise InputError(f"{log.name}: no {table.col_axis} column, which {name} is binned "
                             "by; give a table whose column axis the log has")
        ok = prep.afr_clean(cyl, settings)
        if ok is None:
            afr_ok = np.zeros(log.rows, dtype=bool)
            aligned = np.full(log.rows, np.nan)
        else:
            aligned, afr_ok = delay_mod.align_at(points, c[f"afr_{cyl}"], ok)
        code = engine_code.copy()
        invalid = ~(afr_ok & tgt_ok) & (code != CODE["warmup"])
        code[invalid] = CODE["invalid_afr"]
        trim = c.get(f"cl_trim_{cyl}_pct")
        if trim is not None and np.isfinite(trim).any():
            sums[name].has_trims = True
            code[(code == USABLE) & np.isfinite(trim)] = CODE["closed_loop"]
        ratio = np.divide(aligned, tgt, out=np.full(log.rows, np.nan), where=tgt_ok)
        if removed is not None:
            ratio = ratio / (1.0 + removed / 100.0)
        view = table.normalised()
        key = (table.col_axis, view.row_breakpoints.tobytes(), view.col_breakpoints.tobytes())
        if key not in located:
            located[key] = locate(view, rpm, load if commit is None else
                                  np.where(commit, load, np.nan))
        sums[name].add(located[key], ratio, code, seconds, tgt, removed)


def _finish(name: str, table: Table, sums: CellSums, settings: AutotuneSettings,
            locked: BoolArray | None) -> TableCorrection:
    view = table.normalised()
    closed_loop = sums.reshaped(sums.rejected["closed_loop"]) > 0
    rs, cs = view.row_source, view.col_source
    lock_n = None if locked is None else np.asarray(locked, dtype=bool)[np.ix_(rs, cs)]
    stats = cell_stats(sums, settings, closed_loop, view.values, lock_n)
    applied = stats.applied_pct.copy()
    held = stats.held_reason.copy()
    if lock_n is not None:
        applied[lock_n] = np.nan
        held[lock_n & (sums.reshaped(sums.weight + sums.samples) > 0)] = "locked"

    shape = table.shape
    change = np.full(shape, np.nan)
    conf = np.full(shape, np.nan)
    evidence = np.full(shape, np.nan)
    ix = np.ix_(rs, cs)
    change[ix] = applied
    conf[ix] = stats.confidence
    evidence[ix] = np.maximum(0.0, -stats.correction_pct)
    afr_error = np.full(shape, np.nan)
    w = sums.reshaped(sums.weight)
    mean_x = np.divide(sums.reshaped(sums.weighted), w, out=np.full(w.shape, np.nan),
                       where=w > 0)
    mean_target = np.divide(sums.reshaped(sums.weighted_target), w,
                            out=np.full(w.shape, np.nan), where=w > 0)
    afr_error[ix] = (mean_x - 1.0) * mean_target
    mask = np.isfinite(change)
    new = np.round(table.values * (1.0 + np.where(mask, change, 0.0) / 100.0), 2)
    corrected = table.with_values(np.where(mask, new, table.values))

    removed = np.divide(sums.removed, sums.samples, out=np.zeros(sums.removed.shape),
                        where=sums.samples > 0)
    total = sums.samples + sum(sums.rejected.values())
    listed = np.flatnonzero((total > 0) | (sums.weight > 0))
    ncol = view.shape[1]
    cells = []
    for flat in listed:  # one entry per visited cell (report size), not per sample
        i, j = divmod(int(flat), ncol)
        corr = stats.correction_pct[i, j]
        ci = stats.ci95_pct[i, j]
        conf_ij = stats.confidence[i, j]
        app = applied[i, j]
        cells.append(CellResult(
            row=int(rs[i]), col=int(cs[j]), rpm=float(view.row_breakpoints[i]),
            load=float(view.col_breakpoints[j]), samples_used=int(sums.samples[flat]),
            weight=round(float(sums.weight[flat]), 1),
            rejected={r: int(sums.rejected[r][flat]) for r in REJECT_REASONS
                      if r != "closed_loop" or sums.has_trims},
            correction_pct=round(float(corr), 2) if np.isfinite(corr) else None,
            ci95_pct=round(float(ci), 2) if np.isfinite(ci) else None,
            confidence=round(float(conf_ij), 3) if np.isfinite(conf_ij) else 0.0,
            applied_change_pct=round(float(app), 2) if np.isfinite(app) else 0.0,
            held_reason=held[i, j],
            heat_soak_removed_pct=round(float(removed[flat]), 3) if sums.compensated else None))
    return TableCorrection(name, table, corrected, change, conf, evidence, afr_error,
                           tuple(cells), stats)
