"""The charts of the run comparison, WinPEP style: power (solid) and torque (dashed) of every run
on one chart with two value axes, AFR front (solid) and rear (dotted) under it, and after − before
under that; one colour per run, the x axes linked, a cursor line on all three."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent

from dynoai_desktop.app.run_comparison import AXES, RunComparison, shown
from dynoai_desktop.core.display import DisplayUnits, format_value, unit_symbol
from dynoai_desktop.ui import theme

AXIS_WIDTH_PX = 58  # every chart's left and right axes alike, so one rpm is at one x on all
ROW_STRETCH = (0, 5, 3, 3)  # legend, power/torque, AFR, delta
LINE_WIDTH = 2
BEFORE_WIDTH = 3  # the run the others are measured against is drawn a little heavier
POWER_STYLE = Qt.PenStyle.SolidLine
TORQUE_STYLE = Qt.PenStyle.DashLine
REAR_STYLE = Qt.PenStyle.DotLine
CURSOR_COLOUR = theme.TEXT
LEGEND_MAX_COLUMNS = 4
LEGEND_POINT_SIZE = 9.0  # pyqtgraph's legend text, 9 pt
LEGEND_SAMPLE_PX = 44  # a legend entry's line sample and the gaps around it


def _pen(colour: str, style: Qt.PenStyle, width: int = LINE_WIDTH) -> object:
    return pg.mkPen(colour, width=width, style=style)


class CompareCharts(pg.GraphicsLayoutWidget):
    """Draws a :class:`RunComparison`; ``cursor_moved`` (x in the shown unit) as the mouse
    moves over any chart."""

    cursor_moved = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.legend = pg.LegendItem(colCount=1, offset=None)
        self.addItem(self.legend, row=0, col=0)
        self.power_plot = self.addPlot(row=1, col=0)
        self.afr_plot = self.addPlot(row=2, col=0)
        self.delta_plot = self.addPlot(row=3, col=0)
        self.plots = (self.power_plot, self.afr_plot, self.delta_plot)
        for row, stretch in enumerate(ROW_STRETCH):
            self.ci.layout.setRowStretchFactor(row, stretch)
        # Torque on the power chart's right axis: a second view over the same x.
        self.torque_view = pg.ViewBox()
        self.power_plot.scene().addItem(self.torque_view)
        self.power_plot.getAxis("right").linkToView(self.torque_view)
        self.torque_view.setXLink(self.power_plot)
        self.power_plot.vb.sigResized.connect(self._fit_torque_view)
        for plot in self.plots:
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.showAxis("right")
            plot.getAxis("left").setWidth(AXIS_WIDTH_PX)
            plot.getAxis("right").setWidth(AXIS_WIDTH_PX)
            plot.setMouseEnabled(x=True, y=False)  # the wheel zooms the rpm; values fit
            plot.setAutoVisible(y=True)
            if plot is not self.power_plot:
                plot.setXLink(self.power_plot)
                plot.getAxis("right").setStyle(showValues=False)
        # Beneath the charts: the mouse (wheel zoom, drag) reaches the power chart's view, which
        # the torque view follows; a view on top would zoom the torque alone.
        self.torque_view.setZValue(-1)
        self.torque_view.setMouseEnabled(x=False, y=False)
        self.torque_view.setAutoVisible(y=True)
        zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False,
                               pen=pg.mkPen(theme.MUTED, width=1))
        self.delta_plot.addItem(zero, ignoreBounds=True)
        self.cursor_lines = []
        for plot in self.plots:
            line = pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=1),
                label="{value:,.0f}" if plot is self.power_plot else None,
                labelOpts={"position": 0.97, "color": CURSOR_COLOUR, "fill": theme.BACKGROUND,
                           "anchors": [(0, 0.5), (0, 0.5)]})
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.cursor_lines.append(line)
        self.items: dict[int, dict[str, pg.PlotDataItem]] = {}
        self.legend_entries: list[tuple[int, str, str]] = []  # key, name with peaks, name
        self.legend_names: list[str] = []  # as shown
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    # ------------------------------------------------------------------ drawing
    def draw(self, comparison: RunComparison, units: DisplayUnits) -> None:
        """Every run's curves, in its colour, in ``units``; runs draw over their own range
        only, the deltas over the overlap with the before run."""
        for traces in self.items.values():
            for name, item in traces.items():
                (self.torque_view if name == "torque" else self._plot_of(name)).removeItem(item)
        self.items = {}
        self.legend_entries = []
        power_unit = torque_unit = afr_unit = ""
        for run, curve in comparison.curves():
            x, _ = shown(comparison.axis, curve.x, units)
            power, power_unit = shown("power_hp", curve.power_hp, units)
            torque, torque_unit = shown("torque_ftlb", curve.torque_ftlb, units)
            front, afr_unit = shown("afr_front", curve.afr_front, units)
            rear, _ = shown("afr_rear", curve.afr_rear, units)
            width = BEFORE_WIDTH if run.key == comparison.before_key else LINE_WIDTH
            traces = {
                "power": self._line(self.power_plot, x, power, run.colour, POWER_STYLE, width),
                "torque": self._line(self.torque_view, x, torque, run.colour, TORQUE_STYLE,
                                     width),
                "afr_front": self._line(self.afr_plot, x, front, run.colour, POWER_STYLE),
                "afr_rear": self._line(self.afr_plot, x, rear, run.colour, REAR_STYLE),
            }
            change = comparison.deltas.get(run.key)
            if change is not None:
                dx, _ = shown(comparison.axis, change.x, units)
                dp, _ = shown("power_hp", change.power_hp, units)
                dt, _ = shown("torque_ftlb", change.torque_ftlb, units)
                traces["delta_power"] = self._line(self.delta_plot, dx, dp, run.colour,
                                                   POWER_STYLE)
                traces["delta_torque"] = self._line(self.delta_plot, dx, dt, run.colour,
                                                    TORQUE_STYLE)
            self.items[run.key] = traces
            self.legend_entries.append(self._legend_entry(comparison, run.key, units))
        self._fit_legend(rebuild=True)
        self._label_axes(comparison, units, power_unit, torque_unit, afr_unit)
        self.show_all()

    def _fit_legend(self, rebuild: bool = False) -> None:
        """As many legend columns as the widest name allows, the peaks in the names where
        two columns of them fit (else the names alone: the list beside has the peaks). The
        legend never widens the charts past their room, which would push the torque axis out
        of sight."""
        font = QFont(self.font())
        font.setPointSizeF(LEGEND_POINT_SIZE)
        metrics = QFontMetrics(font)
        room = int(self.width() * 0.95)

        def columns_for(names: list[str]) -> int:
            widest = max((metrics.horizontalAdvance(n) for n in names), default=1)
            return max(1, room // (widest + LEGEND_SAMPLE_PX))

        names = [full for _, full, _ in self.legend_entries]
        if len(names) > 1 and columns_for(names) < 2:
            names = [short for _, _, short in self.legend_entries]
        columns = min(columns_for(names), LEGEND_MAX_COLUMNS, max(1, len(names)))
        if not rebuild and names == self.legend_names and columns == self.legend.columnCount:
            return
        self.legend.clear()
        self.legend.setColumnCount(columns)
        for (key, _, _), name in zip(self.legend_entries, names, strict=True):
            self.legend.addItem(self.items[key]["power"], name)
        self.legend_names = names
        self.legend.layout.activate()
        self.ci.setGeometry(self.range)  # a layout held wide by the old legend fits again

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: N802 - Qt's name
        if hasattr(self, "legend_names"):  # pyqtgraph resizes once inside its __init__
            self._fit_legend()
        super().resizeEvent(event)

    def _legend_entry(self, comparison: RunComparison, key: int, units: DisplayUnits
                      ) -> tuple[int, str, str]:
        """(key, 'Base map (before): 91.0 hp · 112.4 ft-lb', 'Base map (before)')."""
        run = comparison.run(key)
        assert run.curve is not None
        power, power_unit = shown("power_hp", run.curve.peak_power[0], units)
        torque, torque_unit = shown("torque_ftlb", run.curve.peak_torque[0], units)
        tag = " (before)" if key == comparison.before_key else ""
        return (key, f"{run.name}{tag}: {format_value(float(power), power_unit)} · "
                     f"{format_value(float(torque), torque_unit)}", f"{run.name}{tag}")

    def _label_axes(self, comparison: RunComparison, units: DisplayUnits, power_unit: str,
                    torque_unit: str, afr_unit: str) -> None:
        _, x_unit = shown(comparison.axis, 0.0, units)
        power_unit = power_unit or units.power
        torque_unit = torque_unit or units.torque
        afr_name = "λ" if (afr_unit or units.afr) == "lambda" else "AFR"
        self.power_plot.setLabel("left", f"Power, {unit_symbol(power_unit)} (solid)")
        self.power_plot.setLabel("right", f"Torque, {unit_symbol(torque_unit)} (dashed)")
        self.afr_plot.setLabel("left", f"{afr_name} (rear dotted)")
        self.delta_plot.setLabel("left", f"Δ {unit_symbol(power_unit)} · Δ "
                                         f"{unit_symbol(torque_unit)}")
        self.delta_plot.setLabel("bottom", f"{AXES[comparison.axis]}, {unit_symbol(x_unit)}")
        self.cursor_lines[0].label.setFormat(f"{{value:,.0f}} {unit_symbol(x_unit)}")
        before = comparison.before
        title = (f"after − before ({before.name})" if before is not None and comparison.deltas
                 else "after − before")
        self.delta_plot.setTitle(title, size="9pt", color=theme.MUTED)

    def _plot_of(self, trace: str) -> pg.PlotItem:
        if trace == "power":
            return self.power_plot
        return self.afr_plot if trace.startswith("afr") else self.delta_plot

    @staticmethod
    def _line(where: pg.PlotItem | pg.ViewBox, x: np.ndarray, y: np.ndarray, colour: str,
              style: Qt.PenStyle, width: int = LINE_WIDTH) -> pg.PlotDataItem:
        item = pg.PlotDataItem(x, y, pen=_pen(colour, style, width), connect="finite")
        where.addItem(item)
        return item

    def show_all(self) -> None:
        """Every run's whole range in view, the values fitted."""
        self.ci.layout.activate()
        self._fit_torque_view()
        for view in (*(p.vb for p in self.plots), self.torque_view):
            view.enableAutoRange()
            view.updateAutoRange()  # now, not at the next paint: the cursor maps through it

    def _fit_torque_view(self) -> None:
        self.torque_view.setGeometry(self.power_plot.vb.sceneBoundingRect())
        self.torque_view.linkedViewChanged(self.power_plot.vb, self.torque_view.XAxis)

    def x_range(self) -> tuple[float, float]:
        lo, hi = self.power_plot.viewRange()[0]
        return float(lo), float(hi)

    # ------------------------------------------------------------------ cursor
    def show_cursor(self, x: float | None) -> None:
        """The cursor line at ``x`` (the shown unit) on every chart; hidden for None."""
        for line in self.cursor_lines:
            if x is None or not math.isfinite(x):
                line.hide()
            else:
                line.show()  # first: a hidden line's label does not follow it
                line.setPos(x)
                label = getattr(line, "label", None)
                if label is not None:
                    label.valueChanged()

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        for plot in self.plots:
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                x = float(plot.vb.mapSceneToView(scene_pos).x())
                self.show_cursor(x)
                self.cursor_moved.emit(x)
                return
