"""Decel-only shop sessions and decel trials on the virtual cell, for benchmarks/decel_overlay.py.

``decel_shop(seed, count)`` plays the decel part of the simulated shop's sessions
(``commands.shop_session``) for the first ``count`` bikes of ``sim.shop.draw_shop(seed, ...)``:
the tune is the bike's true VE where a shop session's autotune rounds reach (40 kPa and up) and
its family and stage's generic base map below (closed throttle, which no round sweeps), so the
decel cells are as lean or rich as a real session leaves them; then the shop's own decel test
(``decel_test``: the decels, where the bike pops its hand fix, the decels again, a "pop" marker
a moment after each pop the tuner heard). Each session goes through the training extractor
(``ml.training.extract``) like a session of the full shop history, in about a tenth of its time.

``decel_trial(bike, tables)`` runs the built-in ``decel`` plan on a fresh cell (the same noise
each time for the same bike) and returns the truth's pops and the run as extraction reads it.
``steady_afr_error(bike, tables)`` holds a grid around the closed-throttle cells and returns the
|measured - target AFR| per held cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynoai_desktop.commands.shop_played import PlayedRun, PlayedVersion, SessionProfile
from dynoai_desktop.commands.shop_session import _Session
from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import ChangeSource
from dynoai_desktop.ml.training.extract import extract
from dynoai_desktop.ml.training.patterns.decel import decel_popping
from dynoai_desktop.ml.training.records import DecelPopping, TuningSession
from dynoai_desktop.ml.training.session_data import RunData, SessionData
from dynoai_desktop.sim.plans import Plan, PlanRunner, builtin_plan, grid
from dynoai_desktop.sim.shop import ShopBike, bike_true_ve, draw_shop
from dynoai_desktop.storage.resources import base_map_tables

AUTOTUNED_FROM_KPA = 40.0
"""The lowest MAP column a shop session's autotune regions reach (SessionProfile.regions)."""
STEADY_RPM = (1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0, 4500.0)
STEADY_KPA = (30.0, 35.0, 40.0, 50.0, 60.0)
STEADY_HOLD_S = 3.0
DECEL_PLAN_DECELS = 3  # the built-in plan "decel": three closed-throttle decels 5000-1500 rpm
SETTLED_S = 1.0  # a row counts once its hold has lasted this long (the wideband's delay)
Pair = tuple[Table, Table]


def shop_tune(bike: ShopBike) -> Pair:
    """The tables a shop session ends with, idealised: true VE where autotune reaches, the
    generic base map below ``AUTOTUNED_FROM_KPA``."""
    maps = base_map_tables(bike.build.engine_family.value, bike.build.stage)
    out = []
    for base, truth in zip(maps, bike_true_ve(bike), strict=True):
        low = (truth.col_breakpoints < AUTOTUNED_FROM_KPA)[None, :]
        out.append(truth.with_values(np.where(low, base.values, np.round(truth.values, 2))))
    return out[0], out[1]


def _run_data(run: PlayedRun, version: PlayedVersion, fixed: bool) -> RunData:
    return RunData(run.name, run.columns, run.kind,
                   tables={"ve_front": version.ve_front, "ve_rear": version.ve_rear},
                   markers=tuple((m.time_s, m.note) for m in run.markers),
                   after_decel_fix=fixed)


def _session_data(session: _Session, bike: ShopBike, enrichment_pct: float | None
                  ) -> SessionData:
    versions = {v.number: v for v in session.versions}
    runs = tuple(_run_data(r, versions[r.tune_version],
                           versions[r.tune_version].made_by is ChangeSource.DECEL_ENRICHMENT)
                 for r in session.runs)
    first, last = session.versions[0], session.versions[-1]
    return SessionData(
        f"session:{bike.index + 1}", bike.vehicle, bike.build, runs,
        {"ve_front": first.ve_front, "ve_rear": first.ve_rear},
        {"ve_front": last.ve_front, "ve_rear": last.ve_rear}, simulated=True,
        started_at=bike.started_at.isoformat(), decel_enrichment_pct=enrichment_pct)


def decel_session(bike: ShopBike, profile: SessionProfile | None = None) -> TuningSession:
    """One bike's decel test and hand fix, as a training record."""
    session = _Session(bike, shop_tune(bike), profile or SessionProfile())
    session.warm_up()
    fix = session.decel_test()
    return extract(_session_data(session, bike, fix.enrichment_pct))


def decel_shop(seed: int, count: int, profile: SessionProfile | None = None
               ) -> list[TuningSession]:
    """Decel sessions of the first ``count`` bikes of the shop with ``seed``."""
    return [decel_session(bike, profile) for bike in draw_shop(seed, count)]


@dataclass(frozen=True)
class Trial:
    """One run of the built-in ``decel`` plan."""

    pops: int  # the truth's decel pops in it
    decels: int
    record: DecelPopping | None  # what the training extractor reads of it (None: no spike)
    refusal: str | None


def _fresh(bike: ShopBike, tables: Pair) -> _Session:
    session = _Session(bike, tables, SessionProfile())
    session.warm_up()
    return session


def _run_builtin(session: _Session, plan: str) -> tuple[float, dict[str, np.ndarray]]:
    since = session.cell.time_s
    session.cell.runner = PlanRunner(builtin_plan(plan), loop=False)
    block = session.log.run(None)
    return since, {k: np.asarray(v, dtype=np.float64) for k, v in block.columns.items()}


def decel_trial(bike: ShopBike, tables: Pair) -> Trial:
    """The built-in ``decel`` plan on ``tables`` after the shop's warm-up (same noise for the
    same bike), read by the training extractor with a "pop" marker after each pop heard."""
    session = _fresh(bike, tables)
    since, columns = _run_builtin(session, "decel")
    pops = len(session._pops(since))
    session.runs.clear()
    session.record("decel plan", "decel", [("decel plan", columns)])
    data = _session_data(session, bike, None)
    record, refusal = decel_popping(data, AutotuneSettings())
    return Trial(pops, DECEL_PLAN_DECELS, record, refusal)


def steady_afr_error(bike: ShopBike, tables: Pair,
                     rpms: tuple[float, ...] = STEADY_RPM, kpas: tuple[float, ...] = STEADY_KPA
                     ) -> dict[tuple[float, float], float]:
    """|measured - target AFR| (mean of both cylinders) per held (rpm, kPa) of a steady grid
    around the closed-throttle cells (``rpms`` × ``kpas``), rows once the hold has settled
    ``SETTLED_S``."""
    session = _fresh(bike, tables)
    holds = Plan("steady holds", tuple(grid(list(rpms), list(kpas), STEADY_HOLD_S)))
    session.cell.runner = PlanRunner(holds, loop=False)
    block = session.log.run(None)
    cols = {k: np.asarray(v, dtype=np.float64) for k, v in block.columns.items()}
    t, rpm, kpa = cols["time_s"], cols["rpm"], cols["map_kpa"]
    error = np.nanmean(np.abs(np.vstack([cols["afr_front"], cols["afr_rear"]])
                              - cols["afr_target"]), axis=0)
    out = {}
    for r in rpms:
        for k in kpas:
            at = (np.abs(rpm - r) < 60.0) & (np.abs(kpa - k) < 1.5)
            if not at.any():
                continue
            start = t[np.flatnonzero(at)[0]]
            settled = at & (t >= start + SETTLED_S) & np.isfinite(error)
            if settled.sum() >= 5:
                out[(r, k)] = float(np.mean(error[settled]))
    return out
