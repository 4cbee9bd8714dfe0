"""Each bike its own engine: the seeded scatter one bike of a build has against another.

Two bikes of the same build differ as real ones do: their own VE bumps and rpm-wise waves (a
few % over 2-4 cells of the tuner's table, more at light load than at WOT), their own rear/front
shape, cam timing, pipe tolerances and depth of the pipe's tuning, knock margin
per cylinder, idle MAP, friction, and their own sensors (wideband delay and offset, MAP sensor
offset). ``BikeScatter.from_seed(bike_seed)`` draws all of it from one seed: the same bike seed
gives bitwise the same scatter. ``BikeScatter.nominal()`` is the build's average bike (no scatter).
Every spread is in docs/simulator.md §3.3 with its source or **[INF]** mark; the bump, wave and
imbalance spreads are chosen so that the real TC110 tune's VE statistics fall inside those of
20 bikes (§3.4, benchmarks/sim_engines.py, tests/sim/test_real_tune_stats.py).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

DEFAULT_BIKE_SEED = 1
BIKE_SEED_MAX = 2**31 - 1

# The bumps live on a tuner's table: knots one cell apart on the Delphi VE MAP table's axes
# (the real PVV's rows and columns, vtwin.md §3), extended past both ends.
BUMP_RPM_KNOTS = (0.0, 500.0, 750.0, 1000.0, 1125.0, 1250.0, 1500.0, 1750.0, 2000.0, 2250.0,
                  2500.0, 2750.0, 3000.0, 3500.0, 4000.0, 4500.0, 5000.0, 5500.0, 6000.0, 6500.0,
                  7000.0, 7500.0, 8000.0)
BUMP_MAP_KNOTS_KPA = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0,
                      60.0, 65.0, 70.0, 75.0, 85.0, 95.0, 105.0, 120.0)
# Knot values are white noise smoothed once with [1, 2, 1] along each axis, then rescaled to
# unit spread: neighbouring cells correlate 0.67, two apart 0.17, three apart 0; bumps about
# 2.7 cells across (full width at half correlation). The rpm-wise waves are 1-D noise on the
# rpm knots, smoothed the same way.
BUMP_SMOOTH_PASSES_RPM, BUMP_SMOOTH_PASSES_MAP = 1, 1

# Spreads (1 σ unless said otherwise); docs/simulator.md §3.3.
VE_BUMP_COMMON_PCT = 4.0  # both cylinders (the intake, the heads' castings, the cam)
VE_BUMP_REAR_PCT = 2.0  # the rear's own (its port, its pipe)
VE_WAVE_COMMON_PCT = 5.0  # rpm-wise, at every load: the pipe's and intake's own wave tuning
VE_WAVE_REAR_PCT = 1.0  # the rear pipe's own
RESONANCE_GAIN_RANGE = (0.7, 1.3)  # uniform: × the depth of the exhaust's wave tuning
# × the bumps and waves vs MAP: the real tune is rougher at light load than at WOT (its
# second difference along rpm is 15 % at 20 kPa, 9 % at 105 kPa, docs/simulator.md §3.3).
BUMP_GAIN_BY_MAP = ((20.0, 1.4), (100.0, 0.6))
VE_PEAK_SCALE_SD = 0.02  # production spread of peak VE
VE_PEAK_RPM_SD = 100.0  # cam timing tolerance at the gears
RESONANCE_RPM_SCALE_SD = 0.04  # × the tuned rpm: pipe length, baffles, bungs
IMBALANCE_SCALE_RANGE = (0.6, 1.5)  # uniform: how strongly this bike's rear differs
IMBALANCE_SHIFT_RPM_SD = 150.0
KNOCK_OFFSET_SD_DEG, KNOCK_OFFSET_MAX_DEG = 0.4, 0.6  # per cylinder: deposits, plugs, fuel
IDLE_MAP_SD_KPA = 1.0
FRICTION_SCALE_SD = 0.04
WIDEBAND_DELAY_SCALE_RANGE = (0.85, 1.25)  # uniform: bung position on the pipe (vtwin.md §4, §7)
WIDEBAND_LAMBDA_SD, WIDEBAND_LAMBDA_MAX = 0.004, 0.01  # LSU 4.9 accuracy ≈0.01 λ (vtwin.md §7)
MAP_SENSOR_SD_KPA, MAP_SENSOR_MAX_KPA = 0.4, 1.0


def _clipped_normal(rng: np.random.Generator, sd: float, limit: float) -> float:
    return float(np.clip(rng.normal(0.0, sd), -limit, limit))


def _smooth(values: np.ndarray, axis: int, passes: int) -> np.ndarray:
    """``passes`` times [1, 2, 1] along ``axis``; ``values`` has 2 × passes spare knots there."""
    for _ in range(passes):
        v = np.moveaxis(values, axis, 0)
        values = np.moveaxis(v[:-2] + 2.0 * v[1:-1] + v[2:], 0, axis)
    return values


def _unit_spread(values: np.ndarray, passes: tuple[int, ...]) -> np.ndarray:
    """Rescale smoothed white noise back to unit variance (exact, from the kernel)."""
    kernel = np.array([1.0])
    variance = 1.0
    for n in passes:
        k = kernel
        for _ in range(n):
            k = np.convolve(k, [1.0, 2.0, 1.0])
        variance *= float(np.sum(k * k))
    return values / np.sqrt(variance)


def _bump_knots(rng: np.random.Generator) -> np.ndarray:
    """Unit-spread knot values on (rpm knots x MAP knots): bumps 2-4 cells across."""
    pr, pm = BUMP_SMOOTH_PASSES_RPM, BUMP_SMOOTH_PASSES_MAP
    n, m = len(BUMP_RPM_KNOTS), len(BUMP_MAP_KNOTS_KPA)
    white = rng.standard_normal((n + 2 * pr, m + 2 * pm))
    smooth = _smooth(_smooth(white, 0, pr), 1, pm)
    return _unit_spread(smooth, (pr, pm))


def _wave_knots(rng: np.random.Generator) -> np.ndarray:
    """Unit-spread values on the rpm knots, smoothed once: waves 2-3 cells across."""
    white = rng.standard_normal(len(BUMP_RPM_KNOTS) + 2)
    return _unit_spread(_smooth(white, 0, 1), (1,))


@dataclass(frozen=True, eq=False)
class BikeScatter:
    """One bike's own numbers on top of its build (all neutral for ``nominal()``)."""

    bike_seed: int | None
    ve_peak_scale: float = 1.0
    ve_peak_rpm_shift: float = 0.0
    resonance_rpm_scale: float = 1.0
    resonance_gain: float = 1.0
    imbalance_scale: float = 1.0
    imbalance_shift_rpm: float = 0.0
    knock_offset_deg: tuple[float, float] = (0.0, 0.0)  # front, rear (+ = more margin)
    idle_map_offset_kpa: float = 0.0
    friction_scale: float = 1.0
    wideband_delay_scale: tuple[float, float] = (1.0, 1.0)  # front, rear: × the delay curve
    wideband_lambda_offset: tuple[float, float] = (0.0, 0.0)  # front, rear: reading - truth, λ
    map_sensor_offset_kpa: float = 0.0  # the MAP sensor's reading - the true MAP
    ve_bump_common_pct: float = 0.0
    ve_bump_rear_pct: float = 0.0
    ve_wave_common_pct: float = 0.0
    ve_wave_rear_pct: float = 0.0
    bumps_common: np.ndarray | None = None  # unit-spread knot values, (rpm knots, MAP knots)
    bumps_rear: np.ndarray | None = None
    waves_common: np.ndarray | None = None  # unit-spread values on the rpm knots
    waves_rear: np.ndarray | None = None

    @classmethod
    def nominal(cls) -> BikeScatter:
        """The build's average bike: no scatter at all."""
        return cls(bike_seed=None)

    @classmethod
    def from_seed(cls, bike_seed: int, family: str = "") -> BikeScatter:
        """Bike number ``bike_seed`` (0 to 2³¹ − 1) of an engine ``family``.

        The same seed and family give bitwise the same bike; a change of cam, exhaust or air
        cleaner keeps the bike's own castings (its bumps), as on a real bike.
        """
        if isinstance(bike_seed, bool) or not isinstance(bike_seed, int | np.integer) or not (
                0 <= bike_seed <= BIKE_SEED_MAX):
            raise ValueError(f"bike seed must be a whole number 0 to {BIKE_SEED_MAX}, "
                             f"not {bike_seed!r}")
        if not isinstance(family, str):
            raise ValueError(f"engine family must be a text name, not {family!r}")
        rng = np.random.default_rng([int(bike_seed), zlib.crc32(family.encode()), 0x5EED])
        lo, hi = IMBALANCE_SCALE_RANGE
        d_lo, d_hi = WIDEBAND_DELAY_SCALE_RANGE
        g_lo, g_hi = RESONANCE_GAIN_RANGE
        return cls(
            bike_seed=int(bike_seed),
            ve_peak_scale=1.0 + _clipped_normal(rng, VE_PEAK_SCALE_SD, 2 * VE_PEAK_SCALE_SD),
            ve_peak_rpm_shift=_clipped_normal(rng, VE_PEAK_RPM_SD, 2.5 * VE_PEAK_RPM_SD),
            resonance_rpm_scale=1.0 + _clipped_normal(rng, RESONANCE_RPM_SCALE_SD,
                                                      2 * RESONANCE_RPM_SCALE_SD),
            resonance_gain=float(rng.uniform(g_lo, g_hi)),
            imbalance_scale=float(rng.uniform(lo, hi)),
            imbalance_shift_rpm=_clipped_normal(rng, IMBALANCE_SHIFT_RPM_SD,
                                                2 * IMBALANCE_SHIFT_RPM_SD),
            knock_offset_deg=(_clipped_normal(rng, KNOCK_OFFSET_SD_DEG, KNOCK_OFFSET_MAX_DEG),
                              _clipped_normal(rng, KNOCK_OFFSET_SD_DEG, KNOCK_OFFSET_MAX_DEG)),
            idle_map_offset_kpa=_clipped_normal(rng, IDLE_MAP_SD_KPA, 2 * IDLE_MAP_SD_KPA),
            friction_scale=1.0 + _clipped_normal(rng, FRICTION_SCALE_SD, 2 * FRICTION_SCALE_SD),
            wideband_delay_scale=(float(rng.uniform(d_lo, d_hi)), float(rng.uniform(d_lo, d_hi))),
            wideband_lambda_offset=(
                _clipped_normal(rng, WIDEBAND_LAMBDA_SD, WIDEBAND_LAMBDA_MAX),
                _clipped_normal(rng, WIDEBAND_LAMBDA_SD, WIDEBAND_LAMBDA_MAX)),
            map_sensor_offset_kpa=_clipped_normal(rng, MAP_SENSOR_SD_KPA, MAP_SENSOR_MAX_KPA),
            ve_bump_common_pct=VE_BUMP_COMMON_PCT,
            ve_bump_rear_pct=VE_BUMP_REAR_PCT,
            ve_wave_common_pct=VE_WAVE_COMMON_PCT,
            ve_wave_rear_pct=VE_WAVE_REAR_PCT,
            bumps_common=_bump_knots(rng),
            bumps_rear=_bump_knots(rng),
            waves_common=_wave_knots(rng),
            waves_rear=_wave_knots(rng),
        )

    def ve_bumps(self, rpm: np.ndarray, map_kpa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fractional VE bumps (common, rear's own) at the points (broadcast arrays).

        Each is this bike's rpm-wise wave plus its 2-D bumps, bilinear between the knots.
        """
        rpm, map_kpa = np.broadcast_arrays(np.asarray(rpm, float), np.asarray(map_kpa, float))
        if (self.bumps_common is None or self.bumps_rear is None or self.waves_common is None
                or self.waves_rear is None):
            zero = np.zeros(rpm.shape)
            return zero, zero.copy()
        u = np.interp(rpm, BUMP_RPM_KNOTS, np.arange(len(BUMP_RPM_KNOTS), dtype=float))
        v = np.interp(map_kpa, BUMP_MAP_KNOTS_KPA, np.arange(len(BUMP_MAP_KNOTS_KPA), dtype=float))
        i = np.minimum(u.astype(int), len(BUMP_RPM_KNOTS) - 2)
        j = np.minimum(v.astype(int), len(BUMP_MAP_KNOTS_KPA) - 2)
        tu, tv = u - i, v - j

        def bilinear(k: np.ndarray) -> np.ndarray:
            return ((k[i, j] * (1 - tv) + k[i, j + 1] * tv) * (1 - tu)
                    + (k[i + 1, j] * (1 - tv) + k[i + 1, j + 1] * tv) * tu)

        def linear(k: np.ndarray) -> np.ndarray:
            return k[i] * (1 - tu) + k[i + 1] * tu

        (m0, g0), (m1, g1) = BUMP_GAIN_BY_MAP
        gain = np.interp(map_kpa, (m0, m1), (g0, g1)) / 100.0
        common = gain * (self.ve_bump_common_pct * bilinear(self.bumps_common)
                         + self.ve_wave_common_pct * linear(self.waves_common))
        rear = gain * (self.ve_bump_rear_pct * bilinear(self.bumps_rear)
                       + self.ve_wave_rear_pct * linear(self.waves_rear))
        return common, rear

    def truth_dict(self) -> dict[str, object]:
        """This bike's numbers for ``--truth`` (the bump knots too, so the truth is complete)."""

        def knots(k: np.ndarray | None) -> list[float] | list[list[float]] | None:
            return None if k is None else np.round(k, 6).tolist()

        return {
            "bike_seed": self.bike_seed,
            "ve_peak_scale": round(self.ve_peak_scale, 6),
            "ve_peak_rpm_shift": round(self.ve_peak_rpm_shift, 3),
            "resonance_rpm_scale": round(self.resonance_rpm_scale, 6),
            "resonance_gain": round(self.resonance_gain, 6),
            "imbalance_scale": round(self.imbalance_scale, 6),
            "imbalance_shift_rpm": round(self.imbalance_shift_rpm, 3),
            "knock_offset_deg": {"front": round(self.knock_offset_deg[0], 4),
                                 "rear": round(self.knock_offset_deg[1], 4)},
            "idle_map_offset_kpa": round(self.idle_map_offset_kpa, 4),
            "friction_scale": round(self.friction_scale, 6),
            "wideband_delay_scale": {"front": round(self.wideband_delay_scale[0], 6),
                                     "rear": round(self.wideband_delay_scale[1], 6)},
            "wideband_lambda_offset": {"front": round(self.wideband_lambda_offset[0], 6),
                                       "rear": round(self.wideband_lambda_offset[1], 6)},
            "map_sensor_offset_kpa": round(self.map_sensor_offset_kpa, 4),
            "ve_bumps": {"common_pct": self.ve_bump_common_pct,
                         "rear_pct": self.ve_bump_rear_pct,
                         "wave_common_pct": self.ve_wave_common_pct,
                         "wave_rear_pct": self.ve_wave_rear_pct,
                         "rpm_knots": list(BUMP_RPM_KNOTS),
                         "map_knots_kpa": list(BUMP_MAP_KNOTS_KPA),
                         "common": knots(self.bumps_common), "rear": knots(self.bumps_rear),
                         "wave_common": knots(self.waves_common),
                         "wave_rear": knots(self.waves_rear)},
        }
