"""A predicted base map as AI suggestions: one overlay per VE table, with what it would do, how
sure the model is, and why (the shop's most similar builds and the features that drove it).

The prediction is made on the shipped stage map's axes and read onto the tune's own tables
(bilinear, as the ECM reads a table); only cells the model learned are proposed, as percent
changes of the tune's cell, so the editor's overlay preview, authority limits and undo apply to
it like to any other overlay.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.base_ve import BaseVeModel, CylinderPrediction
from dynoai_desktop.ml.cell_model import CellModel
from dynoai_desktop.ml.cylinder_balance import (
    KIND as BALANCE,
)
from dynoai_desktop.ml.cylinder_balance import (
    BalanceModel,
    BalancePrediction,
    balance_overlays,
    seed_rear,
)
from dynoai_desktop.ml.drift import category_index
from dynoai_desktop.ml.features import (
    BUILD_FEATURES,
    CATEGORICAL,
    CYLINDERS,
    FEATURE_NAMES,
    Air,
    build_row,
    cell_features,
)
from dynoai_desktop.ml.training.records import TuningSession

NO_CONFIDENCE_HALF_WIDTH_PCT = 20.0
"""A cell's confidence falls from 1 (no interval) to 0 at a ±20 % half-width."""


@dataclass(frozen=True)
class SimilarBuild:
    session_id: str
    vehicle: str
    summary: str
    distance: float


@dataclass(frozen=True)
class Suggestion:
    """One table's suggestion (a predicted base map, balance, decel enrichment or timing
    advice) as an overlay."""

    key: str  # "base_ve:<table>"
    kind: str  # "predicted base map"
    table: str
    overlay: Overlay
    cells: int
    expected_effect: str
    confidence: float  # 0-1, the mean over its cells
    half_width_pct: float  # mean half-width of the 90 % interval, % of VE
    why: tuple[str, ...] = field(default_factory=tuple)
    status: str = "new"  # new, applied, rejected
    knock_prone: np.ndarray | None = None
    """Timing advice: the spark table's cells to mark knock-prone as it is applied."""

    def with_status(self, status: str) -> Suggestion:
        return replace(self, status=status)


def _on_tune_axes(pred: CylinderPrediction, target: Table) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """(predicted VE, half-width %, learned) at the target table's cells."""
    rpm, load = np.meshgrid(target.row_breakpoints, target.col_breakpoints, indexing="ij")
    value = np.asarray(pred.table.lookup(rpm, load), dtype=np.float64)
    half = np.where(pred.learned, (pred.upper - pred.lower) / 2.0 / pred.table.values * 100.0,
                    np.nan)
    ri, ci = pred.table.cell_index(rpm, load)
    learned = pred.learned[ri, ci] & (rpm >= pred.table.row_breakpoints.min()) & (
        rpm <= pred.table.row_breakpoints.max())
    return value, half[ri, ci], learned


def suggestion_for(pred: CylinderPrediction, target: Table, why: Sequence[str]) -> Suggestion:
    """The overlay moving ``target`` (a MAP VE table) to the predicted map in learned cells."""
    if target.col_axis != "map_kpa":
        raise InputError(f"{target.name}: a predicted base map is for MAP-based VE tables; "
                         f"this one is over {target.col_axis}")
    value, half, learned = _on_tune_axes(pred, target)
    change = np.where(learned, (value / target.values - 1.0) * 100.0, 0.0)
    mask = learned & (np.abs(change) >= 0.05)
    confidence = np.clip(1.0 - np.nan_to_num(half, nan=NO_CONFIDENCE_HALF_WIDTH_PCT)
                         / NO_CONFIDENCE_HALF_WIDTH_PCT, 0.0, 1.0)
    cells = int(mask.sum())
    moved = change[mask]
    effect = (f"{cells} cells, mean {moved.mean():+.1f} % VE (from {moved.min():+.1f} to "
              f"{moved.max():+.1f} %)" if cells else "no cell would change")
    half_mean = float(np.nanmean(half[mask])) if cells else math.nan
    overlay = Overlay(target.name, OverlayKind.MULTIPLICATIVE, change, mask,
                      OverlaySource.PREDICTED_BASE_MAP, confidence=confidence,
                      description=f"predicted base map for {target.name}")
    return Suggestion(f"base_ve:{target.name}", str(OverlaySource.PREDICTED_BASE_MAP),
                      target.name, overlay, cells, effect,
                      float(confidence[mask].mean()) if cells else 0.0, half_mean, tuple(why))


def similar_builds(build: BuildSpec, air: Air, sessions: Sequence[TuningSession],
                   count: int = 3) -> list[SimilarBuild]:
    """The shop's sessions whose builds are nearest to ``build`` (numbers scaled by their spread
    over the sessions, a differing category counting as one spread)."""
    rows, kept = [], []
    for s in sessions:
        try:
            b = BuildSpec.from_dict(s.build, s.session_id)
        except InputError:
            continue
        rows.append(build_row(b, Air(s.environment.baro_kpa, s.environment.ambient_temp_c)))
        kept.append((s, b))
    if not rows:
        return []
    X = np.array(rows, dtype=np.float64)
    x = np.array(build_row(build, air), dtype=np.float64)
    d = np.zeros(len(rows))
    for i, name in enumerate(BUILD_FEATURES):
        if name in ("baro_kpa", "ambient_temp_c"):
            continue  # the day's air does not make two builds alike
        if CATEGORICAL[FEATURE_NAMES.index(name)]:
            d += (X[:, i] != x[i]).astype(float)
            continue
        col = X[:, i]
        spread = np.nanstd(col) if np.isfinite(col).any() else 1.0
        spread = spread if spread > 0 else 1.0
        both = np.isfinite(col) & np.isfinite(x[i])
        diff = np.where(both, np.abs(col - x[i]) / spread,
                        np.where(np.isnan(col) & np.isnan(x[i]), 0.0, 1.0))
        d += diff
    order = np.argsort(d, kind="stable")[:count]
    return [SimilarBuild(kept[i][0].session_id, kept[i][0].vehicle, kept[i][1].summary,
                         float(d[i])) for i in order]


def drivers(model: BaseVeModel, build: BuildSpec, air: Air, stage_front: Table,
            stage_rear: Table, typical: dict[str, float], count: int = 3
            ) -> list[tuple[str, float]]:
    """The build features that move the prediction most: each set in turn to the training
    data's typical value, the change of the mean predicted VE change (% points)."""
    parts = []
    for cylinder, stage in zip(CYLINDERS, (stage_front, stage_rear), strict=True):
        rpm, load = np.meshgrid(stage.row_breakpoints, stage.col_breakpoints, indexing="ij")
        mask = model.learned_mask(stage)
        parts.append(cell_features(build, air, rpm[mask], load[mask], cylinder))
    return drivers_of_rows(model, np.vstack(parts), typical, count)


def drivers_of_rows(model: CellModel, X: np.ndarray, typical: dict[str, float], count: int = 3
                    ) -> list[tuple[str, float]]:
    """The build features that move a per-cell model's mean prediction over the rows ``X``
    most: each set in turn to the typical value, the change of the mean (% points)."""
    if not X.shape[0]:
        return []

    def mean_change(rows: np.ndarray) -> float:
        return float(np.mean(np.exp(model.predict_rows(rows)[0]) - 1.0) * 100.0)

    base = mean_change(X)
    out = []
    for i, name in enumerate(BUILD_FEATURES):
        value = typical.get(name)
        if value is None or X[0, i] == value or (math.isnan(X[0, i]) and math.isnan(value)):
            continue
        swapped = X.copy()
        swapped[:, i] = value
        out.append((name, base - mean_change(swapped)))
    out.sort(key=lambda kv: -abs(kv[1]))
    return out[:count]


def typical_values(stats: dict[str, object]) -> dict[str, float]:
    """The training data's typical build: the mean of each number, the commonest category."""
    out: dict[str, float] = {}
    for name in BUILD_FEATURES:
        s = stats.get(name)
        if not isinstance(s, dict):
            continue
        counts = s.get("counts")
        if isinstance(counts, dict) and counts:
            out[name] = category_index(name, max(counts, key=lambda k: counts[k]))
        elif "mean" in s:
            out[name] = float(s["mean"])
    return out


def balance_suggestions(pred: BalancePrediction, front: Table, rear: Table, on: str,
                        why: Sequence[str]) -> list[Suggestion]:
    """The predicted cylinder balance as one suggestion per table it changes (the rear, or the
    front and the rear when split over both)."""
    found = balance_overlays(pred, front, rear, on)
    kind = str(OverlaySource.CYLINDER_BALANCE)
    return [Suggestion(f"{BALANCE}:{o.table}", kind, o.table, o, found.cells,
                       found.expected_effect + ("" if on == "rear" else
                                                f" (split: this is the {o.table} half)"),
                       found.confidence, found.half_width_pct, tuple(why))
            for o in found.overlays]


def seeded_rear(base: BaseVeModel, balance: BalanceModel, build: BuildSpec, air: Air,
                stage_front: Table, stage_rear: Table) -> CylinderPrediction:
    """The rear's predicted base map seeded from the predicted front times the predicted
    rear/front ratio (its interval: the front's, times the ratio's)."""
    front = base.predict(build, air, stage_front, stage_rear).front
    ratio = balance.predict(build, air, stage_front, stage_rear)
    table = seed_rear(front.table, ratio, stage_rear.name)
    learned = front.learned & ratio.learned
    lower = np.where(learned, front.lower * ratio.lower, np.nan)
    upper = np.where(learned, front.upper * ratio.upper, np.nan)
    return CylinderPrediction(table, lower, upper, learned, stage_rear)
