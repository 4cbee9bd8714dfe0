"""Qt test set-up: offscreen; fail on Qt warnings (pyproject.toml) and on leaked QThreads."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QThread  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _garbage_collected_on_the_gui_thread() -> Iterator[None]:
    """As in the app (ui/gc_on_gui_thread.py): no automatic collection, which could free a
    widget on a reader's or the virtual cell's thread and hang; each test ends with one here."""
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    yield
    gc.collect()  # on the GUI thread, after pytest-qt closed the test's widgets


@pytest.fixture(autouse=True)
def _no_leaked_qthreads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test that leaves a QThread running (napari's _dangling_qthreads, simplified)."""
    started: list[QThread] = []
    original_start = QThread.start

    def recording_start(self: QThread, *args: object) -> None:
        started.append(self)
        original_start(self, *args)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    running = [t for t in started if t.isRunning() and not t.wait(2000)]
    if running:
        pytest.fail(f"test left {len(running)} QThread(s) running: {running}")


@pytest.fixture
def make_window(qtbot):  # noqa: ANN001, ANN201
    """``make_window(demo=None, banner="", units=None)``: the main window on a fresh DynoApp
    (settings and catalog in the test's own folders); closed, with its app, after the test."""
    from dynoai_desktop.app.application import DemoStart, DynoApp
    from dynoai_desktop.core.display import DisplayUnits
    from dynoai_desktop.ui.main_window import MainWindow

    made: list[tuple[MainWindow, DynoApp]] = []

    def make(demo: DemoStart | None = None, banner: str = "",
             units: DisplayUnits | None = None) -> MainWindow:
        app = DynoApp(demo=demo)
        if units is not None:
            app.settings.update(units=units)
        if banner:
            app.banner = banner
        window = MainWindow(app)
        qtbot.addWidget(window)
        made.append((window, app))
        return window

    yield make
    for window, app in made:
        window.close()
        app.close()


@pytest.fixture
def window(qtbot, make_window):  # noqa: ANN001, ANN201
    """The main window on a fresh DynoApp (a first start: the test's own settings and data
    folders), shown."""
    shown = make_window()
    shown.show()
    qtbot.waitExposed(shown)
    return shown
