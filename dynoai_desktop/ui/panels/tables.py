"""Tables panel: pick a tune table and see it as Power Vision shows it (RPM rows, load columns)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.core.table import Table
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.table_model import TableModel


class TablesPanel(QWidget):
    def __init__(self, tables: list[Table], source: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tables = tables
        self.picker = QComboBox()
        self.picker.setObjectName("table_picker")
        for table in tables:
            self.picker.addItem(f"{table.name}  [{table.units}]")
        self.source_label = QLabel(source)
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
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.source_label)
        layout.addWidget(self.view, stretch=1)
        layout.addWidget(self.axis_label)

        self.picker.currentIndexChanged.connect(self.show_table)
        if tables:
            self.show_table(0)

    def show_table(self, index: int) -> None:
        table = self.tables[index]
        self.view.setModel(TableModel(table))
        load = "MAP (kPa)" if table.col_axis == "map_kpa" else "throttle (%)"
        self.axis_label.setText(f"rows: engine speed (rpm) · columns: {load}")
