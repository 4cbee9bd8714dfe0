"""Autotune as a live-analysis accumulator: rows in while the bike runs, pending corrections out.

The acquisition's analysis worker (``acquisition.analysis``) hands it every block of live rows on
its own thread and publishes its snapshot for the UI to poll. The work per block is the stream's
window (``stream.StreamingAutotune``); the snapshot (the table fit and the per-cell report) is
made at most every ``min_interval_s`` of wall time and only when new samples were binned, so a
10x replay does not spend its time refitting; ``flush`` makes it fresh (end of a run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune.engine import AutotuneResult, Target
from dynoai_desktop.core.autotune.settings import AutotuneSettings
from dynoai_desktop.core.autotune.stream import Curve, StreamingAutotune
from dynoai_desktop.core.rows import RowBlock
from dynoai_desktop.core.table import Table

BoolArray = npt.NDArray[np.bool_]

SNAPSHOT_INTERVAL_S = 0.25


@dataclass(frozen=True, eq=False)
class LiveCorrections:
    """What the live autotune found so far (a value the UI may keep)."""

    result: AutotuneResult
    rows_binned: int
    """Samples binned so far (the last few seconds wait for the samples after them)."""
    settings: AutotuneSettings
    runs: tuple[int, ...] = ()
    """The recorded runs the rows came from (``runs_only``), in order."""


class LiveAutotune:
    """An accumulator (``add(block)``, ``snapshot()``) over the live rows.

    With ``runs_only`` it takes rows only between ``open_run`` and ``close_run`` (the app calls
    them the moment a recorded run's rows begin and end), so what it shows live is exactly what
    the offline analysis of those saved runs gives, each run a log of its own.
    """

    def __init__(self, tables: Mapping[str, Table], target: Target = None,
                 settings: AutotuneSettings | None = None, delay_curve: Curve | None = None,
                 locked: Mapping[str, BoolArray] | None = None,
                 min_interval_s: float = SNAPSHOT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic, runs_only: bool = False) -> None:
        self.stream = StreamingAutotune(tables, target, settings, delay_curve)
        self.runs_only = runs_only
        self.accepting = not runs_only
        self.runs: list[int] = []
        self._zero: float | None = None  # the open run's first row, on the live clock
        self.locked = None if locked is None else dict(locked)
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._last: LiveCorrections | None = None
        self._last_rows = -1
        self._last_at = -np.inf

    def add(self, block: RowBlock) -> None:
        if not self.accepting or len(block) == 0:
            return
        if not self.runs_only:
            self.stream.feed(block.columns)
            return
        if self._zero is None:
            self._zero = float(block.time_s[0])
        # On the run's own clock (its first row at 0), as its saved file is.
        self.stream.feed({**block.columns, "time_s": block.time_s - self._zero})

    def open_run(self, run_id: int) -> None:
        """A recorded run's rows begin (``runs_only``): take them."""
        self.accepting = True
        self._zero = None
        self.runs.append(run_id)

    def close_run(self) -> None:
        """The run's rows end: bin its tail as the end of a log, take nothing until the next."""
        self.stream.finish()
        self.accepting = not self.runs_only
        self._make(self._clock())

    def snapshot(self) -> LiveCorrections:
        now = self._clock()
        fresh = self.stream.rows_binned != self._last_rows
        if self._last is None or (fresh and now - self._last_at >= self.min_interval_s):
            self._make(now)
        assert self._last is not None
        return self._last

    def flush(self) -> LiveCorrections:
        """Bin what is waiting (as the end of a log; later rows start a new one) and make a
        fresh snapshot: after a pull, before the tuner applies."""
        self.stream.finish()
        self._make(self._clock())
        assert self._last is not None
        return self._last

    def _make(self, now: float) -> None:
        self._last = LiveCorrections(self.stream.result(self.locked), self.stream.rows_binned,
                                     self.stream.settings, tuple(self.runs))
        self._last_rows = self.stream.rows_binned
        self._last_at = now
