"""Screenshot for the docs: a saved run replayed through the live panels, mid-pull.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/replay_shots.py docs/

Makes a run as the virtual cell logs it (its plan of three WOT pulls, through the same codecs and
row rule the app reads devices with), saves it as a run file with a marker where each pull opens
the throttle, then, in the app with no devices (a reviewer's desk), opens it in Review, presses
"Replay in Live", sets 5x, seeks to just before the second pull and shoots the window when the
pull passes 4000 rpm (throttle pinned, rpm rising). About 20 s.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from shot_window import app_window, run_for

from dynoai_desktop.core.tune import Tune
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.logmode import run_log
from dynoai_desktop.sim.plans import builtin_plan
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.run_files import Marker, RunMetadata, write_run

SPEED = 5.0
SHOT_RPM = 4000.0
LEAD_S = 6.0  # the seek lands this long (run time) before the pull opens the throttle
WOT_PCT = 90.0


def make_run(path: Path) -> tuple[float, float]:
    """Write the run file; (time_s where the second pull opens, where it passes SHOT_RPM)."""
    cell = VirtualCell(CellConfig(plan=builtin_plan("wot_pull"), loop_plan=False))
    columns = dict(run_log(cell, None).columns)
    columns["time_s"] = columns["time_s"] - columns["time_s"][0]  # a run starts at 0
    t, tps, rpm = columns["time_s"], columns["tps_pct"], columns["rpm"]
    wot = np.nan_to_num(tps) >= WOT_PCT
    opens = np.flatnonzero(wot[1:] & ~wot[:-1]) + 1
    if opens.size < 2:
        raise SystemExit("replay_shots: the plan made fewer than two WOT pulls")
    markers = tuple(Marker(float(t[i]), f"pull {n}: WOT") for n, i in enumerate(opens, 1))
    write_run(path, columns, RunMetadata("WOT pulls 2000-5800", "2026-11-22T10:14:05+01:00",
                                         markers=markers))
    second = int(opens[1])
    past = second + int(np.argmax(np.nan_to_num(rpm[second:]) >= SHOT_RPM))
    return float(t[second]), float(t[past])


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        run_file = Path(scratch) / "wot_pulls.parquet"
        opens_s, shot_s = make_run(run_file)
        with app_window() as (app, dyno, window):
            tables, label = demo_base_tables()
            # The label without the resources folder's path (the shot is the same anywhere).
            dyno.tune.show(Tune({t.name: t for t in tables}), label.rsplit(": ", 1)[0])
            window.live_dock.show_review()
            window.review.open_run(run_file)
            run_for(app, 0.3)
            window.review.replay_button.click()
            bar = window.replay_controller.bar
            bar.speed.setCurrentIndex(bar.speed.findData(SPEED))
            replay = dyno.replay.replay
            assert replay is not None
            replay.seek(opens_s - LEAD_S)
            while replay.now_s() < shot_s:
                run_for(app, 0.01)
            run_for(app, 0.05)  # the frame with the newest rows
            window.grab().save(str(out / "replay_mid_pull.png"))
    print(f"saved {out / 'replay_mid_pull.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
