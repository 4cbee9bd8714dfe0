#!/usr/bin/env bash
# `make test`: set everything up, then lint, run the whole suite offscreen, the 3D view's test
# under Xvfb (a real OpenGL context), and the non-UI suite again where Qt is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh gui
scripts/bootstrap.sh noqt

step() { printf '\n=== %s\n' "$*" >&2; }
# Each pytest run ends with its 15 slowest tests: the suite's time is a goal (about 20 min here).

step "ruff"
.venv/bin/ruff check dynoai_desktop tests scripts benchmarks installer

# Both suites run on two workers (pytest-xdist; one where the machine has one core), a test file
# to each: its module fixtures (the shop history, the autotune plan) are played once, and one
# worker's UI test waiting on a demo cell leaves the core to the other. Every test has its own
# settings and data folders (tests/conftest.py) and its own ports, and the tests wait on
# conditions, not the clock, so a second busy core costs time, not a pass.
XDIST=(--numprocesses auto --maxprocesses 2 --dist loadfile)

step "whole suite, Qt offscreen"
# pytest exits 5 when it collects nothing; set -e makes that (and any failure) fail the run.
QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest tests --durations=15 "${XDIST[@]}"

step "3D view under Xvfb (OpenGL from Mesa's llvmpipe; offscreen Qt has none)"
if command -v xvfb-run >/dev/null 2>&1; then
  QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24" \
    .venv/bin/python -m pytest tests/ui/test_table_3d.py
else
  echo "test: SKIPPED the 3D view under Xvfb: xvfb-run is not installed" \
       "(scripts/bootstrap.sh gui installs xvfb on Debian/Ubuntu)" >&2
fi

step "non-UI suite without Qt (.venv-noqt has no PySide6, pyqtgraph or pytest-qt)"
if .venv-noqt/bin/python -c 'import PySide6' 2>/dev/null; then
  echo "test: .venv-noqt unexpectedly has PySide6; delete it and re-run" >&2; exit 1
fi
.venv-noqt/bin/python -m pytest -p no:pytest-qt tests --ignore=tests/ui --durations=15 \
  "${XDIST[@]}"
