"""An overlay's preview over the editor's grid, and the bar that applies or discards it.

Every proposed cell shows its change beside its value (+4.2 for VE in %, -0.3 for AFR): green
where it adds, red where it takes away, stronger the bigger it is; cells a rule held or limited
are amber with a ⚠ and their reason in the tooltip ("proposed +14.2 %, applied +10.0 %):
authority limit ±10 %").
Apply takes every proposed cell, or only the selected ones; Discard leaves the tune as it was.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from dynoai_desktop.core.overlay import OverlayKind, OverlayPreview
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.table_editor_units import CellFormat
from dynoai_desktop.ui.panels.table_model import CellLayer
from dynoai_desktop.ui.widgets import ElidedLabel

ADDS, TAKES, LIMITED = (67, 170, 139), (249, 65, 68), (255, 170, 0)
FULL_TINT_PCT = 10.0  # a change this big (or the authority limit) gets the strongest tint


def _changes(preview: OverlayPreview, fmt: CellFormat) -> tuple[np.ndarray, np.ndarray, str]:
    """(applied, proposed) change per cell in the unit the tuner reads it in, and that unit."""
    before, after = preview.before, preview.after
    proposed = np.where(np.isnan(preview.proposed), before, preview.proposed)
    if preview.overlay.kind is OverlayKind.MULTIPLICATIVE:
        base = np.where(before == 0.0, 1.0, before)
        return (100.0 * (after - before) / base, 100.0 * (proposed - before) / base, "%")
    return (fmt.to_display(after) - fmt.to_display(before),
            fmt.to_display(proposed) - fmt.to_display(before), fmt.unit)


def overlay_layer(preview: OverlayPreview, fmt: CellFormat) -> CellLayer:
    """The preview as a layer over the editor's cells (the table's raw shape)."""
    applied, proposed, unit = _changes(preview, fmt)
    decimals = 1 if unit == "%" else fmt.decimals
    considered, limited = preview.considered, preview.limited
    name = f"{preview.overlay.source} overlay"
    tints = np.zeros((*applied.shape, 4), dtype=np.uint8)
    notes = np.full(applied.shape, "", dtype=object)
    tips = np.full(applied.shape, "", dtype=object)
    scale = (100.0 * (preview.after - preview.before)
             / np.where(preview.before == 0.0, 1.0, preview.before))
    strength = np.clip(np.abs(scale) / FULL_TINT_PCT, 0.25, 1.0)
    shown_before, shown_after = fmt.to_display(preview.before), fmt.to_display(preview.after)
    suffix = " %" if unit == "%" else ""  # in tooltips; the cell's note stays short
    for r, c in zip(*np.nonzero(considered), strict=True):
        change = applied[r, c]
        text = f"{change:+.{decimals}f}{suffix}"
        note = f"{change:+.{decimals}f}"
        if limited[r, c]:
            tints[r, c] = (*LIMITED, 150)
            notes[r, c] = f"⚠{note}" if preview.changed[r, c] else "⚠held"
            tips[r, c] = (f"{name}: {fmt.text(shown_before[r, c])} → "
                          f"{fmt.text(shown_after[r, c])} (proposed "
                          f"{proposed[r, c]:+.{decimals}f}{suffix}, applied {text}): "
                          f"{preview.why(r, c)}")
        else:
            colour = ADDS if change > 0 else TAKES
            tints[r, c] = (*colour, int(60 + 110 * strength[r, c]))
            notes[r, c] = note
            tips[r, c] = (f"{name}: {fmt.text(shown_before[r, c])} → "
                          f"{fmt.text(shown_after[r, c])} ({text})")
    return CellLayer(considered, tints, notes, tips, name)


def summary(preview: OverlayPreview) -> str:
    """One line for the bar: what proposes what, and what the rules did."""
    overlay = preview.overlay
    text = (f"Preview: {overlay.source} overlay on {overlay.table}: "
            f"{int(preview.considered.sum())} cells proposed, {preview.cells_changed} change")
    if preview.cells_limited:
        reasons = ", ".join(f"{n} {rule}" for rule, n in preview.counts.items())
        text += f", {preview.cells_limited} held or limited ({reasons})"
    if preview.mean_confidence is not None:
        text += f"; mean confidence {preview.mean_confidence:.0%}"
    return text


class OverlayBar(QWidget):
    """Shown while an overlay is previewed: what it does, Apply all / Apply selected / Discard."""

    apply_all = Signal()
    apply_selected = Signal()
    discard = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("overlay_bar")
        self.label = ElidedLabel()
        self.label.setObjectName("overlay_summary")
        self.label.setStyleSheet(f"color: {theme.WARN};")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("overlay_apply")
        self.apply_button.setToolTip("Apply every proposed cell as one step (Ctrl+Z undoes it)")
        self.selected_button = QPushButton("Apply selected")
        self.selected_button.setObjectName("overlay_apply_selected")
        self.selected_button.setToolTip("Apply only the proposed cells inside the selection")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setObjectName("overlay_discard")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, stretch=1)
        row.addWidget(self.apply_button)
        row.addWidget(self.selected_button)
        row.addWidget(self.discard_button)
        self.apply_button.clicked.connect(self.apply_all)
        self.selected_button.clicked.connect(self.apply_selected)
        self.discard_button.clicked.connect(self.discard)
        self.hide()

    def show_summary(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)
        self.show()
