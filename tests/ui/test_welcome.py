"""The welcome screen of a fresh install: shown once, over the window, never blocking; each of
its three choices does what it says; Help ▸ Getting started brings it back."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

import dynoai_desktop
from dynoai_desktop.app.application import DemoStart
from dynoai_desktop.storage.resources import RESOURCES_DIR
from dynoai_desktop.ui import file_opener
from dynoai_desktop.ui.launch import GuiOptions, show_welcome_if_due
from dynoai_desktop.ui.welcome import TITLE, WelcomeDialog, start_detached


def _welcome(qtbot, window) -> WelcomeDialog:  # noqa: ANN001
    assert show_welcome_if_due(window, GuiOptions())
    dialog = window.welcome
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def _settings_file(config_dir: Path) -> dict:
    return json.loads((config_dir / "settings.json").read_text())


def test_a_first_start_shows_the_welcome_screen_over_the_window(
        qtbot, window) -> None:  # noqa: ANN001
    assert window.app.first_run.first_start
    dialog = _welcome(qtbot, window)
    assert dialog.isVisible() and not dialog.isModal()
    assert dialog.windowTitle() == TITLE == "Welcome to DynoAI Desktop"
    assert [b.text() for b in (dialog.demo_button, dialog.connect_button, dialog.open_button)] \
        == ["Try the demo cell", "Connect the dyno and widebands", "Open a tune or log…"]
    assert dialog.dont_show.isChecked()  # leaving it once is enough: it does not nag
    assert dialog.data_line.text() == str(window.app.first_run.data_dir)
    assert dialog.settings_line.text() == str(window.app.first_run.settings_dir)
    assert dialog.data_line.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse


def test_closing_it_ticked_means_the_next_start_has_none(
        qtbot, window, make_window, _isolated_config_dir: Path) -> None:  # noqa: ANN001
    close = _welcome(qtbot, window).findChild(QPushButton, "welcome_close")
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not window.welcome.isVisible()
    assert _settings_file(_isolated_config_dir)["welcome_done"] is True
    second = make_window()
    assert not second.app.first_run.first_start
    assert not show_welcome_if_due(second, GuiOptions())
    assert second.welcome is None


def test_closing_it_unticked_shows_it_at_the_next_start_too(
        qtbot, window, make_window) -> None:  # noqa: ANN001
    dialog = _welcome(qtbot, window)
    dialog.dont_show.setChecked(False)
    dialog.reject()  # Escape or the title bar's close
    assert show_welcome_if_due(make_window(), GuiOptions())


@pytest.mark.parametrize("chose", ["demo", "file"])
def test_it_is_not_shown_when_the_command_line_already_chose(
        window, chose: str) -> None:  # noqa: ANN001
    options = (GuiOptions(demo=DemoStart(ports=(), banner="")) if chose == "demo"
               else GuiOptions(open_path=RESOURCES_DIR / "tables" / "ve_front_map.csv"))
    assert window.app.first_run.due  # a first start, yet the tuner came for the demo or file
    assert not show_welcome_if_due(window, options)
    assert window.welcome is None


def test_an_earlier_versions_settings_file_does_not_show_it(
        make_window, _isolated_config_dir: Path) -> None:  # noqa: ANN001
    _isolated_config_dir.mkdir(parents=True)
    (_isolated_config_dir / "settings.json").write_text(json.dumps(
        {"schema_version": 1, "units": {"temperature": "C"}}))
    window = make_window()
    assert not window.app.first_run.first_start and not window.app.first_run.due
    assert not show_welcome_if_due(window, GuiOptions())


def test_try_the_demo_cell_starts_dynoai_demo_and_closes_this_window(
        qtbot, window, _isolated_config_dir: Path) -> None:  # noqa: ANN001
    dialog = _welcome(qtbot, window)
    started: list[list[str]] = []

    def launcher(argv: Sequence[str]) -> bool:
        started.append(list(argv))
        return True

    dialog.launcher = launcher
    qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
    assert started == [[sys.executable, "-m", "dynoai_desktop", "--demo"]]
    qtbot.waitUntil(lambda: not window.isVisible())
    assert not dialog.isVisible()
    assert _settings_file(_isolated_config_dir)["welcome_done"] is True


def test_a_demo_that_does_not_start_is_said_and_the_window_stays(
        qtbot, window) -> None:  # noqa: ANN001
    dialog = _welcome(qtbot, window)
    dialog.launcher = lambda _argv: False
    qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
    assert window.isVisible() and dialog.isVisible()
    assert dialog.problem.isVisible()
    assert "dynoai --demo" in dialog.problem.text()


def test_connect_puts_the_cursor_in_the_dyno_port_on_the_live_page(
        qtbot, window) -> None:  # noqa: ANN001
    window.live_dock.show_review()
    window.docks["live"].hide()
    dialog = _welcome(qtbot, window)
    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert window.docks["live"].isVisible() and not window.live_dock.reviewing
    [dyno] = [row for row in window.device_bar.rows if row.role == "dyno"]
    qtbot.waitUntil(dyno.port.hasFocus)
    assert "/dev/ttyUSB0" in window.statusBar().currentMessage()


def test_open_a_tune_or_log_opens_the_file_dialog_and_the_tune(
        qtbot, window, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    table_csv = RESOURCES_DIR / "tables" / "ve_rear_map.csv"
    asked: list[str] = []

    def pick(_parent, caption: str, _start: str, _filters: str) -> tuple[str, str]:  # noqa: ANN001
        asked.append(caption)
        return str(table_csv), ""

    monkeypatch.setattr(file_opener.QFileDialog, "getOpenFileName", pick)
    dialog = _welcome(qtbot, window)
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert asked == ["Open a tune, run or log"]
    assert not dialog.isVisible()
    assert window.app.tune.table_names == ["VE (MAP based/Rear Cyl)"]


def test_help_getting_started_brings_it_back(qtbot, window) -> None:  # noqa: ANN001
    _welcome(qtbot, window).reject()
    assert not window.app.first_run.due
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert [a.text() for a in help_menu.actions()] == ["&Getting started…",
                                                       "&About DynoAI Desktop"]
    window.welcome_action.trigger()
    assert window.welcome.isVisible() and window.welcome.dont_show.isChecked()


def test_about_names_the_version_and_the_folders(qtbot, window) -> None:  # noqa: ANN001
    window.about_action.trigger()
    box = window.findChild(QMessageBox, "about")
    assert box is not None and box.isVisible()
    assert dynoai_desktop.__version__ in box.text()
    assert str(window.app.first_run.data_dir) in box.informativeText()
    assert str(window.app.first_run.settings_dir) in box.informativeText()
    box.close()


def test_the_window_closing_takes_it_along_without_marking_it_done(
        qtbot, window, _isolated_config_dir: Path) -> None:  # noqa: ANN001
    dialog = _welcome(qtbot, window)
    window.close()  # a smoke run's end, or the tuner quitting with it open
    assert not dialog.isVisible()
    assert _settings_file(_isolated_config_dir)["welcome_done"] is False  # still due


def test_the_apps_launcher_starts_a_process_that_outlives_the_call(
        qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    ran = tmp_path / "ran"
    assert start_detached([sys.executable, "-c", f"open({str(ran)!r}, 'w').write('yes')"])
    qtbot.waitUntil(lambda: ran.exists() and ran.read_text() == "yes", timeout=30_000)
