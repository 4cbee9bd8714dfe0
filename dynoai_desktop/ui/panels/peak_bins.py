"""Peak decimation for strip charts: many seconds of 100-1000 Hz rows drawn at screen
resolution, with every one-sample spike kept (a lean spike must show, however short).

:class:`PeakBins` does it incrementally: rows are binned on a fixed time grid (so a bin, once
closed, never changes), each row exactly once as it arrives; each bin becomes its minimum and
its maximum, in the order they happened. Big blocks (the history, after a change of window)
are binned with numpy; the few rows of one frame in plain Python, which is cheaper than a
few dozen numpy calls on arrays that small (and gives the same points). The charts turn the
points into paths.
"""

from __future__ import annotations

import math

import numpy as np

Points = tuple[np.ndarray, np.ndarray]  # x and y, each (points, channels)
FEW_ROWS = 64  # blocks up to this many rows are binned in plain Python


class PeakBins:
    """Min/max-per-bin decimation of rows of ``n_channels`` columns, kept incrementally.

    ``add`` bins new rows (each strictly newer than every row before) and returns the points
    of the bins they closed; the bin still open (rows may yet join it) is ``open_points``.
    Where rows are more than ``gap_s`` apart (no data: every device quiet, a port lost) a NaN
    point breaks the line, so a gap is not drawn as a straight line across it.
    """

    def __init__(self, n_channels: int, bin_s: float, gap_s: float) -> None:
        self.n_channels = n_channels
        self.bin_s = float(bin_s)
        self.gap_s = max(float(gap_s), self.bin_s)  # a row after a gap always opens a bin
        self.newest_s = -math.inf  # time of the newest row added
        self._open: tuple[int, np.ndarray, np.ndarray, float, float, bool] | None = None
        self._before_open_s = -math.inf  # time of the last row before the open bin

    def add(self, time_s: np.ndarray, values: np.ndarray) -> Points:
        """Bin rows (``values`` is rows × channels); the points of the bins this closed."""
        t = np.asarray(time_s, dtype=float)
        y = np.asarray(values, dtype=float).reshape(t.size, self.n_channels)
        newer = t > self.newest_s
        if not newer.all():
            t, y = t[newer], y[newer]
        if t.size == 0:
            return _empty(self.n_channels)
        if t.size <= FEW_ROWS:
            return self._add_few(t.tolist(), y.tolist())
        bins = np.floor(t / self.bin_s).astype(np.int64)
        times = np.broadcast_to(t[:, None], y.shape)
        prev_s = self.newest_s
        if self._open is not None:  # its two points join the new rows: min/max of all of it
            open_bin, open_x, open_y, first_s, last_s, open_gap = self._open
            times = np.vstack((open_x, times))
            y = np.vstack((open_y, y))
            t = np.concatenate(((first_s, last_s), t))
            bins = np.concatenate(((open_bin, open_bin), bins))
            prev_s = self._before_open_s
        n = bins.size
        starts = np.concatenate(([0], np.flatnonzero(np.diff(bins)) + 1))
        ends = np.append(starts[1:], n)
        first_x, first_y, second_x, second_y = _min_max_in_order(times, y, starts, ends)
        first_s, last_s = t[starts], t[ends - 1]
        gap = first_s - np.concatenate(([prev_s], last_s[:-1])) > self.gap_s
        gap[0] &= math.isfinite(prev_s)  # nothing before the first row: no break
        if self._open is not None:
            gap[0] = self._open[5]
        self.newest_s = float(t[-1])
        self._before_open_s = float(last_s[-2]) if starts.size > 1 else prev_s
        self._open = (int(bins[-1]), np.vstack((first_x[-1], second_x[-1])),
                      np.vstack((first_y[-1], second_y[-1])), float(first_s[-1]),
                      float(last_s[-1]), bool(gap[-1]))
        closed = starts.size - 1
        if closed == 0:
            return _empty(self.n_channels)
        return _interleave(first_x[:closed], first_y[:closed], second_x[:closed],
                           second_y[:closed], first_s[:closed], gap[:closed])

    def _add_few(self, times: list[float], rows: list[list[float]]) -> Points:
        """``add`` for a few rows, in plain Python: the same points as the numpy path."""
        n, nan = self.n_channels, math.nan
        closed_x: list[list[float]] = []
        closed_y: list[list[float]] = []
        open_bin: int | None = None
        low: list[float] = []
        high: list[float] = []
        t_low: list[float] = []
        t_high: list[float] = []
        first_s, gap, prev_s = nan, False, self.newest_s
        if self._open is not None:  # the open bin as its lowest and highest value
            open_bin, open_x, open_y, first_s, prev_s, gap = self._open
            (x1, x2), (y1, y2) = open_x.tolist(), open_y.tolist()
            for k in range(n):
                first_low = not y1[k] > y2[k]  # NaN (an empty bin) or the earlier is lowest
                low.append(y1[k] if first_low else y2[k])
                high.append(y2[k] if first_low else y1[k])
                t_low.append(x1[k] if first_low else x2[k])
                t_high.append(x2[k] if first_low else x1[k])
        bin_s = self.bin_s
        for t, row in zip(times, rows, strict=True):
            b = math.floor(t / bin_s)
            if b != open_bin:
                if open_bin is not None:
                    _close_bin(closed_x, closed_y, first_s, gap, low, high, t_low, t_high)
                gap = math.isfinite(prev_s) and t - prev_s > self.gap_s
                self._before_open_s = prev_s
                open_bin, first_s = b, t
                low, high, t_low, t_high = [nan] * n, [nan] * n, [t] * n, [t] * n
            for k, value in enumerate(row):
                if value == value:  # not NaN
                    if not low[k] <= value:  # lower, or the first value
                        low[k], t_low[k] = value, t
                    if not high[k] >= value:
                        high[k], t_high[k] = value, t
            prev_s = t
        self.newest_s = prev_s
        point_x: list[list[float]] = []
        point_y: list[list[float]] = []
        _close_bin(point_x, point_y, first_s, False, low, high, t_low, t_high)
        assert open_bin is not None
        self._open = (open_bin, np.array(point_x), np.array(point_y), first_s, prev_s, gap)
        if not closed_x:
            return _empty(n)
        return np.array(closed_x), np.array(closed_y)

    def open_points(self) -> Points:
        """The bin still open: its min and max (a NaN break first after a gap)."""
        if self._open is None:
            return _empty(self.n_channels)
        _, x, y, first_s, _, gap = self._open
        if gap:
            return (np.vstack((np.full(self.n_channels, first_s), x)),
                    np.vstack((np.full(self.n_channels, np.nan), y)))
        return x, y


def _close_bin(out_x: list[list[float]], out_y: list[list[float]], first_s: float, gap: bool,
               low: list[float], high: list[float], t_low: list[float], t_high: list[float]
               ) -> None:
    """A bin's two points per channel, the earlier first (after a NaN break on a gap)."""
    n = len(low)
    if gap:
        out_x.append([first_s] * n)
        out_y.append([math.nan] * n)
    low_first = [t_low[k] <= t_high[k] for k in range(n)]
    out_x.append([t_low[k] if low_first[k] else t_high[k] for k in range(n)])
    out_y.append([low[k] if low_first[k] else high[k] for k in range(n)])
    out_x.append([t_high[k] if low_first[k] else t_low[k] for k in range(n)])
    out_y.append([high[k] if low_first[k] else low[k] for k in range(n)])


def _empty(n_channels: int) -> Points:
    return np.empty((0, n_channels)), np.empty((0, n_channels))


def _min_max_in_order(times: np.ndarray, y: np.ndarray, starts: np.ndarray, ends: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per bin and channel: the minimum and the maximum as two points, the earlier first
    (NaN-aware: an all-NaN bin gives NaN values at the bin's first row time)."""
    n = y.shape[0]
    low = np.fmin.reduceat(y, starts, axis=0)
    high = np.fmax.reduceat(y, starts, axis=0)
    seg = np.repeat(np.arange(starts.size), ends - starts)
    row = np.arange(n)[:, None]
    arg_low = np.minimum.reduceat(np.where(y == low[seg], row, n), starts, axis=0)
    arg_high = np.minimum.reduceat(np.where(y == high[seg], row, n), starts, axis=0)
    empty = arg_low == n
    arg_low = np.where(empty, starts[:, None], arg_low)
    arg_high = np.where(empty, starts[:, None], arg_high)
    cols = np.arange(y.shape[1])[None, :]
    t_low, t_high = times[arg_low, cols], times[arg_high, cols]
    low_first = arg_low <= arg_high
    return (np.where(low_first, t_low, t_high), np.where(low_first, low, high),
            np.where(low_first, t_high, t_low), np.where(low_first, high, low))


def _interleave(first_x: np.ndarray, first_y: np.ndarray, second_x: np.ndarray,
                second_y: np.ndarray, first_s: np.ndarray, gap: np.ndarray) -> Points:
    """Bins as points in time order: [NaN break if a gap before it,] first, second."""
    bins, channels = first_x.shape
    x = np.empty((bins, 3, channels))
    y = np.empty((bins, 3, channels))
    x[:, 0], y[:, 0] = first_s[:, None], np.nan
    x[:, 1], y[:, 1] = first_x, first_y
    x[:, 2], y[:, 2] = second_x, second_y
    keep = np.column_stack((gap, np.ones((bins, 2), dtype=bool))).ravel()
    return x.reshape(-1, channels)[keep], y.reshape(-1, channels)[keep]


def peak_decimate(x: np.ndarray, y: np.ndarray, max_points: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points that keep every block's minimum and maximum (so a lean
    spike still shows), for drawing many seconds of 100-1000 Hz data at screen resolution."""
    n = x.size
    if n <= max_points:
        return x, y
    per = -(-n // (max_points // 2))  # samples per block, rounded up
    start = n - (n // per) * per  # drop the oldest few so blocks are whole; the newest stay
    xs, ys = x[start:].reshape(-1, per), y[start:].reshape(-1, per)
    lows, highs = np.fmin.reduce(ys, axis=1), np.fmax.reduce(ys, axis=1)  # NaN-aware
    out_x = np.column_stack((xs[:, 0], xs[:, -1])).ravel()
    out_y = np.column_stack((lows, highs)).ravel()
    return out_x, out_y
