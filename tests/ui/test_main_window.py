"""The main window: its dock panels, one status light per device, layout kept across starts."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.tune import Tune
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.panels.live_logging import afr_colour


@pytest.fixture
def _window(qtbot, make_window):  # noqa: ANN001, ANN202
    def shown(_qtbot=None, banner: str = "") -> MainWindow:  # noqa: ANN001
        window = make_window(banner=banner)
        window.show()
        qtbot.waitExposed(window)
        return window

    return shown


def test_the_window_shows_the_panels_and_a_light_per_device(qtbot, _window) -> None:
    window = _window(qtbot)
    titles = sorted(d.windowTitle() for d in window.docks.values())
    assert titles == ["AI suggestions", "Autotune", "Compare runs", "Coverage", "Live logging",
                      "Tables", "Training data", "Tune history"]
    assert all(d.isVisible() for n, d in window.docks.items() if n != "compare")
    assert not window.docks["compare"].isVisible()  # opened when runs are sent to it
    window.compare_action.trigger()
    assert window.docks["compare"].isVisible()
    assert window.tabifiedDockWidgets(window.docks["live"]) == [window.docks["compare"]]
    assert set(window.tabifiedDockWidgets(window.docks["history"])) == {
        window.docks["coverage"], window.docks["autotune"]}
    assert window.tabifiedDockWidgets(window.docks["ai"]) == [window.docks["training"]]
    assert [i.text.text() for i in window.indicators] == ["Dyno: no port", "Wideband: no port"]
    assert "pick a serial port" in window.indicators[0].toolTip().lower()


def test_the_demo_banner_says_the_cell_is_not_available(qtbot, _window) -> None:
    window = _window(qtbot, banner="Demo mode: the virtual dyno cell is not available")
    assert window.live.banner.isVisible()
    assert "not available" in window.live.banner.text()


def test_dock_layout_is_restored_on_the_next_start(qtbot, _window) -> None:
    first = _window(qtbot)
    first.docks["ai"].setFloating(False)
    first.docks["coverage"].hide()
    first.close()  # saves the layout into the settings file
    second = _window(qtbot)
    assert not second.docks["coverage"].isVisible()
    assert second.docks["tables"].isVisible()


def test_the_tables_panel_shows_the_base_ve_map_with_rpm_rows_and_kpa_columns(
        qtbot, _window) -> None:
    window = _window(qtbot)
    assert window.tables.tables == [] and "No tune open" in window.tables.source_label.text()
    tables, label = demo_base_tables()  # what demo mode shows
    window.app.tune.show(Tune({t.name: t for t in tables}), label)
    model = window.tables.view.model()
    table = window.tables.tables[0]
    assert model.rowCount() == table.values.shape[0]
    assert model.headerData(0, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == "20 kPa"
    assert model.headerData(0, Qt.Orientation.Vertical, Qt.ItemDataRole.DisplayRole) == "750"
    assert model.index(0, 0).data() == f"{table.values[0, 0]:.1f}"
    window.tables.picker.setCurrentIndex(1)
    assert window.tables.view.model().table.name == "VE (MAP based/Rear Cyl)"


def test_the_live_panel_repaints_only_when_the_buffer_moved(qtbot, _window) -> None:
    window = _window(qtbot)
    panel = window.live
    panel.refresh()
    repaints = panel.repaints
    panel.refresh()
    assert panel.repaints == repaints  # nothing new, nothing drawn
    t = np.arange(1, 101) / 100.0
    panel.buffer.append_block(
        t, {"rpm": np.full(100, 3500.0), "afr_front": np.full(100, 13.1),
            "afr_target": np.full(100, 13.0), "engine_temp_c": np.full(100, 100.0)}
    )
    qtbot.waitUntil(lambda: panel.repaints > repaints, timeout=2000)
    assert panel.gauges["rpm"].value_label.text() == "3,500"
    assert panel.gauges["engine_temp_c"].value_label.text() == "212"  # shown in °F by default
    assert panel.gauges["map_kpa"].value_label.text() == "—"


@pytest.mark.parametrize(
    ("afr", "colour"), [(13.0, theme.OK), (13.6, theme.FAULT), (12.4, theme.RICH)]
)
def test_afr_is_coloured_lean_red_rich_blue_against_target(afr: float, colour: str) -> None:
    assert afr_colour(afr, 13.0) == colour


def test_gauge_units_follow_the_users_display_units(make_window) -> None:
    window = make_window(units=DisplayUnits(temperature="C", torque="N·m"))
    assert window.live.gauges["engine_temp_c"].unit_label.text() == "°C"
    assert window.live.gauges["torque_ftlb"].unit_label.text() == "N·m"


def test_dense_data_is_drawn_decimated_with_its_peaks_kept() -> None:
    from dynoai_desktop.ui.panels.live_logging import peak_decimate

    x = np.arange(20000) * 0.001
    y = np.full(20000, 13.0)
    y[12345] = 19.5  # a lean spike of one sample
    y[:100] = np.nan
    dx, dy = peak_decimate(x, y, 1200)
    assert dx.size <= 1200 and np.nanmax(dy) == 19.5 and np.nanmin(dy) == 13.0
    assert dx[-1] == x[-1] and np.all(np.diff(dx) >= 0)
    assert peak_decimate(x[:500], y[:500], 1200)[0] is not None
