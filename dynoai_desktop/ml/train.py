"""Training a per-cell model (base VE, cylinder balance) with a validation gate: grouped
cross-validation, a held-out set of build groups, and no new version that does worse than the
active one.

**Groups.** A session's group is its engine family and cam class (``ml.features.build_group``;
within a family scope its cam class and exhaust, for a vehicle the session itself).
The questions the shop asks of a model are about builds it has not tuned yet, so validation never
lets a group be on both sides: cross-validation is k-fold by group (``GroupKFold``), and a
*held-out set* of groups (those whose SHA-256 of the name falls in one fifth: the same groups
whatever the data, so every version of a scope is judged on the same ones) is never trained on.

**Metrics** (on cells the sessions corrected, against what the session tuned them to, which is
the truest figure the shop has: VE for base VE, the rear/front VE ratio for cylinder balance):
``mae_pct``, the mean |predicted / tuned - 1| in %; ``rms_pct`` and ``max_pct``, its root mean
square and largest; ``stage_mae_pct``, the same mean for the stage maps the session started from
(their VE, or their own rear/front ratio); ``coverage_90``, the share of cells whose tuned value
lies inside the stated 90 % interval.

**Gate.** A candidate becomes active only if on the held-out groups it beats the stage map and
does not regress against the active version (re-scored on the same held-out sessions now):
``mae_pct <= max(active's × (1 + GATE_TOLERANCE), active's + GATE_TOLERANCE_PCT)``. Otherwise
it is refused and the active version stays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from dynoai_desktop import __version__
from dynoai_desktop.ml import base_ve, cylinder_balance, errors
from dynoai_desktop.ml.cell_model import (
    PARAMS,
    Cancelled,
    CellKind,
    CellModel,
    Samples,
    conformal_widening,
    fit_estimators,
    learned_cells,
    predict_log,
)
from dynoai_desktop.ml.drift import data_stats
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.features import FEATURE_NAMES, FEATURE_SCHEMA_VERSION
from dynoai_desktop.ml.training.records import TuningSession

MIN_SESSIONS = 30
MIN_TRAIN_GROUPS = 4
CV_FOLDS = 5
HELD_OUT_SHARE = 5  # one group in five (by hash) is held out
GATE_TOLERANCE = 0.02
GATE_TOLERANCE_PCT = 0.1
"""A candidate may be this much worse than the active version on the held-out sessions, the
larger of the two: 2 % of its error, or 0.1 % VE (below the 0.1-0.5 % steps a VE table holds,
so no tuner could see it); anything more is a regression."""
FITS = (CV_FOLDS + 1) * 3
"""Model fits in one training (progress counts them)."""

Progress = Callable[[int, int, str], None]


def is_held_out(group: str) -> bool:
    """Whether a build group belongs to the held-out set (fixed by the group's name)."""
    return int(hashlib.sha256(group.encode("utf-8")).hexdigest(), 16) % HELD_OUT_SHARE == 0


def metrics(model: CellModel, samples: Samples) -> dict[str, Any]:
    """Figures of ``model`` on ``samples`` (see the module's doc)."""
    if not samples.y.size:
        return {"cells": 0, "sessions": 0}
    return figures(samples, *model.predict_rows(samples.X))


def figures(samples: Samples, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray
            ) -> dict[str, Any]:
    """The figures of predictions (log scale, the interval widened) against ``samples``."""
    y = samples.y
    error = np.abs(np.exp(mean - y) - 1.0) * 100.0
    return {
        "mae_pct": round(float(np.mean(error)), 4),
        "rms_pct": round(float(np.sqrt(np.mean(error ** 2))), 4),
        "max_pct": round(float(np.max(error)), 4),
        "stage_mae_pct": round(float(np.mean(np.abs(np.exp(-y) - 1.0)) * 100.0), 4),
        "coverage_90": round(float(np.mean((y >= lo) & (y <= hi))), 4),
        "cells": int(y.size),
        "sessions": len(samples.session_ids),
        "groups": sorted(set(samples.groups.tolist())),
    }


@dataclass
class TrainResult:
    """A trained candidate and the gate's verdict."""

    model: Any | None  # the kind's model (ml.kinds); None when cancelled
    metadata: dict[str, Any] = field(default_factory=dict)
    accepted: bool = False
    reason: str = ""
    cancelled: bool = False


class _Counter:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def step(self, what: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total, what)


def _fit(samples: Samples, counter: _Counter, cancelled: Cancelled, what: str
         ) -> dict[str, Any] | None:
    return fit_estimators(samples.X, samples.y, cancelled, lambda: counter.step(what))


def train_base_ve(sessions: Sequence[TuningSession], scope: str = "shop",
                  active: CellModel | None = None, active_version: int | None = None,
                  previous_sessions: Sequence[str] = (), source: str = "this shop's sessions",
                  progress: Progress | None = None, cancelled: Cancelled = lambda: False
                  ) -> TrainResult:
    """Train a base-VE candidate (``train_cell_model``)."""
    return train_cell_model(base_ve.CELL_KIND, sessions, scope, active, active_version,
                            previous_sessions, source, progress, cancelled)


def train_cylinder_balance(sessions: Sequence[TuningSession], scope: str = "shop",
                           active: CellModel | None = None, active_version: int | None = None,
                           previous_sessions: Sequence[str] = (),
                           source: str = "this shop's sessions", progress: Progress | None = None,
                           cancelled: Cancelled = lambda: False) -> TrainResult:
    """Train a cylinder-balance candidate (``train_cell_model``)."""
    return train_cell_model(cylinder_balance.CELL_KIND, sessions, scope, active, active_version,
                            previous_sessions, source, progress, cancelled)


def train_cell_model(kind: CellKind, sessions: Sequence[TuningSession], scope: str = "shop",
                     active: CellModel | None = None, active_version: int | None = None,
                     previous_sessions: Sequence[str] = (), source: str = "this shop's sessions",
                     progress: Progress | None = None, cancelled: Cancelled = lambda: False
                     ) -> TrainResult:
    """Train a candidate of ``kind`` on ``sessions`` and judge it (raises ModelError DYN-M004
    when there is too little to train or validate on)."""
    samples = kind.samples(sessions, scope)
    ids = samples.session_ids
    held = np.array([is_held_out(g) for g in samples.groups], dtype=bool)
    train, held_out = samples.subset(~held), samples.subset(held)
    train_groups = sorted(set(train.groups.tolist()))
    if len(ids) < MIN_SESSIONS or len(train_groups) < MIN_TRAIN_GROUPS or not held.any():
        raise ModelError(errors.TOO_LITTLE_DATA, (
            f"{len(ids)} session(s) with {kind.data} in {len(set(samples.groups.tolist()))} "
            f"build group(s); training needs at least {MIN_SESSIONS} sessions, "
            f"{MIN_TRAIN_GROUPS} groups to cross-validate on and one held-out group "
            f"({scope}); tune more bikes or train a wider scope"))
    counter = _Counter(progress, FITS)
    folds = GroupKFold(n_splits=min(CV_FOLDS, len(train_groups)))
    oof = {k: np.empty(train.y.size) for k in ("mean", "lo", "hi")}
    for k, (fit_idx, test_idx) in enumerate(folds.split(train.X, train.y, train.groups)):
        fold = train.subset(np.isin(np.arange(train.y.size), fit_idx))
        est = _fit(fold, counter, cancelled, f"cross-validation fold {k + 1}")
        if est is None:
            return TrainResult(None, cancelled=True, reason="cancelled")
        for key, values in zip(("mean", "lo", "hi"), predict_log(est, train.X[test_idx]),
                               strict=True):
            oof[key][test_idx] = values
    widening = conformal_widening(train.y, oof["lo"], oof["hi"])
    final = _fit(train, counter, cancelled, "the final model")
    if final is None:
        return TrainResult(None, cancelled=True, reason="cancelled")
    model = kind.model(final, widening, tuple(learned_cells(train)))
    cv = figures(train, oof["mean"], oof["lo"] - widening, oof["hi"] + widening)
    held_figures = metrics(model, held_out)
    accepted, reason = _gate(held_figures, active, held_out, kind.reference)
    meta = version_metadata(
        kind.name, scope, FEATURE_NAMES, train.sessions, held_out.sessions, ids,
        previous_sessions, cv, held_figures, sessions,
        {"method": "gradient boosting (mean + 5 %/95 % quantiles), conformalised",
         "params": {k: v for k, v in PARAMS.items()}, **model.params_json()},
        source, active_version, reason)
    return TrainResult(model, meta, accepted, reason)


def version_metadata(kind: str, scope: str, feature_names: Sequence[str],
                     training: np.ndarray, held_out: np.ndarray, ids: Sequence[str],
                     previous_sessions: Sequence[str], cv: dict[str, Any],
                     held: dict[str, Any], sessions: Sequence[TuningSession],
                     model: dict[str, Any], source: str, active_version: int | None,
                     gate: str) -> dict[str, Any]:
    """A trained version's ``meta.json`` (every kind's): ``training`` and ``held_out`` are the
    rows' session ids, ``ids`` every session learned or held out, ``model`` its method and
    parameters."""
    learned = sorted(set(training.tolist()))
    return {
        "kind": kind, "scope": scope,
        "feature_schema_version": FEATURE_SCHEMA_VERSION, "feature_names": list(feature_names),
        "training_sessions": learned,
        "held_out_sessions": sorted(set(held_out.tolist())),
        "new_sessions": len(set(ids) - set(previous_sessions)),
        "metrics": {"cv": cv, "held_out": held},
        "data_stats": data_stats(sessions),
        "model": model,
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "app_version": __version__, "source": source, "prior": False,
        "sessions_learned": len(learned),
        "previous_active_version": active_version,
        "gate": gate,
    }


def regressed(error: float, before: float) -> bool:
    """Whether a candidate's held-out ``error`` is worse than the active version's ``before``
    by more than the gate's tolerance (``GATE_TOLERANCE``, ``GATE_TOLERANCE_PCT``)."""
    return error > max(before * (1.0 + GATE_TOLERANCE), before + GATE_TOLERANCE_PCT)


def _gate(held: dict[str, Any], active: CellModel | None, held_out: Samples, reference: str
          ) -> tuple[bool, str]:
    mae, stage = held["mae_pct"], held["stage_mae_pct"]
    if mae >= stage:
        return False, (f"refused: on the held-out groups its error {mae:.2f} % is no better "
                       f"than {reference} ({stage:.2f} %)")
    if active is None:
        return True, (f"accepted: held-out error {mae:.2f} % ({reference} {stage:.2f} %); no "
                      "active version to compare with")
    before = metrics(active, held_out)["mae_pct"]
    if regressed(mae, before):
        return False, (f"refused: held-out error {mae:.2f} % is worse than the active "
                       f"version's {before:.2f} % on the same sessions")
    return True, f"accepted: held-out error {mae:.2f} % (active version {before:.2f} %)"
