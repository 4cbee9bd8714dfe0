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
    """Where each located sample (finite rpm and load) falls on a normalised grid: the flat
    index of each of its four surrounding cells with its bilinear weight (4 x n arrays), and
    its nearest cell (flat index)."""

    located: npt.NDArray[np.bool_]
    corner_cell: IntArray
    corner_weight: FloatArray
    nearest: IntArray
    place: IntArray
    """Where in its cell each sample is, to 1/16 of the cell (:func:`place_index`): samples at
    one place are pooled for the table fit (``cells.fit_table``), whatever the log's length."""


PLACE_STEPS = 16
"""A sample's position between breakpoints is kept to 1/16 of the cell for the table fit."""
PLACE_LEVELS = PLACE_STEPS + 1


def place_index(r0: IntArray, c0: IntArray, fr: FloatArray, fc: FloatArray, ncol: int,
                ) -> IntArray:
    """A place: the lower corner cell and the fractions toward the next row/column, each
    rounded to 1/PLACE_STEPS, as one index (cells x PLACE_LEVELS² of them)."""
    qr = (fr * PLACE_STEPS + 0.5).astype(np.intp)  # fractions are >= 0: rounds half up
    qc = (fc * PLACE_STEPS + 0.5).astype(np.intp)
    return ((r0 * ncol + c0) * PLACE_LEVELS + qr) * PLACE_LEVELS + qc


def locate(view: NormalisedTable, rpm: FloatArray, load: FloatArray) -> Bins:
    """The bins of every sample on ``view``'s grid (samples without rpm or load left out)."""
    located = np.isfinite(rpm) & np.isfinite(load)
    r0, r1, fr = _bracket(view.row_breakpoints, rpm[located])
    c0, c1, fc = _bracket(view.col_breakpoints, load[located])
    ncol = view.shape[1]
    nearest = np.where(fr > 0.5, r1, r0) * ncol + np.where(fc > 0.5, c1, c0)
    n = fr.size
    cell = np.empty((4, n), dtype=np.intp)
    np.multiply(r0, ncol, out=cell[0])
    np.multiply(r1, ncol, out=cell[2])
    np.add(cell[0], c1, out=cell[1])
    np.add(cell[2], c1, out=cell[3])
    cell[0] += c0
    cell[2] += c0
    gr, gc = 1.0 - fr, 1.0 - fc
    weight = np.empty((4, n))
    np.multiply(gr, gc, out=weight[0])
    np.multiply(gr, fc, out=weight[1])
    np.multiply(fr, gc, out=weight[2])
    np.multiply(fr, fc, out=weight[3])
    return Bins(located, cell, weight, nearest, place_index(r0, c0, fr, fc, ncol))


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
    weighted_target: FloatArray = field(init=False)
    """Σw·target AFR (for the AFR error tuners read: measured − target)."""
    weight_time_s: FloatArray = field(init=False)
    """Σw·dt: the time spent in the cell, weighted."""
    samples: npt.NDArray[np.int64] = field(init=False)
    """Usable samples whose nearest cell this is."""
    rejected: dict[str, npt.NDArray[np.int64]] = field(init=False)
    """Per reason: rejected samples whose nearest cell this is."""
    place_samples: FloatArray = field(init=False)
    """Per place (:func:`place_index`): usable samples there."""
    place_ratio: FloatArray = field(init=False)
    """Per place: Σx of its usable samples."""
    has_trims: bool = False
    """Some log carried closed-loop trims (so ``closed_loop`` is a reason worth reporting)."""

    def __post_init__(self) -> None:
        size = self.shape[0] * self.shape[1]
        places = size * PLACE_LEVELS * PLACE_LEVELS
        self.place_samples = np.zeros(places)
        self.place_ratio = np.zeros(places)
        self.weight = np.zeros(size)
        self.weighted = np.zeros(size)
        self.weighted_sq = np.zeros(size)
        self.weighted_target = np.zeros(size)
        self.weight_time_s = np.zeros(size)
        self.samples = np.zeros(size, dtype=np.int64)
        self.rejected = {r: np.zeros(size, dtype=np.int64) for r in REJECT_REASONS}

    def add(self, bins: Bins, ratio: FloatArray, code: npt.NDArray[np.int8],
            seconds: FloatArray, target: FloatArray | None = None) -> None:
        """Bin one log's samples: ``code`` 0 usable (with ``ratio`` and its ``target`` AFR),
        else a reason code; ``seconds`` is the time each sample stands for."""
        size = self.weight.size
        located = bins.located
        ratio, code, seconds = ratio[located], code[located], seconds[located]
        if target is not None:
            target = target[located]
        # One pass for every reason: index = code * cells + cell.
        by_code = np.bincount(code.astype(np.intp) * size + bins.nearest,
                              minlength=(len(REJECT_REASONS) + 1) * size).reshape(-1, size)
        self.samples += by_code[0]
        for i, reason in enumerate(REJECT_REASONS, start=1):
            self.rejected[reason] += by_code[i]
        use = code == 0
        x = np.where(use, ratio, 0.0)
        w = bins.corner_weight * use  # 4 x n; unusable samples weigh nothing
        cell = bins.corner_cell.ravel()
        wx = w * x
        added = np.bincount(cell, w.ravel(), size)
        self.weighted += np.bincount(cell, wx.ravel(), size)
        self.weighted_sq += np.bincount(cell, (wx * x).ravel(), size)
        if target is not None:
            self.weighted_target += np.bincount(
                cell, (w * np.where(use, target, 0.0)).ravel(), size)
        self.weight += added
        self.weight_time_s += np.bincount(cell, (w * seconds).ravel(), size)
        places = self.place_samples.size
        self.place_samples += np.bincount(bins.place, use, places)
        self.place_ratio += np.bincount(bins.place, x, places)

    def reshaped(self, array: np.ndarray) -> np.ndarray:
        """A flat per-cell array as rows x columns of the normalised grid."""
        return array.reshape(self.shape)
