"""The Compare runs panel: a curve per run in its colour, a legend naming them, a cursor that
reads every run into the table, the standard changing the peaks shown, the user's units."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt

from dynoai_desktop.app.run_comparison import PALETTE, RunComparison
from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.power import sae_j1349_factor
from dynoai_desktop.core.power_curves import Standard
from dynoai_desktop.ui.panels.run_compare import RunComparePanel
from tests.power_runs import HOT_HIGH, four_run_files, pulls_frame, run_file

NAMES = ["Base map", "After autotune", "Stage 2 cam", "Short pull"]


def _panel(qtbot, units: DisplayUnits | None = None) -> RunComparePanel:
    panel = RunComparePanel(RunComparison(RunLibrary(None)), units)
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _move_mouse_to(panel: RunComparePanel, rpm: float) -> None:
    """The mouse over the power chart at ``rpm``, as the scene reports a move."""
    view = panel.charts.power_plot.vb
    middle = view.viewRange()[1]
    scene_pos = view.mapViewToScene(QPointF(rpm, sum(middle) / 2))
    panel.charts.scene().sigMouseMoved.emit(scene_pos)


def _cells(panel: RunComparePanel) -> list[list[str]]:
    table = panel.readout
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def test_each_run_is_drawn_in_its_colour_and_the_legend_names_it(qtbot,
                                                                tmp_path: Path) -> None:
    panel = _panel(qtbot)
    assert panel.empty.isVisible()
    assert panel.add_runs(four_run_files(tmp_path))
    runs = panel.comparison.runs
    assert [row.name.full_text() for row in panel.rows] == NAMES
    assert not panel.empty.isVisible()
    for run, colour in zip(runs, PALETTE, strict=False):
        traces = panel.charts.items[run.key]
        assert traces["power"].opts["pen"].color().name() == colour
        assert traces["torque"].opts["pen"].color().name() == colour
        assert traces["torque"].opts["pen"].style() == Qt.PenStyle.DashLine
        assert traces["afr_rear"].opts["pen"].style() == Qt.PenStyle.DotLine
        x, _ = traces["power"].getData()  # over the run's own rpm only
        assert x[0] == pytest.approx(run.curve.x[0]) and x[-1] == pytest.approx(run.curve.x[-1])
        assert ("delta_power" in traces) == (run is not runs[0])  # the first is the before
    legend = [label.text for _, label in panel.charts.legend.items]
    power, torque = runs[0].curve.peak_power[0], runs[0].curve.peak_torque[0]
    assert legend[0] == f"Base map (before): {power:,.1f} hp · {torque:,.1f} ft-lb"
    assert [text.split(":")[0] for text in legend] == ["Base map (before)", *NAMES[1:]]
    assert panel.rows[0].peaks.text().startswith("Power ")
    assert "Torque 100.0 ft-lb @ 3,500 rpm" in panel.rows[0].peaks.text()


def test_moving_the_mouse_reads_every_run_at_that_rpm(qtbot, tmp_path: Path) -> None:
    panel = _panel(qtbot)
    panel.add_runs(four_run_files(tmp_path))
    _move_mouse_to(panel, 4000.0)
    assert panel.cursor_x == pytest.approx(4000.0, abs=15.0)
    assert panel.cursor_title.text().startswith("At 4,0") and panel.cursor_title.text().endswith(
        "rpm:")
    readings = panel.comparison.read_all(panel.cursor_x)
    rows = _cells(panel)
    assert [r[0] for r in rows] == [f"■ {name}" for name in NAMES]
    assert rows[0][1] == f"{readings[0].power_hp:,.1f}" and rows[0][5] == "before"
    assert rows[1][2] == f"{readings[1].torque_ftlb:,.1f}" and rows[1][3] == "12.80"
    assert rows[1][5].startswith("+")  # more torque everywhere: more power
    assert all(line.isVisible() and line.value() == pytest.approx(panel.cursor_x)
               for line in panel.charts.cursor_lines)
    assert panel.readout.item(2, 0).foreground().color().name() == PALETTE[2]
    _move_mouse_to(panel, 5800.0)  # beyond the base map's and the short pull's reach
    rows = _cells(panel)
    assert rows[0][1] == "—" and rows[3][1] == "—" and rows[3][5] == "—"
    assert rows[1][1] != "—" and rows[2][1] != "—"


def test_the_mouse_over_the_power_chart_zooms_the_rpm_of_every_chart(qtbot,
                                                                     tmp_path: Path) -> None:
    panel = _panel(qtbot)
    panel.add_runs(four_run_files(tmp_path))
    charts = panel.charts
    view = charts.power_plot.vb
    point = view.mapViewToScene(QPointF(4000.0, sum(view.viewRange()[1]) / 2))
    under = [item for item in charts.scene().items(point) if isinstance(item, pg.ViewBox)]
    assert under[0] is view  # not the torque view: a wheel there would zoom the torque alone
    view.scaleBy(x=0.5, center=QPointF(4000.0, 0.0))
    for other in (charts.torque_view, charts.afr_plot.vb, charts.delta_plot.vb):
        assert other.viewRange()[0] == pytest.approx(view.viewRange()[0])


def test_changing_the_standard_changes_the_peaks_shown(qtbot, tmp_path: Path) -> None:
    panel = _panel(qtbot)
    panel.add_runs([run_file(tmp_path, "Hot day", pulls_frame([(2000.0, 5500.0)]), HOT_HIGH)])
    corrected = panel.comparison.runs[0].curve.peak_power[0]
    sae_text = panel.rows[0].peaks.text()
    sae_legend = panel.charts.legend_names[0]
    panel.standard_box.setCurrentIndex(panel.standard_box.findData(Standard.UNCORRECTED))
    assert panel.comparison.standard is Standard.UNCORRECTED
    raw = panel.comparison.runs[0].curve.peak_power[0]
    assert corrected / raw == pytest.approx(sae_j1349_factor(90.0, 35.0, 40.0))
    assert panel.rows[0].peaks.text() != sae_text
    assert f"Power {raw:,.1f} hp" in panel.rows[0].peaks.text()
    assert panel.rows[0].peaks.text().endswith("uncorrected")
    assert panel.charts.legend_names[0] != sae_legend
    panel.smoothing_box.setCurrentIndex(panel.smoothing_box.findData(0))
    assert panel.comparison.runs[0].curve.smoothing == 0


def test_a_run_without_a_pull_is_listed_with_the_reason(qtbot, tmp_path: Path) -> None:
    panel = _panel(qtbot)
    idle = pulls_frame([(2000.0, 5500.0)])
    idle["tps_pct"] = 10.0
    panel.add_runs([run_file(tmp_path, "Idle only", idle)])
    assert panel.rows[0].peaks.text().startswith("no full-throttle pull found: the throttle "
                                                 "never reached 80 %")
    assert panel.charts.items == {}
    assert panel.rows[0].pull_box.isHidden()


def test_the_ninth_run_is_refused_in_words(qtbot, tmp_path: Path) -> None:
    panel = _panel(qtbot)
    path = run_file(tmp_path, "Pull", pulls_frame([(2000.0, 5000.0)]))
    assert not panel.add_runs([path] * 9)
    assert len(panel.rows) == 8
    assert "up to 8 runs can be compared at once" in panel.error.text()
    assert panel.error.isVisible() and not panel.add_run_button.isEnabled()
    qtbot.mouseClick(panel.rows[3].remove, Qt.MouseButton.LeftButton)
    assert len(panel.rows) == 7 and panel.add_run_button.isEnabled()


def test_another_pull_and_another_before_run_are_picked_in_the_list(qtbot,
                                                                   tmp_path: Path) -> None:
    panel = _panel(qtbot)
    two = run_file(tmp_path, "Two pulls", pulls_frame([(2000.0, 4000.0), (2500.0, 5800.0)]))
    one = run_file(tmp_path, "One pull", pulls_frame([(2000.0, 5500.0)]))
    panel.add_runs([two, one])
    row = panel.rows[0]
    assert not row.pull_box.isHidden() and row.pull_box.count() == 2
    assert row.pull_box.currentIndex() == 1  # the stronger pull
    row.pull_box.activated.emit(0)
    assert panel.comparison.runs[0].pull_index == 0
    assert panel.rows[0].pull_box.currentIndex() == 0
    qtbot.mouseClick(panel.rows[1].before, Qt.MouseButton.LeftButton)
    assert panel.comparison.before_key == panel.comparison.runs[1].key
    assert panel.rows[1].before.isChecked() and not panel.rows[0].before.isChecked()
    assert panel.charts.legend_names[1].startswith("One pull (before)")


def test_values_follow_the_users_units(qtbot, tmp_path: Path) -> None:
    panel = _panel(qtbot)
    panel.add_runs(four_run_files(tmp_path)[:2])
    panel.show_cursor(4000.0)
    hp = panel.comparison.read_all(4000.0)[1].power_hp
    panel.set_units(DisplayUnits(power="kW", torque="N·m", afr="lambda"))
    headers = [panel.readout.horizontalHeaderItem(c).text() for c in range(6)]
    assert headers == ["Run", "kW", "N·m", "λ F", "λ R", "Δ kW"]
    assert _cells(panel)[1][1] == f"{hp * 0.7456999:,.1f}"
    assert _cells(panel)[1][3] == f"{12.8 / 14.7:.3f}"
    assert " kW · " in panel.charts.legend_names[0] and "N·m" in panel.charts.legend_names[0]
    assert "kW" in panel.charts.power_plot.getAxis("left").labelText
    assert "kW @ " in panel.rows[0].peaks.text()


def test_the_main_window_has_a_compare_runs_tab_that_takes_runs_sent_to_it(
        qtbot, make_window, tmp_path: Path) -> None:
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    dock = window.docks["compare"]
    assert dock.windowTitle() == "Compare runs"
    assert not dock.isVisible()  # closed until runs are sent to it
    assert window.compare.comparison is window.app.comparison
    assert window.add_runs(four_run_files(tmp_path))
    assert window.tabifiedDockWidgets(window.docks["live"]) == [dock]
    assert len(window.app.comparison.runs) == 4
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty())  # its tab came to the front
    window.app.settings.update(units=DisplayUnits(power="kW"))
    assert window.compare.units.power == "kW"
