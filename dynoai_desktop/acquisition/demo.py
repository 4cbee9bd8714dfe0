"""Demo mode: the virtual dyno cell served in-process on loopback sockets, read through the
ordinary device path (the same readers, codecs and merger as real hardware)."""

from __future__ import annotations

from dynoai_desktop.acquisition.acquisition import Acquisition
from dynoai_desktop.acquisition.reader import DeviceConfig
from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.emitters import decoder_options
from dynoai_desktop.sim.server import CellServer


class DemoCell:
    """The virtual cell and the acquisition reading it; ``stop`` ends both."""

    def __init__(self, buffer: SampleRingBuffer | None = None, *,
                 config: CellConfig | None = None, rate_multiplier: float = 1.0) -> None:
        self.cell = VirtualCell(config or CellConfig())
        self.server = CellServer(self.cell, rate_multiplier=rate_multiplier)
        endpoints = self.server.start()
        devices = {d.name: d for d in self.cell.devices}
        try:
            self.acquisition = Acquisition(
                [DeviceConfig(ep.device, ep.protocol, ep.url,
                              decoder_options(devices[ep.device]), primary=ep.device == "dyno")
                 for ep in endpoints],
                buffer,
            )
            self.acquisition.start()
        except BaseException:
            self.server.stop()
            raise

    def stop(self) -> None:
        self.acquisition.stop()
        self.server.stop()

    def __enter__(self) -> DemoCell:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
