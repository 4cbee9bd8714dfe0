"""An overlay from a table of changes: a correction table from another tool, or a tuner's own.

The change table has the target table's axes; each nonzero cell is a proposed change, zero cells
are left alone. VE tables take percent changes (+3 = × 1.03), AFR and spark tables changes in
their own units (-0.3 AFR, +1.5°), as tuners write corrections for each.
"""

from __future__ import annotations

import numpy as np

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay.limits import TableKind, table_kind
from dynoai_desktop.core.overlay.model import Overlay, OverlayKind, OverlaySource
from dynoai_desktop.core.table import Table


def overlay_from_changes(target: Table, changes: Table, source: OverlaySource,
                         description: str = "") -> Overlay:
    """The overlay proposing ``changes`` (same axes as ``target``) for ``target``."""
    if (changes.shape != target.shape or changes.col_axis != target.col_axis
            or not np.array_equal(changes.row_breakpoints, target.row_breakpoints)
            or not np.array_equal(changes.col_breakpoints, target.col_breakpoints)):
        raise InputError(
            f"the change table {changes.name or '(unnamed)'!r} is {changes.shape[0]} x "
            f"{changes.shape[1]} over rpm x {changes.col_axis}; {target.name!r} is "
            f"{target.shape[0]} x {target.shape[1]} over rpm x {target.col_axis} with other "
            "breakpoints: export the table, write the changes on its axes and try again")
    kind = (OverlayKind.MULTIPLICATIVE if table_kind(target) is TableKind.VE
            else OverlayKind.ABSOLUTE)
    values = changes.values
    return Overlay(target.name, kind, values, values != 0.0, source,
                   description=description or f"{source} changes from {changes.name or 'a table'}")
