"""Screenshot of the Compare runs panel for the docs: four runs of the virtual dyno cell overlaid.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/compare_shots.py docs/

Records four WOT pulls on the virtual cell (simulated time, a few seconds each), saves them as
run files of two customers' sessions in the catalog, with the day's weather, and compares them:
a Stage 2 Twin Cam 103 on its base map (the before), the same bike after its VE tables were
tuned, a Stage 3 Twin Cam 110 (hotter cam, bigger engine), and the tuned 103 again pulled over
a shorter range (3,000-5,000 rpm, the way a rider checks the midrange). The cursor sits mid-pull.
Also saves the window at 1280x800 to ``--small PATH`` when asked, to check it reads there.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
from shot_window import app_window, run_for

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.ecm_tables import base_tables, true_ve_table
from dynoai_desktop.sim.engine import FRONT, REAR, EngineModel
from dynoai_desktop.sim.plans import Plan, idle, pull
from dynoai_desktop.sim.presets import PRESETS
from dynoai_desktop.sim.wideband import WidebandParams
from dynoai_desktop.storage.run_files import RunMetadata, write_run

STEP_S = 0.02  # 50 Hz, as the dyno line sends
TORQUE_NOISE_FTLB = 0.4  # what the drum's load cell adds (the dyno line's frames carry it too)
CURSOR_RPM = 4400.0
CHANNELS = ("rpm", "speed_mph", "tps_pct", "map_kpa", "torque_ftlb", "power_hp", "afr_target")


def record(preset: str, tuned: bool, rpm_from: float, rpm_to: float, weather: Weather,
           seed: int) -> pd.DataFrame:
    """One WOT pull on the virtual cell, with the widebands' readings, as a run's samples."""
    engine = EngineModel(PRESETS[preset])
    tables = base_tables(engine)
    if tuned:
        tables = dataclasses.replace(tables, ve_front=true_ve_table(engine, FRONT),
                                     ve_rear=true_ve_table(engine, REAR))
    plan = Plan("pull", (*idle(2.0), *pull(rpm_from, rpm_to)))
    cell = VirtualCell(CellConfig(preset=PRESETS[preset], plan=plan, tables=tables,
                                  loop_plan=False, weather=weather, seed=seed,
                                  wideband=WidebandParams(warmup_s=0.5)))
    noise = np.random.default_rng(seed)
    rows = []
    while not cell.runner.finished and cell.time_s < 90.0:
        cell.advance(cell.time_s + STEP_S)
        row = {"time_s": cell.time_s, **{c: cell.values[c] for c in CHANNELS}}
        for side, cylinder in (("afr_front", FRONT), ("afr_rear", REAR)):
            lam = cell.sensors[cylinder].sample(cell.time_s).lam
            row[side] = lam * 14.7 if lam is not None else np.nan
        rows.append(row)
    frame = pd.DataFrame(rows)
    loaded = frame["torque_ftlb"] > 0
    frame.loc[loaded, "torque_ftlb"] += noise.normal(0.0, TORQUE_NOISE_FTLB, int(loaded.sum()))
    frame["power_hp"] = frame["torque_ftlb"] * frame["rpm"] / 5252.113
    return frame


RUNS = (  # customer, vehicle, preset, run name, tuned, pull, weather (baro kPa, °C, RH %)
    ("Dana Reyes", "2014 Street Glide, TC103 Stage 2", "tc103-stage2", "Base map", False,
     (2000.0, 5600.0), (98.6, 18.0, 55.0)),
    ("Dana Reyes", "2014 Street Glide, TC103 Stage 2", "tc103-stage2", "After autotune", True,
     (2000.0, 5600.0), (98.4, 27.0, 40.0)),
    ("Sam Okafor", "2012 Fat Bob, TC110 Stage 3", "tc110-stage3", "Stage 3 cam", True,
     (2500.0, 6000.0), (99.1, 24.0, 35.0)),
    ("Dana Reyes", "2014 Street Glide, TC103 Stage 2", "tc103-stage2", "Midrange check", True,
     (3000.0, 5000.0), (98.4, 29.0, 38.0)),
)


def save_runs(dyno: DynoApp) -> list[Path]:
    """The four runs recorded and saved in their customers' sessions in the catalog."""
    library, catalog = dyno.runs, dyno.runs.catalog
    assert catalog is not None, "the screenshot needs the catalog"
    sessions: dict[str, int] = {}
    paths = []
    for number, (customer, vehicle, preset, name, tuned, (rpm_from, rpm_to), air) in \
            enumerate(RUNS, start=1):
        if vehicle not in sessions:
            customer_id = library.add_customer(customer)
            vehicle_id = library.add_vehicle(customer_id, vehicle, PRESETS[preset].build)
            sessions[vehicle] = library.start_session(vehicle_id)
        weather = Weather.of_air(*air)
        frame = record(preset, tuned, rpm_from, rpm_to, weather, seed=number)
        started = f"2026-11-22T{9 + number:02d}:00:00"
        file = catalog.new_run_file(sessions[vehicle], started)
        catalog.add_run(sessions[vehicle], name, started, file, status="complete",
                        weather=weather)
        path = catalog.data_dir / file
        write_run(path, frame, RunMetadata(name=name, started_at=started, weather=weather))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("docs"))
    parser.add_argument("--small", type=Path, help="also save the window at 1280x800 here")
    args = parser.parse_args()
    with app_window() as (app, dyno, window):
        paths = save_runs(dyno)
        for name, dock in window.docks.items():  # the comparison takes the whole window
            if name != "compare":
                dock.hide()
        assert window.add_runs(paths), window.compare.error.text()
        run_for(app, 0.5)
        window.compare.show_cursor(CURSOR_RPM)
        run_for(app, 0.5)
        shot = args.out / "run_comparison_4runs.png"
        window.grab().save(str(shot))
        print(f"saved {shot}")
        if args.small is not None:
            window.resize(1280, 800)
            window.reset_layout()
            window.docks["compare"].raise_()
            run_for(app, 0.5)
            window.compare.show_cursor(CURSOR_RPM)
            run_for(app, 0.3)
            window.grab().save(str(args.small))
            print(f"saved {args.small}")


if __name__ == "__main__":
    main()
