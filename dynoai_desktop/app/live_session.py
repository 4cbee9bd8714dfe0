"""The live session: the cell's devices, their statuses, recording, the live buffer and the live
analysis. The device bar, the session bar, the live panel and the status lights observe it.

Reading, merging and analysing run on the acquisition's threads; everything here is quick and
called from the UI thread. What changes on other threads (rows, statuses, analysis results) is
polled through version counters; what the tuner does (connect, record, mark) raises events.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from dynoai_desktop.acquisition.acquisition import Acquisition, device_configs, live_buffer
from dynoai_desktop.acquisition.analysis import AnalysisWorker
from dynoai_desktop.acquisition.recorder import Recorder
from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.acquisition.status import DeviceStatus
from dynoai_desktop.app.events import Event
from dynoai_desktop.app.settings import AppSettings
from dynoai_desktop.core.cell_hits import CellHitCounter, CellHits
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.storage.catalog import Catalog, RunRecord
from dynoai_desktop.storage.settings import DevicePort

CELL_HITS = "cell_hits"


class LiveSession:
    """Devices connected or not, a run recording or not, and what the live analysis found."""

    def __init__(self, catalog: Catalog | None, settings: AppSettings,
                 ports: Sequence[DevicePort] | None = None,
                 buffer: SampleRingBuffer | None = None) -> None:
        self.catalog = catalog
        self.settings = settings
        # The device configuration: the demo cell's loopback ports, else the saved ports.
        self.ports: tuple[DevicePort, ...] = tuple(
            ports if ports is not None else settings.current.devices)
        self.save_ports = ports is None  # the demo's ports are not the user's settings
        self.buffer = buffer if buffer is not None else live_buffer()
        self.t0 = time.monotonic()  # time_s = 0 for every connection into this buffer
        self.acquisition: Acquisition | None = None
        self.recorder: Recorder | None = None
        self.last_run: RunRecord | None = None
        self.analysis = AnalysisWorker()
        self.analysis.start()
        self.connection_changed = Event("devices connected or disconnected")
        self.recording_changed = Event("recording started or stopped")  # (recording: bool)
        self.marker_added = Event("marker added")  # (time_s on the buffer's clock, note)
        self.run_saved = Event("run saved")  # (RunRecord)

    # ------------------------------------------------------------------ devices
    @property
    def connected(self) -> bool:
        return self.acquisition is not None

    def connect(self, ports: Sequence[DevicePort] | None = None) -> None:
        """Start reading ``ports`` (default: the current ones); InputError when they cannot
        make one acquisition (two devices lead, say). The ports are saved in the settings."""
        ports = tuple(self.ports if ports is None else ports)
        acquisition = Acquisition(device_configs(ports), self.buffer, t0=self.t0)
        self.disconnect()
        acquisition.subscribe(self.analysis.feed)
        acquisition.start()
        self.acquisition, self.ports = acquisition, ports
        if self.save_ports:
            self.settings.update(devices=ports)
        self.connection_changed.emit()

    def disconnect(self) -> None:
        """Stop recording (the run is saved) and stop reading."""
        if self.recording:
            self.stop_recording()
        if self.acquisition is not None:
            self.acquisition.stop()
            self.acquisition.unsubscribe(self.analysis.feed)
            self.acquisition = None
            self.connection_changed.emit()

    def statuses(self) -> list[DeviceStatus]:
        """Every device's status now (empty when not connected)."""
        return self.acquisition.statuses() if self.acquisition is not None else []

    def sensor_details(self) -> dict[str, str]:
        """Each wideband channel's latest detail line from its device ("sensor error 2: heater
        open", "warming up, 62 % of operating temperature"; "" while it reads normally)."""
        details: dict[str, str] = {}
        for status in self.statuses():
            details.update(status.sensor_details)
        return details

    def now_s(self) -> float:
        """The current time on the live buffer's clock (time_s)."""
        return time.monotonic() - self.t0

    # ------------------------------------------------------------------ recording
    @property
    def recording(self) -> bool:
        return self.recorder is not None and self.recorder.recording

    def start_recording(self, session_id: int, name: str) -> int:
        """Record a run of the session; InputError when it cannot start (not connected...)."""
        if self.recording:
            raise InputError("already recording a run; stop it before starting another")
        if self.acquisition is None:
            raise InputError("Connect the devices before recording a run.")
        if self.catalog is None:
            raise InputError("The catalog is not open, so a run cannot be kept; see the "
                             "message at start-up.")
        recorder = Recorder(self.acquisition, self.catalog)
        run_id = recorder.start(session_id, name, list(self.ports))
        self.recorder = recorder
        self.recording_changed.emit(True)
        return run_id

    def stop_recording(self) -> RunRecord | None:
        """Stop the run; its file is written and the run completed in the catalog."""
        if self.recorder is None or not self.recorder.recording:
            return None
        record = self.recorder.stop()
        self.last_run = record
        self.recording_changed.emit(False)
        self.run_saved.emit(record)
        return record

    def mark(self, note: str) -> None:
        """A marker in the run being recorded (nothing when not recording)."""
        if self.recorder is None or not self.recorder.recording:
            return
        self.recorder.mark(note)
        self.marker_added.emit(self.now_s(), note)

    # ------------------------------------------------------------------ live analysis
    def count_hits_in(self, table: Table | None) -> None:
        """Count the live rows into ``table``'s cells from now on (None: stop counting)."""
        if table is None:
            self.analysis.unregister(CELL_HITS)
        else:
            self.analysis.register(CELL_HITS, CellHitCounter(table))

    @property
    def analysis_version(self) -> int:
        return self.analysis.version

    def cell_hits(self) -> CellHits | None:
        return self.analysis.result(CELL_HITS)

    def close(self) -> None:
        """Stop recording (saved), reading and analysing; called when the window closes."""
        self.disconnect()
        self.analysis.stop()
