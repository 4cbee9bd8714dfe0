"""The live panel on a ring buffer the test appends to: a sensor's fault replaces its value at the
next repaint, every gauge and chart follows the user's units at run time, only what changed is
drawn, and legends and marker notes stay readable."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest
from PySide6.QtCore import QRectF

from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.acquisition.status import DEVICE_QUIET_AFTER_S
from dynoai_desktop.core.channels import CHANNELS, LOG_COLUMNS
from dynoai_desktop.core.display import (
    DisplayUnits,
    GaugeState,
    chart_scale,
    display_unit,
    gauge_reading,
    unit_symbol,
)
from dynoai_desktop.core.units import UNIT_CHOICES, convert
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel

RATE_HZ = 100
ROW = {"rpm": 3500.0, "map_kpa": 62.0, "tps_pct": 35.0, "afr_front": 13.1, "afr_rear": 12.9,
       "afr_front_status": 0.0, "afr_rear_status": 0.0, "afr_target": 13.0,
       "torque_ftlb": 88.0, "power_hp": 58.7, "speed_mph": 52.0, "engine_temp_c": 100.0,
       "iat_c": 30.0}


class Cell:
    """The buffer, a clock and the devices' detail lines, as the live session gives them."""

    def __init__(self) -> None:
        self.buffer = SampleRingBuffer(LOG_COLUMNS, capacity=60_000)
        self.now_s = 0.0
        self.details: dict[str, str] = {}

    def append(self, seconds: float = 0.1, **values: float) -> None:
        """``seconds`` of rows at 100 Hz after the last, each holding ``values`` (ROW's unless
        given; NaN to leave a channel empty)."""
        n = max(1, round(seconds * RATE_HZ))
        t = self.now_s + np.arange(1, n + 1) / RATE_HZ
        self.now_s = float(t[-1])
        row = {**ROW, **values}
        self.buffer.append_block(t, {c: np.full(n, v) for c, v in row.items()})


@pytest.fixture
def cell() -> Cell:
    return Cell()


@pytest.fixture
def make_panel(qtbot, cell):  # noqa: ANN001, ANN201
    def make(units: DisplayUnits | None = None, timer: bool = False) -> LiveLoggingPanel:
        panel = LiveLoggingPanel(cell.buffer, units or DisplayUnits(), clock=lambda: cell.now_s,
                                 sensor_details=lambda: dict(cell.details))
        qtbot.addWidget(panel)
        panel.resize(1100, 800)
        panel.show()
        qtbot.waitExposed(panel)
        if not timer:  # the test calls refresh() itself: one call is one repaint
            panel.timer.stop()
        return panel

    return make


def _text(panel: LiveLoggingPanel, channel: str) -> tuple[str, str]:
    gauge = panel.gauges[channel]
    return gauge.value_label.text(), gauge.note_label.full_text()


# ------------------------------------------------------------------ faults on the value

def test_a_sensor_error_replaces_the_afr_at_the_next_repaint(make_panel, cell) -> None:
    panel = make_panel()
    cell.append()
    panel.refresh()
    assert _text(panel, "afr_rear") == ("12.90", "")
    cell.details = {"afr_rear": "sensor error 2: heater open"}
    cell.append(afr_rear_status=3.0, afr_rear=12.9)  # a last AFR still in the row
    panel.refresh()
    assert _text(panel, "afr_rear") == ("ERR 2", "heater open")
    assert panel.gauges["afr_rear"].value_label.colour() == theme.FAULT
    assert _text(panel, "afr_front") == ("13.10", "")  # the other sensor reads on


def test_warming_up_shows_its_percent_and_calibrating_says_cal(make_panel, cell) -> None:
    panel = make_panel()
    cell.details = {"afr_front": "warming up, 62 % of operating temperature",
                    "afr_rear": "free-air calibration in progress"}
    cell.append(afr_front_status=1.0, afr_front=np.nan, afr_rear_status=2.0, afr_rear=np.nan)
    panel.refresh()
    assert _text(panel, "afr_front") == ("warming", "62 %")
    assert _text(panel, "afr_rear")[0] == "cal"
    assert panel.gauges["afr_front"].value_label.colour() == theme.WARN


def test_recovery_shows_the_number_again(make_panel, cell) -> None:
    panel = make_panel()
    cell.details = {"afr_front": "sensor error 4: unknown"}
    cell.append(afr_front_status=3.0, afr_front=np.nan)
    panel.refresh()
    assert _text(panel, "afr_front")[0] == "ERR 4"
    cell.details = {}
    cell.append(afr_front=13.4)
    panel.refresh()
    assert _text(panel, "afr_front") == ("13.40", "")


def test_the_fault_shows_within_one_frame_of_the_panels_own_timer(make_panel, cell,
                                                                  qtbot) -> None:
    panel = make_panel(timer=True)
    cell.append()
    qtbot.waitUntil(lambda: _text(panel, "afr_rear")[0] == "12.90", timeout=3000)
    repaints = panel.repaints
    cell.details = {"afr_rear": "sensor error 2: heater open"}
    cell.append(afr_rear_status=3.0)
    qtbot.waitUntil(lambda: panel.repaints > repaints, timeout=3000)
    assert _text(panel, "afr_rear")[0] == "ERR 2"


def test_an_empty_channel_is_a_dash_not_its_last_value(make_panel, cell) -> None:
    panel = make_panel()
    cell.append()
    panel.refresh()
    assert _text(panel, "map_kpa")[0] == "62.0"
    cell.append(map_kpa=np.nan, afr_front=np.nan)  # emptied by the row rule: too old
    panel.refresh()
    assert _text(panel, "map_kpa") == ("—", "no reading")
    assert _text(panel, "afr_front") == ("—", "no reading")
    assert _text(panel, "rpm")[0] == "3,500"


def test_every_gauge_is_a_dash_once_no_rows_came_for_a_while(make_panel, cell) -> None:
    panel = make_panel()
    cell.append()
    panel.refresh()
    cell.now_s += DEVICE_QUIET_AFTER_S / 2
    panel.refresh()
    assert _text(panel, "rpm")[0] == "3,500"  # quiet, but not for long yet
    cell.now_s += DEVICE_QUIET_AFTER_S
    panel.refresh()
    assert {_text(panel, c) for c in panel.gauges} == {("—", "no data")}
    cell.append()
    panel.refresh()
    assert _text(panel, "rpm")[0] == "3,500"


# ------------------------------------------------------------------ units

def _unit_cases() -> list[tuple[str, str]]:
    return [(f.name, unit) for f in fields(DisplayUnits) for unit in UNIT_CHOICES[f.name]]


@pytest.mark.parametrize(("field", "unit"), _unit_cases())
def test_every_unit_choice_changes_gauges_and_charts_at_run_time(make_panel, cell, field: str,
                                                                 unit: str) -> None:
    panel = make_panel()
    cell.append()
    panel.refresh()
    units = replace(DisplayUnits(), **{field: unit})
    panel.set_units(units)  # no new rows: set_units redraws by itself
    for channel, gauge in panel.gauges.items():
        shown = display_unit(channel, units)
        expected = gauge_reading(float(convert(ROW[channel], CHANNELS[channel].unit, shown)),
                                 shown, ROW.get(f"{channel}_status", np.nan))
        assert gauge.value_label.text() == expected.text, channel
        assert gauge.unit_label.text() == unit_symbol(shown), channel
    for chart, channel in ((panel.afr_chart, "afr_front"), (panel.load_chart, "map_kpa")):
        scale = chart_scale(channel, units)
        assert chart.vb.viewRange()[1] == pytest.approx([scale.low, scale.high])
        assert unit_symbol(scale.unit) in chart.plot.getAxis("left").labelText
        ticks = chart.plot.getAxis("left")._tickLevels[0]
        assert [v for v, _ in ticks] == list(scale.lines)
        _, y = chart.points(channel)
        assert y[-1] == pytest.approx(float(convert(ROW[channel], CHANNELS[channel].unit,
                                                    scale.unit)))
        grid_y = {line.y1() for line in chart.grid_lines() if line.y1() == line.y2()}
        assert grid_y == set(scale.lines)
    afr_symbol = unit_symbol(display_unit("afr_front", units))
    assert panel.gauges["afr_front"].title_label.full_text() == f"{afr_symbol} front"
    assert f"{afr_symbol} front" in panel.afr_chart.plot.titleLabel.text


def test_lambda_is_written_as_the_greek_letter_everywhere(make_panel, cell) -> None:
    panel = make_panel(DisplayUnits(afr="lambda"))
    cell.append()
    panel.refresh()
    texts = [t for g in panel.gauges.values()
             for t in (g.title_label.full_text(), g.unit_label.text())]
    texts += [c.plot.getAxis("left").labelText for c in panel.strip_charts]
    texts += [c.plot.titleLabel.text for c in panel.strip_charts]
    assert not any("lambda" in t.lower() for t in texts)
    assert panel.afr_chart.plot.getAxis("left").labelText == "λ"
    assert panel.gauges["afr_front"].value_label.text() == f"{13.1 / 14.7:.3f}"


def test_map_on_the_chart_follows_pressure_when_core_shows_it_so(make_panel, cell,
                                                                monkeypatch) -> None:
    """Today core keeps MAP in kPa (the tables' load axis); the chart follows core's rule,
    so were MAP shown in psi, its axis, grid, legend and trace would all be psi."""
    monkeypatch.setattr("dynoai_desktop.core.display.ALWAYS_CANONICAL", frozenset())
    panel = make_panel()
    cell.append()
    panel.refresh()
    panel.set_units(DisplayUnits(pressure="psi"))
    assert panel.load_chart.plot.getAxis("left").labelText == "psi"
    assert panel.load_chart.vb.viewRange()[1][1] == pytest.approx(105 / 6.894757, abs=1e-3)
    assert panel.load_chart.points("map_kpa")[1][-1] == pytest.approx(62.0 / 6.894757)
    assert panel.gauges["map_kpa"].value_label.text() == f"{62.0 / 6.894757:.2f}"
    _, tps = panel.load_chart.points("tps_pct")  # throttle keeps its own % axis on the right
    right = panel.load_chart.plot.getAxis("right")._tickLevels[0]
    position_of_35 = np.interp(35.0, [float(label) for _, label in right],
                               [v for v, _ in right])
    assert tps[-1] == pytest.approx(position_of_35)


# ------------------------------------------------------------------ drawing only what changed

def test_a_frame_reads_only_the_new_rows_and_nothing_when_none_came(make_panel, cell,
                                                                    monkeypatch) -> None:
    panel = make_panel()
    cell.append(seconds=60.0)
    panel.refresh()  # the history, once
    reads: list[int] = []
    for name in ("window", "since"):
        original = getattr(cell.buffer, name)

        def spy(*args, _original=original, **kwargs):  # noqa: ANN002, ANN003, ANN202
            rows = _original(*args, **kwargs)
            reads.append(rows["time_s"].size)
            return rows

        monkeypatch.setattr(cell.buffer, name, spy)
    repaints = panel.repaints
    panel.refresh()
    assert reads == [] and panel.repaints == repaints  # the version did not move
    cell.append(seconds=0.03)
    panel.refresh()
    assert reads == [3] and panel.repaints == repaints + 1


def test_a_one_sample_lean_spike_shows_in_a_five_minute_window(make_panel, cell) -> None:
    panel = make_panel()
    panel.set_window(300.0)
    cell.append(seconds=150.0)
    cell.append(seconds=0.01, afr_front=19.5)
    for _ in range(30):  # then data in small blocks, as the readers deliver it
        cell.append(seconds=5.0)
        panel.refresh()
    x, y = panel.afr_chart.points("afr_front")
    assert np.nanmax(y) == 19.5 and np.nanmin(y) == 13.1
    assert x.size <= 2 * 2 * 600  # decimated: ~two points per bin, 600 bins a window
    assert panel.afr_chart.chunk_count() > 1  # the history is kept in cached chunks


def test_the_window_choice_sets_the_time_axis_and_redraws_the_history(make_panel,
                                                                      cell) -> None:
    panel = make_panel()
    cell.append(seconds=90.0)
    panel.refresh()
    assert panel.afr_chart.points("afr_front")[0].min() >= cell.now_s - 21
    panel.window_choice.setCurrentIndex(panel.window_choice.findData(60.0))
    panel.refresh()
    assert panel.window_s == 60.0
    assert panel.afr_chart.vb.viewRange()[0] == pytest.approx([-60.0, 0.0])
    x, _ = panel.rpm_chart.points("rpm")
    assert x.min() == pytest.approx(cell.now_s - 60.0, abs=0.2)
    times = {line.x1() for line in panel.rpm_chart.grid_lines() if line.x1() == line.x2()}
    assert times == {-float(t) for t in range(0, 61, 5)}


def test_the_panel_repaints_at_the_screens_rate_at_most_60_hz(make_panel) -> None:
    panel = make_panel(timer=True)
    rate = panel.screen().refreshRate()
    assert panel.frame_rate_hz == pytest.approx(min(rate, 60.0) if rate > 0 else 60.0)


# ------------------------------------------------------------------ legends and markers

def test_legends_sit_above_the_charts_not_over_the_data(make_panel, cell) -> None:
    panel = make_panel()
    cell.append()
    panel.refresh()
    for chart in panel.strip_charts:
        legend = chart.plot.titleLabel.sceneBoundingRect()
        data = chart.vb.sceneBoundingRect()
        assert legend.height() > 0 and legend.bottom() <= data.top() + 1
        assert not legend.intersected(data).height() > 1
    assert "AFR front" in panel.afr_chart.plot.titleLabel.text
    assert "MAP (kPa)" in panel.load_chart.plot.titleLabel.text


def test_marker_notes_never_overlap_and_the_rest_go_to_a_tooltip(make_panel, cell) -> None:
    panel = make_panel()
    cell.append(seconds=20.0)
    panel.refresh()
    notes = [f"pull {i} at {3000 + 100 * i} rpm, front lean" for i in range(8)]
    for i, note in enumerate(notes):
        panel.add_marker(cell.now_s - 10.0 + 0.3 * i, note)  # 0.3 s apart: ~15 px
    panel.add_marker(cell.now_s - 2.0, "a very long note about the rear cylinder going lean")
    shown = panel.markers.labels()
    assert shown  # the newest ones have their note
    rects: list[QRectF] = [r for _, r in shown]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b)
    texts = {m.note: m.shown_text for m in panel.markers.markers}
    assert texts["a very long note about the rear cylinder going lean"].endswith("…")
    for marker in panel.markers.markers:
        assert marker.lines[0].toolTip() == marker.note  # the whole note, shown or not
    assert any(m.shown_text == "" for m in panel.markers.markers)  # no room: tooltip only
    assert len(panel.markers.markers[0].lines) == len(panel.strip_charts)


def test_a_state_is_never_shown_as_a_number_in_any_unit(make_panel, cell) -> None:
    panel = make_panel(DisplayUnits(afr="lambda"))
    cell.details = {"afr_front": "sensor error 2: heater open"}
    cell.append(afr_front_status=3.0)
    panel.refresh()
    assert panel.gauges["afr_front"].reading.state is GaugeState.SENSOR_ERROR
    assert _text(panel, "afr_front") == ("ERR 2", "heater open")



class _WindowOnly:
    """A buffer with no ``since`` (an older ring buffer, say): the panel reads windows."""

    def __init__(self, buffer: SampleRingBuffer) -> None:
        self.channels, self._buffer = buffer.channels, buffer

    @property
    def version(self) -> int:
        return self._buffer.version

    def latest(self, channel: str) -> float:
        return self._buffer.latest(channel)

    def window(self, seconds=None, channels=None):  # noqa: ANN001, ANN201
        return self._buffer.window(seconds, channels)


@pytest.mark.parametrize("reads", ["since", "window"])
def test_every_row_is_drawn_in_blocks_that_wrap_the_buffer(qtbot, reads: str) -> None:
    buffer = SampleRingBuffer(LOG_COLUMNS, capacity=250)
    panel = LiveLoggingPanel(buffer if reads == "since" else _WindowOnly(buffer),
                             DisplayUnits())
    qtbot.addWidget(panel)
    panel.show()
    panel.timer.stop()
    panel.set_window(10.0)  # 600 bins of 1/60 s: every row at 100 Hz is its own point
    t = np.arange(1, 1001) / 100.0
    for start in range(0, t.size, 90):  # 0.9 s a frame, the buffer holds 2.5 s
        block = slice(start, start + 90)
        buffer.append_block(t[block], {"rpm": t[block] * 100.0})
        panel.refresh()
    x, y = panel.rpm_chart.points("rpm")
    kept = np.isfinite(y)
    assert np.array_equal(np.unique(x[kept]), t)  # every row drawn, none lost at a wrap
    assert np.array_equal(y[kept], x[kept] * 100.0)
