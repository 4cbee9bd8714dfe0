"""Engine and intake temperatures: heads climb with load and idling, fall with fan airflow; the
intake soaks up their heat and gives it back to the charge.

* One lumped heat capacity for the (front) head, where the ECM's ET sensor sits (vtwin.md §1),
  and a rear head that runs hotter under load (its knock limit; not logged).
* The intake (throttle body, manifold and the TMAP on it, vtwin.md §1/§6) is a second, lighter
  mass, warmed by conduction from the heads and cooled by the air going through it and by the
  fan. It cools slowly: minutes at idle, tens of seconds at WOT.
* The air in the manifold picks up part of the intake's excess heat (more when it moves
  slowly); the trapped charge picks up a little more from the head in the port, relative to a
  90 °C head (the reference the true VE holds at).
* The IAT sensor reads the manifold air, plus, at low airflow, heat conducted from its hot
  mounting; it follows with a lag that shortens with airflow.

So after a hot idle the IAT starts a pull well over ambient and comes down through it, as the
real CVO log in docs/simulator.md §6 does (13-21 K over ambient), and the charge really is that
warm: the engine makes less and the ECM, reading the sensor, mostly fuels for it. Where the
sensor reads hotter than the charge (idle, low airflow after a soak) the ECM under-fuels: lean.
vtwin.md §6: a stock-like bike idling with no fan reaches hot-idle phase 1 (130 °C) in about
10 minutes; fans pull the head down 20-30 °C within minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dynoai_desktop.sim.scalar import clamp

IDLE_AIRFLOW = 400.0  # rpm x MAP/100 at 1000 rpm, 40 kPa


@dataclass(frozen=True)
class ThermalParams:
    """The thermal model's constants (written to --truth). Heat flows are [INF]."""

    heat_capacity_j_per_k: float = 5000.0
    idle_heat_w: float = 1200.0  # heat into the heads at idle (1000 rpm, 40 kPa)
    heat_airflow_exponent: float = 0.45  # heat grows as (airflow / idle airflow) ** this
    cooling_still_w_per_k: float = 8.6  # natural convection and radiation, no fan
    cooling_fan_w_per_k_per_10k_cfm: float = 8.0
    rear_hotter_under_load_k: float = 30.0  # rear head minus front at full load (vtwin.md §4)
    intake_heat_capacity_j_per_k: float = 2500.0  # throttle body + manifold + TMAP
    intake_from_head_w_per_k: float = 6.0  # conduction heads -> intake
    intake_still_w_per_k: float = 3.3  # intake -> cell air, no fan
    intake_fan_w_per_k_per_10k_cfm: float = 4.0
    intake_airflow_w_per_k: float = 4.0  # intake -> the air through it, at idle airflow
    intake_airflow_exponent: float = 0.8  # forced convection grows as airflow ** this
    air_pickup_idle: float = 0.6  # share of the intake's excess heat the air takes at idle
    air_pickup_exponent: float = 0.3  # ... falling as (idle airflow / airflow) ** this
    port_heating: float = 0.05  # share of (head - 90 °C) the charge picks up in the port
    reference_head_c: float = 90.0  # head temperature at which the true VE holds
    sensor_soak_idle: float = 0.6  # IAT sensor's share of (intake - air) at idle airflow
    sensor_soak_airflow: float = 350.0  # ... washing out as exp(-(airflow / this)²)
    sensor_lag_idle_s: float = 20.0  # the sensor's time constant at idle airflow
    sensor_lag_min_s: float = 1.0


@dataclass
class Temperatures:
    """The thermal state, °C."""

    head_c: float
    rear_head_c: float
    intake_c: float  # the intake metal (throttle body, manifold, TMAP body)
    air_c: float  # the air in the manifold: what a perfect IAT sensor would read
    charge_c: float  # the trapped charge (air + port heating)
    iat_sensor_c: float


class ThermalModel:
    """Integrates the temperatures; ``step`` once per simulation step."""

    def __init__(self, params: ThermalParams, ambient_c: float, head_c: float,
                 fan_cfm: float = 0.0) -> None:
        self.params = params
        self.ambient_c = ambient_c
        p = params
        # The intake starts where it would settle at idle with this head and fan.
        k_total = (p.intake_from_head_w_per_k + p.intake_airflow_w_per_k + p.intake_still_w_per_k
                   + p.intake_fan_w_per_k_per_10k_cfm * fan_cfm / 1e4)
        intake = ambient_c + p.intake_from_head_w_per_k / k_total * (head_c - ambient_c)
        self.state = Temperatures(head_c, head_c, intake, ambient_c, ambient_c, ambient_c)
        self._settle(IDLE_AIRFLOW, fan_cfm)
        self.state.iat_sensor_c = self._sensor_target(IDLE_AIRFLOW)

    def step(self, dt: float, rpm: float, map_kpa: float, fan_cfm: float) -> Temperatures:
        """Advance by ``dt`` at this operating point."""
        p, s, amb = self.params, self.state, self.ambient_c
        airflow = rpm * map_kpa / 100.0
        airflow = 1.0 if 1.0 > airflow else airflow  # max(airflow, 1.0) (sim/scalar.py)
        running = 1.0 if rpm > 300.0 else 0.0
        fan = fan_cfm / 1e4
        heat = running * p.idle_heat_w * (airflow / IDLE_AIRFLOW) ** p.heat_airflow_exponent
        cooling = p.cooling_still_w_per_k + p.cooling_fan_w_per_k_per_10k_cfm * fan
        s.head_c += dt * (heat - cooling * (s.head_c - amb)) / p.heat_capacity_j_per_k
        load = clamp(map_kpa / 100.0, 0.0, 1.0)
        s.rear_head_c = s.head_c + p.rear_hotter_under_load_k * load * running
        through = running * p.intake_airflow_w_per_k * (airflow / IDLE_AIRFLOW) ** (
            p.intake_airflow_exponent)
        flow_in = (p.intake_from_head_w_per_k * (s.head_c - s.intake_c)
                   - (p.intake_still_w_per_k + p.intake_fan_w_per_k_per_10k_cfm * fan + through)
                   * (s.intake_c - amb))
        s.intake_c += dt * flow_in / p.intake_heat_capacity_j_per_k
        self._settle(airflow if running else IDLE_AIRFLOW / 4.0, fan_cfm)
        target = self._sensor_target(airflow)
        # max(sensor_lag_min_s, sensor_lag_idle_s * min(1.0, IDLE_AIRFLOW / airflow))
        slow = IDLE_AIRFLOW / airflow
        lag = p.sensor_lag_idle_s * (slow if slow < 1.0 else 1.0)
        lag = lag if lag > p.sensor_lag_min_s else p.sensor_lag_min_s
        s.iat_sensor_c += (target - s.iat_sensor_c) * (1.0 - math.exp(-dt / lag))
        return s

    def _settle(self, airflow: float, fan_cfm: float) -> None:
        """The air and the charge follow the intake and head at once (they are light)."""
        p, s = self.params, self.state
        slow = (IDLE_AIRFLOW / airflow) ** p.air_pickup_exponent
        slow = slow if slow < 1.0 else 1.0  # min(1.0, slow) (sim/scalar.py)
        pickup = p.air_pickup_idle * slow
        s.air_c = self.ambient_c + pickup * (s.intake_c - self.ambient_c)
        port = p.port_heating * slow
        s.charge_c = s.air_c + port * (s.head_c - p.reference_head_c)

    def _sensor_target(self, airflow: float) -> float:
        p, s = self.params, self.state
        soak = p.sensor_soak_idle * math.exp(-((airflow / p.sensor_soak_airflow) ** 2))
        warmer = s.intake_c - s.air_c
        return s.air_c + soak * (0.0 if 0.0 > warmer else warmer)
