"""From pooled sums to each cell's correction: statistics, holds, authority clamp, smoothing.

Per cell of the normalised grid: the weighted mean of measured/target AFR, its spread, a 95 %
interval from the effective number of independent samples, and a 0–1 confidence. A cell short of
weight or with too wide an interval is held back; the rest are clamped to the authority limit and,
optionally, lightly smoothed among themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune.binning import CellSums, place_corners
from dynoai_desktop.core.autotune.settings import AutotuneSettings

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

Z95 = 1.96


@dataclass(frozen=True, eq=False)
class CellStats:
    """Per cell of the normalised grid (rows x columns); NaN where a cell had no usable data."""

    correction_pct: FloatArray
    """(weighted mean of measured/target AFR − 1) × 100: > 0 lean, so VE goes up."""
    spread_pct: FloatArray
    """Weighted standard deviation of the per-sample corrections, percent."""
    ci95_pct: FloatArray
    """Half-width of the 95 % interval of ``correction_pct``."""
    confidence: FloatArray
    """0–1: grows with weight, falls as the interval widens toward the limit."""
    applied_pct: FloatArray
    """The change applied (clamped, smoothed); NaN where nothing is applied."""
    held_reason: npt.NDArray[np.object_]
    """None or one of settings.HELD_REASONS."""


def cell_stats(sums: CellSums, settings: AutotuneSettings, closed_loop_only: BoolArray,
               values: FloatArray, fixed: BoolArray | None = None) -> CellStats:
    """Statistics, holds, table fit, clamp and smoothing for every cell of the grid.

    ``values``: the table's values on the grid (the fit needs them); ``fixed``: cells never
    changed (locked), which the fit holds at their value.
    """
    w = sums.reshaped(sums.weight)
    has = w > 0
    mean = np.divide(sums.reshaped(sums.weighted), w, out=np.full(w.shape, np.nan), where=has)
    mean_sq = np.divide(sums.reshaped(sums.weighted_sq), w, out=np.full(w.shape, np.nan),
                        where=has)
    var = np.maximum(mean_sq - mean * mean, 0.0)
    sd = np.sqrt(var)
    # Effective sample count: every sample's weight is at most 1, so Σw is at most the number
    # of samples; but samples closer together than sample_block_s are not independent, so never
    # more than the weighted time in the cell / block.
    n_time = sums.reshaped(sums.weight_time_s) / settings.sample_block_s
    n_eff = np.maximum(np.minimum(w, n_time), 1.0)
    ci95 = np.where(has, Z95 * sd / np.sqrt(n_eff) * 100.0, np.nan)
    # With one effective sample the spread says nothing; the interval is then unknown.
    ci95 = np.where(has & (n_eff <= 1.0), np.inf, ci95)
    correction = (mean - 1.0) * 100.0
    spread = sd * 100.0

    held = np.full(w.shape, None, dtype=object)
    few = ~has | (w < settings.min_weight)
    held[few] = "too_few_samples"
    held[few & closed_loop_only] = "closed_loop"
    # Too wide: over the absolute limit and not small beside the correction itself (a cell
    # 14 % lean ± 2.5 % is surely lean by more than the authority: it is corrected).
    sure = ci95 <= settings.ci_fraction_of_correction * np.abs(np.nan_to_num(
        (mean - 1.0) * 100.0))
    wide = ~few & ~(ci95 <= settings.max_ci95_pct) & ~sure
    held[wide] = "ci_too_wide"
    ok = ~few & ~wide
    if fixed is not None:
        ok &= ~fixed
    if ok.any():
        fitted = fit_table(sums, values, ok, mean, settings.fit_ridge)
        correction = np.where(ok, (fitted - 1.0) * 100.0, correction)

    weight_part = np.divide(w, w + settings.min_weight, out=np.zeros(w.shape),
                            where=(w + settings.min_weight) > 0)
    ci_part = np.clip(1.0 - 0.5 * np.nan_to_num(ci95, nan=np.inf, posinf=1e9)
                      / settings.max_ci95_pct, 0.0, 1.0)
    confidence = np.where(has, weight_part * ci_part, np.nan)

    limit = settings.max_change_pct
    applied = np.where(ok, np.clip(correction, -limit, limit), np.nan)
    if settings.smooth:
        applied = smooth(applied, ci95, np.where(ok, confidence, 0.0), settings.smooth_step_pct,
                         settings.smooth_roughness_pct)
    clamped = ok & (np.abs(correction) > limit)
    held[clamped] = "clamped"
    return CellStats(correction, spread, ci95, confidence, applied, held)


def fit_table(sums: CellSums, values: FloatArray, active: BoolArray, ratio_mean: FloatArray,
              ridge: float) -> FloatArray:
    """Per cell, the factor k its value needs so the table's *bilinear lookups* give what the
    samples needed (1 where not ``active``).

    A sample between breakpoints is fuelled from the four cells around it, so what it says
    (measured / target AFR, x) is about their blend: Σ a_c·k_c = x with a_c = b_c·V_c / Σ b·V
    (b the bilinear weights, V the cell values). The least-squares k over all samples — pooled
    by place to 1/16 of a cell, so the cost does not grow with the log — is what makes the
    table right where the engine ran, including a WOT row the pulls only pass under, and it
    makes each cell right at once instead of leaving part of a neighbour's change for the next
    round. Cells the samples only touch from afar are tied to their plain weighted mean
    (``ratio_mean``) by a ridge of ``ridge`` × their weight; inactive cells (held, locked,
    without data) keep k = 1 and their share of each lookup is taken as given.
    """
    rows, ncol = active.shape
    size = rows * ncol
    place = np.flatnonzero(sums.place_samples)
    count = sums.place_samples[place]
    x = sums.place_ratio[place] / count
    cells, b = place_corners(place, (rows, ncol))
    v = values.ravel()[cells]
    lookup = (b * v).sum(axis=0)
    a = np.divide(b * v, lookup, out=np.zeros_like(b), where=lookup > 0)

    normal = np.zeros((size, size))
    rhs = np.zeros(size)
    for i in range(4):
        np.add.at(rhs, cells[i], count * a[i] * x)
        for j in range(4):
            np.add.at(normal, (cells[i], cells[j]), count * a[i] * a[j])
    act = np.flatnonzero(active.ravel())
    rest = np.flatnonzero(~active.ravel())
    # Inactive cells stay at k = 1: their part of each lookup moves to the right-hand side.
    rhs_act = rhs[act] - normal[np.ix_(act, rest)].sum(axis=1)
    weight = sums.weight[act]
    prior = np.nan_to_num(ratio_mean.ravel()[act], nan=1.0)
    m = normal[np.ix_(act, act)] + np.diag(ridge * weight)
    rhs_act = rhs_act + ridge * weight * prior
    try:
        k_act = np.linalg.solve(m, rhs_act)
    except np.linalg.LinAlgError:
        k_act = np.linalg.lstsq(m, rhs_act, rcond=None)[0]
    k = np.ones(size)
    k[act] = k_act
    return k.reshape(active.shape)


def smooth(applied: FloatArray, ci95: FloatArray, confidence: FloatArray, step_pct: float,
           roughness_pct: float) -> FloatArray:
    """Light smoothing among applied cells (NaN elsewhere stays NaN).

    Each applied cell is shrunk toward the confidence-weighted mean of its four neighbours that
    are applied and within ``step_pct`` of it, as much as its own uncertainty allows: with a
    standard error s (its 95 % interval / 1.96) and the table's cell-to-cell roughness τ
    (``roughness_pct``), the cell becomes (c / s² + m / τ²) / (1 / s² + 1 / τ²). A well-measured
    cell barely moves, a noisy one leans on its neighbours; a strong correction is a step to
    its neighbours and stays sharp, and nothing spreads into a cell without data. A convex
    mean, so the authority limit still holds.
    """
    ok = np.isfinite(applied)
    padded = np.pad(np.where(ok, applied, np.nan), 1, constant_values=np.nan)
    conf = np.pad(np.where(ok, confidence, 0.0), 1)
    rows, cols = applied.shape
    total = np.zeros(applied.shape)
    weight = np.zeros(applied.shape)
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):  # four shifted grids, not a cell loop
        nb = padded[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols]
        nb_w = conf[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols]
        near = ok & np.isfinite(nb) & (np.abs(nb - applied) <= step_pct) & (nb_w > 0)
        total += np.where(near, nb_w * nb, 0.0)
        weight += np.where(near, nb_w, 0.0)
    has = ok & (weight > 0)
    neighbours = np.divide(total, weight, out=np.zeros_like(total), where=has)
    se = np.where(np.isfinite(ci95), ci95, np.inf) / Z95
    own = np.divide(1.0, se * se, out=np.zeros_like(se), where=se > 0)
    own = np.where(se > 0, own, np.inf)
    prior = 1.0 / (roughness_pct * roughness_pct)
    with np.errstate(invalid="ignore"):
        shrunk = np.where(np.isinf(own), applied,
                          (own * applied + prior * neighbours) / (own + prior))
    return np.where(has, shrunk, applied)
