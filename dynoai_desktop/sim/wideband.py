"""A simulated wideband O2 sensor and its controller (Bosch LSU 4.9 class, vtwin.md §7).

The exhaust a cylinder makes travels down the header as a plug: a parcel reaches the sensor once
one pipe volume of exhaust has followed it, so the transport delay falls with the exhaust flow,
i.e. with rpm *and* load (vtwin.md §7 tabulates gas velocity vs rpm and MAP). The controller adds
a dead time, the sensor lags like a first-order system, and the reading is noisier at light load
(weak, pulsing exhaust) than under load. After power-up the controller reports "warming up"
with a percentage, then valid readings; now and then it reports an error for a moment; tests can
force either state.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from dynoai_desktop.core.channels import SensorStatus
from dynoai_desktop.sim.scalar import clamp

# Controller error numbers (LC-2 style, devices/innovate_mts.py names them) used for faults.
HEATER_SHORT = 1
PUMP_CELL_SHORTED = 3
MIN_FLOW_RPM = 400.0  # below this the exhaust flow is taken as this rpm's (the engine stalls)
MIN_FLOW_MAP_KPA = 15.0


@dataclass(frozen=True)
class WidebandParams:
    """Everything that shapes what the wideband reports (written to --truth)."""

    delay_base_s: float = 0.035  # controller + sensor dead time
    delay_idle_s: float = 0.22  # transport at 1000 rpm and 35 kPa (plug flow, 0.66 m of pipe)
    delay_exponent: float = 1.3  # transport falls as (1000/rpm) ** this ...
    delay_load_exponent: float = 1.0  # ... and as (35 kPa / MAP) ** this
    delay_reference_map_kpa: float = 35.0
    lag_s: float = 0.05  # first-order time constant (t63) of the sensor
    noise_lambda: float = 0.003  # 1-sigma controller noise under load, λ
    noise_light_load_gain: float = 2.0  # noise x (1 + gain) at 20 kPa, x 1 from 60 kPa up
    idle_ripple_lambda: float = 0.006  # 315°/405° firing pulsation at 1000 rpm, λ
    warmup_s: float = 12.0  # heater light-off to first valid reading
    max_lambda: float = 1.6  # reading in fuel cut / free air (off-scale lean)
    min_lambda: float = 0.65  # the richest an LSU 4.9 measures (Bosch datasheet: λ 0.65 to air)
    error_rate_per_h: float = 1.0  # random short sensor errors per hour
    error_length_s: float = 0.8

    def transport_s(self, rpm: float, map_kpa: float) -> float:
        """Steady plug-flow transport time from the exhaust valve to the sensor."""
        # max(rpm, MIN_FLOW_RPM) and max(map_kpa, MIN_FLOW_MAP_KPA) (sim/scalar.py)
        rpm = MIN_FLOW_RPM if MIN_FLOW_RPM > rpm else rpm
        map_kpa = MIN_FLOW_MAP_KPA if MIN_FLOW_MAP_KPA > map_kpa else map_kpa
        return (self.delay_idle_s * (1000.0 / rpm) ** self.delay_exponent
                * (self.delay_reference_map_kpa / map_kpa) ** self.delay_load_exponent)

    def delay_s(self, rpm: float, map_kpa: float = 35.0) -> float:
        """Dead time + transport from the exhaust valve to the reading, held steady at
        ``rpm`` and ``map_kpa`` (the sensor's first-order lag comes on top)."""
        return self.delay_base_s + self.transport_s(rpm, map_kpa)

    def noise_sigma(self, map_kpa: float) -> float:
        """1-sigma reading noise (λ) at this manifold pressure: more at light load."""
        light = min(1.0, max(0.0, (60.0 - map_kpa) / 40.0))
        return self.noise_lambda * (1.0 + self.noise_light_load_gain * light)


@dataclass(frozen=True)
class WidebandSample:
    """One reading as the controller would send it."""

    lam: float | None  # None while warming up or in error
    status: SensorStatus
    code: int  # warm-up percent (status 1) or error number (status 3), else 0


class WidebandSensor:
    """One cylinder's sensor. ``push`` every simulation step; ``sample`` when the device sends.

    ``offset_lambda`` is this sensor's calibration offset (a per-bike scatter), added to every
    reading; ``delay_scale`` stretches its transport (a longer or shorter header).
    """

    def __init__(self, params: WidebandParams, rng: random.Random, warmup_s: float,
                 offset_lambda: float = 0.0, delay_scale: float = 1.0) -> None:
        self.params = params
        self._rng = rng
        self.offset_lambda = offset_lambda
        self.delay_scale = delay_scale
        self._pipe: deque[tuple[float, float]] = deque()  # (pipe volumes emitted, λ)
        self._volume = 0.0  # exhaust emitted so far, in pipe volumes
        self._at_sensor: deque[tuple[float, float]] = deque()  # (t, λ of the gas at the sensor)
        self._output: float | None = None
        self._last_t: float | None = None
        self._map_kpa = 100.0
        self.warmup_s = warmup_s
        self._error_until = -1.0
        self._error_code = 0
        self._forced: tuple[SensorStatus, int] | None = None
        self._forced_warm_start = 0.0

    def push(self, t: float, lam_exhaust: float, rpm: float, map_kpa: float = 35.0, *,
             transport_s: float | None = None) -> None:
        """The mixture leaving the cylinder at ``t``; moves the sensor along by one step.

        ``transport_s``: ``params.transport_s(rpm, map_kpa)`` if the caller has it already (the
        two sensors of a twin see the same flow).
        """
        p = self.params
        if transport_s is None:
            transport_s = p.transport_s(rpm, map_kpa)
        dt = 0.0 if self._last_t is None else t - self._last_t
        self._volume += dt / (transport_s * self.delay_scale)
        self._pipe.append((self._volume, lam_exhaust))
        self._map_kpa = map_kpa
        gas = _interpolate(self._pipe, self._volume - 1.0)
        self._at_sensor.append((t, gas))
        delayed = clamp(_interpolate(self._at_sensor, t - p.delay_base_s), p.min_lambda,
                        p.max_lambda)
        if self._output is None or self._last_t is None or t <= self._last_t:
            self._output = delayed
        else:
            self._output += (delayed - self._output) * (1.0 - math.exp(-dt / p.lag_s))
        self._last_t = t
        self._maybe_fail(t, dt)

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
        value += self.offset_lambda + self._rng.gauss(0.0, self.params.noise_sigma(self._map_kpa))
        return WidebandSample(min(max(value, self.params.min_lambda), self.params.max_lambda),
                              SensorStatus.VALID, 0)


def _interpolate(history: deque[tuple[float, float]], at: float) -> float:
    """The value at key ``at`` in a rising (key, value) history, dropping what is older."""
    n = len(history)
    while n > 2 and history[1][0] <= at:
        history.popleft()
        n -= 1
    k0, v0 = history[0]
    if at <= k0 or n == 1:
        return v0
    k1, v1 = history[1]
    if at >= k1:
        return v1
    return v0 + (v1 - v0) * (at - k0) / (k1 - k0)
