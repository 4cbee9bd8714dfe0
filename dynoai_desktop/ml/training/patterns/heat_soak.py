"""Heat soak: what a long hot idle does to the VE the engine appears to need afterwards.

After an idle with little air moving, the intake, the IAT sensor on it and the charge are all
warmer; where the sensor and the charge warm differently the ECM fuels the wrong air mass, and
the widebands show it as an AFR residual. Expressed as VE (the VE each cell needed after the
soak against before it, same cells, autotune's filters and delay), that is the apparent VE
inflation a tuner must not bake into the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.autotune.filters import segments
from dynoai_desktop.ml.training.patterns.common import (
    VE_TABLES,
    Measured,
    Piece,
    Run,
    finite_median,
    measure,
    session_runs,
    stretches,
)
from dynoai_desktop.ml.training.records import HeatSoak
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
        with np.errstate(invalid="ignore"):
            idle = (rpm > RUNNING_RPM) & (rpm < SOAK_IDLE_MAX_RPM)
            tps = run.channel("tps_pct")
            if tps is not None:
                idle &= ~(tps >= settings.closed_throttle_below_pct)
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
    if soak.first > 0:
        before.append((f"{soaked.name} before the soak", _rows(soaked, 0, soak.first),
                       soaked.tables))
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
                    load_range=result.load_range), None


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
