"""Synthetic heat-soak records: a shop whose TMAPs read hot in proportion to the heat they soaked
up, washing out with airflow and time (``soak_law``), for the compensator's tests."""

from __future__ import annotations

import math

import numpy as np

from dynoai_desktop.ml.training.records import (
    Environment,
    HeatSoak,
    Outcome,
    Patterns,
    RunSummary,
    SoakCell,
    TuningSession,
)
from tests.ml.synthetic_sessions import MIX, synthetic_build


def soak_law(airflow: float, iat_over_ambient: float, since_s: float) -> float:
    """The synthetic shop's soak: a TMAP reading hot in proportion to the heat it soaked up,
    washing out with airflow and with the time since the soak."""
    return 0.12 * iat_over_ambient * math.exp(-((airflow / 1500.0) ** 2)) * math.exp(
        -since_s / 120.0)


def soak_session(i: int, rng: np.random.Generator, noise_pct: float = 0.1,
                 law: bool = True) -> TuningSession:
    family, stage, cam = MIX[i % len(MIX)]
    build = synthetic_build(family, stage, cam, rng)
    soak_s = float(rng.uniform(120.0, 600.0))
    cells = []
    for airflow, since in ((400.0, 0.0), (600.0, 10.0), (1000.0, 20.0), (1500.0, 30.0),
                           (2500.0, 40.0), (4000.0, 50.0)):
        rise = 10.0 + 3.0 * soak_s / 60.0 * float(rng.uniform(0.7, 1.3))
        iat = rise * math.exp(-since / 200.0)
        truth = soak_law(airflow, iat, since) if law else 0.0
        noise = float(rng.normal(0.0, noise_pct if law else 1.0))
        for cylinder in ("front", "rear"):
            common = {"rpm": 2000.0, "load": 50.0, "cylinder": cylinder, "weight": 1000.0,
                      "airflow": airflow, "head_c": 110.0 + soak_s / 20.0}
            cells.append(SoakCell(**common, inflation_pct=round(truth + noise, 3),
                                  iat_over_ambient_c=round(iat, 2), soak_s=soak_s,
                                  since_soak_s=since, iat_fall_c=round(rise - iat, 2)))
            cells.append(SoakCell(**common, inflation_pct=0.0, iat_over_ambient_c=8.0))
    record = HeatSoak(iat_rise_c=20.0, soak_minutes=round(soak_s / 60.0, 2),
                      ve_inflation_pct=1.0, rpm_range=[1500.0, 5000.0],
                      load_range=[40.0, 100.0], cells=cells)
    return TuningSession(
        f"soak:{i + 1}", True, f"synthetic {family.label} #{i + 1}", build.to_dict(),
        Environment(ambient_temp_c=25.0, baro_kpa=100.0, humidity_pct=40.0),
        [RunSummary("heat-soaked pull", 600.0, 6000, "heat-soak")], 600.0, {}, {},
        Outcome(cells_corrected=0, autotune_rounds=0, converged=True),
        Patterns(heat_soak=record), {}, "2025-03-03T08:30:00+00:00")


def soak_sessions(n: int = 48, seed: int = 0, law: bool = True) -> list[TuningSession]:
    rng = np.random.default_rng(seed)
    return [soak_session(i, rng, law=law) for i in range(n)]
