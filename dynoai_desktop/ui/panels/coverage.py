"""The Coverage panel: which VE cells of the session's vehicle have enough good samples for
autotune, where the important regions still have gaps, and the tests that fill them fastest —
run one on a load-control dyno from here. A thin view of ``app.coverage_session``; the counting
and planning are there and in ``core.coverage``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.coverage_session import CoverageSession, CoverageView
from dynoai_desktop.core.coverage.grid import LOAD_NAMES
from dynoai_desktop.core.coverage.planner import Suggestion
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import plan_spec_json
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.coverage_form import CoverageSettings
from dynoai_desktop.ui.panels.coverage_map import (
    COVERED_RGB,
    GAP,
    PARTLY_RGB,
    CoverageMap,
)
from dynoai_desktop.ui.panels.coverage_plan import PlanList, muted
from dynoai_desktop.ui.widgets import scrolling_content

POLL_INTERVAL_MS = 250
SIDE_BY_SIDE_PX = 760  # wider than this, the list stands beside the map
MAP_MIN_PX = 250  # below this the rows of a 20-row table get too thin to read
NO_DYNO = ("Connect a load-control dyno that takes host commands to run a test from here; or "
           "run it by hand as the list says.")
UNUSABLE_KEY = "#8a7358"  # the map's no-usable-data brown, light enough to read as a glyph
IDLE_DRIVER = "No test running: pick one and press Run on dyno, or run it by hand."


def _legend() -> str:
    def key(colour: str, mark: str, text: str) -> str:  # wraps between keys, not inside one
        return f'<span style="color:{colour}">{mark}</span>&nbsp;{text.replace(" ", "&nbsp;")}'

    return " &nbsp; ".join((
        key(PARTLY_RGB[1], "■", "filling"), key(COVERED_RGB[0], "■", "covered ✓"),
        key(UNUSABLE_KEY, "■", "went there, no usable data"), key(GAP.name(), "□", "gap"),
        key(theme.RPM, "●", "engine now")))


class CoveragePanel(QWidget):
    """The Coverage dock: summary, map, the planner's list, running a test, settings."""

    def __init__(self, session: CoverageSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.headline = QLabel()
        bold = QFont(self.headline.font())
        bold.setBold(True)
        self.headline.setFont(bold)
        self.headline.setWordWrap(True)
        self.message = muted()
        self.legend = QLabel(_legend())
        self.legend.setStyleSheet(f"color: {theme.MUTED}; font-size: 8pt;")
        self.legend.setWordWrap(True)
        self.map = CoverageMap()
        self.plan = PlanList(self._picked)
        self.plan_list, self.why = self.plan.tree, self.plan.why
        self.ruled_out_title, self.ruled_out = self.plan.ruled_out_title, self.plan.ruled_out
        self.run_button = QPushButton("Run on dyno")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Release the dyno and end the test")
        self.save_button = QPushButton("Save plan…")
        self.save_button.setToolTip("The selected test as a plan file (dynoai simulate --plan)")
        self.driver_label = QLabel(IDLE_DRIVER)
        self.driver_label.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {theme.WARN};")
        self.status.hide()
        self.settings = CoverageSettings(session, self.say)
        self.back_button = QPushButton("Back to the vehicle's coverage")
        self.back_button.setToolTip("The runs picked in the run library are shown; this goes "
                                    "back to all the runs of the session's vehicle")
        self.back_button.hide()  # shown while runs picked in the run library are

        buttons = QHBoxLayout()
        for w in (self.run_button, self.stop_button, self.save_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        map_column = QVBoxLayout()
        map_column.addWidget(self.map, 1)
        map_column.addWidget(self.legend)
        map_column.addWidget(self.message)
        plan_column = QVBoxLayout()
        plan_column.addWidget(self.plan.title)
        plan_column.addWidget(self.plan_list, 1)
        plan_column.addWidget(self.why)
        plan_column.addLayout(buttons)
        plan_column.addWidget(self.driver_label)
        plan_column.addWidget(self.status)
        plan_column.addWidget(self.ruled_out_title)
        plan_column.addWidget(self.ruled_out)
        self.columns = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.columns.addLayout(map_column, 3)
        self.columns.addLayout(plan_column, 2)
        layout = scrolling_content(self)  # scrolls inside its dock
        self._content = layout
        layout.addWidget(self.headline)
        layout.addWidget(self.back_button)
        layout.addLayout(self.columns, 1)
        layout.addWidget(self.settings)

        self.run_button.clicked.connect(self.run_selected)
        self.stop_button.clicked.connect(self.stop_test)
        self.save_button.clicked.connect(lambda: self.save_plan())
        self.back_button.clicked.connect(session.show_vehicle)
        self._view: CoverageView | None = None
        self._dirty = True
        session.changed.connect(self._session_changed)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # ------------------------------------------------------------------ state
    @property
    def view(self) -> CoverageView | None:
        """The view drawn now (None: no VE table of the chosen load axis is open)."""
        return self._view

    @property
    def hit_counts(self) -> np.ndarray:
        """Raw samples per cell drawn now, shape (rpm, load); empty before any table."""
        return np.zeros((0, 0)) if self._view is None else self._view.coverage.hits

    @property
    def suggestions(self) -> tuple[Suggestion, ...]:
        """The planner's list as shown, best first."""
        return self.plan.suggestions

    def selected_suggestion(self) -> Suggestion | None:
        """The test picked in the list (the best one until the tuner picks another)."""
        return self.plan.selected()

    def _session_changed(self) -> None:
        self._dirty = True  # redrawn on the next tick (the session may change many times)

    def say(self, text: str) -> None:
        """A message (a refusal, what was done) under the buttons until the next action."""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    # ------------------------------------------------------------------ the timer
    def refresh(self, force: bool = False) -> None:
        """The timer's tick: count the recording run, move the running test on, redraw what
        changed."""
        self.session.refresh_live()
        status = self.session.tick_driver()
        self.driver_label.setText(status or IDLE_DRIVER)
        self.driver_label.setStyleSheet(f"color: {theme.ACCENT if status else theme.MUTED};")
        if force or self._dirty:
            self._dirty = False
            self._view = self.session.view()
            self._draw(self._view)
        elif self._view is not None:
            view = self.session.view()
            if view is not None and view.operating_point != self._view.operating_point:
                self._view = view
                self.map.show_operating_point(view.operating_point)
        self._enable_buttons()

    def _draw(self, view: CoverageView | None) -> None:
        self.settings.show_session()
        self.map.show_view(view)
        self._show_summary(view)
        self.plan.show_plan(None if view is None else view.plan)

    def _show_summary(self, view: CoverageView | None) -> None:
        shown = self.session.shown_runs
        self.back_button.setVisible(shown is not None)
        notices = list(self.session.notices) + list(shown.problems if shown else ())
        if view is None:
            if not self.session.tune.table_names:  # no tune open
                self.headline.setText("Open a tune (Tables ▸ Tune ▸ Open tune…): coverage is "
                                      "kept on the cells of its VE tables.")
            else:
                name = LOAD_NAMES.get(self.session.load_channel, ("load", ""))[0]
                self.headline.setText(f"The open tune has no {name}-based VE table: choose "
                                      "the other tables under Constraints, regions and reset.")
            self.message.setText(" ".join(notices))
            return
        s = view.summary
        who = view.vehicle or "No session"
        self.headline.setText(f"{who}: priority-1 regions {s.priority_percent(1):.0f} % "
                              f"covered; {len(self.map.gap_cells)} gaps")
        self._fit_map()  # the headline may take another line
        lines = [f"{s.text()} (covered at weight {s.min_weight:g})."]
        if not view.vehicle:
            lines.append("Start a session (session bar) to keep coverage per vehicle; the runs "
                         "recorded in it fill the map and are kept.")
        self.message.setText(" ".join(lines + notices))

    def _picked(self, chosen: Suggestion | None) -> None:
        self.map.show_selected(() if chosen is None else chosen.cells_filled)
        self._enable_buttons()

    def _enable_buttons(self) -> None:
        chosen = self.selected_suggestion() is not None
        can_drive = self.session.can_drive()
        self.run_button.setEnabled(chosen and can_drive)
        self.run_button.setToolTip(
            NO_DYNO if not can_drive else "Run the selected test step by step on the dyno"
            if chosen else "Pick a test in the list first")
        driver = self.session.driver
        self.stop_button.setEnabled(driver is not None and not driver.finished)
        self.save_button.setEnabled(chosen)

    # ------------------------------------------------------------------ actions
    def run_selected(self) -> None:
        """Run the selected test on the dyno; a refusal shows in the panel."""
        chosen = self.selected_suggestion()
        if chosen is None:
            self.say("Pick a test in the list first.")
            return
        try:
            self.session.run_suggestion(chosen)
        except InputError as exc:
            self.say(str(exc))
            return
        self.say("")
        self.refresh()

    def stop_test(self) -> None:
        self.session.stop_driver()
        self.refresh()

    def save_plan(self, path: Path | None = None) -> Path | None:
        """Write the selected test as a plan file (asks where when ``path`` is None)."""
        chosen = self.selected_suggestion()
        if chosen is None:
            self.say("Pick a test in the list first.")
            return None
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, "Save the test plan", "coverage_plan.json",
                                                  "Test plans (*.json)")
            if not name:
                return None
            path = Path(name)
        try:
            path.write_text(plan_spec_json(chosen.plan_spec()), encoding="utf-8")
        except OSError as exc:
            self.say(f"Could not write {path}: {exc.strerror or exc}; choose another folder.")
            return None
        self.say(f"Saved '{chosen.title}' to {path} (dynoai simulate --plan {path.name}).")
        return path

    def reset_coverage(self, confirm: bool = True) -> bool:
        return self.settings.reset_coverage(confirm)

    def shutdown(self) -> None:
        """The window closes: no more ticks, no more session events."""
        self.timer.stop()
        self.session.changed.disconnect(self._session_changed)

    # ------------------------------------------------------------------ layout
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        wide = event.size().width() > SIDE_BY_SIDE_PX
        self.columns.setDirection(QBoxLayout.Direction.LeftToRight if wide
                                  else QBoxLayout.Direction.TopToBottom)
        self._fit_map()

    def _fit_map(self) -> None:
        """The map fills the dock's first screen with the headline and the legend above and
        below it (the list and the settings scroll into view beneath)."""
        margins = self._content.contentsMargins()
        width = self.width() - margins.left() - margins.right()
        legend_w = width if width <= SIDE_BY_SIDE_PX else int(width * 0.6)
        taken = (self.headline.heightForWidth(width) + self.legend.heightForWidth(legend_w)
                 + margins.top() + margins.bottom() + 3 * self._content.spacing())
        self.map.setFixedHeight(max(MAP_MIN_PX, self.height() - taken))
