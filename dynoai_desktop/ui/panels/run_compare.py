"""Compare runs panel: up to eight runs from any sessions overlaid as WinPEP does it.

Left, the runs (colour, name, where from, peaks, the pull shown, the "before" run, remove);
right, the correction/smoothing/axis choices over the charts (run_compare_charts.py) and a table
that reads every run at the cursor. The panel only draws the app's :class:`RunComparison`; files
are opened through it, never here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.run_comparison import (
    AXES,
    MAX_RUNS,
    ComparedRun,
    RunComparison,
    RunReading,
    shown,
)
from dynoai_desktop.core.display import DisplayUnits, format_value, gauge_decimals, unit_symbol
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import SMOOTHING_LEVELS, Standard
from dynoai_desktop.storage.log_import import KNOWN_FORMATS
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.run_compare_charts import CompareCharts
from dynoai_desktop.ui.widgets import ElidedLabel

RUN_FILTER = "DynoAI runs (*.parquet);;All files (*)"
LOG_FILTER = ("Logs (*.msl *.mlg *.csv);;MegaSquirt/TunerStudio (*.msl *.mlg);;CSV logs (*.csv);;"
              "All files (*)")
LIST_WIDTH_PX = 235  # the run list's least width: "Torque 123.8 ft-lb @ 3,850 rpm" fits
SWATCH_PX = 14
READOUT_COLUMNS = ("Run", "hp", "ft-lb", "AFR F", "AFR R", "Δ hp")  # headers: units follow
SMOOTHING_NAMES = {0: "0 (none)", 5: "5 (most)"}
MUTED = f"color: {theme.MUTED};"


class RunRow(QFrame):
    """One compared run in the list: its colour, name, peaks, pull chooser and buttons."""

    def __init__(self, run: ComparedRun, before: QButtonGroup, units: DisplayUnits,
                 axis: str) -> None:
        super().__init__()
        self.key = run.key
        self.setObjectName("compare_run_row")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.swatch = QLabel()
        self.swatch.setFixedSize(SWATCH_PX, SWATCH_PX)
        self.swatch.setStyleSheet(f"background: {run.colour}; border-radius: 2px;")
        self.name = ElidedLabel(run.name)
        font = self.name.font()
        font.setBold(True)
        self.name.setFont(font)
        self.before = QRadioButton("before")
        self.before.setToolTip("Compare the other runs against this one (after − before)")
        before.addButton(self.before, run.key)
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setToolTip("Take this run out of the comparison")
        self.place = ElidedLabel(run.place or ("imported log" if run.kind == "log" else ""))
        self.place.setStyleSheet(MUTED)
        self.setToolTip(f"{run.label}\n{run.path}")
        self.peaks = QLabel(_peaks_text(run, units, axis))
        self.peaks.setWordWrap(True)
        if run.curve is None:
            self.peaks.setStyleSheet(f"color: {theme.WARN};")
        elif run.curve.notes:
            self.peaks.setToolTip("\n".join(run.curve.notes))
        self.pull_box = QComboBox()
        for number, pull in enumerate(run.pulls, start=1):
            self.pull_box.addItem(f"Pull {number}: {pull.label}")
        if run.pull_index is not None:
            self.pull_box.setCurrentIndex(run.pull_index)
        self.pull_box.setVisible(len(run.pulls) > 1)
        self.pull_box.setMinimumContentsLength(8)  # the labels are long: it may cut them
        self.pull_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.pull_box.setToolTip("Which of the run's pulls to draw")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.swatch)
        top.addWidget(self.name, stretch=1)
        top.addWidget(self.remove)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.before)
        bottom.addWidget(self.pull_box, stretch=1)
        bottom.addStretch(0)  # the radio button stays its own size with no pull chooser
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        if self.place.text():
            layout.addWidget(self.place)
        layout.addWidget(self.peaks)
        layout.addLayout(bottom)


def _peaks_text(run: ComparedRun, units: DisplayUnits, axis: str) -> str:
    """'Power 91.2 hp @ 5,150 rpm' over 'Torque 104.3 ft-lb @ 3,300 rpm', or why the run
    draws nothing."""
    if run.curve is None:
        return run.problem
    lines = []
    for name, channel, (value, at) in (("Power", "power_hp", run.curve.peak_power),
                                       ("Torque", "torque_ftlb", run.curve.peak_torque)):
        shown_value, unit = shown(channel, value, units)
        where, x_unit = shown(axis, at, units)
        lines.append(f"{name} {format_value(float(shown_value), unit)} @ "
                     f"{format_value(float(where), x_unit)}")
    if run.curve.standard is Standard.UNCORRECTED:
        lines.append("uncorrected")
    return "\n".join(lines)


class RunComparePanel(QWidget):
    """The runs compared, their charts and a read-out of every run at the cursor."""

    def __init__(self, comparison: RunComparison, units: DisplayUnits | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison = comparison
        self.units = units if units is not None else DisplayUnits()
        self.cursor_x: float | None = None  # canonical axis units (rpm, mph)
        self.rows: list[RunRow] = []
        self.before_group = QButtonGroup(self)
        self.before_group.idClicked.connect(self._before_clicked)

        self.add_run_button = QPushButton("Add run…")
        self.add_run_button.setToolTip(f"Saved runs, from any session (up to {MAX_RUNS})")
        self.add_log_button = QPushButton("Import log…")
        self.add_log_button.setToolTip("Reads:\n" + "\n".join(KNOWN_FORMATS))
        self.error = QLabel()
        self.error.setObjectName("compare_error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet(f"background: {theme.FAULT}; color: {theme.BACKGROUND}; "
                                 "padding: 6px; border-radius: 3px;")
        self.error.hide()
        self.empty = QLabel(f"Add saved runs or import logs to overlay them (up to {MAX_RUNS}, "
                            "from any session). The pull with the most power is shown; pick "
                            "another under a run.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(MUTED)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.list_widget)

        self.standard_box = QComboBox()
        for standard in Standard:
            self.standard_box.addItem(standard.label, standard)
        self.standard_box.setToolTip("Correction to standard air from each run's weather")
        self.smoothing_box = QComboBox()
        for level in SMOOTHING_LEVELS:
            self.smoothing_box.addItem(SMOOTHING_NAMES.get(level, str(level)), level)
        self.smoothing_box.setToolTip("WinPEP smoothing: level k averages ±k grid steps "
                                      "(±50·k rpm, ±k mph)")
        self.axis_box = QComboBox()
        for axis, title in AXES.items():
            self.axis_box.addItem(title, axis)
        self.charts = CompareCharts()
        self.charts.cursor_moved.connect(self._cursor_moved)
        self.cursor_title = QLabel("Move the mouse over the charts to read every run there.")
        self.cursor_title.setStyleSheet(MUTED)
        self.cursor_title.setWordWrap(True)
        self.readout = QTableWidget(0, len(READOUT_COLUMNS))
        self.readout.setObjectName("compare_readout")
        self.readout.verticalHeader().hide()
        self.readout.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.readout.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.readout.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.readout.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names elide first
        header.setStretchLastSection(False)
        self.readout.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.readout.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.readout.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        choices = QGridLayout()
        for row, (text, box) in enumerate((("Correction", self.standard_box),
                                           ("Smoothing", self.smoothing_box),
                                           ("Against", self.axis_box))):
            label = QLabel(text)
            label.setStyleSheet(MUTED)
            choices.addWidget(label, row, 0)
            choices.addWidget(box, row, 1)
        choices.setColumnStretch(1, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_run_button)
        buttons.addWidget(self.add_log_button)
        left = QWidget()
        left.setMinimumWidth(LIST_WIDTH_PX)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addLayout(buttons)
        left_layout.addLayout(choices)
        left_layout.addWidget(self.error)
        left_layout.addWidget(self.empty)
        left_layout.addWidget(scroll, stretch=1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 0, 0, 0)
        right_layout.addWidget(self.charts, stretch=1)
        right_layout.addWidget(self.cursor_title)
        right_layout.addWidget(self.readout)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self.add_run_button.clicked.connect(self._ask_add_runs)
        self.add_log_button.clicked.connect(self._ask_add_logs)
        self.standard_box.currentIndexChanged.connect(
            lambda _i: self._try(lambda: comparison.set_standard(self.standard_box.currentData())))
        self.smoothing_box.currentIndexChanged.connect(
            lambda _i: self._try(lambda: comparison.set_smoothing(
                self.smoothing_box.currentData())))
        self.axis_box.currentIndexChanged.connect(self._axis_changed)
        comparison.changed.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ adding runs
    def add_runs(self, paths: Iterable[str | Path]) -> bool:
        """Saved runs sent here (by the file dialog, or the run library's browser); False, with
        each reason shown, when some could not be added."""
        problems = self.comparison.add_runs(paths)
        self._show_problems(problems)
        return not problems

    def add_logs(self, paths: Iterable[str | Path]) -> bool:
        problems = []
        for path in paths:
            try:
                self.comparison.add_log(path)
            except InputError as exc:
                problems.append(str(exc))
        self._show_problems(problems)
        return not problems

    def _show_problems(self, problems: list[str]) -> None:
        self.error.setText("\n".join(problems))
        self.error.setVisible(bool(problems))

    def _try(self, change: Callable[[], None]) -> None:
        try:
            change()
        except InputError as exc:
            self._show_problems([str(exc)])

    def _ask_add_runs(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Add runs to compare",
                                                str(self.comparison.runs_folder()), RUN_FILTER)
        if names:
            self.add_runs(names)

    def _ask_add_logs(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Import logs to compare",
                                                str(self.comparison.runs_folder()), LOG_FILTER)
        if names:
            self.add_logs(names)

    # ------------------------------------------------------------------ showing
    def refresh(self) -> None:
        """Show the comparison as it is now: the list, the charts, the read-out."""
        self._set_choices()
        for row in self.rows:  # a row may be mid-click (its ✕): deleted later, by Qt
            self.before_group.removeButton(row.before)
            self.list_layout.removeWidget(row)
            row.hide()
            row.deleteLater()
        self.rows = []
        for run in self.comparison.runs:
            row = RunRow(run, self.before_group, self.units, self.comparison.axis)
            row.before.setChecked(run.key == self.comparison.before_key)
            row.remove.clicked.connect(lambda _c=False, k=run.key: self.comparison.remove(k))
            row.pull_box.activated.connect(
                lambda index, k=run.key: self._try(lambda: self.comparison.choose_pull(k, index)))
            self.list_layout.insertWidget(self.list_layout.count() - 1, row)
            row.show()  # now, not at the next event loop turn
            self.rows.append(row)
        self.empty.setVisible(not self.comparison.runs)
        self.add_run_button.setEnabled(len(self.comparison.runs) < MAX_RUNS)
        self.add_log_button.setEnabled(len(self.comparison.runs) < MAX_RUNS)
        self.charts.draw(self.comparison, self.units)
        self.show_cursor(self.cursor_x)

    def _set_choices(self) -> None:
        for box, value in ((self.standard_box, self.comparison.standard),
                           (self.smoothing_box, self.comparison.smoothing),
                           (self.axis_box, self.comparison.axis)):
            index = box.findData(value)
            if index != box.currentIndex():
                box.blockSignals(True)
                box.setCurrentIndex(index)
                box.blockSignals(False)

    def set_units(self, units: DisplayUnits) -> None:
        """Show every value in ``units`` from now on: axes, legend, list and read-out."""
        self.units = units
        self.refresh()

    # ------------------------------------------------------------------ cursor
    def show_cursor(self, x: float | None) -> None:
        """Read every run at ``x`` (rpm, or mph: the axis' canonical unit) into the table."""
        self.cursor_x = x
        if x is None or not math.isfinite(x):
            self.charts.show_cursor(None)
            self.readout.setRowCount(0)
            return
        at, unit = shown(self.comparison.axis, x, self.units)
        self.charts.show_cursor(float(at))
        self.cursor_title.setText(f"At {format_value(float(at), unit)}:")
        self._fill_readout(self.comparison.read_all(x))

    def _cursor_moved(self, shown_x: float) -> None:
        per_canonical = float(shown(self.comparison.axis, 1.0, self.units)[0])
        self.show_cursor(shown_x / per_canonical)

    def _fill_readout(self, readings: list[RunReading]) -> None:
        power_unit = shown("power_hp", 0.0, self.units)[1]
        torque_unit = shown("torque_ftlb", 0.0, self.units)[1]
        afr_unit = shown("afr_front", 0.0, self.units)[1]
        afr = "λ" if afr_unit == "lambda" else "AFR"
        power, torque = unit_symbol(power_unit), unit_symbol(torque_unit)
        self.readout.setHorizontalHeaderLabels(
            ["Run", power, torque, f"{afr} F", f"{afr} R", f"Δ {power}"])
        tips = ("The run (its colour as on the charts)", f"Power, {power}", f"Torque, {torque}",
                f"{afr}, front cylinder", f"{afr}, rear cylinder",
                f"Power gained over the before run, {power}")
        for column, tip in enumerate(tips):
            self.readout.horizontalHeaderItem(column).setToolTip(tip)
        self.readout.setRowCount(len(readings))
        for row, reading in enumerate(readings):
            name = QTableWidgetItem(f"■ {self.comparison.run(reading.key).name}")
            name.setForeground(QColor(reading.colour))
            name.setToolTip(reading.label)
            self.readout.setItem(row, 0, name)
            cells = (("power_hp", reading.power_hp, ""), ("torque_ftlb", reading.torque_ftlb, ""),
                     ("afr_front", reading.afr_front, ""), ("afr_rear", reading.afr_rear, ""),
                     ("power_hp", reading.delta_power_hp, "+"))
            for column, (channel, value, sign) in enumerate(cells, start=1):
                text = _number(*shown(channel, value, self.units), sign)
                if column == len(cells) and reading.is_before:
                    text = "before"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.readout.setItem(row, column, item)
        self._fit_readout_height()

    def _fit_readout_height(self) -> None:
        """Every row shown, no scroll bars; no wider than its columns need (the numbers stay
        beside the names on a wide screen), the names cut first on a narrow one."""
        table = self.readout
        frame = 2 * table.frameWidth()
        height = table.horizontalHeader().height() + frame
        table.setFixedHeight(height + sum(table.rowHeight(r) for r in range(table.rowCount())))
        header = table.horizontalHeader()
        natural = sum(max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
                      for c in range(table.columnCount()))
        table.setMaximumWidth(natural + frame + 8)

    # ------------------------------------------------------------------ choices
    def _before_clicked(self, key: int) -> None:
        self._try(lambda: self.comparison.set_before(key))

    def _axis_changed(self, _index: int) -> None:
        self.cursor_x = None  # an rpm is not a speed
        self._try(lambda: self.comparison.set_axis(self.axis_box.currentData()))

    def shutdown(self) -> None:
        """Stop following the comparison (the window is closing)."""
        self.comparison.changed.disconnect(self.refresh)


def _number(value: float, unit: str, sign: str = "") -> str:
    """A read-out cell: the value with its unit's decimals (the unit is in the header)."""
    if math.isnan(value):
        return "—"
    return f"{value:{sign},.{gauge_decimals(unit)}f}"
