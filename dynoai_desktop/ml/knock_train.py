"""Training the knock/timing advisor (``ml.knock``) with a validation gate, as ``ml.decel_train``
does for the decel recommender: grouped cross-validation, the fixed held-out build groups, and
no new version that foretells the held-out sessions' knock worse than the active one (Brier
score, ``decel_train.brier_gate``).

**Figures**: the Brier score of P(knock) against what each held-out cell did, the no-skill
model's (the training share of knocking cells), log loss, the share called right at 0.5, and
precision and recall of "knocks" (P at or above ``knock.PRONE_PROBABILITY``, the mask's
threshold) on the held-out cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dynoai_desktop.ml import errors
from dynoai_desktop.ml.decel import Cancelled
from dynoai_desktop.ml.decel_train import (
    Progress,
    brier_gate,
    grouped_oof,
    probability_figures,
)
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.knock import (
    FEATURE_NAMES,
    KIND,
    PARAMS,
    PRONE_PROBABILITY,
    KnockAdvisor,
    KnockSamples,
    fit_classifier,
    knock_samples,
    working_conditions,
)
from dynoai_desktop.ml.train import (
    MIN_SESSIONS,
    MIN_TRAIN_GROUPS,
    TrainResult,
    is_held_out,
    version_metadata,
)
from dynoai_desktop.ml.training.records import TuningSession

MIN_KNOCKING_SESSIONS = 5
"""Sessions that knocked somewhere that training needs at least."""


def knock_figures(samples: KnockSamples, p: np.ndarray, base_rate: float,
                  threshold: float = PRONE_PROBABILITY) -> dict[str, Any]:
    """How well ``p`` (P(knock) per row) foretells which cells knocked (called at
    ``threshold``)."""
    if not samples.y.size:
        return {"rows": 0, "sessions": 0}
    called = p >= threshold
    knocked = samples.y == 1
    hits = int((called & knocked).sum())
    return {**probability_figures(samples.y, p, base_rate),
            "precision": round(hits / max(int(called.sum()), 1), 4),
            "recall": round(hits / max(int(knocked.sum()), 1), 4),
            "knocked_share": round(float(np.mean(knocked)), 4),
            "rows": int(samples.y.size),
            "sessions": len(set(samples.session_ids.tolist())),
            "groups": sorted(set(samples.groups.tolist()))}


def train_knock(sessions: Sequence[TuningSession], scope: str = "shop",
                active: KnockAdvisor | None = None, active_version: int | None = None,
                previous_sessions: Sequence[str] = (), source: str = "this shop's sessions",
                progress: Progress | None = None, cancelled: Cancelled = lambda: False
                ) -> TrainResult:
    """Train a knock/timing advisor on ``sessions`` and judge it (``ml.train.TrainResult``;
    raises ModelError DYN-M004 when there is too little to train or validate on)."""
    samples = knock_samples(sessions, scope)
    held = np.array([is_held_out(g) for g in samples.groups], dtype=bool)
    train, held_out = samples.subset(~held), samples.subset(held)
    train_groups = sorted(set(train.groups.tolist()))
    ids = sorted(set(samples.session_ids.tolist()))
    knocking = len(set(train.session_ids[train.y == 1].tolist()))
    if (len(ids) < MIN_SESSIONS or len(train_groups) < MIN_TRAIN_GROUPS or not held.any()
            or knocking < MIN_KNOCKING_SESSIONS or len(set(train.y.tolist())) < 2):
        raise ModelError(errors.TOO_LITTLE_DATA, (
            f"{len(ids)} session(s) with knock retard logged, {knocking} of them knocking, in "
            f"{len(set(samples.groups.tolist()))} build group(s); training needs at least "
            f"{MIN_SESSIONS} sessions, {MIN_KNOCKING_SESSIONS} that knocked, "
            f"{MIN_TRAIN_GROUPS} groups to cross-validate on and one held-out group ({scope}); "
            "log knock retard on more bikes or train a wider scope"))
    found = grouped_oof(train.X, train.y, train.groups,
                        lambda X, y: KnockAdvisor({"knocks": fit_classifier(X, y)}, {}),
                        progress, cancelled)
    if found is None:
        return TrainResult(None, cancelled=True, reason="cancelled")
    oof, oof_base, total = found
    base_rate = float(np.mean(train.y))
    params = {"feature_names": list(FEATURE_NAMES), "working": working_conditions(train),
              "prone_probability": PRONE_PROBABILITY,
              "base_rate": round(base_rate, 4), "estimator": dict(PARAMS)}
    model = KnockAdvisor({"knocks": fit_classifier(train.X, train.y)}, params)
    if progress is not None:
        progress(total, total, "the final model")
    threshold = params["prone_probability"]
    cv = knock_figures(train, oof, base_rate, threshold)
    cv["no_skill_brier"] = round(float(np.mean((oof_base - train.y) ** 2)), 4)
    held_figures = knock_figures(held_out, model.probability(held_out.X), base_rate, threshold)
    accepted, reason = brier_gate(held_figures, active, held_out)
    used = [s for s in sessions if s.session_id in set(ids)]
    meta = version_metadata(
        KIND, scope, FEATURE_NAMES, train.sessions, held_out.sessions, ids, previous_sessions,
        cv, held_figures, used,
        {"method": "gradient-boosting classifier P(knock | build, octane, cell, spark, head "
                   "and air temperature), monotonic in spark, compression, MAP, heat and "
                   "octane; knock-prone where knock is more likely than not (P >= 0.5) at the "
                   "shop's working temperatures, or knock was seen",
         "params": model.params_json()},
        source, active_version, reason)
    return TrainResult(model, meta, accepted, reason)
