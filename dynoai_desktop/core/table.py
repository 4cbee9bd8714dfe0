"""Calibration tables: axes + values in the raw layout as read, a normalised view, and lookup.

A table keeps its raw layout (descending or repeated padding breakpoints included, as real tune
files hold them). Lookups use the normalised view: ascending axes, and for a repeated breakpoint
the cells of its first occurrence in the raw layout (FORMATS.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.errors import InputError

ROW_AXES: tuple[str, ...] = ("rpm",)
"""Row axes a table may have."""
COL_AXES: tuple[str, ...] = ("map_kpa", "tps_pct")
"""Column (load) axes a table may have."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _label(name: str) -> str:
    return f"table {name!r}" if name else "table (unnamed)"


def _as_axis(raw: Any, what: str, label: str) -> FloatArray:
    try:
        axis = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{label}: {what} breakpoints are not numbers ({exc}); "
                         "give a list of numbers") from None
    if axis.ndim != 1:
        raise InputError(f"{label}: {what} breakpoints must be a 1-D list, got shape {axis.shape}")
    if axis.size == 0:
        raise InputError(f"{label}: the {what} axis has no breakpoints; give at least one")
    bad = np.flatnonzero(~np.isfinite(axis))
    if bad.size:
        raise InputError(f"{label}: {what} breakpoint #{bad[0] + 1} is {axis[bad[0]]}; "
                         "every breakpoint must be a finite number")
    return _frozen(axis)


def _normalise_axis(raw: FloatArray) -> tuple[FloatArray, IntArray]:
    """Ascending unique breakpoints and, for each, the raw index of its first occurrence."""
    order = np.argsort(raw, kind="stable")  # equal values keep raw order: first occurrence first
    ordered = raw[order]
    keep = np.ones(ordered.size, dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return _frozen(ordered[keep].copy()), _frozen(order[keep].astype(np.intp))


def _bracket(axis: FloatArray, x: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
    """Lower/upper indices into an ascending axis and the fraction between them, clamped."""
    if axis.size == 1:
        zeros = np.zeros(x.shape, dtype=np.intp)
        return zeros, zeros, np.where(np.isnan(x), np.nan, 0.0)
    clamped = np.clip(x, axis[0], axis[-1])
    lower = np.clip(np.searchsorted(axis, clamped, side="right") - 1, 0, axis.size - 2)
    upper = lower + 1
    frac = (clamped - axis[lower]) / (axis[upper] - axis[lower])
    return lower, upper, frac


def _broadcast_inputs(label: str, rpm: npt.ArrayLike, load: npt.ArrayLike,
                      ) -> tuple[FloatArray, FloatArray]:
    try:
        rpm_arr = np.asarray(rpm, dtype=np.float64)
        load_arr = np.asarray(load, dtype=np.float64)
        return np.broadcast_arrays(rpm_arr, load_arr)  # type: ignore[return-value]
    except (TypeError, ValueError) as exc:
        raise InputError(f"{label}: lookup needs numeric rpm and load of compatible shapes "
                         f"({exc})") from None


@dataclass(frozen=True, eq=False)
class NormalisedTable:
    """Ascending, de-duplicated view of a table; *_source map each entry to its raw index."""

    row_breakpoints: FloatArray
    col_breakpoints: FloatArray
    values: FloatArray
    row_source: IntArray
    col_source: IntArray

    @property
    def shape(self) -> tuple[int, int]:
        """(number of rows, number of columns) of the normalised view."""
        return (int(self.row_breakpoints.size), int(self.col_breakpoints.size))

    def nearest_cell(self, rpm: FloatArray, load: FloatArray) -> tuple[IntArray, IntArray]:
        """(row, col) in this view of the cell nearest each (rpm, load); ties go to the lower
        breakpoint, outside the axes to the edge. Inputs must be finite arrays."""
        return _nearest(self.row_breakpoints, rpm), _nearest(self.col_breakpoints, load)


@dataclass(frozen=True, eq=False)
class Table:
    """A calibration table in its raw layout: rows are rpm, columns map_kpa or tps_pct."""

    name: str
    units: str
    row_axis: str
    col_axis: str
    row_breakpoints: FloatArray
    col_breakpoints: FloatArray
    values: FloatArray

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not isinstance(self.units, str):
            raise InputError(f"{_label(str(self.name))}: name and units must be text")
        label = _label(self.name)
        if self.row_axis not in ROW_AXES:
            raise InputError(f"{label}: row axis {self.row_axis!r} is not supported; "
                             f"use one of {', '.join(ROW_AXES)}")
        if self.col_axis not in COL_AXES:
            raise InputError(f"{label}: column axis {self.col_axis!r} is not supported; "
                             f"use one of {', '.join(COL_AXES)}")
        rows = _as_axis(self.row_breakpoints, "row (rpm)", label)
        cols = _as_axis(self.col_breakpoints, f"column ({self.col_axis})", label)
        try:
            values = np.array(self.values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{label}: values are not numbers ({exc})") from None
        if values.shape != (rows.size, cols.size):
            raise InputError(f"{label}: values have shape {values.shape} but the axes need "
                             f"({rows.size}, {cols.size}) (rows x columns)")
        bad = np.argwhere(~np.isfinite(values))
        if bad.size:
            r, c = (int(i) for i in bad[0])
            raise InputError(f"{label}: the cell at rpm {rows[r]:g}, {self.col_axis} "
                             f"{cols[c]:g} (row {r + 1}, column {c + 1}) is {values[r, c]}; "
                             "every cell needs a finite number")
        object.__setattr__(self, "row_breakpoints", rows)
        object.__setattr__(self, "col_breakpoints", cols)
        object.__setattr__(self, "values", _frozen(values))

    @property
    def shape(self) -> tuple[int, int]:
        """(number of rows, number of columns) of the raw layout."""
        return (int(self.row_breakpoints.size), int(self.col_breakpoints.size))

    def with_values(self, new_values: npt.ArrayLike) -> Table:
        """A new table with the same name, units and axes and these raw-layout values."""
        return replace(self, values=new_values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return (self.name == other.name and self.units == other.units
                and self.row_axis == other.row_axis and self.col_axis == other.col_axis
                and np.array_equal(self.row_breakpoints, other.row_breakpoints)
                and np.array_equal(self.col_breakpoints, other.col_breakpoints)
                and np.array_equal(self.values, other.values))

    def __hash__(self) -> int:
        return hash((self.name, self.units, self.row_axis, self.col_axis, self.shape))

    def __reduce__(self) -> tuple[type[Table], tuple[Any, ...]]:
        # Rebuild through the constructor so copies and unpickled tables stay read-only.
        return (Table, (self.name, self.units, self.row_axis, self.col_axis,
                        self.row_breakpoints, self.col_breakpoints, self.values))

    def normalised(self) -> NormalisedTable:
        """The ascending view used for lookups; a repeated breakpoint keeps its first cells."""
        view: NormalisedTable | None = self.__dict__.get("_normalised_cache")
        if view is None:
            rows, row_source = _normalise_axis(self.row_breakpoints)
            cols, col_source = _normalise_axis(self.col_breakpoints)
            values = _frozen(self.values[np.ix_(row_source, col_source)].copy())
            view = NormalisedTable(rows, cols, values, row_source, col_source)
            object.__setattr__(self, "_normalised_cache", view)  # not a field: a private cache
        return view

    def lookup(self, rpm: npt.ArrayLike, load: npt.ArrayLike) -> FloatArray | np.float64:
        """Bilinear value at (rpm, load), clamped to the edges; inputs broadcast, NaN gives NaN.

        ``load`` is in the column axis' units (kPa or throttle %). Scalars in, a scalar out.
        """
        rpm_arr, load_arr = _broadcast_inputs(_label(self.name), rpm, load)
        view = self.normalised()
        r0, r1, fr = _bracket(view.row_breakpoints, rpm_arr)
        c0, c1, fc = _bracket(view.col_breakpoints, load_arr)
        v = view.values
        v00, v01, v10, v11 = v[r0, c0], v[r0, c1], v[r1, c0], v[r1, c1]
        gr, gc = 1.0 - fr, 1.0 - fc
        # Weighted form (not a + (b - a) * t) so a breakpoint returns its cell exactly.
        out = v00 * gr * gc + v01 * gr * fc + v10 * fr * gc + v11 * fr * fc
        low = np.minimum(np.minimum(v00, v01), np.minimum(v10, v11))
        high = np.maximum(np.maximum(v00, v01), np.maximum(v10, v11))
        out = np.clip(out, low, high)  # rounding never leaves the four corners' range
        return out[()] if out.ndim == 0 else out

    def cell_index(self, rpm: npt.ArrayLike, load: npt.ArrayLike,
                   ) -> tuple[int, int] | tuple[IntArray, IntArray]:
        """Raw (row, col) of the nearest cell (ties go to the lower breakpoint), clamped.

        Scalars in give a pair of ints; arrays broadcast and give a pair of index arrays.
        """
        label = _label(self.name)
        rpm_arr, load_arr = _broadcast_inputs(label, rpm, load)
        if np.isnan(rpm_arr).any() or np.isnan(load_arr).any():
            raise InputError(f"{label}: cannot find the cell for a missing (NaN) rpm or load; "
                             "drop samples with missing values first")
        view = self.normalised()
        row, col = view.nearest_cell(rpm_arr, load_arr)
        rows, cols = view.row_source[row], view.col_source[col]
        if rows.ndim == 0:
            return int(rows), int(cols)
        return rows, cols


def _nearest(axis: FloatArray, x: FloatArray) -> IntArray:
    lower, upper, frac = _bracket(axis, x)
    return np.where(frac > 0.5, upper, lower)
