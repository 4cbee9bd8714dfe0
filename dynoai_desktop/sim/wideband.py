"""A simulated wideband O2 sensor and its controller (Bosch LSU 4.9 class, vtwin.md §7).

The exhaust a cylinder made at time t reaches the sensor after a transport delay that falls
with rpm (hundreds of ms at idle, tens at high rpm); the sensor then lags like a first-order
system and the controller adds a little noise. After power-up the controller reports
"warming up" with a percentage, then valid readings; now and then it reports an error for a
moment; tests can force either state.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from dynoai_desktop.core.channels import SensorStatus

# Controller error numbers (LC-2 style, devices/innovate_mts.py names them) used for faults.
HEATER_SHORT = 1
PUMP_CELL_SHORTED = 3


@dataclass(frozen=True)
class WidebandParams:
    """Everything that shapes what the wideband reports (written to --truth)."""

    delay_base_s: float = 0.035  # controller + sensor dead time
    delay_idle_s: float = 0.22  # transport at 1000 rpm, falling as (1000/rpm)^1.3
    delay_exponent: float = 1.3
    lag_s: float = 0.05  # first-order time constant (t63) of the sensor
    noise_lambda: float = 0.003  # 1-sigma controller noise, λ
    idle_ripple_lambda: float = 0.006  # 315°/405° firing pulsation at 1000 rpm, λ
    warmup_s: float = 12.0  # heater light-off to first valid reading
    max_lambda: float = 1.6  # reading in fuel cut / free air (off-scale lean)
    error_rate_per_h: float = 1.0  # random short sensor errors per hour
    error_length_s: float = 0.8

    def delay_s(self, rpm: float) -> float:
        """Transport + dead time from the exhaust valve to the reading, at ``rpm``."""
        return self.delay_base_s + self.delay_idle_s * (1000.0 / max(rpm, 400.0)) ** (
            self.delay_exponent
        )


@dataclass(frozen=True)
class WidebandSample:
    """One reading as the controller would send it."""

    lam: float | None  # None while warming up or in error
    status: SensorStatus
    code: int  # warm-up percent (status 1) or error number (status 3), else 0


class WidebandSensor:
    """One cylinder's sensor. ``push`` every simulation step; ``sample`` when the device sends."""

    def __init__(self, params: WidebandParams, rng: random.Random, warmup_s: float) -> None:
        self.params = params
        self._rng = rng
        self._history: deque[tuple[float, float]] = deque()
        self._output: float | None = None
        self._last_t: float | None = None
        self.warmup_s = warmup_s
        self._error_until = -1.0
        self._error_code = 0
        self._forced: tuple[SensorStatus, int] | None = None
        self._forced_warm_start = 0.0

    def push(self, t: float, lam_exhaust: float, rpm: float) -> None:
        """The mixture leaving the cylinder at ``t``; moves the sensor along by one step."""
        self._history.append((t, lam_exhaust))
        seen_at = t - self.params.delay_s(rpm)
        while len(self._history) > 2 and self._history[1][0] <= seen_at:
            self._history.popleft()
        delayed = self._at(seen_at)
        delayed = min(delayed, self.params.max_lambda)
        if self._output is None or self._last_t is None or t <= self._last_t:
            self._output = delayed
        else:
            alpha = 1.0 - math.exp(-(t - self._last_t) / self.params.lag_s)
            self._output += (delayed - self._output) * alpha
        dt = 0.0 if self._last_t is None else t - self._last_t
        self._last_t = t
        self._maybe_fail(t, dt)

    def _at(self, when: float) -> float:
        h = self._history
        (t0, v0) = h[0]
        if when <= t0 or len(h) == 1:
            return v0
        t1, v1 = h[1]
        if when >= t1:
            return v1
        return v0 + (v1 - v0) * (when - t0) / (t1 - t0)

    def _maybe_fail(self, t: float, dt: float) -> None:
        rate = self.params.error_rate_per_h / 3600.0
        if t >= self._error_until and t > self.warmup_s and rate > 0:
            if self._rng.random() < rate * dt:
                self._error_until = t + self.params.error_length_s
                self._error_code = self._rng.choice((HEATER_SHORT, PUMP_CELL_SHORTED, 6, 8))

    def force(self, status: SensorStatus | None, code: int = 0, now: float = 0.0) -> None:
        """Fault injection: hold the sensor in a status (None returns it to normal)."""
        self._forced = None if status is None else (status, code)
        self._forced_warm_start = now

    def sample(self, t: float) -> WidebandSample:
        """What the controller reports at ``t``."""
        if self._forced is not None:
            status, code = self._forced
            if status == SensorStatus.WARMING_UP:
                progress = min(99, int(100 * (t - self._forced_warm_start) / self.warmup_s))
                return WidebandSample(None, status, max(0, progress))
            if status != SensorStatus.VALID:
                return WidebandSample(None, status, code)
        if t < self.warmup_s:
            return WidebandSample(None, SensorStatus.WARMING_UP, int(100 * t / self.warmup_s))
        if t < self._error_until:
            return WidebandSample(None, SensorStatus.SENSOR_ERROR, self._error_code)
        value = self._output if self._output is not None else 1.0
        value += self._rng.gauss(0.0, self.params.noise_lambda)
        return WidebandSample(min(value, self.params.max_lambda), SensorStatus.VALID, 0)
