"""The live ring buffer: block appends, wrap-around, a version counter, safe across threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.core.channels import LOG_COLUMNS


def _block(start: int, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    t = np.arange(start, start + n) / 100.0
    return t, {"rpm": 1000.0 + np.arange(start, start + n)}


def test_rows_come_back_oldest_first_after_wrapping() -> None:
    buf = SampleRingBuffer(["time_s", "rpm", "afr_front"], capacity=10)
    for start in range(0, 25, 5):
        buf.append_block(*_block(start, 5))
    data = buf.window()
    assert len(buf) == 10
    assert np.array_equal(data["rpm"], 1000.0 + np.arange(15, 25))
    assert np.all(np.isnan(data["afr_front"]))  # never sent: NaN, not zero
    assert buf.latest("rpm") == 1024.0


def test_version_moves_once_per_block_and_not_on_reads() -> None:
    buf = SampleRingBuffer(["rpm"], capacity=100)
    assert buf.version == 0
    buf.append_block(*_block(0, 7))
    buf.window()
    buf.latest("rpm")
    assert buf.version == 1


def test_window_keeps_only_the_last_seconds() -> None:
    buf = SampleRingBuffer(["rpm"], capacity=1000)
    buf.append_block(*_block(0, 500))  # 0.00 .. 4.99 s
    data = buf.window(seconds=1.0)
    assert data["time_s"][0] == pytest.approx(3.99)
    assert data["time_s"][-1] == pytest.approx(4.99)


def test_a_block_larger_than_the_buffer_keeps_its_newest_rows() -> None:
    buf = SampleRingBuffer(["rpm"], capacity=10)
    buf.append_block(*_block(0, 35))
    assert np.array_equal(buf.window()["rpm"], 1000.0 + np.arange(25, 35))


def test_an_unknown_channel_is_refused() -> None:
    buf = SampleRingBuffer(["rpm"], capacity=10)
    with pytest.raises(KeyError, match="afr_rear"):
        buf.append_block(np.array([0.0]), {"afr_rear": np.array([14.7])})


def test_readers_never_see_a_torn_block_while_a_thread_appends() -> None:
    buf = SampleRingBuffer(["rpm"], capacity=64)
    stop = threading.Event()

    def writer() -> None:
        start = 0
        while not stop.is_set() and start < 200_000:
            buf.append_block(*_block(start, 7))
            start += 7

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(2000):
            data = buf.window()
            # rows are consecutive samples: rpm - 1000 == time_s * 100 on every row
            assert np.allclose(data["rpm"] - 1000.0, np.round(data["time_s"] * 100.0))
            assert np.all(np.diff(data["time_s"]) > 0)
    finally:
        stop.set()
        thread.join()


def test_window_can_copy_just_the_channels_a_view_needs() -> None:
    buf = SampleRingBuffer(["rpm", "afr_front", "map_kpa"], capacity=100)
    buf.append_block(*_block(0, 50))
    data = buf.window(seconds=0.1, channels=["rpm"])
    assert list(data) == ["time_s", "rpm"]
    assert len(data["rpm"]) == 11


def test_rows_since_a_time_are_the_windows_newer_rows_after_the_buffer_wraps() -> None:
    small = SampleRingBuffer(LOG_COLUMNS, capacity=250)
    t = np.arange(1, 2001) / 100.0
    for start in range(0, t.size, 37):
        small.append_block(t[start:start + 37], {"rpm": t[start:start + 37] * 100.0})
        for since in (0.0, t[start] - 0.5, t[min(start + 36, t.size - 1)]):
            window = small.window(None, ["rpm"])
            newer = window["time_s"] > since
            got = small.since(since, ["rpm"])
            assert np.array_equal(got["time_s"], window["time_s"][newer])
            assert np.array_equal(got["rpm"], window["rpm"][newer])


def test_a_cleared_buffer_holds_nothing_and_takes_earlier_rows_again() -> None:
    buf = SampleRingBuffer(["rpm"], capacity=10)
    buf.append_block(*_block(20, 8))
    version = buf.version
    buf.clear()
    assert buf.version == version + 1  # pollers read again
    assert len(buf) == 0 and np.isnan(buf.latest("rpm"))
    assert buf.window()["time_s"].size == 0
    buf.append_block(*_block(0, 3))  # earlier than before: a replay seeking back
    assert np.array_equal(buf.window()["rpm"], 1000.0 + np.arange(3))
    assert np.array_equal(buf.since(0.0)["rpm"], [1001.0, 1002.0])
