"""Run library speed: how long the Review tab's run library takes to open on a big shop.

    .venv/bin/python benchmarks/run_library.py [--sessions 200] [--runs 15] [--short]

Builds a catalog of SESSIONS sessions (one customer and vehicle each) of RUNS runs each, every
run's peak power kept (as the app keeps it when it saves a run), then measures, best of 3:
``RunLibrary.tree()`` (the catalog's five queries), opening the run browser (a QTreeWidget,
offscreen), listing it again whole and after a run is saved (its session only). It also
measures listing one session whose runs were saved before the catalog kept peaks
(``runs_of_session`` reads their 12 s run files once and keeps the peaks). Goal (issue 22,
part 0): the library opens in <= 0.5 s with 200 sessions of 15 runs. A figure-printing script,
not a timed test: the machine is shared and noisy; ``--short`` (10 sessions) only checks the
script runs.
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
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from dynoai_desktop.app.run_library import RunLibrary  # noqa: E402
from dynoai_desktop.core.build_spec import BuildSpec  # noqa: E402
from dynoai_desktop.core.power import peak_power  # noqa: E402
from dynoai_desktop.core.weather import CELL_AIR  # noqa: E402
from dynoai_desktop.storage.catalog import Catalog  # noqa: E402
from dynoai_desktop.storage.run_files import Marker, RunMetadata, write_run  # noqa: E402
from dynoai_desktop.ui.panels.run_browser import RunBrowser  # noqa: E402

GOAL_OPEN_S = 0.5
RATE_HZ = 50.0


def pull(seconds: float = 12.0) -> dict[str, np.ndarray]:
    n = int(seconds * RATE_HZ)
    rpm = np.linspace(2000.0, 5500.0, n)
    return {"time_s": np.arange(n) / RATE_HZ, "rpm": rpm,
            "power_hp": 92.0 - 0.000006 * (rpm - 5000.0) ** 2}


def build(catalog: Catalog, sessions: int, runs: int) -> int:
    """The shop; returns its first session, whose runs have files but no peaks kept."""
    columns = pull()
    peak = peak_power(columns["power_hp"], columns["rpm"])
    spec = BuildSpec.stock("twin_cam_103")
    old_session = 0
    for s in range(sessions + 1):
        customer = catalog.add_customer(f"Customer {s:04d}")
        vehicle = catalog.add_vehicle(customer, "2014 Street Glide", spec)
        day = f"2026-{1 + s // 28 % 12:02d}-{1 + s % 28:02d}"
        session = catalog.start_session(vehicle, f"{day}T10:00:00")
        old = s == 0  # the session saved before peaks were kept (not the newest)
        peaks = {}
        for r in range(runs):
            started = f"{day}T10:{r * 3:02d}:00"
            name = f"pull {r + 1}"
            file = catalog.new_run_file(session, started, name)
            if old:
                write_run(catalog.data_dir / file, columns, RunMetadata(name, started))
            run_id = catalog.add_run(session, name, started, file, weather=CELL_AIR)
            catalog.finish_run(run_id, started, 12.0, 600, (Marker(3.0, "pop"),))
            peaks[run_id] = peak
        if old:
            old_session = session
        else:
            catalog.set_run_peaks(peaks)
    return old_session


def best_of(n: int, action) -> float:  # noqa: ANN001
    times = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args()
    sessions = 10 if args.short else args.sessions
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder, Catalog(Path(folder) / "catalog.sqlite") as cat:
        start = time.perf_counter()
        old_session = build(cat, sessions, args.runs)
        print(f"catalog of {sessions} sessions x {args.runs} runs (+1 saved before peaks) "
              f"built in {time.perf_counter() - start:.1f} s")
        library = RunLibrary(cat)
        tree_s = best_of(3, library.tree)
        browser = RunBrowser(library)
        refresh_s = best_of(3, browser.refresh)
        newest = cat.all_runs()[-1]
        saved_s = best_of(3, lambda: browser.show_saved(newest.session_id, newest.id))
        open_s = best_of(3, lambda: RunBrowser(library).deleteLater())
        app.processEvents()
        print(f"tree(): {tree_s:.3f} s  ({len(cat.all_runs())} runs)")
        print(f"run browser listed again whole: {refresh_s:.3f} s; after a run is saved (its "
              f"session listed again): {saved_s:.3f} s")
        verdict = "OK" if open_s <= GOAL_OPEN_S else "MISSED"
        print(f"run library opened (queries + tree widget): {open_s:.3f} s  "
              f"goal <= {GOAL_OPEN_S} s {verdict}")
        start = time.perf_counter()
        entries = library.runs_of_session(old_session)
        first_s = time.perf_counter() - start
        again_s = best_of(3, lambda: library.runs_of_session(old_session))
        known = sum(e.peak_known for e in entries)
        print(f"a session saved before peaks were kept: {first_s:.3f} s the first time "
              f"({known} of {len(entries)} run files read), {again_s:.3f} s after")
        browser.deleteLater()
        app.processEvents()
    return 0 if (args.short or open_s <= GOAL_OPEN_S) else 1


if __name__ == "__main__":
    sys.exit(main())
