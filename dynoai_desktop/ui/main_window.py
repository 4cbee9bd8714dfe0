"""The main window: assembles the four dock panels and the device status bar, nothing more."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from dynoai_desktop.acquisition.status import DeviceStatus
from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.ui.device_status import DeviceIndicator
from dynoai_desktop.ui.live_controller import LiveController
from dynoai_desktop.ui.panels.ai_suggestions import AiSuggestionsPanel
from dynoai_desktop.ui.panels.coverage import CoveragePanel
from dynoai_desktop.ui.panels.device_bar import DeviceBar
from dynoai_desktop.ui.panels.live_dock import LiveDock
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel
from dynoai_desktop.ui.panels.review import ReviewPanel
from dynoai_desktop.ui.panels.session_bar import SessionBar
from dynoai_desktop.ui.panels.tables import TablesPanel

DEFAULT_SIZE = (1500, 900)


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
        self.live = LiveLoggingPanel(app.live.buffer, units, app.banner, clock=app.live.now_s)
        self.review = ReviewPanel(app.runs, units)
        self.device_bar = DeviceBar(app.live.ports)
        self.session_bar = SessionBar(app.runs)
        self.live_dock = LiveDock(self.device_bar, self.session_bar, self.live, self.review)
        self.tables = TablesPanel(app.tune)
        self.coverage = CoveragePanel(app.live)
        self.ai = AiSuggestionsPanel()
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.docks = {
            "live": self._dock("Live logging", self.live_dock, left),
            "tables": self._dock("Tables", self.tables, right),
            "coverage": self._dock("Coverage", self.coverage, right),
            "ai": self._dock("AI suggestions", self.ai, right),
        }
        # Tables over the right half; Coverage and AI suggestions side by side beneath it.
        self.splitDockWidget(self.docks["tables"], self.docks["coverage"], Qt.Orientation.Vertical)
        self.splitDockWidget(self.docks["coverage"], self.docks["ai"], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.docks["live"], self.docks["tables"]], [800, 700], Qt.Orientation.Horizontal
        )
        self.resizeDocks(
            [self.docks["tables"], self.docks["coverage"]], [540, 340], Qt.Orientation.Vertical
        )
        self.resizeDocks(
            [self.docks["coverage"], self.docks["ai"]], [420, 280], Qt.Orientation.Horizontal
        )

        roles = dict.fromkeys(port.role for port in app.live.ports)
        self.indicators = [DeviceIndicator(next(p for p in app.live.ports if p.role == role))
                           for role in roles]
        for indicator in self.indicators:
            self.statusBar().addPermanentWidget(indicator)
        if app.notices:
            notices = QLabel(" · ".join(app.notices))
            notices.setObjectName("start_notices")
            notices.setToolTip("\n\n".join(app.notices))
            self.statusBar().addWidget(notices)
        self.controller = LiveController(self, app.live)

        self.resize(*DEFAULT_SIZE)
        self._restore_layout()

    def show_device_statuses(self, statuses: Sequence[DeviceStatus]) -> None:
        """Light each role's indicator from the devices of that role (two AEM gauges make one
        wideband light); with no statuses (disconnected) each says so."""
        for indicator in self.indicators:
            mine = [s for s in statuses if s.role == indicator.device.role]
            if mine:
                indicator.show_statuses(mine)
            else:
                indicator.show_idle()

    def _dock(self, title: str, panel: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{panel.__class__.__name__}")  # saveState() keys on this
        dock.setWidget(panel)
        self.addDockWidget(area, dock)
        return dock

    def _restore_layout(self) -> None:
        settings = self.app.settings.current
        if settings.window_geometry_b64:
            self.restoreGeometry(QByteArray(base64.b64decode(settings.window_geometry_b64)))
        if settings.window_state_b64:
            self.restoreState(QByteArray(base64.b64decode(settings.window_state_b64)))

    def save_layout(self) -> None:
        """Store window geometry and dock state in the settings file."""
        self.app.settings.update(
            window_geometry_b64=base64.b64encode(self.saveGeometry().data()).decode("ascii"),
            window_state_b64=base64.b64encode(self.saveState().data()).decode("ascii"),
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.live.timer.stop()
        self.coverage.timer.stop()
        self.controller.shutdown()
        self.closing.emit()
        super().closeEvent(event)
