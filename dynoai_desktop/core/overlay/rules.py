"""The rules no caller can bypass, and the preview that shows them cell by cell.

Each proposed cell goes through the rules in this order; the last one that moved it is its
reason (so a cell limited first by its measured rich error and then harder by the authority limit
says "authority limit"):

1. locked: held at its value;
2. knock-prone (spark tables): never advanced; retard is allowed;
3. WOT (VE tables, cells at or above the WOT MAP or throttle): lowered only by a measured
   overlay (autotune) with evidence for that cell, and no further than the measured rich error;
4. authority: no further than the limit for one application (±10 % VE, ±0.5 AFR, ±2°);
5. VE bounds: not past the lowest/highest VE, never moved the other way by them.

Every cell the rules do not move keeps its value exactly (bitwise, -0.0 included): the new
values are picked from the old array, never recomputed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay.limits import AuthorityLimits, TableKind, table_kind
from dynoai_desktop.core.overlay.model import (
    MEASURED_SOURCES,
    BoolMask,
    FloatArray,
    Overlay,
)
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import Tune


class CellRule(StrEnum):
    """Why a cell got what it got (``AS_PROPOSED``: nothing stopped it)."""

    AS_PROPOSED = "as proposed"
    OUTSIDE_MASK = "outside mask"
    NOT_SELECTED = "not selected"
    LOCKED = "locked"
    KNOCK_PRONE = "knock-prone: no spark advance"
    WOT_NO_EVIDENCE = "WOT: only measured evidence may lean"
    WOT_RICH_ERROR = "WOT: limited to the measured rich error"
    AUTHORITY = "authority limit"
    VE_BOUND = "VE bound"


LIMITING_RULES = (CellRule.LOCKED, CellRule.KNOCK_PRONE, CellRule.WOT_NO_EVIDENCE,
                  CellRule.WOT_RICH_ERROR, CellRule.AUTHORITY, CellRule.VE_BOUND)


def _any_of(rules: npt.NDArray[np.object_], which: tuple[CellRule, ...]) -> BoolMask:
    out = np.zeros(rules.shape, dtype=bool)
    for rule in which:
        out |= rules == rule
    return out


@dataclass(frozen=True, eq=False)
class OverlayPreview:
    """Per cell (the table's raw shape): ``before``, ``proposed`` (NaN where not proposed),
    ``after`` (what applying gives) and ``rules`` (a :class:`CellRule` per cell)."""

    overlay: Overlay
    table: Table
    kind: TableKind
    limits: AuthorityLimits
    before: FloatArray
    proposed: FloatArray
    after: FloatArray
    rules: npt.NDArray[np.object_]

    @property
    def changed(self) -> BoolMask:
        """The cells applying would change."""
        return self.after != self.before

    @property
    def considered(self) -> BoolMask:
        """The cells proposed (in the mask and the selection), whatever the rules did."""
        return ~_any_of(self.rules, (CellRule.OUTSIDE_MASK, CellRule.NOT_SELECTED))

    @property
    def limited(self) -> BoolMask:
        """Proposed cells a rule held or moved less than proposed."""
        return _any_of(self.rules, LIMITING_RULES)

    @property
    def counts(self) -> dict[CellRule, int]:
        """How many cells each limiting rule stopped, in rule order (only rules that did)."""
        found = Counter(self.rules[self.limited].tolist())
        return {rule: found[rule] for rule in LIMITING_RULES if found[rule]}

    @property
    def cells_changed(self) -> int:
        return int(self.changed.sum())

    @property
    def cells_limited(self) -> int:
        return int(self.limited.sum())

    @property
    def max_abs_change(self) -> float:
        """The largest |after - before| in the table's units (0 when nothing changes)."""
        moved = self.changed
        return float(np.abs(self.after - self.before)[moved].max()) if moved.any() else 0.0

    @property
    def max_abs_change_pct(self) -> float:
        """The largest |after / before - 1| in percent over changed cells with a nonzero value."""
        moved = self.changed & (self.before != 0)
        if not moved.any():
            return 0.0
        return float((np.abs(self.after / np.where(moved, self.before, 1.0) - 1.0)
                      * 100.0)[moved].max())

    @property
    def mean_confidence(self) -> float | None:
        """The source's mean confidence over the changed cells (None: it gave none)."""
        conf = self.overlay.confidence
        moved = self.changed
        return float(conf[moved].mean()) if conf is not None and moved.any() else None

    def why(self, row: int, col: int) -> str:
        """Cell (row, col)'s rule in words with its figure: 'authority limit ±10 %', 'WOT:
        limited to the measured rich error 2.1 %', 'VE bound 130 %'; '' when as proposed."""
        rule = CellRule(self.rules[row, col])
        if rule is CellRule.AS_PROPOSED:
            return ""
        if rule is CellRule.AUTHORITY:
            return f"{rule} {self.limits.authority_text(self.table)}"
        if rule is CellRule.WOT_RICH_ERROR:
            assert self.overlay.evidence is not None
            return f"{rule} {self.overlay.evidence[row, col]:.1f} %"
        if rule is CellRule.VE_BOUND:
            high = self.proposed[row, col] > self.before[row, col]
            return f"{rule} {self.limits.max_ve_pct if high else self.limits.min_ve_pct:g} %"
        return str(rule)

    def describe(self) -> str:
        """One line: 'autotune overlay on VE (...): 37 cells (5 limited: 4 authority limit
        ±10 %, 1 locked)'."""
        what = f"{self.overlay.source} overlay on {self.table.name}: " \
               f"{self.cells_changed} cell{'s' if self.cells_changed != 1 else ''}"
        counts = self.counts
        if counts:
            parts = [f"{n} {self._rule_text(rule)}" for rule, n in counts.items()]
            what += f" ({self.cells_limited} limited: {', '.join(parts)})"
        return what

    def _rule_text(self, rule: CellRule) -> str:
        if rule is CellRule.AUTHORITY:
            return f"{rule} {self.limits.authority_text(self.table)}"
        return str(rule)


def preview(tune: Tune, overlay: Overlay, limits: AuthorityLimits,
            selection: npt.ArrayLike | None = None) -> OverlayPreview:
    """What applying ``overlay`` to ``tune`` gives, cell by cell, under ``limits``;
    ``selection`` (a bool mask) keeps only those of the proposed cells."""
    table = tune.table(overlay.table)
    kind = table_kind(table)
    before = table.values
    proposed = overlay.proposed(before)
    considered = overlay.mask.copy()
    rules = np.full(table.shape, CellRule.AS_PROPOSED, dtype=object)
    rules[~considered] = CellRule.OUTSIDE_MASK
    if selection is not None:
        chosen = np.asarray(selection)
        if chosen.dtype != np.bool_ or chosen.shape != table.shape:
            raise InputError(f"overlay on {table.name!r}: the selection must be a true/false "
                             f"mask of shape {table.shape}, got {chosen.dtype} {chosen.shape}")
        rules[considered & ~chosen] = CellRule.NOT_SELECTED
        considered &= chosen
    target = np.where(considered, proposed, before)
    target = _apply_rules(tune, overlay, limits, table, kind, before, target, considered, rules)
    moved = considered & (target != before)
    after = np.where(moved, target, before)  # untouched cells: the old floats, bit for bit
    after.setflags(write=False)
    return OverlayPreview(overlay, table, kind, limits, before, proposed, after, rules)


def _apply_rules(tune: Tune, overlay: Overlay, limits: AuthorityLimits, table: Table,
                 kind: TableKind, before: FloatArray, target: FloatArray, considered: BoolMask,
                 rules: npt.NDArray[np.object_]) -> FloatArray:
    """Move ``target`` back within the rules; write each cell's binding rule into ``rules``."""
    value = target.copy()

    def limit(where: BoolMask, to: FloatArray | float, rule: CellRule) -> None:
        where = where & considered
        value[where] = np.broadcast_to(to, value.shape)[where]
        rules[where] = rule

    limit(tune.locked_mask(table.name) & (value != before), before, CellRule.LOCKED)
    held = rules == CellRule.LOCKED
    if kind is TableKind.SPARK:
        limit(~held & tune.knock_prone_mask(table.name) & (value > before), before,
              CellRule.KNOCK_PRONE)
    if kind is TableKind.VE:
        wot_lean = ~held & limits.wot_columns(table) & (value < before)
        evidence = overlay.evidence if overlay.source in MEASURED_SOURCES else None
        if evidence is None:
            limit(wot_lean, before, CellRule.WOT_NO_EVIDENCE)
        else:
            measured = np.isfinite(evidence) & (evidence > 0)
            limit(wot_lean & ~measured, before, CellRule.WOT_NO_EVIDENCE)
            floor = before * (1.0 - np.where(measured, evidence, 0.0) / 100.0)
            limit(wot_lean & measured & (value < floor), floor, CellRule.WOT_RICH_ERROR)
    held = _any_of(rules, (CellRule.LOCKED, CellRule.KNOCK_PRONE, CellRule.WOT_NO_EVIDENCE))
    low, high = limits.window(table, before)
    limit(~held & (value > high), high, CellRule.AUTHORITY)
    limit(~held & (value < low), low, CellRule.AUTHORITY)
    if kind is TableKind.VE:
        # A bound stops a cell going past it, and never moves a cell already past it.
        limit(~held & (value > limits.max_ve_pct) & (value > before),
              np.maximum(before, limits.max_ve_pct), CellRule.VE_BOUND)
        limit(~held & (value < limits.min_ve_pct) & (value < before),
              np.minimum(before, limits.min_ve_pct), CellRule.VE_BOUND)
    return value
