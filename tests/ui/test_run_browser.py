"""The run library beside Review (issue 22, parts 0 and 4): it lists the sessions' runs with
their peak power, opens one in Review on a double-click or Enter, offers the run just recorded
in one click after Stop, and sends the runs picked to the Autotune and Coverage docks without
touching the tune."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, Tune
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.panels.live_dock import CHARTS_BESIDE_LIBRARY_PX
from dynoai_desktop.ui.panels.run_browser import LENGTH, NAME, PEAK, STATUS, TIME
from tests.core.autotune_logs import steady_log, ve_table
from tests.shop import a_recording_run, a_saved_run, pull_columns


def _shop(window: MainWindow) -> dict[str, int]:
    """Two customers; Dana's Low Rider with an old session and today's: two pulls and a hold
    (lean at 3000 rpm / 60 kPa, rich at 4000 / 80)."""
    catalog = window.app.catalog
    assert catalog is not None
    other = catalog.add_customer("Zed Moto")
    catalog.start_session(catalog.add_vehicle(other, "2004 Sportster",
                                              BuildSpec.stock("sportster_1200")),
                          "2026-11-20T10:00:00")
    dana = catalog.add_customer("Dana Ortiz")
    bike = catalog.add_vehicle(dana, "2016 Low Rider S", BuildSpec.stock("twin_cam_103"))
    old = catalog.start_session(bike, "2026-11-01T10:00:00")
    a_saved_run(catalog, old, "base pull", "2026-11-01T10:05:00", pull_columns(top_hp=80.0))
    today = catalog.start_session(bike, "2026-11-22T10:00:00")
    holds = [steady_log(rpm=3000.0, map_kpa=60.0, afr=13.65),
             steady_log(rpm=4000.0, map_kpa=80.0, afr=12.48, t0=20.0)]
    hold = {k: np.concatenate([h.columns[k] for h in holds]) for k in holds[0].columns}
    ids = {"old": old, "today": today}
    ids["pull 1"] = a_saved_run(catalog, today, "pull 1", "2026-11-22T10:05:00",
                                pull_columns(top_hp=90.0))
    ids["pull 2"] = a_saved_run(catalog, today, "pull 2", "2026-11-22T10:08:00",
                                pull_columns(top_hp=91.5))
    ids["holds"] = a_saved_run(catalog, today, "holds 3k/4k", "2026-11-22T10:12:00", hold)
    window.run_browser.refresh()
    return ids


def _row(window: MainWindow, run_id: int) -> dict[int, str]:
    item = window.run_browser._run_items[run_id]
    return {c: item.text(c) for c in (NAME, TIME, LENGTH, PEAK, STATUS)}


def test_the_library_lists_the_newest_sessions_runs_with_the_newest_selected(
        make_window) -> None:  # noqa: ANN001
    window = make_window()
    ids = _shop(window)
    browser = window.run_browser
    tree = browser.tree
    assert [tree.topLevelItem(i).text(NAME) for i in range(2)] == ["Dana Ortiz", "Zed Moto"]
    today = browser._session_items[ids["today"]]
    assert today.isExpanded() and not browser._session_items[ids["old"]].isExpanded()
    assert today.text(NAME) == "2026-11-22 10:00" and today.text(STATUS) == "3 runs"
    assert [today.child(i).text(NAME) for i in range(3)] == ["pull 1", "pull 2", "holds 3k/4k"]
    assert _row(window, ids["pull 2"]) == {NAME: "pull 2", TIME: "10:08", LENGTH: "0:12",
                                            PEAK: "91.5", STATUS: "recorded"}
    assert tree.headerItem().text(PEAK) == "Peak hp"
    assert [e.id for e in browser.selected_runs()] == [ids["holds"]]  # the newest run

    # Selecting a session picks all its runs; the finder hides what does not match.
    tree.clearSelection()
    today.setSelected(True)
    assert [e.name for e in browser.selected_runs()] == ["pull 1", "pull 2", "holds 3k/4k"]
    browser.find.setText("sportster")
    assert tree.topLevelItem(0).isHidden() and not tree.topLevelItem(1).isHidden()
    browser.find.clear()
    assert not tree.topLevelItem(0).isHidden()

    # Peak power follows the display units.
    window.app.settings.update(units=DisplayUnits(power="kW"))
    assert tree.headerItem().text(PEAK) == "Peak kW"
    assert _row(window, ids["pull 2"])[PEAK] == "68.2"  # 91.5 hp


def test_a_double_click_or_enter_opens_the_run_in_review(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    window.show()
    ids = _shop(window)
    window.live_dock.show_review()
    browser = window.run_browser
    item = browser._run_items[ids["pull 1"]]
    qtbot.waitUntil(lambda: browser.tree.visualItemRect(item).isValid())
    centre = browser.tree.visualItemRect(item).center()
    viewport = browser.tree.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=centre)  # a double-click
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=centre)  # is click + dbl-click
    assert "pull 1" in window.review.title.text() and window.live_dock.reviewing
    assert window.review.values_at(6.0)["rpm"] == pytest.approx(3750.0, abs=20.0)

    browser.tree.setCurrentItem(browser._run_items[ids["pull 2"]])
    qtbot.keyClick(browser.tree, Qt.Key.Key_Return)
    assert "pull 2" in window.review.title.text()


def test_the_review_tab_opens_on_the_newest_run_not_empty(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    ids = _shop(window)
    assert not window.review.plots
    qtbot.mouseClick(window.live_dock.review_button, Qt.MouseButton.LeftButton)
    assert window.live_dock.reviewing and "holds 3k/4k" in window.review.title.text()
    assert [e.id for e in window.run_browser.selected_runs()] == [ids["holds"]]


def test_the_run_just_recorded_opens_in_review_in_one_click(qtbot, make_window) -> None:  # noqa: ANN001
    with DemoCell(rate_multiplier=10.0) as demo:
        window = make_window(demo=demo.start())
        window.show()
        app = window.app
        customer = app.runs.add_customer("Shop test")
        vehicle = app.runs.add_vehicle(customer, "2016 Low Rider S",
                                       BuildSpec.stock("twin_cam_103"))
        bar = window.session_bar
        bar.refresh_customers(select=customer)
        bar.refresh_vehicles(select=vehicle)
        assert bar.start_session() is not None
        bar.run_name_edit.setText("WOT pull 3")
        assert not bar.review_button.isVisible()
        qtbot.mouseClick(bar.record_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: app.live.recorder is not None
                        and app.live.recorder._journal is not None
                        and app.live.recorder._journal.rows > 20, timeout=10000)
        qtbot.mouseClick(bar.record_button, Qt.MouseButton.LeftButton)
        assert bar.review_button.isVisible() and bar.review_button.text() == "Review 'WOT pull 3'"
        (record,) = app.catalog.runs(bar.session_id)
        assert record.file.endswith("_WOT-pull-3.parquet")

        qtbot.mouseClick(bar.review_button, Qt.MouseButton.LeftButton)
        assert window.live_dock.reviewing
        assert window.review.title.text().startswith("WOT pull 3")
        assert [e.id for e in window.run_browser.selected_runs()] == [record.id]
        assert window.run_browser._run_items[record.id].text(STATUS) == "recorded"
        window.live_dock.show_live()
        qtbot.mouseClick(bar.record_button, Qt.MouseButton.LeftButton)
        assert not bar.review_button.isVisible()  # recording again: nothing to review yet
        qtbot.mouseClick(bar.record_button, Qt.MouseButton.LeftButton)
        window.close()


def test_runs_picked_in_the_library_go_to_autotune_and_coverage_and_the_tune_stays(
        qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    app = window.app
    app.tune.show(Tune({t.name: t for t in (ve_table(VE_FRONT_MAP), ve_table(VE_REAR_MAP))}),
                  "test tune")
    before = {name: app.tune.table(name) for name in (VE_FRONT_MAP, VE_REAR_MAP)}
    ids = _shop(window)
    browser = window.run_browser
    browser.tree.clearSelection()
    for run in ("pull 1", "holds"):
        browser._run_items[ids[run]].setSelected(True)
    picked = browser.selected_runs()
    assert [e.id for e in picked] == [ids["pull 1"], ids["holds"]]

    qtbot.mouseClick(browser.analyse_button, Qt.MouseButton.LeftButton)
    panel = window.autotune
    assert window.docks["autotune"].isVisibleTo(window)
    assert panel.wait_for_analysis()
    outcome = app.autotune.offline
    assert outcome is not None
    assert outcome.sources == (f"'pull 1' (session {ids['today']})",
                               f"'holds 3k/4k' (session {ids['today']})")
    assert panel.source.currentText() == "Offline analysis"
    assert outcome.result.tables["ve_front"].mask[2, 2]  # the lean hold wants VE up
    assert {n: app.tune.table(n) for n in before} == before  # nothing applied

    qtbot.mouseClick(browser.coverage_button, Qt.MouseButton.LeftButton)
    coverage = window.coverage
    coverage.refresh(force=True)
    assert coverage.headline.text().startswith("2 runs ('pull 1', 'holds 3k/4k'): priority-1")
    assert coverage.hit_counts[2, 2] > 0 and coverage.hit_counts[3, 3] > 0
    assert coverage.back_button.isVisibleTo(window)
    qtbot.mouseClick(coverage.back_button, Qt.MouseButton.LeftButton)
    coverage.refresh(force=True)
    assert app.coverage.shown_runs is None and coverage.hit_counts.sum() == 0
    assert {n: app.tune.table(n) for n in before} == before


def test_a_recovered_run_stands_out_and_open_run_starts_in_the_runs_folder(
        make_window, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from dynoai_desktop.storage.catalog import Catalog

    with Catalog() as catalog:
        run_id = a_recording_run(catalog, "cut short")  # no journal: a run with no samples
        a_saved_run(catalog, catalog.run(run_id).session_id, "pull 1", "2026-11-22T10:20:00",
                    pull_columns())
    window = make_window()
    assert any(n.startswith("Recovered 1 run(s)") for n in window.app.notices)
    item = window.run_browser._run_items[run_id]
    assert item.text(STATUS) == "recovered" and "crash" in window.run_browser.tip(item, STATUS)
    asked: list[str] = []

    def fake_dialog(_parent, _title, folder, _filter):  # noqa: ANN001, ANN202
        asked.append(folder)
        return "", ""

    monkeypatch.setattr("dynoai_desktop.ui.panels.review.QFileDialog.getOpenFileName",
                        fake_dialog)
    window.review.open_run_button.click()
    assert Path(asked[0]) == window.app.catalog.data_dir / "runs"


def test_runs_picked_in_the_library_are_compared_in_one_click(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    ids = _shop(window)
    browser = window.run_browser
    browser.tree.clearSelection()
    for run in ("pull 1", "pull 2"):
        browser._run_items[ids[run]].setSelected(True)
    qtbot.mouseClick(browser.compare_button, Qt.MouseButton.LeftButton)
    compared = window.app.comparison.runs
    assert [r.name for r in compared] == ["pull 1", "pull 2"]
    assert all(r.curve is not None for r in compared)  # each pull found and drawn
    assert window.docks["compare"].isVisibleTo(window)


def test_in_a_narrow_dock_the_library_steps_aside_for_the_charts(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    window.resize(1280, 800)
    window.show()
    ids = _shop(window)
    dock = window.live_dock
    dock.show_review()
    qtbot.waitUntil(lambda: 0 < dock.review_splitter.width() < CHARTS_BESIDE_LIBRARY_PX)
    assert window.run_browser.isVisible()
    window.library_controller.open_in_review(window.run_browser._entries[ids["pull 1"]])
    assert "pull 1" in window.review.title.text()
    assert not window.run_browser.isVisible()  # the charts have the dock's width
    dock.library_button.click()  # and the library is one click away
    assert window.run_browser.isVisible()
