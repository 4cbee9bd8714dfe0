#!/usr/bin/env bash
# `make run`: set everything up (first time: system libraries, .venv) and open DynoAI Desktop
# in demo mode. Extra arguments go to `dynoai` (e.g. scripts/run.sh --smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh gui
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--demo)
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run: no display; starting under Xvfb (xvfb-run). Use QT_QPA_PLATFORM=offscreen to skip it." >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/dynoai "${args[@]}"
fi
exec .venv/bin/dynoai "${args[@]}"
