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

from dynoai_desktop.core.autotune.binning import CellSums
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
               ) -> CellStats:
    """Statistics, holds, clamp and smoothing for every cell of the grid."""
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
    wide = ~few & ~(ci95 <= settings.max_ci95_pct)
    held[wide] = "ci_too_wide"
    ok = ~few & ~wide

    weight_part = np.divide(w, w + settings.min_weight, out=np.zeros(w.shape),
                            where=(w + settings.min_weight) > 0)
    ci_part = np.clip(1.0 - 0.5 * np.nan_to_num(ci95, nan=np.inf, posinf=1e9)
                      / settings.max_ci95_pct, 0.0, 1.0)
    confidence = np.where(has, weight_part * ci_part, np.nan)

    limit = settings.max_change_pct
    applied = np.where(ok, np.clip(correction, -limit, limit), np.nan)
    if settings.smooth:
        applied = smooth(applied, np.where(ok, confidence, 0.0), settings.smooth_step_pct)
    clamped = ok & (np.abs(correction) > limit)
    held[clamped] = "clamped"
    return CellStats(correction, spread, ci95, confidence, applied, held)


def smooth(applied: FloatArray, confidence: FloatArray, step_pct: float) -> FloatArray:
    """Light smoothing among applied cells (NaN elsewhere stays NaN).

    Each applied cell becomes a weighted mean of itself (weight 2) and its four neighbours
    (weight ½ × their confidence) that are applied and within ``step_pct`` of it: a strong
    correction is a step to its neighbours and stays sharp, and nothing spreads into a cell
    without data. A convex mean, so the authority limit still holds.
    """
    ok = np.isfinite(applied)
    total = np.where(ok, 2.0 * applied, 0.0)
    weight = np.where(ok, 2.0, 0.0)
    padded = np.pad(np.where(ok, applied, np.nan), 1, constant_values=np.nan)
    conf = np.pad(np.where(ok, confidence, 0.0), 1)
    rows, cols = applied.shape
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):  # four shifted grids, not a cell loop
        nb = padded[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols]
        nb_w = 0.5 * conf[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols]
        near = ok & np.isfinite(nb) & (np.abs(nb - applied) <= step_pct)
        total += np.where(near, nb_w * nb, 0.0)
        weight += np.where(near, nb_w, 0.0)
    return np.where(ok, np.divide(total, weight, out=np.zeros_like(total), where=weight > 0),
                    np.nan)
