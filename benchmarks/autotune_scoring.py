"""The closed-loop autotune benchmark's scoring (``benchmarks/autotune_closed_loop.py``): its
run log read with the plan's phases, the cell classes (steady, WOT-only, closed-only: defined in
that script's docstring), the naive baseline's correction and the scores of a table against
``ve_effective`` and against the wideband-reachable VE. Imported by that script, after it has put
the repository on ``sys.path``."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dynoai_desktop.core.table import Table
from dynoai_desktop.core.units import GASOLINE_STOICH_AFR

CYLINDERS = ("front", "rear")
STEADY_MIN_S = 2.0
REACHED_MIN_S = 0.1
WOT_HOLD_TOUCH_S = 0.5  # a WOT-only cell may get this much of a hold's bilinear weight (10 %)
CLOSED_TPS_PCT = 1.0
CORRECTED_PCT = 1.0
STEADY_LABEL = re.compile(r"^hold \S+ rpm \S+ kPa$")
PULL_LABEL = re.compile(r"^pull \S+ rpm$")
TIP_IN_LABEL = re.compile(r"^tip-in ")
IDLE_LABEL = re.compile(r"^idle")


def nullable(values: list) -> np.ndarray:
    return np.array([[math.nan if v is None else v for v in row] for row in values], dtype=float)


# ------------------------------------------------------------------------ the log
@dataclass
class Log:
    time_s: np.ndarray
    rpm: np.ndarray
    map_kpa: np.ndarray
    tps_pct: np.ndarray
    afr_target: np.ndarray
    afr: dict[str, np.ndarray]
    label: list[str] = field(default_factory=list)


def _column(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(r[name]) if r[name] not in ("", None) else math.nan for r in rows])


def read_log(path: Path, phases: list[dict]) -> Log:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["time_s"].startswith("#")]
    afr = {}
    for cyl in CYLINDERS:
        values = _column(rows, f"afr_{cyl}")
        status = [r.get(f"afr_{cyl}_status", "") for r in rows]
        afr[cyl] = np.where([s in ("", "0") for s in status], values, math.nan)
    log = Log(_column(rows, "time_s"), _column(rows, "rpm"), _column(rows, "map_kpa"),
              _column(rows, "tps_pct"), _column(rows, "afr_target"), afr)
    starts = np.array([p["time_s"] for p in phases if p["kind"] == "phase"])
    labels = [p["detail"] for p in phases if p["kind"] == "phase"]
    index = np.clip(np.searchsorted(starts, log.time_s, side="right") - 1, 0, len(labels) - 1)
    log.label = [labels[i] for i in index]
    return log


def nearest(axis: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.abs(axis[None, :] - np.nan_to_num(x)[:, None]).argmin(axis=1)


@dataclass
class Classes:
    steady: np.ndarray  # bool grids
    wot_only: np.ndarray
    closed_only: np.ndarray


def corners(axis: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper breakpoint index around each ``x`` and the upper one's weight (a table
    lookup's bilinear weights, clamped at the edges)."""
    clamped = np.clip(np.nan_to_num(x), axis[0], axis[-1])
    upper = np.clip(np.searchsorted(axis, clamped, side="right"), 1, axis.size - 1)
    lower = upper - 1
    return lower, upper, (clamped - axis[lower]) / (axis[upper] - axis[lower])


def classify(log: Log, rpm_axis: np.ndarray, kpa_axis: np.ndarray) -> Classes:
    shape = (rpm_axis.size, kpa_axis.size)
    dt = float(np.median(np.diff(log.time_s)))
    warm = next(i for i, lab in enumerate(log.label) if not IDLE_LABEL.match(lab))
    ri, mi = nearest(rpm_axis, log.rpm), nearest(kpa_axis, log.map_kpa)
    r0, r1, wr = corners(rpm_axis, log.rpm)
    m0, m1, wm = corners(kpa_axis, log.map_kpa)
    kinds = ("steady", "pull", "tip", "closed", "open")
    seconds = {k: np.zeros(shape) for k in kinds}  # at the nearest cell
    touched = {k: np.zeros(shape) for k in kinds}  # spread with the lookup's bilinear weights
    for i in range(warm, log.time_s.size):
        label = log.label[i]
        if STEADY_LABEL.match(label):
            kind = "steady"
        elif PULL_LABEL.match(label):
            kind = "pull"
        elif TIP_IN_LABEL.match(label):
            kind = "tip"
        elif IDLE_LABEL.match(label) or label == "plan finished":
            kind = "open"  # idle: the cell is fuelled with the clutch in
        elif log.tps_pct[i] <= CLOSED_TPS_PCT:
            kind = "closed"
        else:
            kind = "open"
        seconds[kind][ri[i], mi[i]] += dt
        for r, w_r in ((r0[i], 1.0 - wr[i]), (r1[i], wr[i])):
            for m, w_m in ((m0[i], 1.0 - wm[i]), (m1[i], wm[i])):
                touched[kind][r, m] += dt * w_r * w_m
    open_any = touched["steady"] + touched["pull"] + touched["tip"] + touched["open"]
    return Classes(
        steady=seconds["steady"] >= STEADY_MIN_S,
        wot_only=(seconds["pull"] >= REACHED_MIN_S)
        & (touched["steady"] + touched["tip"] < WOT_HOLD_TOUCH_S),
        closed_only=(seconds["closed"] >= REACHED_MIN_S) & (open_any < REACHED_MIN_S),
    )


def naive_correction(table: Table, log: Log, cyl: str) -> Table:
    """Nearest cell, plain mean of AFR / target over every reading sample, no delay or filter."""
    values = np.array(table.values, dtype=float)
    rows, cols = table.row_breakpoints, table.col_breakpoints
    ok = np.isfinite(log.afr[cyl]) & np.isfinite(log.afr_target) & (log.afr_target > 0)
    ri, mi = nearest(rows, log.rpm[ok]), nearest(cols, log.map_kpa[ok])
    ratio = log.afr[cyl][ok] / log.afr_target[ok]
    total = np.zeros(values.shape)
    count = np.zeros(values.shape)
    np.add.at(total, (ri, mi), ratio)
    np.add.at(count, (ri, mi), 1.0)
    hit = count > 0
    values[hit] *= total[hit] / count[hit]
    return table.with_values(np.round(values, 2))


# ------------------------------------------------------------------------ scoring
@dataclass
class Against:
    """How a table scores against one reference VE."""

    steady_rms: float
    steady_max: float
    corrected: float
    wot_rms: float
    wot_max: float


@dataclass
class Score:
    effective: Against
    """Against ``ve_effective``: what puts the burning mixture on target."""
    reachable: Against
    """Against ``ve_effective`` x the wideband's own bias (its calibration offset and cam
    reversion's false lean, both in the truth): what an AFR-trusting method can reach."""
    steady_n: int
    wot_n: int
    closed_moved: float
    closed_n: int


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) * 100.0 if x.size else math.nan


def _max(x: np.ndarray) -> float:
    return float(np.max(np.abs(x))) * 100.0 if x.size else math.nan


def _against(steady: np.ndarray, wot: np.ndarray) -> Against:
    corrected = (float(np.mean(np.abs(steady) <= CORRECTED_PCT / 100.0)) * 100.0
                 if steady.size else math.nan)
    return Against(_rms(steady), _max(steady), corrected, _rms(wot), _max(wot))


def score(tables: dict[str, Table], base: dict[str, Table], truth: dict, classes: Classes
          ) -> Score:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("s", "w", "sr", "wr", "m")}
    for cyl in CYLINDERS:
        values = np.array(tables[cyl].values, dtype=float)
        effective = nullable(truth["ve_effective"][cyl]["values"])
        error = values / effective - 1.0
        seen = values / (effective * wideband_factor(truth, cyl)) - 1.0
        known = np.isfinite(effective)
        parts["s"].append(error[classes.steady & known])
        parts["w"].append(error[classes.wot_only & known])
        parts["sr"].append(seen[classes.steady & known])
        parts["wr"].append(seen[classes.wot_only & known])
        parts["m"].append((values / np.array(base[cyl].values) - 1.0)[classes.closed_only])
    s, w, sr, wr, m = (np.concatenate(parts[k]) for k in ("s", "w", "sr", "wr", "m"))
    return Score(_against(s, w), _against(sr, wr), s.size, w.size, _max(m), m.size)


# ------------------------------------------------------------------------ the wideband's bias
def wideband_factor(truth: dict, cyl: str) -> np.ndarray:
    """What the wideband itself makes a perfect AFR-based autotune miss ``ve_effective`` by, per
    cell: its calibration offset (λ) and cam reversion's false lean,
    λ_read / λ_burned ≈ 1 + lean + offset / λ_target."""
    target = truth["ecm_tables"]["afr_target"]
    afr = Table("afr", "AFR", "rpm", "map_kpa", np.array(target["rpm"], dtype=float),
                np.array(target["map_kpa"], dtype=float), np.array(target["values"], dtype=float))
    entry = truth["ve_effective"][cyl]
    rpm, kpa = np.meshgrid(entry["rpm"], entry["map_kpa"], indexing="ij")
    lam_target = np.asarray(afr.lookup(rpm, kpa)) / GASOLINE_STOICH_AFR
    lean = nullable(entry["wideband_reads_lean_pct"]) / 100.0
    return 1.0 + lean + truth["wideband"]["lambda_offset"][cyl] / lam_target


def wideband_bias(truth: dict, classes: Classes) -> float:
    """RMS % of ``wideband_factor`` − 1 over the steady cells: a floor for any AFR-based method
    scored against ``ve_effective``."""
    errors = []
    for cyl in CYLINDERS:
        known = np.isfinite(nullable(truth["ve_effective"][cyl]["values"]))
        errors.append((wideband_factor(truth, cyl) - 1.0)[classes.steady & known])
    return _rms(np.concatenate(errors))
