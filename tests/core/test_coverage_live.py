"""A recording run's coverage counted piece by piece equals one pass over the whole run, and
each update reads only the last few seconds."""

from __future__ import annotations

import numpy as np
import pytest

from dynoai_desktop.core.autotune.settings import AutotuneSettings
from dynoai_desktop.core.coverage.grid import CoverageAxes, run_coverage
from dynoai_desktop.core.coverage.live import CONTEXT_S, LiveCoverage
from dynoai_desktop.core.plan import DecelStep, HoldStep, IdleStep, PlanSpec, PullStep, SweepStep
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.logmode import run_log
from dynoai_desktop.sim.plans import plan_from_spec
from dynoai_desktop.sim.presets import get_preset
from dynoai_desktop.storage.resources import demo_base_tables

SESSION = PlanSpec("live coverage", (
    IdleStep(15.0), HoldStep(rpm=2500.0, seconds=4.0, map_kpa=60.0),
    SweepStep(from_rpm=2000.0, to_rpm=4000.0, map_kpa=80.0, rpm_per_s=300.0),
    PullStep(from_rpm=2000.0, to_rpm=5000.0), DecelStep(5000.0, 1500.0, 500.0),
    HoldStep(rpm=3000.0, seconds=3.0, map_kpa=40.0)), engine_temp_c=85.0)


@pytest.fixture(scope="module")
def rows() -> dict[str, np.ndarray]:
    cell = VirtualCell(CellConfig(preset=get_preset("tc103-stage2"), plan=plan_from_spec(SESSION),
                                  seed=3, loop_plan=False))
    block = run_log(cell, None)
    return {k: np.asarray(v, dtype=np.float64) for k, v in block.columns.items()}


@pytest.mark.parametrize("every_s", [0.7, 1.0, 2.5])
def test_counting_piece_by_piece_equals_one_pass(rows: dict[str, np.ndarray],
                                                 every_s: float) -> None:
    settings = AutotuneSettings()
    axes = CoverageAxes.of_table(demo_base_tables()[0][0])
    t = rows["time_s"]
    start = float(t[0]) + 10.0  # the run starts recording a while after the cell did
    whole = {k: v[t >= start] for k, v in rows.items()}
    expected = run_coverage(whole, axes, "front", settings)
    assert expected.good_samples > 100
    live = LiveCoverage(axes, "front", settings, start)
    now, got, read = start, None, []
    while now < t[-1] + every_s:
        now += every_s
        seen = (t >= live.read_from_s) & (t <= now)
        read.append(float(t[seen][-1] - t[seen][0]) if seen.any() else 0.0)
        got = live.update({k: v[seen] for k, v in rows.items()})
    assert got is not None
    np.testing.assert_allclose(got.weight, expected.weight, atol=1e-9)
    np.testing.assert_array_equal(got.hits, expected.hits)
    assert got.good_samples == expected.good_samples
    assert got.seconds == pytest.approx(expected.seconds)
    assert max(read[1:]) <= 2 * CONTEXT_S + every_s + 0.05  # flat cost: a few seconds a time
