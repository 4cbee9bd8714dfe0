"""The acquisition core: a reader thread per device, rows merged into the live buffer.

    acq = Acquisition([DeviceConfig("dyno", "dyno-line", url, primary=True), ...], buffer)
    acq.start(); ...; acq.statuses(); acq.stop()

Qt-free. The UI polls ``buffer.version`` on its timer and ``statuses()`` for the lights; the
recorder and the live analysis subscribe a :class:`BlockFeed` to the rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from dynoai_desktop.acquisition.merger import BlockFeed, RowMerger
from dynoai_desktop.acquisition.reader import DeviceConfig, DeviceReader
from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.acquisition.status import DeviceStatus
from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import DynoCommand, Reading
from dynoai_desktop.storage.settings import DevicePort

ReadingTap = Callable[[str, list[Reading], float], None]
LIVE_BUFFER_S = 600  # at least 10 minutes at 100 Hz
LIVE_RATE_HZ = 100


def device_configs(ports: Sequence[DevicePort]) -> list[DeviceConfig]:
    """Reader configs for the cell's ports, named by role ("wideband", "wideband_2", ...);
    the first dyno paces the rows."""
    counts: dict[str, int] = {}
    configs = []
    for port in ports:
        counts[port.role] = counts.get(port.role, 0) + 1
        name = port.role if counts[port.role] == 1 else f"{port.role}_{counts[port.role]}"
        configs.append(DeviceConfig(name, port.protocol, port.port, dict(port.options),
                                    primary=port.role == "dyno" and name == "dyno"))
    return configs


def live_buffer() -> SampleRingBuffer:
    """A ring buffer of every canonical channel holding 10 minutes at 100 Hz."""
    return SampleRingBuffer(LOG_COLUMNS, capacity=LIVE_BUFFER_S * LIVE_RATE_HZ)


class Acquisition:
    """Reads the configured devices into ``buffer`` until ``stop``."""

    def __init__(self, devices: Sequence[DeviceConfig], buffer: SampleRingBuffer | None = None,
                 t0: float | None = None, time_scale: float = 1.0) -> None:
        """``time_scale``: row seconds per wall second; 1 for real devices. The demo's virtual
        cell played at 10x stamps its rows on the cell's own clock (10), so a run's times,
        rates and durations are the dyno's."""
        names = [d.name for d in devices]
        if len(set(names)) != len(names):
            raise InputError(f"two devices share a name: {names}; give each its own")
        primaries = [d.name for d in devices if d.primary]
        if len(primaries) > 1:
            raise InputError(f"only one device can lead the rows, not {primaries}")
        self.buffer = buffer if buffer is not None else live_buffer()
        # time_s = 0 on the monotonic clock; reconnecting into the same buffer keeps its clock
        self.t0 = time.monotonic() if t0 is None else t0
        self.time_scale = float(time_scale)
        self.merger = RowMerger(self.buffer, primaries[0] if primaries else None, self.t0,
                                self.time_scale)
        self.readers = {d.name: DeviceReader(d, self._on_readings, time_scale=self.time_scale)
                        for d in devices}
        self._taps: list[ReadingTap] = []
        self._started = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError("acquisition already started; make a new one")
        self._started = True
        for reader in self.readers.values():
            reader.start()

    def stop(self) -> None:
        """Stop every reader and close every port (joins the threads)."""
        for reader in self.readers.values():
            reader.stop()

    def __enter__(self) -> Acquisition:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def statuses(self) -> list[DeviceStatus]:
        """Every device's status now, in configuration order."""
        now = time.monotonic()
        return [reader.status(now) for reader in self.readers.values()]

    def now_s(self) -> float:
        """The current time on the rows' clock (time_s)."""
        return (time.monotonic() - self.t0) * self.time_scale

    def tap(self, callback: ReadingTap) -> None:
        """Call ``callback(device, readings, when)`` once a read's rows are in the buffer
        (``when`` on the monotonic clock): for measurements such as the latency benchmark."""
        self._taps.append(callback)

    def _on_readings(self, device: str, readings: list[Reading], arrivals: list[float]
                     ) -> None:
        self.merger.add(device, readings, arrivals)
        if self._taps:
            now = time.monotonic()
            for tap in self._taps:
                tap(device, readings, now)

    def subscribe(self, feed: BlockFeed, then: Callable[[], None] | None = None) -> None:
        """Every block of rows from now on also goes into ``feed`` (in time order); ``then``
        runs at the same moment, between two blocks."""
        self.merger.subscribe(feed, then)

    def unsubscribe(self, feed: BlockFeed, then: Callable[[], None] | None = None) -> None:
        self.merger.unsubscribe(feed, then)

    def send(self, device: str, command: DynoCommand) -> None:
        """A dyno command to ``device`` (written by its reader thread)."""
        try:
            reader = self.readers[device]
        except KeyError:
            raise InputError(f"no device {device!r}; the devices are "
                             f"{', '.join(self.readers)}") from None
        if reader.kind.encode_command is None:
            raise InputError(f"{reader.kind.title} does not take dyno-control commands")
        reader.send(command)
