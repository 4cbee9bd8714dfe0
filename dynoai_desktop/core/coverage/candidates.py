"""The planner's candidate tests, each laid out as the path it drives through the table (rpm
and load at the log's rate, only where its samples pass autotune's filters) and binned onto the
grid as real samples are: a WOT pull, a load-control sweep, steady holds, a decel, an idle
soak. Each builder returns (title, plan steps, seconds, expected weight per cell) or None."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune.binning import locate, place_corners
from dynoai_desktop.core.coverage.behaviour import BikeBehaviour
from dynoai_desktop.core.coverage.grid import CoverageAxes
from dynoai_desktop.core.plan import DecelStep, HoldStep, IdleStep, PullStep, Step, SweepStep

if TYPE_CHECKING:
    from dynoai_desktop.core.coverage.planner import Constraints, PlannerSettings

FloatArray = npt.NDArray[np.float64]
Candidate = tuple[str, tuple[Step, ...], float, FloatArray]

SWEEP_HOLD_S = 1.0
"""A sweep holds its load this long at its first rpm before the ramp (sim.plans.sweep)."""
HOLDABLE_BELOW_WOT_KPA = 2.0
"""A rider can hold a MAP up to this far below the bike's WOT MAP (above it is wide open)."""
CLIMB_EXTRA_KPA = 30.0
"""Climbing to a held rpm the rider opens this much more MAP than the cell's (sim.plans.hold)."""


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
class Context:
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


def _per_10(rpm_per_s: float) -> float:
    """A ramp rate as asked of the dyno: down to a whole 10 rpm/s."""
    return float(np.floor(rpm_per_s / 10.0) * 10.0)


def sweep_lanes(axes: CoverageAxes) -> list[tuple[int, ...]]:
    """The load columns a sweep may follow: each column, and each two neighbouring ones."""
    n = axes.shape[1]
    return [(col,) for col in range(n)] + [(col, col + 1) for col in range(n - 1)]


# ------------------------------------------------------------------------ candidates
def holds(ctx: Context, mask: npt.NDArray[np.bool_], label: str,
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


def sweep(ctx: Context, cols: tuple[int, ...], rising: bool,
           ) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
    """A load-control sweep over the rpm span of the gaps of one load column, or of two
    neighbouring columns at once (held between them, each gets half of every sample's weight):
    held at the first gap row it meets (which that covers), then ramped to the last, or half a
    row past it when the ramp's last stretch alone would leave that row short.
    Up or down, the ramp is never asked faster than the gaps' missing weight allows. Falling,
    the brake sets the pace. Rising, the brake only absorbs, so the engine sets the pace where
    it cannot accelerate the roller that fast at that load: once the bike's climb is learned
    the ramp is asked within it (``CLIMB_MARGIN``); before, a typical bike's climb is no
    measure of this one, so the ramp is asked at the gaps' rate and only the estimate (minutes,
    weight) expects the typical climb."""
    if ctx.axes.load_channel != "map_kpa":
        return None
    gaps = ctx.gaps()[:, list(cols)]
    rows = np.flatnonzero(gaps.any(axis=1))
    load = float(np.mean(ctx.axes.load[list(cols)]))
    if not gaps.any(axis=0).all() or load > ctx.constraints.load_max or \
            load > ctx.bike.wot_map_kpa - HOLDABLE_BELOW_WOT_KPA:
        return None  # a column of the pair without gaps: its own sweep does better
    s, c, axis = ctx.settings, ctx.constraints, ctx.axes.rpm
    near, far = (int(rows[0]), int(rows[-1])) if rising else (int(rows[-1]), int(rows[0]))
    spacing = min(_row_step(axis, int(r)) for r in rows)
    needed = float(ctx.missing[:, list(cols)][gaps].max())
    share = 1.0 / len(cols)  # of each sample's weight, per column
    low, high = s.sweep_rpm_per_s
    rate = _per_10(np.clip(ctx.hz * spacing * share / (s.sweep_margin * needed), low, high))
    pace = rate  # what the estimate expects
    if rising:
        pace = _per_10(np.clip(min(rate, ctx.bike.sweep_rpm_per_s(load)), low, high))
        rate = pace if ctx.bike.wot_learned else rate
    start = float(np.clip(axis[near], c.rpm_min, c.rpm_max))
    held = np.full(int(SWEEP_HOLD_S * ctx.hz), start)

    def weight_at(end: float, rpm_per_s: float) -> FloatArray:
        rpm = np.concatenate((held, _ramp(start, end, rpm_per_s, ctx.hz)))
        return path_weight(ctx.axes, rpm, np.full(rpm.size, load))

    far_need = s.sweep_margin * ctx.missing[far, list(cols)][gaps[far]]
    for past in (0.0, 0.5):  # to the last gap row, else half a row past it
        end = float(axis[far]) + (past if rising else -past) * _row_step(axis, far)
        end = float(np.clip(end, c.rpm_min, c.rpm_max))
        added = weight_at(end, rate)  # at the rate asked: the least the ramp gives
        if np.all(added[far, list(cols)][gaps[far]] >= far_need):
            break
    if abs(end - start) < 200.0:
        return None
    if pace != rate:
        added = weight_at(end, pace)
    seconds = ctx.move_s(ctx.start_rpm, start, load) + SWEEP_HOLD_S + abs(end - start) / pace
    step = SweepStep(from_rpm=start, to_rpm=end, map_kpa=load, rpm_per_s=rate)
    title = f"Sweep {start:g}-{end:g} rpm at {ctx.load_text(load)} ({rate:g} rpm/s)"
    return title, (step,), seconds, added


def wot_pull(ctx: Context) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
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


def decel(ctx: Context) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
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


def idle(ctx: Context) -> tuple[str, tuple[Step, ...], float, FloatArray] | None:
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
