"""A table against another, cell by cell: each cell coloured by its % change (blue lower, red
higher, on a scale the legend states), before → after in its tooltip; or, when the two tables
have other axes, a sentence saying so instead of a misleading grid."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedLayout,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.core.table_compare import TableComparison, change_words
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.table_model import COLUMN_UNITS
from dynoai_desktop.ui.widgets import ElidedLabel

# Diverging ramp: lower (blue) through unchanged (the panel's grey) to higher (red).
_LOWER = np.array([45.0, 105.0, 225.0])
_SAME = np.array([50.0, 55.0, 62.0])
_HIGHER = np.array([225.0, 60.0, 50.0])
UNKNOWN_PCT = QColor("#8e6bbf")  # a cell that moved from 0: no % change exists

SHOW_PCT, SHOW_DELTA, SHOW_AFTER = "% change", "difference", "values"

_Index = QModelIndex | QPersistentModelIndex


def diverging_colour(fraction: float) -> QColor:
    """Colour for a change at ``fraction`` of the scale: -1 lower (blue), 0 none, +1 higher
    (red); beyond ±1 it stays at the end colour."""
    f = float(np.clip(fraction, -1.0, 1.0))
    end = _HIGHER if f > 0 else _LOWER
    rgb = _SAME + (end - _SAME) * abs(f)
    return QColor(*(int(round(c)) for c in rgb))


class DiffModel(QAbstractTableModel):
    """Read-only cells of a :class:`TableComparison` in the raw layout, as the editor shows it."""

    def __init__(self, comparison: TableComparison, before_label: str, after_label: str,
                 show: str = SHOW_PCT) -> None:
        super().__init__()
        self.comparison = comparison
        self.before_label, self.after_label = before_label, after_label
        self.show = show
        self.scale_pct = comparison.scale_pct

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else self.comparison.delta.shape[0]

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else self.comparison.delta.shape[1]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        cmp = self.comparison
        before = float(cmp.before.values[r, c])
        after = float(cmp.after.values[r, c])
        delta = float(cmp.delta[r, c])
        pct = float(cmp.change_pct[r, c])
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(after, delta, pct)
        if role == Qt.ItemDataRole.BackgroundRole:
            if delta != 0 and np.isnan(pct):
                return UNKNOWN_PCT
            return diverging_colour(pct / self.scale_pct)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(theme.TEXT) if delta != 0 else QColor(theme.MUTED)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(r, c, before, after, delta, pct)
        return None

    def _text(self, after: float, delta: float, pct: float) -> str:
        if self.show == SHOW_AFTER:
            return f"{after:.1f}"
        if delta == 0:
            return "·"
        if self.show == SHOW_DELTA or np.isnan(pct):
            return f"{delta:+.1f}"
        return f"{pct:+.1f}"

    def _tooltip(self, r: int, c: int, before: float, after: float, delta: float,
                 pct: float) -> str:
        where = f"{self._row_label(r)} rpm, {self._col_label(c)}"
        units = self.comparison.after.units
        if delta == 0:
            return f"{where}: {after:g} {units}, unchanged ({self.before_label} = " \
                   f"{self.after_label})"
        change = "no % change from 0" if np.isnan(pct) else f"{pct:+.1f} %"
        return (f"{where}: {before:g} → {after:g} {units} ({change})\n"
                f"{self.before_label} → {self.after_label}, {delta:+g}")

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._col_label(section)
        return self._row_label(section)

    def _row_label(self, row: int) -> str:
        return f"{self.comparison.after.row_breakpoints[row]:g}"

    def _col_label(self, col: int) -> str:
        table = self.comparison.after
        unit = COLUMN_UNITS.get(table.col_axis, "")
        return f"{table.col_breakpoints[col]:g} {unit}".strip()


class DiffLegend(QWidget):
    """The colour scale under the grid: −scale (lower) · 0 · +scale (higher), in words."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale_pct = 1.0
        self.lower_words, self.higher_words = "lower", "higher"
        self.setMinimumHeight(34)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_scale(self, scale_pct: float, words: tuple[str, str]) -> None:
        self.scale_pct = scale_pct
        self.lower_words, self.higher_words = words
        self.update()

    def text(self) -> str:
        """The legend in words (what it paints)."""
        return (f"−{self.scale_pct:g} % {self.lower_words} · 0 unchanged · "
                f"+{self.scale_pct:g} % {self.higher_words}")

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        metrics = self.fontMetrics()
        bar = QRectF(4, 2, self.width() - 8, 12)
        gradient = QLinearGradient(bar.left(), 0, bar.right(), 0)
        for stop in np.linspace(0.0, 1.0, 9):
            gradient.setColorAt(float(stop), diverging_colour(stop * 2 - 1))
        painter.fillRect(bar, gradient)
        painter.setPen(QColor(theme.TEXT))
        y = int(bar.bottom()) + 4 + metrics.ascent()
        left = f"−{self.scale_pct:g} % {self.lower_words}"
        right = f"{self.higher_words} +{self.scale_pct:g} %"
        painter.drawText(int(bar.left()), y, left)
        painter.drawText(int(bar.right()) - metrics.horizontalAdvance(right), y, right)
        middle = "0"
        painter.drawText(int(bar.center().x()) - metrics.horizontalAdvance(middle) // 2, y,
                         middle)
        painter.end()


class TableDiffView(QWidget):
    """A title, the diff grid and its legend; or a message where no cell-by-cell diff exists."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: TableComparison | None = None
        self._model: DiffModel | None = None  # kept here: the view does not own it
        self._labels = ("before", "after")
        self.title = ElidedLabel()
        self.title.setObjectName("diff_title")
        self.show_picker = QComboBox()
        self.show_picker.setObjectName("diff_show")
        self.show_picker.addItems([SHOW_PCT, SHOW_DELTA, SHOW_AFTER])
        self.show_picker.setToolTip("What each cell shows; its colour is always the % change")
        self.summary = ElidedLabel()
        self.summary.setObjectName("diff_summary")
        self.summary.setStyleSheet(f"color: {theme.MUTED};")
        self.grid = QTableView()
        self.grid.setObjectName("diff_grid")
        self.grid.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grid.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.legend = DiffLegend()
        self.message = QLabel()
        self.message.setObjectName("diff_message")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet(f"color: {theme.MUTED}; padding: 12px;")

        grid_page = QWidget()
        grid_layout = QVBoxLayout(grid_page)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.addWidget(self.grid, stretch=1)
        grid_layout.addWidget(self.legend)
        grid_layout.addWidget(self.summary)
        pages = QWidget()
        self._pages = QStackedLayout(pages)
        self._pages.addWidget(self.message)
        self._pages.addWidget(grid_page)
        top = QHBoxLayout()
        top.addWidget(self.title, stretch=1)
        top.addWidget(QLabel("Cells show"))
        top.addWidget(self.show_picker)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(pages, stretch=1)
        self.show_picker.currentTextChanged.connect(self._refresh_model)
        self.show_message("", "Pick a version and Show diff, or Compare front/rear.")

    @property
    def showing_grid(self) -> bool:
        return self._pages.currentIndex() == 1

    def show_comparison(self, title: str, comparison: TableComparison, before_label: str,
                        after_label: str) -> None:
        """Show ``comparison`` (``after`` against ``before``) under ``title``."""
        self.comparison = comparison
        self._labels = (before_label, after_label)
        self.title.setText(title)
        self.legend.set_scale(comparison.scale_pct, change_words(comparison.after))
        n = comparison.n_changed
        total = comparison.delta.size
        if n:
            largest = comparison.largest_pct
            self.summary.setText(
                f"{n} of {total} cells differ; the largest by {largest:+.1f} %. "
                f"Colours: % change of {after_label} against {before_label}."
            )
        else:
            self.summary.setText(f"No cell differs: {before_label} and {after_label} are "
                                 "the same table.")
        self._refresh_model()
        self._pages.setCurrentIndex(1)

    def show_message(self, title: str, text: str) -> None:
        """No grid: ``text`` says why (other axes, a missing table, nothing picked)."""
        self.comparison = None
        self.title.setText(title)
        self.message.setText(text)
        self.grid.setModel(None)
        self._model = None
        self._pages.setCurrentIndex(0)

    def _refresh_model(self) -> None:
        if self.comparison is None:
            return
        self._model = DiffModel(self.comparison, *self._labels,
                                show=self.show_picker.currentText())
        self.grid.setModel(self._model)
