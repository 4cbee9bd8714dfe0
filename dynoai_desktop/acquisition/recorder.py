"""Recording runs that survive a crash or a pulled cable.

The recorder subscribes a feed to the acquisition's rows and, on its own thread, appends what
arrived to the run's journal every ``FLUSH_INTERVAL_S`` (``storage.journal``: a ``kill -9`` loses
at most that much). Stopping writes the run file and completes the run in the catalog; a run cut
short is rebuilt from its journal at the next start (``storage.journal.recover_runs``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from dynoai_desktop.acquisition.acquisition import Acquisition
from dynoai_desktop.acquisition.merger import BlockFeed
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.rows import RowBlock
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.catalog import Catalog, RunRecord
from dynoai_desktop.storage.journal import (
    WEATHER_CHANNELS,
    Journal,
    finish_from_journal,
    finite_or_none,
    journal_folder,
    now_utc,
)
from dynoai_desktop.storage.run_files import RunMetadata
from dynoai_desktop.storage.settings import DevicePort

FLUSH_INTERVAL_S = 0.25


class Recorder:
    """Records the rows of ``acquisition`` as runs of a catalog session."""

    def __init__(self, acquisition: Acquisition, catalog: Catalog, *,
                 flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.acquisition = acquisition
        self.catalog = catalog
        self.flush_interval_s = flush_interval_s
        self._journal: Journal | None = None
        self._run_id: int | None = None
        self._feed = BlockFeed()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def recording(self) -> bool:
        return self._journal is not None

    def start(self, session_id: int, name: str, devices: list[DevicePort],
              then: Callable[[int], None] | None = None,
              tune_version: int | None = None) -> int:
        """Start recording a run called ``name``; returns its catalog id. ``then(run_id)``
        runs the moment the run's rows begin (between two blocks: what it tells another feed
        lands just before the run's first block). ``tune_version``: the version of the
        session's tune the ECM runs during it."""
        if self._journal is not None:
            raise InputError(f"already recording {self._journal.name!r}; stop it first")
        started = now_utc()
        file = self.catalog.new_run_file(session_id, started, name)
        buffer = self.acquisition.buffer
        weather = Weather(*(finite_or_none(buffer.latest(c)) for c in WEATHER_CHANNELS))
        run_id = self.catalog.add_run(session_id, name, started, file, "recording", devices,
                                      weather, tune_version)
        metadata = RunMetadata(name, started, tuple(devices), (), weather)
        self._journal = Journal(journal_folder(self.catalog, run_id), metadata,
                                self.acquisition.now_s())
        self._run_id = run_id
        self._feed.drain()
        self.acquisition.subscribe(self._feed, None if then is None else lambda: then(run_id))
        self._stop.clear()
        self._thread = threading.Thread(target=self._flush_loop, name="recorder-journal")
        self._thread.start()
        return run_id

    def mark(self, note: str) -> float:
        """A marker with a note at the current moment; returns its time on the run's clock."""
        return self._require().add_marker(self.acquisition.now_s(), note)

    def stop(self, then: Callable[[], None] | None = None) -> RunRecord:
        """Stop recording; write the run file and complete the run in the catalog. ``then``
        runs the moment the run's rows end (between two blocks)."""
        journal = self._require()
        self.acquisition.unsubscribe(self._feed, then)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
        self._flush()
        journal.close()
        run_id, self._journal, self._run_id = self._run_id, None, None
        assert run_id is not None
        record, _problems = finish_from_journal(self.catalog, run_id, "complete", "recorded")
        return record

    def _require(self) -> Journal:
        if self._journal is None:
            raise InputError("not recording; start a run first")
        return self._journal

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self._flush()

    def _flush(self) -> None:
        journal = self._journal
        if journal is not None:
            journal.append([b for b in self._feed.drain() if isinstance(b, RowBlock)])
