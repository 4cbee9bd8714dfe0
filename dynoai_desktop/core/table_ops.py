"""Pure cell operations on tables: each returns a new Table and changes only the masked cells.

A selection is a boolean mask over the RAW cells (same shape as ``table.values``); build a
rectangular one with :func:`select_rect`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table

Direction = Literal["rows", "cols", "both"]
AxisSelection = slice | int | npt.ArrayLike
BoolMask = npt.NDArray[np.bool_]


def _label(table: Table) -> str:
    return f"table {table.name!r}" if table.name else "table (unnamed)"


def _indices(sel: AxisSelection, size: int, what: str, table: Table) -> npt.NDArray[np.intp]:
    if isinstance(sel, slice):
        return np.arange(size)[sel]
    arr = np.asarray(sel)
    if arr.dtype == np.bool_:
        if arr.shape != (size,):
            raise InputError(f"{_label(table)}: the {what} selection has {arr.size} flags but "
                             f"the table has {size} {what}s")
        return np.flatnonzero(arr)
    if not np.issubdtype(arr.dtype, np.integer) or arr.ndim > 1:
        raise InputError(f"{_label(table)}: select {what}s with a slice, an index or a list of "
                         f"indices, not {sel!r}")
    flat = np.atleast_1d(arr).astype(np.intp)
    bad = flat[(flat < -size) | (flat >= size)]
    if bad.size:
        raise InputError(f"{_label(table)}: {what} index {int(bad[0])} is outside the table "
                         f"({size} {what}s, 0..{size - 1})")
    return flat % size


def select_rect(table: Table, rows: AxisSelection, cols: AxisSelection) -> BoolMask:
    """Mask selecting every raw cell in the given rows x columns (slices, indices or lists)."""
    n_rows, n_cols = table.shape
    mask = np.zeros(table.shape, dtype=bool)
    row_idx = _indices(rows, n_rows, "row", table)
    col_idx = _indices(cols, n_cols, "column", table)
    mask[np.ix_(row_idx, col_idx)] = True
    return mask


def _check_mask(table: Table, mask: npt.ArrayLike) -> BoolMask:
    arr = np.asarray(mask)
    if arr.dtype != np.bool_:
        raise InputError(f"{_label(table)}: a selection must be a boolean mask over the cells, "
                         f"got {arr.dtype} values; build one with select_rect()")
    if arr.shape != table.shape:
        raise InputError(f"{_label(table)}: the selection has shape {arr.shape} but the table "
                         f"has {table.shape} cells (rows x columns); select within this table")
    return arr


def _operand(table: Table, value: npt.ArrayLike, what: str) -> np.ndarray:
    try:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), table.shape)
    except (TypeError, ValueError):
        raise InputError(f"{_label(table)}: the {what} must be a number (or one per cell), "
                         f"got {value!r}") from None
    if not np.isfinite(arr).all():
        raise InputError(f"{_label(table)}: the {what} must be a finite number, got {value!r}")
    return arr


def set_cells(table: Table, mask: npt.ArrayLike, value: npt.ArrayLike) -> Table:
    """Set the selected cells to ``value`` (a number, or an array of the table's shape)."""
    sel = _check_mask(table, mask)
    return table.with_values(np.where(sel, _operand(table, value, "value"), table.values))


def add_cells(table: Table, mask: npt.ArrayLike, delta: npt.ArrayLike) -> Table:
    """Add ``delta`` (in the table's units) to the selected cells."""
    sel = _check_mask(table, mask)
    return table.with_values(
        np.where(sel, table.values + _operand(table, delta, "delta"), table.values))


def scale_cells(table: Table, mask: npt.ArrayLike, pct: npt.ArrayLike) -> Table:
    """Scale the selected cells by ``pct`` percent: +5 means x1.05, -10 means x0.90."""
    sel = _check_mask(table, mask)
    pct_arr = _operand(table, pct, "percentage")
    # v + v*pct/100 keeps round cases exact (50 +10% is 55, not 55.000000000000007).
    scaled = table.values + table.values * pct_arr / 100.0
    return table.with_values(np.where(sel, scaled, table.values))


def _fractions(breakpoints: np.ndarray) -> np.ndarray:
    """Positions 0..1 along a span: by breakpoint value if strictly monotonic, else by index."""
    n = breakpoints.size
    if n == 1:
        return np.zeros(1)
    steps = np.diff(breakpoints)
    if (steps > 0).all() or (steps < 0).all():
        return (breakpoints - breakpoints[0]) / (breakpoints[-1] - breakpoints[0])
    return np.arange(n) / (n - 1)


def _interpolate_lines(values: np.ndarray, sel: BoolMask, axis_bp: np.ndarray) -> np.ndarray:
    """Interpolate each row of ``values`` between its first and last selected cells."""
    out = values.copy()
    for r in np.flatnonzero(sel.any(axis=1)):
        cols = np.flatnonzero(sel[r])
        a, b = int(cols[0]), int(cols[-1])
        if a == b:
            continue
        t = _fractions(axis_bp[a:b + 1])
        ramp = values[r, a] * (1.0 - t) + values[r, b] * t
        out[r, a:b + 1] = np.where(sel[r, a:b + 1], ramp, values[r, a:b + 1])
    return out


def interpolate_cells(table: Table, mask: npt.ArrayLike, direction: Direction) -> Table:
    """Linear fill of the selection: "cols" along each row, "rows" down each column, "both"
    bilinear from the corners of its bounding rectangle (by breakpoint where monotonic)."""
    sel = _check_mask(table, mask)
    values = table.values
    if direction == "cols":
        new = _interpolate_lines(values, sel, table.col_breakpoints)
    elif direction == "rows":
        new = _interpolate_lines(values.T, sel.T, table.row_breakpoints).T
    elif direction == "both":
        new = values.copy()
        if sel.any():
            rows, cols = np.flatnonzero(sel.any(axis=1)), np.flatnonzero(sel.any(axis=0))
            r0, r1, c0, c1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
            tr = _fractions(table.row_breakpoints[r0:r1 + 1])[:, None]
            tc = _fractions(table.col_breakpoints[c0:c1 + 1])[None, :]
            ur, uc = 1.0 - tr, 1.0 - tc
            plane = (values[r0, c0] * ur * uc + values[r0, c1] * ur * tc
                     + values[r1, c0] * tr * uc + values[r1, c1] * tr * tc)
            box = new[r0:r1 + 1, c0:c1 + 1]
            box[...] = np.where(sel[r0:r1 + 1, c0:c1 + 1], plane, box)
    else:
        raise InputError(f"{_label(table)}: interpolation direction {direction!r} is unknown; "
                         "use 'rows', 'cols' or 'both'")
    return table.with_values(new)


def smooth_cells(table: Table, mask: npt.ArrayLike, passes: int = 1) -> Table:
    """Replace each selected cell by the mean of itself (weight 2) and its 4 neighbours (1 each),
    repeated ``passes`` times; neighbours outside the table are ignored."""
    sel = _check_mask(table, mask)
    if isinstance(passes, bool) or not isinstance(passes, int | np.integer) or passes < 0:
        raise InputError(f"{_label(table)}: smoothing passes must be a whole number >= 0, "
                         f"got {passes!r}")
    values = table.values.copy()
    count = np.full(values.shape, 2.0)
    count[1:, :] += 1
    count[:-1, :] += 1
    count[:, 1:] += 1
    count[:, :-1] += 1
    for _ in range(int(passes)):
        total = 2.0 * values
        total[1:, :] += values[:-1, :]
        total[:-1, :] += values[1:, :]
        total[:, 1:] += values[:, :-1]
        total[:, :-1] += values[:, 1:]
        values = np.where(sel, total / count, values)
    return table.with_values(values)
