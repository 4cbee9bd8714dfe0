"""Engine and intake temperatures: heads climb with load and idling, fall with fan airflow.

One lumped heat capacity for the (front) head, where the ECM's ET sensor sits (vtwin.md §1), a
rear head that runs hotter under load (used for its knock limit, not logged), the true charge
temperature, and the IAT sensor, which soaks up engine heat when the air through the intake is
slow (idle) and so reads hotter than the air really is: the ECM then under-fuels, and the VE an
autotune would compute there looks inflated. The numbers reproduce vtwin.md §6: a stock-like
bike idling with no fan reaches hot-idle phase 1 (130 °C) in about 10 minutes; fans pull the
head down 20-30 °C within minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ThermalParams:
    """The thermal model's constants (written to --truth)."""

    heat_capacity_j_per_k: float = 5000.0
    idle_heat_w: float = 1200.0  # heat into the heads at idle (1000 rpm, 40 kPa)
    heat_airflow_exponent: float = 0.45  # heat grows as (airflow / idle airflow) ** this
    cooling_still_w_per_k: float = 8.6  # natural convection and radiation, no fan
    cooling_fan_w_per_k_per_10k_cfm: float = 8.0
    rear_hotter_under_load_k: float = 30.0  # rear head minus front at full load (vtwin.md §4)
    intake_heating: float = 0.04  # share of (head - ambient) the charge picks up at low airflow
    soak_gain: float = 0.60  # IAT sensor offset above the charge, share of (head - ambient)
    soak_airflow_scale: float = 350.0  # rpm x MAP/100 over which the soak washes out
    soak_time_s: float = 60.0  # how slowly the sensor soaks at idle
    soak_clear_time_s: float = 3.0  # how fast airflow clears it under load


@dataclass
class Temperatures:
    """The thermal state, °C."""

    head_c: float
    rear_head_c: float
    charge_c: float
    iat_sensor_c: float


class ThermalModel:
    """Integrates the temperatures; ``step`` once per simulation step."""

    def __init__(self, params: ThermalParams, ambient_c: float, head_c: float) -> None:
        self.params = params
        self.ambient_c = ambient_c
        self.state = Temperatures(head_c, head_c, ambient_c, ambient_c)
        self._soak = 0.0  # IAT sensor minus charge, K

    def step(self, dt: float, rpm: float, map_kpa: float, fan_cfm: float) -> Temperatures:
        """Advance by ``dt`` at this operating point."""
        p, s = self.params, self.state
        airflow = rpm * map_kpa / 100.0
        cooling = p.cooling_still_w_per_k + p.cooling_fan_w_per_k_per_10k_cfm * fan_cfm / 1e4
        running = 1.0 if rpm > 300.0 else 0.0
        heat = running * p.idle_heat_w * (max(airflow, 1.0) / 400.0) ** p.heat_airflow_exponent
        s.head_c += dt * (heat - cooling * (s.head_c - self.ambient_c)) / p.heat_capacity_j_per_k
        load = min(max(map_kpa / 100.0, 0.0), 1.0)
        s.rear_head_c = s.head_c + p.rear_hotter_under_load_k * load * running
        washout = math.exp(-((airflow / p.soak_airflow_scale) ** 2)) / (1.0 + fan_cfm / 20000.0)
        excess = max(s.head_c - self.ambient_c, 0.0)
        s.charge_c = self.ambient_c + p.intake_heating * excess * (0.5 + 0.5 * washout)
        target = p.soak_gain * excess * washout
        tau = p.soak_time_s if target > self._soak else p.soak_clear_time_s
        tau *= min(1.0, 450.0 / max(airflow, 1.0)) if target > self._soak else 1.0
        self._soak += (target - self._soak) * (1.0 - math.exp(-dt / max(tau, 0.5)))
        s.iat_sensor_c = s.charge_c + self._soak
        return s
