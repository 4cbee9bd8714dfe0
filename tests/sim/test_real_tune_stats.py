"""The real TC110 tune's VE statistics against 20 simulated bikes of the matching build
(docs/simulator.md §3.4; benchmarks/sim_engines.py prints the same figures): each real figure
inside the bikes' 5th-95th percentile, and TABLE_VE_SCALE is what its derivation gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynoai_desktop.sim import ve_statistics as vs
from dynoai_desktop.sim.engine import TABLE_VE_SCALE, EngineModel
from dynoai_desktop.sim.presets import REAL_TUNE_PRESET
from dynoai_desktop.storage.tune_files import read_tables

REAL_TUNE = (Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
             / "dynoai3_pvv_template_16D110002401.pvv")
FRONT_TABLE, REAR_TABLE = "VE (MAP based/Front Cyl)", "VE (MAP based/Rear Cyl)"

pytestmark = pytest.mark.skipif(
    not REAL_TUNE.is_file(),
    reason=f"the real Power Vision tune is not here ({REAL_TUNE}); it lives in "
           "../shared/realdata beside the repository and is not copied into the project")


@pytest.fixture(scope="module")
def real_tables() -> tuple:
    tables = read_tables(REAL_TUNE)
    return tables[FRONT_TABLE], tables[REAR_TABLE]


def test_the_real_tune_is_the_one_the_figures_describe(real_tables: tuple) -> None:
    front, rear = real_tables
    real = vs.tune_figures(front, rear)
    assert real.light_load_min_pct == pytest.approx(67.5)
    assert real.light_load_max_pct == pytest.approx(125.5)
    assert real.rear_minus_front_sd_pct == pytest.approx(4.38, abs=0.01)
    assert real.roughness_rpm_pct == pytest.approx(10.15, abs=0.01)
    assert real.roughness_map_pct == pytest.approx(4.66, abs=0.01)


def test_each_real_figure_is_inside_20_bikes(real_tables: tuple) -> None:
    front, rear = real_tables
    rpm, kpa = vs.stats_axes(front)
    bikes = vs.bike_figures(REAL_TUNE_PRESET, vs.REAL_TUNE_SEEDS, rpm, kpa)
    assert len(bikes) == 20
    for c in vs.compare(vs.tune_figures(front, rear), bikes):
        assert c.inside, f"{c.label}: real {c.real:.2f} outside [{c.p5:.2f}, {c.p95:.2f}]"


def test_table_ve_scale_is_its_documented_derivation(real_tables: tuple) -> None:
    """The code's TABLE_VE_SCALE is the real tune's column means over the build's physical VE
    (rounded); a change to the build rules must refit it (docs/simulator.md §3.2)."""
    front, rear = real_tables
    nominal = EngineModel(REAL_TUNE_PRESET, bike_seed=None)
    for map_kpa, ratio in vs.table_ve_scale_fit(front, rear, nominal):
        assert TABLE_VE_SCALE(map_kpa) == pytest.approx(ratio, abs=0.015), map_kpa
