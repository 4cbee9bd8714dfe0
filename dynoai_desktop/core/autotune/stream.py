"""Autotune fed while the bike runs: the offline analysis, a window at a time.

Every filter looks only a bounded time around a sample (smoothing, rates, the settle time, the
dwell, the wideband delay, the spike blocks, the torque average: ``context_s`` covers them all).
So a stream is analysed in windows: each time enough new samples have arrived, the samples from
the last committed time up to ``context_s`` before the newest are binned, with ``context_s`` of
samples on both sides as context, exactly as the offline analysis would see them; nothing is
recomputed over the whole run. ``finish()`` bins the tail as the end of a log (samples fed
after it start a new one). The sums are then
the offline analysis's sums of the same samples, so :meth:`StreamingAutotune.result` is the
offline result (to rounding; a log's irregular sample interval aside).

Two things the offline analysis judges over a whole log are not judged here: a stuck sensor,
and a delay measured from the log's throttle steps. The stream uses the delay it is given (the
engine's default curve, or the last measured one).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune import delay as delay_mod
from dynoai_desktop.core.autotune.binning import CellSums
from dynoai_desktop.core.autotune.engine import (
    AUTOTUNE_CHANNELS,
    AutotuneResult,
    LogData,
    Target,
    _bin_log,
    _finish,
    _Prepared,
)
from dynoai_desktop.core.autotune.settings import CYLINDERS, AutotuneSettings
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Curve = tuple[FloatArray, FloatArray]

MARGIN_S = 0.5
"""Context beyond the longest filter reach (a few samples of a slow log)."""


def context_seconds(settings: AutotuneSettings, curve: Curve) -> float:
    """How far around a sample any filter looks: the window's context on each side."""
    reach = max(settings.smoothing_s, settings.settle_s, settings.min_dwell_s,
                settings.torque_window_s, 2.0 * settings.spike_block_s)
    return reach + float(np.max(curve[1])) / 1000.0 + MARGIN_S


class StreamingAutotune:
    """Per-cell autotune sums accumulated from a stream of samples (canonical channels).

    ``feed`` the samples as they arrive (any chunking, time rising); ``result`` gives the
    pending corrections at any moment; ``finish`` bins the tail (at the end of a run, or to
    have the corrections of everything so far). Not thread-safe: one worker feeds and reads
    it.
    """

    def __init__(self, tables: Mapping[str, Table], target: Target = None,
                 settings: AutotuneSettings | None = None, delay_curve: Curve | None = None
                 ) -> None:
        unknown = sorted(set(tables) - set(CYLINDERS))
        if unknown or not tables:
            raise InputError(f"autotune corrects {' and '.join(CYLINDERS)}; got "
                             f"{unknown or 'none'}")
        self.tables = dict(tables)
        self.target = target
        self.settings = settings or AutotuneSettings()
        if self.settings.delay_ms is not None:
            ms = float(self.settings.delay_ms)
            self.curve: Curve = (np.array([0.0, 1e6]), np.array([ms, ms]))
            self.delay_source = "given"
        elif delay_curve is not None:
            self.curve, self.delay_source = delay_curve, "measured"
        else:
            self.curve, self.delay_source = delay_mod.default_curve(), "default"
        self.context_s = context_seconds(self.settings, self.curve)
        self.sums = {name: CellSums(t.normalised().shape) for name, t in tables.items()}
        self._cylinders = [CYLINDERS[name] for name in tables]
        self._buffer: dict[str, FloatArray] = {}
        self._committed_s = -np.inf  # samples before this time are binned
        self.rows_binned = 0

    def feed(self, columns: Mapping[str, npt.ArrayLike]) -> None:
        """Append samples (``time_s`` rising past the last fed) and bin what is now settled."""
        if "time_s" not in columns:
            raise InputError("a stream's samples need time_s")
        n = int(np.asarray(columns["time_s"]).size)
        if n == 0:
            return
        chunk = {}
        for name in AUTOTUNE_CHANNELS:
            if name in columns:
                chunk[name] = np.asarray(columns[name], dtype=np.float64).reshape(n)
        known = set(self._buffer) | set(chunk)
        old = self._rows()
        self._buffer = {name: np.concatenate((self._buffer.get(name, np.full(old, np.nan)),
                                              chunk.get(name, np.full(n, np.nan))))
                        for name in known}
        self._advance(final=False)

    def finish(self) -> None:
        """Bin everything fed so far, the newest samples as the end of a log (a run ended, or
        the corrections are wanted now). Samples fed after it start afresh, as a new log."""
        self._advance(final=True)
        self._buffer = {}
        self._committed_s = -np.inf  # the next log may start its clock anew

    def result(self, locked: Mapping[str, BoolArray] | None = None) -> AutotuneResult:
        """The corrections from everything binned so far (the pending ones while running)."""
        out = {name: _finish(name, table, self.sums[name], self.settings,
                             None if locked is None else locked.get(name))
               for name, table in self.tables.items()}
        return AutotuneResult(("live",), delay_mod.report_pairs(self.curve), self.delay_source,
                              out)

    # ------------------------------------------------------------------ windows
    def _rows(self) -> int:
        time_s = self._buffer.get("time_s")
        return 0 if time_s is None else int(time_s.size)

    def _advance(self, final: bool) -> None:
        time_s = self._buffer.get("time_s")
        if time_s is None or time_s.size == 0 or "rpm" not in self._buffer:
            return
        commit_to = float(np.nextafter(time_s[-1], np.inf)) if final else \
            float(time_s[-1]) - self.context_s
        if commit_to <= self._committed_s:
            return
        commit = (time_s >= self._committed_s) & (time_s < commit_to)
        if commit.any():
            log = LogData("live", dict(self._buffer))
            prep = _Prepared(log, self._cylinders, self.settings, whole_log=False)
            _bin_log(prep, self.tables, self.target, self.settings, self.curve, self.sums,
                     commit=commit)
            self.rows_binned += int(commit.sum())
        self._committed_s = commit_to
        keep = time_s >= commit_to - self.context_s  # the next window's context
        if not keep.all():
            self._buffer = {name: values[keep] for name, values in self._buffer.items()}
