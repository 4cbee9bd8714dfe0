"""The live-analysis worker: accumulators fed the live rows on one thread, results polled.

The worker owns a :class:`BlockFeed` that the acquisition's merger fills with every block of rows
(``Acquisition.subscribe``). On its own thread it hands each block to every registered
accumulator (core's coverage hits, the autotune's per-cell statistics, ...) and then publishes
each accumulator's snapshot with a version counter that the UI polls on its timer, like the ring
buffer's: no work per sample on the UI thread and no recomputation over the whole buffer.

An accumulator is any object with ``add(block)`` and ``snapshot()``; the snapshot must be a value
the UI may keep (immutable, or a copy). Registering, replacing and resetting go through the feed
as commands, so they take effect between two blocks, never in the middle of one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from dynoai_desktop.acquisition.merger import BlockFeed
from dynoai_desktop.core.rows import RowBlock

IDLE_POLL_S = 0.2  # how often a quiet worker checks whether it should stop


class Accumulator(Protocol):
    def add(self, block: RowBlock) -> None: ...

    def snapshot(self) -> Any: ...


@dataclass(frozen=True)
class _Command:
    run: Callable[[], None]
    done: threading.Event | None = None


class AnalysisWorker:
    """Runs registered accumulators over the live rows on its own thread."""

    def __init__(self) -> None:
        self.feed = BlockFeed()
        self._accumulators: dict[str, Accumulator] = {}  # touched only on the worker thread
        self._results: dict[str, Any] = {}
        self.failures: dict[str, str] = {}  # accumulator -> why it was dropped
        self._version = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-analysis")

    # ------------------------------------------------------------------ any thread
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    @property
    def version(self) -> int:
        """Increases whenever new results were published; cheap to poll."""
        return self._version

    def result(self, name: str) -> Any:
        """The newest snapshot of accumulator ``name`` (None before it has one)."""
        with self._lock:
            return self._results.get(name)

    def register(self, name: str, accumulator: Accumulator) -> None:
        """Add (or replace) the accumulator called ``name``; it sees the blocks from now on."""

        def put() -> None:
            self._accumulators[name] = accumulator
            self._publish({name: accumulator.snapshot()})

        self.feed.put(_Command(put))

    def unregister(self, name: str) -> None:
        def remove() -> None:
            self._accumulators.pop(name, None)
            with self._lock:
                self._results.pop(name, None)
                self._version += 1

        self.feed.put(_Command(remove))

    def apply(self, name: str, action: Callable[[Any], Any]) -> None:
        """Run ``action(accumulator)`` on the worker between two blocks and publish its
        snapshot (nothing when ``name`` is not registered). Quick and lock-free on the caller's
        side: it may be called while the merger holds its lock (``Acquisition.subscribe``'s
        ``then``), so the action lands exactly between the same two blocks for every feed."""

        def run() -> None:
            accumulator = self._accumulators.get(name)
            if accumulator is not None:
                action(accumulator)
                self._publish({name: accumulator.snapshot()})

        self.feed.put(_Command(run))

    def flush(self, name: str) -> None:
        """Ask accumulator ``name`` for a fresh snapshot of everything fed so far (its
        ``flush()`` when it has one) and publish it, after the blocks already fed."""

        def fresh() -> None:
            accumulator = self._accumulators.get(name)
            if accumulator is None:
                return
            flush = getattr(accumulator, "flush", None)
            self._publish({name: flush() if callable(flush) else accumulator.snapshot()})

        self.feed.put(_Command(fresh))

    def sync(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything fed so far has been processed; False on timeout."""
        done = threading.Event()
        self.feed.put(_Command(lambda: None, done))
        return done.wait(timeout_s)

    # ------------------------------------------------------------------ the worker thread
    def _run(self) -> None:
        while not self._stop.is_set():
            first = self.feed.get(IDLE_POLL_S)
            if first is None:
                continue
            self._process([first, *self.feed.drain()])

    def _process(self, items: list[object]) -> None:
        changed: set[str] = set()
        for item in coalesced(items):
            if isinstance(item, RowBlock):
                for name, accumulator in list(self._accumulators.items()):
                    try:
                        accumulator.add(item)
                    except Exception as exc:  # noqa: BLE001 - one bad analysis must not stop the rest
                        self._accumulators.pop(name)
                        self.failures[name] = f"{type(exc).__name__}: {exc}"
                        continue
                    changed.add(name)
            elif isinstance(item, _Command):
                self._publish({n: self._accumulators[n].snapshot() for n in changed
                               if n in self._accumulators})
                changed.clear()
                item.run()
                if item.done is not None:
                    item.done.set()
        self._publish({n: self._accumulators[n].snapshot() for n in changed
                       if n in self._accumulators})

    def _publish(self, snapshots: dict[str, Any]) -> None:
        if not snapshots:
            return
        with self._lock:
            self._results.update(snapshots)
            self._version += 1


def coalesced(items: list[object]) -> list[object]:
    """``items`` with each run of row blocks (no command between them) joined into one block,
    in order. A worker that fell behind (a loaded machine, a long analysis) then catches up in
    one pass over the rows waiting, instead of paying each block's fixed cost again: the
    autotune's window over its context, its per-cell sums."""
    out: list[object] = []
    run: list[RowBlock] = []

    def close_run() -> None:
        if len(run) == 1:
            out.append(run[0])
        elif run:
            channels = list(dict.fromkeys(name for block in run for name in block.columns))
            out.append(RowBlock.concat(run, channels))
        run.clear()

    for item in items:
        if isinstance(item, RowBlock):
            run.append(item)
        else:
            close_run()
            out.append(item)
    close_run()
    return out
