"""Test plans as data: the steps of a dyno test, validated, read from and written as JSON.

A plan file (docs/simulator.md §7) is what ``dynoai simulate --plan FILE`` runs and what the
next-test planner writes. This module is its schema: a frozen dataclass per step type, a
:class:`PlanSpec` that holds them, :func:`parse_plan_spec` (JSON text to a spec; errors name the
source, the step and the key) and :func:`plan_spec_json` (a spec to JSON text that parses back
equal). Every constructor checks its values, so a spec built in code is as valid as a parsed
one. What a step does on the dyno (its phases) is the simulator's part: ``sim.plans``.

    {"name": "my grid", "start": {"engine_temp_c": 90},
     "steps": [{"type": "grid", "rpm": [2000, 3000], "map_kpa": [40, 60], "seconds_per_cell": 4},
               {"type": "pull", "from_rpm": 2000, "to_rpm": 5800},
               {"type": "sweep", "from_rpm": 2500, "to_rpm": 4500, "map_kpa": 80}]}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias

from dynoai_desktop.core.errors import InputError

DEFAULT_ENGINE_TEMP_C = 90.0
DEFAULT_FAN_CFM = 12000.0
MIN_PULL_SPAN_RPM = 200.0  # a pull or sweep climbs, a decel falls, by at least this much
PULL_SPAN_SLACK_RPM = 1e-6
"""Rounding slack on that span: 256.36 - 56.36 is 199.99999999999997 in binary floating point,
and a tuner who typed 200 apart meant 200."""
_LEAST_SPAN_RPM = MIN_PULL_SPAN_RPM - PULL_SPAN_SLACK_RPM


def pull_span_problem(from_rpm: float, to_rpm: float) -> str | None:
    """Why a dyno-line pull's two rpm are too close (either direction), or None."""
    if abs(to_rpm - from_rpm) < _LEAST_SPAN_RPM:
        return f"the two rpm must differ by {MIN_PULL_SPAN_RPM:g} or more"
    return None


DEFAULT_SWEEP_RPM_PER_S = 300.0  # a sweep's ramp when none is given
DEFAULT_DECEL_RPM_PER_S = 500.0  # a decel's ramp when none is given
_CLIMB_RULE = "'to_rpm' must be above 'from_rpm' by 200 rpm or more"

RANGES: Mapping[str, tuple[float, float]] = MappingProxyType({
    "seconds": (0.1, 36000.0), "fan_cfm": (0.0, 50000.0), "cfm": (0.0, 50000.0),
    "rpm": (700.0, 6500.0), "from_rpm": (700.0, 6500.0), "to_rpm": (700.0, 6500.0),
    "map_kpa": (10.0, 105.0), "tps_pct": (0.0, 100.0), "from_tps_pct": (0.0, 100.0),
    "to_tps_pct": (0.0, 100.0), "seconds_per_cell": (0.5, 600.0), "rpm_per_s": (50.0, 3000.0),
    "repeats": (1.0, 1000.0), "period_s": (0.2, 60.0), "seed": (0.0, 2.0**31),
    "engine_temp_c": (-20.0, 200.0),
})
"""The inclusive range of every number a plan holds, by key."""

_WHOLE = frozenset({"repeats", "seed"})  # truncated to a whole number
_HOLD_ONE_OF = "give either 'map_kpa' or 'tps_pct' to hold"


class _Problem(InputError):
    """A value or rule a step or plan breaks; ``where`` and ``problem`` let the parser say it
    its own way (with the source and the step's number)."""

    def __init__(self, context: str, where: str, problem: str) -> None:
        super().__init__(": ".join(part for part in (context, where, problem) if part))
        self.where = where
        self.problem = problem


def _number_problem(key: str, value: object) -> str | None:
    """What is wrong with ``value`` for ``key`` (see RANGES), or None."""
    lo, hi = RANGES[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"{key!r} must be a number, got {value!r}"
    if not lo <= value <= hi:
        return f"{key!r} = {value:g} is out of range {lo:g} to {hi:g}"
    return None


def _values_problem(key: str, value: object) -> str | None:
    """What is wrong with a number-or-list value for ``key``, or None."""
    items = value if isinstance(value, list | tuple) else [value]
    if not items:
        return f"{key!r} needs at least one value"
    return next((p for p in (_number_problem(key, v) for v in items) if p), None)


# ------------------------------------------------------------------------ steps
@dataclass(frozen=True)
class _Step:
    """Checks and normalises the fields on construction (floats; tuples for lists)."""

    kind: ClassVar[str]
    _lists: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            listed = f.name in self._lists
            problem = (_values_problem if listed else _number_problem)(f.name, value)
            if problem:
                raise _Problem(f"{self.kind} step", "", problem)
            if listed:
                items = value if isinstance(value, list | tuple) else [value]
                object.__setattr__(self, f.name, tuple(float(v) for v in items))
            else:
                object.__setattr__(self, f.name,
                                   int(value) if f.name in _WHOLE else float(value))
        problem = self._rule()
        if problem:
            raise _Problem(f"{self.kind} step", "", problem)

    def _rule(self) -> str | None:
        return None


@dataclass(frozen=True)
class IdleStep(_Step):
    """Clutch in at idle; ``fan_cfm`` sets the fan when it starts (None: unchanged)."""

    kind: ClassVar[str] = "idle"
    seconds: float
    fan_cfm: float | None = None


@dataclass(frozen=True)
class HoldStep(_Step):
    """Hold ``rpm`` for ``seconds`` at a manifold pressure or a throttle (exactly one)."""

    kind: ClassVar[str] = "hold"
    rpm: float
    seconds: float
    map_kpa: float | None = None
    tps_pct: float | None = None

    def _rule(self) -> str | None:
        return _HOLD_ONE_OF if (self.map_kpa is None) == (self.tps_pct is None) else None


@dataclass(frozen=True)
class GridStep(_Step):
    """Steady-state holds over every rpm x MAP cell (a number or a list each)."""

    kind: ClassVar[str] = "grid"
    _lists: ClassVar[tuple[str, ...]] = ("rpm", "map_kpa")
    rpm: tuple[float, ...]
    map_kpa: tuple[float, ...]
    seconds_per_cell: float = 4.0


@dataclass(frozen=True)
class PullStep(_Step):
    """A pull on inertia from ``from_rpm`` to ``to_rpm`` (at least 200 rpm above)."""

    kind: ClassVar[str] = "pull"
    from_rpm: float = 2000.0
    to_rpm: float = 5800.0
    tps_pct: float = 100.0

    def _rule(self) -> str | None:
        return _CLIMB_RULE if self.to_rpm - self.from_rpm < _LEAST_SPAN_RPM else None


@dataclass(frozen=True)
class SweepStep(_Step):
    """A load-control sweep: the dyno ramps the rpm from ``from_rpm`` to ``to_rpm`` (at least
    200 rpm apart: up, or down with the brake) at ``rpm_per_s`` while the rider holds
    ``map_kpa``."""

    kind: ClassVar[str] = "sweep"
    from_rpm: float
    to_rpm: float
    map_kpa: float
    rpm_per_s: float = DEFAULT_SWEEP_RPM_PER_S

    def _rule(self) -> str | None:
        if abs(self.to_rpm - self.from_rpm) < _LEAST_SPAN_RPM:
            return "'to_rpm' and 'from_rpm' must differ by 200 rpm or more"
        return None


@dataclass(frozen=True)
class DecelStep(_Step):
    """A closed-throttle decel from ``from_rpm`` to ``to_rpm`` (at least 200 rpm below)."""

    kind: ClassVar[str] = "decel"
    from_rpm: float = 5000.0
    to_rpm: float = 1500.0
    rpm_per_s: float = DEFAULT_DECEL_RPM_PER_S

    def _rule(self) -> str | None:
        if self.from_rpm - self.to_rpm < _LEAST_SPAN_RPM:
            return "'to_rpm' must be below 'from_rpm' by 200 rpm or more"
        return None


@dataclass(frozen=True)
class TipInStep(_Step):
    """``repeats`` throttle steps between two openings at a held rpm, ``period_s`` each."""

    kind: ClassVar[str] = "tip_in"
    rpm: float = 2500.0
    from_tps_pct: float = 10.0
    to_tps_pct: float = 40.0
    repeats: int = 20
    period_s: float = 2.0


@dataclass(frozen=True)
class StreetStep(_Step):
    """``seconds`` of seeded street-like riding."""

    kind: ClassVar[str] = "street"
    seconds: float
    seed: int = 11


@dataclass(frozen=True)
class FanStep(_Step):
    """Set the fan to ``cfm`` from the start of the next step (one must follow)."""

    kind: ClassVar[str] = "fan"
    cfm: float


Step: TypeAlias = (IdleStep | HoldStep | GridStep | PullStep | SweepStep | DecelStep | TipInStep
                   | StreetStep | FanStep)

STEP_TYPES: Mapping[str, type[Step]] = MappingProxyType({
    cls.kind: cls
    for cls in (IdleStep, HoldStep, GridStep, PullStep, SweepStep, DecelStep, TipInStep,
                StreetStep, FanStep)
})
"""Each step's ``type`` in a plan file and its class, in the order the docs list them."""


def step_keys(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A step type's required keys and its optional ones, in the order the step lists them."""
    step_fields = fields(STEP_TYPES[kind])
    required = tuple(f.name for f in step_fields if f.default is MISSING)
    return required, tuple(f.name for f in step_fields if f.default is not MISSING)


# ------------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class PlanSpec:
    """A named test plan: the engine temperature and fan it starts with, and its steps.

    At least one step must run the engine (not only set the fan), and a fan step needs a step
    after it to apply to.
    """

    name: str
    steps: tuple[Step, ...]
    engine_temp_c: float = DEFAULT_ENGINE_TEMP_C
    fan_cfm: float = DEFAULT_FAN_CFM

    def __post_init__(self) -> None:
        context = f"plan {self.name!r}"
        if not isinstance(self.name, str):
            raise InputError(f"{context}: the name must be text")
        steps = tuple(self.steps)
        for i, step in enumerate(steps):
            if not isinstance(step, _Step):
                raise InputError(f"{context}: step {i + 1} is not a plan step: {step!r}")
        object.__setattr__(self, "steps", steps)
        if all(isinstance(step, FanStep) for step in steps):
            raise _Problem(context, "", "the plan has no steps that run the engine")
        if isinstance(steps[-1], FanStep):
            raise _Problem(context, "", "the last step is a fan setting with no step after it "
                                        "to apply to; move it before a step or remove it")
        for key in ("engine_temp_c", "fan_cfm"):
            value = getattr(self, key)
            problem = _number_problem(key, value)
            if problem:
                raise _Problem(context, "start", problem)
            object.__setattr__(self, key, float(value))


# ------------------------------------------------------------------------ JSON in
def parse_plan_spec(text: str, source: str) -> PlanSpec:
    """A plan from JSON text; InputError naming ``source``, the step and the key at fault.

    A missing ``name`` is ``source``; numbers out of RANGES, unknown step types or keys,
    missing keys and broken rules (a hold needs exactly one of map_kpa/tps_pct, a pull or a
    sweep climbs and a decel falls by 200 rpm or more) are refused.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise InputError(f'{source}: a plan is an object with a "steps" list (see '
                         "docs/simulator.md)")
    unknown = set(data) - {"name", "start", "steps"}
    if unknown:
        raise InputError(f"{source}: unknown key {sorted(unknown)[0]!r}; a plan has name, "
                         "start and steps")
    start = data.get("start", {})
    if not isinstance(start, dict) or set(start) - {"engine_temp_c", "fan_cfm"}:
        raise InputError(f'{source}: "start" takes engine_temp_c and fan_cfm')
    steps = tuple(_parse_step(source, i, step) for i, step in enumerate(data["steps"]))
    try:
        return PlanSpec(str(data.get("name", source)), steps,
                        start.get("engine_temp_c", DEFAULT_ENGINE_TEMP_C),
                        start.get("fan_cfm", DEFAULT_FAN_CFM))
    except _Problem as exc:
        raise _located(source, exc.where, exc.problem) from None


def _located(source: str, where: str, problem: str) -> InputError:
    return InputError(": ".join(part for part in (source, where, problem) if part))


def _parse_step(source: str, index: int, step: Any) -> Step:
    where = f"step {index + 1}"
    if not isinstance(step, dict) or not isinstance(step.get("type"), str):
        raise _located(source, where, 'each step must be an object with a "type", e.g. '
                                      '{"type": "pull", "from_rpm": 2000, "to_rpm": 5800}')
    kind = step["type"]
    where = f"step {index + 1} ({kind})"
    if kind not in STEP_TYPES:
        raise _located(source, where, f"unknown step type; use one of {', '.join(STEP_TYPES)}")
    required, optional = step_keys(kind)
    for key in required:
        if key not in step:
            raise _located(source, where, f"{key!r} is missing")
    for key in step:
        if key != "type" and key not in required + optional:
            raise _located(source, where, f"unknown key {key!r}; this step takes "
                                          f"{', '.join(required + optional)}")
    if kind == "hold" and ("map_kpa" in step) == ("tps_pct" in step):
        raise _located(source, where, _HOLD_ONE_OF)
    values = {k: v for k, v in step.items() if k != "type"}
    lists = STEP_TYPES[kind]._lists
    for key in (*lists, *(k for k in values if k not in lists)):  # grid: lists first
        if key in values:
            problem = (_values_problem if key in lists else _number_problem)(key, values[key])
            if problem:
                raise _located(source, where, problem)
    try:
        return STEP_TYPES[kind](**values)
    except _Problem as exc:
        raise _located(source, where, exc.problem) from None


# ------------------------------------------------------------------------ JSON out
def _json_number(value: float) -> float | int:
    """Whole numbers as integers (``2000`` rather than ``2000.0``); they parse back equal."""
    return int(value) if float(value).is_integer() else value


def step_dict(step: Step) -> dict[str, Any]:
    """A step as a plan file writes it: ``type`` first, then every key that has a value."""
    out: dict[str, Any] = {"type": step.kind}
    for f in fields(step):
        value = getattr(step, f.name)
        if isinstance(value, tuple):
            out[f.name] = [_json_number(v) for v in value]
        elif value is not None:
            out[f.name] = _json_number(value)
    return out


def plan_spec_dict(spec: PlanSpec) -> dict[str, Any]:
    """A plan in the plan file's JSON shape (every key written, defaults too)."""
    return {"name": spec.name,
            "start": {"engine_temp_c": _json_number(spec.engine_temp_c),
                      "fan_cfm": _json_number(spec.fan_cfm)},
            "steps": [step_dict(step) for step in spec.steps]}


def plan_spec_json(spec: PlanSpec) -> str:
    """A plan file's text, one step a line; ``parse_plan_spec`` reads it back equal."""
    data = plan_spec_dict(spec)
    steps = ",\n".join(f"    {json.dumps(step)}" for step in data["steps"])
    return (f'{{\n  "name": {json.dumps(data["name"])},\n'
            f'  "start": {json.dumps(data["start"])},\n'
            f'  "steps": [\n{steps}\n  ]\n}}\n')
