"""Sweep blocks: several load-control sweeps chained in one test, found by a short look-ahead.

Every sweep starts with a move to its first rpm and a settle; a block of sweeps runs them back
to back, up one lane (a MAP column, or two neighbouring ones held between them) and down the
next, each starting where the last ended, so no sweep pays a return move. Which lanes go
together, in which order and which way, matters: the engine climbs fastest at high MAP, while
going down the brake sets the pace at any MAP. Picking the best sweep one at a time (greedy)
often pairs them badly, so the planner looks ahead: a beam search lays out sequences of its own
sweeps (``candidates.sweep``), each on the coverage the sweeps before it should leave and from
the rpm they end at, keeps the sequences with the most gain per minute so far, and offers the
best one of two sweeps or more as one test.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.coverage.candidates import Candidate, Context, sweep, sweep_lanes
from dynoai_desktop.core.plan import SweepStep

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Sequence:
    """Sweeps laid out so far: their steps, seconds, the weight they should add, and the
    worth of that weight on the coverage the block starts from."""

    steps: tuple[SweepStep, ...]
    seconds: float
    added: FloatArray
    gain: float

    @property
    def per_minute(self) -> float:
        return self.gain / (self.seconds / 60.0) if self.seconds > 0 else 0.0

    @property
    def rising(self) -> bool | None:
        """The last sweep's direction (None: no sweep yet)."""
        return None if not self.steps else self.steps[-1].to_rpm > self.steps[-1].from_rpm

    @property
    def rpm_now(self) -> float | None:
        return None if not self.steps else self.steps[-1].to_rpm


def sweep_block(ctx: Context) -> Candidate | None:
    """The best block of 2 to ``settings.block_sweeps`` sweeps (no more than the session's
    pulls left), or None. Every sweep adds to the gaps of the most important priority that has
    gaps and goes the other way from the one before it (up after down, down after up); each
    step keeps the ``settings.block_beam`` sequences with the most gain per minute so far. A
    sequence is finished when no sweep adds to those gaps any more, or at the most sweeps
    allowed; of the finished ones, the one with the most gain per minute over the whole block
    is the block (finishing them is what stops a block from taking the cheap columns and
    leaving awkward ones to tests of their own)."""
    c, s = ctx.constraints, ctx.settings
    most = min(s.block_sweeps, c.max_pulls - c.pulls_done)
    gaps = ctx.gaps()
    if most < 2 or ctx.axes.load_channel != "map_kpa" or not gaps.any():
        return None
    focus = gaps & (ctx.priority == ctx.priority[gaps].min())  # the most important gaps
    beam = [_Sequence((), 0.0, np.zeros(ctx.axes.shape), 0.0)]
    done: list[_Sequence] = []  # sequences no sweep adds to, or as long as a block gets
    for depth in range(most):
        grown = []
        for seq in beam:
            longer = _grow(ctx, seq, focus)
            grown += longer
            if not longer:
                done.append(seq)
        grown.sort(key=lambda seq: -seq.per_minute)
        beam = grown[: s.block_beam]
        if depth == most - 1:
            done += beam
    done = [seq for seq in done if len(seq.steps) >= 2]
    best = max(done, key=lambda seq: seq.per_minute, default=None)
    if best is None:
        return None
    return _title(best.steps), best.steps, best.seconds, best.added


def _grow(ctx: Context, seq: _Sequence, focus: npt.NDArray[np.bool_]) -> list[_Sequence]:
    """``seq`` with one more sweep, on each lane where it adds to the ``focus`` gaps, the other
    way from the last."""
    here = replace(ctx, weight=ctx.weight + seq.added,
                   start_rpm=ctx.start_rpm if seq.rpm_now is None else seq.rpm_now)
    directions = (True, False) if seq.rising is None else (not seq.rising,)
    out = []
    for cols in sweep_lanes(ctx.axes):
        if not focus[:, list(cols)].any():
            continue  # no gap of the focus in this lane
        for rising in directions:
            made = sweep(here, cols, rising)
            if made is None:
                continue
            _name, steps, seconds, added = made
            gain, per_cell = here.value(added)
            if per_cell[focus].sum() < ctx.settings.min_gain:
                continue  # adds nothing to the focus gaps the sweeps before it did not
            step = steps[0]
            assert isinstance(step, SweepStep)
            out.append(_Sequence(seq.steps + (step,), seq.seconds + seconds,
                                 seq.added + added, seq.gain + gain))
    return out


def _title(steps: tuple[SweepStep, ...]) -> str:
    """E.g. "Sweep block at 95, 55, 75 kPa: 2500-4500, 4500-2000, 2000-4500 rpm"."""
    loads = ", ".join(f"{st.map_kpa:g}" for st in steps)
    spans = ", ".join(f"{st.from_rpm:g}-{st.to_rpm:g}" for st in steps)
    return f"Sweep block at {loads} kPa: {spans} rpm"
