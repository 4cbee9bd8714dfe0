"""The editor's plain rules: decimals, units and steps per kind of table, λ both ways, padding,
where the live cursor sits in a cell, and what copy refuses."""

from __future__ import annotations

import numpy as np
import pytest

from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import AFR_TARGET, SPARK_FRONT, VE_FRONT_MAP
from dynoai_desktop.ui.panels.table_editor_live import CellTracer, _axis_offset
from dynoai_desktop.ui.panels.table_editor_ops import CellEdits
from dynoai_desktop.ui.panels.table_editor_units import (
    cell_format,
    ordered_names,
    padding_flags,
)

ROWS = np.array([1000.0, 2000.0, 3000.0])
COLS = np.array([20.0, 60.0, 100.0])


def _table(name: str, units: str, values: list[list[float]]) -> Table:
    return Table(name, units, "rpm", "map_kpa", ROWS, COLS, np.array(values))


def test_each_kind_of_table_has_its_decimals_unit_and_step() -> None:
    afr_units, lambda_units = DisplayUnits(), DisplayUnits(afr="lambda")
    ve = cell_format(_table(VE_FRONT_MAP, "%", [[45.0] * 3] * 3), afr_units)
    assert (ve.kind, ve.unit, ve.decimals, ve.step) == ("ve", "%", 1, 0.5)
    assert ve.text(104.44) == "104.4" and ve.text(-0.01) == "0.0"
    afr = _table(AFR_TARGET, "AFR", [[14.7, 13.2, 12.5]] * 3)
    assert cell_format(afr, afr_units).decimals == 2 and cell_format(afr, afr_units).step == 0.1
    lam = cell_format(afr, lambda_units)
    assert (lam.unit, lam.decimals, lam.step, lam.lambda_shown) == ("λ", 3, 0.01, True)
    spark = cell_format(_table(SPARK_FRONT, "Degrees", [[32.25, 30.0, 28.5]] * 3), afr_units)
    assert (spark.unit, spark.decimals, spark.step) == ("°", 2, 0.5)
    other = cell_format(_table("Throttle Blade", "%", [[0.0, 55.0, 99.0]] * 3), lambda_units)
    assert (other.decimals, other.step, other.lambda_shown) == (0, 1.0, False)


def test_afr_read_in_lambda_comes_back_to_the_same_afr() -> None:
    fmt = cell_format(_table(AFR_TARGET, "AFR", [[14.7] * 3] * 3), DisplayUnits(afr="lambda"))
    afr = np.round(np.arange(9.0, 18.0, 0.01), 2)
    assert np.array_equal(fmt.from_display(fmt.to_display(afr)), afr)
    assert fmt.from_display(np.array([0.85]))[0] == 12.495


def test_tables_come_in_a_tuners_order_and_padding_is_the_repeats() -> None:
    assert ordered_names(["b", "Spark Advance (Front Cyl)", "A", VE_FRONT_MAP]) == [
        VE_FRONT_MAP, "Spark Advance (Front Cyl)", "A", "b"]
    flags = padding_flags(np.array([750.0, 8000.0, 8000.0, 8000.0]))
    assert flags.tolist() == [False, False, True, True]


def test_the_cursor_sits_towards_the_neighbouring_cell_as_laid_out() -> None:
    ascending = np.array([1000.0, 2000.0, 3000.0])
    assert _axis_offset(ascending, np.array([0, 1, 2]), 1250.0) == pytest.approx(0.25)
    assert _axis_offset(ascending, np.array([0, 1, 2]), 2900.0) == pytest.approx(-0.1)
    assert _axis_offset(ascending, np.array([0, 1, 2]), 500.0) == 0.0  # clamped to the edge
    # a descending raw layout: 1000 rpm is the bottom row, 2000 above it
    assert _axis_offset(ascending, np.array([2, 1, 0]), 1250.0) == pytest.approx(-0.25)


class _Rows:
    def __init__(self, t: np.ndarray, rpm: np.ndarray, kpa: np.ndarray) -> None:
        self.data = {"time_s": t, "rpm": rpm, "map_kpa": kpa}
        self.version = 1

    def window(self, seconds: float | None = None, channels: object = None
               ) -> dict[str, np.ndarray]:
        return self.data

    def since(self, time_s: float, channels: object = None) -> dict[str, np.ndarray]:
        keep = self.data["time_s"] > time_s
        return {k: v[keep] for k, v in self.data.items()}


def test_the_tracer_finds_the_cells_of_a_descending_table_and_skips_missing_rows() -> None:
    table = Table(VE_FRONT_MAP, "%", "rpm", "map_kpa", ROWS[::-1].copy(), COLS,
                  np.zeros((3, 3)))
    rows = _Rows(np.array([1.0, 1.1, 1.2]), np.array([1100.0, np.nan, 2900.0]),
                 np.array([25.0, 50.0, 95.0]))
    tracer = CellTracer(rows, clock=lambda: 1.2)
    tracer.set_table(table)
    marks = tracer.poll()
    assert marks is not None
    assert marks.cursor == table.cell_index(2900.0, 95.0) == (0, 2)
    assert marks.offset == pytest.approx((0.1, -0.125))  # 2900 leans to 2000, the row below
    assert sorted(zip(*np.nonzero(marks.trace), strict=True)) == [(0, 2), (2, 0)]


def test_copy_refuses_a_selection_that_is_not_one_rectangle() -> None:
    mask = np.zeros((3, 3), dtype=bool)
    mask[0, 0] = mask[2, 2] = True
    text, status = CellEdits.copy_text(np.arange(9.0).reshape(3, 3), mask)
    assert text is None and status.startswith("refused: copy needs one rectangular block")
    mask[:2, :2] = True
    mask[2, 2] = False
    text, _ = CellEdits.copy_text(np.arange(9.0).reshape(3, 3), mask)
    assert text == "0\t1\n3\t4\n"
