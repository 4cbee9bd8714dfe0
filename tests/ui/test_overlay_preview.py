"""An overlay previewed over the editor's grid: each proposed cell shows its change, held and
limited cells say why, Apply is one undo step and one version (in whole or for the selection),
Discard leaves the tune as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.overlay import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.table_csv import format_table_csv
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, ChangeSource
from dynoai_desktop.ui.panels.tables import TablesPanel


@pytest.fixture
def session(session: TuneSession) -> TuneSession:
    """The demo base map, kept as version 1."""
    session.save_version("base")
    return session


@pytest.fixture
def panel(qtbot, session: TuneSession) -> TablesPanel:  # noqa: ANN001
    widget = TablesPanel(session)
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    return widget


def _overlay(session: TuneSession) -> Overlay:
    """+4 % on rows 2-4 x columns 1-3, +14 % on (3, 2) (over the ±10 % authority), and -6 %
    on the WOT column's rows 2-4 (a manual overlay may not lean WOT VE)."""
    table = session.table(VE_FRONT_MAP)
    change = np.zeros(table.shape)
    change[2:5, 1:4] = 4.0
    change[3, 2] = 14.0
    wot = int(np.flatnonzero(table.col_breakpoints >= 95.0)[0])
    change[2:5, wot] = -6.0
    return Overlay(VE_FRONT_MAP, OverlayKind.MULTIPLICATIVE, change, change != 0.0,
                   OverlaySource.MANUAL, description="test corrections")


def test_the_preview_shows_each_change_and_why_a_cell_was_limited(panel: TablesPanel,
                                                                   session: TuneSession) -> None:
    panel.picker.setCurrentIndex(panel.tables.index(session.table(VE_REAR_MAP)))
    before = session.tune
    overlay = _overlay(session)
    panel.preview_overlay(overlay)
    assert panel.view.name == VE_FRONT_MAP  # it switched to the overlay's table
    assert panel.overlay_bar.isVisible()
    text = panel.overlay_bar.label.text()
    assert "12 cells proposed" in text and "authority limit" in text and "WOT" in text
    model = panel.view.editor_model
    layer = model.layer
    assert layer is not None and layer.notes[2, 1] == "+4.0"
    assert layer.notes[3, 2] == "⚠+10.0"
    assert "(proposed +14.0 %, applied +10.0 %): authority limit ±10 %" in layer.tooltips[3, 2]
    wot = int(np.flatnonzero(session.table(VE_FRONT_MAP).col_breakpoints >= 95.0)[0])
    assert layer.notes[2, wot] == "⚠held"
    assert "WOT: only measured evidence may lean" in layer.tooltips[2, wot]
    assert session.tune is before  # a preview changes nothing
    panel.discard_overlay()
    assert not panel.overlay_bar.isVisible() and model.layer is None
    assert session.tune is before


def test_apply_is_one_undo_step_and_one_version_and_apply_selected_takes_only_those(
        panel: TablesPanel, session: TuneSession) -> None:
    base = np.array(session.table(VE_FRONT_MAP).values)
    overlay = _overlay(session)
    panel.preview_overlay(overlay)
    panel.view.select_cells(2, 1, 2, 3)  # one row of the block
    panel.apply_overlay(selected_only=True)
    after = session.table(VE_FRONT_MAP).values
    moved = after != base
    assert moved[2, 1:4].all() and moved.sum() == 3
    assert np.allclose(after[2, 1:4], base[2, 1:4] * 1.04)
    history = session.history()
    assert history is not None and history.latest.made_by == ChangeSource.MANUAL_EDIT
    assert "limits" in history.latest.note
    session.undo()
    assert np.array_equal(session.table(VE_FRONT_MAP).values, base)

    panel.preview_overlay(overlay)
    record = panel.apply_overlay()
    assert record is not None and record.cells_changed == 9  # 9 block cells; WOT held
    assert not panel.overlay_bar.isVisible()
    changed = session.table(VE_FRONT_MAP).values != base
    assert changed.sum() == 9
    session.undo()
    assert np.array_equal(session.table(VE_FRONT_MAP).values, base)


def test_a_table_of_changes_from_a_file_previews_over_the_shown_table(
        panel: TablesPanel, session: TuneSession, tmp_path: Path) -> None:
    table = session.table(VE_FRONT_MAP)
    changes = np.zeros(table.shape)
    changes[5, 4] = 2.5
    path = tmp_path / "corrections.csv"
    path.write_text(format_table_csv(table.with_values(changes)), encoding="utf-8")
    panel.picker.setCurrentIndex(panel.tables.index(table))
    panel.load_overlay(path)
    assert panel.overlay is not None and int(panel.overlay.mask.sum()) == 1
    assert "1 cells proposed, 1 change" in panel.overlay_bar.label.text()


def test_the_3d_view_opens_beside_the_grid_and_follows_the_table(panel: TablesPanel,
                                                                 session: TuneSession) -> None:
    assert panel.view3d.view is None and not panel.view3d.isVisible()  # made only when asked
    panel.view3d_button.click()
    view = panel.view3d.view
    assert view is not None and panel.view3d.isVisible()
    panel.picker.setCurrentIndex(panel.tables.index(session.table(VE_REAR_MAP)))
    assert VE_REAR_MAP in view.caption.text() or view.available is False
    panel.view3d_button.click()
    assert not panel.view3d.isVisible()
