"""Authority limits: how far one overlay may move a table, by what the table holds.

The limits are part of the settings (``Settings.authority``): the first four fields keep the
names the settings file has always used and the newer ones have defaults, so every older file
still loads. A table's kind comes from its
name alone (the Power Vision names in :mod:`~dynoai_desktop.core.tune`, TunerStudio's
``veTable``, ``afrTable``, ``advTable``): units such as "Degrees" are shared by knock-retard
tables, where a larger number is the safe way. A table of no known kind takes no overlay, because
no limit would protect it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import (
    AFR_TARGET,
    SPARK_FRONT,
    SPARK_REAR,
    VE_FRONT_MAP,
    VE_FRONT_TPS,
    VE_REAR_MAP,
    VE_REAR_TPS,
)

STOICH_AFR_GASOLINE = 14.7  # turns the AFR authority into λ for a target table kept in λ


class TableKind(StrEnum):
    """What a table holds, which decides its limits."""

    VE = "VE"
    AFR = "AFR"
    SPARK = "spark"


@dataclass(frozen=True)
class AuthorityLimits:
    """How far an overlay (autotune, a predicted map, any correction) may move a table in one
    application, and where WOT begins. Values of the settings file; defaults per issue 14."""

    max_ve_change_pct_per_run: float = 10.0  # ± % of the cell's VE
    min_ve_pct: float = 10.0
    max_ve_pct: float = 130.0
    max_spark_advance_change_deg: float = 2.0  # ± degrees, advance or retard
    max_afr_change: float = 0.5  # ± AFR of the target
    wot_map_kpa: float = 95.0  # VE cells at or above this MAP are WOT
    wot_tps_pct: float = 90.0  # ... or at or above this throttle

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value < 0:
                raise InputError(f"authority limit {f.name} is {value!r}; it must be a number "
                                 "zero or above")
        if self.min_ve_pct > self.max_ve_pct:
            raise InputError(f"authority limits: min_ve_pct {self.min_ve_pct:g} is above "
                             f"max_ve_pct {self.max_ve_pct:g}")

    def authority_text(self, table: Table) -> str:
        """The one-application limit of ``table`` in words: '±10 %', '±0.5 AFR', '±2°'."""
        kind = table_kind(table)
        if kind is TableKind.VE:
            return f"±{self.max_ve_change_pct_per_run:g} %"
        if kind is TableKind.SPARK:
            return f"±{self.max_spark_advance_change_deg:g}°"
        if _in_lambda(table):
            return f"±{self.max_afr_change / STOICH_AFR_GASOLINE:.3g} λ"
        return f"±{self.max_afr_change:g} AFR"

    def summary(self, table: Table) -> str:
        """The limits that bound an overlay on ``table``, for the version note."""
        text = f"authority {self.authority_text(table)} per application"
        if table_kind(table) is TableKind.VE:
            wot = (f"{self.wot_map_kpa:g} kPa" if table.col_axis == "map_kpa"
                   else f"{self.wot_tps_pct:g} % TPS")
            text += (f", VE {self.min_ve_pct:g}–{self.max_ve_pct:g} %, "
                     f"WOT from {wot} leaned only by measured evidence")
        return text

    def window(self, table: Table, before: npt.NDArray[np.float64],
               ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Lowest and highest value each cell may reach in one application."""
        kind = table_kind(table)
        if kind is TableKind.VE:
            # The same arithmetic as a multiplicative overlay's (before * (1 + pct / 100)), so a
            # change of exactly the limit is not reported as limited by a rounding difference.
            pct = self.max_ve_change_pct_per_run
            up, down = before * (1.0 + pct / 100.0), before * (1.0 - pct / 100.0)
            return np.minimum(up, down), np.maximum(up, down)
        if kind is TableKind.SPARK:
            step = self.max_spark_advance_change_deg
        elif _in_lambda(table):
            step = self.max_afr_change / STOICH_AFR_GASOLINE
        else:
            step = self.max_afr_change
        return before - step, before + step

    def wot_columns(self, table: Table) -> npt.NDArray[np.bool_]:
        """Mask (the table's raw shape) of its WOT cells: whole columns at or above the WOT
        MAP (kPa) or throttle (%)."""
        start = self.wot_map_kpa if table.col_axis == "map_kpa" else self.wot_tps_pct
        cols = table.col_breakpoints >= start
        return np.broadcast_to(cols, table.shape).copy()


def _in_lambda(table: Table) -> bool:
    units = table.units.casefold()
    return "lambda" in units or "λ" in units


_BY_NAME = {
    VE_FRONT_MAP: TableKind.VE, VE_REAR_MAP: TableKind.VE, VE_FRONT_TPS: TableKind.VE,
    VE_REAR_TPS: TableKind.VE, AFR_TARGET: TableKind.AFR, SPARK_FRONT: TableKind.SPARK,
    SPARK_REAR: TableKind.SPARK,
}
# TunerStudio names (storage/tune_formats/msq.py: veTable, veTable1, afrTable1, advTable1,
# advanceTable1) and names that begin like Power Vision's ("VE (...)", "Spark Advance (...)").
_PATTERNS = (
    (re.compile(r"ve(table\d*|\b)"), TableKind.VE),
    (re.compile(r"(afr(table\d*|\b)|air-fuel ratio)"), TableKind.AFR),
    (re.compile(r"(adv(ance)?table\d*|spark advance\b)"), TableKind.SPARK),
)


def table_kind(table: Table) -> TableKind:
    """VE, AFR target or spark advance; InputError naming the table when it is none of them."""
    if table.name in _BY_NAME:
        return _BY_NAME[table.name]
    name = table.name.strip().casefold()
    for pattern, kind in _PATTERNS:
        if pattern.match(name):
            return kind
    raise InputError(f"table {table.name!r} (units {table.units!r}) is not a VE, AFR target or "
                     "spark table, so no authority limit covers it; overlays change only those")
