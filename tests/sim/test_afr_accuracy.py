"""Done-when 1: the mixture follows the loaded VE table, and the wideband delay is the truth's.

The ECM fuels from its tables, so with VE_table = 0.9 x VE_true a cell runs at target / 0.9; with
the true VE loaded it runs at target. Both are read from the Log CSV the way a tuner would: the
mean AFR of the settled part of each steady-state hold, valid wideband samples only.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_table_csv
from tests.sim.log_analysis import mean_where, response_onset_s, steady_segments, tip_in_times

SETTLE_S = 1.0  # delay (~0.1 s at these rpm) + sensor lag + MAP settling, with margin
LEAN_REGION = {"rpm": (2750.0, 3250.0), "map_kpa": (55.0, 75.0)}


def _table_from_truth(entry: dict, scale_region: bool) -> Table:
    rows, cols = np.array(entry["rpm"]), np.array(entry["map_kpa"])
    values = np.array(entry["values"], dtype=float)
    if scale_region:
        in_rows = (rows >= LEAN_REGION["rpm"][0]) & (rows <= LEAN_REGION["rpm"][1])
        in_cols = (cols >= LEAN_REGION["map_kpa"][0]) & (cols <= LEAN_REGION["map_kpa"][1])
        values[np.ix_(in_rows, in_cols)] *= 0.9
    return Table(entry["name"], "%", "rpm", "map_kpa", rows, cols, values)


def _write_ve(tmp_path: Path, truth: dict, scale_region: bool) -> list[str]:
    args = []
    for cyl in ("front", "rear"):
        path = tmp_path / f"ve_{cyl}_{scale_region}.csv"
        path.write_text(format_table_csv(_table_from_truth(truth["ve_true"][cyl], scale_region)))
        args += [f"--ve-{cyl}", str(path)]
    return args


GRID_PLAN = {"name": "ve check", "steps": [
    {"type": "idle", "seconds": 16},  # the widebands warm up (12-15 s)
    {"type": "grid", "rpm": [2000, 3000], "map_kpa": [40, 60, 70, 90], "seconds_per_cell": 4},
]}


def _segments(log: dict, truth: dict) -> list[tuple[float, float, float, float, float]]:
    """(rpm, kPa, mean AFR front, mean AFR rear, mean target) of each settled hold."""
    out = []
    for seg in steady_segments(truth, log["time_s"][-1]):
        start, end = seg.start_s + SETTLE_S, seg.end_s
        rpm, kpa = (float(x) for x in seg.label.split()[1:4:2])
        out.append((rpm, kpa, mean_where(log, "afr_front", start, end),
                    mean_where(log, "afr_rear", start, end),
                    mean_where(log, "afr_target", start, end)))
    return out


def test_true_ve_loaded_runs_on_target(simulate_log, tmp_path: Path) -> None:
    _, truth = simulate_log("--duration-s", "1", plan=GRID_PLAN)
    log, run = simulate_log(*_write_ve(tmp_path, truth, scale_region=False), plan=GRID_PLAN)
    segments = _segments(log, run)
    assert len(segments) == 8
    for rpm, kpa, front, rear, target in segments:
        assert abs(front - target) <= 0.05, (rpm, kpa, front, target)
        assert abs(rear - target) <= 0.05, (rpm, kpa, rear, target)


def test_ve_table_at_90_percent_runs_lean_by_one_over_0_9(simulate_log, tmp_path: Path) -> None:
    _, truth = simulate_log("--duration-s", "1", plan=GRID_PLAN)
    log, run = simulate_log(*_write_ve(tmp_path, truth, scale_region=True), plan=GRID_PLAN)
    segments = _segments(log, run)
    assert len(segments) == 8
    for rpm, kpa, front, rear, target in segments:
        inside = (LEAN_REGION["rpm"][0] <= rpm <= LEAN_REGION["rpm"][1]
                  and LEAN_REGION["map_kpa"][0] <= kpa <= LEAN_REGION["map_kpa"][1])
        expected = target / 0.9 if inside else target
        assert abs(front / expected - 1.0) <= 0.01, (rpm, kpa, front, expected)
        assert abs(rear / expected - 1.0) <= 0.01, (rpm, kpa, rear, expected)


def test_delay_measured_from_tip_ins_matches_truth(simulate_log) -> None:
    log, truth = simulate_log("--seed", "4", plan="tip_in")
    tips = tip_in_times(log, low=10.0, high=40.0)
    assert len(tips) == 20
    wideband = truth["wideband"]
    delay_2500 = next(p["delay_s"] for p in wideband["delay_curve"] if p["rpm"] == 2500)
    assert 0.05 < delay_2500 < 0.2  # tens to a hundred ms off idle
    fraction = 0.15
    rise_s = wideband["lag_s"] * math.log(1.0 / (1.0 - fraction))  # first-order sensor lag
    for channel in ("afr_front", "afr_rear"):
        onset, width, amplitudes = response_onset_s(log, channel, tips, fraction)
        assert min(amplitudes) > 0.5  # each tip-in richens the mixture visibly
        assert width <= 0.025
        assert abs(onset - rise_s - delay_2500) <= 0.010, (channel, onset - rise_s, delay_2500)


def test_delay_falls_with_rpm() -> None:
    from dynoai_desktop.sim.wideband import WidebandParams

    params = WidebandParams()
    assert params.delay_s(800) > 0.2  # hundreds of ms at idle
    assert 0.02 < params.delay_s(5500) < 0.1  # tens of ms at high rpm
    delays = [params.delay_s(r) for r in range(800, 6500, 100)]
    assert all(a > b for a, b in zip(delays, delays[1:], strict=False))
