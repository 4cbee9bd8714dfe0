"""Tables panel: every table of the tune as Power Vision lays it out (RPM rows, load columns),
edited with the keyboard (``table_editor``), with the live cursor and trace while data streams.

A thin view over the app's ``TuneSession``: Open a tune (.pvv, .msq or a Table CSV) to edit its
tables (the session keeps it in the catalog as its first version); edits are one history with
undo/redo; they are recorded as one version when the tuner saves (Ctrl+S, Save version) or
switches table. Export writes the shown table as Table CSV, or splices it into a copy of a
.pvv/.msq template (FORMATS.md §5). An overlay (``preview_overlay``; Overlay… loads a table of
changes) is shown over the grid until it is applied, in whole or for the selected cells, or
discarded (``overlay_preview``; the rules are core.overlay's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import Overlay, OverlayRecord
from dynoai_desktop.core.table import Table
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.overlay_preview import OverlayBar, overlay_layer, summary
from dynoai_desktop.ui.panels.table_3d_pane import Table3DPane
from dynoai_desktop.ui.panels.table_editor import KEY_HELP, TableEditor
from dynoai_desktop.ui.panels.table_editor_live import LiveRows
from dynoai_desktop.ui.panels.table_editor_units import (
    LOAD_NAMES,
    LOAD_UNITS,
    cell_format,
    ordered_names,
)
from dynoai_desktop.ui.panels.table_model import CellLayer
from dynoai_desktop.ui.widgets import CompactCombo, ElidedLabel

OPEN_FILTER = (
    "Tunes (*.pvv *.msq *.csv);;Power Vision (*.pvv);;TunerStudio (*.msq);;Table CSV (*.csv)"
)
EXPORT_FILTER = "Table CSV (*.csv);;Power Vision (*.pvv);;TunerStudio (*.msq)"
PICKER_CHARS = 14
OverlayApplier = Callable[[np.ndarray | None], OverlayRecord]
"""Applies the previewed overlay (to the cells of a selection, or all of them: None)."""


class TablesPanel(QWidget):
    """The tune's tables in a tuner's order, the shown one in the editor; a status line says
    what the last key did."""

    def __init__(self, tune: TuneSession, parent: QWidget | None = None,
                 units: DisplayUnits | None = None) -> None:
        super().__init__(parent)
        self.tune = tune
        self.tables: list[Table] = []
        self._names: list[str] = []
        self.picker = CompactCombo(PICKER_CHARS)
        self.picker.setObjectName("table_picker")
        self.save_button = QPushButton("Save version")
        self.save_button.setObjectName("save_version")
        self.save_button.setToolTip("Record the edits as one version of the tune (Ctrl+S); "
                                    "switching table records them too")
        # Open, Export and Overlay in one menu button: the row fits a 1280 px screen's dock.
        self.tune_button = QToolButton()
        self.tune_button.setObjectName("tune_menu")
        self.tune_button.setText("Tune")
        self.tune_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.tune_button)
        self.open_action = menu.addAction("Open tune…")
        self.export_action = menu.addAction("Export table…")
        self.overlay_action = menu.addAction("Overlay from a table of changes…")
        self.overlay_action.setToolTip("Preview a table of changes over the shown table (VE in "
                                       "%, AFR and spark in their units) before applying it")
        self.tune_button.setMenu(menu)
        self.overlay_bar = OverlayBar()
        self.overlay: Overlay | None = None
        self._apply_overlay: OverlayApplier | None = None
        self.view3d_button = QPushButton("3D")
        self.view3d_button.setObjectName("show_3d")
        self.view3d_button.setCheckable(True)
        self.view3d_button.setToolTip("The table as a surface beside the grid, with the live "
                                      "point on it (drag to turn, wheel to zoom)")
        self.view3d = Table3DPane()
        self.source_label = ElidedLabel()
        self.source_label.setObjectName("tune_source")
        self.source_label.setStyleSheet(f"color: {theme.MUTED};")
        self.view = TableEditor(tune, units)
        self.status_label = ElidedLabel(KEY_HELP)
        self.status_label.setObjectName("editor_status")
        self.axis_label = ElidedLabel()
        self.axis_label.setStyleSheet(f"color: {theme.MUTED};")
        self.axis_label.setToolTip("Keys: " + KEY_HELP)

        top = QHBoxLayout()
        top.addWidget(QLabel("Table"))
        top.addWidget(self.picker, stretch=1)
        top.addWidget(self.save_button)
        top.addWidget(self.view3d_button)
        top.addWidget(self.tune_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.source_label)
        layout.addWidget(self.overlay_bar)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.view3d)
        layout.addWidget(self.splitter, stretch=1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.axis_label)

        self.save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        self.save_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.save_shortcut.activated.connect(self.view.save_version)
        self.picker.currentIndexChanged.connect(self._picked)
        self.save_button.clicked.connect(self.view.save_version)
        self.open_action.triggered.connect(self._ask_open)
        self.export_action.triggered.connect(self._ask_export)
        self.overlay_action.triggered.connect(self._ask_overlay)
        self.view3d_button.toggled.connect(self.show_3d)
        self.overlay_bar.apply_all.connect(lambda: self._guarded(self.apply_overlay))
        self.overlay_bar.apply_selected.connect(
            lambda: self._guarded(lambda: self.apply_overlay(selected_only=True)))
        self.overlay_bar.discard.connect(self.discard_overlay)
        self.view.status.connect(self.status_label.setText)
        self.view.table_touched.connect(self._show_touched)
        tune.changed.connect(self.show_tune)
        self.show_tune()

    # ------------------------------------------------------------------ following the session
    def show_tune(self) -> None:
        """Follow the session: the list of tables (kept when the names did not change) and
        the shown table's values and locks."""
        names = ordered_names(self.tune.table_names)
        self.tables = [self.tune.table(name) for name in names]
        self.source_label.setText(self.tune.label)
        if names != self._names:
            shown = self.view.name
            self._names = names
            self.picker.blockSignals(True)
            self.picker.clear()
            for table in self.tables:
                self.picker.addItem(self._picker_text(table))
            self.picker.setCurrentIndex(names.index(shown) if shown in names else 0)
            self.picker.blockSignals(False)
            self.show_table(self.picker.currentIndex())
        else:
            self.view.refresh()
            self.view3d.show_table(self.current_table)
        if self.overlay is not None:
            self._show_overlay()  # the tune moved under it: preview against what it is now
        self._update_save_button()

    def _picker_text(self, table: Table) -> str:
        return f"{table.name}  [{cell_format(table, self.view.editor_model.units).unit}]"

    def show_table(self, index: int) -> None:
        """Edit the ``index``-th table of the list (no version is saved; see ``_picked``)."""
        if not 0 <= index < len(self.tables):
            self.view.show_table(None)
            self.axis_label.setText("")
            return
        table = self.tables[index]
        self.view.show_table(table.name)
        self.view3d.show_table(table)
        load = f"{LOAD_NAMES[table.col_axis]} ({LOAD_UNITS[table.col_axis]})"
        self.axis_label.setText(f"rows: rpm · columns: {load} · ↺ padding (a repeated "
                                "breakpoint) · hover here for the keys")

    def _picked(self, index: int) -> None:
        # Switching table closes a run of edits: they become one version (issue 14).
        self._save_pending()
        if self.overlay is not None and self._names[index] != self.overlay.table:
            self.discard_overlay()
        self.show_table(index)

    def _show_touched(self, name: str) -> None:
        if name in self._names:
            self.picker.blockSignals(True)
            self.picker.setCurrentIndex(self._names.index(name))
            self.picker.blockSignals(False)
            self.show_table(self._names.index(name))

    def _save_pending(self) -> None:
        if self.tune.catalog is not None and self.tune.unsaved and self.tune.can_undo:
            self.view.save_version()

    def _update_save_button(self) -> None:
        self.save_button.setEnabled(self.tune.catalog is not None and self.tune.unsaved
                                    and self.tune.can_undo)

    @property
    def current_table(self) -> Table | None:
        index = self.picker.currentIndex()
        return self.tables[index] if 0 <= index < len(self.tables) else None

    # ------------------------------------------------------------------ the lead's hooks
    def set_units(self, units: DisplayUnits) -> None:
        """Show cells in the user's display units (AFR tables in λ or AFR)."""
        self.view.set_units(units)
        for index, table in enumerate(self.tables):
            self.picker.setItemText(index, self._picker_text(table))

    def set_live_source(self, rows: LiveRows | None,
                        clock: Callable[[], float] | None = None) -> None:
        """Follow the live buffer with the cursor and its fading trace, and the 3D view's
        point (None: off)."""
        self.view.set_live_source(rows, clock)
        self.view3d.set_live_source(rows, clock)

    def show_3d(self, shown: bool) -> None:
        """The 3D view beside the grid (made the first time), or not."""
        if shown:
            self.view3d.open()
            width = max(self.splitter.width(), 2)
            self.splitter.setSizes([width // 2, width - width // 2])
        else:
            self.view3d.close_pane()
        if self.view3d_button.isChecked() != shown:
            self.view3d_button.setChecked(shown)

    def set_layer(self, layer: CellLayer | None) -> None:
        """Draw ``layer`` (an overlay's preview) over the shown table's cells."""
        self.view.set_layer(layer)

    # ------------------------------------------------------------------ overlays
    def preview_overlay(self, overlay: Overlay, apply: OverlayApplier | None = None) -> None:
        """Show ``overlay`` over its table (switching to it) until applied or discarded.
        ``apply``: how the bar's Apply applies it when not straight to the tune (an AI
        suggestion goes through its session, which then knows it was applied)."""
        if overlay.table not in self._names:
            raise InputError(f"the tune has no table {overlay.table!r} for this overlay")
        self.overlay = overlay
        self._apply_overlay = apply
        index = self._names.index(overlay.table)
        if index != self.picker.currentIndex():
            self.picker.blockSignals(True)
            self.picker.setCurrentIndex(index)
            self.picker.blockSignals(False)
            self.show_table(index)
        self._show_overlay()

    def _show_overlay(self) -> None:
        assert self.overlay is not None
        preview = self.tune.preview_overlay(self.overlay)
        fmt = self.view.fmt
        if fmt is not None:
            self.view.set_layer(overlay_layer(preview, fmt))
        self.overlay_bar.show_summary(summary(preview))

    def apply_overlay(self, selected_only: bool = False) -> OverlayRecord | None:
        """Apply the previewed overlay (every proposed cell, or the selected ones): one undo
        step and its own version, recorded with its source and limits."""
        overlay = self.overlay
        if overlay is None:
            return None
        selection = self.view.selection_mask() if selected_only else None
        if selection is not None and not (selection & overlay.mask).any():
            raise InputError("select some of the proposed cells first, or use Apply")
        applier = self._apply_overlay
        self.discard_overlay()  # before the session's change event redraws the grid
        record = (applier(selection) if applier is not None
                  else self.tune.apply_overlay(overlay, selection))
        self.view.status.emit(record.summary)
        return record

    def discard_overlay(self) -> None:
        """Leave the tune as it is; the preview goes."""
        self.overlay = None
        self._apply_overlay = None
        self.view.set_layer(None)
        self.overlay_bar.hide()

    def load_overlay(self, path: Path) -> None:
        """Preview a table of changes from ``path`` (Table CSV or a tune file holding a table
        of the shown one's name) over the shown table."""
        table = self.current_table
        if table is None:
            raise InputError("no table is shown; open a tune first")
        self.preview_overlay(self.tune.overlay_from_file(path, table.name))

    def _ask_overlay(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Overlay: a table of changes", "",
                                              "Table CSV (*.csv)")
        if name:
            self._guarded(lambda: self.load_overlay(Path(name)))

    # ------------------------------------------------------------------ files
    def open_tune(self, path: Path) -> None:
        """Open the tune in ``path``; the session keeps it in the catalog (version 1: import).
        Edits not yet recorded on the tune open now are recorded first."""
        self._save_pending()
        self.tune.open_file(path)

    def export_current(self, out: Path, template: Path | None) -> None:
        table = self.current_table
        if table is None:
            raise InputError("no table is shown; open a tune first")
        self.tune.export_table(table.name, out, template)

    def _ask_open(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open tune", "", OPEN_FILTER)
        if name:
            self._guarded(lambda: self.open_tune(Path(name)))

    def _ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export table", "", EXPORT_FILTER)
        if not name:
            return
        out = Path(name)
        template = None
        if out.suffix.lower() in (".pvv", ".msq"):
            pick, _ = QFileDialog.getOpenFileName(
                self, f"Template to splice into ({out.suffix})", "", f"*{out.suffix.lower()}"
            )
            if not pick:
                return
            template = Path(pick)
        self._guarded(lambda: self.export_current(out, template))

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except InputError as exc:
            QMessageBox.warning(self, "DynoAI", str(exc))
