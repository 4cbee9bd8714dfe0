"""Replaying a saved run: its rows reach the buffer in time order with the run's values as replay
time moves at the chosen speed, pause holds, a seek puts the charts' history back, the end
pauses, and no replay runs while a run records. Time is a hand-stepped wall clock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dynoai_desktop.app.replay import RunReplay
from dynoai_desktop.app.run_library import RunLibrary, RunView
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.run_files import Marker, RunMetadata, write_run
from tests.app.demo_app import demo_session, wait_for

RATE_HZ = 100
RUN_S = 60.0
CHANNELS = ("rpm", "map_kpa", "tps_pct", "afr_front", "afr_rear", "afr_target", "power_hp")


class WallClock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def _pull() -> pd.DataFrame:
    """60 s at 100 Hz: idle, then a WOT pull from 20 s (rpm up 150 a second), rear AFR
    missing for a second (a wideband dropout)."""
    t = np.arange(0, round(RUN_S * RATE_HZ)) / RATE_HZ
    ramp = np.clip(t - 20.0, 0.0, 25.0)
    afr_rear = 12.9 + 0.01 * np.sin(t)
    afr_rear[(t >= 30.0) & (t < 31.0)] = np.nan
    return pd.DataFrame({
        "time_s": t, "rpm": 1000.0 + 150.0 * ramp, "map_kpa": np.where(t >= 20, 98.0, 40.0),
        "tps_pct": np.where(t >= 20, 100.0, 3.0), "afr_front": 13.0 + 0.01 * np.cos(t),
        "afr_rear": afr_rear, "afr_target": np.full_like(t, 13.0), "power_hp": 0.02 * ramp * t,
    })


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    path = tmp_path / "pull.parquet"
    write_run(path, _pull(), RunMetadata("Pull 2", "2026-11-22T10:00:00",
                                         markers=(Marker(21.0, "WOT"),)))
    return path


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


def _replay(run_file: Path, clock: WallClock, history_s: float = 300.0) -> RunReplay:
    return RunReplay(RunLibrary(None).open_run(run_file), history_s=history_s,
                     wall_clock=clock)


def test_a_replay_starts_paused_on_the_runs_first_row(run_file, clock) -> None:
    replay = _replay(run_file, clock)
    assert not replay.playing and replay.speed == 1.0
    assert (replay.start_s, replay.end_s, replay.now_s()) == (0.0, 59.99, 0.0)
    assert len(replay.buffer) == 1 and replay.buffer.latest("rpm") == 1000.0
    assert replay.markers == (Marker(21.0, "WOT"),)
    assert replay.title.startswith("Pull 2")
    clock.now_s += 5.0
    assert replay.tick() == 0 and replay.now_s() == 0.0  # paused: time stands


def test_every_row_reaches_the_buffer_in_order_with_the_runs_values_at_20x(run_file,
                                                                          clock) -> None:
    run = _pull()
    replay = _replay(run_file, clock)
    replay.set_speed(20.0)
    replay.play()
    got: dict[str, list[np.ndarray]] = {c: [] for c in ("time_s", *CHANNELS)}
    seen = replay.buffer.window(None, CHANNELS)  # the first row, there from the start
    for c in got:
        got[c].append(seen[c])
    steps = iter([0.016, 0.017, 0.25, 0.001, 0.0, 0.5, 0.033] * 100)  # frames, a stall
    while replay.playing:
        step_s = next(steps)
        clock.now_s += step_s
        before = replay.now_s()
        replay.tick()
        assert replay.now_s() == pytest.approx(min(before + 20.0 * step_s, replay.end_s))
        new = replay.buffer.since(float(np.concatenate(got["time_s"])[-1]), CHANNELS)
        assert (new["time_s"] <= replay.now_s()).all()  # nothing from replay time ahead
        for c in got:
            got[c].append(new[c])
    times = np.concatenate(got["time_s"])
    assert np.array_equal(times, run["time_s"].to_numpy())  # every row, once, in order
    for channel in CHANNELS:
        assert np.array_equal(np.concatenate(got[channel]), run[channel].to_numpy(),
                              equal_nan=True), channel
    assert replay.at_end and replay.now_s() == replay.end_s


def test_replay_time_moves_by_wall_time_times_the_speed(run_file, clock) -> None:
    replay = _replay(run_file, clock)
    changes: list[bool] = []
    replay.state_changed.connect(lambda: changes.append(replay.playing))
    replay.play()
    clock.now_s += 2.0
    replay.tick()
    assert replay.now_s() == pytest.approx(2.0)
    assert replay.buffer.latest("time_s") == pytest.approx(2.0)
    clock.now_s += 1.0
    replay.set_speed(5.0)  # the second before ran at 1x
    clock.now_s += 1.0
    replay.tick()
    assert replay.now_s() == pytest.approx(3.0 + 5.0)
    assert changes == [True, True]  # played, sped up
    with pytest.raises(InputError, match="50x is out of range; use 1x to 20x"):
        replay.set_speed(50.0)
    assert replay.speed == 5.0


def test_pause_holds_replay_time_and_play_goes_on_from_there(run_file, clock) -> None:
    replay = _replay(run_file, clock)
    replay.play()
    clock.now_s += 3.0
    replay.pause()  # the time up to the pause counts
    assert replay.now_s() == pytest.approx(3.0) and not replay.playing
    rows = len(replay.buffer)
    clock.now_s += 100.0
    assert replay.tick() == 0
    assert replay.now_s() == pytest.approx(3.0) and len(replay.buffer) == rows
    replay.play()
    clock.now_s += 0.5
    replay.tick()
    assert replay.now_s() == pytest.approx(3.5)  # not 103.5: the pause did not count


def test_a_seek_puts_back_the_history_before_that_time(run_file, clock) -> None:
    replay = _replay(run_file, clock, history_s=10.0)
    seeks: list[float] = []
    replay.seeked.connect(seeks.append)
    replay.play()
    clock.now_s += 50.0
    replay.tick()
    replay.seek(25.0)  # back, into the pull
    rows = replay.buffer.window(None, ("rpm",))
    assert rows["time_s"][0] == pytest.approx(15.0) and rows["time_s"][-1] == pytest.approx(25.0)
    assert rows["time_s"].size == 1001  # 15.00 .. 25.00 s at 100 Hz: the chart's history
    assert replay.buffer.latest("rpm") == pytest.approx(1000.0 + 150.0 * 5.0)
    assert replay.playing and seeks == [25.0]
    clock.now_s += 1.0  # plays on from the seek, not from where it was
    replay.tick()
    assert replay.buffer.latest("time_s") == pytest.approx(26.0)
    replay.seek(-4.0)  # kept within the run
    assert replay.now_s() == 0.0 and len(replay.buffer) == 1
    replay.seek(1e6)
    assert replay.now_s() == replay.end_s


def test_the_end_pauses_on_the_last_row_and_play_starts_again(run_file, clock) -> None:
    replay = _replay(run_file, clock)
    replay.set_speed(10.0)
    replay.play()
    clock.now_s += 30.0  # 300 s of a 60 s run
    replay.tick()
    assert not replay.playing and replay.at_end
    assert replay.buffer.latest("time_s") == pytest.approx(59.99)
    assert replay.buffer.latest("rpm") == pytest.approx(1000.0 + 150.0 * 25.0)
    replay.play()  # from the start again
    assert replay.playing and replay.now_s() == 0.0 and len(replay.buffer) == 1


def test_a_log_whose_time_goes_back_is_refused_with_its_name() -> None:
    frame = pd.DataFrame({"time_s": [0.0, 0.1, 0.05], "rpm": [1000.0, 1010.0, 1020.0]})
    with pytest.raises(InputError, match="street.csv: its time_s does not strictly increase"):
        RunReplay(RunView(frame, (), "street.csv"))
    with pytest.raises(InputError, match="no rows to replay"):
        RunReplay(RunView(frame.iloc[:0], (), "empty.csv"))


def test_no_replay_while_a_run_records_and_recording_ends_a_replay(run_file) -> None:
    with demo_session("Replay") as (app, session, _vehicle):
        stops: list[str] = []
        app.replay.stopped.connect(stops.append)
        replay = app.replay.start(run_file)
        assert app.replay.replay is replay
        app.live.start_recording(session, "after the replay")
        assert app.replay.replay is None  # the panels go back to the bike
        assert stops == ["Back to live: a run is recording, so the live panels show the bike."]
        with pytest.raises(InputError, match="A run is recording: stop it before replaying"):
            app.replay.start(run_file)
        assert app.replay.replay is None
        wait_for(lambda: app.live.buffer.version > 0, 10, "live rows")
        app.live.stop_recording()
        assert app.replay.start(run_file).title.startswith("Pull 2")
