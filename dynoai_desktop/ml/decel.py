"""The decel-pop recommender: a build and the lean spikes its decels showed -> how much to enrich
the closed-throttle VE cells, and where, so the pops stop.

**The physics it leans on.** A hot cam's overlap and an open pipe make a lean closed-throttle
charge misfire and light in the pipe; the simulated cell (and the shops' rule of thumb) pops
while the burnt λ sits above about 0.95. Enriching the closed-throttle cells by e % divides λ by
(1 + e / 100), so the enrichment needed is how far the decel runs lean, which the session's
measured evidence carries: lean spikes per decel (more spikes, leaner), their median peak AFR,
the pops the tuner heard, and their rpm band; the build (cam overlap, exhaust, air cleaner,
family and displacement) says how readily that leanness pops.

**What it learns.** From each session of the shop's history with decel data, the chance the
pops are gone at an enrichment: a row at 0 % (labelled "stopped" when the shop heard no pop and
fixed nothing, "not stopped" when it had to fix them) and, where the shop applied an enrichment,
a row at that enrichment labelled by the decels run after it (the pops heard cut by
``FIXED_CUT``; without pop markers, the lean spikes). A session that marked no pop and needed no
fix heard none: its pops heard count as 0. A gradient-boosting classifier
(scikit-learn's ``HistGradientBoostingClassifier``) fits P(stopped | build, evidence, enrichment)
with monotonic constraints: never less likely to stop with more enrichment, never more likely
with more spikes or more pops heard. The 0 % rows anchor the low end (without them a tree
extrapolates the shop's smallest successful enrichment down to 0 %).

**What it recommends.** The smallest enrichment on a ``STEP_PCT`` grid whose P reaches the
target, at most ``MAX_ENRICHMENT_PCT`` (the bound, when P never gets there); the monotonic
constraints make that never smaller for more spikes or pops heard. The target is
``TARGET_PROBABILITY``, or the share of the shop's own fixes that worked when that is lower: on
the cell some pops come as the throttle shuts, before the MAP reaches the closed-throttle
columns, and a fix of two decels is judged on a handful of pops, so even a generous fix fails
about one time in three, and a target above that would always ask for the bound.

The zone: the spike rpm band snapped out to the table's rpm breakpoints and one breakpoint
beyond on each side (the ECM interpolates between rows, and the wideband sees a pop a moment
after it, the rpm already lower), else the band the training sessions showed; the MAP columns
at or below ``ZONE_MAP_MAX_KPA`` (closed throttle, as the shop does). One multiplicative
overlay per MAP-based VE table, its mask the zone's cells only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay.model import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.features import (
    BUILD_FEATURES,
    CATEGORICAL,
    FEATURE_NAMES,
    Air,
    build_row,
    session_air,
    validation_group,
)
from dynoai_desktop.ml.fitted import check_feature_names, one_estimator, one_thread, params_json
from dynoai_desktop.ml.training.records import DecelPopping, TuningSession

KIND = "decel_enrichment"
EVIDENCE_FEATURES = ("spikes_per_decel", "spike_afr", "spike_rpm_low", "spike_rpm_high",
                     "pops_heard_per_decel")
DECEL_FEATURE_NAMES: tuple[str, ...] = (*BUILD_FEATURES, *EVIDENCE_FEATURES, "enrichment_pct")
_CATEGORICAL = tuple(n in BUILD_FEATURES and CATEGORICAL[FEATURE_NAMES.index(n)]
                     for n in DECEL_FEATURE_NAMES)
_MONOTONIC = tuple({"enrichment_pct": 1, "spikes_per_decel": -1,
                    "pops_heard_per_decel": -1}.get(n, 0) for n in DECEL_FEATURE_NAMES)
ENRICHMENT_COLUMN = DECEL_FEATURE_NAMES.index("enrichment_pct")

PARAMS = {"max_iter": 150, "learning_rate": 0.05, "min_samples_leaf": 8, "max_leaf_nodes": 8,
          "l2_regularization": 1.0, "random_state": 0}
TARGET_PROBABILITY = 0.9
MAX_ENRICHMENT_PCT = 25.0
STEP_PCT = 0.5
ZONE_MAP_MAX_KPA = 30.0
"""The closed-throttle MAP columns (kPa) the enrichment raises, as the shop's hand fix does."""
FIXED_CUT = 0.7
"""A fix counts as stopping the pops when it cut the pops per decel by this share (the issue's
goal); by the lean spikes when the session marks no pops."""

DEFAULT_ZONE_RPM = (1750.0, 5500.0)
"""The pop band used when neither the session nor the training data gives one (vtwin.md §5)."""

FloatArray = npt.NDArray[np.float64]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class DecelEvidence:
    """What a session's closed-throttle decels measured before any fix."""

    spikes_per_decel: float
    spike_afr: float | None = None  # median peak AFR of the spikes
    spike_rpm: tuple[float, float] | None = None  # rpm band of the spikes
    pops_heard_per_decel: float | None = None  # "pop" markers per decel (None: none marked)

    @classmethod
    def from_record(cls, record: DecelPopping) -> DecelEvidence:
        """The evidence of a training record (its "before" figures)."""
        band = record.zone_rpm
        return cls(float(record.pops_per_decel_before), float(record.spike_afr),
                   (float(min(band)), float(max(band))) if len(band) == 2 else None,
                   record.pops_heard_per_decel_before)

    def row(self) -> list[float]:
        """The ``EVIDENCE_FEATURES`` columns (missing: NaN)."""
        low, high = self.spike_rpm if self.spike_rpm is not None else (math.nan, math.nan)
        return [float(self.spikes_per_decel), _or_nan(self.spike_afr), float(low), float(high),
                _or_nan(self.pops_heard_per_decel)]

    def summary(self) -> str:
        """'2.3 lean spikes per decel measured, 1.0 pop heard'."""
        text = f"{self.spikes_per_decel:.1f} lean spikes per decel measured"
        if self.spike_afr is not None:
            text += f" (median {self.spike_afr:.1f} AFR)"
        if self.pops_heard_per_decel is not None:
            text += f", {self.pops_heard_per_decel:.1f} pops heard per decel"
        return text


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def decel_row(build: BuildSpec, air: Air, evidence: DecelEvidence, enrichment_pct: float
              ) -> list[float]:
    """One row of ``DECEL_FEATURE_NAMES``."""
    return [*build_row(build, air), *evidence.row(), float(enrichment_pct)]


def stopped_after(record: DecelPopping) -> bool | None:
    """Whether the session's fix stopped the pops: cut them by ``FIXED_CUT`` or more (gone, for
    a bike that popped once or twice), counted by ear where the tuner marked pops, else as lean
    spikes. None: no fix, or no decel after it."""
    if record.enrichment_pct is None or record.pops_per_decel_after is None:
        return None
    before, after = record.pops_heard_per_decel_before, record.pops_heard_per_decel_after
    if before is None or after is None:
        before, after = record.pops_per_decel_before, record.pops_per_decel_after
    return after <= (1.0 - FIXED_CUT) * before


def needed_fix(record: DecelPopping) -> bool:
    """Whether the session popped enough for the shop to fix it."""
    if record.enrichment_pct is not None:
        return True
    return bool(record.pops_heard_per_decel_before)


# ------------------------------------------------------------------------ samples
@dataclass(frozen=True)
class DecelSamples:
    """Rows of (build, evidence, enrichment) -> the pops stopped (1) or not (0)."""

    X: FloatArray
    y: npt.NDArray[np.int_]
    groups: npt.NDArray[np.str_]
    sessions: npt.NDArray[np.str_]
    zones: tuple[tuple[float, float], ...] = ()  # spike bands of the sessions that were fixed

    @property
    def session_ids(self) -> list[str]:
        return sorted(set(self.sessions.tolist()))

    @property
    def fixes(self) -> int:
        """Rows of an applied enrichment."""
        return int(np.sum(self.X[:, ENRICHMENT_COLUMN] > 0)) if self.y.size else 0

    def subset(self, mask: npt.NDArray[np.bool_]) -> DecelSamples:
        return DecelSamples(self.X[mask], self.y[mask], self.groups[mask], self.sessions[mask],
                            self.zones)


def decel_samples(sessions: Sequence[TuningSession], scope: str = "shop") -> DecelSamples:
    """Two rows per session whose decels were read (0 % and the shop's enrichment), one when
    it applied none; sessions without decel data or a readable build give none."""
    xs: list[list[float]] = []
    ys: list[int] = []
    groups: list[str] = []
    ids: list[str] = []
    zones: list[tuple[float, float]] = []
    for session in sessions:
        record = session.patterns.decel_popping
        if record is None:
            continue
        try:
            build = BuildSpec.from_dict(session.build, f"session {session.session_id}")
        except InputError:
            continue
        air, evidence = session_air(session), DecelEvidence.from_record(record)
        if evidence.pops_heard_per_decel is None and record.enrichment_pct is None:
            evidence = replace(evidence, pops_heard_per_decel=0.0)  # the shop heard none
        group = validation_group(build, scope, session.session_id)
        rows = [(0.0, 0 if needed_fix(record) else 1)]
        stopped = stopped_after(record)
        if stopped is not None and record.enrichment_pct:
            rows.append((float(record.enrichment_pct), int(stopped)))
            if evidence.spike_rpm is not None:
                zones.append(evidence.spike_rpm)
        for enrichment, label in rows:
            xs.append(decel_row(build, air, evidence, enrichment))
            ys.append(label)
            groups.append(group)
            ids.append(session.session_id)
    return DecelSamples(np.array(xs, dtype=np.float64).reshape(-1, len(DECEL_FEATURE_NAMES)),
                        np.array(ys, dtype=np.int_), np.array(groups, dtype=str),
                        np.array(ids, dtype=str), tuple(zones))


def fit_classifier(X: FloatArray, y: npt.NDArray[np.int_]) -> HistGradientBoostingClassifier:
    """P(stopped) with the monotonic constraints of the module's doc."""
    model = HistGradientBoostingClassifier(categorical_features=list(_CATEGORICAL),
                                           monotonic_cst=list(_MONOTONIC), **PARAMS)
    with one_thread():
        return model.fit(X, y)


def typical_zone(zones: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """The median spike band of the fixed sessions (``DEFAULT_ZONE_RPM`` without any)."""
    if not zones:
        return DEFAULT_ZONE_RPM
    arr = np.array(zones, dtype=np.float64)
    return float(np.median(arr[:, 0])), float(np.median(arr[:, 1]))


# ------------------------------------------------------------------------ the model
@dataclass(frozen=True)
class DecelRecommendation:
    """Where and how much to enrich, how likely the pops stop, and the overlays that do it."""

    zone_rpm: tuple[float, float]
    zone_map_kpa: tuple[float, float]
    enrichment_pct: float
    probability: float  # P(the pops stop) at that enrichment
    overlays: tuple[Overlay, ...]  # one per VE table (none when no enrichment is needed)
    description: str


@dataclass(frozen=True)
class DecelModel:
    """A fitted decel recommender: its classifier (``estimators["stopped"]``) and parameters."""

    estimators: dict[str, HistGradientBoostingClassifier]
    params: dict[str, Any]

    def params_json(self) -> dict[str, Any]:
        """The parameters as JSON values (what the registry keeps beside the estimators)."""
        return params_json(self.params)

    @classmethod
    def from_artifacts(cls, estimators: dict[str, Any], params: dict[str, Any]) -> DecelModel:
        """The model from its stored estimators and parameters (InputError when they are not a
        decel model's)."""
        stopped = one_estimator(estimators, "stopped", HistGradientBoostingClassifier, "decel",
                                "classifier")
        check_feature_names(params, DECEL_FEATURE_NAMES, "decel")
        return cls({"stopped": stopped}, dict(params))

    @property
    def target(self) -> float:
        return float(self.params.get("target_probability", TARGET_PROBABILITY))

    def probability(self, X: FloatArray) -> FloatArray:
        """P(stopped) per row."""
        if not len(X):
            return np.empty(0)
        with one_thread():
            p = self.estimators["stopped"].predict_proba(X)[:, 1]
        return np.asarray(p, dtype=np.float64)

    def enrichment_curve(self, build: BuildSpec, air: Air, evidence: DecelEvidence
                         ) -> tuple[FloatArray, FloatArray]:
        """(enrichment %, P(stopped)) on the grid: 0, then from the least enrichment the shop's
        history applied (below it the trees have nothing to split on: they would carry that
        enrichment's outcome down towards 0 %) to the bound."""
        step = float(self.params.get("step_pct", STEP_PCT))
        top = float(self.params.get("max_enrichment_pct", MAX_ENRICHMENT_PCT))
        least = float(self.params.get("least_enrichment_pct", step))
        grid = np.round(np.arange(0.0, top + step / 2.0, step), 3)
        grid = grid[(grid == 0.0) | (grid >= least)]
        row = decel_row(build, air, evidence, 0.0)
        X = np.tile(np.array(row, dtype=np.float64), (grid.size, 1))
        X[:, ENRICHMENT_COLUMN] = grid
        return grid, self.probability(X)

    def needed(self, build: BuildSpec, air: Air, evidence: DecelEvidence
               ) -> tuple[float, float]:
        """The smallest enrichment whose P(stopped) reaches the target (the bound when none
        does), and that P."""
        grid, p = self.enrichment_curve(build, air, evidence)
        enough = np.flatnonzero(p >= self.target)
        i = int(enough[0]) if enough.size else grid.size - 1
        return float(grid[i]), float(p[i])

    def zone_rpm(self, table: Table, evidence: DecelEvidence) -> tuple[float, float]:
        """The rpm band to enrich on ``table``'s rows (see the module's doc)."""
        band = evidence.spike_rpm or tuple(self.params.get("zone_rpm", DEFAULT_ZONE_RPM))
        rows = np.unique(np.asarray(table.row_breakpoints, dtype=np.float64))
        lo = int(np.searchsorted(rows, band[0], side="right")) - 1  # last row <= the band
        hi = int(np.searchsorted(rows, band[1], side="left"))  # first row >= the band
        lo, hi = max(lo - 1, 0), min(hi + 1, rows.size - 1)
        return float(rows[lo]), float(rows[hi])

    def recommend(self, build: BuildSpec, air: Air, evidence: DecelEvidence,
                  front_table: Table, rear_table: Table) -> DecelRecommendation:
        """The decel enrichment for this build and evidence, as overlays on the MAP-based VE
        tables (InputError when a table is not MAP-based)."""
        enrichment, p = self.needed(build, air, evidence)
        map_max = float(self.params.get("zone_map_max_kpa", ZONE_MAP_MAX_KPA))
        zone = self.zone_rpm(front_table, evidence)
        zone_map = (float(front_table.col_breakpoints[0]), map_max)
        overlays = []
        for table in (front_table, rear_table):
            if table.col_axis != "map_kpa":
                raise InputError(f"table {table.name!r} is {table.col_axis}-based; the decel "
                                 "enrichment goes on the MAP-based VE tables")
            mask = zone_mask(table, zone, map_max)
            if enrichment > 0 and mask.any():
                overlays.append(Overlay(
                    table.name, OverlayKind.MULTIPLICATIVE,
                    np.where(mask, enrichment, 0.0), mask, OverlaySource.DECEL_ENRICHMENT,
                    confidence=np.where(mask, round(p, 3), 0.0),
                    description=describe(enrichment, zone, map_max, evidence, p)))
        return DecelRecommendation(zone, zone_map, enrichment, p, tuple(overlays),
                                   describe(enrichment, zone, map_max, evidence, p))


def zone_mask(table: Table, zone_rpm: tuple[float, float], map_max_kpa: float
              ) -> npt.NDArray[np.bool_]:
    """The cells of ``table`` (raw shape) in the rpm band at or under the MAP."""
    rows = (table.row_breakpoints >= zone_rpm[0]) & (table.row_breakpoints <= zone_rpm[1])
    cols = table.col_breakpoints <= map_max_kpa
    return rows[:, None] & cols[None, :]


def describe(enrichment_pct: float, zone_rpm: tuple[float, float], map_max_kpa: float,
             evidence: DecelEvidence, probability: float) -> str:
    """The line a tuner reads: '+9 % at 1750-5500 rpm × ≤30 kPa: 2.3 lean spikes per decel
    measured (pops stop: P 0.93)'."""
    if enrichment_pct <= 0:
        return (f"no decel enrichment needed: {evidence.summary()} (pops stop: P "
                f"{probability:.2f})")
    return (f"+{enrichment_pct:g} % at {zone_rpm[0]:g}-{zone_rpm[1]:g} rpm × ≤{map_max_kpa:g} "
            f"kPa: {evidence.summary()} (pops stop: P {probability:.2f})")
