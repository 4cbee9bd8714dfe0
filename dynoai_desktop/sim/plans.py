"""Test plans: what the operator and the dyno do, step by step (built in, or from a JSON file).

A plan is a list of steps; each step becomes timed *phases*, and a phase says, at each moment,
what the rider does with the throttle (a throttle % or a manifold pressure to hold), what the
dyno's brake does (hold an rpm, follow a ramp, or let the roller run free), whether the clutch is
in (idle), and the fan. A plan file's steps (format and checks: ``core.plan``, docs/simulator.md
§7) become phases in ``plan_from_spec``.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import (
    DEFAULT_ENGINE_TEMP_C,
    DEFAULT_FAN_CFM,
    DEFAULT_SWEEP_RPM_PER_S,
    DecelStep,
    FanStep,
    GridStep,
    HoldStep,
    IdleStep,
    PlanSpec,
    PullStep,
    Step,
    StreetStep,
    SweepStep,
    TipInStep,
    parse_plan_spec,
)

SETTLE_RPM_PER_S = 1500.0  # how fast the dyno moves between held rpm


class Setpoint(NamedTuple):
    """The operator's and the dyno's commands at one moment.

    (A named tuple, as ``PlanState``: a ramp makes one every step, and a tuple is made in a
    third of a frozen dataclass's time.)
    """

    label: str
    tps_pct: float | None = None  # throttle, or None when holding map_kpa
    map_kpa: float | None = None  # manifold pressure the rider holds
    target_rpm: float | None = None  # brake target; None = roller free
    clutch_in: bool = False
    steady: bool = False  # a settled steady-state hold (not a transition)


FINISHED = Setpoint("plan finished", 0.0, None, None, clutch_in=True)


class PlanState(NamedTuple):
    """What a phase may look at to decide it is finished."""

    time_s: float  # since the phase began
    rpm: float
    start_rpm: float  # when the phase began


@dataclass(frozen=True)
class Phase:
    """One stretch of a plan: commands as a function of the phase's own time."""

    label: str
    command: Callable[[float, float, float], Setpoint]  # (phase s, start rpm, rpm now)
    seconds: float | None = None  # fixed length, or
    until: Callable[[PlanState], bool] | None = None  # a condition (with a safety timeout)
    timeout_s: float = 120.0
    fan_cfm: float | None = None  # set the fan when the phase starts


@dataclass(frozen=True)
class Plan:
    """A named list of phases, and the state the engine starts in."""

    name: str
    phases: tuple[Phase, ...]
    start_engine_temp_c: float = DEFAULT_ENGINE_TEMP_C
    start_fan_cfm: float = DEFAULT_FAN_CFM
    source: PlanSpec | None = None  # the plan file's spec it came from (None: built in)


# ------------------------------------------------------------------------ phase builders
def _ramp(start: float, end: float, rate: float, t: float) -> float:
    """From ``start`` towards ``end`` at ``rate`` per second."""
    if end >= start:
        return min(end, start + rate * t)
    return max(end, start - rate * t)


def _settle_seconds(from_rpm: float, to_rpm: float) -> float:
    return abs(to_rpm - from_rpm) / SETTLE_RPM_PER_S


def hold(rpm: float, seconds: float, *, map_kpa: float | None = None,
         tps_pct: float | None = None, settle_s: float = 1.5) -> list[Phase]:
    """Move to ``rpm`` (the brake follows a ramp), settle, then hold for ``seconds``."""
    what = f"{map_kpa:g} kPa" if map_kpa is not None else f"{tps_pct:g} % throttle"
    label = f"hold {rpm:g} rpm {what}"

    settling = label + " (settling)"

    def move(t: float, rpm0: float, now: float) -> Setpoint:
        # Climbing to a higher rpm takes more throttle than the cell's own; the brake follows
        # the ramp, so the engine cannot overshoot. Near the target it is the cell's throttle.
        climbing = now < rpm - 60.0
        extra_map = 30.0 if climbing and map_kpa is not None else 0.0
        extra_tps = 20.0 if climbing and tps_pct is not None else 0.0
        return Setpoint(settling, None if tps_pct is None else min(100.0, tps_pct + extra_tps),
                        None if map_kpa is None else min(100.0, map_kpa + extra_map),
                        _ramp(rpm0, rpm, SETTLE_RPM_PER_S, t))

    held = Setpoint(label, tps_pct, map_kpa, rpm, steady=True)

    def steady(t: float, rpm0: float, now: float) -> Setpoint:
        return held

    return [
        Phase(settling, move,
              until=lambda s: s.time_s >= _settle_seconds(s.start_rpm, rpm) + settle_s
              and abs(s.rpm - rpm) < 25.0, timeout_s=20),
        Phase(label, steady, seconds=seconds),
    ]


def grid(rpms: list[float], maps: list[float], seconds_per_cell: float) -> list[Phase]:
    """Steady-state holds over rpm x MAP cells, rpm by rpm, MAP rising (the way it is driven)."""
    return [p for r in rpms for m in maps for p in hold(r, seconds_per_cell, map_kpa=m)]


ROLL_ON_BELOW_RPM = 200.0  # a pull rolls on this far below its first recorded rpm
ROLL_ON_MIN_RPM = 1200.0


def roll_on_rpm(from_rpm: float) -> float:
    """Where the rider opens the throttle for a pull that counts from ``from_rpm``."""
    return max(ROLL_ON_MIN_RPM, min(from_rpm - ROLL_ON_BELOW_RPM, from_rpm))


def pull(from_rpm: float, to_rpm: float, tps_pct: float = 100.0) -> list[Phase]:
    """A WOT pull on inertia, as a Dynojet run is made: steady a little below ``from_rpm``
    (2000 -> 1800 rpm), throttle snapped open, roller free to ``to_rpm``; so by ``from_rpm``
    the engine is at full throttle and the fuel film has caught up."""
    label = f"pull {from_rpm:g}-{to_rpm:g} rpm"
    pulling = Setpoint(label, tps_pct, None, None)
    return [
        *hold(roll_on_rpm(from_rpm), 2.0, tps_pct=8.0),
        Phase(label, lambda t, r0, now: pulling,
              until=lambda s: s.rpm >= to_rpm, timeout_s=30.0),
        Phase(label + " (braking)", lambda t, r0, now: Setpoint(
            label + " (braking)", 0.0, None, _ramp(r0, 2500.0, 900.0, t)),
            until=lambda s: s.rpm <= 2600.0, timeout_s=15.0),
    ]


SWEEP_SETTLED_S = 1.0  # a sweep holds its MAP this long at from_rpm before the ramp
SWEEP_GRACE_S = 5.0  # how long past the ramp's end a sweep waits for a lagging engine


def sweep(from_rpm: float, to_rpm: float, map_kpa: float | None,
          rpm_per_s: float = DEFAULT_SWEEP_RPM_PER_S, *, tps_pct: float | None = None
          ) -> list[Phase]:
    """A load-control sweep: move to ``from_rpm`` and hold ``map_kpa`` (or ``tps_pct``: 100 is
    a wide-open sweep) there for a second, then the brake ramps the rpm to ``to_rpm`` at
    ``rpm_per_s`` while the rider keeps holding it. The ramp phase ends when the ramp has
    reached ``to_rpm`` and the engine with it (within 30 rpm), or ``SWEEP_GRACE_S`` after the
    ramp's end if the engine cannot pull the ramp at that load (the brake only absorbs)."""
    if (map_kpa is None) == (tps_pct is None):
        raise ValueError("a sweep holds either map_kpa or tps_pct")
    what = f"{map_kpa:g} kPa" if map_kpa is not None else f"{tps_pct:g} % throttle"
    label = f"sweep {from_rpm:g}-{to_rpm:g} rpm {what} at {rpm_per_s:g} rpm/s"
    ramp_s = abs(to_rpm - from_rpm) / rpm_per_s
    return [
        *hold(from_rpm, SWEEP_SETTLED_S, map_kpa=map_kpa, tps_pct=tps_pct),
        Phase(label, lambda t, r0, now: Setpoint(
            label, tps_pct, map_kpa, _ramp(from_rpm, to_rpm, rpm_per_s, t)),
            until=lambda s: s.time_s >= ramp_s and abs(s.rpm - to_rpm) <= 30.0,
            timeout_s=ramp_s + SWEEP_GRACE_S),
    ]


def decel(from_rpm: float, to_rpm: float, rpm_per_s: float) -> list[Phase]:
    """Closed-throttle decel from ``from_rpm`` down a brake ramp (decel pops live here)."""
    label = f"decel {from_rpm:g}-{to_rpm:g} rpm"
    return [
        *hold(from_rpm, 2.0, map_kpa=45.0),
        Phase(label, lambda t, r0, now: Setpoint(label, 0.0, None, _ramp(r0, to_rpm, rpm_per_s, t)),
              until=lambda s: s.rpm <= to_rpm + 30.0, timeout_s=60.0),
        *hold(to_rpm, 1.0, tps_pct=3.0),
    ]


def idle(seconds: float, fan_cfm: float | None = None) -> list[Phase]:
    """Clutch in at idle for ``seconds`` (heat soak when the fan is off)."""
    label = "idle" if fan_cfm is None else f"idle, fan {fan_cfm:g} cfm"
    idling = Setpoint(label, 0.0, None, None, clutch_in=True, steady=True)
    return [Phase(label, lambda t, r0, now: idling, seconds=seconds, fan_cfm=fan_cfm)]


def tip_in(rpm: float, from_tps: float, to_tps: float, repeats: int, period_s: float
           ) -> list[Phase]:
    """Throttle steps at a held rpm: the wideband's delay shows after each tip-in."""
    label = f"tip-in {from_tps:g}-{to_tps:g} % at {rpm:g} rpm"
    half = period_s / 2.0

    def command(t: float, rpm0: float, now: float) -> Setpoint:
        opened = (t % period_s) >= half
        return Setpoint(label, to_tps if opened else from_tps, None, rpm)

    return [*hold(rpm, 1.0, tps_pct=from_tps),
            Phase(label, command, seconds=repeats * period_s)]


def street(seconds: float, seed: int) -> list[Phase]:
    """A street-like mix: cruise, roll-ons, closed-throttle decels and stops at idle."""
    rng = random.Random(seed)
    phases: list[Phase] = []
    total = 0.0
    while total < seconds:
        kind = rng.choice(("cruise", "cruise", "roll-on", "decel", "stop"))
        if kind == "cruise":
            rpm, kpa, length = rng.uniform(1800, 3500), rng.uniform(30, 55), rng.uniform(4, 12)
            phases += hold(round(rpm, -1), length, map_kpa=round(kpa))
        elif kind == "roll-on":
            start, tps = rng.uniform(1800, 2800), rng.uniform(40, 90)
            end = min(5200.0, start + rng.uniform(1200, 2400))
            label = f"roll-on {tps:.0f} %"
            phases += hold(round(start, -1), 1.0, map_kpa=40.0)
            phases.append(Phase(label, lambda t, r0, now, tps=tps, end=end, label=label: Setpoint(
                label, tps, None, _ramp(r0, end, 600.0, t)), until=lambda s, end=end:
                s.rpm >= end - 30.0, timeout_s=20.0))
            length = (end - start) / 600.0
        elif kind == "decel":
            start = rng.uniform(3000, 4800)
            phases += decel(round(start, -1), 1800.0, rng.uniform(400, 900))
            length = 4.0
        else:
            length = rng.uniform(3, 10)
            phases += idle(length)
        total += length + 2.0
    return phases


# ------------------------------------------------------------------------ built-in plans
WARM_UP_S = 15.0  # the widebands read after 12-15 s: plans idle that long first


def _default() -> list[Phase]:
    return [
        *idle(WARM_UP_S),
        *pull(2000.0, 5800.0),
        *grid([2000.0, 2500.0, 3000.0, 3500.0, 4000.0], [40.0, 60.0, 80.0, 100.0], 3.0),
        *pull(2000.0, 5800.0),
        *decel(5000.0, 1800.0, 600.0),
    ]


# The autotune benchmark's plan: the VE table's breakpoints a tuner holds on a load-control dyno.
# The brake only absorbs, so a hold needs the engine to pull: the lowest MAP held rises with rpm
# (below it the engine cannot keep the rpm) and 1000 rpm starts above idle MAP. Low rpm stops
# short of lugging; 100 kPa is held only up to 3000 rpm (above it WOT comes from the pulls, as in
# a shop), so some WOT cells are reached by pulls only.
AUTOTUNE_GRID_RPM = (1000.0, 1250.0, 1500.0, 1750.0, 2000.0, 2250.0, 2500.0, 2750.0, 3000.0,
                     3250.0, 3500.0, 3750.0, 4000.0, 4500.0, 5000.0)
AUTOTUNE_GRID_KPA = (30.0, 35.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0)
AUTOTUNE_HOLD_S = 6.0


def autotune_kpa_range(rpm: float) -> tuple[float, float]:
    """The lowest and highest MAP the autotune plan holds at ``rpm``."""
    low = 50.0 if rpm <= 1000.0 else 40.0 if rpm <= 1250.0 else 30.0 if rpm <= 2000.0 \
        else 35.0 if rpm <= 4000.0 else 40.0 if rpm <= 4500.0 else 50.0
    high = 60.0 if rpm <= 1000.0 else 80.0 if rpm <= 1500.0 else 100.0 if rpm <= 3000.0 \
        else 90.0
    return low, high


def autotune_grid_cells() -> list[tuple[float, float]]:
    """(rpm, kPa) of each steady hold of the autotune plan's grid, in the order driven."""
    return [(r, m) for r in AUTOTUNE_GRID_RPM for m in AUTOTUNE_GRID_KPA
            if autotune_kpa_range(r)[0] <= m <= autotune_kpa_range(r)[1]]


def _autotune() -> list[Phase]:
    """About 20 simulated minutes: warm-up, the steady grid in three blocks with tip-ins,
    decels, a closed-throttle overrun and WOT pulls between them, and a warm idle at the
    end."""
    cells = autotune_grid_cells()

    def block(lo: float, hi: float) -> list[Phase]:
        return [p for r, m in cells if lo <= r < hi
                for p in hold(r, AUTOTUNE_HOLD_S, map_kpa=m)]

    cool = hold(2500.0, 6.0, map_kpa=35.0)
    return [
        *idle(WARM_UP_S + 5.0),
        *block(0.0, 2250.0),
        *tip_in(2500.0, 10.0, 40.0, 6, 2.0),
        *pull(2000.0, 6000.0), *cool,
        *decel(5000.0, 1500.0, 600.0),
        *block(2250.0, 3500.0),
        *tip_in(3500.0, 15.0, 50.0, 6, 2.0),
        *pull(2000.0, 6000.0), *cool,
        *decel(4500.0, 1800.0, 150.0),  # overrun: closed throttle, brake barely on
        *block(3500.0, 6500.0),
        *tip_in(3000.0, 20.0, 60.0, 6, 2.0),
        *pull(2000.0, 6000.0), *cool,
        *decel(5000.0, 1500.0, 900.0),
        *pull(2000.0, 6000.0), *cool,
        *decel(4000.0, 1500.0, 300.0),
        *pull(2000.0, 6000.0), *cool,
        *decel(5000.0, 1500.0, 600.0),
        *idle(60.0),
    ]


BUILTIN_PLANS: Mapping[str, tuple[str, Callable[[], list[Phase]]]] = {
    "default": ("WOT pulls around a short steady-state grid and a decel", _default),
    "wot_pull": ("three WOT pulls 2000-5800 rpm with cool-down holds", lambda: [
        *idle(WARM_UP_S), *(p for _ in range(3)
                            for p in (*pull(2000.0, 5800.0), *hold(2500.0, 8.0, map_kpa=35.0)))]),
    "steady_grid": ("steady-state holds, 1500-4500 rpm x 30-100 kPa, 4 s a cell", lambda: grid(
        [1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0, 4500.0],
        [30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0], 4.0)),
    "decel": ("three closed-throttle decels from 5000 rpm", lambda: [
        p for _ in range(3) for p in decel(5000.0, 1500.0, 500.0)]),
    "idle_soak": ("10 minutes at idle with the fan off, then 2 minutes with it on", lambda: [
        *idle(600.0, fan_cfm=0.0), *idle(120.0, fan_cfm=DEFAULT_FAN_CFM)]),
    "street": ("5 minutes of street-like riding", lambda: street(300.0, seed=11)),
    "tip_in": ("widebands warm up, then 20 tip-ins 10-40 % at 2500 rpm (the delay shows)",
               lambda: [*idle(WARM_UP_S), *tip_in(2500.0, 10.0, 40.0, 20, 2.0)]),
    "autotune": ("the autotune benchmark: warm-up, steady grid 1000-5000 rpm x 30-100 kPa, "
                 "tip-ins, decels and overrun, five WOT pulls, a warm idle (about 20 min)",
                 _autotune),
}


def builtin_plan(name: str) -> Plan:
    """A built-in plan by name; InputError naming the choices otherwise."""
    try:
        _, make = BUILTIN_PLANS[name]
    except KeyError:
        raise InputError(
            f"unknown plan {name!r}: use one of {', '.join(BUILTIN_PLANS)} or a plan file (.json)"
        ) from None
    return Plan(name, tuple(make()))


# ------------------------------------------------------------------------ plan files
def step_phases(step: Step) -> list[Phase]:
    """The phases of one step of a plan spec (a fan step has none: see ``plan_from_spec``)."""
    if isinstance(step, IdleStep):
        return idle(step.seconds, step.fan_cfm)
    if isinstance(step, HoldStep):
        return hold(step.rpm, step.seconds, map_kpa=step.map_kpa, tps_pct=step.tps_pct)
    if isinstance(step, GridStep):
        return grid(list(step.rpm), list(step.map_kpa), step.seconds_per_cell)
    if isinstance(step, PullStep):
        return pull(step.from_rpm, step.to_rpm, step.tps_pct)
    if isinstance(step, SweepStep):
        return sweep(step.from_rpm, step.to_rpm, step.map_kpa, step.rpm_per_s)
    if isinstance(step, DecelStep):
        return decel(step.from_rpm, step.to_rpm, step.rpm_per_s)
    if isinstance(step, TipInStep):
        return tip_in(step.rpm, step.from_tps_pct, step.to_tps_pct, step.repeats, step.period_s)
    if isinstance(step, StreetStep):
        return street(step.seconds, step.seed)
    return []  # FanStep


def plan_from_spec(spec: PlanSpec) -> Plan:
    """The phases of a validated plan; a fan step sets the fan when the next step starts."""
    phases: list[Phase] = []
    pending_fan: float | None = None
    for step in spec.steps:
        if isinstance(step, FanStep):
            pending_fan = step.cfm
            continue
        new = step_phases(step)
        if new and pending_fan is not None:
            new[0] = dataclasses.replace(new[0], fan_cfm=pending_fan)
            pending_fan = None
        phases += new
    return Plan(spec.name, tuple(phases), spec.engine_temp_c, spec.fan_cfm, spec)


def parse_plan(text: str, source: str) -> Plan:
    """A plan from JSON text; InputError naming ``source``, the step and the key at fault."""
    return plan_from_spec(parse_plan_spec(text, source))


class PlanRunner:
    """Walks a plan's phases against the simulation clock; loops when told to."""

    def __init__(self, plan: Plan, loop: bool) -> None:
        self.plan = plan
        self.loop = loop
        self.finished = False
        self._index = 0
        self._start_t = 0.0
        self._start_rpm: float | None = None
        self.fan_cfm = plan.start_fan_cfm
        self.laps = 0

    @property
    def phase(self) -> Phase:
        """The phase running now."""
        return self.plan.phases[self._index]

    def setpoint(self, t: float, rpm: float) -> Setpoint:
        """Commands at simulation time ``t`` (moves to the next phase when one is done)."""
        if self.finished:
            return FINISHED
        for _ in range(len(self.plan.phases) + 1):
            if self._start_rpm is None:
                self._start_t, self._start_rpm = t, rpm
                if self.phase.fan_cfm is not None:
                    self.fan_cfm = self.phase.fan_cfm
            phase, local = self.phase, t - self._start_t
            done = (phase.seconds is not None and local >= phase.seconds) or (
                phase.until is not None
                and (phase.until(PlanState(local, rpm, self._start_rpm))
                     or local >= phase.timeout_s)
            )
            if not done:
                return phase.command(local, self._start_rpm, rpm)
            self._next()
            if self.finished:
                break
        if self.finished:
            return FINISHED
        return self.phase.command(t - self._start_t, self._start_rpm or rpm, rpm)

    def _next(self) -> None:
        self._start_rpm = None
        self._index += 1
        if self._index >= len(self.plan.phases):
            self.laps += 1
            if self.loop:
                self._index = 0
            else:
                self._index = len(self.plan.phases) - 1
                self.finished = True
