"""One reader thread per device: open the port, read, decode, stamp, hand over; reconnect.

The thread reads with ``SerialDevice.read`` (which waits up to its read timeout for bytes), stamps
every reading with the host's monotonic clock at arrival, and calls ``sink`` with them. A port that
cannot be opened or is lost puts the device in "port lost" and is retried every
``retry_interval_s`` until it comes back; the other devices are not affected.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dynoai_desktop.acquisition.status import DEVICE_QUIET_AFTER_S, DeviceState, DeviceStatus
from dynoai_desktop.core.channels import STATUS_CHANNEL_FOR, SensorStatus
from dynoai_desktop.devices.base import DynoCommand, Reading
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.devices.transport import PortError, PortLost, SerialDevice

READ_TIMEOUT_S = 0.02
RETRY_INTERVAL_S = 0.5
GARBLED_WINDOW_S = 60.0  # garbled frames are counted over the last minute, not for ever

# sink(device name, readings, arrival times on the monotonic clock)
Sink = Callable[[str, list[Reading], list[float]], None]


@dataclass(frozen=True)
class DeviceConfig:
    """A device to read: a name, its protocol, its port (a pyserial URL) and options."""

    name: str
    protocol: str
    port: str
    options: Mapping[str, Any] = field(default_factory=dict)
    primary: bool = False  # rows follow this device (the dyno line)


class DeviceReader:
    """Reads one device on its own thread until ``stop``."""

    def __init__(self, config: DeviceConfig, sink: Sink, *,
                 retry_interval_s: float = RETRY_INTERVAL_S, time_scale: float = 1.0) -> None:
        """``time_scale``: the device's seconds per wall second (the demo cell played at 10x
        sends a 10 ms line every millisecond); its own clock is read in those seconds."""
        self.config = config
        self.time_scale = time_scale
        self.kind = device_registry().get(config.protocol)
        self._sink = sink
        self._retry_interval_s = retry_interval_s
        self._device = SerialDevice(self.kind, config.port, config.options,
                                    read_timeout_s=READ_TIMEOUT_S)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"reader-{config.name}")
        self._lock = threading.Lock()
        self._error: str | None = None  # why the port is not open (None while it is)
        self._lost_why: str | None = None  # how an open port was lost, until it reopens
        self._opened_at: float | None = None
        self._last_reading_at: float | None = None
        self._readings = 0
        self._reconnects = 0
        self._sensor: tuple[SensorStatus, str] = (SensorStatus.VALID, "")
        self._details: dict[str, str] = {}  # wideband channel -> its latest detail line
        self._stats = (0, 0, 0)  # bytes in, frames rejected, bytes skipped (over all opens)
        # (time, frames rejected + bytes skipped so far), about one a second, the last minute
        self._garbled: deque[tuple[float, int]] = deque()
        self._stats_base = (0, 0, 0)
        self._pending: list[DynoCommand] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        self._device.close()

    def send(self, command: DynoCommand) -> None:
        """Queue a dyno command; the reader thread writes it (ports are not shared)."""
        with self._lock:
            self._pending.append(command)

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._device.is_open and not self._open():
                self._stop.wait(self._retry_interval_s)
                continue
            try:
                self._send_pending()
                readings = self._device.read()
            except PortLost as exc:
                self._lost(str(exc))
                continue
            self._note_stats()
            if readings:
                self._deliver(readings)

    def _open(self) -> bool:
        try:
            self._device.open()
        except PortError as exc:
            with self._lock:
                # A port lost mid-run keeps saying so while it is retried: the loss is the
                # news, the retry's "cannot open" only says it has not come back yet.
                self._error = (f"{self._lost_why}; retrying every {self._retry_interval_s:g} s: "
                               f"{exc}" if self._lost_why else str(exc))
            return False
        with self._lock:
            if self._opened_at is not None:
                self._reconnects += 1
            self._error = None
            self._lost_why = None
            self._opened_at = time.monotonic()
            self._last_reading_at = None
            self._stats_base = self._stats
        return True

    def _lost(self, why: str) -> None:
        with self._lock:
            self._error = why
            self._lost_why = why
        self._device.close()
        self._stop.wait(self._retry_interval_s)

    def _send_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for command in pending:
            self._device.send(command)

    def _note_stats(self) -> None:
        s = self._device.stats
        base = self._stats_base
        now = time.monotonic()
        with self._lock:
            self._stats = (base[0] + s.bytes_in, base[1] + s.frames_rejected,
                           base[2] + s.bytes_skipped)
            garbled = self._stats[1] + self._stats[2]
            if not self._garbled or now - self._garbled[-1][0] >= 1.0:
                self._garbled.append((now, garbled))
            while len(self._garbled) > 1 and now - self._garbled[1][0] >= GARBLED_WINDOW_S:
                self._garbled.popleft()

    def _garbled_last_minute(self) -> int:
        """Frames rejected and bytes skipped over about the last minute (lock held)."""
        if not self._garbled:
            return 0
        return self._stats[1] + self._stats[2] - self._garbled[0][1]

    def _deliver(self, readings: list[Reading]) -> None:
        arrival = time.monotonic()
        times = _spread(readings, arrival, self.time_scale)
        with self._lock:
            self._last_reading_at = arrival
            self._readings += len(readings)
            self._sensor = _worst_sensor(readings[-1])
            for reading in readings:
                for channel in STATUS_CHANNEL_FOR:
                    if channel in reading.values:
                        self._details[channel] = reading.details.get(channel, "")
        self._sink(self.config.name, readings, times)

    # ------------------------------------------------------------------ status
    def status(self, now: float | None = None) -> DeviceStatus:
        """The device's state now (cheap; safe from any thread)."""
        now = time.monotonic() if now is None else now
        c = self.config
        with self._lock:
            age = None if self._last_reading_at is None else now - self._last_reading_at
            bytes_in, rejected, skipped = self._stats
            state, reason = self._state(now, age, bytes_in)
            return DeviceStatus(c.name, self.kind.role, c.protocol, c.port, state, reason,
                                self._readings, bytes_in, rejected, skipped, self._reconnects,
                                age, self._garbled_last_minute(), dict(self._details))

    def _state(self, now: float, age: float | None, bytes_in: int) -> tuple[DeviceState, str]:
        where = f"{self.kind.title} on {self.config.port}"
        if self._stop.is_set():
            return DeviceState.STOPPED, f"{where}: stopped"
        if self._error is not None:
            return DeviceState.PORT_LOST, self._error
        if self._opened_at is None:
            return DeviceState.CONNECTED, f"{where}: opening the port"
        since_open = [a - b for a, b in zip(self._stats, self._stats_base, strict=True)]
        garbage = since_open[1] + since_open[2]
        per_minute = self._garbled_last_minute()
        if age is None:  # nothing decoded since the port opened
            if garbage and since_open[0] > 64:
                return DeviceState.NO_VALID_DATA, (
                    f"{where}: bytes arrive but no frame decodes; check the protocol "
                    f"({self.config.protocol}) and the baud rate")
            opened_for = now - (self._opened_at or now)
            if opened_for < 2 * DEVICE_QUIET_AFTER_S:
                return DeviceState.CONNECTED, f"{where}: port open, waiting for data"
            return DeviceState.STALE, (f"{where}: nothing heard for {opened_for:.1f} s; check "
                                       "the device's power and cable")
        if age > DEVICE_QUIET_AFTER_S:
            return DeviceState.STALE, (f"{where}: nothing heard for {age:.1f} s; check the "
                                       "device's power and cable")
        noise = f"; {per_minute} garbled frames or bytes skipped in the last minute" \
            if per_minute else ""
        sensor, detail = self._sensor
        if sensor == SensorStatus.SENSOR_ERROR:
            return DeviceState.SENSOR_ERROR, f"{where}: {detail}{noise}"
        if sensor in (SensorStatus.WARMING_UP, SensorStatus.CALIBRATING):
            return DeviceState.WARMING_UP, f"{where}: {detail}{noise}"
        return DeviceState.STREAMING, f"{where}: streaming{noise}"


def _spread(readings: list[Reading], arrival: float, time_scale: float = 1.0) -> list[float]:
    """Arrival times for readings that came in one read: the last at ``arrival``, earlier ones
    back by the device's own clock where it sends one (its seconds / ``time_scale`` of wall
    time), else by a hair (order is kept)."""
    last = readings[-1].device_time_s
    out = []
    for i, reading in enumerate(readings):
        own = reading.device_time_s
        if own is not None and last is not None and 0.0 <= last - own < time_scale:
            out.append(arrival - (last - own) / time_scale)
        else:
            out.append(arrival - (len(readings) - 1 - i) * 1e-4)
    return out


_SEVERITY = {SensorStatus.SENSOR_ERROR: 3, SensorStatus.WARMING_UP: 2,
             SensorStatus.CALIBRATING: 2}


def _worst_sensor(reading: Reading) -> tuple[SensorStatus, str]:
    """The worst wideband status in a reading, and its detail line."""
    worst, detail = SensorStatus.VALID, ""
    for channel, status_channel in STATUS_CHANNEL_FOR.items():
        code = reading.values.get(status_channel)
        if code is None or math.isnan(code):
            continue
        status = SensorStatus(int(code))
        if _SEVERITY.get(status, 0) > _SEVERITY.get(worst, 0):
            worst = status
            side = channel.removeprefix("afr_")
            detail = f"{side} sensor: {reading.details.get(channel, status.label)}"
    return worst, detail
