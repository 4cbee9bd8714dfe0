"""Hits per cell: how many rows landed in each RPM × load cell of a table's grid.

The simplest coverage there is (every row with an engine speed and a load counts, nearest cell),
accumulated block by block: live in the analysis worker, or offline over a saved run, with the
same result. The grid is the table's normalised view (ascending, a repeated padding breakpoint
counted once), the one the Coverage panel draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.rows import RowBlock
from dynoai_desktop.core.table import Table


@dataclass(frozen=True, eq=False)
class CellHits:
    """Row counts per cell (rpm rows × load columns) of one table's normalised grid."""

    table_name: str
    load_channel: str  # "map_kpa" or "tps_pct": the table's column axis
    rpm_breakpoints: np.ndarray
    load_breakpoints: np.ndarray
    hits: np.ndarray  # int64, shape (rpm, load)

    @property
    def rows_counted(self) -> int:
        return int(self.hits.sum())

    @property
    def cells_hit(self) -> int:
        return int(np.count_nonzero(self.hits))


class CellHitCounter:
    """Counts the rows of each block into the cells of ``table`` (an accumulator)."""

    def __init__(self, table: Table) -> None:
        view = table.normalised()
        self.table_name = table.name
        self.load_channel = table.col_axis
        self._view = view
        self._hits = np.zeros(view.shape, dtype=np.int64)

    def add(self, block: RowBlock) -> None:
        rpm = block.channel("rpm")
        load = block.channel(self.load_channel)
        usable = np.isfinite(rpm) & np.isfinite(load)
        if not usable.any():
            return
        rows, cols = self._view.nearest_cell(rpm[usable], load[usable])
        np.add.at(self._hits, (rows, cols), 1)

    def reset(self) -> None:
        self._hits[:] = 0

    def snapshot(self) -> CellHits:
        hits = self._hits.copy()
        hits.setflags(write=False)
        return CellHits(self.table_name, self.load_channel, self._view.row_breakpoints,
                        self._view.col_breakpoints, hits)
