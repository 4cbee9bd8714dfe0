"""Training data from every session (docs/training-data.md): each saved session becomes a
training record without a manual step, kept in the catalog; one switch per session leaves it
out; the dataset can be exported and other shops' datasets imported; and how far the shop is
from a useful dataset, per pattern and over the mix of builds (the Training data panel observes
it).

When a run is saved, and when the tuner closes a session, the session's record is extracted
again. The catalog is read on the UI thread (quick: rows and tune versions), the run files are
read and the patterns extracted on one worker thread (``ml.training``), and the result is handed
back to the UI thread by :meth:`TrainingSession.poll` (the panel's timer, as other panels poll
version counters) and kept there: the catalog's SQLite connection belongs to the UI thread.
One session is extracted at a time, the one the tuner is working on first; sessions saved while
the app was not collecting (or closed before a record was kept) are caught up at start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dynoai_desktop import __version__
from dynoai_desktop.app.events import Event
from dynoai_desktop.app.training_jobs import (
    WORKER_NAME,
    Extracted,
    Extractor,
    Job,
    Kept,
    dataset_file,
    export_job,
    extract_job,
    load_job,
    now,
    record_text,
)
from dynoai_desktop.app.training_progress import (
    ImportReport,
    TrainingEntry,
    TrainingProgress,
    progress_of,
)
from dynoai_desktop.app.training_screen import AnomalyScreen, Flagger
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.training.dataset import load
from dynoai_desktop.ml.training.from_catalog import (
    FINISHED,
    record_id,
    session_source,
)
from dynoai_desktop.ml.training.records import (
    DATASET_KIND,
    SCHEMA_VERSION,
    Dataset,
    TuningSession,
)
from dynoai_desktop.storage.catalog import Catalog, RunRecord

if TYPE_CHECKING:
    from dynoai_desktop.app.live_session import LiveSession
    from dynoai_desktop.app.run_library import RunLibrary


class TrainingSession:
    """Every session's training record; ``changed`` (and ``version``) when records, exclusions
    or the work in progress change. Everything but the worker's jobs runs on the UI thread."""

    def __init__(self, catalog: Catalog | None, runs: RunLibrary, live: LiveSession,
                 extract: Extractor | None = None, collecting: bool = True) -> None:
        self.catalog = catalog
        self.runs = runs
        self.collecting = collecting
        """On by default: sessions become records as they are saved."""
        self._extract = extract  # None: ml.training.extract's, imported when first needed
        self.version = 0
        self.changed = Event("training records or their collection changed")
        self.message = ""
        """What the last export or import did (or why it failed), for the panel."""
        self._executor: ThreadPoolExecutor | None = None
        self._jobs: list[Job] = []
        self._queue: list[int] = []  # sessions to extract, next first
        self._kept: dict[str, Kept] = {}  # catalog sessions' by 'session:<id>'
        self._imported: dict[str, Kept] = {}
        self._problems: dict[int, Kept] = {}  # sessions without a record: why
        self._open_session = runs.session_id
        self._exclusions: dict[str, bool] = {}  # switched before the records were read
        self._screen = AnomalyScreen(self._tell)
        self._used_anyway: set[str] = set()  # keys the tuner uses although flagged
        self._closed = False
        self.loaded = catalog is None
        runs.changed.connect(self._session_changed)
        live.run_saved.connect(self._run_saved)
        if catalog is not None:
            self._load()
            self.catch_up()

    # ------------------------------------------------------------------ the worker
    def _submit(self, job_kind: str, fn: Callable[..., Any], *args: Any,
                session_id: int | None = None, path: str = "") -> None:
        if self._closed:
            raise InputError("the training data collection has stopped (the app is closing)")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=WORKER_NAME)
        self._jobs.append(Job(job_kind, self._executor.submit(fn, *args), session_id, path))

    @property
    def busy(self) -> bool:
        """Work waiting or running (extraction, reading the records, export, import)."""
        return bool(self._jobs or self._queue)

    @property
    def extracting(self) -> int | None:
        """The session being extracted now, if any."""
        return next((j.session_id for j in self._jobs if j.kind == "extract"), None)

    def poll(self) -> bool:
        """Take finished work in (UI thread) and start the next extraction; True when anything
        the view shows changed."""
        changed = False
        while self._jobs and self._jobs[0].future.done():
            job = self._jobs.pop(0)
            try:
                result = job.future.result()
            except InputError as exc:
                changed |= self._failed(job, str(exc))
            except Exception as exc:  # noqa: BLE001 - one session's bug must not stop the rest
                changed |= self._failed(job, f"{type(exc).__name__}: {exc}")
            else:
                changed |= self._take(job, result)
        changed |= self._start_next()
        if changed:
            self.version += 1
            self.changed.emit()
        return changed

    def wait(self, timeout_s: float = 120.0) -> bool:
        """Finish every job and extraction waiting (tests, the command line; the UI polls);
        True when nothing is left."""
        deadline = time.monotonic() + timeout_s
        self.poll()
        while self._jobs and time.monotonic() < deadline:
            try:
                self._jobs[0].future.result(max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - poll() takes the failure in
                pass
            self.poll()
        return not self.busy

    def close(self) -> None:
        """Stop: extractions not started are dropped (caught up at the next start), the one
        running is finished and kept. Called before the catalog closes."""
        self._closed = True
        self._queue.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._jobs = [j for j in self._jobs if not j.future.cancelled()]
        self.poll()

    # ------------------------------------------------------------------ reading the records
    def _load(self) -> None:
        """The kept records, parsed on the worker (a shop's hundreds take a while)."""
        catalog = self.catalog
        assert catalog is not None
        rows: list[tuple[str, int | None, str, bool]] = [
            (record_id(sid), sid, text, excluded)
            for sid, text, excluded in catalog.training_records(include_excluded=True)]
        rows += [(rid, None, text, excluded)
                 for rid, text, excluded in catalog.imported_training_records(True)]
        if not rows:
            self.loaded = True
            return
        self._used_anyway = ({record_id(sid) for sid in catalog.training_used_anyway()}
                             | catalog.imported_training_used_anyway())
        self._submit("load", load_job, rows)

    def catch_up(self) -> int:
        """Queue every session whose record is missing or out of date (a run saved after it,
        an older schema); returns how many."""
        if self.catalog is None or not self.collecting or self._closed:
            return 0
        stale = self.catalog.stale_training_sessions(SCHEMA_VERSION)
        self._queue += [sid for sid in stale if sid not in self._queue]
        self._start_next()
        return len(stale)

    # ------------------------------------------------------------------ collecting
    def request(self, session_id: int, first: bool = False) -> None:
        """Extract session ``session_id``'s record again (``first``: before the others
        waiting)."""
        if self.catalog is None or not self.collecting or self._closed:
            return
        if session_id in self._queue:
            self._queue.remove(session_id)
        self._queue.insert(0 if first else len(self._queue), session_id)
        if self._start_next():
            self.version += 1
            self.changed.emit()

    def _start_next(self) -> bool:
        if self.catalog is None or not self._queue or self.extracting is not None:
            return False
        extract = self._extractor()
        while self._queue:
            session_id = self._queue.pop(0)
            try:
                source = session_source(self.catalog, session_id)
            except InputError as exc:
                self._refused(session_id, str(exc))
                continue
            self._submit("extract", extract_job, source, extract, session_id=session_id)
            return True
        return True  # only refusals: they changed the view

    def _extractor(self) -> Extractor:
        if self._extract is None:
            # Imported here, on the UI thread: the worker must find everything imported already
            # (an import on a worker while the UI thread is inside Qt once hung the app).
            import pyarrow.parquet  # noqa: F401 - read_run_arrays's, on the worker

            from dynoai_desktop.ml.training.extract import extract

            self._extract = extract
        return self._extract

    def _run_saved(self, run: RunRecord) -> None:
        self.request(run.session_id, first=True)

    def _session_changed(self) -> None:
        """A session closed (or another opened): the one that closed is extracted again."""
        now = self.runs.session_id
        closed, self._open_session = self._open_session, now
        if closed is not None and closed != now and self.catalog is not None:
            try:
                finished = any(r.status in FINISHED for r in self.catalog.runs(closed))
            except InputError:  # the session is gone
                return
            if finished:
                self.request(closed, first=True)

    # ------------------------------------------------------------------ results
    def _take(self, job: Job, result: Any) -> bool:
        if job.kind == "load":
            for kept in result:
                kept.excluded = self._exclusions.get(kept.key, kept.excluded)
                found = self._kept if kept.session_id is not None else self._imported
                found.setdefault(kept.key, kept)  # one extracted meanwhile is newer
            self._exclusions.clear()
            self.loaded = True
            return True
        if job.kind == "extract":
            return self._extracted(job.session_id, result)
        if job.kind == "import":
            report = self._add_imported(result, job.path)
            self.message = report.text
            return True
        if job.kind == "export":
            self.message = f"Exported {result} session(s) to {job.path}"
            return True
        return False

    def _failed(self, job: Job, why: str) -> bool:
        if job.kind == "extract" and job.session_id is not None:
            return self._extracted(job.session_id, Extracted(None, None,
                                                              f"extraction failed: {why}"))
        if job.kind == "load":
            self.loaded = True
        self.message = {"import": "Import failed", "export": "Export failed",
                        "load": "The training records could not be read"}.get(job.kind, "Failed")
        self.message += f": {why}"
        return True

    def _extracted(self, session_id: int | None, result: Extracted) -> bool:
        if session_id is None or self.catalog is None:
            return False
        key = record_id(session_id)
        old = self._kept.get(key)
        if result.text is None or result.record is None:
            if old is not None:
                old.problem = result.problem
            else:
                self._refused(session_id, result.problem)
            return True
        try:
            self.catalog.put_training_record(session_id, result.text,
                                             schema_version=SCHEMA_VERSION)
        except InputError as exc:  # the session was deleted meanwhile
            self._refused(session_id, str(exc))
            return True
        self._problems.pop(session_id, None)
        self._kept[key] = Kept(key, session_id, result.record,
                                old.excluded if old is not None else False, "", result.notes)
        return True

    def _refused(self, session_id: int, why: str) -> None:
        vehicle, started = "", ""
        if self.catalog is not None:
            try:
                session = self.catalog.session(session_id)
                vehicle = self.catalog.vehicle(session.vehicle_id).name
                started = session.started_at
            except InputError:
                pass
        kept = self._kept.get(record_id(session_id))
        if kept is not None:
            kept.problem = why
        else:
            self._problems[session_id] = Kept(record_id(session_id), session_id, None, False,
                                               why, (), vehicle, started)

    # ------------------------------------------------------------------ the tuner's switches
    def exclude(self, session: int | str, excluded: bool) -> None:
        """Leave a session's record out of the dataset (True) or put it back: a catalog
        session by id, an imported record by its id."""
        catalog = self._catalog()
        if isinstance(session, int) and not isinstance(session, bool):
            catalog.set_training_excluded(session, excluded)
            kept = self._kept.get(record_id(session))
        else:
            catalog.set_imported_training_excluded(str(session), excluded)
            kept = self._imported.get(str(session).strip())
        key = record_id(session) if isinstance(session, int) else str(session).strip()
        self._used_anyway.discard(key)  # the tuner's switch replaces an override
        if kept is not None:
            kept.excluded = bool(excluded)
        elif not self.loaded:
            self._exclusions[record_id(session) if isinstance(session, int)
                             else str(session).strip()] = bool(excluded)
        self.version += 1
        self.changed.emit()

    def use_anyway(self, session: int | str, used: bool) -> None:
        """Train on a flagged record although the anomaly detector flags it (True), or let the
        flag keep it out again (False): a catalog session by id, an imported record by id."""
        catalog = self._catalog()
        if isinstance(session, int) and not isinstance(session, bool):
            catalog.set_training_used_anyway(session, used)
            key, kept = record_id(session), self._kept.get(record_id(session))
        else:
            key = str(session).strip()
            catalog.set_imported_training_used_anyway(key, used)
            kept = self._imported.get(key)
        if kept is not None:
            kept.excluded = False
        if used:
            self._used_anyway.add(key)
        else:
            self._used_anyway.discard(key)
        self.version += 1
        self.changed.emit()

    @property
    def flagger(self) -> Flagger | None:
        return self._screen.flagger

    def set_flagger(self, flagger: Flagger | None) -> None:
        """The anomaly detector to judge the records by (None: none, nothing is flagged)."""
        self._screen.set_flagger(flagger)
        self.version += 1
        self.changed.emit()

    def _tell(self, text: str) -> None:
        self.message = text

    def _flags_of(self, kept: Kept) -> tuple[str, ...]:
        return self._screen.flags(kept, self._records)

    def _records(self) -> list[TuningSession]:
        """Every kept record: the shop's, then the imported."""
        return [k.record for k in [*self._kept.values(), *self._imported.values()]
                if k.record is not None]

    def _kept_out(self, kept: Kept) -> bool:
        """Excluded by the tuner, or flagged and not used anyway."""
        return kept.excluded or (kept.key not in self._used_anyway
                                 and bool(self._flags_of(kept)))

    def _catalog(self) -> Catalog:
        if self.catalog is None:
            raise InputError("the catalog is not open (see the message at start-up), so no "
                             "training records are kept")
        return self.catalog

    # ------------------------------------------------------------------ what there is
    def entries(self) -> list[TrainingEntry]:
        """The shop's sessions, newest first (with a record, being extracted, or refused), then
        the imported records in the order they came."""
        working = {self.extracting, *self._queue} - {None}
        local: dict[int, TrainingEntry] = {}
        for kept in [*self._kept.values(), *self._problems.values()]:
            sid = kept.session_id
            assert sid is not None
            record = kept.record
            local[sid] = TrainingEntry(
                kept.key, sid, record.vehicle if record else kept.vehicle,
                record.started_at if record else kept.started_at, record, kept.excluded,
                sid in working, kept.problem, kept.notes, self._flags_of(kept),
                kept.key in self._used_anyway)
        for sid in working - set(local):
            local[sid] = TrainingEntry(record_id(sid), sid, "", "", None, extracting=True)
        ordered = [local[sid] for sid in sorted(local, reverse=True)]
        ordered += [TrainingEntry(k.key, None, k.record.vehicle if k.record else "",
                                  k.record.started_at if k.record else "", k.record, k.excluded,
                                  False, k.problem, (), self._flags_of(k),
                                  k.key in self._used_anyway) for k in self._imported.values()]
        return ordered

    def _included(self) -> list[TuningSession]:
        sessions: list[TuningSession] = []
        seen: set[str] = set()
        for kept in [*sorted(self._kept.values(), key=lambda k: k.session_id or 0),
                     *self._imported.values()]:
            if kept.record is None or self._kept_out(kept):
                continue
            record = kept.record
            while record.session_id in seen:  # another shop's 'session:3' beside ours
                record = replace(record, session_id=f"imported:{record.session_id}")
            seen.add(record.session_id)
            sessions.append(record)
        return sessions

    def wait_loaded(self, timeout_s: float = 120.0) -> bool:
        """Wait until the kept records have been read (export and import need them all)."""
        deadline = time.monotonic() + timeout_s
        while not self.loaded and self._jobs and time.monotonic() < deadline:
            try:
                self._jobs[0].future.result(max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - poll() takes the failure in
                pass
            self.poll()
        return self.loaded

    def dataset(self) -> Dataset:
        """The dataset: every record not excluded, the shop's sessions then the imported."""
        self.wait_loaded()
        return Dataset(SCHEMA_VERSION, DATASET_KIND, self._included(), created_at=now(),
                       source=f"DynoAI Desktop {__version__}")

    def progress(self) -> TrainingProgress:
        """Per pattern, the sessions of the dataset showing it against its minimum; the mix of
        builds."""
        every = [*self._kept.values(), *self._imported.values()]
        excluded = sum(k.excluded for k in every)
        flagged = sum(not k.excluded and self._kept_out(k) for k in every)
        return progress_of(self._included(), excluded, flagged)

    # ------------------------------------------------------------------ files
    def export(self, path: str | Path) -> int:
        """Write the dataset to ``path`` (.json, docs/formats.md "Training data"); returns the
        sessions written. InputError naming the file when it cannot be written."""
        target = dataset_file(path)
        return export_job(self.dataset(), target)

    def export_later(self, path: str | Path) -> None:
        """As :meth:`export`, written on the worker; :attr:`message` says how it went."""
        target = dataset_file(path)
        self._submit("export", export_job, self.dataset(), target, path=str(target))

    def import_(self, path: str | Path) -> ImportReport:
        """Add the sessions of dataset file ``path`` as imported records (a session the shop
        already has, the same record under any id, is not added twice); InputError naming the
        file and its first problems when it is not a valid dataset."""
        self._catalog()
        dataset = load(Path(path))
        self.wait_loaded()
        report = self._add_imported(dataset, str(path))
        self.version += 1
        self.changed.emit()
        return report

    def import_later(self, path: str | Path) -> None:
        """As :meth:`import_`, the file read and checked on the worker."""
        self._catalog()
        self._submit("import", load, Path(path), path=str(path))

    def _add_imported(self, dataset: Dataset, source: str) -> ImportReport:
        catalog = self._catalog()
        # The same session under another id (our own export, imported back) is not taken twice.
        held = {record_text(replace(record, session_id="")) for record in self._records()}
        added = replaced = already = 0
        for session in dataset.sessions:
            text = record_text(session)
            content = record_text(replace(session, session_id=""))
            if content in held:
                already += 1
                continue
            held.add(content)
            if catalog.put_imported_training_record(session.session_id, text,
                                                    schema_version=SCHEMA_VERSION):
                added += 1
            else:
                replaced += 1
            key = session.session_id.strip()
            old = self._imported.get(key)
            self._imported[key] = Kept(key, None, session, old.excluded if old else False)
        return ImportReport(source, added, replaced, already)
