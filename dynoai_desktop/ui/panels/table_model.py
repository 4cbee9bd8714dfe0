"""Qt item model over a core ``Table`` for the editor: raw layout, RPM rows, load columns, heat
colours, and what is drawn over the cells (locks, the live cursor and its trace, a layer such as
an overlay's preview).

It only renders: values come from the tune (``set_table``), marks from the editor. Texts and
colours are worked out once per change, so painting a cell is a lookup; the live cursor and
trace repaint only the cells they touch (``set_live``), never the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_number
from dynoai_desktop.ui.panels.table_editor_units import (
    LOAD_UNITS,
    CellFormat,
    cell_format,
    load_label,
    padding_flags,
)

COLUMN_UNITS = LOAD_UNITS
# Cold-to-hot ramp, the way Power Vision and TunerStudio colour a VE table.
_HEAT_STOPS = np.array(
    [[0.0, 40, 90, 200], [0.35, 40, 190, 120], [0.65, 240, 200, 60], [1.0, 220, 60, 50]]
)
HEAT_LEVELS = 64
_MANY_CELLS = 48  # past this many changed cells one range update is cheaper than one per cell

_Index = QModelIndex | QPersistentModelIndex
# Asked twice per cell per paint: built once (enum arithmetic is slow in Python).
_CELL_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


def heat_colour(fraction: float) -> QColor:
    """Colour for a value at ``fraction`` (0..1) of the table's range."""
    f = float(np.clip(fraction, 0.0, 1.0))
    rgb = [np.interp(f, _HEAT_STOPS[:, 0], _HEAT_STOPS[:, k]) for k in (1, 2, 3)]
    return QColor(*(int(c) for c in rgb))


def _readable_text(background: QColor) -> QColor:
    luma = 0.299 * background.red() + 0.587 * background.green() + 0.114 * background.blue()
    return QColor("#101214") if luma > 110 else QColor("#f4f4f4")


HEAT_PALETTE = [heat_colour(k / (HEAT_LEVELS - 1)) for k in range(HEAT_LEVELS)]
TEXT_ON_HEAT = [_readable_text(c) for c in HEAT_PALETTE]


@dataclass(frozen=True, eq=False)
class CellLayer:
    """Something drawn over the cells where ``mask`` is true, such as an overlay's preview:
    per cell an RGBA tint over the heat colour, a short note drawn small in the cell's corner
    ("+2.5") and a line added to its tooltip. Arrays have the table's raw shape; any may be
    None."""

    mask: np.ndarray
    tints: np.ndarray | None = None  # (rows, cols, 4) 0..255
    notes: np.ndarray | None = None  # (rows, cols) of str
    tooltips: np.ndarray | None = None  # (rows, cols) of str
    name: str = ""


def preview_layer(current: np.ndarray, proposed: np.ndarray, decimals: int,
                  name: str = "preview") -> CellLayer:
    """A layer showing ``proposed`` against ``current`` (both as shown): the change written in
    each changed cell's corner, green where it adds, red where it takes away."""
    change = np.asarray(proposed, dtype=float) - np.asarray(current, dtype=float)
    mask = np.abs(change) > 0.5 * 10.0 ** -(decimals + 1)
    tints = np.zeros((*change.shape, 4), dtype=np.uint8)
    tints[change > 0] = (67, 170, 139, 90)
    tints[change < 0] = (249, 65, 68, 90)
    notes = np.full(change.shape, "", dtype=object)
    tips = np.full(change.shape, "", dtype=object)
    for r, c in zip(*np.nonzero(mask), strict=True):
        notes[r, c] = f"{change[r, c]:+.{decimals}f}"
        tips[r, c] = f"{name}: {proposed[r, c]:.{decimals}f} ({change[r, c]:+.{decimals}f})"
    return CellLayer(mask, tints, notes, tips, name)


def same_layout_of(old: Table | None, new: Table | None) -> bool:
    """True when ``new`` is ``old`` edited: same name, shape and breakpoints."""
    return (old is not None and new is not None and old.name == new.name
            and old.shape == new.shape
            and np.array_equal(old.row_breakpoints, new.row_breakpoints)
            and np.array_equal(old.col_breakpoints, new.col_breakpoints))


class EditorModel(QAbstractTableModel):
    """The shown table's cells as text and colours, plus the marks drawn over them."""

    def __init__(self, table: Table | None = None, units: DisplayUnits | None = None) -> None:
        super().__init__()
        self.units = units or DisplayUnits()
        self._table: Table | None = None
        self._shape = (0, 0)
        self.fmt: CellFormat | None = None
        self.shown = np.zeros((0, 0))  # values in the unit shown
        self.texts: list[list[str]] = []
        self.heat: list[list[int]] = []  # palette index per cell
        self.locked = np.zeros((0, 0), dtype=bool)
        self.knock_prone = np.zeros((0, 0), dtype=bool)
        self.padding_rows = np.zeros(0, dtype=bool)
        self.padding_cols = np.zeros(0, dtype=bool)
        self.cursor: tuple[int, int] | None = None
        self.cursor_offset = (0.0, 0.0)  # (down, right) from the cell's centre, in cells
        self.trace = np.zeros((0, 0), dtype=np.uint8)  # 0..TRACE_LEVELS
        self.layer: CellLayer | None = None
        self._layer_tints: dict[tuple[int, int], QColor] = {}
        if table is not None:
            self.set_table(table)

    # ------------------------------------------------------------------ what is shown
    @property
    def table(self) -> Table | None:
        return self._table

    def set_table(self, table: Table | None, locked: np.ndarray | None = None,
                  knock_prone: np.ndarray | None = None) -> None:
        """Show ``table`` (None: nothing). The same table edited keeps the view's selection
        and repaints; another table (or layout) resets the view."""
        same_layout = same_layout_of(self._table, table)
        if not same_layout:
            self.beginResetModel()
        self._table = table
        shape = table.shape if table is not None else (0, 0)
        self._shape = shape
        self.locked = (np.zeros(shape, dtype=bool) if locked is None
                       else np.asarray(locked, dtype=bool))
        self.knock_prone = (np.zeros(shape, dtype=bool) if knock_prone is None
                            else np.asarray(knock_prone, dtype=bool))
        if not same_layout:
            self.cursor = None
            self.trace = np.zeros(shape, dtype=np.uint8)
            self.layer, self._layer_tints = None, {}
            if table is None:
                self.padding_rows = np.zeros(0, dtype=bool)
                self.padding_cols = np.zeros(0, dtype=bool)
            else:
                self.padding_rows = padding_flags(table.row_breakpoints)
                self.padding_cols = padding_flags(table.col_breakpoints)
        self._render()
        if not same_layout:
            self.endResetModel()
        else:
            self._all_changed()

    def set_units(self, units: DisplayUnits) -> None:
        """Show the cells in the user's units (AFR tables in λ or AFR)."""
        self.units = units
        self._render()
        self._all_changed()
        if self.columnCount():
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    def set_locked(self, mask: np.ndarray) -> None:
        self.locked = np.asarray(mask, dtype=bool)
        self._all_changed()

    def _render(self) -> None:
        table = self._table
        if table is None:
            self.fmt, self.shown, self.texts, self.heat = None, np.zeros((0, 0)), [], []
            return
        self.fmt = cell_format(table, self.units)
        self.shown = self.fmt.to_display(table.values)
        lo, span = float(self.shown.min()), float(np.ptp(self.shown)) or 1.0
        levels = np.rint((self.shown - lo) / span * (HEAT_LEVELS - 1)).astype(int)
        self.heat = levels.tolist()
        text = self.fmt.text
        self.texts = [[text(v) for v in row] for row in self.shown.tolist()]

    def _all_changed(self) -> None:
        if self.rowCount() and self.columnCount():
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(self.rowCount() - 1, self.columnCount() - 1))

    # ------------------------------------------------------------------ marks over the cells
    def set_live(self, cursor: tuple[int, int] | None, offset: tuple[float, float],
                 trace: np.ndarray) -> None:
        """Move the live cursor to ``cursor`` (raw cell, None: no live data) at ``offset``
        cells from its centre, and show ``trace`` (0..TRACE_LEVELS per cell, the fading
        cells the engine passed through); repaints only the cells that changed."""
        if self._table is None:
            return
        trace = np.asarray(trace, dtype=np.uint8)
        touched = set(zip(*np.nonzero(trace != self.trace), strict=True))
        if cursor != self.cursor or offset != self.cursor_offset:
            touched.update(c for c in (self.cursor, cursor) if c is not None)
        self.cursor, self.cursor_offset, self.trace = cursor, offset, trace
        if len(touched) > _MANY_CELLS:
            self._all_changed()
            return
        for r, c in touched:
            index = self.index(int(r), int(c))
            self.dataChanged.emit(index, index)

    def set_layer(self, layer: CellLayer | None) -> None:
        """Draw ``layer`` over the cells (None: take it away). The hook an overlay's preview
        uses: the editor's own colours and marks stay beneath it."""
        if layer is not None and self._table is not None:
            shape = self._table.shape
            for what in ("mask", "tints", "notes", "tooltips"):
                arr = getattr(layer, what)
                if arr is not None and np.shape(arr)[:2] != shape:
                    raise ValueError(f"layer {layer.name!r}: {what} has shape {np.shape(arr)} "
                                     f"but the table has {shape} cells")
        self.layer = layer
        self._layer_tints = {}
        if layer is not None and layer.tints is not None:
            for r, c in zip(*np.nonzero(layer.mask), strict=True):
                self._layer_tints[(int(r), int(c))] = QColor(*(int(v) for v in layer.tints[r, c]))
        self._all_changed()

    def layer_tint(self, row: int, col: int) -> QColor | None:
        return self._layer_tints.get((row, col))

    def layer_note(self, row: int, col: int) -> str:
        layer = self.layer
        if layer is None or layer.notes is None or not layer.mask[row, col]:
            return ""
        return str(layer.notes[row, col])

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else self._shape[0]

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else self._shape[1]

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return _CELL_FLAGS if index.isValid() else _NO_FLAGS

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._table is None:
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.texts[r][c]
        if role == Qt.ItemDataRole.BackgroundRole:
            return HEAT_PALETTE[self.heat[r][c]]
        if role == Qt.ItemDataRole.ForegroundRole:
            return TEXT_ON_HEAT[self.heat[r][c]]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(r, c)
        return None

    def tooltip(self, r: int, c: int) -> str:
        table, fmt = self._table, self.fmt
        assert table is not None and fmt is not None
        lines = [f"{self.row_label(r)} rpm, {self.col_label(c)}: "
                 f"{format_number(float(self.shown[r, c]))} {fmt.unit}"]
        if self.locked[r, c]:
            lines.append("locked (L unlocks): edits and overlays keep this cell")
        if self.knock_prone[r, c]:
            lines.append("knock-prone (timing advice): overlays never advance this cell; "
                         "retard is allowed")
        if self.padding_rows[r] or self.padding_cols[c]:
            lines.append("padding: repeats an earlier breakpoint; the ECM reads the first "
                         "one's cells")
        if self.layer is not None and self.layer.tooltips is not None and self.layer.mask[r, c]:
            lines.append(str(self.layer.tooltips[r, c]))
        return "\n".join(lines)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if self._table is None:
            return None
        horizontal = orientation == Qt.Orientation.Horizontal
        padding = (self.padding_cols if horizontal else self.padding_rows)[section]
        if role == Qt.ItemDataRole.DisplayRole:
            text = self.col_label(section) if horizontal else self.row_label(section)
            return f"↺ {text}" if padding else text
        if role == Qt.ItemDataRole.ToolTipRole:
            what = self.col_label(section) if horizontal else f"{self.row_label(section)} rpm"
            if padding:
                kind = "column" if horizontal else "row"
                return (f"{what}, repeated: Power Vision pads the table to its fixed size with "
                        f"copies of the last breakpoint; the ECM reads the first {what} {kind}")
            return what
        return None

    def row_label(self, row: int) -> str:
        assert self._table is not None
        return f"{self._table.row_breakpoints[row]:g}"

    def col_label(self, col: int) -> str:
        assert self._table is not None
        return load_label(self._table, float(self._table.col_breakpoints[col]))
