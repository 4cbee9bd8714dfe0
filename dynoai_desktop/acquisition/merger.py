"""Device readings merged into rows: the live buffer's and the recording's (FORMATS.md §2).

Rows follow the primary device (the dyno line, the fastest); every other channel holds its latest
value at or before the row's time and is empty when that value is older than 0.5 s. When the
primary device goes quiet (its port lost, say), the other devices' readings make the rows, so a
run keeps the widebands' data through a dyno dropout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from dynoai_desktop.acquisition.ring_buffer import TIME_CHANNEL, SampleRingBuffer
from dynoai_desktop.core.log_rows import STALE_AFTER_S
from dynoai_desktop.devices.base import Reading

PRIMARY_QUIET_S = 0.25  # after this long without the primary, other devices make the rows

Row = dict[str, float]
RowListener = Callable[[list[Row]], None]


class RowMerger:
    """Thread-safe: reader threads call ``add``; rows go to the buffer and the listeners."""

    def __init__(self, buffer: SampleRingBuffer, primary: str | None, t0: float) -> None:
        self.buffer = buffer
        self.primary = primary
        self.t0 = t0  # monotonic time of time_s = 0
        self._columns = set(buffer.channels)
        self._latest: dict[str, tuple[float, float]] = {}
        self._last_primary = -1e9
        self._last_row_t = -1e9
        self._lock = threading.Lock()
        self._listeners: list[RowListener] = []

    def listen(self, listener: RowListener) -> None:
        """Call ``listener(rows)`` with every block of rows (on the reader's thread)."""
        with self._lock:
            self._listeners.append(listener)

    def unlisten(self, listener: RowListener) -> None:
        with self._lock:
            self._listeners.remove(listener)

    def add(self, device: str, readings: Sequence[Reading], arrivals: Sequence[float]) -> None:
        """Readings from one device read, with their monotonic arrival times."""
        is_primary = device == self.primary
        with self._lock:
            rows: list[Row] = []
            for reading, arrival in zip(readings, arrivals, strict=True):
                t = arrival - self.t0
                for name, value in reading.values.items():
                    if name in self._columns and name != TIME_CHANNEL:
                        self._latest[name] = (t, value)
                if is_primary:
                    self._last_primary = t
                elif t - self._last_primary <= PRIMARY_QUIET_S:
                    continue
                rows.append(self._row(t))
            if rows:
                self._append(rows)
                for listener in self._listeners:
                    listener(rows)

    def _row(self, t: float) -> Row:
        t = max(t, self._last_row_t + 1e-6)  # time_s strictly increases
        self._last_row_t = t
        row = {TIME_CHANNEL: t}
        for name, (stamp, value) in self._latest.items():
            if t - stamp <= STALE_AFTER_S:
                row[name] = value
        return row

    def _append(self, rows: list[Row]) -> None:
        times = np.fromiter((r[TIME_CHANNEL] for r in rows), float, len(rows))
        names = {name for r in rows for name in r} - {TIME_CHANNEL}
        values = {name: np.fromiter((r.get(name, np.nan) for r in rows), float, len(rows))
                  for name in names}
        self.buffer.append_block(times, values)
