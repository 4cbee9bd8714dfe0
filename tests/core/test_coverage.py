"""Coverage across runs, regions and gaps, and the next-test planner (core.coverage)."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest

from dynoai_desktop.core.autotune.settings import AutotuneSettings
from dynoai_desktop.core.coverage.grid import (
    CoverageAxes,
    TableCoverage,
    VehicleCoverage,
    run_coverage,
    tables_coverage,
)
from dynoai_desktop.core.coverage.planner import (
    BikeBehaviour,
    Constraints,
    PlannerSettings,
    learn_behaviour,
    next_tests,
    with_run,
)
from dynoai_desktop.core.coverage.regions import (
    Region,
    default_regions,
    regions_from_dicts,
    summarise,
)
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import HoldStep, PullStep, SweepStep, parse_plan_spec, plan_spec_json
from dynoai_desktop.core.table import Table

RPM = np.array([1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0, 4500.0, 5000.0])
KPA = np.array([20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0])
HZ = 100.0


def ve_table(name: str = "ve_front", kpa: np.ndarray = KPA, axis: str = "map_kpa") -> Table:
    return Table(name, "%", "rpm", axis, RPM, kpa, np.full((RPM.size, kpa.size), 80.0))


def hold_log(points: list[tuple[float, float, float]], tps: float = 30.0,
             **changes: np.ndarray) -> dict[str, np.ndarray]:
    """A warm, steady log: each (rpm, kPa, seconds) held in turn, 100 rows a second, with a
    2 s gap between holds (a seam, so no hold's start is a transient of the last)."""
    parts, t0 = [], 0.0
    for rpm, kpa, seconds in points:
        t = t0 + np.arange(int(seconds * HZ)) / HZ
        parts.append((t, np.full(t.size, rpm), np.full(t.size, kpa)))
        t0 = t[-1] + 2.0
    t = np.concatenate([p[0] for p in parts])
    cols = {"time_s": t, "rpm": np.concatenate([p[1] for p in parts]),
            "map_kpa": np.concatenate([p[2] for p in parts]), "tps_pct": np.full(t.size, tps),
            "engine_temp_c": np.full(t.size, 90.0),
            "afr_front": 13.0 + 0.1 * np.sin(t), "afr_rear": 13.0 + 0.1 * np.cos(t),
            "afr_target": np.full(t.size, 13.0)}
    cols.update(changes)
    return cols


def axes() -> CoverageAxes:
    return CoverageAxes.of_table(ve_table())


# ------------------------------------------------------------------------ one run
def test_a_steady_hold_covers_its_cell_and_only_good_samples_count() -> None:
    log = hold_log([(3000.0, 60.0, 3.0)])
    run = run_coverage(log, axes(), "front")
    r, c = 4, 4
    assert run.hits[r, c] == 300
    # The first 0.3 s are the settle after the seam's start? No: a steady log has no
    # transient, so every sample counts, each 1 at the cell's centre.
    assert run.weight[r, c] == pytest.approx(300.0)
    assert run.weight.sum() == pytest.approx(300.0)


def test_a_cold_engine_and_a_transient_are_hit_but_not_covered() -> None:
    cold = hold_log([(3000.0, 60.0, 3.0)], engine_temp_c=np.full(300, 40.0))
    run = run_coverage(cold, axes(), "front")
    assert run.hits[4, 4] == 300 and run.weight.sum() == 0.0

    log = hold_log([(3000.0, 60.0, 3.0)])
    log["tps_pct"] = np.where(np.arange(300) % 40 < 20, 20.0, 60.0)  # throttle stabs
    run = run_coverage(log, axes(), "front")
    assert run.hits[4, 4] == 300 and run.weight.sum() < 0.1 * 300


def test_a_sample_between_cells_splits_its_weight() -> None:
    run = run_coverage(hold_log([(2750.0, 55.0, 2.0)]), axes(), "front")
    assert run.weight[3:5, 3:5] == pytest.approx(np.full((2, 2), 50.0))
    assert run.weight.sum() == pytest.approx(200.0)


def test_a_dead_wideband_covers_nothing_for_its_cylinder() -> None:
    log = hold_log([(3000.0, 60.0, 3.0)], afr_rear=np.full(300, np.nan))
    runs = tables_coverage(log, {"ve_front": ve_table(), "ve_rear": ve_table("ve_rear")})
    assert runs["ve_front"].weight.sum() > 0 and runs["ve_rear"].weight.sum() == 0.0


def test_a_missing_load_column_is_named() -> None:
    log = hold_log([(3000.0, 60.0, 1.0)])
    del log["map_kpa"]
    with pytest.raises(InputError, match="run 7: no map_kpa column"):
        run_coverage(log, axes(), "front", source="run 7")


# ------------------------------------------------------------------------ aggregation
def test_runs_add_up_and_a_duplicate_run_counts_once() -> None:
    vehicle = VehicleCoverage()
    a = run_coverage(hold_log([(3000.0, 60.0, 1.0)]), axes(), "front")
    b = run_coverage(hold_log([(3000.0, 60.0, 2.0), (4000.0, 90.0, 1.0)]), axes(), "front")
    assert vehicle.add("ve_front", "run:1", a)
    assert vehicle.add("ve_front", "run:2", b)
    assert not vehicle.add("ve_front", "run:1", a)  # the same run again
    kept = vehicle.tables["ve_front"]
    assert kept.runs == ["run:1", "run:2"]
    assert kept.weight[4, 4] == pytest.approx(300.0)
    assert kept.hits[6, 7] == 100
    vehicle.reset("ve_front")
    assert "ve_front" not in vehicle.tables


def test_a_run_on_other_axes_is_refused_with_both_layouts_named() -> None:
    vehicle = VehicleCoverage()
    vehicle.add("ve_front", "run:1", run_coverage(hold_log([(3000.0, 60.0, 1.0)]), axes(),
                                                  "front"))
    other = CoverageAxes.of_table(ve_table(kpa=KPA + 5.0))
    run = run_coverage(hold_log([(3000.0, 60.0, 1.0)]), other, "front")
    with pytest.raises(InputError, match=r"run:9: its ve_front axes .* differ .* reset"):
        vehicle.add("ve_front", "run:9", run)
    assert vehicle.tables["ve_front"].runs == ["run:1"]


def test_the_cylinders_together_take_the_less_covered() -> None:
    vehicle = VehicleCoverage()
    log = hold_log([(3000.0, 60.0, 2.0)], afr_rear=np.r_[np.full(150, np.nan),
                                                         np.full(50, 13.0)])
    runs = tables_coverage(log, {"ve_front": ve_table(), "ve_rear": ve_table("ve_rear")})
    for name, run in runs.items():
        vehicle.add(name, "run:1", run)
    both = vehicle.combined()
    assert both is not None
    assert both.weight[4, 4] == pytest.approx(runs["ve_rear"].weight[4, 4])
    assert both.weight[4, 4] < runs["ve_front"].weight[4, 4]


# ------------------------------------------------------------------------ regions
def test_default_regions_for_map_and_tps_tables() -> None:
    by_map = {r.name: r for r in default_regions("map_kpa")}
    by_tps = {r.name: r for r in default_regions("tps_pct")}
    assert (by_map["High-MAP midrange"].load_min, by_map["High-MAP midrange"].priority) == \
        (80.0, 1)
    assert (by_tps["Tip-in zone"].load_min, by_tps["Tip-in zone"].load_max) == (15.0, 50.0)
    assert by_tps["Idle / low MAP"].priority == 2


def test_gaps_per_region_and_the_summary() -> None:
    coverage = TableCoverage("ve_front", axes())
    coverage.weight[RPM == 3000.0, :] = 25.0  # the 3000 rpm row covered
    regions = default_regions("map_kpa")
    summary = summarise(coverage, regions, 20.0)
    high = summary.regions[0]
    assert high.cells == 15 and high.covered == 3  # 2500-4500 x 80-100
    assert (4, 6) not in high.gaps and (3, 6) in high.gaps
    assert summary.covered == 9 and summary.percent == pytest.approx(100 * 9 / 81)
    # Priority 1 together: high-MAP midrange and tip-in share the 80 kPa column.
    assert summary.priority_percent(1) == pytest.approx(100 * 6 / 34)
    assert "High-MAP midrange 20 %" in summary.text()


def test_a_higher_threshold_uncovers_cells() -> None:
    coverage = TableCoverage("ve_front", axes())
    coverage.weight[:] = 25.0
    assert summarise(coverage, default_regions("map_kpa"), 30.0).covered == 0


def test_user_regions_are_read_and_bad_ones_named() -> None:
    regions = regions_from_dicts([{"name": "cruise", "rpm": [2000, 3000], "load": [40, 60],
                                   "priority": 2}], "settings")
    assert regions[0] == Region("cruise", 2000.0, 3000.0, 40.0, 60.0, 2)
    with pytest.raises(InputError, match="settings: region 'x': its rpm range 3000-2000"):
        regions_from_dicts([{"name": "x", "rpm": [3000, 2000], "load": [0, 1]}], "settings")
    with pytest.raises(InputError, match="settings: region 1 needs name"):
        regions_from_dicts([{"rpm": [1, 2]}], "settings")


# ------------------------------------------------------------------------ planner
def empty() -> TableCoverage:
    return TableCoverage("ve_front", axes())


def test_on_an_empty_table_sweeps_and_a_pull_come_before_holds() -> None:
    answer = next_tests(empty(), default_regions("map_kpa"))
    kinds = [s.kind for s in answer.suggestions]
    assert kinds[0] in ("pull", "sweep", "block")
    first_holds = kinds.index("holds")
    assert all(k in ("pull", "sweep", "block") for k in kinds[:first_holds])
    top = answer.suggestions[0]
    assert top.priority == 1 and top.gain > 3 and top.duration_s > 0
    assert "gaps in" in top.why and "min" in top.why


def test_order_is_priority_then_efficiency() -> None:
    answer = next_tests(empty(), default_regions("map_kpa"))
    keys = [(s.priority, -s.efficiency) for s in answer.suggestions]
    assert keys == sorted(keys)
    assert {s.priority for s in answer.suggestions} >= {1, 2}
    assert all(s.efficiency == pytest.approx(
        PlannerSettings().kind_weights[s.kind] * s.gain / s.minutes)
        for s in answer.suggestions)


def test_gain_comes_from_the_grid_with_diminishing_returns() -> None:
    regions = default_regions("map_kpa")
    coverage = empty()
    gains = []
    for fill in (0.0, 10.0, 19.0):
        coverage.weight[:] = fill
        holds = [s for s in next_tests(coverage, regions).suggestions
                 if s.title.startswith("Hold") and "High-MAP" in s.title]
        gains.append(holds[0].gain / len(holds[0].steps))
    assert gains[0] > gains[1] > gains[2] > 0
    coverage.weight[:] = 20.0
    assert next_tests(coverage, regions).suggestions == ()


def test_a_covered_region_gets_no_more_tests() -> None:
    regions = default_regions("map_kpa")
    coverage = empty()
    for region in regions:
        if region.priority == 1:
            coverage.weight[region.cells(coverage.axes)] = 50.0
    answer = next_tests(coverage, regions)
    assert answer.suggestions and all(s.priority == 2 for s in answer.suggestions)


def test_holds_snake_through_the_gaps_and_last_only_as_long_as_needed() -> None:
    coverage = empty()
    coverage.weight[:] = 20.0
    coverage.weight[4, 3] = 0.0   # 3000 rpm, 50 kPa: nothing yet
    coverage.weight[4, 5] = 15.0  # 3000 rpm, 70 kPa: nearly covered
    coverage.weight[5, 4] = 0.0   # 3500 rpm, 60 kPa
    slow_log = BikeBehaviour(log_rate_hz=10.0)  # an imported 10 Hz log: holds take longer
    holds = [s for s in next_tests(coverage, default_regions("map_kpa"), bike=slow_log
                                   ).suggestions if s.kind == "holds"][0]
    steps = holds.steps
    assert all(isinstance(s, HoldStep) for s in steps)
    assert [(s.rpm, s.map_kpa) for s in steps] == [(3000.0, 50.0), (3000.0, 70.0),
                                                    (3500.0, 60.0)]
    assert steps[1].seconds < steps[0].seconds
    assert set(holds.cells_filled) == {(4, 3), (4, 5), (5, 4)}


def test_constraints_filter_the_plan_and_say_why() -> None:
    regions = default_regions("map_kpa")
    street = next_tests(empty(), regions, Constraints(venue="street"))
    assert {s.kind for s in street.suggestions} <= {"pull", "decel", "idle"}
    assert any("needs the dyno" in why for _t, why in street.ruled_out)

    used = next_tests(empty(), regions, Constraints(max_pulls=2, pulls_done=2))
    assert not {"pull", "sweep"} & {s.kind for s in used.suggestions}
    assert any("2 pulls are used" in why for _t, why in used.ruled_out)

    hot = next_tests(empty(), regions, Constraints(head_temp_c=240.0))
    assert {s.kind for s in hot.suggestions} <= {"idle"}
    assert any("240 °C" in why for _t, why in hot.ruled_out)

    low = next_tests(empty(), regions, Constraints(rpm_max=3000.0, load_max=70.0))
    for s in low.suggestions:
        for step in s.steps:
            for key in ("rpm", "from_rpm", "to_rpm"):
                assert getattr(step, key, 0.0) <= 3000.0
            assert (getattr(step, "map_kpa", None) or 0.0) <= 70.0

    inertia = next_tests(empty(), regions, Constraints(load_control=False))
    assert not {"holds", "sweep"} & {s.kind for s in inertia.suggestions}


def test_pulls_run_are_counted_against_the_session() -> None:
    constraints = Constraints(max_pulls=1)
    top = next(s for s in next_tests(empty(), default_regions("map_kpa")).suggestions
               if s.kind == "pull")
    after = with_run(constraints, top)
    assert after.pulls_done == 1
    assert not [s for s in next_tests(empty(), default_regions("map_kpa"), after).suggestions
                if s.kind in ("pull", "sweep")]


def test_a_suggestion_is_a_plan_file_the_simulator_reads() -> None:
    for suggestion in next_tests(empty(), default_regions("map_kpa")).suggestions:
        spec = suggestion.plan_spec()
        again = parse_plan_spec(plan_spec_json(spec), "suggestion.json")
        assert again == spec
    kinds = {type(st) for s in next_tests(empty(), default_regions("map_kpa")).suggestions
             for st in s.steps}
    assert {PullStep, SweepStep, HoldStep} <= kinds


def test_a_sweep_block_covers_several_columns_in_one_test_up_and_down_in_turn() -> None:
    answer = next_tests(empty(), default_regions("map_kpa"))
    block = answer.suggestions[0]
    assert block.kind == "block" and block.title.startswith("Sweep block at ")
    assert "back to back" in block.why and "gaps in" in block.why
    steps = block.steps
    assert len(steps) >= 2 and all(isinstance(st, SweepStep) for st in steps)
    rising = [st.to_rpm > st.from_rpm for st in steps]
    assert all(up != next_up for up, next_up in pairwise(rising))
    for before, after in pairwise(steps):  # no return move between sweeps
        assert abs(after.from_rpm - before.to_rpm) <= 500.0
    # Every priority-1 column (50-100 kPa) filled by one test.
    assert {c for _r, c in block.cells_filled} >= set(range(3, 9))
    assert block.efficiency > max(s.efficiency for s in answer.suggestions[1:])


def test_a_block_is_preferred_when_it_saves_dyno_minutes() -> None:
    regions = default_regions("map_kpa")
    coverage = empty()
    coverage.weight[:] = 20.0
    coverage.weight[2:8, 3] = 0.0  # 50 kPa, 2000-4500 rpm
    coverage.weight[2:8, 5] = 0.0  # 70 kPa: two columns apart, no sweep between them
    answer = next_tests(coverage, regions)
    top = answer.suggestions[0]
    assert top.kind == "block" and [st.map_kpa for st in top.steps] in ([50.0, 70.0],
                                                                          [70.0, 50.0])
    assert set(top.cells_filled) == {(r, c) for r in range(2, 8) for c in (3, 5)}
    singles = [min(s.duration_s for s in answer.suggestions
                   if s.kind == "sweep" and s.steps[0].map_kpa == kpa) for kpa in (50.0, 70.0)]
    assert top.duration_s < sum(singles)

    # One column left: one sweep does it, no block.
    coverage.weight[2:8, 3] = 20.0
    answer = next_tests(coverage, regions)
    assert answer.suggestions[0].kind == "sweep"
    assert "block" not in {s.kind for s in answer.suggestions}


def test_a_block_has_no_more_sweeps_than_the_session_has_pulls_left() -> None:
    regions = default_regions("map_kpa")
    two_left = next_tests(empty(), regions, Constraints(max_pulls=8, pulls_done=6))
    blocks = [s for s in two_left.suggestions if s.kind == "block"]
    assert blocks and all(len(s.steps) == 2 for s in blocks)
    assert with_run(Constraints(), blocks[0]).pulls_done == 2
    one_left = next_tests(empty(), regions, Constraints(max_pulls=8, pulls_done=7))
    assert "block" not in {s.kind for s in one_left.suggestions}
    street = next_tests(empty(), regions, Constraints(venue="street"))
    assert any(t.startswith("Sweep block") for t, _why in street.ruled_out)


def shop_grid() -> TableCoverage:
    """A shop VE table's rows: 250 rpm apart up to 4000, then 500."""
    rpm = np.array([2000.0, 2250.0, 2500.0, 2750.0, 3000.0, 3250.0, 3500.0, 3750.0, 4000.0,
                    4500.0, 5000.0])
    table = Table("ve_front", "%", "rpm", "map_kpa", rpm, KPA,
                  np.full((rpm.size, KPA.size), 80.0))
    return TableCoverage("ve_front", CoverageAxes.of_table(table))


def test_a_sweep_goes_past_its_last_row_only_when_the_ramp_leaves_it_short() -> None:
    answer = next_tests(shop_grid(), (Region("midrange", 2000.0, 4500.0, 70.0, 80.0),))
    spans = {(s.steps[0].from_rpm, s.steps[0].to_rpm) for s in answer.suggestions
             if s.kind == "sweep" and "at 75 kPa" in s.title}
    # Up: 4500 is 500 rpm above the row before, so the ramp's last 500 rpm give it enough.
    # Down: 2000 is 250 rpm below the row before; half a row more gives it its share.
    assert spans == {(2000.0, 4500.0), (4500.0, 1875.0)}


def test_a_rising_sweep_asks_what_its_gaps_need_until_the_bikes_climb_is_learned() -> None:
    regions = (Region("midrange", 2000.0, 4500.0, 70.0, 80.0),)

    def rising(bike: BikeBehaviour):
        return next(s for s in next_tests(shop_grid(), regions, bike=bike).suggestions
                    if s.kind == "sweep" and s.steps[0].to_rpm > s.steps[0].from_rpm)

    typical = BikeBehaviour()
    climb = typical.sweep_rpm_per_s(75.0)
    unknown = rising(typical)
    step = unknown.steps[0]
    assert step.rpm_per_s > climb  # the engine sets the pace if it cannot follow...
    assert unknown.duration_s > (step.to_rpm - step.from_rpm) / climb  # ...as the estimate expects
    learned = replace(typical, wot_learned=True)
    known = rising(learned)
    assert known.steps[0].rpm_per_s <= learned.sweep_rpm_per_s(75.0)
    assert known.duration_s == pytest.approx(unknown.duration_s)


def test_bad_constraints_are_refused() -> None:
    with pytest.raises(InputError, match="venue 'track'"):
        Constraints(venue="track")
    with pytest.raises(InputError, match="rpm limits 4000-3000"):
        Constraints(rpm_min=4000.0, rpm_max=3000.0)


def test_the_min_weight_is_the_autotunes() -> None:
    assert PlannerSettings().min_weight == AutotuneSettings().min_weight


def test_how_the_bike_moves_is_learned_and_a_sweep_does_not_lower_the_wot_figures() -> None:
    t = np.arange(0, 8.0, 0.01)
    pull = {"time_s": t, "rpm": 2000.0 + 400.0 * t, "tps_pct": np.full(t.size, 100.0),
            "map_kpa": np.full(t.size, 97.0)}
    bike = learn_behaviour([pull])
    assert bike.wot_learned and bike.log_rate_hz == pytest.approx(100.0)
    assert bike.pull_rpm_per_s == pytest.approx(400.0) and bike.wot_map_kpa == 97.0
    sweep = dict(pull, rpm=2000.0 + 250.0 * t, map_kpa=np.full(t.size, 90.0))
    after = learn_behaviour([sweep], bike)
    assert (after.pull_rpm_per_s, after.wot_map_kpa) == (400.0, 97.0)
    # A part-throttle sweep climbs no faster than the engine's torque there allows.
    assert after.sweep_rpm_per_s(60.0) < after.sweep_rpm_per_s(90.0) <= after.pull_rpm_per_s
