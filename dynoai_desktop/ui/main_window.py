"""The main window: assembles the dock panels, the device status bar and the menus (layout
presets, the customer sheet, preferences), and keeps itself inside the screen it is on."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import QDialog, QDockWidget, QMainWindow, QTabBar, QWidget

from dynoai_desktop.acquisition.status import DeviceStatus
from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.app.customer_sheet import CustomerSheetMaker
from dynoai_desktop.storage.settings import Settings
from dynoai_desktop.ui.customer_sheet import CustomerSheetDialog
from dynoai_desktop.ui.device_status import DeviceIndicator
from dynoai_desktop.ui.file_opener import FileOpener
from dynoai_desktop.ui.library_controller import LibraryController
from dynoai_desktop.ui.live_controller import LiveController
from dynoai_desktop.ui.panels.ai_suggestions import AiSuggestionsPanel
from dynoai_desktop.ui.panels.autotune_panel import AutotunePanel
from dynoai_desktop.ui.panels.coverage import CoveragePanel
from dynoai_desktop.ui.panels.device_bar import DeviceBar
from dynoai_desktop.ui.panels.live_dock import LiveDock
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel
from dynoai_desktop.ui.panels.review import ReviewPanel
from dynoai_desktop.ui.panels.run_browser import RunBrowser
from dynoai_desktop.ui.panels.run_compare import RunComparePanel
from dynoai_desktop.ui.panels.session_bar import SessionBar
from dynoai_desktop.ui.panels.tables import TablesPanel
from dynoai_desktop.ui.panels.training_data import TrainingDataPanel
from dynoai_desktop.ui.panels.tune_history import TuneHistoryPanel
from dynoai_desktop.ui.preferences import PreferencesDialog
from dynoai_desktop.ui.replay_controller import ReplayController
from dynoai_desktop.ui.welcome import WelcomeDialog, show_about
from dynoai_desktop.ui.widgets import ElidedLabel

# Share of the window's width the Live logging dock takes in each layout preset.
LAYOUT_PRESETS = {"live": ("Live logging layout", 0.58), "tuning": ("Tuning layout", 0.36)}
DEFAULT_LIVE_SHARE = 800 / 1500
TAB_BAR_GAP_PX = 8  # a dock group's tab bar in use is this close to its current dock


class MainWindow(QMainWindow):
    closing = Signal()  # before the window goes

    def __init__(self, app: DynoApp) -> None:
        super().__init__()
        self.app = app
        self.setWindowTitle("DynoAI Desktop")
        self.setObjectName("main_window")
        self.setDockNestingEnabled(True)
        # The docks are the whole window; an empty central widget lets them take all the space.
        central = QWidget()
        central.setMaximumSize(0, 0)
        self.setCentralWidget(central)

        units = app.settings.current.units
        self.live = LiveLoggingPanel(app.live.buffer, units, app.banner, clock=app.live.now_s,
                                     sensor_details=app.live.sensor_details)
        self.review = ReviewPanel(app.runs, units)
        self.run_browser = RunBrowser(app.runs, units)
        self.device_bar = DeviceBar(app.live.ports)
        self.session_bar = SessionBar(app.runs)
        self.live_dock = LiveDock(self.device_bar, self.session_bar, self.live, self.review,
                                  browser=self.run_browser)
        self.tables = TablesPanel(app.tune, units=units)
        self.tables.view.set_steps(app.settings.current.editor_steps.by_kind())
        self.tables.set_live_source(app.live.buffer, app.live.now_s)
        self.history = TuneHistoryPanel(app.tune)
        self.coverage = CoveragePanel(app.coverage)
        self.autotune = AutotunePanel(app.autotune, self.tables)
        self.ai = AiSuggestionsPanel(app.models, self.tables)
        self.training = TrainingDataPanel(app.training)
        self.compare = RunComparePanel(app.comparison, units)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.docks = {
            "live": self._dock("Live logging", self.live_dock, left),
            "tables": self._dock("Tables", self.tables, right),
            "coverage": self._dock("Coverage", self.coverage, right),
            "history": self._dock("Tune history", self.history, right),
            "autotune": self._dock("Autotune", self.autotune, right),
            "ai": self._dock("AI suggestions", self.ai, right),
            "training": self._dock("Training data", self.training, right),
            "compare": self._dock("Compare runs", self.compare, left),
        }
        # Compare runs: a tab beside Live logging, the widest dock (charts need the width); closed
        # until runs are sent to it (View or Session menu, the run library's Compare), so its tab
        # bar does not take the live charts' height.
        self.tabifyDockWidget(self.docks["live"], self.docks["compare"])
        self.docks["compare"].hide()
        self.docks["live"].raise_()
        # Tables over the right half; Coverage and AI suggestions side by side beneath it, the
        # Training data a tab beside AI suggestions.
        self.splitDockWidget(self.docks["tables"], self.docks["coverage"], Qt.Orientation.Vertical)
        self.splitDockWidget(self.docks["coverage"], self.docks["ai"], Qt.Orientation.Horizontal)
        self.tabifyDockWidget(self.docks["coverage"], self.docks["history"])
        self.tabifyDockWidget(self.docks["coverage"], self.docks["autotune"])
        self.tabifyDockWidget(self.docks["ai"], self.docks["training"])
        self.docks["coverage"].raise_()
        self.docks["ai"].raise_()
        self.resizeDocks(
            [self.docks["live"], self.docks["tables"]], [800, 700], Qt.Orientation.Horizontal
        )
        self.resizeDocks(
            [self.docks["tables"], self.docks["coverage"]], [540, 340], Qt.Orientation.Vertical
        )
        self.resizeDocks(
            [self.docks["coverage"], self.docks["ai"]], [420, 280], Qt.Orientation.Horizontal
        )
        self._default_state = self.saveState()
        self._shown_once = False

        roles = dict.fromkeys(port.role for port in app.live.ports)
        self.indicators = [DeviceIndicator(next(p for p in app.live.ports if p.role == role))
                           for role in roles]
        for indicator in self.indicators:
            self.statusBar().addPermanentWidget(indicator)
        if app.notices:
            notices = ElidedLabel(" · ".join(app.notices))
            notices.setObjectName("start_notices")
            notices.setToolTip("\n\n".join(app.notices))
            self.statusBar().addWidget(notices, stretch=1)
        self.controller = LiveController(self, app.live)
        self.replay_controller = ReplayController(self, app.replay)  # a saved run played back
        self.library_controller = LibraryController(self)
        self.opener = FileOpener(self)  # File ▸ Open… and `dynoai FILE`
        self.welcome: WelcomeDialog | None = None  # made when first shown (Help ▸ Getting started)
        self._build_menus()
        app.settings.changed.connect(self._settings_changed)

        self._restore_layout()
        self.fit_to_screen()  # again once shown, when the frame's size is known

    def show_device_statuses(self, statuses: Sequence[DeviceStatus]) -> None:
        """Light each role's indicator from the devices of that role (two AEM gauges make one
        wideband light); with no statuses (disconnected) each says so."""
        for indicator in self.indicators:
            mine = [s for s in statuses if s.role == indicator.device.role]
            if mine:
                indicator.show_statuses(mine)
            else:
                indicator.show_idle()

    def add_runs(self, paths: Iterable[str | Path]) -> bool:
        """Compare these saved runs (the run library's browser sends its selection here): the
        Compare runs tab comes to the front; False when some could not be added (the panel
        says why)."""
        self.show_compare()
        return self.compare.add_runs(paths)

    def show_compare(self) -> None:
        """The Compare runs tab, opened beside Live logging and brought to the front."""
        self.docks["compare"].show()
        self.docks["compare"].raise_()

    def _dock(self, title: str, panel: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{panel.__class__.__name__}")  # saveState() keys on this
        dock.setWidget(panel)
        self.addDockWidget(area, dock)
        dock.dockLocationChanged.connect(
            lambda _area: QTimer.singleShot(0, self._hide_stale_tab_bars))
        return dock

    # ------------------------------------------------------------------ menus
    def open_file(self, path: Path) -> bool:
        """A tune in the table editor, a run or log in Review (``dynoai FILE``); False, and the
        reason shown in the window, when it cannot be opened."""
        return self.opener.open(path)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = file_menu.addAction("&Open…")
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.setToolTip("A tune (.pvv, .msq, Table CSV) in the table editor, or a "
                                    "run (.parquet) or log (.msl, .mlg, .csv) in Review")
        self.open_action.triggered.connect(self.opener.ask)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        view = self.menuBar().addMenu("&View")
        layout = view.addMenu("&Layout")
        self.layout_actions: dict[str, QAction] = {}
        reset = layout.addAction("&Reset layout")
        reset.triggered.connect(self.reset_layout)
        self.layout_actions["reset"] = reset
        layout.addSeparator()
        for name, (title, _share) in LAYOUT_PRESETS.items():
            action = layout.addAction(title)
            action.triggered.connect(lambda _checked=False, n=name: self.apply_layout(n))
            self.layout_actions[name] = action
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        session = self.menuBar().addMenu("Se&ssion")
        self.sheet_action = session.addAction("Customer &sheet…")
        self.sheet_action.triggered.connect(self.customer_sheet)
        self.compare_action = session.addAction("&Compare runs…")
        self.compare_action.triggered.connect(self.show_compare)
        settings = self.menuBar().addMenu("&Settings")
        self.preferences_action = settings.addAction("&Preferences…")
        self.preferences_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.preferences_action.triggered.connect(self.edit_preferences)
        help_menu = self.menuBar().addMenu("&Help")
        self.welcome_action = help_menu.addAction("&Getting started…")
        self.welcome_action.setToolTip("The welcome screen: the demo cell, connecting the "
                                       "devices, opening a tune or log, where files are kept")
        self.welcome_action.triggered.connect(self.show_welcome)
        self.about_action = help_menu.addAction("&About DynoAI Desktop")
        self.about_action.triggered.connect(lambda: show_about(self))

    def show_welcome(self) -> WelcomeDialog:
        """The welcome screen, in front (not modal): at a first start and from the Help menu."""
        if self.welcome is None:
            self.welcome = WelcomeDialog(self)
            self.closing.connect(self.welcome.hide)  # the app quits with the window
        self.welcome.present()
        return self.welcome

    def reset_layout(self) -> None:
        """Every dock back where the app first put it, sized for this window."""
        self._arrange(DEFAULT_LIVE_SHARE)

    def apply_layout(self, preset: str) -> None:
        """A layout preset: 'live' (the live dock wide, for pulls) or 'tuning' (the tables
        wide, live data beside them)."""
        self._arrange(LAYOUT_PRESETS[preset][1])

    def _arrange(self, share: float) -> None:
        comparing = self.docks["compare"].isVisible()  # a comparison open stays open
        self.restoreState(self._default_state)
        for name, dock in self.docks.items():
            dock.setFloating(False)
            dock.setVisible(name != "compare" or comparing)
        self.docks["live"].raise_()
        self._hide_stale_tab_bars()
        width = self.width()
        self.resizeDocks([self.docks["live"], self.docks["tables"]],
                         [int(width * share), int(width * (1 - share))], Qt.Orientation.Horizontal)
        height = self.height()
        self.resizeDocks([self.docks["tables"], self.docks["coverage"]],
                         [int(height * 0.6), int(height * 0.4)], Qt.Orientation.Vertical)

    def _hide_stale_tab_bars(self) -> None:
        """Qt 6.11 leaves a dock group's old tab bar shown: under the new one after
        restoreState(), and where the group was after the first layout or a dock moved out of
        it ("AI su… Trai…" over the table editor). A bar in use sits at the dock of its
        current tab; of those with the same tabs there, the newest stays. The rest are hidden
        (Qt shows the bars it lays out again itself)."""
        titles = {d.windowTitle(): d for d in self.docks.values()}
        groups: dict[tuple[str, ...], list[tuple[int, QTabBar]]] = {}
        for n, bar in enumerate(self.findChildren(QTabBar)):
            if bar.parent() is self and bar.isVisible():
                tabs = tuple(sorted(bar.tabText(i) for i in range(bar.count())))
                groups.setdefault(tabs, []).append((n, bar))

        def apart(entry: tuple[int, QTabBar]) -> tuple[int, int]:
            n, bar = entry
            dock = titles.get(bar.tabText(bar.currentIndex()))
            if dock is None or not dock.isVisible() or dock.isFloating():
                return (1 << 30, -n)
            a, b = bar.geometry(), dock.geometry()
            dx = max(0, a.left() - b.right(), b.left() - a.right())
            dy = max(0, a.top() - b.bottom(), b.top() - a.bottom())
            return (dx + dy, -n)

        for bars in groups.values():
            near = [e for e in bars if apart(e)[0] <= TAB_BAR_GAP_PX]
            keep = min(near, key=apart) if near else None
            for entry in bars:
                if entry is not keep:
                    entry[1].hide()

    def edit_preferences(self) -> None:
        current = self.app.settings.current
        dialog = PreferencesDialog(current.units, self, current.editor_steps, current.shop)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.app.settings.update(units=dialog.units(), editor_steps=dialog.steps(),
                                     shop=dialog.shop())
        dialog.deleteLater()

    def customer_sheet(self) -> CustomerSheetDialog:
        """Session ▸ Customer sheet…: the open session's (or the newest) before/after sheet."""
        maker = CustomerSheetMaker(self.app.catalog, self.app.settings, self.app.runs.session_id)
        dialog = CustomerSheetDialog(maker, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _settings_changed(self, settings: Settings) -> None:
        if settings.units != self.live.units:
            self.live.set_units(settings.units)
            self.tables.set_units(settings.units)
        if settings.units != self.review.units:
            self.review.set_units(settings.units)
        if settings.units != self.compare.units:
            self.compare.set_units(settings.units)
        self.tables.view.set_steps(settings.editor_steps.by_kind())

    # ------------------------------------------------------------------ size and layout
    def available_rect(self) -> QRect:
        """Where the window may be: the screen it is on, less task bars and docks."""
        screen = self.screen()
        return screen.availableGeometry()

    def fit_to_screen(self) -> None:
        """Keep the whole window on its screen: no larger than the room there is, moved in
        when a saved position (from another monitor, say) is off it."""
        room = self.available_rect()
        frame = self.frameGeometry()
        extra_w = frame.width() - self.width()
        extra_h = frame.height() - self.height()
        width = min(self.width(), room.width() - extra_w)
        height = min(self.height(), room.height() - extra_h)
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        frame = self.frameGeometry()
        left = min(max(frame.left(), room.left()), room.right() - frame.width() + 1)
        top = min(max(frame.top(), room.top()), room.bottom() - frame.height() + 1)
        if (left, top) != (frame.left(), frame.top()):
            self.move(left, top)

    def _restore_layout(self) -> None:
        settings = self.app.settings.current
        restored = False
        if settings.window_geometry_b64:
            restored = self.restoreGeometry(
                QByteArray(base64.b64decode(settings.window_geometry_b64)))
        if not restored:  # the first start: the whole of the screen it is on
            room = self.available_rect()
            self.resize(room.size())
            self.move(room.topLeft())
        if settings.window_state_b64:
            self.restoreState(QByteArray(base64.b64decode(settings.window_state_b64)))

    def save_layout(self) -> None:
        """Store window geometry and dock state in the settings file."""
        self.app.settings.update(
            window_geometry_b64=base64.b64encode(self.saveGeometry().data()).decode("ascii"),
            window_state_b64=base64.b64encode(self.saveState().data()).decode("ascii"),
        )

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.fit_to_screen()
            QTimer.singleShot(0, self.fit_to_screen)
            QTimer.singleShot(0, self._hide_stale_tab_bars)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.live.timer.stop()
        self.replay_controller.shutdown()
        self.coverage.shutdown()  # its timer and its session event
        self.training.shutdown()
        self.ai.shutdown()
        self.compare.shutdown()
        self.tables.set_live_source(None)
        self.app.tune.changed.disconnect(self.tables.show_tune)
        self.app.tune.changed.disconnect(self.history.refresh)
        self.library_controller.shutdown()  # before the live session saves a run recording
        self.controller.shutdown()
        self.app.settings.changed.disconnect(self._settings_changed)
        self.closing.emit()
        super().closeEvent(event)
