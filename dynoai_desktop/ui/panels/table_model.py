"""Qt item model over a core ``Table``: raw layout, RPM rows, load columns, heat colours."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from dynoai_desktop.core.table import Table

COLUMN_UNITS = {"map_kpa": "kPa", "tps_pct": "%"}
# Cold-to-hot ramp, the way Power Vision and TunerStudio colour a VE table.
_HEAT_STOPS = np.array(
    [[0.0, 40, 90, 200], [0.35, 40, 190, 120], [0.65, 240, 200, 60], [1.0, 220, 60, 50]]
)

_Index = QModelIndex | QPersistentModelIndex


def heat_colour(fraction: float) -> QColor:
    """Colour for a value at ``fraction`` (0..1) of the table's range."""
    f = float(np.clip(fraction, 0.0, 1.0))
    rgb = [np.interp(f, _HEAT_STOPS[:, 0], _HEAT_STOPS[:, k]) for k in (1, 2, 3)]
    return QColor(*(int(c) for c in rgb))


class TableModel(QAbstractTableModel):
    def __init__(self, table: Table) -> None:
        super().__init__()
        self._table = table
        self._lo = float(table.values.min())
        self._span = float(np.ptp(table.values)) or 1.0

    @property
    def table(self) -> Table:
        return self._table

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else self._table.values.shape[0]

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else self._table.values.shape[1]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = float(self._table.values[index.row(), index.column()])
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{value:.1f}"
        if role == Qt.ItemDataRole.BackgroundRole:
            return heat_colour((value - self._lo) / self._span)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor("#101214")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{self._row_label(index.row())} rpm, {self._col_label(index.column())}: "
                f"{value:g} {self._table.units}"
            )
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._col_label(section)
        return self._row_label(section)

    def _row_label(self, row: int) -> str:
        return f"{self._table.row_breakpoints[row]:g}"

    def _col_label(self, col: int) -> str:
        unit = COLUMN_UNITS.get(self._table.col_axis, "")
        return f"{self._table.col_breakpoints[col]:g} {unit}".strip()
