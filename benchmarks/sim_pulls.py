"""WOT pulls on the virtual dyno cell: torque and power per engine preset, tuned and untuned.

    .venv/bin/python benchmarks/sim_pulls.py [--short]

For each preset in ``sim.presets.PRESETS`` a 2000->5800 rpm pull on inertia (4th gear, roller
free) is run twice: with the engine's true VE tables in the ECM (a tuned bike) and with the base
calibration (untuned). Figures are uncorrected roller torque/power from ``cell.values`` (no dyno
line noise) during the pull phase only (``cell.runner.phase.label``); the SAE J1349 figure
multiplies the peak by the cell's correction factor. Seed 1, deterministic. docs/simulator.md §10
compares them with vtwin.md. ``--short``: the first preset only (both calibrations), for the test
that the script runs.

It reads the cell only through its public surface: ``CellConfig``, ``VirtualCell.advance``,
``time_s``, ``values``, ``runner`` (``phase.label``, ``finished``) and ``engine``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from bisect import bisect_left
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.core.units import GASOLINE_STOICH_AFR  # noqa: E402
from dynoai_desktop.core.weather import CELL_AIR  # noqa: E402
from dynoai_desktop.sim.cell import CellConfig, VirtualCell  # noqa: E402
from dynoai_desktop.sim.ecm_tables import EcmTables, base_tables, true_ve_table  # noqa: E402
from dynoai_desktop.sim.engine import FRONT, REAR  # noqa: E402
from dynoai_desktop.sim.plans import Plan, pull  # noqa: E402
from dynoai_desktop.sim.presets import PRESETS, EnginePreset  # noqa: E402

FROM_RPM, TO_RPM = 2000.0, 5800.0
SAMPLE_S = 0.01  # the dyno line's period
MAX_SIM_S = 60.0
REPORT_RPM = tuple(range(2000, 5501, 500))
SEED = 1
WEATHER = CELL_AIR  # the cell's default air; true VE depends on MAP / baro


@dataclasses.dataclass(frozen=True)
class Sample:
    time_s: float
    rpm: float
    torque_ftlb: float
    power_hp: float
    afr_front: float
    afr_rear: float


def _config(preset: EnginePreset, tables: EcmTables | None) -> CellConfig:
    plan = Plan("pull", tuple(pull(FROM_RPM, TO_RPM)))
    return CellConfig(preset=preset, plan=plan, tables=tables, seed=SEED, weather=WEATHER,
                      loop_plan=False)


def tuned_tables(preset: EnginePreset) -> EcmTables:
    """The base calibration with the true VE of the cell's own engine (the bike on the roller,
    as the cell builds it) in place of the base VE maps."""
    engine = VirtualCell(_config(preset, None)).engine
    return dataclasses.replace(base_tables(engine), ve_front=true_ve_table(engine, FRONT),
                               ve_rear=true_ve_table(engine, REAR))


def _afrs(cell: VirtualCell) -> tuple[float, float]:
    """The true AFR per cylinder: ``values`` when the cell publishes it there, else its
    ``lambdas``; NaN when it shows neither (torque and power do not depend on it)."""
    v = cell.values
    if "afr_front" in v and "afr_rear" in v:
        return v["afr_front"], v["afr_rear"]
    lambdas = getattr(cell, "lambdas", None)
    if lambdas is None:
        return math.nan, math.nan
    return lambdas[FRONT] * GASOLINE_STOICH_AFR, lambdas[REAR] * GASOLINE_STOICH_AFR


def run_pull(preset: EnginePreset, tuned: bool) -> tuple[list[Sample], float]:
    """The pull's samples (rpm rising, throttle open) and the cell's SAE correction factor."""
    cell = VirtualCell(_config(preset, tuned_tables(preset) if tuned else None))
    samples: list[Sample] = []
    while cell.time_s < MAX_SIM_S and not cell.runner.finished:
        cell.advance(cell.time_s + SAMPLE_S)
        if cell.runner.finished:
            break
        label = cell.runner.phase.label
        if label.endswith("(braking)") and samples:
            break
        if label.startswith("pull"):
            v = cell.values
            samples.append(Sample(cell.time_s, v["rpm"], v["torque_ftlb"], v["power_hp"],
                                  *_afrs(cell)))
    if not samples:
        raise RuntimeError(f"{preset.name}: the pull phase never ran")
    cf = cell.values.get("correction_factor") or WEATHER.correction_factor
    return samples, cf


def at_rpm(samples: list[Sample], rpm: float, field: str) -> float:
    """``field`` interpolated at ``rpm`` (samples rise in rpm during a pull; clamped at ends)."""
    rpms = [s.rpm for s in samples]
    i = bisect_left(rpms, rpm)
    if i == 0:
        return getattr(samples[0], field)
    if i >= len(samples):
        return getattr(samples[-1], field)
    a, b = samples[i - 1], samples[i]
    frac = (rpm - a.rpm) / (b.rpm - a.rpm) if b.rpm != a.rpm else 0.0
    return getattr(a, field) + (getattr(b, field) - getattr(a, field)) * frac


def report(preset: EnginePreset, tuned: bool) -> list[str]:
    samples, cf = run_pull(preset, tuned)
    tq = max(samples, key=lambda s: s.torque_ftlb)
    hp = max(samples, key=lambda s: s.power_hp)
    kind = "tuned (true VE loaded)" if tuned else "untuned (base calibration)"
    lines = [
        f"{preset.name}: {kind}",
        f"  peak torque {tq.torque_ftlb:6.1f} lb-ft @ {tq.rpm:4.0f} rpm   "
        f"peak power {hp.power_hp:6.1f} hp @ {hp.rpm:4.0f} rpm",
        f"  SAE J1349 peak power {hp.power_hp * cf:6.1f} hp (CF {cf:.3f})   "
        f"pull {samples[0].rpm:.0f}->{samples[-1].rpm:.0f} rpm in "
        f"{samples[-1].time_s - samples[0].time_s:.2f} s",
        "    rpm  torque_ftlb  power_hp  afr_front  afr_rear",
    ]
    for rpm in REPORT_RPM:
        lines.append(
            f"  {rpm:5d}  {at_rpm(samples, rpm, 'torque_ftlb'):11.1f}  "
            f"{at_rpm(samples, rpm, 'power_hp'):8.1f}  "
            f"{at_rpm(samples, rpm, 'afr_front'):9.2f}  "
            f"{at_rpm(samples, rpm, 'afr_rear'):8.2f}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true",
                        help="the first preset only, tuned and untuned (a test runs this)")
    args = parser.parse_args()
    presets = list(PRESETS.values())[:1] if args.short else list(PRESETS.values())
    print(
        f"WOT pulls {FROM_RPM:.0f}->{TO_RPM:.0f} rpm, 4th gear, seed {SEED}; roller "
        "torque/power uncorrected unless marked SAE", flush=True
    )
    for preset in presets:
        print()
        print(preset.title)
        for tuned in (True, False):
            print("\n".join(report(preset, tuned)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
