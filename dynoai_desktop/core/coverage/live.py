"""A recording run's coverage counted piece by piece, so the cost of each update stays flat.

Whether a sample is good depends on its neighbours (a transient excludes what follows it for the
settle time, a dwell needs its stretch, a spike blocks around it), never on anything more than a
few seconds away. So each update counts for good the samples that are now ``CONTEXT_S`` old
(reading them with ``CONTEXT_S`` of rows before them for context), and the newest ``CONTEXT_S``
only provisionally: the sum always equals one pass over the whole run (tested), and each update
reads at most twice ``CONTEXT_S`` plus the time since the last one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from dynoai_desktop.core.autotune.settings import AutotuneSettings
from dynoai_desktop.core.coverage.grid import CoverageAxes, FloatArray, RunCoverage, run_coverage

CONTEXT_S = 3.0


def _summed(a: RunCoverage, b: RunCoverage, seconds: float) -> RunCoverage:
    return RunCoverage(a.axes, a.weight + b.weight, a.hits + b.hits,
                       a.good_samples + b.good_samples, seconds)


class LiveCoverage:
    """One table's coverage by the run recording since ``start_s`` (the live buffer's clock)."""

    def __init__(self, axes: CoverageAxes, cylinder: str, settings: AutotuneSettings,
                 start_s: float) -> None:
        self.axes, self.cylinder, self.settings = axes, cylinder, settings
        self.start_s = start_s
        self.final_s = start_s  # counted for good up to here
        self._first_s: float | None = None  # the run's first row
        self._final = RunCoverage(axes, np.zeros(axes.shape), np.zeros(axes.shape, np.int64))

    @property
    def read_from_s(self) -> float:
        """The rows the next update needs: from here on."""
        return max(self.start_s, self.final_s - CONTEXT_S)

    def update(self, rows: Mapping[str, FloatArray]) -> RunCoverage:
        """The run's coverage so far, from ``rows`` (at least from :attr:`read_from_s` on)."""
        time_s = np.asarray(rows["time_s"], dtype=np.float64)
        finite = time_s[np.isfinite(time_s)]
        if not finite.size:
            return self._final
        now = float(finite[-1])
        cut = now - CONTEXT_S
        if cut > self.final_s:
            piece = run_coverage(rows, self.axes, self.cylinder, self.settings,
                                 counted_s=(self.final_s, cut))
            self._final = _summed(self._final, piece, 0.0)
            self.final_s = cut
        tail = run_coverage(rows, self.axes, self.cylinder, self.settings,
                            counted_s=(self.final_s, math.inf))
        if self._first_s is None:
            ours = finite[finite >= self.start_s]
            self._first_s = float(ours[0]) if ours.size else now
        return _summed(self._final, tail, now - self._first_s)
