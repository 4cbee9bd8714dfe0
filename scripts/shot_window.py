"""What the screenshot scripts share: the app (on the demo cell, or with no devices) in a
1600x1000 window (settings and data in a scratch folder), and the event loop run for a while."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dynoai_desktop.app.application import DemoStart, DynoApp
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.storage.catalog import DATA_DIR_ENV
from dynoai_desktop.ui.gc_on_gui_thread import GuiThreadGarbageCollector
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.panels.table_3d import share_opengl_contexts
from dynoai_desktop.ui.theme import apply_theme


def run_for(app: QApplication, seconds: float) -> None:
    """Let the app run (events, timers, live data) for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


@contextmanager
def app_window(start: DemoStart | None = None
               ) -> Iterator[tuple[QApplication, DynoApp, MainWindow]]:
    """The main window (on a demo cell's ``start``, else with no devices), shown at 1600x1000
    with settings and data in a scratch folder; closed with its app after."""
    share_opengl_contexts()  # before the QApplication (ui/panels/table_3d.py)
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    collector = GuiThreadGarbageCollector()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            os.environ[DATA_DIR_ENV] = str(Path(scratch) / "data")
            dyno = DynoApp(Path(scratch) / "config", start)
            window = MainWindow(dyno)
            window.resize(1600, 1000)
            window.show()
            try:
                yield app, dyno, window
            finally:
                window.close()
                dyno.close()
    finally:
        collector.stop()


@contextmanager
def demo_window(demo_cell: DemoCell) -> Iterator[tuple[QApplication, DynoApp, MainWindow]]:
    """The main window on ``demo_cell`` (``app_window``)."""
    with app_window(demo_cell.start()) as opened:
        yield opened


def suggestions_beside_tables(window: MainWindow, tables_height: int = 700) -> None:
    """Tuning off the dyno: the live dock closed, the AI suggestions where it was (dragged
    there), the tables beside them, ``tables_height`` of the tables' and coverage's 1000 px."""
    docks = window.docks
    docks["live"].hide()
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks["ai"])
    window.resizeDocks([docks["ai"], docks["tables"]], [640, 960], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["tables"], docks["coverage"]], [tables_height,
                                                               1000 - tables_height],
                       Qt.Orientation.Vertical)
