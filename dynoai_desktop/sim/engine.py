"""The simulated V-twin's physics: true VE per cylinder, throttle -> MAP, torque, MBT, knock limit.

Scalar functions in plain floats: the cell calls them hundreds of times per simulated second.
Every number and what is left out is in docs/simulator.md; sources are shared/reference/vtwin.md.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

from dynoai_desktop.core.build_spec import AirCleaner
from dynoai_desktop.core.power import SAE_DRY_KPA, SAE_TEMP_K
from dynoai_desktop.core.units import KELVIN_AT_0_C, KPA_PER_ATM
from dynoai_desktop.sim.presets import EnginePreset

FRONT, REAR = 0, 1
CYLINDERS = ("front", "rear")
TORQUE_PER_LITRE_NM = 94.5  # WOT torque at the roller per litre at 100 % VE, 99 kPa dry, 25 °C

class Curve:
    """Piecewise-linear y(x) through sorted points, clamped at the ends (fast for scalars)."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        self.points = tuple((float(x), float(y)) for x, y in points)
        self._xs = [x for x, _ in self.points]
        self._ys = [y for _, y in self.points]

    def __call__(self, x: float) -> float:
        xs, ys = self._xs, self._ys
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        i = bisect_right(xs, x)
        x0, x1 = xs[i - 1], xs[i]
        return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - x0) / (x1 - x0)


# Rear minus front VE, in fraction of front, vs rpm, at WOT: the shape of the real TC110 tune's
# difference (vtwin.md §4: +13 % at 1500, -9 % at 3000, +4..9 % at 5000-6000).
REAR_FRONT_POINTS = (
    (750.0, 0.05), (1500.0, 0.11), (2250.0, 0.01), (3000.0, -0.08), (3750.0, -0.03),
    (4500.0, 0.03), (5250.0, 0.06), (6000.0, 0.07), (7000.0, 0.05),
)
# MBT spark at WOT vs rpm (the real tune's WOT column, vtwin.md §3/§8, taken as MBT + knock-safe).
MBT_WOT = Curve(((750.0, 8.0), (1000.0, 9.0), (2000.0, 15.0), (3000.0, 21.0), (4000.0, 25.0),
                   (5000.0, 29.0), (6000.0, 32.0), (7000.0, 33.0)))
# Extra advance at zero load vs rpm (light load 17° at 750 rising to 40-42° above 4000 rpm).
MBT_LIGHT_EXTRA = Curve(((750.0, 11.0), (2000.0, 18.0), (4000.0, 20.0), (6000.0, 11.0),
                         (7000.0, 10.0)))
# Wide-open throttle body + air cleaner flow (arbitrary units against engine pumping of 1/rpm).
_THROTTLE_AREA = {AirCleaner.STOCK: 120_000.0, AirCleaner.HIGH_FLOW: 220_000.0,
                  AirCleaner.VELOCITY_STACK: 300_000.0}


class EngineModel:
    """The physics of one preset. Pure functions of the operating point; no state."""

    def __init__(self, preset: EnginePreset, baro_kpa: float = KPA_PER_ATM) -> None:
        self.preset = preset
        self.baro_kpa = baro_kpa  # the exhaust side: part-load VE depends on MAP / baro
        build = preset.build
        self.displacement_l = build.displacement_cc / 1000.0
        self.throttle_area_wot = _THROTTLE_AREA[build.air_cleaner]
        self.idle_area = self._area_for_pr(preset.idle_map_kpa / 100.0, preset.idle_rpm)
        self.rear_front_diff = Curve([(r, d * preset.rear_front_scale)
                                      for r, d in REAR_FRONT_POINTS])

    # ------------------------------------------------------------------ volumetric efficiency
    def ve_wot_front(self, rpm: float) -> float:
        """Front cylinder VE (%) at wide-open throttle (100 kPa)."""
        p = self.preset
        krpm = (rpm - p.ve_peak_rpm) / 1000.0
        falloff = p.ve_falloff_low if krpm < 0 else p.ve_falloff_high
        return p.ve_peak_pct * max(0.35, 1.0 - falloff * krpm * krpm)

    def rear_front_ratio(self, rpm: float, map_kpa: float) -> float:
        """Rear VE / front VE at an operating point (the cylinder imbalance)."""
        diff = self.rear_front_diff(rpm)
        return 1.0 + diff * (0.4 + 0.6 * min(map_kpa / self.baro_kpa, 1.05))

    def ve_true(self, cylinder: int, rpm: float, map_kpa: float) -> float:
        """True VE (%) of a cylinder: what the ECM's table would hold if it were perfect."""
        load = min(max(map_kpa / self.baro_kpa, 0.0), 1.1)
        ve = self.ve_wot_front(rpm) * (1.0 - self.preset.part_load_loss * (1.0 - load))
        if cylinder == REAR:
            ve *= self.rear_front_ratio(rpm, map_kpa)
        return ve

    # ------------------------------------------------------------------ throttle and manifold
    def _area_for_pr(self, pressure_ratio: float, rpm: float) -> float:
        pr = min(max(pressure_ratio, 0.01), 0.999)
        return pr * rpm / (1.0 - pr)

    def throttle_area(self, tps_pct: float) -> float:
        """Effective intake opening: idle air plus the throttle's share (progressive)."""
        t = min(max(tps_pct, 0.0), 100.0) / 100.0
        return self.idle_area + self.throttle_area_wot * t**1.8

    def map_steady_kpa(self, tps_pct: float, rpm: float, baro_kpa: float) -> float:
        """Manifold pressure the engine settles at: throttle flow equals pumping flow."""
        area = self.throttle_area(tps_pct)
        return baro_kpa * area / (area + max(rpm, 200.0))

    def tps_for_map(self, map_kpa: float, rpm: float, baro_kpa: float) -> float:
        """Throttle (%) that holds ``map_kpa`` at ``rpm`` (what the rider does on a grid cell)."""
        area = self._area_for_pr(map_kpa / baro_kpa, rpm) - self.idle_area
        if area <= 0.0:
            return 0.0
        return min(100.0, 100.0 * (area / self.throttle_area_wot) ** (1.0 / 1.8))

    # ------------------------------------------------------------------ combustion and torque
    @staticmethod
    def lambda_efficiency(lam: float) -> float:
        """Torque fraction vs mixture: best near λ 0.87 (12.8 AFR), misfire past λ 1.3."""
        d = lam - 0.87
        eff = 1.0 - (1.2 if d < 0 else 2.4) * d * d
        if lam > 1.3:
            eff *= max(0.0, 1.0 - 4.0 * (lam - 1.3))
        return max(0.0, eff)

    @staticmethod
    def spark_efficiency(spark_deg: float, mbt_deg: float) -> float:
        """Torque fraction vs spark away from MBT (about 3 % at 5° either way)."""
        d = spark_deg - mbt_deg
        return max(0.0, 1.0 - 0.0012 * d * d)

    def mbt_deg(self, rpm: float, map_kpa: float) -> float:
        """Spark advance (°BTDC) for best torque at an operating point."""
        light = max(0.0, 1.0 - min(map_kpa, 100.0) / 100.0)
        return MBT_WOT(rpm) + light * MBT_LIGHT_EXTRA(rpm)

    def knock_limit_deg(self, cylinder: int, rpm: float, map_kpa: float, head_temp_c: float,
                        iat_c: float) -> float:
        """Advance (°BTDC) above which the cylinder knocks: build, fuel, load, heat, rear first."""
        build = self.preset.build
        load = min(map_kpa, 105.0) / 100.0
        margin = (
            self.preset.knock_margin_deg
            + 1.5 * (build.fuel_octane_aki - 91.0)
            - 2.5 * (build.compression_ratio - 9.6)
            + 14.0 * max(0.0, 1.0 - load) ** 1.5
            - 3.0 * math.exp(-(((rpm - 2600.0) / 900.0) ** 2)) * load  # lugging, high MAP
            - 0.08 * max(0.0, head_temp_c - 150.0)
            - 0.10 * max(0.0, iat_c - 45.0)
            - (1.5 if cylinder == REAR else 0.0)
        )
        return self.mbt_deg(rpm, map_kpa) + 1.0 + margin

    def friction_nm(self, rpm: float) -> float:
        """Losses between combustion and the roller at closed throttle (N·m)."""
        a, b, c = self.preset.friction_nm
        k = rpm / 1000.0
        return a + b * k + c * k * k

    def charge_torque_nm(self, ve_pct: float, map_kpa: float, dry_fraction: float,
                         charge_temp_c: float) -> float:
        """One cylinder's share of roller torque from the air it breathes, before losses."""
        # Air through the engine goes as P_dry / sqrt(T): the form SAE J1349 corrects for.
        density = (map_kpa / SAE_DRY_KPA) * dry_fraction * math.sqrt(
            SAE_TEMP_K / (charge_temp_c + KELVIN_AT_0_C))
        return 0.5 * TORQUE_PER_LITRE_NM * self.displacement_l * ve_pct / 100.0 * density
