"""The welcome screen's state, Qt-free: a fresh install has it due until the tuner is done with
it, and "Try the demo cell" restarts this copy as ``dynoai --demo``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.app.relaunch import demo_command, dynoai_command


def test_the_installed_bundle_restarts_itself_with_demo() -> None:
    # PyInstaller: sys.executable is the dynoai program, which takes the options itself.
    assert demo_command(frozen=True, executable="C:/Program Files/DynoAI/dynoai.exe") == [
        "C:/Program Files/DynoAI/dynoai.exe", "--demo"]


def test_a_copy_run_from_source_restarts_python_on_the_package() -> None:
    assert demo_command(frozen=False) == [sys.executable, "-m", "dynoai_desktop", "--demo"]


def test_the_config_dir_given_is_kept_and_made_absolute(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert demo_command(Path("cfg"), frozen=True, executable="/opt/dynoai/dynoai") == [
        "/opt/dynoai/dynoai", "--demo", "--config-dir", str(tmp_path / "cfg")]


def test_frozen_is_read_from_sys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert dynoai_command("--demo") == [sys.executable, "--demo"]
    monkeypatch.delattr(sys, "frozen")
    assert dynoai_command("--demo")[1:3] == ["-m", "dynoai_desktop"]


def test_a_fresh_install_has_the_welcome_due_and_says_where_things_live(
        tmp_path: Path, _isolated_config_dir: Path) -> None:
    app = DynoApp()
    try:
        first_run = app.first_run
        assert first_run.first_start and first_run.due
        assert first_run.data_dir == tmp_path / "data"  # DYNOAI_DATA_DIR (tests/conftest.py)
        assert first_run.settings_dir == _isolated_config_dir
        assert first_run.demo_command()[-1] == "--demo"  # no --config-dir: none was given
    finally:
        app.close()


def test_done_with_it_is_kept_and_written_only_when_it_changes(_isolated_config_dir: Path) -> None:
    app = DynoApp()
    try:
        app.first_run.finish(show_again=True)
        assert not (_isolated_config_dir / "settings.json").exists()  # nothing changed
        app.first_run.finish(show_again=False)
        assert not app.first_run.due
        assert json.loads((_isolated_config_dir / "settings.json").read_text())["welcome_done"]
    finally:
        app.close()
    again = DynoApp()
    try:
        assert not again.first_run.first_start and not again.first_run.due
    finally:
        again.close()


def test_a_config_dir_given_goes_to_the_demo_too(tmp_path: Path) -> None:
    app = DynoApp(tmp_path / "elsewhere")
    try:
        assert app.first_run.settings_dir == tmp_path / "elsewhere"
        assert app.first_run.demo_command()[-3:] == [
            "--demo", "--config-dir", str(tmp_path / "elsewhere")]
    finally:
        app.close()
