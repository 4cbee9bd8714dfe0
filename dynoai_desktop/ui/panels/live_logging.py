"""Live logging panel: digital gauges and strip charts over the acquisition ring buffer.

No signal per sample: one timer at the display's refresh rate (at most 60 Hz) polls the
buffer's version and does nothing when it did not move (ARCHITECTURE.md "Data flow, live").
When it moved, only the rows newer than the last frame are read; they are peak-decimated once
(``peak_bins``) and appended to the charts, which scroll without re-drawing their history
(``live_charts``); the gauges show the newest row, a sensor's fault in place of its value
(``core.display.gauge_reading``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.acquisition.status import DEVICE_QUIET_AFTER_S
from dynoai_desktop.core.channels import CHANNELS, STATUS_CHANNEL_FOR, SensorStatus
from dynoai_desktop.core.display import (
    DisplayUnits,
    GaugeState,
    chart_scale,
    display_unit,
    gauge_reading,
    unit_affine,
    unit_symbol,
)
from dynoai_desktop.core.rows import TIME_CHANNEL, VALUE_STALE_AFTER_S
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.gauges import (  # noqa: F401 - afr_colour: the panel's API
    GAUGE_COLUMNS,
    GAUGES,
    Gauge,
    afr_colour,
)
from dynoai_desktop.ui.panels.live_charts import ChartsView, ChartTrace, StripChart
from dynoai_desktop.ui.panels.live_markers import MarkerLines
from dynoai_desktop.ui.panels.peak_bins import PeakBins, peak_decimate  # noqa: F401 - API

CHART_WINDOW_S = 20.0
WINDOW_CHOICES_S = (10.0, 20.0, 60.0, 120.0, 300.0)
BINS_PER_WINDOW = 600  # min/max pairs across a chart: ~2 px each on a 1200 px wide chart
MAX_FRAME_RATE_HZ = 60.0
GAUGE_NUMBERS_HZ = 20.0  # a gauge's number changes at most this often (readable, and cheap);
# a change of state (a fault, "—", the number back) shows at the very next frame
FETCH_MARGIN_S = 1.0  # read a little more than is new: rows may land between two reads
LEFT_AXIS_PX = 58
RIGHT_AXIS_PX = 44

SensorDetails = Callable[[], Mapping[str, str]]

AFR_TRACES = (ChartTrace("afr_front", "front", theme.AFR_FRONT),
              ChartTrace("afr_rear", "rear", theme.AFR_REAR),
              ChartTrace("afr_target", "target", theme.AFR_TARGET, dashed=True))
RPM_TRACES = (ChartTrace("rpm", "Engine speed", theme.RPM),)
LOAD_TRACES = (ChartTrace("map_kpa", "MAP", theme.ACCENT),
               ChartTrace("tps_pct", "Throttle", theme.WARN))


class LiveLoggingPanel(QWidget):
    """Gauges and strip charts of the live buffer; ``set_units`` and ``set_window`` at any time,
    ``add_marker`` for a marker on the buffer's clock, ``set_source`` for another buffer (a
    replay's) and ``set_banner`` to say what is shown."""

    def __init__(
        self,
        buffer: SampleRingBuffer,
        units: DisplayUnits,
        banner: str = "",
        parent: QWidget | None = None,
        clock: Callable[[], float] | None = None,
        sensor_details: SensorDetails | None = None,
    ) -> None:
        super().__init__(parent)
        self.buffer = buffer
        self.units = units
        self.clock = clock  # time_s now on the buffer's clock (the acquisition's), if live
        self.sensor_details = sensor_details  # wideband channel -> the device's detail line
        self.window_s = CHART_WINDOW_S
        self.repaints = 0  # frames that drew new rows (tests and the smoke run read it)
        self._drawn_version = -1
        self._newest_s: float | None = None  # time_s of the newest row drawn
        self._newest_row: dict[str, float] = {}
        self._quiet = False
        self._gauge_inputs: dict[str, tuple] = {}  # what each gauge shows now was made from
        self._numbers_due_s = 0.0  # when gauges may show new numbers again
        self._numbers_behind = False  # a newer number is waiting for that
        self._frame_period_s = 1.0 / MAX_FRAME_RATE_HZ
        self._next_frame_s = 0.0
        self._screen_watched: object | None = None  # the window whose screen sets the rate

        layout = QVBoxLayout(self)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.set_banner(banner)
        layout.addWidget(self.banner)

        gauges = QGridLayout()
        gauges.setSpacing(4)
        self.gauges: dict[str, Gauge] = {}
        for i, spec in enumerate(GAUGES):
            gauge = Gauge(spec, display_unit(spec.channel, units))
            self.gauges[spec.channel] = gauge
            gauges.addWidget(gauge, i // GAUGE_COLUMNS, i % GAUGE_COLUMNS)
        layout.addLayout(gauges)

        controls = QHBoxLayout()
        controls.addStretch(1)
        controls.addWidget(QLabel("Time window"))
        self.window_choice = QComboBox()
        for seconds in WINDOW_CHOICES_S:
            self.window_choice.addItem(f"{seconds:g} s", seconds)
        self.window_choice.setCurrentIndex(WINDOW_CHOICES_S.index(CHART_WINDOW_S))
        self.window_choice.currentIndexChanged.connect(self._window_chosen)
        controls.addWidget(self.window_choice)
        layout.addLayout(controls)

        self.charts = ChartsView()
        self.afr_chart = StripChart(self.charts, 0, AFR_TRACES, time_labels=False)
        self.rpm_chart = StripChart(self.charts, 1, RPM_TRACES, time_labels=False)
        self.load_chart = StripChart(self.charts, 2, LOAD_TRACES, time_labels=True)
        self.strip_charts = (self.afr_chart, self.rpm_chart, self.load_chart)
        self.plots = tuple(c.plot for c in self.strip_charts)
        self.afr_plot, self.rpm_plot, self.load_plot = self.plots
        for chart in self.strip_charts:  # same widths beside each chart: the times line up
            chart.plot.getAxis("left").setWidth(LEFT_AXIS_PX)
            if chart is self.load_chart:
                chart.plot.showAxis("right")
                chart.plot.getAxis("right").setWidth(RIGHT_AXIS_PX)
            else:
                chart.plot.setContentsMargins(0, 0, RIGHT_AXIS_PX, 0)
        self.markers = MarkerLines(self.strip_charts)
        self.afr_chart.vb.sigResized.connect(lambda *_: self.markers.layout())
        layout.addWidget(self.charts, stretch=1)

        self._chart_channels = [t.channel for c in self.strip_charts for t in c.traces]
        self._channels = self._channels_of(buffer)
        self._bins = self._new_bins()
        self._apply_units()
        self._set_chart_window()
        self._show_quiet()

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._frame)
        self._update_frame_rate()
        self._next_frame_s = time.monotonic()
        self.timer.start(0)

    # ------------------------------------------------------------------ public
    @property
    def frame_rate_hz(self) -> float:
        """How often the panel looks for new rows: the screen's refresh rate, at most 60 Hz."""
        return 1.0 / self._frame_period_s

    def set_units(self, units: DisplayUnits) -> None:
        """Show every gauge, chart, axis, grid and legend in ``units`` from now on."""
        self.units = units
        self._apply_units()
        if self._quiet or not self._newest_row:
            self._show_quiet()
        else:
            self._show_gauges(self._newest_row, numbers_now=True)

    def set_window(self, seconds: float) -> None:
        """Show the last ``seconds`` of data in the strip charts."""
        self.window_s = float(seconds)
        index = self.window_choice.findData(self.window_s)
        if index >= 0 and index != self.window_choice.currentIndex():
            self.window_choice.setCurrentIndex(index)  # _window_chosen: already this window
        self._set_chart_window()
        self._drawn_version = -1  # the history is read again at the next frame
        self._newest_s = None

    def set_source(self, buffer: SampleRingBuffer, clock: Callable[[], float] | None = None,
                   sensor_details: SensorDetails | None = None) -> None:
        """Show ``buffer`` on ``clock`` from now on (the live buffer, or a replay's): gauges,
        charts, peak bins and markers start afresh from its rows at the next frame."""
        self.buffer, self.clock, self.sensor_details = buffer, clock, sensor_details
        self._channels = self._channels_of(buffer)
        self.markers.clear()
        for chart in self.strip_charts:
            chart.clear()
        self._bins = self._new_bins()
        self._drawn_version = -1
        self._newest_s = None
        self._newest_row = {}
        self._show_quiet()

    def set_banner(self, text: str, colour: str = theme.WARN) -> None:
        """The line over the gauges saying what they show ("Demo mode...", "REPLAY..."); none
        when ``text`` is empty."""
        self.banner.setText(text)
        self.banner.setStyleSheet(
            f"background: {colour}; color: #1e2125; padding: 6px; border-radius: 3px;")
        self.banner.setVisible(bool(text))

    def add_marker(self, time_s: float, note: str) -> None:
        """A marker at ``time_s`` on the buffer's clock: a labelled line on every chart."""
        self.markers.add(time_s, note)
        if self._newest_s is not None:
            self.markers.show_window(self._newest_s, self.window_s, all_markers=True)

    def refresh(self) -> None:
        """Draw the rows that arrived since the last frame; nothing when the buffer's version
        did not move (then only: every gauge "—" once no rows came for a while)."""
        version = self.buffer.version
        if version == self._drawn_version:
            if self._numbers_behind and time.monotonic() >= self._numbers_due_s:
                self._show_gauges(self._newest_row)
            self._check_quiet()
            return
        self._drawn_version = version
        reread = self._newest_s is None
        rows = self._new_rows()
        reread = reread or self._newest_s is None  # the whole window read again
        if rows is None:
            self._check_quiet()
            return
        t = rows[TIME_CHANNEL]
        newest = {c: float(rows[c][-1]) for c in self._channels}
        self._newest_row = newest
        self._quiet = False
        self._show_gauges(newest)
        values = np.column_stack([rows.get(c, np.full(t.size, np.nan))
                                  for c in self._chart_channels])
        closed_x, closed_y = self._bins.add(t, values)
        open_x, open_y = self._bins.open_points()
        start = 0
        for chart in self.strip_charts:
            cols = slice(start, start + len(chart.traces))
            start = cols.stop
            chart.append(closed_x[:, cols], closed_y[:, cols])
            chart.set_open(open_x[:, cols], open_y[:, cols])
            chart.scroll_to(float(t[-1]))
        # After a re-read (time went back: a replay seeking) every marker is looked at again.
        self.markers.show_window(float(t[-1]), self.window_s, all_markers=reread)
        self._newest_s = float(t[-1])
        self.repaints += 1

    def _window_chosen(self, _index: int) -> None:
        seconds = float(self.window_choice.currentData())
        if seconds != self.window_s:
            self.set_window(seconds)

    # ------------------------------------------------------------------ frames
    def _frame(self) -> None:
        try:
            if self.isVisible():
                self.refresh()
        finally:
            now = time.monotonic()
            self._next_frame_s += self._frame_period_s
            if self._next_frame_s < now:  # a frame ran late: start the beat again from now
                self._next_frame_s = now + self._frame_period_s
            self.timer.start(max(0, round((self._next_frame_s - now) * 1000)))

    def _update_frame_rate(self, *_screen: object) -> None:
        screen = self.screen()
        rate = screen.refreshRate() if screen is not None else 0.0
        if not (rate > 0 and math.isfinite(rate)):
            rate = MAX_FRAME_RATE_HZ
        self._frame_period_s = 1.0 / min(rate, MAX_FRAME_RATE_HZ)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._update_frame_rate()
        handle = self.window().windowHandle()
        if handle is not None and handle is not self._screen_watched:
            self._screen_watched = handle
            handle.screenChanged.connect(self._update_frame_rate)

    # ------------------------------------------------------------------ rows
    def _new_rows(self) -> dict[str, np.ndarray] | None:
        """The rows newer than the last frame's newest (the whole window after a change of
        window, or when the buffer's time went back: a new buffer, say); None if none."""
        latest = self.buffer.latest(TIME_CHANNEL)
        if math.isnan(latest):
            return None
        drawn = self._newest_s
        if drawn is not None and (latest < drawn or latest - drawn > self.window_s):
            drawn = None
        if drawn is None:
            self._newest_s = None
            self._bins = self._new_bins()
            for chart in self.strip_charts:
                chart.clear()
            rows = self.buffer.window(self.window_s, self._channels)
            return rows if rows[TIME_CHANNEL].size else None
        if latest == drawn:
            return None
        rows = self._rows_since(drawn)
        t = rows[TIME_CHANNEL]
        new = t > drawn
        if not new.any():
            return None
        first = int(np.argmax(new))
        return {c: v[first:] for c, v in rows.items()} if first else rows

    def _rows_since(self, time_s: float) -> dict[str, np.ndarray]:
        """The rows newer than ``time_s`` (and perhaps a few before)."""
        since = getattr(self.buffer, "since", None)
        if since is not None:  # reads only the new rows
            return since(time_s, self._channels)
        # A buffer without ``since``: a window a little longer than what is new (rows may
        # land between the two reads; if more than the margin did, read again).
        seconds = self.buffer.latest(TIME_CHANNEL) - time_s + FETCH_MARGIN_S
        rows = self.buffer.window(seconds, self._channels)
        t = rows[TIME_CHANNEL]
        if t.size and t[-1] - seconds > time_s:
            rows = self.buffer.window(t[-1] - time_s + FETCH_MARGIN_S, self._channels)
        return rows

    def _channels_of(self, buffer: SampleRingBuffer) -> list[str]:
        wanted = [*self.gauges, *self._chart_channels, "afr_target", *STATUS_CHANNEL_FOR.values()]
        return [c for c in dict.fromkeys(wanted) if c in buffer.channels]

    def _new_bins(self) -> PeakBins:
        return PeakBins(len(self._chart_channels), self.window_s / BINS_PER_WINDOW,
                        VALUE_STALE_AFTER_S)

    # ------------------------------------------------------------------ gauges
    def _show_gauges(self, row: Mapping[str, float], numbers_now: bool = False) -> None:
        """Every gauge from the newest row: a change of state at once, a new number at most
        GAUGE_NUMBERS_HZ times a second (``numbers_now``: at once too)."""
        now = time.monotonic()
        numbers_due = numbers_now or now >= self._numbers_due_s
        if numbers_due:
            self._numbers_due_s = now + 1.0 / GAUGE_NUMBERS_HZ
            self._numbers_behind = False
        target = row.get("afr_target", math.nan)
        statuses = {c: row.get(s, math.nan) for c, s in STATUS_CHANNEL_FOR.items()}
        details: Mapping[str, str] = {}
        if self.sensor_details is not None and any(
                not math.isnan(code) and code != SensorStatus.VALID for code in statuses.values()):
            details = self.sensor_details()  # only while a sensor is not reading normally
        for channel, gauge in self.gauges.items():
            raw = row.get(channel, math.nan)
            status = statuses.get(channel, math.nan)
            if (not numbers_due and gauge.reading.state is GaugeState.VALUE
                    and not math.isnan(raw)
                    and (math.isnan(status) or status == SensorStatus.VALID)):
                self._numbers_behind = True  # only the number changes: at the next tick
                continue
            shown = (_key(raw), _key(status), details.get(channel, ""),
                     _key(target) if channel in statuses else None)
            if self._gauge_inputs.get(channel) == shown:
                continue  # the same as drawn: most gauges, most frames
            self._gauge_inputs[channel] = shown
            unit, (a, b) = self._gauge_units[channel]
            reading = gauge_reading(raw * a + b, unit, status, shown[2])
            colour = afr_colour(raw, target) if channel in statuses else theme.TEXT
            gauge.show_reading(reading, colour)

    def _check_quiet(self) -> None:
        """No rows at all for DEVICE_QUIET_AFTER_S (every device quiet): every gauge "—"."""
        if self._quiet or self.clock is None or self._newest_s is None:
            return
        if self.clock() - self._newest_s > DEVICE_QUIET_AFTER_S:
            self._show_quiet()

    def _show_quiet(self) -> None:
        self._quiet = True
        self._gauge_inputs.clear()
        for channel, gauge in self.gauges.items():
            unit = display_unit(channel, self.units)
            gauge.show_reading(gauge_reading(math.nan, unit, quiet=True))

    # ------------------------------------------------------------------ units and window
    def _apply_units(self) -> None:
        self._gauge_units: dict[str, tuple[str, tuple[float, float]]] = {}
        self._gauge_inputs.clear()
        for channel, gauge in self.gauges.items():
            unit = display_unit(channel, self.units)
            self._gauge_units[channel] = (unit, unit_affine(CHANNELS[channel].unit, unit))
            gauge.set_unit(unit)
        afr = chart_scale("afr_front", self.units)
        afr_map = unit_affine(CHANNELS["afr_front"].unit, afr.unit)
        symbol = unit_symbol(afr.unit)
        self.afr_chart.set_scale(afr, [afr_map] * 3, symbol,
                                 [f"{symbol} {t.name}" for t in AFR_TRACES])
        rpm = chart_scale("rpm", self.units)
        # Axis labels are the units alone: the legend row names the traces, and a long rotated
        # label would not fit beside a chart only ~100 px high on a 768 px screen.
        self.rpm_chart.set_scale(rpm, [(1.0, 0.0)], "rpm", ["Engine speed (rpm)"])
        load = chart_scale("map_kpa", self.units)
        throttle = chart_scale("tps_pct", self.units)
        # Throttle shares MAP's axis: its own 0-105 % laid over MAP's range, ticks on the right.
        a = (load.high - load.low) / (throttle.high - throttle.low)
        b = load.low - throttle.low * a
        map_symbol = unit_symbol(load.unit)
        self.load_chart.set_scale(load, [unit_affine(CHANNELS["map_kpa"].unit, load.unit), (a, b)],
                                  map_symbol, [f"MAP ({map_symbol})", "Throttle (%)"])
        self.load_chart.set_right_axis(
            "%", [(v * a + b, throttle.label(v)) for v in throttle.lines])

    def _set_chart_window(self) -> None:
        for chart in self.strip_charts:
            chart.set_window(self.window_s)
        self._bins = self._new_bins()
        self.markers.layout()
        if self._newest_s is not None:
            self.markers.show_window(self._newest_s, self.window_s, all_markers=True)


def _key(value: float) -> float | None:
    """A value to compare with the last frame's (NaN never equals itself)."""
    return None if math.isnan(value) else value
