"""The history view: versions listed as they are saved, any version as a diff against the current
table (coloured by % change, before → after in tooltips), restored as a new version, front
against rear."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_ops import scale_cells
from dynoai_desktop.core.tune import (
    VE_FRONT_MAP,
    VE_FRONT_TPS,
    VE_REAR_MAP,
    VE_REAR_TPS,
    ChangeSource,
    Tune,
)
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.ui.panels.tune_history import TuneHistoryPanel, short_local_time

BG = Qt.ItemDataRole.BackgroundRole
TIP = Qt.ItemDataRole.ToolTipRole




@pytest.fixture
def panel(qtbot, session: TuneSession) -> TuneHistoryPanel:  # noqa: ANN001
    widget = TuneHistoryPanel(session)
    qtbot.addWidget(widget)
    return widget


def _scale(session: TuneSession, name: str, rows: slice, cols: slice, pct: float,
           description: str, made_by: ChangeSource = ChangeSource.MANUAL_EDIT) -> None:
    table = session.table(name)
    mask = np.zeros(table.shape, dtype=bool)
    mask[rows, cols] = True
    session.edit(scale_cells(table, mask, pct), description, made_by)


def _rows(panel: TuneHistoryPanel) -> list[list[str]]:
    tree = panel.versions
    return [[tree.topLevelItem(i).text(c) for c in range(tree.columnCount())]
            for i in range(tree.topLevelItemCount())]


def _three_versions(session: TuneSession) -> None:
    session.save_version("demo base map")
    _scale(session, VE_FRONT_MAP, slice(8, 10), slice(6, 8), 4.0, "front +4 % at WOT")
    _scale(session, VE_FRONT_MAP, slice(1, 2), slice(0, 1), -5.0, "front -5 % at idle")
    session.save_version()
    _scale(session, VE_REAR_MAP, slice(8, 11), slice(5, 9), 6.0, "rear +6 %",
           ChangeSource.AUTOTUNE)
    session.save_version("autotune pull 3")


def test_a_tune_not_kept_yet_says_so_and_offers_no_version_to_diff(
    panel: TuneHistoryPanel,
) -> None:
    assert _rows(panel) == []
    assert "not kept in the catalog yet" in panel.status.full_text()
    assert not panel.diff_button.isEnabled() and not panel.restore_button.isEnabled()
    assert panel.compare_button.isEnabled()  # front/rear needs no history


def test_versions_are_listed_newest_first_as_they_are_saved(
    panel: TuneHistoryPanel, session: TuneSession
) -> None:
    _three_versions(session)
    rows = _rows(panel)
    assert [r[0] for r in rows] == ["3", "2", "1"]
    assert [r[2] for r in rows] == ["autotune", "manual edit", "import"]
    assert rows[0][3] == f"12 cells of {VE_REAR_MAP}"
    assert rows[1][3] == f"5 cells of {VE_FRONT_MAP}"
    assert rows[2][3] == "first version: 2 tables"
    assert rows[0][4] == "autotune pull 3" and "front +4 % at WOT" in rows[1][4]
    when = session.history().versions[0].when
    assert rows[2][1] == short_local_time(when) and len(rows[2][1]) == len("2026-11-22 14:05")
    assert "the current tune is the newest" in panel.status.full_text()
    _scale(session, VE_FRONT_MAP, slice(0, 1), slice(0, 1), 1.0, "unsaved")
    assert len(_rows(panel)) == 3
    assert "edits not saved as a version yet" in panel.status.full_text()


def test_edits_do_not_reread_the_catalog_only_saves_and_restores_do(
    panel: TuneHistoryPanel, session: TuneSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.save_version("base")
    reads: list[int] = []
    original = session.history
    monkeypatch.setattr(session, "history", lambda: reads.append(1) or original())
    for step in range(5):  # a tuner typing into the grid
        _scale(session, VE_FRONT_MAP, slice(step, step + 1), slice(0, 1), 1.0, f"key {step}")
    session.undo()
    assert reads == []
    session.save_version()
    assert len(reads) == 1 and len(_rows(panel)) == 2
    session.restore_version(1)
    assert len(reads) == 2 and len(_rows(panel)) == 3


def test_a_version_shown_as_a_diff_colours_each_cell_by_its_change(
    panel: TuneHistoryPanel, session: TuneSession
) -> None:
    _three_versions(session)
    panel.pick_table(VE_FRONT_MAP)
    panel.select_version(1)
    panel.diff_button.click()
    view = panel.diff
    assert view.showing_grid
    assert view.title.full_text() == f"{VE_FRONT_MAP}: version 1 → current"
    model = view.grid.model()
    assert model.rowCount() == 17 and model.columnCount() == 9
    assert model.headerData(8, Qt.Orientation.Vertical, Qt.ItemDataRole.DisplayRole) == "2750"
    assert model.headerData(6, Qt.Orientation.Horizontal,
                            Qt.ItemDataRole.DisplayRole) == "80 kPa"
    richer, leaner, same = model.index(8, 6), model.index(1, 0), model.index(0, 0)
    assert richer.data() == "+4.0" and leaner.data() == "-5.0" and same.data() == "·"
    red, blue, grey = richer.data(BG), leaner.data(BG), same.data(BG)
    assert red.red() > 180 and red.blue() < 80  # higher: red
    assert blue.blue() > 180 and blue.red() < 80  # lower: blue
    assert abs(grey.red() - grey.blue()) < 20  # unchanged: neutral
    before = session.history().version(1).tune.table(VE_FRONT_MAP).values[8, 6]
    tip = richer.data(TIP)
    assert tip.startswith("2750 rpm, 80 kPa: ")
    assert f"{before:g} → {before * 1.04:g} %" in tip and "(+4.0 %)" in tip
    assert "version 1 → current" in tip
    assert "unchanged" in same.data(TIP)
    assert view.legend.scale_pct == 5.0
    assert view.legend.text() == "−5 % lower · leaner · 0 unchanged · +5 % higher · richer"
    assert view.summary.full_text().startswith("5 of 153 cells differ; the largest by -5.0 %")

    view.show_picker.setCurrentText("difference")
    assert view.grid.model().index(8, 6).data() == f"{before * 0.04:+.1f}"
    view.show_picker.setCurrentText("values")
    assert view.grid.model().index(8, 6).data() == f"{before * 1.04:.1f}"


def test_the_diff_follows_edits_to_the_current_table(
    panel: TuneHistoryPanel, session: TuneSession
) -> None:
    _three_versions(session)
    panel.show_version_diff(3, VE_REAR_MAP)
    assert panel.diff.comparison is not None and panel.diff.comparison.n_changed == 0
    assert "No cell differs" in panel.diff.summary.full_text()
    _scale(session, VE_REAR_MAP, slice(2, 3), slice(2, 3), 10.0, "rear +10 %")
    assert panel.diff.comparison.n_changed == 1
    assert panel.diff.grid.model().index(2, 2).data() == "+10.0"
    assert "current (unsaved)" in panel.diff.grid.model().index(2, 2).data(TIP)


def test_a_version_on_other_axes_is_said_so_instead_of_a_diff(
    panel: TuneHistoryPanel, session: TuneSession
) -> None:
    session.save_version("base")
    front = session.table(VE_FRONT_MAP)
    rescaled = Table(front.name, front.units, "rpm", "map_kpa", front.row_breakpoints,
                     front.col_breakpoints + 5.0, front.values)
    session.edit(rescaled, "new MAP breakpoints")
    session.save_version()
    panel.show_version_diff(1, VE_FRONT_MAP)
    assert not panel.diff.showing_grid
    text = panel.diff.message.text()
    assert "other axes" in text and "load breakpoints differ: #1 is 20 against 25" in text


def test_restore_asks_then_makes_a_new_version_and_loses_nothing(
    panel: TuneHistoryPanel, session: TuneSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_versions(session)
    first = session.history().version(1).tune
    asked: list[str] = []

    def answer_no(_parent: object, _title: str, text: str) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer_no)
    panel.select_version(1)
    panel.restore_button.click()
    assert "version 1" in asked[0] and "nothing is lost" in asked[0]
    assert len(_rows(panel)) == 3  # No: nothing happened

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *_: QMessageBox.StandardButton.Yes)
    panel.restore_button.click()
    rows = _rows(panel)
    assert [r[0] for r in rows] == ["4", "3", "2", "1"]
    assert rows[0][2] == "restore" and rows[0][4] == "restored version 1"
    assert session.tune.tables == first.tables
    assert session.can_undo and session.undo_text == "restore version 1"
    assert session.history().version(3).tune.table(VE_REAR_MAP) != first.table(VE_REAR_MAP)


def test_compare_shows_rear_against_front_for_the_picked_pair(
    qtbot, catalog: Catalog  # noqa: ANN001
) -> None:
    tables, label = demo_base_tables()
    by_name = {t.name: t for t in tables}
    front = by_name[VE_FRONT_MAP]
    tps_front = Table(VE_FRONT_TPS, "%", "rpm", "tps_pct", front.row_breakpoints,
                      np.linspace(0, 100, 9), np.full(front.shape, 80.0))
    tps_rear = Table(VE_REAR_TPS, "%", "rpm", "tps_pct", front.row_breakpoints,
                     np.linspace(0, 100, 9), np.full(front.shape, 76.0))
    session = TuneSession(catalog)
    session.show(Tune({**by_name, VE_FRONT_TPS: tps_front, VE_REAR_TPS: tps_rear}), label)
    panel = TuneHistoryPanel(session)
    qtbot.addWidget(panel)

    panel.compare_button.click()
    cmp = panel.diff.comparison
    assert cmp is not None and cmp.before.name == VE_FRONT_MAP and cmp.after.name == VE_REAR_MAP
    rear, front_v = by_name[VE_REAR_MAP].values, front.values
    r, c = np.unravel_index(np.argmax(np.abs(rear - front_v)), rear.shape)
    cell = panel.diff.grid.model().index(int(r), int(c))
    assert "front → rear" in cell.data(TIP)
    assert cell.data() == f"{(rear[r, c] - front_v[r, c]) / front_v[r, c] * 100:+.1f}"

    panel.pick_table(VE_REAR_TPS)  # the diff follows the pick: the TPS pair
    cmp = panel.diff.comparison
    assert cmp.before.name == VE_FRONT_TPS and cmp.after.name == VE_REAR_TPS
    assert panel.diff.grid.model().index(0, 0).data() == "-5.0"
    assert panel.diff.grid.model().headerData(
        8, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == "100 %"
    assert panel.diff.legend.text().startswith("−5 % lower · leaner")
