"""The AI suggestions for one vehicle (Qt-free): its predicted base map, its predicted cylinder
balance and, when its decels were read, the decel enrichment that stops its pops, each as
overlays on the tune's MAP VE tables; and, on its spark tables, the knock advisor's timing advice
(the knock-prone mask, retard where it knocked, advance where it is safe): each with what it
would do, how sure the model is and why.

Each model is the narrowest scope's active version (the vehicle's, its family's, the shop's,
else the shipped prior). A model that is missing or refused leaves its suggestions out with a
line in the note saying why; the others still come.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import SPARK_FRONT, SPARK_REAR, VE_FRONT_MAP, VE_REAR_MAP
from dynoai_desktop.ml.base_ve import KIND as BASE_VE
from dynoai_desktop.ml.base_ve import BaseVeModel, CylinderPrediction
from dynoai_desktop.ml.cylinder_balance import CYLINDER as BALANCE_CYLINDER
from dynoai_desktop.ml.cylinder_balance import KIND as BALANCE
from dynoai_desktop.ml.cylinder_balance import BalanceModel
from dynoai_desktop.ml.decel import KIND as DECEL
from dynoai_desktop.ml.decel import DecelEvidence, DecelModel
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.features import Air, cell_features
from dynoai_desktop.ml.knock import KIND as KNOCK
from dynoai_desktop.ml.knock import KnockAdvisor, TableAdvice
from dynoai_desktop.ml.registry import ModelRegistry, ModelVersion
from dynoai_desktop.ml.suggest import (
    Suggestion,
    balance_suggestions,
    drivers,
    drivers_of_rows,
    seeded_rear,
    similar_builds,
    suggestion_for,
    typical_values,
)
from dynoai_desktop.ml.training.from_catalog import record_id
from dynoai_desktop.ml.training.records import TuningSession
from dynoai_desktop.storage.resources import base_map_tables

if TYPE_CHECKING:
    from dynoai_desktop.app.run_library import RunLibrary
    from dynoai_desktop.app.training_session import TrainingSession
    from dynoai_desktop.app.tune_session import TuneSession

TUNE_TABLES = {"front": VE_FRONT_MAP, "rear": VE_REAR_MAP}
"""The tune's MAP VE tables the suggestions are for."""
SPARK_TABLES = {"front": SPARK_FRONT, "rear": SPARK_REAR}
"""The tune's spark tables the timing advice is for."""
Stage = tuple[Table, Table]


def model_label(version: ModelVersion) -> str:
    """'base_ve shop v2 (this shop; learned from 40 sessions)'."""
    source = "prior, simulated shop history" if version.prior else "this shop"
    return (f"{version.kind} {version.scope} {version.label} ({source}; learned from "
            f"{version.sessions_learned} sessions)")


def load_once(registry: ModelRegistry, loaded: dict[tuple[Any, ...], Any],
              version: ModelVersion) -> Any:
    """The version's model, verified and read once per version and files into ``loaded``
    (reading a model takes most of a second on the UI thread; a version's files never change,
    and the key holds their SHA-256 as the catalog has them)."""
    key = (version.kind, version.scope, version.version,
           tuple(sorted(version.artifacts.items())), str(version.folder))
    if key not in loaded:
        loaded[key] = registry.load(version)
    return loaded[key]


class SuggestionMaker:
    """Makes one vehicle's suggestions from the registry's models and the tune shown."""

    def __init__(self, registry: ModelRegistry, tune: TuneSession, runs: RunLibrary,
                 training: TrainingSession, loaded: dict[tuple[Any, ...], Any] | None = None
                 ) -> None:
        self.registry = registry
        self.tune = tune
        self.runs = runs
        self.training = training
        self.loaded = {} if loaded is None else loaded

    def _load(self, version: ModelVersion) -> Any:
        return load_once(self.registry, self.loaded, version)

    def make(self, build: BuildSpec, name: str, air: Air, scopes: list[str], balance_on: str,
             seed_rear_from_front: bool) -> tuple[list[Suggestion], str]:
        """The suggestions, and the note that says what made them (or why none came)."""
        try:
            version = self.registry.resolve(BASE_VE, scopes)
            model: BaseVeModel = self._load(version)
            stage = base_map_tables(build.engine_family.value, build.stage)
        except (ModelError, InputError, OSError) as exc:
            return [], str(exc)
        balance, problems = self._model(BALANCE, scopes, "cylinder balance")
        # On the UI thread, beside acquisition: one OpenMP thread. Two fighting the other work
        # on a busy 2-core machine made this 5-10x slower (measured: 1.9 s -> 15 s).
        with threadpool_limits(limits=1, user_api="openmp"):
            prediction = model.predict(build, air, *stage).cylinders()
            seeded = balance is not None and seed_rear_from_front
            if seeded and balance is not None:
                prediction["rear"] = seeded_rear(model, balance[1], build, air, *stage)
            out = self._base_map(prediction, self._why(model, version, build, air, stage),
                                 problems)
            if balance is not None:
                out += self._balance(balance, build, air, stage, balance_on, problems)
            out += self._decel(build, air, scopes, problems)
            out += self._timing(build, air, scopes, problems)
        note = (f"Predicted for {name} ({build.summary}): base map by {model_label(version)}"
                + (", rear seeded from the front × the predicted balance" if seeded else "")
                + (f"; cylinder balance by {model_label(balance[0])}." if balance else "."))
        return out, " ".join([note, *problems])

    def _model(self, kind: str, scopes: list[str], what: str
               ) -> tuple[tuple[ModelVersion, Any] | None, list[str]]:
        try:
            version = self.registry.resolve(kind, scopes)
            return (version, self._load(version)), []
        except (ModelError, InputError, OSError) as exc:
            return None, [f"No {what}: {exc}"]

    def _has_tables(self) -> bool:
        return all(t in self.tune.table_names for t in TUNE_TABLES.values())

    def _sessions(self) -> list[TuningSession]:
        try:
            return list(self.training.dataset().sessions)
        except InputError:
            return []

    def _why(self, model: BaseVeModel | BalanceModel, version: ModelVersion, build: BuildSpec,
             air: Air, stage: Stage, rows: np.ndarray | None = None, unit: str = "% VE"
             ) -> list[str]:
        lines = [f"similar build: {s.vehicle} ({s.summary})"
                 for s in similar_builds(build, air, self._sessions())]
        typical = typical_values(version.metadata.get("data_stats", {}))
        found = (drivers(model, build, air, *stage, typical) if rows is None
                 else drivers_of_rows(model, rows, typical))
        lines += [f"driven by {feature.replace('_', ' ')}: {effect:+.1f} {unit} vs the shop's "
                  "typical build" for feature, effect in found]
        return lines

    # ------------------------------------------------------------------ each kind
    def _base_map(self, prediction: dict[str, CylinderPrediction], why: list[str],
                  problems: list[str]) -> list[Suggestion]:
        out = []
        for cylinder, table_name in TUNE_TABLES.items():
            if table_name not in self.tune.table_names:
                continue
            try:
                out.append(suggestion_for(prediction[cylinder], self.tune.table(table_name),
                                          why))
            except InputError as exc:
                problems.append(str(exc))
        return out

    def _balance(self, balance: tuple[ModelVersion, BalanceModel], build: BuildSpec, air: Air,
                 stage: Stage, on: str, problems: list[str]) -> list[Suggestion]:
        if not self._has_tables():
            return []
        version, model = balance
        rpm, load = np.meshgrid(stage[1].row_breakpoints, stage[1].col_breakpoints,
                                indexing="ij")
        mask = model.learned_mask(stage[1])
        rows = cell_features(build, air, rpm[mask], load[mask], BALANCE_CYLINDER)
        why = self._why(model, version, build, air, stage, rows, "% rear/front")
        try:
            return balance_suggestions(model.predict(build, air, *stage),
                                       self.tune.table(TUNE_TABLES["front"]),
                                       self.tune.table(TUNE_TABLES["rear"]), on, why)
        except InputError as exc:
            problems.append(str(exc))
            return []

    def _record_with(self, pattern: str) -> TuningSession | None:
        """The training record with ``pattern`` to read: the open session's, else the newest
        of the same vehicle's sessions that has it (the bike popped, or knocked, there last
        time)."""
        session = self.runs.session
        if session is None:
            return None
        found = None
        for entry in self.training.entries():  # newest first
            record = entry.record
            if (entry.session_id is None or record is None
                    or getattr(record.patterns, pattern) is None):
                continue
            if entry.session_id == session.id:
                return record
            if found is None and (self.registry.catalog.session(entry.session_id).vehicle_id
                                  == session.vehicle_id):
                found = record
        return found

    def _decel(self, build: BuildSpec, air: Air, scopes: list[str], problems: list[str]
               ) -> list[Suggestion]:
        if not self._has_tables():
            return []
        record = self._record_with("decel_popping")
        found = record.patterns.decel_popping if record is not None else None
        if record is None or found is None:
            problems.append("Decel pops: record closed-throttle decels in this session (the "
                            "'decel' plan) and the recommender reads their lean spikes.")
            return []
        decel, said = self._model(DECEL, scopes, "decel enrichment")
        if decel is None:
            problems += said
            return []
        version, model = decel
        recommender: DecelModel = model
        evidence = DecelEvidence.from_record(found)
        try:
            advice = recommender.recommend(build, air, evidence,
                                           self.tune.table(TUNE_TABLES["front"]),
                                           self.tune.table(TUNE_TABLES["rear"]))
        except InputError as exc:
            problems.append(str(exc))
            return []
        if not advice.overlays:
            problems.append(f"Decel: {advice.description}.")
            return []
        why = [f"measured in {self._where(record)}: {evidence.summary()}",
               f"the pops stop with P {advice.probability:.2f} at +{advice.enrichment_pct:g} % "
               f"({model_label(version)})"]
        return [Suggestion(f"{DECEL}:{o.table}", str(OverlaySource.DECEL_ENRICHMENT), o.table,
                           o, int(o.mask.sum()), advice.description, advice.probability,
                           math.nan, tuple(why)) for o in advice.overlays]

    def _where(self, record: TuningSession) -> str:
        session = self.runs.session
        here = session is not None and record.session_id == record_id(session.id)
        return "this session" if here else f"{record.session_id.replace(':', ' ')} of this bike"

    def _timing(self, build: BuildSpec, air: Air, scopes: list[str], problems: list[str]
                ) -> list[Suggestion]:
        tables = {cyl: self.tune.table(name) for cyl, name in SPARK_TABLES.items()
                  if name in self.tune.table_names}
        if not tables:
            problems.append(f"Timing: the tune has no spark table ({SPARK_FRONT}, "
                            f"{SPARK_REAR}) to advise on.")
            return []
        found, said = self._model(KNOCK, scopes, "timing advice")
        if found is None:
            problems += said
            return []
        version, model = found
        advisor: KnockAdvisor = model
        record = self._record_with("knock_timing")
        evidence = record.patterns.knock_timing if record is not None else None
        authority = self.tune.limits.max_spark_advance_change_deg
        try:
            advice = advisor.advise(build, air, tables, evidence, authority)
        except InputError as exc:
            problems.append(str(exc))
            return []
        problems += [f"Timing: {note}." for note in advice.notes]
        where = (f"knock retard logged in {self._where(record)}" if record is not None
                 else "no knock record of this bike: the model alone")
        work = advisor.working
        out = []
        for table_advice in advice.tables:
            why = (f"evidence: {where}",
                   f"knock-prone where it knocked, or where the model gives its spark P(knock) "
                   f">= {advisor.prone_probability:g} with the head at {work['head_c']:g} °C "
                   "and the air at "
                   f"{work['iat_c']:g} °C ({model_label(version)})",
                   "advance only where torque rose with advance in that rpm row, no knock was "
                   "seen, and P(knock) stays under 0.1 a degree beyond it")
            out.append(_timing_suggestion(table_advice, why))
        return out


def _timing_suggestion(advice: TableAdvice, why: tuple[str, ...]) -> Suggestion:
    """One spark table's advice as a suggestion: its retard and advance as the overlay (a zero
    overlay on the knock-prone cells when nothing moves), its mask to mark as it is applied."""
    overlay = advice.overlay() or Overlay(
        advice.table, OverlayKind.ABSOLUTE, np.zeros(advice.prone.shape), advice.prone,
        OverlaySource.TIMING, description=f"knock-prone cells of {advice.table}")
    moved = advice.change_deg != 0
    confidence = float(overlay.confidence[moved].mean()) if moved.any() else 1.0
    return Suggestion(f"{KNOCK}:{advice.table}", str(OverlaySource.TIMING), advice.table,
                      overlay, int(moved.sum()), advice.summary(), confidence, math.nan, why,
                      knock_prone=advice.prone)
