"""The Coverage panel's map: the VE table's cells coloured by good-sample weight, the regions
outlined, their gaps marked, a suggestion's cells, and where the engine is now.

Drawn in *cell index* space (column i spans i-0.5..i+0.5) with the breakpoints as tick labels, so
uneven breakpoints (MAP 15, 20, 25 … 50, 60 …) get even cells as in the table editor; rows run
down the way the editor shows them (the lowest rpm on top).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QWidget

from dynoai_desktop.app.coverage_session import CoverageView
from dynoai_desktop.core.coverage.grid import LOAD_NAMES, CoverageAxes
from dynoai_desktop.ui import theme

Cell = tuple[int, int]

NONE_RGB = theme.PANEL  # no sample at all: the panel's own grey, "nothing here"
UNUSABLE_RGB = "#4a3c2c"  # the bike went there but no sample passed autotune's filters
PARTLY_RGB = ("#1d3a63", "#2f78b0")  # a little weight … just under covered
COVERED_RGB = ("#2ec4b6", "#a6f0e6")  # covered … twice the weight or more
HATCH = QColor(200, 170, 130, 150)
CHECK = QColor("#0d2b27")
GAP = QColor("#ff7b39")
SELECTED = QColor("#ffffff")
SELECTED_FILL = QColor(255, 255, 255, 70)
REGION_PENS = {1: (QColor(theme.WARN), 2.0, Qt.PenStyle.SolidLine),
               2: (QColor("#b9bec6"), 1.5, Qt.PenStyle.DashLine)}
REGION_OTHER = (QColor(theme.MUTED), 1.0, Qt.PenStyle.DotLine)
LABEL_FILL = QColor(20, 22, 25, 190)


def _rgb(hex_colour: str) -> np.ndarray:
    c = QColor(hex_colour)
    return np.array([c.red(), c.green(), c.blue()], dtype=float)


def cell_colours(weight: np.ndarray, hits: np.ndarray, min_weight: float) -> np.ndarray:
    """RGBA per cell, shape (rows, cols, 4): grey with nothing, a dim brown where the bike went
    but gave no good sample, dark to mid blue while filling, teal from covered (brighter, up to
    twice the weight)."""
    ratio = np.asarray(weight, dtype=float) / max(min_weight, 1e-9)
    out = np.empty(ratio.shape + (3,))
    out[...] = _rgb(NONE_RGB)
    out[(ratio <= 0) & (np.asarray(hits) > 0)] = _rgb(UNUSABLE_RGB)
    partly = (ratio > 0) & (ratio < 1)
    t = np.clip(ratio[partly], 0.0, 1.0)[:, None]
    out[partly] = _rgb(PARTLY_RGB[0]) * (1 - t) + _rgb(PARTLY_RGB[1]) * t
    covered = ratio >= 1
    t = np.clip(ratio[covered] - 1.0, 0.0, 1.0)[:, None]
    out[covered] = _rgb(COVERED_RGB[0]) * (1 - t) + _rgb(COVERED_RGB[1]) * t
    alpha = np.full(ratio.shape + (1,), 255.0)
    return np.concatenate((out, alpha), axis=-1).round().astype(np.uint8)


def cell_index(value: float, breakpoints: np.ndarray) -> float:
    """Where ``value`` falls in cell index space (a breakpoint at its cell's centre, linear in
    between); at most half a cell past either edge."""
    bp = np.asarray(breakpoints, dtype=float)
    if bp.size < 2:
        return 0.0
    if value <= bp[0]:
        return max(-0.5, (value - bp[0]) / (bp[1] - bp[0]))
    if value >= bp[-1]:
        return min(bp.size - 0.5, bp.size - 1 + (value - bp[-1]) / (bp[-1] - bp[-2]))
    return float(np.interp(value, bp, np.arange(bp.size)))


def _rects_path(cells: Iterable[Cell], inset: float) -> QPainterPath:
    path = QPainterPath()
    size = 1.0 - 2 * inset
    for r, c in cells:
        path.addRect(QRectF(c - 0.5 + inset, r - 0.5 + inset, size, size))
    return path


def _hatch_path(cells: Iterable[Cell]) -> QPainterPath:
    path = QPainterPath()
    for r, c in cells:
        for k in (-0.25, 0.0, 0.25):  # three short diagonals across the cell
            a, b = max(-0.5, k - 0.5), min(0.5, k + 0.5)
            path.moveTo(QPointF(c + a, r + a - k))
            path.lineTo(QPointF(c + b, r + b - k))
    return path


def _path_item(pen_colour: QColor, width: float, style: Qt.PenStyle, z: float,
               ) -> QGraphicsPathItem:
    item = QGraphicsPathItem()
    pen = QPen(pen_colour, width, style)
    pen.setCosmetic(True)  # the same pixels wide however large the cells are drawn
    item.setPen(pen)
    item.setZValue(z)
    return item


def _check_symbol() -> QPainterPath:
    path = QPainterPath()
    path.moveTo(-0.32, 0.0)
    path.lineTo(-0.08, 0.26)
    path.lineTo(0.34, -0.28)
    return path


class CoverageMap(pg.PlotWidget):
    """The map; ``show_view`` draws a view, ``show_selected`` a suggestion's cells,
    ``show_operating_point`` the engine now."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(220)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.invertY(True)
        self.setLabel("left", "rpm")
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self._hatch = _path_item(HATCH, 1.0, Qt.PenStyle.SolidLine, 2)
        self._gaps = _path_item(GAP, 1.5, Qt.PenStyle.SolidLine, 4)
        self._selected = _path_item(SELECTED, 1.5, Qt.PenStyle.DashLine, 6)
        self._selected.setBrush(SELECTED_FILL)
        for item in (self._hatch, self._gaps, self._selected):
            self.addItem(item)
        self.checks = pg.ScatterPlotItem(symbol=_check_symbol(), size=10,
                                         pen=pg.mkPen(CHECK, width=2), brush=None)
        self.checks.setZValue(3)
        self.addItem(self.checks)
        self.marker = pg.ScatterPlotItem(size=13, symbol="o", brush=pg.mkBrush(theme.RPM),
                                         pen=pg.mkPen("#ffffff", width=2))
        self.marker.setZValue(8)
        self.addItem(self.marker)
        self._regions: list[QGraphicsPathItem | pg.TextItem] = []
        self.axes: CoverageAxes | None = None
        self.weight = np.zeros((0, 0))
        self.hits = np.zeros((0, 0), dtype=np.int64)
        self.min_weight = 1.0
        self.gap_cells: set[Cell] = set()
        self.selected_cells: set[Cell] = set()
        self.marker_at: tuple[float, float] | None = None
        """(column, row) of the live marker in cell index space; None when not drawn."""
        self.region_names: list[str] = []
        self.scene().sigMouseMoved.connect(self._hover)

    # ------------------------------------------------------------------ drawing
    def show_view(self, view: CoverageView | None) -> None:
        """Everything of ``view`` but the suggestion's cells (None: an empty map)."""
        self._clear_regions()
        if view is None:
            self.axes = None
            self.image.clear()
            for item in (self._hatch, self._gaps, self._selected):
                item.setPath(QPainterPath())
            self.checks.setData([], [])
            self.gap_cells, self.selected_cells = set(), set()
            self.show_operating_point(None)
            return
        grid = view.coverage
        axes = grid.axes
        self.axes, self.weight, self.hits = axes, grid.weight, grid.hits
        self.min_weight = view.summary.min_weight
        rows, cols = axes.shape
        # ImageItem's first index is x (load): the (rpm, load) grid goes in transposed.
        self.image.setImage(cell_colours(grid.weight, grid.hits, self.min_weight)
                            .transpose(1, 0, 2), autoLevels=False)
        self.image.setRect(QRectF(-0.5, -0.5, cols, rows))
        unusable = np.argwhere((grid.weight <= 0) & (grid.hits > 0))
        self._hatch.setPath(_hatch_path(map(tuple, unusable)))
        covered = np.argwhere(grid.weight >= self.min_weight)
        self.checks.setData(covered[:, 1].astype(float), covered[:, 0].astype(float))
        self.gap_cells = {g for r in view.summary.regions for g in r.gaps}
        self._gaps.setPath(_rects_path(sorted(self.gap_cells), 0.1))
        self._draw_regions(view)
        self._set_axes(axes)
        self.setRange(xRange=(-0.5, cols - 0.5), yRange=(-0.5, rows - 0.5), padding=0)
        self.show_operating_point(view.operating_point)

    def _set_axes(self, axes: CoverageAxes) -> None:
        name, unit = LOAD_NAMES.get(axes.load_channel, (axes.load_channel, ""))
        self.setLabel("bottom", f"{name[0].upper()}{name[1:]} ({unit})")
        self.getAxis("bottom").setTicks([[(i, f"{v:g}") for i, v in enumerate(axes.load)]])
        rpm = [(i, f"{v:g}") for i, v in enumerate(axes.rpm)]
        # Every row labelled when there is room, else every other (all still ticked).
        room = self.getAxis("left").height() / max(1, len(rpm))
        major = rpm if room >= 14 or len(rpm) < 12 else rpm[::2]
        minor = [] if major is rpm else rpm[1::2]
        self.getAxis("left").setTicks([major, [(i, "") for i, _ in minor]])

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt's name
        super().resizeEvent(event)
        axes = self.__dict__.get("axes")  # pyqtgraph resizes before __init__ set it
        if axes is not None:
            self._set_axes(axes)  # how many rpm labels fit changed

    def _draw_regions(self, view: CoverageView) -> None:
        assert self.axes is not None
        font = QFont()
        font.setPointSizeF(7.5)
        self.region_names = []
        for summary in sorted(view.summary.regions, key=lambda s: -s.region.priority):
            region = summary.region
            mask = region.cells(self.axes)
            if not mask.any():
                continue
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            colour, width, style = REGION_PENS.get(region.priority, REGION_OTHER)
            outline = _path_item(colour, width, style, 5)
            path = QPainterPath()
            path.addRect(QRectF(cols[0] - 0.5, rows[0] - 0.5, cols[-1] - cols[0] + 1,
                                rows[-1] - rows[0] + 1))
            outline.setPath(path)
            # Inside the region's top corner, on the side where the grid leaves it room.
            right = cols[0] > self.axes.shape[1] / 2
            label = pg.TextItem(f"{region.name} {summary.percent:.0f} %", color=colour,
                                anchor=(1 if right else 0, 0), fill=pg.mkBrush(LABEL_FILL))
            label.setFont(font)
            label.setPos((cols[-1] + 0.5) if right else (cols[0] - 0.5), rows[0] - 0.5)
            label.setZValue(7)
            for item in (outline, label):
                self.addItem(item)
                self._regions.append(item)
            self.region_names.append(region.name)

    def _clear_regions(self) -> None:
        for item in self._regions:
            self.removeItem(item)
        self._regions = []
        self.region_names = []

    def show_selected(self, cells: Iterable[Cell]) -> None:
        """Dashed outlines on the cells a suggestion should fill."""
        self.selected_cells = set(cells)
        self._selected.setPath(_rects_path(sorted(self.selected_cells), 0.06))

    def show_operating_point(self, point: tuple[float, float] | None) -> None:
        """The engine's (rpm, load) as a dot on the map (None hides it)."""
        if point is None or self.axes is None:
            self.marker_at = None
            self.marker.setData([], [])
            return
        rpm, load = point
        self.marker_at = (cell_index(load, self.axes.load), cell_index(rpm, self.axes.rpm))
        self.marker.setData([self.marker_at[0]], [self.marker_at[1]])

    # ------------------------------------------------------------------ hover
    def cell_text(self, row: int, col: int) -> str:
        """What a cell holds, in the tuner's words (the tooltip)."""
        if self.axes is None:
            return ""
        _name, unit = LOAD_NAMES.get(self.axes.load_channel, ("load", ""))
        weight, hits = float(self.weight[row, col]), int(self.hits[row, col])
        state = ("covered" if weight >= self.min_weight else
                 "no usable sample" if weight <= 0 and hits else
                 "not reached" if not hits else "filling")
        gap = "; a gap in a region" if (row, col) in self.gap_cells else ""
        return (f"{self.axes.rpm[row]:g} rpm × {self.axes.load[col]:g} {unit}: {state}{gap}\n"
                f"good-sample weight {weight:.1f} of {self.min_weight:g}; {hits} samples")

    def _hover(self, pos: QPointF) -> None:
        if self.axes is None:
            return
        p = self.getPlotItem().vb.mapSceneToView(pos)
        row, col = int(round(p.y())), int(round(p.x()))
        rows, cols = self.axes.shape
        self.setToolTip(self.cell_text(row, col) if 0 <= row < rows and 0 <= col < cols
                        else "")
