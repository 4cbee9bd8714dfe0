"""What the catalog hands out: frozen records of its rows, and the run statuses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.run_files import Marker
from dynoai_desktop.storage.settings import DevicePort

RUNS_DIR = "runs"  # DATA_DIR/runs/session-NNNN/<start>_<name>.parquet (Catalog.new_run_file)
RUN_STATUSES = ("recording", "complete", "recovered")


@dataclass(frozen=True)
class TuneRecord:
    id: int
    name: str
    source: str


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    phone: str
    email: str
    notes: str
    created_at: str


@dataclass(frozen=True)
class Vehicle:
    id: int
    customer_id: int
    name: str  # e.g. "2016 Low Rider S"
    vin: str
    build_spec: BuildSpec
    created_at: str


@dataclass(frozen=True)
class Session:
    """One visit of a vehicle to the dyno; ``ended_at`` is None while it is open."""

    id: int
    vehicle_id: int
    started_at: str
    ended_at: str | None
    operator: str
    notes: str
    tune_id: int | None


@dataclass(frozen=True)
class RunRecord:
    """A run as the catalog knows it; its samples are in ``file`` (relative to the data dir)."""

    id: int
    session_id: int
    name: str
    started_at: str
    ended_at: str | None
    duration_s: float | None
    rows: int | None
    file: str
    status: str  # one of RUN_STATUSES
    devices: tuple[DevicePort, ...]
    markers: tuple[Marker, ...]
    weather: Weather
    tune_version_id: int | None  # the version number of the session's tune, if recorded


@dataclass(frozen=True, eq=False)
class CoverageRecord:
    """One run's contribution to the cells of one of the vehicle's VE tables (schema 4).

    ``weight`` (good-sample weight, float64) and ``hits`` (raw hits, int64) are rpm rows x load
    columns on the breakpoints beside them (normalised: ascending); the arrays are read-only.
    ``run_key`` is what makes the run unique: 'run:12' for a catalog run, 'file:<sha256>' for
    an imported log.
    """

    vehicle_id: int
    table_name: str  # 've_front', 've_rear', ...
    run_key: str
    load_channel: str  # "map_kpa" or "tps_pct": the table's column axis
    rpm_breakpoints: np.ndarray  # float64, ascending
    load_breakpoints: np.ndarray  # float64, ascending
    weight: np.ndarray  # float64, shape (rpm, load)
    hits: np.ndarray  # int64, shape (rpm, load)
    added_at: str


def check_status(status: object) -> str:
    """``status`` if it is one of RUN_STATUSES, else an InputError listing them."""
    if status not in RUN_STATUSES:
        raise InputError(
            f"run status {status!r} is not valid: use one of {', '.join(RUN_STATUSES)}"
        )
    return str(status)
