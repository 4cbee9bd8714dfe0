"""Power Vision's cell tracer for the table editor: where the engine is on the shown table now
(the live cursor) and the cells it passed through in the last seconds (a fading trace).

Read from the live ring buffer on the editor's timer (about 10 Hz), never per sample: each poll
takes only the rows newer than the last one, when the buffer's version moved, and counts them
into a "last visited" time per cell. No Qt here; the editor hands the result to its model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dynoai_desktop.core.rows import TIME_CHANNEL
from dynoai_desktop.core.table import Table
from dynoai_desktop.ui.panels.table_editor_units import TRACE_LEVELS

TRACE_S = 3.0  # a visited cell fades out over this long
CURSOR_STALE_S = 1.0  # no row for this long (on the clock): the cursor is taken away
LOAD_CHANNELS = {"map_kpa": "map_kpa", "tps_pct": "tps_pct"}


class LiveRows(Protocol):
    """What the tracer reads: the live ring buffer (acquisition.ring_buffer.SampleRingBuffer)."""

    @property
    def version(self) -> int: ...

    def window(self, seconds: float | None = None, channels: tuple[str, ...] | None = None
               ) -> dict[str, np.ndarray]: ...

    def since(self, time_s: float, channels: tuple[str, ...] | None = None
              ) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class LiveMarks:
    """The cursor's raw cell (None: no recent row) and its offset from the cell's centre in
    cells (down, right), and per cell a trace level 0..TRACE_LEVELS."""

    cursor: tuple[int, int] | None
    offset: tuple[float, float]
    trace: np.ndarray


def _axis_offset(breakpoints: np.ndarray, source: np.ndarray, x: float) -> float:
    """How far ``x`` sits from its nearest breakpoint's cell centre, in raw cells (±0.5), in
    the direction its neighbouring breakpoint's cell lies in the raw layout."""
    n = breakpoints.size
    if n == 1:
        return 0.0
    x = min(max(x, float(breakpoints[0])), float(breakpoints[-1]))
    upper = int(np.searchsorted(breakpoints, x))
    if upper == 0:
        near = 0
    elif upper == n:
        near = n - 1
    else:  # ties go to the lower breakpoint, as Table.cell_index does
        lower_gap, upper_gap = x - breakpoints[upper - 1], breakpoints[upper] - x
        near = upper if lower_gap > upper_gap else upper - 1
    if x >= breakpoints[near]:
        other = near + 1
        if other >= n:
            return 0.0
        fraction = (x - breakpoints[near]) / (breakpoints[other] - breakpoints[near])
    else:
        other = near - 1
        fraction = (breakpoints[near] - x) / (breakpoints[near] - breakpoints[other])
    direction = float(np.sign(int(source[other]) - int(source[near])))
    return float(np.clip(direction * fraction, -0.5, 0.5))


class CellTracer:
    """The live cursor and trace over one table, from a live buffer and its clock."""

    def __init__(self, rows: LiveRows, clock: Callable[[], float] | None = None,
                 trace_s: float = TRACE_S) -> None:
        self.rows = rows
        self.clock = clock  # now on the buffer's clock; None: the newest row's time is now
        self.trace_s = trace_s
        self.table: Table | None = None
        self._last_visit = np.zeros((0, 0))
        self._newest_s = -np.inf  # the newest row with rpm and load
        self._read_s = -np.inf  # the newest row read
        self._seen_version = -1
        self._cursor: tuple[int, int] | None = None
        self._offset = (0.0, 0.0)

    def set_table(self, table: Table | None) -> None:
        """Trace on ``table``'s cells: the last ``trace_s`` of rows counted into them again."""
        self.table = table
        self._cursor, self._offset = None, (0.0, 0.0)
        self._newest_s = self._read_s = -np.inf
        self._seen_version = -1
        self._last_visit = np.full(table.shape if table is not None else (0, 0), -np.inf)

    def poll(self) -> LiveMarks | None:
        """Take in the rows that arrived since the last poll; the marks to draw (None: no
        table)."""
        table = self.table
        if table is None:
            return None
        version = self.rows.version
        if version != self._seen_version:
            self._seen_version = version
            self._take(table)
        now = self.clock() if self.clock is not None else self._newest_s
        age = now - self._last_visit
        with np.errstate(invalid="ignore"):
            fresh = np.clip(1.0 - age / self.trace_s, 0.0, 1.0)
        levels = np.ceil(np.nan_to_num(fresh) * TRACE_LEVELS).astype(np.uint8)
        cursor = self._cursor if now - self._newest_s <= CURSOR_STALE_S else None
        return LiveMarks(cursor, self._offset if cursor else (0.0, 0.0), levels)

    def _take(self, table: Table) -> None:
        load_channel = LOAD_CHANNELS[table.col_axis]
        channels = ("rpm", load_channel)
        if np.isfinite(self._read_s):
            data = self.rows.since(self._read_s, channels)
        else:
            data = self.rows.window(self.trace_s, channels)
        t, rpm, load = data[TIME_CHANNEL], data["rpm"], data[load_channel]
        if np.isfinite(t).any():
            self._read_s = max(self._read_s, float(np.nanmax(t)))
        ok = np.isfinite(t) & np.isfinite(rpm) & np.isfinite(load)
        if not ok.any():
            return
        t, rpm, load = t[ok], rpm[ok], load[ok]
        rows, cols = table.cell_index(rpm, load)
        np.maximum.at(self._last_visit, (rows, cols), t)
        self._newest_s = max(self._newest_s, float(t[-1]))
        self._cursor = (int(rows[-1]), int(cols[-1]))
        view = table.normalised()
        self._offset = (_axis_offset(view.row_breakpoints, view.row_source, float(rpm[-1])),
                        _axis_offset(view.col_breakpoints, view.col_source, float(load[-1])))
