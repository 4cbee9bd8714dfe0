"""Test plans: every built-in plan builds; plan files parse, and a bad one says which step and key
is wrong; the runner walks the phases in order, stops or laps; the cell holds what a plan asks."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import parse_plan_spec
from dynoai_desktop.sim.plans import (
    BUILTIN_PLANS,
    DEFAULT_FAN_CFM,
    FINISHED,
    Plan,
    PlanRunner,
    builtin_plan,
    parse_plan,
)
from tests.sim.log_analysis import steady_segments

SOURCE = "my_plan.json"

FULL_PLAN = {
    "name": "every step",
    "start": {"engine_temp_c": 60, "fan_cfm": 8000},
    "steps": [
        {"type": "idle", "seconds": 5, "fan_cfm": 0},
        {"type": "hold", "rpm": 2500, "seconds": 3, "map_kpa": 45},
        {"type": "hold", "rpm": 3000, "seconds": 2, "tps_pct": 20},
        {"type": "grid", "rpm": [2000, 3000], "map_kpa": [40, 80], "seconds_per_cell": 2},
        {"type": "fan", "cfm": 15000},
        {"type": "pull", "from_rpm": 2200, "to_rpm": 5600, "tps_pct": 90},
        {"type": "decel", "from_rpm": 4800, "to_rpm": 1600, "rpm_per_s": 700},
        {
            "type": "tip_in",
            "rpm": 2600,
            "from_tps_pct": 12,
            "to_tps_pct": 35,
            "repeats": 3,
            "period_s": 1.5,
        },
        {"type": "street", "seconds": 30, "seed": 5},
    ],
}


def _labels(plan: Plan) -> list[str]:
    return [p.label for p in plan.phases]


# ---------------------------------------------------------------------------- built-in plans
@pytest.mark.parametrize("name", list(BUILTIN_PLANS))
def test_every_builtin_plan_builds_with_phases(name: str) -> None:
    plan = builtin_plan(name)
    assert plan.name == name
    assert plan.phases
    assert all(p.seconds is not None or p.until is not None for p in plan.phases)


def test_an_unknown_builtin_plan_names_the_choices() -> None:
    with pytest.raises(InputError, match="unknown plan 'warp'.*wot_pull"):
        builtin_plan("warp")


# ---------------------------------------------------------------------------- plan files
def test_a_plan_file_with_every_step_type_parses() -> None:
    plan = parse_plan(json.dumps(FULL_PLAN), SOURCE)
    labels = _labels(plan)

    assert plan.name == "every step"
    assert plan.start_engine_temp_c == 60.0
    assert plan.start_fan_cfm == 8000.0
    assert labels[0] == "idle, fan 0 cfm" and plan.phases[0].seconds == 5.0
    assert plan.phases[0].fan_cfm == 0.0
    assert labels[1:3] == ["hold 2500 rpm 45 kPa (settling)", "hold 2500 rpm 45 kPa"]
    assert plan.phases[2].seconds == 3.0
    assert labels[3:5] == ["hold 3000 rpm 20 % throttle (settling)", "hold 3000 rpm 20 % throttle"]
    grid = [label for label in labels[5:13] if "settling" not in label]
    assert grid == [
        "hold 2000 rpm 40 kPa",
        "hold 2000 rpm 80 kPa",
        "hold 3000 rpm 40 kPa",
        "hold 3000 rpm 80 kPa",
    ]
    # the fan step sets the fan when the next step (the pull) starts
    pull_start = labels.index("hold 2000 rpm 8 % throttle (settling)")  # rolls on 200 below
    assert pull_start == 13
    assert plan.phases[pull_start].fan_cfm == 15000.0
    assert "pull 2200-5600 rpm" in labels
    assert "decel 4800-1600 rpm" in labels
    assert "tip-in 12-35 % at 2600 rpm" in labels
    tip = plan.phases[labels.index("tip-in 12-35 % at 2600 rpm")]
    assert tip.seconds == pytest.approx(4.5)
    street = labels[labels.index("tip-in 12-35 % at 2600 rpm") + 1 :]
    assert street  # the street step made phases of its own
    assert plan.source == parse_plan_spec(json.dumps(FULL_PLAN), SOURCE)  # the spec it ran


def test_a_minimal_plan_file_takes_the_defaults() -> None:
    plan = parse_plan('{"steps": [{"type": "pull"}]}', SOURCE)
    assert plan.name == SOURCE
    assert plan.start_engine_temp_c == 90.0
    assert plan.start_fan_cfm == DEFAULT_FAN_CFM
    assert "pull 2000-5800 rpm" in _labels(plan)


def _step_plan(*steps: dict) -> str:
    return json.dumps({"steps": [{"type": "idle", "seconds": 1}, *steps]})


# (plan text, what the message must say besides the source)
BAD_PLANS = [
    pytest.param("{steps: []", ["not valid JSON", "line 1"], id="not-json"),
    pytest.param('{"name": "x"}', ['"steps" list'], id="no-steps"),
    pytest.param('[{"type": "idle", "seconds": 1}]', ['"steps" list'], id="steps-not-in-object"),
    pytest.param('{"steps": []}', ["no steps"], id="empty-steps"),
    pytest.param('{"steps": [], "laps": 3}', ["unknown key 'laps'"], id="unknown-top-key"),
    pytest.param(
        _step_plan({"type": "burnout", "seconds": 3}),
        ["step 2 (burnout)", "unknown step type", "pull"],
        id="unknown-type",
    ),
    pytest.param(_step_plan({"seconds": 3}), ["step 2", '"type"'], id="no-type"),
    pytest.param(
        _step_plan({"type": "hold", "rpm": 2500, "map_kpa": 40}),
        ["step 2 (hold)", "'seconds' is missing"],
        id="missing-key",
    ),
    pytest.param(
        _step_plan({"type": "grid", "rpm": [2000], "map_kpa": [40], "secs": 3}),
        ["step 2 (grid)", "unknown key 'secs'"],
        id="unknown-key",
    ),
    pytest.param(
        _step_plan({"type": "hold", "rpm": 9000, "seconds": 3, "map_kpa": 40}),
        ["step 2 (hold)", "'rpm'", "out of range"],
        id="rpm-out-of-range",
    ),
    pytest.param(
        _step_plan({"type": "grid", "rpm": [2000, 3000], "map_kpa": [40, 140]}),
        ["step 2 (grid)", "'map_kpa'", "out of range"],
        id="grid-map-out-of-range",
    ),
    pytest.param(
        _step_plan({"type": "idle", "seconds": 0}),
        ["step 2 (idle)", "'seconds'", "out of range"],
        id="zero-seconds",
    ),
    pytest.param(
        _step_plan({"type": "hold", "rpm": 2500, "seconds": 3, "map_kpa": 40, "tps_pct": 20}),
        ["step 2 (hold)", "'map_kpa' or 'tps_pct'"],
        id="hold-both",
    ),
    pytest.param(
        _step_plan({"type": "hold", "rpm": 2500, "seconds": 3}),
        ["step 2 (hold)", "'map_kpa' or 'tps_pct'"],
        id="hold-neither",
    ),
    pytest.param(
        _step_plan({"type": "pull", "from_rpm": 4000, "to_rpm": 3000}),
        ["step 2 (pull)", "'to_rpm'", "'from_rpm'"],
        id="pull-backwards",
    ),
    pytest.param(
        _step_plan({"type": "pull", "from_rpm": 3000, "to_rpm": 3000}),
        ["step 2 (pull)", "'to_rpm'"],
        id="pull-to-equals-from",
    ),
    pytest.param(
        _step_plan({"type": "decel", "from_rpm": 2000, "to_rpm": 3000}),
        ["step 2 (decel)", "'to_rpm'"],
        id="decel-upwards",
    ),
    pytest.param(
        _step_plan({"type": "hold", "rpm": True, "seconds": 3, "map_kpa": 40}),
        ["step 2 (hold)", "'rpm' must be a number", "True"],
        id="bool-as-number",
    ),
    pytest.param(
        _step_plan({"type": "grid", "rpm": [2000, False], "map_kpa": [40]}),
        ["step 2 (grid)", "'rpm' must be a number"],
        id="bool-in-a-list",
    ),
    pytest.param(
        _step_plan({"type": "idle", "seconds": "5"}),
        ["step 2 (idle)", "'seconds' must be a number"],
        id="string-as-number",
    ),
    pytest.param(
        '{"start": {"engine_temp_c": 500}, "steps": [{"type": "pull"}]}',
        ["start", "'engine_temp_c'", "out of range"],
        id="start-out-of-range",
    ),
    pytest.param(
        '{"start": {"oil_c": 80}, "steps": [{"type": "pull"}]}',
        ['"start" takes engine_temp_c'],
        id="start-unknown-key",
    ),
]


@pytest.mark.parametrize(("text", "wanted"), BAD_PLANS)
def test_a_bad_plan_names_the_file_the_step_and_the_key(text: str, wanted: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse_plan(text, SOURCE)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: ")
    assert "\n" not in message
    for part in wanted:
        assert part in message, (part, message)


# ---------------------------------------------------------------------------- the runner
SHORT_PLAN = json.dumps(
    {
        "steps": [
            {"type": "idle", "seconds": 1},
            {"type": "hold", "rpm": 2000, "seconds": 1, "tps_pct": 10},
            {"type": "pull", "from_rpm": 2000, "to_rpm": 3000},
        ]
    }
)
SHORT_PLAN_LABELS = [
    "idle",
    "hold 2000 rpm 10 % throttle (settling)",
    "hold 2000 rpm 10 % throttle",
    "hold 1800 rpm 8 % throttle (settling)",
    "hold 1800 rpm 8 % throttle",
    "pull 2000-3000 rpm",
    "pull 2000-3000 rpm (braking)",
]


def _drive(
    runner: PlanRunner,
    seconds: float,
    dt: float = 0.01,
) -> tuple[list[str], list]:
    """A stand-in dyno: the roller follows the brake target, an open throttle on a free roller
    gains 2000 rpm/s, the clutch in idles at 1000. Returns the phase labels in the order they
    ran (repeats collapsed) and every setpoint."""
    rpm, labels, setpoints = 1000.0, [], []
    for i in range(round(seconds / dt)):
        sp = runner.setpoint(i * dt, rpm)
        setpoints.append(sp)
        label = sp.label if runner.finished else runner.phase.label
        if not labels or labels[-1] != label:
            labels.append(label)
        if sp.target_rpm is not None:
            rpm = sp.target_rpm
        elif sp.clutch_in:
            rpm = 1000.0
        elif sp.tps_pct:
            rpm += 2000.0 * dt
    return labels, setpoints


def test_the_runner_visits_the_phases_in_order_and_ends_with_the_clutch_in() -> None:
    runner = PlanRunner(parse_plan(SHORT_PLAN, SOURCE), loop=False)
    labels, setpoints = _drive(runner, 30.0)

    assert labels == [*SHORT_PLAN_LABELS, FINISHED.label]
    assert runner.finished and runner.laps == 1
    end = setpoints[-1]
    assert end.clutch_in and end.tps_pct == 0.0 and end.target_rpm is None
    assert runner.setpoint(100.0, 1000.0) == FINISHED  # and stays finished
    # while it ran, the holds held their rpm and the pull let the roller go
    assert {sp.target_rpm for sp in setpoints if sp.label == "hold 2000 rpm 10 % throttle"} == {
        2000.0
    }
    pull = [sp for sp in setpoints if sp.label == "pull 2000-3000 rpm"]
    assert pull and all(sp.tps_pct == 100.0 and sp.target_rpm is None for sp in pull)


def test_the_runner_laps_a_looped_plan() -> None:
    runner = PlanRunner(parse_plan(SHORT_PLAN, SOURCE), loop=True)
    labels, setpoints = _drive(runner, 30.0)

    assert not runner.finished
    assert runner.laps >= 2
    n = len(SHORT_PLAN_LABELS)
    assert labels[: 2 * n] == SHORT_PLAN_LABELS * 2
    assert FINISHED not in setpoints


def test_a_fan_step_and_a_fan_idle_set_the_fan_when_their_phase_starts() -> None:
    plan = parse_plan(
        json.dumps(
            {
                "start": {"fan_cfm": 9000},
                "steps": [
                    {"type": "idle", "seconds": 1},
                    {"type": "idle", "seconds": 1, "fan_cfm": 0},
                    {"type": "fan", "cfm": 20000},
                    {"type": "idle", "seconds": 1},
                ],
            }
        ),
        SOURCE,
    )
    runner = PlanRunner(plan, loop=False)
    fans: list[float] = []
    for i in range(400):
        runner.setpoint(i * 0.01, 1000.0)
        fans.append(runner.fan_cfm)
    assert fans[50] == 9000.0
    assert fans[150] == 0.0
    assert fans[250] == 20000.0


# ---------------------------------------------------------------------------- in the cell
HOLDS_PLAN = {
    "name": "three holds",
    "steps": [
        {"type": "idle", "seconds": 1},
        {"type": "hold", "rpm": 2000, "seconds": 2, "map_kpa": 50},
        {"type": "hold", "rpm": 3500, "seconds": 2, "tps_pct": 25},
        {"type": "hold", "rpm": 2500, "seconds": 2, "map_kpa": 80},
    ],
}


def test_the_cell_holds_each_rpm_a_plan_file_asks_for(
    simulate_log: Callable[..., tuple[dict[str, list[float]], dict]],
) -> None:
    log, truth = simulate_log(plan=HOLDS_PLAN)
    segments = steady_segments(truth, log["time_s"][-1])

    assert [s.label for s in segments] == [
        "hold 2000 rpm 50 kPa",
        "hold 3500 rpm 25 % throttle",
        "hold 2500 rpm 80 kPa",
    ]
    for segment in segments:
        wanted = float(segment.label.split()[1])
        rpms = [
            r
            for t, r in zip(log["time_s"], log["rpm"], strict=True)
            if segment.start_s <= t < segment.end_s
        ]
        assert len(rpms) >= 190, segment  # 2 s of 100 Hz rows
        assert all(abs(r - wanted) <= 30.0 for r in rpms), (segment, min(rpms), max(rpms))
    assert log["time_s"][-1] < 30.0  # log mode ran the plan once and stopped
