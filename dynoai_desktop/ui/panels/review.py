"""Review panel: a saved run or an imported log on time-linked charts, with markers and a cursor.

Files are opened only through the app's ``RunLibrary`` (saved runs and imported logs); the panel
draws what it returns. Values are stored and looked up in canonical units and shown in the user's
display units. The charts (review_plots.py) are x-linked; pyqtgraph gives scroll-zoom and
drag-pan; a chart with no data in the file is left out and named under the charts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.run_library import RunLibrary, RunView
from dynoai_desktop.core.channels import CHANNELS
from dynoai_desktop.core.display import DisplayUnits, display_unit, format_value
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import convert
from dynoai_desktop.storage.log_import import KNOWN_FORMATS
from dynoai_desktop.storage.run_files import Marker
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.review_charts import (
    CHARTS,
    TRACES,
    format_duration,
    nearest_index,
)
from dynoai_desktop.ui.panels.review_plots import ChartStack

if TYPE_CHECKING:
    import pandas as pd

MARKER_ZOOM_S = 10.0  # window a marker click zooms to when the whole run is shown
CURSOR_STEP_SAMPLES = (1, 10)  # arrow keys; with Shift
NOTES_CLIP_CHARS = 140
SIDE_PX = 220  # the markers and cursor column beside the charts
SIDE_BELOW_PX = 640  # narrower than this, that column goes under the charts
SIDE_SHARE_BELOW = 0.25  # the collapsed importer notes show this much of the first note

RUN_FILTER = "DynoAI runs (*.parquet);;All files (*)"
LOG_FILTER = ("Logs (*.msl *.mlg *.csv);;MegaSquirt/TunerStudio (*.msl *.mlg);;CSV logs (*.csv);;"
              "All files (*)")

class ReviewPanel(QWidget):
    """Charts of one run or log; markers to jump to; the values under the mouse."""

    replay_requested = Signal(str)  # the path of the saved run shown: play it in the live panels

    def __init__(self, library: RunLibrary, units: DisplayUnits | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.units = units if units is not None else DisplayUnits()
        self.times = np.empty(0)
        self.values: dict[str, np.ndarray] = {}  # shown channel -> samples, canonical units
        self.markers: tuple[Marker, ...] = ()
        self.notes: tuple[str, ...] = ()
        self.cursor_s: float | None = None  # where the cursor is (time_s), None before any

        self.open_run_button = QPushButton("Open run…")
        self.open_log_button = QPushButton("Import log…")
        self.open_log_button.setToolTip("Reads:\n" + "\n".join(KNOWN_FORMATS))
        self.run_path: Path | None = None  # the saved run shown (None: a log, or nothing)
        self.replay_button = QPushButton("Replay in Live")  # enabled while a saved run is shown
        self.replay_button.setToolTip("Play this run through the live panels at 1×–20×")
        self.replay_button.setEnabled(False)
        self.replay_button.clicked.connect(lambda: self.replay_requested.emit(str(self.run_path)))
        self.title = QLabel("No run open: open a saved run or import a log to review it.")
        self.title.setObjectName("review_title")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.error = QLabel()
        self.error.setObjectName("review_error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet(
            f"background: {theme.FAULT}; color: {theme.BACKGROUND}; padding: 6px; "
            "border-radius: 3px;"
        )
        self.error.hide()
        self.notes_label = QLabel()
        self.notes_label.setObjectName("review_notes")
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_toggle = QToolButton()
        self.notes_toggle.setCheckable(True)
        self.notes_toggle.setText("Show all")
        self.notes_toggle.toggled.connect(self._show_notes)

        self.charts = pg.GraphicsLayoutWidget()
        self.charts.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.charts.installEventFilter(self)  # ← → move the cursor, not the view
        self.charts.scene().sigMouseMoved.connect(self._mouse_moved)
        self.stack = ChartStack(self.charts.ci)
        self.absent_label = QLabel()
        self.absent_label.setObjectName("review_absent")
        self.absent_label.setToolTip("Charts left out: the file has no values for their "
                                     "channels.")
        self.absent_label.hide()
        self.marker_list = QListWidget()
        self.marker_list.setObjectName("review_markers")
        self.marker_list.itemClicked.connect(self._marker_clicked)
        self.marker_list.itemActivated.connect(self._marker_clicked)
        self.markers_title = QLabel("Markers")
        self.cursor_label = QLabel("Move the mouse over the charts to read the values.")
        self.cursor_label.setObjectName("review_cursor")
        self.cursor_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.cursor_label.setWordWrap(True)
        muted = f"color: {theme.MUTED};"
        self.markers_title.setStyleSheet(muted)
        self.absent_label.setStyleSheet(muted)

        top = QHBoxLayout()
        top.addWidget(self.title, stretch=1)
        top.addWidget(self.open_run_button)
        top.addWidget(self.replay_button)
        top.addWidget(self.open_log_button)
        notes_row = QHBoxLayout()
        notes_row.addWidget(self.notes_label, stretch=1)
        notes_row.addWidget(self.notes_toggle, alignment=Qt.AlignmentFlag.AlignTop)
        side = QWidget()
        self.side_layout = QVBoxLayout(side)  # markers over the cursor; side by side when below
        self.side_layout.setContentsMargins(4, 0, 0, 0)
        at_cursor = QLabel("At the cursor")
        at_cursor.setStyleSheet(muted)
        for title, shown in ((self.markers_title, self.marker_list),
                             (at_cursor, self.cursor_label)):
            column = QVBoxLayout()
            column.addWidget(title)
            column.addWidget(shown, stretch=1)
            self.side_layout.addLayout(column, stretch=1)
        charts_pane = QWidget()
        charts_layout = QVBoxLayout(charts_pane)
        charts_layout.setContentsMargins(0, 0, 0, 0)
        charts_layout.setSpacing(2)
        charts_layout.addWidget(self.charts, stretch=1)
        charts_layout.addWidget(self.absent_label)
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(charts_pane)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([800, SIDE_PX])
        self.side_below = False  # the markers and cursor under the charts (a narrow panel)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addLayout(notes_row)
        layout.addWidget(splitter, stretch=1)

        self.open_run_button.clicked.connect(self._ask_open_run)
        self.open_log_button.clicked.connect(self._ask_open_log)
        self._set_notes(())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        """Narrower than SIDE_BELOW_PX (beside the run library in a narrow dock), the markers
        and the cursor read-out go under the charts, so the charts keep the whole width."""
        super().resizeEvent(event)
        below = self.width() < SIDE_BELOW_PX
        if below == self.side_below:
            return
        self.side_below = below
        vertical, horizontal = Qt.Orientation.Vertical, Qt.Orientation.Horizontal
        self.splitter.setOrientation(vertical if below else horizontal)
        self.side_layout.setDirection(QBoxLayout.Direction.LeftToRight if below
                                      else QBoxLayout.Direction.TopToBottom)
        extent = self.splitter.height() if below else self.splitter.width()
        side = int(extent * SIDE_SHARE_BELOW) if below else SIDE_PX
        self.splitter.setSizes([max(1, extent - side), side])

    # ------------------------------------------------------------------ opening

    def open_run(self, path: str | Path) -> bool:
        """Show the saved run at ``path``; False (and the reason in the panel) if it can't be."""
        if not self._show_opened(lambda: self.library.open_run(path, columns=tuple(TRACES))):
            return False
        self.run_path = Path(path)  # show_frame forgot the one before
        self.replay_button.setEnabled(True)
        return True

    def open_log(self, path: str | Path) -> bool:
        """Import the log at ``path`` and show it; False (and the reason shown) if it can't be."""
        return self._show_opened(lambda: self.library.import_log(path))

    def _show_opened(self, opening: Callable[[], RunView]) -> bool:
        try:
            view = opening()
        except InputError as exc:
            self.show_error(str(exc))
            return False
        self.show_frame(view.frame, view.markers, view.title, view.notes)
        return True

    def show_error(self, message: str) -> None:
        """Say in the panel why a file could not be shown; what was shown stays."""
        self.error.setText(message)
        self.error.show()

    def show_frame(
        self,
        frame: pd.DataFrame,
        markers: Sequence[Marker] = (),
        title: str = "",
        notes: Sequence[str] = (),
    ) -> None:
        """Draw ``frame`` (canonical channels and units, ``time_s`` increasing) with markers."""
        if "time_s" not in frame.columns:
            self.show_error(f"{title or 'this data'}: has no time_s column, so it cannot be drawn")
            return
        self.error.hide()
        self.run_path = None
        self.replay_button.setEnabled(False)
        self.times = _samples(frame, "time_s")
        self.values = {}
        for channel in TRACES:
            if channel in frame.columns:
                samples = _samples(frame, channel)
                if not np.isnan(samples).all():
                    self.values[channel] = samples
        self.markers = tuple(sorted(markers, key=lambda m: m.time_s))
        rows = len(self.times)
        span = format_duration(self.duration_s) if rows else "no samples"
        self.title.setText(" · ".join(p for p in (title, f"{rows:,} rows", span) if p))
        self._set_notes(notes)
        self._draw(self._whole_run())
        self._fill_marker_list()
        self.cursor_s = None
        self.cursor_label.setText("Move the mouse over the charts (or ← → keys) to read the "
                                  "values.")

    @property
    def duration_s(self) -> float:
        return float(self.times[-1] - self.times[0]) if self.times.size else 0.0

    # ------------------------------------------------------------------ charts

    def _draw(self, x_range: tuple[float, float]) -> None:
        self.stack.show(self.times, self.values, self.markers, self.units, x_range)
        absent = [c.title for c in CHARTS if not any(t.channel in self.values for t in c.traces)]
        self.absent_label.setText(f"Not logged: {', '.join(absent)}" if absent else "")
        self.absent_label.setVisible(bool(absent) and self.times.size > 0)

    @property
    def plots(self) -> list[pg.PlotItem]:
        """The charts shown, top to bottom."""
        return self.stack.plots

    @property
    def curves(self) -> dict[str, pg.PlotDataItem]:
        """The traces drawn, by channel."""
        return self.stack.curves

    @property
    def cursor_lines(self) -> list[pg.InfiniteLine]:
        return self.stack.cursor_lines

    def show_whole_run(self) -> None:
        """Zoom out to the whole run in time."""
        if self.plots:
            self.plots[0].setXRange(*self._whole_run(), padding=0)

    def _whole_run(self) -> tuple[float, float]:
        if self.times.size:
            start, end = float(self.times[0]), float(self.times[-1])
        else:
            start, end = 0.0, 1.0
        if end - start <= 0:
            start, end = start - 0.5, end + 0.5
        return start, end

    def x_range(self) -> tuple[float, float]:
        """The time span in view (seconds)."""
        if not self.plots:
            return (0.0, 0.0)
        lo, hi = self.plots[0].viewRange()[0]
        return (float(lo), float(hi))

    def centre_on(self, time_s: float) -> None:
        """Centre the charts on ``time_s``, keeping the zoom; from the whole run, zoom to 10 s."""
        if not self.plots:
            return
        lo, hi = self.x_range()
        width = hi - lo
        if self.times.size and width >= 0.999 * self.duration_s:
            width = MARKER_ZOOM_S
        self.plots[0].setXRange(time_s - width / 2, time_s + width / 2, padding=0)

    # ------------------------------------------------------------------ markers

    def _fill_marker_list(self) -> None:
        self.marker_list.clear()
        for marker in self.markers:
            item = QListWidgetItem(f"{marker.time_s:.1f} s  {marker.note}".rstrip())
            item.setData(Qt.ItemDataRole.UserRole, float(marker.time_s))
            item.setToolTip(marker.note)
            self.marker_list.addItem(item)
        count = len(self.markers)
        self.markers_title.setText(f"Markers ({count})" if count else "Markers: none")

    def _marker_clicked(self, item: QListWidgetItem) -> None:
        self.centre_on(float(item.data(Qt.ItemDataRole.UserRole)))

    # ------------------------------------------------------------------ cursor

    def values_at(self, time_s: float) -> dict[str, float]:
        """Each shown channel's nearest sample to ``time_s`` (canonical units; NaN if none)."""
        index = nearest_index(self.times, time_s)
        return {
            channel: math.nan if index is None else float(samples[index])
            for channel, samples in self.values.items()
        }

    def cursor_text(self, time_s: float) -> str:
        """The time and each shown channel's value there, in the user's display units."""
        lines = [f"{time_s:.2f} s"]
        for channel, value in self.values_at(time_s).items():
            source, shown = self._units_of(channel)
            text = format_value(float(convert(value, source, shown)), shown)
            lines.append(f"{TRACES[channel].name}: {text}")
        return "\n".join(lines)

    def show_cursor(self, time_s: float) -> None:
        """Put the cursor line at ``time_s`` on every chart and list the values there."""
        self.cursor_s = time_s
        for line in self.cursor_lines:
            line.setPos(time_s)
            line.show()
        self.cursor_label.setText(self.cursor_text(time_s))

    def move_cursor(self, samples: int) -> None:
        """Move the cursor by ``samples`` samples (negative: back); from the middle of the view
        when there is no cursor yet. It stays on the run and the view follows it."""
        if self.times.size == 0:
            return
        if self.cursor_s is None:
            lo, hi = self.x_range()
            index = nearest_index(self.times, (lo + hi) / 2) or 0
        else:
            index = nearest_index(self.times, self.cursor_s) or 0
            index = min(max(index + samples, 0), self.times.size - 1)
        time_s = float(self.times[index])
        lo, hi = self.x_range()
        if not lo <= time_s <= hi:
            self.centre_on(time_s)
        self.show_cursor(time_s)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (watched is self.charts and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right)):
            self.keyPressEvent(event)
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        step = CURSOR_STEP_SAMPLES[1 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier
                                   else 0]
        if event.key() == Qt.Key.Key_Left:
            self.move_cursor(-step)
        elif event.key() == Qt.Key.Key_Right:
            self.move_cursor(step)
        else:
            super().keyPressEvent(event)

    def set_units(self, units: DisplayUnits) -> None:
        """Show every value in ``units`` from now on: axes, legends, read-outs."""
        self.units = units
        if self.times.size or self.values:
            view = self.x_range()
            self._draw(view if view != (0.0, 0.0) else self._whole_run())
            if self.cursor_s is not None:
                self.show_cursor(self.cursor_s)

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        for plot in self.plots:
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                self.show_cursor(plot.vb.mapSceneToView(scene_pos).x())
                return

    # ------------------------------------------------------------------ header notes

    def _set_notes(self, notes: Sequence[str]) -> None:
        self.notes = tuple(notes)
        has_notes = bool(self.notes)
        self.notes_label.setVisible(has_notes)
        self.notes_toggle.setVisible(len(self.notes) > 1 or self._clipped(self.notes))
        self.notes_label.setToolTip("\n".join(self.notes))
        refused = any(n.startswith("Not used:") for n in self.notes)
        self.notes_label.setStyleSheet(f"color: {theme.WARN if refused else theme.MUTED};")
        self._show_notes(self.notes_toggle.isChecked())

    def _show_notes(self, expanded: bool) -> None:
        self.notes_toggle.setText("Show less" if expanded else "Show all")
        if not self.notes:
            self.notes_label.clear()
        elif expanded:
            self.notes_label.setText("\n".join(f"• {n}" for n in self.notes))
        else:
            first = self.notes[0]
            if len(first) > NOTES_CLIP_CHARS:
                first = first[: NOTES_CLIP_CHARS - 1] + "…"
            more = len(self.notes) - 1
            self.notes_label.setText(f"• {first}" + (f"  (+{more} more)" if more else ""))

    @staticmethod
    def _clipped(notes: Sequence[str]) -> bool:
        return any(len(n) > NOTES_CLIP_CHARS for n in notes)

    # ------------------------------------------------------------------ helpers

    def _unit(self, channel: str) -> str:
        return display_unit(channel, self.units)

    def _units_of(self, channel: str) -> tuple[str, str]:
        return CHANNELS[channel].unit, self._unit(channel)

    def _ask_open_run(self) -> None:
        folder = self.library.runs_folder()  # the saved runs, not the program's folder
        name, _ = QFileDialog.getOpenFileName(self, "Open run", str(folder or ""), RUN_FILTER)
        if name:
            self.open_run(name)

    def _ask_open_log(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import log", str(self.library.log_folder()),
                                              LOG_FILTER)
        if name:
            self.open_log(name)


def _samples(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with missing values NaN; a float64 column as it is, not copied."""
    series = frame[column]
    if series.dtype == np.float64:
        return series.to_numpy()
    return series.to_numpy(dtype=np.float64, na_value=np.nan)
