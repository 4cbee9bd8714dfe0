"""Screenshots of the AI suggestions dock and the model page for the docs: a generated shop
history imported into a fresh app, a shop model trained on it in the background (so the page
shows the prior and v1 with their figures), then a Twin Cam 103 stage 2 in an open session with
its stage map as the tune, its base map predicted and the front table's suggestion previewed.

    .venv/bin/python -m dynoai_desktop simulate-shop --sessions 200 --seed 1 --jobs 2 \\
        --catalog /tmp/shop200 --export-dataset /tmp/shop200.json
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/ai_shots.py \\
        /tmp/shop200.json docs/

Writes ``ai_suggestions_preview.png`` (the window: the editor with the front base map preview's
diff, the suggestions dock beside it), ``ai_balance_preview.png`` (the same with the predicted
cylinder balance previewed on the rear table), ``ai_decel_preview.png`` (a hot-cam Twin Cam with
a 2-into-1 whose last session, played on the virtual cell, popped on its decels: the decel
enrichment previewed on the front table) and ``model_page.png``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from shot_window import app_window, run_for, suggestions_beside_tables

from dynoai_desktop.commands.shop_session import play_session
from dynoai_desktop.commands.simulate_shop import write_session
from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, CamSpec, Exhaust
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, Tune
from dynoai_desktop.sim.shop import draw_bike
from dynoai_desktop.storage.resources import base_map_tables

STAGE2 = replace(BuildSpec.stock("twin_cam_103"), stage=2,
                 cam=CamSpec("S&S 475 class bolt-in", intake_duration_deg=222.0,
                             exhaust_duration_deg=226.0, intake_lift_in=0.475,
                             exhaust_lift_in=0.475, overlap_deg=22.0),
                 exhaust=Exhaust.TWO_INTO_ONE, air_cleaner=AirCleaner.HIGH_FLOW)

HOT_CAM = replace(BuildSpec.stock("twin_cam_103"), stage=3,
                  cam=CamSpec("hot street cam", intake_duration_deg=248.0,
                              exhaust_duration_deg=252.0, intake_lift_in=0.585,
                              exhaust_lift_in=0.585, overlap_deg=42.0),
                  exhaust=Exhaust.TWO_INTO_ONE, air_cleaner=AirCleaner.HIGH_FLOW)


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: ai_shots.py DATASET.json [OUT_DIR]", file=sys.stderr)
        return 2
    dataset, out = Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "docs")
    with app_window() as (app, dyno, window):
        print(f"imported {dyno.training.import_(dataset)}")
        models = dyno.models
        started = time.monotonic()
        models.train("shop")
        if not models.wait():
            print("training did not finish", file=sys.stderr)
            return 1
        print(f"trained in {time.monotonic() - started:.0f} s: {models.state.message}")

        customer = dyno.runs.add_customer("Dale Whitaker")
        vehicle = dyno.runs.add_vehicle(customer, "2014 Road King", STAGE2)
        dyno.runs.start_session(vehicle)
        front, rear = base_map_tables("twin_cam_103", 2)
        dyno.tune.show(Tune({VE_FRONT_MAP: replace(front, name=VE_FRONT_MAP),
                             VE_REAR_MAP: replace(rear, name=VE_REAR_MAP)}),
                       "Stage 2 base map (shipped, Twin Cam 103)")

        suggestions_beside_tables(window)
        panel = window.ai
        panel.predict()
        panel.select(f"base_ve:{VE_FRONT_MAP}")
        panel.preview()
        run_for(app, 1.5)
        window.grab().save(str(out / "ai_suggestions_preview.png"))
        panel.select(f"cylinder_balance:{VE_REAR_MAP}")
        panel.preview()
        run_for(app, 1.5)
        window.grab().save(str(out / "ai_balance_preview.png"))

        # Its last session popped on the decels: the recommender reads that session's spikes.
        bike = draw_bike(7, 0, HOT_CAM)
        started = time.monotonic()
        played = play_session(bike, base_map_tables("twin_cam_103", HOT_CAM.stage))
        assert dyno.catalog is not None
        last = write_session(dyno.catalog, played, 7)
        print(f"played a {HOT_CAM.summary} session in {time.monotonic() - started:.0f} s: "
              f"{played.decel.pops_before} pops before its own fix")
        dyno.training.request(last, first=True)
        dyno.training.wait()
        dyno.runs.start_session(dyno.catalog.session(last).vehicle_id)
        front, rear = base_map_tables("twin_cam_103", HOT_CAM.stage)
        dyno.tune.show(Tune({VE_FRONT_MAP: replace(front, name=VE_FRONT_MAP),
                             VE_REAR_MAP: replace(rear, name=VE_REAR_MAP)}),
                       "Stage 3 base map (shipped, Twin Cam 103)")
        panel.predict()
        panel.select(f"decel_enrichment:{VE_FRONT_MAP}")
        panel.preview()
        run_for(app, 1.5)
        window.grab().save(str(out / "ai_decel_preview.png"))

        page = panel.show_models()
        page.resize(1180, 640)
        run_for(app, 1.0)
        page.grab().save(str(out / "model_page.png"))
        page.close()
    for name in ("ai_suggestions_preview.png", "ai_balance_preview.png", "ai_decel_preview.png",
                 "model_page.png"):
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
