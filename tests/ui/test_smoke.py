"""`dynoai --smoke`: the installer's and CI's check that the app runs, as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMessageLogContext, QtMsgType

from dynoai_desktop.ui.launch import ProblemLog


def test_smoke_runs_five_seconds_offscreen_and_exits_0(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DYNOAI_CONFIG_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dynoai_desktop", "--smoke"],
        env=env, capture_output=True, text=True, timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert "dynoai --smoke: OK" in result.stderr
    repaints = int(result.stderr.split("s, ")[-1].split(" live repaints")[0])
    assert repaints >= 25  # the live panel kept repainting for the whole run
    assert (tmp_path / "settings.json").exists()  # the layout was saved on close
    # A fresh install: the welcome screen showed, did not block, and is still due for the tuner.
    assert "welcome screen shown" in result.stderr
    assert json.loads((tmp_path / "settings.json").read_text())["welcome_done"] is False


def test_smoke_on_a_file_it_cannot_open_fails_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "customer.pvv"
    broken.write_bytes(b"\x00garbage, not a Power Vision tune")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DYNOAI_CONFIG_DIR": str(tmp_path),
           "DYNOAI_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "dynoai_desktop", "--smoke", str(broken)],
        env=env, capture_output=True, text=True, timeout=90,
    )
    assert result.returncode == 1, result.stderr
    assert f"could not open {broken}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("kind", "message", "counts"),
    [
        (QtMsgType.QtWarningMsg, "QPainter::begin: Paint device returned engine == 0", True),
        (QtMsgType.QtCriticalMsg, "something broke", True),
        (QtMsgType.QtWarningMsg, "This plugin does not support propagateSizeHints()", False),
        (QtMsgType.QtDebugMsg, "a debug line", False),
    ],
)
def test_smoke_fails_on_qt_warnings_but_not_the_offscreen_plugins_harmless_one(
    kind: QtMsgType, message: str, counts: bool
) -> None:
    log = ProblemLog()
    log.qt_message(kind, QMessageLogContext(), message)
    assert bool(log.problems) == counts


def test_smoke_fails_on_an_uncaught_exception() -> None:
    log = ProblemLog()
    try:
        raise RuntimeError("slot blew up")
    except RuntimeError as exc:
        log.exception(type(exc), exc, exc.__traceback__)
    assert log.problems == ["exception: RuntimeError: slot blew up"]


def test_sigterm_closes_the_window_cleanly_and_saves_the_layout(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DYNOAI_CONFIG_DIR": str(tmp_path)}
    with subprocess.Popen(
        [sys.executable, "-m", "dynoai_desktop", "--demo"],
        env=env, stderr=subprocess.PIPE, text=True,
    ) as process:
        try:
            assert process.stderr is not None
            for line in process.stderr:  # wait until the window is up
                if "main window shown" in line:
                    break
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()
    assert (tmp_path / "settings.json").exists()
