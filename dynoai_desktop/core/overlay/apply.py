"""Applying an overlay: the new tune, and the record of what was applied under which limits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy.typing as npt

from dynoai_desktop.core.overlay.limits import AuthorityLimits
from dynoai_desktop.core.overlay.model import Overlay, OverlaySource
from dynoai_desktop.core.overlay.rules import CellRule, OverlayPreview, preview
from dynoai_desktop.core.tune import ChangeSource, Tune


@dataclass(frozen=True)
class OverlayRecord:
    """What one application of an overlay did: for the undo stack and the tune's history."""

    source: OverlaySource
    table: str
    description: str  # the overlay's own words
    limits: AuthorityLimits
    limits_text: str  # the limits that bounded this table, in words
    cells_proposed: int  # in the mask (and the selection)
    cells_changed: int
    cells_limited: int
    counts: dict[CellRule, int] = field(default_factory=dict)
    summary: str = ""  # one line, as the preview describes it
    mean_confidence: float | None = None
    when: str = ""  # ISO 8601, given by the caller (core reads no clocks)

    @property
    def made_by(self) -> ChangeSource:
        return self.source.change_source

    @property
    def undo_text(self) -> str:
        """'autotune overlay: 37 cells, 5 limited'."""
        text = f"{self.source} overlay: {self.cells_changed} " \
               f"cell{'s' if self.cells_changed != 1 else ''}"
        return text + (f", {self.cells_limited} limited" if self.cells_limited else "")

    @property
    def note(self) -> str:
        """The version note: source, table, cells, what limited them, the limits used."""
        parts = [self.summary, f"limits: {self.limits_text}"]
        if self.mean_confidence is not None:
            parts.append(f"mean confidence {self.mean_confidence:.2f}")
        if self.description:
            parts.append(self.description)
        return "; ".join(parts)


def record_of(shown: OverlayPreview, when: str = "") -> OverlayRecord:
    """The record of applying what ``shown`` previews."""
    overlay = shown.overlay
    return OverlayRecord(
        source=overlay.source,
        table=overlay.table,
        description=overlay.description,
        limits=shown.limits,
        limits_text=shown.limits.summary(shown.table),
        cells_proposed=int(shown.considered.sum()),
        cells_changed=shown.cells_changed,
        cells_limited=shown.cells_limited,
        counts=shown.counts,
        summary=shown.describe(),
        mean_confidence=shown.mean_confidence,
        when=when,
    )


def apply(tune: Tune, overlay: Overlay, limits: AuthorityLimits,
          selection: npt.ArrayLike | None = None, when: str = "",
          ) -> tuple[Tune, OverlayRecord]:
    """The tune with ``overlay`` applied under ``limits`` (only the ``selection`` of its cells,
    when given), and the record of it. The rules of :func:`preview` hold here too: this is the
    only way an overlay changes a tune. Nothing changed: the same tune object comes back."""
    shown = preview(tune, overlay, limits, selection)
    record = record_of(shown, when)
    if not shown.cells_changed:
        return tune, record
    return tune.with_table(shown.table.with_values(shown.after)), record
