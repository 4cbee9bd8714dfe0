"""Pulls found on the virtual cell's own runs: the power-curve rules meet simulated dyno data
(the dyno's inertia, a throttle that opens over a few tenths, the roll-down after)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dynoai_desktop.core.power_curves import find_pulls, power_curve
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.plans import Plan, pull
from dynoai_desktop.sim.presets import PRESETS

CHANNELS = ("rpm", "tps_pct", "torque_ftlb", "power_hp", "afr_front", "afr_rear")


def record(plan: Plan, step_s: float = 0.01, limit_s: float = 120.0) -> pd.DataFrame:
    cell = VirtualCell(CellConfig(preset=PRESETS["m8-114-stock"], plan=plan, loop_plan=False))
    rows = []
    while not cell.runner.finished and cell.time_s < limit_s:
        cell.advance(cell.time_s + step_s)
        rows.append({"time_s": cell.time_s, **{c: cell.values.get(c, np.nan) for c in CHANNELS}})
    return pd.DataFrame(rows)


def test_two_simulated_pulls_are_found_with_their_peaks() -> None:
    frame = record(Plan("two pulls", (*pull(2000, 5500), *pull(2500, 5800))))
    pulls = find_pulls(frame)
    assert len(pulls) == 2
    assert pulls[0].rpm_from == pytest.approx(2000, abs=250)
    assert pulls[0].rpm_to == pytest.approx(5500, abs=150)
    assert pulls[1].rpm_to == pytest.approx(5800, abs=150)
    for found in pulls:
        rows = frame.iloc[found.start:found.stop]
        curve = power_curve(frame, found, Weather(99.0, 25.0, 0.0), smoothing=0)
        # the curve's peaks are the samples' own, averaged per 50 rpm
        assert curve.peak_torque[0] == pytest.approx(rows["torque_ftlb"].max(), rel=0.02)
        assert curve.peak_power[0] == pytest.approx(rows["power_hp"].max(), rel=0.02)
        assert curve.x[0] <= found.rpm_from + 50 and curve.x[-1] >= found.rpm_to - 50
