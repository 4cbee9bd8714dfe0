"""Connects the run library (the browser beside Review, the session bar's Review button) to the
panels that use runs: Review opens one, Autotune analyses some, Coverage shows theirs.

The browser and the session bar turn the tuner's clicks into signals; this asks ``app`` for the
runs' files and hands them to the panels, which own their work (the autotune panel its analysis
and its apply, the coverage session its counting). Nothing here changes the tune.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from dynoai_desktop.app.run_tree import RunEntry
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog import RunRecord
from dynoai_desktop.storage.settings import Settings

if TYPE_CHECKING:
    from dynoai_desktop.ui.main_window import MainWindow


class LibraryController(QObject):
    """The run browser's and the session bar's requests in; Review, Autotune, Coverage out."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.app = window.app
        self.last_saved: RunRecord | None = None
        browser = window.run_browser
        browser.open_requested.connect(self.open_in_review)
        browser.analyse_requested.connect(self.analyse)
        browser.coverage_requested.connect(self.show_coverage)
        browser.compare_requested.connect(self.compare)
        window.session_bar.review_requested.connect(self.review_last_run)
        window.live_dock.review_button.clicked.connect(self._review_shown)
        self.app.runs.changed.connect(self._library_changed)
        self.app.runs.runs_changed.connect(self._run_saved)
        self.app.settings.changed.connect(self._settings_changed)

    # ------------------------------------------------------------------ review
    def open_in_review(self, entry: RunEntry | RunRecord) -> bool:
        """Show the run in Review (the tab switched to, the run selected in the browser);
        False when its file cannot be read (the Review panel says why)."""
        record = entry.record if isinstance(entry, RunEntry) else entry
        if record.status == "recording":
            self.window.statusBar().showMessage(
                f"'{record.name}' is still recording: stop it, then review it.")
            return False
        self.window.live_dock.show_review()
        self.window.run_browser.select_run(record.id)
        try:
            path = self.app.runs.run_path(record)
        except InputError as exc:
            self.window.review.show_error(str(exc))
            return False
        opened = self.window.review.open_run(path)
        if opened:
            self.window.live_dock.make_room_for_charts()
        return opened

    def review_last_run(self) -> bool:
        """The session bar's Review button: the run just recorded, in Review."""
        if self.last_saved is None:
            return False
        return self.open_in_review(self.last_saved)

    def _review_shown(self) -> None:
        """The Review tab never opens empty: with nothing shown yet, the run selected in the
        browser (the newest of the session, at first) is opened."""
        if self.window.review.plots:
            return
        runs = self.window.run_browser.selected_runs()
        if len(runs) == 1:
            self.open_in_review(runs[0])

    # ------------------------------------------------------------------ other panels
    def analyse(self, entries: list[RunEntry]) -> None:
        """The Autotune dock's offline analysis on these runs (its settings; applying stays
        the tuner's step there)."""
        if not entries:
            return
        dock = self.window.docks["autotune"]
        dock.show()
        dock.raise_()
        if self.window.autotune.analysing:
            self.window.statusBar().showMessage(
                "Autotune is still analysing; ask again when it has finished.")
            return
        self.window.autotune.analyse([self.app.runs.run_path(e) for e in entries],
                                     labels=[_label(e) for e in entries])

    def show_coverage(self, entries: list[RunEntry]) -> None:
        """The Coverage dock shows the cells these runs covered (counted now, not kept)."""
        if not entries:
            return
        dock = self.window.docks["coverage"]
        dock.show()
        dock.raise_()
        self.app.coverage.show_runs([self.app.runs.run_path(e) for e in entries],
                                    [e.name for e in entries])

    def compare(self, entries: list[RunEntry]) -> None:
        """The Compare runs tab overlays these runs' pulls (added to those already there)."""
        if entries:
            self.window.add_runs([self.app.runs.run_path(e) for e in entries])

    # ------------------------------------------------------------------ events
    def _run_saved(self, record: RunRecord | None) -> None:
        if record is None:
            return
        self.last_saved = record
        self.window.run_browser.show_saved(record.session_id, record.id)
        self.window.session_bar.offer_review(record.name)

    def _library_changed(self) -> None:
        self.window.run_browser.refresh()

    def _settings_changed(self, settings: Settings) -> None:
        if settings.units != self.window.run_browser.units:
            self.window.run_browser.set_units(settings.units)

    def shutdown(self) -> None:
        """The window closes: the app's events no longer reach these widgets."""
        self.app.runs.changed.disconnect(self._library_changed)
        self.app.runs.runs_changed.disconnect(self._run_saved)
        self.app.settings.changed.disconnect(self._settings_changed)


def _label(entry: RunEntry) -> str:
    """How the autotune panel names a run: "'pull 3' (session 7)"."""
    return f"'{entry.name}' (session {entry.session_id})"
