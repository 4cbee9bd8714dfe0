"""Shared by the acquisition benchmarks: the dyno line's latency from send to ring buffer.

The dyno line sends its own time; a line's send time on our clock is
``offset + device_time / rate``, with ``offset`` taken from the smallest (in-buffer time - device
time / rate) seen, so the fastest line counts as zero latency (the true floor is ~0.1 ms).
"""

from __future__ import annotations

import numpy as np

from dynoai_desktop.devices.base import Reading


class LatencyTap:
    """``Acquisition.tap(LatencyTap())``: collects (device time, in-buffer time) of dyno lines."""

    def __init__(self) -> None:
        self.stamps: list[tuple[float, float]] = []

    def __call__(self, device: str, readings: list[Reading], when: float) -> None:
        if device == "dyno":
            self.stamps.extend((r.device_time_s, when) for r in readings
                               if r.device_time_s is not None)

    def clear(self) -> None:
        self.stamps.clear()

    def latency_ms(self, rate: float) -> np.ndarray:
        device_t, done = (np.array(x) for x in zip(*self.stamps, strict=True))
        lateness = done - device_t / rate
        return (lateness - lateness.min()) * 1000.0

    def summary(self, rate: float) -> str:
        ms = self.latency_ms(rate)
        return (f"latency p50 {np.percentile(ms, 50):4.1f} ms p99 {np.percentile(ms, 99):5.1f} "
                f"ms max {ms.max():6.1f} ms")
