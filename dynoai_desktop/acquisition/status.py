"""What each device is doing, in the tuner's words: the status-bar light and its reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DeviceState(StrEnum):
    """A device's state, worst-first in the order a tuner must act on it."""

    PORT_LOST = "port lost"
    NO_VALID_DATA = "no valid data"  # bytes arrive but no frame decodes (garbage, wrong protocol)
    SENSOR_ERROR = "sensor error"
    STALE = "stale"  # the port is open but the device went quiet
    WARMING_UP = "warming up"
    CONNECTED = "connected"  # open, nothing heard yet
    STREAMING = "streaming"
    STOPPED = "stopped"


@dataclass(frozen=True)
class DeviceStatus:
    """One device's state, why, and its counters."""

    name: str  # "dyno", "wideband", ...
    protocol: str
    port: str
    state: DeviceState
    reason: str  # one line for the tooltip: what is wrong and what to do
    readings: int = 0
    bytes_in: int = 0
    frames_rejected: int = 0
    bytes_skipped: int = 0
    reconnects: int = 0
    last_reading_age_s: float | None = None
