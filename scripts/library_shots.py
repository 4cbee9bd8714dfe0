"""Screenshots for the docs: the run library beside Review, on a simulated shop's catalog; and
the session bar's one-click Review after a run recorded on the demo cell.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/library_shots.py \
        CATALOG_DIR docs/ [--size 1600x1000] [--window FILE.png] [--demo FILE.png]

CATALOG_DIR is a catalog made by ``dynoai simulate-shop`` (a copy is used: nothing in it is
changed). The window opens on it, the Review tab shows the newest session's runs in the library,
the newest run open and a few runs selected as a tuner would before "Analyse in Autotune".
Writes ``run_library.png`` (the Live logging dock; ``--layout live``: in the Live logging
layout, as the docs' picture is made); ``--window`` also the whole window there;
``--demo`` records two runs on the demo cell (10x) and saves the window after the first Stop,
then ``--demo``'s name with ``_review`` after one click on *Review 'WOT pull 2'*.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication
from shot_window import run_for

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.storage.catalog import DATA_DIR_ENV
from dynoai_desktop.ui.gc_on_gui_thread import GuiThreadGarbageCollector
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.theme import apply_theme


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("catalog", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--name", default="run_library.png")
    parser.add_argument("--window", type=Path, default=None)
    parser.add_argument("--layout", choices=("default", "live"), default="default",
                        help="live: View > Layout > Live logging layout (the dock wider)")
    parser.add_argument("--demo", type=Path, default=None)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    collector = GuiThreadGarbageCollector()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        shutil.copytree(args.catalog, data)
        os.environ[DATA_DIR_ENV] = str(data)
        dyno = DynoApp(Path(scratch) / "config")
        window = MainWindow(dyno)
        window.resize(width, height)
        window.show()
        try:
            run_for(app, 1.0)
            if args.layout == "live":
                window.apply_layout("live")
                run_for(app, 0.5)
            window.live_dock.review_button.click()  # opens the selected (newest) run
            run_for(app, 1.0)
            window.live_dock.library_button.setChecked(True)  # a narrow dock hid it for the charts
            run_for(app, 0.5)
            browser = window.run_browser
            newest = browser.selected_runs()[0]
            session = [r for r in dyno.runs.runs_of_session(newest.session_id)]
            for entry in session[-4:-1]:  # pulls picked for a re-analysis
                browser._run_items[entry.id].setSelected(True)
            run_for(app, 0.5)
            args.out.mkdir(parents=True, exist_ok=True)
            window.docks["live"].grab().save(str(args.out / args.name))
            if args.window is not None:
                window.grab().save(str(args.window))
        finally:
            window.close()
            dyno.close()
    print(f"saved {args.out / args.name}")
    if args.demo is not None:
        demo_shots(app, args.demo, width, height)
    collector.stop()


def demo_shots(app: QApplication, out: Path, width: int, height: int) -> None:
    """Two runs recorded from the session bar on the demo cell; the window after the second
    Stop (the Review button offered), then after one click on it."""
    with DemoCell(rate_multiplier=10.0) as cell, tempfile.TemporaryDirectory() as scratch:
        os.environ[DATA_DIR_ENV] = str(Path(scratch) / "data")
        dyno = DynoApp(Path(scratch) / "config", cell.start())
        window = MainWindow(dyno)
        window.resize(width, height)
        window.show()
        try:
            customer = dyno.runs.add_customer("Dana Ortiz")
            vehicle = dyno.runs.add_vehicle(customer, "2016 Low Rider S",
                                            cell.cell.config.preset.build)
            bar = window.session_bar
            bar.refresh_customers(select=customer)
            bar.refresh_vehicles(select=vehicle)
            bar.start_session()
            bar.run_name_edit.setText("WOT pull 1")
            run_for(app, 3.0)  # the widebands warm up (10x)
            for _ in range(2):
                bar.record_button.click()
                run_for(app, 2.0)
                bar.record_button.click()
                run_for(app, 0.5)
            window.grab().save(str(out))
            bar.review_button.click()
            run_for(app, 1.0)
            review = out.with_name(out.stem + "_review" + out.suffix)
            window.grab().save(str(review))
            print(f"saved {out} and {review}")
        finally:
            window.close()
            dyno.close()


if __name__ == "__main__":
    main()
