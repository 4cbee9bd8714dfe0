"""Canonical log channels and sensor status codes: the frozen contract of FORMATS.md §2.

Device codecs, the acquisition ring buffer, Parquet run files, log importers and the UI gauges
all use these names, units and status codes. Extend (add channels at the end), never rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import GASOLINE_STOICH_AFR, canonical_unit

GASOLINE_AFR_SCALE = GASOLINE_STOICH_AFR
"""AFR channels are λ × 14.7 whatever the fuel (codecs decode λ, then scale by this)."""

class SensorStatus(IntEnum):
    """Wideband controller status, as logged in ``afr_front_status`` / ``afr_rear_status``."""

    VALID = 0
    WARMING_UP = 1
    CALIBRATING = 2
    SENSOR_ERROR = 3
    NO_DATA = 4

    @property
    def label(self) -> str:
        """The status in the tuner's words ("warming up")."""
        return self.name.lower().replace("_", " ")

    @classmethod
    def from_code(cls, code: int | float, channel_name: str = "status") -> SensorStatus:
        """Status for a logged code; an unknown code raises InputError naming the channel."""
        try:
            as_int = int(code)
            if as_int == code:
                return cls(as_int)
        except (TypeError, ValueError, OverflowError):
            pass
        valid = ", ".join(f"{s.value} {s.label}" for s in cls)
        raise InputError(
            f"{channel_name}: unknown sensor status code {code!r}; valid codes are {valid}"
        )


@dataclass(frozen=True)
class Channel:
    """One canonical log column: its name, canonical unit and a gauge range in that unit."""

    name: str
    unit: str
    quantity: str
    description: str
    display_min: float
    display_max: float

    @property
    def display_range(self) -> tuple[float, float]:
        """(min, max) for gauges and plot axes, in ``unit``."""
        return (self.display_min, self.display_max)

    @property
    def is_status(self) -> bool:
        """True for a sensor-status code channel (values are SensorStatus codes)."""
        return self.quantity == "status"


def _ch(name: str, quantity: str, description: str, lo: float, hi: float) -> Channel:
    return Channel(name, canonical_unit(quantity), quantity, description, lo, hi)


_STATUS_MAX = float(max(SensorStatus))

# Display ranges: rev limit 6200 rpm; VE MAP axis to ~105 kPa; head temperature trims to 482 °F
# (250 °C); spark 0-45° BTDC; knock retard max 6°; 131-135 ci crates make ~120-145 hp / lb-ft at
# the wheel; SAE CF 0.95-1.23 (Denver). See shared/reference/vtwin.md.
_TABLE: tuple[Channel, ...] = (
    _ch("time_s", "time", "seconds from the start of the run", 0.0, 600.0),
    _ch("rpm", "rotational_speed", "engine speed", 0.0, 7000.0),
    _ch("map_kpa", "pressure", "manifold absolute pressure", 0.0, 110.0),
    _ch("tps_pct", "percent", "throttle position, 0-100", 0.0, 100.0),
    _ch("afr_front", "afr", "measured AFR, front cylinder (λ × 14.7)", 9.0, 20.0),
    _ch("afr_rear", "afr", "measured AFR, rear cylinder (λ × 14.7)", 9.0, 20.0),
    _ch("afr_front_status", "status", "front wideband status code", 0.0, _STATUS_MAX),
    _ch("afr_rear_status", "status", "rear wideband status code", 0.0, _STATUS_MAX),
    _ch("afr_target", "afr", "commanded AFR, if the ECM logs it", 9.0, 20.0),
    _ch("engine_temp_c", "temperature", "engine (head) temperature", 0.0, 250.0),
    _ch("iat_c", "temperature", "intake air temperature", -20.0, 120.0),
    _ch("spark_front_deg", "angle", "spark advance, front cylinder (BTDC)", -10.0, 50.0),
    _ch("spark_rear_deg", "angle", "spark advance, rear cylinder (BTDC)", -10.0, 50.0),
    _ch("knock_retard_front_deg", "angle", "knock retard, front cylinder", 0.0, 10.0),
    _ch("knock_retard_rear_deg", "angle", "knock retard, rear cylinder", 0.0, 10.0),
    _ch("torque_ftlb", "torque", "dyno torque, as observed (uncorrected)", 0.0, 200.0),
    _ch("power_hp", "power", "dyno power, as observed (uncorrected)", 0.0, 200.0),
    _ch("speed_mph", "speed", "dyno roll speed", 0.0, 160.0),
    _ch("baro_kpa", "pressure", "barometric pressure", 60.0, 110.0),
    _ch("ambient_temp_c", "temperature", "ambient air temperature", -20.0, 50.0),
    _ch("humidity_pct", "humidity", "relative humidity", 0.0, 100.0),
    _ch("correction_factor", "ratio", "SAE J1349 correction factor", 0.8, 1.3),
    _ch("cl_trim_front_pct", "percent",
        "closed-loop fuel trim, front cylinder (empty when open loop)", -25.0, 25.0),
    _ch("cl_trim_rear_pct", "percent",
        "closed-loop fuel trim, rear cylinder (empty when open loop)", -25.0, 25.0),
)

CHANNELS: Mapping[str, Channel] = MappingProxyType({c.name: c for c in _TABLE})
"""Canonical channels in FORMATS.md §2 order (read-only)."""

LOG_COLUMNS: tuple[str, ...] = tuple(CHANNELS)
"""Column names of a Log CSV / Parquet run file, in order."""

STATUS_CHANNEL_FOR: Mapping[str, str] = MappingProxyType(
    {"afr_front": "afr_front_status", "afr_rear": "afr_rear_status"}
)
"""AFR channel -> the channel holding its wideband's status code."""


def channel(name: str) -> Channel:
    """The canonical channel called ``name``; an unknown name raises InputError."""
    try:
        return CHANNELS[name]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown channel {name!r}: known channels are {', '.join(LOG_COLUMNS)}"
        ) from None


def is_channel(name: str) -> bool:
    """True if ``name`` is a canonical channel (unknown columns are kept but not analysed)."""
    return name in CHANNELS
