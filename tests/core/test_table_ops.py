"""Pure cell operations: new tables, only masked cells change, inputs never mutated."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_ops import (
    add_cells,
    interpolate_cells,
    scale_cells,
    select_rect,
    set_cells,
    smooth_cells,
)
from tests.core.test_table import tables, ve_table


@st.composite
def table_and_mask(draw: st.DrawFn) -> tuple[Table, np.ndarray]:
    table = draw(tables(value_range=1e5))
    flags = draw(st.lists(st.booleans(), min_size=table.values.size,
                          max_size=table.values.size))
    return table, np.array(flags, dtype=bool).reshape(table.shape)


def _apply(op: str, table: Table, mask: np.ndarray, amount: float) -> Table:
    if op == "set":
        return set_cells(table, mask, amount)
    if op == "add":
        return add_cells(table, mask, amount)
    if op == "scale":
        return scale_cells(table, mask, amount)
    if op == "smooth":
        return smooth_cells(table, mask, passes=int(abs(amount)) % 4)
    return interpolate_cells(table, mask, op)  # type: ignore[arg-type]


@given(table_and_mask(),
       st.sampled_from(["set", "add", "scale", "smooth", "rows", "cols", "both"]),
       st.floats(-100, 100))
def test_ops_change_only_masked_cells_and_never_mutate(case: tuple[Table, np.ndarray], op: str,
                                                       amount: float) -> None:
    table, mask = case
    before = (table.values.copy(), table.row_breakpoints.copy(), table.col_breakpoints.copy())
    mask_before = mask.copy()
    result = _apply(op, table, mask, amount)
    assert result is not table
    assert result.name == table.name and result.units == table.units
    assert result.col_axis == table.col_axis
    np.testing.assert_array_equal(result.row_breakpoints, table.row_breakpoints)
    np.testing.assert_array_equal(result.col_breakpoints, table.col_breakpoints)
    outside = ~mask
    bits = result.values.view(np.uint64)[outside], table.values.view(np.uint64)[outside]
    np.testing.assert_array_equal(*bits)
    np.testing.assert_array_equal(table.values.view(np.uint64), before[0].view(np.uint64))
    np.testing.assert_array_equal(table.row_breakpoints, before[1])
    np.testing.assert_array_equal(table.col_breakpoints, before[2])
    np.testing.assert_array_equal(mask, mask_before)


@given(table_and_mask(), st.sampled_from(["rows", "cols", "both"]))
def test_interpolation_stays_within_the_selection_range(case: tuple[Table, np.ndarray],
                                                        direction: str) -> None:
    table, mask = case
    result = interpolate_cells(table, mask, direction)  # type: ignore[arg-type]
    lo, hi = table.values.min(), table.values.max()
    span = max(abs(lo), abs(hi)) * 1e-12
    assert np.all(result.values >= lo - span) and np.all(result.values <= hi + span)


# ---------------------------------------------------------------- examples


def _row_table(cols: list[float], row: list[float]) -> Table:
    return ve_table([1000, 2000], cols, [row, [0.0] * len(row)])


def test_interpolate_cols_gives_a_linear_ramp() -> None:
    table = _row_table([20, 30, 40, 50, 60], [40, 0, 0, 0, 60])
    result = interpolate_cells(table, select_rect(table, 0, slice(None)), "cols")
    np.testing.assert_allclose(result.values[0], [40, 45, 50, 55, 60])
    np.testing.assert_array_equal(result.values[1], table.values[1])


def test_interpolate_cols_uses_breakpoint_values_when_monotonic() -> None:
    table = _row_table([100, 80, 20], [60, 0, 40])  # descending, uneven spacing
    result = interpolate_cells(table, select_rect(table, 0, slice(None)), "cols")
    np.testing.assert_allclose(result.values[0], [60, 40 + 20 * 60 / 80, 40])


def test_interpolate_cols_over_padding_breakpoints_goes_by_position() -> None:
    table = _row_table([90, 100, 100, 100, 100], [10, 0, 0, 0, 50])
    result = interpolate_cells(table, select_rect(table, 0, slice(None)), "cols")
    np.testing.assert_allclose(result.values[0], [10, 20, 30, 40, 50])


def test_interpolate_rows_and_partial_masks() -> None:
    table = ve_table([1000, 1500, 2000, 3000], [20, 40],
                     [[10, 1], [0, 1], [0, 1], [40, 1]])
    result = interpolate_cells(table, select_rect(table, slice(None), 0), "rows")
    np.testing.assert_allclose(result.values[:, 0], [10, 17.5, 25, 40])  # by rpm value
    np.testing.assert_array_equal(result.values[:, 1], 1.0)
    mask = np.zeros(table.shape, dtype=bool)
    mask[[0, 2, 3], 0] = True  # row 1 not selected: it keeps its value
    partial = interpolate_cells(table, mask, "rows")
    np.testing.assert_allclose(partial.values[:, 0], [10, 0, 25, 40])


def test_interpolate_both_is_bilinear_from_the_corners() -> None:
    table = ve_table([1000, 2000, 3000], [20, 40, 60],
                     [[10, 0, 30], [0, 0, 0], [50, 0, 90]])
    result = interpolate_cells(table, select_rect(table, slice(None), slice(None)), "both")
    np.testing.assert_allclose(result.values, [[10, 20, 30], [30, 45, 60], [50, 70, 90]])
    single = interpolate_cells(table, select_rect(table, 1, 1), "both")
    assert single == table


def test_interpolate_unknown_direction() -> None:
    table = _row_table([20, 40], [1, 2])
    with pytest.raises(InputError, match="'diagonal'"):
        interpolate_cells(table, select_rect(table, 0, slice(None)), "diagonal")  # type: ignore


def test_set_add_scale() -> None:
    table = ve_table([1000, 2000], [20, 40], [[50, 60], [70, 80]])
    mask = select_rect(table, [0], [0])
    assert scale_cells(table, mask, 10).values[0, 0] == 55.0
    assert scale_cells(table, mask, -100).values[0, 0] == 0.0
    assert add_cells(table, mask, 2.5).values[0, 0] == 52.5
    assert set_cells(table, mask, 42).values[0, 0] == 42.0
    everything = select_rect(table, slice(None), slice(None))
    np.testing.assert_array_equal(scale_cells(table, everything, 10).values,
                                  [[55, 66], [77, 88]])
    per_cell = add_cells(table, everything, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(per_cell.values, [[51, 62], [73, 84]])
    with pytest.raises(InputError, match="finite"):
        set_cells(table, mask, np.nan)
    with pytest.raises(InputError, match="number"):
        add_cells(table, mask, "lots")


def test_smooth_weights_centre_two_and_ignores_outside_neighbours() -> None:
    values = np.zeros((3, 3))
    values[1, 1] = 12.0
    values[0, 0] = 8.0
    table = ve_table([1000, 2000, 3000], [20, 40, 60], values)
    result = smooth_cells(table, select_rect(table, slice(None), slice(None)))
    assert result.values[1, 1] == pytest.approx(24 / 6)
    assert result.values[0, 0] == pytest.approx(16 / 4)  # corner: 2 neighbours
    assert result.values[0, 1] == pytest.approx((8 + 12) / 5)  # edge: 3 neighbours
    only_centre = smooth_cells(table, select_rect(table, 1, 1), passes=2)
    assert only_centre.values[1, 1] == pytest.approx(((24 / 6) * 2) / 6)
    assert smooth_cells(table, select_rect(table, 1, 1), passes=0) == table
    with pytest.raises(InputError, match="passes"):
        smooth_cells(table, select_rect(table, 1, 1), passes=-1)


def test_smooth_a_flat_table_is_unchanged() -> None:
    table = ve_table([1000, 2000], [20, 40, 60], np.full((2, 3), 55.5))
    result = smooth_cells(table, select_rect(table, slice(None), slice(None)), passes=3)
    np.testing.assert_array_equal(result.values, table.values)


def test_select_rect_forms() -> None:
    table = ve_table([1000, 2000, 3000], [20, 40], np.zeros((3, 2)))
    assert select_rect(table, slice(0, 2), 1).tolist() == [[False, True], [False, True],
                                                           [False, False]]
    assert select_rect(table, [-1], [0, 1]).tolist() == [[False, False], [False, False],
                                                         [True, True]]
    assert select_rect(table, [True, False, True], slice(None)).sum() == 4
    with pytest.raises(InputError, match="row index 3"):
        select_rect(table, [3], 0)
    with pytest.raises(InputError, match="column"):
        select_rect(table, 0, "all")


def test_mask_must_match_the_table() -> None:
    table = ve_table([1000, 2000], [20, 40], [[50, 60], [70, 80]])
    with pytest.raises(InputError, match="shape"):
        set_cells(table, np.ones((3, 2), dtype=bool), 1.0)
    with pytest.raises(InputError, match="boolean"):
        add_cells(table, np.ones((2, 2), dtype=int), 1.0)
    for op in ("rows", "cols", "both"):
        with pytest.raises(InputError, match="shape"):
            interpolate_cells(table, np.ones((2, 3), dtype=bool), op)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="shape"):
        smooth_cells(table, np.ones((1, 2), dtype=bool))
