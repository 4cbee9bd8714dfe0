"""How the table editor reads and writes a table's cells: which kind of table it is, the order a
tuner looks for tables in, the unit and decimals cells are shown with, the step ``+``/``-``
moves them by, and the AFR <-> λ conversion both ways. No Qt: plain rules the editor and its
tests share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import AFR_TARGET, TUNE_TABLES
from dynoai_desktop.core.units import GASOLINE_STOICH_AFR

VE, AFR, SPARK, OTHER = "ve", "afr", "spark", "other"
TRACE_LEVELS = 8  # the live trace fades in this many steps: each step repaints only its cells
LAMBDA = "lambda"  # an AFR table read in λ: its own step

DEFAULT_STEPS: Mapping[str, float] = {VE: 0.5, AFR: 0.1, LAMBDA: 0.01, SPARK: 0.5}
"""What one ``+``/``-`` adds, in the unit the cells are shown in: 0.5 VE points, 0.1 AFR,
0.01 λ, 0.5° of spark; any other table steps by its last shown decimal."""

# (fewest, most) decimals a cell is shown with: VE in half points, AFR to the hundredth, λ to
# the thousandth; spark in Power Vision's quarter degrees when the table holds them.
_DECIMALS = {VE: (1, 1), AFR: (2, 2), LAMBDA: (3, 3), SPARK: (1, 2), OTHER: (0, 3)}
_UNIT_LABELS = {"%": "%", "AFR": "AFR", "Degrees": "°", "Kilopascals": "kPa"}
LOAD_UNITS = {"map_kpa": "kPa", "tps_pct": "%"}
LOAD_NAMES = {"map_kpa": "MAP", "tps_pct": "throttle"}
# λ typed or pasted comes back to AFR rounded to 1e-9: no AFR table is finer, and it makes
# λ -> AFR -> λ -> AFR exact (0.8367346938775511 × 14.7 is 12.299999999999999 otherwise).
_LAMBDA_BACK_DECIMALS = 9


def table_kind(table: Table) -> str:
    """VE, AFR, spark or other, from the table's name and units (Power Vision's item names)."""
    name = table.name.lower()
    if name.startswith("ve ") or name.startswith("ve("):
        return VE
    if table.name == AFR_TARGET or table.units.upper() == "AFR":
        return AFR
    if name.startswith("spark advance"):
        return SPARK
    return OTHER


def ordered_names(names: Iterable[str]) -> list[str]:
    """Tables in the order a tuner looks for them: VE front/rear MAP, VE front/rear TPS, AFR,
    spark front/rear, then the rest alphabetically."""
    names = list(names)
    known = [n for n in TUNE_TABLES if n in names]
    rest = sorted((n for n in names if n not in TUNE_TABLES), key=str.lower)
    return known + rest


def _decimals_needed(values: np.ndarray, most: int) -> int:
    for decimals in range(most + 1):
        if np.allclose(values, np.round(values, decimals), rtol=0.0, atol=1e-9):
            return decimals
    return most


@dataclass(frozen=True)
class CellFormat:
    """How one table's cells are shown: in λ or its own unit, with how many decimals, and the
    ``+``/``-`` step in that unit."""

    kind: str
    unit: str  # shown after values: "%", "AFR", "λ", "°"
    decimals: int
    step: float
    lambda_shown: bool  # an AFR table shown in λ

    def to_display(self, values: np.ndarray) -> np.ndarray:
        """Stored values (the table's unit) in the unit shown."""
        values = np.asarray(values, dtype=np.float64)
        return values / GASOLINE_STOICH_AFR if self.lambda_shown else values

    def from_display(self, values: np.ndarray) -> np.ndarray:
        """Values typed, pasted or computed in the unit shown, back in the table's unit."""
        values = np.asarray(values, dtype=np.float64)
        if not self.lambda_shown:
            return values
        return np.round(values * GASOLINE_STOICH_AFR, _LAMBDA_BACK_DECIMALS)

    def text(self, value: float) -> str:
        """A shown value ("55.5", "0.837"); never "-0.0"."""
        out = f"{value:.{self.decimals}f}"
        if out.startswith("-") and float(out) == 0.0:
            return out[1:]
        return out


def cell_format(table: Table, units: DisplayUnits,
                steps: Mapping[str, float] = DEFAULT_STEPS) -> CellFormat:
    """How ``table``'s cells are shown for a user reading ``units`` (AFR tables in λ when
    they chose λ), stepping by ``steps`` (keys VE, AFR, LAMBDA, SPARK)."""
    kind = table_kind(table)
    lambda_shown = kind == AFR and units.afr == "lambda"
    rule = LAMBDA if lambda_shown else kind
    fewest, most = _DECIMALS[rule]
    shown = table.values / GASOLINE_STOICH_AFR if lambda_shown else table.values
    decimals = max(fewest, _decimals_needed(shown, most)) if fewest != most else fewest
    step = steps.get(rule, 10.0 ** -decimals)
    if lambda_shown:
        unit = "λ"
    else:
        unit = _UNIT_LABELS.get(table.units, table.units)
    return CellFormat(kind, unit, decimals, float(step), lambda_shown)


def load_label(table: Table, load: float) -> str:
    """A column's breakpoint in words: "80 kPa", "100 %"."""
    return f"{load:g} {LOAD_UNITS.get(table.col_axis, '')}".strip()


def padding_flags(breakpoints: np.ndarray) -> np.ndarray:
    """True for each raw breakpoint that repeats an earlier one: Power Vision pads a table to
    its fixed size so, and lookups read the first occurrence's cells (FORMATS.md §1)."""
    seen: set[float] = set()
    flags = np.zeros(breakpoints.size, dtype=bool)
    for i, value in enumerate(breakpoints.tolist()):
        flags[i] = value in seen
        seen.add(value)
    return flags
