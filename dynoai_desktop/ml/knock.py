"""The knock/timing advisor: where this tune's spark knocks, how much to pull where it did, and
where advance toward MBT is safe.

**What it learns.** From the knock records of the shop's sessions (``records.KnockSample``):
every cell and cylinder run with knock control on, the spark the tune had there, how hot the
head and the intake air were, and whether the ECM heard knock. A gradient-boosting classifier
(scikit-learn's ``HistGradientBoostingClassifier``) fits P(knock) from the build (compression,
octane, cam, displacement, family, altitude through the barometer), the cell (rpm, MAP,
cylinder) and those conditions. It is held monotonic where the physics is not in doubt: more
spark, compression, MAP, head or air temperature never makes knock less likely, more octane
never more.

**What it advises** (:meth:`KnockAdvisor.advise`, per spark table), the model's P(knock) first
shifted by this bike's own offset near each cell (:meth:`KnockAdvisor.bike_offsets`: how much
more or less the cylinder knocked on the tune's own spark around the cell than the model expects
of its build, in log-odds):

- the **knock-prone mask**: every cell (at ``KNOCK_CONTROL_KPA`` or more) where this session
  knocked on the tune's spark, and every cell where knock on its spark is more likely than not
  (P(knock) at or above ``PRONE_PROBABILITY``; a version trained before kept the threshold it
  learned) at the engine's working temperatures (how hot the shop's engines run under load,
  ``working_conditions``), unless this bike ran it ``CLEARED_DEG`` over the table's spark without
  knock (a timing sweep's evidence beats the model's guess from builds like it). The editor's
  overlay rules never advance a knock-prone cell. (What a cell ran clean at counts a degree
  less for every ``HEAT_K_PER_DEG`` its head ran under the working temperature.)
- **safe retard** where knock was seen: the most the ECM pulled there, or more until the model
  gives P < ``SAFE_PROBABILITY``, in 0.5° steps and never more than the spark authority limit;
- **advance** where no knock was seen and dyno torque rose with advance (the session's torque
  per degree in that rpm row is above zero by two standard errors: the row runs short of MBT):
  the most, in 0.5° steps up to the spark authority limit, that keeps P(knock) below
  ``SAFE_PROBABILITY`` with ``ADVANCE_MARGIN_DEG`` to spare, stays ``SWEEP_MARGIN_DEG`` under
  the most spark this bike held there without knock for ``MIN_SAMPLE_S`` (a sweep's quarter-second
  pass is too brief to vouch for an advance) and ``ADVANCE_MARGIN_DEG`` under
  the least that knocked within a row at the same or a higher MAP. Never in a knock-prone
  cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.features import (
    CATEGORICAL,
    Air,
    cell_features,
    session_air,
    validation_group,
)
from dynoai_desktop.ml.features import (
    FEATURE_NAMES as CELL_FEATURE_NAMES,
)
from dynoai_desktop.ml.fitted import check_feature_names, one_estimator, one_thread, params_json
from dynoai_desktop.ml.training.records import KnockSample, KnockTiming, TuningSession

KIND = "knock"
CONDITION_NAMES = ("octane_aki", "spark_deg", "head_c", "iat_c")
FEATURE_NAMES: tuple[str, ...] = (*CELL_FEATURE_NAMES, *CONDITION_NAMES)
_CATEGORICAL = (*CATEGORICAL, *(False for _ in CONDITION_NAMES))
_RISING = {"compression_ratio": 1, "load_kpa": 1, "spark_deg": 1, "head_c": 1, "iat_c": 1,
           "octane_aki": -1}
_MONOTONIC = tuple(_RISING.get(name, 0) for name in FEATURE_NAMES)
PARAMS = {"max_iter": 300, "learning_rate": 0.08, "min_samples_leaf": 20, "max_leaf_nodes": 31,
          "l2_regularization": 1.0, "random_state": 0}
KNOCK_CONTROL_KPA = 50.0
"""The ECM listens for knock at and above this MAP; below it no cell is knock-prone."""
MIN_SAMPLE_S = 0.3
"""A cell run this long without knock says "no knock" (a knocking cell counts however short)."""
HIGH_LOAD_KPA = 80.0
"""Advance is offered at and above this MAP (below it a dyno pull does not tell torque)."""
PRONE_PROBABILITY = 0.5
"""Knock-prone from here: knock on a visit at the working temperatures more likely than not."""
SAFE_PROBABILITY = 0.1
ADVANCE_MARGIN_DEG = 1.0
STEP_DEG = 0.5
MAX_RETARD_DEG = 6.0
"""Retard is never asked beyond what a Delphi's knock control could pull (6°)."""
TORQUE_EVIDENCE_SE = 2.0
OFFSET_PRIOR = 1.0
MAX_OFFSET = 4.0
OFFSET_REACH_CELLS = 2.0
"""The bike's own samples speak for cells this near (grid cells, a Gaussian's SD)."""
SWEPT_MIN_S = 0.15
"""A sample this long without knock says the cell took that spark (a timing sweep's pull passes
a cell in a quarter second)."""
HEAT_K_PER_DEG = 25.0 / 1.5
"""What a cooler head is worth: a sample run clean this many K under the working head temperature
counts as a degree less spark. The rate is the real calibration's own: the Power Vision head
temperature spark trim takes 1.5° off between 284 °F and 329 °F (140-165 °C; vtwin.md §4)."""
SWEEP_MARGIN_DEG = 2.0
"""An advance stays this far under the most spark the bike held clean in the cell: the sweep ran
on the day's heads, and a hot day takes a degree or two off the limit."""
CLEARED_DEG = 2.0
"""A cell this bike ran without knock this far over the table's spark is not knock-prone, whatever
the model says of builds like it."""
OWN_SPARK_DEG = 1.0
"""A sample within this of the table's spark ran on the tune's own spark (a timing sweep's
advanced pulls run further over it)."""
DEFAULT_OCTANE_AKI = 91.0
HOT_PERCENTILE = 90.0
DEFAULT_WORKING = {"head_c": 140.0, "iat_c": 45.0}
SPARK_TABLES = {"front": "spark_front", "rear": "spark_rear"}

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _value(v: float | None) -> float:
    return math.nan if v is None else float(v)


def sample_rows(build: BuildSpec, air: Air, samples: Sequence[KnockSample]) -> FloatArray:
    """``FEATURE_NAMES`` rows of knock samples of one session."""
    if not samples:
        return np.empty((0, len(FEATURE_NAMES)))
    out = []
    for cyl in ("front", "rear"):
        mine = [s for s in samples if s.cylinder == cyl]
        if not mine:
            continue
        cells = cell_features(build, air, [s.rpm for s in mine], [s.map_kpa for s in mine], cyl)
        extra = np.array([[_octane(build), s.spark_deg, _value(s.head_c), _value(s.iat_c)]
                          for s in mine])
        out.append(np.hstack([cells, extra]))
    return np.vstack(out)


def _octane(build: BuildSpec) -> float:
    return float(build.fuel_octane_aki) if build.fuel_octane_aki else DEFAULT_OCTANE_AKI


@dataclass(frozen=True, eq=False)
class KnockSamples:
    """One row per knock sample (``MIN_SAMPLE_S`` or knocking) of the sessions' knock records."""

    X: FloatArray
    y: npt.NDArray[np.int_]  # 1: knocked
    groups: npt.NDArray[np.str_]
    session_ids: npt.NDArray[np.str_]

    @property
    def sessions(self) -> npt.NDArray[np.str_]:
        return self.session_ids

    def subset(self, mask: BoolArray) -> KnockSamples:
        return KnockSamples(self.X[mask], self.y[mask], self.groups[mask], self.session_ids[mask])


def knock_samples(sessions: Sequence[TuningSession], scope: str = "shop") -> KnockSamples:
    """The knock samples of every session with a knock record (schema 4) and a readable build."""
    xs, ys, groups, ids = [], [], [], []
    for session in sessions:
        record = session.patterns.knock_timing
        if record is None or not record.samples:
            continue
        try:
            build = BuildSpec.from_dict(session.build, f"session {session.session_id}")
        except InputError:
            continue
        kept = _ordered([s for s in record.samples if s.events > 0 or s.seconds >= MIN_SAMPLE_S])
        rows = sample_rows(build, session_air(session), kept)
        xs.append(rows)
        ys += [int(s.events > 0) for s in kept]
        group = validation_group(build, scope, session.session_id)
        groups += [group] * len(rows)
        ids += [session.session_id] * len(rows)
    X = np.vstack(xs) if xs else np.empty((0, len(FEATURE_NAMES)))
    return KnockSamples(X, np.array(ys, dtype=np.int_), np.array(groups, dtype=str),
                        np.array(ids, dtype=str))


def _ordered(samples: Sequence[KnockSample]) -> list[KnockSample]:
    """Front first, then rear: the order ``sample_rows`` gives its rows in."""
    return [s for cyl in ("front", "rear") for s in samples if s.cylinder == cyl]


def working_conditions(samples: KnockSamples) -> dict[str, float]:
    """How hot the shop's engines run under load: the ``HOT_PERCENTILE`` of the head and of the
    intake-air temperature its samples logged at ``HIGH_LOAD_KPA`` or more. The knock-prone
    mask is judged there: a cell that knocks once the engine is that hot is knock-prone."""
    load = samples.X[:, FEATURE_NAMES.index("load_kpa")] >= HIGH_LOAD_KPA
    out = {}
    for name, default in DEFAULT_WORKING.items():
        col = samples.X[load, FEATURE_NAMES.index(name)]
        col = col[np.isfinite(col)]
        out[name] = (round(float(np.percentile(col, HOT_PERCENTILE)), 1) if col.size
                     else default)
    return out


def fit_classifier(X: FloatArray, y: npt.NDArray[np.int_]) -> HistGradientBoostingClassifier:
    """P(knock) with the monotonic constraints of the module's doc."""
    model = HistGradientBoostingClassifier(categorical_features=list(_CATEGORICAL),
                                           monotonic_cst=list(_MONOTONIC), **PARAMS)
    with one_thread():
        return model.fit(X, y)


# ------------------------------------------------------------------------ the advice
@dataclass(frozen=True, eq=False)
class TableAdvice:
    """One spark table's advice: its knock-prone mask, and the degrees to move each cell."""

    table: str
    cylinder: str
    prone: BoolArray  # knock-prone (seen or predicted), the table's shape
    seen: BoolArray  # where this session knocked
    change_deg: FloatArray  # - retard, + advance, 0 elsewhere
    probability: FloatArray  # P(knock) at the tune's spark, working temperatures

    @property
    def retarded(self) -> BoolArray:
        return self.change_deg < 0

    @property
    def advanced(self) -> BoolArray:
        return self.change_deg > 0

    def overlay(self) -> Overlay | None:
        """The retard and advance as one overlay (None when no cell moves)."""
        mask = self.change_deg != 0
        if not mask.any():
            return None
        return Overlay(self.table, OverlayKind.ABSOLUTE, self.change_deg, mask,
                       OverlaySource.TIMING, confidence=np.clip(
                           np.where(self.advanced, 1.0 - self.probability / SAFE_PROBABILITY,
                                    1.0), 0.0, 1.0),
                       description=f"timing advice for {self.table}")

    def summary(self) -> str:
        parts = [f"{int(self.prone.sum())} knock-prone ({int(self.seen.sum())} knocked here)"]
        if self.retarded.any():
            r = -self.change_deg[self.retarded]
            parts.append(f"retard {int(self.retarded.sum())} by {r.min():g}-{r.max():g}°")
        if self.advanced.any():
            a = self.change_deg[self.advanced]
            parts.append(f"advance {int(self.advanced.sum())} by {a.min():g}-{a.max():g}°")
        return ", ".join(parts)


@dataclass(frozen=True)
class TimingAdvice:
    tables: list[TableAdvice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _nearest(axis: FloatArray, x: float) -> int:
    return int(np.argmin(np.abs(axis - x)))


def _knocked_nearby(knock_spark: FloatArray, cols: FloatArray) -> FloatArray:
    """Per cell, the lowest spark that knocked within one rpm row at the same or a higher MAP
    (inf where none did): a cell is never advanced to where a heavier neighbour knocked."""
    n_rows, _ = knock_spark.shape
    # the lowest over the cell's MAP and every higher one, in its row
    upward = np.minimum.accumulate(knock_spark[:, ::-1], axis=1)[:, ::-1]
    out = upward.copy()
    if n_rows > 1:
        out[1:] = np.minimum(out[1:], upward[:-1])
        out[:-1] = np.minimum(out[:-1], upward[1:])
    return out


@dataclass(frozen=True, eq=False)
class KnockAdvisor:
    """A fitted knock/timing advisor: its classifier (``estimators["knocks"]``) and params."""

    estimators: dict[str, HistGradientBoostingClassifier]
    params: dict[str, Any]

    def params_json(self) -> dict[str, Any]:
        return params_json(self.params)

    @classmethod
    def from_artifacts(cls, estimators: dict[str, Any], params: dict[str, Any]) -> KnockAdvisor:
        """The model from its stored estimators and parameters (InputError when they are not a
        knock advisor's)."""
        fitted = one_estimator(estimators, "knocks", HistGradientBoostingClassifier,
                               "knock/timing", "classifier")
        check_feature_names(params, FEATURE_NAMES, "knock/timing")
        return cls({"knocks": fitted}, dict(params))

    @property
    def prone_probability(self) -> float:
        """The P(knock) from which a cell is knock-prone (as trained: ``PRONE_PROBABILITY``, or
        the threshold an older version learned)."""
        return float(self.params.get("prone_probability", PRONE_PROBABILITY))

    @property
    def working(self) -> dict[str, float]:
        stored = self.params.get("working", {})
        return {k: float(stored.get(k, v)) for k, v in DEFAULT_WORKING.items()}

    def probability(self, X: FloatArray) -> FloatArray:
        """P(knock) per row of ``FEATURE_NAMES`` columns."""
        if not len(X):
            return np.empty(0)
        with one_thread():
            p = self.estimators["knocks"].predict_proba(X)
        classes = list(self.estimators["knocks"].classes_)
        return (np.asarray(p[:, classes.index(1)], dtype=np.float64) if 1 in classes
                else np.zeros(len(X)))

    def _grid_rows(self, build: BuildSpec, air: Air, table: Table, cylinder: str,
                   spark: FloatArray) -> FloatArray:
        rpm, kpa = np.meshgrid(table.row_breakpoints, table.col_breakpoints, indexing="ij")
        cells = cell_features(build, air, rpm.ravel(), kpa.ravel(), cylinder)
        work = self.working
        extra = np.column_stack([np.full(rpm.size, _octane(build)), spark.ravel(),
                                 np.full(rpm.size, work["head_c"]),
                                 np.full(rpm.size, work["iat_c"])])
        return np.hstack([cells, extra])

    def bike_offsets(self, build: BuildSpec, air: Air, table: Table, cylinder: str,
                     evidence: KnockTiming | None) -> FloatArray:
        """Per cell of ``table``: how much more (or less) this cylinder knocked on the tune's own
        spark near the cell than the model expects of its build, in log-odds.

        The evidence is the cylinder's samples run on the table's spark (within
        ``OWN_SPARK_DEG``: the question the mask asks), each weighted by how near its cell is
        (a Gaussian of ``OFFSET_REACH_CELLS`` grid cells); per cell, the one offset that best
        explains them (a logistic fit with the model's P at the sample's own conditions as the
        offset), shrunk toward 0 by ``OFFSET_PRIOR``. A timing sweep's advanced samples do not
        count: they tell how fast knock comes on past the limit, not where the limit is. Far
        from any sample the offset is 0: the model's answer stands."""
        out = np.zeros(table.shape)
        if evidence is None:
            return out
        rows = np.asarray(table.row_breakpoints, dtype=np.float64)
        cols = np.asarray(table.col_breakpoints, dtype=np.float64)
        spark = np.asarray(table.values, dtype=np.float64)
        kept, where = [], []
        for s in evidence.samples:
            if s.cylinder != cylinder or not (s.events > 0 or s.seconds >= SWEPT_MIN_S):
                continue
            at = (_nearest(rows, s.rpm), _nearest(cols, s.map_kpa))
            if s.spark_deg <= spark[at] + OWN_SPARK_DEG:
                kept.append(s)
                where.append(at)
        if not kept:
            return out
        p = np.clip(self.probability(sample_rows(build, air, kept)), 1e-4, 1 - 1e-4)
        base = np.log(p / (1 - p))
        y = np.array([s.events > 0 for s in kept], dtype=np.float64)
        at_row, at_col = (np.array(v, dtype=np.float64) for v in zip(*where, strict=True))
        grid_r, grid_c = np.meshgrid(np.arange(table.shape[0]), np.arange(table.shape[1]),
                                     indexing="ij")
        distance2 = ((grid_r.ravel()[:, None] - at_row[None, :]) ** 2
                     + (grid_c.ravel()[:, None] - at_col[None, :]) ** 2)
        weight = np.exp(-distance2 / (2.0 * OFFSET_REACH_CELLS ** 2))  # cells x samples
        delta = np.zeros(weight.shape[0])
        for _ in range(25):  # Newton on each cell's penalised log-likelihood
            q = 1.0 / (1.0 + np.exp(-(base[None, :] + delta[:, None])))
            grad = (weight * (y[None, :] - q)).sum(axis=1) - delta / OFFSET_PRIOR ** 2
            hess = (weight * q * (1 - q)).sum(axis=1) + 1.0 / OFFSET_PRIOR ** 2
            step = grad / hess
            delta += step
            if np.abs(step).max() < 1e-6:
                break
        return np.clip(delta, -MAX_OFFSET, MAX_OFFSET).reshape(table.shape)

    def knock_probability(self, build: BuildSpec, air: Air, table: Table, cylinder: str,
                          spark: FloatArray | None = None,
                          offset: FloatArray | float = 0.0) -> FloatArray:
        """P(knock) in each cell of ``table`` at ``spark`` (default: the table's own) and the
        working temperatures, the bike's ``offset`` (log-odds, per cell or one for all) added;
        0 below ``KNOCK_CONTROL_KPA``."""
        view = np.asarray(table.values if spark is None else spark, dtype=np.float64)
        p = self.probability(self._grid_rows(build, air, table, cylinder, view))
        p = p.reshape(table.shape)
        if np.any(offset):
            p = np.clip(p, 1e-6, 1 - 1e-6)
            p = 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + offset)))
        controlled = np.asarray(table.col_breakpoints)[None, :] >= KNOCK_CONTROL_KPA
        return np.where(controlled, p, 0.0)

    def advise(self, build: BuildSpec, air: Air, tables: Mapping[str, Table],
               evidence: KnockTiming | None, authority_deg: float) -> TimingAdvice:
        """The advice for each MAP-based spark table of ``tables`` (keyed "front"/"rear"),
        from this session's knock record ``evidence`` (None: the mask only, from the model)."""
        out, notes = [], []
        if evidence is None:
            notes.append("no knock record for this session: the mask is the model's alone, "
                         "and nothing is retarded or advanced")
        for cylinder, table in tables.items():
            if table.col_axis != "map_kpa":
                notes.append(f"{table.name}: timing advice is for MAP-based spark tables; this "
                             f"one is over {table.col_axis}")
                continue
            out.append(self._advise_table(build, air, table, cylinder, evidence,
                                          authority_deg))
        return TimingAdvice(out, notes)

    def _advise_table(self, build: BuildSpec, air: Air, table: Table, cylinder: str,
                      evidence: KnockTiming | None, authority_deg: float) -> TableAdvice:
        rows = np.asarray(table.row_breakpoints, dtype=np.float64)
        cols = np.asarray(table.col_breakpoints, dtype=np.float64)
        spark = np.asarray(table.values, dtype=np.float64)
        offset = self.bike_offsets(build, air, table, cylinder, evidence)
        p = self.knock_probability(build, air, table, cylinder, offset=offset)
        seen = np.zeros(table.shape, dtype=bool)
        pulled = np.zeros(table.shape)
        clean = np.zeros(table.shape, dtype=bool)
        knock_spark = np.full(table.shape, np.inf)  # the lowest spark that knocked there
        passed = np.full(table.shape, -np.inf)  # the most spark it passed without knock
        ran_clean = np.full(table.shape, -np.inf)  # ... and held there MIN_SAMPLE_S or more
        rising_rows: set[int] = set()
        if evidence is not None:
            for s in evidence.samples:
                if s.cylinder != cylinder or s.map_kpa < KNOCK_CONTROL_KPA:
                    continue
                at = (_nearest(rows, s.rpm), _nearest(cols, s.map_kpa))
                own = s.spark_deg <= spark[at] + OWN_SPARK_DEG  # not a sweep's advanced pull
                if s.events > 0:
                    seen[at] |= own
                    knock_spark[at] = min(knock_spark[at], s.spark_deg)
                elif s.seconds >= SWEPT_MIN_S:
                    clean[at] |= own and s.seconds >= MIN_SAMPLE_S
                    # a degree off for every HEAT_K_PER_DEG the head ran under working
                    cooler = max(0.0, self.working["head_c"] - (
                        s.head_c if s.head_c is not None else self.working["head_c"]))
                    took = s.spark_deg - cooler / HEAT_K_PER_DEG
                    passed[at] = max(passed[at], took)
                    if s.seconds >= MIN_SAMPLE_S:
                        ran_clean[at] = max(ran_clean[at], took)
            for k in evidence.knock_cells:
                at = (_nearest(rows, k.rpm), _nearest(cols, k.map_kpa))
                pulled[at] = max(pulled[at], k.degrees)
            rising_rows = {_nearest(rows, t.rpm) for t in evidence.torque_slopes
                           if t.ft_lb_per_deg - TORQUE_EVIDENCE_SE * t.stderr > 0}
        controlled = cols[None, :] >= KNOCK_CONTROL_KPA
        cleared = passed >= spark + CLEARED_DEG  # this bike ran clean well over the table
        prone = controlled & (seen | ((p >= self.prone_probability) & ~cleared))
        change = np.zeros(table.shape)
        limit = min(authority_deg, MAX_RETARD_DEG)
        steps = np.arange(STEP_DEG, limit + 1e-9, STEP_DEG)
        if seen.any() and steps.size:
            need = np.where(seen, np.minimum(np.ceil(pulled / STEP_DEG) * STEP_DEG, limit), 0.0)
            for r in steps:  # more retard until the model calls it safe, or the limit
                unsafe = seen & (need < r) & (self.knock_probability(
                    build, air, table, cylinder, spark - need, offset) >= SAFE_PROBABILITY)
                need = np.where(unsafe, r, need)
            change = np.where(seen, -np.maximum(need, min(STEP_DEG, limit)), 0.0)
        candidates = (clean & ~prone & ~seen & (cols[None, :] >= HIGH_LOAD_KPA)
                      & np.isin(np.arange(table.shape[0]), sorted(rising_rows))[:, None])
        if candidates.any() and authority_deg >= STEP_DEG:
            # no further than a degree under where this bike knocked (nearby, or heavier), and
            # than a degree under the most it ran clean there: advance is what was seen to work
            ceiling = np.minimum(_knocked_nearby(knock_spark, cols) - ADVANCE_MARGIN_DEG,
                                 ran_clean - SWEEP_MARGIN_DEG)
            best = np.zeros(table.shape)
            for a in np.arange(STEP_DEG, authority_deg + 1e-9, STEP_DEG):
                ok = (self.knock_probability(build, air, table, cylinder,
                                             spark + a + ADVANCE_MARGIN_DEG, offset)
                      < SAFE_PROBABILITY
                      ) & (spark + a <= ceiling)
                best = np.where(candidates & ok & (best == a - STEP_DEG), a, best)
            change = np.where(candidates, best, change)
        return TableAdvice(table.name, cylinder, prone, seen, change, p)
