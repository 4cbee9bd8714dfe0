"""The autotune's pending corrections drawn over the editor's cells: the change in % in each
cell's corner, green where VE goes up (lean), red where it goes down (rich), stronger the
surer; held cells marked with why."""

from __future__ import annotations

import numpy as np

from dynoai_desktop.core.autotune import TableCorrection
from dynoai_desktop.ui.panels.table_model import CellLayer

LEAN_UP = (67, 170, 139)  # VE raised
RICH_DOWN = (249, 65, 68)  # VE lowered
HELD = (144, 144, 144)
FULL_TINT_PCT = 5.0  # a change this big (or more) gets the full tint
HELD_NOTES = {
    "too_few_samples": "",  # the commonest: a faint tint, no note (the grid stays readable)
    "ci_too_wide": "wide",
    "locked": "lock",
    "closed_loop": "CL",
}
HELD_WORDS = {
    "too_few_samples": "too few samples yet",
    "ci_too_wide": "the samples disagree (interval too wide)",
    "locked": "the cell is locked",
    "closed_loop": "the ECM trimmed it in closed loop",
}


def pending_layer(correction: TableCorrection) -> CellLayer:
    """A layer over the correction's table (raw shape): each cell the analysis saw."""
    shape = correction.base.shape
    mask = np.zeros(shape, dtype=bool)
    tints = np.zeros((*shape, 4), dtype=np.uint8)
    notes = np.full(shape, "", dtype=object)
    tips = np.full(shape, "", dtype=object)
    for cell in correction.cells:
        r, c = cell.row, cell.col
        if cell.samples_used == 0 and cell.correction_pct is None:
            continue
        mask[r, c] = True
        applied = correction.change_pct[r, c]
        measured = ("" if cell.correction_pct is None else
                    f"measured {cell.correction_pct:+.1f} %"
                    + (f" ± {cell.ci95_pct:.1f}" if cell.ci95_pct is not None else ""))
        evidence = f"{cell.samples_used} samples, confidence {cell.confidence:.0%}"
        if np.isfinite(applied):
            colour = LEAN_UP if applied > 0 else RICH_DOWN
            strength = 0.25 + 0.75 * min(1.0, abs(applied) / FULL_TINT_PCT) * cell.confidence
            tints[r, c] = (*colour, int(40 + 140 * strength))
            notes[r, c] = f"{applied:+.1f}"
            limited = " (limited by the authority)" if cell.held_reason == "clamped" else ""
            tips[r, c] = f"autotune: {applied:+.1f} %{limited}; {measured}; {evidence}"
        else:
            reason = cell.held_reason or "too_few_samples"
            tints[r, c] = (*HELD, 35 if reason == "too_few_samples" else 80)
            notes[r, c] = HELD_NOTES.get(reason, "held")
            tips[r, c] = (f"autotune holds this cell: {HELD_WORDS.get(reason, reason)}"
                          + (f"; {measured}" if measured else "") + f"; {evidence}")
    return CellLayer(mask, tints, notes, tips, "autotune pending")
