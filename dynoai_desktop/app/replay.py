"""Replaying a saved run through the live panels, so a reviewer sees what the tuner saw.

A :class:`RunReplay` owns a ring buffer of the same kind the live session fills
(``acquisition.live_buffer``) and feeds it the run's rows as replay time advances, at 1x to 20x,
with pause and seek. The live panels poll it exactly as they poll the live buffer: its
``buffer`` and its clock ``now_s`` (replay time, on the run's own clock: the run file's
``time_s``, seconds from the run's start) take the place of the live session's. No thread:
the UI's timer calls ``tick``, which reads an injected wall clock, so tests step time by hand.

:class:`ReplaySession` is the one replay the panels show, or none: refused while a run records
(the panels must then show the bike), ended when a recording starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dynoai_desktop.acquisition.acquisition import live_buffer
from dynoai_desktop.app.events import Event
from dynoai_desktop.app.live_session import LiveSession
from dynoai_desktop.app.run_library import RunLibrary, RunView
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.rows import TIME_CHANNEL

REPLAY_SPEEDS = (1.0, 2.0, 5.0, 10.0, 20.0)
MIN_SPEED, MAX_SPEED = REPLAY_SPEEDS[0], REPLAY_SPEEDS[-1]
HISTORY_S = 300.0
"""Rows before a seek's time put back in the buffer: the longest window the live charts show."""

WallClock = Callable[[], float]


class RunReplay:
    """One run played into ``buffer``: ``play``/``pause``, ``set_speed``, ``seek``; ``tick``
    (the UI's timer) moves replay time on by the wall time since the last tick times the speed
    and appends the rows up to it. Starts paused at the first row; pauses at the last."""

    def __init__(self, view: RunView, *, history_s: float = HISTORY_S,
                 wall_clock: WallClock = time.monotonic) -> None:
        frame = view.frame
        if TIME_CHANNEL not in frame.columns or len(frame) == 0:
            raise InputError(f"{view.title}: the run has no rows to replay")
        times = frame[TIME_CHANNEL].to_numpy(dtype=np.float64, na_value=np.nan)
        if not (np.isfinite(times).all() and (np.diff(times) > 0).all()):
            raise InputError(f"{view.title}: its time_s does not strictly increase, so it "
                             "cannot be replayed; open it in Review instead")
        self.title = view.title
        self.markers = view.markers
        self.history_s = float(history_s)
        self.wall_clock = wall_clock
        self.buffer = live_buffer()
        self._times = times
        self._values = {c: frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
                        for c in self.buffer.channels if c != TIME_CHANNEL and c in frame.columns}
        self.start_s, self.end_s = float(times[0]), float(times[-1])
        self.position_s = self.start_s
        self.speed = MIN_SPEED
        self.playing = False
        self._next_row = 0  # the first row not yet in the buffer
        self._wall_s = 0.0  # the wall clock at the last tick while playing
        self.state_changed = Event("replay played, paused, sped up or at the end")
        self.seeked = Event("replay seeked")  # (time_s): the buffer holds its history anew
        self._fill(self.start_s)

    # ------------------------------------------------------------------ state
    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def at_end(self) -> bool:
        return self.position_s >= self.end_s

    def now_s(self) -> float:
        """Replay time: the clock the panels read beside ``buffer`` (the run's time_s)."""
        return self.position_s

    def play(self) -> None:
        """Play from here (from the start again when at the end)."""
        if self.playing:
            return
        if self.at_end:
            self.seek(self.start_s)
        self.playing = True
        self._wall_s = self.wall_clock()
        self.state_changed.emit()

    def pause(self) -> None:
        """Stop at the current replay time (the rows up to it stay)."""
        if not self.playing:
            return
        self._advance()
        self.playing = False
        self.state_changed.emit()

    def set_speed(self, speed: float) -> None:
        """Replay seconds per wall second, 1 to 20; while playing, from this moment on."""
        speed = float(speed)
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise InputError(f"replay speed {speed:g}x is out of range; use {MIN_SPEED:g}x to "
                             f"{MAX_SPEED:g}x")
        if speed == self.speed:
            return
        if self.playing:
            self._advance()  # the time so far at the old speed
        self.speed = speed
        self.state_changed.emit()

    def seek(self, time_s: float) -> None:
        """Go to ``time_s`` (kept within the run): the buffer holds afresh the rows of the
        ``history_s`` before it, so the strip charts show what the tuner had on screen then."""
        self._fill(min(max(float(time_s), self.start_s), self.end_s))
        self._wall_s = self.wall_clock()
        self.seeked.emit(self.position_s)

    def tick(self) -> int:
        """Move replay time on (while playing) and append the rows it passed; how many.
        At the last row it pauses."""
        if not self.playing:
            return 0
        fed = self._advance()
        if self.at_end:
            self.playing = False
            self.state_changed.emit()
        return fed

    # ------------------------------------------------------------------ rows
    def _advance(self) -> int:
        now = self.wall_clock()
        elapsed_s = max(0.0, now - self._wall_s)
        self._wall_s = now
        return self._feed_to(min(self.position_s + elapsed_s * self.speed, self.end_s))

    def _feed_to(self, time_s: float) -> int:
        """Append the rows up to ``time_s`` not yet in the buffer, in one block."""
        first = self._next_row
        stop = int(np.searchsorted(self._times, time_s, side="right"))
        self.position_s = time_s
        if stop <= first:
            return 0
        self._append(first, stop)
        self._next_row = stop
        return stop - first

    def _fill(self, time_s: float) -> None:
        """The buffer anew: the rows of the history before ``time_s``, and ``time_s`` itself."""
        self.buffer.clear()
        first = int(np.searchsorted(self._times, time_s - self.history_s, side="left"))
        self._next_row = first
        self._feed_to(time_s)

    def _append(self, first: int, stop: int) -> None:
        part = slice(first, stop)
        self.buffer.append_block(self._times[part],
                                 {c: v[part] for c, v in self._values.items()})


class ReplaySession:
    """The replay the live panels show in place of the live bike, or none (``replay``).

    ``started(replay)`` and ``stopped(reason)`` tell the panels to switch; a run starting to
    record ends the replay (reason says so), and no replay starts while one records."""

    def __init__(self, runs: RunLibrary, live: LiveSession,
                 wall_clock: WallClock = time.monotonic) -> None:
        self.runs = runs
        self.live = live
        self.wall_clock = wall_clock
        self.replay: RunReplay | None = None
        self.started = Event("replay started")  # (RunReplay)
        self.stopped = Event("replay stopped: the live bike again")  # (reason: str)
        live.recording_changed.connect(self._recording_changed)

    def start(self, path: str | Path, history_s: float = HISTORY_S) -> RunReplay:
        """Replay the saved run at ``path`` (paused at its start) in place of any replay
        before; InputError while a run records, or when the file is not a run."""
        if self.live.recording:
            raise InputError("A run is recording: stop it before replaying a saved run (the "
                             "live panels show the bike while a run records).")
        replay = RunReplay(self.runs.open_run(path), history_s=history_s,
                           wall_clock=self.wall_clock)
        if self.replay is not None:
            self.stop()
        self.replay = replay
        self.started.emit(replay)
        return replay

    def stop(self, reason: str = "") -> None:
        """Back to the live bike (nothing when no replay runs)."""
        replay, self.replay = self.replay, None
        if replay is not None:
            replay.pause()
            self.stopped.emit(reason)

    def close(self) -> None:
        self.stop()
        self.live.recording_changed.disconnect(self._recording_changed)

    def _recording_changed(self, recording: bool) -> None:
        if recording and self.replay is not None:
            self.stop("Back to live: a run is recording, so the live panels show the bike.")
