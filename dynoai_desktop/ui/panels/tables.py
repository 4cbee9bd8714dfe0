"""Tables panel: pick a tune table and see it as Power Vision shows it (RPM rows, load columns).

A thin view over the app's ``TuneSession``: Open a tune (.pvv, .msq or a Table CSV) to show its
tables (the session keeps it in the catalog as its first version); Export writes the shown table
as Table CSV, or splices it into a copy of a .pvv/.msq template (FORMATS.md §5).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.table_model import TableModel
from dynoai_desktop.ui.widgets import CompactCombo, ElidedLabel

OPEN_FILTER = (
    "Tunes (*.pvv *.msq *.csv);;Power Vision (*.pvv);;TunerStudio (*.msq);;Table CSV (*.csv)"
)
EXPORT_FILTER = "Table CSV (*.csv);;Power Vision (*.pvv);;TunerStudio (*.msq)"
PICKER_CHARS = 14


class TablesPanel(QWidget):
    def __init__(self, tune: TuneSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tune = tune
        self.tables: list[Table] = []
        self.picker = CompactCombo(PICKER_CHARS)
        self.picker.setObjectName("table_picker")
        self.open_button = QPushButton("Open tune…")
        self.export_button = QPushButton("Export…")
        self.source_label = ElidedLabel()
        self.source_label.setObjectName("tune_source")
        self.source_label.setStyleSheet(f"color: {theme.MUTED};")
        self.view = QTableView()
        self.view.setObjectName("table_view")
        self.view.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.axis_label = QLabel()
        self.axis_label.setStyleSheet(f"color: {theme.MUTED};")

        top = QHBoxLayout()
        top.addWidget(QLabel("Table"))
        top.addWidget(self.picker, stretch=1)
        top.addWidget(self.open_button)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.source_label)
        layout.addWidget(self.view, stretch=1)
        layout.addWidget(self.axis_label)

        self.picker.currentIndexChanged.connect(self.show_table)
        self.open_button.clicked.connect(self._ask_open)
        self.export_button.clicked.connect(self._ask_export)
        tune.changed.connect(self.show_tune)
        self.show_tune()

    def show_tune(self) -> None:
        """List the session's tables again, keeping the one shown when it is still there."""
        shown = self.current_table.name if self.current_table is not None else None
        tables = [self.tune.table(name) for name in self.tune.table_names]
        self.tables = tables
        self.source_label.setText(self.tune.label)
        self.picker.blockSignals(True)
        self.picker.clear()
        for table in tables:
            self.picker.addItem(f"{table.name}  [{table.units}]")
        names = [t.name for t in tables]
        self.picker.setCurrentIndex(names.index(shown) if shown in names else 0)
        self.picker.blockSignals(False)
        if tables:
            self.show_table(self.picker.currentIndex())

    def show_table(self, index: int) -> None:
        if not 0 <= index < len(self.tables):
            return
        table = self.tables[index]
        self.view.setModel(TableModel(table))
        load = "MAP (kPa)" if table.col_axis == "map_kpa" else "throttle (%)"
        self.axis_label.setText(f"rows: engine speed (rpm) · columns: {load}")

    @property
    def current_table(self) -> Table | None:
        index = self.picker.currentIndex()
        return self.tables[index] if 0 <= index < len(self.tables) else None

    def open_tune(self, path: Path) -> None:
        """Open the tune in ``path``; the session keeps it in the catalog (version 1: import)."""
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
