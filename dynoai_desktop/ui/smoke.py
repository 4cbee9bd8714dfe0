"""Smoke-run driver: appends a repeating WOT-pull-shaped trace into the live buffer at full rate.

``dynoai --smoke`` (the installer's check, on a PC that may have no dyno attached) uses it when
no devices feed the app, so the paint path runs at a pull's data rate for the whole run. With
``--demo`` the virtual cell feeds the app through the real device path instead.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer

from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer

TICK_MS = 20
PULL_S = 8.0  # 2000 -> 5800 rpm, then a short coast back


class SweepFeeder(QObject):
    def __init__(self, buffer: SampleRingBuffer, rate_hz: int) -> None:
        super().__init__()
        self.buffer = buffer
        self.rate_hz = rate_hz
        self._t = 0.0
        self._rng = np.random.default_rng(0)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._append)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _append(self) -> None:
        n = max(1, round(self.rate_hz * TICK_MS / 1000))
        t = self._t + np.arange(1, n + 1) / self.rate_hz
        self._t = float(t[-1])
        phase = (t % (PULL_S + 2.0)) / PULL_S
        pulling = phase <= 1.0
        rpm = np.where(pulling, 2000 + 3800 * phase, 5800 - 3800 * (phase - 1.0) * PULL_S / 2.0)
        noise = self._rng.normal(0.0, 0.08, (2, n))
        afr_target = np.where(pulling, 12.8, 14.6)
        torque = np.where(pulling, 95 + 15 * np.sin(np.pi * phase) - 10 * phase, 0.0)
        self.buffer.append_block(
            t,
            {
                "rpm": rpm,
                "map_kpa": np.where(pulling, 98.0, 25.0),
                "tps_pct": np.where(pulling, 100.0, 0.0),
                "afr_front": afr_target + 0.3 + noise[0],
                "afr_rear": afr_target - 0.1 + noise[1],
                "afr_target": afr_target,
                "torque_ftlb": torque,
                "power_hp": torque * rpm / 5252.0,
                "engine_temp_c": np.full(n, 160.0),
                "iat_c": np.full(n, 38.0),
            },
        )
