"""Screenshot of the timing advice for the docs: a fresh app (its knock advisor the shipped
prior), one session of a shop bike played on the virtual cell and kept in its catalog (its
pulls, timing sweep and all), the bike's tune shown with its base spark tables, the advice
predicted and the rear spark table's previewed in the editor.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/timing_shots.py docs/

Writes ``ai_timing_preview.png`` (the window: the rear spark table with the advice's preview,
the suggestions dock beside it) and ``ai_timing_applied.png`` (that advice applied: its retard
in, its knock-prone cells marked in the corner).
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from shot_window import app_window, run_for, suggestions_beside_tables

from dynoai_desktop.commands.shop_session import play_session
from dynoai_desktop.commands.simulate_shop import write_session
from dynoai_desktop.core.tune import SPARK_FRONT, SPARK_REAR, VE_FRONT_MAP, VE_REAR_MAP, Tune
from dynoai_desktop.sim.shop import draw_bike
from dynoai_desktop.storage.resources import base_map_tables

SHOP_SEED, BIKE = 2, 1
"""A shop bike the shipped prior never saw: a Milwaukee-Eight 117 stage 1 at 10.2:1 on 91 AKI,
which knocks in the lugging zone and has room to advance higher up."""


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    with app_window() as (app, dyno, window):
        bike = draw_bike(SHOP_SEED, BIKE)
        build = bike.build
        started = time.monotonic()
        played = play_session(bike, base_map_tables(build.engine_family.value, build.stage))
        assert dyno.catalog is not None
        last = write_session(dyno.catalog, played, SHOP_SEED)
        print(f"played a {build.summary} session in {time.monotonic() - started:.0f} s: "
              f"{played.knock_events} knock events")
        dyno.training.request(last, first=True)
        dyno.training.wait()
        dyno.runs.start_session(dyno.catalog.session(last).vehicle_id)
        front, rear = base_map_tables(build.engine_family.value, build.stage)
        base = played.base
        dyno.tune.show(Tune({VE_FRONT_MAP: replace(front, name=VE_FRONT_MAP),
                             VE_REAR_MAP: replace(rear, name=VE_REAR_MAP),
                             SPARK_FRONT: replace(base.spark_front, name=SPARK_FRONT),
                             SPARK_REAR: replace(base.spark_rear, name=SPARK_REAR)}),
                       f"Stage {build.stage} base map with the base calibration's spark")
        suggestions_beside_tables(window, tables_height=760)
        panel = window.ai
        panel.predict()
        panel.select(f"knock:{SPARK_REAR}")
        panel.preview()
        run_for(app, 1.5)
        window.grab().save(str(out / "ai_timing_preview.png"))
        panel.apply()  # applied: its retard and knock-prone marks
        run_for(app, 1.5)
        window.grab().save(str(out / "ai_timing_applied.png"))
    for name in ("ai_timing_preview.png", "ai_timing_applied.png"):
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
