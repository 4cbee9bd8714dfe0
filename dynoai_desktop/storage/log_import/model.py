"""What an importer reads (source columns) and what it hands back (an ImportedLog)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from dynoai_desktop.storage.run_files import Marker


@dataclass(frozen=True, eq=False)
class ImportedLog:
    """A foreign log mapped onto the canonical channels of FORMATS.md §2.

    ``frame`` holds only canonical columns in canonical units (``time_s`` from 0, strictly
    increasing); every source column that was not used is named in ``unmapped``.
    """

    frame: pd.DataFrame
    source_format: str
    path: Path
    mapped: dict[str, str]
    """Canonical channel -> the source column(s) it came from and the unit they were read in."""
    unmapped: list[str]
    """Source columns not in the frame (no canonical channel, a duplicate, or refused)."""
    warnings: list[str]
    """What the importer assumed or repaired, in the tuner's words."""
    wideband_sides: str
    """How the front and rear widebands were found (or why there are none)."""
    refusals: list[str] = field(default_factory=list)
    """Channels the log has but that cannot be used (a stuck wideband, say), with the reason."""
    # --- column accounting (issue 23): every source column mapped, refused or unused
    columns: Mapping[str, ColumnFate] = field(default_factory=lambda: MappingProxyType({}))
    """Every source column, in file order -> what became of it (see ``accounting``)."""
    markers: tuple[Marker, ...] = ()
    """Notes the logger marked in the log (TunerStudio markers), at their ``time_s``."""

    @property
    def rows(self) -> int:
        """Number of samples."""
        return len(self.frame)

    def accounting(self) -> list[str]:
        """One line per source column, in file order: what the import did with it."""
        return [f"{name}: {fate}" for name, fate in self.columns.items()]

    def columns_with(self, status: str) -> list[str]:
        """Source columns that ended ``status`` ("mapped", "refused" or "unused")."""
        return [name for name, fate in self.columns.items() if fate.status == status]


COLUMN_STATUSES = ("mapped", "refused", "unused")
NO_CHANNEL = "no channel here for it"
"""The reason of an unused column that no name rule matched."""


@dataclass(frozen=True)
class ColumnFate:
    """What became of one source column: ``mapped`` to channels, or ``refused`` or ``unused``
    with the reason in ``detail``."""

    status: str
    detail: str

    def __str__(self) -> str:
        verb = {"mapped": "mapped to", "refused": "refused:", "unused": "unused:"}[self.status]
        return f"{verb} {self.detail}"
    # --- end column accounting


@dataclass(frozen=True, eq=False)
class SourceColumn:
    """A column as the file has it: name, unit ("" when none), numbers (NaN where empty)."""

    name: str
    unit: str
    values: np.ndarray
    match_name: str = ""
    """The name matched against channel names (the name without module prefix or unit)."""

    @property
    def key(self) -> str:
        """Lower-case name used for matching."""
        return (self.match_name or self.name).strip().lower()


@dataclass(frozen=True)
class Rule:
    """A source column whose key fully matches ``pattern`` feeds ``channel``.

    ``unit`` is assumed when the file gives none. ``channel`` may be ``spark_deg`` or
    ``knock_retard_deg`` (one column for both cylinders).
    """

    channel: str
    pattern: str
    unit: str = ""


@dataclass(frozen=True, eq=False)
class Derived:
    """A channel an importer computed from several columns (values already canonical)."""

    values: np.ndarray
    source: str
    used_columns: tuple[str, ...]
    of_column: str | None = None
    """For a wideband status: the AFR column it belongs to; applied only when that column
    feeds the side (another column's sensor has its own health)."""


@dataclass(frozen=True, eq=False)
class SourceLog:
    """A parsed file, before mapping: its columns, its rules and what parsing noticed."""

    path: Path
    source_format: str
    columns: tuple[SourceColumn, ...]
    rules: tuple[Rule, ...]
    warnings: tuple[str, ...] = ()
    derived: Mapping[str, Derived] = field(default_factory=lambda: MappingProxyType({}))
    markers: tuple[SourceMarker, ...] = ()


@dataclass(frozen=True)
class SourceMarker:
    """A note in the log at ``row``: a position among the file's samples, 0 at the first;
    2.5 is halfway between the third and the fourth (markers fall between samples)."""

    row: float
    note: str
