"""The first-run screen (docs/first-run.md): three ways in for a tuner who has just installed
DynoAI (the demo cell, the real devices, a tune or log), where the data and settings live, and
Help ▸ About. Never modal: the event loop runs on while it shows (a smoke run exits on time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QProcess, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import dynoai_desktop
from dynoai_desktop.ui import theme

if TYPE_CHECKING:
    from dynoai_desktop.ui.main_window import MainWindow

Launcher = Callable[[Sequence[str]], bool]
"""Starts a program detached from this one (argv[0] is the program); False if it did not."""

TITLE = "Welcome to DynoAI Desktop"
OFFLINE_LINE = "Everything runs on this PC: nothing here needs a network connection."
CONNECT_HINT = ("Pick the dyno's port, then the widebands' (COM3 on Windows, /dev/ttyUSB0 on "
                "Linux), then Connect.")
CHOICE_STYLE = (
    f"QPushButton {{ text-align: left; padding: 9px 14px; font-size: 12pt; font-weight: bold;"
    f" color: {theme.TEXT}; background: #30353c; border: 1px solid #454c56;"
    f" border-radius: 5px; }}"
    f" QPushButton:hover {{ background: #373d45; border-color: {theme.ACCENT}; }}"
    f" QPushButton:focus {{ border-color: {theme.ACCENT}; }}"
    f" QPushButton:pressed {{ background: {theme.ACCENT}; }}"
)


def start_detached(argv: Sequence[str]) -> bool:
    """The launcher the app uses: a new process that outlives this one."""
    started, _pid = QProcess.startDetached(argv[0], list(argv[1:]))
    return bool(started)


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(f"color: {theme.MUTED};")
    return label


def _folders(data_dir: str, settings_dir: str) -> tuple[QGridLayout, QLabel, QLabel]:
    """Where the data and the settings live, the paths selectable (to paste into a file
    manager or a backup)."""
    grid = QGridLayout()
    grid.setHorizontalSpacing(12)
    grid.setVerticalSpacing(2)
    paths = []
    for line, (what, path, name) in enumerate((
            ("Runs, tunes, catalog", data_dir, "welcome_data_dir"),
            ("Settings", settings_dir, "welcome_settings_dir"))):
        grid.addWidget(_muted(what), line, 0)
        label = QLabel(path)
        label.setObjectName(name)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(label, line, 1)
        paths.append(label)
    grid.setColumnStretch(1, 1)
    return grid, paths[0], paths[1]


class WelcomeDialog(QDialog):
    """Try the demo cell, connect the dyno and widebands, or open a tune or log; each closes the
    screen and leaves "Don't show this again" (ticked unless the tuner unticks it) in the
    settings, as Close does. The main window closing only hides it."""

    def __init__(self, window: MainWindow, launcher: Launcher = start_detached) -> None:
        super().__init__(window)
        self.main_window = window
        self.first_run = window.app.first_run
        self.launcher = launcher
        self.setObjectName("welcome")
        self.setWindowTitle(TITLE)
        self.setModal(False)

        heading = QLabel(TITLE)
        heading.setStyleSheet("font-size: 17pt; font-weight: bold;")
        intro = QLabel("Log pulls with live AFR on both cylinders, get VE corrections front "
                       "and rear,\nand export the tables to your Power Vision. How do you want "
                       "to start?")

        self.demo_button = self._choice(
            "Try the demo cell", "demo",
            "DynoAI restarts on a virtual V-twin and dyno: pulls and tuning, no hardware to set "
            "up.")
        self.demo_button.clicked.connect(self.try_demo)
        self.connect_button = self._choice(
            "Connect the dyno and widebands", "connect",
            "On the Live page, pick each device's port (COM3, /dev/ttyUSB0, …), then Connect.")
        self.connect_button.clicked.connect(self.connect_devices)
        self.open_button = self._choice(
            "Open a tune or log…", "open",
            "A .pvv, .msq or Table CSV in the table editor; a WinPEP, RomRaider or MegaLog "
            "log in Review.")
        self.open_button.clicked.connect(self.open_file)
        self.problem = QLabel()
        self.problem.setObjectName("welcome_problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {theme.FAULT};")
        self.problem.hide()

        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setStyleSheet("color: #454c56;")
        folders, self.data_line, self.settings_line = _folders(
            str(self.first_run.data_dir), str(self.first_run.settings_dir))
        offline = _muted(OFFLINE_LINE)

        self.dont_show = QCheckBox("Don't show this again at start")
        self.dont_show.setChecked(True)
        self.dont_show.setToolTip("Help ▸ Getting started… opens it any time")
        close = QPushButton("Close")
        close.setObjectName("welcome_close")
        close.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.dont_show)
        bottom.addStretch(1)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(6)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addSpacing(10)
        for button in (self.demo_button, self.connect_button, self.open_button):
            layout.addWidget(button.parentWidget())
            layout.addSpacing(6)
        layout.addWidget(self.problem)
        layout.addWidget(rule)
        layout.addSpacing(4)
        layout.addLayout(folders)
        layout.addSpacing(4)
        layout.addWidget(offline)
        layout.addSpacing(8)
        layout.addLayout(bottom)
        self.setStyleSheet("QDialog#welcome { border: 1px solid #454c56; }")
        self.demo_button.setFocus()

    def _choice(self, text: str, name: str, line: str) -> QPushButton:
        """A big button with its one line under it (in a box the layout takes whole)."""
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(3)
        button = QPushButton(text, box)
        button.setObjectName(f"welcome_{name}")
        button.setStyleSheet(CHOICE_STYLE)
        button.setMinimumHeight(44)
        button.setAutoDefault(False)
        column.addWidget(button)
        under = _muted(line)
        under.setContentsMargins(15, 0, 0, 0)
        column.addWidget(under)
        return button

    # ------------------------------------------------------------------ the choices
    def try_demo(self) -> bool:
        """DynoAI again in demo mode, this copy closing; False (said here) if it did not start."""
        self._finish()
        argv = self.first_run.demo_command()
        if not self.launcher(argv):
            self.problem.setText(f"The demo did not start ({' '.join(argv)}). Start it with "
                                 "'dynoai --demo'.")
            self.problem.show()
            return False
        self.accept()
        self.main_window.close()
        return True

    def connect_devices(self) -> None:
        """The Live page, the cursor in the dyno's port box."""
        self._finish()
        self.accept()
        window = self.main_window
        window.docks["live"].show()
        window.docks["live"].raise_()
        window.live_dock.show_live()
        window.activateWindow()
        window.device_bar.focus_port("dyno")
        window.statusBar().showMessage(CONNECT_HINT, 30_000)

    def open_file(self) -> bool:
        """File ▸ Open…'s dialog; True when a tune, run or log was opened."""
        self._finish()
        self.accept()
        return self.main_window.opener.ask()

    def reject(self) -> None:  # Close, Escape, the title bar's close
        self._finish()
        super().reject()

    def _finish(self) -> None:
        self.first_run.finish(show_again=not self.dont_show.isChecked())

    def present(self) -> None:
        """Shown (again, the tick back on) or brought to the front when it is open."""
        if self.isVisible():
            self.raise_()  # (a window being shown comes to the front by itself)
        else:
            self.problem.hide()
            self.dont_show.setChecked(True)
            self.show()
        self.activateWindow()


def show_about(window: MainWindow) -> QMessageBox:
    """Help ▸ About DynoAI Desktop: the version and the folders (a box that does not block)."""
    first_run = window.app.first_run
    box = QMessageBox(QMessageBox.Icon.Information, "About DynoAI Desktop",
                      f"DynoAI Desktop {dynoai_desktop.__version__}", parent=window)
    box.setObjectName("about")
    box.setInformativeText(
        "Dyno tuning for Harley-Davidson V-twins: live logging, autotune, tables, run review.\n\n"
        f"Runs, tunes and the catalog: {first_run.data_dir}\n"
        f"Settings: {first_run.settings_dir}\n\n{OFFLINE_LINE}")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
