"""Start time: process start to the main window shown, for plain ``dynoai`` (no --demo).

    .venv/bin/python benchmarks/start_time.py [--launches 6] [--short] [--xvfb]

Goal: the warm median (every launch after the first) <= 1.0 s, measured from the process start.
Each launch runs ``.venv/bin/dynoai`` with a fresh, empty config and data folder
(``DYNOAI_CONFIG_DIR``, ``DYNOAI_DATA_DIR``), offscreen (or under Xvfb with ``--xvfb``), reads
its ``dynoai: main window shown X s after start`` line, then closes it with SIGTERM (a clean
close). Prints each launch (the app's own figure, and when the launcher saw the line, from the
spawn), the warm median against the goal, and the 10 imports that cost most (``-X importtime``).
``--short``: 2 launches (1 cold + 1 warm), for the test that the script runs.

A figure-printing script, not a timed test: this machine is shared and noisy. Exits 0 when the
figures were measured, 1 when a launch failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DYNOAI = ROOT / ".venv" / "bin" / "dynoai"
GOAL_WARM_MEDIAN_S = 1.0
SHOWN = re.compile(r"dynoai: main window shown (\d+(?:\.\d+)?) s after start")
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")
XVFB_SCREEN = "-screen 0 1600x1000x24"
TIMEOUT_S = 60.0


def gui_env(folder: Path, xvfb: bool) -> dict[str, str]:
    """The environment for one launch: its own empty settings and data, offscreen or on X."""
    (folder / "config").mkdir()
    (folder / "data").mkdir()
    env = {**os.environ, "DYNOAI_CONFIG_DIR": str(folder / "config"),
           "DYNOAI_DATA_DIR": str(folder / "data")}
    env["QT_QPA_PLATFORM"] = "xcb" if xvfb else "offscreen"
    return env


def launch(xvfb: bool) -> tuple[float, float]:
    """One start: (the app's 'main window shown' figure, seconds from spawn to reading it)."""
    with tempfile.TemporaryDirectory(prefix="dynoai-start-") as folder:
        env = gui_env(Path(folder), xvfb)
        spawned = time.monotonic()
        process = subprocess.Popen([str(DYNOAI)], env=env, stderr=subprocess.PIPE, text=True)
        hung = threading.Timer(TIMEOUT_S, process.kill)  # a window that never shows: give up
        hung.start()
        try:
            assert process.stderr is not None
            seen: list[str] = []
            for line in process.stderr:
                seen.append(line)
                match = SHOWN.search(line)
                if match:
                    seen_s = time.monotonic() - spawned
                    break
            else:
                raise RuntimeError(
                    f"{DYNOAI} exited ({process.wait(TIMEOUT_S)}) without showing the main "
                    "window:\n" + "".join(seen[-20:])
                )
            process.send_signal(signal.SIGTERM)
            code = process.wait(TIMEOUT_S)
            if code != 0:
                raise RuntimeError(f"{DYNOAI} exited {code} on SIGTERM (expected a clean close)")
        finally:
            hung.cancel()
            if process.poll() is None:
                process.kill()
                process.wait(TIMEOUT_S)
            if process.stderr is not None:
                process.stderr.close()
        return float(match.group(1)), seen_s


def top_imports(xvfb: bool, count: int = 10) -> list[tuple[int, int, str]]:
    """The imports with the largest cumulative time (us) in one GUI start, as (cumulative, self,
    indented name); a screenshot run, so the window shows and the process exits by itself."""
    with tempfile.TemporaryDirectory(prefix="dynoai-imports-") as folder:
        env = gui_env(Path(folder), xvfb)
        shot = Path(folder) / "window.png"
        result = subprocess.run(
            [str(DYNOAI.parent / "python"), "-X", "importtime", "-m", "dynoai_desktop",
             "--screenshot", str(shot), "--screenshot-after-s", "0.1"],
            env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
        )
    if result.returncode != 0:
        raise RuntimeError(f"the -X importtime run exited {result.returncode}:\n"
                           + result.stderr[-2000:])
    rows = []
    for line in result.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            self_us, cumulative_us = int(match.group(1)), int(match.group(2))
            depth = (len(match.group(3)) - 1) // 2
            rows.append((cumulative_us, self_us, "  " * depth + match.group(4)))
    rows.sort(key=lambda row: row[0], reverse=True)
    return rows[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=6, metavar="N",
                        help="launches: the first is cold, the rest warm (default 6)")
    parser.add_argument("--short", action="store_true", help="2 launches (1 cold + 1 warm)")
    parser.add_argument("--xvfb", action="store_true",
                        help="show the window on an Xvfb display instead of offscreen")
    parser.add_argument("--on-xvfb", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    launches = 2 if args.short else args.launches
    if launches < 2:
        parser.error("--launches must be at least 2 (one cold, one warm)")
    if not DYNOAI.exists():
        parser.error(f"{DYNOAI} is missing; set up the app with 'make run' first")
    if args.xvfb and not args.on_xvfb:
        xvfb_run = shutil.which("xvfb-run")
        if xvfb_run is None:
            parser.error("--xvfb needs xvfb-run (apt install xvfb)")
        # Run this script again under one Xvfb display, so SIGTERM reaches the app itself.
        os.execv(xvfb_run, [xvfb_run, "-a", "-s", XVFB_SCREEN, sys.executable,
                            str(Path(__file__).resolve()), *sys.argv[1:], "--on-xvfb"])
    xvfb = args.on_xvfb
    print(f"start time: {DYNOAI} (no --demo), {'Xvfb' if xvfb else 'offscreen'}, "
          f"{launches} launches, fresh config and data folders each")
    shown: list[float] = []
    try:
        for index in range(launches):
            app_s, seen_s = launch(xvfb)
            shown.append(app_s)
            kind = "cold" if index == 0 else "warm"
            print(f"launch {index + 1} ({kind}): main window shown {app_s:.2f} s after start "
                  f"(line read {seen_s:.2f} s after spawn)")
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"start time: launch {len(shown) + 1} failed: {exc}", file=sys.stderr)
        return 1
    warm = statistics.median(shown[1:])
    verdict = "OK" if warm <= GOAL_WARM_MEDIAN_S else "MISSED"
    warm_launches = f"{len(shown) - 1} launch{'es' if len(shown) > 2 else ''}"
    print(f"warm median {warm:.2f} s over {warm_launches}  "
          f"goal <= {GOAL_WARM_MEDIAN_S:g} s {verdict}")
    print("top 10 imports by cumulative time (ms, one -X importtime start):")
    try:
        rows = top_imports(xvfb)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"start time: the -X importtime run failed: {exc}", file=sys.stderr)
        return 1
    for cumulative_us, self_us, name in rows:
        print(f"  {cumulative_us / 1000:7.1f} cumulative {self_us / 1000:6.1f} self  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
