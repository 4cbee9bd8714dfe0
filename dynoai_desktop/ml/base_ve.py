"""The base-VE predictor: a build (and the day's air) -> VE per cell, front and rear, with a 90 %
interval per cell.

**What it learns.** Every shop session starts from its family and stage's generic base map and
ends with the tables autotune converged to. For each cell the session corrected, the target is
``log(after / before)``: how far this build sits from its stage map. Three gradient-boosting
models (scikit-learn's ``HistGradientBoostingRegressor``) learn it from the features of
``ml.features``: the squared-error one gives the prediction, the 5 % and 95 % quantile ones the
interval's edges. The interval is then *conformalised* (conformalised quantile regression): it is
widened, on the log scale, by the amount that makes 90 % of the out-of-fold cells of the grouped
cross-validation fall inside it, so its coverage is measured, not assumed.

**Why gradient boosting.** It takes the build's mixed columns (families and pipes as categories,
a stock cam as missing) without scaling, it fits the interactions that matter (a cam's overlap
matters at low rpm and light load, a pipe's wave at its rpm), it trains on 200 sessions in
about a minute on one core, and quantile loss gives the interval from the same machinery. A
Gaussian process over ~25 000 cells would need an approximation and a kernel over categories;
an ensemble's spread measures model disagreement, not the bike-to-bike scatter that dominates
here. Numbers: benchmarks/base_ve_model.py.

**Where it speaks.** Only cells the shop's sessions actually corrected in at least a quarter of
the sessions are *learned*; elsewhere the prediction is the stage map itself, with no interval,
and no overlay touches them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingRegressor

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.features import (
    CATEGORICAL,
    CYLINDERS,
    Air,
    cell_features,
    session_air,
    validation_group,
)
from dynoai_desktop.ml.training.records import TableRecord, TuningSession

KIND = "base_ve"
INTERVAL = 0.90
QUANTILES = {"lo": 0.05, "hi": 0.95}
PARAMS = {"max_iter": 200, "learning_rate": 0.05, "min_samples_leaf": 300,
          "max_leaf_nodes": 15, "random_state": 0}
LEARNED_CELL_SHARE = 0.25
"""A cell is learned when at least this share of the sessions corrected it."""
TABLES = {"front": "ve_front", "rear": "ve_rear"}
"""Cylinder -> the training data's table name (the MAP-based VE tables)."""

FloatArray = npt.NDArray[np.float64]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class Samples:
    """The cells the shop's sessions corrected, one row each."""

    X: FloatArray
    y: FloatArray  # log(after / before)
    groups: npt.NDArray[np.str_]  # the session's validation group ("family / cam class")
    sessions: npt.NDArray[np.str_]  # the row's session id
    cells: npt.NDArray[np.float64]  # (rpm, load kPa) of the row

    @property
    def session_ids(self) -> list[str]:
        return sorted(set(self.sessions.tolist()))

    def subset(self, mask: npt.NDArray[np.bool_]) -> Samples:
        return Samples(self.X[mask], self.y[mask], self.groups[mask], self.sessions[mask],
                       self.cells[mask])


def _usable(record: TableRecord | None, other: TableRecord | None) -> bool:
    return (record is not None and other is not None and record.load_channel == "map_kpa"
            and not record.problems() and not other.problems()
            and record.rpm == other.rpm and record.load == other.load)


def samples_from_sessions(sessions: Sequence[TuningSession], scope: str = "shop") -> Samples:
    """Rows for every cell a session corrected on its MAP VE tables (sessions whose build does
    not read, or whose tables are not MAP tables on one grid, give none), grouped for a model
    of ``scope`` (``ml.features.validation_group``)."""
    xs, ys, groups, ids, cells = [], [], [], [], []
    for session in sessions:
        try:
            build = BuildSpec.from_dict(session.build, f"session {session.session_id}")
        except InputError:
            continue
        air = session_air(session)
        for cylinder, name in TABLES.items():
            before = session.tables_before.get(name)
            after = session.tables_after.get(name)
            if not _usable(before, after):
                continue
            assert before is not None and after is not None
            b = np.asarray(before.values, dtype=np.float64)
            a = np.asarray(after.values, dtype=np.float64)
            rpm, load = np.meshgrid(before.rpm, before.load, indexing="ij")
            changed = (b > 0) & (a > 0) & (np.abs(a / np.where(b > 0, b, 1.0) - 1.0) > 1e-6)
            if not changed.any():
                continue
            xs.append(cell_features(build, air, rpm[changed], load[changed], cylinder))
            ys.append(np.log(a[changed] / b[changed]))
            n = int(changed.sum())
            groups += [validation_group(build, scope, session.session_id)] * n
            ids += [session.session_id] * n
            cells.append(np.column_stack([rpm[changed], load[changed]]))
    if not xs:
        return Samples(np.empty((0, len(CATEGORICAL))), np.empty(0), np.array([], dtype=str),
                       np.array([], dtype=str), np.empty((0, 2)))
    return Samples(np.vstack(xs), np.concatenate(ys), np.array(groups), np.array(ids),
                   np.vstack(cells))


def fit_estimators(X: FloatArray, y: FloatArray, cancelled: Cancelled = lambda: False,
                   fitted: Callable[[], None] = lambda: None
                   ) -> dict[str, HistGradientBoostingRegressor] | None:
    """The three models (``mean``, ``lo``, ``hi``) fitted on the rows, ``fitted`` called after
    each; None when ``cancelled`` says so before one of them."""
    out: dict[str, HistGradientBoostingRegressor] = {}
    losses = {"mean": {"loss": "squared_error"}}
    losses.update({k: {"loss": "quantile", "quantile": q} for k, q in QUANTILES.items()})
    for name, loss in losses.items():
        if cancelled():
            return None
        model = HistGradientBoostingRegressor(categorical_features=list(CATEGORICAL),
                                              **PARAMS, **loss)
        out[name] = model.fit(X, y)
        fitted()
    return out


def predict_log(estimators: dict[str, HistGradientBoostingRegressor], X: FloatArray
                ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(mean, lo, hi) of log(VE / stage map) per row, before conformal widening; lo <= hi."""
    mean, lo, hi = (np.asarray(estimators[k].predict(X), dtype=np.float64)
                    for k in ("mean", "lo", "hi"))
    return mean, np.minimum(lo, hi), np.maximum(lo, hi)


def conformal_widening(y: FloatArray, lo: FloatArray, hi: FloatArray,
                       coverage: float = INTERVAL) -> float:
    """How much to widen [lo, hi] (log scale) so that ``coverage`` of ``y`` falls inside."""
    if y.size == 0:
        return 0.0
    scores = np.maximum(lo - y, y - hi)
    level = min(1.0, np.ceil((y.size + 1) * coverage) / y.size)
    return float(np.quantile(scores, level, method="higher"))


def learned_cells(samples: Samples) -> list[tuple[float, float]]:
    """(rpm, load kPa) of the cells corrected by at least ``LEARNED_CELL_SHARE`` of sessions."""
    sessions = max(1, len(samples.session_ids))
    keys = np.unique(samples.cells, axis=0)
    out = []
    for rpm, load in keys:
        mask = (samples.cells[:, 0] == rpm) & (samples.cells[:, 1] == load)
        if len(set(samples.sessions[mask].tolist())) >= LEARNED_CELL_SHARE * sessions:
            out.append((float(rpm), float(load)))
    return out


@dataclass(frozen=True)
class CylinderPrediction:
    """One cylinder's predicted table, its 90 % interval and the cells the model learned."""

    table: Table
    lower: FloatArray  # VE %, NaN where not learned
    upper: FloatArray
    learned: npt.NDArray[np.bool_]
    stage_map: Table


@dataclass(frozen=True)
class BaseVePrediction:
    front: CylinderPrediction
    rear: CylinderPrediction

    def cylinders(self) -> dict[str, CylinderPrediction]:
        return {"front": self.front, "rear": self.rear}


@dataclass(frozen=True)
class BaseVeModel:
    """A fitted base-VE model: its three estimators, the widening and the learned cells."""

    estimators: dict[str, HistGradientBoostingRegressor]
    widening: float
    learned: tuple[tuple[float, float], ...]

    def predict_rows(self, X: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        mean, lo, hi = predict_log(self.estimators, X)
        return mean, lo - self.widening, hi + self.widening

    def learned_mask(self, table: Table) -> npt.NDArray[np.bool_]:
        """Which cells of ``table`` (a MAP table) the model learned."""
        learned = set(self.learned)
        if table.col_axis != "map_kpa":
            return np.zeros(table.shape, dtype=bool)
        return np.array([[(float(r), float(k)) in learned for k in table.col_breakpoints]
                         for r in table.row_breakpoints], dtype=bool).reshape(table.shape)

    def predict(self, build: BuildSpec, air: Air, stage_front: Table, stage_rear: Table
                ) -> BaseVePrediction:
        """The predicted tables on the stage maps' axes (learned cells only; the rest keep the
        stage map's value)."""
        out = []
        for cylinder, stage in zip(CYLINDERS, (stage_front, stage_rear), strict=True):
            rpm, load = np.meshgrid(stage.row_breakpoints, stage.col_breakpoints, indexing="ij")
            mask = self.learned_mask(stage)
            values = np.array(stage.values, dtype=np.float64)
            lower = np.full(values.shape, np.nan)
            upper = np.full(values.shape, np.nan)
            if mask.any():
                mean, lo, hi = self.predict_rows(cell_features(build, air, rpm[mask],
                                                               load[mask], cylinder))
                base = values[mask]
                values[mask] = np.round(base * np.exp(mean), 2)
                lower[mask] = base * np.exp(lo)
                upper[mask] = base * np.exp(hi)
            out.append(CylinderPrediction(stage.with_values(values), lower, upper, mask, stage))
        return BaseVePrediction(out[0], out[1])
