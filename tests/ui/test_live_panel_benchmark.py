"""benchmarks/live_panel_fps.py runs: its short mode (2 s at 1x, the virtual cell in its own
process, 10 minutes of history in the buffer) prints every figure. No thresholds here: the
figures depend on the machine; the script is for reading them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "live_panel_fps.py"


def test_the_live_panel_benchmark_prints_its_figures(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DYNOAI_CONFIG_DIR": str(tmp_path)}
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, str(SCRIPT), "--short"], env=env,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("platform offscreen") and "10 min of history" in lines[0]
    figures = lines[1]
    assert figures.startswith("x1 ") and "clean history" in figures
    for label in (r"([\d.]+) paints/s", r"([\d.]+) paint events", r"longest UI stall +([\d.]+) ms",
                  r"GUI thread CPU +([\d.]+) % of a core", r"latency p50 +([\d.]+) ms"):
        assert re.search(label, figures), (label, figures)
