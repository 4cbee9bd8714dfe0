"""Tunes and their history kept in the SQLite catalog, exactly, across reopening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.core.build_spec import BuildSpec, EngineFamily
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table_ops import scale_cells, select_rect
from dynoai_desktop.core.tune import VE_FRONT_MAP, ChangeSource, Tune
from dynoai_desktop.storage import catalog as catalog_module
from dynoai_desktop.storage.catalog import Catalog, default_data_dir, describe_changes
from dynoai_desktop.storage.resources import demo_base_tables


def _tune() -> Tune:
    front, rear = demo_base_tables()[0]
    return Tune({front.name: front, rear.name: rear}, BuildSpec.stock(EngineFamily.TC103),
                "demo.pvv")


def test_the_catalog_lives_in_the_data_dir_tests_point_elsewhere(tmp_path: Path) -> None:
    assert default_data_dir() == tmp_path / "data"
    with Catalog() as catalog:
        assert catalog.path == tmp_path / "data" / "catalog.sqlite"


def test_restoring_a_version_from_history_gives_back_exactly_the_earlier_tables() -> None:
    tune = _tune()
    with Catalog() as catalog:
        tune_id = catalog.add_tune("Customer FLHX", tune, "2026-11-22T10:00:00")
        front = tune.table(VE_FRONT_MAP)
        leaner = tune.with_table(scale_cells(front, select_rect(front, slice(2, 6), [3, 4]), 4.0))
        catalog.record_version(tune_id, leaner, ChangeSource.AUTOTUNE, "2026-11-22T10:30:00")
    with Catalog() as catalog:  # reopened: nothing lives only in memory
        history = catalog.history(tune_id)
        assert [v.made_by for v in history.versions] == [ChangeSource.IMPORT, ChangeSource.AUTOTUNE]
        assert describe_changes(history.versions[1].changes) == f"8 cells of {VE_FRONT_MAP}"
        restored = catalog.restore(tune_id, 1, "2026-11-22T11:00:00")
        assert restored.tables == tune.tables
        assert np.array_equal(restored.table(VE_FRONT_MAP).values, tune.table(VE_FRONT_MAP).values)
        again = catalog.history(tune_id)
        assert len(again.versions) == 3 and again.latest.tune.tables == tune.tables
        assert again.latest.tune.build_spec == tune.build_spec


def test_a_catalog_from_a_newer_dynoai_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {catalog_module.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(InputError, match="newer DynoAI"):
        Catalog(path)


def test_an_unknown_tune_is_named() -> None:
    with Catalog() as catalog, pytest.raises(InputError, match="no tune 42"):
        catalog.history(42)
