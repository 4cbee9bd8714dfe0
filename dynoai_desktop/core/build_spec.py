"""A vehicle's build (engine, cam, exhaust, intake, injectors, fuel), with validation and JSON.

Stored in the catalog with each vehicle; the simulator and the ML models read it. Numbers for
the engine families come from shared/reference/vtwin.md §1 unless marked otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import Fuel

SCHEMA_VERSION = 1
CC_PER_CI = 16.387064  # 1 in³ = 2.54³ cm³ exactly


@dataclass(frozen=True)
class _Family:
    label: str
    displacement_ci: float
    displacement_cc: float
    compression_ratio: float  # stock
    injector_flow_gs: float  # stock, g/s at 43.5 psi [UNVERIFIED unless noted]


class EngineFamily(StrEnum):
    """Harley-Davidson big-twin and Sportster engine families, with stock figures."""

    TC88 = "twin_cam_88"
    TC96 = "twin_cam_96"
    TC103 = "twin_cam_103"
    TC110 = "twin_cam_110"
    M8_107 = "milwaukee_eight_107"
    M8_114 = "milwaukee_eight_114"
    M8_117 = "milwaukee_eight_117"
    M8_131 = "milwaukee_eight_131"
    EVO_1340 = "evolution_1340"
    SPORTSTER_883 = "sportster_883"
    SPORTSTER_1200 = "sportster_1200"

    @property
    def label(self) -> str:
        """Name as a tuner says it ("Milwaukee-Eight 114")."""
        return _FAMILIES[self].label

    @property
    def stock_displacement_ci(self) -> float:
        """Stock displacement in cubic inches."""
        return _FAMILIES[self].displacement_ci

    @property
    def stock_displacement_cc(self) -> float:
        """Stock displacement in cm³ as H-D quotes it."""
        return _FAMILIES[self].displacement_cc

    @property
    def stock_compression_ratio(self) -> float:
        """Stock static compression ratio (x:1)."""
        return _FAMILIES[self].compression_ratio

    @property
    def stock_injector_flow_gs(self) -> float:
        """Stock injector rating in g/s (H-D style, at 43.5 psi)."""
        return _FAMILIES[self].injector_flow_gs


# CR: vtwin.md §1 (TC103 [2nd]; TC110, M8 117, M8 131 [UNVERIFIED]); Sportster CRs are
# [UNVERIFIED]. Injectors: TC110 4.35 g/s is [INF] from the PVV's 34.52 lb/h; the others are
# commonly quoted H-D ratings (3.89 / 4.89 / 5.3 / 6.2 g/s) [UNVERIFIED].
_FAMILIES: dict[EngineFamily, _Family] = {
    EngineFamily.TC88: _Family("Twin Cam 88", 88.0, 1450.0, 9.0, 3.89),
    EngineFamily.TC96: _Family("Twin Cam 96", 96.0, 1584.0, 9.2, 3.89),
    EngineFamily.TC103: _Family("Twin Cam 103", 103.0, 1690.0, 9.6, 3.89),
    EngineFamily.TC110: _Family("Twin Cam 110", 110.0, 1801.0, 9.2, 4.35),
    EngineFamily.M8_107: _Family("Milwaukee-Eight 107", 107.0, 1746.0, 10.0, 4.89),
    EngineFamily.M8_114: _Family("Milwaukee-Eight 114", 114.0, 1868.0, 10.5, 4.89),
    EngineFamily.M8_117: _Family("Milwaukee-Eight 117", 117.0, 1920.0, 10.2, 5.3),
    EngineFamily.M8_131: _Family("Milwaukee-Eight 131", 131.0, 2147.0, 10.7, 6.2),
    EngineFamily.EVO_1340: _Family("Evolution 1340", 80.0, 1337.0, 8.5, 3.89),
    EngineFamily.SPORTSTER_883: _Family("Sportster 883", 883.0 / CC_PER_CI, 883.0, 8.9, 3.89),
    EngineFamily.SPORTSTER_1200: _Family("Sportster 1200", 1200.0 / CC_PER_CI, 1200.0, 9.7, 3.89),
}


class Exhaust(StrEnum):
    """Exhaust layout (vtwin.md §4)."""

    STOCK = "stock"
    SLIP_ON = "slip_on"  # stock head pipes, aftermarket mufflers
    TWO_INTO_ONE = "two_into_one"
    TWO_INTO_TWO = "two_into_two"  # true duals
    TWO_ONE_TWO = "two_one_two"  # crossover duals (e.g. Power Tune Duals)
    DRAG_PIPES = "drag_pipes"  # open straight pipes


class AirCleaner(StrEnum):
    """Intake / air cleaner."""

    STOCK = "stock"
    HIGH_FLOW = "high_flow"  # Stage 1 type (SE Stage I, big-sucker)
    VELOCITY_STACK = "velocity_stack"


# field -> (low, high, unit) for the ranges a real bike can have.
_CAM_RANGES: dict[str, tuple[float, float, str]] = {
    "intake_duration_deg": (150.0, 330.0, "deg"),
    "exhaust_duration_deg": (150.0, 330.0, "deg"),
    "intake_lift_in": (0.25, 0.80, "in"),
    "exhaust_lift_in": (0.25, 0.80, "in"),
    "overlap_deg": (-40.0, 120.0, "deg"),
    "lsa_deg": (90.0, 130.0, "deg"),
}
_BUILD_RANGES: dict[str, tuple[float, float, str]] = {
    "displacement_ci": (45.0, 160.0, "ci"),
    "injector_flow_gs": (2.0, 12.0, "g/s"),
    "compression_ratio": (7.5, 13.0, ":1"),
    "fuel_octane_aki": (80.0, 120.0, "AKI"),
    "altitude_m": (-500.0, 5000.0, "m"),
}
STAGE_MAX = 4  # stage 0 is stock


def _with_unit(value: object, unit: str) -> str:
    return f"{value:g}{unit}" if unit.startswith(":") else f"{value:g} {unit}"


def _number(field: str, value: object, lo: float, hi: float, unit: str) -> float:
    allowed = f"{_with_unit(lo, unit)} to {_with_unit(hi, unit)}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(
            f"build spec field {field!r} must be a number, got {value!r} "
            f"({type(value).__name__}); give a value from {allowed}"
        )
    if not (math.isfinite(value) and lo <= value <= hi):
        raise InputError(
            f"build spec field {field!r} = {value!r} is out of range: allowed {allowed}"
        )
    return float(value)


def _enum(field: str, enum_cls: type[StrEnum], value: object) -> Any:
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        for member in enum_cls:
            if value.lower() in (member.value, member.name.lower()):
                return member
    valid = ", ".join(m.value for m in enum_cls)
    raise InputError(f"build spec field {field!r} = {value!r} is not valid: use one of {valid}")


@dataclass(frozen=True)
class CamSpec:
    """Camshaft card, H-D convention (events at .053 in tappet lift). None = not known."""

    name: str
    intake_duration_deg: float | None = None
    exhaust_duration_deg: float | None = None
    intake_lift_in: float | None = None
    exhaust_lift_in: float | None = None
    overlap_deg: float | None = None
    lsa_deg: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(
                f"build spec field 'cam.name' = {self.name!r} is not valid: give the cam's name "
                "(e.g. 'stock' or 'S&S 585')"
            )
        for field, (lo, hi, unit) in _CAM_RANGES.items():
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, _number(f"cam.{field}", value, lo, hi, unit))

    @classmethod
    def from_dict(cls, data: object) -> CamSpec:
        """CamSpec from a JSON object; unknown or misspelt keys raise InputError."""
        if not isinstance(data, Mapping):
            raise InputError(
                f"build spec field 'cam' must be an object with a 'name', got {data!r}"
            )
        _reject_unknown(data, [f.name for f in fields(cls)], "cam.")
        if "name" not in data:
            raise InputError("build spec field 'cam.name' is missing: give the cam's name")
        return cls(**data)


@dataclass(frozen=True)
class BuildSpec:
    """What is on the bike. Build one with ``BuildSpec.stock(family)`` and dataclasses.replace."""

    engine_family: EngineFamily
    displacement_ci: float
    stage: int  # 0 stock; 1 air cleaner + exhaust + tune; 2 + cams; 3-4 big bore / heads
    cam: CamSpec
    exhaust: Exhaust
    air_cleaner: AirCleaner
    injector_flow_gs: float  # g/s at 43.5 psi
    compression_ratio: float
    fuel_octane_aki: float
    altitude_m: float  # of the dyno cell / where the bike is tuned to run
    fuel: Fuel = Fuel.GASOLINE

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "engine_family", _enum("engine_family", EngineFamily, self.engine_family))
        set_(self, "exhaust", _enum("exhaust", Exhaust, self.exhaust))
        set_(self, "air_cleaner", _enum("air_cleaner", AirCleaner, self.air_cleaner))
        set_(self, "fuel", _enum("fuel", Fuel, self.fuel))
        for field, (lo, hi, unit) in _BUILD_RANGES.items():
            set_(self, field, _number(field, getattr(self, field), lo, hi, unit))
        stage = self.stage
        if isinstance(stage, float) and stage.is_integer():
            stage = int(stage)
        if isinstance(stage, bool) or not isinstance(stage, int) or not 0 <= stage <= STAGE_MAX:
            raise InputError(
                f"build spec field 'stage' = {self.stage!r} is not valid: give a whole number "
                f"0 (stock) to {STAGE_MAX}"
            )
        set_(self, "stage", stage)
        if not isinstance(self.cam, CamSpec):
            set_(self, "cam", CamSpec.from_dict(self.cam))

    @property
    def displacement_cc(self) -> float:
        """Displacement in cm³."""
        return self.displacement_ci * CC_PER_CI

    @property
    def summary(self) -> str:
        """One line for lists and reports ("Milwaukee-Eight 114, 114 ci, stage 0, cam stock")."""
        return (
            f"{self.engine_family.label}, {self.displacement_ci:g} ci, stage {self.stage}, "
            f"cam {self.cam.name}, {self.fuel.label}"
        )

    @classmethod
    def stock(cls, family: EngineFamily | str) -> BuildSpec:
        """A stock ``family`` bike: stock displacement, cam, exhaust, intake; 91 AKI; sea level."""
        fam: EngineFamily = _enum("engine_family", EngineFamily, family)
        return cls(
            engine_family=fam,
            displacement_ci=fam.stock_displacement_ci,
            stage=0,
            cam=CamSpec(name="stock"),  # OEM card unknown: vtwin.md §2 has only an envelope
            exhaust=Exhaust.STOCK,
            air_cleaner=AirCleaner.STOCK,
            injector_flow_gs=fam.stock_injector_flow_gs,
            compression_ratio=fam.stock_compression_ratio,
            fuel_octane_aki=91.0,  # US premium is 91-93 AKI (vtwin.md §8)
            altitude_m=0.0,
        )

    # ------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with ``schema_version``; enums as their string values."""
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, CamSpec):
                value = asdict(value)
            elif isinstance(value, StrEnum):
                value = value.value
            out[f.name] = value
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of ``to_dict``."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> BuildSpec:
        """BuildSpec from a dict; missing fields take the family's stock values.

        Unknown keys, wrong types and out-of-range values raise InputError naming ``source``
        and the field.
        """
        try:
            return cls._from_dict(data)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None

    @classmethod
    def from_json(cls, text: str, source: str = "<text>") -> BuildSpec:
        """BuildSpec from JSON text (see ``from_dict``)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{source}: build spec is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg}); fix the file or save the vehicle's build again"
            ) from None
        return cls.from_dict(data, source)

    @classmethod
    def _from_dict(cls, data: object) -> BuildSpec:
        if not isinstance(data, Mapping):
            raise InputError(f"build spec must be a JSON object, got {type(data).__name__}")
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise InputError(
                f"build spec schema_version {version!r} is not supported: this version of "
                f"DynoAI reads {SCHEMA_VERSION}; update DynoAI or re-save the build"
            )
        names = [f.name for f in fields(cls)]
        _reject_unknown(data, ["schema_version", *names], "")
        if "engine_family" not in data:
            valid = ", ".join(m.value for m in EngineFamily)
            raise InputError(f"build spec field 'engine_family' is missing: give one of {valid}")
        merged = cls.stock(_enum("engine_family", EngineFamily, data["engine_family"])).to_dict()
        merged.update(data)
        merged["cam"] = CamSpec.from_dict(merged["cam"])
        return cls(**{name: merged[name] for name in names})


def _reject_unknown(data: Mapping[Any, Any], known: list[str], prefix: str) -> None:
    for key in data:
        if key not in known:
            raise InputError(
                f"unknown build spec field '{prefix}{key!s}': valid fields are "
                f"{', '.join(prefix + k for k in known)}; fix the spelling or remove it"
            )
