"""The shop's models for the panels (Qt-free): the registry's versions and history, training in
the background with progress and cancel, its triggers, the drift of new sessions, and the AI
suggestions for the open session's vehicle.

**Kinds.** The base VE, the cylinder balance and the decel enrichment (``ml.kinds``): Train (and
each trigger) trains them one after another, each through its own gate; the model page lists,
activates and rolls back the kind it shows (``kind``).

**Training** runs in a process of its own (``app.training_process``: no share of the UI's
interpreter lock) with its BLAS/OpenMP threads limited to one (threadpoolctl), so the
acquisition and the live panels keep the other core. The catalog is read, and the trained
version stored, on the UI thread: :meth:`ModelsSession.poll` (the panel's timer) takes the
process's result in. **Triggers** (checked by :meth:`maybe_train`, which the
panel's timer calls): at least ``TRAIN_AFTER_SESSIONS`` sessions the active model has not seen,
or ``TRAIN_AFTER_DAYS`` days since it was trained and at least one new session, and in both
cases the app idle (not recording) for ``IDLE_BEFORE_TRAINING_S``.

**Suggestions** (``app.model_suggestions``): the open session's vehicle's build -> each kind's
active model (vehicle, then family, then shop scope; the shipped prior when the shop has none)
-> overlays on the MAP VE tables of the tune shown: the predicted base map, the cylinder balance
(on the rear, or split over both: ``balance_on``; the rear base map may be seeded from the
front: ``seed_rear_from_front``), and the decel enrichment when the bike's decels were read.
Previewing and applying go through the tune's overlay mechanism
(its authority limits and undo), as autotune's corrections do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dynoai_desktop.app.events import Event
from dynoai_desktop.app.model_suggestions import SuggestionMaker, load_once
from dynoai_desktop.app.training_process import TrainingOutcome, TrainingProcess, TrainingWorker
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import OverlayPreview, OverlayRecord
from dynoai_desktop.ml.anomaly import KIND as ANOMALY
from dynoai_desktop.ml.anomaly import AnomalyDetector
from dynoai_desktop.ml.base_ve import KIND as BASE_VE
from dynoai_desktop.ml.cylinder_balance import ON_REAR
from dynoai_desktop.ml.drift import DriftReport, check_drift
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.features import Air
from dynoai_desktop.ml.kinds import KINDS, model_kind
from dynoai_desktop.ml.registry import ModelRegistry, ModelVersion
from dynoai_desktop.ml.scopes import baseline
from dynoai_desktop.ml.suggest import (
    Suggestion,
)
from dynoai_desktop.ml.training.records import TuningSession
from dynoai_desktop.storage.catalog import Catalog, ModelEvent

if TYPE_CHECKING:
    from dynoai_desktop.app.live_session import LiveSession
    from dynoai_desktop.app.run_library import RunLibrary
    from dynoai_desktop.app.training_session import TrainingSession
    from dynoai_desktop.app.tune_session import TuneSession

TRAIN_AFTER_SESSIONS = 10
TRAIN_AFTER_DAYS = 7.0
IDLE_BEFORE_TRAINING_S = 600.0


@dataclass(frozen=True)
class TrainingState:
    """What background training is doing, for the model page."""

    running: bool = False
    done: int = 0
    total: int = 0
    step: str = ""
    kind: str = ""  # the kind training now
    message: str = ""  # the last training's outcome (or why it failed)
    reason: str = ""  # what started it: "asked", "10 new sessions", ...


@dataclass
class _Job:
    process: TrainingProcess
    scope: str
    reason: str
    kind: str
    queued: tuple[str, ...]  # the kinds to train after this one
    said: tuple[str, ...]  # what the kinds trained so far came to


class ModelsSession:
    """The models and the suggestions; ``changed`` (and ``version``) when either changes.
    Everything but the training job runs on the UI thread."""

    def __init__(self, catalog: Catalog | None, training: TrainingSession, runs: RunLibrary,
                 tune: TuneSession, live: LiveSession,
                 registry: Callable[[Catalog], ModelRegistry] = ModelRegistry,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry(catalog) if catalog is not None else None
        self.training_data = training
        self.runs = runs
        self.tune = tune
        self.live = live
        self.version = 0
        self.changed = Event("models or suggestions changed")
        self.problem = "" if catalog is not None else (
            "the catalog is not open (see the message at start-up): models need it")
        self.state = TrainingState()
        self._loaded: dict[tuple[Any, ...], Any] = {}  # models read for suggestions
        self.kind = BASE_VE  # the kind the model page shows
        self.balance_on = ON_REAR  # the cylinder balance goes on the rear table, or on both
        self.seed_rear_from_front = False  # the rear base map: predicted, or front × balance
        self.suggestions: list[Suggestion] = []
        self.suggestion_note = ""
        self._job: _Job | None = None
        self._clock = clock
        self._idle_since = clock()

    # ------------------------------------------------------------------ listing
    def _emit(self) -> None:
        self.version += 1
        self.changed.emit()

    def show_kind(self, kind: str) -> None:
        """Make ``kind`` the one listed, rolled back and activated (the model page's choice)."""
        self.kind = model_kind(kind).name
        self._emit()

    def versions(self) -> list[ModelVersion]:
        return self.registry.versions(self.kind) if self.registry is not None else []

    def active(self, scope: str = "shop") -> ModelVersion | None:
        """The active version of ``scope`` (the prior in the shop scope when the shop has
        none); None with ``problem`` saying why."""
        if self.registry is None:
            return None
        try:
            return self.registry.active(self.kind, scope)
        except ModelError as exc:
            self.problem = str(exc)
            return None

    def history(self) -> list[ModelEvent]:
        if self.registry is None:
            return []
        return self.registry.catalog.model_events(self.kind)

    def sessions(self) -> list[TuningSession]:
        """The training data: the shop's records not excluded, and the imported ones."""
        return list(self.training_data.dataset().sessions)

    def new_sessions(self, version: ModelVersion | None = None) -> list[TuningSession]:
        """Sessions the version (the active shop one by default) did not learn or validate on."""
        version = version or self.active()
        seen: set[str] = set()
        if version is not None and not version.prior:  # the prior's ids are the simulator's
            seen = set(version.metadata.get("training_sessions", [])) | set(
                version.metadata.get("held_out_sessions", []))
        return [s for s in self.sessions() if s.session_id not in seen]

    def drift(self) -> DriftReport:
        """The new sessions against what the active model was trained on."""
        version = self.active()
        if version is None or version.prior and not self.sessions():
            return DriftReport()
        return check_drift(version.metadata.get("data_stats", {}), self.new_sessions(version))

    # ------------------------------------------------------------------ the anomaly check
    def session_flags(self, record: TuningSession, same_vehicle: Sequence[TuningSession]
                      ) -> list[str]:
        """Why the active session-anomaly detector (the shop's, else the prior) would keep
        ``record`` out of training (the training data's flagger; on the UI thread, the model
        read once per version)."""
        registry = self._registry()
        detector: AnomalyDetector = load_once(registry, self._loaded,
                                              registry.active(ANOMALY, "shop"))
        return detector.flags(record, same_vehicle)

    # ------------------------------------------------------------------ changing versions
    def _registry(self) -> ModelRegistry:
        if self.registry is None:
            raise InputError(self.problem)
        return self.registry

    def rollback(self, scope: str = "shop") -> ModelVersion:
        version = self._registry().rollback(self.kind, scope)
        self._versions_changed()
        return version

    def activate(self, scope: str, number: int) -> ModelVersion:
        version = self._registry().activate(self.kind, scope, number)
        self._versions_changed()
        return version

    def _versions_changed(self) -> None:
        self.suggestions = []
        if self.kind == ANOMALY and self.training_data.flagger is not None:
            self.training_data.set_flagger(self.session_flags)  # judge the records again
        self._emit()

    def export_version(self, version: ModelVersion, path: Path) -> None:
        """Write ``version`` into a zip another shop can import (ml.registry's checks)."""
        self._registry().export(version, path)

    def import_model(self, path: Path) -> ModelVersion:
        """Store an exported model as a new, inactive version of its own scope."""
        version = self._registry().import_model(path)
        self._emit()
        return version

    # ------------------------------------------------------------------ training
    @property
    def training(self) -> bool:
        return self._job is not None

    def train(self, scope: str = "shop", reason: str = "asked",
              kinds: tuple[str, ...] = KINDS) -> None:
        """Start training a new version of each of ``kinds`` for ``scope`` in the background,
        one after another (InputError when a training is running, or there is no catalog)."""
        registry = self._registry()
        if self._job is not None:
            raise InputError("a model is training already; wait for it or cancel it")
        if not kinds:
            raise InputError("no model kind to train")
        self._job = self._start(registry, scope, reason, kinds, ())
        self._emit()

    def _start(self, registry: ModelRegistry, scope: str, reason: str,
               kinds: tuple[str, ...], said: tuple[str, ...],
               worker: TrainingWorker | None = None) -> _Job:
        """Train ``kinds[0]``, in ``worker`` (the job's process, kept from the kind before)
        or a new one; the job closes it after its last kind."""
        kind = model_kind(kinds[0])
        base = baseline(registry, scope, load=False, kind=kind.name)  # the process loads it
        worker = worker or TrainingWorker()
        job = _Job(TrainingProcess(registry.catalog.path, scope, base.current, base.number,
                                   base.learned, kind.name, worker), scope, reason, kind.name,
                   kinds[1:], said)
        self.state = TrainingState(running=True, total=kind.fits, step="starting",
                                   message=self.state.message, reason=reason, kind=kind.name)
        return job

    def cancel(self) -> None:
        if self._job is not None:
            self._job.queued = ()
            self._job.process.cancel()

    def poll(self) -> bool:
        """Take a finished training in (store it, or its refusal), start the next kind queued,
        and refresh the progress; True when something changed."""
        job = self._job
        if job is None:
            return False
        if not job.process.done():
            done, total, step = job.process.progress()
            if (done, step) != (self.state.done, self.state.step):
                self.state = replace(self.state, done=done, total=total, step=step)
                self._emit()
                return True
            return False
        self._job = None
        self._idle_since = self._clock()
        worker: TrainingWorker | None = job.process.worker
        try:
            # Storing the result can fail too (disk, a damaged catalog): the state must still
            # leave "running", and the panel's timer must not raise.
            message = self._take(job, job.process.result())
        except ModelError as exc:
            message = str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed training must not take the app down
            message = f"training failed: {type(exc).__name__}: {exc}"
            job.process.worker.close()  # its process may be gone (killed, out of memory)
            worker = None  # the next kind starts a fresh one
        said = (*job.said, f"{model_kind(job.kind).title}: {message}")
        if job.queued and self.registry is not None:
            try:
                self._job = self._start(self.registry, job.scope, job.reason, job.queued, said,
                                        worker)
            except (InputError, ModelError) as exc:
                said = (*said, f"{job.queued[0]}: {exc}")
            else:
                self._emit()
                return True
        job.process.worker.close()
        self.state = TrainingState(message="; ".join(said), reason=job.reason)
        self._emit()
        return True

    def _take(self, job: _Job, result: TrainingOutcome) -> str:
        registry = self._registry()
        if result.cancelled:
            return "training cancelled; the active version stays"
        if not result.accepted:
            registry.record_refusal(job.kind, job.scope, result.metadata)
            return f"new version {result.reason}; the active version stays"
        version = registry.store(job.kind, job.scope, result.files, activate_as_written=True)
        self.suggestions = []
        if job.kind == ANOMALY and self.training_data.flagger is not None:
            self.training_data.set_flagger(self.session_flags)  # judge the records again
        return f"{version.label} ({job.scope}) {result.reason}"

    def wait(self, timeout_s: float = 600.0) -> bool:
        """Wait for the training running, and the kinds queued after it, to finish and take
        them in (tests, scripts); ``timeout_s`` is for each kind."""
        while (job := self._job) is not None:
            try:
                job.process.future.result(timeout_s)
            except TimeoutError:
                return False
            except Exception:  # noqa: BLE001 - poll() reports it
                pass
            self.poll()
        return True

    def due(self, now_s: float | None = None, today: datetime | None = None) -> str | None:
        """Why training should start now, or None (see the module's doc)."""
        if self.registry is None or self._job is not None or self.live.recording:
            self._idle_since = self._clock() if self.live.recording else self._idle_since
            return None
        now_s = self._clock() if now_s is None else now_s
        if now_s - self._idle_since < IDLE_BEFORE_TRAINING_S:
            return None
        number = self.registry.catalog.active_model_version(BASE_VE, "shop")
        current = None if number is None else self.registry.version(BASE_VE, "shop", number)
        seen = current
        if seen is None:
            try:
                seen = self.registry.active(BASE_VE, "shop")  # the prior
            except ModelError:
                seen = None
        fresh = len(self.new_sessions(seen))
        if fresh >= TRAIN_AFTER_SESSIONS:
            return f"{fresh} new sessions"
        if current is not None and fresh:
            try:
                trained = datetime.fromisoformat(current.created_at)
            except ValueError:
                return None
            days = ((today or datetime.now().astimezone()) - trained).total_seconds() / 86400
            if days >= TRAIN_AFTER_DAYS:
                return f"{days:.0f} days since the last training"
        return None

    def maybe_train(self) -> bool:
        """Start training when a trigger says so (the panel's timer calls this)."""
        reason = self.due()
        if reason is None:
            return False
        try:
            self.train("shop", reason)
        except (InputError, ModelError) as exc:
            self.state = replace(self.state, message=f"automatic training: {exc}")
            self._idle_since = self._clock()
            self._emit()
            return False
        return True

    def close(self) -> None:
        if self._job is not None:
            self._job.process.close()
        self._job = None

    # ------------------------------------------------------------------ suggestions
    def build(self) -> tuple[BuildSpec, str] | None:
        """The open session's vehicle's build and name, or None."""
        session = self.runs.session
        catalog = self.registry.catalog if self.registry is not None else None
        if session is None or catalog is None:
            return None
        vehicle = catalog.vehicle(session.vehicle_id)
        return vehicle.build_spec, vehicle.name

    def scopes(self, build: BuildSpec) -> list[str]:
        session = self.runs.session
        vehicle = [] if session is None else [f"vehicle:{session.vehicle_id}"]
        return [*vehicle, f"family:{build.engine_family.value}", "shop"]

    def suggest(self, air: Air | None = None) -> list[Suggestion]:
        """Predict the open vehicle's base map, cylinder balance and decel enrichment and offer
        them for the tune's MAP VE tables (``app.model_suggestions``)."""
        self.suggestions, self.suggestion_note = [], ""
        found = self.build()
        if found is None or self.registry is None:
            self.suggestion_note = ("Open a session for a vehicle (its build tells the model "
                                    "what to predict) to get a predicted base map.")
            self._emit()
            return []
        build, name = found
        maker = SuggestionMaker(self.registry, self.tune, self.runs, self.training_data,
                                self._loaded)
        self.suggestions, self.suggestion_note = maker.make(
            build, name, air or Air.at_altitude(build.altitude_m), self.scopes(build),
            self.balance_on, self.seed_rear_from_front)
        self._emit()
        return self.suggestions

    def _find(self, key: str) -> Suggestion:
        for s in self.suggestions:
            if s.key == key:
                return s
        raise InputError(f"no suggestion {key!r}; ask for suggestions again")

    def preview(self, key: str, selection: np.ndarray | None = None) -> OverlayPreview:
        return self.tune.preview_overlay(self._find(key).overlay, selection)

    def apply(self, key: str, selection: np.ndarray | None = None) -> OverlayRecord:
        """Apply the suggestion (only ``selection`` of its cells, when given) through the
        tune's overlay mechanism: limited, one undoable step, a version of its own."""
        found = self._find(key)
        record = self.tune.apply_overlay(found.overlay, selection, found.knock_prone)
        self._set_status(key, "applied")
        return record

    def reject(self, key: str) -> None:
        self._set_status(key, "rejected")

    def _set_status(self, key: str, status: str) -> None:
        self.suggestions = [s.with_status(status) if s.key == key else s
                            for s in self.suggestions]
        self._emit()

