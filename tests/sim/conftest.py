"""Running the simulator the way a user does (``dynoai simulate``), in-process for speed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dynoai_desktop.cli import main
from tests.sim.log_analysis import read_log, read_truth

SimRun = Callable[..., tuple[dict[str, list[float]], dict]]


@pytest.fixture
def simulate_log(tmp_path: Path) -> SimRun:
    """``simulate_log(*args, plan=...)`` runs log mode and returns (log columns, truth)."""
    counter = iter(range(1000))

    def run(*args: str, plan: dict | str = "default") -> tuple[dict[str, list[float]], dict]:
        n = next(counter)
        if isinstance(plan, dict):
            plan_file = tmp_path / f"plan{n}.json"
            plan_file.write_text(json.dumps(plan), encoding="utf-8")
            plan = str(plan_file)
        log, truth = tmp_path / f"run{n}.csv", tmp_path / f"truth{n}.json"
        code = main(["simulate", "--plan", plan, "--log", str(log), "--truth", str(truth),
                     "--sensor-errors-per-h", "0", *args])
        assert code == 0
        return read_log(log), read_truth(truth)

    return run
