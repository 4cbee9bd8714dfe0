"""The session anomaly detector: sessions whose sensors or recorded air look wrong, kept out of
training with the reason.

**What it judges by** (``FEATURE_NAMES``): each session's health figures
(``records.SessionHealth``, ``ml.training.health``): per wideband the share of running rows it
read, the share of its readings inside a flat stretch and its median at wide-open throttle; how
the two move together and which table each follows (``swap_score``); the IAT and head sensors'
usable shares and ranges; the IAT over the recorded ambient; WOT MAP minus the recorded
barometer.

**What it learns** from the shop's own sessions (most of which are sound), two things:

- per figure, the shop's median and spread (the median absolute deviation, as a standard
  deviation: both barely move when a few of the shop's sessions are faulty, as some are): a
  session more than ``LIMIT_Z`` spreads out on the bad side (``BAD_SIDE``) is flagged *for that
  figure*, with the reason in a tuner's words (``REASONS``). Some figures have a limit of their
  own making (``ABSOLUTE_LIMITS``): a swap score above 0 (the readings fit the other cylinder's
  table better than their own), a temperature that never moved;
- an ``IsolationForest`` (scikit-learn) over all the figures at once, for sessions unlike the
  shop's others in a way no single figure shows: flagged when its score lies as far below the
  shop's ``FOREST_SHARE`` oddest as they lie below the shop's median, with the figures
  furthest out named.

A session of a vehicle with ``MIN_VEHICLE_SESSIONS`` other sessions is also compared with them:
its WOT AFR or WOT MAP far from the vehicle's own (``VEHICLE_Z`` shop spreads) is flagged as
"unlike the rest of the vehicle's".
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import IsolationForest

from dynoai_desktop.ml.fitted import check_feature_names, one_estimator, one_thread, params_json
from dynoai_desktop.ml.training.records import SessionHealth, TuningSession

KIND = "session_anomaly"
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(SessionHealth))
BAD_SIDE: dict[str, int] = {
    "afr_front_valid_share": -1, "afr_rear_valid_share": -1,
    "afr_front_flat_share": 1, "afr_rear_flat_share": 1,
    "afr_front_wot": 0, "afr_rear_wot": 0, "afr_front_rear_corr": -1, "swap_score": 1,
    "iat_valid_share": -1, "iat_range_c": -1, "head_valid_share": -1,
    "iat_over_ambient_c": 0, "head_rise_c": -1, "wot_map_minus_baro_kpa": 0,
}
"""Which side of the shop's median is wrong: -1 below, +1 above, 0 either."""
REASONS: dict[str, str] = {
    "afr_front_valid_share": "the front wideband read on {value:.0%} of the running rows "
                             "(dead or unplugged?)",
    "afr_rear_valid_share": "the rear wideband read on {value:.0%} of the running rows "
                            "(dead or unplugged?)",
    "afr_front_flat_share": "the front wideband's reading stood still {value:.0%} of the time "
                            "(stuck?)",
    "afr_rear_flat_share": "the rear wideband's reading stood still {value:.0%} of the time "
                           "(stuck?)",
    "afr_front_wot": "the front wideband read {value:.2f} AFR at WOT",
    "afr_rear_wot": "the rear wideband read {value:.2f} AFR at WOT",
    "afr_front_rear_corr": "the two widebands hardly move together (correlation {value:.2f}: "
                           "one stuck or dead?)",
    "swap_score": "the front and rear readings fit the other cylinder's table better "
                  "(score {value:.2f}: widebands swapped?)",
    "iat_valid_share": "the IAT sensor read on {value:.0%} of the running rows (dead?)",
    "iat_range_c": "the IAT reading moved only {value:.1f} K all session (dead?)",
    "head_valid_share": "the head-temperature sensor read on {value:.0%} of the running rows "
                        "(dead?)",
    "iat_over_ambient_c": "the IAT ran {value:+.1f} K from the recorded ambient (the day's "
                          "air entered wrong, or an IAT fault?)",
    "head_rise_c": "the head temperature moved only {value:.1f} K all session (dead sensor?)",
    "wot_map_minus_baro_kpa": "WOT MAP sat {value:+.1f} kPa from the recorded barometer "
                              "(the day's air entered wrong?)",
}
LIMIT_Z = 8.0
ABSOLUTE_LIMITS = {"swap_score": 0.0, "iat_range_c": 0.5, "head_rise_c": 0.5}
"""Figures flagged past a value that means something by itself, whatever the shop's spread:
readings that fit the other cylinder's tables better; a temperature that did not move half a
degree all session (a short session's head barely warms, but it moves)."""
FOREST_SHARE = 0.01
FOREST_PARAMS = {"n_estimators": 200, "random_state": 0}
MIN_SPREAD_SHARE = 0.02
"""A figure's spread is never taken below this share of its median's size (or 0.01): a figure
every sound session shares exactly (a sensor always read) must not flag a hair's difference."""
MIN_VEHICLE_SESSIONS = 2
VEHICLE_Z = 8.0
VEHICLE_FEATURES = ("afr_front_wot", "afr_rear_wot", "wot_map_minus_baro_kpa")

FloatArray = npt.NDArray[np.float64]


def vehicle_key(session: TuningSession) -> str:
    """Which vehicle a record is of: its name and build (two customers' "2014 Street Glide"
    with other builds are two vehicles)."""
    return session.vehicle + "|" + json.dumps(session.build, sort_keys=True)


def by_vehicle(sessions: Sequence[TuningSession]) -> dict[str, list[TuningSession]]:
    out: dict[str, list[TuningSession]] = {}
    for s in sessions:
        out.setdefault(vehicle_key(s), []).append(s)
    return out


def others_of_vehicle(session: TuningSession, grouped: dict[str, list[TuningSession]]
                      ) -> list[TuningSession]:
    return [o for o in grouped.get(vehicle_key(session), []) if o is not session]


def health_row(session: TuningSession) -> FloatArray:
    """The session's ``FEATURE_NAMES`` (NaN where not known, all NaN without health)."""
    h = session.health
    return np.array([math.nan if h is None or getattr(h, name) is None
                     else float(getattr(h, name)) for name in FEATURE_NAMES])


def health_rows(sessions: Sequence[TuningSession]) -> FloatArray:
    return (np.vstack([health_row(s) for s in sessions]) if sessions
            else np.empty((0, len(FEATURE_NAMES))))


def _spread(col: FloatArray, median: float) -> float:
    mad = float(np.median(np.abs(col - median))) * 1.4826
    return max(mad, MIN_SPREAD_SHARE * abs(median), 0.01)


@dataclass(frozen=True)
class Bounds:
    median: float
    spread: float
    limit_z: float  # flagged beyond this many spreads on the bad side


def learn_bounds(X: FloatArray) -> dict[str, Bounds]:
    """Per figure, the shop's median, spread and how far out is too far (module doc)."""
    out = {}
    for i, name in enumerate(FEATURE_NAMES):
        col = X[:, i][np.isfinite(X[:, i])]
        if col.size < 5:
            continue
        median = float(np.median(col))
        spread = _spread(col, median)
        limit = ABSOLUTE_LIMITS.get(name)
        if limit is not None:  # flagged past ``limit`` itself: as z from the shop's median
            out[name] = Bounds(round(median, 6), round(spread, 6),
                               round(max(BAD_SIDE[name] * (limit - median) / spread, 0.0), 6))
        else:
            out[name] = Bounds(round(median, 6), round(spread, 6), LIMIT_Z)
    return out


def _bad_z(x: FloatArray, median: float, spread: float, side: int) -> FloatArray:
    z = (x - median) / spread
    return np.abs(z) if side == 0 else np.maximum(side * z, 0.0)


def _impute(X: FloatArray, medians: Sequence[float]) -> FloatArray:
    return np.where(np.isfinite(X), X, np.asarray(medians)[None, :])


@dataclass(frozen=True, eq=False)
class AnomalyDetector:
    """A fitted detector: its forest (``estimators["forest"]``) and its bounds and threshold
    (``params``)."""

    estimators: dict[str, IsolationForest]
    params: dict[str, Any]

    def params_json(self) -> dict[str, Any]:
        return params_json(self.params)

    @classmethod
    def from_artifacts(cls, estimators: dict[str, Any], params: dict[str, Any]
                       ) -> AnomalyDetector:
        fitted = one_estimator(estimators, "forest", IsolationForest, "session anomaly",
                               "isolation forest")
        check_feature_names(params, FEATURE_NAMES, "session anomaly")
        return cls({"forest": fitted}, dict(params))

    @property
    def bounds(self) -> dict[str, Bounds]:
        return {k: Bounds(*v) for k, v in self.params.get("bounds", {}).items()}

    def _scaled(self, X: FloatArray) -> FloatArray:
        bounds = self.bounds
        med = [bounds[n].median if n in bounds else 0.0 for n in FEATURE_NAMES]
        spread = np.array([bounds[n].spread if n in bounds else 1.0 for n in FEATURE_NAMES])
        return (_impute(X, med) - np.asarray(med)) / spread

    def forest_scores(self, X: FloatArray) -> FloatArray:
        """The forest's score per row (lower: odder)."""
        if not len(X):
            return np.empty(0)
        with one_thread():
            return np.asarray(self.estimators["forest"].score_samples(self._scaled(X)))

    def flags(self, session: TuningSession,
              same_vehicle: Sequence[TuningSession] = ()) -> list[str]:
        """Why ``session`` should not train a model (empty: nothing wrong found)."""
        if session.health is None:
            return []
        x = health_row(session)
        out = []
        for i, name in enumerate(FEATURE_NAMES):
            b = self.bounds.get(name)
            if b is None or not math.isfinite(x[i]):
                continue
            if _bad_z(np.array([x[i]]), b.median, b.spread, BAD_SIDE[name])[0] > b.limit_z:
                out.append(REASONS[name].format(value=x[i]))
        threshold = self.params.get("forest_threshold")
        if not out and threshold is not None:
            score = float(self.forest_scores(x[None, :])[0])
            if score < threshold:
                z = np.abs(self._scaled(x[None, :])[0])
                far = [FEATURE_NAMES[i] for i in np.argsort(-z)[:2]]
                out.append("unlike the shop's other sessions (furthest out: "
                           + ", ".join(n.replace("_", " ") for n in far) + ")")
        out += self._vehicle_flags(x, same_vehicle)
        return out

    def _vehicle_flags(self, x: FloatArray, others: Sequence[TuningSession]) -> list[str]:
        mine = [s for s in others if s.health is not None]
        if len(mine) < MIN_VEHICLE_SESSIONS:
            return []
        X = health_rows(mine)
        out = []
        for name in VEHICLE_FEATURES:
            i = FEATURE_NAMES.index(name)
            b = self.bounds.get(name)
            col = X[:, i][np.isfinite(X[:, i])]
            if b is None or col.size < MIN_VEHICLE_SESSIONS or not math.isfinite(x[i]):
                continue
            if abs(x[i] - float(np.median(col))) / b.spread > VEHICLE_Z:
                out.append(f"unlike the rest of the vehicle's sessions: "
                           f"{name.replace('_', ' ')} {x[i]:.2f} against {np.median(col):.2f}")
        return out


def fit_detector(X: FloatArray) -> AnomalyDetector:
    """The detector for the shop's health rows ``X`` (module doc)."""
    bounds = learn_bounds(X)
    params: dict[str, Any] = {"feature_names": list(FEATURE_NAMES),
                              "bounds": {k: [v.median, v.spread, v.limit_z]
                                         for k, v in bounds.items()},
                              "forest": dict(FOREST_PARAMS)}
    detector = AnomalyDetector({"forest": IsolationForest(**FOREST_PARAMS)}, params)
    scaled = detector._scaled(X)
    with one_thread():
        detector.estimators["forest"].fit(scaled)
    scores = detector.forest_scores(X)
    tail, middle = np.quantile(scores, FOREST_SHARE), np.median(scores)
    params["forest_threshold"] = round(float(tail - (middle - tail)), 6)
    return detector
