"""Training the session anomaly detector (``ml.anomaly``) with a gate, as the other kinds are
trained: it learns from the build groups not held out, and is judged on the held-out groups'
sessions, which are taken to be mostly sound: a candidate that flags more than
``MAX_FLAGGED_SHARE`` of them, or more than the active version flags by ``GATE_TOLERANCE``, is
refused (a detector that cries wolf keeps good sessions out of training).

**Figures**: the share of the held-out sessions flagged, and of the training sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml import errors
from dynoai_desktop.ml.anomaly import (
    FEATURE_NAMES,
    FOREST_PARAMS,
    KIND,
    AnomalyDetector,
    fit_detector,
    health_rows,
)
from dynoai_desktop.ml.decel import Cancelled
from dynoai_desktop.ml.decel_train import Progress
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.features import validation_group
from dynoai_desktop.ml.train import MIN_SESSIONS, TrainResult, is_held_out, version_metadata
from dynoai_desktop.ml.training.records import TuningSession

MAX_FLAGGED_SHARE = 0.05
GATE_TOLERANCE = 0.02


def flagged_share(detector: AnomalyDetector, sessions: Sequence[TuningSession]) -> float:
    if not sessions:
        return 0.0
    return round(sum(bool(detector.flags(s)) for s in sessions) / len(sessions), 4)


def anomaly_gate(share: float, active: AnomalyDetector | None,
                 held_out: Sequence[TuningSession]) -> tuple[bool, str]:
    if share > MAX_FLAGGED_SHARE:
        return False, (f"refused: it flags {share:.0%} of the held-out sessions, more than "
                       f"{MAX_FLAGGED_SHARE:.0%}")
    if active is None:
        return True, (f"accepted: flags {share:.0%} of the held-out sessions; no active "
                      "version to compare with")
    before = flagged_share(active, held_out)
    if share > before + GATE_TOLERANCE:
        return False, (f"refused: it flags {share:.0%} of the held-out sessions, the active "
                       f"version {before:.0%}")
    return True, f"accepted: flags {share:.0%} of the held-out sessions (active {before:.0%})"


def _group(session: TuningSession, scope: str) -> str | None:
    try:
        build = BuildSpec.from_dict(session.build, f"session {session.session_id}")
    except InputError:
        return None
    return validation_group(build, scope, session.session_id)


def train_anomaly(sessions: Sequence[TuningSession], scope: str = "shop",
                  active: AnomalyDetector | None = None, active_version: int | None = None,
                  previous_sessions: Sequence[str] = (), source: str = "this shop's sessions",
                  progress: Progress | None = None, cancelled: Cancelled = lambda: False
                  ) -> TrainResult:
    """Fit a detector on ``sessions`` with health figures and judge it (``TrainResult``;
    ModelError DYN-M004 when there are too few)."""
    usable = [(s, g) for s in sessions if s.health is not None
              and (g := _group(s, scope)) is not None]
    train = [s for s, g in usable if not is_held_out(g)]
    held = [s for s, g in usable if is_held_out(g)]
    if len(usable) < MIN_SESSIONS or not held or len(train) < MIN_SESSIONS // 2:
        raise ModelError(errors.TOO_LITTLE_DATA, (
            f"{len(usable)} session(s) with health figures (schema 4 records), {len(held)} in "
            f"held-out groups; the anomaly detector needs at least {MIN_SESSIONS}, some held "
            f"out ({scope}); record more sessions or train a wider scope"))
    if cancelled():
        return TrainResult(None, cancelled=True, reason="cancelled")
    model = fit_detector(health_rows(train))
    if progress is not None:
        progress(1, 1, "the detector")
    share = flagged_share(model, held)
    cv: dict[str, Any] = {"flagged_share": flagged_share(model, train), "sessions": len(train)}
    figures: dict[str, Any] = {"flagged_share": share, "sessions": len(held)}
    accepted, reason = anomaly_gate(share, active, held)
    ids = [s.session_id for s, _g in usable]
    meta = version_metadata(
        KIND, scope, FEATURE_NAMES, np.array([s.session_id for s in train]),
        np.array([s.session_id for s in held]), ids, previous_sessions, cv, figures,
        [s for s, _g in usable],
        {"method": "per-figure bounds (the shop's median and spread, the bad side's tail) "
                   "and an isolation forest over every health figure",
         "params": model.params_json(), "forest": dict(FOREST_PARAMS)},
        source, active_version, reason)
    return TrainResult(model, meta, accepted, reason)
