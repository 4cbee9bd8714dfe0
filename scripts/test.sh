#!/usr/bin/env bash
# `make test`: set everything up, then run the whole suite offscreen, lint, the smoke run, and
# the non-UI suite again in an environment where Qt is not installed at all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh gui
scripts/bootstrap.sh noqt

step() { printf '\n=== %s\n' "$*" >&2; }

step "ruff"
.venv/bin/ruff check dynoai_desktop tests scripts benchmarks

step "whole suite, Qt offscreen"
# pytest exits 5 when it collects nothing; set -e makes that (and any failure) fail the run.
QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest tests

step "non-UI suite without Qt (.venv-noqt has no PySide6, pyqtgraph or pytest-qt)"
if .venv-noqt/bin/python -c 'import PySide6' 2>/dev/null; then
  echo "test: .venv-noqt unexpectedly has PySide6; delete it and re-run" >&2; exit 1
fi
.venv-noqt/bin/python -m pytest -p no:pytest-qt tests --ignore=tests/ui
