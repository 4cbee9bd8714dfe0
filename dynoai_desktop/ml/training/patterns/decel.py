"""Decel popping: closed-throttle decels whose widebands spike lean, and the enrichment's effect.

A pop is a misfired closed-throttle cycle lighting in the pipe; its unburnt oxygen passes the
wideband as a short lean spike over the decel's own (already lean) reading. So a spike is read
against the running median of the same decel's readings, not against the target alone: a
reading at least ``SPIKE_MIN_AFR`` (and ``SPIKE_MIN_FRACTION``) over the median of the readings
within ``BASELINE_HALF_S`` around it, and ``SPIKE_OVER_TARGET_AFR`` over the target where one is
known. Where the median itself reads ``FUEL_CUT_AFR`` or leaner the injectors are off (decel fuel
cut: the sensor sees air) and nothing can pop. A wideband cannot tell a pop from a partial misfire
that does not light in the pipe: both are the same spike. So pops are also counted the way a
tuner counts them, by ear: a marker whose note is "pop" (the session bar's Pop button) in a decel
or within ``POP_MARK_AFTER_S`` after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.autotune.filters import segments
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.training.patterns.common import (
    VE_TABLES,
    Box,
    FloatArray,
    IntArray,
    Run,
    finite_median,
    sample_period_s,
    session_runs,
    stretches,
    window_medians,
)
from dynoai_desktop.ml.training.records import AFR, DecelPopping
from dynoai_desktop.ml.training.session_data import SessionData

DECEL_MIN_S = 1.0
DECEL_MIN_DROP_RPM = 300.0
"""A decel: the throttle shut (under ``settings.closed_throttle_below_pct``) above idle
(``settings.idle_max_rpm``) for at least ``DECEL_MIN_S``, the rpm falling by at least this."""
BASELINE_HALF_S = 0.3
SPIKE_MIN_AFR = 1.0
SPIKE_MIN_FRACTION = 0.06
SPIKE_OVER_TARGET_AFR = 1.0
FUEL_CUT_AFR = 21.0
POP_NOTE = re.compile(r"^\s*pop!?\s*$", re.IGNORECASE)
POP_MARK_AFTER_S = 1.0
"""A pop heard is marked a moment after it happened (the tuner's reaction)."""
DECEL_CELLS = {"map_kpa": Box((1500.0, float("inf")), (0.0, 35.0)),
               "tps_pct": Box((1500.0, float("inf")), (0.0, 5.0))}
"""The VE cells a decel runs in; a run fuelled from tables that differ there from the first
decel's ran after the decel fix."""


@dataclass(frozen=True, eq=False)
class DecelScan:
    """One run's decels and the lean spikes in them (one entry per spike, either cylinder)."""

    decels: int
    decels_read: int
    """Decels with a valid wideband reading."""
    peak_afr: FloatArray
    rpm: FloatArray
    tps_pct: FloatArray
    decel: IntArray
    """Which decel of the run each spike is in."""
    pops_heard: int = 0
    """Pop markers in the decels."""
    marked: bool = False
    """The run has a pop marker anywhere."""

    @property
    def spikes(self) -> int:
        return int(self.peak_afr.size)

    @property
    def decels_with_spikes(self) -> int:
        return int(np.unique(self.decel).size)


def _joined(parts: list[np.ndarray], dtype: type = np.float64) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def scan_decels(run: Run, target: Table | None, settings: AutotuneSettings) -> DecelScan | None:
    """The decels of ``run`` and their spikes (None without rpm and throttle)."""
    rpm, tps = run.channel("rpm"), run.channel("tps_pct")
    if rpm is None or tps is None:
        return None
    t = run.time_s
    n = t.size
    seg = segments(t, settings.seam_gap_s)
    with np.errstate(invalid="ignore"):
        closed = (tps < settings.closed_throttle_below_pct) & (rpm > settings.idle_max_rpm)
    starts, ends = stretches(closed, seg)
    keep = ((t[ends] - t[starts]) >= DECEL_MIN_S) & ((rpm[starts] - rpm[ends])
                                                     >= DECEL_MIN_DROP_RPM)
    starts, ends = starts[keep], ends[keep]
    edges = np.zeros(n + 1, dtype=np.intp)
    np.add.at(edges, starts, 1)
    np.add.at(edges, ends + 1, -1)
    inside = np.cumsum(edges[:n]) > 0
    decel_id = np.cumsum(np.isin(np.arange(n), starts)) - 1
    target_afr = _target(run, target)
    half = max(1, round(BASELINE_HALF_S / sample_period_s(t))) if n > 1 else 1
    peaks, at_rpm, at_tps, which = [], [], [], []
    read = np.zeros(starts.size, dtype=bool)
    for cyl in ("front", "rear"):
        afr = run.channel(f"afr_{cyl}")
        if afr is None or not starts.size:
            continue
        valid = np.isfinite(afr)
        status = run.columns.get(f"afr_{cyl}_status")
        if status is not None and np.isfinite(status).any():
            valid &= status == 0
        reading = np.where(valid, afr, np.nan)
        at = np.flatnonzero(inside & valid)
        if not at.size:
            continue
        read[np.unique(decel_id[at])] = True
        baseline = window_medians(np.where(inside, reading, np.nan), at, half)
        excess = reading[at] - baseline
        with np.errstate(invalid="ignore"):
            above = (excess >= np.maximum(SPIKE_MIN_AFR, SPIKE_MIN_FRACTION * baseline)) & (
                baseline < FUEL_CUT_AFR)
            if target_afr is not None:
                above &= ~(reading[at] < target_afr[at] + SPIKE_OVER_TARGET_AFR)
        mask = np.zeros(n, dtype=bool)
        mask[at[above]] = True
        first, last = stretches(mask, seg)
        if not first.size:
            continue
        spike_id = np.cumsum(np.isin(np.arange(n), first)) - 1
        peak = np.full(first.size, -np.inf)
        np.maximum.at(peak, spike_id[mask], reading[mask])
        peaks.append(peak)
        at_rpm.append(rpm[first])
        at_tps.append(tps[first])
        which.append(decel_id[first])
    heard, marked = _pops_heard(run, t[starts], t[ends])
    return DecelScan(int(starts.size), int(read.sum()), _joined(peaks), _joined(at_rpm),
                     _joined(at_tps), _joined(which, np.intp), heard, marked)


def _pops_heard(run: Run, start_s: FloatArray, end_s: FloatArray) -> tuple[int, bool]:
    """Pop markers in the decels (from each start to ``POP_MARK_AFTER_S`` after its end), and
    whether the run has any pop marker."""
    marks = np.array([at for at, note in run.markers if POP_NOTE.match(note)])
    if not marks.size:
        return 0, False
    inside = (marks[:, None] >= start_s[None, :]) & (
        marks[:, None] <= end_s[None, :] + POP_MARK_AFTER_S)
    return int(inside.any(axis=1).sum()), True


def _target(run: Run, target: Table | None) -> FloatArray | None:
    if target is not None:
        load = run.channel(target.col_axis)
        rpm = run.channel("rpm")
        if load is not None and rpm is not None:
            return np.asarray(target.lookup(rpm, load), dtype=np.float64)
    return run.channel("afr_target")


def _after_fix(runs: list[Run], scans: list[DecelScan | None]) -> list[bool]:
    """Which runs ran after the decel fix: as the runs say (the tune's versions), else fuelled
    from tables that differ in the decel cells from those of the first run with a decel (all
    False when the runs do not say which tables fuelled them)."""
    if all(run.after_decel_fix is not None for run in runs):
        return [bool(run.after_decel_fix) for run in runs]
    first = next((i for i, s in enumerate(scans) if s is not None and s.decels), None)
    if first is None or not runs[first].own_tables:
        return [False] * len(runs)
    ref = runs[first].tables
    out = [False] * len(runs)
    for i in range(first + 1, len(runs)):
        if out[i - 1]:
            out[i] = True
            continue
        run = runs[i]
        out[i] = run.own_tables and _differs_in_decel_cells(ref, run.tables)
    return out


def _differs_in_decel_cells(a: Mapping[str, Table], b: Mapping[str, Table],
                            outside: bool = False) -> bool:
    """Whether the VE tables ``b`` differ from ``a`` in the decel cells (``outside``: in the
    other cells)."""
    for name in VE_TABLES:
        ta, tb = a.get(name), b.get(name)
        if ta is None or tb is None:
            continue
        box = DECEL_CELLS.get(ta.col_axis)
        view = ta.normalised()
        rpm, load = np.meshgrid(view.row_breakpoints, view.col_breakpoints, indexing="ij")
        inside = box.contains(rpm, load) if box is not None else np.ones(rpm.shape, bool)
        if tb.col_axis != ta.col_axis:
            return True
        other = np.asarray(tb.lookup(rpm, load), dtype=np.float64)
        if np.any(np.abs(other - view.values)[~inside if outside else inside] > 0.005):
            return True
    return False


def is_decel_fix(a: Mapping[str, Table], b: Mapping[str, Table]) -> bool:
    """From VE tables ``a`` to ``b`` only the decel cells changed (a decel enrichment, not an
    autotune round)."""
    return _differs_in_decel_cells(a, b) and not _differs_in_decel_cells(a, b, outside=True)


def decel_popping(session: SessionData, settings: AutotuneSettings,
                  ) -> tuple[DecelPopping | None, str | None]:
    """Decel events, the spike, its zone, and pops per decel before and after the fix.

    Inputs: each run's ``rpm`` and ``tps_pct`` (the decels), ``afr_front``/``afr_rear`` with
    their status (the spikes), the AFR target (the session's table, else each run's
    ``afr_target``; without either the spike is judged against the decel's own reading only);
    the runs' "pop" markers (pops heard; none in the session: not counted);
    for before/after, ``SessionData.decel_enrichment_pct`` and the VE tables each run was
    fuelled from (``RunData.tables``). ``settings``: what a shut throttle and idle are.

    Events, the spike (median peak AFR), the zone (rpm and throttle band of the spikes) and pops
    per decel describe the runs before the fix (all runs when there was none or the runs do not
    say which tables fuelled them); pops per decel after, the runs after it.
    """
    runs = session_runs(session)
    scans = [scan_decels(run, session.afr_target, settings) for run in runs]
    if all(s is None for s in scans):
        return None, ("no run logged rpm and throttle (tps_pct): closed-throttle decels cannot "
                      "be found")
    decels = sum(s.decels for s in scans if s is not None)
    if not decels:
        return None, (f"no closed-throttle decel in the runs (throttle under "
                      f"{settings.closed_throttle_below_pct:g} % above "
                      f"{settings.idle_max_rpm:g} rpm for {DECEL_MIN_S:g} s or more, the rpm "
                      f"falling {DECEL_MIN_DROP_RPM:g} or more)")
    if not sum(s.decels_read for s in scans if s is not None):
        return None, f"no wideband reading in the {decels} closed-throttle decels"
    after = _after_fix(runs, scans) if session.decel_enrichment_pct is not None else \
        [False] * len(runs)
    before_scans = [s for s, a in zip(scans, after, strict=True) if s is not None and not a]
    after_scans = [s for s, a in zip(scans, after, strict=True) if s is not None and a]
    peaks = np.concatenate([s.peak_afr for s in before_scans])
    n_before = sum(s.decels for s in before_scans)
    if not peaks.size:
        return None, (f"no lean spike in the {n_before} closed-throttle decels (a reading "
                      f"{SPIKE_MIN_AFR:g} AFR over the decel's own): it does not pop")
    rpm = np.concatenate([s.rpm for s in before_scans])
    tps = np.concatenate([s.tps_pct for s in before_scans])
    n_after = sum(s.decels for s in after_scans)
    enrichment = session.decel_enrichment_pct
    if enrichment is not None and not (np.isfinite(enrichment) and 0.0 <= enrichment <= 100.0):
        enrichment = None
    marked = any(s.marked for s in scans if s is not None)

    def heard(part: list[DecelScan], decels: int) -> float | None:
        if not marked or not decels:
            return None
        return round(min(sum(s.pops_heard for s in part) / decels, 100.0), 3)

    return DecelPopping(
        events=sum(s.decels_with_spikes for s in before_scans),
        spike_afr=round(float(np.clip(finite_median(peaks), AFR["lo"], AFR["hi"])), 2),
        zone_rpm=[round(float(np.min(rpm)), 0), round(float(np.max(rpm)), 0)],
        zone_tps_pct=[round(float(np.clip(np.min(tps), 0.0, 100.0)), 2),
                      round(float(np.clip(np.max(tps), 0.0, 100.0)), 2)],
        pops_per_decel_before=round(min(peaks.size / n_before, 100.0), 3),
        enrichment_pct=enrichment,
        pops_per_decel_after=(round(min(sum(s.spikes for s in after_scans) / n_after, 100.0), 3)
                              if n_after else None),
        pops_heard_per_decel_before=heard(before_scans, n_before),
        pops_heard_per_decel_after=heard(after_scans, n_after)), None
