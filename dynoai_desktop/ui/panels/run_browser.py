"""The run library beside the Review panel: customers -> vehicles -> sessions -> runs, each run
with its name, start, length, peak power and whether it was recorded or recovered after a crash.

A thin view over ``app.RunLibrary``'s tree (``app.run_tree``): it never opens the catalog or a
file. Double-click or Enter on a run asks for it in Review; the selected runs (a session's row
counts as all its runs) can be analysed in Autotune or shown on the Coverage map.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.run_library import RunLibrary, readable_time
from dynoai_desktop.app.run_tree import (
    CustomerNode,
    RunEntry,
    SessionNode,
    newest_session,
    readable_length,
)
from dynoai_desktop.core.display import DisplayUnits, display_unit, unit_symbol
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.run_browser_items import (
    ALL_COLUMNS_PX,
    COLUMNS,
    HEADER_TIPS,
    INDENT_PX,
    KIND_ROLE,
    LENGTH,
    NAME,
    NAME_MIN_PX,
    PEAK,
    STATUS,
    STATUS_COLOURS,
    TIME,
    RunTree,
    filter_tree,
    items_in_order,
    peak_number,
    peak_text,
    run_tip,
    session_tip,
)


class RunBrowser(QWidget):
    """The shop's runs as a tree; ``open_requested(RunEntry)``, ``analyse_requested``,
    ``coverage_requested`` and ``compare_requested`` (a list of RunEntry),
    ``selection_changed`` (the selected runs)."""

    open_requested = Signal(object)
    analyse_requested = Signal(list)
    coverage_requested = Signal(list)
    compare_requested = Signal(list)
    selection_changed = Signal(list)

    def __init__(self, library: RunLibrary, units: DisplayUnits | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.units = units if units is not None else DisplayUnits()
        self._tree_data: tuple[CustomerNode, ...] = ()
        self._entries: dict[int, RunEntry] = {}
        self._run_items: dict[int, QTreeWidgetItem] = {}
        self._session_items: dict[int, QTreeWidgetItem] = {}
        self._sessions: dict[int, SessionNode] = {}

        self.title = QLabel("Run library")
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        self.find = QLineEdit()
        self.find.setPlaceholderText("Find a customer, vehicle or run")
        self.find.setClearButtonEnabled(True)
        self.find.textChanged.connect(self._filter)
        self.tree = RunTree(self.tip)
        self.tree.setObjectName("run_browser_tree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        for column, tip in enumerate(HEADER_TIPS):
            self.tree.headerItem().setToolTip(column, tip)
        self.tree.setIndentation(INDENT_PX)
        self._set_peak_header()
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for column in (TIME, LENGTH, PEAK, STATUS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(36)
        self.tree.setMinimumWidth(NAME_MIN_PX + 80)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the run in Review (double-click or Enter)")
        self.analyse_button = QPushButton("Autotune")
        self.analyse_button.setToolTip(
            "Analyse the selected runs in the Autotune dock, with its settings; nothing changes "
            "the tune until you apply there")
        self.coverage_button = QPushButton("Coverage")
        self.coverage_button.setToolTip("Show on the Coverage map the cells the selected runs "
                                        "covered (counted now, not kept)")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Overlay the selected runs' power, torque and AFR in the "
                                       "Compare runs tab (up to 8)")
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(f"color: {theme.MUTED};")
        self.empty.hide()

        buttons = QHBoxLayout()
        for button in (self.open_button, self.compare_button, self.analyse_button,
                       self.coverage_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.find)
        layout.addWidget(self.empty)
        layout.addWidget(self.tree, stretch=1)
        layout.addLayout(buttons)

        self.tree.itemActivated.connect(self._activated)
        self.tree.enter_pressed.connect(self._open_current)
        self.tree.itemExpanded.connect(self._expanded)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.open_button.clicked.connect(self._open_current)
        self.analyse_button.clicked.connect(self._analyse)
        self.coverage_button.clicked.connect(self._coverage)
        self.compare_button.clicked.connect(self._compare)
        self.refresh()

    # ------------------------------------------------------------------ filling
    def refresh(self, select_run: int | None = None) -> None:
        """List the library again, keeping what was expanded and selected; with
        ``select_run``, that run selected and its session expanded instead. The first time,
        the open session (else the newest) is expanded and its newest run selected."""
        first = not self._entries and not self._session_items
        expanded = {self._key(i) for i in self._items() if i.isExpanded()}
        selected = [self._key(i) for i in self.tree.selectedItems()]
        self._tree_data = self.library.tree()
        self.tree.setUpdatesEnabled(False)
        self.tree.blockSignals(True)
        try:
            self._fill()
            for item in self._items():
                if self._key(item) in expanded:
                    item.setExpanded(True)
            if select_run is not None or first:
                self._select_default(select_run)
            else:
                for key in selected:
                    item = self._item_of(key)
                    if item is not None:
                        item.setSelected(True)
        finally:
            self.tree.blockSignals(False)
            self.tree.setUpdatesEnabled(True)
        for item in self._items():
            if item.isExpanded():
                self._expanded(item)  # peaks not worked out yet, for what is open
        if self.find.text():
            self._filter(self.find.text())
        self._show_empty()
        self._selection_changed()

    def _fill(self) -> None:
        self.tree.clear()
        self._entries, self._run_items, self._session_items, self._sessions = {}, {}, {}, {}
        for customer in self._tree_data:
            c_item = QTreeWidgetItem([customer.customer.name])
            c_item.setData(NAME, KIND_ROLE, ("customer", customer.customer.id))
            self.tree.addTopLevelItem(c_item)
            for vehicle in customer.vehicles:
                v_item = QTreeWidgetItem(c_item, [vehicle.vehicle.name])
                v_item.setData(NAME, KIND_ROLE, ("vehicle", vehicle.vehicle.id))
                for session in vehicle.sessions:
                    s_item = QTreeWidgetItem(v_item)
                    s_item.setData(NAME, KIND_ROLE, ("session", session.id))
                    self._session_items[session.id] = s_item
                    self._show_session(s_item, session)
                    self._add_runs(s_item, session.runs)

    def _add_runs(self, session_item: QTreeWidgetItem, runs: tuple[RunEntry, ...]) -> None:
        for entry in runs:
            item = QTreeWidgetItem(session_item)
            item.setData(NAME, KIND_ROLE, ("run", entry.id))
            self._run_items[entry.id] = item
            self._show_run(item, entry)

    def _show_session(self, item: QTreeWidgetItem, node: SessionNode) -> None:
        self._sessions[node.id] = node
        runs = len(node.runs)
        item.setText(NAME, readable_time(node.session.started_at))
        best = node.best_peak
        item.setText(PEAK, peak_number(best.power_hp, self.units) if best is not None else "")
        item.setText(STATUS, f"{runs} run{'s' if runs != 1 else ''}")
        item.setForeground(STATUS, QBrush(QColor(theme.MUTED)))
        font = item.font(NAME)
        font.setBold(node.id == self.library.session_id)  # the session runs are recorded into
        item.setFont(NAME, font)

    def _show_run(self, item: QTreeWidgetItem, entry: RunEntry) -> None:
        self._entries[entry.id] = entry
        record = entry.record
        item.setText(NAME, record.name)
        item.setText(TIME, readable_time(record.started_at)[-5:])
        item.setText(LENGTH, readable_length(record.duration_s))
        item.setText(PEAK, peak_text(entry, self.units))
        status = entry.status + (" · file unreadable" if entry.problem else "")
        item.setText(STATUS, status)
        colour = theme.FAULT if entry.problem else STATUS_COLOURS.get(entry.status)
        item.setForeground(STATUS, QBrush(QColor(colour)) if colour else QBrush())

    def tip(self, item: QTreeWidgetItem, column: int) -> str:
        """The tooltip of ``item`` in ``column``, worked out when the mouse rests on it."""
        kind, item_id = self._key(item)
        if kind == "run":
            entry = self._entries[item_id]
            return run_tip(entry, column, self.units, str(self.library.run_path(entry)))
        if kind == "session":
            return session_tip(self._sessions[item_id], column,
                               item_id == self.library.session_id)
        for customer in self._tree_data:
            if kind == "customer" and customer.customer.id == item_id:
                return customer.customer.phone
            for vehicle in customer.vehicles:
                if kind == "vehicle" and vehicle.vehicle.id == item_id:
                    return vehicle.vehicle.build_spec.summary
        return ""

    def _set_peak_header(self) -> None:
        unit = unit_symbol(display_unit("power_hp", self.units))
        self.tree.headerItem().setText(PEAK, f"Peak {unit}")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.tree.setColumnHidden(LENGTH, event.size().width() < ALL_COLUMNS_PX)

    def set_units(self, units: DisplayUnits) -> None:
        """Peak power in ``units`` from now on."""
        self.units = units
        self._set_peak_header()
        self.refresh()

    def _show_empty(self) -> None:
        if not self.library.available:
            text = ("The catalog is not open (see the message at start-up): saved runs cannot "
                    "be listed. Open run… still opens a run file.")
        elif not self._run_items:
            text = ("No runs yet: start a session in the Live tab's session bar and record a "
                    "run; it is listed here.")
        else:
            text = ""
        self.empty.setText(text)
        self.empty.setVisible(bool(text))

    # ------------------------------------------------------------------ finding
    def _items(self) -> list[QTreeWidgetItem]:
        """Every item, in the tree's order."""
        return items_in_order(self.tree)

    @staticmethod
    def _key(item: QTreeWidgetItem) -> tuple[str, int]:
        return tuple(item.data(NAME, KIND_ROLE))  # type: ignore[return-value]

    def _item_of(self, key: tuple[str, int]) -> QTreeWidgetItem | None:
        kind, item_id = key
        if kind == "run":
            return self._run_items.get(item_id)
        if kind == "session":
            return self._session_items.get(item_id)
        return next((i for i in self._items() if self._key(i) == key), None)

    def _select_default(self, run_id: int | None) -> None:
        """``run_id`` selected (else the newest run of the open, or newest, session), its
        session expanded and in view."""
        if run_id is None:
            session = next((s for c in self._tree_data for v in c.vehicles for s in v.sessions
                            if s.id == self.library.session_id), None)
            session = session or newest_session(self._tree_data)
            if session is None:
                return
            if not session.runs:
                self._reveal(self._session_items[session.id])
                return
            run_id = session.runs[-1].id
        item = self._run_items.get(run_id)
        if item is None:
            return
        self.tree.clearSelection()
        self._reveal(item)
        item.setSelected(True)
        self.tree.setCurrentItem(item)

    def _reveal(self, item: QTreeWidgetItem) -> None:
        parent = item.parent()
        while parent is not None:
            parent.setExpanded(True)
            parent = parent.parent()
        self.tree.scrollToItem(item, QAbstractItemView.ScrollHint.PositionAtCenter)

    def select_run(self, run_id: int) -> None:
        """Select ``run_id`` (and show it), listing the library again if it is new."""
        if run_id not in self._run_items:
            self.refresh(select_run=run_id)
            return
        self._select_default(run_id)
        self._expanded(self._run_items[run_id].parent())

    def _filter(self, text: str) -> None:
        filter_tree(self.tree, text)

    # ------------------------------------------------------------------ selection
    def selected_runs(self) -> list[RunEntry]:
        """The selected runs, and every run of a selected session, in the tree's order."""
        chosen: dict[int, RunEntry] = {}
        for item in self._items():
            if not item.isSelected():
                continue
            kind, item_id = self._key(item)
            if kind == "run":
                chosen.setdefault(item_id, self._entries[item_id])
            elif kind == "session":
                for i in range(item.childCount()):
                    run_id = self._key(item.child(i))[1]
                    chosen.setdefault(run_id, self._entries[run_id])
        return list(chosen.values())

    def _selection_changed(self) -> None:
        runs = self.selected_runs()
        self.open_button.setEnabled(len(runs) == 1)
        self.analyse_button.setEnabled(bool(runs))
        self.coverage_button.setEnabled(bool(runs))
        self.compare_button.setEnabled(bool(runs))
        self.selection_changed.emit(runs)

    def _expanded(self, item: QTreeWidgetItem) -> None:
        """A session opened: work out its runs' peak power not known yet."""
        kind, session_id = self._key(item)
        if kind != "session":
            return
        runs = [self._entries[self._key(item.child(i))[1]] for i in range(item.childCount())]
        if not all(r.peak_known or r.problem or r.record.status == "recording" for r in runs):
            self._reload_session(item, session_id)

    def _reload_session(self, item: QTreeWidgetItem, session_id: int) -> None:
        """The session's runs listed again from the library (peaks worked out)."""
        try:
            fresh = self.library.runs_of_session(session_id)
        except InputError:
            return  # the session is gone: the next refresh drops it
        known = [self._key(item.child(i))[1] for i in range(item.childCount())]
        if known == [e.id for e in fresh]:
            for entry in fresh:
                self._show_run(self._run_items[entry.id], entry)
        else:
            selected = {e.id for e in self.selected_runs()}
            for run_id in known:
                self._run_items.pop(run_id, None)
                self._entries.pop(run_id, None)
            item.takeChildren()
            self._add_runs(item, fresh)
            for entry in fresh:
                self._run_items[entry.id].setSelected(entry.id in selected)
        self._show_session(item, SessionNode(self._sessions[session_id].session, fresh))

    def show_saved(self, session_id: int, run_id: int) -> None:
        """A run was saved: its session listed again (the whole library when the session is
        new to it), the run selected and shown."""
        item = self._session_items.get(session_id)
        if item is None:
            self.refresh(select_run=run_id)
            return
        self._reload_session(item, session_id)
        self._select_default(run_id)
        if self.find.text():
            self._filter(self.find.text())
        self._show_empty()

    # ------------------------------------------------------------------ actions
    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        kind, item_id = self._key(item)
        if kind == "run":
            self.open_requested.emit(self._entries[item_id])

    def _open_current(self) -> None:
        item = self.tree.currentItem()
        if item is not None and self._key(item)[0] == "run":
            self._activated(item, NAME)
            return
        runs = self.selected_runs()
        if len(runs) == 1:
            self.open_requested.emit(runs[0])

    def _analyse(self) -> None:
        runs = self.selected_runs()
        if runs:
            self.analyse_requested.emit(runs)

    def _coverage(self) -> None:
        runs = self.selected_runs()
        if runs:
            self.coverage_requested.emit(runs)

    def _compare(self) -> None:
        runs = self.selected_runs()
        if runs:
            self.compare_requested.emit(runs)

    def _context_menu(self, pos: QPoint) -> None:
        runs = self.selected_runs()
        if not runs:
            return
        menu = QMenu(self)
        if len(runs) == 1:
            menu.addAction("Open in Review", lambda: self.open_requested.emit(runs[0]))
        what = f"'{runs[0].name}'" if len(runs) == 1 else f"these {len(runs)} runs"
        menu.addAction(f"Compare {what}", self._compare)
        menu.addAction(f"Analyse {what} in Autotune", self._analyse)
        menu.addAction(f"Coverage of {what}", self._coverage)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
