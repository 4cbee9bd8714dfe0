"""The one feature module: build, environment and cell coordinates -> the numbers a model sees.

Training (``ml.base_ve.samples_from_sessions``) and inference (``BaseVeModel.predict``) both call
:func:`cell_features`, so the two can never drift apart. The columns and their encoding are
versioned by :data:`FEATURE_SCHEMA_VERSION`: a model records the version it was made with, and a
model of another version is refused (``DYN-M002``) instead of being fed the wrong columns.

Categorical columns (family, exhaust, air cleaner, cylinder) are the enum's index in the order
``core.build_spec`` declares them (new members are only ever appended there). A stock or
unknown cam has no card: its duration, overlap and lift are NaN, which the gradient-boosting
models treat as their own branch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, EngineFamily, Exhaust
from dynoai_desktop.ml.training.records import TuningSession

FEATURE_SCHEMA_VERSION = 1
FloatArray = npt.NDArray[np.float64]

FEATURE_NAMES: tuple[str, ...] = (
    "engine_family", "displacement_ci", "bore_up_ratio", "compression_ratio", "stage",
    "cam_duration_deg", "cam_overlap_deg", "cam_lift_in", "exhaust", "air_cleaner",
    "baro_kpa", "ambient_temp_c", "rpm", "load_kpa", "cylinder",
)
CATEGORICAL: tuple[bool, ...] = tuple(name in ("engine_family", "exhaust", "air_cleaner",
                                               "cylinder") for name in FEATURE_NAMES)
BUILD_FEATURES = FEATURE_NAMES[:12]
"""The columns that describe the bike and the day (the rest place the cell)."""
CYLINDERS = ("front", "rear")

STANDARD_AMBIENT_C = 25.0
"""The cell's standard air temperature, used when a prediction is asked without the day's air."""

# Cam classes by the card's mean duration at .053 in (deg): the groups the validation holds out.
_CAM_CLASS_LIMITS = ((231.0, "bolt-in"), (245.0, "hot street"), (math.inf, "big"))


@dataclass(frozen=True)
class Air:
    """The day's air in the cell (what the true VE of a bike is measured at)."""

    baro_kpa: float
    ambient_temp_c: float = STANDARD_AMBIENT_C

    @classmethod
    def at_altitude(cls, altitude_m: float) -> Air:
        """Standard atmosphere at ``altitude_m`` (ISA barometric formula)."""
        return cls(round(101.325 * (1.0 - 2.25577e-5 * altitude_m) ** 5.25588, 1))


def session_air(session: TuningSession) -> Air:
    """The air of a training session's day."""
    env = session.environment
    return Air(env.baro_kpa, env.ambient_temp_c)


def cam_mean_duration(build: BuildSpec) -> float | None:
    cam = build.cam
    durations = [d for d in (cam.intake_duration_deg, cam.exhaust_duration_deg) if d is not None]
    return sum(durations) / len(durations) if durations else None


def cam_class(build: BuildSpec) -> str:
    """"stock" (no card), "bolt-in", "hot street" or "big", by the card's mean duration."""
    duration = cam_mean_duration(build)
    if duration is None:
        return "stock"
    return next(label for limit, label in _CAM_CLASS_LIMITS if duration < limit)


def build_group(build: BuildSpec) -> str:
    """The validation group of a build: "<engine family> / <cam class>"."""
    return f"{build.engine_family.value} / {cam_class(build)}"


def validation_group(build: BuildSpec, scope: str, session_id: str) -> str:
    """The group a session is validated in for a model of ``scope``: across the shop, its build
    group (family / cam class); within one family, its cam class and exhaust (a family has at
    most four cam classes, too few to hold some out); for one vehicle, the session itself."""
    if scope.startswith("family:"):
        return f"{cam_class(build)} / {build.exhaust.value}"
    if scope.startswith("vehicle:"):
        return f"session {session_id}"
    return build_group(build)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def build_row(build: BuildSpec, air: Air) -> list[float]:
    """The build-and-day columns (``BUILD_FEATURES``) of one bike."""
    cam = build.cam
    lifts = [v for v in (cam.intake_lift_in, cam.exhaust_lift_in) if v is not None]
    return [
        float(list(EngineFamily).index(build.engine_family)),
        build.displacement_ci,
        build.displacement_ci / build.engine_family.stock_displacement_ci,
        build.compression_ratio,
        float(build.stage),
        _or_nan(cam_mean_duration(build)),
        _or_nan(cam.overlap_deg),
        _or_nan(sum(lifts) / len(lifts) if lifts else None),
        float(list(Exhaust).index(build.exhaust)),
        float(list(AirCleaner).index(build.air_cleaner)),
        float(air.baro_kpa),
        float(air.ambient_temp_c),
    ]


def cell_features(build: BuildSpec, air: Air, rpm: npt.ArrayLike, load_kpa: npt.ArrayLike,
                  cylinder: str) -> FloatArray:
    """One row per cell (``rpm`` and ``load_kpa`` of equal length): ``FEATURE_NAMES`` columns."""
    rpm = np.asarray(rpm, dtype=np.float64).ravel()
    load = np.asarray(load_kpa, dtype=np.float64).ravel()
    if rpm.shape != load.shape:
        raise ValueError("rpm and load_kpa must be the same length")
    out = np.empty((rpm.size, len(FEATURE_NAMES)), dtype=np.float64)
    out[:, :len(BUILD_FEATURES)] = build_row(build, air)
    out[:, len(BUILD_FEATURES)] = rpm
    out[:, len(BUILD_FEATURES) + 1] = load
    out[:, len(BUILD_FEATURES) + 2] = float(CYLINDERS.index(cylinder))
    return out
