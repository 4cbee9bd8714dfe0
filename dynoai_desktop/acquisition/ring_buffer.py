"""Columnar ring buffer of live samples: one numpy array per channel and a version counter.

Reader threads append *blocks* of samples; the UI polls :attr:`SampleRingBuffer.version` on one
timer and copies a window out only when it moved (ARCHITECTURE.md, "Data flow, live"). No
per-sample copies, no ``np.roll``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import numpy as np

from dynoai_desktop.core.rows import TIME_CHANNEL


class SampleRingBuffer:
    """Fixed-capacity, thread-safe store of the last ``capacity`` rows of ``channels``."""

    def __init__(self, channels: Iterable[str], capacity: int) -> None:
        names = [c for c in channels if c != TIME_CHANNEL]
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 row, got {capacity}")
        self.capacity = capacity
        self.channels: tuple[str, ...] = (TIME_CHANNEL, *names)
        self._columns = {c: np.full(capacity, np.nan) for c in self.channels}
        self._next = 0  # row the next sample goes to
        self._count = 0  # rows held, <= capacity
        self._version = 0
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        """Increases by one with every appended block; cheap to poll."""
        return self._version

    def __len__(self) -> int:
        return self._count

    def append_block(self, time_s: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        """Append rows; channels missing from ``values`` are NaN in these rows."""
        time_s = np.asarray(time_s, dtype=float)
        n = time_s.shape[0]
        if n == 0:
            return
        unknown = set(values) - set(self.channels)
        if unknown:
            raise KeyError(f"unknown channels {sorted(unknown)}; buffer has {self.channels}")
        if n > self.capacity:  # only the newest rows can be kept
            time_s = time_s[-self.capacity :]
            values = {k: np.asarray(v)[-self.capacity :] for k, v in values.items()}
            n = self.capacity
        with self._lock:
            first = self._next
            split = min(n, self.capacity - first)  # rows before wrapping to index 0
            for name, column in self._columns.items():
                block = time_s if name == TIME_CHANNEL else values.get(name)
                if block is None:
                    column[first : first + split] = np.nan
                    column[: n - split] = np.nan
                else:
                    block = np.asarray(block, dtype=float)
                    column[first : first + split] = block[:split]
                    column[: n - split] = block[split:]
            self._next = (first + n) % self.capacity
            self._count = min(self._count + n, self.capacity)
            self._version += 1

    def clear(self) -> None:
        """Forget every row (a replay seeking); the version moves, so pollers read again."""
        with self._lock:
            self._next = self._count = 0
            self._version += 1

    def latest(self, channel: str) -> float:
        """The newest value of ``channel`` (NaN when nothing was recorded)."""
        with self._lock:
            if self._count == 0:
                return float("nan")
            return float(self._columns[channel][(self._next - 1) % self.capacity])

    def window(
        self, seconds: float | None = None, channels: Iterable[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Oldest-first copies of ``channels`` (all by default) and time_s, limited to the last
        ``seconds`` of time_s."""
        names = self.channels if channels is None else (TIME_CHANNEL, *channels)
        with self._lock:
            order = np.arange(self._next - self._count, self._next) % self.capacity
            t = self._columns[TIME_CHANNEL][order]
            start = 0
            if seconds is not None and t.size:
                start = int(np.searchsorted(t, t[-1] - seconds, side="left"))
            order = order[start:]
            return {name: self._columns[name][order] for name in dict.fromkeys(names)}

    def since(self, time_s: float, channels: Iterable[str] | None = None
              ) -> dict[str, np.ndarray]:
        """Oldest-first copies of ``channels`` (all by default) and time_s for the rows newer
        than ``time_s``: what a poller reads when the version moved, in time that grows with
        the new rows only (``window`` indexes every row held)."""
        names = self.channels if channels is None else (TIME_CHANNEL, *channels)
        with self._lock:
            t, first = self._columns[TIME_CHANNEL], self._next - self._count
            low, high = 0, self._count  # rows are time-ordered: bisect for the first newer one
            while low < high:
                mid = (low + high) // 2
                if t[(first + mid) % self.capacity] > time_s:
                    high = mid
                else:
                    low = mid + 1
            order = np.arange(first + low, self._next) % self.capacity
            return {name: self._columns[name][order] for name in dict.fromkeys(names)}
