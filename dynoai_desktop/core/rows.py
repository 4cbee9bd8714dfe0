"""The row rule: device readings become log rows (FORMATS.md §2), live and offline alike.

One rule, used by the live merger (``acquisition.merger``) and by the simulator's log mode:

- Rows follow the *pacing* device (the dyno line, the fastest): each of its readings makes a row
  at its time.
- Every other channel holds its latest value at or before the row's time, and is **empty when
  that value is older than** :data:`VALUE_STALE_AFTER_S` (0.5 s): an AFR from a wideband that
  went quiet is never carried into rows as if it were current.
- When the pacing device has been quiet for :data:`PACER_QUIET_AFTER_S` (or there is none), the
  other devices' readings make the rows, so a run keeps the widebands' data through a dyno
  dropout.
- ``time_s`` strictly increases: a reading stamped at or before the previous row is put 1 µs
  after it (no reading is dropped).

Rows come out as :class:`RowBlock` s: columns of numpy arrays, the form the ring buffer, the
journal, run files and the live analysis all take.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.channels import LOG_COLUMNS

TIME_CHANNEL = "time_s"
VALUE_STALE_AFTER_S = 0.5
"""A channel's latest value older than this at a row's time is written empty (FORMATS.md §2)."""
PACER_QUIET_AFTER_S = 0.25
"""After this long without the pacing device, the other devices' readings make the rows."""
ROW_TIME_STEP_S = 1e-6
"""A row stamped at or before the previous one is moved this far after it."""


@dataclass(frozen=True)
class RowBlock:
    """Rows as columns: ``time_s`` and one float array per channel (NaN where empty)."""

    columns: Mapping[str, np.ndarray]

    @property
    def time_s(self) -> np.ndarray:
        return self.columns[TIME_CHANNEL]

    def __len__(self) -> int:
        return int(self.columns[TIME_CHANNEL].shape[0])

    def channel(self, name: str) -> np.ndarray:
        """The column ``name``; all-NaN when the block does not carry it."""
        column = self.columns.get(name)
        return np.full(len(self), np.nan) if column is None else column

    def values(self) -> dict[str, np.ndarray]:
        """Every column but ``time_s`` (what a ring buffer appends beside the times)."""
        return {k: v for k, v in self.columns.items() if k != TIME_CHANNEL}

    @classmethod
    def of(cls, columns: Mapping[str, Iterable[float]]) -> RowBlock:
        """A block from any columns of numbers (a run file's, an imported log's)."""
        arrays = {str(k): np.asarray(v, dtype=np.float64) for k, v in columns.items()}
        if TIME_CHANNEL not in arrays:
            raise ValueError("a row block needs a time_s column")
        lengths = {a.shape for a in arrays.values()}
        if len(lengths) != 1:
            raise ValueError(f"a row block's columns must have one length, got {lengths}")
        return cls(arrays)

    @classmethod
    def concat(cls, blocks: Sequence[RowBlock], channels: Sequence[str]) -> RowBlock:
        """The blocks one after another, as columns ``time_s`` + ``channels``."""
        names = list(dict.fromkeys((TIME_CHANNEL, *channels)))
        if not blocks:
            return cls({name: np.empty(0) for name in names})
        return cls({name: np.concatenate([b.channel(name) for b in blocks]) for name in names})


class RowAssembler:
    """Applies the row rule to readings fed in time order; not thread-safe (callers lock)."""

    def __init__(self, channels: Sequence[str] = LOG_COLUMNS, pacer: str | None = None) -> None:
        self.channels: tuple[str, ...] = tuple(c for c in channels if c != TIME_CHANNEL)
        self.pacer = pacer
        self._index = {name: i for i, name in enumerate(self.channels)}
        self._latest = np.full(len(self.channels), np.nan)
        self._stamp = np.full(len(self.channels), -np.inf)
        self._last_pacer_s = -np.inf
        self._last_row_s = -np.inf

    def add(self, device: str, times_s: Sequence[float],
            readings: Sequence[Mapping[str, float]]) -> RowBlock:
        """Readings from ``device`` stamped ``times_s``; returns the rows they make (maybe none).
        Readings must come in time order across devices (a read's readings, then the next)."""
        paces = device == self.pacer
        times: list[float] = []
        rows: list[np.ndarray] = []
        for t, values in zip(times_s, readings, strict=True):
            t = float(t)
            for name, value in values.items():
                i = self._index.get(name)
                if i is not None:
                    self._latest[i] = value
                    self._stamp[i] = t
            if paces:
                self._last_pacer_s = t
            elif t - self._last_pacer_s <= PACER_QUIET_AFTER_S:
                continue  # the pacing device is alive: it makes the rows
            t = max(t, self._last_row_s + ROW_TIME_STEP_S)
            self._last_row_s = t
            times.append(t)
            rows.append(np.where(t - self._stamp <= VALUE_STALE_AFTER_S, self._latest, np.nan))
        return self._block(times, rows)

    def _block(self, times: list[float], rows: list[np.ndarray]) -> RowBlock:
        columns = {TIME_CHANNEL: np.asarray(times, dtype=np.float64)}
        if rows:
            by_channel = np.vstack(rows).T.copy()  # one contiguous array per channel
            columns.update({name: by_channel[i] for i, name in enumerate(self.channels)})
        else:
            columns.update({name: np.empty(0) for name in self.channels})
        return RowBlock(columns)
