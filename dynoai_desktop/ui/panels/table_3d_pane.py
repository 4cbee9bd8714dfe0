"""The 3D view beside the editor's grid: made the first time the tuner asks for it, it follows
the table shown and puts the live operating point on the surface while data streams."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from dynoai_desktop.core.table import Table
from dynoai_desktop.ui.panels.table_3d import Table3DView
from dynoai_desktop.ui.panels.table_editor_live import LiveRows

LIVE_POINT_MS = 200  # the point moves 5 times a second: enough to follow a pull
LIVE_POINT_STALE_S = 1.0  # no newer row than this: the point goes


class Table3DPane(QWidget):
    """Holds the 3D view (created on first show) and feeds it the table and the live point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("table_3d_pane")
        self.view: Table3DView | None = None
        self._table: Table | None = None
        self._rows: LiveRows | None = None
        self._clock: Callable[[], float] | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.timer = QTimer(self)
        self.timer.setInterval(LIVE_POINT_MS)
        self.timer.timeout.connect(self.poll_live)
        self.hide()

    def open(self) -> None:
        """Show the pane, making the view the first time."""
        if self.view is None:
            self.view = Table3DView()
            self._layout.addWidget(self.view)
            self.view.show_table(self._table)
        self.show()
        if self._rows is not None:
            self.timer.start()

    def close_pane(self) -> None:
        self.timer.stop()
        self.hide()

    def show_table(self, table: Table | None) -> None:
        self._table = table
        if self.view is not None:
            self.view.show_table(table)

    def set_live_source(self, rows: LiveRows | None,
                        clock: Callable[[], float] | None = None) -> None:
        self._rows, self._clock = rows, clock
        if rows is None:
            self.timer.stop()
            if self.view is not None:
                self.view.set_live_point(None, None)
        elif self.isVisible():
            self.timer.start()

    def poll_live(self) -> None:
        """Put the newest operating point on the surface (or take it away when stale)."""
        if self.view is None or self._rows is None or self._table is None:
            return
        load = self._table.col_axis
        latest = self._rows.window(LIVE_POINT_STALE_S, ("rpm", load))
        times, rpm, load_values = latest["time_s"], latest["rpm"], latest[load]
        fresh = times.size and (self._clock is None
                                or self._clock() - float(times[-1]) <= LIVE_POINT_STALE_S)
        if fresh and np.isfinite(rpm[-1]) and np.isfinite(load_values[-1]):
            self.view.set_live_point(float(rpm[-1]), float(load_values[-1]))
        else:
            self.view.set_live_point(None, None)
