"""Connects the live dock's bars to the live session, and the live session back to the widgets.

The bars turn the tuner's input into signals; this calls ``app.LiveSession`` with them and shows
what it answers (lights, the record button, markers on the charts, problems in the status bar).
Everything here is quick and on the UI thread; the work runs on the acquisition's threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from dynoai_desktop.app.live_session import LiveSession
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog import RunRecord
from dynoai_desktop.storage.settings import DevicePort

if TYPE_CHECKING:
    from dynoai_desktop.ui.main_window import MainWindow

STATUS_POLL_MS = 250


class LiveController(QObject):
    """The Qt side of the live session: bar signals in, widget updates out."""

    def __init__(self, window: MainWindow, live: LiveSession) -> None:
        super().__init__(window)
        self.window, self.live = window, live
        bar, session = window.device_bar, window.session_bar
        bar.connect_requested.connect(self.connect_devices)
        bar.disconnect_requested.connect(self.disconnect_devices)
        session.record_requested.connect(self.start_recording)
        session.stop_requested.connect(self.stop_recording)
        session.marker_requested.connect(self.add_marker)
        live.connection_changed.connect(self._connection_changed)
        live.recording_changed.connect(session.set_recording)
        live.marker_added.connect(window.live.add_marker)
        live.run_saved.connect(self._run_saved)
        bar.set_connected(live.connected)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.show_statuses)
        self.timer.start(STATUS_POLL_MS)

    def connect_devices(self, ports: list[DevicePort]) -> None:
        self._guarded(lambda: self.live.connect(ports))

    def disconnect_devices(self) -> None:
        self.live.disconnect()

    def start_recording(self, session_id: int, name: str) -> None:
        self._guarded(lambda: self.live.start_recording(session_id, name))

    def stop_recording(self) -> None:
        self._guarded(self.live.stop_recording)

    def add_marker(self, note: str) -> None:
        self.live.mark(note)

    def show_statuses(self) -> None:
        statuses = self.live.statuses()
        if statuses:
            self.window.device_bar.show_statuses(statuses)
        self.window.show_device_statuses(statuses)

    def shutdown(self) -> None:
        """Stop polling and end the live session (a recording is saved first); the session's
        events no longer reach these widgets."""
        self.timer.stop()
        self.live.close()
        live, window = self.live, self.window
        live.connection_changed.disconnect(self._connection_changed)
        live.recording_changed.disconnect(window.session_bar.set_recording)
        live.marker_added.disconnect(window.live.add_marker)
        live.run_saved.disconnect(self._run_saved)

    def _connection_changed(self) -> None:
        self.window.device_bar.set_connected(self.live.connected)
        self.show_statuses()

    def _run_saved(self, record: RunRecord) -> None:
        self.window.statusBar().showMessage(
            f"Saved run '{record.name}': {record.duration_s or 0:.1f} s, {record.rows} rows.")

    def _guarded(self, action: Callable[[], object]) -> None:
        try:
            action()
        except InputError as exc:
            self.window.statusBar().showMessage(str(exc))
