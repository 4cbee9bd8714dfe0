"""Table: validation, raw layout, normalised view, bilinear lookup and nearest cell."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import NormalisedTable, Table

# ---------------------------------------------------------------- strategies (shared)

_GRID = [0.0, 10.0, 20.0, 25.0, 30.0, 40.0, 50.0, 100.0, 750.0, 1000.0, 6500.0]


@st.composite
def axes(draw: st.DrawFn, max_size: int = 6, lo: float = -1e4, hi: float = 1e4) -> list[float]:
    """Breakpoints as real files hold them: ascending, descending, padded, or any jumble."""
    kind = draw(st.sampled_from(["ascending", "descending", "padded", "jumble"]))
    number = st.one_of(st.sampled_from(_GRID), st.floats(lo, hi, allow_nan=False))
    if kind == "jumble":
        return draw(st.lists(number, min_size=1, max_size=max_size))
    base = sorted(set(draw(st.lists(number, min_size=1, max_size=max_size))))
    if kind == "padded":
        base = base + [base[-1]] * draw(st.integers(1, 3))
    return base[::-1] if kind == "descending" else base


@st.composite
def tables(draw: st.DrawFn, value_range: float = 1e6, axis_range: float = 1e4,
           awkward: bool = False) -> Table:
    """A random Table; ``awkward`` draws values and axes from the whole finite float range."""
    if awkward:
        number = st.floats(allow_nan=False, allow_infinity=False)
        rows = draw(st.one_of(axes(), st.lists(number, min_size=1, max_size=5)))
        cols = draw(st.one_of(axes(), st.lists(number, min_size=1, max_size=5)))
    else:
        rows = draw(axes(lo=-axis_range, hi=axis_range))
        cols = draw(axes(lo=-axis_range, hi=axis_range))
        number = st.floats(-value_range, value_range, allow_nan=False)
    cells = draw(st.lists(number, min_size=len(rows) * len(cols),
                          max_size=len(rows) * len(cols)))
    return Table(name=draw(st.sampled_from(["VE (MAP based/Front Cyl)", "", "AFR"])),
                 units=draw(st.sampled_from(["%", "AFR", "deg", ""])), row_axis="rpm",
                 col_axis=draw(st.sampled_from(["map_kpa", "tps_pct"])),
                 row_breakpoints=np.array(rows), col_breakpoints=np.array(cols),
                 values=np.array(cells).reshape(len(rows), len(cols)))


def ve_table(rows: list[float], cols: list[float], values: list[list[float]],
             col_axis: str = "map_kpa") -> Table:
    return Table("VE", "%", "rpm", col_axis, np.array(rows, dtype=float),
                 np.array(cols, dtype=float), np.array(values, dtype=float))


def _first(axis: np.ndarray, i: int) -> int:
    return int(np.flatnonzero(axis == axis[i])[0])


# ---------------------------------------------------------------- properties


@given(tables())
def test_lookup_at_breakpoints_returns_the_cell(table: Table) -> None:
    view = table.normalised()
    rpm, load = np.meshgrid(view.row_breakpoints, view.col_breakpoints, indexing="ij")
    np.testing.assert_array_equal(table.lookup(rpm, load), view.values)


@given(tables(), st.floats(1e-3, 1e6), st.floats(0, 1), st.floats(0, 1))
def test_lookup_outside_the_axes_equals_the_edge(table: Table, beyond: float, fr: float,
                                                 fc: float) -> None:
    view = table.normalised()
    r_lo, r_hi = view.row_breakpoints[0], view.row_breakpoints[-1]
    c_lo, c_hi = view.col_breakpoints[0], view.col_breakpoints[-1]
    rpm = r_lo + fr * (r_hi - r_lo)
    load = c_lo + fc * (c_hi - c_lo)
    assert table.lookup(r_lo - beyond, load) == table.lookup(r_lo, load)
    assert table.lookup(r_hi + beyond, load) == table.lookup(r_hi, load)
    assert table.lookup(rpm, c_lo - beyond) == table.lookup(rpm, c_lo)
    assert table.lookup(rpm, c_hi + beyond) == table.lookup(rpm, c_hi)
    assert table.lookup(r_hi + beyond, c_lo - beyond) == view.values[-1, 0]


@given(tables(), st.lists(st.tuples(st.floats(-2e4, 2e4), st.floats(-2e4, 2e4)),
                          min_size=1, max_size=20))
def test_lookup_stays_within_the_values(table: Table, points: list[tuple[float, float]]) -> None:
    rpm, load = np.array(points).T
    out = table.lookup(rpm, load)
    assert out.shape == rpm.shape
    assert np.all(out >= table.values.min()) and np.all(out <= table.values.max())


@given(tables())
def test_repeated_breakpoint_uses_its_first_occurrence(table: Table) -> None:
    rows, cols = table.row_breakpoints, table.col_breakpoints
    for r in range(rows.size):
        for c in range(cols.size):
            expected = table.values[_first(rows, r), _first(cols, c)]
            assert table.lookup(rows[r], cols[c]) == expected
            assert table.cell_index(rows[r], cols[c]) == (_first(rows, r), _first(cols, c))


@given(tables())
def test_normalised_view_is_ascending_and_maps_to_raw_cells(table: Table) -> None:
    view = table.normalised()
    assert np.all(np.diff(view.row_breakpoints) > 0) and np.all(np.diff(view.col_breakpoints) > 0)
    np.testing.assert_array_equal(view.row_breakpoints, table.row_breakpoints[view.row_source])
    np.testing.assert_array_equal(view.values,
                                  table.values[np.ix_(view.row_source, view.col_source)])
    assert set(view.row_breakpoints) == set(table.row_breakpoints)
    assert table.normalised() is view  # cached


# ---------------------------------------------------------------- examples


def test_bilinear_midpoint_of_a_small_ve_table() -> None:
    table = ve_table([1000, 2000], [20, 40], [[40, 50], [60, 80]])
    assert table.lookup(1500, 30) == pytest.approx(57.5)
    assert table.lookup(1000, 30) == pytest.approx(45.0)
    assert table.lookup(1250, 20) == pytest.approx(45.0)
    out = table.lookup([1000, 1500, 2000], [[20], [40]])
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, [[40, 50, 60], [50, 65, 80]])


def test_lookup_on_descending_axes_matches_the_ascending_table() -> None:
    up = ve_table([1000, 2000, 3000], [20, 60, 100], [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    down = ve_table([3000, 2000, 1000], [100, 60, 20], [[9, 8, 7], [6, 5, 4], [3, 2, 1]])
    rpm, load = np.array([900, 1500, 2999, 5000]), np.array([10, 33, 70, 99])
    np.testing.assert_array_equal(up.lookup(rpm, load), down.lookup(rpm, load))
    assert down.cell_index(2900, 25) == (0, 2)


def test_scalar_lookup_gives_a_float_and_nan_gives_nan() -> None:
    table = ve_table([1000, 2000], [20, 40], [[40, 50], [60, 80]])
    assert isinstance(table.lookup(1500, 30), float)
    assert np.isnan(table.lookup(np.nan, 30))
    single = ve_table([1000], [50], [[42.0]])
    assert np.isnan(single.lookup(1000, np.nan))


def test_single_breakpoint_axes_are_constant_along_them() -> None:
    one_row = ve_table([2000], [20, 40], [[40, 60]])
    np.testing.assert_array_equal(one_row.lookup([0, 2000, 9000], 30), [50, 50, 50])
    one_col = ve_table([1000, 2000], [50], [[40], [60]], col_axis="tps_pct")
    np.testing.assert_array_equal(one_col.lookup(1500, [0, 50, 100]), [50, 50, 50])
    assert ve_table([1000], [50], [[7.5]]).lookup(123, 456) == 7.5
    assert one_row.cell_index(5, 31) == (0, 1)


def test_cell_index_is_nearest_raw_cell() -> None:
    table = ve_table([1000, 1500, 2000, 2000], [20, 40, 60], np.arange(12.0).reshape(4, 3))
    assert table.cell_index(1240, 29) == (0, 0)
    assert table.cell_index(1260, 31) == (1, 1)
    assert table.cell_index(1250, 30) == (0, 0)  # a tie goes to the lower breakpoint
    assert table.cell_index(9000, -5) == (2, 0)  # clamped; first of the repeated 2000s
    rows, cols = table.cell_index([900, 1900], [59, 61])
    np.testing.assert_array_equal(rows, [0, 2])
    np.testing.assert_array_equal(cols, [2, 2])
    with pytest.raises(InputError, match="NaN"):
        table.cell_index(np.nan, 30)


def test_pvv_like_table_keeps_its_raw_layout() -> None:
    rows = [750, 1000, 1250, 1500, 2000, 3000, 4000, 5000, 6000, 6500, 6500, 6500]
    cols = [20, 40, 60, 80, 100, 100]
    values = np.arange(len(rows) * len(cols), dtype=float).reshape(len(rows), len(cols))
    table = ve_table(rows, cols, values)
    np.testing.assert_array_equal(table.row_breakpoints, rows)
    np.testing.assert_array_equal(table.col_breakpoints, cols)
    np.testing.assert_array_equal(table.values, values)
    assert table.shape == (12, 6)
    view = table.normalised()
    assert view.shape == (10, 5)
    assert view.row_source[-1] == 9 and view.col_source[-1] == 4
    assert table.lookup(6500, 100) == values[9, 4]
    assert table.lookup(9000, 200) == values[9, 4]


def test_arrays_are_read_only_float64_copies() -> None:
    raw = np.array([[1, 2], [3, 4]])
    table = ve_table([1000, 2000], [20, 40], raw)
    raw[0, 0] = 99
    assert table.values[0, 0] == 1.0
    for arr in (table.values, table.row_breakpoints, table.col_breakpoints):
        assert arr.dtype == np.float64 and not arr.flags.writeable
    with pytest.raises(ValueError):
        table.values[0, 0] = 5.0
    view = table.normalised()
    assert isinstance(view, NormalisedTable) and not view.values.flags.writeable
    for clone in (copy.deepcopy(table), pickle.loads(pickle.dumps(table))):
        assert clone == table and not clone.values.flags.writeable


def test_with_values_and_equality() -> None:
    table = ve_table([1000, 2000], [20, 40], [[40, 50], [60, 80]])
    changed = table.with_values([[41, 50], [60, 80]])
    assert changed != table and changed.name == table.name and changed.units == "%"
    np.testing.assert_array_equal(changed.col_breakpoints, table.col_breakpoints)
    same = ve_table([1000, 2000], [20, 40], [[40, 50], [60, 80]])
    assert same == table and hash(same) == hash(table)
    renamed = Table("other", "%", "rpm", "map_kpa", table.row_breakpoints,
                    table.col_breakpoints, table.values)
    assert renamed != table
    assert table != "not a table"
    with pytest.raises(InputError, match="shape"):
        table.with_values([[1, 2, 3]])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"row_breakpoints": []}, "no breakpoints"),
        ({"col_breakpoints": []}, "no breakpoints"),
        ({"values": [[1.0, np.nan], [3.0, 4.0]]}, "finite"),
        ({"values": [[1.0, 2.0], [3.0, np.inf]]}, "finite"),
        ({"values": [[1.0, 2.0]]}, "shape"),
        ({"row_breakpoints": [1000, np.nan]}, "finite"),
        ({"col_breakpoints": [[20, 40]]}, "1-D"),
        ({"col_breakpoints": ["a", "b"]}, "not numbers"),
        ({"values": [["a", "b"], ["c", "d"]]}, "not numbers"),
        ({"col_axis": "load"}, "column axis"),
        ({"row_axis": "speed_mph"}, "row axis"),
    ],
)
def test_bad_tables_raise_input_error(kwargs: dict, fragment: str) -> None:
    args = {"name": "VE", "units": "%", "row_axis": "rpm", "col_axis": "map_kpa",
            "row_breakpoints": [1000, 2000], "col_breakpoints": [20, 40],
            "values": [[1.0, 2.0], [3.0, 4.0]]}
    args.update(kwargs)
    with pytest.raises(InputError, match=fragment) as info:
        Table(**args)
    assert "'VE'" in str(info.value)


def test_lookup_with_unusable_inputs_raises_input_error() -> None:
    table = ve_table([1000, 2000], [20, 40], [[40, 50], [60, 80]])
    with pytest.raises(InputError):
        table.lookup([1, 2, 3], [1, 2])
    with pytest.raises(InputError):
        table.lookup("fast", 30)


@settings(max_examples=50)
@given(tables(), st.lists(st.tuples(st.floats(-2e4, 2e4), st.floats(-2e4, 2e4)),
                          min_size=1, max_size=10))
def test_cell_index_picks_a_nearest_breakpoint(table: Table,
                                               points: list[tuple[float, float]]) -> None:
    rpm, load = np.array(points).T
    rows, cols = table.cell_index(rpm, load)
    view = table.normalised()
    clamped_rpm = np.clip(rpm, view.row_breakpoints[0], view.row_breakpoints[-1])
    best = np.abs(view.row_breakpoints[None, :] - clamped_rpm[:, None]).min(axis=1)
    np.testing.assert_allclose(np.abs(table.row_breakpoints[rows] - clamped_rpm), best,
                               rtol=1e-12, atol=1e-9)
    assert np.all(view.row_source[np.searchsorted(view.row_breakpoints,
                                                  table.row_breakpoints[rows])] == rows)
    assert np.all(cols >= 0) and np.all(cols < table.shape[1])
