"""The tune: named tables in their raw layouts, the build they belong to, and their history.

Every change to a tune is recorded as a version: what made it (an import, a manual edit,
autotune, an overlay, a restore), when, a note, and the cells it changed. Any earlier version
can be restored exactly; a restore is itself a new version, so nothing is ever lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table

# Power Vision item names of the tables a Harley Delphi tune is tuned through (shared vtwin.md §3).
VE_FRONT_MAP = "VE (MAP based/Front Cyl)"
VE_REAR_MAP = "VE (MAP based/Rear Cyl)"
VE_FRONT_TPS = "VE (TPS based/Front Cyl)"
VE_REAR_TPS = "VE (TPS based/Rear Cyl)"
AFR_TARGET = "Air-Fuel Ratio"
SPARK_FRONT = "Spark Advance (Front Cyl)"
SPARK_REAR = "Spark Advance (Rear Cyl)"
TUNE_TABLES = (
    VE_FRONT_MAP, VE_REAR_MAP, VE_FRONT_TPS, VE_REAR_TPS, AFR_TARGET, SPARK_FRONT, SPARK_REAR,
)


class ChangeSource(StrEnum):
    """What made a version of a tune."""

    IMPORT = "import"
    MANUAL_EDIT = "manual edit"
    AUTOTUNE = "autotune"
    OVERLAY = "overlay"
    RESTORE = "restore"
    # What made an applied overlay (core.overlay.OverlaySource names the same things).
    PREDICTED_BASE_MAP = "predicted base map"
    DECEL_ENRICHMENT = "decel enrichment"
    CYLINDER_BALANCE = "cylinder balance"
    HEAT_SOAK = "heat soak"
    TIMING = "timing advice"


Cells = frozenset[tuple[int, int]]
"""A set of raw (row, column) cells of one table."""


def cells_of(mask: np.ndarray) -> Cells:
    """The (row, column) pairs where ``mask`` is true."""
    rows, cols = np.nonzero(np.asarray(mask, dtype=bool))
    return frozenset(zip(rows.tolist(), cols.tolist(), strict=True))


@dataclass(frozen=True)
class Tune:
    """Named tables (raw layouts), the vehicle's build and the file the tune came from.

    ``locked`` holds, per table, the cells the tuner locked (no edit or overlay moves them);
    ``knock_prone`` the cells where knock retard was seen (no overlay advances spark there).
    Both are sets of raw (row, column) cells and follow their table's layout.
    """

    tables: Mapping[str, Table]
    build_spec: BuildSpec | None = None
    source: str = ""
    locked: Mapping[str, Cells] = field(default_factory=dict)
    knock_prone: Mapping[str, Cells] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise InputError(
                f"the tune has no table {name!r}; it has {', '.join(self.tables) or 'none'}"
            ) from None

    def with_table(self, table: Table) -> Tune:
        """A new tune with ``table`` put in under its name (added, or replacing the old one).

        The table's locked and knock-prone cells stay when its layout does; a table of another
        shape starts with none."""
        old = self.tables.get(table.name)
        same_layout = old is not None and old.shape == table.shape
        locked, prone = dict(self.locked), dict(self.knock_prone)
        if not same_layout:
            locked.pop(table.name, None)
            prone.pop(table.name, None)
        return replace(self, tables={**self.tables, table.name: table}, locked=locked,
                       knock_prone=prone)

    def locked_mask(self, name: str) -> np.ndarray:
        """Boolean mask (the table's raw shape) of the locked cells of table ``name``."""
        return self._mask(name, self.locked)

    def knock_prone_mask(self, name: str) -> np.ndarray:
        """Boolean mask (the table's raw shape) of the knock-prone cells of table ``name``."""
        return self._mask(name, self.knock_prone)

    def with_locked(self, name: str, mask: np.ndarray) -> Tune:
        """A new tune whose table ``name`` has exactly the cells of ``mask`` locked."""
        return replace(self, locked=self._set(name, mask, self.locked))

    def with_knock_prone(self, name: str, mask: np.ndarray) -> Tune:
        """A new tune whose table ``name`` has exactly the cells of ``mask`` knock-prone."""
        return replace(self, knock_prone=self._set(name, mask, self.knock_prone))

    def _mask(self, name: str, marks: Mapping[str, Cells]) -> np.ndarray:
        mask = np.zeros(self.table(name).shape, dtype=bool)
        n_rows, n_cols = mask.shape
        for row, col in marks.get(name, ()):
            if row < n_rows and col < n_cols:  # a restored table of another layout
                mask[row, col] = True
        return mask

    def _set(self, name: str, mask: np.ndarray, marks: Mapping[str, Cells]
             ) -> dict[str, Cells]:
        shape = self.table(name).shape
        arr = np.asarray(mask, dtype=bool)
        if arr.shape != shape:
            raise InputError(f"table {name!r}: a mask of shape {arr.shape} does not fit its "
                             f"{shape} cells (rows x columns)")
        out = dict(marks)
        cells = cells_of(arr)
        if cells:
            out[name] = cells
        else:
            out.pop(name, None)
        return out


@dataclass(frozen=True)
class CellChange:
    row: int
    col: int
    before: float
    after: float


@dataclass(frozen=True)
class TableDiff:
    """How one table changed: cells (same axes), or replaced/added/removed as a whole."""

    name: str
    kind: str  # "cells", "replaced", "added", "removed"
    cells: tuple[CellChange, ...] = ()


def diff_tunes(before: Tune, after: Tune) -> list[TableDiff]:
    """Per-table differences from ``before`` to ``after`` (empty when the tables are equal)."""
    out: list[TableDiff] = []
    for name in dict.fromkeys([*before.tables, *after.tables]):
        old, new = before.tables.get(name), after.tables.get(name)
        if old is None:
            out.append(TableDiff(name, "added"))
        elif new is None:
            out.append(TableDiff(name, "removed"))
        elif old == new:
            continue
        elif old.shape != new.shape or not (
            np.array_equal(old.row_breakpoints, new.row_breakpoints)
            and np.array_equal(old.col_breakpoints, new.col_breakpoints)
            and old.col_axis == new.col_axis
        ):
            out.append(TableDiff(name, "replaced"))
        else:
            rows, cols = np.nonzero(old.values != new.values)
            cells = tuple(
                CellChange(int(r), int(c), float(old.values[r, c]), float(new.values[r, c]))
                for r, c in zip(rows, cols, strict=True)
            )
            out.append(TableDiff(name, "cells", cells))
    return out


@dataclass(frozen=True)
class TuneVersion:
    number: int  # 1, 2, ... in the order they were made
    tune: Tune
    made_by: ChangeSource
    when: str  # ISO 8601 time, given by the caller (core reads no clocks)
    note: str = ""
    changes: tuple[TableDiff, ...] = ()  # from the previous version


@dataclass
class TuneHistory:
    """The versions of one tune, oldest first."""

    versions: list[TuneVersion] = field(default_factory=list)

    @property
    def latest(self) -> TuneVersion:
        if not self.versions:
            raise InputError("this tune has no versions yet")
        return self.versions[-1]

    def record(self, tune: Tune, made_by: ChangeSource, when: str, note: str = "") -> TuneVersion:
        """Add ``tune`` as the newest version, with its differences from the one before."""
        previous = self.versions[-1].tune if self.versions else Tune(tables={})
        version = TuneVersion(
            number=len(self.versions) + 1,
            tune=tune,
            made_by=ChangeSource(made_by),
            when=when,
            note=note,
            changes=tuple(diff_tunes(previous, tune)),
        )
        self.versions.append(version)
        return version

    def version(self, number: int) -> TuneVersion:
        if not 1 <= number <= len(self.versions):
            raise InputError(
                f"there is no version {number} of this tune; versions are 1 to {len(self.versions)}"
            )
        return self.versions[number - 1]

    def restore(self, number: int, when: str) -> TuneVersion:
        """Make version ``number``'s tables current again, as a new version."""
        old = self.version(number)
        current = self.latest.tune
        restored = replace(current, tables=dict(old.tune.tables))
        return self.record(restored, ChangeSource.RESTORE, when, note=f"restored version {number}")
