"""The table editor: one tune table as a grid a tuner edits with the keys TunerStudio and Power
Vision taught them.

    type a number   set the selected cells (Enter applies, Esc cancels)
    =               set the selected cells to a value typed next
    + / -           step the selected cells up / down (0.5 VE, 0.1 AFR, 0.01 λ, 0.5° spark)
    *               scale the selected cells by a percentage typed next (5 = +5 %, -3 = -3 %)
    I               interpolate: 2-D from the selection's corners (along its one row or column
                    when it is a line); H across each row, V down each column
    S               smooth (each cell with its four neighbours)
    L               lock the selection, or unlock it when it is all locked
    Ctrl+C / Ctrl+V copy / paste a block as tab-separated text (Excel, LibreOffice)
    Ctrl+Z / Ctrl+Y undo / redo (also Ctrl+Shift+Z), one step per key whatever it moved
    Ctrl+S          save the edits as a version of the tune

Every change goes through the app's ``TuneSession`` (one history for the whole app); this view
only turns keys into new tables (``core.table_ops``) and shows what the session holds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import (
    QFocusEvent,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QLineEdit, QTableView

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_ops import Direction
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.table_editor_live import CellTracer, LiveRows
from dynoai_desktop.ui.panels.table_editor_ops import CellEdits, plural
from dynoai_desktop.ui.panels.table_editor_paint import CellDelegate, EditorHeader, fit_sections
from dynoai_desktop.ui.panels.table_editor_units import CellFormat
from dynoai_desktop.ui.panels.table_model import CellLayer, EditorModel, same_layout_of

LIVE_POLL_MS = 100  # the live cursor and trace: 10 Hz is smooth to the eye and cheap
ENTRY_KEYS = frozenset("0123456789.,")
COMMAND_KEYS = frozenset("=+-*iIhHvVsSlL")
ENTRY_EDIT_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape,
                             Qt.Key.Key_Backspace, Qt.Key.Key_Delete, Qt.Key.Key_Left,
                             Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End})
KEY_HELP = ("type a number or = to set · + − step · * scale % · I interpolate (H across, "
            "V down) · S smooth · L lock · Ctrl+C/V copy/paste · Ctrl+Z/Y undo/redo · "
            "Ctrl+S save version")


def _parse_entry(text: str) -> float:
    cleaned = text.strip().replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise InputError(f"'{text}' is not a number; type a value such as 55.5") from None
    if not np.isfinite(value):
        raise InputError(f"'{text}' is not a finite number")
    return value


class CellEntry(QLineEdit):
    """The inline number entry over the current cell: Enter applies it to every selected cell,
    Esc (or clicking elsewhere) cancels; no dialog to get in the way."""

    def __init__(self, editor: TableEditor) -> None:
        super().__init__(editor.viewport())
        self.editor = editor
        self.mode = "set"  # or "scale"
        self.setObjectName("cell_entry")
        self.setStyleSheet(f"background: #ffffff; color: #101214; border: 2px solid "
                           f"{theme.ACCENT}; padding: 0 2px;")
        self.hide()
        self.returnPressed.connect(editor.apply_entry)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape:
            self.editor.cancel_entry()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        leaving = (Qt.FocusReason.MouseFocusReason, Qt.FocusReason.TabFocusReason,
                   Qt.FocusReason.BacktabFocusReason)
        if self.isVisible() and event.reason() in leaving:
            self.editor.cancel_entry(refocus=False)


class TableEditor(QTableView):
    """One table of the tune session, edited with the keyboard (module docstring).

    ``show_table(name)`` picks the table, ``refresh()`` follows the session, ``set_units``
    the user's display units, ``set_steps`` the ``+``/``-`` steps, ``set_live_source`` the
    live buffer the cursor and trace follow, ``set_layer`` a layer drawn over the cells.
    ``status`` carries a line saying what the last key did.
    """

    status = Signal(str)
    table_touched = Signal(str)  # undo/redo changed this table, not the one shown

    def __init__(self, tune: TuneSession, units: DisplayUnits | None = None) -> None:
        super().__init__()
        self.tune = tune
        self.name: str | None = None
        self.edits = CellEdits(tune)
        self.last_status = ""
        self.setObjectName("table_view")
        self.setHorizontalHeader(EditorHeader(Qt.Orientation.Horizontal, self))
        self.setVerticalHeader(EditorHeader(Qt.Orientation.Vertical, self))
        self.editor_model = EditorModel(units=units)
        self.setModel(self.editor_model)
        self.setItemDelegate(CellDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(True)  # the corner selects the whole table
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setMinimumSectionSize(8)
        self.entry = CellEntry(self)
        self.tracer: CellTracer | None = None
        self.live_timer = QTimer(self)
        self.live_timer.setInterval(LIVE_POLL_MS)
        self.live_timer.timeout.connect(self.poll_live)

    # ------------------------------------------------------------------ what is shown
    @property
    def table(self) -> Table | None:
        return self.editor_model.table

    @property
    def fmt(self) -> CellFormat | None:
        return self.editor_model.fmt

    def show_table(self, name: str | None) -> None:
        """Edit table ``name`` of the session (None: nothing)."""
        self.cancel_entry()
        self.name = name
        self.refresh()
        self.clearSelection()
        if self.table is not None:
            self.setCurrentIndex(self.editor_model.index(0, 0))
            self.clearSelection()

    def refresh(self) -> None:
        """Show the session's current values, locks and knock-prone cells of the table (after
        any change)."""
        names = self.tune.tune.tables
        table = names.get(self.name) if self.name is not None else None
        locked = self.tune.tune.locked_mask(table.name) if table is not None else None
        prone = self.tune.tune.knock_prone_mask(table.name) if table is not None else None
        self.editor_model.set_table(table, locked, prone)
        self.fit()
        if self.tracer is not None and not same_layout_of(self.tracer.table, table):
            self.tracer.set_table(table)

    def set_units(self, units: DisplayUnits) -> None:
        """Show the cells in ``units`` (AFR tables in λ when the user reads λ)."""
        self.editor_model.set_units(units)
        self.fit()

    def fit(self) -> None:
        """Columns as wide as their widest value and header, sharing any room to spare."""
        fit_sections(self, self.editor_model, self.viewport().width())

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        # The viewport, not the view: it also narrows when the vertical scroll bar comes.
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return super().viewportEvent(event)

    @property
    def steps(self) -> dict[str, float]:
        return self.edits.steps

    def set_steps(self, steps: dict[str, float]) -> None:
        """The ``+``/``-`` steps by kind ("ve", "afr", "lambda", "spark"), in shown units."""
        self.edits.steps.update(steps)

    def set_layer(self, layer: CellLayer | None) -> None:
        """Draw ``layer`` (an overlay's preview, say) over the cells; None takes it away."""
        self.editor_model.set_layer(layer)

    # ------------------------------------------------------------------ live cursor
    def set_live_source(self, rows: LiveRows | None, clock: Callable[[], float] | None = None
                        ) -> None:
        """Follow the live buffer ``rows`` (its rpm and MAP/TPS) with the cursor and trace;
        ``clock`` gives now on the buffer's clock so both fade when rows stop. None: off."""
        if rows is None:
            self.tracer = None
            self.live_timer.stop()
            self.editor_model.set_live(None, (0.0, 0.0),
                                       np.zeros_like(self.editor_model.trace))
            return
        self.tracer = CellTracer(rows, clock)
        self.tracer.set_table(self.table)
        self.live_timer.start()

    def poll_live(self) -> None:
        """Move the cursor and trace to the newest rows (the timer calls this); nothing while
        the editor is hidden (its dock closed): the next poll catches up."""
        if self.tracer is None or not self.isVisible():
            return
        marks = self.tracer.poll()
        if marks is not None:
            self.editor_model.set_live(marks.cursor, marks.offset, marks.trace)

    # ------------------------------------------------------------------ selection
    def selection_mask(self) -> np.ndarray:
        """The selected cells (the current cell when nothing is selected), raw shape."""
        table = self.table
        if table is None:
            return np.zeros((0, 0), dtype=bool)
        mask = np.zeros(table.shape, dtype=bool)
        for rng in self.selectionModel().selection():
            mask[rng.top():rng.bottom() + 1, rng.left():rng.right() + 1] = True
        if not mask.any():
            current = self.currentIndex()
            if current.isValid():
                mask[current.row(), current.column()] = True
        return mask

    def select_cells(self, top: int, left: int, bottom: int, right: int) -> None:
        """Select the rectangle of raw cells (inclusive) and make its top-left current."""
        model = self.editor_model
        first, last = model.index(top, left), model.index(bottom, right)
        flags = QItemSelectionModel.SelectionFlag
        self.selectionModel().setCurrentIndex(first, flags.NoUpdate)
        self.selectionModel().select(QItemSelection(first, last), flags.ClearAndSelect)

    # ------------------------------------------------------------------ keys
    def event(self, event: QEvent) -> bool:
        # The editor's keys win over window shortcuts while it has the focus.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and self._is_editor_key(event):
            event.accept()
            return True
        return super().event(event)

    def _is_editor_key(self, event: QKeyEvent) -> bool:
        if self.entry.isVisible():  # typing: text and editing keys, never F9 or Ctrl+M
            plain = not event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                             | Qt.KeyboardModifier.AltModifier
                                             | Qt.KeyboardModifier.MetaModifier)
            return plain and (bool(event.text().strip()) or event.key() in ENTRY_EDIT_KEYS)
        if any(event.matches(k) for k in (QKeySequence.StandardKey.Copy,
                                          QKeySequence.StandardKey.Paste,
                                          QKeySequence.StandardKey.Undo,
                                          QKeySequence.StandardKey.Redo,
                                          QKeySequence.StandardKey.Save)):
            return True
        ctrl = event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                    | Qt.KeyboardModifier.AltModifier
                                    | Qt.KeyboardModifier.MetaModifier)
        if ctrl:
            return self._is_redo(event)
        text = event.text()
        return len(text) == 1 and (text in ENTRY_KEYS or text in COMMAND_KEYS)

    @staticmethod
    def _is_redo(event: QKeyEvent) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        control = Qt.KeyboardModifier.ControlModifier
        shift = Qt.KeyboardModifier.ShiftModifier
        return ((event.key() == Qt.Key.Key_Y and mods == control)
                or (event.key() == Qt.Key.Key_Z and mods == control | shift))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if self.entry.isVisible():
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.apply_entry()
            elif event.key() == Qt.Key.Key_Escape:
                self.cancel_entry()
            else:
                QApplication.sendEvent(self.entry, event)
            return
        if self._shortcut(event):
            return
        text = event.text()
        plain = not event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                         | Qt.KeyboardModifier.AltModifier
                                         | Qt.KeyboardModifier.MetaModifier)
        if plain and len(text) == 1 and self.table is not None:
            if text in ENTRY_KEYS:
                self.open_entry("set", text)
                return
            command = self._commands().get(text.lower())
            if command is not None:
                command()
                return
        super().keyPressEvent(event)

    def _commands(self) -> dict[str, Callable[[], None]]:
        return {
            "=": lambda: self.open_entry("set", ""),
            "+": lambda: self.step(+1),
            "-": lambda: self.step(-1),
            "*": lambda: self.open_entry("scale", ""),
            "i": lambda: self.interpolate(None),
            "h": lambda: self.interpolate("cols"),
            "v": lambda: self.interpolate("rows"),
            "s": self.smooth,
            "l": self.toggle_lock,
        }

    def _shortcut(self, event: QKeyEvent) -> bool:
        actions = (
            (QKeySequence.StandardKey.Copy, self.copy_block),
            (QKeySequence.StandardKey.Paste, self.paste_block),
            (QKeySequence.StandardKey.Undo, self.undo),
            (QKeySequence.StandardKey.Save, self.save_version),
        )
        for key, action in actions:
            if event.matches(key):
                action()
                return True
        if event.matches(QKeySequence.StandardKey.Redo) or self._is_redo(event):
            self.redo()
            return True
        return False

    # ------------------------------------------------------------------ the inline entry
    def open_entry(self, mode: str, text: str) -> None:
        """Start typing a value ("set") or a percentage ("scale") over the current cell."""
        if self.table is None or self.fmt is None:
            return
        self.entry.mode = mode
        index = self.currentIndex()
        if not index.isValid():
            index = self.editor_model.index(0, 0)
        rect = self.visualRect(index)
        width = max(rect.width(), QFontMetrics(self.font()).horizontalAdvance("-888.888") + 14)
        rect.setWidth(width)
        rect.setHeight(max(rect.height(), self.entry.sizeHint().height()))
        self.entry.setGeometry(rect)
        self.entry.setPlaceholderText("%" if mode == "scale" else self.fmt.unit)
        self.entry.setText(text)
        self.entry.show()
        self.entry.setFocus(Qt.FocusReason.OtherFocusReason)
        n = int(self.selection_mask().sum())
        if mode == "scale":
            self._say(f"scale {plural(n, 'cell')} by a percentage (5 = +5 %, -3 = -3 %), "
                      "Enter applies, Esc cancels")
        else:
            self._say(f"set {plural(n, 'cell')}: type a value in {self.fmt.unit}, "
                      "Enter applies, Esc cancels")

    def cancel_entry(self, refocus: bool = True) -> None:
        """Close the entry; ``refocus=False`` when the user already moved elsewhere."""
        if self.entry.isVisible():
            if refocus:  # first: hiding a focused child makes the view step to the next
                # cell (QAbstractItemView.focusNextPrevChild presses a synthetic Tab)
                self.setFocus(Qt.FocusReason.OtherFocusReason)
            self.entry.hide()

    def apply_entry(self) -> None:
        """Apply what was typed to every selected cell."""
        if not self.entry.isVisible():
            return
        try:
            value = _parse_entry(self.entry.text())
        except InputError as exc:
            self._say(f"refused: {exc}")
            return
        mode = self.entry.mode
        self.cancel_entry()
        if mode == "scale":
            self.scale(value)
        else:
            self.set_value(value)

    # ------------------------------------------------------------------ operations
    def _run(self, action: Callable[[Table, CellFormat, np.ndarray], str]) -> None:
        table, fmt = self.table, self.fmt
        if table is None or fmt is None:
            return
        self._say(action(table, fmt, self.selection_mask()))

    def set_value(self, value: float) -> None:
        """Set the selected cells to ``value`` (in the unit shown)."""
        self._run(lambda t, f, m: self.edits.set_value(t, f, m, value))

    def step(self, sign: int) -> None:
        """Step the selected cells up (+1) or down (-1) by the table's step."""
        self._run(lambda t, f, m: self.edits.step(t, f, m, sign))

    def scale(self, pct: float) -> None:
        """Scale the selected cells by ``pct`` percent (+5: ×1.05)."""
        self._run(lambda t, f, m: self.edits.scale(t, f, m, pct))

    def interpolate(self, direction: Direction | None) -> None:
        """Interpolate the selection ("cols", "rows", "both"; None: by its shape)."""
        self._run(lambda t, f, m: self.edits.interpolate(t, f, m, direction))

    def smooth(self) -> None:
        """Smooth the selected cells once (each with its four neighbours)."""
        self._run(self.edits.smooth)

    def toggle_lock(self) -> None:
        """Lock the selection, or unlock it when every selected cell is locked already."""
        self._run(lambda t, _f, m: self.edits.toggle_lock(t, m))

    def copy_block(self) -> None:
        """Copy the selected block as tab-separated text, in the unit shown, exactly."""
        if self.table is None:
            return
        text, status = self.edits.copy_text(self.editor_model.shown, self.selection_mask())
        if text is not None:
            QGuiApplication.clipboard().setText(text)
        self._say(status)

    def paste_block(self) -> None:
        """Paste the clipboard's tab-separated block at the selection's top-left."""
        table, fmt = self.table, self.fmt
        if table is None or fmt is None:
            return
        model = self.editor_model
        pasted = self.edits.paste(
            table, fmt, self.selection_mask(), QGuiApplication.clipboard().text(),
            lambda r, c: f"{model.row_label(r)} rpm, {model.col_label(c)}")
        if pasted.block is not None:
            self.select_cells(*pasted.block)
        self._say(pasted.text)

    def undo(self) -> None:
        self._history(self.edits.undo())

    def redo(self) -> None:
        self._history(self.edits.redo())

    def _history(self, outcome: tuple[str, list[str]]) -> None:
        status, touched = outcome
        self._say(status)
        if touched and self.name not in touched:
            self.table_touched.emit(touched[0])

    def save_version(self) -> None:
        """Record the tune's edits as one version in the catalog."""
        self._say(self.edits.save_version())

    def _say(self, text: str) -> None:
        self.last_status = text
        self.status.emit(text)
