"""The main window: assembles the four dock panels and the device status bar, nothing more."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.acquisition.status import DeviceStatus
from dynoai_desktop.core.table import Table
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.settings import DevicePort, Settings, SettingsStore
from dynoai_desktop.ui.device_status import DeviceIndicator
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
    closing = Signal()  # before the window goes: owners stop what feeds it
    def __init__(
        self,
        store: SettingsStore,
        settings: Settings,
        buffer: SampleRingBuffer,
        tables: list[Table],
        tables_source: str,
        banner: str = "",
        catalog: Catalog | None = None,
        device_ports: Sequence[DevicePort] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.settings = settings
        self.setWindowTitle("DynoAI Desktop")
        self.setObjectName("main_window")
        self.setDockNestingEnabled(True)
        # The docks are the whole window; an empty central widget lets them take all the space.
        central = QWidget()
        central.setMaximumSize(0, 0)
        self.setCentralWidget(central)

        self._own_catalog = catalog is None
        self.catalog = catalog if catalog is not None else Catalog()
        self.live = LiveLoggingPanel(buffer, settings.units, banner)
        self.review = ReviewPanel(settings.units)
        self.device_bar = DeviceBar(settings.devices if device_ports is None else device_ports)
        self.session_bar = SessionBar(self.catalog)
        self.live_dock = LiveDock(self.device_bar, self.session_bar, self.live, self.review)
        self.tables = TablesPanel(tables, tables_source)
        self.coverage = CoveragePanel(tables[0])
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

        self.indicators = [DeviceIndicator(device) for device in settings.devices]
        for indicator in self.indicators:
            self.statusBar().addPermanentWidget(indicator)
        if store.problem:
            self.statusBar().addWidget(QLabel(store.problem))

        self.resize(*DEFAULT_SIZE)
        self._restore_layout()

    def show_device_statuses(self, statuses: list[DeviceStatus]) -> None:
        """Light each role's indicator from the devices of that role (name starts with it)."""
        for indicator in self.indicators:
            mine = [s for s in statuses if s.name.startswith(indicator.device.role)]
            if mine:
                indicator.show_statuses(mine)

    def _dock(self, title: str, panel: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{panel.__class__.__name__}")  # saveState() keys on this
        dock.setWidget(panel)
        self.addDockWidget(area, dock)
        return dock

    def _restore_layout(self) -> None:
        if self.settings.window_geometry_b64:
            self.restoreGeometry(QByteArray(base64.b64decode(self.settings.window_geometry_b64)))
        if self.settings.window_state_b64:
            self.restoreState(QByteArray(base64.b64decode(self.settings.window_state_b64)))

    def save_layout(self) -> None:
        """Store window geometry and dock state in the settings file."""
        self.settings = replace(
            self.settings,
            window_geometry_b64=base64.b64encode(self.saveGeometry().data()).decode("ascii"),
            window_state_b64=base64.b64encode(self.saveState().data()).decode("ascii"),
        )
        self.store.save(self.settings)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.live.timer.stop()
        self.closing.emit()
        if self._own_catalog:
            self.catalog.close()
        super().closeEvent(event)
