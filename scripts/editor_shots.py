"""Screenshots of the table editor for the docs: mid-pull with the live cursor and its trace, an
overlay preview with limited cells, the history diff and the 3D view.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/editor_shots.py docs/

Runs the demo cell in real time until its first WOT pull is past 3800 rpm (about 25 s), then
edits the demo base map the way a tuner would to make the history and the overlay.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from shot_window import demo_window, run_for

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.core.overlay import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.table_ops import scale_cells, select_rect
from dynoai_desktop.core.tune import VE_FRONT_MAP
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.ui.main_window import MainWindow

PULL_RPM = 3800.0
TIMEOUT_S = 90.0


def _wait_for_pull(app: QApplication, dyno: DynoApp) -> None:
    end = time.monotonic() + TIMEOUT_S
    while time.monotonic() < end:
        run_for(app, 0.1)
        latest = dyno.live.buffer.window(0.2, ("rpm", "tps_pct"))
        rpm, tps = latest["rpm"], latest["tps_pct"]
        if rpm.size and rpm[-1] >= PULL_RPM and tps[-1] >= 90.0:
            return
    raise SystemExit("editor_shots: no WOT pull reached 3800 rpm in 90 s")


def _overlay(dyno: DynoApp) -> Overlay:
    """A correction as autotune will propose one: +3 to +14 % over the mid-range, leaner in two
    WOT cells with no evidence there (held), one cell over the ±10 % authority (limited)."""
    table = dyno.tune.table(VE_FRONT_MAP)
    rows, cols = table.shape
    change = np.zeros(table.shape)
    r0, c0 = rows // 3, cols // 3
    change[r0:r0 + 4, c0:c0 + 3] = np.round(np.linspace(3.0, 8.0, 12).reshape(4, 3), 1)
    change[r0 + 1, c0 + 1] = 14.0
    wot = int(np.flatnonzero(table.col_breakpoints >= 95.0)[0])
    change[r0:r0 + 2, wot] = -4.0
    confidence = np.where(change != 0, 0.8, 0.0)
    return Overlay(VE_FRONT_MAP, OverlayKind.MULTIPLICATIVE, change, change != 0.0,
                   OverlaySource.MANUAL, confidence=confidence,
                   description="corrections from the last pulls")


def main(out: Path, demo_cell: DemoCell) -> None:
    saved = []
    with demo_window(demo_cell) as (app, dyno, window):
        window.apply_layout("tuning")
        _wait_for_pull(app, dyno)
        window.grab().save(str(out / "editor_mid_pull.png"))
        saved.append("editor_mid_pull.png")

        tables = window.tables
        table = dyno.tune.table(VE_FRONT_MAP)
        dyno.tune.save_version("demo base map")
        lock = select_rect(table, slice(table.shape[0] // 3 + 3, table.shape[0] // 3 + 4),
                           slice(table.shape[1] // 3, table.shape[1] // 3 + 1))
        dyno.tune.set_locked(VE_FRONT_MAP, lock, True)
        tables.preview_overlay(_overlay(dyno))
        run_for(app, 0.5)
        tables.grab().save(str(out / "overlay_preview.png"))
        saved.append("overlay_preview.png")
        tables.apply_overlay()
        dyno.tune.edit(scale_cells(dyno.tune.table(VE_FRONT_MAP),
                                   select_rect(table, slice(2, 6), slice(0, 3)), -3.0),
                       "-3 % at light load, low rpm")
        dyno.tune.save_version("leaner at light load")
        saved += _history_and_3d(app, window, out)
    print("saved " + ", ".join(str(out / name) for name in saved))


def _history_and_3d(app: QApplication, window: MainWindow, out: Path) -> list[str]:
    """The history's diff of the first version against now, and the 3D view mid-pull."""
    history = window.history
    window.docks["history"].raise_()
    history.pick_table(VE_FRONT_MAP)
    history.show_version_diff(1, VE_FRONT_MAP)
    window.resizeDocks([window.docks["tables"], window.docks["history"]], [380, 600],
                       Qt.Orientation.Vertical)
    run_for(app, 0.5)
    window.docks["history"].grab().save(str(out / "history_diff.png"))
    window.docks["coverage"].raise_()
    window.resizeDocks([window.docks["tables"], window.docks["coverage"]], [640, 340],
                       Qt.Orientation.Vertical)
    window.tables.show_3d(True)
    run_for(app, 2.0)  # the GL view is made on its first show, then the live point moves
    window.docks["tables"].grab().save(str(out / "table_3d.png"))
    return ["history_diff.png", "table_3d.png"]


if __name__ == "__main__":
    with DemoCell() as demo_cell:
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"), demo_cell)
