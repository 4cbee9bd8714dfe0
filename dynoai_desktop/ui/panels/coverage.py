"""Coverage panel: which RPM × MAP cells the vehicle's runs have covered (hit counts per cell)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from dynoai_desktop.core.table import Table
from dynoai_desktop.ui import theme


class CoveragePanel(QWidget):
    """Draws a hit-count grid on the axes of a reference table; empty until runs are recorded."""

    def __init__(self, grid_of: Table, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rpm = np.asarray(grid_of.normalised().row_breakpoints)
        self.load = np.asarray(grid_of.normalised().col_breakpoints)
        self.hits = np.zeros((self.rpm.size, self.load.size))
        self.message = QLabel(
            "No runs recorded for this vehicle yet: coverage fills in as you log."
        )
        self.message.setStyleSheet(f"color: {theme.MUTED};")
        self.message.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "MAP", units="kPa")
        self.plot.setLabel("left", "Engine speed (rpm)")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.image = pg.ImageItem(self.hits)
        # Zero hits is the panel's own dark grey, so an uncovered cell reads as "nothing here".
        self.image.setColorMap(
            pg.ColorMap([0.0, 0.02, 0.5, 1.0], [theme.PANEL, "#23427a", "#2ec4b6", "#f9c74f"])
        )
        self.plot.addItem(self.image)
        self._place_image()
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.plot, stretch=1)

    def _place_image(self) -> None:
        # One image pixel per cell, stretched over the axes' range (edges half a step out).
        x0, x1 = self.load[0], self.load[-1]
        y0, y1 = self.rpm[0], self.rpm[-1]
        dx = (x1 - x0) / max(self.load.size - 1, 1)
        dy = (y1 - y0) / max(self.rpm.size - 1, 1)
        self.image.setRect(x0 - dx / 2, y0 - dy / 2, (x1 - x0) + dx, (y1 - y0) + dy)

    def show_hits(self, hits: np.ndarray) -> None:
        """Hit counts per cell, shape (rpm, load); a later issue feeds it from the catalog."""
        self.hits = np.asarray(hits, dtype=float)
        # ImageItem's first axis is x (load), so the grid is transposed.
        self.image.setImage(self.hits.T, autoLevels=False, levels=(0, max(1.0, self.hits.max())))
        self.message.setVisible(not self.hits.any())
