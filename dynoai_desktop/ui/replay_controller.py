"""Switches the live panels between the live bike and a replayed run.

"Replay in Live" on the Review tab asks ``app.ReplaySession`` for a replay; while one runs, the
live panel (gauges, strip charts, peak bins, markers) and the table editor's live cursor read
the replay's buffer and clock instead of the live session's, the panel's banner says REPLAY
with the run's name, and the transport bar under it drives the replay. Back to live (or a run
starting to record) hands them the live buffer again. The devices keep streaming underneath:
only what the panels read changes.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer

from dynoai_desktop.app.replay import ReplaySession, RunReplay
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.live_logging import WINDOW_CHOICES_S
from dynoai_desktop.ui.panels.replay_bar import ReplayBar

if TYPE_CHECKING:
    from dynoai_desktop.ui.main_window import MainWindow

TICK_MS = 16  # replay time moves on (rows appended) about as often as the panel looks
REPLAY_BANNER_COLOUR = theme.ACCENT  # not the demo banner's amber


def replay_banner(replay: RunReplay) -> str:
    """What the live panel's banner says while it shows ``replay`` (rich text)."""
    if replay.at_end:
        state = "at the end"
    elif replay.playing:
        state = f"playing at {replay.speed:g}×"
    else:
        state = "paused"
    return (f"<b>REPLAY</b> ({state}) of {html.escape(replay.title)}: a saved run played back, "
            "not the live bike; <i>Back to live</i> returns to it.")


class ReplayController(QObject):
    """The Qt side of the replay session: the Review tab's request in, panel sources out."""

    def __init__(self, window: MainWindow, session: ReplaySession) -> None:
        super().__init__(window)
        self.window, self.session = window, session
        self.bar = ReplayBar()
        self.bar.hide()
        window.live_dock.add_under_live(self.bar)
        self.bar.back_requested.connect(self.back_to_live)
        window.review.replay_requested.connect(self.start)
        session.started.connect(self._started)
        session.stopped.connect(self._stopped)
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.replay: RunReplay | None = None

    def start(self, path: str | Path) -> bool:
        """Replay the saved run at ``path`` in the live panels, playing at 1x; False (and why,
        in the Review tab and the status bar) when it cannot."""
        try:
            replay = self.session.start(path, history_s=max(WINDOW_CHOICES_S))
        except InputError as exc:
            self.window.review.show_error(str(exc))
            self.window.statusBar().showMessage(str(exc))
            return False
        replay.play()
        return True

    def back_to_live(self) -> None:
        self.session.stop()

    def tick(self) -> None:
        if self.replay is not None:
            self.replay.tick()
            self.bar.refresh()

    def shutdown(self) -> None:
        """Stop ticking; the session's events no longer reach these widgets."""
        self.timer.stop()
        self.session.started.disconnect(self._started)
        self.session.stopped.disconnect(self._stopped)
        self._let_go()

    # ------------------------------------------------------------------ switching
    def _started(self, replay: RunReplay) -> None:
        self._let_go()
        self.replay = replay
        window = self.window
        window.live.set_source(replay.buffer, replay.now_s)
        for marker in replay.markers:
            window.live.add_marker(marker.time_s, marker.note)
        window.tables.set_live_source(replay.buffer, replay.now_s)
        replay.state_changed.connect(self._state_changed)
        replay.seeked.connect(self._seeked)
        self.bar.set_replay(replay)
        self.bar.show()
        window.docks["live"].show()
        window.docks["live"].raise_()
        window.live_dock.show_live()
        self._state_changed()
        self.timer.start()

    def _stopped(self, reason: str) -> None:
        self.timer.stop()
        self._let_go()
        self.bar.hide()
        window, live = self.window, self.window.app.live
        window.live.set_source(live.buffer, live.now_s, live.sensor_details)
        window.live.set_banner(window.app.banner)
        window.tables.set_live_source(live.buffer, live.now_s)
        if reason:
            window.statusBar().showMessage(reason)

    def _let_go(self) -> None:
        replay, self.replay = self.replay, None
        if replay is not None:
            replay.state_changed.disconnect(self._state_changed)
            replay.seeked.disconnect(self._seeked)
        self.bar.set_replay(None)

    def _state_changed(self) -> None:
        if self.replay is not None:
            self.window.live.set_banner(replay_banner(self.replay), REPLAY_BANNER_COLOUR)
            self.bar.refresh()

    def _seeked(self, _time_s: float) -> None:
        """The buffer holds the history before the new time: the table editor's trace starts
        afresh from it (the live panel sees the time go back or jump, and reads it again)."""
        if self.replay is not None:
            self.window.tables.set_live_source(self.replay.buffer, self.replay.now_s)
            self.bar.refresh()
