"""Done-when 1: the mixture follows the loaded VE table, and the wideband delay is the truth's.

The ECM fuels from its tables, so with VE_table = 0.9 x VE_true a cell runs 1 / 0.9 leaner than
with the true VE loaded; with the true VE it runs where the truth's effective VE, reversion and
sensor offset say. Both are read from the Log CSV the way a tuner would: the
mean AFR of the settled part of each steady-state hold, valid wideband samples only.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_table_csv
from dynoai_desktop.core.units import GASOLINE_STOICH_AFR
from tests.sim.log_analysis import (
    mean_where,
    median_where,
    response_onset_s,
    steady_segments,
    tip_in_times,
)

pytestmark = pytest.mark.once_without_qt  # long: runs in the suite without Qt

SETTLE_S = 2.0  # delay (~0.1 s) + sensor lag + MAP settling + the port wall film (τ ≈ 0.5-1 s)
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


def _segments(log: dict, truth: dict) -> list[tuple[float, float, float, float, float, float]]:
    """(rpm, kPa, median AFR front and rear, mean target, mean MAP read) of each settled hold."""
    out = []
    for seg in steady_segments(truth, log["time_s"][-1]):
        start, end = seg.start_s + SETTLE_S, seg.end_s
        rpm, kpa = (float(x) for x in seg.label.split()[1:4:2])
        out.append((rpm, kpa, median_where(log, "afr_front", start, end),
                    median_where(log, "afr_rear", start, end),
                    mean_where(log, "afr_target", start, end),
                    mean_where(log, "map_kpa", start, end)))
    return out


def _expected_reading(truth: dict, loaded: Table, cylinder: str, rpm: float, kpa: float,
                      target: float, map_read: float) -> float:
    """The AFR a wideband should read at a held cell, from the truth alone.

    The mixture that burns is ``target x VE_effective / VE_table`` (the effective VE is the
    table VE that burns on target in this run's conditions; the ECM reads its table at the MAP
    its sensor reads); the sensor reads it leaner by the cam's reversion there, plus its own
    calibration offset.
    """
    eff = truth["ve_effective"]
    i, j = eff["rpm"].index(rpm), eff["map_kpa"].index(kpa)
    burned_afr = target * eff[cylinder]["values"][i][j] / float(loaded.lookup(rpm, map_read))
    lean = eff[cylinder]["wideband_reads_lean_pct"][i][j] / 100.0
    offset = truth["wideband"]["lambda_offset"][cylinder] * GASOLINE_STOICH_AFR
    return burned_afr / (1.0 - lean) + offset


def test_true_ve_loaded_reads_what_the_truth_says(simulate_log, tmp_path: Path) -> None:
    _, truth = simulate_log("--duration-s", "1", plan=GRID_PLAN)
    log, run = simulate_log(*_write_ve(tmp_path, truth, scale_region=False), plan=GRID_PLAN)
    segments = _segments(log, run)
    assert len(segments) == 8
    for rpm, kpa, front, rear, target, map_read in segments:
        for name, measured in (("front", front), ("rear", rear)):
            loaded = _table_from_truth(truth["ve_true"][name], scale_region=False)
            expected = _expected_reading(run, loaded, name, rpm, kpa, target, map_read)
            # the effective VE is a mean over the whole hold, the reading over its settled part;
            # the IAT sensor still drifts meanwhile (its lag is many seconds at part load)
            assert abs(measured / expected - 1.0) <= 0.015, (name, rpm, kpa, measured, expected)
            # heat, the MAP sensor's offset, the cam's reversion and the wideband's own offset
            # move it off target, but not by much
            assert abs(measured / target - 1.0) < 0.08, (name, rpm, kpa, measured, target)


def test_ve_table_at_90_percent_runs_lean_by_one_over_0_9(simulate_log, tmp_path: Path) -> None:
    _, truth = simulate_log("--duration-s", "1", plan=GRID_PLAN)
    log, run = simulate_log(*_write_ve(tmp_path, truth, scale_region=False), plan=GRID_PLAN)
    log_lean, run_lean = simulate_log(*_write_ve(tmp_path, truth, scale_region=True),
                                      plan=GRID_PLAN)
    segments, lean_segments = _segments(log, run), _segments(log_lean, run_lean)
    assert len(segments) == len(lean_segments) == 8
    for (rpm, kpa, *afr, _, map_read), (_, _, *afr_lean, _, _) in zip(
            segments, lean_segments, strict=True):
        inside = (LEAN_REGION["rpm"][0] <= rpm <= LEAN_REGION["rpm"][1]
                  and LEAN_REGION["map_kpa"][0] <= kpa <= LEAN_REGION["map_kpa"][1])
        for name, measured, measured_lean in zip(("front", "rear"), afr, afr_lean, strict=True):
            # the ECM reads its table at the MAP its sensor reads: between two columns there
            full = _table_from_truth(truth["ve_true"][name], scale_region=False)
            scaled = _table_from_truth(truth["ve_true"][name], scale_region=True)
            ratio = float(full.lookup(rpm, map_read) / scaled.lookup(rpm, map_read))
            assert (ratio > 1.09) == inside
            assert abs(measured_lean / measured / ratio - 1.0) <= 0.005, (
                name, rpm, kpa, measured, measured_lean, ratio)


def _plug_flow_delay_s(log: dict, wideband: dict, cylinder: str, tip: float) -> float:
    """The truth's delay for the exhaust made at ``tip``: dead time plus the time one pipe
    volume of exhaust takes to follow it, at the MAP the log shows after the tip-in."""
    scale = wideband["delay_scale"][cylinder]
    volumes = 0.0
    times, rpms, maps = log["time_s"], log["rpm"], log["map_kpa"]
    for i in range(1, len(times)):
        if times[i] <= tip:
            continue
        transport = (wideband["delay_idle_s"] * (1000.0 / rpms[i]) ** wideband["delay_exponent"]
                     * (wideband["delay_reference_map_kpa"] / maps[i])
                     ** wideband["delay_load_exponent"] * scale)
        step = times[i] - max(times[i - 1], tip)
        if volumes + step / transport >= 1.0:
            return wideband["delay_base_s"] + times[i - 1] - tip + (1.0 - volumes) * transport
        volumes += step / transport
    raise AssertionError("the log ends before the exhaust reached the sensor")


def test_delay_measured_from_tip_ins_matches_truth(simulate_log) -> None:
    log, truth = simulate_log("--seed", "4", plan="tip_in")
    tips = tip_in_times(log, low=10.0, high=40.0)
    assert len(tips) == 20
    wideband = truth["wideband"]
    fraction = 0.15
    rise_s = wideband["lag_s"] * math.log(1.0 / (1.0 - fraction))  # first-order sensor lag
    for cylinder in ("front", "rear"):
        delays = [_plug_flow_delay_s(log, wideband, cylinder, tip) for tip in tips]
        delay = sum(delays) / len(delays)
        assert 0.03 < delay < 0.2  # tens to a hundred ms off idle, under load
        onset, width, amplitudes = response_onset_s(log, f"afr_{cylinder}", tips, fraction)
        assert min(amplitudes) > 0.5  # each tip-in moves the mixture visibly: lean first
        assert width <= 0.025
        # The mixture itself takes a moment to swing: the throttle opens in 15 ms and the
        # manifold fills in about one engine cycle (48 ms at 2500 rpm); so the reading's onset
        # comes after the transport delay, never before, and by no more than that.
        assert 0.0 <= onset - rise_s - delay <= 0.025, (cylinder, onset - rise_s, delay)


def test_delay_is_longer_at_light_load_and_low_rpm() -> None:
    from dynoai_desktop.sim.wideband import WidebandParams

    params = WidebandParams()
    assert params.delay_s(1000, 35.0) > params.delay_s(1000, 90.0) * 1.5
    assert params.delay_s(800, 35.0) > 0.2  # hundreds of ms at idle


def test_delay_falls_with_rpm() -> None:
    from dynoai_desktop.sim.wideband import WidebandParams

    params = WidebandParams()
    assert params.delay_s(800) > 0.2  # hundreds of ms at idle
    assert 0.02 < params.delay_s(5500) < 0.1  # tens of ms at high rpm
    delays = [params.delay_s(r) for r in range(800, 6500, 100)]
    assert all(a > b for a, b in zip(delays, delays[1:], strict=False))
