"""Live logging panel: digital gauges and strip charts over the acquisition ring buffer.

The panel never receives a signal per sample: one ~50 Hz timer polls the buffer's version and
repaints only when it moved (ARCHITECTURE.md "Data flow, live").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.core.channels import CHANNELS
from dynoai_desktop.core.display import DisplayUnits, Mixture, display_unit, mixture, unit_symbol
from dynoai_desktop.core.rows import TIME_CHANNEL, VALUE_STALE_AFTER_S
from dynoai_desktop.core.units import convert
from dynoai_desktop.ui import theme

POLL_INTERVAL_MS = 20  # 50 Hz
CHART_WINDOW_S = 20.0
WINDOW_CHOICES_S = (10.0, 20.0, 60.0, 120.0, 300.0)
MAX_POINTS = 1200  # per curve and frame: a chart is ~1000 px wide; peaks are kept


@dataclass(frozen=True)
class GaugeSpec:
    channel: str
    title: str
    decimals: int


GAUGES = (
    GaugeSpec("rpm", "Engine speed", 0),
    GaugeSpec("map_kpa", "MAP", 1),
    GaugeSpec("tps_pct", "Throttle", 1),
    GaugeSpec("afr_front", "AFR front", 2),
    GaugeSpec("afr_rear", "AFR rear", 2),
    GaugeSpec("torque_ftlb", "Torque", 1),
    GaugeSpec("power_hp", "Power", 1),
    GaugeSpec("engine_temp_c", "Engine temp", 0),
    GaugeSpec("iat_c", "Intake air", 0),
)

class Gauge(QFrame):
    """One digital readout: title, value in the user's unit, unit; '—' when there is no value."""

    def __init__(self, spec: GaugeSpec, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.stale = False  # showing an old value, greyed
        self.setObjectName(f"gauge_{spec.channel}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        title = QLabel(spec.title)
        title.setStyleSheet(f"color: {theme.MUTED};")
        self.value_label = QLabel("—")
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        font = self.value_label.font()
        font.setPointSize(20)
        font.setBold(True)
        self.value_label.setFont(font)
        self.unit_label = QLabel(unit_symbol(unit))
        self.unit_label.setStyleSheet(f"color: {theme.MUTED};")
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(title, 0, 0, 1, 2)
        layout.addWidget(self.value_label, 1, 0)
        layout.addWidget(self.unit_label, 1, 1, Qt.AlignmentFlag.AlignBottom)

    def show_value(self, value: float, colour: str = theme.TEXT, stale: bool = False) -> None:
        """Show ``value``; a stale one (no fresh data) is greyed, a missing one is '—'."""
        if math.isnan(value):
            self.value_label.setText("—")
            colour = theme.IDLE
        else:
            self.value_label.setText(f"{value:,.{self.spec.decimals}f}")
            if stale:
                colour = theme.MUTED
        self.stale = stale
        self.value_label.setStyleSheet(f"color: {colour};")


MIXTURE_COLOURS = {Mixture.ON_TARGET: theme.OK, Mixture.LEAN: theme.FAULT,
                   Mixture.RICH: theme.RICH, Mixture.UNKNOWN: theme.TEXT}


def afr_colour(afr: float, target: float) -> str:
    """Green on target, red lean, blue rich (core's rule); plain when there is no target."""
    return MIXTURE_COLOURS[mixture(afr, target)]


class LiveLoggingPanel(QWidget):
    def __init__(
        self,
        buffer: SampleRingBuffer,
        units: DisplayUnits,
        banner: str = "",
        parent: QWidget | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(parent)
        self.buffer = buffer
        self.units = units
        self.clock = clock  # time_s now on the buffer's clock (the acquisition's), if live
        self.window_s = CHART_WINDOW_S
        self.repaints = 0  # how many times new data was drawn (tests and the smoke run read it)
        self._drawn_version = -1
        self._markers: list[tuple[float, str, list[pg.InfiniteLine]]] = []
        self._newest_s: float | None = None  # time_s of the newest row drawn

        layout = QVBoxLayout(self)
        self.banner = QLabel(banner)
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            f"background: {theme.WARN}; color: #1e2125; padding: 6px; border-radius: 3px;"
        )
        self.banner.setVisible(bool(banner))
        layout.addWidget(self.banner)

        gauges = QGridLayout()
        self.gauges: dict[str, Gauge] = {}
        for i, spec in enumerate(GAUGES):
            gauge = Gauge(spec, display_unit(spec.channel, units))
            self.gauges[spec.channel] = gauge
            gauges.addWidget(gauge, i // 5, i % 5)
        layout.addLayout(gauges)

        controls = QHBoxLayout()
        controls.addStretch(1)
        controls.addWidget(QLabel("Time window"))
        self.window_choice = QComboBox()
        for seconds in WINDOW_CHOICES_S:
            self.window_choice.addItem(f"{seconds:g} s", seconds)
        self.window_choice.setCurrentIndex(WINDOW_CHOICES_S.index(CHART_WINDOW_S))
        self.window_choice.currentIndexChanged.connect(
            lambda _: self.set_window(self.window_choice.currentData()))
        controls.addWidget(self.window_choice)
        layout.addLayout(controls)

        self.charts = pg.GraphicsLayoutWidget()
        self.afr_plot = self.charts.addPlot(row=0, col=0)
        self.afr_plot.setLabel("left", "AFR")
        self.afr_plot.addLegend(offset=(10, 5))
        self.rpm_plot = self.charts.addPlot(row=1, col=0)
        self.rpm_plot.setLabel("left", "Engine speed (rpm)")
        self.load_plot = self.charts.addPlot(row=2, col=0)
        self.load_plot.setLabel("left", "MAP (kPa) / TPS (%)")
        self.load_plot.setLabel("bottom", "time", units="s")
        self.load_plot.addLegend(offset=(10, 5))
        self.plots = (self.afr_plot, self.rpm_plot, self.load_plot)
        for plot in self.plots[1:]:
            plot.setXLink(self.afr_plot)
        self.curves = {}
        for plot, channel, name, colour in (
            (self.afr_plot, "afr_front", "front", theme.AFR_FRONT),
            (self.afr_plot, "afr_rear", "rear", theme.AFR_REAR),
            (self.afr_plot, "afr_target", "target", theme.AFR_TARGET),
            (self.rpm_plot, "rpm", "rpm", theme.RPM),
            (self.load_plot, "map_kpa", "MAP", theme.ACCENT),
            (self.load_plot, "tps_pct", "TPS", theme.WARN),
        ):
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            # No showGrid: pyqtgraph's axis-drawn grid costs ~20 ms a frame at 1000 rows/s;
            # a few fixed lines look the same and cost next to nothing (see _draw_grid).
            style = Qt.PenStyle.DashLine if channel == "afr_target" else Qt.PenStyle.SolidLine
            self.curves[channel] = plot.plot(name=name, pen=pg.mkPen(colour, width=2, style=style))
        self.afr_plot.setXRange(-CHART_WINDOW_S, 0.0, padding=0)
        self.afr_plot.setYRange(10.0, 17.0)
        self.rpm_plot.setYRange(0, 6500)
        self.load_plot.setYRange(0, 105)
        self._grid: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._draw_grid()
        layout.addWidget(self.charts, stretch=1)

        wanted = [*self.gauges, *self.curves]
        self._channels = [c for c in dict.fromkeys(wanted) if c in buffer.channels]
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    def set_window(self, seconds: float) -> None:
        """Show the last ``seconds`` of data in the strip charts."""
        self.window_s = float(seconds)
        self.afr_plot.setXRange(-self.window_s, 0.0, padding=0)
        self._draw_grid()
        self._drawn_version = -1  # redraw with the new window

    def _draw_grid(self) -> None:
        """Faint fixed grid lines: every 1 AFR, 1000 rpm, 25 kPa/%, and ~10 across the time."""
        for plot, line in self._grid:
            plot.removeItem(line)
        self._grid.clear()
        step = next(s for s in (1, 2, 5, 10, 30, 60) if self.window_s / s <= 12)
        pen = pg.mkPen(theme.TEXT, width=1)
        pen.setColor(pg.mkColor(theme.TEXT).darker(300))
        rows = ((self.afr_plot, range(10, 18)), (self.rpm_plot, range(0, 7000, 1000)),
                (self.load_plot, range(0, 101, 25)))
        for plot, levels in rows:
            lines = [pg.InfiniteLine(pos=-t, angle=90, pen=pen, movable=False)
                     for t in np.arange(0.0, self.window_s + 1e-9, step)]
            lines += [pg.InfiniteLine(pos=y, angle=0, pen=pen, movable=False) for y in levels]
            for line in lines:
                line.setZValue(-10)
                plot.addItem(line, ignoreBounds=True)
                self._grid.append((plot, line))

    def add_marker(self, time_s: float, note: str) -> None:
        """A marker at ``time_s`` on the buffer's clock: a labelled line on every chart."""
        lines = []
        for i, plot in enumerate(self.plots):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.MUTED, width=1),
                                   label=note if i == 0 else None,
                                   labelOpts={"position": 0.9, "color": theme.TEXT})
            plot.addItem(line, ignoreBounds=True)
            lines.append(line)
        self._markers.append((time_s, note, lines))
        self._drawn_version = -1

    def refresh(self) -> None:
        """Repaint gauges and charts if the buffer moved since the last repaint."""
        version = self.buffer.version
        if version == self._drawn_version:
            self._grey_if_quiet()
            return
        self._drawn_version = version
        data = self.buffer.window(self.window_s, self._channels)
        t = data[TIME_CHANNEL]
        if t.size == 0:
            return
        target = _last(data["afr_target"]) if "afr_target" in data else math.nan
        for channel, gauge in self.gauges.items():
            raw, age = _last_finite(t, data[channel]) if channel in data else (math.nan, 0.0)
            shown = convert(raw, CHANNELS[channel].unit, display_unit(channel, self.units))
            colour = afr_colour(raw, target) if channel.startswith("afr_") else theme.TEXT
            gauge.show_value(float(shown), colour, stale=age > VALUE_STALE_AFTER_S)
        x = t - t[-1]  # seconds before now
        for channel, curve in self.curves.items():
            if channel in data:
                curve.setData(*peak_decimate(x, data[channel], MAX_POINTS), connect="finite")
        for time_s, _, lines in self._markers:
            for line in lines:
                line.setPos(time_s - t[-1])
        self._newest_s = float(t[-1])
        self.repaints += 1

    def _grey_if_quiet(self) -> None:
        """No new rows at all for a while (every device quiet): grey every gauge."""
        newest = self._newest_s
        if self.clock is None or newest is None or self.clock() - newest <= VALUE_STALE_AFTER_S:
            return
        for gauge in self.gauges.values():
            if not gauge.stale and gauge.value_label.text() != "—":
                gauge.value_label.setStyleSheet(f"color: {theme.MUTED};")
                gauge.stale = True


def _last(column: np.ndarray) -> float:
    return float(column[-1]) if column.size else math.nan


def peak_decimate(x: np.ndarray, y: np.ndarray, max_points: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points that keep every block's minimum and maximum (so a lean
    spike still shows), for drawing many seconds of 100-1000 Hz data at screen resolution."""
    n = x.size
    if n <= max_points:
        return x, y
    per = -(-n // (max_points // 2))  # samples per block, rounded up
    start = n - (n // per) * per  # drop the oldest few so blocks are whole; the newest stay
    xs, ys = x[start:].reshape(-1, per), y[start:].reshape(-1, per)
    lows, highs = np.fmin.reduce(ys, axis=1), np.fmax.reduce(ys, axis=1)  # NaN-aware
    out_x = np.column_stack((xs[:, 0], xs[:, -1])).ravel()
    out_y = np.column_stack((lows, highs)).ravel()
    return out_x, out_y


def _last_finite(t: np.ndarray, column: np.ndarray) -> tuple[float, float]:
    """The newest finite value in the window and how old it is against the newest row (s)."""
    finite = np.flatnonzero(np.isfinite(column))
    if finite.size == 0:
        return math.nan, 0.0
    i = int(finite[-1])
    return float(column[i]), float(t[-1] - t[i])
