"""GUI tests fail loudly: on a Qt warning (but not the offscreen plugin's harmless one) and on
a QThread left running."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT_QT_OPTIONS = """
[pytest]
qt_api = pyside6
qt_log_level_fail = WARNING
qt_log_ignore = propagateSizeHints
"""


def _inner_session(pytester: pytest.Pytester, test_body: str) -> pytest.RunResult:
    pytester.makeini(PYPROJECT_QT_OPTIONS)
    pytester.makeconftest((ROOT / "tests" / "ui" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_inner=test_body)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider")


def test_a_qt_warning_fails_the_test(pytester: pytest.Pytester) -> None:
    result = _inner_session(
        pytester,
        """
        from PySide6.QtCore import qWarning

        def test_warns(qtbot):
            qWarning("QPainter::begin: Paint device returned engine == 0")

        def test_harmless(qtbot):
            qWarning("This plugin does not support propagateSizeHints()")
        """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*test_warns*"])


def test_a_qthread_left_running_fails_the_test(pytester: pytest.Pytester) -> None:
    result = _inner_session(
        pytester,
        """
        from PySide6.QtCore import QThread

        class Spinner(QThread):
            def run(self):
                self.msleep(4000)

        keep = []

        def test_starts_and_forgets(qtbot):
            thread = Spinner()
            keep.append(thread)
            thread.start()

        def test_after():
            keep[0].wait()
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*left 1 QThread(s) running*"])
