"""What the virtual cell hands to whoever carries its bytes (the server, or the log writer).

The cell is a deterministic simulation: for a seed and a plan, the same bytes come out at the same
simulated times whether anyone is listening or not. A carrier asks it to ``advance`` to a time and
gets the device bytes that became due, in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ServedDevice:
    """One simulated device as the outside sees it: a name, a protocol key, a baud rate."""

    name: str  # "dyno", "wideband", or "wideband_front"/"wideband_rear" (one AEM gauge each)
    protocol: str  # a devices registry key: "dyno-line", "innovate-mts", ...
    baudrate: int  # what a real serial line would run at (paces nothing on sockets)


@dataclass(frozen=True)
class Emission:
    """Bytes a device put on its line at simulated time ``time_s``."""

    device: str
    time_s: float
    data: bytes


class ByteCell(Protocol):
    """The carrier's view of a virtual cell (``sim.cell.VirtualCell`` implements it)."""

    @property
    def devices(self) -> tuple[ServedDevice, ...]: ...

    @property
    def time_s(self) -> float: ...

    def advance(self, to_time_s: float) -> list[Emission]:
        """Run the simulation up to ``to_time_s``; the bytes that became due, in time order."""
        ...

    def greeting(self, device: str) -> bytes:
        """Bytes a device sends to each newly connected client (the dyno line's header)."""
        ...

    def receive(self, device: str, data: bytes) -> bytes:
        """Bytes from a client to ``device`` (dyno commands); returns the device's reply bytes."""
        ...
