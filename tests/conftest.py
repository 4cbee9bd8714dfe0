"""Fixtures for every test, Qt-free (the non-UI suite runs where Qt is not installed)."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.tune import Tune
from dynoai_desktop.storage.catalog import DATA_DIR_ENV, Catalog
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.settings import CONFIG_DIR_ENV

pytest_plugins = ["pytester"]  # tests/test_guards.py runs inner test sessions

THREAD_GRACE_S = 2.0
QT_INSTALLED = importlib.util.find_spec("PySide6") is not None
EVERY_SUITE_ENV = "DYNOAI_EVERY_SUITE"
"""Set to 1 to run the ``once_without_qt`` tests where Qt is installed too."""
PYTEST_QT_INI_OPTIONS = ("qt_api", "qt_log_level_fail", "qt_log_ignore")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # The Qt-free suite runs without pytest-qt (`-p no:pytest-qt`, or not installed); its ini
    # options in pyproject.toml must then not count as unknown (filterwarnings = error).
    if not pluginmanager.has_plugin("pytest-qt"):
        for name in PYTEST_QT_INI_OPTIONS:
            parser.addini(name, "pytest-qt option; unused when pytest-qt is not loaded")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the non-UI suite twice: with Qt installed, then where it is not. A long
    test of a Qt-free layer (marked ``once_without_qt``) runs only in the second, which also
    proves it needs no Qt; ``DYNOAI_EVERY_SUITE=1`` runs it in both."""
    if not QT_INSTALLED or os.environ.get(EVERY_SUITE_ENV) == "1":
        return
    skip = pytest.mark.skip(reason="a long Qt-free test: it runs in the suite without Qt "
                                   f"(scripts/test.sh); {EVERY_SUITE_ENV}=1 runs it here too")
    for item in items:
        if item.get_closest_marker("once_without_qt") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own settings and data directories: never the user's real ones."""
    config_dir = tmp_path / "config"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(config_dir))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    return config_dir


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running (a reader not stopped on close, say)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
    leaked = []
    for thread in set(threading.enumerate()) - before:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            leaked.append(thread.name)
    if leaked:
        pytest.fail(f"test left threads running: {sorted(leaked)}")


@pytest.fixture
def training_at_normal_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's training processes started in the test run at normal priority, not the lowest
    (tests/normal_priority.py says why)."""
    from dynoai_desktop.app import training_process  # noqa: PLC0415
    from tests import normal_priority  # noqa: PLC0415 - tests/test_guards.py copies this file

    monkeypatch.setattr(training_process, "_start", normal_priority.start)
    monkeypatch.setattr(training_process, "_lowest_priority", normal_priority.keep_priority)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    """A catalog of its own for the test, closed after it."""
    with Catalog(tmp_path / "catalog.sqlite") as opened:
        yield opened


@pytest.fixture
def session(catalog: Catalog) -> TuneSession:
    """A tune session over ``catalog`` showing the demo base map (not kept in it yet)."""
    tables, label = demo_base_tables()
    tune = TuneSession(catalog)
    tune.show(Tune({t.name: t for t in tables}), label)
    return tune

