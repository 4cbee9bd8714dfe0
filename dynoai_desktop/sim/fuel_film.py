"""Fuel film on the intake port walls: Aquino's X-τ wall-wetting model (SAE 810494, 1981).

A port-injected engine does not burn what it injects at once. A fraction X (``beta``) of the
injected fuel lands on the port walls as a film, and the film evaporates into the charge with a
time constant τ:

    d(film)/dt = X · fuel_injected − film / τ
    fuel_to_cylinder = (1 − X) · fuel_injected + film / τ

In steady state the cylinder gets what is injected. When the throttle opens the film has to grow
first, so the first cycles run *lean*; when it closes, the film keeps evaporating into a smaller
charge, so the mixture runs *rich*. A cold port makes both X and τ bigger: deeper and slower.

X and τ follow the shape of a real calibration of the model: rusEFI's canned Mazda NB2 tune
(rusefi/rusefi, ``wwTauCltValues``/``wwBetaCltValues`` vs coolant, ``wwTauMapValues``/
``wwBetaMapValues`` vs MAP; the model itself is rusEFI's ``wall_fuel.cpp``, which cites Aquino
and Maloney SAE 1999-01-0553). An air-cooled Harley has no coolant: the head temperature (the
ECM's ET sensor) stands in for it **[INF]**. Flows are in any consistent unit per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dynoai_desktop.sim.engine import Curve, CurvePair
from dynoai_desktop.sim.scalar import clamp

# rusEFI canned NB2 tune: τ (s) and X vs coolant °C, and their multipliers vs MAP kPa.
# The tune ends at 100 °C coolant; an air-cooled Harley's head runs 120-180 °C, so the last two
# points carry its trend on, flattening (hotter port walls, a thinner, faster film) [INF].
FILM_TAU_S = Curve(((-40, 1.45), (-20, 1.3), (0, 1.17), (20, 1.05), (40, 0.9), (60, 0.82),
                    (80, 0.75), (100, 0.70), (130, 0.62), (160, 0.55)))
FILM_FRACTION = Curve(((-40, 0.73), (-20, 0.66), (0, 0.57), (20, 0.46), (40, 0.38), (60, 0.31),
                       (80, 0.24), (100, 0.19), (130, 0.15), (160, 0.12)))
TAU_MAP_FACTOR = Curve(((10, 0.38), (20, 0.55), (30, 0.69), (40, 0.86), (50, 0.9), (60, 0.95),
                        (70, 0.97), (80, 1.0)))
FRACTION_MAP_FACTOR = Curve(((10, 0.21), (20, 0.4), (30, 0.6), (40, 0.79), (50, 0.85),
                             (60, 0.9), (70, 0.95), (80, 1.0)))
_BY_TEMP = CurvePair(FILM_FRACTION, FILM_TAU_S)  # X and τ are read together (one search)
_BY_MAP = CurvePair(FRACTION_MAP_FACTOR, TAU_MAP_FACTOR)


@dataclass(frozen=True)
class FilmParams:
    """Scale factors on the calibrated X and τ (1, 1 = the curves above; written to --truth)."""

    fraction_scale: float = 1.0
    # The canned tune's τ is a generic default; a Harley's injector sprays onto a hot intake
    # valve, and at 0.7 s the film's growth through a 5 s WOT sweep alone would hold back ~4 %
    # of the fuel. Half of it keeps a visible tip-in dip and ~2 % in a sweep [INF].
    tau_scale: float = 0.5

    def fraction(self, port_temp_c: float, map_kpa: float) -> float:
        """X: the share of injected fuel that lands on the wall."""
        return self.fraction_and_tau(port_temp_c, map_kpa)[0]

    def tau_s(self, port_temp_c: float, map_kpa: float) -> float:
        """τ: how long the wall film takes to evaporate, s."""
        return self.fraction_and_tau(port_temp_c, map_kpa)[1]

    def fraction_and_tau(self, port_temp_c: float, map_kpa: float) -> tuple[float, float]:
        """``fraction`` and ``tau_s`` together."""
        x_temp, tau_temp = _BY_TEMP(port_temp_c)
        x_map, tau_map = _BY_MAP(map_kpa)
        tau = tau_temp * tau_map * self.tau_scale
        return (clamp(x_temp * x_map * self.fraction_scale, 0.0, 0.95),
                tau if tau > 0.02 else 0.02)  # max(0.02, tau) (sim/scalar.py)


class FuelFilm:
    """One port's wall film. ``step`` once per simulation step with the injected fuel flow."""

    def __init__(self, params: FilmParams) -> None:
        self.params = params
        self.film: float | None = None  # fuel on the wall (flow unit x s); None until first step

    def step(self, dt: float, injected: float, port_temp_c: float, map_kpa: float) -> float:
        """Advance by ``dt``; returns the fuel flow that reached the cylinder over the step."""
        return self.step_with(dt, injected, *film_rates(self.params, dt, port_temp_c, map_kpa))

    def step_with(self, dt: float, injected: float, x: float, tau: float, decay: float
                  ) -> float:
        """``step`` with X, τ and the film's decay over ``dt`` given (``film_rates``: ports
        with the same params, temperature and MAP share them)."""
        if self.film is None:  # start in steady state: no start-up transient
            self.film = x * injected * tau
        film_next = self.film * decay + x * injected * tau * (1.0 - decay)
        evaporated = (self.film - film_next + x * injected * dt) / dt  # mass balance over dt
        self.film = film_next
        return (1.0 - x) * injected + evaporated


def film_rates(params: FilmParams, dt: float, port_temp_c: float, map_kpa: float
               ) -> tuple[float, float, float]:
    """X, τ (s) and the share of the film left after ``dt`` (exp(-dt/τ)), for ``step_with``."""
    x, tau = params.fraction_and_tau(port_temp_c, map_kpa)
    return x, tau, math.exp(-dt / tau)
