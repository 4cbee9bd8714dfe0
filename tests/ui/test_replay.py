"""Replay in the main window: a saved run opened in Review plays through the live gauges, strip
charts and the table editor's cursor under a REPLAY banner; the seek slider moves it; Back to
live hands the panels the live buffer again; no replay while a run records, and a recording
ends one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from dynoai_desktop.app.replay import RunReplay
from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.tune import Tune
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.run_files import Marker, RunMetadata, write_run
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel
from tests.app.test_replay import WallClock

RATE_HZ = 100


def _pull() -> pd.DataFrame:
    """60 s at 100 Hz: 3 % throttle at 1000 rpm, then from 20 s a WOT pull, +150 rpm a second."""
    t = np.arange(0, 60 * RATE_HZ) / RATE_HZ
    ramp = np.clip(t - 20.0, 0.0, 25.0)
    return pd.DataFrame({
        "time_s": t, "rpm": 1000.0 + 150.0 * ramp, "map_kpa": np.where(t >= 20, 98.0, 40.0),
        "tps_pct": np.where(t >= 20, 100.0, 3.0), "afr_front": np.full_like(t, 12.8),
        "afr_rear": np.full_like(t, 12.6), "afr_front_status": np.zeros_like(t),
        "afr_rear_status": np.zeros_like(t), "afr_target": np.full_like(t, 13.0),
    })


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    path = tmp_path / "pull.parquet"
    write_run(path, _pull(), RunMetadata("Pull 2", "2026-11-22T10:00:00",
                                         markers=(Marker(21.0, "WOT"),)))
    return path


def _gauge(window: MainWindow, channel: str) -> str:
    return window.live.gauges[channel].value_label.text()


def _show(qtbot, window: MainWindow) -> MainWindow:  # noqa: ANN001
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_run_replays_through_the_live_panels_and_back_to_live(qtbot, make_window,
                                                                 run_file) -> None:
    window = _show(qtbot, make_window())
    app = window.app
    tables, label = demo_base_tables()
    app.tune.show(Tune({t.name: t for t in tables}), label)
    clock = WallClock()
    app.replay.wall_clock = clock
    window.live_dock.show_review()
    assert not window.review.replay_button.isEnabled()  # nothing to replay yet
    assert window.review.open_run(run_file)
    qtbot.mouseClick(window.review.replay_button, Qt.MouseButton.LeftButton)

    replay = app.replay.replay
    assert replay is not None and replay.playing and replay.speed == 1.0
    assert not window.live_dock.reviewing  # the live page, with the transport bar
    bar = window.replay_controller.bar
    assert bar.isVisible() and bar.play_button.text() == "Pause"
    banner = window.live.banner.text()
    assert window.live.banner.isVisible()
    assert banner.startswith("<b>REPLAY</b> (playing at 1×) of Pull 2")
    assert "not the live bike" in banner
    assert window.live.buffer is replay.buffer and window.live.buffer is not app.live.buffer
    assert window.tables.view.tracer.rows is replay.buffer
    assert [m.note for m in window.live.markers.markers] == ["WOT"]

    clock.now_s += 25.0  # 25 s into the run: 5 s into the pull
    qtbot.waitUntil(lambda: _gauge(window, "rpm") == "1,750", timeout=5000)
    assert _gauge(window, "tps_pct") == "100.0"
    assert _gauge(window, "afr_front") == "12.80"
    assert bar.time_label.text() == "00:25 / 00:59"
    ve = window.tables.current_table
    qtbot.waitUntil(lambda: window.tables.view.editor_model.cursor
                    == ve.cell_index(1750.0, 98.0), timeout=5000)

    bar.slider.setValue(100)  # the tuner drags the slider back to 10 s: before the pull
    assert replay.now_s() == pytest.approx(10.0)
    qtbot.waitUntil(lambda: _gauge(window, "rpm") == "1,000", timeout=5000)
    assert _gauge(window, "tps_pct") == "3.0"
    assert bar.time_label.text() == "00:10 / 00:59"
    assert window.tables.view.tracer.rows is replay.buffer  # a fresh trace from there
    qtbot.waitUntil(lambda: window.tables.view.editor_model.cursor
                    == ve.cell_index(1000.0, 40.0), timeout=5000)
    times = window.live.rpm_chart.points("rpm")[0]  # the 10 s before are on the chart
    assert times.min() == pytest.approx(0.0) and times.max() == pytest.approx(10.0)

    bar.speed.setCurrentIndex(bar.speed.findData(20.0))
    assert replay.speed == 20.0
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    assert not replay.playing and window.live.banner.text().startswith("<b>REPLAY</b> (paused)")

    qtbot.mouseClick(bar.back_button, Qt.MouseButton.LeftButton)
    assert app.replay.replay is None and not bar.isVisible()
    assert window.live.buffer is app.live.buffer and window.live.clock == app.live.now_s
    assert window.tables.view.tracer.rows is app.live.buffer
    assert not window.live.banner.isVisible()  # no demo here: no banner
    assert window.live.markers.markers == []
    assert _gauge(window, "rpm") == "—"  # no devices: the live bike shows nothing


def test_a_seek_back_brings_back_the_markers_of_that_time(qtbot, run_file) -> None:
    replay = RunReplay(RunLibrary(None).open_run(run_file), wall_clock=WallClock())
    panel = LiveLoggingPanel(replay.buffer, DisplayUnits(), clock=replay.now_s)
    qtbot.addWidget(panel)
    panel.timer.stop()  # one refresh() is one frame
    panel.resize(1100, 800)
    panel.show()
    qtbot.waitExposed(panel)
    for marker in replay.markers:
        panel.add_marker(marker.time_s, marker.note)
    line = panel.markers.markers[0].lines[0]  # "WOT" at 21 s
    replay.seek(50.0)
    panel.refresh()
    assert not line.isVisible()  # 29 s ago: out of the 20 s window
    replay.seek(30.0)  # back: 9 s after the marker
    panel.refresh()
    assert line.isVisible()
    times = panel.rpm_chart.points("rpm")[0]
    assert times.min() == pytest.approx(10.0, abs=0.1) and times.max() == pytest.approx(30.0)


@pytest.fixture
def demo_window(qtbot, make_window):  # noqa: ANN001, ANN201
    with DemoCell(rate_multiplier=10.0) as demo:
        window = _show(qtbot, make_window(demo=demo.start()))
        yield window
        window.close()


def test_no_replay_while_recording_and_recording_ends_a_replay(qtbot, demo_window,
                                                              run_file) -> None:
    window = demo_window
    app = window.app
    customer = app.runs.add_customer("Replay")
    vehicle = app.runs.add_vehicle(customer, "bike", BuildSpec.stock("twin_cam_103"))
    session = app.runs.start_session(vehicle)
    demo_banner = window.live.banner.text()
    assert demo_banner.startswith("Demo mode")
    window.live_dock.show_review()
    assert window.review.open_run(run_file)

    app.live.start_recording(session, "pull 1")
    qtbot.mouseClick(window.review.replay_button, Qt.MouseButton.LeftButton)
    refused = "A run is recording: stop it before replaying a saved run"
    assert window.review.error.isVisible() and window.review.error.text().startswith(refused)
    assert window.statusBar().currentMessage().startswith(refused)
    assert app.replay.replay is None and window.live.buffer is app.live.buffer
    assert window.live.banner.text() == demo_banner

    qtbot.waitUntil(lambda: app.live.buffer.version > 0, timeout=10000)
    app.live.stop_recording()
    qtbot.mouseClick(window.review.replay_button, Qt.MouseButton.LeftButton)
    assert app.replay.replay is not None and window.live.banner.text().startswith("<b>REPLAY</b>")
    assert app.live.connected  # the devices keep streaming underneath

    app.live.start_recording(session, "pull 2")  # the session bar's Record, say
    assert app.replay.replay is None and not window.replay_controller.bar.isVisible()
    assert window.live.buffer is app.live.buffer and window.live.banner.text() == demo_banner
    assert window.statusBar().currentMessage().startswith("Back to live: a run is recording")
    qtbot.waitUntil(lambda: _gauge(window, "rpm") not in ("—", ""), timeout=10000)
    app.live.stop_recording()
