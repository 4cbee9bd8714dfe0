"""The Coverage panel (issue 17): the planner's list best first with the regions' gaps on the
map, the constraints changing the list and saying what they ruled out, a picked test's cells
marked, kept coverage drawn covered or "went there, no usable data", a refusal shown in the
panel, and the message when no tune is open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.coverage.grid import CoverageAxes
from dynoai_desktop.core.plan import parse_plan_spec
from dynoai_desktop.core.tune import Tune
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.ui.panels import coverage_map
from dynoai_desktop.ui.panels.coverage import NO_DYNO, CoveragePanel

VEHICLE = "2016 Low Rider S"


def _panel(qtbot, app: DynoApp) -> CoveragePanel:  # noqa: ANN001
    panel = CoveragePanel(app.coverage)
    qtbot.addWidget(panel)
    panel.resize(420, 900)
    panel.show()
    return panel


@pytest.fixture
def tuned(qtbot) -> Iterator[tuple[DynoApp, CoveragePanel, int]]:  # noqa: ANN001
    """The demo base map open, a session for a vehicle with no coverage yet, the panel."""
    app = DynoApp()
    tables, label = demo_base_tables()
    app.tune.show(Tune({t.name: t for t in tables}), label)
    customer = app.runs.add_customer("Shop test")
    vehicle = app.runs.add_vehicle(customer, VEHICLE, BuildSpec.stock("twin_cam_103"))
    app.runs.start_session(vehicle)
    panel = _panel(qtbot, app)
    yield app, panel, vehicle
    panel.shutdown()
    app.close()


def _titles(panel: CoveragePanel) -> list[str]:
    return [panel.plan_list.topLevelItem(i).text(0)
            for i in range(panel.plan_list.topLevelItemCount())]


def test_an_empty_coverage_lists_the_best_test_first_and_counts_the_gaps(tuned) -> None:  # noqa: ANN001
    app, panel, _ = tuned
    view = panel.view
    assert view is not None and view.summary.covered == 0
    plan = view.plan.suggestions
    assert plan and _titles(panel) == [s.title for s in plan]
    top = panel.plan_list.topLevelItem(0)
    assert top.text(1) == f"{plan[0].minutes:.1f}"
    assert top.text(2) == f"+{plan[0].gain:.1f} cells"
    assert top.toolTip(0) == plan[0].why
    # The best test is picked until the tuner picks another; its cells are marked.
    assert panel.selected_suggestion() is plan[0]
    assert panel.map.selected_cells == set(plan[0].cells_filled)
    assert panel.why.text() == plan[0].why

    gaps = {g for r in view.summary.regions for g in r.gaps}
    assert panel.map.gap_cells == gaps and len(gaps) > 20
    assert f"{VEHICLE}: priority-1 regions 0 % covered; {len(gaps)} gaps" == \
        panel.headline.text()
    for region in view.summary.regions:
        assert f"{region.region.name} 0 % ({len(region.gaps)} gaps)" in panel.message.text()
    assert panel.map.region_names and set(panel.map.region_names) == \
        {r.region.name for r in view.summary.regions}
    assert panel.settings.covered_at.value() == app.coverage.min_weight


def test_on_the_street_sweeps_and_holds_go_and_the_panel_says_why(qtbot, tuned) -> None:  # noqa: ANN001
    app, panel, _ = tuned
    assert any(t.startswith(("Sweep", "Hold")) for t in _titles(panel))
    assert panel.ruled_out.isHidden()
    venue = panel.settings.venue
    venue.setCurrentIndex(venue.findData("street"))
    assert app.coverage.constraints.venue == "street"
    qtbot.waitUntil(lambda: panel.ruled_out.count() > 0, timeout=3000)  # on the panel's timer
    titles = _titles(panel)
    assert titles and not any(t.startswith(("Sweep", "Hold")) for t in titles)
    assert {s.kind for s in panel.suggestions} <= {"pull", "decel", "idle"}
    ruled_out = panel.view.plan.ruled_out
    lines = [panel.ruled_out.item(i).text() for i in range(panel.ruled_out.count())]
    assert lines == [f"{test} — {why}" for test, why in ruled_out]
    assert all("needs the dyno" in line for line in lines)
    assert panel.ruled_out_title.text() == f"Ruled out by the constraints ({len(lines)}):"


def test_picking_a_test_marks_its_cells_and_stays_picked(tuned) -> None:  # noqa: ANN001
    app, panel, _ = tuned
    plan = panel.suggestions
    other = next(i for i, s in enumerate(plan)
                 if s.cells_filled and set(s.cells_filled) != set(plan[0].cells_filled))
    panel.plan_list.setCurrentItem(panel.plan_list.topLevelItem(other))
    assert panel.selected_suggestion() is plan[other]
    assert panel.map.selected_cells == set(plan[other].cells_filled)
    # The list is worked out again (a setting changed): the picked test stays picked.
    panel.settings.max_pulls.setValue(12)
    panel.refresh()
    assert app.coverage.constraints.max_pulls == 12
    picked = panel.selected_suggestion()
    assert picked is not None and picked.title == plan[other].title
    assert panel.map.selected_cells == set(picked.cells_filled)


def test_kept_coverage_draws_covered_and_unusable_cells(tuned, monkeypatch) -> None:  # noqa: ANN001
    app, panel, vehicle = tuned
    axes = CoverageAxes.of_table(app.tune.table(app.coverage.tables()["ve_front"][0].name))
    weight = np.zeros(axes.shape)
    hits = np.zeros(axes.shape, dtype=np.int64)
    weight[8:12, 6:8] = 50.0  # covered
    hits[8:12, 6:8] = 300
    hits[2, 0] = 40  # the bike went there; nothing usable
    for table in ("ve_front", "ve_rear"):
        app.catalog.add_coverage(vehicle, table, "run:1", axes.load_channel, axes.rpm,
                                 axes.load, weight, hits)
    app.coverage.reload()
    panel.refresh()
    assert panel.view.summary.covered == 8
    assert np.array_equal(panel.hit_counts, hits)
    assert len(panel.map.checks.data) == 8
    assert not panel.map._hatch.path().isEmpty()
    assert "covered" in panel.map.cell_text(8, 6) and "no usable sample" in \
        panel.map.cell_text(2, 0)
    assert not {(r, c) for r in range(8, 12) for c in range(6, 8)} & panel.map.gap_cells

    # Reset asks first; "No" keeps everything.
    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: next(answers))
    assert not panel.reset_coverage()
    assert app.coverage.view().summary.covered == 8
    assert panel.reset_coverage()
    panel.refresh()
    assert panel.view.summary.covered == 0 and panel.hit_counts.sum() == 0
    assert app.catalog.coverage_runs(vehicle) == []
    assert "Coverage reset" in panel.status.text()


def test_run_on_dyno_without_a_dyno_says_what_to_connect(tuned) -> None:  # noqa: ANN001
    app, panel, _ = tuned
    assert not app.coverage.can_drive()
    assert not panel.run_button.isEnabled() and panel.run_button.toolTip() == NO_DYNO
    panel.run_selected()
    assert panel.status.isVisible()
    assert "Connect a load-control dyno that takes host commands" in panel.status.text()
    assert app.coverage.driver is None and not panel.stop_button.isEnabled()


def test_save_plan_writes_the_picked_test_as_a_plan_file(tuned, tmp_path: Path) -> None:  # noqa: ANN001
    _app, panel, _ = tuned
    top = panel.selected_suggestion()
    path = panel.save_plan(tmp_path / "next.json")
    assert path is not None
    spec = parse_plan_spec(path.read_text(encoding="utf-8"), str(path))
    assert spec.name == top.title and spec.steps == top.steps
    assert "next.json" in panel.status.text()


def test_a_refused_setting_is_explained_and_undone(tuned) -> None:  # noqa: ANN001
    app, panel, _ = tuned
    form = panel.settings
    form.rpm_min.setValue(6000)  # above "rpm to"
    assert "rpm limits 6000-5500" in panel.status.text()
    assert app.coverage.constraints.rpm_min == 1000.0 and form.rpm_min.value() == 1000

    # Regions: a priority edited in the table reaches the planner; a bad range is refused.
    assert form.regions.rowCount() == 3
    form.regions.item(2, 3).setText("1")
    assert app.coverage.regions["map_kpa"][2].priority == 1
    form.regions.item(0, 1).setText("fast")
    assert "the regions table, row 1: write its rpm as from-to" in panel.status.text()
    assert app.coverage.regions["map_kpa"][0].rpm_min == 2500.0


def test_without_a_tune_the_panel_asks_for_one(qtbot) -> None:  # noqa: ANN001
    app = DynoApp()
    panel = _panel(qtbot, app)
    try:
        assert panel.view is None and panel.hit_counts.shape == (0, 0)
        assert panel.headline.text().startswith("Open a tune (Tables ▸ Tune ▸ Open tune…)")
        assert panel.plan_list.topLevelItemCount() == 0 and panel.map.axes is None
        assert not panel.run_button.isEnabled() and not panel.save_button.isEnabled()
        tables, label = demo_base_tables()
        app.tune.show(Tune({t.name: t for t in tables}), label)
        qtbot.waitUntil(lambda: panel.view is not None, timeout=3000)  # the next tick
        assert panel.plan_list.topLevelItemCount() > 0
        assert "Start a session (session bar)" in panel.message.text()
    finally:
        panel.shutdown()
        app.close()


def test_cells_are_drawn_at_their_index_whatever_the_breakpoint_spacing() -> None:
    uneven = np.array([15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0])
    assert coverage_map.cell_index(25.0, uneven) == 2.0
    assert coverage_map.cell_index(45.0, uneven) == 4.5
    assert coverage_map.cell_index(70.0, uneven) == 6.5
    assert coverage_map.cell_index(5.0, uneven) == -0.5  # at most half a cell off the grid
    assert coverage_map.cell_index(500.0, uneven) == 8.5
    rgba = coverage_map.cell_colours(np.array([[0.0, 0.0, 10.0, 20.0, 40.0]]),
                                     np.array([[0, 5, 5, 5, 5]]), 20.0)
    none, unusable, filling, covered, plenty = (tuple(int(v) for v in c[:3]) for c in rgba[0])
    assert none == tuple(coverage_map._rgb(coverage_map.NONE_RGB).astype(int))
    assert unusable == tuple(coverage_map._rgb(coverage_map.UNUSABLE_RGB).astype(int))
    assert covered == tuple(coverage_map._rgb(coverage_map.COVERED_RGB[0]).astype(int))
    assert plenty == tuple(coverage_map._rgb(coverage_map.COVERED_RGB[1]).astype(int))
    assert len({none, unusable, filling, covered}) == 4


def test_the_live_point_is_placed_on_its_cell(tuned) -> None:  # noqa: ANN001
    _app, panel, _ = tuned
    axes = panel.map.axes
    assert panel.map.marker_at is None  # nothing connected
    panel.map.show_operating_point((float(axes.rpm[4]), float(axes.load[3])))
    assert panel.map.marker_at == (3.0, 4.0)
