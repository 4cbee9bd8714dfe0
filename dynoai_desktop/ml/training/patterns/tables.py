"""The patterns read off the tables: VE scaling by region, and the AFR target strategy."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.training.patterns.common import (
    VE_TABLES,
    FloatArray,
    finite_median,
    region_boxes,
    session_runs,
)
from dynoai_desktop.ml.training.records import (
    AFR,
    REGIONS,
    AfrTargets,
    CylinderVeScaling,
    RegionChange,
    VeScaling,
)
from dynoai_desktop.ml.training.session_data import SessionData

CHANGED_VE = 0.005
"""A cell that moved less than this (VE %, the tables' own 0.01 rounding) did not change."""
MAX_CHANGE_PCT = 60.0
"""A cell further than this from the base map is not a tune of it (a different table)."""
RUNNING_RPM = 300.0


def _grid(table: Table) -> tuple[FloatArray, FloatArray, FloatArray]:
    view = table.normalised()
    rpm, load = np.meshgrid(view.row_breakpoints, view.col_breakpoints, indexing="ij")
    return rpm, load, np.asarray(view.values, dtype=np.float64)


def ve_scaling(session: SessionData, settings: AutotuneSettings,
               ) -> tuple[VeScaling | None, str | None]:
    """VE change by region and cylinder, from the base map to the tune the session ended with.

    Inputs: ``tables_after`` (``ve_front``, ``ve_rear``) and the base map the tune began from
    (``base_tables``, else ``tables_before``). Per cylinder and region (``common.REGION_BOXES_*``
    on the table's own load axis), the mean change in % of the cells that changed (the base
    looked up at the tuned table's breakpoints when their axes differ). ``settings`` is unused.
    """
    reference: Mapping[str, Table] = session.base_tables or session.tables_before or {}
    word = "base map" if session.base_tables else "starting tables"
    after = session.tables_after or {}
    missing = [n for n in VE_TABLES if n not in after or n not in reference]
    if missing:
        return None, (f"no {' and '.join(missing)} before and after the session: the VE "
                      "change cannot be measured")
    cylinders: dict[str, CylinderVeScaling] = {}
    found = False
    for name in VE_TABLES:
        tuned, base = after[name], reference[name]
        if tuned.col_axis != base.col_axis:
            return None, (f"{name} is laid out by {tuned.col_axis} after the session but by "
                          f"{base.col_axis} in the {word}: they cannot be compared")
        rpm, load, values = _grid(tuned)
        base_values = np.asarray(base.lookup(rpm, load), dtype=np.float64)
        change = np.divide(values, base_values, out=np.full(values.shape, np.nan),
                           where=base_values > 0) * 100.0 - 100.0
        with np.errstate(invalid="ignore"):
            changed = (np.abs(values - base_values) > CHANGED_VE) & (
                np.abs(change) <= MAX_CHANGE_PCT)
        regions: dict[str, RegionChange | None] = {}
        for region, box in region_boxes(tuned.col_axis).items():
            inside = changed & box.contains(rpm, load)
            regions[region] = (RegionChange(round(float(change[inside].mean()), 2),
                                            int(inside.sum())) if inside.any() else None)
            found |= bool(inside.any())
        cylinders[name] = CylinderVeScaling(**regions)
    if not found:
        return None, f"no VE cell of any region changed from the {word}"
    return VeScaling(cylinders["ve_front"], cylinders["ve_rear"]), None


def afr_targets(session: SessionData, settings: AutotuneSettings,
                ) -> tuple[AfrTargets | None, str | None]:
    """The target AFR per region (the median).

    Inputs: the session's AFR target table (``afr_target``: its cells in each region), else
    every run's ``afr_target`` column with its ``rpm`` and ``map_kpa`` (or ``tps_pct``): the
    samples logged in each region with the engine running. ``settings`` is unused.
    """
    lo, hi = AFR["lo"], AFR["hi"]
    if session.afr_target is not None:
        rpm, load, values = _grid(session.afr_target)
        boxes = region_boxes(session.afr_target.col_axis)
        source = "the AFR target table"
    else:
        rpms, loads, targets = [], [], []
        channel = None
        for run in session_runs(session):
            target, rpm_col = run.channel("afr_target"), run.channel("rpm")
            load_col = run.channel("map_kpa")
            this = "map_kpa"
            if load_col is None:
                load_col, this = run.channel("tps_pct"), "tps_pct"
            if target is None or rpm_col is None or load_col is None:
                continue
            if channel is None:
                channel = this
            if this != channel:
                continue
            running = rpm_col > RUNNING_RPM
            rpms.append(rpm_col[running])
            loads.append(load_col[running])
            targets.append(target[running])
        if channel is None:
            return None, ("no AFR target table and no run logged afr_target with rpm and MAP: "
                          "the target strategy is unknown")
        rpm, load, values = (np.concatenate(rpms), np.concatenate(loads),
                             np.concatenate(targets))
        boxes = region_boxes(channel)
        source = "the logged afr_target"
    with np.errstate(invalid="ignore"):
        plausible = np.isfinite(values) & (values >= lo) & (values <= hi)
    medians: dict[str, float | None] = {}
    for region in REGIONS:
        inside = plausible & boxes[region].contains(rpm, load)
        value = finite_median(values[inside])
        medians[region] = round(value, 2) if np.isfinite(value) else None
    if all(v is None for v in medians.values()):
        return None, f"{source} has no plausible target ({lo:g}-{hi:g} AFR) in any region"
    return AfrTargets(**medians), None
