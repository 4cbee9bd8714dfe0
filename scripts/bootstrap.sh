#!/usr/bin/env bash
# Set up everything DynoAI Desktop needs on a fresh Debian/Ubuntu machine, idempotently.
#
#   scripts/bootstrap.sh gui    system libraries for Qt + .venv with the app and its test tools
#   scripts/bootstrap.sh noqt   .venv-noqt: the app's Qt-free dependencies only (non-UI suite)
#   scripts/bootstrap.sh bundle .venv-bundle: the app's run-time dependencies and PyInstaller,
#                               nothing else (what the installer's frozen program is built from)
#
# Re-running is cheap: packages already installed are skipped, and a venv is rebuilt only when
# pyproject.toml changed since it was made.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-gui}
PYTHON=${PYTHON:-python3}

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# Libraries Qt needs offscreen and in a real X window, plus Xvfb for headless machines
# (shared PITFALLS.md: when libxcb-icccm4/keysyms1 are missing Qt blames xcb-cursor0).
SYSTEM_PACKAGES=(
  libglib2.0-0 libgl1 libegl1 libfontconfig1 libxkbcommon0 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
  libxcb-shape0 libxkbcommon-x11-0 libgl1-mesa-dri xvfb xauth
)

ensure_system_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    say "not a Debian-based system: install Qt's xcb libraries and Xvfb yourself (see README)"
    return 0
  fi
  local missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      say "missing system packages: ${missing[*]}"
      say "run as root: apt-get update && apt-get install -y ${missing[*]}"
      exit 2
    fi
  fi
  say "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

stamp_of() { sha256sum pyproject.toml | cut -d' ' -f1; }

make_venv() {  # make_venv DIR
  local dir=$1
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.bootstrap-stamp" 2>/dev/null)" = "$(stamp_of)" ]; then
    return 0
  fi
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    say "DynoAI Desktop needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1). Set PYTHON=..."
    exit 2
  }
  say "creating $dir (a few minutes the first time)"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip
}

case "$mode" in
  gui)
    ensure_system_packages
    make_venv .venv
    if [ "$(cat .venv/.bootstrap-stamp 2>/dev/null)" != "$(stamp_of)" ]; then
      .venv/bin/python -m pip install -q -e '.[test]'
      stamp_of > .venv/.bootstrap-stamp
    fi
    ;;
  noqt)
    make_venv .venv-noqt
    if [ "$(cat .venv-noqt/.bootstrap-stamp 2>/dev/null)" != "$(stamp_of)" ]; then
      # The same pinned ranges as pyproject.toml, minus everything that brings Qt or GL;
      # pytest-qt stays out too (it aborts pytest when no Qt binding is installed).
      mapfile -t deps < <(.venv-noqt/bin/python scripts/deps.py noqt)
      .venv-noqt/bin/python -m pip install -q "${deps[@]}"
      .venv-noqt/bin/python -m pip install -q --no-deps -e .
      stamp_of > .venv-noqt/.bootstrap-stamp
    fi
    ;;
  bundle)
    # strip (binutils) slims the bundle; the .deb's desktop entry and MIME types are checked
    # with desktop-file-validate and update-mime-database; the smoke checks need Qt's libraries.
    SYSTEM_PACKAGES+=(binutils desktop-file-utils shared-mime-info)
    ensure_system_packages
    make_venv .venv-bundle
    if [ "$(cat .venv-bundle/.bootstrap-stamp 2>/dev/null)" != "$(stamp_of)" ]; then
      # Not the app itself: PyInstaller takes dynoai_desktop from the checkout (installer/dynoai.spec).
      mapfile -t deps < <(.venv-bundle/bin/python scripts/deps.py bundle)
      .venv-bundle/bin/python -m pip install -q "${deps[@]}"
      stamp_of > .venv-bundle/.bootstrap-stamp
    fi
    ;;
  *) say "usage: scripts/bootstrap.sh gui|noqt|bundle"; exit 2 ;;
esac
