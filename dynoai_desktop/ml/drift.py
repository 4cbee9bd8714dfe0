"""Drift: do the sessions arriving since a model was trained look like the ones it learned from?

The model keeps, in its metadata, per-session statistics of the build-and-day features it was
trained on (``data_stats``). A new session is flagged on a feature when a number lies more than
``Z_LIMIT`` standard deviations from the training mean *and* outside the training range, or a
category (family, pipe, air cleaner) was never seen. Flags say the prediction for such a build is
an extrapolation; the model page shows them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, EngineFamily, Exhaust
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.features import (
    BUILD_FEATURES,
    CATEGORICAL,
    FEATURE_NAMES,
    build_row,
    session_air,
)
from dynoai_desktop.ml.training.records import TuningSession

Z_LIMIT = 3.0
_ENUMS = {"engine_family": list(EngineFamily), "exhaust": list(Exhaust),
          "air_cleaner": list(AirCleaner)}


def category_index(feature: str, label: str) -> float:
    """The feature column's value for a category's label ("two_into_one" -> its index)."""
    return float([m.value for m in _ENUMS[feature]].index(label))


def _rows(sessions: Sequence[TuningSession]) -> list[tuple[str, list[float]]]:
    out = []
    for session in sessions:
        try:
            build = BuildSpec.from_dict(session.build, f"session {session.session_id}")
        except InputError:
            continue
        out.append((session.session_id, build_row(build, session_air(session))))
    return out


def data_stats(sessions: Sequence[TuningSession]) -> dict[str, Any]:
    """Per build feature: mean, std, min, max over sessions (numbers), or the counts of each
    value (categories). JSON-ready."""
    rows = _rows(sessions)
    stats: dict[str, Any] = {"sessions": len(rows)}
    for i, name in enumerate(BUILD_FEATURES):
        column = np.array([r[i] for _, r in rows], dtype=np.float64)
        if CATEGORICAL[FEATURE_NAMES.index(name)]:
            labels = [_ENUMS[name][int(v)].value for v in column]
            stats[name] = {"counts": {k: labels.count(k) for k in sorted(set(labels))}}
            continue
        known = column[np.isfinite(column)]
        stats[name] = ({"mean": float(known.mean()), "std": float(known.std()),
                        "min": float(known.min()), "max": float(known.max()),
                        "missing": int(column.size - known.size)} if known.size
                       else {"missing": int(column.size)})
    return stats


@dataclass(frozen=True)
class DriftReport:
    sessions_checked: int = 0
    flags: list[tuple[str, str, str]] = field(default_factory=list)  # (session, feature, why)

    @property
    def sessions_flagged(self) -> int:
        return len({s for s, _, _ in self.flags})

    def summary(self) -> str:
        if not self.sessions_checked:
            return "no sessions since the model was trained"
        if not self.flags:
            return (f"{self.sessions_checked} new session(s), all inside what the model "
                    "learned from")
        features = sorted({f for _, f, _ in self.flags})
        return (f"{self.sessions_flagged} of {self.sessions_checked} new session(s) lie outside "
                f"what the model learned from ({', '.join(features)})")


def check_drift(stats: dict[str, Any], sessions: Sequence[TuningSession]) -> DriftReport:
    """Flag each session's features that the training data did not cover."""
    rows = _rows(sessions)
    flags = []
    for session_id, row in rows:
        for i, name in enumerate(BUILD_FEATURES):
            s = stats.get(name)
            if not isinstance(s, dict):
                continue
            if "counts" in s:
                label = _ENUMS[name][int(row[i])].value
                if label not in s["counts"]:
                    flags.append((session_id, name, f"{label} never seen in training"))
                continue
            value = row[i]
            if math.isnan(value) or "mean" not in s:
                continue
            z = abs(value - s["mean"]) / max(s["std"], 1e-9)
            if z > Z_LIMIT and not s["min"] <= value <= s["max"]:
                flags.append((session_id, name, f"{value:g} vs training {s['min']:g}-"
                                                 f"{s['max']:g}"))
    return DriftReport(len(rows), flags)
