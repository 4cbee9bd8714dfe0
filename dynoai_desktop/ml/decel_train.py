"""Training the decel-pop recommender (``ml.decel``) with a validation gate, as ``ml.train`` does
for the per-cell models: grouped cross-validation, the fixed held-out build groups, and no new
version that foretells the held-out sessions worse than the active one.

**Figures** (``brier_figures``): the Brier score, the mean squared error of the predicted chance
that the pops stop against what happened, on the held-out groups; the no-skill model's (the
training share of "stopped" for every row); log loss and the share called right at 0.5.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import GroupKFold

from dynoai_desktop.ml import errors
from dynoai_desktop.ml.decel import (
    DECEL_FEATURE_NAMES,
    ENRICHMENT_COLUMN,
    KIND,
    MAX_ENRICHMENT_PCT,
    PARAMS,
    STEP_PCT,
    TARGET_PROBABILITY,
    ZONE_MAP_MAX_KPA,
    Cancelled,
    DecelModel,
    DecelSamples,
    FloatArray,
    decel_samples,
    fit_classifier,
    typical_zone,
)
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.train import (
    CV_FOLDS,
    MIN_SESSIONS,
    MIN_TRAIN_GROUPS,
    TrainResult,
    is_held_out,
    version_metadata,
)
from dynoai_desktop.ml.training.records import TuningSession

MIN_FIXES = 5
"""Sessions with an applied enrichment and decels after it that training needs at least."""
GATE_TOLERANCE_BRIER = 0.005
"""A candidate may score this much worse (Brier score) than the active version on the same
held-out sessions: less than one session's verdict moving by a few percent."""
Progress = Callable[[int, int, str], None]


def brier_figures(samples: DecelSamples, p: FloatArray, base_rate: float) -> dict[str, Any]:
    """How well ``p`` (P(stopped) per row) foretells the rows' outcomes: the Brier score (mean
    squared error of the probability), that of the no-skill model (the training share of
    "stopped" for every row), log loss and the share called right at 0.5."""
    if not samples.y.size:
        return {"rows": 0, "sessions": 0}
    return {**probability_figures(samples.y, p, base_rate),
            "stopped_share": round(float(np.mean(samples.y)), 4),
            "rows": int(samples.y.size),
            "fix_rows": samples.fixes,
            "sessions": len(samples.session_ids),
            "groups": sorted(set(samples.groups.tolist()))}


def probability_figures(outcome: npt.ArrayLike, p: FloatArray, base_rate: float
                        ) -> dict[str, float]:
    """How well ``p`` foretells the 0/1 ``outcome``: the Brier score, the no-skill model's
    (``base_rate`` for every row), log loss and the share called right at 0.5."""
    y = np.asarray(outcome, dtype=np.float64)
    clipped = np.clip(p, 1e-6, 1.0 - 1e-6)
    return {
        "brier": round(float(np.mean((p - y) ** 2)), 4),
        "no_skill_brier": round(float(np.mean((base_rate - y) ** 2)), 4),
        "log_loss": round(float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
                          4),
        "accuracy": round(float(np.mean((p >= 0.5) == (y == 1))), 4),
    }


def brier_gate(held: dict[str, Any], active: Any, held_out: Any) -> tuple[bool, str]:
    """Accept a candidate only if on the held-out groups it beats the no-skill model and does
    not score worse than the active version (a model with ``probability(X)``, or None) on the
    same rows (``held_out.X``, ``held_out.y``): the decel recommender's and the knock
    advisor's gate."""
    brier, no_skill = held["brier"], held["no_skill_brier"]
    if brier >= no_skill:
        return False, (f"refused: on the held-out groups its Brier score {brier:.3f} is no "
                       f"better than the no-skill model's {no_skill:.3f}")
    if active is None:
        return True, (f"accepted: held-out Brier score {brier:.3f} (no-skill {no_skill:.3f}); "
                      "no active version to compare with")
    before = round(float(np.mean((active.probability(held_out.X) - held_out.y) ** 2)), 4)
    if brier > before + GATE_TOLERANCE_BRIER:
        return False, (f"refused: held-out Brier score {brier:.3f} is worse than the active "
                       f"version's {before:.3f} on the same sessions")
    return True, f"accepted: held-out Brier score {brier:.3f} (active version {before:.3f})"


class _Probable(Protocol):
    def probability(self, X: FloatArray) -> FloatArray: ...


def grouped_oof(X: FloatArray, y: npt.NDArray[np.int_], groups: npt.NDArray[np.str_],
                fit: Callable[[FloatArray, npt.NDArray[np.int_]], _Probable],
                progress: Progress | None, cancelled: Cancelled
                ) -> tuple[FloatArray, FloatArray, int] | None:
    """The grouped cross-validation of a 0/1 classifier (the decel recommender's, the knock
    advisor's): each row's out-of-fold P(1) from ``fit`` on the other groups (a fold that saw one
    outcome only answers it), the no-skill answer (the fold's share of 1) beside it, and the
    fits training takes in all (the folds and the final model). ``progress`` counts the folds;
    None when ``cancelled``."""
    folds = GroupKFold(n_splits=min(CV_FOLDS, len(set(groups.tolist()))))
    total = folds.n_splits + 1
    oof, oof_base = np.empty(y.size), np.empty(y.size)
    for k, (fit_idx, test_idx) in enumerate(folds.split(X, y, groups)):
        if cancelled():
            return None
        y_fit = y[fit_idx]
        if len(set(y_fit.tolist())) < 2:  # one outcome only: the no-skill answer
            oof[test_idx] = float(y_fit[0])
        else:
            oof[test_idx] = fit(X[fit_idx], y_fit).probability(X[test_idx])
        oof_base[test_idx] = float(np.mean(y_fit))
        if progress is not None:
            progress(k + 1, total, f"cross-validation fold {k + 1}")
    return None if cancelled() else (oof, oof_base, total)


def train_decel(sessions: Sequence[TuningSession], scope: str = "shop",
                active: DecelModel | None = None, active_version: int | None = None,
                previous_sessions: Sequence[str] = (), source: str = "this shop's sessions",
                progress: Progress | None = None, cancelled: Cancelled = lambda: False
                ) -> TrainResult:
    """Train a decel recommender on ``sessions`` and judge it (``ml.train.TrainResult``; raises
    ModelError DYN-M004 when there is too little to train or validate on)."""
    samples = decel_samples(sessions, scope)
    held = np.array([is_held_out(g) for g in samples.groups], dtype=bool)
    train, held_out = samples.subset(~held), samples.subset(held)
    train_groups = sorted(set(train.groups.tolist()))
    ids = samples.session_ids
    if (len(ids) < MIN_SESSIONS or len(train_groups) < MIN_TRAIN_GROUPS or not held.any()
            or train.fixes < MIN_FIXES or len(set(train.y.tolist())) < 2):
        raise ModelError(errors.TOO_LITTLE_DATA, (
            f"{len(ids)} session(s) with closed-throttle decels read, {train.fixes} decel "
            f"fix(es) with decels after them to learn from, in {len(set(samples.groups.tolist()))}"
            f" build group(s); training needs at least {MIN_SESSIONS} sessions, {MIN_FIXES} "
            f"fixes, {MIN_TRAIN_GROUPS} groups to cross-validate on and one held-out group "
            f"({scope}); run decels (and fix the pops) on more bikes or train a wider scope"))
    found = grouped_oof(train.X, train.y, train.groups,
                        lambda X, y: DecelModel({"stopped": fit_classifier(X, y)}, {}),
                        progress, cancelled)
    if found is None:
        return TrainResult(None, cancelled=True, reason="cancelled")
    oof, oof_base, total = found
    base_rate = float(np.mean(train.y))
    fixes = train.X[:, ENRICHMENT_COLUMN] > 0
    target = min(TARGET_PROBABILITY, float(np.mean(train.y[fixes])))
    params = {
        "feature_names": list(DECEL_FEATURE_NAMES), "target_probability": round(target, 3),
        "shop_fixes_stopped": round(float(np.mean(train.y[fixes])), 3),
        "least_enrichment_pct": float(np.min(train.X[fixes, ENRICHMENT_COLUMN])),
        "max_enrichment_pct": MAX_ENRICHMENT_PCT, "step_pct": STEP_PCT,
        "zone_map_max_kpa": ZONE_MAP_MAX_KPA, "zone_rpm": list(typical_zone(train.zones)),
        "base_rate": round(base_rate, 4), "estimator": dict(PARAMS),
    }
    model = DecelModel({"stopped": fit_classifier(train.X, train.y)}, params)
    if progress is not None:
        progress(total, total, "the final model")
    cv = brier_figures(train, oof, base_rate)
    cv["no_skill_brier"] = round(float(np.mean((oof_base - train.y) ** 2)), 4)
    held_figures = brier_figures(held_out, model.probability(held_out.X), base_rate)
    accepted, reason = brier_gate(held_figures, active, held_out)
    used = [s for s in sessions if s.session_id in set(ids)]
    meta = version_metadata(
        KIND, scope, DECEL_FEATURE_NAMES, train.sessions, held_out.sessions, ids,
        previous_sessions, cv, held_figures, used,
        {"method": "gradient-boosting classifier P(pops stop | build, decel evidence, "
                   "enrichment), monotonic in enrichment and spikes; the smallest "
                   f"enrichment with P >= {TARGET_PROBABILITY:g}",
         "params": model.params_json()},
        source, active_version, reason)
    return TrainResult(model, meta, accepted, reason)
