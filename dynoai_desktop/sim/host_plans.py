"""What the virtual dyno runs on a host's command (the dyno line's hold and pull), checked
against what the cell can do: the phases to run, or one line saying why not."""

from __future__ import annotations

from dynoai_desktop.core.plan import (
    DEFAULT_DECEL_RPM_PER_S,
    DEFAULT_SWEEP_RPM_PER_S,
    RANGES,
    pull_span_problem,
)
from dynoai_desktop.sim import plans
from dynoai_desktop.sim.plans import Phase

HOST_RPM = (800.0, 6000.0)  # what the virtual dyno holds or pulls to on a host's command
HOST_MAP_KPA = RANGES["map_kpa"]  # a MAP the virtual rider holds on a host's command
HOST_RATE_RPM_PER_S = RANGES["rpm_per_s"]  # a ramp the virtual dyno follows on a host's command
OPEN_ENDED_S = 1e9  # a host-driven hold or idle lasts until the next command


def rpm_problem(verb: str, rpm: float) -> str | None:
    lo, hi = HOST_RPM
    return None if lo <= rpm <= hi else f"cannot {verb} {rpm:g} rpm; {verb} {lo:g}-{hi:g} rpm"


def map_problem(map_kpa: float) -> str | None:
    lo, hi = HOST_MAP_KPA
    return None if lo <= map_kpa <= hi else f"cannot hold {map_kpa:g} kPa; hold {lo:g}-{hi:g} kPa"


def hold_phases(rpm: float, map_kpa: float) -> tuple[str, list[Phase]] | str:
    """A host's hold at ``rpm`` and ``map_kpa`` until the next command: (name, phases), or the
    problem."""
    problem = rpm_problem("hold", rpm) or map_problem(map_kpa)
    if problem:
        return problem
    return (f"host hold {rpm:g} rpm {map_kpa:g} kPa",
            plans.hold(rpm, OPEN_ENDED_S, map_kpa=map_kpa))


def pull_phases(from_rpm: float, to_rpm: float, map_kpa: float | None, rate: float | None
                ) -> tuple[str, list[Phase]] | str:
    """A host's pull: on inertia, a sweep at a MAP (up, or down on the brake) or wide open, or
    a decel when falling without a MAP. (name, phases), or the problem."""
    problem = rpm_problem("pull", from_rpm) or rpm_problem("pull", to_rpm)
    if problem:
        return problem
    span = pull_span_problem(from_rpm, to_rpm)
    if span:
        return span
    if rate is not None:
        lo, hi = HOST_RATE_RPM_PER_S
        if not lo <= rate <= hi:
            return f"cannot ramp at {rate:g} rpm/s; ramp at {lo:g}-{hi:g} rpm/s"
    name = f"host pull {from_rpm:g}-{to_rpm:g} rpm"
    if to_rpm < from_rpm and map_kpa is None:
        return name, plans.decel(from_rpm, to_rpm, rate or DEFAULT_DECEL_RPM_PER_S)
    if map_kpa is not None:
        return map_problem(map_kpa) or (
            name, plans.sweep(from_rpm, to_rpm, map_kpa, rate or DEFAULT_SWEEP_RPM_PER_S))
    if rate is not None:
        return name, plans.sweep(from_rpm, to_rpm, None, rate, tps_pct=100.0)
    return name, plans.pull(from_rpm, to_rpm)
