"""Screenshots of autotune in the app for the docs: pending corrections filling in mid-pull, the
apply preview on the editor, and the AFR traces of a pull before and after the tune was applied
and sent to the virtual ECM.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/autotune_shots.py docs/

Runs the demo cell at 5x: a loop of its plan (pulls, holds, a decel) recorded with the live
corrections on, then applied (authority 25 % for this far-off base map) and sent, then the next
loop; about a minute and a half.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget
from shot_window import demo_window, run_for

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.storage.log_files import read_log_arrays

RATE = 5.0
LOOP_S = 150.0  # one loop of the demo plan, on the cell's clock
PULL_RPM = 3800.0


def _record(app: QApplication, dyno: DynoApp, session: int, name: str,
            on_pull: object = None) -> object:
    """Record one loop; call ``on_pull()`` once, mid-pull, after half of it."""
    live = dyno.live
    live.start_recording(session, name)
    start = live.now_s()
    shot = on_pull is None
    while live.now_s() - start < LOOP_S:
        run_for(app, 0.1)
        if not shot and live.now_s() - start > LOOP_S / 2:
            latest = live.buffer.window(0.2, ("rpm", "tps_pct"))
            if latest["rpm"].size and latest["rpm"][-1] >= PULL_RPM and \
                    latest["tps_pct"][-1] >= 90.0:
                on_pull()  # type: ignore[operator]
                shot = True
    record = live.stop_recording()
    live.analysis.sync()
    run_for(app, 0.6)
    return record


def _pull(path: Path) -> dict[str, np.ndarray]:
    """The longest WOT pull of a run: AFR front/rear and target against rpm."""
    cols = read_log_arrays(path).columns
    wot = np.flatnonzero((cols["tps_pct"] >= 90.0) & (cols["rpm"] >= 2100.0))
    if wot.size == 0:
        raise SystemExit(f"autotune_shots: no WOT pull in {path}")
    pieces = np.split(wot, np.flatnonzero(np.diff(wot) > 1) + 1)
    longest = max(pieces, key=len)
    part = slice(int(longest[0]), int(longest[-1]) + 1)
    return {k: cols[k][part] for k in ("rpm", "afr_front", "afr_rear", "afr_target")}


def _traces(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> QWidget:
    widget = QWidget()
    layout = QVBoxLayout(widget)
    for title, pull in (("Before: the ECM's base map", before),
                        ("After: autotune applied and sent to the ECM", after)):
        plot = pg.PlotWidget(title=title)
        plot.addLegend(offset=(10, 10))
        plot.setLabel("bottom", "rpm")
        plot.setLabel("left", "AFR")
        plot.setYRange(11.0, 15.5)
        plot.plot(pull["rpm"], pull["afr_target"], pen=pg.mkPen("#bbbbbb", width=2),
                  name="target")
        plot.plot(pull["rpm"], pull["afr_front"], pen=pg.mkPen("#e4572e", width=2),
                  name="front")
        plot.plot(pull["rpm"], pull["afr_rear"], pen=pg.mkPen("#306ec4", width=2), name="rear")
        layout.addWidget(plot)
    widget.resize(900, 700)
    return widget


def main(out: Path, demo_cell: DemoCell) -> None:
    with demo_window(demo_cell) as (app, dyno, window):
        window.apply_layout("tuning")
        window.docks["autotune"].raise_()
        panel = window.autotune
        panel.authority.setValue(25.0)
        dyno.settings.update(authority=replace(dyno.settings.current.authority,
                                               max_ve_change_pct_per_run=25.0))
        customer = dyno.runs.add_customer("Demo")
        vehicle = dyno.runs.add_vehicle(customer, "virtual bike",
                                        BuildSpec.stock("twin_cam_103"))
        session = dyno.runs.start_session(vehicle)
        dyno.autotune.start_live()
        run_for(app, 1.0)

        def mid_pull() -> None:
            panel.refresh(force=True)
            window.grab().save(str(out / "autotune_mid_pull.png"))

        first = _record(app, dyno, session, "loop 1", mid_pull)
        panel.refresh(force=True)
        panel.preview()
        run_for(app, 0.5)
        window.docks["tables"].grab().save(str(out / "autotune_preview.png"))
        window.tables.discard_overlay()
        panel.apply()
        panel.send_tune()
        second = _record(app, dyno, session, "loop 2")
        traces = _traces(_pull(dyno.runs.run_path(first)), _pull(dyno.runs.run_path(second)))
        traces.show()
        run_for(app, 0.5)
        traces.grab().save(str(out / "autotune_before_after.png"))
        traces.close()
    print("saved " + ", ".join(str(out / n) for n in (
        "autotune_mid_pull.png", "autotune_preview.png", "autotune_before_after.png")))


if __name__ == "__main__":
    with DemoCell(rate_multiplier=RATE) as cell:
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"), cell)
