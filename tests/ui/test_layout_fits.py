"""The window fits the dyno PC's screen (a 1280×800 laptop, a 1920×1080 monitor, a 4K one at
200 %) and never grows past it: a session starting, a long customer name, the protocol with the
longest name. Each screen is the offscreen platform's, set by a config file, in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("layout_child.py")


def _run_child(tmp_path: Path, width: int, height: int, dpr: int = 1) -> dict:
    screens = tmp_path / f"screens-{width}x{height}x{dpr}.json"
    # A screen of width x height logical pixels at dpr x (a 4K panel at 200 %: 96 x dpr dpi,
    # which Qt scales by dpr, as it does a real high-DPI screen).
    screens.write_text(json.dumps({"screens": [{
        "name": "dyno-pc", "x": 0, "y": 0, "width": width * dpr, "height": height * dpr,
        "logicalDpi": 96 * dpr, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screens}",
           "DYNOAI_CONFIG_DIR": str(tmp_path / "config"),
           "DYNOAI_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, str(CHILD)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("width", "height", "dpr"),
                         [(1280, 800, 1), (1920, 1080, 1), (1920, 1080, 2), (1366, 768, 1)])
def test_the_window_fits_the_screen_through_a_session(tmp_path: Path, width: int, height: int,
                                                      dpr: int) -> None:
    report = _run_child(tmp_path, width, height, dpr)
    assert report["dpr"] == dpr
    for step in report["steps"]:
        assert step["screen"] == [width, height], step
        assert step["on_screen"], step
        assert step["window"][0] <= width and step["window"][1] <= height, step
        assert step["problems"] == [], step
    first, last = report["steps"][0], report["steps"][-1]
    assert last["window"] == first["window"]  # nothing widened it


def test_a_layout_saved_on_a_big_screen_is_refitted_on_a_small_one(tmp_path: Path) -> None:
    big = _run_child(tmp_path, 1920, 1080)  # saves its layout in tmp_path/config on close
    small = _run_child(tmp_path, 1280, 800)
    assert big["steps"][0]["window"][0] > 1280
    opened = small["steps"][0]
    assert opened["on_screen"] and opened["window"][0] <= 1280 and opened["problems"] == []
