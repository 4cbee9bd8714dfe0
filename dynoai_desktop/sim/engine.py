"""The simulated V-twin's physics: true VE per cylinder, throttle -> MAP, torque, MBT, knock limit.

``EngineModel(preset, baro_kpa, bike_seed)`` is one bike: its build's shape (sim/build_map.py)
plus that bike's own scatter (sim/scatter.py). Everything that does not depend on the moment
is precomputed into grids at construction, so the scalar methods the cell calls hundreds of
times per simulated second are a few multiplications. Every number and what is left out is in
docs/simulator.md §3; sources are shared/reference/vtwin.md.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from dynoai_desktop.core.power import SAE_DRY_KPA, SAE_TEMP_K
from dynoai_desktop.core.units import KELVIN_AT_0_C
from dynoai_desktop.sim.build_map import (
    CHOKE_RPM,
    VE_FLOOR,
    EngineShape,
    exhaust_wave,
    isa_baro_kpa,
)
from dynoai_desktop.sim.presets import EnginePreset
from dynoai_desktop.sim.scalar import clamp
from dynoai_desktop.sim.scatter import DEFAULT_BIKE_SEED, BikeScatter

FRONT, REAR = 0, 1
CYLINDERS = ("front", "rear")
TORQUE_PER_LITRE_NM = 94.5  # WOT torque at the roller per litre at 100 % VE, 99 kPa dry, 25 °C
PUMPING_NM_PER_KPA_L = 1.0 / (4.0 * math.pi)  # PMEP ≈ baro - MAP, per litre (as sim/cell.py)
WOT_LAMBDA = 12.5 / 14.7  # the AFR table's WOT target (vtwin.md §3)


class Curve:
    """Piecewise-linear y(x) through sorted points, clamped at the ends (fast for scalars)."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        self.points = tuple((float(x), float(y)) for x, y in points)
        self._xs = [x for x, _ in self.points]
        self._ys = [y for _, y in self.points]
        # Each segment's rise and run, as the interpolation would compute them (same numbers).
        self._rise = [0.0] + [b - a for a, b in pairwise(self._ys)]
        self._run = [1.0] + [b - a for a, b in pairwise(self._xs)]
        self._first, self._last = self.points[0], self.points[-1]

    def __call__(self, x: float) -> float:
        x0, y0 = self._first
        if x <= x0:
            return y0
        xn, yn = self._last
        if x >= xn:
            return yn
        xs = self._xs
        i = bisect_right(xs, x)
        return self._ys[i - 1] + self._rise[i] * (x - xs[i - 1]) / self._run[i]

    def array(self, x: np.ndarray) -> np.ndarray:
        """The curve at every point of ``x`` (same clamping)."""
        return np.interp(x, self._xs, self._ys)


class CurvePair:
    """Two curves through the same x points, read together with one search (each value the
    same number its ``Curve`` gives)."""

    def __init__(self, first: Curve, second: Curve) -> None:
        if first._xs != second._xs:
            raise ValueError("a curve pair needs the same x points")
        self._first, self._second = first, second

    def __call__(self, x: float) -> tuple[float, float]:
        a, b = self._first, self._second
        xs = a._xs
        if x <= xs[0]:
            return a._ys[0], b._ys[0]
        if x >= xs[-1]:
            return a._ys[-1], b._ys[-1]
        i = bisect_right(xs, x)
        into = x - xs[i - 1]
        return (a._ys[i - 1] + a._rise[i] * into / a._run[i],
                b._ys[i - 1] + b._rise[i] * into / b._run[i])


class Grid:
    """Bilinear z(x, y) on a uniform grid, clamped at the edges (fast for scalars).

    ``locate`` finds a point once and ``at`` reads it off any grid of the same geometry, so
    several surfaces over the same operating point cost one search.
    """

    def __init__(self, x0: float, dx: float, y0: float, dy: float, values: np.ndarray) -> None:
        self.x0, self.dx, self.y0, self.dy = x0, dx, y0, dy
        self.nx, self.ny = values.shape
        self._flat = [float(v) for v in values.ravel()]

    @property
    def geometry(self) -> tuple[float, float, float, float, int, int]:
        """Origin, steps and size: grids with equal geometry share ``locate``'s answers."""
        return self.x0, self.dx, self.y0, self.dy, self.nx, self.ny

    def locate(self, x: float, y: float) -> tuple[int, float, float]:
        """(x, y) on the grid: the flat index of its cell's low corner and the fractions across
        the cell in x and y."""
        fx = (x - self.x0) / self.dx
        if fx <= 0.0:
            i, tx = 0, 0.0
        elif fx >= self.nx - 1:
            i, tx = self.nx - 2, 1.0
        else:
            i = int(fx)
            tx = fx - i
        fy = (y - self.y0) / self.dy
        ny = self.ny
        if fy <= 0.0:
            j, ty = 0, 0.0
        elif fy >= ny - 1:
            j, ty = ny - 2, 1.0
        else:
            j = int(fy)
            ty = fy - j
        return i * ny + j, tx, ty

    def at(self, k: int, tx: float, ty: float) -> float:
        """The value at a point ``locate`` found (on this grid or one of the same geometry)."""
        return self.at_each((self,), k, tx, ty)[0]

    @staticmethod
    def at_each(grids: Sequence[Grid], k: int, tx: float, ty: float) -> list[float]:
        """``at`` on each of ``grids`` (all of the same geometry) at one point."""
        ny = grids[0].ny
        k1, k2, k3 = k + 1, k + ny, k + ny + 1  # the cell's other three corners
        values = []
        for grid in grids:
            v = grid._flat
            a = v[k] + (v[k1] - v[k]) * ty
            b = v[k2] + (v[k3] - v[k2]) * ty
            values.append(a + (b - a) * tx)
        return values

    def __call__(self, x: float, y: float) -> float:
        k, tx, ty = self.locate(x, y)
        return self.at(k, tx, ty)


# MBT spark at WOT vs rpm (the real tune's WOT column, vtwin.md §3/§8, taken as MBT + knock-safe).
MBT_WOT = Curve(((750.0, 8.0), (1000.0, 9.0), (2000.0, 15.0), (3000.0, 21.0), (4000.0, 25.0),
                 (5000.0, 29.0), (6000.0, 32.0), (7000.0, 33.0)))
# Extra advance at zero load vs rpm (light load 17° at 750 rising to 40-42° above 4000 rpm).
MBT_LIGHT_EXTRA = Curve(((750.0, 11.0), (2000.0, 18.0), (4000.0, 20.0), (6000.0, 11.0),
                         (7000.0, 10.0)))
# The Delphi table's VE over physical VE vs MAP: its "VE" is a MAP-load-normalised number
# (vtwin.md §3), not physical VE. Derived, column by column, as the real TC110 tune's mean VE
# over the simulated physical VE of the matching build (TC110, stage 1, 2-into-1, high-flow), both
# cylinders, 1000-6000 rpm, at the tune's columns; held below 20 kPa (the decel cells are not
# fitted) and above 105 kPa
# (docs/simulator.md §3.2; ve_statistics.table_ve_scale_fit, benchmarks/sim_engines.py reprints it).
TABLE_VE_SCALE = Curve(((20.0, 1.30), (25.0, 1.345), (30.0, 1.385), (35.0, 1.40), (40.0, 1.395),
                        (45.0, 1.38), (50.0, 1.335), (55.0, 1.29), (60.0, 1.235), (65.0, 1.185),
                        (70.0, 1.14), (75.0, 1.11), (85.0, 1.06), (95.0, 1.07), (105.0, 1.06)))
# Knock (docs/simulator.md §3.5): the limit's margin over MBT and where it is smallest.
KNOCK_BASE_MARGIN_DEG = 3.0  # away from the lugging zone, at full load
KNOCK_LIGHT_LOAD_DEG = 14.0  # × (1 - load)^1.5: light load rarely knocks
KNOCK_LUG_DEPTH_DEG = 3.0  # the lugging zone: MAP ≥ 80 kPa, 1800-3500 rpm (vtwin.md §8) ...
KNOCK_LUG_RPM = Curve(((1000.0, 1.0), (3500.0, 1.0), (4000.0, 0.0)))  # ... and below 1800 [INF]
KNOCK_LUG_MAP = Curve(((65.0, 0.0), (80.0, 1.0)))
# Above the lugging zone the end gas has less time to autoignite: the limit climbs away from
# MBT with rpm, so a build with less margin knocks in the lugging zone first [INF].
KNOCK_RPM_RELIEF = Curve(((3000.0, 0.0), (6000.0, 3.0)))  # degrees of extra margin
KNOCK_HEAD_REF_C = 100.0  # the head term counts from here
KNOCK_HEAD_DEG_PER_C = (0.04, 0.06)  # × load, + × lugging: hot heads widen the zone
KNOCK_IAT_DEG_PER_C, KNOCK_IAT_REF_C = 0.10, 45.0  # true charge temperature
KNOCK_REAR_DEG = 1.5  # rear first (vtwin.md §8)
# Fine grids for the precomputed surfaces.
RPM_STEP, RPM_MAX = 25.0, 8000.0
MAP_STEP_KPA, MAP_MAX_KPA = 1.0, 120.0


class EnginePoint(NamedTuple):
    """The precomputed surfaces at one operating point (``EngineModel.point``)."""

    ve_true: tuple[float, float]  # front, rear: true VE (%, the table's scale)
    knock_deg: tuple[float, float]  # front, rear: knock limit at the reference head and charge
    head_sensitivity: float  # degrees the limit falls per K of head over KNOCK_HEAD_REF_C


class EngineModel:
    """One bike: its build's physics plus its own scatter. No state; fast scalar methods."""

    def __init__(self, preset: EnginePreset, baro_kpa: float | None = None,
                 bike_seed: int | None = DEFAULT_BIKE_SEED) -> None:
        self.preset = preset
        shape: EngineShape = preset.shape
        self.shape = shape
        # The exhaust side: part-load VE depends on MAP / baro. Default: the build's altitude.
        self.baro_kpa = isa_baro_kpa(preset.build.altitude_m) if baro_kpa is None else baro_kpa
        self.bike_seed = bike_seed
        family = preset.build.engine_family.value
        self.bike = (BikeScatter.nominal() if bike_seed is None
                     else BikeScatter.from_seed(bike_seed, family))
        bike = self.bike
        self.displacement_l = shape.displacement_l
        self.throttle_area_wot = shape.throttle_area_wot
        self.idle_rpm = shape.idle_rpm
        self.idle_map_kpa = shape.idle_map_kpa + bike.idle_map_offset_kpa
        self.idle_area = self._area_for_pr(self.idle_map_kpa / 100.0, shape.idle_rpm)
        # Numbers for the cell and the sensors (docs/simulator.md §3.1, §3.3).
        self.reversion_strength = shape.reversion_strength
        self.decel_pop_tendency = shape.decel_pop_tendency
        self.wideband_delay_scale = bike.wideband_delay_scale
        self.wideband_lambda_offset = bike.wideband_lambda_offset
        self.map_sensor_offset_kpa = bike.map_sensor_offset_kpa
        a, b, c = shape.friction_nm
        self._friction = (a * bike.friction_scale, b * bike.friction_scale,
                          c * bike.friction_scale)
        rpm = np.arange(0.0, RPM_MAX + RPM_STEP / 2, RPM_STEP)
        kpa = np.arange(0.0, MAP_MAX_KPA + MAP_STEP_KPA / 2, MAP_STEP_KPA)
        front, rear = self._ve_surfaces(rpm[:, None], kpa[None, :])
        self._ve = (Grid(0.0, RPM_STEP, 0.0, MAP_STEP_KPA, front),
                    Grid(0.0, RPM_STEP, 0.0, MAP_STEP_KPA, rear))
        self._wot_front = Curve(list(zip(rpm, front[:, int(100 / MAP_STEP_KPA)], strict=True)))
        self._ratio = Grid(0.0, RPM_STEP, 0.0, MAP_STEP_KPA, rear / front)
        self.rear_front_diff = Curve([(r, self._ratio(r, self.baro_kpa) - 1.0)
                                      for r, _ in shape.rear_front_points])
        limits, head_sens = self._knock_surfaces(rpm[:, None], kpa[None, :])
        self._knock = tuple(Grid(0.0, RPM_STEP, 0.0, MAP_STEP_KPA, x) for x in limits)
        self._head_sens = Grid(0.0, RPM_STEP, 0.0, MAP_STEP_KPA, head_sens)
        # ``point`` locates once on the front VE grid for all five surfaces.
        self._point_grids = (*self._ve, *self._knock, self._head_sens)
        assert all(g.geometry == self._ve[FRONT].geometry for g in self._point_grids)
        self._cylinder_nm = 0.5 * TORQUE_PER_LITRE_NM * self.displacement_l  # per 100 % VE

    # ------------------------------------------------------------------ the precomputed surfaces
    def _ve_surfaces(self, rpm: np.ndarray, kpa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """True VE (table scale) of front and rear on the grid (docs/simulator.md §3.2)."""
        shape, bike = self.shape, self.bike
        peak_rpm = shape.ve_peak_rpm + bike.ve_peak_rpm_shift
        x = (rpm - peak_rpm) / 1000.0
        falloff = np.where(x < 0.0, shape.ve_falloff_low, shape.ve_falloff_high)
        choke = np.maximum(0.0, (rpm - CHOKE_RPM) / 1000.0)
        envelope = np.maximum(VE_FLOOR, 1.0 - falloff * x * x - shape.choke * choke * choke)
        resonance = 1.0 + exhaust_wave(rpm, shape.exhaust_tuned_rpm * bike.resonance_rpm_scale,
                                       shape.exhaust_wave_depth * bike.resonance_gain)
        end = shape.overlap_dip_end_rpm
        dip = 1.0 - shape.overlap_dip * np.clip((end - rpm) / (end - 1000.0), 0.0, 1.0)
        wot = shape.ve_peak_pct * bike.ve_peak_scale * envelope * resonance * dip
        load = np.clip(kpa / self.baro_kpa, 0.0, 1.1)
        part = 1.0 - shape.part_load_loss * (1.0 - load)
        common, rear_own = bike.ve_bumps(rpm, kpa)
        front = wot * part * (1.0 + common) * TABLE_VE_SCALE.array(kpa)
        shape_rpm = np.array([r for r, _ in shape.rear_front_points])
        diff = np.interp(rpm - bike.imbalance_shift_rpm, shape_rpm,
                         [d for _, d in shape.rear_front_points]) * bike.imbalance_scale
        ratio = 1.0 + diff * (0.4 + 0.6 * np.minimum(load, 1.05))
        rear = front * ratio * (1.0 + rear_own)
        return np.broadcast_to(front, rear.shape).copy(), rear

    def _knock_surfaces(self, rpm: np.ndarray, kpa: np.ndarray
                        ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """Knock limits at the head and charge references, and the head sensitivity (§3.5)."""
        load = np.minimum(kpa, 105.0) / 100.0
        lug = KNOCK_LUG_RPM.array(rpm) * KNOCK_LUG_MAP.array(kpa)
        light = np.maximum(0.0, 1.0 - np.minimum(kpa, 100.0) / 100.0)
        mbt = MBT_WOT.array(rpm) + light * MBT_LIGHT_EXTRA.array(rpm)
        margin = (KNOCK_BASE_MARGIN_DEG + self.shape.knock_margin_deg
                  + KNOCK_LIGHT_LOAD_DEG * np.maximum(0.0, 1.0 - load) ** 1.5
                  - KNOCK_LUG_DEPTH_DEG * lug + KNOCK_RPM_RELIEF.array(rpm))
        front = mbt + margin + self.bike.knock_offset_deg[FRONT]
        rear = mbt + margin + self.bike.knock_offset_deg[REAR] - KNOCK_REAR_DEG
        per_load, per_lug = KNOCK_HEAD_DEG_PER_C
        head_sens = per_load * load + per_lug * lug
        return (front, rear), np.broadcast_to(head_sens, front.shape).copy()

    # ------------------------------------------------------------------ volumetric efficiency
    def ve_wot_front(self, rpm: float) -> float:
        """Front cylinder VE (%) at wide-open throttle (100 kPa)."""
        return self._wot_front(rpm)

    def rear_front_ratio(self, rpm: float, map_kpa: float) -> float:
        """Rear VE / front VE at an operating point (the cylinder imbalance)."""
        return self._ratio(rpm, map_kpa)

    def ve_true(self, cylinder: int, rpm: float, map_kpa: float) -> float:
        """True VE (%) of a cylinder: what the ECM's table would hold if it were perfect."""
        return self._ve[cylinder](rpm, map_kpa)

    def point(self, rpm: float, map_kpa: float) -> EnginePoint:
        """Both cylinders' true VE and knock surfaces at an operating point, found with one
        search (the cell's per-step call; the same numbers as ``ve_true`` and
        ``knock_limit_deg``)."""
        k, tx, ty = self._ve[FRONT].locate(rpm, map_kpa)
        ve_front, ve_rear, knock_front, knock_rear, head = Grid.at_each(self._point_grids,
                                                                        k, tx, ty)
        return EnginePoint((ve_front, ve_rear), (knock_front, knock_rear), head)

    @staticmethod
    def table_ve_scale(map_kpa: float) -> float:
        """The Delphi table's VE over physical VE at ``map_kpa`` (1.30-1.40 light, ~1.06 WOT)."""
        return TABLE_VE_SCALE(map_kpa)

    def ve_physical(self, cylinder: int, rpm: float, map_kpa: float) -> float:
        """Physical VE (%): the air a cylinder traps, against its displacement at MAP."""
        return self._ve[cylinder](rpm, map_kpa) / TABLE_VE_SCALE(map_kpa)

    # ------------------------------------------------------------------ throttle and manifold
    def _area_for_pr(self, pressure_ratio: float, rpm: float) -> float:
        pr = min(max(pressure_ratio, 0.01), 0.999)
        return pr * rpm / (1.0 - pr)

    def throttle_area(self, tps_pct: float) -> float:
        """Effective intake opening: idle air plus the throttle's share (progressive)."""
        t = clamp(tps_pct, 0.0, 100.0) / 100.0
        return self.idle_area + self.throttle_area_wot * t**1.8

    def map_steady_kpa(self, tps_pct: float, rpm: float, baro_kpa: float) -> float:
        """Manifold pressure the engine settles at: throttle flow equals pumping flow."""
        area = self.throttle_area(tps_pct)
        return baro_kpa * area / (area + (200.0 if 200.0 > rpm else rpm))  # max(rpm, 200)

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
            misfiring = 1.0 - 4.0 * (lam - 1.3)
            eff *= misfiring if misfiring > 0.0 else 0.0
        return eff if eff > 0.0 else 0.0

    @staticmethod
    def spark_efficiency(spark_deg: float, mbt_deg: float) -> float:
        """Torque fraction vs spark away from MBT (about 3 % at 5° either way)."""
        d = spark_deg - mbt_deg
        eff = 1.0 - 0.0012 * d * d
        return eff if eff > 0.0 else 0.0

    def mbt_deg(self, rpm: float, map_kpa: float) -> float:
        """Spark advance (°BTDC) for best torque at an operating point."""
        light = 1.0 - (100.0 if 100.0 < map_kpa else map_kpa) / 100.0
        return MBT_WOT(rpm) + (light if light > 0.0 else 0.0) * MBT_LIGHT_EXTRA(rpm)

    def knock_limit_deg(self, cylinder: int, rpm: float, map_kpa: float, head_temp_c: float,
                        iat_c: float) -> float:
        """Advance (°BTDC) above which the cylinder knocks: build, fuel, load, heat, rear first."""
        return self.knock_limit_at(self.point(rpm, map_kpa), cylinder, head_temp_c, iat_c)

    @staticmethod
    def knock_limit_at(point: EnginePoint, cylinder: int, head_temp_c: float, iat_c: float
                       ) -> float:
        """``knock_limit_deg`` at an operating point ``point`` found."""
        limit = point.knock_deg[cylinder]
        if head_temp_c > KNOCK_HEAD_REF_C:
            limit -= point.head_sensitivity * (head_temp_c - KNOCK_HEAD_REF_C)
        if iat_c > KNOCK_IAT_REF_C:
            limit -= KNOCK_IAT_DEG_PER_C * (iat_c - KNOCK_IAT_REF_C)
        return limit

    def friction_nm(self, rpm: float) -> float:
        """Losses between combustion and the roller at closed throttle (N·m)."""
        a, b, c = self._friction
        k = rpm / 1000.0
        return a + b * k + c * k * k

    def charge_torque_nm(self, ve_pct: float, map_kpa: float, dry_fraction: float,
                         charge_temp_c: float) -> float:
        """One cylinder's share of roller torque from the air it breathes, before losses.

        ``ve_pct`` is the true VE on the table's scale (``ve_true``); the air is its physical VE.
        """
        return self.charge_torques_nm((ve_pct, ve_pct), map_kpa, dry_fraction,
                                      charge_temp_c)[FRONT]

    def charge_torques_nm(self, ve_true: tuple[float, float], map_kpa: float,
                          dry_fraction: float, charge_temp_c: float) -> tuple[float, float]:
        """``charge_torque_nm`` of front and rear (the air's density is the same for both)."""
        # Air through the engine goes as P_dry / sqrt(T): the form SAE J1349 corrects for.
        density = (map_kpa / SAE_DRY_KPA) * dry_fraction * math.sqrt(
            SAE_TEMP_K / (charge_temp_c + KELVIN_AT_0_C))
        scale, per_pct = TABLE_VE_SCALE(map_kpa), self._cylinder_nm
        return (per_pct * (ve_true[FRONT] / scale) / 100.0 * density,
                per_pct * (ve_true[REAR] / scale) / 100.0 * density)

    def steady_torque_nm(self, rpm: float, map_kpa: float, baro_kpa: float, dry_fraction: float,
                         charge_temp_c: float, head_temp_c: float, lam: float = WOT_LAMBDA,
                         knock_safety_deg: float = 1.0) -> float:
        """Roller torque (N·m) held steady at an operating point, both cylinders, fuelled at
        ``lam`` with each cylinder's spark at MBT or ``knock_safety_deg`` under its knock limit
        (the rear's head ``head_temp_c`` hotter by nothing: a steady, even engine). The cell's
        torque with a perfect tune; benchmarks/sim_engines.py draws WOT curves with it."""
        torque = 0.0
        mbt = self.mbt_deg(rpm, map_kpa)
        for cylinder in (FRONT, REAR):
            limit = self.knock_limit_deg(cylinder, rpm, map_kpa, head_temp_c, charge_temp_c)
            spark = min(mbt, limit - knock_safety_deg)
            torque += (self.charge_torque_nm(self.ve_true(cylinder, rpm, map_kpa), map_kpa,
                                             dry_fraction, charge_temp_c)
                       * self.lambda_efficiency(lam) * self.spark_efficiency(spark, mbt))
        pumping = PUMPING_NM_PER_KPA_L * max(baro_kpa - map_kpa, 0.0) * self.displacement_l
        return torque - self.friction_nm(rpm) - pumping

    # ------------------------------------------------------------------ the truth
    def truth_dict(self) -> dict[str, object]:
        """The build's shape and this bike's scatter, for ``--truth``."""
        s = self.shape
        return {
            "bike_seed": self.bike_seed,
            "shape": {
                "bore_in": round(s.bore_in, 4), "stroke_in": s.stroke_in,
                "displacement_l": round(s.displacement_l, 4),
                "cam": {"duration_deg": s.cam.duration_deg, "overlap_deg": s.cam.overlap_deg,
                        "lsa_deg": s.cam.lsa_deg, "lift_in": s.cam.lift_in,
                        "class": s.cam.cam_class},
                "ve_peak_pct": round(s.ve_peak_pct, 3), "ve_peak_rpm": round(s.ve_peak_rpm, 1),
                "ve_falloff_low": round(s.ve_falloff_low, 5),
                "ve_falloff_high": round(s.ve_falloff_high, 5), "choke": s.choke,
                "overlap_dip": round(s.overlap_dip, 4),
                "overlap_dip_end_rpm": round(s.overlap_dip_end_rpm, 1),
                "part_load_loss": round(s.part_load_loss, 4),
                "exhaust_tuned_rpm": s.exhaust_tuned_rpm,
                "exhaust_wave_depth": s.exhaust_wave_depth,
                "idle_rpm": s.idle_rpm, "idle_map_kpa": round(self.idle_map_kpa, 3),
                "reversion_strength": round(s.reversion_strength, 4),
                "decel_pop_tendency": round(s.decel_pop_tendency, 4),
                "knock_margin_deg": round(s.knock_margin_deg, 3),
                "twin_plug": s.twin_plug,
            },
            "table_ve_scale": [{"map_kpa": m, "scale": v} for m, v in TABLE_VE_SCALE.points],
            "scatter": self.bike.truth_dict(),
        }
