"""The tune being edited, without Qt: whole edits undone and redone, versions in the catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import (
    AuthorityLimits,
    CellRule,
    Overlay,
    OverlayKind,
    OverlaySource,
)
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_ops import scale_cells
from dynoai_desktop.core.tune import SPARK_FRONT, VE_FRONT_MAP, VE_REAR_MAP, ChangeSource, Tune
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import demo_base_tables
from tests.realdata import REALDATA


def _scaled(session: TuneSession, name: str, pct: float):  # noqa: ANN202
    table = session.table(name)
    mask = np.zeros(table.shape, dtype=bool)
    mask[5:8, 3:6] = True
    return scale_cells(table, mask, pct)


def test_an_edit_is_one_undo_step_however_many_cells_it_moves(session: TuneSession) -> None:
    heard = []
    session.changed.connect(lambda: heard.append(session.version))
    before = session.tune
    session.edit(_scaled(session, VE_FRONT_MAP, 5.0), "scale 9 cells +5 %")
    edited = session.tune
    assert edited.table(VE_FRONT_MAP) != before.table(VE_FRONT_MAP)
    assert edited.table(VE_REAR_MAP) is before.table(VE_REAR_MAP)  # untouched
    assert session.can_undo and session.undo_text == "scale 9 cells +5 %"
    session.undo()
    assert session.tune == before and session.can_redo and not session.can_undo
    session.redo()
    assert session.tune == edited
    assert heard == sorted(heard) and len(heard) == 3


def test_a_new_edit_clears_redo_and_an_unchanged_table_is_no_edit(session: TuneSession) -> None:
    session.edit(_scaled(session, VE_FRONT_MAP, 5.0), "first")
    session.undo()
    session.edit(_scaled(session, VE_REAR_MAP, -3.0), "second")
    assert not session.can_redo and session.undo_text == "second"
    version = session.version
    session.edit(session.table(VE_REAR_MAP), "nothing")
    assert session.version == version and session.undo_text == "second"


def test_edits_are_grouped_into_one_version_when_saved(session: TuneSession,
                                                        catalog: Catalog) -> None:
    assert session.tune_id is None and session.unsaved  # the demo map is not kept yet
    assert session.save_version("base") == 1
    assert not session.unsaved and session.save_version() is None  # nothing new
    session.edit(_scaled(session, VE_FRONT_MAP, 5.0), "front +5 %")
    session.edit(_scaled(session, VE_REAR_MAP, 4.0), "rear +4 %", ChangeSource.AUTOTUNE)
    assert session.save_version() == 2
    history = catalog.history(session.tune_id)
    assert [v.number for v in history.versions] == [1, 2]
    latest = history.latest
    assert latest.made_by is ChangeSource.AUTOTUNE and "front +5 %" in latest.note
    assert {c.name for c in latest.changes} == {VE_FRONT_MAP, VE_REAR_MAP}
    assert latest.tune.tables == session.tune.tables
    session.undo()
    assert session.unsaved  # undoing a saved edit is a change to keep again
    assert session.save_version() == 3
    assert catalog.history(session.tune_id).latest.tune.table(VE_REAR_MAP) == \
        session.table(VE_REAR_MAP)


def test_editing_a_table_the_tune_does_not_have_is_refused(session: TuneSession) -> None:
    table = _scaled(session, VE_FRONT_MAP, 1.0)
    from dataclasses import replace
    with pytest.raises(InputError, match="no table 'Fuel'"):
        session.edit(replace(table, name="Fuel"), "wrong")


def test_without_a_catalog_versions_cannot_be_kept_but_editing_works() -> None:
    tables, label = demo_base_tables()
    session = TuneSession(None)
    session.show(Tune({t.name: t for t in tables}), label)
    session.edit(_scaled(session, VE_FRONT_MAP, 2.0), "edit")
    session.undo()
    with pytest.raises(InputError, match="catalog is not open"):
        session.save_version()


@pytest.mark.skipif(REALDATA is None, reason="shared/realdata is not beside the repo")
def test_a_real_pvv_opens_as_version_1_and_an_edit_exports_into_it(
        session: TuneSession, catalog: Catalog, tmp_path: Path) -> None:
    assert REALDATA is not None
    pvv = REALDATA / "dynoai3_pvv_template_16D110002401.pvv"
    session.open_file(pvv)
    assert session.tune_id is not None and not session.unsaved and not session.can_undo
    assert len(catalog.history(session.tune_id).versions) == 1
    session.edit(_scaled(session, VE_FRONT_MAP, 3.0), "+3 %")
    out = tmp_path / "edited.pvv"
    session.export_table(VE_FRONT_MAP, out, pvv)
    original, edited = pvv.read_bytes(), out.read_bytes()
    assert original != edited and len(edited) >= len(original) - 50
    with pytest.raises(InputError, match="bad.pvv"):
        bad = tmp_path / "bad.pvv"
        bad.write_text("not a tune")
        session.open_file(bad)
    assert session.tune.source == str(pvv)  # a refused file leaves the tune as it was


def test_locked_cells_keep_their_values_whatever_an_edit_holds(session: TuneSession) -> None:
    before = session.table(VE_FRONT_MAP)
    lock = np.zeros(before.shape, dtype=bool)
    lock[6, 4] = True
    assert session.set_locked(VE_FRONT_MAP, lock, True) == 1
    assert session.undo_text == f"lock 1 cell of {VE_FRONT_MAP}"
    held = session.edit(_scaled(session, VE_FRONT_MAP, 10.0), "+10 %")
    after = session.table(VE_FRONT_MAP)
    assert held == 1 and after.values[6, 4] == before.values[6, 4]
    assert after.values[5, 4] == before.values[5, 4] * 1.1 or np.isclose(
        after.values[5, 4], before.values[5, 4] * 1.1)
    session.undo()  # the edit
    session.undo()  # the lock
    assert not session.tune.locked_mask(VE_FRONT_MAP).any()
    session.redo()
    assert session.tune.locked_mask(VE_FRONT_MAP)[6, 4]
    assert session.set_locked(VE_FRONT_MAP, lock, False) == 1
    assert not session.tune.locked_mask(VE_FRONT_MAP).any()


def test_versions_are_listed_and_a_restore_is_a_new_version(session: TuneSession) -> None:
    assert session.history() is None  # shown, not kept yet
    assert session.save_version("base") == 1
    original = session.table(VE_FRONT_MAP)
    session.edit(_scaled(session, VE_FRONT_MAP, 5.0), "+5 %")
    assert session.save_version() == 2
    session.restore_version(1)
    history = session.history()
    assert history is not None and [v.number for v in history.versions] == [1, 2, 3]
    assert history.latest.made_by == ChangeSource.RESTORE
    assert session.table(VE_FRONT_MAP) == original and not session.unsaved
    session.undo()  # the restore can be undone like any step
    assert session.table(VE_FRONT_MAP) != original


# ---------------------------------------------------------------- overlays


def _autotune(session: TuneSession, pct: float, **extra: object) -> Overlay:
    shape = session.table(VE_FRONT_MAP).shape
    mask = np.zeros(shape, dtype=bool)
    mask[5:8, 3:6] = True
    return Overlay(VE_FRONT_MAP, OverlayKind.MULTIPLICATIVE, np.full(shape, pct), mask,
                   OverlaySource.AUTOTUNE, description="3 pulls", **extra)  # type: ignore[arg-type]


def test_an_applied_overlay_is_one_undo_step_and_a_version_of_its_own(
        session: TuneSession, catalog: Catalog) -> None:
    session.save_version("base")
    before = session.tune
    session.edit(_scaled(session, VE_REAR_MAP, 2.0), "rear +2 %")  # pending manual edit
    shown = session.preview_overlay(_autotune(session, 15.0))
    assert shown.cells_changed == 9 and shown.counts == {CellRule.AUTHORITY: 9}
    record = session.apply_overlay(_autotune(session, 15.0))
    assert np.array_equal(session.table(VE_FRONT_MAP).values, shown.after)
    assert session.undo_text == "autotune overlay: 9 cells, 9 limited" and not session.unsaved
    history = session.history()
    assert history is not None and [v.number for v in history.versions] == [1, 2, 3]
    manual, applied = history.versions[1], history.versions[2]
    assert manual.made_by is ChangeSource.MANUAL_EDIT and manual.note == "rear +2 %"
    assert {c.name for c in manual.changes} == {VE_REAR_MAP}
    assert applied.made_by is ChangeSource.AUTOTUNE and applied.note == record.note
    assert applied.note.startswith(f"autotune overlay on {VE_FRONT_MAP}: 9 cells (9 limited: "
                                   "9 authority limit ±10 %); limits: authority ±10 %")
    assert [c.name for c in applied.changes] == [VE_FRONT_MAP]
    session.undo()  # the whole overlay, in one step
    assert session.table(VE_FRONT_MAP) == before.table(VE_FRONT_MAP)
    assert session.save_version() == 4
    assert catalog.history(session.tune_id).latest.note == \
        "undo autotune overlay: 9 cells, 9 limited"


def test_overlays_are_applied_under_the_limits_the_session_is_given(catalog: Catalog) -> None:
    tables, label = demo_base_tables()
    limits = AuthorityLimits(max_ve_change_pct_per_run=2.0)
    session = TuneSession(catalog, limits=lambda: limits)
    session.show(Tune({t.name: t for t in tables}), label)
    before = session.table(VE_FRONT_MAP).values
    record = session.apply_overlay(_autotune(session, 5.0))
    assert record.limits == limits and "±2 %" in record.note
    assert np.array_equal(session.table(VE_FRONT_MAP).values[5:8, 3:6], before[5:8, 3:6] * 1.02)
    history = session.history()  # a shown tune is kept first, then the overlay
    assert history is not None and [v.made_by for v in history.versions] == [
        ChangeSource.IMPORT, ChangeSource.AUTOTUNE]


def test_a_partial_apply_changes_only_the_chosen_cells_and_locks_hold(
        session: TuneSession) -> None:
    lock = np.zeros(session.table(VE_FRONT_MAP).shape, dtype=bool)
    lock[5, 3] = True
    session.set_locked(VE_FRONT_MAP, lock, True)
    chosen = np.zeros_like(lock)
    chosen[5, 3:6] = True
    before = session.table(VE_FRONT_MAP).values
    record = session.apply_overlay(_autotune(session, 3.0), selection=chosen)
    after = session.table(VE_FRONT_MAP).values
    assert record.cells_changed == 2 and record.counts == {CellRule.LOCKED: 1}
    assert after[5, 3] == before[5, 3] and (after[5, 4:6] == before[5, 4:6] * 1.03).all()
    assert np.array_equal(after[~chosen], before[~chosen])
    assert session.tune.locked_mask(VE_FRONT_MAP)[5, 3]
    history = session.history()
    assert history is not None and history.latest.tune.locked_mask(VE_FRONT_MAP)[5, 3]


def test_an_overlay_every_cell_of_which_is_held_is_no_step(session: TuneSession) -> None:
    session.set_locked(VE_FRONT_MAP, np.ones(session.table(VE_FRONT_MAP).shape, bool), True)
    version = session.version
    record = session.apply_overlay(_autotune(session, 3.0))
    assert record.cells_changed == 0 and record.cells_limited == 9
    assert session.version == version and session.undo_text.startswith("lock ")
    assert session.history() is None  # nothing kept for it


def test_without_a_catalog_an_overlay_is_still_an_undo_step() -> None:
    tables, label = demo_base_tables()
    session = TuneSession(None)
    session.show(Tune({t.name: t for t in tables}), label)
    session.apply_overlay(_autotune(session, 3.0))
    assert session.can_undo and session.unsaved


# ---------------------------------------------------------------- the tables a run ran on


def test_each_run_names_the_tune_version_it_ran_on(session: TuneSession, catalog: Catalog,
                                                   ) -> None:
    """A session's runs record the version of the tune the ECM ran: a tune not kept yet is
    kept first, an edit since the last run is kept as the next version, and the session is
    tied to the tune at its first run; so a saved session names its tables after a restart."""
    customer = catalog.add_customer("Runs on versions")
    vehicle = catalog.add_vehicle(customer, "bike", BuildSpec.stock("twin_cam_103"))
    first = catalog.start_session(vehicle, "2026-12-05T10:00:00+00:00")
    assert session.version_for_run(first) == 1
    assert catalog.session(first).tune_id == session.tune_id and not session.unsaved
    assert session.version_for_run(first) == 1  # nothing changed: the same version
    session.edit(_scaled(session, VE_FRONT_MAP, 5.0), "+5 %")
    assert session.version_for_run(first) == 2
    history = session.history()
    assert history is not None and history.latest.tune.tables[VE_FRONT_MAP] == \
        session.table(VE_FRONT_MAP)

    other = TuneSession(catalog)  # another tune opened: the session's runs cannot name it
    tables, label = demo_base_tables()
    other.show(Tune({t.name: t for t in tables}), label)
    assert other.version_for_run(first) is None
    second = catalog.start_session(vehicle, "2026-12-05T11:00:00+00:00")
    assert other.version_for_run(second) == 1
    assert TuneSession(catalog).version_for_run(second) is None  # no tune open


def test_timing_advice_marks_its_knock_prone_cells_in_the_same_undoable_step() -> None:
    rpm, kpa = np.arange(1000.0, 5001.0, 1000.0), np.arange(40.0, 101.0, 20.0)
    spark = Table(SPARK_FRONT, "deg", "rpm", "map_kpa", rpm, kpa,
                  np.full((rpm.size, kpa.size), 20.0))
    session = TuneSession(None)
    session.show(Tune({SPARK_FRONT: spark}), "spark only")
    prone = np.zeros(spark.shape, bool)
    prone[:2, -2:] = True  # lugging: 1000-2000 rpm at 80-100 kPa
    change = np.where(prone, 1.5, 0.0)
    change[0, -1] = -1.0  # it knocked there: retard
    change[4, 0] = 1.0  # a safe cell: advance
    overlay = Overlay(SPARK_FRONT, OverlayKind.ABSOLUTE, change, change != 0,
                      OverlaySource.TIMING, description="timing advice")
    record = session.apply_overlay(overlay, knock_prone=prone)
    after = session.table(SPARK_FRONT).values
    assert np.array_equal(session.tune.knock_prone_mask(SPARK_FRONT), prone)
    assert after[0, -1] == 19.0 and after[4, 0] == 21.0  # retard and a safe advance go in
    advanced_prone = prone.copy()
    advanced_prone[0, -1] = False
    assert (after[advanced_prone] == 20.0).all()  # no advance into a knock-prone cell
    assert record.cells_changed == 2 and record.cells_limited == int(advanced_prone.sum())
    session.undo()  # one step: the mask and the spark together
    assert not session.tune.knock_prone_mask(SPARK_FRONT).any()
    assert (session.table(SPARK_FRONT).values == 20.0).all()
