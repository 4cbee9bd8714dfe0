"""Named high-impact regions of a VE table, their gaps and a coverage summary.

The defaults are where a V-twin's tune matters most and where tuners most often leave holes:
the high-MAP midrange around the torque peak, the tip-in zone a rider lives in, and idle. A
TPS-based table gets the same rpm bands on throttle instead of MAP. Tuners edit them
(``regions_from_dicts``); priority 1 matters most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.coverage.grid import LOAD_NAMES, CoverageAxes, TableCoverage
from dynoai_desktop.core.errors import InputError

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Region:
    """An rpm x load rectangle (inclusive, in the table's load units) with a priority."""

    name: str
    rpm_min: float
    rpm_max: float
    load_min: float
    load_max: float
    priority: int = 1

    def __post_init__(self) -> None:
        where = f"region {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("a region needs a name")
        for lo, hi, what in ((self.rpm_min, self.rpm_max, "rpm"),
                             (self.load_min, self.load_max, "load")):
            if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
                raise InputError(f"{where}: its {what} range {lo:g}-{hi:g} is not a range; "
                                 "give the lower bound first")
        if not isinstance(self.priority, int) or not 1 <= self.priority <= 9:
            raise InputError(f"{where}: priority must be a whole number 1-9 (1 matters most), "
                             f"got {self.priority!r}")

    def cells(self, axes: CoverageAxes) -> BoolArray:
        """The grid's cells whose breakpoints lie inside the region."""
        rows = (axes.rpm >= self.rpm_min) & (axes.rpm <= self.rpm_max)
        cols = (axes.load >= self.load_min) & (axes.load <= self.load_max)
        return rows[:, None] & cols[None, :]

    def describe(self, load_channel: str) -> str:
        name, unit = LOAD_NAMES.get(load_channel, (load_channel, ""))
        return (f"{self.name}: {self.rpm_min:g}-{self.rpm_max:g} rpm x {name} "
                f"{self.load_min:g}-{self.load_max:g} {unit}, priority {self.priority}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rpm": [self.rpm_min, self.rpm_max],
                "load": [self.load_min, self.load_max], "priority": self.priority}


_DEFAULT_BANDS = (
    # name, rpm band, MAP band (kPa), TPS band (%), priority
    ("High-MAP midrange", (2500.0, 4500.0), (80.0, 100.0), (80.0, 100.0), 1),
    ("Tip-in zone", (2000.0, 4500.0), (50.0, 85.0), (15.0, 50.0), 1),
    ("Idle / low MAP", (500.0, 1500.0), (20.0, 40.0), (0.0, 5.0), 2),
)


def default_regions(load_channel: str) -> tuple[Region, ...]:
    """The default regions for a MAP-based (``map_kpa``) or TPS-based (``tps_pct``) table."""
    use_tps = load_channel == "tps_pct"
    return tuple(Region(name, rpm[0], rpm[1], *(tps if use_tps else kpa), priority=priority)
                 for name, rpm, kpa, tps, priority in _DEFAULT_BANDS)


def regions_from_dicts(items: Sequence[Mapping[str, Any]], source: str) -> tuple[Region, ...]:
    """Regions from their dict form (``Region.to_dict``); InputError naming ``source``."""
    out = []
    for i, item in enumerate(items):
        try:
            rpm, load = item["rpm"], item["load"]
            out.append(Region(str(item["name"]), float(rpm[0]), float(rpm[1]), float(load[0]),
                              float(load[1]), int(item.get("priority", 1))))
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(f"{source}: region {i + 1} needs name, rpm [min, max], load "
                             f"[min, max] and a priority ({exc!s})") from None
    return tuple(out)


@dataclass(frozen=True, eq=False)
class RegionSummary:
    """One region's coverage: its cells, how many are covered and where the gaps are."""

    region: Region
    cells: int
    covered: int
    gaps: tuple[tuple[int, int], ...]
    """(row, col) of each uncovered cell, by rpm then load."""
    members: tuple[tuple[int, int], ...] = ()
    """(row, col) of each of its cells."""

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.cells if self.cells else 100.0


@dataclass(frozen=True, eq=False)
class CoverageSummary:
    """Cells covered overall and per region, for one table or the cylinders together."""

    min_weight: float
    cells: int
    covered: int
    regions: tuple[RegionSummary, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.cells if self.cells else 0.0

    def priority_percent(self, priority: int = 1) -> float:
        """Covered share of the union of the regions of this priority (a cell in two counts
        once)."""
        picked = [r for r in self.regions if r.region.priority == priority]
        cells = {c for r in picked for c in r.members}
        if not cells:
            return 100.0
        gaps = {g for r in picked for g in r.gaps}
        return 100.0 * (len(cells) - len(gaps)) / len(cells)

    def text(self) -> str:
        """A line a tuner reads: overall then each region."""
        parts = [f"{self.percent:.0f} % of {self.cells} cells covered"]
        parts += [f"{r.region.name} {r.percent:.0f} % ({len(r.gaps)} gaps)" for r in self.regions]
        return "; ".join(parts)


def summarise(coverage: TableCoverage, regions: Sequence[Region], min_weight: float,
              ) -> CoverageSummary:
    """How much of ``coverage``'s grid and of each region has at least ``min_weight``."""
    covered = coverage.covered(min_weight)
    out = []
    for region in regions:
        mask = region.cells(coverage.axes)
        gaps = tuple((int(r), int(c)) for r, c in np.argwhere(mask & ~covered))
        members = tuple((int(r), int(c)) for r, c in np.argwhere(mask))
        out.append(RegionSummary(region, int(mask.sum()), int((mask & covered).sum()), gaps,
                                 members))
    return CoverageSummary(float(min_weight), int(covered.size), int(covered.sum()), tuple(out))


def priority_weights(coverage_axes: CoverageAxes, regions: Sequence[Region]) -> np.ndarray:
    """Per cell, how much covering it is worth: 1 for priority 1, halving per level below;
    0 outside every region (a cell in several regions takes its best)."""
    worth = np.zeros(coverage_axes.shape)
    for region in regions:
        worth = np.maximum(worth, np.where(region.cells(coverage_axes),
                                           0.5 ** (region.priority - 1), 0.0))
    return worth


def best_priority(coverage_axes: CoverageAxes, regions: Sequence[Region]) -> np.ndarray:
    """Per cell, the most important (lowest) priority of a region holding it; 99 outside."""
    best = np.full(coverage_axes.shape, 99, dtype=np.int64)
    for region in regions:
        best = np.where(region.cells(coverage_axes), np.minimum(best, region.priority), best)
    return best
