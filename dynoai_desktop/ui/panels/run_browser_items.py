"""What the run browser's rows say: the columns, the tree widget (tooltips worked out when asked
for, Enter opens), and the texts of a run's and a session's cells and tooltips, in the user's
display units."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QHelpEvent, QKeyEvent
from PySide6.QtWidgets import QToolTip, QTreeWidget, QTreeWidgetItem

from dynoai_desktop.app.run_library import readable_time
from dynoai_desktop.app.run_tree import RunEntry, SessionNode, readable_length
from dynoai_desktop.core.display import DisplayUnits, display_unit, format_value
from dynoai_desktop.core.units import convert
from dynoai_desktop.ui import theme

COLUMNS = ("Name", "Time", "Length", "Peak", "Status")
HEADER_TIPS = ("Customer, vehicle, session (its date) or run", "When the run started",
               "How long the run recorded (m:ss)",
               "Peak power as the dyno read it (observed); a run's tooltip gives it SAE-corrected",
               "recorded, or recovered: rebuilt after a crash cut the recording short")
NAME, TIME, LENGTH, PEAK, STATUS = range(len(COLUMNS))
KIND_ROLE = Qt.ItemDataRole.UserRole  # ("customer" | "vehicle" | "session" | "run", id)
NAME_MIN_PX = 150
INDENT_PX = 12
ALL_COLUMNS_PX = 360  # narrower than this, Length goes (a run's tooltip has it)
STATUS_COLOURS = {"recorded": theme.MUTED, "recovered": theme.WARN, "recording": theme.FAULT}
"""A recovered run stands out from the recorded ones around it."""


class RunTree(QTreeWidget):
    """Enter on a run opens it (QTreeWidget's itemActivated misses Enter on some styles); a
    tooltip is worked out when asked for (``tip``), not kept on each of thousands of items."""

    enter_pressed = Signal()

    def __init__(self, tip: Callable[[QTreeWidgetItem, int], str]) -> None:
        super().__init__()
        self.tip = tip

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter_pressed.emit()
            return
        super().keyPressEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            item = self.itemAt(event.pos())
            text = self.tip(item, self.columnAt(event.pos().x())) if item is not None else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)


def items_in_order(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    """Every item of ``tree``, parents before their children, in the tree's order."""
    out: list[QTreeWidgetItem] = []

    def walk(item: QTreeWidgetItem) -> None:
        out.append(item)
        for i in range(item.childCount()):
            walk(item.child(i))

    for i in range(tree.topLevelItemCount()):
        walk(tree.topLevelItem(i))
    return out


def filter_tree(tree: QTreeWidget, text: str) -> None:
    """Hide what does not match ``text`` in the name column (every word; a match keeps its
    parents and children shown, and opens the parents of a match below)."""
    words = text.casefold().split()

    def show(item: QTreeWidgetItem, shown_by_parent: bool) -> bool:
        own = all(w in item.text(NAME).casefold() for w in words)
        any_child = False
        for i in range(item.childCount()):
            any_child |= show(item.child(i), shown_by_parent or own)
        visible = not words or own or shown_by_parent or any_child
        item.setHidden(not visible)
        if words and any_child and not own:
            item.setExpanded(True)
        return visible

    for i in range(tree.topLevelItemCount()):
        show(tree.topLevelItem(i), False)


def power_text(hp: float, units: DisplayUnits) -> str:
    """'99.9 hp' in the user's power unit."""
    unit = display_unit("power_hp", units)
    return format_value(float(convert(hp, "hp", unit)), unit)


def peak_number(hp: float, units: DisplayUnits) -> str:
    """'99.9': the Peak column's figure, its unit in the header."""
    unit = display_unit("power_hp", units)
    return f"{float(convert(hp, 'hp', unit)):.1f}"


def peak_text(entry: RunEntry, units: DisplayUnits) -> str:
    """The Peak cell: the figure, '…' until worked out, '—' for a run without power."""
    if entry.peak is not None:
        return peak_number(entry.peak.power_hp, units)
    return "…" if not entry.peak_known and not entry.problem else "—"


def peak_tip(entry: RunEntry, units: DisplayUnits) -> str:
    peak = entry.peak
    if peak is None:
        return ("Worked out when the session is opened" if not entry.peak_known
                else "No power readings in this run")
    tip = f"Observed peak {power_text(peak.power_hp, units)}"
    if peak.rpm is not None:
        tip += f" at {peak.rpm:,.0f} rpm"
    corrected = entry.corrected_peak_hp
    if corrected is not None:
        tip += (f"\nSAE J1349 corrected: {power_text(corrected, units)} (factor "
                f"{entry.record.weather.correction_factor:.3f})")
    return tip


def run_tip(entry: RunEntry, column: int, units: DisplayUnits, path: str) -> str:
    """A run's tooltip in ``column``; ``path`` is its file."""
    record = entry.record
    if column == PEAK:
        return peak_tip(entry, units)
    said = []
    if entry.status == "recovered":
        said.append("Rebuilt from its journal after a crash cut the recording short.")
    if entry.problem:
        said.append(entry.problem)
    if column == STATUS:
        return "\n".join(said) or f"{entry.status} from the devices"
    markers = f"{len(record.markers)} marker(s)" if record.markers else "no markers"
    return "\n".join([
        f"{record.name}: started {readable_time(record.started_at, seconds=True)}, "
        f"{readable_length(record.duration_s) or 'length unknown'}, {markers}", path, *said])


def session_tip(node: SessionNode, column: int, open_now: bool) -> str:
    """A session's tooltip in ``column``; ``open_now``: runs are recorded into it."""
    if column == PEAK:
        return "The session's best peak power (observed)" if node.best_peak else ""
    session = node.session
    tip = [f"Session {session.id}, started {readable_time(session.started_at)}"
           + (" (open: runs are recorded into it)" if open_now else "")]
    if session.ended_at:
        tip.append(f"ended {readable_time(session.ended_at)}")
    if session.operator:
        tip.append(f"operator {session.operator}")
    if session.notes:
        tip.append(session.notes)
    return "\n".join(tip)
