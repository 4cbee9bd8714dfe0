"""Device readings merged into rows for the live buffer and for whoever subscribed to them.

The rows follow core's one row rule (``core.rows``: the dyno paces the rows, other channels hold
their latest value and go empty after 0.5 s, the widebands make the rows while the dyno is
quiet). Each device read becomes one :class:`RowBlock`; it goes into the ring buffer and into
every subscribed :class:`BlockFeed` (the recorder's journal, the live analysis). A feed is a
queue its owner drains on its own thread, so nothing a subscriber does ever runs on a reader
thread or under the merger's lock, and every feed sees the blocks in time order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.core.rows import RowAssembler, RowBlock
from dynoai_desktop.devices.base import Reading


class BlockFeed:
    """Row blocks (and, for a worker, its own commands) in arrival order; drained by one owner."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()

    def put(self, item: object) -> None:
        """Never blocks (called under the merger's lock)."""
        self._queue.put(item)

    def get(self, timeout_s: float | None = None) -> object | None:
        """The next item, waiting up to ``timeout_s``; None when nothing came."""
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def drain(self) -> list[object]:
        """Everything waiting now, oldest first (does not wait)."""
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items


class RowMerger:
    """Thread-safe: reader threads call ``add``; rows go to the buffer and the feeds."""

    def __init__(self, buffer: SampleRingBuffer, pacer: str | None, t0: float,
                 time_scale: float = 1.0) -> None:
        self.buffer = buffer
        self.t0 = t0  # monotonic time of time_s = 0
        self.time_scale = time_scale  # row seconds per wall second (the demo played faster)
        self._rule = RowAssembler(buffer.channels, pacer)
        self._feeds: list[BlockFeed] = []
        self._lock = threading.Lock()

    def subscribe(self, feed: BlockFeed, then: Callable[[], None] | None = None) -> None:
        """Put every block of rows from now on into ``feed``; ``then`` runs at the same
        moment between two blocks (another feed's command lands before the same first block)."""
        with self._lock:
            self._feeds.append(feed)
            if then is not None:
                then()

    def unsubscribe(self, feed: BlockFeed, then: Callable[[], None] | None = None) -> None:
        """Stop feeding ``feed``; ``then`` runs at the same moment between two blocks."""
        with self._lock:
            if feed in self._feeds:
                self._feeds.remove(feed)
            if then is not None:
                then()

    def add(self, device: str, readings: Sequence[Reading], arrivals: Sequence[float]) -> None:
        """Readings from one device read, with their monotonic arrival times."""
        times = [(arrival - self.t0) * self.time_scale for arrival in arrivals]
        values = [reading.values for reading in readings]
        with self._lock:
            block = self._rule.add(device, times, values)
            if len(block) == 0:
                return
            self.buffer.append_block(block.time_s, block.values())
            for feed in self._feeds:
                feed.put(block)


__all__ = ["BlockFeed", "RowBlock", "RowMerger"]
