"""From a BuildSpec to the simulated engine: the rules of docs/simulator.md §3.1.

``engine_shape(build)`` turns any valid build into the numbers the physics uses: bore and
stroke, the cam card (gaps filled from its class), where VE peaks and how it falls away, the
low-rpm overlap dip, part-load loss, the exhaust's wave tuning, the rear/front imbalance, idle, the
reversion and decel-pop tendencies, and the knock margin. Each rule names its source in
docs/simulator.md (vtwin.md section) or is marked **[INF]** there. Pure and cheap; EngineModel
(sim/engine.py) turns the shape and a bike's scatter (sim/scatter.py) into precomputed grids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, EngineFamily, Exhaust
from dynoai_desktop.core.units import Fuel


@dataclass(frozen=True)
class CamCard:
    """The cam as the physics reads it (H-D convention, events at .053 in tappet lift)."""

    duration_deg: float  # mean of intake and exhaust duration
    overlap_deg: float
    lsa_deg: float  # lobe separation: overlap = duration - 2 * LSA
    lift_in: float  # mean of intake and exhaust lift
    cam_class: str  # the class whose card filled the missing fields


# vtwin.md §2, "Parametric envelope": the middle of each class's duration, overlap and lift.
CAM_CLASSES = {
    "oem": CamCard(208.0, 5.0, 101.5, 0.48, "oem"),
    "bolt_in": CamCard(222.0, 22.0, 100.0, 0.49, "bolt_in"),
    "hot_street": CamCard(240.0, 40.0, 100.0, 0.585, "hot_street"),
}


@dataclass(frozen=True)
class _Family:
    bore_in: float
    stroke_in: float
    valves: int  # per cylinder
    plugs: int  # per cylinder
    idle_rpm: float


# vtwin.md §1 (TC110 bore back-calculated, M8 117 from 103.5 mm: [INF]; Sportster and the
# Evolution idle: [INF]).
FAMILIES = {
    EngineFamily.TC88: _Family(3.75, 4.00, 2, 1, 1000.0),
    EngineFamily.TC96: _Family(3.75, 4.375, 2, 1, 1000.0),
    EngineFamily.TC103: _Family(3.875, 4.375, 2, 1, 1000.0),
    EngineFamily.TC110: _Family(4.00, 4.375, 2, 1, 1000.0),
    EngineFamily.M8_107: _Family(3.937, 4.375, 4, 2, 850.0),
    EngineFamily.M8_114: _Family(4.0, 4.5, 4, 2, 850.0),
    EngineFamily.M8_117: _Family(4.075, 4.5, 4, 2, 850.0),
    EngineFamily.M8_131: _Family(4.311, 4.5, 4, 2, 850.0),
    EngineFamily.EVO_1340: _Family(3.498, 4.25, 2, 1, 1000.0),
    EngineFamily.SPORTSTER_883: _Family(3.0, 3.812, 2, 1, 1000.0),
    EngineFamily.SPORTSTER_1200: _Family(3.5, 3.812, 2, 1, 1000.0),
}


@dataclass(frozen=True)
class _ExhaustEffect:
    ve_gain: float  # × peak VE against the stock system
    choke: float  # VE lost per (krpm)² above CHOKE_RPM: the stock system runs out of breath
    tuned_rpm: float  # the pipe's wave tuning peaks here and at 1/2, 1/3 of it
    wave_depth: float  # ± fraction of VE the tuning swings (dips at 2/3, 2/5 of tuned_rpm)
    imbalance_scale: float  # × the 2-into-1 rear/front shape
    imbalance_shift_rpm: float
    reversion: float  # × the overlap's reversion
    openness: float  # how readily unburnt mixture lights in the pipe


# docs/simulator.md §3.1. The 2-into-1's tuning is read off the real tune's row means (peaks at
# 1750 and 3500 rpm, a dip at 2250-2500, vtwin.md §4); the other systems' are [INF].
EXHAUSTS = {
    Exhaust.STOCK: _ExhaustEffect(1.00, 0.04, 3000.0, 0.05, 0.7, 0.0, 0.9, 0.15),
    Exhaust.SLIP_ON: _ExhaustEffect(1.03, 0.02, 3000.0, 0.07, 0.7, 0.0, 0.95, 0.6),
    Exhaust.TWO_INTO_ONE: _ExhaustEffect(1.07, 0.0, 3500.0, 0.125, 1.0, 0.0, 0.85, 0.75),
    Exhaust.TWO_INTO_TWO: _ExhaustEffect(1.05, 0.0, 4000.0, 0.13, 1.3, -250.0, 1.0, 0.8),
    Exhaust.TWO_ONE_TWO: _ExhaustEffect(1.06, 0.0, 3700.0, 0.09, 0.8, 0.0, 0.9, 0.7),
    Exhaust.DRAG_PIPES: _ExhaustEffect(1.04, 0.0, 4500.0, 0.15, 1.4, -250.0, 1.2, 1.0),
}
WAVE_FADE_RPM = (1000.0, 1600.0)  # the tuning fades out towards idle (too little flow)
WAVE_FADE_ABOVE_TUNED = 1.6  # ... and is gone at 1.6 × the tuned rpm
# Air cleaner: wide-open intake flow (arbitrary units against pumping of 1/rpm), VE gain, choke.
AIR_CLEANERS = {
    AirCleaner.STOCK: (120_000.0, 1.00, 0.03),
    AirCleaner.HIGH_FLOW: (220_000.0, 1.04, 0.0),
    AirCleaner.VELOCITY_STACK: (300_000.0, 1.06, 0.0),
}
CHOKE_RPM = 4500.0
# Rear minus front VE at WOT, fraction of front, vs rpm: the shape of the real TC110 2-into-1
# tune (vtwin.md §4: +13 % at 1500, -9 % at 3000, +4..9 % at 5000-6000), softened.
REAR_FRONT_POINTS = (
    (750.0, 0.05), (1500.0, 0.11), (2250.0, 0.01), (3000.0, -0.08), (3750.0, -0.03),
    (4500.0, 0.03), (5250.0, 0.06), (6000.0, 0.07), (7000.0, 0.05),
)

VE_PEAK_BY_VALVES = {2: 90.0, 4: 100.0}  # stock cam, exhaust and air cleaner, WOT [INF, §3.2]
VE_FLOOR = 0.45  # VE never falls below this share of the peak
VE_FALLOFF_LOW = 0.035  # share of peak VE lost per (krpm)² below the peak, before overlap
VE_FALLOFF_HIGH = 0.025  # ... above it, for a 207.5° two-valve stock cam on a 4.375 in stroke
# Peak VE saturates: above VE_SOFT_START_PCT it approaches VE_SOFT_START_PCT + VE_SOFT_RANGE_PCT
# (a naturally aspirated two-valve twin seldom traps more than ~125 % of its displacement [INF]).
VE_SOFT_START_PCT, VE_SOFT_RANGE_PCT = 110.0, 15.0
FRICTION_NM = (8.0, 2.0, 0.4)  # a + b·krpm + c·krpm², N·m at the roller [INF, §10]
KNOCK_CR_REF, KNOCK_BORE_REF_IN = 9.6, 3.875
KNOCK_DEG_PER_CHARGE = 8.0  # ° of margin lost per unit of trapped charge over stock [INF]
IDLE_MAP_MAX_KPA = 75.0  # a radical cam idles on little vacuum, but it idles [INF]


@dataclass(frozen=True)
class EngineShape:
    """Everything a build decides about the simulated engine (docs/simulator.md §3.1)."""

    bore_in: float
    stroke_in: float
    displacement_l: float
    cam: CamCard
    ve_peak_pct: float  # front, WOT, the envelope's top (before resonance and bumps)
    ve_peak_rpm: float
    ve_falloff_low: float  # fraction of peak VE lost per (1000 rpm)² below the peak
    ve_falloff_high: float  # ... and above it
    choke: float  # more lost per (krpm)² above CHOKE_RPM (stock intake and exhaust)
    overlap_dip: float  # fraction of WOT VE lost at 1000 rpm and below to overlap
    overlap_dip_end_rpm: float  # where the dip has gone
    part_load_loss: float  # fraction of VE lost at 0 kPa against 100 kPa (linear in MAP)
    exhaust_tuned_rpm: float  # the pipe's wave tuning (peaks at it, 1/2 and 1/3 of it)
    exhaust_wave_depth: float  # ± fraction of VE
    rear_front_points: tuple[tuple[float, float], ...]  # WOT rear - front, fraction of front
    throttle_area_wot: float
    idle_rpm: float
    idle_map_kpa: float
    reversion_strength: float  # 0..1: exhaust pulled back into the intake during overlap
    decel_pop_tendency: float  # 0..1: how readily a lean decel pops in the pipe
    knock_margin_deg: float  # the build's own knock margin (+ = safer)
    twin_plug: bool
    friction_nm: tuple[float, float, float]


def cam_card(build: BuildSpec) -> CamCard:
    """The cam's card, gaps filled from its class (stock: OEM; else by stage)."""
    cam = build.cam
    if cam.name.strip().lower() == "stock" or build.stage <= 1:
        cls = CAM_CLASSES["oem"]
    else:
        cls = CAM_CLASSES["bolt_in" if build.stage == 2 else "hot_street"]
    durations = [d for d in (cam.intake_duration_deg, cam.exhaust_duration_deg) if d is not None]
    duration = sum(durations) / len(durations) if durations else cls.duration_deg
    lifts = [x for x in (cam.intake_lift_in, cam.exhaust_lift_in) if x is not None]
    lift = sum(lifts) / len(lifts) if lifts else cls.lift_in
    if cam.overlap_deg is not None:
        overlap = cam.overlap_deg
    elif cam.lsa_deg is not None:
        overlap = duration - 2.0 * cam.lsa_deg
    else:
        overlap = cls.overlap_deg + (duration - cls.duration_deg)  # same LSA as the class
    lsa = cam.lsa_deg if cam.lsa_deg is not None else (duration - overlap) / 2.0
    return CamCard(duration, overlap, lsa, lift, cls.cam_class)


def bore_stroke_in(build: BuildSpec) -> tuple[float, float]:
    """Bore and stroke: the family's stroke, the bore that gives the build's displacement."""
    stroke = FAMILIES[build.engine_family].stroke_in
    per_cylinder_ci = build.displacement_ci / 2.0
    return math.sqrt(per_cylinder_ci / (math.pi / 4.0 * stroke)), stroke


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _saturate(ve_pct: float) -> float:
    """Peak VE with the soft ceiling (unchanged up to VE_SOFT_START_PCT)."""
    if ve_pct <= VE_SOFT_START_PCT:
        return ve_pct
    excess = (ve_pct - VE_SOFT_START_PCT) / VE_SOFT_RANGE_PCT
    return VE_SOFT_START_PCT + VE_SOFT_RANGE_PCT * (1.0 - math.exp(-excess))


def _stock_ve_gain(build: BuildSpec) -> float:
    exhaust, (_, intake, _) = EXHAUSTS[build.exhaust], AIR_CLEANERS[build.air_cleaner]
    return exhaust.ve_gain * intake


def engine_shape(build: BuildSpec) -> EngineShape:
    """The simulated engine of ``build`` (every rule: docs/simulator.md §3.1)."""
    family = FAMILIES[build.engine_family]
    cam = cam_card(build)
    bore, stroke = bore_stroke_in(build)
    exhaust = EXHAUSTS[build.exhaust]
    throttle_area, _, intake_choke = AIR_CLEANERS[build.air_cleaner]
    # More displacement on the family's heads: each head feeds more, so it peaks lower.
    head_load = build.displacement_cc / build.engine_family.stock_displacement_cc
    heads = 1.10 if build.stage >= 4 else 1.0  # stage 4: ported heads
    breathing = (_stock_ve_gain(build) * (1.0 + 0.5 * (cam.lift_in - 0.48))
                 * (1.0 + 0.002 * (cam.duration_deg - 207.5)) * heads ** 0.5)
    ve_peak = _saturate(VE_PEAK_BY_VALVES[family.valves] * breathing)
    peak_rpm = ((3000.0 + 35.0 * (cam.duration_deg - 207.5)) * (heads / head_load) ** 0.5
                * (1.08 if family.valves >= 4 else 1.0))
    falloff_high = ((VE_FALLOFF_HIGH - 0.0004 * (cam.duration_deg - 207.5))
                    * (2.0 / family.valves) ** 0.5 * (1.0 - 1.5 * (cam.lift_in - 0.48)) / heads
                    * (stroke / 4.375) ** 2)
    overlap = max(cam.overlap_deg, 0.0)
    stock_breathing = VE_PEAK_BY_VALVES[family.valves]
    return EngineShape(
        bore_in=bore,
        stroke_in=stroke,
        displacement_l=build.displacement_cc / 1000.0,
        cam=cam,
        ve_peak_pct=ve_peak,
        ve_peak_rpm=peak_rpm,
        ve_falloff_low=VE_FALLOFF_LOW + 0.0003 * overlap,
        ve_falloff_high=max(0.006, falloff_high),
        choke=exhaust.choke + intake_choke,
        overlap_dip=0.0025 * overlap,
        overlap_dip_end_rpm=max(1500.0, 0.6 * peak_rpm),
        part_load_loss=_clamp(0.38 + 0.004 * overlap, 0.3, 0.7),
        exhaust_tuned_rpm=exhaust.tuned_rpm,
        exhaust_wave_depth=exhaust.wave_depth,
        rear_front_points=tuple((r + exhaust.imbalance_shift_rpm, d * exhaust.imbalance_scale)
                                for r, d in REAR_FRONT_POINTS),
        throttle_area_wot=throttle_area,
        idle_rpm=family.idle_rpm + 2.5 * max(0.0, overlap - 22.0),
        idle_map_kpa=min(34.0 + 0.42 * overlap, IDLE_MAP_MAX_KPA),
        reversion_strength=_clamp(overlap / 50.0 * exhaust.reversion, 0.0, 1.0),
        decel_pop_tendency=_clamp(exhaust.openness * (0.35 + 0.65 * min(overlap / 45.0, 1.0)),
                                  0.0, 1.0),
        knock_margin_deg=knock_margin_deg(build, ve_peak / stock_breathing),
        twin_plug=family.plugs >= 2,
        friction_nm=FRICTION_NM,
    )


def knock_margin_deg(build: BuildSpec, trapped_charge_ratio: float) -> float:
    """The build's knock margin against a 9.6:1, 3.875 in bore, single-plug engine on 91 AKI.

    ``trapped_charge_ratio`` is the build's peak VE over its family's stock VE: more charge in
    the cylinder means more pressure at the same spark.
    """
    family = FAMILIES[build.engine_family]
    margin = (1.5 * (build.fuel_octane_aki - 91.0)
              - 2.5 * (build.compression_ratio - KNOCK_CR_REF)
              - 4.0 * (bore_stroke_in(build)[0] - KNOCK_BORE_REF_IN)
              - KNOCK_DEG_PER_CHARGE * (trapped_charge_ratio - 1.0))
    if family.plugs >= 2:
        margin += 1.5
    if build.fuel in (Fuel.E85, Fuel.ETHANOL, Fuel.METHANOL, Fuel.RACE_GAS):
        margin += 4.0
    return margin


def exhaust_wave(rpm: np.ndarray, tuned_rpm: float, depth: float) -> np.ndarray:
    """Fractional VE from the pipe's wave tuning: depth · cos(2π · tuned_rpm / rpm).

    Peaks at tuned_rpm, 1/2 and 1/3 of it, dips at 2/3 and 2/5 of it; the n-th harmonic is
    weaker by rpm / tuned_rpm (the wave has travelled the pipe n times); faded out towards idle
    and above the tuned rpm (there the envelope's falloff already holds the late wave).
    """
    lo, hi = WAVE_FADE_RPM
    rpm = np.maximum(rpm, 100.0)
    fade = (np.clip((rpm - lo) / (hi - lo), 0.0, 1.0) * np.minimum(rpm / tuned_rpm, 1.0)
            * np.clip((WAVE_FADE_ABOVE_TUNED * tuned_rpm - rpm)
                      / ((WAVE_FADE_ABOVE_TUNED - 1.0) * tuned_rpm), 0.0, 1.0))
    return depth * fade * np.cos(2.0 * np.pi * tuned_rpm / rpm)


def isa_baro_kpa(altitude_m: float) -> float:
    """Standard-atmosphere pressure at ``altitude_m`` (101.325 kPa at sea level)."""
    return 101.325 * (1.0 - 2.25577e-5 * altitude_m) ** 5.25588
