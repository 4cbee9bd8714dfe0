"""The Training data panel: how far the shop is from a useful dataset, per learnable pattern
against its minimum, the mix of engine families, stages and cams, every session's record with the
switch that leaves it out, and Export… / Import…. A thin view of ``app.training_session``, which
collects the records on its own (docs/training-data.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from dynoai_desktop.app.run_library import readable_time
from dynoai_desktop.app.training_progress import PATTERN_LABELS, TrainingEntry, TrainingProgress
from dynoai_desktop.app.training_session import TrainingSession
from dynoai_desktop.core.build_spec import EngineFamily
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.widgets import scrolling_content

POLL_INTERVAL_MS = 250
SESSION_COLUMNS = ("Session", "State", "Exclude", "Use anyway", "Vehicle", "Started")
EXCLUDE_COLUMN = SESSION_COLUMNS.index("Exclude")
ANYWAY_COLUMN = SESSION_COLUMNS.index("Use anyway")
DATASET_FILTER = "Training data (*.json)"
MIX_ROWS_SHOWN = 6  # a mix table scrolls past this many rows
MIX_SIDE_BY_SIDE_PX = 480  # wider than this, the three mix tables stand side by side


def family_label(value: str) -> str:
    """'twin_cam_103' as 'Twin Cam 103' (an unknown value as it is)."""
    try:
        return EngineFamily(value).label
    except ValueError:
        return value


def stage_label(value: str) -> str:
    return "stock" if value in ("0", "stock") else f"Stage {value}"


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {theme.MUTED};")
    return label


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setWordWrap(False)
    return table


class MixTable(QTableWidget):
    """One side of the mix: a name and the sessions of it, most first."""

    def __init__(self, title: str) -> None:
        super().__init__(0, 2)
        self.setHorizontalHeaderLabels((title, "Sessions"))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setMinimumWidth(110)
        self._fit_height()

    def _fit_height(self) -> None:
        """As tall as its rows (one at least, MIX_ROWS_SHOWN at most): no empty space."""
        rows = min(max(self.rowCount(), 1), MIX_ROWS_SHOWN)
        self.setFixedHeight(self.horizontalHeader().sizeHint().height()
                            + rows * self.verticalHeader().defaultSectionSize()
                            + 2 * self.frameWidth())

    def show_counts(self, counts: Mapping[str, int], label: Callable[[str], str] = str
                    ) -> None:
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        self.setRowCount(len(ordered))
        for row, (name, n) in enumerate(ordered):
            self.setItem(row, 0, QTableWidgetItem(label(name)))
            count = QTableWidgetItem(str(n))
            count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, 1, count)
        self._fit_height()

    def counts(self) -> dict[str, int]:
        """What is shown, label -> sessions."""
        return {self.item(r, 0).text(): int(self.item(r, 1).text())
                for r in range(self.rowCount())}


class TrainingDataPanel(QWidget):
    """The Training data dock."""

    def __init__(self, session: TrainingSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.working = _muted()
        self.bars: dict[str, QProgressBar] = {}
        bars = QGridLayout()
        for row, (name, label) in enumerate(PATTERN_LABELS.items()):
            bar = QProgressBar()
            bar.setObjectName(f"progress_{name}")
            bar.setTextVisible(True)
            bar.setMinimumWidth(90)
            self.bars[name] = bar
            bars.addWidget(QLabel(label), row, 0)
            bars.addWidget(bar, row, 1)
        bars.setColumnStretch(1, 1)
        self.families, self.stages, self.cams = (MixTable("Family"), MixTable("Stage"),
                                                 MixTable("Cam"))
        self.mix = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        for table in (self.families, self.stages, self.cams):
            self.mix.addWidget(table)
        self.sessions = _table(SESSION_COLUMNS)
        self.sessions.setMinimumHeight(160)
        header = self.sessions.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The state takes the room there is, elided (its tooltip has all of it).
        header.setSectionResizeMode(SESSION_COLUMNS.index("State"),
                                    QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)
        self.sessions.setTextElideMode(Qt.TextElideMode.ElideRight)
        # The dark theme draws an unticked box in the list almost invisibly: outline it.
        self.sessions.setStyleSheet(
            f"QTableWidget::indicator {{ width: 12px; height: 12px; border: 1px solid "
            f"{theme.MUTED}; background: {theme.BACKGROUND}; }}"
            f" QTableWidget::indicator:checked {{ background: {theme.ACCENT}; }}")
        self.sessions.horizontalHeaderItem(EXCLUDE_COLUMN).setToolTip(
            "Exclude from training: leave the session out of the dataset")
        self.sessions.horizontalHeaderItem(ANYWAY_COLUMN).setToolTip(
            "Train on a session the anomaly check flagged (its State says why)")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the dataset (the sessions not excluded) as a JSON "
                                      "file: docs/formats.md \"Training data\"")
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Add the sessions of another shop's dataset file")
        self.message = _muted()
        self.message.setObjectName("training_message")
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)

        layout = scrolling_content(self)  # scrolls inside its dock
        layout.addWidget(self.headline)
        layout.addWidget(self.working)
        layout.addLayout(bars)
        layout.addWidget(QLabel("Mix of builds"))
        layout.addLayout(self.mix)
        layout.addWidget(QLabel("Sessions"))
        layout.addWidget(self.sessions, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)

        self.export_button.clicked.connect(self._ask_export)
        self.import_button.clicked.connect(self._ask_import)
        self.sessions.itemChanged.connect(self._switched)
        self._entries: list[TrainingEntry] = []
        self._shown: tuple[int, bool, bool] | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Take the collection's finished work in; redraw when it changed."""
        self.session.poll()
        version = (self.session.version, self.session.loaded, self.session.busy)
        if version == self._shown:
            return
        self._shown = version
        progress = self.session.progress()
        self._show_progress(progress)
        self._show_sessions(self.session.entries())
        self._show_working()
        self.message.setText(self.session.message)
        ready = self.session.loaded and self.session.catalog is not None
        self.export_button.setEnabled(ready)
        self.import_button.setEnabled(ready)

    def _show_progress(self, progress: TrainingProgress) -> None:
        simulated = f" ({progress.simulated} simulated)" if progress.simulated else ""
        excluded = f"; {progress.excluded} excluded" if progress.excluded else ""
        flagged = (f"; {progress.flagged} flagged by the anomaly check and kept out"
                   if progress.flagged else "")
        self.headline.setText(f"{progress.sessions} session(s) in the dataset{simulated}, "
                              f"{progress.dyno_hours:.1f} dyno hours{excluded}{flagged}")
        for pattern in progress.patterns:
            bar = self.bars[pattern.name]
            bar.setRange(0, pattern.minimum)
            bar.setValue(min(pattern.sessions, pattern.minimum))
            bar.setFormat(pattern.text)
            bar.setToolTip(f"{pattern.label}: a model needs at least {pattern.minimum} sessions "
                           "showing it")
        self.families.show_counts(progress.families, family_label)
        self.stages.show_counts(progress.stages, stage_label)
        self.cams.show_counts(progress.cams)

    def _show_working(self) -> None:
        if self.session.catalog is None:
            text = "The catalog is not open (see the message at start-up): nothing is collected."
        elif not self.session.loaded:
            text = "Reading the training records…"
        elif (sid := self.session.extracting) is not None:
            text = f"Extracting session {sid}…"
        elif not self.session.collecting:
            text = "Collection is off."
        else:
            text = "Every saved session becomes a training record; tick Exclude to leave one out."
        self.working.setText(text)

    def _show_sessions(self, entries: list[TrainingEntry]) -> None:
        self._entries = entries
        table = self.sessions
        table.blockSignals(True)
        try:
            table.setRowCount(len(entries))
            for row, entry in enumerate(entries):
                self._show_entry(row, entry)
        finally:
            table.blockSignals(False)

    def _show_entry(self, row: int, entry: TrainingEntry) -> None:
        name = entry.key if entry.imported else f"Session {entry.session_id}"
        patterns = (", ".join(PATTERN_LABELS[p] for p in entry.patterns) or "none") \
            if entry.record is not None else ""
        cells = {"Session": name + (" (imported)" if entry.imported else ""),
                 "State": entry.state, "Vehicle": entry.vehicle,
                 "Started": readable_time(entry.started_at) if entry.started_at else ""}
        tip = _entry_tip(entry, patterns)
        for column, text in cells.items():
            col = SESSION_COLUMNS.index(column)
            item = QTableWidgetItem(text)
            item.setToolTip(tip)
            if col == SESSION_COLUMNS.index("State") and (entry.problem
                                                          or entry.kept_out_by_flags):
                item.setForeground(QColor(theme.WARN))
            self.sessions.setItem(row, col, item)
        anyway = QTableWidgetItem()
        if entry.flags and not entry.excluded:
            anyway.setToolTip("Train on it although the anomaly check flagged it: "
                              + "; ".join(entry.flags))
            anyway.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            anyway.setCheckState(Qt.CheckState.Checked if entry.used_anyway
                                 else Qt.CheckState.Unchecked)
        else:
            anyway.setFlags(Qt.ItemFlag.NoItemFlags)
        self.sessions.setItem(row, ANYWAY_COLUMN, anyway)
        switch = QTableWidgetItem()
        switch.setToolTip("Exclude from training: leave this session out of the dataset")
        if entry.record is not None:
            switch.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            switch.setCheckState(Qt.CheckState.Checked if entry.excluded
                                 else Qt.CheckState.Unchecked)
        else:
            switch.setFlags(Qt.ItemFlag.NoItemFlags)
        self.sessions.setItem(row, EXCLUDE_COLUMN, switch)

    # ------------------------------------------------------------------ actions
    def _switched(self, item: QTableWidgetItem) -> None:
        if not 0 <= item.row() < len(self._entries):
            return
        entry = self._entries[item.row()]
        ticked = item.checkState() == Qt.CheckState.Checked
        if item.column() == EXCLUDE_COLUMN and ticked != entry.excluded:
            self.exclude(entry, ticked)
        elif item.column() == ANYWAY_COLUMN and ticked != entry.used_anyway:
            self.use_anyway(entry, ticked)

    def use_anyway(self, entry: TrainingEntry, used: bool) -> None:
        """Set the session's Use anyway switch (the checkbox calls this)."""
        try:
            self.session.use_anyway(entry.session_id if entry.session_id is not None
                                    else entry.key, used)
        except InputError as exc:
            self.say(str(exc))
        self.refresh()

    def exclude(self, entry: TrainingEntry, excluded: bool) -> None:
        """Set the session's Exclude switch (the checkbox calls this)."""
        try:
            self.session.exclude(entry.session_id if entry.session_id is not None
                                 else entry.key, excluded)
        except InputError as exc:
            self.say(str(exc))
        self.refresh()

    def say(self, text: str) -> None:
        self.session.message = text
        self.message.setText(text)

    def _ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export training data",
                                              "training_data.json", DATASET_FILTER)
        if name:
            self.export_to(Path(name) if name.lower().endswith(".json")
                           else Path(name + ".json"))

    def _ask_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import training data", "", DATASET_FILTER)
        if name:
            self.import_from(Path(name))

    def export_to(self, path: Path) -> None:
        """Write the dataset to ``path`` on the worker; the message says how it went."""
        try:
            self.session.export_later(path)
            self.say(f"Exporting to {path}…")
        except InputError as exc:
            self.say(str(exc))

    def import_from(self, path: Path) -> None:
        """Read ``path`` on the worker and add its sessions; the message says how it went."""
        try:
            self.session.import_later(path)
            self.say(f"Reading {path}…")
        except InputError as exc:
            self.say(str(exc))

    def row_of(self, session_id: int | str) -> int:
        """The table row of a catalog session (by id) or an imported record (by its id)."""
        for row, entry in enumerate(self._entries):
            if entry.session_id == session_id or (entry.imported and entry.key == session_id):
                return row
        raise KeyError(session_id)

    def shutdown(self) -> None:
        """The window closes: no more polling."""
        self.timer.stop()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.mix.setDirection(QBoxLayout.Direction.LeftToRight
                              if event.size().width() > MIX_SIDE_BY_SIDE_PX
                              else QBoxLayout.Direction.TopToBottom)


def _entry_tip(entry: TrainingEntry, patterns: str) -> str:
    lines = [entry.state]
    if entry.record is not None:
        lines.append(f"Extracted: {patterns}")
        lines += [f"Not extracted, {PATTERN_LABELS.get(p, p)}: {why}"
                  for p, why in entry.refusals.items()]
        if entry.record.simulated:
            lines.append("Recorded on the virtual cell (simulated)")
    lines += [f"Anomaly check: {flag}" for flag in entry.flags]
    if entry.problem and entry.record is not None:
        lines.append(f"Last extraction: {entry.problem}")
    lines += list(entry.notes)
    return "\n".join(lines)
