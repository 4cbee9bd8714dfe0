"""What a model of one scope learns from and is judged against, for the command line and the app
alike.

A ``family:`` scope learns from that family's sessions, a ``vehicle:`` scope from that vehicle's
catalog sessions only. A new version is judged against the model the scope's predictions use now
(``wider_scopes``: its own active version, else the family's, else the shop's, else the prior):
a new shop model must beat the shipped prior, not just the stage maps.
"""

from __future__ import annotations

from dataclasses import dataclass

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.base_ve import KIND, BaseVeModel
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.registry import ModelRegistry, ModelVersion
from dynoai_desktop.ml.training.from_catalog import record_id
from dynoai_desktop.ml.training.records import TuningSession
from dynoai_desktop.storage.catalog import Catalog


def of_family(session: TuningSession, family: str) -> bool:
    try:
        return BuildSpec.from_dict(session.build).engine_family.value == family
    except InputError:
        return False


def in_scope(catalog: Catalog, scope: str, sessions: list[TuningSession]
             ) -> list[TuningSession]:
    """The sessions a model of ``scope`` learns from (the shop: all of them)."""
    head, _, tail = scope.partition(":")
    if head == "family":
        return [s for s in sessions if of_family(s, tail)]
    if head == "vehicle":
        mine = {record_id(s.id) for s in catalog.sessions(int(tail))}
        return [s for s in sessions if s.session_id in mine]
    return list(sessions)


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
    model: BaseVeModel | None  # None: it cannot be used (the stage maps alone then)
    number: int | None  # its number when it is the scope's own stored version
    learned: list[str]  # the sessions it learned (not the prior's: simulated, not the shop's)
    warning: str = ""


def baseline(registry: ModelRegistry, scope: str) -> Baseline:
    try:
        current = registry.resolve(KIND, wider_scopes(registry.catalog, scope))
        model = registry.load(current)
    except ModelError as exc:
        return Baseline(None, None, None, [], f"{exc}; the new model is judged against the "
                                              "stage maps only")
    if current.scope != scope:
        return Baseline(current, model, None, [])
    meta = current.metadata
    learned = [] if current.prior else [*meta.get("training_sessions", []),
                                        *meta.get("held_out_sessions", [])]
    return Baseline(current, model, current.version, learned)
