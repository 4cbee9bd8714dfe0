"""Screenshots for the docs: the live panel mid-pull on the demo cell, and that pull in review.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/docs_shots.py docs/

Runs the demo cell in real time (about 40 s), records its first WOT pull from the session bar
the way a tuner would (customer, vehicle, session, Record, a marker, Stop), then opens the run in
review mode with the cursor on the pull.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.storage.catalog import DATA_DIR_ENV
from dynoai_desktop.ui.gc_on_gui_thread import GuiThreadGarbageCollector
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.panels.table_3d import share_opengl_contexts
from dynoai_desktop.ui.theme import apply_theme

RATE = 1.0  # real time, so the run's time axis reads as a real pull


def _run_for(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def main(out: Path, demo_cell: DemoCell) -> None:
    ports = demo_cell.start()
    build: BuildSpec = demo_cell.cell.config.preset.build
    share_opengl_contexts()  # before the QApplication (ui/panels/table_3d.py)
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    collector = GuiThreadGarbageCollector()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ[DATA_DIR_ENV] = str(Path(scratch) / "data")
        dyno = DynoApp(Path(scratch) / "config", ports)
        window = MainWindow(dyno)
        window.resize(1600, 1000)
        window.show()
        customer = dyno.runs.add_customer("Demo customer")
        vehicle = dyno.runs.add_vehicle(customer, "2015 Street Glide (demo)", build)
        bar = window.session_bar
        bar.refresh_customers(select=customer)
        bar.refresh_vehicles(select=vehicle)
        bar.start_session()
        bar.run_name_edit.setText("WOT pull 1")
        _run_for(app, 15.0 / RATE)  # the widebands warm up
        bar.record_button.click()
        _run_for(app, 3.0 / RATE)
        window.controller.add_marker("before the pull")
        _run_for(app, 5.5 / RATE)  # mid-pull
        window.grab().save(str(out / "live_mid_pull.png"))
        _run_for(app, 10.0 / RATE)
        bar.record_button.click()
        assert dyno.live.last_run is not None
        window.review.open_run(dyno.runs.run_path(dyno.live.last_run))
        window.live_dock.show_review()
        _run_for(app, 0.5)
        start, end = window.review.x_range()
        window.review.show_cursor(start + 0.6 * (end - start))
        _run_for(app, 0.5)
        window.grab().save(str(out / "review_mode.png"))
        window.live_dock.show_live()
        demo_cell.cell.post(lambda: demo_cell.cell.set_sensor_state("rear", 3, 2))  # heater open
        _run_for(app, 1.5)
        window.live_dock.grab().save(str(out / "gauge_sensor_error.png"))
        demo_cell.cell.post(lambda: demo_cell.cell.set_sensor_state("rear", None))
        window.close()
        dyno.close()
    collector.stop()
    print(f"saved {out / 'live_mid_pull.png'}, {out / 'review_mode.png'} and "
          f"{out / 'gauge_sensor_error.png'}")


if __name__ == "__main__":
    with DemoCell(rate_multiplier=RATE) as demo_cell:
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"), demo_cell)
