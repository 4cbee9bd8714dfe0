"""The AFR error per cell and cylinder (measured − target, AFR), the grid tuners read today as
histograms: blue where the engine ran rich of its target, red where lean, blank where no usable
sample."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget

from dynoai_desktop.core.autotune import TableCorrection

FULL_COLOUR_AFR = 1.0  # an error this big (or more) gets the full colour
CYLINDER_TABS = (("ve_front", "Front"), ("ve_rear", "Rear"))


def error_colour(error_afr: float) -> QColor:
    """Blue rich, red lean, white on target."""
    k = float(np.clip(abs(error_afr) / FULL_COLOUR_AFR, 0.0, 1.0))
    lean = (228, 87, 46) if error_afr > 0 else (48, 110, 196)
    return QColor(*(int(255 + (lean[i] - 255) * k) for i in range(3)))


class AfrErrorView(QWidget):
    """A tab per cylinder: rpm down, load across, measured − target AFR in each cell."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.grids: dict[str, QTableWidget] = {}
        for key, title in CYLINDER_TABS:
            grid = QTableWidget()
            grid.setObjectName(f"afr_error_{key}")
            grid.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            grid.verticalHeader().setDefaultSectionSize(18)
            grid.horizontalHeader().setDefaultSectionSize(40)
            self.grids[key] = grid
            self.tabs.addTab(grid, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def show_errors(self, corrections: Mapping[str, TableCorrection]) -> None:
        for key, grid in self.grids.items():
            correction = corrections.get(key)
            if correction is None:
                grid.clear()
                grid.setRowCount(0)
                grid.setColumnCount(0)
                continue
            self._fill(grid, correction)

    def mean_abs_error(self, corrections: Mapping[str, TableCorrection]) -> float:
        """Mean |measured − target| over the cells with data (both cylinders), AFR."""
        values = [c.afr_error[np.isfinite(c.afr_error)] for c in corrections.values()]
        joined = np.concatenate(values) if values else np.zeros(0)
        return float(np.mean(np.abs(joined))) if joined.size else float("nan")

    @staticmethod
    def _fill(grid: QTableWidget, correction: TableCorrection) -> None:
        table = correction.base
        rows, cols = table.shape
        if grid.rowCount() != rows or grid.columnCount() != cols:
            grid.setRowCount(rows)
            grid.setColumnCount(cols)
            grid.setVerticalHeaderLabels([f"{v:g}" for v in table.row_breakpoints])
            grid.setHorizontalHeaderLabels([f"{v:g}" for v in table.col_breakpoints])
        samples = np.zeros(table.shape, dtype=np.int64)
        for cell in correction.cells:
            samples[cell.row, cell.col] = cell.samples_used
        for r in range(rows):
            for c in range(cols):
                error = correction.afr_error[r, c]
                item = grid.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    grid.setItem(r, c, item)
                if np.isfinite(error):
                    item.setText(f"{error:+.2f}")
                    item.setBackground(QBrush(error_colour(float(error))))
                    item.setToolTip(f"{table.row_breakpoints[r]:g} rpm, "
                                    f"{table.col_breakpoints[c]:g} {table.col_axis}: measured − "
                                    f"target {error:+.2f} AFR over {samples[r, c]} samples")
                else:
                    item.setText("")
                    item.setBackground(QBrush())
                    item.setToolTip("")
