"""A screenshot of the first start for the docs: the main window at 1280x800 with the welcome
screen over it, as a tuner sees it right after installing.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/first_run_shots.py docs/

Writes ``first_run.png`` (the whole screen: the welcome screen is a window of its own). HOME is a
scratch folder and the DYNOAI_*/XDG_* overrides are cleared, so the folders the screen names are
the platform's own layout (``~/.local/share/DynoAI Desktop``), not the user's real ones.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.ui.gc_on_gui_thread import GuiThreadGarbageCollector
from dynoai_desktop.ui.launch import GuiOptions, show_welcome_if_due
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.theme import apply_theme

SETTLE_S = 1.5


def run_for(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["HOME"] = str(Path(scratch) / "tuner")
        for name in ("DYNOAI_DATA_DIR", "DYNOAI_CONFIG_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
            os.environ.pop(name, None)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("DynoAI Desktop")
        apply_theme(app)
        collector = GuiThreadGarbageCollector()
        dyno = DynoApp()
        try:
            window = MainWindow(dyno)
            window.show()
            if not show_welcome_if_due(window, GuiOptions()):
                print("the welcome screen is not due: not a first start", file=sys.stderr)
                return 1
            run_for(app, SETTLE_S)
            shot = QGuiApplication.primaryScreen().grabWindow(0)
            path = out / "first_run.png"
            if not shot.save(str(path)):
                print(f"could not write {path}", file=sys.stderr)
                return 1
            print(f"wrote {path} ({shot.width()}x{shot.height()})")
            window.close()
        finally:
            dyno.close()
            collector.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
