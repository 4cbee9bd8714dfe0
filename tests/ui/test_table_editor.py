"""The table editor driven with the keyboard as a tuner drives it: each key's result checked
cell by cell, exactly, and each key one step of the tune session's undo history."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.overlay import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.ui.panels.table_editor import TableEditor
from dynoai_desktop.ui.panels.tables import TablesPanel

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier




@pytest.fixture
def panel(qtbot, session: TuneSession) -> TablesPanel:  # noqa: ANN001
    widget = TablesPanel(session)
    qtbot.addWidget(widget)
    widget.resize(640, 600)
    widget.show()
    return widget


def _view(panel: TablesPanel) -> TableEditor:
    return panel.view


def _ve(session: TuneSession) -> np.ndarray:
    return np.array(session.table(VE_FRONT_MAP).values)


def _mask(shape: tuple[int, int], top: int, left: int, bottom: int, right: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[top:bottom + 1, left:right + 1] = True
    return mask


def _type(view: TableEditor, text: str) -> None:
    QTest.keyClicks(view, text)
    QTest.keyClick(view, Qt.Key.Key_Return)


def test_typing_a_number_sets_every_selected_cell_as_one_undo_step(
        panel: TablesPanel, session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    view.select_cells(2, 1, 4, 3)
    _type(view, "55.5")
    expected = np.where(_mask(before.shape, 2, 1, 4, 3), 55.5, before)
    assert np.array_equal(_ve(session), expected)
    assert not view.entry.isVisible()
    assert view.last_status == "set 9 cells to 55.5 %"
    assert session.undo_text == f"{VE_FRONT_MAP}: set 9 cells to 55.5 %"
    session.undo()
    assert np.array_equal(_ve(session), before) and not session.can_undo


def test_equals_sets_the_selection_and_escape_cancels_without_a_change(
        panel: TablesPanel, session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    view.select_cells(0, 0, 1, 8)
    QTest.keyClick(view, "=")
    assert view.entry.isVisible() and view.entry.text() == ""
    QTest.keyClicks(view, "61")
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert not view.entry.isVisible() and np.array_equal(_ve(session), before)
    QTest.keyClick(view, "=")
    _type(view, "61,25")  # a decimal comma, as a European keypad types it
    assert np.array_equal(_ve(session), np.where(_mask(before.shape, 0, 0, 1, 8), 61.25, before))


def test_plus_and_minus_step_by_half_a_ve_point_each_one_undo_step(
        panel: TablesPanel, session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    mask = _mask(before.shape, 5, 2, 7, 6)
    view.select_cells(5, 2, 7, 6)
    QTest.keyClick(view, "+")
    QTest.keyClick(view, "+")
    QTest.keyClick(view, "-")
    expected = np.where(mask, before + 0.5 + 0.5 - 0.5, before)
    assert np.array_equal(_ve(session), expected)
    assert view.last_status == "-0.5 % on 15 cells"
    view.set_steps({"ve": 1.0})
    QTest.keyClick(view, Qt.Key.Key_Plus)
    assert np.array_equal(_ve(session), np.where(mask, expected + 1.0, before))
    for _ in range(4):
        QTest.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(_ve(session), before) and not session.can_undo


def test_star_scales_the_selection_by_a_percentage(panel: TablesPanel,
                                                   session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    view.select_cells(3, 3, 4, 5)
    QTest.keyClick(view, "*")
    _type(view, "5")
    mask = _mask(before.shape, 3, 3, 4, 5)
    assert np.array_equal(_ve(session), np.where(mask, before + before * 5.0 / 100.0, before))
    assert view.last_status == "+5 % (×1.05) on 6 cells"
    QTest.keyClick(view, "*")
    _type(view, "-10")
    after = np.where(mask, before + before * 5.0 / 100.0, before)
    assert np.array_equal(_ve(session), np.where(mask, after + after * -10.0 / 100.0, after))


def test_i_interpolates_a_block_in_2d_from_its_corners(panel: TablesPanel,
                                                       session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    table = session.table(VE_FRONT_MAP)
    r0, r1, c0, c1 = 1, 4, 1, 5  # 1000-1750 rpm x 30-70 kPa
    view.select_cells(r0, c0, r1, c1)
    QTest.keyClick(view, Qt.Key.Key_I)
    rpm, kpa = table.row_breakpoints, table.col_breakpoints
    tr = ((rpm[r0:r1 + 1] - rpm[r0]) / (rpm[r1] - rpm[r0]))[:, None]
    tc = ((kpa[c0:c1 + 1] - kpa[c0]) / (kpa[c1] - kpa[c0]))[None, :]
    plane = (before[r0, c0] * (1 - tr) * (1 - tc) + before[r0, c1] * (1 - tr) * tc
             + before[r1, c0] * tr * (1 - tc) + before[r1, c1] * tr * tc)
    expected = before.copy()
    expected[r0:r1 + 1, c0:c1 + 1] = plane
    assert np.array_equal(_ve(session), expected)
    assert view.last_status == "interpolated 20 cells in 2-D from the corners"
    # the corners hold, the middle is their mean
    assert _ve(session)[r0, c0] == before[r0, c0] and _ve(session)[r1, c1] == before[r1, c1]


def test_h_v_and_i_on_a_line_interpolate_across_and_down(panel: TablesPanel,
                                                         session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    table = session.table(VE_FRONT_MAP)
    kpa, rpm = table.col_breakpoints, table.row_breakpoints
    view.select_cells(6, 2, 7, 6)
    QTest.keyClick(view, Qt.Key.Key_H)
    expected = before.copy()
    t = (kpa[2:7] - kpa[2]) / (kpa[6] - kpa[2])
    for r in (6, 7):
        expected[r, 2:7] = before[r, 2] * (1 - t) + before[r, 6] * t
    assert np.array_equal(_ve(session), expected)
    assert view.last_status == "interpolated 10 cells across each row"

    view.select_cells(9, 4, 12, 4)
    QTest.keyClick(view, Qt.Key.Key_V)
    t = (rpm[9:13] - rpm[9]) / (rpm[12] - rpm[9])
    expected[9:13, 4] = expected[9, 4] * (1 - t) + expected[12, 4] * t
    assert np.array_equal(_ve(session), expected)
    assert view.last_status == "interpolated 4 cells down each column"

    view.select_cells(14, 0, 14, 8)  # one row: I interpolates along it
    QTest.keyClick(view, Qt.Key.Key_I)
    t = (kpa - kpa[0]) / (kpa[8] - kpa[0])
    expected[14, :] = expected[14, 0] * (1 - t) + expected[14, 8] * t
    assert np.array_equal(_ve(session), expected)


def test_s_smooths_each_selected_cell_with_its_four_neighbours(panel: TablesPanel,
                                                               session: TuneSession) -> None:
    view, v = _view(panel), _ve(session)
    view.select_cells(4, 3, 5, 4)
    QTest.keyClick(view, Qt.Key.Key_S)
    expected = v.copy()
    for r in (4, 5):
        for c in (3, 4):
            total = 2.0 * v[r, c]
            total += v[r - 1, c]
            total += v[r + 1, c]
            total += v[r, c - 1]
            total += v[r, c + 1]
            expected[r, c] = total / 6.0
    assert np.array_equal(_ve(session), expected)
    assert view.last_status == "smoothed 4 cells"


def test_a_block_copied_out_pastes_back_identically(panel: TablesPanel,
                                                    session: TuneSession) -> None:
    view = _view(panel)
    view.select_cells(3, 1, 3, 1)
    QTest.keyClick(view, "*")
    _type(view, "3.3")  # values with many decimals: a copy must carry them exactly
    original = _ve(session)
    view.select_cells(2, 0, 5, 3)
    QTest.keyClick(view, Qt.Key.Key_C, CTRL)
    text = QGuiApplication.clipboard().text()
    lines = text.split("\n")
    assert len(lines) == 5 and lines[-1] == "" and all(len(li.split("\t")) == 4
                                                       for li in lines[:-1])
    assert view.last_status == "copied 4×4 cells (rows × columns) as tab-separated text"
    QTest.keyClick(view, "=")
    _type(view, "0")
    assert (_ve(session)[2:6, 0:4] == 0.0).all()
    view.select_cells(2, 0, 2, 0)
    QTest.keyClick(view, Qt.Key.Key_V, CTRL)
    assert np.array_equal(_ve(session), original)
    assert view.last_status == "pasted a 4×4 block"
    assert view.selection_mask()[2:6, 0:4].all() and view.selection_mask().sum() == 16

    view.select_cells(10, 5, 10, 5)  # the same block elsewhere
    QTest.keyClick(view, Qt.Key.Key_V, CTRL)
    assert np.array_equal(_ve(session)[10:14, 5:9], original[2:6, 0:4])


def test_a_block_from_a_spreadsheet_pastes_and_a_too_large_one_is_refused_not_cropped(
        panel: TablesPanel, session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    n_rows, n_cols = before.shape
    QGuiApplication.clipboard().setText("70\t71\t72\t73\r\n" * 5)  # Excel: 5 rows x 4
    view.select_cells(n_rows - 3, 2, n_rows - 3, 2)
    QTest.keyClick(view, Qt.Key.Key_V, CTRL)
    assert np.array_equal(_ve(session), before) and not session.can_undo
    assert view.last_status == ("refused: the block is 5×4 (rows × columns) but only 3×7 "
                                "cells are left from 5000 rpm, 40 kPa; nothing was pasted")
    view.select_cells(n_rows - 5, n_cols - 4, n_rows - 5, n_cols - 4)
    QTest.keyClick(view, Qt.Key.Key_V, CTRL)
    assert np.array_equal(_ve(session)[-5:, -4:], np.tile([70.0, 71.0, 72.0, 73.0], (5, 1)))

    QGuiApplication.clipboard().setText("rpm\t20\n750\t45\n")
    QTest.keyClick(view, Qt.Key.Key_V, CTRL)
    assert view.last_status.startswith("refused: the pasted block's cell at row 1, column 1 "
                                       "is 'rpm'")


def test_l_locks_the_selection_and_edits_keep_locked_cells(panel: TablesPanel,
                                                           session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    view.select_cells(3, 3, 4, 4)
    QTest.keyClick(view, Qt.Key.Key_L)
    locked = _mask(before.shape, 3, 3, 4, 4)
    assert np.array_equal(session.tune.locked_mask(VE_FRONT_MAP), locked)
    assert np.array_equal(view.editor_model.locked, locked)
    assert view.last_status == "locked 4 cells (L again unlocks)"
    view.select_cells(2, 2, 5, 5)
    QTest.keyClick(view, "=")
    _type(view, "80")
    wide = _mask(before.shape, 2, 2, 5, 5)
    assert np.array_equal(_ve(session), np.where(wide & ~locked, 80.0, before))
    assert view.last_status == "set 16 cells to 80 %; 4 locked cells kept"
    view.select_cells(3, 3, 4, 4)
    QTest.keyClick(view, Qt.Key.Key_L)  # all locked: L unlocks
    assert not session.tune.locked_mask(VE_FRONT_MAP).any()
    assert view.last_status == "unlocked 4 cells"
    view.select_cells(3, 3, 3, 5)  # part locked: L locks the rest
    QTest.keyClick(view, Qt.Key.Key_L)
    QTest.keyClick(view, Qt.Key.Key_L)
    QTest.keyClick(view, Qt.Key.Key_L)
    assert session.tune.locked_mask(VE_FRONT_MAP)[3, 3:6].all()


def test_ctrl_z_and_ctrl_y_walk_the_one_history_a_key_at_a_time(
        panel: TablesPanel, session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    view.select_cells(0, 0, 16, 8)  # the whole table: still one step
    QTest.keyClick(view, "+")
    first = _ve(session)
    view.select_cells(1, 1, 2, 2)
    QTest.keyClick(view, Qt.Key.Key_L)
    _type(view, "9")  # locked: nothing moves
    assert np.array_equal(_ve(session), first)
    assert view.last_status.startswith("nothing changed") and "4 locked cells kept" in \
        view.last_status
    view.select_cells(5, 5, 5, 5)
    _type(view, "99")
    second = _ve(session)
    QTest.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(_ve(session), first)
    assert view.last_status == f"undid: {VE_FRONT_MAP}: set 1 cell to 99 %"
    QTest.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert not session.tune.locked_mask(VE_FRONT_MAP).any()
    QTest.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(_ve(session), before)
    QTest.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert view.last_status == "nothing to undo"
    QTest.keyClick(view, Qt.Key.Key_Y, CTRL)
    assert np.array_equal(_ve(session), first)
    QTest.keyClick(view, Qt.Key.Key_Z, CTRL | SHIFT)  # the other redo key
    QTest.keyClick(view, Qt.Key.Key_Y, CTRL)
    assert np.array_equal(_ve(session), second)
    QTest.keyClick(view, Qt.Key.Key_Y, CTRL)
    assert view.last_status == "nothing to redo"


def test_undo_of_another_tables_edit_brings_that_table_up(panel: TablesPanel,
                                                          session: TuneSession) -> None:
    view = _view(panel)
    view.select_cells(0, 0, 0, 0)
    _type(view, "40")
    panel.picker.setCurrentIndex(1)
    assert view.name == VE_REAR_MAP
    QTest.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert view.name == VE_FRONT_MAP and panel.picker.currentIndex() == 0


def test_switching_table_or_ctrl_s_records_the_edits_as_one_version(
        panel: TablesPanel, session: TuneSession, catalog: Catalog) -> None:
    view = _view(panel)
    assert not panel.save_button.isEnabled()
    view.select_cells(0, 0, 1, 1)
    QTest.keyClick(view, "+")
    QTest.keyClick(view, "+")
    assert panel.save_button.isEnabled() and session.unsaved
    panel.picker.setCurrentIndex(1)  # switching table: the two steps become one version
    (record,) = catalog.tunes()
    history = catalog.history(record.id)
    assert len(history.versions) == 1 and not session.unsaved
    assert history.latest.tune.table(VE_FRONT_MAP) == session.table(VE_FRONT_MAP)
    panel.picker.setCurrentIndex(0)  # nothing new: no version
    assert len(catalog.history(record.id).versions) == 1

    view.select_cells(4, 4, 4, 4)
    QTest.keyClick(view, "-")
    QTest.keyClick(view, Qt.Key.Key_S, CTRL)
    assert len(catalog.history(record.id).versions) == 2
    assert view.last_status == "saved as version 2" and not panel.save_button.isEnabled()
    QTest.keyClick(view, Qt.Key.Key_S, CTRL)
    assert view.last_status == "nothing new to save"


def test_a_key_without_a_selection_works_on_the_current_cell(panel: TablesPanel,
                                                             session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    view.clearSelection()
    view.setCurrentIndex(view.model().index(2, 2))
    view.clearSelection()
    QTest.keyClick(view, "+")
    assert np.array_equal(_ve(session), np.where(_mask(before.shape, 2, 2, 2, 2),
                                                 before + 0.5, before))


def test_a_word_typed_into_the_entry_is_refused_and_the_entry_stays(
        panel: TablesPanel, session: TuneSession) -> None:
    view, before = _view(panel), _ve(session)
    view.select_cells(1, 1, 1, 1)
    QTest.keyClick(view, "=")
    _type(view, "abc")
    assert view.entry.isVisible() and view.last_status.startswith("refused: 'abc' is not a "
                                                                  "number")
    assert np.array_equal(_ve(session), before)
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert not view.entry.isVisible()


def test_knock_prone_cells_are_marked_and_say_so(qtbot, panel: TablesPanel,  # noqa: ANN001
                                                 session: TuneSession) -> None:
    view = _view(panel)
    shape = _ve(session).shape
    prone = _mask(shape, 2, 3, 2, 4)
    session.apply_overlay(Overlay(VE_FRONT_MAP, OverlayKind.ABSOLUTE, np.zeros(shape), prone,
                                  OverlaySource.TIMING), knock_prone=prone)
    view.refresh()
    assert np.array_equal(view.editor_model.knock_prone, prone)
    assert "knock-prone (timing advice)" in view.editor_model.tooltip(2, 3)
    assert "knock-prone" not in view.editor_model.tooltip(0, 0)
    view.grab()  # the corner marks paint without error
