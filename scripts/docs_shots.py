"""Screenshots for the docs: the live panel mid-pull on the demo cell, and that pull in review.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/docs_shots.py docs/

Runs the demo cell in real time (about 40 s), records its first WOT pull from the session bar
the way a tuner would (customer, vehicle, session, Record, a marker, Stop), then opens the run in
review mode with the cursor on the pull.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shot_window import demo_window, run_for

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.demo import DemoCell

RATE = 1.0  # real time, so the run's time axis reads as a real pull


def main(out: Path, demo_cell: DemoCell) -> None:
    build: BuildSpec = demo_cell.cell.config.preset.build
    with demo_window(demo_cell) as (app, dyno, window):
        customer = dyno.runs.add_customer("Demo customer")
        vehicle = dyno.runs.add_vehicle(customer, "2015 Street Glide (demo)", build)
        bar = window.session_bar
        bar.refresh_customers(select=customer)
        bar.refresh_vehicles(select=vehicle)
        bar.start_session()
        bar.run_name_edit.setText("WOT pull 1")
        run_for(app, 15.0 / RATE)  # the widebands warm up
        bar.record_button.click()
        run_for(app, 3.0 / RATE)
        window.controller.add_marker("before the pull")
        run_for(app, 5.5 / RATE)  # mid-pull
        window.grab().save(str(out / "live_mid_pull.png"))
        run_for(app, 10.0 / RATE)
        bar.record_button.click()
        assert dyno.live.last_run is not None
        window.review.open_run(dyno.runs.run_path(dyno.live.last_run))
        window.live_dock.show_review()
        run_for(app, 0.5)
        start, end = window.review.x_range()
        window.review.show_cursor(start + 0.6 * (end - start))
        run_for(app, 0.5)
        window.grab().save(str(out / "review_mode.png"))
        window.live_dock.show_live()
        demo_cell.cell.post(lambda: demo_cell.cell.set_sensor_state("rear", 3, 2))  # heater open
        run_for(app, 1.5)
        window.live_dock.grab().save(str(out / "gauge_sensor_error.png"))
        demo_cell.cell.post(lambda: demo_cell.cell.set_sensor_state("rear", None))
    print(f"saved {out / 'live_mid_pull.png'}, {out / 'review_mode.png'} and "
          f"{out / 'gauge_sensor_error.png'}")


if __name__ == "__main__":
    with DemoCell(rate_multiplier=RATE) as demo_cell:
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"), demo_cell)
