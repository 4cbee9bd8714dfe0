"""The table editor open beside the live panel while the cell streams and the tuner edits.

The same set-up and definitions as ``live_panel_fps.py``: the virtual cell in its own process at
``--rate`` (default 10x), read through the acquisition core into a live buffer holding 10 minutes
of history, the live-logging panel drawing it. Beside it the Tables panel edits a 27 x 17 VE
table (rpm 750-7250 x 20-100 kPa) with its live cursor and trace on, and a timer presses ``+`` or
``-`` on a 3 x 3 block every 100 ms (each press one undoable edit through the tune session).

Prints: the live panel's paints per second (frames drawn with new rows; goal >= 50), the editor's
paint events per second, the longest gap between 5 ms heartbeat ticks (a UI stall; goal <= 50
ms), the GUI thread's CPU and the edits made.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/editor_under_load.py
    .venv/bin/python benchmarks/editor_under_load.py --short      # 2 s: proves it runs
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time

import numpy as np
from latency_tap import LatencyTap
from live_panel_fps import HISTORY_S, PaintCounter, _wait, gui_thread_cpu_s, prefill
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QSplitter
from served_cell import served_cell

from dynoai_desktop.acquisition.acquisition import Acquisition, live_buffer
from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import VE_FRONT_MAP, Tune
from dynoai_desktop.ui.gc_on_gui_thread import GuiThreadGarbageCollector
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel
from dynoai_desktop.ui.panels.tables import TablesPanel
from dynoai_desktop.ui.theme import apply_theme

SETTLE_S = 2.0
HEARTBEAT_MS = 5
EDIT_EVERY_MS = 100
ROWS_RPM = np.arange(750.0, 7251.0, 250.0)  # 27 rows
COLS_KPA = np.arange(20.0, 101.0, 5.0)  # 17 columns


def ve_table() -> Table:
    """A plausible 27 x 17 VE table (%): rises with load, peaks mid-range."""
    rpm, kpa = np.meshgrid(ROWS_RPM, COLS_KPA, indexing="ij")
    values = np.round(2.0 * (40.0 + 0.55 * kpa - 8.0 * ((rpm - 3800.0) / 2500.0) ** 2), 0) / 2
    return Table(VE_FRONT_MAP, "%", "rpm", "map_kpa", ROWS_RPM, COLS_KPA, values)


def measure(app: QApplication, rate: float, seconds: float) -> str:
    with served_cell(rate) as devices:
        buffer = live_buffer()
        t0 = time.monotonic() - HISTORY_S
        prefill(buffer, HISTORY_S, noisy=False)
        acq = Acquisition(devices, buffer, t0=t0)
        tap = LatencyTap()
        acq.tap(tap)
        live = LiveLoggingPanel(buffer, DisplayUnits(), clock=acq.now_s)
        tune = TuneSession(None)
        tune.show(Tune({VE_FRONT_MAP: ve_table()}), "benchmark table")
        tables = TablesPanel(tune)
        tables.set_live_source(buffer, acq.now_s)
        window = QSplitter()
        window.addWidget(live)
        window.addWidget(tables)
        window.resize(1600, 900)
        window.show()
        editor = tables.view
        live_paints, editor_paints = PaintCounter(), PaintCounter()
        live.charts.viewport().installEventFilter(live_paints)
        editor.viewport().installEventFilter(editor_paints)
        rng = np.random.default_rng(7)
        edits = [0]

        def edit() -> None:
            top, left = int(rng.integers(0, 25)), int(rng.integers(0, 15))
            editor.select_cells(top, left, top + 2, left + 2)
            editor.step(1 if edits[0] % 2 == 0 else -1)
            edits[0] += 1

        editing = QTimer()
        editing.setInterval(EDIT_EVERY_MS)
        editing.timeout.connect(edit)
        gaps: list[float] = []
        clock = QElapsedTimer()
        heartbeat = QTimer()
        heartbeat.setInterval(HEARTBEAT_MS)
        heartbeat.timeout.connect(lambda: gaps.append(clock.restart() / 1000.0))
        tid = threading.get_native_id()
        with acq:
            _wait(app, SETTLE_S)
            tap.clear()
            frames0, view0, editor0 = live.repaints, live_paints.paints, editor_paints.paints
            gui0, cpu0 = gui_thread_cpu_s(tid), time.process_time()
            editing.start()
            clock.start()
            heartbeat.start()
            start = time.monotonic()
            _wait(app, seconds)
            wall = time.monotonic() - start
            heartbeat.stop()
            editing.stop()
            gui, cpu = gui_thread_cpu_s(tid) - gui0, time.process_time() - cpu0
            frames = live.repaints - frames0
            editor_frames = editor_paints.paints - editor0
            view_frames = live_paints.paints - view0
        live.timer.stop()
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        del window, live, tables
        gc.collect()
    stall = max(gaps[1:], default=0.0) * 1000.0
    return (f"x{rate:g}, editor open on a 27x17 table, an edit every {EDIT_EVERY_MS} ms "
            f"({edits[0]} edits): live panel {frames / wall:5.1f} paints/s (goal >= 50; "
            f"{view_frames / wall:5.1f} paint events of its chart view), editor "
            f"{editor_frames / wall:5.1f} paint events/s, longest UI stall {stall:5.1f} ms "
            f"(goal <= 50), GUI thread CPU {100.0 * gui / wall:5.1f} % of a core (process "
            f"{100.0 * cpu / wall:5.1f} %), {tap.summary(rate) if tap.stamps else 'no lines'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--rate", type=float, default=10.0, help="the cell's rate multiplier")
    parser.add_argument("--short", action="store_true", help="2 s (a test runs this)")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.short else args.seconds
    qInstallMessageHandler(lambda kind, context, message: None)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    collector = GuiThreadGarbageCollector()
    print(f"platform {app.platformName()}, {seconds:g} s measured, "
          f"{HISTORY_S / 60:g} min of history in the buffer", flush=True)
    print(measure(app, args.rate, seconds), flush=True)
    collector.stop()


if __name__ == "__main__":
    main()
