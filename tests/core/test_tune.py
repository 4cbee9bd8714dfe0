"""The tune model: every change recorded with its diff; any version restored exactly."""

from __future__ import annotations

import numpy as np
import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_ops import add_cells, select_rect
from dynoai_desktop.core.tune import (
    VE_FRONT_MAP,
    VE_REAR_MAP,
    ChangeSource,
    Tune,
    TuneHistory,
    diff_tunes,
)


def _ve(name: str, base: float) -> Table:
    return Table(name, "%", "rpm", "map_kpa", [1000, 2000, 3000, 3000], [20, 60, 100],
                 base + np.arange(12.0).reshape(4, 3))


def _tune() -> Tune:
    return Tune({VE_FRONT_MAP: _ve(VE_FRONT_MAP, 50), VE_REAR_MAP: _ve(VE_REAR_MAP, 52)})


def test_a_manual_edit_is_recorded_with_exactly_the_cells_it_changed() -> None:
    history = TuneHistory()
    first = _tune()
    history.record(first, ChangeSource.IMPORT, "2026-11-22T10:00:00")
    front = first.table(VE_FRONT_MAP)
    edited = first.with_table(add_cells(front, select_rect(front, [1], [0, 2]), 2.5))
    version = history.record(edited, ChangeSource.MANUAL_EDIT, "2026-11-22T10:05:00", "lean at 2k")
    assert version.number == 2
    (change,) = version.changes
    assert change.name == VE_FRONT_MAP and change.kind == "cells"
    assert [(c.row, c.col, c.after - c.before) for c in change.cells] == [(1, 0, 2.5), (1, 2, 2.5)]


def test_restoring_a_version_gives_back_exactly_its_tables_as_a_new_version() -> None:
    history = TuneHistory()
    first = _tune()
    history.record(first, ChangeSource.IMPORT, "t1")
    front = first.table(VE_FRONT_MAP)
    everything = select_rect(front, slice(None), slice(None))
    history.record(first.with_table(add_cells(front, everything, 7.0)), ChangeSource.AUTOTUNE, "t2")
    restored = history.restore(1, "t3")
    assert restored.number == 3 and restored.made_by == ChangeSource.RESTORE
    assert restored.tune.tables == first.tables
    assert len(history.versions) == 3  # the autotune version is still there


def test_identical_tunes_have_no_diff_and_axis_changes_replace_the_table() -> None:
    tune = _tune()
    assert diff_tunes(tune, tune) == []
    other_axes = Table(VE_FRONT_MAP, "%", "rpm", "map_kpa", [1000, 2000], [20, 100],
                       np.ones((2, 2)))
    (change,) = diff_tunes(tune, tune.with_table(other_axes))
    assert change.kind == "replaced"


def test_unknown_versions_and_tables_are_named() -> None:
    history = TuneHistory()
    history.record(_tune(), ChangeSource.IMPORT, "t1")
    with pytest.raises(InputError, match="no version 5"):
        history.restore(5, "t2")
    with pytest.raises(InputError, match="no table 'Spark'"):
        _tune().table("Spark")
