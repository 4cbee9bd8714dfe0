"""Heat soak: what a long hot idle does to the VE the engine appears to need afterwards.

After an idle with little air moving, the intake, the IAT sensor on it and the charge are all
warmer; where the sensor and the charge warm differently the ECM fuels the wrong air mass, and
the widebands show it as an AFR residual. Expressed as VE (the VE each cell needed after the
soak against before it, same cells, autotune's filters and delay), that is the apparent VE
inflation a tuner must not bake into the table.

**Per cell** (``cells``, what the heat-soak compensator ``ml.soak_compensation`` learns from):
each slice of ``SLICE_S`` of the soak, and the rows after it, measured against before, one
entry per cell and cylinder covered in both, with the conditions it was measured in (medians
of its samples nearest the cell): airflow (rpm × MAP / 100), IAT over ambient, head
temperature, the soak clock (``soak_clock``) and how far the IAT reading has fallen since the
soak (``iat_fall``: the bike's own washout); and the same cells before the soak with their own
conditions and an inflation of 0 (what "not soaked" looks like).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.autotune.filters import segments
from dynoai_desktop.ml.training.patterns.common import (
    VE_TABLES,
    BoolArray,
    FloatArray,
    IntArray,
    Measured,
    Piece,
    Run,
    finite_median,
    measure,
    session_runs,
    stretches,
)
from dynoai_desktop.ml.training.records import HeatSoak, SoakCell
from dynoai_desktop.ml.training.session_data import SessionData

SOAK_IDLE_MAX_RPM = 1300.0
"""Idle: the engine running under this, the throttle shut."""
RUNNING_RPM = 300.0
MIN_SOAK_S = 120.0
MIN_IAT_RISE_C = 3.0
"""A soak: at least ``MIN_SOAK_S`` of idle over which the intake air warmed this much."""
IAT_EDGE_S = 10.0
"""The IAT at a soak's start and end: the median over this long."""
MAX_INFLATION_PCT = 30.0
IAT_RANGE_C = (-30.0, 150.0)
"""An IAT reading outside this is a sensor fault, not air."""
MAX_SOAK_MIN = 600.0
SLICE_S = 60.0
"""The soak is measured in slices of this long: its inflation grows as it soaks."""
CONDITIONS = ("airflow", "iat_over_ambient_c", "head_c", "soak_s", "since_soak_s",
              "iat_fall_c")
"""What a soaked cell was measured in (``SoakCell``'s fields; the compensator's features)."""


@dataclass(frozen=True)
class Soak:
    """The longest idle heat soak of a session: run ``run``, rows ``first``..``last``."""

    run: int
    first: int
    last: int
    seconds: float
    iat_rise_c: float


@dataclass(frozen=True)
class Compared:
    """The cells covered before and after a soak, compared."""

    inflation_pct: float
    """Weighted mean of 100 x (VE needed after / before - 1), both cylinders."""
    rpm_range: list[float]
    load_range: list[float]


def _idle(rpm: FloatArray, tps: FloatArray | None, settings: AutotuneSettings) -> BoolArray:
    """Idle: running under ``SOAK_IDLE_MAX_RPM`` with the throttle shut (or no TPS logged)."""
    with np.errstate(invalid="ignore"):
        idle = (rpm > RUNNING_RPM) & (rpm < SOAK_IDLE_MAX_RPM)
        if tps is not None:
            idle &= ~(tps >= settings.closed_throttle_below_pct)
    return idle


def find_soak(runs: list[Run], settings: AutotuneSettings) -> Soak | None:
    """The longest stretch of idle (``SOAK_IDLE_MAX_RPM``, throttle shut) of at least
    ``MIN_SOAK_S`` over which the IAT rose ``MIN_IAT_RISE_C`` or more."""
    best: Soak | None = None
    for k, run in enumerate(runs):
        rpm, iat = run.channel("rpm"), run.channel("iat_c")
        if rpm is None or iat is None:
            continue
        with np.errstate(invalid="ignore"):
            iat = np.where((iat >= IAT_RANGE_C[0]) & (iat <= IAT_RANGE_C[1]), iat, np.nan)
        t = run.time_s
        idle = _idle(rpm, run.channel("tps_pct"), settings)
        first, last = stretches(idle, segments(t, settings.seam_gap_s))
        long = (t[last] - t[first]) >= MIN_SOAK_S
        for i, j in zip(first[long], last[long], strict=True):  # a few stretches, not samples
            start = finite_median(iat[i:np.searchsorted(t, t[i] + IAT_EDGE_S) + 1])
            end = finite_median(iat[np.searchsorted(t, t[j] - IAT_EDGE_S):j + 1])
            rise = end - start
            seconds = float(t[j] - t[i])
            if np.isfinite(rise) and rise >= MIN_IAT_RISE_C and (
                    best is None or seconds > best.seconds):
                best = Soak(k, int(i), int(j), seconds, float(rise))
    return best


Soaks = tuple[FloatArray, IntArray, IntArray]
"""A log's time and its soaks' first and last rows."""


def _soaks(columns: Mapping[str, FloatArray], settings: AutotuneSettings) -> Soaks:
    """A log's time and its soaks' first and last rows (stretches of idle of ``MIN_SOAK_S`` or
    more), in order."""
    time_s = np.asarray(columns["time_s"], dtype=np.float64)
    rpm = columns.get("rpm")
    if rpm is None or time_s.size == 0:
        none = np.empty(0, dtype=np.intp)
        return time_s, none, none
    tps = columns.get("tps_pct")
    first, last = stretches(_idle(np.asarray(rpm, dtype=np.float64),
                                  None if tps is None else np.asarray(tps, dtype=np.float64),
                                  settings), segments(time_s, settings.seam_gap_s))
    long = (time_s[last] - time_s[first]) >= MIN_SOAK_S
    return time_s, first[long], last[long]


def soak_clock(columns: Mapping[str, FloatArray], settings: AutotuneSettings,
               ) -> tuple[FloatArray, FloatArray]:
    """Per row of one log: seconds of soak so far (during a soak) or in all (after one), and
    seconds since it ended (0 during it); NaN for both before the log's first soak. A soak is
    a stretch of idle (``SOAK_IDLE_MAX_RPM``, throttle shut) of ``MIN_SOAK_S`` or more; the
    clock counts from the latest one and does not carry from one log to the next."""
    return _clock(_soaks(columns, settings))


def _clock(soaks: Soaks) -> tuple[FloatArray, FloatArray]:
    time_s, starts, ends = soaks
    soak, since = np.full(time_s.size, np.nan), np.full(time_s.size, np.nan)
    for k, (i, j) in enumerate(zip(starts, ends, strict=True)):  # a few soaks, not samples
        stop = int(starts[k + 1]) if k + 1 < starts.size else time_s.size
        soak[i:j + 1] = time_s[i:j + 1] - time_s[i]
        since[i:j + 1] = 0.0
        soak[j + 1:stop] = time_s[j] - time_s[i]
        since[j + 1:stop] = time_s[j + 1:stop] - time_s[j]
    return soak, since


def iat_fall(columns: Mapping[str, FloatArray], iat: FloatArray, settings: AutotuneSettings,
             ) -> FloatArray:
    """Per row of one log: how far the IAT reading has fallen since the latest soak ended
    (its median over the soak's last ``IAT_EDGE_S``, minus the row's), °C; 0 during a soak,
    NaN before any.

    The bike's own washout: where the sensor reads its hot mounting more than the air, the
    reading falls fast once the air moves; where it reads the air, it falls only as the intake
    metal cools. At the same airflow and IAT, a bike whose reading has fallen further has less
    soak left in it."""
    return _fall(_soaks(columns, settings), iat)


def _fall(soaks: Soaks, iat: FloatArray) -> FloatArray:
    time_s, starts, ends = soaks
    out = np.full(time_s.size, np.nan)
    for k, (i, j) in enumerate(zip(starts, ends, strict=True)):  # a few soaks, not samples
        stop = int(starts[k + 1]) if k + 1 < starts.size else time_s.size
        out[i:j + 1] = 0.0
        end = finite_median(iat[np.searchsorted(time_s, time_s[j] - IAT_EDGE_S):j + 1])
        out[j + 1:stop] = end - iat[j + 1:stop]
    return out


def conditions(columns: Mapping[str, FloatArray], settings: AutotuneSettings,
               ) -> dict[str, FloatArray]:
    """``CONDITIONS`` per row of one log (NaN where a channel is not logged)."""
    n = np.asarray(columns["time_s"]).size
    missing = np.full(n, np.nan)

    def col(name: str) -> FloatArray:
        value = columns.get(name)
        return missing if value is None else np.asarray(value, dtype=np.float64)

    with np.errstate(invalid="ignore"):
        iat = col("iat_c")
        iat = np.where((iat >= IAT_RANGE_C[0]) & (iat <= IAT_RANGE_C[1]), iat, np.nan)
        soaks = _soaks(columns, settings)  # once for both clocks: a pass over the log's rpm
        soak, since = _clock(soaks)
        return {"airflow": col("rpm") * col("map_kpa") / 100.0,
                "iat_over_ambient_c": iat - col("ambient_temp_c"), "head_c": col("engine_temp_c"),
                "soak_s": soak, "since_soak_s": since,
                "iat_fall_c": _fall(soaks, iat)}


def _nearest(axis: FloatArray, values: FloatArray) -> IntArray:
    """Index of the nearest breakpoint of ``axis`` (ascending) per value; -1 where not finite."""
    i = np.clip(np.searchsorted(axis, values), 1, max(axis.size - 1, 1))
    lower = np.abs(values - axis[i - 1]) <= np.abs(axis[np.minimum(i, axis.size - 1)] - values)
    out = np.where(lower, i - 1, np.minimum(i, axis.size - 1))
    return np.where(np.isfinite(values), out, -1).astype(np.intp)


Conditioned = tuple[Mapping[str, FloatArray], Mapping[str, FloatArray]]
"""Rows of a log and their ``conditions`` (worked out on the whole log: the soak clock needs it)."""


def cell_conditions(measured: Measured, parts: Sequence[Conditioned],
                    ) -> dict[tuple[int, int], dict[str, float]]:
    """Per cell (row, col of ``measured``'s grid): the median of each condition over the rows
    of ``parts`` nearest it."""
    flats, conds = [], []
    for columns, cond in parts:
        rpm, load = columns.get("rpm"), columns.get(measured.load_channel)
        if rpm is None or load is None:
            continue
        rows = _nearest(measured.rpm, np.asarray(rpm, dtype=np.float64))
        cols = _nearest(measured.load, np.asarray(load, dtype=np.float64))
        flats.append(np.where((rows >= 0) & (cols >= 0), rows * measured.load.size + cols, -1))
        conds.append(cond)
    if not flats:
        return {}
    flat = np.concatenate(flats)
    joined = {name: np.concatenate([c[name] for c in conds]) for name in CONDITIONS}
    out: dict[tuple[int, int], dict[str, float]] = {}
    for cell in np.unique(flat[flat >= 0]):  # the cells visited: tens, not samples
        here = flat == cell
        out[divmod(int(cell), measured.load.size)] = {
            name: finite_median(values[here]) for name, values in joined.items()}
    return out


def _conditioned(run: Run, start: int, stop: int, cond: Mapping[str, FloatArray]
                 ) -> Conditioned:
    return _rows(run, start, stop), {k: v[start:stop] for k, v in cond.items()}


def _soak_cell(measured: Measured, name: str, i: int, j: int, inflation: float, weight: float,
               where: dict[str, float]) -> SoakCell:
    def value(key: str) -> float | None:
        v = where.get(key, math.nan)
        return round(v, 2) if math.isfinite(v) else None

    return SoakCell(rpm=float(measured.rpm[i]), load=float(measured.load[j]),
                    cylinder="front" if name == "ve_front" else "rear",
                    inflation_pct=round(inflation, 3), weight=round(weight, 1),
                    airflow=value("airflow"), iat_over_ambient_c=value("iat_over_ambient_c"),
                    head_c=value("head_c"), soak_s=value("soak_s"),
                    since_soak_s=value("since_soak_s"), iat_fall_c=value("iat_fall_c"))


def soaked_cells(before: Measured, before_parts: Sequence[Conditioned],
                 soaked: Sequence[tuple[Measured, Conditioned]], settings: AutotuneSettings,
                 ) -> list[SoakCell]:
    """The ``cells`` of the record: each soaked measurement's cells covered before too, against
    before, and those cells before the soak at 0 (see the module docstring)."""
    out: list[SoakCell] = []
    compared: dict[tuple[str, int, int], float] = {}
    for after, part in soaked:
        if (after.load_channel != before.load_channel
                or not np.array_equal(after.rpm, before.rpm)
                or not np.array_equal(after.load, before.load)):
            continue
        where = cell_conditions(after, [part])
        for name in VE_TABLES:
            both = before.covered(name, settings) & after.covered(name, settings)
            for i, j in zip(*np.nonzero(both), strict=True):
                ratio = after.need[name][i, j] / before.need[name][i, j]
                inflation = (ratio - 1.0) * 100.0
                if not abs(inflation) <= MAX_INFLATION_PCT or (i, j) not in where:
                    continue
                weight = float(min(before.weight[name][i, j], after.weight[name][i, j]))
                out.append(_soak_cell(before, name, int(i), int(j), inflation, weight,
                                      where[(i, j)]))
                compared[(name, int(i), int(j))] = float(before.weight[name][i, j])
    where_before = cell_conditions(before, before_parts)
    for (name, i, j), weight in sorted(compared.items()):
        if (i, j) in where_before:
            out.append(_soak_cell(before, name, i, j, 0.0, weight, where_before[(i, j)]))
    return out


def _rows(run: Run, start: int, stop: int) -> dict[str, np.ndarray]:
    return {name: column[start:stop] for name, column in run.columns.items()}


def heat_soak(session: SessionData, settings: AutotuneSettings,
              ) -> tuple[HeatSoak | None, str | None]:
    """The apparent VE inflation after an idle heat soak.

    Inputs: each run's ``iat_c``, ``rpm`` and ``tps_pct`` (the soak: ``find_soak``); the
    widebands, load and AFR target as for imbalance (``cylinder_imbalance``) before the soak
    (every earlier run and the soak run's rows before it) and after it (the soak run's rows
    after it, else the next run); the VE tables each run was fuelled from.

    Per cylinder and cell covered both before and after (``settings.min_weight`` and
    ``settings.max_ci95_pct``), 100 x (VE needed after / VE needed before - 1); the record holds
    their mean weighted by the lesser weight, and the rpm and load band of those cells.
    """
    runs = session_runs(session)
    if not any(run.channel("iat_c") is not None for run in runs):
        return None, "no intake air temperature (iat_c) logged: a heat soak cannot be seen"
    soak = find_soak(runs, settings)
    if soak is None:
        return None, (f"no idle heat soak in the runs ({MIN_SOAK_S / 60:g} min or more at "
                      f"idle with the intake air warming {MIN_IAT_RISE_C:g} °C or more)")
    soaked = runs[soak.run]
    before: list[Piece] = [(run.name, run.columns, run.tables) for run in runs[:soak.run]]
    before_parts: list[Conditioned] = [(run.columns, conditions(run.columns, settings))
                                       for run in runs[:soak.run]]
    cond = conditions(soaked.columns, settings)
    if soak.first > 0:
        before.append((f"{soaked.name} before the soak", _rows(soaked, 0, soak.first),
                       soaked.tables))
        before_parts.append(_conditioned(soaked, 0, soak.first, cond))
    measured_before, why = measure(before, session.afr_target, settings)
    if measured_before is None:
        return None, f"nothing measured before the soak to compare with ({why})"
    candidates: list[Piece] = []
    if soak.last + 1 < soaked.rows:
        candidates.append((f"{soaked.name} after the soak",
                           _rows(soaked, soak.last + 1, soaked.rows), soaked.tables))
    if soak.run + 1 < len(runs):
        following = runs[soak.run + 1]
        candidates.append((following.name, following.columns, following.tables))
    result: Compared | None = None
    for piece in candidates:  # the soak run's own rows first, else the next run
        measured_after, why = measure([piece], session.afr_target, settings)
        if measured_after is not None:
            result = _compare(measured_before, measured_after, settings)
            if result is not None:
                break
    if result is None:
        return None, ("no cell was covered both before and after the soak (hold some of the "
                      "same cells before and after it)")
    if not abs(result.inflation_pct) <= MAX_INFLATION_PCT:
        return None, (f"the VE after the soak differs from before by "
                      f"{result.inflation_pct:.1f} %: more than a soak does (another tune or a "
                      "sensor fault)")
    return HeatSoak(iat_rise_c=round(soak.iat_rise_c, 2),
                    soak_minutes=round(min(soak.seconds / 60.0, MAX_SOAK_MIN), 2),
                    ve_inflation_pct=round(result.inflation_pct, 2), rpm_range=result.rpm_range,
                    load_range=result.load_range,
                    cells=soaked_cells(measured_before, before_parts,
                                       _soaked_measurements(session, soaked, soak, cond, settings),
                                       settings)), None


def _soaked_measurements(session: SessionData, run: Run, soak: Soak,
                         cond: Mapping[str, FloatArray], settings: AutotuneSettings,
                         ) -> list[tuple[Measured, Conditioned]]:
    """The soak run measured in ``SLICE_S`` slices of the soak, then the rows after it."""
    t = run.time_s
    edges: list[tuple[int, int]] = []
    start = soak.first
    while start <= soak.last:
        stop = int(np.searchsorted(t, t[start] + SLICE_S, side="left"))
        stop = min(max(stop, start + 1), soak.last + 1)
        edges.append((start, stop))
        start = stop
    if soak.last + 1 < run.rows:
        edges.append((soak.last + 1, run.rows))
    out: list[tuple[Measured, Conditioned]] = []
    for a, b in edges:
        piece = (f"{run.name} rows {a}-{b - 1}", _rows(run, a, b), run.tables)
        measured, _why = measure([piece], session.afr_target, settings)
        if measured is not None:
            out.append((measured, _conditioned(run, a, b, cond)))
    return out


def _compare(before: Measured, after: Measured, settings: AutotuneSettings,
             ) -> Compared | None:
    """The inflation over the cells both cover (None when none, or on other axes)."""
    if (before.load_channel != after.load_channel
            or not np.array_equal(before.rpm, after.rpm)
            or not np.array_equal(before.load, after.load)):
        return None
    total = 0.0
    weighted = 0.0
    cells = np.zeros((before.rpm.size, before.load.size), dtype=bool)
    for name in VE_TABLES:
        both = before.covered(name, settings) & after.covered(name, settings)
        if not both.any():
            continue
        ratio = after.need[name][both] / before.need[name][both]
        weight = np.minimum(before.weight[name][both], after.weight[name][both])
        weighted += float(np.sum(weight * (ratio - 1.0) * 100.0))
        total += float(np.sum(weight))
        cells |= both
    if total <= 0:
        return None
    rows, cols = np.nonzero(cells)
    return Compared(weighted / total,
                    [float(before.rpm[rows].min()), float(before.rpm[rows].max())],
                    [float(before.load[cols].min()), float(before.load[cols].max())])
