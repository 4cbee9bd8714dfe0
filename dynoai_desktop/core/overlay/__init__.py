"""Overlays: every automatic or bulk change to a table, previewed and bounded before it lands.

An :class:`Overlay` proposes per-cell changes to one named table (percent or in the table's
units) with a mask, a source, an optional confidence and measured evidence per cell.
:func:`preview` shows per cell what it would do and why a cell was held or limited;
:func:`apply` gives the new tune and an :class:`OverlayRecord` for the history. The rules
(``rules``) hold in both, whoever calls: locked cells untouched, the authority limit, no spark
advance in knock-prone cells, no leaner WOT VE without measured evidence, untouched cells bitwise
equal. docs/overlays.md says what each rule protects.
"""

from dynoai_desktop.core.overlay.apply import OverlayRecord, apply, record_of
from dynoai_desktop.core.overlay.from_table import overlay_from_changes
from dynoai_desktop.core.overlay.limits import AuthorityLimits, TableKind, table_kind
from dynoai_desktop.core.overlay.model import (
    MEASURED_SOURCES,
    Overlay,
    OverlayKind,
    OverlaySource,
)
from dynoai_desktop.core.overlay.rules import (
    LIMITING_RULES,
    CellRule,
    OverlayPreview,
    preview,
)

__all__ = [
    "LIMITING_RULES",
    "MEASURED_SOURCES",
    "AuthorityLimits",
    "CellRule",
    "Overlay",
    "OverlayKind",
    "OverlayPreview",
    "OverlayRecord",
    "OverlaySource",
    "TableKind",
    "apply",
    "overlay_from_changes",
    "preview",
    "record_of",
    "table_kind",
]
