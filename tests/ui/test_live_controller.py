"""The live dock on the demo cell: data through the real device path, a fault shows on the right
light, Disconnect turns the lights off, a run recorded from the session bar opens in review
mode, a real log opens too, and the Coverage panel fills while a run records."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.main_window import MainWindow

REALDATA = [Path(__file__).parents[2].parent / "shared" / "realdata", Path("/work/shared/realdata")]


@pytest.fixture
def demo_window(qtbot, make_window):  # noqa: ANN001, ANN201
    with DemoCell(rate_multiplier=10.0) as demo:
        window = make_window(demo=demo.start())
        window.show()
        yield window, window.app, demo
        window.close()


def _light(window: MainWindow, role: str):  # noqa: ANN202
    return next(row.light for row in window.device_bar.rows if row.role == role)


def test_the_demo_cell_streams_through_the_device_path(qtbot, demo_window) -> None:
    window, _, _ = demo_window
    qtbot.waitUntil(lambda: _light(window, "wideband").state == "streaming", timeout=10000)
    qtbot.waitUntil(lambda: window.live.gauges["afr_front"].value_label.text() != "—",
                    timeout=3000)
    assert float(window.live.gauges["rpm"].value_label.text().replace(",", "")) > 500
    qtbot.waitUntil(lambda: window.live.repaints > 10, timeout=5000)
    assert _light(window, "dyno").colour == theme.OK
    assert window.device_bar.connect_button.text() == "Disconnect"


def test_a_port_pulled_in_the_cell_shows_on_its_light(qtbot, demo_window) -> None:
    window, _, demo = demo_window
    qtbot.waitUntil(lambda: _light(window, "wideband").state == "streaming", timeout=10000)
    demo.server.drop_port("wideband")
    qtbot.waitUntil(lambda: _light(window, "wideband").state == "port lost", timeout=3000)
    assert _light(window, "wideband").colour == theme.FAULT
    assert "port lost" in _light(window, "wideband").toolTip()
    assert _light(window, "dyno").state == "streaming"
    demo.server.restore_port("wideband")
    qtbot.waitUntil(lambda: _light(window, "wideband").state == "streaming", timeout=5000)


def test_a_sensor_error_shows_on_the_wideband_light(qtbot, demo_window) -> None:
    window, _, demo = demo_window
    qtbot.waitUntil(lambda: _light(window, "wideband").state == "streaming", timeout=10000)
    demo.cell.post(lambda: demo.cell.set_sensor_state("rear", 3, 2))
    qtbot.waitUntil(lambda: _light(window, "wideband").state == "sensor error", timeout=3000)
    assert "rear sensor" in _light(window, "wideband").toolTip()


def test_a_run_recorded_from_the_session_bar_opens_in_review(qtbot, demo_window) -> None:
    window, app, _ = demo_window
    customer = app.runs.add_customer("Shop test")
    vehicle = app.runs.add_vehicle(customer, "2016 Low Rider S", BuildSpec.stock("twin_cam_103"))
    bar = window.session_bar
    bar.refresh_customers(select=customer)
    bar.refresh_vehicles(select=vehicle)
    assert bar.start_session() is not None
    qtbot.mouseClick(bar.record_button, Qt.MouseButton.LeftButton)
    assert app.live.recording
    qtbot.wait(500)
    bar.marker_requested.emit("tip-in")
    qtbot.wait(500)
    qtbot.mouseClick(bar.record_button, Qt.MouseButton.LeftButton)
    assert not app.live.recording
    assert "Saved run 'run 1'" in window.statusBar().currentMessage()
    (record,) = app.catalog.runs(bar.session_id)
    assert record.status == "complete" and record.rows > 50
    assert window.review.open_run(app.runs.run_path(record))
    window.live_dock.show_review()
    assert window.live_dock.reviewing
    assert window.review.marker_list.count() == 1
    values = window.review.values_at(0.5)
    assert not math.isnan(values["rpm"])


@pytest.mark.parametrize("name", ["dynojet_wrl_134power.csv", "empro_MS1_ms_test.msl"])
def test_review_opens_a_real_log(qtbot, demo_window, name: str) -> None:
    folder = next((p for p in REALDATA if (p / name).exists()), None)
    if folder is None:
        pytest.skip("../shared/realdata is not here")
    window, _, _ = demo_window
    assert window.review.open_log(folder / name)
    window.live_dock.show_review()
    assert window.review.values_at(1.0)["rpm"] > 0


def test_disconnect_turns_every_light_back_to_not_connected(qtbot, demo_window) -> None:
    window, app, _ = demo_window
    qtbot.waitUntil(lambda: _light(window, "wideband").state == "streaming", timeout=10000)
    qtbot.mouseClick(window.device_bar.connect_button, Qt.MouseButton.LeftButton)
    assert not app.live.connected
    assert window.device_bar.connect_button.text() == "Connect"
    assert [i.state for i in window.indicators] == ["not connected", "not connected"]
    qtbot.mouseClick(window.device_bar.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.indicators[0].state == "streaming", timeout=5000)


def test_the_coverage_panel_fills_while_a_run_records(qtbot, demo_window) -> None:
    window, app, _ = demo_window
    customer = app.runs.add_customer("Shop test")
    vehicle = app.runs.add_vehicle(customer, "2016 Low Rider S", BuildSpec.stock("twin_cam_103"))
    session = app.runs.start_session(vehicle)
    qtbot.waitUntil(lambda: _light(window, "wideband").state == "streaming", timeout=10000)
    app.live.start_recording(session, "run 1")
    panel = window.coverage
    qtbot.waitUntil(lambda: panel.hit_counts.sum() > 200, timeout=15000)
    view = panel.view
    assert view is not None and view.coverage.name == "ve_front+ve_rear"
    assert view.coverage.axes.shape == app.tune.coverage_table.normalised().shape
    assert "cells covered" in panel.message.text()
    assert panel.headline.text().startswith("2016 Low Rider S: priority-1 regions")
    assert panel.map.marker_at is not None  # the engine now, on the map
    assert panel.plan_list.topLevelItemCount() > 0
    assert panel.run_button.isEnabled()  # the demo dyno takes host commands
    app.live.stop_recording()
