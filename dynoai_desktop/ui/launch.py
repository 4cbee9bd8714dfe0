"""Start the GUI: Qt application, theme, the app's state (``app.DynoApp``), the main window, and
the smoke and screenshot drivers."""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

import dynoai_desktop
from dynoai_desktop.acquisition.acquisition import LIVE_RATE_HZ
from dynoai_desktop.app.application import DemoStart, DynoApp
from dynoai_desktop.storage.catalog.connection import default_data_dir
from dynoai_desktop.storage.settings import default_config_dir
from dynoai_desktop.ui.gc_on_gui_thread import GuiThreadGarbageCollector
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.panels.table_3d import NO_GL_PLATFORMS, share_opengl_contexts
from dynoai_desktop.ui.single_instance import InstanceServer, hand_off, server_name
from dynoai_desktop.ui.smoke import SweepFeeder
from dynoai_desktop.ui.theme import apply_theme

SMOKE_3D_AFTER_MS = 1000  # on a real screen the smoke run opens the 3D view (OpenGL, PyOpenGL)
# The offscreen platform always prints this one; it is harmless (shared PITFALLS.md).
HARMLESS_QT_WARNINGS = ("propagateSizeHints",)


@dataclass(frozen=True)
class GuiOptions:
    demo: DemoStart | None = None  # demo mode: the virtual cell's ports and banner
    smoke_seconds: float | None = None
    screenshot: Path | None = None
    screenshot_after_s: float = 1.5
    config_dir: Path | None = None
    open_path: Path | None = None  # `dynoai FILE`: a tune, run or log to show once open


@dataclass
class ProblemLog:
    """Qt warnings and uncaught exceptions seen while the GUI ran (they fail a smoke run)."""

    problems: list[str] = field(default_factory=list)

    def qt_message(self, kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
        if any(harmless in message for harmless in HARMLESS_QT_WARNINGS):
            return
        sys.stderr.write(f"qt: {message}\n")
        if kind in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg):
            return
        self.problems.append(f"Qt warning: {message}")

    def exception(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
        self.problems.append(f"exception: {kind.__name__}: {value}")


def seconds_since_start() -> float:
    """Seconds since this process started, interpreter start-up and every import included.

    On Linux from the kernel's start time of the process; elsewhere (or with no /proc) from
    ``dynoai_desktop.STARTED_MONOTONIC``, the first moment the app's own code ran.
    """
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/stat", "rb") as stat:
                # proc(5): field 22 is the start time in clock ticks after boot. The command
                # name (field 2) is in parentheses and may hold spaces: split after it.
                after_name = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            pass  # /proc not mounted (a sandbox): the portable figure below
        else:
            started_s = int(after_name[22 - 3]) / os.sysconf("SC_CLK_TCK")
            return time.clock_gettime(time.CLOCK_BOOTTIME) - started_s
    return time.monotonic() - dynoai_desktop.STARTED_MONOTONIC


def run_gui(options: GuiOptions) -> int:
    log = ProblemLog()
    previous_hook = sys.excepthook
    sys.excepthook = log.exception
    previous_handler = qInstallMessageHandler(log.qt_message)
    try:
        return _run(options, log)
    finally:
        qInstallMessageHandler(previous_handler)
        sys.excepthook = previous_hook


def _run(options: GuiOptions, log: ProblemLog) -> int:
    if QApplication.instance() is None:
        share_opengl_contexts()  # before the QApplication: a floated 3D view keeps its GL objects
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("DynoAI Desktop")
    app.setOrganizationName("DynoAI")
    apply_theme(app)

    name = server_name(options.config_dir or default_config_dir(), default_data_dir())
    # A smoke run or a screenshot is a window of its own, neither asking nor serving others.
    scripted = options.smoke_seconds is not None or options.screenshot is not None
    if not scripted and options.demo is None and hand_off(name, options.open_path):
        said = f"opened {options.open_path} in" if options.open_path else "brought forward"
        sys.stderr.write(f"dynoai: {said} the DynoAI window already running\n")
        return 0

    collector = GuiThreadGarbageCollector()  # before any thread starts
    dyno = DynoApp(options.config_dir, options.demo)
    try:
        for notice in dyno.notices:
            sys.stderr.write(f"dynoai: {notice}\n")
        window = MainWindow(dyno)
        if not scripted:
            InstanceServer(name, window)  # later starts hand their files to this window
        return _show(app, options, log, window)
    finally:
        dyno.close()
        collector.stop()


def show_welcome_if_due(window: MainWindow, options: GuiOptions) -> bool:
    """The welcome screen over the window on a fresh install (until the tuner is done with it),
    but not when the command line already chose: ``--demo`` or ``dynoai FILE``. Not modal: a
    smoke run's timer still closes the window (and the screen with it)."""
    if options.demo is not None or options.open_path is not None or not window.app.first_run.due:
        return False
    window.show_welcome()
    return True


def _show(app: QApplication, options: GuiOptions, log: ProblemLog, window: MainWindow) -> int:
    window.show()
    _close_on_interrupt(window)
    sys.stderr.write(f"dynoai: main window shown {seconds_since_start():.2f} s after start\n")
    if show_welcome_if_due(window, options):
        sys.stderr.write("dynoai: welcome screen shown (a fresh install)\n")
    if options.open_path is not None and not window.open_file(options.open_path):
        sys.stderr.write(f"dynoai: {window.opener.last_problem}\n")
        log.problems.append(f"could not open {options.open_path}")

    feeder = None
    if options.smoke_seconds is not None:
        if options.demo is None:
            # No devices: drive the live panel as a pull would, so the paint path runs at full
            # rate for the whole smoke run (it catches crashes such as PySide6 6.12's abort).
            feeder = SweepFeeder(window.live.buffer, rate_hz=LIVE_RATE_HZ)
            feeder.start()
        QTimer.singleShot(int(options.smoke_seconds * 1000), window.close)
        if QGuiApplication.platformName() not in NO_GL_PLATFORMS:  # a screen: try OpenGL too
            show_3d = window.tables.view3d_button
            QTimer.singleShot(SMOKE_3D_AFTER_MS, lambda: show_3d.setChecked(True))
    if options.screenshot is not None:
        QTimer.singleShot(int(options.screenshot_after_s * 1000),
                          lambda: _save_screenshot(window, options, log))

    app.exec()
    if feeder is not None:
        feeder.stop()
    if options.smoke_seconds is not None:
        repaints = window.live.repaints
        if repaints == 0 and not window.live_dock.reviewing:  # a file shown in Review hides it
            log.problems.append("the live panel never repainted")
        if log.problems:
            sys.stderr.write("dynoai --smoke: FAILED\n  " + "\n  ".join(log.problems) + "\n")
            return 1
        sys.stderr.write(
            f"dynoai --smoke: OK, {options.smoke_seconds:g} s, {repaints} live repaints"
            f"{_smoke_3d_said(window)}\n"
        )
    return 0


def _smoke_3d_said(window: MainWindow) -> str:
    """What became of the 3D view a smoke run opened on a real screen ("" offscreen)."""
    view = window.tables.view3d.view
    if view is None:
        return ""
    if view.available:
        return ", 3D view drawn"
    return f", 3D view not drawn: {view.message.text()}"


def _close_on_interrupt(window: MainWindow) -> None:
    """Ctrl+C or SIGTERM closes the window as the close button would (layout saved, exit 0)."""
    # Close from inside the event loop: a signal landing before app.exec() starts would
    # otherwise close the last window before the loop runs, and exec() would never return.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: QTimer.singleShot(0, window.close))
    # Python runs signal handlers only between bytecodes: a light timer lets it in while Qt waits.
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)


def _save_screenshot(window: MainWindow, options: GuiOptions, log: ProblemLog) -> None:
    assert options.screenshot is not None
    options.screenshot.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(options.screenshot)):
        log.problems.append(f"could not write {options.screenshot}")
    else:
        sys.stderr.write(f"dynoai: screenshot saved to {options.screenshot}\n")
    window.close()
