"""Training the heat-soak compensator (``ml.soak_compensation``) with a validation gate, as
``ml.train`` does for the per-cell models: grouped cross-validation, the fixed held-out build
groups, and no new version that does worse than the active one.

**Figures** (``soak_figures``, over the soaked rows: the cells measured on a soaked engine) on
the held-out groups: ``mae_pct``, the mean |predicted - measured inflation| in % VE, with its
RMS and largest; ``none_mae_pct``, the same for removing nothing (the mean |measured
inflation|): what autotune gets without the compensator.

**Gate.** A candidate becomes active only if on the held-out groups it leaves less of the soak
in than removing nothing does, and is no worse than the active version re-scored on the same
rows (``ml.train``'s tolerance).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from dynoai_desktop.ml import errors
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.soak_compensation import (
    FEATURE_NAMES,
    KIND,
    MAX_REMOVED_PCT,
    MIN_CELL_WEIGHT,
    PARAMS,
    SoakCompensator,
    SoakSamples,
    fit_regressor,
    soak_samples,
)
from dynoai_desktop.ml.train import (
    CV_FOLDS,
    MIN_SESSIONS,
    MIN_TRAIN_GROUPS,
    TrainResult,
    is_held_out,
    regressed,
    version_metadata,
)
from dynoai_desktop.ml.training.records import TuningSession

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]


def soak_figures(samples: SoakSamples, predicted: np.ndarray) -> dict[str, Any]:
    """How well ``predicted`` (inflation % per row) matches the soaked rows of ``samples``."""
    soaked = samples.soaked
    if not soaked.any():
        return {"cells": 0, "sessions": 0}
    y, p = samples.y[soaked], predicted[soaked]
    error = np.abs(p - y)
    return {
        "mae_pct": round(float(np.mean(error)), 4),
        "rms_pct": round(float(np.sqrt(np.mean(error ** 2))), 4),
        "max_pct": round(float(np.max(error)), 4),
        "none_mae_pct": round(float(np.mean(np.abs(y))), 4),
        "mean_inflation_pct": round(float(np.mean(y)), 4),
        "cells": int(y.size),
        "sessions": len(set(samples.session_ids[soaked].tolist())),
        "groups": sorted(set(samples.groups[soaked].tolist())),
    }


def shrink_from(oof: np.ndarray, train: SoakSamples) -> float:
    """How much of its prediction the model may trust: the weighted least-squares slope of the
    measured inflation on the cross-validated predictions (rows of other build groups than the
    fold learned), between 0 and 1. A model that explains a shop's soak fully keeps 1; one
    that predicts more than it can tell apart on bikes it has not seen is shrunk toward
    removing nothing by as much as its own cross-validation says."""
    w = train.weight
    denominator = float(np.sum(w * oof * oof))
    if not denominator > 0:
        return 0.0
    return round(min(max(float(np.sum(w * train.y * oof)) / denominator, 0.0), 1.0), 4)


def soak_gate(held: dict[str, Any], active: SoakCompensator | None, held_out: SoakSamples
              ) -> tuple[bool, str]:
    """Accept a candidate only if it removes more of the soak than nothing does on the held-out
    groups, and does not regress against the active version on the same rows."""
    if not held.get("cells"):
        return False, "refused: no soaked cell in the held-out groups to judge it on"
    mae, none = held["mae_pct"], held["none_mae_pct"]
    if mae >= none:
        return False, (f"refused: on the held-out groups it leaves {mae:.2f} % of soak in the "
                       f"VE, no better than removing nothing ({none:.2f} %)")
    if active is None:
        return True, (f"accepted: held-out error {mae:.2f} % VE (removing nothing "
                      f"{none:.2f} %); no active version to compare with")
    before = soak_figures(held_out, active.predict(held_out.X))["mae_pct"]
    if regressed(mae, before):
        return False, (f"refused: held-out error {mae:.2f} % VE is worse than the active "
                       f"version's {before:.2f} % on the same sessions")
    return True, f"accepted: held-out error {mae:.2f} % VE (active version {before:.2f} %)"


def train_heat_soak(sessions: Sequence[TuningSession], scope: str = "shop",
                    active: SoakCompensator | None = None, active_version: int | None = None,
                    previous_sessions: Sequence[str] = (), source: str = "this shop's sessions",
                    progress: Progress | None = None, cancelled: Cancelled = lambda: False
                    ) -> TrainResult:
    """Train a heat-soak compensator on ``sessions`` and judge it (``ml.train.TrainResult``;
    raises ModelError DYN-M004 when there is too little to train or validate on)."""
    samples = soak_samples(sessions, scope)
    held = np.array([is_held_out(g) for g in samples.groups], dtype=bool)
    train, held_out = samples.subset(~held), samples.subset(held)
    train_groups = sorted(set(train.groups.tolist()))
    ids = sorted(set(samples.session_ids.tolist()))
    if (len(ids) < MIN_SESSIONS or len(train_groups) < MIN_TRAIN_GROUPS
            or not held_out.soaked.any()):
        raise ModelError(errors.TOO_LITTLE_DATA, (
            f"{len(ids)} session(s) with a heat soak measured cell by cell, in "
            f"{len(set(samples.groups.tolist()))} build group(s); training needs at least "
            f"{MIN_SESSIONS} sessions, {MIN_TRAIN_GROUPS} groups to cross-validate on and one "
            f"held-out group ({scope}); idle some bikes hot (fan off, 2 min or more) between "
            "runs that cover the same cells, or train a wider scope"))
    folds = GroupKFold(n_splits=min(CV_FOLDS, len(train_groups)))
    total, done = folds.n_splits + 1, 0
    oof = np.empty(train.y.size)
    for k, (fit_idx, test_idx) in enumerate(folds.split(train.X, train.y, train.groups)):
        if cancelled():
            return TrainResult(None, cancelled=True, reason="cancelled")
        fold = SoakCompensator({"inflation": fit_regressor(
            train.X[fit_idx], train.y[fit_idx], train.weight[fit_idx])}, {})
        oof[test_idx] = fold.predict(train.X[test_idx])
        done += 1
        if progress is not None:
            progress(done, total, f"cross-validation fold {k + 1}")
    if cancelled():
        return TrainResult(None, cancelled=True, reason="cancelled")
    params = {"feature_names": list(FEATURE_NAMES), "max_removed_pct": MAX_REMOVED_PCT,
              "min_cell_weight": MIN_CELL_WEIGHT, "estimator": dict(PARAMS),
              "shrink": shrink_from(oof, train)}
    model = SoakCompensator({"inflation": fit_regressor(train.X, train.y, train.weight)},
                            params)
    if progress is not None:
        progress(total, total, "the final model")
    cv = soak_figures(train, oof)
    held_figures = soak_figures(held_out, model.predict(held_out.X))
    accepted, reason = soak_gate(held_figures, active, held_out)
    used = [s for s in sessions if s.session_id in set(ids)]
    meta = version_metadata(
        KIND, scope, FEATURE_NAMES, train.sessions, held_out.sessions, ids, previous_sessions,
        cv, held_figures, used,
        {"method": "gradient-boosting regressor: VE inflation % from airflow, IAT over ambient, "
                   "head temperature, the soak clock and the IAT's fall since the soak, "
                   f"shrunk by {params['shrink']:g} (its cross-validated slope); 0 before any "
                   "soak",
         "params": model.params_json()},
        source, active_version, reason)
    return TrainResult(model, meta, accepted, reason)
