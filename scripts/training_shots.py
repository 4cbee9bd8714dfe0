"""Screenshot of the Training data dock for the docs: a generated shop history imported into a
fresh app (no catalog of its own, no devices), with the dataset's progress and its mix.

    .venv/bin/python -m dynoai_desktop simulate-shop --sessions 200 --seed 1 --jobs 2 \\
        --catalog /tmp/shop200 --export-dataset /tmp/shop200.json
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/training_shots.py \\
        /tmp/shop200.json docs/

Writes ``training_data_shop200.png`` (the dock, floated and widened as a tuner would to read
the mix).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication
from shot_window import run_for

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.storage.catalog import DATA_DIR_ENV
from dynoai_desktop.ui.gc_on_gui_thread import GuiThreadGarbageCollector
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.panels.table_3d import share_opengl_contexts
from dynoai_desktop.ui.theme import apply_theme


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: training_shots.py DATASET.json [OUT_DIR]", file=sys.stderr)
        return 2
    dataset, out = Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "docs")
    share_opengl_contexts()
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    collector = GuiThreadGarbageCollector()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            os.environ[DATA_DIR_ENV] = str(Path(scratch) / "data")
            dyno = DynoApp(Path(scratch) / "config")
            window = MainWindow(dyno)
            window.resize(1600, 1000)
            window.show()
            try:
                report = dyno.training.import_(dataset)
                print(f"imported {report}")
                dock = window.docks["training"]
                dock.raise_()
                dock.setFloating(True)
                dock.resize(900, 760)
                window.training.refresh()
                run_for(app, 1.5)
                dock.widget().grab().save(str(out / "training_data_shop200.png"))
            finally:
                window.close()
                dyno.close()
    finally:
        collector.stop()
    print(f"wrote {out / 'training_data_shop200.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
