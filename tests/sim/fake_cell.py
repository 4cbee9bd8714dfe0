"""A stand-in for the virtual cell: numbered frames of real device bytes on fixed periods.

Two devices, as the real cell serves them by default: the dyno line (a data line every 10 ms of
sim time, ``time_s`` = frame number x 10 ms, frame number in the ``rpm`` field) and an Innovate
MTS chain (a packet every 81.92 ms, frame number in the front lambda). The same ``advance`` calls
give the same bytes, whoever listens.
"""

from __future__ import annotations

from dynoai_desktop.core.channels import GASOLINE_AFR_SCALE
from dynoai_desktop.devices import dyno_line, innovate_mts
from dynoai_desktop.devices.base import DynoCommand, Reading
from dynoai_desktop.sim.stream import Emission, ServedDevice

DYNO_PERIOD_S = 0.010
WIDEBAND_PERIOD_S = 0.08192
HEADER = dyno_line.encode_header([("time_s", "s"), ("rpm", "rpm")])
FILLER_LINE = b"#" + b"f" * 997 + b"\r\n"  # a comment line: the decoder skips it


def dyno_frame(n: int) -> bytes:
    return dyno_line.encode_data_line([n * DYNO_PERIOD_S, n])


def wideband_frame(n: int) -> bytes:
    return innovate_mts.encode_lc2_chain(0.5 + (n % 8000) / 1000.0)


def dyno_number(reading: Reading) -> int:
    """The frame number a decoded dyno line carries."""
    return round(reading.values["rpm"])


def wideband_number(reading: Reading) -> int:
    """The frame number (mod 8000) a decoded MTS packet carries."""
    return round((reading.values["afr_front"] / GASOLINE_AFR_SCALE - 0.5) * 1000.0)


class FakeCell:
    """Implements ``ByteCell``; ``filler_bytes_per_s`` adds comment lines to the dyno stream and
    ``fail_at_s`` makes ``advance`` raise once sim time reaches it."""

    def __init__(self, *, filler_bytes_per_s: int = 0, fail_at_s: float | None = None) -> None:
        self._devices = (
            ServedDevice("dyno", dyno_line.PROTOCOL, dyno_line.BAUDRATE),
            ServedDevice("wideband", "innovate-mts", 19200),
        )
        self._filler = [FILLER_LINE] * round(filler_bytes_per_s * DYNO_PERIOD_S / len(FILLER_LINE))
        self._fail_at_s = fail_at_s
        self._time_s = 0.0
        self._next = {"dyno": 0, "wideband": 0}
        self._commands = dyno_line.CommandDecoder()
        self.commands: list[DynoCommand] = []
        self.received: list[tuple[str, bytes]] = []

    @property
    def devices(self) -> tuple[ServedDevice, ...]:
        return self._devices

    @property
    def time_s(self) -> float:
        return self._time_s

    def advance(self, to_time_s: float) -> list[Emission]:
        if self._fail_at_s is not None and to_time_s >= self._fail_at_s:
            raise RuntimeError("the fake cell broke down")
        out = self._due("dyno", DYNO_PERIOD_S, to_time_s) + self._due(
            "wideband", WIDEBAND_PERIOD_S, to_time_s
        )
        out.sort(key=lambda e: e.time_s)  # stable: a frame's filler stays behind it
        self._time_s = max(self._time_s, to_time_s)
        return out

    def _due(self, device: str, period_s: float, to_time_s: float) -> list[Emission]:
        out = []
        while (n := self._next[device]) * period_s <= to_time_s:
            t = n * period_s
            if device == "dyno":
                out.append(Emission(device, t, dyno_frame(n)))
                out.extend(Emission(device, t, line) for line in self._filler)
            else:
                out.append(Emission(device, t, wideband_frame(n)))
            self._next[device] = n + 1
        return out

    def greeting(self, device: str) -> bytes:
        return HEADER if device == "dyno" else b""

    def receive(self, device: str, data: bytes) -> bytes:
        self.received.append((device, data))
        if device != "dyno":
            return b""
        commands = self._commands.feed(data)
        self.commands.extend(commands)
        return b"".join(dyno_line.encode_reply(cmd) for cmd in commands)
