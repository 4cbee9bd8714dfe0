"""File ▸ Open… and ``dynoai FILE`` (a double-click in a file manager): a tune goes to the table
editor, a DynoAI run or a foreign log to Review (docs/formats.md, "Opening a file")."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.file_kinds import kind_of_file

if TYPE_CHECKING:
    from dynoai_desktop.ui.main_window import MainWindow

OPEN_ANY_FILTER = (
    "Tunes, runs and logs (*.pvv *.msq *.csv *.parquet *.msl *.mlg);;"
    "Tunes (*.pvv *.msq *.csv);;DynoAI runs (*.parquet);;Logs (*.msl *.mlg *.csv);;All files (*)"
)


class FileOpener:
    """Opens a file where a tuner looks for it; what went wrong is said in the window (a
    message naming the file, or Review's own error line), never only on a console."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.last_problem = ""  # why the last open failed ("" when it did not)

    def open(self, path: Path) -> bool:
        """Show ``path`` in the editor or Review; False (and the reason shown) if it can't be."""
        self.last_problem = ""
        try:
            kind = kind_of_file(path)
        except InputError as exc:
            return self._failed(str(exc))
        if kind == "tune":
            self.window.docks["tables"].show()
            self.window.docks["tables"].raise_()
            try:
                self.window.tables.open_tune(path)
            except InputError as exc:
                return self._failed(str(exc))
            self.window.statusBar().showMessage(f"Opened the tune {path.name}", 10_000)
            return True
        review = self.window.review
        self.window.docks["live"].raise_()
        self.window.live_dock.show_review()
        opened = review.open_run(path) if kind == "run" else review.open_log(path)
        if not opened:
            self.last_problem = review.error.text()
            return False
        self.window.live_dock.make_room_for_charts()
        return True

    def ask(self) -> bool:
        """File ▸ Open…: pick a tune, run or log; False when nothing was opened."""
        start = self.window.app.runs.runs_folder() or Path.home()
        name, _ = QFileDialog.getOpenFileName(self.window, "Open a tune, run or log",
                                              str(start), OPEN_ANY_FILTER)
        return bool(name) and self.open(Path(name))

    def _failed(self, message: str) -> bool:
        """A message box that does not stop the event loop (a smoke run's timer still fires)."""
        self.last_problem = message
        box = QMessageBox(QMessageBox.Icon.Warning, "DynoAI: cannot open the file", message,
                          parent=self.window)
        box.setObjectName("open_file_problem")
        box.open()
        return False
