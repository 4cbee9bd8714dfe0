"""The kinds of model the registry keeps, and what each needs: how its estimators are checked
when a file is read, how the model is rebuilt from them, how it is trained, and the line a
tuner reads about its held-out figures.

A kind's model keeps its fitted scikit-learn estimators in ``estimators`` (a dict, persisted with
skops) and everything else in ``params_json()`` (a JSON object in ``meta.json``); ``from_artifacts``
rebuilds it from the two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
)

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml import anomaly, base_ve, cylinder_balance, decel, knock, soak_compensation
from dynoai_desktop.ml.anomaly_train import train_anomaly
from dynoai_desktop.ml.cell_model import ESTIMATOR_KEYS
from dynoai_desktop.ml.decel_train import train_decel
from dynoai_desktop.ml.features import FEATURE_NAMES
from dynoai_desktop.ml.knock_train import train_knock
from dynoai_desktop.ml.soak_train import train_heat_soak
from dynoai_desktop.ml.train import (
    CV_FOLDS,
    FITS,
    TrainResult,
    train_base_ve,
    train_cylinder_balance,
)


@dataclass(frozen=True)
class ModelKind:
    name: str  # as stored: "base_ve"
    title: str  # as a tuner reads it: "base VE"
    feature_names: tuple[str, ...]  # the columns its estimators were fitted on
    estimator_keys: tuple[str, ...]
    estimator_type: type
    from_artifacts: Callable[[dict[str, Any], dict[str, Any]], Any]
    train: Callable[..., TrainResult]
    fits: int  # estimator fits in one training (progress counts them)
    figures: tuple[Figure, ...]  # its held-out figures, as lists and the model page show them
    headline: Callable[[dict[str, Any]], str]  # held-out figures -> the train line's
    spread: Callable[[dict[str, Any]], str]  # held-out figures -> what the train line ends with


@dataclass(frozen=True)
class Figure:
    key: str  # in the metadata's held-out figures
    column: str  # the model page's column
    scale: float = 1.0
    decimals: int = 2


def _cell_headline(held: dict[str, Any]) -> str:
    """docs/formats.md `dynoai models train`'s figures of a per-cell model."""
    if not held.get("cells"):
        return "no held-out figures"
    return (f"held-out MAE {held['mae_pct']:.2f} % (stage maps {held['stage_mae_pct']:.2f} %), "
            f"90 % interval covers {held['coverage_90'] * 100:.0f} %")


def _error_spread(held: dict[str, Any]) -> str:
    """The root mean square and largest held-out error (per-cell models, heat soak)."""
    return (f"held-out error RMS {held.get('rms_pct', float('nan')):.2f} %, max "
            f"{held.get('max_pct', float('nan')):.1f} %")


def _brier(held: dict[str, Any]) -> str:
    """A classifier's held-out Brier score against the no-skill answer's (decel, knock)."""
    return f"held-out Brier score {held['brier']:.3f} (no-skill {held['no_skill_brier']:.3f})"


def _decel_headline(held: dict[str, Any]) -> str:
    if not held.get("rows"):
        return "no held-out figures"
    return f"{_brier(held)}, {held['accuracy'] * 100:.0f} % called right"


def _decel_spread(held: dict[str, Any]) -> str:
    return f"held-out log loss {held.get('log_loss', float('nan')):.3f}"


def _soak_headline(held: dict[str, Any]) -> str:
    if not held.get("cells"):
        return "no held-out figures"
    return (f"held-out error {held['mae_pct']:.2f} % VE (removing nothing "
            f"{held['none_mae_pct']:.2f} %)")


def _knock_headline(held: dict[str, Any]) -> str:
    if not held.get("rows"):
        return "no held-out figures"
    return (f"{_brier(held)}, knock called with precision {held['precision']:.2f}, recall "
            f"{held['recall']:.2f}")


def _anomaly_headline(held: dict[str, Any]) -> str:
    if not held.get("sessions"):
        return "no held-out figures"
    return f"flags {held['flagged_share'] * 100:.0f} % of the held-out sessions"


def _anomaly_spread(held: dict[str, Any]) -> str:
    return f"{held.get('sessions', 0)} held-out sessions"


CELL_FIGURES = (Figure("mae_pct", "Held-out MAE %"), Figure("stage_mae_pct", "Stage-map MAE %"),
                Figure("coverage_90", "Interval coverage %", 100.0, 1))
MODEL_KINDS: dict[str, ModelKind] = {
    base_ve.KIND: ModelKind(
        base_ve.KIND, "base VE", FEATURE_NAMES, ESTIMATOR_KEYS, HistGradientBoostingRegressor,
        base_ve.BaseVeModel.from_artifacts, train_base_ve, FITS, CELL_FIGURES, _cell_headline,
        _error_spread),
    cylinder_balance.KIND: ModelKind(
        cylinder_balance.KIND, "cylinder balance", FEATURE_NAMES, ESTIMATOR_KEYS,
        HistGradientBoostingRegressor, cylinder_balance.BalanceModel.from_artifacts,
        train_cylinder_balance, FITS, CELL_FIGURES, _cell_headline, _error_spread),
    decel.KIND: ModelKind(
        decel.KIND, "decel enrichment", decel.DECEL_FEATURE_NAMES, ("stopped",),
        HistGradientBoostingClassifier, decel.DecelModel.from_artifacts, train_decel,
        CV_FOLDS + 1, (Figure("brier", "Held-out Brier", decimals=3),
                       Figure("no_skill_brier", "No-skill Brier", decimals=3),
                       Figure("accuracy", "Called right %", 100.0, 1)),
        _decel_headline, _decel_spread),
    soak_compensation.KIND: ModelKind(
        soak_compensation.KIND, "heat soak", soak_compensation.FEATURE_NAMES, ("inflation",),
        HistGradientBoostingRegressor, soak_compensation.SoakCompensator.from_artifacts,
        train_heat_soak, CV_FOLDS + 1, (Figure("mae_pct", "Held-out error %"),
                                        Figure("none_mae_pct", "Left in without it %"),
                                        Figure("cells", "Soaked cells", decimals=0)),
        _soak_headline, _error_spread),
    knock.KIND: ModelKind(
        knock.KIND, "knock/timing", knock.FEATURE_NAMES, ("knocks",),
        HistGradientBoostingClassifier, knock.KnockAdvisor.from_artifacts, train_knock,
        CV_FOLDS + 1, (Figure("brier", "Held-out Brier", decimals=3),
                       Figure("no_skill_brier", "No-skill Brier", decimals=3),
                       Figure("precision", "Knock precision %", 100.0, 1),
                       Figure("recall", "Knock recall %", 100.0, 1)),
        _knock_headline, _decel_spread),
    anomaly.KIND: ModelKind(
        anomaly.KIND, "session anomaly", anomaly.FEATURE_NAMES, ("forest",), IsolationForest,
        anomaly.AnomalyDetector.from_artifacts, train_anomaly, 1,
        (Figure("flagged_share", "Held-out flagged %", 100.0, 1),
         Figure("sessions", "Held-out sessions", decimals=0)),
        _anomaly_headline, _anomaly_spread),
}
KINDS = tuple(MODEL_KINDS)


def model_kind(name: str) -> ModelKind:
    """The kind called ``name``; InputError naming the kinds there are otherwise."""
    try:
        return MODEL_KINDS[name]
    except KeyError:
        raise InputError(f"model kind {name!r} is not known: use {', '.join(KINDS)}") from None
