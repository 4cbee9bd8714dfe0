"""Done-when 3: a WOT pull on each preset has the shape and size of the references.

References (shared/reference/vtwin.md, side by side in docs/simulator.md §3.1 and §10): a stock
M8 114 makes about 90 hp near 5000 rpm at the wheel (EPA 100.6 hp @ 5020 at the crank; the M8
117's rear-wheel 93.75 hp / 112.5 lb-ft scaled to 114 ci: 91 hp / 110 lb-ft), and a stock EU bike
measured 104.6 lb-ft; the Stage 2 TC103 and Stage 3 TC110 figures are inferred from the stage
gains, so their bands are wider. Each band also holds the spread of bikes of one build (bike seed
1 is one of them, benchmarks/sim_engines.py). Torque peaks inside the cam class's torque band
(vtwin.md §2), power peaks near the top of the pull. The bike is tuned (true VE loaded); the
untuned base map of a Stage 2/3 bike runs lean up high.
"""

from __future__ import annotations

import dataclasses

import pytest

from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.ecm_tables import base_tables, true_ve_table
from dynoai_desktop.sim.engine import FRONT, REAR, EngineModel
from dynoai_desktop.sim.plans import Plan, pull
from dynoai_desktop.sim.presets import PRESETS

# preset: (peak torque lb-ft range, peak power hp range, cam class torque band rpm)
REFERENCES = {
    "m8-114-stock": ((100.0, 118.0), (82.0, 97.0), (1500, 4500)),
    "tc103-stage2": ((95.0, 120.0), (85.0, 105.0), (1800, 5200)),
    "tc110-stage3": ((108.0, 134.0), (105.0, 128.0), (2500, 5800)),
}


def run_pull(preset_name: str, tuned: bool) -> list[tuple[float, float, float, float]]:
    """(rpm, torque lb-ft, power hp, front AFR) every 20 ms of the pull's WOT part."""
    preset = PRESETS[preset_name]
    engine = EngineModel(preset)
    tables = base_tables(engine)
    if tuned:
        tables = dataclasses.replace(tables, ve_front=true_ve_table(engine, FRONT),
                                     ve_rear=true_ve_table(engine, REAR))
    cell = VirtualCell(CellConfig(preset=preset, plan=Plan("pull", tuple(pull(2000, 5800))),
                                  tables=tables, loop_plan=False))
    out = []
    while not cell.runner.finished and cell.time_s < 60:
        cell.advance(cell.time_s + 0.02)
        label = cell.runner.phase.label
        if label.startswith("pull") and "braking" not in label and cell.values["tps_pct"] > 99:
            v = cell.values
            out.append((v["rpm"], v["torque_ftlb"], v["power_hp"], cell.lambdas[0] * 14.7))
    return out


@pytest.mark.parametrize("preset_name", sorted(REFERENCES))
def test_pull_matches_references(preset_name: str) -> None:
    torque_range, power_range, band = REFERENCES[preset_name]
    points = run_pull(preset_name, tuned=True)
    assert points[-1][0] >= 5700  # the pull reached the top
    rpm_t, torque, _, _ = max(points, key=lambda p: p[1])
    rpm_p, _, power, _ = max(points, key=lambda p: p[2])
    assert torque_range[0] <= torque <= torque_range[1]
    assert power_range[0] <= power <= power_range[1]
    assert band[0] <= rpm_t <= band[1]
    assert rpm_p > rpm_t + 500  # power keeps rising past the torque peak
    # a torque curve, not a spike: within 25 % of peak from 3000 rpm to the power peak (below
    # it a 2-into-1 has its tuning dip at 2/3 of 3500 rpm, as the real tune's WOT column shows:
    # 87.5 % VE at 2250 rpm against 116.5 % at 3000; one bike's own bumps add a few %,
    # docs/simulator.md §3.1, §3.3)
    assert all(t >= 0.75 * torque for r, t, _, _ in points if 3000 <= r <= rpm_p)


def test_hotter_builds_make_more_power_higher_up() -> None:
    peaks = {name: max(run_pull(name, tuned=True), key=lambda p: p[2]) for name in REFERENCES}
    assert peaks["tc110-stage3"][2] > peaks["tc103-stage2"][2] > peaks["m8-114-stock"][2]
    assert peaks["tc110-stage3"][0] > peaks["m8-114-stock"][0]


def test_untuned_stage3_runs_lean_at_the_top_of_the_pull() -> None:
    tuned, base = run_pull("tc110-stage3", tuned=True), run_pull("tc110-stage3", tuned=False)
    top_tuned = [afr for r, _, _, afr in tuned if r > 5000]
    top_base = [afr for r, _, _, afr in base if r > 5000]
    assert sum(top_base) / len(top_base) > sum(top_tuned) / len(top_tuned) + 0.5
