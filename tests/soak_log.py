"""A log from the virtual cell with an idle heat soak in it (or not), on a bike whose TMAP reads
soaked under load, for the heat-soak tests of the command, the app and the panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynoai_desktop.core.plan import FanStep, GridStep, IdleStep, PlanSpec
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.logmode import run_log_direct
from dynoai_desktop.sim.plans import plan_from_spec
from dynoai_desktop.sim.thermal import ThermalParams

SOAKING_TMAP = ThermalParams(sensor_soak_idle=1.0, sensor_soak_airflow=3000.0)
GRID = GridStep(rpm=(1500.0, 2500.0), map_kpa=(40.0, 60.0), seconds_per_cell=4.0)


def soak_log_csv(path: Path, soak_s: float) -> Path:
    """20 s of idle with the fan on, ``soak_s`` at idle with it off (none for 0), then holds
    at 1500/2500 rpm x 40/60 kPa with the fan on: a Log CSV at ``path``."""
    steps = [IdleStep(20.0, fan_cfm=12000.0)]
    if soak_s:
        steps += [IdleStep(soak_s, fan_cfm=0.0), FanStep(12000.0)]
    cell = VirtualCell(CellConfig(plan=plan_from_spec(PlanSpec("test", (*steps, GRID))),
                                  thermal=SOAKING_TMAP, loop_plan=False))
    block = run_log_direct(cell, None)
    pd.DataFrame({k: np.asarray(v) for k, v in block.columns.items()}).to_csv(path, index=False)
    return path
