"""Cylinder imbalance: per cell covered on both cylinders, how the rear differs from the front."""

from __future__ import annotations

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.ml.training.patterns.common import measure, session_runs
from dynoai_desktop.ml.training.records import CylinderImbalance, ImbalanceCell
from dynoai_desktop.ml.training.session_data import SessionData

MAX_CORRECTION_PCT = 60.0
"""A measured correction beyond this is not a tune (a wrong table or a broken sensor)."""
MAX_AFR_DIFFERENCE = 5.0


def cylinder_imbalance(session: SessionData, settings: AutotuneSettings,
                       ) -> tuple[CylinderImbalance | None, str | None]:
    """Rear vs front per covered cell.

    Inputs: each run's ``afr_front`` and ``afr_rear`` (with their status), ``rpm``, the load the
    VE tables are laid out by (``map_kpa`` or ``tps_pct``), the AFR target (the session's table,
    else each run's ``afr_target``), and what autotune's filters read when logged (engine
    temperature, throttle, MAP, dyno torque, closed-loop trims); the VE tables each run was
    fuelled from (``RunData.tables``, else the session's starting tables).

    Autotune's filters, wideband delay and binning make each cylinder's measured correction
    per cell (before its table fit and limits; ``common.measure``). A cell counts when both
    cylinders have at least ``settings.min_weight`` of good-sample weight there and a 95 %
    interval within ``settings.max_ci95_pct``. Corrections are of the tables the first run was
    fuelled from; ``afr_rear_minus_front`` is the difference of the two cylinders' mean AFR
    errors there (the same targets).
    """
    runs = [run for run in session_runs(session)
            if run.channel("afr_front") is not None and run.channel("afr_rear") is not None]
    if not runs:
        return None, ("no run logged both widebands (afr_front and afr_rear): the cylinders "
                      "cannot be compared")
    measured, why = measure([(run.name, run.columns, run.tables) for run in runs],
                            session.afr_target, settings)
    if measured is None:
        return None, why
    front = measured.correction_pct("ve_front")
    rear = measured.correction_pct("ve_rear")
    afr_diff = measured.afr_error["ve_rear"] - measured.afr_error["ve_front"]
    with np.errstate(invalid="ignore"):
        ok = (measured.covered("ve_front", settings) & measured.covered("ve_rear", settings)
              & (np.abs(front) <= MAX_CORRECTION_PCT) & (np.abs(rear) <= MAX_CORRECTION_PCT)
              & (np.abs(afr_diff) <= MAX_AFR_DIFFERENCE))
    if not ok.any():
        return None, (f"no cell is covered on both cylinders (each needs {settings.min_weight:g} "
                      f"of good-sample weight and a 95 % interval within "
                      f"±{settings.max_ci95_pct:g} %); hold the cells longer")
    samples = np.minimum(measured.samples["ve_front"], measured.samples["ve_rear"])
    cells = [ImbalanceCell(rpm=float(measured.rpm[i]), load=float(measured.load[j]),
                           afr_rear_minus_front=round(float(afr_diff[i, j]), 3),
                           front_correction_pct=round(float(front[i, j]), 2),
                           rear_correction_pct=round(float(rear[i, j]), 2),
                           samples=int(samples[i, j]))
             for i, j in np.argwhere(ok)]
    return CylinderImbalance(measured.load_channel, cells), None  # type: ignore[arg-type]
