"""The journal of a run being recorded, and recovering runs a crash cut short.

While a run records, its rows go to a journal folder beside the catalog
(``DATA/journal/run-NNNNNN/``): ``samples.arrows``, an Arrow IPC stream that gets a record
batch and a flush with every append (once flushed the bytes are the OS's, so a ``kill -9`` loses
only what was not yet appended), and ``meta.json`` with the run's name, devices, weather and
markers, rewritten atomically on every change. Stopping turns the journal into the run file
(Parquet, ``run_files``) and finishes the run in the catalog, with its peak power.

A run still 'recording' in the catalog at the next start was cut short: ``recover_runs``
rebuilds it from every whole batch of its journal. A torn last batch is what a crash leaves and
is dropped quietly; a damaged ``meta.json`` or samples file is set aside (renamed
``NAME.unreadable-<time>`` in the journal folder, which is then kept) and the user is told, and
the run is still rebuilt from whatever is readable, its name and start from the catalog.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import peak_power
from dynoai_desktop.core.rows import TIME_CHANNEL, RowBlock
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.catalog import Catalog, RunRecord
from dynoai_desktop.storage.file_io import set_aside, write_bytes_atomic
from dynoai_desktop.storage.run_files import Marker, RunMetadata, write_run

if TYPE_CHECKING:
    import pyarrow as pa

JOURNAL_DIR = "journal"
META_FILE = "meta.json"
SAMPLES_FILE = "samples.arrows"
WEATHER_CHANNELS = ("baro_kpa", "ambient_temp_c", "humidity_pct", "correction_factor")


@functools.cache
def _samples_schema() -> pa.Schema:
    """The journal's columns: every FORMATS.md §2 channel, float64 (``SCHEMA``)."""
    import pyarrow as pa

    return pa.schema([(name, pa.float64()) for name in LOG_COLUMNS])


def __getattr__(name: str) -> Any:
    # SCHEMA is built on first use: pyarrow is imported when a journal is written or read, not
    # when the app starts (benchmarks/start_time.py).
    if name == "SCHEMA":
        return _samples_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def journal_folder(catalog: Catalog, run_id: int) -> Path:
    return catalog.data_dir / JOURNAL_DIR / f"run-{run_id:06d}"


class Journal:
    """Writes one run's journal; ``append`` from one thread, ``add_marker`` from any."""

    def __init__(self, folder: Path, metadata: RunMetadata, zero_acq_s: float) -> None:
        import pyarrow as pa

        self.folder = folder
        self.rows = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._meta: dict[str, Any] = metadata.to_dict()
        self._meta["zero_acq_s"] = zero_acq_s  # acquisition time of the run's time 0
        self._meta["markers_acq_s"] = []
        self._lock = threading.Lock()
        self._write_meta()
        self._sink = pa.OSFile(str(folder / SAMPLES_FILE), "wb")
        self._writer = pa.ipc.new_stream(self._sink, _samples_schema())
        # ``append`` runs on the recorder's thread: everything it needs is imported here, on
        # the caller's (the UI) thread. pa.array imports pandas the first time; an import on a
        # worker thread while the UI thread is inside PySide6 can deadlock (devices/transport.py).
        self._pa = pa
        pa.array(np.zeros(1))

    @property
    def name(self) -> str:
        return str(self._meta["name"])

    def add_marker(self, acq_time_s: float, note: str) -> float:
        """A marker at ``acq_time_s`` (acquisition clock); returns its time on the run's clock."""
        with self._lock:
            self._meta["markers_acq_s"].append({"time_s": acq_time_s, "note": str(note)})
            self._write_meta()
            return acq_time_s - self._meta["zero_acq_s"]

    def append(self, blocks: Sequence[RowBlock]) -> None:
        """Write ``blocks`` as one record batch and flush it to the OS (no import here)."""
        pa = self._pa
        blocks = [b for b in blocks if len(b)]
        if not blocks:
            return
        rows = RowBlock.concat(blocks, LOG_COLUMNS)
        batch = pa.record_batch([pa.array(rows.channel(name)) for name in LOG_COLUMNS],
                                schema=_samples_schema())
        self._writer.write_batch(batch)
        self._sink.flush()
        self.rows += len(rows)

    def close(self) -> None:
        self._writer.close()
        self._sink.close()

    def _write_meta(self) -> None:
        write_bytes_atomic(self.folder / META_FILE, json.dumps(self._meta).encode("utf-8"))


# ------------------------------------------------------------------ reading a journal


@dataclass
class JournalContents:
    """What could be read back: metadata (None when lost), samples, and what was set aside."""

    meta: dict[str, Any] | None
    columns: dict[str, np.ndarray]
    set_aside: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_journal(folder: Path) -> JournalContents:
    """The journal's metadata and every whole batch it holds (a torn last batch is dropped).
    An unreadable ``meta.json`` or samples file is set aside and said in ``problems``."""
    contents = JournalContents(None, {}, [])
    meta_path = folder / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        _check_meta(meta, meta_path)
        contents.meta = meta
    except FileNotFoundError:
        contents.problems.append(f"{meta_path} is missing")
    except (OSError, ValueError, InputError) as exc:  # UnicodeDecodeError, JSONDecodeError
        kept = set_aside(meta_path)
        contents.set_aside.append(kept)
        contents.problems.append(f"{meta_path} was unreadable ({_short(exc)}); kept it as {kept}")
    contents.columns = _read_samples(folder / SAMPLES_FILE, contents)
    return contents


def _check_meta(meta: object, path: Path) -> None:
    """ValueError unless ``meta`` is a whole journal metadata object."""
    if not isinstance(meta, dict):
        raise ValueError("not a JSON object")
    RunMetadata.from_dict(meta, str(path))  # InputError naming what is wrong
    zero = meta.get("zero_acq_s")
    markers = meta.get("markers_acq_s")
    if isinstance(zero, bool) or not isinstance(zero, int | float) or not isinstance(
            markers, list):
        raise ValueError("no run clock or marker list")
    for marker in markers:
        if not isinstance(marker, dict) or not isinstance(marker.get("time_s"), int | float):
            raise ValueError(f"a marker without a time: {marker!r}")


def _read_samples(path: Path, contents: JournalContents) -> dict[str, np.ndarray]:
    import pyarrow as pa

    batches = []
    damaged: Exception | None = None
    try:
        with pa.OSFile(str(path), "rb") as source:
            reader = pa.ipc.open_stream(source)
            schema_ok = reader.schema.equals(_samples_schema())
            while schema_ok:
                try:
                    batches.append(reader.read_next_batch())
                except StopIteration:
                    break
            if not schema_ok:
                damaged = ValueError("its columns are not a journal's")
    except FileNotFoundError:
        contents.problems.append(f"{path} is missing: the run has no samples")
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        if not batches and path.stat().st_size > 0:
            damaged = exc  # not even the stream's header reads: not a torn batch
        # else: cut off mid-batch by a crash: keep the batches before it
    if damaged is not None:
        kept = set_aside(path)
        contents.set_aside.append(kept)
        contents.problems.append(f"{path} was unreadable ({_short(damaged)}); kept it as {kept}")
    table = pa.Table.from_batches(batches, schema=_samples_schema())
    return {name: table.column(name).to_numpy() for name in LOG_COLUMNS}


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


# ------------------------------------------------------------------ finishing a run


def finish_from_journal(catalog: Catalog, run_id: int, status: str, source: str
                        ) -> tuple[RunRecord, list[str]]:
    """Turn a run's journal into its run file and finish the run in the catalog; returns the
    record and what was wrong with the journal (empty when nothing was)."""
    folder = journal_folder(catalog, run_id)
    record = catalog.run(run_id)
    contents = read_journal(folder)
    columns = contents.columns
    times = columns[TIME_CHANNEL]
    meta = contents.meta
    zero = float(times[0]) if times.size else float((meta or {}).get("zero_acq_s", 0.0))
    columns[TIME_CHANNEL] = times - zero
    if meta is not None:
        markers = tuple(Marker(max(0.0, float(m["time_s"]) - zero), str(m.get("note", "")))
                        for m in meta["markers_acq_s"])
        metadata = RunMetadata.from_dict(meta, str(folder / META_FILE))
    else:  # the metadata is lost: the catalog still knows the run's name, start and devices
        markers = ()
        metadata = RunMetadata(record.name, record.started_at, record.devices, (),
                               record.weather)
        contents.problems.append(f"run '{record.name}': its markers were lost with {META_FILE}")
    metadata = RunMetadata(metadata.name, metadata.started_at, metadata.devices, markers,
                           _weather(metadata.weather, columns), source=source)
    write_run(catalog.run_path(record), columns, metadata)
    duration = float(columns[TIME_CHANNEL][-1]) if times.size else 0.0
    catalog.finish_run(run_id, now_utc(), duration, int(times.size), markers, status)
    catalog.set_run_peak(run_id, peak_power(columns["power_hp"], columns["rpm"]))
    if contents.set_aside:
        (folder / SAMPLES_FILE).unlink(missing_ok=True)  # the rest is in the run file now
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return catalog.run(run_id), contents.problems


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


def finite_or_none(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class Recovery:
    """Runs a crash left 'recording', rebuilt at start-up, and what was wrong on the way."""

    runs: tuple[RunRecord, ...] = ()
    problems: tuple[str, ...] = ()


def recover_runs(catalog: Catalog) -> Recovery:
    """Rebuild every run a crash left 'recording' from its journal (called at start-up)."""
    runs, problems = [], []
    for record in catalog.runs_in_status("recording"):
        folder = journal_folder(catalog, record.id)
        if folder.is_dir():
            try:
                done, said = finish_from_journal(catalog, record.id, "recovered", "recovered")
            except InputError as exc:  # e.g. the run file cannot be written: say, go on
                problems.append(f"run '{record.name}' could not be recovered: {exc}")
                continue
            runs.append(done)
            problems.extend(said)
        else:
            catalog.finish_run(record.id, now_utc(), 0.0, 0, (), "recovered")
            catalog.set_run_peak(record.id, None)
            runs.append(catalog.run(record.id))
            problems.append(f"run '{record.name}': its journal {folder} is gone; no samples")
    return Recovery(tuple(runs), tuple(problems))
