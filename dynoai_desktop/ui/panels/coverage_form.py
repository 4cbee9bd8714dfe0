"""The Coverage panel's settings, folded away until asked for: what the planner may suggest
(rpm and load limits, pulls, head temperature, venue, load control), when a cell counts as
covered, which tables and regions count, and resetting the vehicle's coverage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.coverage_session import CoverageSession
from dynoai_desktop.core.coverage.grid import LOAD_NAMES
from dynoai_desktop.core.coverage.regions import Region, regions_from_dicts
from dynoai_desktop.core.errors import InputError

VENUES = {"dyno": "On the dyno", "street": "On the street", "both": "Dyno and street"}
LOAD_AXES = {"map_kpa": "MAP tables", "tps_pct": "Throttle tables"}
REGION_COLUMNS = ("Region", "rpm", "load", "Priority")


def _int_spin(low: int, high: int, step: int, suffix: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)  # a value is taken when typed in, not per key
    return box


def _set(box: QSpinBox | QDoubleSpinBox | QCheckBox | QComboBox, value: Any) -> None:
    """Show ``value`` without calling back into the session."""
    box.blockSignals(True)
    if isinstance(box, QCheckBox):
        box.setChecked(bool(value))
    elif isinstance(box, QComboBox):
        box.setCurrentIndex(max(0, box.findData(value)))
    else:
        box.setValue(value)
    box.blockSignals(False)


class CoverageSettings(QWidget):
    """Constraints, "covered at", the load axis, the regions and a reset; each change goes to
    the session at once. ``say`` shows a refusal in the panel."""

    def __init__(self, session: CoverageSession, say: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.say = say
        self.toggle = QToolButton()
        self.toggle.setText("Constraints, regions and reset")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self.set_open)
        self.body = QWidget()
        self.body.hide()

        self.rpm_min = _int_spin(500, 9000, 250, " rpm")
        self.rpm_max = _int_spin(500, 9000, 250, " rpm")
        self.load_max = _int_spin(1, 250, 5, " kPa")
        self.max_pulls = _int_spin(0, 99, 1, "")
        self.head_limit = _int_spin(60, 400, 5, " °C")
        self.venue = QComboBox()
        for key, text in VENUES.items():
            self.venue.addItem(text, key)
        self.load_control = QCheckBox("Load-control dyno (holds and ramps rpm)")
        self.covered_at = QDoubleSpinBox()
        self.covered_at.setRange(0.5, 1000.0)
        self.covered_at.setDecimals(1)
        self.covered_at.setSingleStep(5.0)
        self.covered_at.setKeyboardTracking(False)
        self.covered_at.setToolTip("A cell counts as covered at this good-sample weight "
                                   "(a sample at a cell's centre weighs 1)")
        self.load_axis = QComboBox()
        for key, text in LOAD_AXES.items():
            self.load_axis.addItem(text, key)
        self.pulls_done = QLabel()
        form = QGridLayout()  # one pair a row: the dock is narrow in the default layout
        for n, (label, box) in enumerate((
                ("rpm from", self.rpm_min), ("rpm to", self.rpm_max),
                ("Load up to", self.load_max), ("Pulls a session", self.max_pulls),
                ("Head temp limit", self.head_limit), ("Venue", self.venue),
                ("Covered at weight", self.covered_at), ("Coverage of", self.load_axis))):
            form.addWidget(QLabel(label), n, 0)
            form.addWidget(box, n, 1)
        form.addWidget(self.load_control, 8, 0, 1, 2)
        form.addWidget(self.pulls_done, 9, 0, 1, 2)
        form.setColumnStretch(2, 1)

        self.regions = QTableWidget(0, len(REGION_COLUMNS))
        self.regions.setHorizontalHeaderLabels(REGION_COLUMNS)
        self.regions.verticalHeader().hide()
        self.regions.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.
                                                             ResizeToContents)
        self.regions.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.regions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.regions.setMinimumHeight(110)
        self.regions.setToolTip("Edit a cell to change a region: ranges as from-to (2500-4500), "
                                "priority 1-9 (1 matters most)")
        self.add_region = QPushButton("Add")
        self.remove_region = QPushButton("Remove")
        self.reset_button = QPushButton("Reset coverage…")
        self.reset_button.setToolTip("Forget this vehicle's coverage of every table (asks "
                                     "first); the runs themselves are kept")
        buttons = QHBoxLayout()
        for w in (self.add_region, self.remove_region):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.reset_button)

        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(form)
        body.addWidget(QLabel("Regions (the planner fills these first):"))
        body.addWidget(self.regions)
        body.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)

        self.show_session()
        for box in (self.rpm_min, self.rpm_max, self.load_max, self.max_pulls, self.head_limit):
            box.valueChanged.connect(self._constraints_edited)
        self.venue.currentIndexChanged.connect(self._constraints_edited)
        self.load_control.toggled.connect(self._constraints_edited)
        self.covered_at.valueChanged.connect(self._covered_at_edited)
        self.load_axis.currentIndexChanged.connect(self._load_axis_edited)
        self.regions.itemChanged.connect(self._regions_edited)
        self.add_region.clicked.connect(self._add_region)
        self.remove_region.clicked.connect(self._remove_region)
        self.reset_button.clicked.connect(lambda: self.reset_coverage())

    def set_open(self, shown: bool) -> None:
        self.toggle.setChecked(shown)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.body.setVisible(shown)

    # ------------------------------------------------------------------ from the session
    def show_session(self) -> None:
        """Show the session's settings (a refused edit goes back to what holds)."""
        s = self.session
        c = s.constraints
        _set(self.rpm_min, int(c.rpm_min))
        _set(self.rpm_max, int(c.rpm_max))
        _set(self.load_max, int(c.load_max))
        _set(self.max_pulls, c.max_pulls)
        _set(self.head_limit, int(c.head_temp_limit_c))
        _set(self.venue, c.venue)
        _set(self.load_control, c.load_control)
        _set(self.covered_at, s.min_weight)
        _set(self.load_axis, s.load_channel)
        self.load_max.setSuffix(" %" if s.load_channel == "tps_pct" else " kPa")
        self.pulls_done.setText(f"Pulls run this session: {c.pulls_done} of {c.max_pulls}")
        self.pulls_done.setEnabled(False)
        regions = s.regions[s.load_channel]
        if self._shown_regions() != regions:
            self._fill_regions(regions)

    def _fill_regions(self, regions: tuple[Region, ...]) -> None:
        name, unit = LOAD_NAMES.get(self.session.load_channel, ("load", ""))
        self.regions.setHorizontalHeaderLabels(
            [REGION_COLUMNS[0], "rpm", f"{name} ({unit})", REGION_COLUMNS[3]])
        self.regions.blockSignals(True)
        self.regions.setRowCount(len(regions))
        for row, r in enumerate(regions):
            for col, value in enumerate((r.name, f"{r.rpm_min:g}-{r.rpm_max:g}",
                                         f"{r.load_min:g}-{r.load_max:g}", str(r.priority))):
                self.regions.setItem(row, col, QTableWidgetItem(value))
        self.regions.blockSignals(False)

    def _region_dicts(self) -> list[dict[str, Any]]:
        """The table's rows as ``regions_from_dicts`` reads them (a range is "from-to")."""
        def cell(row: int, col: int) -> str:
            item = self.regions.item(row, col)
            return "" if item is None else item.text().strip()

        def span(row: int, col: int) -> list[str]:
            low, _sep, high = cell(row, col).replace("–", "-").partition("-")
            if not (low.strip() and high.strip()):
                what = self.regions.horizontalHeaderItem(col).text()
                raise InputError(f"the regions table, row {row + 1}: write its {what} as "
                                 "from-to, e.g. 2500-4500")
            return [low.strip(), high.strip()]

        return [{"name": cell(row, 0), "rpm": span(row, 1), "load": span(row, 2),
                 "priority": cell(row, 3)} for row in range(self.regions.rowCount())]

    def _shown_regions(self) -> tuple[Region, ...] | None:
        try:
            return regions_from_dicts(self._region_dicts(), "the regions table")
        except InputError:
            return None

    # ------------------------------------------------------------------ to the session
    def _guarded(self, action: Callable[[], None]) -> bool:
        try:
            action()
        except InputError as exc:
            self.say(str(exc))
            return False
        self.say("")  # taken: an earlier refusal no longer holds
        return True

    def _constraints_edited(self) -> None:
        c = self.session.constraints
        edited = lambda: self.session.set_constraints(replace(  # noqa: E731
            c, rpm_min=float(self.rpm_min.value()), rpm_max=float(self.rpm_max.value()),
            load_max=float(self.load_max.value()), max_pulls=self.max_pulls.value(),
            head_temp_limit_c=float(self.head_limit.value()),
            venue=self.venue.currentData(), load_control=self.load_control.isChecked()))
        if not self._guarded(edited):
            self.show_session()

    def _covered_at_edited(self, value: float) -> None:
        self._guarded(lambda: self.session.set_min_weight(value))

    def _load_axis_edited(self) -> None:
        self._guarded(lambda: self.session.set_load_channel(self.load_axis.currentData()))
        self.show_session()

    def _regions_edited(self) -> None:
        self._guarded(lambda: self.session.set_regions(
            regions_from_dicts(self._region_dicts(), "the regions table")))

    def _add_region(self) -> None:
        row = self.regions.rowCount()
        self.regions.blockSignals(True)
        self.regions.insertRow(row)
        for col, value in enumerate((f"Region {row + 1}", "2000-3000", "40-60", "2")):
            self.regions.setItem(row, col, QTableWidgetItem(value))
        self.regions.blockSignals(False)
        self._regions_edited()

    def _remove_region(self) -> None:
        rows = sorted({i.row() for i in self.regions.selectedIndexes()}, reverse=True)
        if not rows:
            self.say("Pick the region to remove in the regions table first.")
            return
        for row in rows:
            self.regions.removeRow(row)
        self._regions_edited()

    def reset_coverage(self, confirm: bool = True) -> bool:
        """Forget the vehicle's coverage of every table; asks first. True when reset."""
        if confirm:
            who = self.session.vehicle_name() or "this vehicle"
            answer = QMessageBox.question(
                self, "Reset coverage",
                f"Forget the coverage of {who} in every table? The runs are kept; their "
                "samples no longer count until recorded again.")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.session.reset()
        self.say("Coverage reset: the map starts again from the next run.")
        return True
