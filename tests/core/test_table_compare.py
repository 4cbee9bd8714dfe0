"""Comparing two tables cell by cell: % change per cell, and no comparison across other axes."""

from __future__ import annotations

import numpy as np
import pytest

from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_compare import (
    axes_difference,
    change_words,
    colour_scale_pct,
    compare_tables,
    front_rear_pair,
)
from dynoai_desktop.core.tune import (
    AFR_TARGET,
    SPARK_FRONT,
    SPARK_REAR,
    VE_FRONT_MAP,
    VE_FRONT_TPS,
    VE_REAR_MAP,
    VE_REAR_TPS,
)


def _ve(values: np.ndarray, rpm=(1000, 2000, 3000), kpa=(20, 60, 100),  # noqa: ANN001
        col_axis: str = "map_kpa") -> Table:
    return Table(VE_FRONT_MAP, "%", "rpm", col_axis, list(rpm), list(kpa), values)


BASE = np.array([[50.0, 60.0, 70.0], [55.0, 65.0, 75.0], [60.0, 70.0, 80.0]])


def test_each_cell_gets_its_change_in_percent_of_the_earlier_value() -> None:
    after = BASE.copy()
    after[1, 1] = 65.0 * 1.04  # +4 %
    after[2, 0] = 57.0  # -5 %
    comparison = compare_tables(_ve(BASE), _ve(after))
    assert comparison is not None
    assert comparison.n_changed == 2
    assert comparison.change_pct[1, 1] == pytest.approx(4.0)
    assert comparison.change_pct[2, 0] == pytest.approx(-5.0)
    assert comparison.delta[2, 0] == pytest.approx(-3.0)
    assert comparison.change_pct[0, 0] == 0.0 and not comparison.changed[0, 0]
    assert comparison.largest_pct == pytest.approx(-5.0)
    assert comparison.scale_pct == 5.0


def test_a_negative_or_zero_value_still_reads_in_the_right_direction() -> None:
    spark = np.array([[-2.0, 0.0, 10.0]] * 3)
    moved = spark.copy()
    moved[0, 0] = -1.0  # less retard: a rise, +50 % of its size
    moved[0, 1] = 2.0  # from 0: no % change exists
    comparison = compare_tables(_ve(spark), _ve(moved))
    assert comparison is not None
    assert comparison.change_pct[0, 0] == pytest.approx(50.0)
    assert np.isnan(comparison.change_pct[0, 1]) and comparison.delta[0, 1] == 2.0
    assert comparison.change_pct[1, 1] == 0.0  # an unchanged 0 is no change
    assert comparison.largest_pct == pytest.approx(50.0)


def test_identical_tables_compare_with_nothing_changed() -> None:
    comparison = compare_tables(_ve(BASE), _ve(BASE))
    assert comparison is not None
    assert comparison.n_changed == 0 and comparison.largest_pct == 0.0
    assert comparison.scale_pct == 1.0


@pytest.mark.parametrize(
    ("other", "words"),
    [
        (_ve(np.ones((2, 3)), rpm=(1000, 2000)), "grids differ: 3 rpm rows × 3 load columns "
                                                 "against 2 × 3"),
        (_ve(BASE, rpm=(1000, 2500, 3000)), "rpm breakpoints differ: #2 is 2000 against 2500"),
        (_ve(BASE, kpa=(20, 60, 105)), "load breakpoints differ: #3 is 100 against 105"),
        (_ve(BASE, col_axis="tps_pct"), "load axis differs: MAP (kPa) against throttle (%)"),
    ],
)
def test_tables_on_other_axes_are_not_compared_and_the_reason_is_given(
    other: Table, words: str
) -> None:
    assert compare_tables(_ve(BASE), other) is None
    assert words in axes_difference(_ve(BASE), other)
    assert axes_difference(_ve(BASE), _ve(BASE + 1)) == ""


@pytest.mark.parametrize(("largest", "scale"),
                         [(0.0, 1.0), (0.4, 1.0), (1.0, 1.0), (1.5, 2.0), (7.0, 10.0),
                          (45.0, 50.0), (300.0, 100.0)])
def test_the_colour_scale_is_the_smallest_round_step_that_holds_the_largest_change(
    largest: float, scale: float
) -> None:
    assert colour_scale_pct(largest) == scale


def test_lower_and_higher_are_named_as_a_tuner_reads_each_table() -> None:
    assert change_words(_ve(BASE)) == ("lower · leaner", "higher · richer")
    afr = Table(AFR_TARGET, "AFR", "rpm", "map_kpa", [1000], [50], [[13.0]])
    assert change_words(afr) == ("lower AFR · richer", "higher AFR · leaner")
    spark = Table(SPARK_FRONT, "Degrees", "rpm", "map_kpa", [1000], [50], [[20.0]])
    assert change_words(spark) == ("less advance", "more advance")
    other = Table("Map Default Table", "Kilopascals", "rpm", "tps_pct", [1000], [5], [[30.0]])
    assert change_words(other) == ("lower", "higher")


def test_front_and_rear_tables_are_paired_per_load_axis() -> None:
    assert front_rear_pair(VE_REAR_MAP) == (VE_FRONT_MAP, VE_REAR_MAP)
    assert front_rear_pair(VE_FRONT_TPS) == (VE_FRONT_TPS, VE_REAR_TPS)
    assert front_rear_pair(SPARK_REAR) == (SPARK_FRONT, SPARK_REAR)
    assert front_rear_pair(AFR_TARGET) is None
