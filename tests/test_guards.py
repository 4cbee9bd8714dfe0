"""The suite fails loudly: a test that leaks a thread fails, even when its assertions pass."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8")


def test_a_test_that_leaves_a_thread_running_fails(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_leak="""
        import threading, time

        stop = threading.Event()

        def test_starts_a_reader_and_forgets_it():
            threading.Thread(target=stop.wait, args=(5,), name="forgotten-reader").start()

        def test_cleans_up_after_the_leak():
            stop.set()
        """
    )
    result = pytester.runpytest("-p", "no:pytest-qt", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test left threads running*forgotten-reader*"])


def test_a_thread_that_ends_in_time_is_not_a_leak(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_ok="""
        import threading, time

        def test_short_lived_worker():
            threading.Thread(target=time.sleep, args=(0.2,)).start()
        """
    )
    result = pytester.runpytest("-p", "no:pytest-qt", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
