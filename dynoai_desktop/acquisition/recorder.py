"""Recording runs that survive a crash or a pulled cable.

While a run records, its rows go to a *journal* beside the catalog: an Arrow IPC stream that gets a
record batch and a flush every ``FLUSH_INTERVAL_S`` (so a ``kill -9`` loses at most that much, the
file being in the OS's hands once flushed), and a ``meta.json`` with the run's name, devices,
weather and markers. Stopping writes the run file (Parquet, FORMATS.md §2 columns + metadata) and
completes the run in the catalog. A run still 'recording' in the catalog at the next start was cut
short: ``recover_runs`` rebuilds it from its journal, every whole batch of it.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from dynoai_desktop.acquisition.acquisition import Acquisition
from dynoai_desktop.acquisition.merger import Row
from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog import Catalog, RunRecord
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.run_files import Marker, RunMetadata, Weather, write_run
from dynoai_desktop.storage.settings import DevicePort

FLUSH_INTERVAL_S = 0.25
JOURNAL_DIR = "journal"
SCHEMA = pa.schema([(name, pa.float64()) for name in LOG_COLUMNS])
WEATHER_CHANNELS = ("baro_kpa", "ambient_temp_c", "humidity_pct", "correction_factor")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class _Journal:
    """A run being recorded: where its journal lives and what it knows so far."""

    run_id: int
    folder: Path
    meta: dict
    sink: pa.OSFile
    writer: pa.ipc.RecordBatchStreamWriter
    rows: int = 0


def journal_folder(catalog: Catalog, run_id: int) -> Path:
    return catalog.data_dir / JOURNAL_DIR / f"run-{run_id:06d}"


class Recorder:
    """Records the rows of ``acquisition`` as runs of a catalog session."""

    def __init__(self, acquisition: Acquisition, catalog: Catalog, *,
                 flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.acquisition = acquisition
        self.catalog = catalog
        self.flush_interval_s = flush_interval_s
        self._journal: _Journal | None = None
        self._pending: list[Row] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def recording(self) -> bool:
        return self._journal is not None

    def start(self, session_id: int, name: str, devices: list[DevicePort]) -> int:
        """Start recording a run called ``name``; returns its catalog id."""
        if self._journal is not None:
            raise InputError(f"already recording {self._journal.meta['name']!r}; stop it first")
        started = _now()
        file = self.catalog.new_run_file(session_id, started)
        weather = Weather(*(_finite(self.acquisition.buffer.latest(c)) for c in WEATHER_CHANNELS))
        run_id = self.catalog.add_run(session_id, name, started, file, "recording", devices,
                                      weather)
        folder = journal_folder(self.catalog, run_id)
        folder.mkdir(parents=True, exist_ok=True)
        meta = RunMetadata(name, started, tuple(devices), (), weather).to_dict()
        meta["zero_acq_s"] = self.acquisition.now_s()  # acquisition time of run time 0
        meta["markers_acq_s"] = []
        write_bytes_atomic(folder / "meta.json", json.dumps(meta).encode("utf-8"))
        sink = pa.OSFile(str(folder / "samples.arrows"), "wb")
        self._journal = _Journal(run_id, folder, meta, sink, pa.ipc.new_stream(sink, SCHEMA))
        self._stop.clear()
        self._thread = threading.Thread(target=self._flush_loop, name="recorder-journal")
        self._thread.start()
        self.acquisition.listen(self._on_rows)
        return run_id

    def mark(self, note: str) -> float:
        """A marker with a note at the current moment; returns its time on the run's clock."""
        journal = self._require()
        at = self.acquisition.now_s()
        with self._lock:
            journal.meta["markers_acq_s"].append({"time_s": at, "note": str(note)})
            write_bytes_atomic(journal.folder / "meta.json",
                               json.dumps(journal.meta).encode("utf-8"))
        return at - journal.meta["zero_acq_s"]

    def stop(self) -> RunRecord:
        """Stop recording; write the run file and complete the run in the catalog."""
        journal = self._require()
        self.acquisition.unlisten(self._on_rows)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
        self._flush()
        journal.writer.close()
        journal.sink.close()
        self._journal = None
        return finish_from_journal(self.catalog, journal.run_id, "complete", "recorded")

    # ------------------------------------------------------------------ internals
    def _require(self) -> _Journal:
        if self._journal is None:
            raise InputError("not recording; start a run first")
        return self._journal

    def _on_rows(self, rows: list[Row]) -> None:
        with self._lock:
            self._pending.extend(rows)

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            rows, self._pending = self._pending, []
            journal = self._journal
        if not rows or journal is None:
            return
        columns = [pa.array(np.fromiter((r.get(name, np.nan) for r in rows), float, len(rows)))
                   for name in LOG_COLUMNS]
        journal.writer.write_batch(pa.record_batch(columns, schema=SCHEMA))
        journal.sink.flush()
        journal.rows += len(rows)


def _finite(value: float) -> float | None:
    return None if value != value else float(value)  # NaN -> None


def read_journal(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The journal's metadata and every whole batch it holds (a torn last batch is dropped)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    batches = []
    try:
        with pa.OSFile(str(folder / "samples.arrows"), "rb") as source:
            reader = pa.ipc.open_stream(source)
            while True:
                try:
                    batches.append(reader.read_next_batch())
                except StopIteration:
                    break
    except (pa.ArrowInvalid, OSError, EOFError):
        pass  # cut off mid-batch by a crash: keep the batches before it
    table = pa.Table.from_batches(batches, schema=SCHEMA)
    return meta, {name: table.column(name).to_numpy() for name in LOG_COLUMNS}


def finish_from_journal(catalog: Catalog, run_id: int, status: str, source: str) -> RunRecord:
    """Turn a run's journal into its run file and finish the run in the catalog."""
    folder = journal_folder(catalog, run_id)
    meta, columns = read_journal(folder)
    times = columns["time_s"]
    zero = float(times[0]) if times.size else meta["zero_acq_s"]  # time_s starts at 0
    columns["time_s"] = times - zero
    markers = tuple(Marker(max(0.0, m["time_s"] - zero), m["note"])
                    for m in meta["markers_acq_s"])
    metadata = RunMetadata.from_dict(meta, str(folder / "meta.json"))
    metadata = RunMetadata(metadata.name, metadata.started_at, metadata.devices, markers,
                           _weather(metadata.weather, columns), source=source)
    record = catalog.run(run_id)
    write_run(catalog.run_path(record), columns, metadata)
    duration = float(columns["time_s"][-1]) if columns["time_s"].size else 0.0
    catalog.finish_run(run_id, _now(), duration, int(columns["time_s"].size), markers, status)
    shutil.rmtree(folder, ignore_errors=True)
    return catalog.run(run_id)


def _weather(at_start: Weather, columns: dict[str, np.ndarray]) -> Weather:
    """The weather station's readings at the start, or their mean over the run if there were
    none yet when recording began."""
    if at_start.baro_kpa is not None:
        return at_start
    means = []
    for name in WEATHER_CHANNELS:
        values = columns[name][np.isfinite(columns[name])]
        means.append(float(values.mean()) if values.size else None)
    return Weather(*means)


def recover_runs(catalog: Catalog) -> list[RunRecord]:
    """Runs a crash left 'recording', rebuilt from their journals (called at start-up)."""
    recovered = []
    for record in catalog.runs_in_status("recording"):
        if (journal_folder(catalog, record.id) / "meta.json").exists():
            recovered.append(finish_from_journal(catalog, record.id, "recovered", "recovered"))
        else:
            catalog.finish_run(record.id, _now(), 0.0, 0, (), "recovered")
            recovered.append(catalog.run(record.id))
    return recovered
