"""Reading a served port until a condition holds (shared by the server and command-line tests)."""

from __future__ import annotations

import time
from collections.abc import Callable

from dynoai_desktop.devices.base import Reading
from dynoai_desktop.devices.transport import SerialDevice


def read_until(
    device: SerialDevice, done: Callable[[list[Reading]], bool], timeout_s: float = 3.0
) -> list[Reading]:
    """Readings from ``device`` until ``done(readings)``; fails the test after ``timeout_s``."""
    readings: list[Reading] = []
    deadline = time.monotonic() + timeout_s
    while not done(readings) and time.monotonic() < deadline:
        readings.extend(device.read())
    assert done(readings), f"gave up after {timeout_s} s with {len(readings)} readings"
    return readings
