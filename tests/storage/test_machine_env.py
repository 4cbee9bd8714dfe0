"""On Windows the data folder the installer set machine-wide is found even by a process started
before it was set. winreg exists only on Windows: a stand-in registry plays it here."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from dynoai_desktop.storage.catalog import DATA_DIR_ENV
from dynoai_desktop.storage.catalog.connection import default_data_dir
from dynoai_desktop.storage.machine_env import MACHINE_ENVIRONMENT_KEY, machine_variable


def stand_in_registry(values: dict[str, str]) -> types.ModuleType:
    """winreg's calls used here, over one HKLM key holding ``values``."""
    winreg = types.ModuleType("winreg")
    winreg.HKEY_LOCAL_MACHINE = object()

    class Key:
        def __init__(self, root: object, path: str) -> None:
            if root is not winreg.HKEY_LOCAL_MACHINE or path != MACHINE_ENVIRONMENT_KEY:
                raise FileNotFoundError(path)

        def __enter__(self) -> Key:
            return self

        def __exit__(self, *_exc: object) -> None:
            return None

    def query(_key: Key, name: str) -> tuple[str, int]:
        if name not in values:
            raise FileNotFoundError(name)
        return values[name], 2  # REG_EXPAND_SZ

    winreg.OpenKey = Key
    winreg.QueryValueEx = query
    return winreg


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def on(values: dict[str, str]) -> None:
        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.setitem(sys.modules, "winreg", stand_in_registry(values))
    return on


def test_the_machine_wide_data_folder_is_used_when_the_process_has_none(
    windows, monkeypatch: pytest.MonkeyPatch, tmp_path: Path  # noqa: ANN001
) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("PROGRAMDATA_TEST", str(tmp_path))
    windows({DATA_DIR_ENV: "$PROGRAMDATA_TEST/DynoAI"})
    assert default_data_dir() == tmp_path / "DynoAI"


def test_the_processs_own_variable_wins(windows, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "mine"))
    windows({DATA_DIR_ENV: str(tmp_path / "machine")})
    assert default_data_dir() == tmp_path / "mine"


def test_no_value_or_another_system_means_none(windows) -> None:  # noqa: ANN001
    assert machine_variable(DATA_DIR_ENV) is None or sys.platform == "win32"
    windows({})
    assert machine_variable(DATA_DIR_ENV) is None
