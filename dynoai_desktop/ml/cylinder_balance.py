"""The cylinder-balance predictor: a build (and the day's air) -> the rear/front VE ratio per cell,
with a 90 % interval, offered as an overlay on the rear table (or split over both) and used to
seed a new vehicle's rear table from its front.

**What it learns.** A Harley's rear cylinder breathes differently from the front (its pipe, its
heat, its port): after a session, the tuned rear table over the tuned front table is that bike's
imbalance in every cell both cylinders were tuned in. The stage maps a session started from
carry an imbalance of their own (the family's typical one), so the target is how far the
session's tuned ratio sits from the stage maps' ratio, ``log(tuned rear / tuned front) -
log(stage rear / stage front)``: 0 means "as the stage map says", exactly as for the base-VE
model, and the same machinery (``ml.cell_model``) learns it, with the same grouped validation
and gate (``ml.train``). The features are the base-VE model's (``ml.features``), the cylinder
column set to the rear: the exhaust, cam and air cleaner drive the difference.

**What it cannot know.** Two bikes of one build differ in their rear cylinder's own bumps and in
how strongly the rear differs (docs/simulator.md §3.3 puts that scatter at about 2-3 % per cell),
so a build-only prediction is the build's expected ratio, and its interval says how far one bike
may sit from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.cell_model import (
    CellKind,
    CellModel,
    FloatArray,
    SampleRows,
    Samples,
    tuned_cells,
    usable_pair,
)
from dynoai_desktop.ml.features import Air, cell_features, session_air, validation_group
from dynoai_desktop.ml.training.records import TuningSession

KIND = "cylinder_balance"
FRONT_TABLE, REAR_TABLE = "ve_front", "ve_rear"
CYLINDER = "rear"
"""The cylinder column of the features: the ratio is the rear's, against the front."""
NO_CONFIDENCE_HALF_WIDTH_PCT = 10.0
"""A cell's confidence falls from 1 (no interval) to 0 at a ±10 % half-width of the ratio."""
ON_REAR, ON_BOTH = "rear", "both"


def samples_from_sessions(sessions: Sequence[TuningSession], scope: str = "shop") -> Samples:
    """One row per cell a session tuned on both cylinders' MAP VE tables (one grid for all four
    tables), its target the tuned ratio's distance from the stage maps' (see the module's doc)."""
    rows = SampleRows()
    for session in sessions:
        try:
            build = BuildSpec.from_dict(session.build, f"session {session.session_id}")
        except InputError:
            continue
        tables = [session.tables_before.get(FRONT_TABLE), session.tables_after.get(FRONT_TABLE),
                  session.tables_before.get(REAR_TABLE), session.tables_after.get(REAR_TABLE)]
        if not all(usable_pair(tables[0], t) for t in tables[1:]):
            continue
        bf, af, br, ar = (np.asarray(t.values, dtype=np.float64) for t in tables)  # type: ignore[union-attr]
        both = tuned_cells(bf, af) & tuned_cells(br, ar)
        if not both.any():
            continue
        first = tables[0]
        assert first is not None
        rpm, load = np.meshgrid(first.rpm, first.load, indexing="ij")
        rows.add(cell_features(build, session_air(session), rpm[both], load[both], CYLINDER),
                 np.log(ar[both] / af[both]) - np.log(br[both] / bf[both]),
                 validation_group(build, scope, session.session_id), session.session_id,
                 rpm[both], load[both])
    return rows.samples()


@dataclass(frozen=True)
class BalancePrediction:
    """The predicted rear/front VE ratio on the stage maps' grid, its 90 % interval and the cells
    the model learned (elsewhere the ratio is the stage maps' own, with no interval)."""

    ratio: Table  # rear / front, on the rear stage map's axes
    lower: FloatArray  # NaN where not learned
    upper: FloatArray
    learned: npt.NDArray[np.bool_]
    stage_ratio: Table

    def at(self, target: Table) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
        """(ratio, half-width % of the interval, learned) at ``target``'s cells (bilinear, as
        the ECM reads a table; a cell is learned where the cell it falls in is)."""
        rpm, load = np.meshgrid(target.row_breakpoints, target.col_breakpoints, indexing="ij")
        ratio = np.asarray(self.ratio.lookup(rpm, load), dtype=np.float64)
        half = np.where(self.learned, (self.upper - self.lower) / 2.0 / self.ratio.values * 100.0,
                        np.nan)
        ri, ci = self.ratio.cell_index(rpm, load)
        rows = self.ratio.row_breakpoints
        learned = self.learned[ri, ci] & (rpm >= rows.min()) & (rpm <= rows.max())
        return ratio, half[ri, ci], learned


@dataclass(frozen=True)
class BalanceModel(CellModel):
    """A fitted cylinder-balance model (``CellModel``)."""

    def predict(self, build: BuildSpec, air: Air, stage_front: Table, stage_rear: Table
                ) -> BalancePrediction:
        """The predicted rear/front ratio on the stage maps' axes."""
        if (stage_front.shape != stage_rear.shape
                or not np.array_equal(stage_front.row_breakpoints, stage_rear.row_breakpoints)
                or not np.array_equal(stage_front.col_breakpoints, stage_rear.col_breakpoints)):
            raise InputError(f"{stage_front.name} and {stage_rear.name}: the stage maps must "
                             "share one grid to give a rear/front ratio")
        stage = np.asarray(stage_rear.values, dtype=np.float64) / np.asarray(
            stage_front.values, dtype=np.float64)
        mask = self.learned_mask(stage_rear)
        ratio = stage.copy()
        lower = np.full(stage.shape, np.nan)
        upper = np.full(stage.shape, np.nan)
        if mask.any():
            rpm, load = np.meshgrid(stage_rear.row_breakpoints, stage_rear.col_breakpoints,
                                    indexing="ij")
            mean, lo, hi = self.predict_rows(cell_features(build, air, rpm[mask], load[mask],
                                                           CYLINDER))
            ratio[mask] = stage[mask] * np.exp(mean)
            lower[mask] = stage[mask] * np.exp(lo)
            upper[mask] = stage[mask] * np.exp(hi)
        return BalancePrediction(_ratio_table(stage_rear, ratio), lower, upper, mask,
                                 _ratio_table(stage_rear, stage))


def _ratio_table(grid: Table, ratio: FloatArray) -> Table:
    return replace(grid, name="rear/front VE ratio", units="ratio", values=ratio)


CELL_KIND = CellKind(KIND, samples_from_sessions, BalanceModel,
                     reference="the stage maps' own rear/front ratio",
                     data="both cylinders' tuned VE tables")


@dataclass(frozen=True)
class BalanceOverlays:
    """The overlays that give the tune the predicted rear/front ratio, and what they would do."""

    overlays: tuple[Overlay, ...]  # the rear's, or the front's and the rear's
    cells: int
    expected_effect: str
    confidence: float  # mean over the cells
    half_width_pct: float  # mean half-width of the ratio's 90 % interval, %


def balance_overlays(pred: BalancePrediction, front: Table, rear: Table, on: str = ON_REAR
                     ) -> BalanceOverlays:
    """Overlays moving the tune's rear/front ratio to the predicted one in learned cells: all on
    the rear table (``on="rear"``, the front as tuned stays), or split evenly over both
    (``"both"``: the front leans by as much as the rear richens, so the pair's mean fuel is
    kept)."""
    if on not in (ON_REAR, ON_BOTH):
        raise InputError(f"cylinder balance goes on the rear table or on both, not {on!r}")
    for t in (front, rear):
        if t.col_axis != "map_kpa":
            raise InputError(f"{t.name}: cylinder balance is for MAP-based VE tables; this one "
                             f"is over {t.col_axis}")
    if front.shape != rear.shape or not (
            np.array_equal(front.row_breakpoints, rear.row_breakpoints)
            and np.array_equal(front.col_breakpoints, rear.col_breakpoints)):
        raise InputError(f"{front.name} and {rear.name} do not share one grid: balance them "
                         "cell by cell by hand")
    ratio, half, learned = pred.at(rear)
    now = np.asarray(rear.values, dtype=np.float64) / np.asarray(front.values, dtype=np.float64)
    k = np.where(learned, ratio / np.where(now > 0, now, 1.0), 1.0)
    mask = learned & (np.abs(k - 1.0) * 100.0 >= 0.05)
    confidence = np.clip(1.0 - np.nan_to_num(half, nan=NO_CONFIDENCE_HALF_WIDTH_PCT)
                         / NO_CONFIDENCE_HALF_WIDTH_PCT, 0.0, 1.0)
    cells = int(mask.sum())
    moved = (k[mask] - 1.0) * 100.0
    effect = (f"{cells} cells, rear/front ratio mean {moved.mean():+.1f} % (from "
              f"{moved.min():+.1f} to {moved.max():+.1f} %)" if cells
              else "the tune already has the predicted balance")
    if on == ON_REAR:
        changes = [(rear, (k - 1.0) * 100.0)]
    else:
        changes = [(front, (1.0 / np.sqrt(k) - 1.0) * 100.0), (rear, (np.sqrt(k) - 1.0) * 100.0)]
    overlays = tuple(
        Overlay(t.name, OverlayKind.MULTIPLICATIVE, np.where(mask, change, 0.0), mask,
                OverlaySource.CYLINDER_BALANCE, confidence=confidence,
                description=f"predicted cylinder balance on {t.name}")
        for t, change in changes)
    return BalanceOverlays(overlays, cells, effect,
                           float(confidence[mask].mean()) if cells else 0.0,
                           float(np.nanmean(half[mask])) if cells else math.nan)


def seed_rear(front: Table, pred: BalancePrediction, name: str | None = None) -> Table:
    """A rear table seeded from ``front`` (a new vehicle's predicted front base map): the front
    times the predicted ratio in learned cells, times the stage maps' ratio elsewhere."""
    rpm, load = np.meshgrid(front.row_breakpoints, front.col_breakpoints, indexing="ij")
    ratio, _half, learned = pred.at(front)
    stage = np.asarray(pred.stage_ratio.lookup(rpm, load), dtype=np.float64)
    values = np.asarray(front.values, dtype=np.float64) * np.where(learned, ratio, stage)
    out = front.with_values(np.round(values, 2))
    return replace(out, name=name) if name else out
