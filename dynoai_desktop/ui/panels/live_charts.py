"""The live panel's strip charts, drawn so that a frame costs little whatever the history.

A chart never re-draws its history per frame: the traces are peak-decimated once per new
block (``peak_bins``); closed points gather in the *head* (one plain ``QGraphicsPathItem`` per
trace: a path that grows a segment per closed point, plus the open bin's two points, set again
only for the traces whose points changed) until they make a *chunk* (a tenth of the window),
which moves into the chart's *history* item. The history has ``DeviceCoordinateCache``: Qt
rasterises it when a chunk joins (every few seconds) and otherwise only blits it, one pixmap
per chart, further left as time moves. History, head and marker lines hang under one
*scroller* item at x = ``-newest time_s``, moved by whole pixels; the x range stays fixed
(seconds before now), so the axes do not change (and are cached too), and the grid lines are
drawn into the view's cached background. Values are kept in canonical units; the shown unit is
a per-trace affine map applied when paths are built, so a change of units rebuilds paths, not
data.

Pens are cosmetic and 1 px wide: a 2 px pen makes Qt's raster engine stroke every segment as a
polygon, ~75x slower (6 ms vs 0.08 ms for 1200 points; 113 ms vs 0.8 ms on a noisy trace).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsPathItem,
    QGraphicsRectItem,
)

from dynoai_desktop.core.display import ChartScale
from dynoai_desktop.ui import theme

CHUNK_POINTS = 120  # closed points per cached chunk (~60 bins, a tenth of a window)
PAD_PX = 2.0  # a path's bounds reach this far past its points (so a flat line has a pixmap)
GRID_COLOUR = QColor(theme.TEXT).darker(300)
TIME_STEPS_S = (1, 2, 5, 10, 30, 60)
LEGEND_POINT_SIZE = "9pt"


@dataclass(frozen=True)
class ChartTrace:
    channel: str
    name: str  # in the legend
    colour: str
    dashed: bool = False

    def pen(self) -> QPen:
        pen = QPen(QColor(self.colour))
        pen.setCosmetic(True)
        pen.setWidth(0)  # 1 px; and Qt bounds a 0-width pen's path by its points, in C++
        if self.dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        return pen


def polylines(x: np.ndarray, y: np.ndarray) -> list[QPolygonF]:
    """The finite runs of (x, y) as polylines (a lone point as a dot)."""
    finite = np.isfinite(x) & np.isfinite(y)
    if finite.all():
        runs = [(0, x.size)] if x.size else []
    else:
        edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
        runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
    lines = []
    for start, stop in runs:
        polyline = pg.functions.create_qpolygonf(max(stop - start, 2))
        points = pg.functions.ndarray_from_qpolygonf(polyline)
        points[:, 0] = x[start:stop] if stop - start > 1 else x[start]
        points[:, 1] = y[start:stop] if stop - start > 1 else y[start]
        lines.append(polyline)
    return lines


def trace_path(x: np.ndarray, y: np.ndarray) -> QPainterPath:
    """One trace as a path broken where a value is missing."""
    path = QPainterPath()
    for polyline in polylines(x, y):
        path.addPolygon(polyline)
    return path


def time_step_s(window_s: float) -> float:
    """Seconds between vertical grid lines: about ten across the window."""
    return float(next((s for s in TIME_STEPS_S if window_s / s <= 12), TIME_STEPS_S[-1]))


def legend_html(traces: Sequence[ChartTrace]) -> str:
    """The legend as one line of coloured names (a row above the chart, never over data)."""
    parts = [f"<span style='color:{t.colour}'>{'- -' if t.dashed else '——'}&nbsp;{t.name}"
             "</span>" for t in traces]
    return "&nbsp;&nbsp;&nbsp;".join(parts)


class ChartsView(pg.GraphicsLayoutWidget):
    """The charts' view. It draws every chart's fixed grid lines as part of its background,
    which Qt caches (pyqtgraph's GraphicsView sets CacheBackground): a frame copies them with
    the background; pyqtgraph's showGrid would re-draw them with the axes (~20 ms a frame)."""

    def __init__(self) -> None:
        super().__init__()
        self.strip_charts: list[StripChart] = []
        self.ci.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)  # see StripChart
        # The background brush covers every pixel: no need for Qt to clear the viewport first.
        self.viewport().setAutoFillBackground(False)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def grid_changed(self) -> None:
        self.resetCachedContent()
        self.viewport().update()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        super().drawBackground(painter, rect)
        pen = QPen(GRID_COLOUR)
        pen.setCosmetic(True)
        pen.setWidth(0)
        for chart in self.strip_charts:
            painter.save()
            painter.setClipRect(chart.vb.sceneBoundingRect())
            painter.setTransform(chart.vb.childGroup.sceneTransform(), True)
            painter.setPen(pen)
            painter.drawLines(chart.grid_lines())
            painter.restore()


class _GrowingPath:
    """A trace's path that grows a segment per point (a missing value lifts the pen)."""

    def __init__(self) -> None:
        self.path = QPainterPath()
        self.pen_down = False

    def extend(self, xs: list[float], ys: list[float]) -> None:
        self.pen_down = _add_points(self.path, xs, ys, self.pen_down)

    def with_points(self, xs: list[float], ys: list[float]) -> QPainterPath:
        """A copy with ``xs``, ``ys`` added (the open bin: the copy is what is drawn)."""
        path = QPainterPath(self.path)
        _add_points(path, xs, ys, self.pen_down)
        return path


def _add_points(path: QPainterPath, xs: list[float], ys: list[float], pen_down: bool) -> bool:
    for x, y in zip(xs, ys, strict=True):
        if y == y and x == x:  # neither is NaN
            if pen_down:
                path.lineTo(x, y)
            else:
                path.moveTo(x, y)
                path.lineTo(x, y)  # a lone point shows as a dot
            pen_down = True
        else:
            pen_down = False
    return pen_down


@dataclass
class _Chunk:
    x: np.ndarray  # (points, traces), time_s
    y: np.ndarray  # canonical units
    newest_s: float
    paths: list[QPainterPath]  # one per trace, in the shown unit


class _History(QGraphicsObject):
    """A chart's closed chunks, drawn into a cached pixmap when a chunk joins or leaves and
    only blitted in between (Qt calls ``paint`` again only after ``update``)."""

    def __init__(self, pens: Sequence[QPen], parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self._pens = list(pens)
        self.chunks: list[_Chunk] = []
        self.pad = (0.0, 0.0)  # bounds reach this far past the points (a flat line, 1 px pens)
        self._bounds = QRectF()
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def changed(self) -> None:
        """The chunks (or their paths) changed: new bounds, new pixmap."""
        self.prepareGeometryChange()
        rect = QRectF()
        for chunk in self.chunks:
            for path in chunk.paths:
                if not path.isEmpty():
                    rect = rect.united(path.controlPointRect())
        dx, dy = self.pad
        self._bounds = QRectF() if rect.isNull() else rect.adjusted(-dx, -dy, dx, dy)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._bounds

    def paint(self, painter: QPainter, *_args: object) -> None:
        for i, pen in enumerate(self._pens):
            painter.setPen(pen)
            for chunk in self.chunks:
                painter.drawPath(chunk.paths[i])


class StripChart:
    """One live strip chart (a pyqtgraph PlotItem) of a few traces against seconds before now.

    ``append`` takes closed peak-decimated points, ``set_open`` the open bin, ``scroll_to`` the
    newest row's time; all values in canonical units, mapped to the shown unit by ``set_scale``.
    """

    def __init__(self, view: ChartsView, row: int, traces: Sequence[ChartTrace],
                 time_labels: bool) -> None:
        self.view = view
        self.plot = plot = view.addPlot(row=row, col=0)
        self.traces = tuple(traces)
        self.vb = plot.getViewBox()
        self.window_s = 20.0
        self.scale = ChartScale("", 0.0, 1.0, 1.0)
        self.newest_s = math.nan
        self._pens = [t.pen() for t in self.traces]
        self._maps = [(1.0, 0.0)] * len(self.traces)  # canonical -> shown: y * a + b
        self._pad = (0.0, 0.0)
        # The head's points, oldest first: the newest point already in a chunk (where the head
        # starts, so the line is unbroken), the closed points not yet in a chunk, then the open
        # bin's (re-written every frame). One array, so a frame concatenates nothing.
        self._head_x = np.empty((2 * CHUNK_POINTS, len(self.traces)))
        self._head_y = np.empty_like(self._head_x)
        self._head_closed = 0  # rows of the above before the open bin's
        self._head_tail = 0  # 1 once a chunk exists: row 0 is its newest point
        self._head_open = 0
        self._head_closed_version = 0  # +1 whenever the closed part of the head changes
        self._head_drawn: list[tuple | None] = [None] * len(self.traces)
        # Per trace, the closed part of the head as a path that grows by a segment per new
        # point (a frame then only adds the open bin's two points to a copy of it).
        self._head_paths = [_GrowingPath() for _ in self.traces]
        self._scroll_px: int | None = None
        no_contents = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
        for item in (plot, plot.titleLabel, self.vb.childGroup):
            # They draw nothing themselves: Qt then skips asking Python for their bounds at
            # every paint (pyqtgraph's boundingRect is Python).
            item.setFlag(no_contents)
        plot.setMouseEnabled(False, False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.disableAutoRange()
        self.scroller = QGraphicsRectItem()  # plain Qt, no content: moving it runs no Python
        self.scroller.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        plot.addItem(self.scroller, ignoreBounds=True)
        self.history = _History(self._pens, self.scroller)
        self.head = [QGraphicsPathItem(self.scroller) for _ in self.traces]
        for item, pen in zip(self.head, self._pens, strict=True):
            item.setPen(pen)
        for side in ("left", "bottom", "right"):
            axis = plot.getAxis(side)
            axis.setStyle(tickLength=4)  # outward: no axis reaches over the data
            # An axis is re-drawn whenever the data beside it is (their edges share a pixel
            # column): replaying its tick labels costs more than blitting a cached picture.
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if time_labels:
            plot.getAxis("bottom").setLabel("time before now (s)")
        else:
            plot.hideAxis("bottom")  # one time axis, under the last chart
        view.strip_charts.append(self)
        self.vb.sigResized.connect(self._resized)

    # ------------------------------------------------------------------ shape
    def set_window(self, window_s: float) -> None:
        """Show the last ``window_s``; drops every point (the caller re-feeds the history)."""
        self.window_s = float(window_s)
        self.vb.setXRange(-self.window_s, 0.0, padding=0)
        step = time_step_s(self.window_s)
        ticks = [(-t, f"{-t:g}") for t in np.arange(0.0, self.window_s + 1e-9, step)]
        self.plot.getAxis("bottom").setTicks([ticks, []])
        self.clear()
        self._resized()

    def set_scale(self, scale: ChartScale, maps: Sequence[tuple[float, float]], axis_label: str,
                  names: Sequence[str]) -> None:
        """The value axis (range, grid, ticks, label), each trace's canonical -> shown map and
        the legend's names; the traces are re-drawn in the new unit."""
        self.scale = scale
        self._maps = list(maps)
        self.vb.setYRange(scale.low, scale.high, padding=0)
        left = self.plot.getAxis("left")
        left.setTicks([[(v, scale.label(v)) for v in scale.lines], []])
        left.setLabel(axis_label)
        self.traces = tuple(ChartTrace(t.channel, n, t.colour, t.dashed)
                            for t, n in zip(self.traces, names, strict=True))
        self.plot.setTitle(legend_html(self.traces), size=LEGEND_POINT_SIZE, justify="left")
        self._resized()

    def set_right_axis(self, label: str, ticks: Sequence[tuple[float, str]]) -> None:
        """A second value axis on the right (throttle % beside MAP)."""
        right = self.plot.getAxis("right")
        right.setLabel(label)
        right.setTicks([list(ticks), []])

    def grid_lines(self) -> list[QLineF]:
        """The fixed grid, in view coordinates: a line every time step and every value step."""
        low, high = self.scale.low, self.scale.high
        times = np.arange(0.0, self.window_s + 1e-9, time_step_s(self.window_s))
        lines = [QLineF(-t, low, -t, high) for t in times]
        return lines + [QLineF(-self.window_s, v, 0.0, v) for v in self.scale.lines]

    def _resized(self, *_args: object) -> None:
        """The chart's size, range or unit changed: pads, paths and grid follow."""
        try:
            px_w, px_h = self.vb.viewPixelSize()
            self._pad = (PAD_PX * abs(px_w), PAD_PX * abs(px_h))
        except (TypeError, AttributeError):  # not in a shown view yet
            self._pad = (0.0, 0.0)
        self.history.pad = self._pad
        for chunk in self.history.chunks:
            chunk.paths = self._paths(chunk.x, chunk.y)
        self.history.changed()
        self._restart_head_paths()
        self._draw_head()
        self._scroll_px = None
        if not math.isnan(self.newest_s):
            self.scroll_to(self.newest_s)
        self.view.grid_changed()

    def px_per_s(self) -> float:
        return self.vb.width() / self.window_s if self.window_s > 0 else 0.0

    # ------------------------------------------------------------------ data
    def clear(self) -> None:
        self.history.chunks.clear()
        self.history.changed()
        self._head_closed = self._head_tail = self._head_open = 0
        self._head_closed_version += 1
        self._restart_head_paths()
        self.newest_s = math.nan
        self._draw_head()

    def append(self, x: np.ndarray, y: np.ndarray) -> None:
        """Closed points (points × traces, canonical units), newer than any before."""
        rows = x.shape[0]
        if rows == 0:
            return
        self._reserve(self._head_closed + rows)
        end = self._head_closed + rows
        self._head_x[self._head_closed:end], self._head_y[self._head_closed:end] = x, y
        self._head_closed = end
        self._head_closed_version += 1
        if self._head_closed - self._head_tail < CHUNK_POINTS:
            for i, (a, b) in enumerate(self._maps):
                self._head_paths[i].extend(x[:, i].tolist(), (y[:, i] * a + b).tolist())
            return
        while self._head_closed - self._head_tail >= CHUNK_POINTS:
            stop = self._head_tail + CHUNK_POINTS
            self._add_chunk(self._head_x[:stop].copy(), self._head_y[:stop].copy())
            rest = self._head_closed - stop  # the chunk's newest point starts the head again
            self._head_x[:rest + 1] = self._head_x[stop - 1:self._head_closed]
            self._head_y[:rest + 1] = self._head_y[stop - 1:self._head_closed]
            self._head_tail, self._head_closed = 1, rest + 1
        self._restart_head_paths()

    def set_open(self, x: np.ndarray, y: np.ndarray) -> None:
        rows = x.shape[0]
        self._reserve(self._head_closed + rows)
        end = self._head_closed + rows
        self._head_x[self._head_closed:end], self._head_y[self._head_closed:end] = x, y
        self._head_open = rows

    def _reserve(self, rows: int) -> None:
        if rows > self._head_x.shape[0]:  # a big first block: grow once
            grown = max(rows, 2 * self._head_x.shape[0])
            for name in ("_head_x", "_head_y"):
                old = getattr(self, name)
                new = np.empty((grown, old.shape[1]))
                new[:self._head_closed] = old[:self._head_closed]
                setattr(self, name, new)

    def scroll_to(self, newest_s: float, draw_head: bool = True) -> None:
        """Put ``newest_s`` at the right edge (to the whole pixel: cached chunks stay crisp
        and a frame that moves nothing repaints only the head); forget what scrolled out."""
        self.newest_s = newest_s
        if draw_head:
            self._draw_head()
        px_per_s = self.px_per_s()
        scroll_px = round(newest_s * px_per_s) if px_per_s > 0 else 0
        if scroll_px != self._scroll_px:
            self._scroll_px = scroll_px
            self.scroller.setPos(-scroll_px / px_per_s if px_per_s > 0 else -newest_s, 0.0)
        chunks = self.history.chunks
        if len(chunks) > 1 and chunks[0].newest_s < newest_s - 2 * self.window_s:
            self._forget_old_chunks()  # long without a new chunk (rows came in a trickle)
            self.history.changed()

    def _add_chunk(self, x: np.ndarray, y: np.ndarray) -> None:
        """A new chunk joins the history; chunks that scrolled out leave it at the same time
        (one re-render of the history for both; until then the chart's edge hides them)."""
        newest = float(np.nanmax(x)) if np.isfinite(x).any() else -math.inf
        self.history.chunks.append(_Chunk(x, y, newest, self._paths(x, y)))
        self._forget_old_chunks()
        self.history.changed()

    def _forget_old_chunks(self) -> None:
        oldest = self.newest_s - self.window_s
        chunks = self.history.chunks
        while chunks and chunks[0].newest_s < oldest:
            chunks.pop(0)

    def _restart_head_paths(self) -> None:
        """The closed part of each trace's head from the points kept (after a chunk left for
        the history, a clear, a new unit)."""
        closed = self._head_closed
        for i, (a, b) in enumerate(self._maps):
            self._head_paths[i] = _GrowingPath()
            self._head_paths[i].extend(self._head_x[:closed, i].tolist(),
                                       (self._head_y[:closed, i] * a + b).tolist())
        self._head_closed_version += 1

    def _draw_head(self) -> None:
        """Re-draw each trace's head whose points changed (a flat trace's open bin often
        does not move from one frame to the next): its closed path and the open bin."""
        closed, rows = self._head_closed, self._head_closed + self._head_open
        open_x = self._head_x[closed:rows].T.tolist()
        open_y = self._head_y[closed:rows].T.tolist()
        for i, (a, b) in enumerate(self._maps):
            drawn = (self._head_closed_version, a, b, open_x[i] if open_x else None,
                     open_y[i] if open_y else None)
            if drawn != self._head_drawn[i]:
                self._head_drawn[i] = drawn
                ys = [v * a + b for v in open_y[i]] if open_y else []
                self.head[i].setPath(self._head_paths[i].with_points(
                    open_x[i] if open_x else [], ys))

    def _paths(self, x: np.ndarray, y: np.ndarray) -> list[QPainterPath]:
        return [trace_path(x[:, i], y[:, i] * a + b)
                for i, (a, b) in enumerate(self._maps)]

    # ------------------------------------------------------------------ for tests and tools
    def points(self, channel: str) -> tuple[np.ndarray, np.ndarray]:
        """Every point drawn of ``channel``: time_s and the value in the shown unit."""
        i = [t.channel for t in self.traces].index(channel)
        rows = self._head_closed + self._head_open
        x = np.concatenate([*(c.x[:, i] for c in self.history.chunks),
                            self._head_x[self._head_tail:rows, i]])
        y = np.concatenate([*(c.y[:, i] for c in self.history.chunks),
                            self._head_y[self._head_tail:rows, i]])
        a, b = self._maps[i]
        return x, y * a + b

    def chunk_count(self) -> int:
        return len(self.history.chunks)
