"""The Review panel's stack of time-linked charts: made once and reused from run to run.

A 1-hour 100 Hz run has 360,000 samples per channel, so what each open costs matters: the plots,
curves and cursor lines of a chart are made the first time it is shown and only get new data
afterwards; a chart's markers are one item drawing every marker line (and, on the top chart,
its note) instead of one line item per marker; curves are clipped to the view and drawn as a
min/max envelope of about one bin per pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter

from dynoai_desktop.core.channels import CHANNELS
from dynoai_desktop.core.display import DisplayUnits, display_unit
from dynoai_desktop.core.units import convert
from dynoai_desktop.storage.run_files import Marker
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.review_charts import (
    CHARTS,
    CURSOR_COLOUR,
    MARKER_COLOUR,
    ChartSpec,
    Trace,
    axis_label,
)

MARKER_LABEL_HEIGHTS = (0.92, 0.74, 0.56)  # of the top chart's height, in turn per marker
LEFT_AXIS_WIDTH_PX = 64
LEGEND_ROW_PX = 18
# Peak downsampling keeps each bin's min and max; one bin per pixel draws the same envelope as
# pyqtgraph's default five, at a fifth of the line segments to paint.
BINS_PER_PIXEL = 1.0
SOLID_SAMPLE, DASHED_SAMPLE = "━━", "╍╍"  # the line sample before a trace's name in a legend


class MarkerLines(pg.UIGraphicsItem):
    """Every marker of the run on one chart, as one item: a dashed line across the view per
    marker in view and, when ``labelled``, its note beside it (neighbouring notes at different
    heights, so close markers stay readable)."""

    def __init__(self) -> None:
        super().__init__()
        self.times = np.empty(0)
        self.notes: tuple[str, ...] = ()
        self.labelled = False
        self.pen = pg.mkPen(MARKER_COLOUR, width=1, style=Qt.PenStyle.DashLine)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(5)

    def set_markers(self, markers: Sequence[Marker], labelled: bool) -> None:
        self.times = np.array([m.time_s for m in markers], dtype=np.float64)
        self.notes = tuple(m.note for m in markers)
        self.labelled = labelled
        self.update()

    def paint(self, p: QPainter, *args: object) -> None:
        view = self.viewRect()
        if view is None or self.times.size == 0:
            return
        shown = np.flatnonzero((self.times >= view.left()) & (self.times <= view.right()))
        if shown.size == 0:
            return
        p.setPen(self.pen)
        p.drawLines([QLineF(t, view.top(), t, view.bottom()) for t in self.times[shown]])
        if self.labelled:
            self._paint_notes(p, view, shown)

    def _paint_notes(self, p: QPainter, view: QRectF, shown: np.ndarray) -> None:
        # Text is drawn in device pixels, not in the view's (scaled) coordinates.
        device = p.transform()
        box = device.mapRect(view)
        p.resetTransform()
        metrics = QFontMetricsF(p.font())
        middle = (metrics.ascent() - metrics.descent()) / 2
        p.setPen(pg.mkColor(MARKER_COLOUR))
        for index in shown:
            note = self.notes[index]
            if not note:
                continue
            height = MARKER_LABEL_HEIGHTS[index % len(MARKER_LABEL_HEIGHTS)]
            x = device.map(QPointF(float(self.times[index]), 0.0)).x()
            y = box.bottom() - height * box.height()
            p.drawText(QPointF(x + 4.0, y + middle), note)


class MenuOnDemandViewBox(pg.ViewBox):
    """A chart's view whose right-click menu (View All, axis ranges ...) is made on the first
    right-click rather than with the chart: a third of what a new chart costs."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False)

    def mouseClickEvent(self, ev: MouseClickEvent) -> None:  # noqa: N802 - pyqtgraph's name
        if ev.button() == Qt.MouseButton.RightButton and self.menu is None:
            self.setMenuEnabled(True)
        super().mouseClickEvent(ev)


class Chart:
    """One chart: its plot, a curve per trace (made once), the markers and the cursor line."""

    def __init__(self, spec: ChartSpec) -> None:
        self.spec = spec
        self.plot = pg.PlotItem(viewBox=MenuOnDemandViewBox())
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        # One width for every left axis: the charts show one time span, at the same x on all.
        self.plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH_PX)
        for side in ("left", "bottom", "right", "top"):
            # Seconds stay seconds (not "ks" on an hour), and no label (even of the hidden
            # axes) is typeset again at each range change.
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        if spec.floor_span is None:
            self.plot.setAutoVisible(y=True)  # y fits what is in view when zoomed in time
        self.curves: dict[str, pg.PlotDataItem] = {}
        for trace in spec.traces:
            style = Qt.PenStyle.DashLine if trace.dashed else Qt.PenStyle.SolidLine
            # 1 px, as on the live charts: a wider line costs twice the paint of a long run.
            curve = pg.PlotDataItem(pen=pg.mkPen(trace.colour, width=1, style=style),
                                    connect="finite", autoDownsampleFactor=BINS_PER_PIXEL,
                                    dynamicRangeLimit=None)
            self.plot.addItem(curve)
            self.curves[trace.channel] = curve
        self.markers = MarkerLines()
        self.plot.addItem(self.markers, ignoreBounds=True)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR))
        self.cursor.hide()
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.channels: tuple[str, ...] = ()  # the traces with data in the run shown

    def label(self, values: dict[str, np.ndarray], units: DisplayUnits) -> None:
        """The value axis title and the legend for the traces with data in ``values``."""
        traces = [t for t in self.spec.traces if t.channel in values]
        self.channels = tuple(t.channel for t in traces)
        unit_names = list(dict.fromkeys(display_unit(t.channel, units) for t in traces))
        self.plot.setLabel("left", axis_label(unit_names))
        self._set_legend(traces)

    def draw(self, times: np.ndarray, values: dict[str, np.ndarray], units: DisplayUnits) -> None:
        """Draw the run's ``values`` (canonical units) of this chart's traces in ``units``."""
        highest = -np.inf
        for trace in self.spec.traces:
            curve = self.curves[trace.channel]
            if trace.channel not in self.channels:
                curve.hide()
                continue
            source = CHANNELS[trace.channel].unit
            shown = convert(values[trace.channel], source, display_unit(trace.channel, units))
            curve.setData(times, shown)
            curve.show()
            if self.spec.floor_span is not None:
                highest = max(highest, float(np.nanmax(shown)))
        if self.spec.floor_span is not None:
            floor, span = self.spec.floor_span
            # A little padding, so a run without knock draws its line above the axis.
            self.plot.setYRange(floor, max(floor + span, highest * 1.1), padding=0.04)
        else:
            # Fit y now rather than at the paint, so the ranges are right as open returns.
            self.plot.vb.updateAutoRange()

    def _set_legend(self, traces: Sequence[Trace]) -> None:
        """The traces' names with their line colour above the chart, never over a trace."""
        entries = [f'<span style="color:{t.colour}">{DASHED_SAMPLE if t.dashed else SOLID_SAMPLE}'
                   f'</span>&nbsp;{escape(t.name)}' for t in traces]
        self.plot.setTitle("&nbsp;&nbsp;&nbsp;&nbsp;".join(entries), justify="left",
                           color=theme.TEXT, size="9pt")
        self.plot.layout.setRowFixedHeight(0, LEGEND_ROW_PX)

    def set_bottom(self, bottom: bool) -> None:
        """Time tick values and the axis title on the bottom chart only; grid lines on all."""
        axis = self.plot.getAxis("bottom")
        axis.setStyle(showValues=bottom)
        self.plot.setLabel("bottom", "time" if bottom else None, units="s" if bottom else None)
        if not bottom:
            axis.showLabel(False)


class ChartStack:
    """The charts of the run shown, one under the other in ``layout``, x-linked; each chart is
    made on first use and kept for the next run."""

    def __init__(self, layout: pg.GraphicsLayout) -> None:
        self.layout = layout
        self.made: dict[str, Chart] = {}
        self.shown: list[Chart] = []
        self._following = False  # while one chart's time span is given to the others

    def show(self, times: np.ndarray, values: dict[str, np.ndarray], markers: Sequence[Marker],
             units: DisplayUnits, x_range: tuple[float, float]) -> None:
        """Show the charts that have data in ``values`` over ``x_range`` (seconds); the others
        are left out."""
        specs = [c for c in CHARTS if any(t.channel in values for t in c.traces)]
        charts = [self.made.get(c.title) or self._make(c) for c in specs]
        for chart in charts:
            for curve in chart.curves.values():
                curve.clear()  # the last run's samples are not clipped and binned again below
            chart.label(values, units)
            chart.cursor.hide()
        if charts != self.shown:
            self._lay_out(charts)
        # Lay the charts out before the range and the samples: each curve is clipped and binned
        # for the final size only once.
        self.layout.layout.activate()
        for chart in charts:
            chart.plot.layout.activate()
        self._set_span(charts, x_range)
        for index, chart in enumerate(charts):
            chart.draw(times, values, units)
            chart.markers.set_markers(markers, labelled=index == 0)  # notes once, on top

    def _make(self, spec: ChartSpec) -> Chart:
        chart = Chart(spec)
        chart.plot.vb.sigXRangeChanged.connect(self._follow)
        self.made[spec.title] = chart
        return chart

    def _follow(self, view: pg.ViewBox, x_range: tuple[float, float]) -> None:
        """Every chart shows the time span one was zoomed or panned to. The same span, not
        pyqtgraph's x-link, which matches views by screen position and can be a pixel off;
        the charts' views are the same width by construction."""
        if not self._following:
            self._set_span([c for c in self.shown if c.plot.vb is not view], x_range)

    def _set_span(self, charts: Sequence[Chart], x_range: tuple[float, float]) -> None:
        self._following = True
        try:
            for chart in charts:
                chart.plot.vb.setXRange(*x_range, padding=0)
        finally:
            self._following = False

    def _lay_out(self, charts: list[Chart]) -> None:
        for chart in self.shown:
            self.layout.removeItem(chart.plot)
            chart.markers.set_markers((), labelled=False)
        for row, chart in enumerate(charts):
            self.layout.addItem(chart.plot, row=row, col=0)
            self.layout.layout.setRowStretchFactor(row, chart.spec.height)
            chart.set_bottom(row == len(charts) - 1)
        for chart in self.made.values():
            if chart not in charts:
                for curve in chart.curves.values():
                    curve.clear()  # no run's samples kept in a chart not shown
        self.shown = charts

    @property
    def plots(self) -> list[pg.PlotItem]:
        return [c.plot for c in self.shown]

    @property
    def curves(self) -> dict[str, pg.PlotDataItem]:
        """The curves drawn, by channel."""
        return {ch: c.curves[ch] for c in self.shown for ch in c.channels}

    @property
    def cursor_lines(self) -> list[pg.InfiniteLine]:
        return [c.cursor for c in self.shown]

    @property
    def marker_layers(self) -> list[MarkerLines]:
        return [c.markers for c in self.shown]

