"""The plan file's "sweep" step (core/plan.py, docs/simulator.md §7): a load-control ramp at a
held MAP. Its defaults, its refusals naming the source, the step and the key, and its round
trip through the plan file's JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import (
    RANGES,
    STEP_TYPES,
    IdleStep,
    PlanSpec,
    PullStep,
    SweepStep,
    parse_plan_spec,
    plan_spec_json,
    step_dict,
    step_keys,
)

SOURCE = "plans/sweep.json"
DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def _plan(*steps: dict) -> str:
    return json.dumps({"steps": list(steps)})


def test_sweep_comes_after_pull_with_its_keys() -> None:
    kinds = list(STEP_TYPES)
    assert kinds[kinds.index("pull") + 1] == "sweep" and STEP_TYPES["sweep"] is SweepStep
    assert step_keys("sweep") == (("from_rpm", "to_rpm", "map_kpa"), ("rpm_per_s",))


def test_a_sweep_step_parses_with_its_default_rate() -> None:
    spec = parse_plan_spec(_plan({"type": "sweep", "from_rpm": 2500, "to_rpm": 4500,
                                  "map_kpa": 80}), SOURCE)
    assert spec.steps == (SweepStep(2500.0, 4500.0, 80.0, 300.0),)
    step = spec.steps[0]
    assert isinstance(step, SweepStep) and isinstance(step.from_rpm, float)
    assert step_dict(step) == {"type": "sweep", "from_rpm": 2500, "to_rpm": 4500,
                               "map_kpa": 80, "rpm_per_s": 300}


def test_a_sweep_step_is_written_and_reads_back_equal() -> None:
    spec = PlanSpec("sweeps", (IdleStep(15.0), SweepStep(2000, 4200.5, 62.5, 450),
                               PullStep(), SweepStep(3000, 3200, 105, 50)))
    text = plan_spec_json(spec)
    assert '    {"type": "sweep", "from_rpm": 2000, "to_rpm": 4200.5, "map_kpa": 62.5, ' \
           '"rpm_per_s": 450},\n' in text
    again = parse_plan_spec(text, "elsewhere.json")
    assert again == spec
    assert plan_spec_json(again) == text


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ({"from_rpm": 2500, "to_rpm": 2699, "map_kpa": 80},
         "'to_rpm' and 'from_rpm' must differ by 200 rpm or more"),
        ({"from_rpm": 4500, "to_rpm": 4301, "map_kpa": 80},
         "'to_rpm' and 'from_rpm' must differ by 200 rpm or more"),
        ({"from_rpm": 2500, "to_rpm": 4500}, "'map_kpa' is missing"),
        ({"from_rpm": 2500, "map_kpa": 80}, "'to_rpm' is missing"),
        ({"to_rpm": 4500, "map_kpa": 80}, "'from_rpm' is missing"),
        ({"from_rpm": 2500, "to_rpm": 4500, "map_kpa": 80, "tps_pct": 100},
         "unknown key 'tps_pct'; this step takes from_rpm, to_rpm, map_kpa, rpm_per_s"),
        ({"from_rpm": 2500, "to_rpm": 4500, "map_kpa": 120},
         "'map_kpa' = 120 is out of range 10 to 105"),
        ({"from_rpm": 2500, "to_rpm": 4500, "map_kpa": None},
         "'map_kpa' must be a number, got None"),
        ({"from_rpm": 2500, "to_rpm": 4500, "map_kpa": 80, "rpm_per_s": 20},
         "'rpm_per_s' = 20 is out of range 50 to 3000"),
        ({"from_rpm": 2500, "to_rpm": 7000, "map_kpa": 80},
         "'to_rpm' = 7000 is out of range 700 to 6500"),
    ],
)
def test_a_bad_sweep_is_refused_naming_the_step_and_key(step: dict, problem: str) -> None:
    with pytest.raises(InputError) as info:
        parse_plan_spec(_plan({"type": "idle", "seconds": 1}, {"type": "sweep", **step}), SOURCE)
    assert str(info.value) == f"{SOURCE}: step 2 (sweep): {problem}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((2500, 2600, 80), "sweep step: 'to_rpm' and 'from_rpm' must differ by 200 rpm or more"),
        ((2500, 4500, None), "sweep step: 'map_kpa' must be a number, got None"),
        ((2500, 4500, 80, 5000), "sweep step: 'rpm_per_s' = 5000 is out of range"),
    ],
)
def test_a_sweep_built_in_code_is_checked(args: tuple, message: str) -> None:
    with pytest.raises(InputError) as info:
        SweepStep(*args)
    assert str(info.value).startswith(message)


def test_the_documented_example_plan_and_step_table_include_the_sweep() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "| `sweep` | `from_rpm`, `to_rpm`, `map_kpa` | `rpm_per_s` (300)" in text
    section = text[text.index("## 7. Test plans"):text.index("## 8.")]
    example = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert example is not None
    spec = parse_plan_spec(example[1], "docs/simulator.md")
    assert SweepStep(2500, 4500, 80, 300) in spec.steps
    assert parse_plan_spec(plan_spec_json(spec), "again.json") == spec


def _in(key: str) -> st.SearchStrategy[float]:
    lo, hi = RANGES[key]
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def _sweep(draw: st.DrawFn) -> SweepStep:
    low = draw(st.floats(700.0, 6299.0))
    high = draw(st.floats(low + 200.5, 6500.0))
    start, end = (low, high) if draw(st.booleans()) else (high, low)  # up, or down on the brake
    return SweepStep(start, end, draw(_in("map_kpa")), draw(_in("rpm_per_s")))


@settings(deadline=None)
@given(st.lists(_sweep(), min_size=1, max_size=4))
def test_any_sweep_written_out_parses_back_equal(steps: list[SweepStep]) -> None:
    spec = PlanSpec("sweeps", tuple(steps))
    text = plan_spec_json(spec)
    assert parse_plan_spec(text, "anywhere.json") == spec


def test_a_falling_sweep_is_a_plan_step() -> None:
    spec = parse_plan_spec(_plan({"type": "sweep", "from_rpm": 4500, "to_rpm": 2000,
                                  "map_kpa": 60, "rpm_per_s": 500}), SOURCE)
    step = spec.steps[0]
    assert (step.from_rpm, step.to_rpm, step.map_kpa) == (4500.0, 2000.0, 60.0)
