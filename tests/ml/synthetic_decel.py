"""Synthetic decel records for the decel-recommender tests: a shop's decel tests and hand fixes,
made in milliseconds (nothing simulated).

Each session's bike runs its decels a drawn amount lean: the enrichment it needs to stop popping
(``need_pct``, 0-16 %) times how readily its build pops (cam overlap and pipe) decides how many
lean spikes per decel the wideband shows and how many pops the tuner hears. Where it popped, the
shop applies its hand fix (6 % + 3 % per pop heard per decel, at most 20 %) and the pops stop when
that covers the need (a little noise aside). So more spikes mean more enrichment needed, as on
the cell. ``coin_flip=True`` makes every outcome a coin flip, unrelated to the build or the
evidence: a model can learn nothing from it.

The mix has six build groups that train and two that ``ml.train.is_held_out`` holds out (the
groups of tests/ml/synthetic_sessions.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, CamSpec, EngineFamily, Exhaust
from dynoai_desktop.ml.training.records import (
    DecelPopping,
    Environment,
    Outcome,
    Patterns,
    RunSummary,
    TuningSession,
)

MIX: tuple[tuple[EngineFamily, int, float | None, Exhaust], ...] = (
    (EngineFamily.TC103, 1, None, Exhaust.SLIP_ON),
    (EngineFamily.TC103, 2, 222.0, Exhaust.TWO_INTO_ONE),
    (EngineFamily.TC103, 3, 240.0, Exhaust.TWO_INTO_ONE),
    (EngineFamily.M8_114, 1, None, Exhaust.TWO_INTO_TWO),
    (EngineFamily.M8_114, 2, 224.0, Exhaust.DRAG_PIPES),
    (EngineFamily.EVO_1340, 0, None, Exhaust.STOCK),
    (EngineFamily.TC110, 1, None, Exhaust.TWO_INTO_ONE),  # held out
    (EngineFamily.TC96, 3, 238.0, Exhaust.TWO_ONE_TWO),  # held out
)
"""(family, stage, cam mean duration at .053 in or None for stock, exhaust), used in turn."""
OPENNESS = {Exhaust.STOCK: 0.2, Exhaust.SLIP_ON: 0.5, Exhaust.TWO_INTO_TWO: 0.6,
            Exhaust.TWO_ONE_TWO: 0.6, Exhaust.TWO_INTO_ONE: 0.8, Exhaust.DRAG_PIPES: 1.0}


def decel_build(family: EngineFamily, stage: int, duration_deg: float | None,
                exhaust: Exhaust) -> BuildSpec:
    build = BuildSpec.stock(family)
    cam = CamSpec("stock") if duration_deg is None else CamSpec(
        "synthetic cam", intake_duration_deg=duration_deg, exhaust_duration_deg=duration_deg,
        overlap_deg=round(duration_deg - 198.0, 1), intake_lift_in=0.55, exhaust_lift_in=0.55)
    return replace(build, stage=stage, cam=cam, exhaust=exhaust,
                   air_cleaner=AirCleaner.STOCK if stage == 0 else AirCleaner.HIGH_FLOW)


def tendency(build: BuildSpec) -> float:
    """0..1: how readily a lean decel pops (an open pipe and overlap)."""
    overlap = build.cam.overlap_deg if build.cam.overlap_deg is not None else 8.0
    return OPENNESS[build.exhaust] * (0.35 + 0.65 * min(overlap / 45.0, 1.0))


def shop_fix_pct(heard_per_decel: float) -> float:
    """The shop's hand fix for the pops heard."""
    return float(min(20.0, 6.0 + 3.0 * heard_per_decel))


def decel_record(build: BuildSpec, need_pct: float, rng: np.random.Generator,
                 coin_flip: bool = False) -> DecelPopping:
    """The decel pattern of a bike of ``build`` that needs ``need_pct`` to stop popping."""
    decels = 2
    pops = int(rng.poisson(2.0 * tendency(build) * need_pct / 4.0 * decels))
    spikes = pops + int(rng.poisson(3.0 * decels)) + round(need_pct * decels / 2.0)
    heard = pops / decels
    fixed = coin_flip and rng.random() < 0.5 or not coin_flip and pops > 0
    enrichment = shop_fix_pct(heard) if fixed else None
    if coin_flip:
        heard_after = float(rng.integers(0, 2)) if fixed else None
    else:
        heard_after = (0.0 if enrichment is not None and enrichment + rng.normal(0.0, 1.0)
                       >= need_pct else 1.0) if fixed else None
    return DecelPopping(
        events=min(decels, max(spikes, 1)), spike_afr=round(16.0 + 0.15 * need_pct, 2),
        zone_rpm=[round(float(rng.uniform(1800.0, 2200.0))),
                  round(float(rng.uniform(4200.0, 4700.0)))],
        zone_tps_pct=[0.0, 1.0], pops_per_decel_before=max(spikes, 1) / decels,
        enrichment_pct=enrichment,
        pops_per_decel_after=None if enrichment is None else float(rng.integers(0, 3)),
        pops_heard_per_decel_before=heard if not coin_flip else float(rng.integers(0, 2)),
        pops_heard_per_decel_after=heard_after)


def decel_sessions(n: int = 64, seed: int = 0, *, coin_flip: bool = False,
                   id_prefix: str = "decel") -> list[TuningSession]:
    """``n`` sessions of the builds of :data:`MIX` in turn; the same seed, the same sessions."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        build = decel_build(*MIX[i % len(MIX)])
        need = float(rng.uniform(0.0, 16.0))
        record = decel_record(build, need, rng, coin_flip)
        air = Environment(ambient_temp_c=round(float(rng.uniform(15.0, 35.0)), 1),
                          baro_kpa=round(float(rng.uniform(96.0, 101.5)), 1), humidity_pct=40.0)
        out.append(TuningSession(
            f"{id_prefix}:{i + 1}", True, f"synthetic {build.engine_family.label} #{i + 1}",
            build.to_dict(), air, [RunSummary("decel check", 40.0, 800, "decel")], 40.0, {}, {},
            Outcome(cells_corrected=0, autotune_rounds=0, converged=True),
            Patterns(decel_popping=record), {}, "2025-03-03T08:30:00+00:00"))
    return out
