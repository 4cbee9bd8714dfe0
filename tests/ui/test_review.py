"""The Review panel shows a saved run or an imported log: charts, markers, values at the cursor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.units import convert
from dynoai_desktop.storage.log_import import import_log
from dynoai_desktop.storage.run_files import Marker, RunMetadata, write_run
from dynoai_desktop.ui.panels.review import LOG_FILTER, MARKER_ZOOM_S, ReviewPanel
from dynoai_desktop.ui.panels.review_charts import MARKER_COLOUR
from tests.realdata import REALDATA

REAL_LOGS = (
    sorted([*REALDATA.glob("*.csv"), *REALDATA.glob("*.msl"), *REALDATA.glob("*.mlg")])
    if REALDATA
    else []
)
needs_realdata = pytest.mark.skipif(
    REALDATA is None, reason="shared/realdata is not beside the repo"
)

MARKERS = (Marker(12.3, "pinging at WOT"), Marker(40.0, "rear lean at 4000"))
# What the pull logs (afr_rear is not given: write_run stores it all-NaN, one wideband only).
LOGGED = ("rpm", "map_kpa", "tps_pct", "afr_front", "afr_target", "torque_ftlb", "power_hp")


def _pull() -> pd.DataFrame:
    """A 60 s pull at 20 Hz: rpm ramps from 10 s, torque only logged once the roll loads."""
    t = np.round(np.arange(0.0, 60.0, 0.05), 2)
    ramp = np.clip((t - 10.0) / 20.0, 0.0, 1.0)
    rpm = 1500.0 + 4000.0 * ramp
    return pd.DataFrame(
        {
            "time_s": t,
            "rpm": rpm,
            "map_kpa": 40.0 + 55.0 * ramp,
            "tps_pct": np.where(t > 10.0, 100.0, 5.0),
            "afr_front": 13.0 + 0.3 * np.sin(t),
            "afr_target": np.full_like(t, 13.0),
            "torque_ftlb": np.where(t > 10.0, 110.0, np.nan),
            "power_hp": rpm * 110.0 / 5252.0,
        }
    )


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    path = tmp_path / "pull3.parquet"
    metadata = RunMetadata(name="Pull 3", started_at="2026-11-22T10:00:00", markers=MARKERS)
    write_run(path, _pull(), metadata)
    return path


def _panel(qtbot, units: DisplayUnits | None = None) -> ReviewPanel:
    panel = ReviewPanel(RunLibrary(None), units)
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _chart_titles(panel: ReviewPanel) -> list[str]:
    return [chart.spec.title for chart in panel.stack.shown]


def _click(qtbot, panel: ReviewPanel, row: int) -> None:
    item = panel.marker_list.item(row)
    rect = panel.marker_list.visualItemRect(item)
    qtbot.mouseClick(panel.marker_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_saved_run_opens_on_its_charts_with_header_and_markers(qtbot, run_file: Path) -> None:
    panel = _panel(qtbot)
    assert panel.open_run(run_file) is True

    title = panel.title.text()
    for part in ("Pull 3", "DynoAI run", "2026-11-22 10:00:00", "1,200 rows", "60.0 s"):
        assert part in title
    assert not panel.error.isVisible()
    frame = _pull()
    assert set(panel.curves) == set(LOGGED)  # all-NaN afr_rear is left out of the AFR chart
    x, y = panel.curves["rpm"].getOriginalDataset()
    np.testing.assert_array_equal(x, frame["time_s"])
    np.testing.assert_array_equal(y, frame["rpm"])
    assert len(panel.plots) == 4
    assert panel.x_range() == pytest.approx((0.0, 59.95))  # the whole run
    for plot in panel.plots:
        assert plot.viewRange()[0] == pytest.approx([0.0, 59.95])  # x is linked

    assert [panel.marker_list.item(i).text() for i in range(panel.marker_list.count())] == [
        "12.3 s  pinging at WOT",
        "40.0 s  rear lean at 4000",
    ]
    layers = panel.stack.marker_layers  # one item per chart draws all its markers
    assert len(layers) == 4 and all(list(layer.times) == [12.3, 40.0] for layer in layers)
    assert layers[0].notes == ("pinging at WOT", "rear lean at 4000")
    assert layers[0].labelled and not any(layer.labelled for layer in layers[1:])


def test_a_narrow_panel_puts_markers_and_cursor_under_the_charts(qtbot, run_file: Path) -> None:
    panel = _panel(qtbot)
    assert panel.open_run(run_file)
    assert panel.splitter.orientation() == Qt.Orientation.Horizontal
    chart_width = panel.charts.width()
    panel.resize(560, 800)  # beside the run library in a narrow dock
    qtbot.waitUntil(lambda: panel.splitter.orientation() == Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: panel.charts.width() > 500)  # the charts keep the whole width
    assert panel.marker_list.isVisible() and panel.cursor_label.isVisible()
    panel.resize(1200, 800)
    qtbot.waitUntil(lambda: panel.splitter.orientation() == Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: panel.charts.width() == chart_width)


def test_clicking_a_marker_centres_the_view_on_it(qtbot, run_file: Path) -> None:
    panel = _panel(qtbot)
    panel.open_run(run_file)

    _click(qtbot, panel, 0)  # from the whole run: a 10 s window around the marker
    assert panel.x_range() == pytest.approx((12.3 - MARKER_ZOOM_S / 2, 12.3 + MARKER_ZOOM_S / 2))

    panel.plots[2].setXRange(20.0, 24.0, padding=0)  # the tuner zooms in on another chart
    _click(qtbot, panel, 1)  # keeps the 4 s zoom width
    assert panel.x_range() == pytest.approx((38.0, 42.0))
    assert panel.plots[3].viewRange()[0] == pytest.approx([38.0, 42.0])


def test_values_under_the_cursor_are_the_runs_samples_in_display_units(
    qtbot, run_file: Path
) -> None:
    units = DisplayUnits(pressure="inHg", torque="N·m", power="kW", afr="lambda")
    panel = _panel(qtbot, units)
    panel.open_run(run_file)
    frame = _pull()
    row = frame.iloc[400]  # t = 20.0 s
    values = panel.values_at(20.01)  # nearest sample is t = 20.0
    assert values == {channel: pytest.approx(row[channel]) for channel in LOGGED}

    text = panel.cursor_text(20.01)
    assert text.splitlines()[0] == "20.01 s"
    assert f"MAP: {row['map_kpa']:,.1f} kPa" in text  # MAP stays kPa: the tables' load axis
    assert f"Torque: {convert(row['torque_ftlb'], 'ft-lb', 'N·m'):,.1f} N·m" in text
    assert f"Power: {convert(row['power_hp'], 'hp', 'kW'):,.1f} kW" in text
    assert f"AFR front: {row['afr_front'] / 14.7:.3f} λ" in text
    assert f"Engine speed: {row['rpm']:,.0f} rpm" in text
    assert "Throttle: 100.0 %" in text

    panel.show_cursor(20.01)
    assert panel.cursor_label.text() == text
    assert all(line.isVisible() and line.value() == 20.01 for line in panel.cursor_lines)


def test_the_cursor_follows_the_mouse_over_any_chart(qtbot, run_file: Path) -> None:
    panel = _panel(qtbot)
    panel.open_run(run_file)
    plot = panel.plots[1]
    scene_pos = plot.vb.mapViewToScene(QPointF(30.0, 3000.0))
    panel.charts.scene().sigMouseMoved.emit(scene_pos)
    assert panel.cursor_lines[0].value() == pytest.approx(30.0, abs=0.1)
    assert "Engine speed: 5,500 rpm" in panel.cursor_label.text()


def test_a_missing_value_reads_as_a_dash(qtbot, run_file: Path) -> None:
    panel = _panel(qtbot)
    panel.open_run(run_file)
    values = panel.values_at(5.0)  # torque is only logged from 10 s
    assert np.isnan(values["torque_ftlb"])
    assert "Torque: —" in panel.cursor_text(5.0)
    assert "afr_rear" not in values and "AFR rear" not in panel.cursor_text(5.0)
    beyond = panel.cursor_text(75.0)  # past the end of the run: nothing there
    assert all(line.endswith("—") for line in beyond.splitlines()[1:])


def test_a_run_with_no_samples_says_so(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    write_run(path, {"time_s": []}, RunMetadata(name="Aborted", started_at="2026-11-22T10:00"))
    panel = _panel(qtbot)
    assert panel.open_run(path) is True
    assert "0 rows · no samples" in panel.title.text()
    assert panel.plots == [] and panel.values_at(1.0) == {}
    assert panel.cursor_text(1.0) == "1.00 s"


@needs_realdata
@pytest.mark.parametrize("log", REAL_LOGS, ids=lambda p: p.name)
def test_each_real_log_opens_with_its_rpm_and_the_importers_notes(qtbot, log: Path) -> None:
    panel = _panel(qtbot)
    assert panel.open_log(log) is True
    imported = import_log(log)
    title = panel.title.text()
    assert log.name in title and imported.source_format in title
    assert f"{imported.rows:,} rows" in title
    x, y = panel.curves["rpm"].getOriginalDataset()
    np.testing.assert_array_equal(y, imported.frame["rpm"])
    assert panel.x_range() == pytest.approx(
        (imported.frame["time_s"].iloc[0], imported.frame["time_s"].iloc[-1])
    )
    assert panel.marker_list.count() == 0
    assert panel.notes_label.isVisible()
    assert panel.notes_label.text().startswith("• ")
    panel.notes_toggle.setChecked(True)  # expanded: every warning and refusal, in full
    for note in (*imported.warnings, *imported.refusals):
        assert note in panel.notes_label.text()


@needs_realdata
def test_the_winpep_pull_shows_torque_power_and_one_wideband(qtbot) -> None:
    assert REALDATA is not None
    panel = _panel(qtbot)
    panel.open_log(REALDATA / "dynojet_wrl_134power.csv")
    assert {"rpm", "afr_front", "torque_ftlb", "power_hp"} <= set(panel.curves)
    assert "afr_rear" not in panel.curves  # the log's 'AFR 2' is empty
    assert "+" in panel.notes_label.text()  # collapsed: first warning, "(+N more)"
    assert "Engine speed:" in panel.cursor_text(5.0)


@needs_realdata
def test_the_romraider_log_shows_rpm_map_and_its_decimal_comma_warning(qtbot) -> None:
    assert REALDATA is not None
    panel = _panel(qtbot)
    panel.open_log(REALDATA / "ultralog_romraiderlog_20251031_170713.csv")
    assert {"rpm", "map_kpa", "afr_front"} <= set(panel.curves)
    assert "torque_ftlb" not in panel.curves  # no torque/power chart
    assert _chart_titles(panel) == ["AFR", "Engine speed", "MAP / throttle", "Spark advance"]
    assert panel.plots[2].getAxis("left").labelText == "kPa"  # no throttle in this log
    assert panel.absent_label.text() == "Not logged: Torque / power, Knock retard, Temperatures"
    assert "decimal comma" in panel.notes_label.toolTip()


def test_a_broken_file_shows_an_error_and_keeps_the_shown_run(
    qtbot, run_file: Path, tmp_path: Path
) -> None:
    panel = _panel(qtbot)
    panel.open_run(run_file)
    broken = tmp_path / "broken.csv"
    broken.write_text("hello,world\n1,2\n")

    assert panel.open_log(broken) is False
    assert panel.error.isVisible()
    assert "broken.csv" in panel.error.text() and "Traceback" not in panel.error.text()
    assert "Pull 3" in panel.title.text() and len(panel.plots) == 4

    assert panel.open_run(broken) is False  # a log is not a run file either
    assert "broken.csv" in panel.error.text() and "import it as a log" in panel.error.text()

    assert panel.open_run(tmp_path / "missing.parquet") is False
    assert "no such file" in panel.error.text()

    assert panel.open_run(run_file) is True  # the next good file clears the error
    assert not panel.error.isVisible()


def test_units_change_on_the_open_run_and_arrow_keys_move_the_cursor(
    qtbot, run_file: Path
) -> None:
    panel = _panel(qtbot)
    panel.open_run(run_file)
    panel.show_cursor(20.0)
    assert "AFR front: 13." in panel.cursor_label.text()
    panel.set_units(DisplayUnits(afr="lambda", torque="N·m"))
    assert "λ" in panel.plots[0].getAxis("left").labelText
    assert "AFR front: 0.9" in panel.cursor_label.text() and "N·m" in panel.cursor_label.text()
    panel.charts.setFocus()
    qtbot.keyClick(panel.charts, Qt.Key.Key_Right)
    assert panel.cursor_s == pytest.approx(20.05)
    qtbot.keyClick(panel.charts, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert panel.cursor_s == pytest.approx(19.55)
    for _ in range(3):
        qtbot.keyClick(panel.charts, Qt.Key.Key_Left)
    assert panel.cursor_s == pytest.approx(19.4)


ENGINE_CHANNELS = ("spark_front_deg", "spark_rear_deg", "knock_retard_front_deg",
                   "knock_retard_rear_deg", "engine_temp_c", "iat_c", "ambient_temp_c")
ALL_CHARTS = ["AFR", "Engine speed", "MAP / throttle", "Torque / power", "Spark advance",
              "Knock retard", "Temperatures"]


def _pull_from_the_ecm() -> pd.DataFrame:
    """The pull with what the ECM logs too: spark pulled out as the load comes in, a 2.5°
    knock retard on the rear for a second at 25 s, the head warming up."""
    frame = _pull()
    t = frame["time_s"].to_numpy()
    ramp = np.clip((t - 10.0) / 20.0, 0.0, 1.0)
    frame["spark_front_deg"] = 30.0 - 8.0 * ramp
    frame["spark_rear_deg"] = 29.0 - 8.0 * ramp
    frame["knock_retard_front_deg"] = 0.0
    frame["knock_retard_rear_deg"] = np.where((t >= 25.0) & (t < 26.0), 2.5, 0.0)
    frame["engine_temp_c"] = 150.0 + t / 6.0
    frame["iat_c"] = 35.0
    frame["ambient_temp_c"] = 24.0
    return frame


@pytest.fixture
def ecm_run_file(tmp_path: Path) -> Path:
    path = tmp_path / "pull4.parquet"
    metadata = RunMetadata(name="Pull 4", started_at="2026-11-22T10:05:00", markers=MARKERS)
    write_run(path, _pull_from_the_ecm(), metadata)
    return path


def test_spark_knock_and_temperatures_are_charted_and_read_at_the_cursor(
    qtbot, ecm_run_file: Path
) -> None:
    panel = _panel(qtbot)  # °F, as the default display units
    panel.open_run(ecm_run_file)
    assert _chart_titles(panel) == ALL_CHARTS
    assert set(ENGINE_CHANNELS) <= set(panel.curves)
    assert not panel.absent_label.isVisible()
    for plot in panel.plots:
        assert plot.viewRange()[0] == pytest.approx([0.0, 59.95])  # x is linked on all seven
    assert panel.plots[4].getAxis("left").labelText == "°"
    assert panel.plots[6].getAxis("left").labelText == "°F"
    low, high = panel.plots[5].viewRange()[1]
    assert -0.5 < low < 0.0 and high >= 4.0  # knock retard reads up from zero, 4° at least

    row = _pull_from_the_ecm().iloc[510]  # t = 25.5 s, in the knock
    values = panel.values_at(25.5)
    assert {c: values[c] for c in ENGINE_CHANNELS} == {c: pytest.approx(row[c])
                                                       for c in ENGINE_CHANNELS}
    text = panel.cursor_text(25.5)
    assert f"Spark front: {row['spark_front_deg']:.1f}°" in text
    assert f"Spark rear: {row['spark_rear_deg']:.1f}°" in text
    assert "Knock retard front: 0.0°" in text and "Knock retard rear: 2.5°" in text
    assert f"Engine temp: {convert(row['engine_temp_c'], 'C', 'F'):,.1f} °F" in text
    assert f"Intake air: {convert(35.0, 'C', 'F'):.1f} °F" in text
    assert f"Ambient: {convert(24.0, 'C', 'F'):.1f} °F" in text
    assert panel.cursor_text(27.0).count("Knock retard rear: 0.0°") == 1  # after the knock

    panel.show_cursor(25.5)
    panel.set_units(DisplayUnits(temperature="C"))
    assert panel.plots[6].getAxis("left").labelText == "°C"
    assert f"Engine temp: {row['engine_temp_c']:,.1f} °C" in panel.cursor_label.text()
    x, y = panel.curves["engine_temp_c"].getOriginalDataset()
    np.testing.assert_allclose(y, _pull_from_the_ecm()["engine_temp_c"])


def test_a_run_without_spark_knock_or_temperatures_leaves_their_charts_out_and_says_so(
    qtbot, run_file: Path
) -> None:
    panel = _panel(qtbot)
    panel.open_run(run_file)
    assert _chart_titles(panel) == ALL_CHARTS[:4]
    assert panel.absent_label.isVisible()
    assert panel.absent_label.text() == "Not logged: Spark advance, Knock retard, Temperatures"
    text = panel.cursor_text(20.0)
    assert "Spark" not in text and "Knock" not in text and "temp" not in text
    assert not set(ENGINE_CHANNELS) & set(panel.values_at(20.0))


def test_runs_opened_one_after_another_reuse_the_charts_and_keep_them_linked(
    qtbot, run_file: Path, ecm_run_file: Path
) -> None:
    panel = _panel(qtbot)
    panel.open_run(run_file)
    four = list(panel.plots)
    panel.open_run(ecm_run_file)  # the same time span, three charts more
    seven = list(panel.plots)
    assert seven[:4] == four and len(seven) == 7
    for plot in seven:
        assert plot.viewRange()[0] == pytest.approx([0.0, 59.95])
    spark = panel.stack.shown[4].curves["spark_front_deg"]

    panel.open_run(run_file)  # no ECM channels: four charts, the same ones as before
    assert panel.plots == four
    assert spark.getOriginalDataset() == (None, None)  # a chart left out keeps no samples
    assert panel.absent_label.isVisible()

    panel.open_run(ecm_run_file)
    assert panel.plots == seven and not panel.absent_label.isVisible()
    x, y = panel.curves["spark_front_deg"].getOriginalDataset()
    np.testing.assert_array_equal(y, _pull_from_the_ecm()["spark_front_deg"])
    panel.plots[5].setXRange(20.0, 30.0, padding=0)  # zoomed on the knock chart
    for plot in panel.plots:
        assert plot.viewRange()[0] == pytest.approx([20.0, 30.0])
    panel.show_cursor(25.5)
    assert len(panel.cursor_lines) == 7 and all(line.isVisible() for line in panel.cursor_lines)


def _marker_pixels(panel: ReviewPanel, plot_index: int, time_s: float) -> int:
    """How many pixels near the marker colour the column at ``time_s`` has in a chart (a grid
    line over a marker line tints it)."""
    image = panel.charts.grab().toImage()
    plot = panel.plots[plot_index]
    rect = plot.vb.sceneBoundingRect()
    x = round(panel.charts.mapFromScene(plot.vb.mapViewToScene(QPointF(time_s, 0.0))).x())
    top = round(panel.charts.mapFromScene(rect.topLeft()).y())
    bottom = round(panel.charts.mapFromScene(rect.bottomLeft()).y())
    marker = QColor(MARKER_COLOUR)

    def near(rgb: int) -> bool:
        pixel = QColor(rgb)
        return max(abs(pixel.red() - marker.red()), abs(pixel.green() - marker.green()),
                   abs(pixel.blue() - marker.blue())) < 40

    return sum(near(image.pixel(x, y)) for y in range(top + 1, bottom - 1))


def test_every_marker_is_drawn_as_a_line_on_every_chart(qtbot, ecm_run_file: Path) -> None:
    panel = _panel(qtbot)
    panel.open_run(ecm_run_file)
    qtbot.waitUntil(lambda: _marker_pixels(panel, 1, 40.0) > 10)
    assert _marker_pixels(panel, 1, 12.3) > 10  # the engine speed chart: rpm is purple
    assert _marker_pixels(panel, 6, 40.0) > 10
    assert _marker_pixels(panel, 1, 30.0) == 0  # no marker at 30 s


@needs_realdata
def test_the_buell_log_shows_its_spark_advance_and_head_temperature(qtbot) -> None:
    assert REALDATA is not None
    panel = _panel(qtbot)
    panel.open_log(REALDATA / "ecmdroid_Buell_BUE2D_log.msl")
    assert {"spark_front_deg", "spark_rear_deg", "engine_temp_c", "iat_c"} <= set(panel.curves)
    assert "Spark advance" in _chart_titles(panel) and "Temperatures" in _chart_titles(panel)
    assert "Knock retard" in panel.absent_label.text()
    start, end = panel.x_range()
    text = panel.cursor_text((start + end) / 2)
    assert "Spark front: " in text and "°\n" in text and " °F" in text


def test_a_tunerstudio_mlg_opens_with_its_markers(qtbot, tmp_path: Path) -> None:
    from tests.core.autotune_logs import steady_log
    from tests.storage.mlg_writer import log_to_mlg

    path = tmp_path / "pulls.mlg"
    path.write_bytes(log_to_mlg(dict(steady_log(seconds=5.0).columns), version=1,
                                markers={120: "WOT pull 1"}))
    panel = _panel(qtbot)
    assert panel.open_log(path) is True
    assert "TunerStudio MLG v1" in panel.title.text()
    assert panel.markers_title.text() == "Markers (1)"
    assert panel.marker_list.item(0).text() == "1.2 s  WOT pull 1"
    assert "*.mlg" in LOG_FILTER
