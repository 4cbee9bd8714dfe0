"""A small before/after session for the customer sheet's tests, made on the virtual cell in a few
seconds: a stock Milwaukee-Eight 114 pulled once on a VE map 12 % lean (the 'baseline pulls',
tune version 1) and once on its right map (the 'final pulls', version 2), kept in a catalog as
the app keeps a recorded session; and an idle log with no pull."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.plan import IdleStep, PlanSpec, PullStep
from dynoai_desktop.core.tune import ChangeSource, Tune
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.ecm_tables import EcmTables
from dynoai_desktop.sim.logmode import run_log_direct
from dynoai_desktop.sim.plans import plan_from_spec
from dynoai_desktop.sim.presets import get_preset
from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog
from dynoai_desktop.storage.run_files import RunMetadata, write_run

PRESET = "m8-114-stock"
LEAN = 0.88  # the baseline map's VE against the right one
CUSTOMER = "Dana Whitfield"
VEHICLE = "2019 Street Glide Special"
VIN = "1HD1KRC19KB612345"
NOTES = "Fuelled the cruise and WOT cells; the lean stumble at 2,500 rpm is gone."
PLAN = PlanSpec("pull", (IdleStep(20.0), PullStep(2000.0, 5500.0), IdleStep(3.0)),
                engine_temp_c=90.0)
WARM_UP_S = 20.0


@dataclass(frozen=True)
class SheetShop:
    """The catalog folder, its session id and the two run files; an idle log beside them."""

    folder: Path
    session_id: int
    before_run: Path
    after_run: Path
    idle_log: Path
    run_ids: tuple[int, int]


def _pull(tables: EcmTables) -> dict[str, np.ndarray]:
    cell = VirtualCell(CellConfig(preset=get_preset(PRESET), plan=plan_from_spec(PLAN),
                                  loop_plan=False, tables=tables))
    return {k: np.asarray(v, dtype=float) for k, v in run_log_direct(cell, None).columns.items()}


def _tables() -> tuple[EcmTables, EcmTables]:
    right = VirtualCell(CellConfig(preset=get_preset(PRESET))).tables
    lean = replace(right, ve_front=right.ve_front.with_values(np.round(right.ve_front.values
                                                                       * LEAN, 2)),
                   ve_rear=right.ve_rear.with_values(np.round(right.ve_rear.values * LEAN, 2)))
    return lean, right


def _tune(tables: EcmTables, build: BuildSpec) -> Tune:
    kept = (tables.ve_front, tables.ve_rear, tables.afr_target, tables.spark_front,
            tables.spark_rear)
    return Tune({t.name: t for t in kept}, build, "test base map")


def make_sheet_shop(folder: Path) -> SheetShop:
    """The shop's catalog in ``folder`` (created) with the session, its runs and tune."""
    folder.mkdir(parents=True, exist_ok=True)
    lean, right = _tables()
    weather = VirtualCell(CellConfig(preset=get_preset(PRESET))).config.weather
    build = BuildSpec.stock("milwaukee_eight_114")
    with Catalog(folder / CATALOG_FILE) as catalog:
        customer = catalog.add_customer(CUSTOMER, phone="555-0100")
        vehicle = catalog.add_vehicle(customer, VEHICLE, build, vin=VIN)
        tune_id = catalog.add_tune(VEHICLE, _tune(lean, build), "2026-05-02T09:00:00")
        session = catalog.start_session(vehicle, "2026-05-02T09:00:00", "Sam", NOTES, tune_id)
        run_ids = []
        for name, tables, version, at in (("baseline pulls", lean, 1, "2026-05-02T09:05:00"),
                                          ("final pulls", right, 2, "2026-05-02T09:40:00")):
            if version == 2:
                catalog.record_version(tune_id, _tune(right, build), ChangeSource.AUTOTUNE,
                                       "2026-05-02T09:30:00", "autotune round 1")
            columns = _pull(tables)
            file = catalog.new_run_file(session, at)
            write_run(catalog.data_dir / file, columns, RunMetadata(name, at, weather=weather))
            run_id = catalog.add_run(session, name, at, file, weather=weather,
                                     tune_version_id=version)
            catalog.finish_run(run_id, at, float(columns["time_s"][-1]),
                               int(columns["time_s"].size))
            run_ids.append(run_id)
        catalog.end_session(session, "2026-05-02T10:00:00")
        runs = catalog.runs(session)
        before_run, after_run = (catalog.run_path(r) for r in runs)
    idle = folder / "idle.csv"
    frame = pd.read_parquet(after_run)
    frame[frame["time_s"] < WARM_UP_S - 1.0].to_csv(idle, index=False)
    return SheetShop(folder, session, before_run, after_run, idle, (run_ids[0], run_ids[1]))
