"""Peak decimation kept incrementally: every row binned once as it arrives, each bin its minimum
and maximum in the order they happened, a gap in the rows a gap in the line."""

from __future__ import annotations

import numpy as np

from dynoai_desktop.ui.panels.peak_bins import PeakBins, peak_decimate


def _rows(seconds: float = 30.0, rate_hz: float = 100.0, seed: int = 0
          ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = (np.arange(int(seconds * rate_hz)) + 0.5) / rate_hz  # clear of the bin edges
    y = np.column_stack((13.0 + rng.normal(0.0, 0.2, t.size), 2000.0 + 100.0 * t))
    return t, y


def _in_blocks(t: np.ndarray, y: np.ndarray, sizes: np.ndarray) -> tuple[PeakBins, np.ndarray,
                                                                           np.ndarray]:
    bins = PeakBins(2, bin_s=0.1, gap_s=0.5)
    xs, ys, start = [], [], 0
    for size in sizes:
        x_closed, y_closed = bins.add(t[start:start + size], y[start:start + size])
        xs.append(x_closed)
        ys.append(y_closed)
        start += size
    return bins, np.vstack(xs), np.vstack(ys)


def test_blocks_of_any_size_give_the_same_points_as_one_pass() -> None:
    t, y = _rows()
    whole, x1, y1 = _in_blocks(t, y, np.array([t.size]))
    sizes = np.random.default_rng(1).integers(1, 25, t.size)
    parts, x2, y2 = _in_blocks(t, y, sizes[np.cumsum(sizes) <= t.size].tolist() + [t.size])
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    for a, b in zip(whole.open_points(), parts.open_points(), strict=True):
        assert np.array_equal(a, b)


def test_each_bin_keeps_its_minimum_and_maximum_so_a_one_sample_spike_shows() -> None:
    t, y = _rows()
    y[1234, 0] = 19.5  # lean for one sample
    y[2345, 0] = 9.8  # rich for one sample
    _, x_closed, y_closed = _in_blocks(t, y, np.full(t.size // 7 + 1, 7))
    assert y_closed[:, 0].max() == 19.5 and y_closed[:, 0].min() == 9.8
    assert x_closed.shape[0] == 2 * (t.size // 10 - 1)  # two points per closed 0.1 s bin
    assert np.all(np.diff(x_closed[:, 1]) >= 0)  # in time order
    assert y_closed[:, 1].max() == y[-11, 1]  # a ramp stays a ramp: its max ends each bin


def test_a_gap_in_the_rows_breaks_the_line_and_an_empty_channel_is_empty() -> None:
    t, y = _rows(10.0)
    t[500:] += 3.0  # three seconds with no rows at all
    y[200:300, 0] = np.nan  # one channel empty for a second
    _, x_closed, y_closed = _in_blocks(t, y, np.full(100, 10))
    breaks = np.flatnonzero(np.isnan(y_closed[:, 1]))
    assert breaks.size == 1 and 5.0 < x_closed[breaks[0], 1] < 8.1
    assert np.isnan(y_closed[:, 0]).sum() == 1 + 2 * 10  # the gap, and ten empty bins


def test_rows_not_newer_than_the_last_are_ignored() -> None:
    bins = PeakBins(1, bin_s=0.1, gap_s=0.5)
    bins.add(np.array([1.0, 1.01]), np.array([[1.0], [2.0]]))
    bins.add(np.array([0.5, 1.01]), np.array([[99.0], [99.0]]))
    assert np.nanmax(bins.open_points()[1]) == 2.0


def test_the_one_shot_decimation_keeps_peaks_and_the_newest_sample() -> None:
    x = np.arange(20000) * 0.001
    y = np.full(20000, 13.0)
    y[12345] = 19.5
    dx, dy = peak_decimate(x, y, 1200)
    assert dx.size <= 1200 and dy.max() == 19.5 and dx[-1] == x[-1]
