"""Coverage in the app on the demo cell (issue 17): the planner's top test, run step by step
through the dyno line's host commands, fills the cells it promised; the run counts once into the
vehicle's coverage in the catalog, live while it records and for good when saved."""

from __future__ import annotations

import numpy as np
import pytest

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.app.coverage_session import CoverageSession, run_key
from dynoai_desktop.core.coverage.planner import Constraints
from tests.app.demo_app import demo_session, wait_for


@pytest.fixture
def demo_app():  # noqa: ANN201
    with demo_session("Coverage test") as opened:
        yield opened


def _run_top(app: DynoApp, session: int, name: str):  # noqa: ANN202
    """Record a run while the dyno runs the planner's top suggestion; the suggestion, the run
    and the most live weight seen while it recorded."""
    coverage = app.coverage
    top = coverage.view().plan.suggestions[0]
    saved = []
    app.live.run_saved.connect(saved.append)
    app.live.start_recording(session, name)
    driver = coverage.run_suggestion(top)
    live_seen = [0.0]

    def tick() -> None:
        coverage.tick_driver()
        if coverage.refresh_live():
            live_seen[0] = max(live_seen[0], float(coverage.view().live_weight.sum()))

    wait_for(lambda: driver.finished, 120, f"{top.title} to run", each=tick)
    app.live.stop_recording()
    app.live.run_saved.disconnect(saved.append)
    return top, saved[0], live_seen[0]


@pytest.mark.once_without_qt  # long: runs in the suite without Qt
def test_the_top_suggestion_run_through_dyno_control_fills_its_cells(demo_app) -> None:  # noqa: ANN001
    app, session, vehicle = demo_app
    coverage = app.coverage
    assert coverage.vehicle_id == vehicle and coverage.can_drive()
    before = coverage.view()
    assert before.summary.covered == 0 and before.plan.suggestions
    assert before.summary.priority_percent(1) == 0.0

    top, run, live_weight = _run_top(app, session, "planned 1")
    assert live_weight > 0  # the heatmap filled while the run recorded
    after = coverage.view()
    covered = after.coverage.covered(coverage.min_weight)
    promised = top.cells_filled
    assert len(promised) >= 5
    assert sum(covered[r, c] for r, c in promised) >= 0.8 * len(promised)
    assert after.summary.priority_percent(1) > 0
    # Each pull or sweep counts against the session (a sweep block: each of its sweeps).
    assert top.kind in ("pull", "sweep", "block")
    assert coverage.constraints.pulls_done == len(top.steps)

    # Kept in the catalog once per run and table; counting the run again changes nothing.
    catalog = app.catalog
    assert catalog is not None
    keys = {(r.table_name, r.run_key) for r in catalog.coverage_runs(vehicle)}
    assert keys == {("ve_front", run_key(run.id)), ("ve_rear", run_key(run.id))}
    weight = after.coverage.weight.copy()
    coverage.add_run(run)
    assert np.array_equal(coverage.view().coverage.weight, weight)
    assert len(catalog.coverage_runs(vehicle)) == 2

    # A new session of the app reads the same coverage back.
    again = CoverageSession(app.live, app.runs, app.tune)
    assert np.array_equal(again.view().coverage.weight, weight)

    # The next suggestion is about what is still missing, not what was just filled.
    nxt = coverage.view().plan.suggestions[0]
    assert not set(nxt.cells_filled) & {cell for cell in promised
                                        if covered[cell[0], cell[1]]}


@pytest.mark.once_without_qt  # long: runs in the suite without Qt
def test_constraints_and_reset(demo_app) -> None:  # noqa: ANN001
    app, session, vehicle = demo_app
    coverage = app.coverage
    coverage.set_constraints(Constraints(venue="street"))
    kinds = {s.kind for s in coverage.view().plan.suggestions}
    assert kinds and kinds <= {"pull", "decel", "idle"}
    coverage.set_constraints(Constraints())
    _run_top(app, session, "planned")
    assert coverage.view().summary.covered > 0
    coverage.reset()
    assert coverage.view().summary.covered == 0
    assert app.catalog is not None and app.catalog.coverage_runs(vehicle) == []


def test_the_tuners_coverage_choices_are_kept_between_starts(tmp_path) -> None:  # noqa: ANN001
    from dynoai_desktop.core.coverage.regions import Region

    app = DynoApp(tmp_path / "config")
    try:
        coverage = app.coverage
        coverage.set_constraints(Constraints(rpm_max=5000.0, venue="both", pulls_done=3))
        coverage.set_min_weight(30.0)
        coverage.set_regions((Region("Cruise", 2000.0, 3000.0, 40.0, 60.0, 2),))
    finally:
        app.close()
    again = DynoApp(tmp_path / "config")
    try:
        kept = again.coverage
        assert (kept.constraints.rpm_max, kept.constraints.venue) == (5000.0, "both")
        assert kept.constraints.pulls_done == 0  # a new start is a new session
        assert kept.min_weight == 30.0
        assert [r.name for r in kept.regions["map_kpa"]] == ["Cruise"]
        assert not kept.notices
    finally:
        again.close()


def test_a_bad_kept_choice_falls_back_to_the_defaults_with_a_notice(tmp_path) -> None:  # noqa: ANN001
    import json

    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps(
        {"schema_version": 1, "coverage": {"constraints": {"venue": "track"}}}))
    app = DynoApp(config)
    try:
        assert app.coverage.constraints == Constraints()
        assert any("venue 'track'" in n for n in app.coverage.notices)
    finally:
        app.close()
