"""Synthetic knock records: a shop whose engines knock where the spark passes a known limit
(``knock_limit``: lower with load, compression, heat and on the rear, higher with octane and
rpm), each session run on its spark table (``spark_table``) and swept 2° and 4° over it at high
load, for the knock advisor's tests."""

from __future__ import annotations

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.training.records import (
    Environment,
    KnockSample,
    KnockTiming,
    Outcome,
    Patterns,
    RunSummary,
    TimingCell,
    TorqueSlope,
    TuningSession,
)
from tests.ml.synthetic_sessions import MIX, synthetic_build

RPM = np.arange(1000.0, 6001.0, 500.0)
MAP_KPA = np.arange(20.0, 101.0, 10.0)
HEAD_C = 120.0
IAT_C = 35.0
SWEEP_DEG = (2.0, 4.0)


def knock_limit(build: BuildSpec, cylinder: str, rpm: float, map_kpa: float,
                head_c: float = HEAD_C) -> float:
    """Advance (°) over which the synthetic engine knocks."""
    return (40.0 - 0.24 * map_kpa + 0.0015 * (rpm - 3000.0)
            - 3.0 * (build.compression_ratio - 9.5) + 1.5 * ((build.fuel_octane_aki or 91) - 91)
            - 0.05 * (head_c - 100.0) - (1.5 if cylinder == "rear" else 0.0))


def spark_table(name: str = "spark_front") -> Table:
    """The synthetic shop's spark: 34° at 20 kPa down to 14° at 100 kPa."""
    values = np.array([[34.0 - 0.25 * (k - 20.0) for k in MAP_KPA] for _ in RPM])
    return Table(name, "deg", "rpm", "map_kpa", RPM.copy(), MAP_KPA.copy(), values)


def knock_record(build: BuildSpec, rng: np.random.Generator, sweep: bool = True
                 ) -> KnockTiming:
    spark = spark_table().values
    samples, cells = [], []
    for i, rpm in enumerate(RPM):
        for j, kpa in enumerate(MAP_KPA):
            if kpa < 50.0:
                continue
            levels = [0.0, *(SWEEP_DEG if sweep and kpa >= 90.0 else ())]
            for cylinder in ("front", "rear"):
                for extra in levels:
                    head = HEAD_C + float(rng.normal(0.0, 8.0))
                    s = float(spark[i, j] + extra)
                    over = s - knock_limit(build, cylinder, rpm, kpa, head)
                    events = int(rng.poisson(3.0 * over)) if over > 0 else 0
                    samples.append(KnockSample(cylinder, float(rpm), float(kpa), round(s, 2),
                                               1.0 if extra == 0 else 0.4, events,
                                               round(head, 1), IAT_C))
                    if events and extra == 0:
                        cells.append(TimingCell(float(rpm), float(kpa), 2.0, events))
    slopes = [TorqueSlope(float(rpm), 1.0, 0.1, 200) for rpm in RPM]
    front_rear = "both" if cells else "none"
    return KnockTiming(cells, [], front_rear, samples, slopes)  # type: ignore[arg-type]


def knock_session(i: int, rng: np.random.Generator, build: BuildSpec | None = None
                  ) -> TuningSession:
    family, stage, cam = MIX[i % len(MIX)]
    if build is None:
        build = synthetic_build(family, stage, cam, rng)
        build = BuildSpec.from_dict({**build.to_dict(),
                                     "compression_ratio": round(float(rng.uniform(9.0, 10.8)), 1),
                                     "fuel_octane_aki": float(rng.choice([91.0, 93.0]))})
    return TuningSession(
        f"knock:{i + 1}", True, f"synthetic {family.label} #{i + 1}", build.to_dict(),
        Environment(ambient_temp_c=25.0, baro_kpa=100.0, humidity_pct=40.0),
        [RunSummary("timing sweep", 60.0, 600, "pulls")], 600.0, {}, {},
        Outcome(cells_corrected=0, autotune_rounds=0, converged=True),
        Patterns(knock_timing=knock_record(build, rng)), {}, "2025-03-03T08:30:00+00:00")


def knock_sessions(n: int = 48, seed: int = 0) -> list[TuningSession]:
    rng = np.random.default_rng(seed)
    return [knock_session(i, rng) for i in range(n)]
