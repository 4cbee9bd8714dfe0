"""The next-test planner: which test fills the important gaps in the fewest dyno minutes.

Every candidate test (a WOT pull, a load-control sweep along one MAP or throttle column, steady
holds at chosen cells, a decel run, an idle soak) is laid out as the path it drives through the
table (rpm and load at the log's rate, only where its samples will pass autotune's filters) and
binned onto the grid with the same bilinear weights as real samples. Its **expected gain** is how
much closer that brings each cell to covered, capped at covered (so a cell already covered is
worth nothing and returns diminish as the table fills), weighted by the cell's best region
priority. **Efficiency** is gain per minute, times the test type's weight. Constraints drop what
the tuner cannot or will not run, each with its reason; the rest is ordered by priority, then
efficiency. A suggestion becomes a ``core.plan`` test plan with :meth:`Suggestion.plan_spec`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune.binning import locate, place_corners
from dynoai_desktop.core.coverage.grid import LOAD_NAMES, CoverageAxes, TableCoverage
from dynoai_desktop.core.coverage.regions import Region, best_priority, priority_weights
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

FloatArray = npt.NDArray[np.float64]

TEST_KINDS = ("pull", "sweep", "holds", "decel", "idle")
"""The planner's test types, in the order a tuner reads them."""
VENUES = ("dyno", "street", "both")
NEEDS_LOAD_CONTROL = frozenset({"sweep", "holds"})
"""Tests only a load-control dyno can run (it holds or ramps the rpm)."""
DYNO_ONLY = NEEDS_LOAD_CONTROL
SWEEP_HOLD_S = 1.0
"""A sweep holds its load this long at its first rpm before the ramp (sim.plans.sweep)."""
FRICTION_MAP_KPA = 20.0
HOLDABLE_BELOW_WOT_KPA = 2.0
"""A rider can hold a MAP up to this far below the bike's WOT MAP (above it is wide open)."""
CLIMB_MARGIN = 0.8
"""A rising ramp is asked at this share of what the engine could just pull (a ramp it falls
behind waits for it and fills its cells unevenly)."""
FILL_MARGIN = 1.25
"""A test promises to fill a cell only when it should bring this much of the weight needed
(the real path wanders; the rest still counts in its gain)."""
CLIMB_EXTRA_KPA = 30.0
"""Climbing to a held rpm the rider opens this much more MAP than the cell's (sim.plans.hold)."""


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
class BikeBehaviour:
    """How this bike moves on the dyno, for laying out a test's path (learned from its runs
    by :func:`learn_behaviour`, else typical of a Harley V-twin on a chassis dyno)."""

    log_rate_hz: float = 100.0
    wot_map_kpa: float = 98.0
    pull_rpm_per_s: float = 450.0
    idle_rpm: float = 1000.0
    idle_map_kpa: float = 38.0
    wot_learned: bool = False
    """The WOT MAP and pull rate come from the bike's runs (not typical values)."""

    def sweep_rpm_per_s(self, map_kpa: float) -> float:
        """The fastest ramp the engine can pull the roller through at ``map_kpa``: its WOT pull
        rate scaled by the torque, which grows about linearly with MAP above the friction's
        share (about 20 kPa)."""
        share = (map_kpa - FRICTION_MAP_KPA) / max(1.0, self.wot_map_kpa - FRICTION_MAP_KPA)
        return CLIMB_MARGIN * self.pull_rpm_per_s * float(np.clip(share, 0.1, 1.0))


def learn_behaviour(runs: Sequence[Mapping[str, FloatArray]],
                    known: BikeBehaviour | None = None) -> BikeBehaviour:
    """What the runs show of the log rate, WOT MAP, WOT pull rate and idle, over ``known``.

    A load-control ramp at full throttle climbs no faster than a free pull and a part-throttle
    sweep's MAP is below WOT's, so once learned the WOT MAP and pull rate only ever rise (the
    most seen is the bike's); before that, what a run shows replaces the typical value.
    """
    out = known or BikeBehaviour()
    rates, wot_map, pull_rate, idle_rpm, idle_map = [], [], [], [], []
    for cols in runs:
        t = np.asarray(cols.get("time_s", ()), dtype=np.float64)
        if t.size < 20:
            continue
        dt = np.diff(t)
        dt = dt[(dt > 0) & (dt < 1.0)]
        if dt.size:
            rates.append(1.0 / float(np.median(dt)))
        rpm, tps, kpa = (np.asarray(cols[k], dtype=np.float64) if k in cols else None
                         for k in ("rpm", "tps_pct", "map_kpa"))
        if rpm is None or tps is None:
            continue
        wot = tps >= 90.0
        if kpa is not None and wot.sum() > 50:
            wot_map.append(float(np.nanpercentile(kpa[wot], 90)))
        if wot.sum() > 50:
            rising = np.gradient(rpm, t)[wot]
            rising = rising[rising > 100.0]
            if rising.size > 50:
                pull_rate.append(float(np.median(rising)))
        idle = (tps < 2.0) & (rpm < 1300.0) & (rpm > 500.0)
        if idle.sum() > 100:
            idle_rpm.append(float(np.nanmedian(rpm[idle])))
            if kpa is not None:
                idle_map.append(float(np.nanmedian(kpa[idle])))

    def pick(values: list[float], fallback: float) -> float:
        return float(np.median(values)) if values else fallback

    def most(values: list[float], fallback: float, learned: bool) -> float:
        if not values:
            return fallback
        return max(max(values), fallback) if learned else max(values)

    return BikeBehaviour(pick(rates, out.log_rate_hz),
                         most(wot_map, out.wot_map_kpa, out.wot_learned),
                         most(pull_rate, out.pull_rpm_per_s, out.wot_learned),
                         pick(idle_rpm, out.idle_rpm), pick(idle_map, out.idle_map_kpa),
                         wot_learned=out.wot_learned or bool(wot_map or pull_rate))


@dataclass(frozen=True)
class PlannerSettings:
    """How the planner weighs and times tests."""

    min_weight: float = 20.0
    """A cell is covered at this good-sample weight (autotune's minimum weight)."""
    kind_weights: Mapping[str, float] = field(default_factory=lambda: {
        "pull": 1.0, "sweep": 1.0, "holds": 1.0, "decel": 0.5, "idle": 0.8})
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


# ------------------------------------------------------------------------ paths
def path_weight(axes: CoverageAxes, rpm: FloatArray, load: FloatArray) -> FloatArray:
    """Good-sample weight per cell of samples at these (rpm, load) points."""
    size = axes.shape[0] * axes.shape[1]
    if rpm.size == 0:
        return np.zeros(axes.shape)
    bins = locate(axes.table().normalised(), rpm, load)
    cells, weights = place_corners(bins.place, axes.shape)
    return np.bincount(cells.ravel(), weights.ravel(), minlength=size).reshape(axes.shape)


def _ramp(start: float, end: float, rate: float, hz: float) -> FloatArray:
    n = max(1, int(abs(end - start) / rate * hz))
    return np.linspace(start, end, n)


@dataclass
class _Context:
    axes: CoverageAxes
    weight: FloatArray
    worth: FloatArray
    priority: npt.NDArray[np.int64]
    settings: PlannerSettings
    bike: BikeBehaviour
    constraints: Constraints
    start_rpm: float

    @property
    def hz(self) -> float:
        return self.bike.log_rate_hz

    @property
    def missing(self) -> FloatArray:
        return np.maximum(0.0, self.settings.min_weight - self.weight)

    def value(self, added: FloatArray) -> tuple[float, FloatArray]:
        """Worth gained by adding ``added`` weight, and the gain per cell."""
        w = self.settings.min_weight
        before = np.minimum(self.weight, w) / w
        after = np.minimum(self.weight + added, w) / w
        per_cell = self.worth * (after - before)
        return float(per_cell.sum()), per_cell

    def move_s(self, from_rpm: float, to_rpm: float, load: float | None = None) -> float:
        """Moving to a held rpm and settling there: the brake brings it down fast; climbing,
        the engine pulls the roller up on the rider's extra throttle."""
        rate = self.settings.move_rpm_per_s
        if to_rpm > from_rpm:
            climb_kpa = self.bike.wot_map_kpa if load is None else load + CLIMB_EXTRA_KPA
            rate = min(rate, self.bike.sweep_rpm_per_s(min(climb_kpa, self.bike.wot_map_kpa)))
        return abs(to_rpm - from_rpm) / rate + self.settings.settle_s

    def in_limits(self) -> npt.NDArray[np.bool_]:
        c = self.constraints
        rows = (self.axes.rpm >= c.rpm_min) & (self.axes.rpm <= c.rpm_max)
        cols = self.axes.load <= c.load_max
        return rows[:, None] & cols[None, :]

    def gaps(self) -> npt.NDArray[np.bool_]:
        """Cells worth filling that the limits allow."""
        return (self.worth > 0) & (self.missing > 0) & self.in_limits()

    def load_key(self) -> str:
        return "tps_pct" if self.axes.load_channel == "tps_pct" else "map_kpa"

    def load_text(self, load: float) -> str:
        return f"{load:g} %" if self.axes.load_channel == "tps_pct" else f"{load:g} kPa"


def _row_step(axis: FloatArray, i: int) -> float:
    """The spacing to a row's neighbours (the smaller one)."""
    steps = np.diff(axis)
    if steps.size == 0:
        return 250.0
    around = [steps[j] for j in (i - 1, i) if 0 <= j < steps.size]
    return float(min(around))


# ------------------------------------------------------------------------ candidates
def _holds(ctx: _Context, mask: npt.NDArray[np.bool_], label: str,
           ) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
    """Steady holds at the worst-off cells of ``mask``, rpm by rpm in a snake (load rising
    then falling), each only as long as its missing weight needs."""
    cells = np.argwhere(mask & ctx.gaps())
    if cells.size == 0:
        return None
    order = np.lexsort((-ctx.missing[cells[:, 0], cells[:, 1]],
                        ctx.priority[cells[:, 0], cells[:, 1]]))
    chosen = cells[order[: ctx.settings.max_holds_per_test]]
    chosen = sorted(map(tuple, chosen), key=lambda rc: (rc[0], rc[1] if rc[0] % 2 == 0
                                                        else -rc[1]))
    s, key = ctx.settings, ctx.load_key()
    steps, added, seconds, rpm_now = [], np.zeros(ctx.axes.shape), 0.0, ctx.start_rpm
    for r, c in chosen:
        rpm, load = float(ctx.axes.rpm[r]), float(ctx.axes.load[c])
        hold_s = max(s.min_hold_s, s.hold_margin * ctx.missing[r, c] / ctx.hz)
        hold_s = float(np.ceil(hold_s * 2.0) / 2.0)
        steps.append(HoldStep(rpm=rpm, seconds=hold_s, **{key: load}))
        seconds += ctx.move_s(rpm_now, rpm, load) + hold_s
        rpm_now = rpm
        n = int(hold_s * ctx.hz)
        added += path_weight(ctx.axes, np.full(n, rpm), np.full(n, load))
    title = f"Hold {len(steps)} cell{'s' if len(steps) > 1 else ''} {label}"
    return title, tuple(steps), seconds, added


def _sweep(ctx: _Context, cols: tuple[int, ...], rising: bool,
           ) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
    """A load-control sweep over the rpm span of the gaps of one load column, or of two
    neighbouring columns at once (held between them, each gets half of every sample's weight):
    held at the first gap row it meets (which that covers), then ramped just past the last.
    Rising, the ramp is no faster than the engine can accelerate the roller at that load (the
    brake only absorbs); falling, the brake sets the pace. Neither is faster than the gaps'
    missing weight allows."""
    if ctx.axes.load_channel != "map_kpa":
        return None
    gaps = ctx.gaps()[:, list(cols)]
    rows = np.flatnonzero(gaps.any(axis=1))
    load = float(np.mean(ctx.axes.load[list(cols)]))
    if not gaps.any(axis=0).all() or load > ctx.constraints.load_max or \
            load > ctx.bike.wot_map_kpa - HOLDABLE_BELOW_WOT_KPA:
        return None  # a column of the pair without gaps: its own sweep does better
    s, c, axis = ctx.settings, ctx.constraints, ctx.axes.rpm
    lo_row, hi_row = int(rows[0]), int(rows[-1])
    low_rpm = float(axis[lo_row]) - (0.0 if rising else 0.5 * _row_step(axis, lo_row))
    high_rpm = float(axis[hi_row]) + (0.5 * _row_step(axis, hi_row) if rising else 0.0)
    low_rpm, high_rpm = max(c.rpm_min, low_rpm), min(c.rpm_max, high_rpm)
    if high_rpm - low_rpm < 200.0:
        return None
    start, end = (low_rpm, high_rpm) if rising else (high_rpm, low_rpm)
    spacing = min(_row_step(axis, int(r)) for r in rows)
    needed = float(ctx.missing[:, list(cols)][gaps].max())
    share = 1.0 / len(cols)  # of each sample's weight, per column
    low, high = s.sweep_rpm_per_s
    rate = ctx.hz * spacing * share / (s.sweep_margin * needed)
    if rising:
        rate = min(rate, ctx.bike.sweep_rpm_per_s(load))
    rate = float(np.floor(np.clip(rate, low, high) / 10.0) * 10.0)
    held = np.full(int(SWEEP_HOLD_S * ctx.hz), start)
    rpm = np.concatenate((held, _ramp(start, end, rate, ctx.hz)))
    added = path_weight(ctx.axes, rpm, np.full(rpm.size, load))
    seconds = ctx.move_s(ctx.start_rpm, start, load) + SWEEP_HOLD_S + abs(end - start) / rate
    step = SweepStep(from_rpm=start, to_rpm=end, map_kpa=load, rpm_per_s=rate)
    title = f"Sweep {start:g}-{end:g} rpm at {ctx.load_text(load)} ({rate:g} rpm/s)"
    return title, (step,), seconds, added


def _wot_pull(ctx: _Context) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
    """A WOT pull over the rpm span of the gaps its MAP (or 100 % throttle) touches."""
    load = 100.0 if ctx.axes.load_channel == "tps_pct" else ctx.bike.wot_map_kpa
    touched = path_weight(ctx.axes, np.full(1, float(np.mean(ctx.axes.rpm))),
                          np.full(1, load)).sum(axis=0) > 0
    gap_rows = np.flatnonzero((ctx.gaps() & touched[None, :]).any(axis=1))
    if gap_rows.size == 0:
        return None
    c, axis = ctx.constraints, ctx.axes.rpm
    start = max(c.rpm_min, 1500.0, float(axis[gap_rows[0]]) - _row_step(axis, gap_rows[0]))
    end = min(c.rpm_max, float(axis[gap_rows[-1]]) + _row_step(axis, gap_rows[-1]))
    if end - start < 500.0:
        start = max(c.rpm_min, end - 500.0)
    if end - start < 200.0:
        return None
    rpm = _ramp(start, end, ctx.bike.pull_rpm_per_s, ctx.hz)
    added = path_weight(ctx.axes, rpm, np.full(rpm.size, load))
    seconds = (ctx.move_s(ctx.start_rpm, start - 200.0) + (end - start + 200.0)
               / ctx.bike.pull_rpm_per_s + ctx.settings.roll_off_s)
    return (f"WOT pull {start:g}-{end:g} rpm", (PullStep(from_rpm=start, to_rpm=end),),
            seconds, added)


def _decel(ctx: _Context) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
    """A closed-throttle decel: overrun is never a good VE sample, so it only pays where it
    ends at idle (kept by autotune); its gain says so."""
    c, s = ctx.constraints, ctx.settings
    start = min(c.rpm_max, 4500.0)
    end = max(c.rpm_min, 1200.0)
    if start - end < 200.0:
        return None
    seconds = ctx.move_s(ctx.start_rpm, start, 45.0) + (start - end) / s.decel_rpm_per_s
    added = np.zeros(ctx.axes.shape)  # shut throttle above idle: rejected as decel/overrun
    step = DecelStep(from_rpm=start, to_rpm=end, rpm_per_s=s.decel_rpm_per_s)
    return f"Decel run {start:g}-{end:g} rpm", (step,), seconds, added


def _idle(ctx: _Context) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
    """Clutch in at idle, long enough for the idle cells it touches."""
    load = 0.0 if ctx.axes.load_channel == "tps_pct" else ctx.bike.idle_map_kpa
    one = path_weight(ctx.axes, np.full(1, ctx.bike.idle_rpm), np.full(1, load))
    touched = (one > 0) & (ctx.worth > 0) & (ctx.missing > 0)
    if not touched.any():
        return None
    low, high = ctx.settings.idle_soak_s
    need = float(np.max(ctx.missing[touched] / one[touched])) / ctx.hz
    seconds = float(np.clip(np.ceil(need * ctx.settings.hold_margin) + 2.0, low, high))
    added = one * (seconds - 2.0) * ctx.hz  # the first seconds settle
    return (f"Idle soak {seconds:g} s", (IdleStep(seconds=seconds),), seconds, added)


def _ruled_out(kind: str, ctx: _Context) -> str | None:
    """Why a constraint removes a test of ``kind`` (None: allowed)."""
    c = ctx.constraints
    if c.venue == "street" and kind in DYNO_ONLY:
        return "needs the dyno (the plan is for the street)"
    if kind in NEEDS_LOAD_CONTROL and not c.load_control:
        return "needs a load-control dyno to hold or ramp the rpm"
    if kind in ("pull", "sweep") and c.pulls_done >= c.max_pulls:
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
    ctx = _Context(axes, coverage.weight, priority_weights(axes, regions),
                   best_priority(axes, regions), settings, bike, constraints,
                   bike.idle_rpm if start_rpm is None else start_rpm)
    candidates: list[tuple[str, tuple[str, tuple[Step, ...], float, FloatArray] | None]] = [
        ("pull", _wot_pull(ctx))]
    columns = [(col,) for col in range(axes.shape[1])]
    columns += [(col, col + 1) for col in range(axes.shape[1] - 1)]
    candidates += [("sweep", _sweep(ctx, cols, rising)) for cols in columns
                   for rising in (True, False)]
    candidates.append(("holds", _holds(ctx, np.ones(axes.shape, dtype=bool), "in the gaps")))
    for region in sorted(regions, key=lambda r: r.priority):
        candidates.append(("holds", _holds(ctx, region.cells(axes), f"in {region.name}")))
    candidates += [("decel", _decel(ctx)), ("idle", _idle(ctx))]

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
        out.append(Suggestion(kind, title, steps, seconds, gain, cells, efficiency, priority,
                              _why(ctx, regions, title, cells, gain, seconds), added))
    out.sort(key=lambda s: (s.priority, -s.efficiency))
    return NextTests(tuple(out), tuple(ruled_out))


def _why(ctx: _Context, regions: Sequence[Region], title: str,
         cells: tuple[tuple[int, int], ...], gain: float, seconds: float) -> str:
    """One line: what the test fills, where, and at what cost."""
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
    return (f"{title}: {what}; about {seconds / 60.0:.1f} min for "
            f"{gain:.1f} cells' worth of {name} coverage")


def with_run(constraints: Constraints, suggestion: Suggestion) -> Constraints:
    """The constraints after running ``suggestion`` (its pulls counted)."""
    pulls = sum(1 for st in suggestion.steps if isinstance(st, PullStep | SweepStep))
    return replace(constraints, pulls_done=constraints.pulls_done + pulls)
