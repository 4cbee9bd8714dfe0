"""The AI suggestions dock and the model page (issue 19): the open vehicle's predicted base map
from the shipped prior, one suggestion per MAP VE table, previewed on the editor as an overlay,
applied (in whole or the selected cells) within the authority limit as one undoable step, or
rejected; the model page lists the prior as active, and training with too little data says
DYN-M004 without a dialog."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, Tune
from dynoai_desktop.storage.resources import base_map_tables
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.panels.ai_suggestions import COLUMNS
from dynoai_desktop.ui.panels.model_page import PRIOR_SOURCE, VERSION_COLUMNS

WAIT_MS = 30_000
TRAINING_MS = 300_000  # Train trains every kind in turn, each in a process of its own
STATUS = COLUMNS.index("Status")
AUTHORITY = 0.10  # the default ±10 % of VE per application (core.overlay.limits)


def _window_with_a_stage1_bike(make_window) -> MainWindow:  # noqa: ANN001
    """A Twin Cam 103, stage 1 (2-into-1, high-flow air cleaner) in an open session, its stage
    map shown as the tune's MAP VE tables."""
    window = make_window()
    app = window.app
    build = replace(BuildSpec.stock("twin_cam_103"), stage=1, exhaust="two_into_one",
                    air_cleaner="high_flow")
    customer = app.runs.add_customer("Dale")
    vehicle = app.runs.add_vehicle(customer, "2014 Road King", build)
    app.runs.start_session(vehicle)
    front, rear = base_map_tables("twin_cam_103", 1)
    app.tune.show(Tune({VE_FRONT_MAP: replace(front, name=VE_FRONT_MAP),
                        VE_REAR_MAP: replace(rear, name=VE_REAR_MAP)}), "stage 1 map")
    return window


def _predicted(qtbot, make_window) -> MainWindow:  # noqa: ANN001
    window = _window_with_a_stage1_bike(make_window)
    qtbot.mouseClick(window.ai.predict_button, Qt.MouseButton.LeftButton)
    kinds = [window.ai.list.item(r, COLUMNS.index("Kind")).text()
             for r in range(window.ai.list.rowCount())]
    # the base map for both tables, the balance on the rear (no decels recorded: no decel row)
    assert kinds == ["predicted base map", "predicted base map", "cylinder balance"]
    return window


def test_predict_offers_a_base_map_per_ve_table_from_the_prior_and_applies_it_undoably(
        qtbot, make_window) -> None:  # noqa: ANN001
    window = _predicted(qtbot, make_window)
    panel, app = window.ai, window.app
    assert "prior" in panel.note.text() and "simulated shop history" in panel.note.text()
    assert "2014 Road King" in panel.note.text()
    tables = [panel.list.item(r, COLUMNS.index("Target table")).text() for r in range(2)]
    assert tables == [VE_FRONT_MAP, VE_REAR_MAP]
    assert panel.list.item(0, COLUMNS.index("Confidence")).text().count("%") == 2
    assert panel.list.item(0, STATUS).text() == "new"
    assert "driven by" in panel.why.text()

    # Preview the rear one: the editor switches to its table and shows the diff layer.
    panel.select(f"base_ve:{VE_REAR_MAP}")
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    editor = window.tables
    assert editor.current_table.name == VE_REAR_MAP
    layer = editor.view.model().layer
    assert layer is not None and layer.name == "predicted base map overlay"
    suggestion = app.models.suggestions[1]
    assert np.array_equal(layer.mask, suggestion.overlay.mask)
    assert editor.overlay_bar.isVisibleTo(window)

    # Apply the front one: learned cells move, within the authority limit; others stay.
    before = app.tune.table(VE_FRONT_MAP).values.copy()
    panel.select(f"base_ve:{VE_FRONT_MAP}")
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert "Applied: predicted base map overlay on" in panel.message.text()
    after = app.tune.table(VE_FRONT_MAP).values
    mask = app.models.suggestions[0].overlay.mask
    assert (after[mask] != before[mask]).any() and np.array_equal(after[~mask], before[~mask])
    assert (np.abs(after / before - 1.0) <= AUTHORITY + 1e-9).all()
    assert panel.list.item(0, STATUS).text() == "applied"
    assert not panel.apply_button.isEnabled()  # applying it twice would move it twice
    assert editor.overlay is app.models.suggestions[1].overlay  # the rear preview stays
    app.tune.undo()
    assert np.array_equal(app.tune.table(VE_FRONT_MAP).values, before)

    # Reject the rear one: its status says so, the tune is untouched.
    rear = app.tune.table(VE_REAR_MAP).values.copy()
    panel.select(f"base_ve:{VE_REAR_MAP}")
    qtbot.mouseClick(panel.reject_button, Qt.MouseButton.LeftButton)
    assert app.models.suggestions[1].status == "rejected"
    assert panel.list.item(1, STATUS).text() == "rejected"
    assert np.array_equal(app.tune.table(VE_REAR_MAP).values, rear)
    assert editor.overlay is None and not editor.overlay_bar.isVisibleTo(window)


def test_apply_selection_moves_only_the_cells_selected_in_the_editor(
        qtbot, make_window) -> None:  # noqa: ANN001
    window = _predicted(qtbot, make_window)
    panel, app, editor = window.ai, window.app, window.tables
    panel.select(f"base_ve:{VE_FRONT_MAP}")
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    mask = app.models.suggestions[0].overlay.mask
    r, c = map(int, np.argwhere(mask)[0])
    editor.view.select_cells(r, c, r, c + 1)
    before = app.tune.table(VE_FRONT_MAP).values.copy()
    qtbot.mouseClick(panel.apply_selection_button, Qt.MouseButton.LeftButton)
    after = app.tune.table(VE_FRONT_MAP).values
    moved = np.argwhere(after != before)
    assert len(moved) >= 1 and all(rr == r and cc in (c, c + 1) for rr, cc in moved)
    assert app.models.suggestions[0].status == "applied"
    assert editor.overlay is None


def test_the_editor_bars_apply_of_a_previewed_suggestion_marks_it_applied(
        qtbot, make_window) -> None:  # noqa: ANN001
    window = _predicted(qtbot, make_window)
    panel, app, editor = window.ai, window.app, window.tables
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    before = app.tune.table(VE_FRONT_MAP).values.copy()
    qtbot.mouseClick(editor.overlay_bar.apply_button, Qt.MouseButton.LeftButton)
    assert not np.array_equal(app.tune.table(VE_FRONT_MAP).values, before)
    assert app.models.suggestions[0].status == "applied"
    qtbot.waitUntil(lambda: panel.list.item(0, STATUS).text() == "applied", timeout=WAIT_MS)


def test_the_model_page_lists_the_prior_as_active_and_too_little_data_says_dyn_m004(
        qtbot, make_window, training_at_normal_priority) -> None:  # noqa: ANN001
    window = _window_with_a_stage1_bike(make_window)
    qtbot.mouseClick(window.ai.models_button, Qt.MouseButton.LeftButton)
    page = window.ai.page
    assert page is not None and page.isVisible()
    row = page.row_of("prior")
    cells = [page.versions.item(row, c).text() for c in range(len(VERSION_COLUMNS))]
    assert cells[VERSION_COLUMNS.index("Active")] == "✓"
    assert cells[VERSION_COLUMNS.index("Source")] == PRIOR_SOURCE
    assert float(cells[VERSION_COLUMNS.index("Held-out MAE %")]) > 0
    assert page.scope.currentText() == "shop"
    assert "no sessions" in page.drift.text().lower()

    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "DYN-M004" in page.training_line.text()
                    and not window.app.models.training, timeout=TRAINING_MS)
    assert page.training_line.text().startswith("Last training: base VE: DYN-M004 too little "
                                                "data")
    assert "decel enrichment: DYN-M004" in page.training_line.text()
    assert page.train_button.isEnabled() and not page.cancel_button.isEnabled()

    qtbot.mouseClick(page.rollback_button, Qt.MouseButton.LeftButton)
    assert page.message.text().startswith("DYN-M001 no model: no stored base_ve model is "
                                          "active for shop")


def test_the_model_page_exports_a_version_and_imports_it_back_inactive(
        qtbot, make_window, tmp_path) -> None:  # noqa: ANN001
    window = _window_with_a_stage1_bike(make_window)
    qtbot.mouseClick(window.ai.models_button, Qt.MouseButton.LeftButton)
    page = window.ai.page
    page.versions.selectRow(page.row_of("prior"))
    assert page.export_button.isEnabled()
    bundle = tmp_path / "prior.zip"
    page._guarded(lambda: page.export_selected(bundle))  # noqa: SLF001 - the dialog's path
    assert page.message.text() == f"shop prior exported to {bundle}."
    page._guarded(lambda: page.import_file(bundle))  # noqa: SLF001
    assert page.message.text().startswith("Imported as shop v1 (inactive)")
    row = page.row_of("v1")
    assert page.versions.item(row, VERSION_COLUMNS.index("Active")).text() == ""
    bundle.write_bytes(b"not a zip")
    page._guarded(lambda: page.import_file(bundle))  # noqa: SLF001
    assert page.message.text().startswith("DYN-M003 integrity failure")


def test_the_balance_goes_on_both_tables_when_the_tuner_chooses_it(qtbot, make_window) -> None:  # noqa: ANN001
    window = _predicted(qtbot, make_window)
    panel = window.ai
    panel.balance_on.setCurrentText("Balance split over both")
    rows = [(panel.list.item(r, COLUMNS.index("Kind")).text(),
             panel.list.item(r, COLUMNS.index("Target table")).text())
            for r in range(panel.list.rowCount())]
    assert rows[2:] == [("cylinder balance", VE_FRONT_MAP), ("cylinder balance", VE_REAR_MAP)]
    panel.select(f"cylinder_balance:{VE_REAR_MAP}")
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    layer = window.tables.view.model().layer
    assert window.tables.current_table.name == VE_REAR_MAP
    assert layer is not None and layer.name == "cylinder balance overlay"
