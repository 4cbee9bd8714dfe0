"""Demo mode's start-up: the virtual dyno cell served in-process on loopback sockets.

Beside the command line, this is the one module that may start the simulator for the app
(ARCHITECTURE.md, "Layers"). What it hands the app is what real hardware would give: the
devices' ports (pyserial URLs with their protocol and options) and a banner saying that nothing
here is a real bike. The app then reads those ports through the ordinary readers, codecs and
merger; ``ui``, ``app``, ``acquisition`` and ``storage`` never import ``sim``.
"""

from __future__ import annotations

from collections.abc import Mapping

from dynoai_desktop.app.application import DemoStart
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.ecm_tables import EcmTables
from dynoai_desktop.sim.emitters import decoder_options
from dynoai_desktop.sim.server import CellServer
from dynoai_desktop.storage.settings import DevicePort

BANNER = (
    "Demo mode: a virtual {bike} on a virtual dyno, served on loopback ports and read like real "
    "devices. Nothing here is a real bike."
)


class DemoCell:
    """The virtual cell and its byte server; ``stop`` ends both. Its ``ports`` are what the app
    connects to."""

    def __init__(self, config: CellConfig | None = None, *, rate_multiplier: float = 1.0
                 ) -> None:
        self.cell = VirtualCell(config or CellConfig())
        self.rate_multiplier = rate_multiplier
        self.server = CellServer(self.cell, rate_multiplier=rate_multiplier)
        endpoints = self.server.start()
        served = {d.name: d for d in self.cell.devices}
        registry = device_registry()
        self.ports: tuple[DevicePort, ...] = tuple(
            DevicePort(registry.get(ep.protocol).role, ep.protocol, ep.url,
                       decoder_options(served[ep.device]))
            for ep in endpoints)
        self.banner = BANNER.format(bike=self.cell.config.preset.title)

    def ecm_tables(self) -> dict[str, Table]:
        """What the virtual ECM fuels from now (``ve_front``/``ve_rear``): the tune the app
        shows in demo mode, as a tuner's tool reads it from a bike."""
        return {"ve_front": self.cell.tables.ve_front, "ve_rear": self.cell.tables.ve_rear}

    def send_tune(self, tables: Mapping[str, Table]) -> None:
        """The tune sink: load ``ve_front``/``ve_rear`` into the virtual ECM at its next step
        (the simulated "flash"; a real ECM is flashed with its own tool). InputError when the
        tables are not what the ECM fuels from (MAP-based, both cylinders)."""
        missing = [k for k in ("ve_front", "ve_rear") if k not in tables]
        if missing:
            raise InputError(f"the virtual ECM needs both VE tables; missing {missing}")
        front, rear = tables["ve_front"], tables["ve_rear"]
        EcmTables(front, rear, *(getattr(self.cell.tables, n) for n in (
            "afr_target", "spark_front", "spark_rear")), self.cell.tables.ve_mode)  # validates
        self.cell.post(lambda: self.cell.load_ve_tables(front, rear))

    def start(self) -> DemoStart:
        """What the app is handed: the ports, the banner, the virtual ECM's tables, the tune
        sink and the cell's clock."""
        return DemoStart(self.ports, self.banner, self.send_tune, self.rate_multiplier,
                         self.ecm_tables())

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> DemoCell:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
