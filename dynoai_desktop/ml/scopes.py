"""What a model of one scope learns from and is judged against, for the command line and the app
alike.

A ``family:`` scope learns from that family's sessions, a ``vehicle:`` scope from that vehicle's
catalog sessions only. A new version is judged against the model the scope's predictions use now
(``wider_scopes``: its own active version, else the family's, else the shop's, else the prior):
a new shop model must beat the shipped prior, not just the stage maps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.anomaly import KIND as ANOMALY
from dynoai_desktop.ml.anomaly import by_vehicle, others_of_vehicle
from dynoai_desktop.ml.base_ve import KIND
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.registry import ModelRegistry, ModelVersion
from dynoai_desktop.ml.training.from_catalog import record_id
from dynoai_desktop.ml.training.records import TuningSession
from dynoai_desktop.ml.training.typed_json import read
from dynoai_desktop.storage.catalog import Catalog


def of_family(session: TuningSession, family: str) -> bool:
    try:
        return BuildSpec.from_dict(session.build).engine_family.value == family
    except InputError:
        return False


def _parse(text: str, what: str, warnings: list[str]) -> TuningSession | None:
    try:
        session, problems = read(TuningSession, json.loads(text))
    except (ValueError, RecursionError) as exc:
        session, problems = None, [f"not JSON ({exc})"]
    if session is None:
        warnings.append(f"{what} cannot be read ({'; '.join(problems[:2])}); left out")
    return session


def training_sessions(catalog: Catalog, scope: str,
                      files: dict[Path, list[TuningSession]] | None = None
                      ) -> tuple[list[TuningSession], dict[str, int], list[str]]:
    """The sessions ``scope`` learns from: the catalog's training records not excluded (the
    shop's and, but for a vehicle scope, the imported ones) and ``files``' sessions, each id
    once; how many came from where; and a warning per record that could not be read."""
    files = files or {}
    warnings: list[str] = []
    head, _, tail = scope.partition(":")
    rows = catalog.training_records()
    sources: list[tuple[str, list[tuple[str, str]]]] = []
    if head == "vehicle":
        if files:
            raise InputError("--dataset: a vehicle scope learns from that vehicle's own "
                             "sessions only; leave out --dataset or train a wider scope")
        mine = {s.id for s in catalog.sessions(int(tail))}
        rows = [r for r in rows if r[0] in mine]
    sources.append(("this shop's sessions",
                    [(f"session {sid}'s training record", text) for sid, text, _ in rows]))
    if head != "vehicle":
        imported = catalog.imported_training_records()
        sources.append(("imported records", [(f"imported record {rid!r}", text)
                                             for rid, text, _ in imported]))
    parsed = [(origin, [s for what, text in items
                        if (s := _parse(text, what, warnings)) is not None])
              for origin, items in sources]
    parsed += [(f"dataset {path.name}", sessions) for path, sessions in files.items()]
    taken: dict[str, TuningSession] = {}
    counts: dict[str, int] = {}
    for origin, sessions in parsed:
        for session in sessions:
            if head == "family" and not of_family(session, tail):
                continue
            if session.session_id in taken:
                if taken[session.session_id] == session:
                    continue  # the same record twice (an imported copy of a dataset file)
                session = replace(session, session_id=f"{session.session_id} ({origin})")
            taken[session.session_id] = session
            counts[origin] = counts.get(origin, 0) + 1
    return list(taken.values()), counts, warnings


def screened(registry: ModelRegistry, sessions: list[TuningSession], kind: str
             ) -> tuple[list[TuningSession], list[str]]:
    """``sessions`` without those the active session-anomaly detector (the shop's, else the
    prior) flags, unless the tuner uses them anyway; and a line per session left out. The
    detector itself learns from every session (else it could never change its mind). No
    usable detector: every session, and a line saying so."""
    if kind == ANOMALY:
        return sessions, []
    try:
        detector = registry.load(registry.active(ANOMALY, "shop"))
    except ModelError as exc:
        return sessions, [f"no anomaly check ({exc}); every session is used"]
    catalog = registry.catalog
    anyway = ({record_id(sid) for sid in catalog.training_used_anyway()}
              | catalog.imported_training_used_anyway())
    grouped = by_vehicle(sessions)
    kept, said = [], []
    for s in sessions:
        flags = [] if s.session_id in anyway else detector.flags(
            s, others_of_vehicle(s, grouped))
        if flags:
            said.append(f"{s.session_id} left out: {flags[0]}")
        else:
            kept.append(s)
    return kept, said


def wider_scopes(catalog: Catalog, scope: str) -> list[str]:
    """``scope`` and the wider ones its predictions fall back to, narrowest first."""
    head, _, tail = scope.partition(":")
    if head == "vehicle":
        return [scope, f"family:{catalog.vehicle(int(tail)).build_spec.engine_family.value}",
                "shop"]
    return [scope, "shop"] if head == "family" else ["shop"]


@dataclass(frozen=True)
class Baseline:
    """What a candidate for ``scope`` is judged against."""

    current: ModelVersion | None  # the version the scope's predictions use now
    model: Any | None  # None: it cannot be used (the stage maps alone then)
    number: int | None  # its number when it is the scope's own stored version
    learned: list[str]  # the sessions it learned (not the prior's: simulated, not the shop's)
    warning: str = ""


def baseline(registry: ModelRegistry, scope: str, load: bool = True, kind: str = KIND
             ) -> Baseline:
    """What a ``kind`` candidate for ``scope`` is judged against; without ``load`` its model is
    left for the caller to load (``model`` None)."""
    try:
        current = registry.resolve(kind, wider_scopes(registry.catalog, scope))
        model = registry.load(current) if load else None
    except ModelError as exc:
        return Baseline(None, None, None, [], f"{exc}; the new model is judged against the "
                                              "stage maps only")
    if current.scope != scope:
        return Baseline(current, model, None, [])
    meta = current.metadata
    learned = [] if current.prior else [*meta.get("training_sessions", []),
                                        *meta.get("held_out_sessions", [])]
    return Baseline(current, model, current.version, learned)
