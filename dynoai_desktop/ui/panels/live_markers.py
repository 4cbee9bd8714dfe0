"""Markers on the live strip charts: a labelled vertical line per marker on every chart, the
notes placed so that they never overlap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF

from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.live_charts import StripChart

MARKER_ROWS = 3  # rows of notes from the top of the chart down (at most half its height)
MARKER_NOTE_MAX_PX = 150.0  # a longer note is cut with "…"; all of it in the tooltip
MARKER_GAP_PX = 6.0
MARKER_NOTE_FILL = QColor(30, 33, 37, 200)  # the charts' background, so a note reads over data


@dataclass
class _Marker:
    time_s: float
    note: str
    lines: list[pg.InfiniteLine] = field(default_factory=list)
    shown_text: str = ""


class MarkerLines:
    """Markers as labelled vertical lines on every chart (the note on the top chart only).

    Notes never overlap: from the newest back, each note sits left of its line in the first of
    ``MARKER_ROWS`` rows (one note high each) with room; a long note is cut with "…"; a marker
    with no room left shows its line only. Every line's tooltip has the whole note.
    """

    def __init__(self, charts: Sequence[StripChart]) -> None:
        self.charts = tuple(charts)
        self.markers: list[_Marker] = []

    def add(self, time_s: float, note: str) -> None:
        marker = _Marker(time_s, note)
        for i, chart in enumerate(self.charts):
            label = {"label": "", "labelOpts": {
                "position": 0.9, "color": theme.TEXT, "fill": MARKER_NOTE_FILL,
                "anchors": [(1, 0.5), (1, 0.5)]}} if i == 0 else {}
            line = pg.InfiniteLine(pos=time_s, angle=90, movable=False,
                                   pen=pg.mkPen(theme.MUTED, width=1), **label)
            line.setToolTip(note)
            line.setParentItem(chart.scroller)
            marker.lines.append(line)
        self.markers.append(marker)
        self.markers.sort(key=lambda m: m.time_s)
        self.layout()

    def clear(self) -> None:
        """Take every marker away (the panel shows another buffer)."""
        for marker in self.markers:
            for line in marker.lines:
                scene = line.scene()
                if scene is not None:
                    scene.removeItem(line)
        self.markers.clear()

    def layout(self) -> None:
        """Place every note (after a new marker, a new window or a resize)."""
        top = self.charts[0]
        px_per_s, height_px = top.px_per_s(), top.vb.height()
        if px_per_s <= 0 or height_px <= 0 or not self.markers:
            return
        label0 = self.markers[0].lines[0].label
        metrics = QFontMetricsF(label0.textItem.font())
        pitch_px = label0.boundingRect().height() + 2  # a note's height (text and padding)
        rows = max(1, min(MARKER_ROWS, int(height_px / 2 // pitch_px)))
        positions = [1 - (pitch_px / 2 + 2 + r * pitch_px) / height_px for r in range(rows)]
        row_left = [math.inf] * rows  # left edge of the last note placed in each row
        for marker in reversed(self.markers):
            label = marker.lines[0].label
            x = marker.time_s * px_per_s
            row = next((r for r, left in enumerate(row_left) if x + MARKER_GAP_PX <= left), None)
            text = ""
            if row is not None:
                text = metrics.elidedText(marker.note, Qt.TextElideMode.ElideRight,
                                          MARKER_NOTE_MAX_PX)
                row_left[row] = x - metrics.horizontalAdvance(text) - MARKER_GAP_PX
                label.setPosition(positions[row])
            marker.shown_text = text
            label.setFormat(text.replace("{", "{{").replace("}", "}}"))  # a format string
            label.setVisible(bool(text))
            label.setToolTip(marker.note)

    def labels(self) -> list[tuple[str, QRectF]]:
        """Each shown note and where it is on the scene (for tests)."""
        return [(m.shown_text, m.lines[0].label.sceneBoundingRect()) for m in self.markers
                if m.shown_text]

    def show_window(self, newest_s: float, window_s: float, *, all_markers: bool = False
                    ) -> None:
        """Hide the lines of markers older than the window (they then cost nothing to paint);
        each frame looks only at the markers that may just have scrolled out; ``all_markers``
        after the window changed."""
        oldest = newest_s - window_s
        for marker in self.markers:
            visible = marker.time_s >= oldest
            if not all_markers and visible:
                break
            if marker.lines[0].isVisible() != visible:
                for line in marker.lines:
                    line.setVisible(visible)
