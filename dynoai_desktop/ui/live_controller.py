"""Connects the live dock's bars to the acquisition core and the recorder.

The bars only turn user input into signals; this turns those into acquisition and recording and
feeds the state back (lights, record button, markers on the charts). The work itself runs on the
acquisition's threads; here everything is quick and on the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from dynoai_desktop.acquisition.acquisition import Acquisition
from dynoai_desktop.acquisition.demo import DemoCell
from dynoai_desktop.acquisition.reader import DeviceConfig
from dynoai_desktop.acquisition.recorder import Recorder
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.settings import DevicePort, SettingsStore
from dynoai_desktop.ui.main_window import MainWindow

STATUS_POLL_MS = 250


def demo_ports(demo: DemoCell) -> list[DevicePort]:
    """The demo cell's devices as the device bar shows them (their loopback URLs)."""
    return [DevicePort(reader.kind.role, reader.config.protocol, reader.config.port,
                       dict(reader.config.options))
            for reader in demo.acquisition.readers.values()]


def device_configs(ports: Sequence[DevicePort]) -> list[DeviceConfig]:
    """Reader configs for the device bar's ports: the dyno leads the rows."""
    names: dict[str, int] = {}
    configs = []
    for port in ports:
        names[port.role] = names.get(port.role, 0) + 1
        name = port.role if names[port.role] == 1 else f"{port.role}_{names[port.role]}"
        configs.append(DeviceConfig(name, port.protocol, port.port, dict(port.options),
                                    primary=port.role == "dyno" and name == "dyno"))
    return configs


class LiveController(QObject):
    """Owns the acquisition (started from the device bar, or the demo cell's) and the recorder."""

    def __init__(self, window: MainWindow, catalog: Catalog, store: SettingsStore,
                 demo: DemoCell | None = None) -> None:
        super().__init__(window)
        self.window, self.catalog, self.store = window, catalog, store
        self.acquisition: Acquisition | None = demo.acquisition if demo else None
        self.recorder: Recorder | None = None
        self.last_run_path: Path | None = None  # the run file of the last run recorded
        self.t0 = self.acquisition.t0 if self.acquisition else time.monotonic()
        bar, session = window.device_bar, window.session_bar
        bar.connect_requested.connect(self.connect_devices)
        bar.disconnect_requested.connect(self.disconnect_devices)
        session.record_requested.connect(self.start_recording)
        session.stop_requested.connect(self.stop_recording)
        session.marker_requested.connect(self.add_marker)
        bar.set_connected(self.acquisition is not None)
        window.live.clock = self._now_s
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.show_statuses)
        self.timer.start(STATUS_POLL_MS)

    def _now_s(self) -> float:
        return time.monotonic() - self.t0

    def connect_devices(self, ports: list[DevicePort]) -> None:
        try:
            acquisition = Acquisition(device_configs(ports), self.window.live.buffer, t0=self.t0)
        except InputError as exc:
            self.window.statusBar().showMessage(str(exc))
            return
        self.disconnect_devices()
        acquisition.start()
        self.acquisition = acquisition
        self.window.device_bar.set_connected(True)
        settings = replace(self.window.settings, devices=tuple(ports))
        self.window.settings = settings
        self.store.save(settings)

    def disconnect_devices(self) -> None:
        if self.recorder is not None and self.recorder.recording:
            self.stop_recording()
        if self.acquisition is not None:
            self.acquisition.stop()
            self.acquisition = None
        self.window.device_bar.set_connected(False)

    def start_recording(self, session_id: int, name: str) -> None:
        if self.acquisition is None:
            self.window.statusBar().showMessage("Connect the devices before recording a run.")
            return
        self.recorder = Recorder(self.acquisition, self.catalog)
        ports = self.window.device_bar.devices()
        try:
            self.recorder.start(session_id, name, ports)
        except InputError as exc:
            self.window.statusBar().showMessage(str(exc))
            return
        self.window.session_bar.set_recording(True)

    def stop_recording(self) -> None:
        if self.recorder is None or not self.recorder.recording:
            return
        record = self.recorder.stop()
        self.window.session_bar.set_recording(False)
        self.window.statusBar().showMessage(
            f"Saved run '{record.name}': {record.duration_s or 0:.1f} s, {record.rows} rows.")
        self.last_run_path = self.catalog.run_path(record)

    def add_marker(self, note: str) -> None:
        if self.recorder is None or not self.recorder.recording or self.acquisition is None:
            return
        self.recorder.mark(note)
        self.window.live.add_marker(self.acquisition.now_s(), note)

    def show_statuses(self) -> None:
        if self.acquisition is None:
            return
        statuses = self.acquisition.statuses()
        self.window.device_bar.show_statuses(statuses)
        self.window.show_device_statuses(statuses)

    def shutdown(self) -> None:
        """Stop recording (the run is saved) and reading; called when the window closes."""
        self.timer.stop()
        self.disconnect_devices()
