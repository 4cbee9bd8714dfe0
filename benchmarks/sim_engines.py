"""The simulated engines against published figures and against a real tune.

    .venv/bin/python benchmarks/sim_engines.py [--short]

(a) Per engine preset, the steady-state WOT torque and power curve straight from EngineModel
(no cell, no transients): the build's average bike (no bike scatter) and the 5th/50th/95th
percentiles of 20 bikes' peak torque and peak power, beside the published figures of
shared/reference/vtwin.md §1-2. Cell air (100.5 kPa, 25 °C, 40 % RH), charge at 35 °C, heads at
120 °C, λ 0.85 (12.5 AFR), each cylinder's spark at MBT or 1° under its knock limit; roller
torque, uncorrected, so it compares with rear-wheel numbers.

(b) The real TC110 tune (../shared/realdata/dynoai3_pvv_template_16D110002401.pvv, read with the
project's Power Vision importer) against 20 simulated bikes of the matching build (TC110, Stage
1, 2-into-1, high-flow), each bike's true VE on the Delphi table's scale sampled on the real
tune's own rows and columns: light-load VE range, rear-front spread and roughness (definitions
in dynoai_desktop/sim/ve_statistics.py and docs/simulator.md §3.4), and the derivation of
TABLE_VE_SCALE (§3.2). ``--short`` uses 5 bikes instead of 20 (same code path).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.core.power import power_hp  # noqa: E402
from dynoai_desktop.core.weather import CELL_AIR  # noqa: E402
from dynoai_desktop.sim import ve_statistics as vs  # noqa: E402
from dynoai_desktop.sim.engine import TABLE_VE_SCALE, EngineModel  # noqa: E402
from dynoai_desktop.sim.presets import PRESETS, REAL_TUNE_PRESET, EnginePreset  # noqa: E402
from dynoai_desktop.storage.tune_files import read_tables  # noqa: E402

REAL_TUNE = (Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
             / "dynoai3_pvv_template_16D110002401.pvv")
NM_PER_FTLB = 1.3558179483314004
SWEEP_RPM = np.arange(1500.0, 5801.0, 50.0)  # the pull range; the soft limiter starts at 5700
REPORT_RPM = tuple(range(1500, 5501, 500))
CHARGE_C, HEAD_C = 35.0, 120.0
FULL_SEEDS, SHORT_SEEDS = 20, 5
# Published figures (vtwin.md §1-2; docs/simulator.md §3.1 and §10).
REFERENCES = {
    "m8-114-stock": [
        "EPA 100.6 hp @ 5020 at the crank; claimed 119 lb-ft at the crank (vtwin.md §1)",
        "measured, rear wheel, stock EU bike: 104.6 lb-ft / 71.5 hp (bravomo, vtwin.md §1)",
        "M8 117 rear wheel 112.5 lb-ft @ 3400 / 93.75 hp @ 4870 (vtwin.md §1), "
        "x 114/117 [INF]: 109.6 lb-ft / 91.3 hp",
    ],
    "tc103-stage2": ["[INF] 95-110 lb-ft and 90-100 hp at the wheel (docs/simulator.md §10)"],
    "tc110-stage3": ["[INF] 115-125 lb-ft and 105-120 hp at the wheel; '106 kit into the "
                     "120 lb-ft range' (vtwin.md §2)"],
    REAL_TUNE_PRESET.name: ["no published figure (the real tune's bike, for the shape only)"],
}


def wot_curve(engine: EngineModel) -> tuple[np.ndarray, np.ndarray]:
    """Steady WOT torque (lb-ft) and power (hp) over SWEEP_RPM."""
    air = CELL_AIR
    torque = np.array([
        engine.steady_torque_nm(rpm, engine.map_steady_kpa(100.0, rpm, air.baro_kpa),
                                air.baro_kpa, air.dry_fraction, CHARGE_C, HEAD_C)
        for rpm in SWEEP_RPM]) / NM_PER_FTLB
    hp = np.array([power_hp(t, r) for t, r in zip(torque, SWEEP_RPM, strict=True)])
    return torque, hp


def _peaks(torque: np.ndarray, hp: np.ndarray) -> tuple[float, float, float, float]:
    i, j = int(np.argmax(torque)), int(np.argmax(hp))
    return float(torque[i]), float(SWEEP_RPM[i]), float(hp[j]), float(SWEEP_RPM[j])


def engine_report(preset: EnginePreset, n_bikes: int) -> list[str]:
    nominal = EngineModel(preset, CELL_AIR.baro_kpa, bike_seed=None)
    torque, hp = wot_curve(nominal)
    tq, tq_rpm, pw, pw_rpm = _peaks(torque, hp)
    lines = [f"{preset.name}: {preset.title}",
             f"  the build's average bike: peak torque {tq:6.1f} lb-ft @ {tq_rpm:4.0f} rpm   "
             f"peak power {pw:6.1f} hp @ {pw_rpm:4.0f} rpm"]
    bikes = np.array([_peaks(*wot_curve(EngineModel(preset, CELL_AIR.baro_kpa, bike_seed=s)))
                      for s in range(1, n_bikes + 1)])
    p5, p50, p95 = np.percentile(bikes, [5.0, 50.0, 95.0], axis=0)
    lines.append(f"  {n_bikes} bikes (P5 / P50 / P95): peak torque {p5[0]:.1f} / {p50[0]:.1f} / "
                 f"{p95[0]:.1f} lb-ft at {p5[1]:.0f}-{p95[1]:.0f} rpm; peak power "
                 f"{p5[2]:.1f} / {p50[2]:.1f} / {p95[2]:.1f} hp at {p5[3]:.0f}-{p95[3]:.0f} rpm")
    lines += [f"  reference: {ref}" for ref in REFERENCES.get(preset.name, [])]
    lines.append("    rpm  torque_ftlb  power_hp   (the average bike)")
    for rpm in REPORT_RPM:
        k = int(np.argmin(np.abs(SWEEP_RPM - rpm)))
        lines.append(f"  {rpm:5d}  {torque[k]:11.1f}  {hp[k]:8.1f}")
    return lines


def real_tune_report(n_bikes: int) -> list[str]:
    if not REAL_TUNE.is_file():
        return [f"real tune not found ({REAL_TUNE}); part (b) skipped"]
    tables = read_tables(REAL_TUNE)
    front, rear = tables["VE (MAP based/Front Cyl)"], tables["VE (MAP based/Rear Cyl)"]
    rpm, kpa = vs.stats_axes(front)
    real = vs.tune_figures(front, rear)
    bikes = vs.bike_figures(REAL_TUNE_PRESET, range(1, n_bikes + 1), rpm, kpa)
    lines = [f"Real tune {REAL_TUNE.name} vs {n_bikes} bikes of {REAL_TUNE_PRESET.name} "
             f"({REAL_TUNE_PRESET.title})",
             f"  cells: {rpm[0]:.0f}-{rpm[-1]:.0f} rpm ({rpm.size} rows), "
             f"{kpa[0]:.1f}-{kpa[-1]:.1f} kPa ({kpa.size} columns); light load = columns "
             f"<= {vs.LIGHT_LOAD_MAX_KPA:.0f} kPa",
             f"  {'figure':40s} {'real':>7s} {'P5':>7s} {'P50':>7s} {'P95':>7s}  inside"]
    for c in vs.compare(real, bikes):
        lines.append(f"  {c.label:40s} {c.real:7.2f} {c.p5:7.2f} {c.p50:7.2f} {c.p95:7.2f}  "
                     f"{'yes' if c.inside else 'NO'}")
    nominal = EngineModel(REAL_TUNE_PRESET, bike_seed=None)
    lines.append("  TABLE_VE_SCALE: real column mean / simulated physical VE (fit) vs the code")
    for map_kpa, ratio in vs.table_ve_scale_fit(front, rear, nominal):
        code = TABLE_VE_SCALE(map_kpa)
        lines.append(f"    {map_kpa:6.1f} kPa  fit {ratio:5.3f}  code {code:5.3f}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true",
                        help=f"{SHORT_SEEDS} bikes instead of {FULL_SEEDS} (a test runs this)")
    args = parser.parse_args()
    n_bikes = SHORT_SEEDS if args.short else FULL_SEEDS
    print(f"(a) Steady WOT from EngineModel, {SWEEP_RPM[0]:.0f}-{SWEEP_RPM[-1]:.0f} rpm; cell air "
          f"{CELL_AIR.baro_kpa} kPa, charge {CHARGE_C:.0f} °C, heads {HEAD_C:.0f} °C; roller "
          "lb-ft / hp, uncorrected", flush=True)
    for preset in [*PRESETS.values(), REAL_TUNE_PRESET]:
        print()
        print("\n".join(engine_report(preset, n_bikes)), flush=True)
    print()
    print("(b) " + "\n".join(real_tune_report(n_bikes)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
