"""Knock and timing: where the ECM pulled spark, how much, and where spark could go up."""

from __future__ import annotations

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.autotune.filters import sample_seconds, segments
from dynoai_desktop.ml.training.patterns.common import FloatArray, IntArray, Run, session_runs
from dynoai_desktop.ml.training.records import KnockSample, KnockTiming, TimingCell, TorqueSlope
from dynoai_desktop.ml.training.session_data import SessionData

CYLS = ("front", "rear")
ONSET_MIN_DEG = 0.05
"""A rise of the logged retard by this much from one row to the next is a knock event: the ECM
only adds retard at an event (2° a time on a Delphi) and otherwise takes it away steadily, so the
logged value never rises on its own."""
HIGH_LOAD_KPA = 80.0
"""Advance is looked for only at and above this MAP, where timing makes the torque and knocks."""
MIN_VISIT_S = 0.5
"""A high-load cell counts as run when the engine spent this long nearest to it."""
ADVANCE_MARGIN_DEG = 1.0
"""An opportunity stays this far under the spark that knocked."""
MIN_ADVANCE_DEG = 1.0
"""Less advance than this is not worth listing (so a cell must sit 2° or more under)."""
MAX_DEGREES = 30.0
KNOCK_CONTROL_KPA = 50.0
"""Samples are kept at and above this MAP, where a Delphi ECM listens for knock."""
MIN_SAMPLE_S = 0.2
"""A cell and cylinder run this long at one spark (or knocking there) is a sample."""
SPARK_LEVEL_DEG = 1.0
"""Rows of one cell whose commanded spark differs by this much are samples of their own ..."""
HEAD_LEVEL_K = 10.0
"""... and so are rows whose head temperature differs by this much: a cell run on a cool engine
and again after a heat soak is two samples, each with its own temperatures."""
MIN_SLOPE_ROWS = 20
MIN_SLOPE_SPARK_SPREAD_DEG = 0.5
"""A row's torque-per-degree needs this many high-load rows whose spark spread this much."""
DEFAULT_RPM = np.arange(750.0, 6501.0, 250.0)
DEFAULT_MAP_KPA = np.array([15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0,
                            100.0, 105.0])
"""The cells knock is binned into when the session has no MAP-based spark or VE table: a Delphi
calibration's 250 rpm x 5-10 kPa grid."""


def _axes(session: SessionData) -> tuple[FloatArray, FloatArray, str]:
    """The grid knock is binned into: the spark table's, else the starting VE table's (when
    MAP-based), else the default."""
    for source, tables in (("the spark table", session.spark or {}),
                           ("the VE table", session.tables_before or {})):
        for table in tables.values():
            if table.col_axis == "map_kpa":
                view = table.normalised()
                return (np.asarray(view.row_breakpoints, dtype=np.float64),
                        np.asarray(view.col_breakpoints, dtype=np.float64), source)
    return DEFAULT_RPM, DEFAULT_MAP_KPA, "the default grid"


def _nearest(axis: FloatArray, x: FloatArray) -> IntArray:
    """Index of the nearest breakpoint (ties to the lower), clamped to the axis."""
    if axis.size == 1:
        return np.zeros(x.shape, dtype=np.intp)
    upper = np.clip(np.searchsorted(axis, x, side="left"), 1, axis.size - 1)
    lower = upper - 1
    return np.where(np.abs(x - axis[upper]) < np.abs(x - axis[lower]), upper, lower)


def knock_timing(session: SessionData, settings: AutotuneSettings,
                 ) -> tuple[KnockTiming | None, str | None]:
    """Knock cells, the retard pulled, and advance opportunities.

    Inputs: each run's ``knock_retard_front_deg``/``knock_retard_rear_deg`` with ``rpm`` and
    ``map_kpa`` (required); for opportunities also the spark: the session's spark tables
    (``spark_front``/``spark_rear``), else the logged ``spark_front_deg``/``spark_rear_deg``
    (none: no opportunities). Cells are the spark table's (else the VE table's, else a default
    250 rpm grid), nearest cell.

    A knock event is a rise of the logged retard (``ONSET_MIN_DEG``); a knock cell is where an
    event happened: its events, and its degrees the most retard the ECM held there just after
    an event. An advance opportunity is a cell at ``HIGH_LOAD_KPA`` or more, run for
    ``MIN_VISIT_S`` with no retard at all, whose spark sits at least ``ADVANCE_MARGIN_DEG`` +
    ``MIN_ADVANCE_DEG`` under the lowest spark that knocked at that rpm (± one row) at the same
    or a higher MAP: the advance up to ``ADVANCE_MARGIN_DEG`` under it. No knock anywhere, no
    reference: no opportunity is claimed. ``settings``: the throttle a shut one is under and the
    gap that splits a log.

    For the knock advisor (schema 4), ``samples``: per cylinder, cell, commanded spark (to
    ``SPARK_LEVEL_DEG``) and head temperature (to ``HEAD_LEVEL_K``) at ``KNOCK_CONTROL_KPA`` or
    more, the time run there, its knock events and the median head and intake-air temperature;
    rows run under retard the ECM still held are left out (they ran under the commanded spark),
    the rows where knock was heard kept; ``torque_slopes``: per rpm row at
    ``HIGH_LOAD_KPA`` or more, dyno torque regressed on the spark the ECM ran minus the tune's
    (its retard, trims and a timing sweep's advance), rpm and MAP held (``_torque_slopes``).
    """
    runs = session_runs(session)
    logged = [run for run in runs
              if any(run.channel(f"knock_retard_{c}_deg") is not None for c in CYLS)]
    if not logged:
        return None, ("no knock-retard channel in any run (knock_retard_front_deg or "
                      "knock_retard_rear_deg): where it knocked is unknown")
    rpm_axis, map_axis, _source = _axes(session)
    shape = (rpm_axis.size, map_axis.size)
    size = shape[0] * shape[1]
    events = np.zeros(size)
    degrees = np.zeros(size)
    knock_spark = np.full(size, np.inf)  # the lowest spark that knocked in each cell
    seen_retard = np.zeros(size)
    seconds = np.zeros(size)
    spark_sum = np.zeros(size)
    spark_n = np.zeros(size)
    cylinders: set[str] = set()
    usable = False
    table_spark = _table_spark(session, rpm_axis, map_axis)
    acc = {cyl: _SampleSums(table_spark.get(cyl)) for cyl in CYLS}
    slope_rows: list[tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]] = []
    for run in logged:
        rpm, map_kpa = run.channel("rpm"), run.channel("map_kpa")
        if rpm is None or map_kpa is None:
            continue
        usable = True
        t = run.time_s
        seg = segments(t, settings.seam_gap_s)
        located = np.isfinite(rpm) & np.isfinite(map_kpa)
        cell = np.where(located, _nearest(rpm_axis, np.nan_to_num(rpm)) * shape[1]
                        + _nearest(map_axis, np.nan_to_num(map_kpa)), 0)
        sparks = []
        for cyl in CYLS:
            retard = run.channel(f"knock_retard_{cyl}_deg")
            spark = run.channel(f"spark_{cyl}_deg")
            if spark is not None:
                sparks.append(spark)
            if retard is None:
                continue
            r = np.nan_to_num(retard)
            seen = located & np.isfinite(retard)
            np.maximum.at(seen_retard, cell[seen], r[seen])
            rise = np.zeros(r.size, dtype=bool)
            rise[1:] = ((r[1:] - r[:-1]) >= ONSET_MIN_DEG) & (seg[1:] == seg[:-1]) & \
                np.isfinite(retard[1:]) & np.isfinite(retard[:-1])
            acc[cyl].add(run, cell, seen & (map_kpa >= KNOCK_CONTROL_KPA), t, seg, spark, r,
                         rise)
            at = np.flatnonzero(rise & located)
            if at.size == 0:
                continue
            cylinders.add(cyl)
            np.add.at(events, cell[at], 1.0)
            np.maximum.at(degrees, cell[at], np.minimum(r[at], MAX_DEGREES))
            if spark is not None:
                fired = spark[at - 1]  # the spark that knocked, before the ECM pulled it
                ok = np.isfinite(fired)
                np.minimum.at(knock_spark, cell[at[ok]], fired[ok])
        tps = run.channel("tps_pct")
        loaded = located & (map_kpa >= HIGH_LOAD_KPA)
        if tps is not None:
            loaded &= ~(tps < settings.closed_throttle_below_pct)
        dt = sample_seconds(t, seg)
        seconds += np.bincount(cell[loaded], dt[loaded], size)
        if sparks:
            logged_spark = np.fmax.reduce(sparks)  # the higher cylinder's; NaN ignored
            ok = loaded & np.isfinite(logged_spark)
            spark_sum += np.bincount(cell[ok], logged_spark[ok], size)
            spark_n += np.bincount(cell[ok], minlength=size)
            torque = run.channel("torque_ftlb")
            if torque is not None:
                # the spark the ECM ran minus the tune's: its retard and trims, the only thing
                # that moves the spark while rpm and MAP stay put
                tuned = _tuned_spark(session, rpm, map_kpa, np.fmax.reduce(sparks), run)
                moved = np.fmin.reduce(sparks) - tuned
                ok &= np.isfinite(torque) & np.isfinite(moved)
                slope_rows.append((cell[ok] // shape[1], torque[ok], moved[ok], rpm[ok],
                                   map_kpa[ok]))
    if not usable:
        return None, "the runs with knock retard logged no rpm and MAP to place it by"
    knocked = np.flatnonzero(events > 0)
    knock_cells = [TimingCell(rpm=float(rpm_axis[k // shape[1]]),
                              map_kpa=float(map_axis[k % shape[1]]),
                              degrees=round(float(degrees[k]), 2), events=int(events[k]))
                   for k in knocked]
    front_rear = ("none" if not knock_cells else "both" if len(cylinders) != 1
                  else next(iter(cylinders)))
    opportunities = _opportunities(session, rpm_axis, map_axis, knock_spark, seen_retard,
                                   seconds, spark_sum, spark_n, events)
    samples = [sample for cyl in CYLS for sample in acc[cyl].samples(cyl, rpm_axis, map_axis)]
    return KnockTiming(knock_cells, opportunities, front_rear,  # type: ignore[arg-type]
                       samples, _torque_slopes(slope_rows, rpm_axis)), None


class _SampleSums:
    """One cylinder's rows with knock control on, to be told apart by cell, by the spark the
    ECM commanded there (its logged spark plus the knock retard it had pulled, to the nearest
    ``SPARK_LEVEL_DEG``: a timing sweep's advanced pull is a sample of its own) and by head
    temperature (to the nearest ``HEAD_LEVEL_K``)."""

    def __init__(self, table: FloatArray | None) -> None:
        self.table = table  # the cylinder's spark table at the cells, for runs without spark
        self.parts: list[tuple[FloatArray, ...]] = []

    def add(self, run: Run, cell: IntArray, on: np.ndarray, t: FloatArray, seg: IntArray,
            spark: FloatArray | None, retard: FloatArray, rise: np.ndarray) -> None:
        if spark is not None:
            commanded = spark + retard
        elif self.table is not None:
            commanded = self.table[cell]
        else:
            return
        # A row run under retard the ECM still held (from a knock here or elsewhere) ran under
        # its commanded spark: it says nothing of whether that spark knocks. A knock row stays.
        on = on & np.isfinite(commanded) & ((retard < ONSET_MIN_DEG) | rise)
        nan = np.full(t.size, np.nan)
        head = run.channel("engine_temp_c")
        iat = run.channel("iat_c")
        self.parts.append(tuple(np.asarray(c, dtype=np.float64)[on] for c in (
            cell, commanded, sample_seconds(t, seg), rise,
            nan if head is None else head, nan if iat is None else iat)))

    def samples(self, cylinder: str, rpm_axis: FloatArray, map_axis: FloatArray
                ) -> list[KnockSample]:
        if not self.parts:
            return []
        cell, commanded, dt, rise, head, iat = (np.concatenate([p[i] for p in self.parts])
                                                for i in range(6))
        level = np.round(commanded / SPARK_LEVEL_DEG).astype(np.int64)
        warmth = np.where(np.isfinite(head), np.round(np.nan_to_num(head) / HEAD_LEVEL_K),
                          -1).astype(np.int64)
        keys = np.unique(np.column_stack([cell.astype(np.int64), level, warmth]), axis=0)
        out = []
        ncol = map_axis.size
        for k, lv, wm in keys:
            at = (cell == k) & (level == lv) & (warmth == wm)
            seconds, events = float(dt[at].sum()), int(rise[at].sum())
            if seconds < MIN_SAMPLE_S and not events:
                continue
            out.append(KnockSample(cylinder, float(rpm_axis[k // ncol]),  # type: ignore[arg-type]
                                   float(map_axis[k % ncol]),
                                   round(float(np.median(commanded[at])), 2),
                                   round(seconds, 2), events, _rounded(_median(head[at])),
                                   _rounded(_median(iat[at]))))
        return out


def _median(x: FloatArray) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _table_spark(session: SessionData, rpm_axis: FloatArray, map_axis: FloatArray
                 ) -> dict[str, FloatArray]:
    """Each cylinder's spark table read at the cells (MAP-based tables only)."""
    rpm, kpa = np.meshgrid(rpm_axis, map_axis, indexing="ij")
    return {cyl: np.asarray(t.lookup(rpm, kpa), dtype=np.float64).ravel()
            for cyl in CYLS
            if (t := (session.spark or {}).get(f"spark_{cyl}")) is not None
            and t.col_axis == "map_kpa"}


def _tuned_spark(session: SessionData, rpm: FloatArray, map_kpa: FloatArray,
                 logged: FloatArray, run: Run) -> FloatArray:
    """The tune's spark at each row: the lower spark table's, else the logged spark plus the
    larger knock retard."""
    tables = [t for k, t in (session.spark or {}).items()
              if k in ("spark_front", "spark_rear") and t.col_axis == "map_kpa"]
    if tables:
        return np.min([np.asarray(t.lookup(np.nan_to_num(rpm), np.nan_to_num(map_kpa)),
                                  dtype=np.float64) for t in tables], axis=0)
    retard = [r for c in CYLS if (r := run.channel(f"knock_retard_{c}_deg")) is not None]
    return logged + (np.nan_to_num(np.fmax.reduce(retard)) if retard else 0.0)


def _torque_slopes(parts: list[tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]],
                   rpm_axis: FloatArray) -> list[TorqueSlope]:
    """Per rpm row at high load: the least-squares torque change per degree of (the lower
    cylinder's logged) spark, rpm and MAP held, where the spark moved enough to tell."""
    if not parts:
        return []
    row, torque, spark, rpm, kpa = (np.concatenate([p[i] for p in parts]) for i in range(5))
    out = []
    for r in np.unique(row):
        at = (row == r) & np.isfinite(spark)
        n = int(at.sum())
        if n < MIN_SLOPE_ROWS or np.ptp(spark[at]) < MIN_SLOPE_SPARK_SPREAD_DEG:
            continue
        dr, dk = rpm[at] - rpm[at].mean(), kpa[at] - kpa[at].mean()
        X = np.column_stack([spark[at] - spark[at].mean(), np.ones(n), dr, dk, dk * dk, dr * dk])
        coef, _res, rank, _sv = np.linalg.lstsq(X, torque[at], rcond=None)
        if rank < X.shape[1] or n <= X.shape[1]:
            continue
        resid = torque[at] - X @ coef
        cov = np.linalg.pinv(X.T @ X) * float(resid @ resid) / (n - X.shape[1])
        stderr = float(np.sqrt(max(cov[0, 0], 0.0)))
        out.append(TorqueSlope(float(rpm_axis[r]), round(float(np.clip(coef[0], -100, 100)), 3),
                               round(min(stderr, 1000.0), 3), n))
    return out


def _cell_spark(session: SessionData, rpm_axis: FloatArray, map_axis: FloatArray,
                spark_sum: FloatArray, spark_n: FloatArray) -> FloatArray:
    """Spark per cell: the higher of the session's spark tables there, else the logged mean."""
    tables = [t for k, t in (session.spark or {}).items()
              if k in ("spark_front", "spark_rear") and t.col_axis == "map_kpa"]
    if tables:
        rpm, kpa = np.meshgrid(rpm_axis, map_axis, indexing="ij")
        return np.max([np.asarray(t.lookup(rpm, kpa), dtype=np.float64) for t in tables],
                      axis=0).ravel()
    return np.divide(spark_sum, spark_n, out=np.full(spark_sum.shape, np.nan),
                     where=spark_n > 0)


def _opportunities(session: SessionData, rpm_axis: FloatArray, map_axis: FloatArray,
                   knock_spark: FloatArray, seen_retard: FloatArray, seconds: FloatArray,
                   spark_sum: FloatArray, spark_n: FloatArray, events: FloatArray,
                   ) -> list[TimingCell]:
    ncol = map_axis.size
    spark = _cell_spark(session, rpm_axis, map_axis, spark_sum, spark_n)
    reference = np.flatnonzero(np.isfinite(knock_spark))
    if reference.size == 0 or not np.isfinite(spark).any():
        return []
    candidates = np.flatnonzero((seconds >= MIN_VISIT_S) & (events == 0) & (seen_retard <= 0)
                                & np.isfinite(spark))
    if candidates.size == 0:
        return []
    c_row, c_col = candidates // ncol, candidates % ncol
    k_row, k_col = reference // ncol, reference % ncol
    near = (np.abs(c_row[:, None] - k_row[None, :]) <= 1) & (
        map_axis[k_col][None, :] >= map_axis[c_col][:, None])
    limit = np.where(near, knock_spark[reference][None, :], np.inf).min(axis=1)
    available = limit - spark[candidates] - ADVANCE_MARGIN_DEG
    keep = np.isfinite(available) & (available >= MIN_ADVANCE_DEG)
    return [TimingCell(rpm=float(rpm_axis[r]), map_kpa=float(map_axis[c]),
                       degrees=round(float(min(a, MAX_DEGREES)), 2), events=0)
            for r, c, a in zip(c_row[keep], c_col[keep], available[keep], strict=True)]
