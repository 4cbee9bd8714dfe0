"""Shop history generator: sessions per minute, and the time 200 sessions would take.

Runs what ``dynoai simulate-shop --sessions N --seed 1 --catalog TMP [--jobs J]`` runs (the shop's
bikes played on the virtual cell in worker processes, every session written into a fresh catalog
in a temporary folder) and prints the wall time, sessions per minute, the simulated minutes per
session, the seconds per session per worker, and the projected time for 200 sessions at this
rate (goal: 200 sessions in 30 minutes or less on this 2-core machine); and how close the
sessions' tuned maps came to each bike's true VE, and how many converged. The time depends on
the machine and what else runs on it; the benchmark asserts nothing.

    .venv/bin/python benchmarks/simulate_shop.py [--sessions N] [--jobs J] [--short]

``--short``: one session cut short (``SHORT_PROFILE``: what the test suite runs; it proves the
loop, its figures are not the goal's; tests/test_simulate_shop.py plays two in two workers).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.commands.shop_played import SHORT_PROFILE  # noqa: E402
from dynoai_desktop.commands.simulate_shop import simulate_shop  # noqa: E402
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP  # noqa: E402
from dynoai_desktop.sim.shop import (  # noqa: E402
    TUNED_ZONE,
    bike_true_ve,
    draw_shop,
    ve_error_pct,
)
from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog  # noqa: E402

GOAL_SESSIONS = 200
GOAL_MINUTES = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=GOAL_SESSIONS, metavar="N",
                        help=f"sessions to generate (default {GOAL_SESSIONS})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="J",
                        help="worker processes (default: the CPU count)")
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument("--short", action="store_true",
                        help="one session cut short (the test suite)")
    args = parser.parse_args()
    sessions = 1 if args.short else args.sessions
    with tempfile.TemporaryDirectory(prefix="simulate-shop-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        ids = simulate_shop(folder, sessions, args.seed, args.jobs,
                            profile=SHORT_PROFILE if args.short else None)
        wall = time.perf_counter() - start
        with Catalog(folder / CATALOG_FILE) as catalog:
            runs = [r for sid in ids for r in catalog.runs(sid)]
            sim_s = sum(r.duration_s or 0.0 for r in runs)
            rows = sum(r.rows or 0 for r in runs)
        size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
        tuned = tuning_quality(folder, ids, args.seed)
    workers = min(args.jobs, sessions)  # simulate_shop plays no more at once than it has
    per_minute = sessions / (wall / 60.0)
    projected = GOAL_SESSIONS / per_minute
    print(f"simulate-shop: {sessions} sessions with {workers} workers in {wall:.1f} s wall "
          f"({per_minute:.2f} sessions/min)")
    print(f"  {sim_s / 60.0 / sessions:.2f} simulated minutes per session (runs), "
          f"{rows / sessions:.0f} rows, {len(runs) / sessions:.1f} runs; catalog and run files "
          f"{size_mb / sessions:.2f} MB per session")
    print(f"  {wall * workers / sessions:.2f} s per session per worker; simulated "
          f"{sim_s / (wall * workers):.1f}x real time per worker")
    verdict = ("not judged: --short's sessions are cut short" if args.short
               else "met" if projected <= GOAL_MINUTES else "MISSED")
    print(f"  projected for {GOAL_SESSIONS} sessions: {projected:.1f} min "
          f"(goal <= {GOAL_MINUTES:.0f} min: {verdict})")
    medians, p90s, converged = tuned
    print(f"  tuned maps vs the bikes' true VE over {ZONE_TEXT} (front and rear): median error "
          f"{np.median(medians):.2f} % (worst session {np.max(medians):.2f} %), 90th percentile "
          f"{np.median(p90s):.2f} % (worst {np.max(p90s):.2f} %); converged "
          f"{converged}/{sessions} sessions")
    return 0


(RPM_LO, RPM_HI), (KPA_LO, KPA_HI) = TUNED_ZONE
ZONE_TEXT = f"{RPM_LO:g}-{RPM_HI:g} rpm x {KPA_LO:g}-{KPA_HI:g} kPa"


def tuning_quality(folder: Path, ids: list[int], seed: int) -> tuple[list[float], list[float],
                                                                     int]:
    """Per session and table: the median and 90th percentile of |tuned / true VE - 1| (%) over
    TUNED_ZONE; and how many sessions' autotune converged (their last round's note)."""
    bikes = draw_shop(seed, len(ids))
    medians, p90s, converged = [], [], 0
    with Catalog(folder / CATALOG_FILE) as catalog:
        for bike, sid in zip(bikes, ids, strict=True):
            tune_id = catalog.session(sid).tune_id
            versions = catalog.history(tune_id).versions if tune_id is not None else []
            if not versions:
                continue
            last = versions[-1].tune.tables
            for name, truth in zip((VE_FRONT_MAP, VE_REAR_MAP), bike_true_ve(bike), strict=True):
                error = ve_error_pct(last[name], truth)
                medians.append(float(np.median(error)))
                p90s.append(float(np.percentile(error, 90)))
            converged += any("converged" in v.note for v in versions)
    return medians, p90s, converged


if __name__ == "__main__":
    sys.exit(main())
