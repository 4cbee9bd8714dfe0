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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
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
from dynoai_desktop.ml.features import (
    CYLINDERS,
    Air,
    cell_features,
    session_air,
    validation_group,
)
from dynoai_desktop.ml.training.records import TuningSession

KIND = "base_ve"
TABLES = {"front": "ve_front", "rear": "ve_rear"}
"""Cylinder -> the training data's table name (the MAP-based VE tables)."""


def samples_from_sessions(sessions: Sequence[TuningSession], scope: str = "shop") -> Samples:
    """Rows for every cell a session corrected on its MAP VE tables (sessions whose build does
    not read, or whose tables are not MAP tables on one grid, give none), grouped for a model
    of ``scope`` (``ml.features.validation_group``)."""
    rows = SampleRows()
    for session in sessions:
        try:
            build = BuildSpec.from_dict(session.build, f"session {session.session_id}")
        except InputError:
            continue
        air = session_air(session)
        for cylinder, name in TABLES.items():
            before = session.tables_before.get(name)
            after = session.tables_after.get(name)
            if not usable_pair(before, after):
                continue
            assert before is not None and after is not None
            b = np.asarray(before.values, dtype=np.float64)
            a = np.asarray(after.values, dtype=np.float64)
            rpm, load = np.meshgrid(before.rpm, before.load, indexing="ij")
            changed = tuned_cells(b, a)
            if not changed.any():
                continue
            rows.add(cell_features(build, air, rpm[changed], load[changed], cylinder),
                     np.log(a[changed] / b[changed]),
                     validation_group(build, scope, session.session_id), session.session_id,
                     rpm[changed], load[changed])
    return rows.samples()


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
class BaseVeModel(CellModel):
    """A fitted base-VE model (``CellModel``) that predicts the VE tables of a build."""

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


CELL_KIND = CellKind(KIND, samples_from_sessions, BaseVeModel, reference="the stage maps",
                     data="tuned VE tables")
