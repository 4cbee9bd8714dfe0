"""What each device is doing, in the tuner's words: the status-bar light and its reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

DEVICE_QUIET_AFTER_S = 1.0
"""A device whose port is open but that nothing was heard from for this long is 'stale'.
(Not the row rule's value threshold, ``core.rows.VALUE_STALE_AFTER_S``: that one empties a
channel in the rows; this one turns a device's light.)"""


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

    name: str  # "dyno", "wideband", "wideband_2", ...: unique per device
    role: str  # what the device is to the cell: "dyno" or "wideband" (its protocol's role)
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
    garbled_last_minute: int = 0  # frames rejected + bytes skipped over about the last minute
    # Wideband channel -> the device's latest detail line for it ("sensor error 2: heater
    # open", "warming up, 62 % of operating temperature"); "" while it reads normally.
    sensor_details: Mapping[str, str] = field(default_factory=dict)
