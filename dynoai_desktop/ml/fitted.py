"""What the models with one named estimator share (the decel recommender, the heat-soak
compensator): fitting and predicting on one thread, their parameters as JSON, and the checks
``from_artifacts`` makes on what the registry read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from threadpoolctl import threadpool_limits

from dynoai_desktop.core.errors import InputError


def one_thread() -> threadpool_limits:
    """A few hundred rows fit fastest on one thread: OpenMP's threads spin-wait for each
    other, and on a busy machine (the cell running beside it) that made a fit 10-20x slower."""
    return threadpool_limits(limits=1, user_api="openmp")


def params_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON values (tuples as lists): what the registry keeps beside the
    estimators."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


def one_estimator(estimators: Any, key: str, kind: type, model: str, noun: str) -> Any:
    """The one estimator ``key`` of type ``kind`` in ``estimators``; InputError ("not a
    ``model`` model: its estimators must be one ``noun`` named 'key'") otherwise."""
    fitted = estimators.get(key) if isinstance(estimators, dict) else None
    if not isinstance(fitted, kind) or set(estimators) != {key}:
        raise InputError(f"not a {model} model: its estimators must be one {noun} named "
                         f"'{key}'")
    return fitted


def check_feature_names(params: Mapping[str, Any], names: Sequence[str], model: str) -> None:
    """InputError when ``params`` name other features than ``names`` (none named: fine)."""
    stored = params.get("feature_names")
    if stored is not None and tuple(stored) != tuple(names):
        raise InputError(f"{model} model made with other features than this DynoAI builds: "
                         "retrain it")
