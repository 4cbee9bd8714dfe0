"""What the table editor's keys do to the tune, without Qt: each operation takes the table as
the session holds it, how it is shown (``CellFormat``: λ or its own unit) and the selected
cells, builds the new table with ``core.table_ops`` in the unit shown, and puts it in the
session as one undo step. Each returns a line saying what happened, for the status line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_clipboard import format_block, parse_block
from dynoai_desktop.core.table_ops import (
    Direction,
    add_cells,
    interpolate_cells,
    scale_cells,
    set_cells,
    smooth_cells,
)
from dynoai_desktop.ui.panels.table_editor_units import DEFAULT_STEPS, LAMBDA, CellFormat

_INTERPOLATION_WORDS = {"cols": "across each row", "rows": "down each column",
                        "both": "in 2-D from the corners"}
CellOp = Callable[[Table, np.ndarray], Table]


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the selected cells, inclusive; None when none are."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


@dataclass(frozen=True)
class Pasted:
    """What a paste did: the status line and the block's cells (top, left, bottom, right),
    or None when nothing was pasted."""

    text: str
    block: tuple[int, int, int, int] | None


class CellEdits:
    """The editor's operations on a ``TuneSession``."""

    def __init__(self, tune: TuneSession) -> None:
        self.tune = tune
        self.steps: dict[str, float] = dict(DEFAULT_STEPS)

    def apply(self, table: Table, fmt: CellFormat, mask: np.ndarray,
              describe: Callable[[int], str], op: CellOp) -> tuple[str, bool]:
        """Run ``op`` on ``table`` as shown over ``mask`` and put the result in the session;
        (what happened, whether the tune changed). Locked cells are kept by the session."""
        n = int(mask.sum())
        if not n:
            return "select cells first", False
        shown = table.with_values(fmt.to_display(table.values))
        try:
            result = op(shown, mask)
        except InputError as exc:
            return f"refused: {exc}", False
        # Only the selected cells take the result: a cell outside it is never re-rounded.
        values = np.where(mask, fmt.from_display(result.values), table.values)
        what = describe(n)
        version = self.tune.version
        held = self.tune.edit(table.with_values(values), f"{table.name}: {what}")
        kept = f"; {plural(held, 'locked cell')} kept" if held else ""
        if self.tune.version == version:
            return f"nothing changed ({what}){kept}", False
        return f"{what}{kept}", True

    def set_value(self, table: Table, fmt: CellFormat, mask: np.ndarray, value: float) -> str:
        """Set the selected cells to ``value`` (in the unit shown)."""
        return self.apply(table, fmt, mask,
                          lambda n: f"set {plural(n, 'cell')} to {value:g} {fmt.unit}",
                          lambda t, m: set_cells(t, m, value))[0]

    def step(self, table: Table, fmt: CellFormat, mask: np.ndarray, sign: int) -> str:
        """Step the selected cells up (+1) or down (-1) by the table kind's step."""
        step = self.steps.get(LAMBDA if fmt.lambda_shown else fmt.kind, fmt.step)
        delta = sign * step
        return self.apply(table, fmt, mask,
                          lambda n: f"{delta:+g} {fmt.unit} on {plural(n, 'cell')}",
                          lambda t, m: add_cells(t, m, delta))[0]

    def scale(self, table: Table, fmt: CellFormat, mask: np.ndarray, pct: float) -> str:
        """Scale the selected cells by ``pct`` percent (+5: ×1.05)."""
        factor = 1.0 + pct / 100.0
        return self.apply(table, fmt, mask,
                          lambda n: f"{pct:+g} % (×{factor:g}) on {plural(n, 'cell')}",
                          lambda t, m: scale_cells(t, m, pct))[0]

    def interpolate(self, table: Table, fmt: CellFormat, mask: np.ndarray,
                    direction: Direction | None) -> str:
        """"cols" across each row, "rows" down each column, "both" from the selection's
        corners; None: 2-D for a block, else along its one row or column."""
        box = bounding_box(mask)
        if box is None:
            return "select cells first"
        if direction is None:
            top, left, bottom, right = box
            if bottom > top and right > left:
                direction = "both"
            elif right > left:
                direction = "cols"
            elif bottom > top:
                direction = "rows"
            else:
                return "select at least two cells to interpolate between"
        chosen: Direction = direction
        return self.apply(
            table, fmt, mask,
            lambda n: f"interpolated {plural(n, 'cell')} {_INTERPOLATION_WORDS[chosen]}",
            lambda t, m: interpolate_cells(t, m, chosen))[0]

    def smooth(self, table: Table, fmt: CellFormat, mask: np.ndarray) -> str:
        """Smooth the selected cells once (each with its four neighbours)."""
        return self.apply(table, fmt, mask, lambda n: f"smoothed {plural(n, 'cell')}",
                          lambda t, m: smooth_cells(t, m, 1))[0]

    def toggle_lock(self, table: Table, mask: np.ndarray) -> str:
        """Lock the selection, or unlock it when every selected cell is locked already."""
        if not mask.any():
            return "select cells first"
        locked = self.tune.tune.locked_mask(table.name)
        lock = not bool(locked[mask].all())
        changed = self.tune.set_locked(table.name, mask, lock)
        if lock:
            return f"locked {plural(changed, 'cell')} (L again unlocks)"
        return f"unlocked {plural(changed, 'cell')}"

    # ------------------------------------------------------------------ clipboard
    @staticmethod
    def copy_text(shown: np.ndarray, mask: np.ndarray) -> tuple[str | None, str]:
        """(tab-separated text of the selected block in the unit shown, exactly; or None)
        and the status line. Only one rectangle can be copied."""
        box = bounding_box(mask)
        if box is None:
            return None, "select cells first"
        top, left, bottom, right = box
        if not mask[top:bottom + 1, left:right + 1].all() or int(mask.sum()) != (
                (bottom - top + 1) * (right - left + 1)):
            return None, "refused: copy needs one rectangular block; select a rectangle"
        block = shown[top:bottom + 1, left:right + 1]
        return format_block(block), (f"copied {block.shape[0]}×{block.shape[1]} cells "
                                     "(rows × columns) as tab-separated text")

    def paste(self, table: Table, fmt: CellFormat, mask: np.ndarray, text: str,
              where: Callable[[int, int], str]) -> Pasted:
        """Paste the tab-separated ``text`` with its top-left at the selection's top-left
        (one value fills the whole selection). A block larger than the room left from there
        is refused, never cropped; ``where(row, col)`` words a cell for that message."""
        try:
            block = parse_block(text)
        except InputError as exc:
            return Pasted(f"refused: {exc}", None)
        box = bounding_box(mask)
        if box is None:
            return Pasted("select the cell to paste at first", None)
        if block.shape == (1, 1) and mask.sum() > 1:
            value = float(block[0, 0])
            status, _ = self.apply(table, fmt, mask,
                                   lambda n: f"pasted {value:g} into {plural(n, 'cell')}",
                                   lambda t, m: set_cells(t, m, value))
            return Pasted(status, None)
        top, left = box[0], box[1]
        h, w = block.shape
        room_h, room_w = table.shape[0] - top, table.shape[1] - left
        if h > room_h or w > room_w:
            return Pasted(f"refused: the block is {h}×{w} (rows × columns) but only "
                          f"{room_h}×{room_w} cells are left from {where(top, left)}; "
                          "nothing was pasted", None)
        region = np.zeros(table.shape, dtype=bool)
        region[top:top + h, left:left + w] = True
        full = np.zeros(table.shape)
        full[top:top + h, left:left + w] = block
        status, _ = self.apply(table, fmt, region, lambda n: f"pasted a {h}×{w} block",
                               lambda t, m: set_cells(t, m, full))
        return Pasted(status, (top, left, top + h - 1, left + w - 1))

    # ------------------------------------------------------------------ history
    def undo(self) -> tuple[str, list[str]]:
        """Undo the last step; (what happened, the tables it changed)."""
        if not self.tune.can_undo:
            return "nothing to undo", []
        return self._history(self.tune.undo_text, self.tune.undo, "undid")

    def redo(self) -> tuple[str, list[str]]:
        """Redo the last undone step; (what happened, the tables it changed)."""
        if not self.tune.can_redo:
            return "nothing to redo", []
        return self._history(self.tune.redo_text, self.tune.redo, "redid")

    def _history(self, text: str, action: Callable[[], None], verb: str
                 ) -> tuple[str, list[str]]:
        before = self.tune.tune
        action()
        after = self.tune.tune
        touched = [name for name in after.tables
                   if before.tables.get(name) is not after.tables[name]
                   or before.locked.get(name) != after.locked.get(name)]
        return f"{verb}: {text}", touched

    def save_version(self) -> str:
        """Record the tune's edits as one version in the catalog."""
        try:
            number = self.tune.save_version()
        except InputError as exc:
            return f"not saved: {exc}"
        return "nothing new to save" if number is None else f"saved as version {number}"
