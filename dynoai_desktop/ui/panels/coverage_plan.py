"""The Coverage panel's planner list: the suggested tests best first (minutes, expected gain,
priority; why as the tooltip and under the list), the tuner's pick kept while the list is worked
out again, and what the constraints ruled out, each with its reason."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QTreeWidget,
    QTreeWidgetItem,
)

from dynoai_desktop.core.coverage.planner import NextTests, Suggestion
from dynoai_desktop.ui import theme

PLAN_COLUMNS = ("Test", "min", "Gain", "Prio")
PLAN_TIPS = ("The test; hover for what it fills and why", "Dyno minutes it takes",
             "Expected gain: cells' worth of coverage it should add (a priority-1 cell "
             "filled from nothing is 1)", "The most important region it fills (1 matters most)")
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
NOTHING_LEFT = ("Nothing left to suggest: every region is covered, or the constraints rule "
                "every test out.")


def muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {theme.MUTED};")
    return label


def _plan_tree() -> QTreeWidget:
    tree = QTreeWidget()
    tree.setHeaderLabels(PLAN_COLUMNS)
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    tree.setMinimumHeight(140)
    for col, tip in enumerate(PLAN_TIPS):
        tree.headerItem().setToolTip(col, tip)
    header = tree.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # elided; the tip has all
    for col in range(1, len(PLAN_COLUMNS)):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
    return tree


def _ruled_out_list() -> QListWidget:
    listing = QListWidget()
    listing.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    listing.setStyleSheet(f"color: {theme.MUTED}; background: {theme.PANEL};")
    listing.setWordWrap(True)  # the reason is the point: never cut off
    listing.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    listing.setResizeMode(QListWidget.ResizeMode.Adjust)
    listing.setMaximumHeight(110)
    return listing


class PlanList:
    """The list's widgets (the panel lays them out) and its filling; ``on_pick`` hears of the
    test shown as picked (None: none)."""

    def __init__(self, on_pick: Callable[[Suggestion | None], None]) -> None:
        self.on_pick = on_pick
        self.title = QLabel("Hit these cells next (best first):")
        self.tree = _plan_tree()
        self.why = muted()
        self.ruled_out_title = muted()
        self.ruled_out = _ruled_out_list()
        self.suggestions: tuple[Suggestion, ...] = ()
        self._picked: str | None = None
        self.tree.itemSelectionChanged.connect(self._picked_by_tuner)

    def selected(self) -> Suggestion | None:
        items = self.tree.selectedItems()
        index = self.tree.indexOfTopLevelItem(items[0]) if items else -1
        return self.suggestions[index] if 0 <= index < len(self.suggestions) else None

    def show_plan(self, plan: NextTests | None) -> None:
        """The planner's answer (None: no table): the tuner's pick kept, else the best test."""
        self.suggestions = () if plan is None else plan.suggestions
        self.tree.blockSignals(True)
        self.tree.clear()
        keep = None
        for s in self.suggestions:
            item = QTreeWidgetItem([s.title, f"{s.minutes:.1f}", f"+{s.gain:.1f} cells",
                                    "—" if s.priority >= 99 else str(s.priority)])
            for col in range(len(PLAN_COLUMNS)):
                item.setToolTip(col, s.why)
                if col:
                    item.setTextAlignment(col, RIGHT)
            self.tree.addTopLevelItem(item)
            if s.title == self._picked:
                keep = item
        if keep is None:
            self._picked = None  # the picked test is gone (run, or no longer worth it)
            keep = self.tree.topLevelItem(0)  # the best test, until the tuner picks one
        if keep is not None:
            self.tree.setCurrentItem(keep)
        self.tree.blockSignals(False)
        ruled_out = () if plan is None else plan.ruled_out
        self.ruled_out.clear()
        for test, why in ruled_out:
            self.ruled_out.addItem(f"{test} — {why}")
        self.ruled_out_title.setText(f"Ruled out by the constraints ({len(ruled_out)}):")
        self.ruled_out_title.setVisible(bool(ruled_out))
        self.ruled_out.setVisible(bool(ruled_out))
        self._show_picked(plan is not None)

    def _picked_by_tuner(self) -> None:
        chosen = self.selected()
        self._picked = None if chosen is None else chosen.title  # kept as the list changes
        self._show_picked(True)

    def _show_picked(self, have_table: bool) -> None:
        chosen = self.selected()
        self.why.setText(chosen.why if chosen is not None else
                         NOTHING_LEFT if have_table else "")
        self.on_pick(chosen)
