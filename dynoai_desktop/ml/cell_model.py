"""What the per-cell models share: rows of (build, day, cell) features with a log-ratio target,
three gradient-boosting estimators (mean and the 5 %/95 % quantiles), conformal widening of their
interval, and the cells a model may speak for.

A per-cell model learns ``log(after / reference)`` in each cell a shop session tuned: for the
base-VE model (``ml.base_ve``) the reference is the stage map a session started from, for the
cylinder-balance model (``ml.cylinder_balance``) it is the stage maps' own rear/front ratio. So
a prediction of 0 is always "what the stage map says", and every kind is judged the same way
against that: the figures in ``ml.train``. Why gradient boosting and a conformalised interval:
``ml.base_ve``'s doc.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingRegressor

from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.features import CATEGORICAL
from dynoai_desktop.ml.training.records import TableRecord

INTERVAL = 0.90
QUANTILES = {"lo": 0.05, "hi": 0.95}
PARAMS = {"max_iter": 200, "learning_rate": 0.05, "min_samples_leaf": 300,
          "max_leaf_nodes": 15, "random_state": 0}
ESTIMATOR_KEYS = ("mean", "lo", "hi")
LEARNED_CELL_SHARE = 0.25
"""A cell is learned when at least this share of the sessions corrected it."""

FloatArray = npt.NDArray[np.float64]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class Samples:
    """The cells the shop's sessions corrected, one row each."""

    X: FloatArray
    y: FloatArray  # log(after / reference)
    groups: npt.NDArray[np.str_]  # the session's validation group ("family / cam class")
    sessions: npt.NDArray[np.str_]  # the row's session id
    cells: npt.NDArray[np.float64]  # (rpm, load kPa) of the row

    @property
    def session_ids(self) -> list[str]:
        return sorted(set(self.sessions.tolist()))

    def subset(self, mask: npt.NDArray[np.bool_]) -> Samples:
        return Samples(self.X[mask], self.y[mask], self.groups[mask], self.sessions[mask],
                       self.cells[mask])


    @classmethod
    def empty(cls) -> Samples:
        return cls(np.empty((0, len(CATEGORICAL))), np.empty(0), np.array([], dtype=str),
                   np.array([], dtype=str), np.empty((0, 2)))


def usable_pair(record: TableRecord | None, other: TableRecord | None) -> bool:
    """Whether two table records are readable MAP tables on one grid."""
    return (record is not None and other is not None and record.load_channel == "map_kpa"
            and not record.problems() and not other.problems()
            and record.rpm == other.rpm and record.load == other.load)


def tuned_cells(before: FloatArray, after: FloatArray) -> npt.NDArray[np.bool_]:
    """The cells a session changed (both values positive; moved by more than rounding)."""
    return (before > 0) & (after > 0) & (np.abs(after / np.where(before > 0, before, 1.0) - 1.0)
                                         > 1e-6)


class SampleRows:
    """Rows gathered session by session, then ``samples()`` (what both kinds' samplers do)."""

    def __init__(self) -> None:
        self._x: list[FloatArray] = []
        self._y: list[FloatArray] = []
        self._groups: list[str] = []
        self._ids: list[str] = []
        self._cells: list[FloatArray] = []

    def add(self, X: FloatArray, y: FloatArray, group: str, session_id: str,
            rpm: FloatArray, load: FloatArray) -> None:
        """Rows ``X`` with targets ``y`` of one session's cells at (``rpm``, ``load``)."""
        self._x.append(X)
        self._y.append(y)
        self._groups += [group] * int(y.size)
        self._ids += [session_id] * int(y.size)
        self._cells.append(np.column_stack([rpm, load]))

    def samples(self) -> Samples:
        if not self._x:
            return Samples.empty()
        return Samples(np.vstack(self._x), np.concatenate(self._y), np.array(self._groups),
                       np.array(self._ids), np.vstack(self._cells))


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
    """(mean, lo, hi) of the target per row, before conformal widening; lo <= hi."""
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
class CellModel:
    """A fitted per-cell model: its three estimators, the widening and the learned cells."""

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

    def params_json(self) -> dict[str, object]:
        """What ``meta.json`` keeps besides the estimators (``from_artifacts`` reads it)."""
        return {"widening_log": self.widening, "learned_cells": [list(c) for c in self.learned]}

    @classmethod
    def from_artifacts(cls, estimators: dict[str, HistGradientBoostingRegressor],
                       params: dict[str, object]) -> CellModel:
        """The model from its estimators and ``meta.json``'s model parameters (KeyError,
        TypeError or ValueError when they are not there)."""
        cells = params["learned_cells"]
        if not isinstance(cells, list):
            raise TypeError("learned_cells is not a list of (rpm, kPa) pairs")
        return cls(estimators, float(params["widening_log"]),  # type: ignore[arg-type]
                   tuple((float(r), float(k)) for r, k in cells))


@dataclass(frozen=True)
class CellKind:
    """One kind of per-cell model: how its rows are made from sessions and what it predicts."""

    name: str  # the registry's kind ("base_ve")
    samples: Callable[..., Samples]  # (sessions, scope) -> rows
    model: type[CellModel]
    reference: str  # what a prediction of 0 is, in the gate's words ("the stage maps")
    data: str  # what a session needs to give rows ("tuned VE tables")
