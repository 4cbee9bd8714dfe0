"""What a session changed in the tune, by the regions a tuner talks about: each cell in exactly
one region, the changed cells counted and their mean and largest % change, on a hand-made
table whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_changes import (
    change_words,
    format_pct,
    region_of_cells,
    regions,
    table_change,
    tune_changes,
)
from dynoai_desktop.core.tune import AFR_TARGET, VE_FRONT_MAP, VE_REAR_MAP

RPM = [1000.0, 1500.0, 2500.0, 4000.0]
MAP = [20.0, 30.0, 40.0, 60.0, 80.0, 95.0, 100.0]


def ve(name: str = VE_FRONT_MAP, value: float = 50.0, rpm: list[float] = RPM,
       load: list[float] = MAP, axis: str = "map_kpa") -> Table:
    return Table(name, "%", "rpm", axis, rpm, load, np.full((len(rpm), len(load)), value))


def test_every_cell_is_in_exactly_one_region_named_as_a_tuner_reads_the_map() -> None:
    names = [r.name for r in regions("map_kpa")]
    assert names == ["Idle", "Decel", "Cruise", "Mid load", "WOT"]
    where = region_of_cells(np.array(RPM), np.array(MAP), "map_kpa")
    expected = np.array([
        [0, 0, 0, 0, 0, 0, 0],  # 1,000 rpm: idle at any load
        [1, 1, 2, 2, 3, 4, 4],  # 20, 30 decel; 40, 60 cruise; 80 mid load; 95, 100 WOT
        [1, 1, 2, 2, 3, 4, 4],
        [1, 1, 2, 2, 3, 4, 4],
    ])
    np.testing.assert_array_equal(where, expected)
    # the bounds belong to the band above them: 35 kPa is cruise, 70 mid load, 90 WOT
    at_bounds = region_of_cells(np.array([2000.0]), np.array([35.0, 70.0, 90.0]), "map_kpa")
    np.testing.assert_array_equal(at_bounds, [[2, 3, 4]])
    assert regions("tps_pct")[4].where == "throttle 60 % and up"


def test_changed_cells_are_counted_with_their_mean_and_largest_change_per_region() -> None:
    before = ve()
    values = before.values.copy()
    values[2, 5] *= 1.10  # WOT +10 %
    values[3, 6] *= 1.04  # WOT +4 %
    values[3, 2] *= 0.97  # cruise −3 %
    values[0, 0] *= 1.20  # idle +20 %
    change = table_change(before, before.with_values(values))
    assert change is not None
    by_name = {r.region.name: r for r in change.by_region}
    assert [by_name[n].cells for n in by_name] == [7, 6, 6, 3, 6]
    assert by_name["WOT"].changed == 2
    assert by_name["WOT"].mean_pct == pytest.approx(7.0)
    assert by_name["WOT"].largest_pct == pytest.approx(10.0)
    assert by_name["Cruise"].largest_pct == pytest.approx(-3.0)
    assert by_name["Idle"].mean_pct == pytest.approx(20.0)
    assert by_name["Decel"].changed == 0 and math.isnan(by_name["Decel"].mean_pct)
    assert (change.changed, change.cells) == (4, 28)
    assert change.largest_pct == pytest.approx(20.0)
    assert change_words(change) == "4 of 28 cells changed, mean +7.8 %, largest +20.0 %"


def test_a_padded_layout_counts_each_cell_the_ecm_uses_once() -> None:
    padded = ve(rpm=[4000.0, 2500.0, 1500.0, 1000.0, 1000.0])  # descending, a padding row
    values = padded.values.copy()
    values[0, :] *= 1.05
    change = table_change(padded, padded.with_values(values))
    assert change is not None
    assert change.cells == 28 and change.changed == 7
    np.testing.assert_array_equal(change.rpm, RPM)  # ascending, the padding once


def test_tables_on_other_axes_are_not_compared_cell_by_cell() -> None:
    assert table_change(ve(), ve(load=[20.0, 30.0, 40.0, 60.0, 80.0, 95.0, 105.0])) is None


def test_a_tunes_changes_map_the_ve_pair_and_list_every_other_table_that_moved() -> None:
    afr = Table(AFR_TARGET, "AFR", "rpm", "map_kpa", RPM, MAP, np.full((4, 7), 13.0))
    before = {VE_FRONT_MAP: ve(), VE_REAR_MAP: ve(VE_REAR_MAP), AFR_TARGET: afr}
    richer = afr.with_values(np.where(np.array(MAP) >= 90, 12.5, 13.0) * np.ones((4, 1)))
    after = {VE_FRONT_MAP: ve(value=55.0), VE_REAR_MAP: ve(VE_REAR_MAP), AFR_TARGET: richer}
    changes = tune_changes(before, after)
    assert [c.cylinder for c in changes.ve] == ["Front", "Rear"]
    assert changes.ve[0].changed == 28 and changes.ve[0].mean_pct == pytest.approx(10.0)
    assert changes.ve[1].changed == 0
    assert changes.other_lines == (f"{AFR_TARGET}: 8 of 28 cells changed, mean −3.8 %, "
                                   "largest −3.8 %",)
    assert not changes.nothing
    assert tune_changes(before, before).nothing


def test_percentages_print_with_their_sign_and_a_true_minus() -> None:
    assert format_pct(3.24) == "+3.2 %"
    assert format_pct(-1.0) == "−1.0 %"
    assert format_pct(math.nan) == "—"
