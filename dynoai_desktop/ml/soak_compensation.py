"""The heat-soak compensator: how much of the VE a heat-soaked engine appears to need is the soak,
so autotune can take it out before it corrects.

**The physics it leans on.** After an idle with little air moving, the intake, the TMAP on it
and the charge are all warmer. Where the IAT reading runs hotter than the charge (the sensor
soaks from its hot mounting; how much, and up to what airflow, differs from bike to bike), the
ECM fuels for thinner air than the engine breathes and the widebands read lean: VE looks
inflated. A hotter head heats the charge in the port the other way. Either way the VE a soaked
engine asks for is not the table's: baked in, it runs rich once the engine has cooled.

**What it learns.** From the heat-soak records of the shop's sessions (``records.SoakCell``):
per cell and cylinder, what the soak did to the VE the cell needed against before it, with the
conditions it was measured in (airflow, IAT over ambient, head temperature, the soak clock and
how far the IAT reading has fallen since the soak: ``patterns.heat_soak.CONDITIONS``), and the
same cells before the soak at 0. A gradient-boosting regressor (scikit-learn's
``HistGradientBoostingRegressor``) fits inflation % from them.

**What it removes.** Per row of a log after a soak (``patterns.heat_soak.soak_clock``: the
log's own idle of two minutes or more), the predicted inflation shrunk by the share of it the
model's own cross-validation trusts (``shrink``), bounded by ``MAX_REMOVED_PCT``; a row before
any soak keeps its reading. Autotune divides each row's measured/target AFR by
(1 + inflation / 100) before it bins it (``core.autotune``'s ``compensation``), when asked to:
it is off by default, because on bikes it never saw the shipped prior does no better than
leaving the readings alone (docs/models.md, ``benchmarks/heat_soak.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingRegressor

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.features import validation_group
from dynoai_desktop.ml.fitted import check_feature_names, one_estimator, one_thread, params_json
from dynoai_desktop.ml.training.patterns.heat_soak import CONDITIONS, conditions
from dynoai_desktop.ml.training.records import TuningSession

KIND = "heat_soak"
FEATURE_NAMES: tuple[str, ...] = CONDITIONS
PARAMS = {"max_iter": 200, "learning_rate": 0.05, "min_samples_leaf": 40, "max_leaf_nodes": 15,
          "l2_regularization": 1.0, "random_state": 0}
MIN_CELL_WEIGHT = 300.0
"""A soak cell measured on less weight than this (a few seconds of samples near it) is left out:
a piece that only passed between breakpoints splits its need over the cells around it at
random, and its inflation is noise."""
WEIGHT_CAP = 5000.0
"""Rows are weighted by √(weight), capped here: a long idle slice counts more than a pull's
cell, but not a hundred times more."""
MAX_REMOVED_PCT = 10.0
"""The most VE a soak is taken to inflate a row by (the records' own range is ±30 %)."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class SoakSamples:
    """One row per soak cell of the sessions' heat-soak records."""

    X: FloatArray
    y: FloatArray  # inflation %
    groups: npt.NDArray[np.str_]
    session_ids: npt.NDArray[np.str_]
    weight: FloatArray  # the fit's sample weight (``WEIGHT_CAP``)

    @property
    def soaked(self) -> npt.NDArray[np.bool_]:
        """Rows measured on a soaked engine (the others are the cells before it, at 0)."""
        return np.isfinite(self.X[:, FEATURE_NAMES.index("soak_s")])

    @property
    def sessions(self) -> npt.NDArray[np.str_]:
        return self.session_ids

    def subset(self, mask: npt.NDArray[np.bool_]) -> SoakSamples:
        return SoakSamples(self.X[mask], self.y[mask], self.groups[mask], self.session_ids[mask],
                           self.weight[mask])


def _value(v: float | None) -> float:
    return math.nan if v is None else float(v)


def soak_samples(sessions: Sequence[TuningSession], scope: str = "shop") -> SoakSamples:
    """The soak cells (``MIN_CELL_WEIGHT`` or more) of every session with a heat-soak record
    and a readable build."""
    xs: list[list[float]] = []
    ys: list[float] = []
    ws: list[float] = []
    groups: list[str] = []
    ids: list[str] = []
    for session in sessions:
        record = session.patterns.heat_soak
        if record is None or not record.cells:
            continue
        try:
            build = BuildSpec.from_dict(session.build, f"session {session.session_id}")
        except InputError:
            continue
        group = validation_group(build, scope, session.session_id)
        for cell in record.cells:
            if cell.weight < MIN_CELL_WEIGHT:
                continue
            xs.append([_value(getattr(cell, name)) for name in FEATURE_NAMES])
            ys.append(float(cell.inflation_pct))
            ws.append(math.sqrt(min(float(cell.weight), WEIGHT_CAP)))
            groups.append(group)
            ids.append(session.session_id)
    return SoakSamples(np.array(xs, dtype=np.float64).reshape(-1, len(FEATURE_NAMES)),
                       np.array(ys, dtype=np.float64), np.array(groups, dtype=str),
                       np.array(ids, dtype=str), np.array(ws, dtype=np.float64))


def fit_regressor(X: FloatArray, y: FloatArray, weight: FloatArray | None = None
                  ) -> HistGradientBoostingRegressor:
    with one_thread():
        return HistGradientBoostingRegressor(**PARAMS).fit(X, y, sample_weight=weight)


@dataclass(frozen=True, eq=False)
class SoakCompensator:
    """A fitted heat-soak compensator: its regressor (``estimators["inflation"]``) and
    parameters. ``label`` names it in autotune's report."""

    estimators: dict[str, HistGradientBoostingRegressor]
    params: dict[str, Any]
    label: str = "heat-soak model"

    def params_json(self) -> dict[str, Any]:
        return params_json(self.params)

    @classmethod
    def from_artifacts(cls, estimators: dict[str, Any], params: dict[str, Any]
                       ) -> SoakCompensator:
        """The model from its stored estimators and parameters (InputError when they are not a
        heat-soak model's)."""
        fitted = one_estimator(estimators, "inflation", HistGradientBoostingRegressor,
                               "heat-soak", "regressor")
        stored = params.get("feature_names")
        if stored is not None and not set(stored) <= set(FEATURE_NAMES):
            # A version made before a condition was added still loads (it reads a subset);
            # one that needs a condition this DynoAI does not work out cannot.
            check_feature_names(params, FEATURE_NAMES, "heat-soak")
        if stored is not None and len(stored) != getattr(fitted, "n_features_in_", len(stored)):
            raise InputError("heat-soak model's regressor does not take the features its "
                             "parameters name: retrain it")
        return cls({"inflation": fitted}, dict(params))

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The conditions this version reads (a version trained before ``iat_fall_c`` was
        recorded reads the first five)."""
        return tuple(self.params.get("feature_names") or FEATURE_NAMES)

    def predict(self, X: FloatArray) -> FloatArray:
        """Inflation % per row of ``FEATURE_NAMES`` columns (all of them: the version takes
        the ones it was trained on), bounded by ``MAX_REMOVED_PCT``."""
        if not len(X):
            return np.empty(0)
        columns = [FEATURE_NAMES.index(name) for name in self.feature_names]
        with one_thread():
            y = self.estimators["inflation"].predict(X[:, columns])
        y = np.asarray(y, dtype=np.float64) * self.shrink
        return np.clip(y, -MAX_REMOVED_PCT, MAX_REMOVED_PCT)

    @property
    def shrink(self) -> float:
        """The share of the regressor's prediction removed (``soak_train.shrink_from``; 1 for a
        version trained before it was measured)."""
        return float(self.params.get("shrink", 1.0))

    def inflation_pct(self, columns: Mapping[str, FloatArray],
                      settings: AutotuneSettings | None = None) -> FloatArray:
        """Per row of one log: the VE inflation % its soak put there (0 before any soak)."""
        cond = conditions(columns, settings or AutotuneSettings())
        out = np.zeros(np.asarray(columns["time_s"]).size)
        soaked = np.isfinite(cond["soak_s"])
        if soaked.any():
            X = np.column_stack([cond[name][soaked] for name in FEATURE_NAMES])
            out[soaked] = self.predict(X)
        return out
