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
    """Where each located sample (finite rpm and load) falls on a normalised grid: its nearest
    cell (flat index), and its place: the cell below-left of it and how far toward the next
    row and column, to 1/16 of a cell (:func:`place_index`)."""

    located: npt.NDArray[np.bool_]
    nearest: IntArray
    place: IntArray


PLACE_STEPS = 16
"""A sample's position between breakpoints is kept to 1/16 of the cell: its bilinear weights
are those of that position (exact at a cell's centre and at quarters, within 1/32 between)."""
PLACE_LEVELS = PLACE_STEPS + 1


def place_index(r0: IntArray, c0: IntArray, fr: FloatArray, fc: FloatArray, ncol: int,
                ) -> IntArray:
    """A place: the lower corner cell and the fractions toward the next row/column, each
    rounded to 1/PLACE_STEPS, as one index (cells x PLACE_LEVELS² of them)."""
    qr = (fr * PLACE_STEPS + 0.5).astype(np.intp)  # fractions are >= 0: rounds half up
    qc = (fc * PLACE_STEPS + 0.5).astype(np.intp)
    return ((r0 * ncol + c0) * PLACE_LEVELS + qr) * PLACE_LEVELS + qc


def place_corners(place: IntArray, shape: tuple[int, int]) -> tuple[IntArray, FloatArray]:
    """The four cells (flat, 4 x k) around each place and their bilinear weights (4 x k)."""
    rows, ncol = shape
    qc = place % PLACE_LEVELS
    qr = (place // PLACE_LEVELS) % PLACE_LEVELS
    cell00 = place // (PLACE_LEVELS * PLACE_LEVELS)
    r0, c0 = cell00 // ncol, cell00 % ncol
    r1, c1 = np.minimum(r0 + 1, rows - 1), np.minimum(c0 + 1, ncol - 1)
    fr, fc = qr / PLACE_STEPS, qc / PLACE_STEPS
    cells = np.stack([r0 * ncol + c0, r0 * ncol + c1, r1 * ncol + c0, r1 * ncol + c1])
    weights = np.stack([(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc])
    return cells, weights


def placeable(rpm: FloatArray, load: FloatArray) -> npt.NDArray[np.bool_]:
    """The samples a cell can take: both rpm and load read (beyond the axes, the edge cell)."""
    return np.isfinite(rpm) & np.isfinite(load)


def locate(view: NormalisedTable, rpm: FloatArray, load: FloatArray) -> Bins:
    """The bins of every sample on ``view``'s grid (samples not ``placeable`` left out)."""
    located = placeable(rpm, load)
    r0, r1, fr = _bracket(view.row_breakpoints, rpm[located])
    c0, c1, fc = _bracket(view.col_breakpoints, load[located])
    ncol = view.shape[1]
    nearest = np.where(fr > 0.5, r1, r0) * ncol + np.where(fc > 0.5, c1, c0)
    return Bins(located, nearest, place_index(r0, c0, fr, fc, ncol))


PLACE_SUMS = ("samples", "ratio", "ratio_sq", "seconds", "target")
"""Per place, over its usable samples: how many, Σx, Σx², Σ seconds, Σ target AFR."""


@dataclass
class CellSums:
    """Per cell of a normalised grid: the sums autotune's statistics are made of.

    Samples are pooled by place (one bincount per sum over the log, whatever its length); the
    per-cell sums spread each place over its four cells with its bilinear weights when asked.
    Sums, not means, so logs pool by adding.
    """

    shape: tuple[int, int]
    places: dict[str, FloatArray] = field(init=False)
    """Per place: each of PLACE_SUMS."""
    samples: npt.NDArray[np.int64] = field(init=False)
    """Usable samples whose nearest cell this is."""
    rejected: dict[str, npt.NDArray[np.int64]] = field(init=False)
    """Per reason: rejected samples whose nearest cell this is."""
    has_trims: bool = False
    """Some log carried closed-loop trims (so ``closed_loop`` is a reason worth reporting)."""
    compensated: bool = False
    """Some log's readings were compensated (a heat soak taken out: ``removed``)."""

    def __post_init__(self) -> None:
        size = self.shape[0] * self.shape[1]
        count = size * PLACE_LEVELS * PLACE_LEVELS
        self.places = {name: np.zeros(count) for name in PLACE_SUMS}
        self.samples = np.zeros(size, dtype=np.int64)
        self.rejected = {r: np.zeros(size, dtype=np.int64) for r in REJECT_REASONS}
        self.removed = np.zeros(size)
        """Per nearest cell: Σ of the % taken out of the usable samples' readings."""
        self._cells: dict[str, FloatArray] | None = None

    def add(self, bins: Bins, ratio: FloatArray, code: npt.NDArray[np.int8],
            seconds: FloatArray, target: FloatArray | None = None,
            removed: FloatArray | None = None) -> None:
        """Bin one log's samples: ``code`` 0 usable (with ``ratio`` and its ``target`` AFR),
        else a reason code; ``seconds`` is the time each sample stands for; ``removed`` the %
        already taken out of each sample's ratio (a heat soak), for the report."""
        size = self.shape[0] * self.shape[1]
        located = bins.located
        ratio, code, seconds = ratio[located], code[located], seconds[located]
        # One pass for every reason: index = code * cells + cell.
        by_code = np.bincount(code.astype(np.intp) * size + bins.nearest,
                              minlength=(len(REJECT_REASONS) + 1) * size).reshape(-1, size)
        self.samples += by_code[0]
        for i, reason in enumerate(REJECT_REASONS, start=1):
            self.rejected[reason] += by_code[i]
        use = code == 0
        x = np.where(use, ratio, 0.0)
        count = self.places["samples"].size
        place = bins.place
        self.places["samples"] += np.bincount(place, use, count)
        self.places["ratio"] += np.bincount(place, x, count)
        self.places["ratio_sq"] += np.bincount(place, x * x, count)
        self.places["seconds"] += np.bincount(place, np.where(use, seconds, 0.0), count)
        if target is not None:
            self.places["target"] += np.bincount(
                place, np.where(use, target[located], 0.0), count)
        if removed is not None:
            self.compensated = True
            self.removed += np.bincount(bins.nearest, np.where(use, removed[located], 0.0),
                                        size)
        self._cells = None

    def _cell_sums(self) -> dict[str, FloatArray]:
        if self._cells is None:
            size = self.shape[0] * self.shape[1]
            seen = np.flatnonzero(self.places["samples"])
            cells, weights = place_corners(seen, self.shape)
            flat = cells.ravel()
            self._cells = {name: np.bincount(flat, (weights * values[seen]).ravel(), size)
                           for name, values in self.places.items()}
        return self._cells

    @property
    def weight(self) -> FloatArray:
        """Σw: summed bilinear weight of the usable samples."""
        return self._cell_sums()["samples"]

    @property
    def weighted(self) -> FloatArray:
        """Σw·x, x = measured AFR / target AFR."""
        return self._cell_sums()["ratio"]

    @property
    def weighted_sq(self) -> FloatArray:
        """Σw·x²."""
        return self._cell_sums()["ratio_sq"]

    @property
    def weight_time_s(self) -> FloatArray:
        """Σw·seconds: the time spent in the cell, weighted."""
        return self._cell_sums()["seconds"]

    @property
    def weighted_target(self) -> FloatArray:
        """Σw·target AFR (for the AFR error tuners read: measured − target)."""
        return self._cell_sums()["target"]

    @property
    def place_samples(self) -> FloatArray:
        return self.places["samples"]

    @property
    def place_ratio(self) -> FloatArray:
        return self.places["ratio"]

    def reshaped(self, array: np.ndarray) -> np.ndarray:
        """A flat per-cell array as rows x columns of the normalised grid."""
        return array.reshape(self.shape)
