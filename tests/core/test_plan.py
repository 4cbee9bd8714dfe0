"""The test-plan schema: defaults, every refusal naming the source, step and key, specs built in
code checked like parsed ones, and a spec written out reading back equal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import (
    DEFAULT_ENGINE_TEMP_C,
    DEFAULT_FAN_CFM,
    RANGES,
    STEP_TYPES,
    DecelStep,
    FanStep,
    GridStep,
    HoldStep,
    IdleStep,
    PlanSpec,
    PullStep,
    Step,
    StreetStep,
    TipInStep,
    parse_plan_spec,
    plan_spec_dict,
    plan_spec_json,
    step_keys,
)

SOURCE = "plans/check.json"


def _plan(*steps: dict[str, Any], **top: Any) -> str:
    return json.dumps({**top, "steps": list(steps)})


def _one(step: dict[str, Any]) -> Step:
    return parse_plan_spec(_plan(step), SOURCE).steps[0]


# ---------------------------------------------------------------------------- defaults
def test_a_minimal_plan_takes_the_name_from_the_source_and_the_default_start() -> None:
    spec = parse_plan_spec(_plan({"type": "pull"}), SOURCE)
    assert spec == PlanSpec(SOURCE, (PullStep(),), DEFAULT_ENGINE_TEMP_C, DEFAULT_FAN_CFM)
    assert (spec.engine_temp_c, spec.fan_cfm) == (90.0, 12000.0)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"type": "idle", "seconds": 5}, IdleStep(5.0, None)),
        ({"type": "hold", "rpm": 2500, "seconds": 3, "tps_pct": 20},
         HoldStep(2500.0, 3.0, None, 20.0)),
        ({"type": "grid", "rpm": 2000, "map_kpa": [40, 60]},
         GridStep((2000.0,), (40.0, 60.0), 4.0)),
        ({"type": "pull"}, PullStep(2000.0, 5800.0, 100.0)),
        ({"type": "decel"}, DecelStep(5000.0, 1500.0, 500.0)),
        ({"type": "tip_in"}, TipInStep(2500.0, 10.0, 40.0, 20, 2.0)),
        ({"type": "street", "seconds": 30}, StreetStep(30.0, 11)),
    ],
    ids=lambda v: v["type"] if isinstance(v, dict) else "",
)
def test_each_step_takes_its_documented_defaults(step: dict[str, Any], expected: Step) -> None:
    assert _one(step) == expected


def test_repeats_and_seed_are_truncated_to_whole_numbers() -> None:
    tip = _one({"type": "tip_in", "repeats": 5.7})
    street = _one({"type": "street", "seconds": 10, "seed": 3.9})
    assert isinstance(tip, TipInStep) and tip.repeats == 5 and isinstance(tip.repeats, int)
    assert isinstance(street, StreetStep) and street.seed == 3 and isinstance(street.seed, int)


def test_the_step_types_and_their_keys_are_the_documented_ones() -> None:
    assert list(STEP_TYPES) == ["idle", "hold", "grid", "pull", "sweep", "decel", "tip_in",
                                "street", "fan"]
    assert step_keys("hold") == (("rpm", "seconds"), ("map_kpa", "tps_pct"))
    assert step_keys("grid") == (("rpm", "map_kpa"), ("seconds_per_cell",))
    assert step_keys("fan") == (("cfm",), ())
    for kind in STEP_TYPES:
        required, optional = step_keys(kind)
        assert set(required + optional) <= set(RANGES)


# ---------------------------------------------------------------------------- refusals
IDLE = {"type": "idle", "seconds": 1}

BAD_PLANS = [
    # (plan text, the whole message after "SOURCE: ")
    pytest.param("{steps: []", "not valid JSON (line 1, column 2: Expecting property name "
                 "enclosed in double quotes)", id="not-json"),
    pytest.param('{"name": "x"}', 'a plan is an object with a "steps" list (see '
                 "docs/simulator.md)", id="no-steps-list"),
    pytest.param("[]", 'a plan is an object with a "steps" list (see docs/simulator.md)',
                 id="not-an-object"),
    pytest.param('{"steps": [], "laps": 3}', "unknown key 'laps'; a plan has name, start and "
                 "steps", id="unknown-top-key"),
    pytest.param('{"start": 5, "steps": []}', '"start" takes engine_temp_c and fan_cfm',
                 id="start-not-an-object"),
    pytest.param('{"start": {"oil_c": 80}, "steps": []}', '"start" takes engine_temp_c and '
                 "fan_cfm", id="start-unknown-key"),
    pytest.param('{"steps": []}', "the plan has no steps that run the engine", id="no-steps"),
    pytest.param(_plan({"type": "fan", "cfm": 0}), "the plan has no steps that run the engine",
                 id="only-fan"),
    pytest.param(_plan(IDLE, {"type": "fan", "cfm": 0}), "the last step is a fan setting with no "
                 "step after it to apply to; move it before a step or remove it",
                 id="trailing-fan"),
    pytest.param(_plan(IDLE, "idle"), 'step 2: each step must be an object with a "type", e.g. '
                 '{"type": "pull", "from_rpm": 2000, "to_rpm": 5800}', id="step-not-object"),
    pytest.param(_plan(IDLE, {"seconds": 3}), 'step 2: each step must be an object with a '
                 '"type", e.g. {"type": "pull", "from_rpm": 2000, "to_rpm": 5800}',
                 id="no-type"),
    pytest.param(_plan(IDLE, {"type": "burnout"}), "step 2 (burnout): unknown step type; use "
                 "one of idle, hold, grid, pull, sweep, decel, tip_in, street, fan",
                 id="unknown-type"),
    pytest.param(_plan({"type": "hold", "rpm": 2500, "map_kpa": 40}),
                 "step 1 (hold): 'seconds' is missing", id="missing-key"),
    pytest.param(_plan({"type": "grid", "rpm": [2000], "map_kpa": [40], "secs": 3}),
                 "step 1 (grid): unknown key 'secs'; this step takes rpm, map_kpa, "
                 "seconds_per_cell", id="unknown-key"),
    pytest.param(_plan({"type": "hold", "rpm": 9000, "seconds": 3, "map_kpa": 40}),
                 "step 1 (hold): 'rpm' = 9000 is out of range 700 to 6500", id="out-of-range"),
    pytest.param(_plan({"type": "grid", "rpm": [2000], "map_kpa": [40, 140]}),
                 "step 1 (grid): 'map_kpa' = 140 is out of range 10 to 105",
                 id="grid-value-out-of-range"),
    pytest.param(_plan({"type": "grid", "rpm": [], "map_kpa": [40]}),
                 "step 1 (grid): 'rpm' needs at least one value", id="grid-empty-list"),
    pytest.param(_plan({"type": "idle", "seconds": 0}),
                 "step 1 (idle): 'seconds' = 0 is out of range 0.1 to 36000", id="zero-seconds"),
    pytest.param(_plan({"type": "idle", "seconds": "5"}),
                 "step 1 (idle): 'seconds' must be a number, got '5'", id="string"),
    pytest.param(_plan({"type": "idle", "seconds": True}),
                 "step 1 (idle): 'seconds' must be a number, got True", id="bool"),
    pytest.param(_plan({"type": "idle", "seconds": 5, "fan_cfm": None}),
                 "step 1 (idle): 'fan_cfm' must be a number, got None", id="null"),
    pytest.param('{"steps": [{"type": "idle", "seconds": NaN}]}',
                 "step 1 (idle): 'seconds' must be a number, got nan", id="nan"),
    pytest.param(_plan({"type": "hold", "rpm": 2500, "seconds": 3, "map_kpa": 40,
                        "tps_pct": 20}),
                 "step 1 (hold): give either 'map_kpa' or 'tps_pct' to hold", id="hold-both"),
    pytest.param(_plan({"type": "hold", "rpm": 9999, "seconds": 3}),
                 "step 1 (hold): give either 'map_kpa' or 'tps_pct' to hold",
                 id="hold-neither-before-range"),
    pytest.param(_plan({"type": "pull", "from_rpm": 3000, "to_rpm": 3199}),
                 "step 1 (pull): 'to_rpm' must be above 'from_rpm' by 200 rpm or more",
                 id="pull-too-short"),
    pytest.param(_plan({"type": "pull", "to_rpm": 2100}),
                 "step 1 (pull): 'to_rpm' must be above 'from_rpm' by 200 rpm or more",
                 id="pull-against-the-default"),
    pytest.param(_plan({"type": "decel", "from_rpm": 2000, "to_rpm": 1801}),
                 "step 1 (decel): 'to_rpm' must be below 'from_rpm' by 200 rpm or more",
                 id="decel-too-short"),
    pytest.param(_plan({"type": "idle", "seconds": 1, "fan_cfm": -1}),
                 "step 1 (idle): 'fan_cfm' = -1 is out of range 0 to 50000", id="fan-negative"),
    pytest.param(_plan({"type": "tip_in", "repeats": 0.5}),
                 "step 1 (tip_in): 'repeats' = 0.5 is out of range 1 to 1000", id="repeats"),
    pytest.param(_plan(IDLE, start={"engine_temp_c": 500}),
                 "start: 'engine_temp_c' = 500 is out of range -20 to 200", id="start-temp"),
    pytest.param(_plan(IDLE, start={"fan_cfm": "on"}),
                 "start: 'fan_cfm' must be a number, got 'on'", id="start-fan"),
]


@pytest.mark.parametrize(("text", "problem"), BAD_PLANS)
def test_a_bad_plan_is_refused_naming_the_source_the_step_and_the_key(
    text: str, problem: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_plan_spec(text, SOURCE)
    assert str(info.value) == f"{SOURCE}: {problem}"


def test_the_first_bad_value_in_the_file_is_the_one_named() -> None:
    text = _plan({"type": "pull", "to_rpm": 9000, "from_rpm": 100})
    with pytest.raises(InputError, match="'to_rpm' = 9000"):
        parse_plan_spec(text, SOURCE)


def test_steps_typed_200_rpm_apart_are_taken_though_floating_point_makes_it_a_hair_less() -> None:
    # 1024.07 - 824.07 is 199.9999999999999 in binary floating point (the dyno line's pull has
    # the same slack: tests/devices/test_dyno_line_host_tests.py)
    low, high = 824.07, 1024.07
    assert high - low < 200.0
    spec = parse_plan_spec(_plan({"type": "pull", "from_rpm": low, "to_rpm": high},
                                 {"type": "sweep", "from_rpm": high, "to_rpm": low, "map_kpa": 60},
                                 {"type": "decel", "from_rpm": high, "to_rpm": low}), SOURCE)
    assert len(spec.steps) == 3


def test_steps_are_checked_before_the_start() -> None:
    text = _plan({"type": "idle", "seconds": 0}, start={"engine_temp_c": 500})
    with pytest.raises(InputError, match="step 1"):
        parse_plan_spec(text, SOURCE)


# ---------------------------------------------------------------------------- built in code
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: HoldStep(2500, 3), "hold step: give either 'map_kpa' or 'tps_pct' to hold"),
        (lambda: PullStep(3000, 3100), "pull step: 'to_rpm' must be above 'from_rpm'"),
        (lambda: DecelStep(2000, 1900), "decel step: 'to_rpm' must be below 'from_rpm'"),
        (lambda: IdleStep(0.0), "idle step: 'seconds' = 0 is out of range"),
        (lambda: GridStep((), (40,)), "grid step: 'rpm' needs at least one value"),
        (lambda: FanStep(float("inf")), "fan step: 'cfm' must be a number"),
        (lambda: PlanSpec("x", ()), "plan 'x': the plan has no steps that run the engine"),
        (lambda: PlanSpec("x", (PullStep(), FanStep(0))), "plan 'x': the last step is a fan"),
        (lambda: PlanSpec("x", (PullStep(),), engine_temp_c=-40),
         "plan 'x': start: 'engine_temp_c' = -40 is out of range"),
        (lambda: PlanSpec("x", ("pull",)), "plan 'x': step 1 is not a plan step"),  # type: ignore[arg-type]
    ],
)
def test_a_spec_built_in_code_is_checked_like_a_parsed_one(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(InputError) as info:
        make()
    assert str(info.value).startswith(message)


def test_built_specs_are_normalised_to_floats_and_tuples() -> None:
    grid = GridStep([2000, 3000], 50, 3)  # type: ignore[arg-type]
    assert grid == GridStep((2000.0, 3000.0), (50.0,), 3.0)
    assert hash(grid) == hash(GridStep((2000.0, 3000.0), (50.0,), 3.0))
    spec = PlanSpec("x", [grid])  # type: ignore[arg-type]
    assert spec.steps == (grid,)


# ---------------------------------------------------------------------------- JSON out
def test_a_spec_is_written_one_step_a_line_with_whole_numbers_as_integers() -> None:
    spec = PlanSpec("stage 2 check", (IdleStep(20.0), FanStep(15000.0),
                                      HoldStep(2500.0, 8.0, map_kpa=35.0),
                                      GridStep((2000.0, 2500.0), (40.0, 60.5)),
                                      TipInStep(repeats=5)), engine_temp_c=80.0)
    assert plan_spec_json(spec) == (
        "{\n"
        '  "name": "stage 2 check",\n'
        '  "start": {"engine_temp_c": 80, "fan_cfm": 12000},\n'
        '  "steps": [\n'
        '    {"type": "idle", "seconds": 20},\n'
        '    {"type": "fan", "cfm": 15000},\n'
        '    {"type": "hold", "rpm": 2500, "seconds": 8, "map_kpa": 35},\n'
        '    {"type": "grid", "rpm": [2000, 2500], "map_kpa": [40, 60.5], '
        '"seconds_per_cell": 4},\n'
        '    {"type": "tip_in", "rpm": 2500, "from_tps_pct": 10, "to_tps_pct": 40, '
        '"repeats": 5, "period_s": 2}\n'
        "  ]\n"
        "}\n"
    )
    assert parse_plan_spec(plan_spec_json(spec), SOURCE) == spec
    assert json.loads(plan_spec_json(spec)) == plan_spec_dict(spec)


def test_the_documented_example_plan_reads_back_equal() -> None:
    text = json.dumps({
        "name": "stage 2 check",
        "start": {"engine_temp_c": 80, "fan_cfm": 12000},
        "steps": [
            {"type": "idle", "seconds": 20}, {"type": "fan", "cfm": 15000},
            {"type": "pull", "from_rpm": 2000, "to_rpm": 5800},
            {"type": "hold", "rpm": 2500, "seconds": 8, "map_kpa": 35},
            {"type": "grid", "rpm": [2000, 2500, 3000], "map_kpa": [40, 60, 80, 100],
             "seconds_per_cell": 4},
            {"type": "hold", "rpm": 3000, "seconds": 5, "tps_pct": 25},
            {"type": "tip_in", "rpm": 3000, "from_tps_pct": 10, "to_tps_pct": 50, "repeats": 5,
             "period_s": 2},
            {"type": "decel", "from_rpm": 5000, "to_rpm": 1500, "rpm_per_s": 600},
            {"type": "street", "seconds": 60, "seed": 3}, {"type": "fan", "cfm": 0},
            {"type": "idle", "seconds": 120},
        ],
    })
    spec = parse_plan_spec(text, SOURCE)
    assert len(spec.steps) == 11
    assert parse_plan_spec(plan_spec_json(spec), "elsewhere.json") == spec


# ---------------------------------------------------------------------------- round trip
def _in(key: str) -> st.SearchStrategy[float]:
    lo, hi = RANGES[key]
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _whole(key: str) -> st.SearchStrategy[int]:
    lo, hi = RANGES[key]
    return st.integers(int(lo), int(hi))


@st.composite
def _pull(draw: st.DrawFn) -> PullStep:
    low = draw(st.floats(700.0, 6300.0))
    return PullStep(low, draw(st.floats(low + 200.0, 6500.0)), draw(_in("tps_pct")))


@st.composite
def _decel(draw: st.DrawFn) -> DecelStep:
    high = draw(st.floats(900.0, 6500.0))
    return DecelStep(high, draw(st.floats(700.0, high - 200.0)), draw(_in("rpm_per_s")))


def _optional(strategy: st.SearchStrategy[float]) -> st.SearchStrategy[float | None]:
    return st.none() | strategy


_RUNNING_STEPS = st.one_of(
    st.builds(IdleStep, _in("seconds"), _optional(_in("fan_cfm"))),
    st.builds(lambda rpm, s, kpa: HoldStep(rpm, s, map_kpa=kpa), _in("rpm"), _in("seconds"),
              _in("map_kpa")),
    st.builds(lambda rpm, s, tps: HoldStep(rpm, s, tps_pct=tps), _in("rpm"), _in("seconds"),
              _in("tps_pct")),
    st.builds(GridStep, st.lists(_in("rpm"), min_size=1, max_size=4).map(tuple),
              st.lists(_in("map_kpa"), min_size=1, max_size=4).map(tuple),
              _in("seconds_per_cell")),
    _pull(),
    _decel(),
    st.builds(TipInStep, _in("rpm"), _in("from_tps_pct"), _in("to_tps_pct"), _whole("repeats"),
              _in("period_s")),
    st.builds(StreetStep, _in("seconds"), _whole("seed")),
)
_FAN = st.builds(FanStep, _in("cfm"))


@st.composite
def _specs(draw: st.DrawFn) -> PlanSpec:
    steps: list[Step] = []
    for running in draw(st.lists(_RUNNING_STEPS, min_size=1, max_size=6)):
        if draw(st.booleans()):
            steps.append(draw(_FAN))  # a fan step always has a running step after it
        steps.append(running)
    return PlanSpec(draw(st.text(max_size=20)), tuple(steps), draw(_in("engine_temp_c")),
                    draw(_in("fan_cfm")))


@settings(deadline=None)
@given(_specs())
def test_any_spec_written_out_parses_back_equal(spec: PlanSpec) -> None:
    text = plan_spec_json(spec)
    again = parse_plan_spec(text, "anywhere.json")
    assert again == spec
    assert plan_spec_json(again) == text
