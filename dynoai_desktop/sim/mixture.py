"""What each cylinder burns and what its wideband sees: injection, wall film, reversion, misfire.

Per cylinder and per simulation step:

* **Injection.** The ECM sizes the pulse from its VE table, AFR target, IAT sensor and the MAP it
  read about one engine cycle before the charge is trapped (port injection is timed on a closed
  valve) **[INF]**; accel/decel enrichment, warm-up, hot-idle and closed-loop trims scale it.
* **Wall film** (``sim.fuel_film``, Aquino's X-τ): what reaches the cylinder lags what is
  injected, so a tip-in goes lean first and a tip-out rich.
* **The charge** is MAP · VE_true / T_charge, so in steady state
  AFR = target · (VE_true / VE_table) · (T_iat_sensor / T_charge) / fuel_scale.
* **What the wideband reads.** With cam overlap at idle and light load, fresh charge blows
  through and exhaust reverts, so the sensor sees oxygen that never burned and reads *lean*
  (vtwin.md §2, "Wideband Realities"); partial misfires there, and on closed-throttle decels,
  show as lean spikes; a decel pop is a misfired cycle lighting in the pipe (vtwin.md §5). The
  misfired share of a cycle also makes no torque. The firing pulsation (315°/405°) ripples the
  reading at idle.

The true λ (what burns) feeds torque, knock and pops; the read λ feeds the sensor.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from dynoai_desktop.core.units import GASOLINE_STOICH_AFR, KELVIN_AT_0_C
from dynoai_desktop.sim.fuel_film import FilmParams, FuelFilm, film_rates

TWO_PI = 2.0 * math.pi
REAR_FIRES_AFTER_DEG = 315.0  # vtwin.md §1: front -> rear 315°, rear -> front 405°
OEM_OVERLAP_DEG = 5.0  # vtwin.md §2: OEM cams ≈0-10° of overlap (used when the card is unknown)


@dataclass(frozen=True)
class MixtureParams:
    """Everything that shapes the mixture beyond the tables (written to --truth). [INF]"""

    injection_lag_cycles: float = 1.0  # the ECM's MAP reading is this many cycles old
    reversion_max: float = 0.15  # false-lean share of the reading at idle with the hottest cam
    reversion_full_below_rpm: float = 1000.0  # ... fading out by reversion_gone_rpm
    reversion_gone_rpm: float = 2500.0
    reversion_full_below_kpa: float = 40.0  # ... fading out by reversion_gone_kpa
    reversion_gone_kpa: float = 80.0
    idle_misfire_per_cycle: float = 0.06  # chance per cycle, hottest cam, idle
    decel_misfire_per_cycle: float = 0.04  # chance per cycle at closed throttle, MAP ≤ 20 kPa
    decel_misfire_below_kpa: float = 30.0
    misfire_unburned: tuple[float, float] = (0.2, 0.6)  # share of a misfired cycle left unburned
    pop_unburned: float = 0.7  # a decel pop: most of that cycle burns in the pipe
    max_true_lambda: float = 8.0  # past this nothing burns (fuel cut with a drying film)


def reversion_strength_for(engine: object, overlap_deg: float | None) -> float:
    """0..1: how much the cam's overlap reverts at idle. The engine's own figure if it has
    one (``engine.reversion_strength``), else from the cam card's overlap: 0 at 10° (OEM), 1
    at 50° (vtwin.md §2: bolt-in 15-30°, hot street 30-50°) **[INF]**."""
    strength = getattr(engine, "reversion_strength", None)
    if strength is not None:
        return min(max(float(strength), 0.0), 1.0)
    overlap = OEM_OVERLAP_DEG if overlap_deg is None else overlap_deg
    return min(max((overlap - 10.0) / 40.0, 0.0), 1.0)


def _fade(value: float, full_below: float, gone_at: float) -> float:
    share = (gone_at - value) / (gone_at - full_below)
    return 1.0 if share > 1.0 else share if share > 0.0 else 0.0  # min(1, max(0, share))


class Mixture:
    """Both cylinders' fuel path and exhaust as the sensor sees it. ``step`` every step; its
    result per cylinder (front, rear) is in ``lam_true`` (what burns, λ; past
    ``max_true_lambda`` nothing burns), ``lam_read`` (what the wideband's exhaust sample looks
    like, before delay and lag) and ``burned`` (the share of the charge that burned this step:
    misfires make it < 1)."""

    def __init__(self, params: MixtureParams, film: FilmParams, reversion_strength: float,
                 ripple_lambda: float, rng: random.Random) -> None:
        self.params = params
        self.reversion_strength = reversion_strength
        self._ripple = ripple_lambda
        self._rng = rng
        self._film_params = film
        self.films = [FuelFilm(film), FuelFilm(film)]
        self._lag_cycles = max(params.injection_lag_cycles, 1e-6)
        self._map_ecm: float | None = None
        self._cycle = [0.0, REAR_FIRES_AFTER_DEG / 720.0]  # phase in engine cycles
        self._misfire = [0.0, 0.0]  # unburned share of the current cycle
        self.false_lean = [0.0, 0.0]  # this step's steady false-lean share (for the truth)
        self.lam_true = [1.0, 1.0]
        self.lam_read = [1.0, 1.0]
        self.burned = [1.0, 1.0]

    def force_misfire(self, cylinder: int, unburned: float) -> None:
        """The current cycle of ``cylinder`` mostly fails to burn (a decel pop)."""
        self._misfire[cylinder] = max(self._misfire[cylinder], unburned)

    def step(self, dt: float, rpm: float, map_kpa: float, *, map_read_kpa: float,
             ve_true: tuple[float, float], ve_table: tuple[float, float], afr_target: float,
             fuel_scale: list[float], trims_pct: tuple[float, float], iat_sensor_c: float,
             charge_c: float, port_temp_c: float, closed_throttle: bool) -> None:
        """Advance both cylinders by ``dt`` (the result: ``lam_true``, ``lam_read``, ``burned``).

        ``map_kpa`` is the true manifold pressure (the air), ``map_read_kpa`` what the ECM's
        MAP sensor reads (the fuel it sizes).
        """
        p = self.params
        cycles = dt * (1.0 if 1.0 > rpm else rpm) / 120.0  # max(rpm, 1.0) (sim/scalar.py)
        map_ecm = map_read_kpa if self._map_ecm is None else self._map_ecm
        map_ecm += (map_read_kpa - map_ecm) * (1.0 - math.exp(-cycles / self._lag_cycles))
        self._map_ecm = map_ecm
        sensor_k, charge_k = iat_sensor_c + KELVIN_AT_0_C, charge_c + KELVIN_AT_0_C
        idle_share = (_fade(rpm, p.reversion_full_below_rpm, p.reversion_gone_rpm)
                      * _fade(map_kpa, p.reversion_full_below_kpa, p.reversion_gone_kpa))
        bias = p.reversion_max * self.reversion_strength * idle_share
        misfire_chance = p.idle_misfire_per_cycle * self.reversion_strength * idle_share
        if closed_throttle:
            misfire_chance += (p.decel_misfire_per_cycle * (0.3 + self.reversion_strength)
                               * _fade(map_kpa, p.decel_misfire_below_kpa - 10.0,
                                       p.decel_misfire_below_kpa))
        ripple = self._ripple * (1000.0 / (400.0 if 400.0 > rpm else rpm)) ** 2
        # Both ports share the params, the head temperature and the MAP: one film lookup.
        x, tau, decay = film_rates(self._film_params, dt, port_temp_c, map_kpa)
        cycle, misfire = self._cycle, self._misfire
        for c in (0, 1):
            injected = (map_ecm * ve_table[c] * fuel_scale[c] * (1.0 + trims_pct[c] / 100.0)
                        / (afr_target * sensor_k))
            delivered = self.films[c].step_with(dt, injected, x, tau, decay)
            air = map_kpa * ve_true[c] / charge_k
            lam = (air / delivered / GASOLINE_STOICH_AFR if delivered > 0.0
                   else p.max_true_lambda + 1.0)
            cycle[c] += cycles
            if cycle[c] >= 1.0:  # a new engine cycle for this cylinder
                cycle[c] %= 1.0
                misfire[c] = (self._rng.uniform(*p.misfire_unburned)
                              if self._rng.random() < misfire_chance else 0.0)
            unburned = misfire[c]
            self.false_lean[c] = bias
            read = lam / ((1.0 - bias) * (1.0 - unburned))
            read += ripple * math.sin(TWO_PI * cycle[c])
            self.lam_true[c], self.lam_read[c], self.burned[c] = lam, read, 1.0 - unburned
