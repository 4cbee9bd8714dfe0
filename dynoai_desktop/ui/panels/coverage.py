"""Coverage panel: which RPM × load cells the live data has hit, on the VE table's own grid.

A thin view over the live session's analysis: the analysis worker counts every live row into
the cells of the current VE table (``core.cell_hits``), and this panel polls its version and
draws the counts. Coverage kept across all the runs of a vehicle comes with the coverage feature.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from dynoai_desktop.app.live_session import LiveSession
from dynoai_desktop.core.cell_hits import CellHits
from dynoai_desktop.ui import theme

POLL_INTERVAL_MS = 250
LOAD_LABELS = {"map_kpa": ("MAP", "kPa"), "tps_pct": ("Throttle", "%")}


class CoveragePanel(QWidget):
    """Hit counts per cell of the live analysis; a message until the first rows are counted."""

    def __init__(self, live: LiveSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.live = live
        self.hits: CellHits | None = None
        self._drawn_version = -1
        self.message = QLabel()
        self.message.setStyleSheet(f"color: {theme.MUTED};")
        self.message.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "Engine speed (rpm)")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.image = pg.ImageItem()
        # Zero hits is the panel's own dark grey, so an uncovered cell reads as "nothing here".
        self.image.setColorMap(
            pg.ColorMap([0.0, 0.02, 0.5, 1.0], [theme.PANEL, "#23427a", "#2ec4b6", "#f9c74f"])
        )
        self.plot.addItem(self.image)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.plot, stretch=1)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self) -> None:
        """Redraw when the live analysis published new counts."""
        version = self.live.analysis_version
        if version == self._drawn_version:
            return
        self._drawn_version = version
        self.show_hits(self.live.cell_hits())

    def show_hits(self, hits: CellHits | None) -> None:
        self.hits = hits
        if hits is None:
            self.image.clear()
            self.message.setText("Open a tune (Tables ▸ Open tune…): live rows are counted into "
                                 "the cells of its VE table here.")
            return
        counts = hits.hits.astype(float)
        name, unit = LOAD_LABELS.get(hits.load_channel, (hits.load_channel, ""))
        self.plot.setLabel("bottom", name, units=unit)
        # ImageItem's first axis is x (load), so the grid is transposed.
        self.image.setImage(counts.T, autoLevels=False, levels=(0, max(1.0, counts.max())))
        self._place_image(hits)
        if hits.cells_hit:
            self.message.setText(
                f"Live rows per cell of {hits.table_name}: {hits.cells_hit} of {counts.size} "
                f"cells hit ({hits.rows_counted:,} rows since the app started).")
        else:
            self.message.setText(
                f"Cells of {hits.table_name} fill in here as live data arrives (connect the "
                "devices). Coverage across all runs of a vehicle is not kept yet.")

    def _place_image(self, hits: CellHits) -> None:
        # One image pixel per cell, stretched over the axes' range (edges half a step out).
        load, rpm = hits.load_breakpoints, hits.rpm_breakpoints
        dx = (load[-1] - load[0]) / max(load.size - 1, 1)
        dy = (rpm[-1] - rpm[0]) / max(rpm.size - 1, 1)
        self.image.setRect(load[0] - dx / 2, rpm[0] - dy / 2, (load[-1] - load[0]) + dx,
                           (rpm[-1] - rpm[0]) + dy)

    @property
    def hit_counts(self) -> np.ndarray:
        """The counts drawn now, shape (rpm, load); empty before any table."""
        return np.zeros((0, 0)) if self.hits is None else self.hits.hits
