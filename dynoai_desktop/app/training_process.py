"""Model training in a process of its own, so it never holds the UI's interpreter lock.

A training thread in the app's process shares Python's GIL with the UI and the acquisition: the
long C calls of fitting (building arrays of 40 000 rows, binning, tree growing between its
OpenMP sections) held it for 100 ms and more, and the live panel stalled that long
(benchmarks/live_panel_fps.py --train-models). In a process of its own (``spawn``: no fork of a
process with Qt threads) it takes one core and nothing of the UI.

What crosses between the processes is data, never a pickled model. Going in: the catalog's path
(the child reads the training records itself, ``ml.scopes.training_sessions``) and the version the
candidate is judged against (the child loads that model from its verified files). Coming back:
the candidate as the registry's artifact bytes (skops and JSON), stored as they are and verified,
like any stored version, whenever they are loaded. Progress is two shared integers (fits done,
fits in all), cancel a shared event the child checks before each fit.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynoai_desktop.ml.base_ve import KIND as BASE_VE
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.kinds import model_kind
from dynoai_desktop.ml.registry import (
    META_FILE,
    ModelRegistry,
    ModelVersion,
    artifact_bytes,
    load_version,
)
from dynoai_desktop.ml.scopes import screened, training_sessions
from dynoai_desktop.ml.train import CV_FOLDS
from dynoai_desktop.storage.catalog import Catalog

BACKGROUND_NICENESS = 19
_CHILD: dict[str, Any] = {}  # the child's shared cancel event and progress, set by _start


def _start(cancel: Any, progress: Any) -> None:
    _CHILD.update(cancel=cancel, progress=progress)
    _lowest_priority(os.getpid())


def _lowest_priority(pid: int) -> None:
    """Let the scheduler give every other process of the cell first call on the CPU: at the same
    priority a training process on one core of two stalled the live panel 130-170 ms."""
    with contextlib.suppress(OSError, AttributeError):  # not where priorities cannot be set
        os.setpriority(os.PRIO_PROCESS, pid, BACKGROUND_NICENESS)


def _train(kind: str, catalog_path: Path, scope: str, judged_against: ModelVersion | None,
           active_version: int | None, previous: list[str]) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - in the child only

    cancel, progress = _CHILD["cancel"], _CHILD["progress"]
    with Catalog(catalog_path) as catalog:
        sessions, _counts, _warnings = training_sessions(catalog, scope)
        sessions, _left_out = screened(ModelRegistry(catalog), sessions, kind)
    simulated = sum(s.simulated for s in sessions)
    source = "this shop's sessions" + (
        f" ({simulated} of {len(sessions)} simulated)" if simulated else "")

    def count(done: int, total: int, _what: str) -> None:
        progress[0], progress[1] = done, total

    with threadpool_limits(limits=1):  # one core: the other is the UI's and acquisition's
        try:
            active = load_version(judged_against) if judged_against is not None else None
        except ModelError:  # judged against the stage maps alone, as the command line does
            active, active_version = None, None
        result = model_kind(kind).train(sessions, scope, active, active_version, previous,
                                        source, progress=count, cancelled=cancel.is_set)
    if result.model is None:
        return {"cancelled": True}
    return {"files": artifact_bytes(result.model, result.metadata),
            "metadata": result.metadata, "accepted": result.accepted, "reason": result.reason}


def step_text(done: int, total: int) -> str:
    """What fit ``done`` of a training was (its steps are counted, not named, across): the
    cross-validation folds first, then the final model, each the same number of fits."""
    per_fit = max(1, total // (CV_FOLDS + 1))
    if done < CV_FOLDS * per_fit:
        return f"cross-validation fold {done // per_fit + 1}"
    return "the final model"


@dataclass(frozen=True)
class TrainingOutcome:
    """A training's result: the candidate as artifact bytes (``ml.registry.artifact_bytes``)
    and its metadata, and the gate's verdict."""

    files: dict[str, bytes] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    accepted: bool = False
    reason: str = ""
    cancelled: bool = False


class TrainingWorker:
    """The process trainings run in, one after another: the kinds of one training job share
    it, since each new process pays for its imports again (numpy, pandas, scikit-learn: about
    5 s of a core) before its first fit. Its cancel event stops whatever it trains now, and it
    stays cancelled: a worker serves one job."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.cancel_event = context.Event()
        self.progress = context.Array("i", [0, 0])
        self._executor = ProcessPoolExecutor(1, mp_context=context, initializer=_start,
                                             initargs=(self.cancel_event, self.progress))

    def submit(self, kind: str, catalog_path: Path, scope: str,
               judged_against: ModelVersion | None, active_version: int | None,
               previous: list[str]) -> Future[dict[str, Any]]:
        self.progress[0], self.progress[1] = 0, model_kind(kind).fits
        # The child reads the training records from the catalog itself: building 200 sessions'
        # worth of objects here would make the GUI thread's next full garbage collection (and
        # pickling them, one call under the interpreter lock) stall the live panel 100-200 ms.
        future = self._executor.submit(_train, kind, catalog_path, scope, judged_against,
                                       active_version, previous)
        for pid in list(getattr(self._executor, "_processes", None) or ()):
            _lowest_priority(pid)  # as soon as it exists: its imports already run low
        return future

    def close(self, *, cancel: bool = False) -> None:
        """End the process (after the training it runs, or at once with ``cancel``)."""
        if cancel:
            self.cancel_event.set()
        self._executor.shutdown(wait=True, cancel_futures=True)


class TrainingProcess:
    """One training, running in a process of its own from the moment it is made: ``worker``'s
    when given (its owner closes it), else one made for this training alone."""

    def __init__(self, catalog_path: Path, scope: str, judged_against: ModelVersion | None,
                 active_version: int | None, previous: list[str], kind: str = BASE_VE,
                 worker: TrainingWorker | None = None) -> None:
        self.kind = model_kind(kind).name
        self._owns_worker = worker is None
        self.worker = TrainingWorker() if worker is None else worker
        self.future: Future[dict[str, Any]] = self.worker.submit(
            self.kind, catalog_path, scope, judged_against, active_version, previous)

    def progress(self) -> tuple[int, int, str]:
        done, total = int(self.worker.progress[0]), int(self.worker.progress[1])
        running = done or not self.future.running()
        return done, total, step_text(done, total) if running else "starting"

    def cancel(self) -> None:
        self.worker.cancel_event.set()

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout_s: float | None = None) -> TrainingOutcome:
        """The training's outcome; raises what the training raised (a ModelError for too
        little data). The model stays artifact bytes: reading it back (skops) would hold the
        UI thread most of a second."""
        try:
            out = self.future.result(timeout_s)
        finally:
            if self.future.done() and self._owns_worker:
                self.worker.close()
        if out.get("cancelled"):
            return TrainingOutcome(cancelled=True, reason="cancelled")
        return TrainingOutcome(out["files"], json.loads(out["files"][META_FILE]),
                               out["accepted"], out["reason"])

    def close(self) -> None:
        """Stop the training and end its process (a shared worker's too)."""
        self.worker.close(cancel=True)
