"""The benchmark scripts that need Qt (they import it or start the GUI) run in their short mode,
offscreen, and print their figures: tests/test_benchmarks_short.py runs the others, also where
Qt is not installed. A script that a test of its own already runs with ``--short`` (checking its
figures in detail) is not run twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_benchmarks_short import TIMEOUT_S, assert_printed_figures, run_short, scripts

HERE = Path(__file__).resolve().parent


def own_test(script: Path) -> Path | None:
    """A test in tests/ui, not this one, that runs ``script --short``."""
    for test in sorted(HERE.glob("test_*.py")):
        text = test.read_text(encoding="utf-8")
        if test.name != Path(__file__).name and script.name in text and '"--short"' in text:
            return test
    return None


@pytest.mark.timeout(TIMEOUT_S + 60)
@pytest.mark.parametrize("script", scripts(qt=True), ids=lambda p: p.name)
def test_the_qt_benchmark_runs_in_its_short_mode_offscreen_and_prints_its_figures(
    script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    test = own_test(script)
    if test is not None:
        pytest.skip(f"{script.name} --short is run by tests/ui/{test.name}")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert_printed_figures(script, run_short(script))
