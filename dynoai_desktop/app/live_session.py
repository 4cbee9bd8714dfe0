"""The live session: the cell's devices, their statuses, recording, the live buffer and the live
analysis. The device bar, the session bar, the live panel and the status lights observe it.

Reading, merging and analysing run on the acquisition's threads; everything here is quick and
called from the UI thread. What changes on other threads (rows, statuses, analysis results) is
polled through version counters; what the tuner does (connect, record, mark) raises events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from dynoai_desktop.acquisition.acquisition import Acquisition, device_configs, live_buffer
from dynoai_desktop.acquisition.analysis import AnalysisWorker
from dynoai_desktop.acquisition.recorder import Recorder
from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.acquisition.status import DeviceStatus
from dynoai_desktop.app.events import Event
from dynoai_desktop.app.settings import AppSettings
from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.autotune.live import LiveAutotune, LiveCorrections
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.devices.base import DynoCommand
from dynoai_desktop.storage.catalog import Catalog, RunRecord
from dynoai_desktop.storage.settings import DevicePort

AUTOTUNE = "autotune"

TuneSink = Callable[[Mapping[str, Table]], None]
"""Loads ``ve_front``/``ve_rear`` into the engine's ECM (the demo's virtual one)."""


class LiveSession:
    """Devices connected or not, a run recording or not, and what the live analysis found."""

    def __init__(self, catalog: Catalog | None, settings: AppSettings,
                 ports: Sequence[DevicePort] | None = None,
                 buffer: SampleRingBuffer | None = None,
                 tune_sink: TuneSink | None = None, time_scale: float = 1.0) -> None:
        self.catalog = catalog
        self.settings = settings
        # The device configuration: the demo cell's loopback ports, else the saved ports.
        self.ports: tuple[DevicePort, ...] = tuple(
            ports if ports is not None else settings.current.devices)
        self.save_ports = ports is None  # the demo's ports are not the user's settings
        self.tune_sink = tune_sink
        self.time_scale = time_scale  # the demo cell played at 10x: rows on the cell's clock
        self.buffer = buffer if buffer is not None else live_buffer()
        self.t0 = time.monotonic()  # time_s = 0 for every connection into this buffer
        self.acquisition: Acquisition | None = None
        self.recorder: Recorder | None = None
        self.last_run: RunRecord | None = None
        self.run_tune: Callable[[int], int | None] | None = None
        """For a run about to record in session N: the version of the session's tune the ECM
        runs (the app keeps the tune in the catalog and links it); None: not known."""
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
        acquisition = Acquisition(device_configs(ports), self.buffer, t0=self.t0,
                                  time_scale=self.time_scale)
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

    def dyno_device(self) -> str | None:
        """The connected device that takes dyno-control commands (None: none does)."""
        if self.acquisition is None:
            return None
        return next((name for name, reader in self.acquisition.readers.items()
                     if reader.kind.role == "dyno" and reader.kind.encode_command is not None),
                    None)

    def send_dyno(self, command: DynoCommand) -> None:
        """A command to the dyno (hold, pull, release); InputError when no dyno takes one."""
        device = self.dyno_device()
        if device is None or self.acquisition is None:
            raise InputError("No dyno that takes host commands is connected.")
        self.acquisition.send(device, command)

    def now_s(self) -> float:
        """The current time on the live buffer's clock (time_s)."""
        return (time.monotonic() - self.t0) * self.time_scale

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
        version = self.run_tune(session_id) if self.run_tune is not None else None
        recorder = Recorder(self.acquisition, self.catalog)
        # The live autotune takes the run's rows from its first block, exactly.
        run_id = recorder.start(session_id, name, list(self.ports), then=self._autotune_opens,
                                tune_version=version)
        self.recorder = recorder
        self.recording_changed.emit(True)
        return run_id

    def stop_recording(self) -> RunRecord | None:
        """Stop the run; its file is written and the run completed in the catalog."""
        if self.recorder is None or not self.recorder.recording:
            return None
        record = self.recorder.stop(then=self._autotune_closes)
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
    @property
    def analysis_version(self) -> int:
        return self.analysis.version

    def autotune_live(self, tables: Mapping[str, Table] | None,
                      settings: AutotuneSettings | None = None,
                      locked: Mapping[str, np.ndarray] | None = None,
                      delay_curve: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Accumulate autotune corrections for ``tables`` (``ve_front``/``ve_rear``, the
        ones fuelling the engine now) from the rows of the runs recorded from now on (each
        run's rows exactly, so the offline analysis of those runs gives the same); None stops
        it. Called again (a tune applied and sent, say) it starts afresh: corrections are
        relative to the tables that fuelled the samples. A run being recorded when it starts
        is not taken (only its tail would be)."""
        if not tables:
            self.analysis.unregister(AUTOTUNE)
            return
        self.analysis.register(AUTOTUNE, LiveAutotune(tables, None, settings, delay_curve,
                                                      locked=locked, runs_only=True))

    def _autotune_opens(self, run_id: int) -> None:
        self.analysis.apply(AUTOTUNE, lambda acc: acc.open_run(run_id))

    def _autotune_closes(self) -> None:
        self.analysis.apply(AUTOTUNE, lambda acc: acc.close_run())

    def flush_autotune(self) -> None:
        """Bin the rows still waiting for their context (after a pull, before applying)."""
        self.analysis.flush(AUTOTUNE)

    def live_corrections(self) -> LiveCorrections | None:
        """The live autotune's newest corrections (None when it is not running)."""
        return self.analysis.result(AUTOTUNE)

    def send_tune(self, tables: Mapping[str, Table]) -> None:
        """Load ``ve_front``/``ve_rear`` into the ECM through the tune sink (demo mode);
        InputError when there is none (a real ECM is flashed with its own tool)."""
        if self.tune_sink is None:
            raise InputError("This ECM is flashed with its own tool: export the tune and flash "
                             "it; only the virtual ECM of demo mode takes a tune from here.")
        self.tune_sink(tables)

    def close(self) -> None:
        """Stop recording (saved), reading and analysing; called when the window closes."""
        self.disconnect()
        self.analysis.stop()
