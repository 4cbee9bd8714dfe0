"""The model page: every version of the base-VE model with its held-out figures (the shipped
prior first, saying it learned from a simulated shop history), the history of trainings (those
the gate refused too), rollbacks and activations, the drift of the sessions since the active
model was trained, and training in the background with its progress and Cancel. A window of the
AI suggestions dock, a thin view of ``app.models_session``; it does not block the app.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.models_session import ModelsSession, TrainingState
from dynoai_desktop.app.run_library import readable_time
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.kinds import KINDS, model_kind
from dynoai_desktop.ml.registry import ModelVersion
from dynoai_desktop.storage.catalog import ModelEvent
from dynoai_desktop.ui import theme

EXPORT_FILTER = "DynoAI model export (*.zip)"
VERSION_COLUMNS = ("Version", "Scope", "Active", "Created", "Sessions learned",
                   "Held-out MAE %", "Stage-map MAE %", "Interval coverage %", "Source")
"""The base-VE model's headers; another kind shows its own figures in columns 6-8."""
HISTORY_COLUMNS = ("Time", "Event", "Version", "Held-out MAE %", "Stage-map MAE %", "Gate")


def version_columns(kind: str) -> tuple[str, ...]:
    figures = tuple(f.column for f in model_kind(kind).figures)
    return (*VERSION_COLUMNS[:5], *figures, VERSION_COLUMNS[-1])


def history_columns(kind: str) -> tuple[str, ...]:
    figures = tuple(f.column for f in model_kind(kind).figures[:2])
    return (*HISTORY_COLUMNS[:3], *figures, HISTORY_COLUMNS[-1])
PRIOR_SOURCE = "prior — trained on a simulated shop history"


def muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {theme.MUTED};")
    return label


def training_text(state: TrainingState) -> str:
    """One line: what training is doing now, or how the last one ended."""
    if state.running:
        what = model_kind(state.kind).title if state.kind in KINDS else "models"
        return (f"Training {what} in the background ({state.reason}): {state.step} "
                f"({state.done}/{state.total} fits)")
    return f"Last training: {state.message}" if state.message else ""


def _figure(value: object, scale: float = 1.0, decimals: int = 2) -> str:
    """A metric as shown ('' when the version has none)."""
    if not isinstance(value, int | float):
        return ""
    return f"{float(value) * scale:.{decimals}f}"


def _table(headers: tuple[str, ...], stretch: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(headers.index(stretch), QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, row: int, cells: tuple[str, ...], tip: str = "",
          colour: str | None = None) -> None:
    for col, text in enumerate(cells):
        item = QTableWidgetItem(text)
        item.setToolTip(tip or text)
        if colour is not None:
            item.setForeground(QColor(colour))
        if text[:1].isdigit() and col > 0:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        table.setItem(row, col, item)


def version_cells(v: ModelVersion) -> tuple[str, ...]:
    held = v.metadata.get("metrics", {}).get("held_out", {})
    source = PRIOR_SOURCE if v.prior else str(v.metadata.get("source", ""))
    figures = tuple(_figure(held.get(f.key), f.scale, f.decimals)
                    for f in model_kind(v.kind).figures)
    return (v.label, v.scope, "✓" if v.active else "", readable_time(v.created_at),
            str(v.sessions_learned), *figures, source)


def event_cells(e: ModelEvent) -> tuple[str, ...]:
    held = e.detail.get("held_out", {}) or {}
    figures = model_kind(e.kind).figures[:2]
    label = "—" if e.version is None else ("prior" if e.version == 0 else f"v{e.version}")
    gate = str(e.detail.get("gate", "") or "")
    if e.event == "rolled back" and e.detail.get("from_version") is not None:
        gate = f"from v{e.detail['from_version']}"
    return (readable_time(e.at), e.event, f"{e.scope} {label}",
            *(_figure(held.get(f.key), f.scale, f.decimals) for f in figures), gate)


class ModelPage(QDialog):
    """The model page (non-modal): versions, training, drift, history."""

    def __init__(self, models: ModelsSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self.setWindowTitle(f"Models — {model_kind(models.kind).title}")
        self.setModal(False)
        self.resize(1100, 640)
        self.kind = QComboBox()
        self.kind.setObjectName("model_kind")
        for name in KINDS:
            self.kind.addItem(model_kind(name).title, name)
        self.kind.setCurrentIndex(KINDS.index(models.kind))
        self.kind.setToolTip("The kind of model listed, activated and rolled back here "
                             "(Train trains every kind in turn)")
        self.versions = _table(version_columns(models.kind), "Source")
        self.versions.setObjectName("model_versions")
        self.activate_button = QPushButton("Activate selected")
        self.activate_button.setToolTip("Predict with the selected version from now on (its "
                                        "files are checked first)")
        self.rollback_button = QPushButton("Rollback")
        self.rollback_button.setToolTip("Make the version before the active one active again "
                                        "(the prior after v1), in the selected version's scope")
        self.export_button = QPushButton("Export selected…")
        self.export_button.setToolTip("Write the selected version into a zip another shop can "
                                      "import (its files are checked first)")
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Store another shop's exported model as a new, inactive "
                                      "version after the same checks as loading")
        self.scope = QComboBox()
        self.scope.setToolTip("Train for the whole shop, the open vehicle's engine family, or "
                              "the open vehicle alone")
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setObjectName("model_progress")
        self.progress.setTextVisible(True)
        self.training_line = QLabel()
        self.training_line.setObjectName("model_training")
        self.training_line.setWordWrap(True)
        self.drift = QLabel()
        self.drift.setObjectName("model_drift")
        self.drift.setWordWrap(True)
        self.flags = QListWidget()
        self.flags.setObjectName("model_drift_flags")
        self.flags.setMaximumHeight(90)
        self.history = _table(history_columns(models.kind), "Gate")
        self.history.setObjectName("model_history")
        self.message = QLabel()
        self.message.setObjectName("model_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        versions = QGroupBox("Versions")
        box = QVBoxLayout(versions)
        row = QHBoxLayout()
        row.addWidget(QLabel("Model"))
        row.addWidget(self.kind)
        row.addStretch(1)
        box.addLayout(row)
        box.addWidget(self.versions)
        row = QHBoxLayout()
        row.addWidget(self.activate_button)
        row.addWidget(self.rollback_button)
        row.addStretch(1)
        row.addWidget(self.export_button)
        row.addWidget(self.import_button)
        box.addLayout(row)
        training = QGroupBox("Training")
        box = QVBoxLayout(training)
        row = QHBoxLayout()
        row.addWidget(QLabel("Scope"))
        row.addWidget(self.scope)
        row.addWidget(self.train_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        box.addLayout(row)
        box.addWidget(self.training_line)
        drift = QGroupBox("Drift: new sessions against what the active model learned from")
        box = QVBoxLayout(drift)
        box.addWidget(self.drift)
        box.addWidget(self.flags)
        history = QGroupBox("History (newest first)")
        box = QVBoxLayout(history)
        box.addWidget(self.history)
        layout = QVBoxLayout(self)
        layout.addWidget(versions, 2)
        layout.addWidget(training)
        layout.addWidget(drift)
        layout.addWidget(history, 3)
        layout.addWidget(self.message)

        self.activate_button.clicked.connect(lambda: self._guarded(self.activate_selected))
        self.rollback_button.clicked.connect(lambda: self._guarded(self.rollback))
        self.export_button.clicked.connect(lambda: self._guarded(self._export_asked))
        self.import_button.clicked.connect(lambda: self._guarded(self._import_asked))
        self.train_button.clicked.connect(lambda: self._guarded(self.train))
        self.cancel_button.clicked.connect(lambda: self._guarded(self.models.cancel))
        self.versions.itemSelectionChanged.connect(self._update_buttons)
        self.kind.currentIndexChanged.connect(lambda _i: self._guarded(self._kind_chosen))
        self._rows: list[ModelVersion] = []
        self._shown: int | None = None

    def _kind_chosen(self) -> None:
        kind = str(self.kind.currentData())
        self.models.show_kind(kind)
        self.setWindowTitle(f"Models — {model_kind(kind).title}")
        self.versions.setHorizontalHeaderLabels(version_columns(kind))
        self.history.setHorizontalHeaderLabels(history_columns(kind))

    # ------------------------------------------------------------------ drawing
    def refresh(self, force: bool = False) -> None:
        """Redraw when the models changed (the dock's timer calls this)."""
        if not force and self.models.version == self._shown:
            return
        self._shown = self.models.version
        try:
            self._show_versions(self.models.versions())
            self._show_history(self.models.history())
            self._show_drift()
        except InputError as exc:  # a damaged catalog, an unreadable model file
            self.say(str(exc))
        self._show_training(self.models.state)
        self._show_scopes()
        if self.models.problem and not self.message.text():
            self.say(self.models.problem)

    def _show_versions(self, versions: list[ModelVersion]) -> None:
        keep = self.selected()
        self._rows = versions
        table = self.versions
        table.blockSignals(True)
        try:
            table.setRowCount(len(versions))
            for row, v in enumerate(versions):
                tip = (f"{PRIOR_SOURCE}: {v.metadata.get('source', '')}" if v.prior
                       else f"{v.scope} {v.label}: {v.metadata.get('gate', '')}")
                _fill(table, row, version_cells(v), tip, theme.OK if v.active else None)
            keys = [(v.scope, v.version) for v in versions]
            if keep is not None and (keep.scope, keep.version) in keys:
                table.selectRow(keys.index((keep.scope, keep.version)))
        finally:
            table.blockSignals(False)
        self._update_buttons()

    def _show_history(self, events: list[ModelEvent]) -> None:
        events = list(reversed(events))
        self.history.setRowCount(len(events))
        for row, e in enumerate(events):
            cells = event_cells(e)
            refused = e.event == "refused"
            _fill(self.history, row, cells, cells[-1] or e.event,
                  theme.WARN if refused else None)

    def _show_drift(self) -> None:
        report = self.models.drift()
        self.drift.setText(report.summary().capitalize())
        self.flags.clear()
        for session, feature, why in report.flags:
            self.flags.addItem(f"{session}: {feature.replace('_', ' ')} — {why}")
        self.flags.setVisible(bool(report.flags))

    def _show_training(self, state: TrainingState) -> None:
        self.progress.setRange(0, max(state.total, 1))
        self.progress.setValue(state.done if state.running else 0)
        self.progress.setFormat(f"{state.step} (%v/%m)" if state.running else "not training")
        self.train_button.setEnabled(not state.running)
        self.cancel_button.setEnabled(state.running)
        self.scope.setEnabled(not state.running)
        text = training_text(state)
        self.training_line.setText(text)
        failed = not state.running and state.message.startswith(("DYN-", "training failed",
                                                                 "new version refused"))
        self.training_line.setStyleSheet(f"color: {theme.WARN};" if failed else "")

    def _show_scopes(self) -> None:
        found = self.models.build()
        scopes = ["shop"] if found is None else list(reversed(self.models.scopes(found[0])))
        if scopes != [self.scope.itemText(i) for i in range(self.scope.count())]:
            current = self.scope.currentText()
            self.scope.clear()
            self.scope.addItems(scopes)
            self.scope.setCurrentIndex(scopes.index(current) if current in scopes else 0)

    def _update_buttons(self) -> None:
        v = self.selected()
        self.activate_button.setEnabled(v is not None and not v.active)
        self.export_button.setEnabled(v is not None)

    # ------------------------------------------------------------------ actions
    def selected(self) -> ModelVersion | None:
        rows = self.versions.selectionModel().selectedRows()
        if not rows or not 0 <= rows[0].row() < len(self._rows):
            return None
        return self._rows[rows[0].row()]

    def row_of(self, label: str, scope: str = "shop") -> int:
        """The versions table's row of ``scope`` ``label`` ('prior', 'v1')."""
        return next(i for i, v in enumerate(self._rows) if (v.label, v.scope) == (label, scope))

    def say(self, text: str) -> None:
        self.message.setText(text)

    def train(self) -> None:
        scope = self.scope.currentText() or "shop"
        self.models.train(scope)
        self.say(f"Training a {scope} model in the background; the app stays usable.")

    def activate_selected(self) -> None:
        v = self.selected()
        if v is None:
            raise InputError("Select a version in the list first.")
        done = self.models.activate(v.scope, v.version)
        self.say(f"{done.scope} {done.label} is active: suggestions use it from now on.")

    def rollback(self) -> None:
        v = self.selected()
        scope = v.scope if v is not None else "shop"
        done = self.models.rollback(scope)
        self.say(f"Rolled back: {done.scope} {done.label} is active again.")

    def export_selected(self, path: Path) -> None:
        v = self.selected()
        if v is None:
            raise InputError("Select a version in the list first.")
        self.models.export_version(v, path)
        self.say(f"{v.scope} {v.label} exported to {path}.")

    def import_file(self, path: Path) -> None:
        v = self.models.import_model(path)
        self.say(f"Imported as {v.scope} {v.label} (inactive): select it and Activate to use "
                 "it.")

    def _export_asked(self) -> None:
        v = self.selected()
        name = f"{v.kind}_{v.scope.replace(':', '_')}_{v.label}.zip" if v else "model.zip"
        path, _ = QFileDialog.getSaveFileName(self, "Export model", name, EXPORT_FILTER)
        if path:
            self.export_selected(Path(path))

    def _import_asked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import model", "", EXPORT_FILTER)
        if path:
            self.import_file(Path(path))

    def _guarded(self, action: Callable[[], None]) -> None:
        self.say("")
        try:
            action()
        except InputError as exc:  # ModelError too: its text starts with its DYN-M code
            self.say(str(exc))
        self.refresh(force=True)
