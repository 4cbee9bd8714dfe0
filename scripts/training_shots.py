"""Screenshots of the Training data dock for the docs: a dataset imported into a fresh app (no
catalog of its own, no devices), with the dataset's progress and its mix; or, with
``--flagged``, its sessions list with the ones the anomaly check flagged.

    .venv/bin/python -m dynoai_desktop simulate-shop --sessions 200 --seed 1 --jobs 2 \\
        --catalog /tmp/shop200 --export-dataset /tmp/shop200.json
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/training_shots.py \\
        /tmp/shop200.json docs/
    .venv/bin/python benchmarks/anomaly.py ... --write-dataset /tmp/anomaly.json
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/training_shots.py \\
        /tmp/anomaly.json docs/ --flagged

Writes ``training_data_shop200.png`` (the dock, floated and widened as a tuner would to read
the mix), or ``training_data_flagged.png`` (the dock scrolled to the sessions, a flagged row
selected so its reason shows in full).
"""

from __future__ import annotations

import sys
from pathlib import Path

from shot_window import app_window, run_for


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flagged = "--flagged" in sys.argv[1:]
    if not args:
        print("usage: training_shots.py DATASET.json [OUT_DIR] [--flagged]", file=sys.stderr)
        return 2
    dataset, out = Path(args[0]), Path(args[1] if len(args) > 1 else "docs")
    name = "training_data_flagged.png" if flagged else "training_data_shop200.png"
    with app_window() as (app, dyno, window):
        report = dyno.training.import_(dataset)
        print(f"imported {report}")
        dock = window.docks["training"]
        dock.raise_()
        dock.setFloating(True)
        dock.resize(1100 if flagged else 900, 760)
        panel = window.training
        panel.refresh()
        run_for(app, 1.5)
        if flagged:
            rows = [n for n, e in enumerate(panel._entries) if e.flags]
            print(f"{len(rows)} of {len(panel._entries)} flagged")
            table = panel.sessions
            table.scrollToItem(table.item(max(rows[0] - 1, 0), 0))
            table.selectRow(rows[0])
            panel.sessions.setFocus()
            run_for(app, 1.0)
        dock.widget().grab().save(str(out / name))
    print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
