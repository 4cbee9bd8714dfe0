"""Screenshot of the Coverage dock mid-session for the docs: regions, gaps, the planner's list
and a planned test running on the demo dyno.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/coverage_shots.py docs/

Runs the demo cell at 5x: a session for a vehicle, then the planner's top suggestion (on an
empty table, a sweep block over every priority-1 column) run on the dyno through its host
commands and recorded; the shot is taken 16 s into it, the live layer filling the regions
(about half a minute).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication
from shot_window import demo_window, run_for

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.demo import DemoCell

RATE = 5.0
SHOT_AFTER_S = 16.0  # into the first test (a sweep block of about 26 s), on the cell's clock


def _widebands_up(dyno: DynoApp) -> bool:
    return any(s.state == "streaming" and s.role == "wideband" for s in dyno.live.statuses())


def _run_top(app: QApplication, dyno: DynoApp, session: int, name: str,
             stop_after_s: float | None = None) -> None:
    """Record a run while the dyno runs the planner's top suggestion (to its end, or for
    ``stop_after_s`` of the cell's clock, still recording)."""
    coverage, live = dyno.coverage, dyno.live
    view = coverage.view()
    if view is None or not view.plan.suggestions:
        raise SystemExit("coverage_shots: the planner has nothing to suggest")
    live.start_recording(session, name)
    driver = coverage.run_suggestion(view.plan.suggestions[0])
    start = live.now_s()
    while not driver.finished:
        run_for(app, 0.1)
        if stop_after_s is not None and live.now_s() - start >= stop_after_s:
            return
        if live.now_s() - start > 120.0:
            raise SystemExit(f"coverage_shots: {driver.spec.name} did not finish")
    live.stop_recording()
    run_for(app, 0.5)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    with DemoCell(rate_multiplier=RATE) as demo, demo_window(demo) as (app, dyno, window):
        for _ in range(200):
            if _widebands_up(dyno):
                break
            run_for(app, 0.1)
        customer = dyno.runs.add_customer("Demo shop")
        vehicle = dyno.runs.add_vehicle(customer, "2014 Street Glide (demo)",
                                        BuildSpec.stock("twin_cam_103"))
        session = dyno.runs.start_session(vehicle)
        dock = window.docks["coverage"]
        dock.raise_()
        # Floated and widened, as a tuner would for a planning session: the list beside the map.
        dock.setFloating(True)
        dock.resize(1100, 680)
        _run_top(app, dyno, session, "planned 1", stop_after_s=SHOT_AFTER_S)
        run_for(app, 1.0)
        dock.widget().grab().save(str(out / "coverage_mid_session.png"))
        window.grab().save(str(out / "coverage_main_window.png"))
        dyno.coverage.stop_driver()
        dyno.live.stop_recording()
    print(f"wrote {out / 'coverage_mid_session.png'} and {out / 'coverage_main_window.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
