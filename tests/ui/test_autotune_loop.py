"""The autotune loop on the demo cell, through the window (issue 16): record a loop of the demo
plan (pulls, holds, a decel) with the live corrections filling in, apply them from the Autotune
panel in one step, send the tune to the virtual ECM, record the next loop: its AFR error over
the corrected cells is at most a quarter of the first's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.demo import DemoCell

SYNC_TIMEOUT_S = 300.0  # the analysis worker catching up on a loaded machine: a bound, not a goal
# Two loops and their catching up: the suite's 120 s stopped it on a loaded machine (84 s on CI)
pytestmark = pytest.mark.timeout(2 * (120 + SYNC_TIMEOUT_S) + 60)

LOOP_S = 150.0  # one loop of the demo's default plan, on the cell's clock


@pytest.fixture
def demo_window(qtbot, make_window):  # noqa: ANN001, ANN201
    with DemoCell(rate_multiplier=10.0) as demo:
        window = make_window(demo=demo.start())
        window.show()
        yield window, window.app
        window.close()


def _record_loop(qtbot, app, session: int, name: str):  # noqa: ANN001, ANN202
    live = app.live
    live.start_recording(session, name)
    start = live.now_s()
    qtbot.waitUntil(lambda: live.now_s() - start >= LOOP_S, timeout=120_000)
    live.stop_recording()
    assert live.analysis.sync(timeout_s=SYNC_TIMEOUT_S)
    outcome = app.autotune.live_outcome()
    assert outcome is not None
    return outcome


def _mean_abs_error(outcome, cells: dict[str, np.ndarray]) -> float:  # noqa: ANN001
    errors = [outcome.result.tables[key].afr_error[mask] for key, mask in cells.items()]
    joined = np.concatenate(errors)
    joined = joined[np.isfinite(joined)]
    assert joined.size > 10
    return float(np.mean(np.abs(joined)))


def test_pending_corrections_applied_and_sent_bring_the_next_loop_onto_target(
        qtbot, demo_window) -> None:  # noqa: ANN001
    window, app = demo_window
    panel = window.autotune
    assert panel.send_button.isVisibleTo(window) or not window.docks["autotune"].isVisible()
    qtbot.waitUntil(lambda: any(s.state == "streaming" and s.role == "wideband"
                                for s in app.live.statuses()), timeout=20_000)
    customer = app.runs.add_customer("Autotune loop")
    vehicle = app.runs.add_vehicle(customer, "bike", BuildSpec.stock("twin_cam_103"))
    session = app.runs.start_session(vehicle)

    # The demo bike's base map is far off (over 10 % in places): for this first pass the
    # tuner allows 25 % in the panel and in Preferences, and restarts the live corrections.
    panel.authority.setValue(25.0)
    app.settings.update(authority=replace(app.settings.current.authority,
                                          max_ve_change_pct_per_run=25.0))
    qtbot.mouseClick(panel.restart, Qt.MouseButton.LeftButton)
    assert app.live.analysis.sync(timeout_s=SYNC_TIMEOUT_S)

    first = _record_loop(qtbot, app, session, "loop 1")
    corrected = {k: t.mask.copy() for k, t in first.result.tables.items()}
    assert sum(int(m.sum()) for m in corrected.values()) > 20
    before = _mean_abs_error(first, corrected)

    # The pending corrections are over the editor's cells while the tuner looks.
    panel.source.setCurrentText("Live runs")
    panel.refresh(force=True)
    assert window.tables.view.model().layer is not None
    assert window.tables.view.model().layer.name == "autotune pending"

    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert app.tune.can_undo and "autotune overlay" in app.tune.undo_text
    newest = app.tune.history().versions[-1]  # the history says what, from which runs, how
    assert newest.made_by == "autotune" and "autotune, run " in newest.note
    assert "authority" in newest.note
    panel.send_button.click()

    second = _record_loop(qtbot, app, session, "loop 2")
    after = _mean_abs_error(second, corrected)
    print(f"mean |AFR error| over {sum(int(m.sum()) for m in corrected.values())} corrected "
          f"cells: loop 1 {before:.3f} AFR, loop 2 {after:.3f} AFR ({after / before:.2f}x)")
    assert after <= before / 4.0
