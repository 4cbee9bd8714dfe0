"""Every benchmark script runs: each ``benchmarks/*.py`` with a ``__main__`` block is run in its
short mode (``--short``), and must exit 0 and print its figures. A new benchmark is found by
itself; one without ``--short`` fails here (argparse exits 2 on an unknown option).

No thresholds: the figures depend on the machine (a loaded 2-core CI box); the timeout only
catches a hang. Scripts that need Qt (they import it or start the GUI) run in
tests/ui/test_benchmarks_short_ui.py, since this file also runs where Qt is not installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
TIMEOUT_S = 600.0  # a hang fails; a slow machine does not
MAIN_GUARD = re.compile(r'^if __name__ == "__main__":', re.MULTILINE)
# A script needs Qt when it imports it or drives a Qt platform (starts the GUI app).
NEEDS_QT = re.compile(r"\bPySide6\b|\bpyqtgraph\b|\bdynoai_desktop\.ui\b|\bQT_QPA_PLATFORM\b")
FIGURE = re.compile(r"\d+\.\d+")
GOAL_LINES: dict[str, tuple[str, ...]] = {
    "base_ve_model.py": (r"^held-out MAE vs true VE .*\d+\.\d+ %.*: (PASS|MISS)\)$",
                         r"^closed loop vs true VE .*\d+\.\d+ %.*: (PASS|MISS)\)$",
                         r"^held-out 90 % interval coverage .*\d+\.\d+%.*: (PASS|MISS)\)"),
    "decel_overlay.py": (r"^decel pops cut on .*\d+\.\d+ %.*: (PASS|MISS)\)$",
                         r"^AFR error outside the closed-throttle cells .*\d+\.\d+ AFR.*: "
                         r"(PASS|MISS)\)$"),
    "heat_soak.py": (r"^heat-soak compensated corrections vs unsoaked: .*\d+\.\d+ VE points.*: "
                     r"(PASS|MISS)\)$",),
    "knock_advisor.py": (r"^knock-prone mask vs the truth's knock limit: precision \d+\.\d+, "
                         r"recall \d+\.\d+ .*: (PASS|MISS)\)$",
                         r"^advances proposed into knock: \d+ of \d+.*: (PASS|MISS)\)$"),
    "review_open.py": (r"^open to first paint, best of \d+ .*: \d+\.\d+ s "
                       r"\(goal <= 0\.3 s: (PASS|MISS)\)$",),
    "anomaly.py": (r"^faulty sessions flagged: \d+ of \d+ \(\d+\.\d+ %; .*: (PASS|MISS)\)$",
                   r"^sound sessions flagged: \d+ of \d+ \(\d+\.\d+ %; .*: (PASS|MISS)\)$"),
}
"""The lines a script's short mode must print beyond a figure: one per goal it measures, with
its verdict (checked in the same run, so a script is not run twice)."""


def benchmark_files() -> list[Path]:
    return sorted(BENCHMARKS.glob("*.py"))


def is_script(path: Path) -> bool:
    """A runnable benchmark (a ``__main__`` block), not a helper the scripts import."""
    return bool(MAIN_GUARD.search(path.read_text(encoding="utf-8")))


def needs_qt(path: Path) -> bool:
    return bool(NEEDS_QT.search(path.read_text(encoding="utf-8")))


def scripts(*, qt: bool) -> list[Path]:
    return [p for p in benchmark_files() if is_script(p) and needs_qt(p) == qt]


def run_short(script: Path) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/SCRIPT --short`` with this interpreter, from the repository (as the
    docs run it); settings and data go to the test's own folders (the autouse fixture's env)."""
    return subprocess.run([sys.executable, str(script), "--short"], cwd=BENCHMARKS.parent,
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def assert_printed_figures(script: Path, done: subprocess.CompletedProcess[str]) -> None:
    output = f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"{script.name} --short exited {done.returncode}\n{output}"
    assert done.stdout.strip(), f"{script.name} --short printed nothing\n{output}"
    assert FIGURE.search(done.stdout), f"{script.name} --short printed no figure\n{output}"
    for line in GOAL_LINES.get(script.name, ()):
        assert re.search(line, done.stdout, re.MULTILINE), (
            f"{script.name} --short printed no line like {line!r}\n{output}")


def test_the_benchmarks_are_found() -> None:
    names = {p.name for p in benchmark_files() if is_script(p)}
    assert {"sim_pulls.py", "decode_throughput.py", "live_panel_fps.py",
            "autotune_1m_rows.py"} <= names, names
    assert {p.name for p in scripts(qt=True)} >= {"live_panel_fps.py", "start_time.py"}


def test_a_benchmark_file_without_a_main_block_is_a_helper_the_scripts_import() -> None:
    """So a script that lost its ``__main__`` block is not silently left out."""
    sources = [p.read_text(encoding="utf-8") for p in benchmark_files() if is_script(p)]
    for helper in (p for p in benchmark_files() if not is_script(p)):
        imported = re.compile(rf"^\s*(from {helper.stem} import|import {helper.stem}\b)",
                              re.MULTILINE)
        assert any(imported.search(source) for source in sources), (
            f"benchmarks/{helper.name} has no 'if __name__ == \"__main__\":' block and no "
            "script imports it: give it one (and a --short option) or remove it")


@pytest.mark.once_without_qt  # which also proves the script needs no Qt
@pytest.mark.timeout(TIMEOUT_S + 60)
@pytest.mark.parametrize("script", scripts(qt=False), ids=lambda p: p.name)
def test_the_benchmark_runs_in_its_short_mode_and_prints_its_figures(script: Path) -> None:
    assert_printed_figures(script, run_short(script))
