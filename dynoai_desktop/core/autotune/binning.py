"""Samples into a table's cells with bilinear weights on its normalised axes.

A sample between four breakpoints counts toward each of the four cells by its closeness (a
sample at a cell's centre counts 1 there and 0 elsewhere), so a cell's mean is dominated by the
samples that were really in it. Sums are kept, not means, so logs pool by adding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune.settings import REJECT_REASONS
from dynoai_desktop.core.table import NormalisedTable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def _bracket(axis: FloatArray, x: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
    """Lower/upper index into an ascending axis and the fraction between them, clamped."""
    if axis.size == 1:
        zeros = np.zeros(x.shape, dtype=np.intp)
        return zeros, zeros, np.zeros(x.shape)
    clamped = np.clip(x, axis[0], axis[-1])
    lower = np.clip(np.searchsorted(axis, clamped, side="right") - 1, 0, axis.size - 2)
    frac = (clamped - axis[lower]) / (axis[lower + 1] - axis[lower])
    return lower, lower + 1, frac


@dataclass(frozen=True, eq=False)
class Bins:
    """Where each located sample (finite rpm and load) falls on a normalised grid: the bracketing
    rows/columns, the fractions between them, and its nearest cell (flat index)."""

    located: npt.NDArray[np.bool_]
    r0: IntArray
    r1: IntArray
    fr: FloatArray
    c0: IntArray
    c1: IntArray
    fc: FloatArray
    nearest: IntArray


def locate(view: NormalisedTable, rpm: FloatArray, load: FloatArray) -> Bins:
    """The bins of every sample on ``view``'s grid (samples without rpm or load left out)."""
    located = np.isfinite(rpm) & np.isfinite(load)
    r0, r1, fr = _bracket(view.row_breakpoints, rpm[located])
    c0, c1, fc = _bracket(view.col_breakpoints, load[located])
    nearest = np.where(fr > 0.5, r1, r0) * view.shape[1] + np.where(fc > 0.5, c1, c0)
    return Bins(located, r0, r1, fr, c0, c1, fc, nearest)


@dataclass
class CellSums:
    """Per cell of a normalised grid: the sums autotune's statistics are made of."""

    shape: tuple[int, int]
    weight: FloatArray = field(init=False)
    """Σw: summed bilinear weight of the usable samples."""
    weighted: FloatArray = field(init=False)
    """Σw·x, x = measured AFR / target AFR."""
    weighted_sq: FloatArray = field(init=False)
    """Σw·x²."""
    weight_time_s: FloatArray = field(init=False)
    """Σw·dt: the time spent in the cell, weighted."""
    samples: npt.NDArray[np.int64] = field(init=False)
    """Usable samples whose nearest cell this is."""
    rejected: dict[str, npt.NDArray[np.int64]] = field(init=False)
    """Per reason: rejected samples whose nearest cell this is."""
    has_trims: bool = False
    """Some log carried closed-loop trims (so ``closed_loop`` is a reason worth reporting)."""

    def __post_init__(self) -> None:
        size = self.shape[0] * self.shape[1]
        self.weight = np.zeros(size)
        self.weighted = np.zeros(size)
        self.weighted_sq = np.zeros(size)
        self.weight_time_s = np.zeros(size)
        self.samples = np.zeros(size, dtype=np.int64)
        self.rejected = {r: np.zeros(size, dtype=np.int64) for r in REJECT_REASONS}

    def add(self, bins: Bins, ratio: FloatArray, code: npt.NDArray[np.int8],
            dt_s: float) -> None:
        """Bin one log's samples: ``code`` 0 usable (with ``ratio``), else a reason code."""
        size = self.weight.size
        located = bins.located
        ratio, code = ratio[located], code[located]
        r0, r1, fr, c0, c1, fc = bins.r0, bins.r1, bins.fr, bins.c0, bins.c1, bins.fc
        ncol = self.shape[1]
        # One pass for every reason: index = code * cells + cell.
        by_code = np.bincount(code.astype(np.intp) * size + bins.nearest,
                              minlength=(len(REJECT_REASONS) + 1) * size).reshape(-1, size)
        self.samples += by_code[0]
        for i, reason in enumerate(REJECT_REASONS, start=1):
            self.rejected[reason] += by_code[i]
        use = code == 0
        x = ratio[use]
        xx = x * x
        r0, r1, fr, c0, c1, fc = r0[use], r1[use], fr[use], c0[use], c1[use], fc[use]
        added = np.zeros(size)
        for rows, wr in ((r0, 1.0 - fr), (r1, fr)):
            for cols, wc in ((c0, 1.0 - fc), (c1, fc)):
                flat, w = rows * ncol + cols, wr * wc
                added += np.bincount(flat, w, size)
                self.weighted += np.bincount(flat, w * x, size)
                self.weighted_sq += np.bincount(flat, w * xx, size)
        self.weight += added
        self.weight_time_s += added * dt_s  # dt is one value per log

    def reshaped(self, array: np.ndarray) -> np.ndarray:
        """A flat per-cell array as rows x columns of the normalised grid."""
        return array.reshape(self.shape)
