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

import sys
from pathlib import Path

from shot_window import app_window, run_for


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: training_shots.py DATASET.json [OUT_DIR]", file=sys.stderr)
        return 2
    dataset, out = Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "docs")
    with app_window() as (app, dyno, window):
        report = dyno.training.import_(dataset)
        print(f"imported {report}")
        dock = window.docks["training"]
        dock.raise_()
        dock.setFloating(True)
        dock.resize(900, 760)
        window.training.refresh()
        run_for(app, 1.5)
        dock.widget().grab().save(str(out / "training_data_shop200.png"))
    print(f"wrote {out / 'training_data_shop200.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
