"""History of the tune: its versions (what made each, when, the note, the cells it changed), any
one shown as a diff against the current table or restored, and front compared against rear.

A thin view over the app's ``TuneSession``: the versions come from ``history()``, a restore is
``restore_version`` (a new version and one undo step; nothing is lost), and the cell-by-cell
comparison is core's (``core/table_compare.py``).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table_compare import axes_difference, compare_tables, front_rear_pair
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, TableDiff, Tune, TuneHistory
from dynoai_desktop.storage.catalog.tunes import describe_changes
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.table_diff import TableDiffView
from dynoai_desktop.ui.widgets import CompactCombo, ElidedLabel

COLUMNS = ("#", "When", "Made by", "Cells changed", "Note")
PICKER_CHARS = 14
NUMBER_ROLE = Qt.ItemDataRole.UserRole


def short_local_time(iso: str) -> str:
    """'2026-11-22 14:05' in this PC's time zone; the text as stored when it is not a time."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%Y-%m-%d %H:%M")


def changes_summary(number: int, changes: tuple[TableDiff, ...]) -> str:
    """The 'cells changed' column: the first version lists how many tables it brought."""
    if number == 1 and changes and all(c.kind == "added" for c in changes):
        return f"first version: {len(changes)} table{'s' if len(changes) != 1 else ''}"
    return describe_changes(changes)


class TuneHistoryPanel(QWidget):
    """Versions list, Show diff / Restore… / Compare front/rear, and the diff grid below."""

    def __init__(self, tune: TuneSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tune = tune
        self.history: TuneHistory | None = None
        self._loaded_for: tuple[int | None, Tune] | None = None  # (tune id, tune) last read
        self._shown: tuple[str, int, str] | None = None  # ("version", n, table) / ("pair", 0, t)
        self._history_error = ""

        self.picker = CompactCombo(PICKER_CHARS)
        self.picker.setObjectName("history_table_picker")
        self.picker.setToolTip("The table a diff shows (and, for Compare, which front/rear pair)")
        self.versions = QTreeWidget()
        self.versions.setObjectName("history_versions")
        self.versions.setColumnCount(len(COLUMNS))
        self.versions.setHeaderLabels(list(COLUMNS))
        self.versions.setRootIsDecorated(False)
        self.versions.setUniformRowHeights(True)
        self.versions.setAlternatingRowColors(True)
        header = self.versions.header()
        for col in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.diff_button = QPushButton("Show diff")
        self.diff_button.setToolTip("The selected version's table against the current one")
        self.restore_button = QPushButton("Restore…")
        self.restore_button.setToolTip(
            "Make the selected version current again: a new version, so nothing is lost")
        self.compare_button = QPushButton("Compare front/rear")
        self.compare_button.setToolTip(
            "Rear cylinder's table against the front's (VE by MAP, VE by TPS or spark, as the "
            "table picked; VE by MAP otherwise)")
        self.status = ElidedLabel()
        self.status.setObjectName("history_status")
        self.status.setStyleSheet(f"color: {theme.MUTED};")
        self.diff = TableDiffView()

        top = QHBoxLayout()
        top.addWidget(QLabel("Table"))
        top.addWidget(self.picker, stretch=1)
        buttons = QHBoxLayout()
        for button in (self.diff_button, self.restore_button, self.compare_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(top)
        upper_layout.addWidget(self.versions, stretch=1)
        upper_layout.addLayout(buttons)
        upper_layout.addWidget(self.status)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(self.diff)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([240, 560])  # the diff grid gets the room; the list scrolls
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.diff_button.clicked.connect(self._show_selected_diff)
        self.restore_button.clicked.connect(self._ask_restore)
        self.compare_button.clicked.connect(self.compare_front_rear)
        self.versions.itemSelectionChanged.connect(self._enable_buttons)
        self.versions.itemDoubleClicked.connect(lambda *_: self._show_selected_diff())
        self.picker.currentIndexChanged.connect(self._picked_table)
        tune.changed.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ reading the session
    def refresh(self) -> None:
        """Follow the session: its tables, its versions (read again only when the catalog may
        have a new one: a save, a restore, another tune), and the diff shown."""
        self._list_tables()
        session = self.tune
        # Edits only change the catalog when saved; a save or restore leaves the tune current
        # and recorded. So an unsaved tune, or the very tune last read, needs no reading.
        if self._loaded_for is None or self._loaded_for[0] != session.tune_id or (
            not session.unsaved and self._loaded_for[1] is not session.tune
        ):
            self._read_history()
        self._write_status()
        self._reshow()

    def _read_history(self) -> None:
        selected = self.selected_version
        self._loaded_for = (self.tune.tune_id, self.tune.tune)
        try:
            self.history = self.tune.history()
        except InputError as exc:
            self.history = None
            self._history_error = str(exc)
        else:
            self._history_error = ""
        self.versions.clear()
        for version in reversed(self.history.versions if self.history else []):  # newest first
            item = QTreeWidgetItem([
                str(version.number),
                short_local_time(version.when),
                str(version.made_by),
                changes_summary(version.number, version.changes),
                version.note,
            ])
            item.setData(0, NUMBER_ROLE, version.number)
            item.setToolTip(1, version.when)
            item.setToolTip(3, describe_changes(version.changes))
            item.setToolTip(4, version.note)
            item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.versions.addTopLevelItem(item)
            if version.number == selected:
                item.setSelected(True)
                self.versions.setCurrentItem(item)
        self._enable_buttons()

    def _list_tables(self) -> None:
        names = self.tune.table_names
        shown = self.table_name
        if [self.picker.itemText(i) for i in range(self.picker.count())] != names:
            self.picker.blockSignals(True)
            self.picker.clear()
            self.picker.addItems(names)
            if shown in names:
                self.picker.setCurrentIndex(names.index(shown))
            self.picker.blockSignals(False)
        front, rear = self._pair()
        self.compare_button.setEnabled(front in names and rear in names)

    def _write_status(self) -> None:
        if self._history_error:
            text = self._history_error
        elif self.history is None:
            text = "This tune is not kept in the catalog yet: save a version to start its history."
        elif self.tune.unsaved:
            text = (f"{len(self.history.versions)} versions; the current tune has edits not "
                    "saved as a version yet (a diff compares against them).")
        else:
            text = f"{len(self.history.versions)} versions; the current tune is the newest."
        self.status.setText(text)

    def _enable_buttons(self) -> None:
        has = self.selected_version is not None
        self.diff_button.setEnabled(has)
        self.restore_button.setEnabled(has)

    # ------------------------------------------------------------------ public
    @property
    def table_name(self) -> str | None:
        """The table picked for diffs (None when the tune has no tables)."""
        text = self.picker.currentText()
        return text or None

    def pick_table(self, name: str) -> None:
        """Pick table ``name`` for diffs (the diff shown follows)."""
        index = self.picker.findText(name)
        if index < 0:
            raise InputError(f"the tune has no table {name!r}")
        self.picker.setCurrentIndex(index)

    @property
    def selected_version(self) -> int | None:
        items = self.versions.selectedItems()
        return int(items[0].data(0, NUMBER_ROLE)) if items else None

    def select_version(self, number: int) -> None:
        for i in range(self.versions.topLevelItemCount()):
            item = self.versions.topLevelItem(i)
            if item.data(0, NUMBER_ROLE) == number:
                self.versions.setCurrentItem(item)
                return
        raise InputError(f"there is no version {number} in the list")

    def show_version_diff(self, number: int, name: str | None = None) -> None:
        """Show table ``name`` (the picked one by default) of version ``number`` against the
        current table, or say why there is no cell-by-cell diff."""
        name = name or self.table_name
        if name is None:
            self.diff.show_message("", "The tune has no tables.")
            return
        if name != self.table_name:
            self.picker.blockSignals(True)
            try:
                self.pick_table(name)
            finally:
                self.picker.blockSignals(False)
        self._shown = ("version", number, name)
        self._show_version(number, name)

    def compare_front_rear(self) -> None:
        """Rear against front for the picked table's per-cylinder pair (VE by MAP otherwise)."""
        front, _ = self._pair()
        self._shown = ("pair", 0, front)
        self._show_pair()

    def restore(self, number: int) -> None:
        """Restore version ``number`` without asking (the button asks first)."""
        try:
            self.tune.restore_version(number)
        except InputError as exc:
            QMessageBox.warning(self, "DynoAI", str(exc))

    # ------------------------------------------------------------------ inside
    def _pair(self) -> tuple[str, str]:
        return front_rear_pair(self.table_name or "") or (VE_FRONT_MAP, VE_REAR_MAP)

    def _show_version(self, number: int, name: str) -> None:
        title = f"{name}: version {number} → current"
        if self.history is None:
            self.diff.show_message(title, "This tune has no versions yet.")
            return
        try:
            version = self.history.version(number)
        except InputError as exc:
            self.diff.show_message(title, str(exc))
            return
        old = version.tune.tables.get(name)
        now = self.tune.tune.tables.get(name)
        if old is None or now is None:
            missing = f"version {number}" if old is None else "the current tune"
            self.diff.show_message(title, f"{missing.capitalize()} has no table {name!r}, so "
                                          "there is nothing to compare it with.")
            return
        comparison = compare_tables(old, now)
        if comparison is None:
            self.diff.show_message(
                title,
                f"Version {number} and the current tune hold {name} on other axes "
                f"({axes_difference(old, now)}), so a cell-by-cell diff would compare "
                f"different cells. Restore version {number} to work on its table.")
            return
        current = "current (unsaved)" if self.tune.unsaved else "current"
        self.diff.show_comparison(title, comparison, f"version {number}", current)

    def _show_pair(self) -> None:
        front_name, rear_name = self._pair()
        title = f"Rear against front: {rear_name} vs {front_name}"
        tables = self.tune.tune.tables
        front, rear = tables.get(front_name), tables.get(rear_name)
        if front is None or rear is None:
            missing = front_name if front is None else rear_name
            self.diff.show_message(title, f"The tune has no {missing} to compare.")
            return
        comparison = compare_tables(front, rear)
        if comparison is None:
            self.diff.show_message(
                title, f"Front and rear are on other axes ({axes_difference(front, rear)}), so "
                       "they cannot be compared cell by cell.")
            return
        self.diff.show_comparison(title, comparison, "front", "rear")

    def _reshow(self) -> None:
        if self._shown is None:
            return
        kind, number, name = self._shown
        if kind == "version":
            self._show_version(number, name)
        else:
            self._show_pair()

    def _picked_table(self) -> None:
        if self._shown is None:
            return
        kind, number, _ = self._shown
        if kind == "version" and self.table_name:
            self.show_version_diff(number, self.table_name)
        else:
            self.compare_front_rear()

    def _show_selected_diff(self) -> None:
        number = self.selected_version
        if number is not None:
            self.show_version_diff(number)

    def _ask_restore(self) -> None:
        number = self.selected_version
        if number is None or self.history is None:
            return
        version = self.history.version(number)
        answer = QMessageBox.question(
            self, "Restore version",
            f"Make version {number} ({version.made_by}, {short_local_time(version.when)}) "
            "current again?\n\nIt is recorded as a new version, after any unsaved edits are "
            "saved as one: nothing is lost, and Undo takes it back.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.restore(number)
