"""The next-test planner: which test fills the important gaps in the fewest dyno minutes.

Every candidate test (a WOT pull, a load-control sweep along one MAP column or between two,
steady holds at chosen cells, a decel run, an idle soak) is laid out as the path it drives
through the table (rpm and load at the log's rate, only where its samples will pass autotune's
filters) and binned onto the grid with the same bilinear weights as real samples. Its **expected
gain** is how much closer that brings each cell to covered, capped at covered (so a cell already
covered is worth nothing and returns diminish as the table fills), weighted by the cell's best
region priority. **Efficiency** is gain per minute, times the test type's weight. A **sweep
block** chains sweeps up and down in one test, found by a look-ahead over sequences of those
sweeps (``core.coverage.blocks``). Constraints drop what the tuner cannot or will not run, each
with its reason; the rest is ordered by priority, then efficiency. A suggestion becomes a
``core.plan`` test plan with :meth:`Suggestion.plan_spec`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.coverage.behaviour import BikeBehaviour, learn_behaviour
from dynoai_desktop.core.coverage.blocks import sweep_block
from dynoai_desktop.core.coverage.candidates import (
    Context,
    decel,
    holds,
    idle,
    path_weight,
    sweep,
    sweep_lanes,
    wot_pull,
)
from dynoai_desktop.core.coverage.grid import LOAD_NAMES, TableCoverage
from dynoai_desktop.core.coverage.regions import Region, best_priority, priority_weights
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import PlanSpec, PullStep, Step, SweepStep

__all__ = ["BikeBehaviour", "Constraints", "NextTests", "PlannerSettings", "Suggestion",
           "learn_behaviour", "next_tests", "path_weight", "with_run"]

FloatArray = npt.NDArray[np.float64]

TEST_KINDS = ("pull", "sweep", "block", "holds", "decel", "idle")
"""The planner's test types, in the order a tuner reads them."""
VENUES = ("dyno", "street", "both")
NEEDS_LOAD_CONTROL = frozenset({"sweep", "block", "holds"})
"""Tests only a load-control dyno can run (it holds or ramps the rpm)."""
DYNO_ONLY = NEEDS_LOAD_CONTROL
FILL_MARGIN = 1.25
"""A test promises to fill a cell only when it should bring this much of the weight needed
(the real path wanders; the rest still counts in its gain)."""


@dataclass(frozen=True)
class Constraints:
    """What the tuner allows: limits every step must keep, and where the tests run."""

    rpm_min: float = 1000.0
    rpm_max: float = 5500.0
    load_max: float = 105.0
    """Highest MAP (kPa) or throttle (%) a hold or sweep may ask for."""
    max_pulls: int = 8
    """Pulls (WOT or sweeps) per session."""
    pulls_done: int = 0
    """Pulls already run this session."""
    head_temp_limit_c: float = 230.0
    head_temp_c: float | None = None
    """The head temperature now (None: unknown); at or over the limit only an idle soak (a
    cool-down) is suggested."""
    venue: str = "dyno"
    """``dyno``, ``street`` or ``both``: on the street only pulls, decels and idle."""
    load_control: bool = True
    """The dyno can hold and ramp rpm (an eddy-current brake); without it no holds or
    sweeps."""

    def __post_init__(self) -> None:
        if self.venue not in VENUES:
            raise InputError(f"venue {self.venue!r}: use one of {', '.join(VENUES)}")
        if not 500.0 <= self.rpm_min < self.rpm_max <= 9000.0:
            raise InputError(f"rpm limits {self.rpm_min:g}-{self.rpm_max:g}: give a minimum "
                             "below the maximum, within 500-9000 rpm")
        if not 0.0 < self.load_max <= 250.0:
            raise InputError(f"load limit {self.load_max:g}: give 1-250")
        if self.max_pulls < 0 or self.pulls_done < 0:
            raise InputError("pull counts cannot be negative")


@dataclass(frozen=True)
class PlannerSettings:
    """How the planner weighs and times tests."""

    min_weight: float = 20.0
    """A cell is covered at this good-sample weight (autotune's minimum weight)."""
    kind_weights: Mapping[str, float] = field(default_factory=lambda: {
        "pull": 1.0, "sweep": 1.0, "block": 1.0, "holds": 1.0, "decel": 0.5, "idle": 0.8})
    """Efficiency multiplier per test type (below 1: run it only when it clearly pays)."""
    settle_s: float = 1.5
    """The dyno and rider settling at a new rpm and load before samples are steady."""
    move_rpm_per_s: float = 1500.0
    """How fast the dyno moves the engine between held rpm."""
    hold_margin: float = 1.5
    """A hold lasts this many times the time its missing weight needs (noise, settling)."""
    min_hold_s: float = 0.8
    """The shortest hold: autotune's 0.5 s minimum dwell after its 0.3 s settle."""
    sweep_rpm_per_s: tuple[float, float] = (150.0, 600.0)
    """Slowest and fastest ramp a sweep may ask of the dyno."""
    sweep_margin: float = 1.5
    """A sweep gives each row this many times the weight its worst gap misses (the rider's MAP
    wanders; what a sweep leaves short, the next plan fills)."""
    max_holds_per_test: int = 10
    block_sweeps: int = 4
    """Most sweeps chained in one sweep block."""
    block_beam: int = 6
    """Sequences of sweeps the block's look-ahead keeps at each step."""
    roll_off_s: float = 2.0
    """After a pull: rolling off and coasting down."""
    decel_rpm_per_s: float = 500.0
    idle_soak_s: tuple[float, float] = (10.0, 120.0)
    min_gain: float = 0.05
    """Cells' worth a test must add to be suggested at all."""


@dataclass(frozen=True, eq=False)
class Suggestion:
    """One test the planner proposes, what it costs and what it should gain."""

    kind: str
    title: str
    steps: tuple[Step, ...]
    duration_s: float
    gain: float
    """Cells' worth of coverage it should add (a priority-1 cell filled from nothing is 1)."""
    cells_filled: tuple[tuple[int, int], ...]
    """(row, col) of the gaps it should cover."""
    efficiency: float
    """Gain per minute times the test type's weight."""
    priority: int
    """The most important region it fills (99: none)."""
    why: str
    expected_weight: FloatArray
    """The good-sample weight per cell it should add."""

    @property
    def minutes(self) -> float:
        return self.duration_s / 60.0

    def plan_spec(self, name: str | None = None, engine_temp_c: float = 90.0) -> PlanSpec:
        """The suggestion as a test plan (``dynoai simulate --plan``, the dyno-control run)."""
        return PlanSpec(name or self.title, self.steps, engine_temp_c=engine_temp_c)


@dataclass(frozen=True, eq=False)
class NextTests:
    """The planner's answer: suggestions best first, and what the constraints ruled out."""

    suggestions: tuple[Suggestion, ...]
    ruled_out: tuple[tuple[str, str], ...]
    """(test, why) for each candidate a constraint removed."""


def _ruled_out(kind: str, ctx: Context) -> str | None:
    """Why a constraint removes a test of ``kind`` (None: allowed)."""
    c = ctx.constraints
    if c.venue == "street" and kind in DYNO_ONLY:
        return "needs the dyno (the plan is for the street)"
    if kind in NEEDS_LOAD_CONTROL and not c.load_control:
        return "needs a load-control dyno to hold or ramp the rpm"
    if kind in ("pull", "sweep", "block") and c.pulls_done >= c.max_pulls:
        return f"the session's {c.max_pulls} pulls are used"
    hot = c.head_temp_c is not None and c.head_temp_c >= c.head_temp_limit_c
    if hot and kind != "idle":
        return (f"heads at {c.head_temp_c:.0f} °C, at or over the {c.head_temp_limit_c:.0f} °C "
                "limit: let them cool first")
    return None


def next_tests(coverage: TableCoverage, regions: Sequence[Region],
               constraints: Constraints | None = None,
               settings: PlannerSettings | None = None,
               bike: BikeBehaviour | None = None, start_rpm: float | None = None,
               ) -> NextTests:
    """Candidate tests for ``coverage``'s gaps, ordered by priority then efficiency."""
    constraints = constraints or Constraints()
    settings = settings or PlannerSettings()
    bike = bike or BikeBehaviour()
    axes = coverage.axes
    ctx = Context(axes, coverage.weight, priority_weights(axes, regions),
                   best_priority(axes, regions), settings, bike, constraints,
                   bike.idle_rpm if start_rpm is None else start_rpm)
    candidates: list[tuple[str, tuple[str, tuple[Step, ...], float, FloatArray] | None]] = [
        ("pull", wot_pull(ctx))]
    candidates += [("sweep", sweep(ctx, cols, rising)) for cols in sweep_lanes(axes)
                   for rising in (True, False)]
    candidates.append(("block", sweep_block(ctx)))
    candidates.append(("holds", holds(ctx, np.ones(axes.shape, dtype=bool), "in the gaps")))
    for region in sorted(regions, key=lambda r: r.priority):
        candidates.append(("holds", holds(ctx, region.cells(axes), f"in {region.name}")))
    candidates += [("decel", decel(ctx)), ("idle", idle(ctx))]

    out, ruled_out, seen = [], [], set()
    for kind, made in candidates:
        if made is None:
            continue
        title, steps, seconds, added = made
        if title in seen:
            continue
        seen.add(title)
        why_not = _ruled_out(kind, ctx)
        if why_not:
            ruled_out.append((title, why_not))
            continue
        gain, per_cell = ctx.value(added)
        if gain < settings.min_gain:
            continue
        filled = ctx.weight + added >= FILL_MARGIN * settings.min_weight
        newly = np.argwhere(filled & (ctx.missing > 0) & (ctx.worth > 0))
        cells = tuple((int(r), int(c)) for r, c in newly)
        useful = per_cell >= 0.25 * ctx.worth
        priority = int(ctx.priority[useful].min()) if useful.any() else 99
        efficiency = settings.kind_weights.get(kind, 1.0) * gain / (seconds / 60.0)
        how = (f"{len(steps)} sweeps back to back, up and down in turn, each from where the "
               "last ended" if kind == "block" else "")
        out.append(Suggestion(kind, title, steps, seconds, gain, cells, efficiency, priority,
                              _why(ctx, regions, title, cells, gain, seconds, how), added))
    out.sort(key=lambda s: (s.priority, -s.efficiency))
    return NextTests(tuple(out), tuple(ruled_out))


def _why(ctx: Context, regions: Sequence[Region], title: str,
         cells: tuple[tuple[int, int], ...], gain: float, seconds: float, how: str = "") -> str:
    """One line: the test (and how it runs, when that needs saying), what it fills, where, and
    at what cost."""
    parts = []
    for region in sorted(regions, key=lambda r: r.priority):
        mask = region.cells(ctx.axes)
        gaps = int((mask & (ctx.missing > 0)).sum())
        filled = sum(1 for r, c in cells if mask[r, c])
        if filled:
            parts.append(f"{filled} of {gaps} gaps in {region.name} (priority "
                         f"{region.priority})")
    what = f"fills {'; '.join(parts)}" if parts else "adds weight to partly covered cells"
    name, _unit = LOAD_NAMES.get(ctx.axes.load_channel, ("load", ""))
    return (f"{title}{f' ({how})' if how else ''}: {what}; about {seconds / 60.0:.1f} min for "
            f"{gain:.1f} cells' worth of {name} coverage")


def with_run(constraints: Constraints, suggestion: Suggestion) -> Constraints:
    """The constraints after running ``suggestion`` (its pulls counted)."""
    pulls = sum(1 for st in suggestion.steps if isinstance(st, PullStep | SweepStep))
    return replace(constraints, pulls_done=constraints.pulls_done + pulls)
