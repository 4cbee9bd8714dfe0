"""Running a test plan on a load-control dyno, step by step, through its host commands.

Each step becomes one dyno-line command (docs/dyno-line-protocol.md): a hold is ``!HOLD rpm
MAP kpa`` (a real dyno holds the rpm; the tuner is shown the MAP to hold, the demo's virtual
rider obeys), a WOT pull ``!PULL from to``, a sweep ``!PULL from to MAP kpa RATE r``, a decel
``!PULL from to RATE r`` downwards, an idle soak ``!RELEASE`` and a wait. The driver is ticked
from the UI's timer with the live rpm and clock; a step ends on what the engine did (reached
its rpm, held long enough), with a time-out so a dyno that does not obey cannot hang the plan.
``stop`` releases the dyno.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import (
    DecelStep,
    HoldStep,
    IdleStep,
    PlanSpec,
    PullStep,
    Step,
    SweepStep,
)
from dynoai_desktop.devices.base import DynoCommand

AT_RPM = 50.0
"""The engine is "at" an rpm within this."""
SETTLE_S = 1.5
"""A hold's settling before its seconds count (sim.plans.hold settles as long)."""
TIMEOUT_EXTRA_S = 30.0
"""A step gives up this long after it should have ended."""
DRIVABLE = (HoldStep, SweepStep, PullStep, DecelStep, IdleStep)

Send = Callable[[DynoCommand], None]


def step_command(step: Step) -> DynoCommand:
    """The dyno command that runs ``step``."""
    if isinstance(step, HoldStep):
        if step.map_kpa is None:
            return DynoCommand("hold_rpm", step.rpm)
        return DynoCommand("hold_rpm_map", (step.rpm, step.map_kpa))
    if isinstance(step, SweepStep):
        return DynoCommand("pull", (step.from_rpm, step.to_rpm, step.map_kpa, step.rpm_per_s))
    if isinstance(step, PullStep):
        return DynoCommand("pull", (step.from_rpm, step.to_rpm, None, None))
    if isinstance(step, DecelStep):
        return DynoCommand("pull", (step.from_rpm, step.to_rpm, None, step.rpm_per_s))
    if isinstance(step, IdleStep):
        return DynoCommand("release")
    raise InputError(f"a {step.kind} step cannot be run through dyno control; run holds, "
                     "sweeps, pulls, decels and idle soaks")


def step_instruction(step: Step) -> str:
    """What the tuner on the bike does during ``step``."""
    if isinstance(step, HoldStep):
        what = (f"{step.map_kpa:g} kPa MAP" if step.map_kpa is not None
                else f"{step.tps_pct:g} % throttle")
        return f"Hold {what}; the dyno holds {step.rpm:g} rpm for {step.seconds:g} s"
    if isinstance(step, SweepStep):
        return (f"Hold {step.map_kpa:g} kPa MAP; the dyno ramps {step.from_rpm:g} to "
                f"{step.to_rpm:g} rpm at {step.rpm_per_s:g} rpm/s")
    if isinstance(step, PullStep):
        return f"Wide open from {step.from_rpm:g} to {step.to_rpm:g} rpm, then roll off"
    if isinstance(step, DecelStep):
        return (f"Throttle shut; the dyno brings {step.from_rpm:g} down to {step.to_rpm:g} rpm "
                f"at {step.rpm_per_s:g} rpm/s")
    if isinstance(step, IdleStep):
        return f"Clutch in, idle for {step.seconds:g} s"
    return step.kind


def _expected_s(step: Step) -> float:
    if isinstance(step, HoldStep):
        return SETTLE_S + step.seconds
    if isinstance(step, SweepStep | DecelStep):
        return abs(step.to_rpm - step.from_rpm) / step.rpm_per_s + 2.0 * SETTLE_S
    if isinstance(step, PullStep):
        return (step.to_rpm - step.from_rpm) / 200.0 + 2.0 * SETTLE_S
    if isinstance(step, IdleStep):
        return step.seconds
    return 0.0


@dataclass
class _Progress:
    index: int = 0
    started_s: float = math.nan
    at_target_s: float = math.nan  # a hold: when the engine reached its rpm
    at_start: bool = False  # a pull or ramp: the engine has been at (or short of) its first rpm
    reached: bool = False  # a pull or ramp: the engine got to its far rpm after that


class PlanDriver:
    """Runs ``spec`` on the dyno: ``tick(now_s, rpm)`` from a timer until ``finished``."""

    def __init__(self, spec: PlanSpec, send: Send) -> None:
        steps = [s for s in spec.steps if s.kind != "fan"]
        for step in steps:
            if not isinstance(step, DRIVABLE):
                step_command(step)  # raises with the reason
        self.spec = spec
        self.steps = tuple(steps)
        self.send = send
        self.finished = False
        self.stopped = False
        self._p = _Progress()

    @property
    def step(self) -> Step | None:
        return self.steps[self._p.index] if self._p.index < len(self.steps) else None

    def status(self) -> str:
        """'Step 2 of 5: Hold 80 kPa MAP; the dyno holds 3000 rpm for 2 s', or the end."""
        if self.stopped:
            return "Stopped; the dyno is released."
        if self.finished or self.step is None:
            return f"{self.spec.name}: done; the dyno is released."
        return (f"Step {self._p.index + 1} of {len(self.steps)}: "
                f"{step_instruction(self.step)}")

    def tick(self, now_s: float, rpm: float, low: float | None = None,
             high: float | None = None) -> None:
        """Advance on the live clock and rpm; sends the next step's command when one ends.
        ``low``/``high``: the least and most rpm since the last tick (a ramp's far end lasts a
        moment before the rider lets go, which the latest rpm alone can miss)."""
        if self.finished:
            return
        for _ in range(len(self.steps) + 1):
            step = self.step
            if step is None:
                self._finish()
                return
            p = self._p
            span = (rpm if low is None else low, rpm if high is None else high)
            if math.isnan(p.started_s):
                p.started_s = now_s
                self.send(step_command(step))
                span = (rpm, rpm)  # what came before the command is not this step's
            if not self._done(step, now_s, rpm, span):
                return
            self._p = _Progress(p.index + 1)

    def _done(self, step: Step, now_s: float, rpm: float,
              span: tuple[float, float]) -> bool:
        p = self._p
        elapsed = now_s - p.started_s
        if elapsed > _expected_s(step) + TIMEOUT_EXTRA_S:
            return True
        if isinstance(step, HoldStep):
            if math.isnan(p.at_target_s) and abs(rpm - step.rpm) <= AT_RPM:
                p.at_target_s = now_s
            return not math.isnan(p.at_target_s) and \
                now_s - p.at_target_s >= SETTLE_S + step.seconds
        if isinstance(step, SweepStep | PullStep | DecelStep):
            # The far rpm counts once the engine has been at the step's start (or short of it:
            # a pull rolls on below it), not when it was already past it as the step began.
            rising = step.to_rpm > step.from_rpm
            low, high = span
            if not p.at_start:
                p.at_start = low <= step.from_rpm + AT_RPM if rising else \
                    high >= step.from_rpm - AT_RPM
                low = high = rpm  # from the start on: which came first in the span is unknown
            if p.at_start and not p.reached:
                p.reached = high >= step.to_rpm - AT_RPM if rising else \
                    low <= step.to_rpm + AT_RPM
            return p.reached
        if isinstance(step, IdleStep):
            return elapsed >= step.seconds
        return True

    def _finish(self) -> None:
        self.finished = True
        self.send(DynoCommand("release"))

    def stop(self) -> None:
        """Release the dyno and end the plan."""
        if not self.finished:
            self.stopped = True
            self._finish()
