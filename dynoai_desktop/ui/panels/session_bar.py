"""The session bar: whose bike is on the rollers, the session, and Record / Stop / Marker.

A thin view over the app's ``RunLibrary`` (customers, vehicles, sessions): it lists and creates
them through it, and turns the buttons into plain signals (session id and run name, a marker's
note) for the live controller, which answers with ``set_recording``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.core.build_spec import STAGE_MAX, BuildSpec, EngineFamily
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.widgets import CompactCombo, ElidedLabel

FIRST_RUN_NAME = "run 1"
RECORD_KEY = "F9"
POP_KEY = "Ctrl+P"  # a decel pop heard, from anywhere
POP_NOTE = "pop"  # the note the training data counts pops by (ml/training/patterns/decel.py)
COMBO_CHARS = 10  # customer and vehicle boxes: this wide at least, never wider for a long name
RUN_NAME_MAX_PX = 140
MARKER_NOTE_MAX_PX = 160
REVIEW_NAME_CHARS = 16  # of the run's name on the Review button after a stop
RECORDING_STYLE = f"background-color: {theme.FAULT}; color: #ffffff; font-weight: bold;"
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def next_run_name(name: str) -> str:
    """The name after ``name``: "run 3" -> "run 4", "pull 09" -> "pull 10", "base" -> "base 2"."""
    name = name.strip()
    match = _TRAILING_NUMBER.match(name)
    if match is None:
        return f"{name} 2" if name else FIRST_RUN_NAME
    prefix, number = match.groups()
    return f"{prefix}{int(number) + 1:0{len(number)}d}"


def _problem_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet(f"color: {theme.FAULT};")
    label.setWordWrap(True)
    label.hide()
    return label


def _show_problem(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def _buttons(dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class _NamedDialog(QDialog):
    """A small form whose first field is a required name, then ``rows``, a problem line and
    OK/Cancel."""

    def __init__(
        self,
        title: str,
        example: str,
        rows: list[tuple[str, QWidget]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(f"e.g. {example}")
        self.problem = _problem_label()
        form = QFormLayout()
        for label, widget in [("Name", self.name_edit), *rows]:
            form.addRow(label, widget)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(_buttons(self))
        # A problem line goes as soon as the tuner changes what it was about.
        self.name_edit.textChanged.connect(self.clear_problem)

    def clear_problem(self) -> None:
        _show_problem(self.problem, "")

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()


class NewCustomerDialog(_NamedDialog):
    """Name (required) and phone of a new customer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.phone_edit = QLineEdit()
        super().__init__("New customer", "Sam Rivera", [("Phone", self.phone_edit)], parent)

    @property
    def phone(self) -> str:
        return self.phone_edit.text().strip()

    def accept(self) -> None:
        if not self.name:
            _show_problem(self.problem, "Give the customer's name.")
            return
        super().accept()


class NewVehicleDialog(_NamedDialog):
    """Name, engine family and stage (0 stock to 4) of a new vehicle; VIN if known."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.family_combo = QComboBox()
        # No family is picked for the tuner: a wrong guess would give the bike a wrong build.
        self.family_combo.setPlaceholderText("choose the engine")
        for family in EngineFamily:
            self.family_combo.addItem(family.label, family.value)
        self.family_combo.setCurrentIndex(-1)
        self.stage_spin = QSpinBox()
        self.stage_spin.setRange(0, STAGE_MAX)
        self.stage_spin.setToolTip(
            "0 stock; 1 air cleaner + exhaust + tune; 2 + cams; 3-4 big bore / heads"
        )
        self.vin_edit = QLineEdit()
        self.vin_edit.setPlaceholderText("optional")
        super().__init__(
            "New vehicle",
            "2016 Low Rider S",
            [("Engine", self.family_combo), ("Stage", self.stage_spin), ("VIN", self.vin_edit)],
            parent,
        )
        self.family_combo.currentIndexChanged.connect(self.clear_problem)

    @property
    def vin(self) -> str:
        return self.vin_edit.text().strip()

    def set_family(self, family: EngineFamily) -> None:
        self.family_combo.setCurrentIndex(self.family_combo.findData(family.value))

    def build_spec(self) -> BuildSpec:
        """A stock bike of the chosen family at the chosen stage; InputError if none chosen."""
        family = self.family_combo.currentData()
        if family is None:
            raise InputError("Choose the vehicle's engine family.")
        return replace(BuildSpec.stock(EngineFamily(family)), stage=self.stage_spin.value())

    def accept(self) -> None:
        if not self.name:
            _show_problem(self.problem, 'Give the vehicle a name, e.g. "2016 Low Rider S".')
            return
        try:
            self.build_spec()
        except InputError as exc:
            _show_problem(self.problem, str(exc))
            return
        super().accept()


class SessionBar(QWidget):
    """Customer, vehicle and session pickers; run name, Record/Stop and Marker."""

    record_requested = Signal(int, str)  # session id, run name
    stop_requested = Signal()
    marker_requested = Signal(str)  # note
    review_requested = Signal()  # the run just recorded, in Review

    def __init__(self, library: RunLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.recording = False
        self._session_vehicle_id: int | None = None

        self.customer_combo = CompactCombo(COMBO_CHARS)
        self.customer_combo.setPlaceholderText("choose a customer")
        self.new_customer_button = QPushButton("New…")
        self.new_customer_button.setToolTip("Add a customer to the catalog")
        self.vehicle_combo = CompactCombo(COMBO_CHARS)
        self.vehicle_combo.setPlaceholderText("choose a vehicle")
        self.new_vehicle_button = QPushButton("New…")
        self.new_vehicle_button.setToolTip("Add a vehicle of this customer to the catalog")
        self.start_session_button = QPushButton("Start session")
        self.session_label = ElidedLabel()
        self.session_label.setObjectName("session_label")
        self.session_label.setStyleSheet(f"color: {theme.MUTED};")
        self.run_name_edit = QLineEdit(FIRST_RUN_NAME)
        self.run_name_edit.setToolTip("Name of the next run; counts up after each stop")
        self.run_name_edit.setMaximumWidth(RUN_NAME_MAX_PX)
        self.record_button = QPushButton("Record")
        self.record_button.setToolTip(f"Record a run ({RECORD_KEY}); again to stop")
        self.marker_note_edit = QLineEdit()
        self.marker_note_edit.setMaximumWidth(MARKER_NOTE_MAX_PX)
        self.marker_note_edit.setPlaceholderText("marker note")
        self.marker_button = QPushButton("Marker")
        self.marker_button.setToolTip("Drop a marker in the run (M, or Ctrl+M anywhere)")
        self.pop_button = QPushButton("Pop")
        self.pop_button.setToolTip(
            f"Mark a decel pop you heard ({POP_KEY} anywhere): the training data counts pops "
            "from these, as a wideband cannot tell a pop from a misfire")
        self.review_button = QPushButton()
        self.review_button.setObjectName("review_last_run")
        self.review_button.hide()  # offered after a run is saved
        self.problem = _problem_label()

        top = QHBoxLayout()
        for widget in (
            QLabel("Customer"),
            self.customer_combo,
            self.new_customer_button,
            QLabel("Vehicle"),
            self.vehicle_combo,
            self.new_vehicle_button,
            self.start_session_button,
        ):
            top.addWidget(widget)
        bottom = QHBoxLayout()
        for widget in (
            QLabel("Run"),
            self.run_name_edit,
            self.record_button,
            self.marker_note_edit,
            self.marker_button,
            self.pop_button,
            self.review_button,
        ):
            bottom.addWidget(widget)
        bottom.addWidget(self.session_label, stretch=1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addLayout(bottom)
        layout.addWidget(self.problem)

        # M while the bar (or a button in it) has focus; a note field keeps its letter m.
        self.marker_shortcut = QShortcut(QKeySequence(Qt.Key.Key_M), self)
        self.marker_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.marker_shortcut.activated.connect(self._on_marker)
        self.app_marker_shortcut = QShortcut(QKeySequence("Ctrl+M"), self)
        self.app_marker_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.app_marker_shortcut.activated.connect(self._on_marker)
        self.pop_shortcut = QShortcut(QKeySequence(POP_KEY), self)
        self.pop_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.pop_shortcut.activated.connect(self._on_pop)
        # Record / Stop from anywhere in the app, as a tuner's other hand is on the throttle.
        self.record_shortcut = QShortcut(QKeySequence(RECORD_KEY), self)
        self.record_shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        self.record_shortcut.activated.connect(self._on_record_key)

        self.customer_combo.currentIndexChanged.connect(self._on_customer_changed)
        self.vehicle_combo.currentIndexChanged.connect(self._on_vehicle_changed)
        self.new_customer_button.clicked.connect(self.new_customer)
        self.new_vehicle_button.clicked.connect(self.new_vehicle)
        self.start_session_button.clicked.connect(self.start_session)
        self.record_button.clicked.connect(self._on_record)
        self.marker_button.clicked.connect(self._on_marker)
        self.pop_button.clicked.connect(self._on_pop)
        self.review_button.clicked.connect(lambda: self.review_requested.emit())
        self.run_name_edit.textChanged.connect(self._clear_problem)

        self.refresh_customers()
        self._set_session(None)
        if not library.available:
            _show_problem(self.problem, "Customers, vehicles and sessions are unavailable: "
                          "the catalog is not open (see the message at start-up).")

    # ------------------------------------------------------------------ state
    @property
    def session_id(self) -> int | None:
        """The session runs are recorded into; None until one is started."""
        return self.library.session_id

    @property
    def customer_id(self) -> int | None:
        return self.customer_combo.currentData()

    @property
    def vehicle_id(self) -> int | None:
        return self.vehicle_combo.currentData()

    def set_recording(self, recording: bool) -> None:
        """Record turns into a red Stop and session changes are off; a stop counts the name up."""
        was_recording, self.recording = self.recording, recording
        self.record_button.setText("Stop" if recording else "Record")
        self.record_button.setStyleSheet(RECORDING_STYLE if recording else "")
        if was_recording and not recording:
            self.run_name_edit.setText(next_run_name(self.run_name_edit.text()))
        if recording:
            self.review_button.hide()
        self._update_enabled()

    def offer_review(self, run_name: str) -> None:
        """After a run is saved: one click shows it in Review."""
        shown = run_name if len(run_name) <= REVIEW_NAME_CHARS else \
            run_name[:REVIEW_NAME_CHARS - 1] + "…"
        self.review_button.setText(f"Review '{shown}'")
        self.review_button.setToolTip(f"Open '{run_name}', just recorded, in the Review tab")
        self.review_button.show()

    def _update_enabled(self) -> None:
        idle = not self.recording and self.library.available
        self.customer_combo.setEnabled(idle)
        self.new_customer_button.setEnabled(idle)
        self.vehicle_combo.setEnabled(idle and self.customer_id is not None)
        self.new_vehicle_button.setEnabled(idle and self.customer_id is not None)
        self.start_session_button.setEnabled(idle and self.vehicle_id is not None)
        self.run_name_edit.setEnabled(idle)
        self.record_button.setEnabled(self.recording or self.session_id is not None)
        self.marker_button.setEnabled(self.recording)
        self.pop_button.setEnabled(self.recording)
        self.marker_note_edit.setEnabled(self.recording)

    # ------------------------------------------------------------------ lists
    def refresh_customers(self, select: int | None = None) -> None:
        """List the catalog's customers again, selecting ``select`` (else keeping the choice)."""
        keep = select if select is not None else self.customer_id
        self.customer_combo.blockSignals(True)
        self.customer_combo.clear()
        for customer in self.library.customers():
            self.customer_combo.addItem(customer.name, customer.id)
            if customer.phone:
                self.customer_combo.setItemData(
                    self.customer_combo.count() - 1, customer.phone, Qt.ItemDataRole.ToolTipRole
                )
        self.customer_combo.setCurrentIndex(self.customer_combo.findData(keep))
        self.customer_combo.blockSignals(False)
        self._on_customer_changed()

    def refresh_vehicles(self, select: int | None = None) -> None:
        """List the chosen customer's vehicles again, selecting ``select``."""
        keep = select if select is not None else self.vehicle_id
        self.vehicle_combo.blockSignals(True)
        self.vehicle_combo.clear()
        if self.customer_id is not None:
            for vehicle in self.library.vehicles(self.customer_id):
                self.vehicle_combo.addItem(vehicle.name, vehicle.id)
                self.vehicle_combo.setItemData(
                    self.vehicle_combo.count() - 1,
                    vehicle.build_spec.summary,
                    Qt.ItemDataRole.ToolTipRole,
                )
        self.vehicle_combo.setCurrentIndex(self.vehicle_combo.findData(keep))
        self.vehicle_combo.blockSignals(False)
        self._on_vehicle_changed()

    def _on_customer_changed(self) -> None:
        self.refresh_vehicles()

    def _on_vehicle_changed(self) -> None:
        # A session belongs to one vehicle: another vehicle needs its own session.
        if self.session_id is not None and self._session_vehicle_id != self.vehicle_id:
            self._set_session(None)
        self._update_enabled()

    # ------------------------------------------------------------------ creating
    def new_customer(self) -> None:
        dialog = NewCustomerDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._new_customer_from(dialog)
        dialog.deleteLater()

    def _new_customer_from(self, dialog: NewCustomerDialog) -> int | None:
        """Store the dialog's customer and select it; its id, or None after showing why not."""
        try:
            customer_id = self.library.add_customer(dialog.name, phone=dialog.phone)
        except InputError as exc:
            _show_problem(self.problem, str(exc))
            return None
        _show_problem(self.problem, "")
        self.refresh_customers(select=customer_id)
        return customer_id

    def new_vehicle(self) -> None:
        if self.customer_id is None:
            return
        dialog = NewVehicleDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._new_vehicle_from(dialog)
        dialog.deleteLater()

    def _new_vehicle_from(self, dialog: NewVehicleDialog) -> int | None:
        """Store the dialog's vehicle for the chosen customer and select it (None: see problem)."""
        customer_id = self.customer_id
        if customer_id is None:
            _show_problem(self.problem, "Choose the customer the vehicle belongs to first.")
            return None
        try:
            vehicle_id = self.library.add_vehicle(
                customer_id, dialog.name, dialog.build_spec(), vin=dialog.vin
            )
        except InputError as exc:
            _show_problem(self.problem, str(exc))
            return None
        _show_problem(self.problem, "")
        self.refresh_vehicles(select=vehicle_id)
        return vehicle_id

    def start_session(self) -> int | None:
        """Open a session for the chosen vehicle, now; runs are recorded into it."""
        vehicle_id = self.vehicle_id
        if vehicle_id is None or self.recording:
            return None
        try:
            session_id = self.library.start_session(vehicle_id)
        except InputError as exc:
            _show_problem(self.problem, str(exc))
            return None
        _show_problem(self.problem, "")
        self._set_session(session_id)
        self.run_name_edit.setText(FIRST_RUN_NAME)
        self.review_button.hide()  # the last run was another session's
        return session_id

    def _set_session(self, session_id: int | None) -> None:
        if session_id is None:
            self.library.close_session()
        session = self.library.session
        self._session_vehicle_id = None if session is None else session.vehicle_id
        self.session_label.setText(self.library.session_label())
        self._update_enabled()

    # ------------------------------------------------------------------ buttons
    def _on_record(self) -> None:
        if self.recording:
            self.stop_requested.emit()
            return
        if self.session_id is None:
            return
        name = self.run_name_edit.text().strip()
        if not name:
            _show_problem(self.problem, f'Give the run a name, e.g. "{FIRST_RUN_NAME}".')
            return
        _show_problem(self.problem, "")
        self.record_requested.emit(self.session_id, name)

    def _clear_problem(self) -> None:
        if self.library.available:
            _show_problem(self.problem, "")

    def _on_record_key(self) -> None:
        if self.record_button.isEnabled():
            self._on_record()

    def _on_marker(self) -> None:
        # A marker belongs to a run: the recorder only takes one while it records.
        if not self.recording:
            return
        note = self.marker_note_edit.text().strip()
        self.marker_requested.emit(note)
        self.marker_note_edit.clear()

    def _on_pop(self) -> None:
        if self.recording:
            self.marker_requested.emit(POP_NOTE)
