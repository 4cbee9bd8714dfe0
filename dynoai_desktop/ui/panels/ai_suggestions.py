"""The AI suggestions dock: the open vehicle's predicted base map (one suggestion per MAP VE table
of the tune) and predicted cylinder balance (on the rear table, or split over both: the tuner
chooses; the rear base map may also be seeded from the front times the balance), the decel
enrichment where it popped, and timing advice on each spark table (its knock-prone cells marked as
it is applied, retard where it knocked, advance where safe), each with what it would do, how sure
the model is and why; previewed on the
table editor as an overlay (as autotune's corrections are), applied in whole or for the selected
cells under the authority limits as one undoable step, or rejected. "Models…" opens the model
page. A thin view of ``app.models_session``; its timer also takes background training in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from dynoai_desktop.app.models_session import ModelsSession
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import OverlaySource
from dynoai_desktop.ml.cylinder_balance import ON_BOTH, ON_REAR
from dynoai_desktop.ml.suggest import Suggestion
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.model_page import ModelPage, muted, training_text
from dynoai_desktop.ui.panels.overlay_preview import summary
from dynoai_desktop.ui.panels.tables import TablesPanel
from dynoai_desktop.ui.widgets import scrolling_content

POLL_INTERVAL_MS = 250
ROWS_SHOWN = 4  # the list scrolls past this many suggestions
ONE_ROW_OF_ACTIONS_PX = 460  # wider than this, the four action buttons stand in one row
COLUMNS = ("Kind", "Target table", "Cells", "Expected effect", "Confidence", "Status")
STATUS_COLOURS = {"applied": theme.OK, "rejected": theme.MUTED}
HINT = ("Predict: the active models predict the open vehicle's VE and its rear/front balance "
        "from its build, the decel enrichment and timing advice from its sessions, offered "
        "as overlays on the tune's tables to preview before they touch them.")
PREDICTED = "Predicted for"  # how the models session's note starts after a prediction
MODEL_SOURCES = (OverlaySource.PREDICTED_BASE_MAP, OverlaySource.CYLINDER_BALANCE,
                 OverlaySource.DECEL_ENRICHMENT)
BALANCE_CHOICES = {"Balance on the rear table": ON_REAR, "Balance split over both": ON_BOTH}
"""The tuner's choice of where the predicted cylinder balance goes."""


def effect_text(s: Suggestion) -> str:
    """The proposed VE change in short ('+3.7 % (-0.7…+9.4)': mean, then its range); the
    session's whole sentence is in the tooltip and the details."""
    moved = s.overlay.change[s.overlay.mask]
    if not moved.size or s.knock_prone is not None:  # timing advice: the mask is the news
        return s.expected_effect
    return f"{moved.mean():+.1f} % ({moved.min():+.1f}…{moved.max():+.1f})"


def confidence_text(s: Suggestion) -> str:
    """'44 % ±11.2 %': the mean confidence over its cells and the mean half-width of the 90 %
    interval (in % of VE)."""
    if not s.cells:
        return "—"
    if math.isnan(s.half_width_pct):  # no interval: the decel recommender's P(pops stop)
        return f"{s.confidence * 100:.0f} %"
    return f"{s.confidence * 100:.0f} % ±{s.half_width_pct:.1f} %"


class AiSuggestionsPanel(QWidget):
    """The AI suggestions dock over the models session; previews on ``tables``."""

    def __init__(self, models: ModelsSession, tables: TablesPanel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self.tables = tables
        self.note = QLabel(HINT)
        self.note.setObjectName("ai_note")
        self.note.setWordWrap(True)
        self.predict_button = QPushButton("Predict")
        self.predict_button.setToolTip("The active models (this vehicle's, its family's, the "
                                       "shop's, else the shipped prior) predict this vehicle's "
                                       "VE and cylinder balance from its build")
        self.balance_on = QComboBox()
        self.balance_on.setObjectName("balance_on")
        self.balance_on.addItems(list(BALANCE_CHOICES))
        self.balance_on.setToolTip("Where the predicted rear/front balance goes: all on the "
                                   "rear table (the front as tuned stays), or half on each")
        self.seed_rear = QCheckBox("Rear = front × balance")
        self.seed_rear.setObjectName("seed_rear")
        self.seed_rear.setToolTip("Seed the rear's predicted base map from the predicted front "
                                  "times the predicted rear/front ratio, instead of the base "
                                  "map model's own rear")
        self.models_button = QPushButton("Models…")
        self.models_button.setToolTip("Versions, history, drift; train, roll back, activate")
        self.list = QTableWidget(0, len(COLUMNS))
        self.list.setObjectName("suggestions")
        self.list.setHorizontalHeaderLabels(COLUMNS)
        self.list.verticalHeader().hide()
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.list.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The kind (the same for every suggestion so far) gives way first in a narrow dock.
        header.setSectionResizeMode(COLUMNS.index("Kind"), QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(50)
        self.list.horizontalHeaderItem(COLUMNS.index("Expected effect")).setToolTip(
            "The change of VE it proposes: the mean over its cells (their range)")
        self.list.horizontalHeaderItem(COLUMNS.index("Confidence")).setToolTip(
            "Mean confidence over its cells, and the mean half-width of the model's 90 % "
            "interval in % of VE")
        self.details = QLabel()
        self.details.setObjectName("ai_details")
        self.details.setWordWrap(True)
        self.why = muted()
        self.why.setObjectName("ai_why")
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Show it over its table in the Tables dock: the change "
                                       "per cell, what the authority limits hold")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Every proposed cell, under the authority limits, as one "
                                     "undoable step (Ctrl+Z in the table editor)")
        self.apply_selection_button = QPushButton("Apply selection")
        self.apply_selection_button.setToolTip("Only the proposed cells selected in the table "
                                               "editor (Preview shows its table there)")
        self.reject_button = QPushButton("Reject")
        self.training_line = muted()
        self.training_line.setObjectName("ai_training")
        self.message = QLabel()
        self.message.setObjectName("ai_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(self.predict_button)
        top.addWidget(self.models_button)
        top.addStretch(1)
        options = QGridLayout()  # one row each: the dock is narrow beside the tables at 1280
        options.addWidget(self.balance_on, 0, 0)
        options.addWidget(self.seed_rear, 1, 0)
        options.setColumnStretch(1, 1)
        self.actions = QGridLayout()
        self._action_columns = 0
        self._place_actions(2)
        layout = scrolling_content(self)  # scrolls inside its dock
        layout.addWidget(self.note)
        layout.addLayout(top)
        layout.addLayout(options)
        layout.addWidget(self.list)
        layout.addLayout(self.actions)
        layout.addWidget(self.message)
        layout.addWidget(self.details)
        layout.addWidget(self.why)
        layout.addWidget(self.training_line)
        layout.addStretch(1)

        self.predict_button.clicked.connect(lambda: self._guarded(self.predict))
        self.models_button.clicked.connect(self.show_models)
        self.balance_on.currentTextChanged.connect(lambda _t: self._guarded(self._options))
        self.seed_rear.toggled.connect(lambda _on: self._guarded(self._options))
        self.preview_button.clicked.connect(lambda: self._guarded(self.preview))
        self.apply_button.clicked.connect(lambda: self._guarded(self.apply))
        self.apply_selection_button.clicked.connect(
            lambda: self._guarded(lambda: self.apply(selected_only=True)))
        self.reject_button.clicked.connect(lambda: self._guarded(self.reject))
        self.list.itemSelectionChanged.connect(self._show_selected)
        self.page: ModelPage | None = None
        self._rows: list[Suggestion] = []
        self._shown: int | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # ------------------------------------------------------------------ drawing
    def refresh(self, force: bool = False) -> None:
        """Take finished training in, start it when a trigger says so; redraw on a change."""
        try:
            self.models.poll()
            self.models.maybe_train()
        except InputError as exc:
            self.say(str(exc))
        if not force and self.models.version == self._shown:
            return
        self._shown = self.models.version
        self._drop_stale_preview()
        self._show_suggestions()
        self.training_line.setText(training_text(self.models.state))
        if self.page is not None:
            self.page.refresh()

    def _show_suggestions(self) -> None:
        models = self.models
        rows = list(models.suggestions)
        note = models.suggestion_note
        predicted = note.startswith(PREDICTED)
        self.note.setText(note if note and (rows or not predicted) else HINT)
        keep = self.selected()
        self._rows = rows
        self.list.blockSignals(True)
        try:
            self.list.setRowCount(len(rows))
            for row, s in enumerate(rows):
                cells = (s.kind, s.table, str(s.cells), effect_text(s), confidence_text(s),
                         s.status)
                tips = {COLUMNS.index("Expected effect"): s.expected_effect,
                        COLUMNS.index("Confidence"): (
                            f"mean confidence {s.confidence:.0%} over its cells; the 90 % "
                            f"interval is ±{s.half_width_pct:.1f} % of VE on average")}
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    item.setToolTip(tips.get(col, text))
                    if col == COLUMNS.index("Status") and s.status in STATUS_COLOURS:
                        item.setForeground(QColor(STATUS_COLOURS[s.status]))
                    self.list.setItem(row, col, item)
            self._fit_height()
            keys = [s.key for s in rows]
            index = keys.index(keep.key) if keep is not None and keep.key in keys else 0
            if rows:
                self.list.selectRow(index)
            else:
                self.list.clearSelection()
        finally:
            self.list.blockSignals(False)
        self._show_selected()

    def _fit_height(self) -> None:
        """As tall as its rows (one at least, ROWS_SHOWN at most): no empty space."""
        rows = min(max(self.list.rowCount(), 1), ROWS_SHOWN)
        self.list.setFixedHeight(self.list.horizontalHeader().sizeHint().height()
                                 + rows * self.list.verticalHeader().defaultSectionSize()
                                 + 2 * self.list.frameWidth()
                                 + self.list.horizontalScrollBar().sizeHint().height())

    def _show_selected(self) -> None:
        s = self.selected()
        if s is None:
            self.details.setText("Select a suggestion to see what it would do and why."
                                 if self._rows else "")
            self.why.setText("")
        else:
            what = ("the model's 1 - P(knock)/0.1 over the advanced cells, 1 for retard; "
                    "applying also marks the knock-prone cells, which are never advanced"
                    if s.knock_prone is not None
                    else "± the model's 90 % interval in % of VE")
            self.details.setText(
                f"{s.table}: {s.expected_effect}; confidence {confidence_text(s)} (mean over "
                f"its cells; {what}). Status: {s.status}.")
            self.why.setText("Why:\n" + "\n".join(f"• {line}" for line in s.why)
                             if s.why else "")
        self.details.setVisible(bool(self._rows))
        self.why.setVisible(bool(self._rows) and s is not None and bool(s.why))
        fresh = s is not None and s.status == "new" and (
            s.cells > 0 or (s.knock_prone is not None and bool(s.knock_prone.any())))
        for button in (self.preview_button, self.apply_button, self.apply_selection_button,
                       self.reject_button):
            button.setEnabled(fresh)

    def _drop_stale_preview(self) -> None:
        """A previewed suggestion that is no longer offered (predicted again, a new model)
        leaves the editor: its Apply would apply another prediction."""
        shown = self.tables.overlay
        if shown is not None and shown.source in MODEL_SOURCES and not any(
                s.overlay is shown and s.status == "new" for s in self.models.suggestions):
            self.tables.discard_overlay()

    # ------------------------------------------------------------------ actions
    def selected(self) -> Suggestion | None:
        rows = self.list.selectionModel().selectedRows() if self.list.selectionModel() else []
        if not rows or not 0 <= rows[0].row() < len(self._rows):
            return None
        return self._rows[rows[0].row()]

    def select(self, key: str) -> None:
        """Select the suggestion ``key`` in the list."""
        self.list.selectRow([s.key for s in self._rows].index(key))

    def say(self, text: str) -> None:
        self.message.setText(text)

    def _options(self) -> None:
        """The balance's target or the rear's seed changed: predict again when there are
        suggestions (they were made the other way)."""
        self.models.balance_on = BALANCE_CHOICES[self.balance_on.currentText()]
        self.models.seed_rear_from_front = self.seed_rear.isChecked()
        if self.models.suggestions:
            self.predict()

    def predict(self) -> None:
        """The open vehicle's base map and balance from the active models (a second or two, on this
        thread: the model loads and predicts every cell)."""
        self.say("")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            found = self.models.suggest()
        finally:
            QApplication.restoreOverrideCursor()
        if not found and self.models.suggestion_note.startswith(PREDICTED):
            self.say("The tune shown has no MAP-based VE table (VE (MAP based/Front Cyl), "
                     "VE (MAP based/Rear Cyl)): open the bike's tune, then Predict again.")
        self.refresh(force=True)

    def _require(self) -> Suggestion:
        s = self.selected()
        if s is None:
            raise InputError("Select a suggestion first (Predict makes them).")
        if s.status != "new":
            raise InputError(f"That suggestion was {s.status}: Predict again for a fresh one "
                             "against the tune as it is now.")
        return s

    def preview(self) -> None:
        """The selected suggestion over its table in the editor (switching to it); the bar's
        Apply there goes through the models session too."""
        s = self._require()
        shown = self.models.preview(s.key)
        self.tables.preview_overlay(s.overlay, apply=lambda sel, key=s.key:
                                    self.models.apply(key, sel))
        self.say(f"{summary(shown)}. Apply, or select cells in the editor and Apply "
                 "selection.")

    def apply(self, selected_only: bool = False) -> None:
        """The selected suggestion, every cell or only those selected in the editor, as one
        undoable step."""
        s = self._require()
        selection = None
        if selected_only:
            shown = self.tables.current_table
            if shown is None or shown.name != s.table:
                raise InputError(f"Show {s.table} in the table editor (Preview does) and select "
                                 "the cells to apply first.")
            selection = self.tables.view.selection_mask()
            if not (selection & s.overlay.mask).any():
                raise InputError("Select some of the proposed cells in the editor first, or "
                                 "use Apply.")
        if self.tables.overlay is s.overlay:
            self.tables.discard_overlay()
        record = self.models.apply(s.key, selection)
        self.say(f"Applied: {record.summary}; limits {record.limits_text}. Ctrl+Z in the "
                 "table editor undoes it." + (" Predict again for the remaining cells."
                                               if selected_only else ""))

    def reject(self) -> None:
        s = self._require()
        if self.tables.overlay is s.overlay:
            self.tables.discard_overlay()
        self.models.reject(s.key)
        self.say(f"Rejected the {s.kind} for {s.table}; the tune is unchanged.")

    def show_models(self) -> ModelPage:
        """The model page (made the first time), in front."""
        if self.page is None:
            self.page = ModelPage(self.models, self)
        self.page.refresh(force=True)
        if self.page.isVisible():
            self.page.raise_()  # open behind the window: to the front
        else:
            self.page.show()
        return self.page

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except InputError as exc:
            self.say(str(exc))
        self.refresh(force=True)

    def _place_actions(self, columns: int) -> None:
        if columns == self._action_columns:
            return
        self._action_columns = columns
        for n, button in enumerate((self.preview_button, self.apply_button,
                                    self.apply_selection_button, self.reject_button)):
            self.actions.addWidget(button, n // columns, n % columns)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._place_actions(4 if event.size().width() > ONE_ROW_OF_ACTIONS_PX else 2)

    def shutdown(self) -> None:
        """The window closes: no more polling; the model page goes with it."""
        self.timer.stop()
        if self.page is not None:
            self.page.close()
