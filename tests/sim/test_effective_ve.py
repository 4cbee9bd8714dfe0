"""The truth's effective VE (sim/effective_ve.py): a table on target is its own effective VE."""

from __future__ import annotations

import numpy as np
import pytest

from dynoai_desktop.core.table import Table
from dynoai_desktop.sim.effective_ve import EffectiveVe

RPM = [2000.0, 3000.0, 4000.0]
KPA = [80.0, 90.0, 100.0]


def _table(values: np.ndarray) -> Table:
    return Table("VE", "%", "rpm", "map_kpa", np.array(RPM), np.array(KPA), values)


def _grid() -> EffectiveVe:
    front = _table(np.array([[60.0, 70.0, 82.0], [64.0, 75.0, 88.0], [66.0, 78.0, 90.0]]))
    rear = _table(front.values * 0.97)
    return EffectiveVe(RPM, KPA, (front, rear))


def test_a_table_on_target_between_breakpoints_is_its_own_effective_ve() -> None:
    # A WOT pull at 97 kPa, under the 100 kPa row, with the mixture on target all the way.
    eff = _grid()
    for rpm in np.linspace(2000.0, 4000.0, 201):
        eff.add(0.01, float(rpm), 97.0, (1.0, 1.0), (0.0, 0.0))
    out = eff.tables()
    front = np.array(out["front"]["values"], dtype=float)
    assert front[:, 1:] == pytest.approx(eff.ve_tables[0].values[:, 1:])
    assert all(v is None for v in np.array(out["front"]["values"], dtype=object)[:, 0])


def test_a_lean_hold_raises_its_cell_by_the_miss() -> None:
    eff = _grid()
    for _ in range(300):  # 3 s at 3000 rpm, 90 kPa, burning 4 % lean of target
        eff.add(0.01, 3000.0, 90.0, (1.04, 0.98), (0.02, 0.0))
    out = eff.tables()
    assert out["front"]["values"][1][1] == pytest.approx(75.0 * 1.04, abs=0.01)
    assert out["rear"]["values"][1][1] == pytest.approx(75.0 * 0.97 * 0.98, abs=0.01)
    assert out["front"]["wideband_reads_lean_pct"][1][1] == pytest.approx(2.0)
    assert out["weight_s"][1][1] == pytest.approx(3.0)
    assert out["front"]["values"][0][0] is None
