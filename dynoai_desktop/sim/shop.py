"""A shop's customers, drawn: which bikes come in, how they are built, and the day's weather.

``draw_shop(seed, count)`` gives the bikes a Harley shop tunes, one per session, as a typical
shop sees them (issue 18): Twin Cam about 60 %, Milwaukee-Eight about 30 %, Evolution and
Sportster about 10 % (every family ``core.build_spec`` knows); stock 10 %, Stage 1 30 %, Stage 2
35 %, Stage 3 20 %, Stage 4 5 %; the cams, pipes, air cleaners, big-bore kits, compression and
injectors that go with each stage; each bike its own ``bike_seed`` (sim/scatter.py) and noise
seed; the cell's air of the day (10-38 °C, 95-102 kPa, 20-80 %); the date and time of its
session. Bike ``i`` depends only on ``(seed, i)``: the same seed gives the same shop, and a
longer history begins with the shorter one.

``median_build(family, stage)`` is the middle of what the mix draws for a family and stage (the
class-median cam, pipe, bore and compression): the bike a generic base map is made for.
``generic_base_map(family, stage)`` makes that map from the build mapping's nominal engine;
``scripts/make_base_maps.py`` writes them once to ``resources/base_maps`` and the shop generator
reads the shipped files. Pure: no files, no clocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.build_spec import (
    STAGE_MAX,
    AirCleaner,
    BuildSpec,
    CamSpec,
    EngineFamily,
    Exhaust,
)
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.sim.ecm_tables import base_calibration_error, true_ve_table
from dynoai_desktop.sim.engine import FRONT, REAR, EngineModel
from dynoai_desktop.sim.presets import preset_for_build
from dynoai_desktop.sim.scatter import BIKE_SEED_MAX
from dynoai_desktop.sim.thermal import ThermalParams

# ------------------------------------------------------------------ the mix
FAMILY_GROUPS: tuple[tuple[str, float, tuple[tuple[EngineFamily, float], ...]], ...] = (
    ("Twin Cam", 0.60, ((EngineFamily.TC88, 0.10), (EngineFamily.TC96, 0.30),
                        (EngineFamily.TC103, 0.40), (EngineFamily.TC110, 0.20))),
    ("Milwaukee-Eight", 0.30, ((EngineFamily.M8_107, 0.45), (EngineFamily.M8_114, 0.40),
                               (EngineFamily.M8_117, 0.12), (EngineFamily.M8_131, 0.03))),
    ("Evolution/Sportster", 0.10, ((EngineFamily.EVO_1340, 0.30),
                                   (EngineFamily.SPORTSTER_883, 0.25),
                                   (EngineFamily.SPORTSTER_1200, 0.45))),
)
"""Family groups with their share of the shop's bikes, and the families within each group."""
STAGE_SHARES = (0.10, 0.30, 0.35, 0.20, 0.05)
"""Stock, Stage 1 ... Stage 4."""


def family_group(family: EngineFamily) -> str:
    """The group a family belongs to ("Twin Cam", "Milwaukee-Eight", "Evolution/Sportster")."""
    return next(name for name, _, members in FAMILY_GROUPS
                if any(f is family for f, _ in members))


@dataclass(frozen=True)
class CamClass:
    """A class of cam a shop fits, as a card centre and the spread bikes show around it."""

    label: str
    duration_deg: float  # mean of intake and exhaust at .053 in
    overlap_deg: float
    lift_in: float
    duration_spread_deg: float = 5.0
    overlap_spread_deg: float = 4.0
    lift_spread_in: float = 0.015


CAMS = {
    "bolt_in": CamClass("bolt-in", 222.0, 22.0, 0.490),
    "hot_street": CamClass("hot street", 240.0, 40.0, 0.585),
    "big_hot_street": CamClass("big hot street", 250.0, 50.0, 0.620, 5.0, 4.0, 0.015),
}
# The common cam classes per stage (stock and Stage 1 keep the stock cam).
STAGE_CAMS: dict[int, tuple[tuple[str, float], ...]] = {
    2: (("bolt_in", 0.85), ("hot_street", 0.15)),
    3: (("bolt_in", 0.25), ("hot_street", 0.75)),
    4: (("hot_street", 0.60), ("big_hot_street", 0.40)),
}
MEDIAN_CAM = {2: "bolt_in", 3: "hot_street", 4: "big_hot_street"}

# Exhausts and air cleaners per stage (stock: all stock).
STAGE1_EXHAUSTS = ((Exhaust.SLIP_ON, 0.35), (Exhaust.TWO_INTO_ONE, 0.40),
                   (Exhaust.TWO_INTO_TWO, 0.10), (Exhaust.TWO_ONE_TWO, 0.15))
STAGE2_EXHAUSTS = ((Exhaust.TWO_INTO_ONE, 0.55), (Exhaust.TWO_INTO_TWO, 0.15),
                   (Exhaust.TWO_ONE_TWO, 0.20), (Exhaust.SLIP_ON, 0.05),
                   (Exhaust.DRAG_PIPES, 0.05))
VELOCITY_STACK_SHARE = {1: 0.05, 2: 0.10, 3: 0.20, 4: 0.30}  # the rest: high-flow

# Big-bore kits (Stage 3) and strokers (Stage 4): the displacement they bring, in ci.
BIG_BORE_CI = {
    EngineFamily.TC88: (95.0, 103.0), EngineFamily.TC96: (103.0, 110.0),
    EngineFamily.TC103: (110.0, 117.0), EngineFamily.TC110: (117.0, 124.0),
    EngineFamily.M8_107: (114.0, 124.0), EngineFamily.M8_114: (124.0, 131.0),
    EngineFamily.M8_117: (128.0, 135.0), EngineFamily.M8_131: (131.0, 139.0),
    EngineFamily.EVO_1340: (89.0, 96.0),
    EngineFamily.SPORTSTER_883: (1200.0 / 16.387064, 1250.0 / 16.387064),
    EngineFamily.SPORTSTER_1200: (1250.0 / 16.387064, 1275.0 / 16.387064),
}
CR_RISE = {3: (0.4, 1.0), 4: (0.9, 1.6)}  # added to the stock compression, uniform
CR_MAX = 12.0
INJECTOR_SCALE = {3: (1.10, 1.30), 4: (1.30, 1.60)}  # × the stock injectors, uniform
OCTANE_93_SHARE = 0.30  # the rest run 91 AKI

# The cell's air of the day (issue 18), uniform.
AMBIENT_C = (10.0, 38.0)
BARO_KPA = (95.0, 102.0)
HUMIDITY_PCT = (20.0, 80.0)

# The shop's calendar: sessions on weekdays from this Monday, three a day.
HISTORY_STARTS = datetime(2025, 3, 3, tzinfo=UTC)
SESSION_SLOTS_H = (8.5, 11.0, 14.0)

MODELS = {
    "Twin Cam": ("Road King", "Street Glide", "Fat Boy", "Dyna Wide Glide", "Softail Deluxe",
                 "Electra Glide", "Road Glide", "Dyna Street Bob"),
    "Milwaukee-Eight": ("Road Glide", "Street Glide", "Fat Bob", "Low Rider S",
                        "Heritage Classic", "Breakout", "Road King", "Street Bob"),
    "Evolution": ("Fat Boy", "Heritage Softail", "Dyna Low Rider", "Electra Glide"),
    "Sportster": ("Iron 883", "Forty-Eight", "Sportster 1200 Custom", "Nightster",
                  "SuperLow"),
}
MODEL_YEARS = {
    EngineFamily.TC88: (1999, 2006), EngineFamily.TC96: (2007, 2011),
    EngineFamily.TC103: (2012, 2016), EngineFamily.TC110: (2016, 2017),
    EngineFamily.M8_107: (2017, 2023), EngineFamily.M8_114: (2017, 2024),
    EngineFamily.M8_117: (2019, 2024), EngineFamily.M8_131: (2021, 2024),
    EngineFamily.EVO_1340: (1986, 1999), EngineFamily.SPORTSTER_883: (1996, 2021),
    EngineFamily.SPORTSTER_1200: (1996, 2021),
}


@dataclass(frozen=True)
class ShopBike:
    """One bike of the shop's history and the session it comes in for."""

    index: int  # 0-based, the order of the sessions
    build: BuildSpec
    bike_seed: int  # which bike of its build (sim/scatter.py)
    noise_seed: int  # the cell's noise (sensors, knock, pops)
    weather: Weather
    started_at: datetime  # the session's start (UTC)
    vehicle: str  # "2014 Street Glide"
    customer: str
    thermal: ThermalParams = ThermalParams()  # its TMAP's heat soak (``draw_tmap_soak``)


def _pick(rng: np.random.Generator, choices: Sequence[tuple[object, float]]) -> object:
    weights = np.array([w for _, w in choices], dtype=np.float64)
    return choices[int(rng.choice(len(choices), p=weights / weights.sum()))][0]


def _cam(rng: np.random.Generator, kind: str) -> CamSpec:
    cls = CAMS[kind]
    duration = cls.duration_deg + rng.uniform(-1.0, 1.0) * cls.duration_spread_deg
    overlap = (cls.overlap_deg + (duration - cls.duration_deg)
               + rng.uniform(-1.0, 1.0) * cls.overlap_spread_deg)
    lift = cls.lift_in + rng.uniform(-1.0, 1.0) * cls.lift_spread_in
    split = rng.uniform(0.0, 6.0)  # exhaust a few degrees longer than intake, as most grinds
    return CamSpec(
        name=f"{cls.label} cam ({lift:.3f} in class)",
        intake_duration_deg=round(duration - split / 2.0, 1),
        exhaust_duration_deg=round(duration + split / 2.0, 1),
        intake_lift_in=round(lift, 3),
        exhaust_lift_in=round(lift, 3),
        overlap_deg=round(overlap, 1),
    )


def _median_cam(kind: str) -> CamSpec:
    cls = CAMS[kind]
    return CamSpec(
        name=f"{cls.label} cam (class median)",
        intake_duration_deg=cls.duration_deg, exhaust_duration_deg=cls.duration_deg,
        intake_lift_in=cls.lift_in, exhaust_lift_in=cls.lift_in, overlap_deg=cls.overlap_deg,
    )


def draw_family(rng: np.random.Generator) -> EngineFamily:
    """A family by the shop's mix (group first, then the family within it)."""
    members = _pick(rng, [(m, share) for _, share, m in FAMILY_GROUPS])
    return _pick(rng, members)  # type: ignore[arg-type, return-value]


def draw_build(rng: np.random.Generator) -> BuildSpec:
    """One build from the shop's mix."""
    family = draw_family(rng)
    stage = int(_pick(rng, list(enumerate(STAGE_SHARES))))  # type: ignore[call-overload]
    return _stage_build(family, stage, rng)


def _stage_build(family: EngineFamily, stage: int, rng: np.random.Generator | None
                 ) -> BuildSpec:
    """The build of ``family`` at ``stage``: drawn with ``rng``, or the median with None."""
    stock = BuildSpec.stock(family)
    octane = 93.0 if rng is not None and rng.random() < OCTANE_93_SHARE else 91.0
    if stage == 0:
        return replace(stock, fuel_octane_aki=octane)
    if rng is None:
        exhaust = Exhaust.TWO_INTO_ONE
        air = AirCleaner.HIGH_FLOW
    else:
        exhaust = _pick(rng, STAGE1_EXHAUSTS if stage == 1 else STAGE2_EXHAUSTS)
        air = (AirCleaner.VELOCITY_STACK if rng.random() < VELOCITY_STACK_SHARE[stage]
               else AirCleaner.HIGH_FLOW)
    changes: dict[str, object] = {"stage": stage, "exhaust": exhaust, "air_cleaner": air,
                                  "fuel_octane_aki": octane}
    if stage >= 2:
        changes["cam"] = (_median_cam(MEDIAN_CAM[stage]) if rng is None
                          else _cam(rng, str(_pick(rng, STAGE_CAMS[stage]))))
    if stage >= 3:
        changes["displacement_ci"] = round(BIG_BORE_CI[family][stage - 3], 1)
        lo, hi = CR_RISE[stage]
        rise = (lo + hi) / 2.0 if rng is None else rng.uniform(lo, hi)
        changes["compression_ratio"] = round(min(CR_MAX, stock.compression_ratio + rise), 1)
        lo, hi = INJECTOR_SCALE[stage]
        scale = (lo + hi) / 2.0 if rng is None else rng.uniform(lo, hi)
        changes["injector_flow_gs"] = round(stock.injector_flow_gs * scale, 2)
    return replace(stock, **changes)


def median_build(family: EngineFamily | str, stage: int) -> BuildSpec:
    """The middle of the mix's builds for ``family`` at ``stage`` (2-into-1, high-flow air
    cleaner, the stage's median cam class and kit, 91 AKI): what a generic base map is for."""
    fam = EngineFamily(family)
    if not 0 <= stage <= STAGE_MAX:
        raise ValueError(f"stage {stage}: give 0 (stock) to {STAGE_MAX}")
    return _stage_build(fam, stage, None)


def draw_weather(rng: np.random.Generator) -> Weather:
    """The cell's air of one day."""
    return Weather.of_air(round(rng.uniform(*BARO_KPA), 1), round(rng.uniform(*AMBIENT_C), 1),
                          round(rng.uniform(*HUMIDITY_PCT), 0))


def session_start(index: int) -> datetime:
    """When session ``index`` of the history starts: weekdays, three sessions a day."""
    day, slot = divmod(index, len(SESSION_SLOTS_H))
    week, weekday = divmod(day, 5)
    return HISTORY_STARTS + timedelta(days=7 * week + weekday, hours=SESSION_SLOTS_H[slot])


def _vehicle_name(rng: np.random.Generator, build: BuildSpec) -> str:
    family = build.engine_family
    group = ("Evolution" if family is EngineFamily.EVO_1340 else
             "Sportster" if family in (EngineFamily.SPORTSTER_883, EngineFamily.SPORTSTER_1200)
             else family_group(family))
    first, last = MODEL_YEARS[family]
    year = int(rng.integers(first, last + 1))
    model = MODELS[group][int(rng.integers(len(MODELS[group])))]
    return f"{year} {model}"


def _rng(seed: int, index: int, part: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(index), part])


TMAP_SOAK_IDLE = (0.6, 1.0)
"""Uniform: the share of the hot intake's excess heat the IAT reading picks up at idle."""
TMAP_SOAK_AIRFLOW = (350.0, 1200.0)
"""Log-uniform, rpm × MAP / 100: the airflow that washes the sensor's soak out. 350 is the
thermal model's default (the soak gone off idle); 1200 a TMAP that still reads half soaked at
2000 rpm × 50 kPa and is washed out by a cruise at 3000 rpm × 60 kPa [INF]. A TMAP soaked up to
WOT (tests/ml/test_extract.py's "soaking sensor") would bias every tune of the bike, not only
the rows after a soak, and its tuned maps would not be its true VE."""


def draw_tmap_soak(seed: int, index: int) -> ThermalParams:
    """Bike ``index``'s TMAP heat soak: how and where the sensor sits on the induction module
    differs from bike to bike (heat shields, the module's own heat; vtwin.md §6). Drawn from its
    own stream, so the rest of the bike is what it was before this draw existed."""
    rng = _rng(seed, index, 2)
    idle = float(rng.uniform(*TMAP_SOAK_IDLE))
    lo, hi = np.log(TMAP_SOAK_AIRFLOW)
    airflow = float(np.exp(rng.uniform(lo, hi)))
    return ThermalParams(sensor_soak_idle=round(idle, 3), sensor_soak_airflow=round(airflow, 0))


def draw_bike(seed: int, index: int, build: BuildSpec | None = None) -> ShopBike:
    """Bike ``index`` of the shop with ``seed`` (its own build from the mix, or ``build``)."""
    rng = _rng(seed, index, 0)
    drawn = draw_build(rng)
    build = drawn if build is None else build
    day = _rng(seed, index // len(SESSION_SLOTS_H), 1)  # the sessions of a day share its air
    return ShopBike(
        index=index,
        build=build,
        bike_seed=int(rng.integers(1, BIKE_SEED_MAX + 1)),
        noise_seed=int(rng.integers(1, 2**31)),
        weather=draw_weather(day),
        started_at=session_start(index),
        vehicle=_vehicle_name(rng, build),
        customer=f"Customer {index + 1:04d} (simulated)",
        thermal=draw_tmap_soak(seed, index),
    )


def draw_shop(seed: int, count: int, builds: Sequence[BuildSpec] | None = None
              ) -> list[ShopBike]:
    """The first ``count`` bikes of the shop with ``seed``; with ``builds``, those builds in turn
    (repeating when fewer than ``count``) instead of the mix."""
    if builds is not None and not builds:
        raise ValueError("no builds given")
    return [draw_bike(seed, i, None if builds is None else builds[i % len(builds)])
            for i in range(count)]


# ------------------------------------------------------------------ generic base maps
def generic_base_map(family: EngineFamily | str, stage: int) -> tuple[Table, Table]:
    """The generic base VE maps (front, rear) for ``family`` at ``stage``: the median build's
    nominal engine (no bike scatter, sea level), with the base calibration's own wobble but
    none of its stage error (the map is made for that stage), in 0.5 % steps."""
    engine = EngineModel(preset_for_build(median_build(family, stage), "median"), None,
                         bike_seed=None)
    out = []
    for cylinder in (FRONT, REAR):
        truth = true_ve_table(engine, cylinder)
        loads = truth.col_breakpoints / 100.0
        wobble = np.array([[base_calibration_error(cylinder, 0, float(r), float(load))
                            for load in loads] for r in truth.row_breakpoints])
        out.append(truth.with_values(np.round(truth.values * (1.0 + wobble) * 2.0) / 2.0))
    return out[0], out[1]


def bike_true_ve(bike: ShopBike) -> tuple[Table, Table]:
    """The true VE (front, rear) of the shop's ``bike`` on the ECM grid, at the day's air: what
    a perfect tune of it holds (for scoring the shop's tuned maps and the models that learn
    from them)."""
    engine = EngineModel(preset_for_build(bike.build, name=f"shop bike {bike.index + 1}"),
                         bike.weather.baro_kpa, bike.bike_seed)
    return true_ve_table(engine, FRONT), true_ve_table(engine, REAR)


TUNED_ZONE = ((2000.0, 5000.0), (50.0, 100.0))
"""rpm and MAP (kPa) a shop session sweeps, holds and pulls in every round: where its tuned
maps are scored against the truth."""


def ve_error_pct(table: Table, truth: Table,
                 zone: tuple[tuple[float, float], tuple[float, float]] = TUNED_ZONE
                 ) -> npt.NDArray[np.float64]:
    """|``table`` / ``truth`` - 1| in % at the truth's breakpoints inside ``zone`` (rpm, kPa)."""
    rpm, kpa = np.meshgrid(truth.row_breakpoints, truth.col_breakpoints, indexing="ij")
    (r0, r1), (k0, k1) = zone
    inside = (rpm >= r0) & (rpm <= r1) & (kpa >= k0) & (kpa <= k1)
    ratio = np.asarray(table.lookup(rpm, kpa), dtype=np.float64) / truth.values
    return np.abs(ratio - 1.0)[inside] * 100.0


def base_map_names(family: EngineFamily | str, stage: int) -> tuple[str, str]:
    """The shipped files' names: ``<family>_stage<k>_front.csv`` and ``..._rear.csv``."""
    fam = EngineFamily(family).value
    return f"{fam}_stage{stage}_front.csv", f"{fam}_stage{stage}_rear.csv"


def shares(values: Sequence[object]) -> dict[object, float]:
    """Each value's share of ``values`` (for checking a mix)."""
    out: dict[object, float] = {}
    for v in values:
        out[v] = out.get(v, 0.0) + 1.0
    return {k: n / max(1, len(values)) for k, n in out.items()}

