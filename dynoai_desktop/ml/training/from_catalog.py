"""A saved session read from the catalog as extraction reads it (:class:`SessionData`).

In two steps, so the app can keep the catalog on its own thread: :func:`session_source` reads the
catalog's rows (the vehicle and its build, the finished runs, the tune versions; quick) and
:func:`session_data` reads the run files (slow: a worker's job). :func:`read_session` does both.

The rules, also in docs/training-data.md:

- **tables before**: the VE tables of the tune version the first run was recorded on
  (``runs.tune_version_id``); else the newest version made by the session's start; else the
  tune's first version. **Tables after**: the newest version made by the session's end (the
  newest of all while it is open), else the same as before. A run's own tables (what the ECM
  fuelled it from): its version, else the newest made by its start. The app ties a session to
  the tune open when its first run records and records each run's version
  (``app.tune_session.TuneSession.version_for_run``); a session without a tune (recorded with
  none open) has no tables.
- **AFR target** and spark: the tune's ``Air-Fuel Ratio`` and spark tables, when it has them.
- **simulated**: a run's devices were read on loopback ``socket://`` ports (127.0.0.1, ::1,
  localhost: the demo's virtual cell; a real cell's devices are serial ports), or the session's
  notes say "simulated" (the shop generator writes it there).
- The day's air: a run's weather (recorded with it) fills ``baro_kpa``, ``ambient_temp_c`` and
  ``humidity_pct`` where its rows do not log them.
- A run's kind comes from its name ("warm-up", "pull", "hold", "sweep", "decel", "heat soak",
  "street"); else ``mixed``.
- Only finished runs count (a run still recording has no file yet); a run whose file cannot be
  read is left out and named. No finished run, or none readable: :class:`NotExtractable`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import (
    AFR_TARGET,
    SPARK_FRONT,
    SPARK_REAR,
    VE_FRONT_MAP,
    VE_FRONT_TPS,
    VE_REAR_MAP,
    VE_REAR_TPS,
    ChangeSource,
    Tune,
    TuneHistory,
    TuneVersion,
)
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.ml.training.session_data import FloatArray, RunData, SessionData
from dynoai_desktop.storage.catalog import Catalog, RunRecord
from dynoai_desktop.storage.run_files import read_run_arrays
from dynoai_desktop.storage.settings import DevicePort

VE_KEYS = {VE_FRONT_MAP: "ve_front", VE_REAR_MAP: "ve_rear", VE_FRONT_TPS: "ve_front_tps",
           VE_REAR_TPS: "ve_rear_tps"}
"""A tune's VE table names -> extraction's keys (a table already named by its key keeps it)."""
SPARK_KEYS = {SPARK_FRONT: "spark_front", SPARK_REAR: "spark_rear"}
FINISHED = ("complete", "recovered")
SIMULATED_WORD = re.compile(r"\bsimulated\b", re.IGNORECASE)
LOOPBACK_HOSTS = ("localhost", "::1")
RUN_KIND_WORDS = (("warm", "warm-up"), ("soak", "heat-soak"), ("decel", "decel"),
                  ("sweep", "sweeps"), ("hold", "holds"), ("pull", "pulls"),
                  ("street", "street"))
"""Words of a run's name and the kind they say, first match wins ("heat soak pull": heat-soak)."""
WEATHER_COLUMNS = ("baro_kpa", "ambient_temp_c", "humidity_pct")

Tables = Mapping[str, Table]


class NotExtractable(InputError):
    """The session cannot become a training record; the message says why."""


@dataclass(frozen=True)
class RunSource:
    """One finished run: where its file is and what the catalog knows of it."""

    name: str
    path: Path
    started_at: str
    kind: str
    weather: Weather
    tables: Tables
    after_decel_fix: bool = False
    """Fuelled from the session's decel enrichment version or a later one."""


@dataclass(frozen=True)
class SessionSource:
    """A session as the catalog holds it, its run files not read yet."""

    session_id: str
    vehicle: str
    build: BuildSpec
    runs: tuple[RunSource, ...]
    tables_before: Tables
    tables_after: Tables
    simulated: bool
    started_at: str
    afr_target: Table | None = None
    spark: Tables = field(default_factory=dict)
    decel_enrichment_pct: float | None = None


def record_id(session_id: int) -> str:
    """The training record's session id of catalog session ``session_id``."""
    return f"session:{session_id}"


def ve_tables(tables: Tables) -> dict[str, Table]:
    """The VE tables of ``tables`` under extraction's keys (``ve_front``, ``ve_rear``, ...)."""
    keys = set(VE_KEYS.values())
    return {VE_KEYS.get(name, name): table for name, table in tables.items()
            if name in VE_KEYS or name in keys}


def _spark_tables(tables: Tables) -> dict[str, Table]:
    return {SPARK_KEYS[name]: table for name, table in tables.items() if name in SPARK_KEYS}


def is_loopback(port: str) -> bool:
    """A ``socket://`` URL on this computer (the virtual cell's ports)."""
    if not port.lower().startswith("socket://"):
        return False
    host = (urlsplit(port).hostname or "").lower()
    return host.startswith("127.") or host in LOOPBACK_HOSTS


def is_simulated(notes: str, devices: Iterable[DevicePort]) -> bool:
    """Recorded on the virtual cell: a device on a loopback port, or notes saying so."""
    return bool(SIMULATED_WORD.search(notes)) or any(is_loopback(d.port) for d in devices)


def run_kind(name: str) -> str:
    """What a run was for, from its name; ``mixed`` when the name does not say."""
    lowered = name.lower()
    return next((kind for word, kind in RUN_KIND_WORDS if word in lowered), "mixed")


def _instant(text: str | None) -> datetime | None:
    """An ISO 8601 time as an aware datetime (a naive one is taken as local time)."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.astimezone()


def _newest_by(versions: Sequence[TuneVersion], moment: str | None) -> TuneVersion | None:
    """The newest version made at or before ``moment`` (None: the newest of all)."""
    limit = _instant(moment)
    if moment is None:
        return versions[-1] if versions else None
    if limit is None:
        return None
    made = [v for v in versions if (when := _instant(v.when)) is not None and when <= limit]
    return made[-1] if made else None


def _numbered(history: TuneHistory, number: int | None) -> TuneVersion | None:
    if number is None or not 1 <= number <= len(history.versions):
        return None
    return history.versions[number - 1]


def decel_enrichment(versions: Sequence[TuneVersion], first: int, last: int
                     ) -> tuple[float, int] | None:
    """The decel enrichment made between versions ``first`` and ``last`` (numbers): the first
    version made by 'decel enrichment' there, against the version before it: the median rise
    of the cells it raised, %, and its number. None without one."""
    for before, after in zip(versions, versions[1:], strict=False):
        if after.made_by != ChangeSource.DECEL_ENRICHMENT or not first < after.number <= last:
            continue
        rises: list[float] = []
        for name, table in after.tune.tables.items():
            old = before.tune.tables.get(name)
            if old is None or old.shape != table.shape:
                continue
            raised = (table.values > old.values) & (old.values > 0)
            rises.extend((table.values[raised] / old.values[raised] - 1.0) * 100.0)
        if rises:
            return round(float(np.median(rises)), 1), after.number
    return None


def _tables(tune: Tune | None) -> dict[str, Table]:
    return {} if tune is None else ve_tables(tune.tables)


def session_source(catalog: Catalog, session_id: int) -> SessionSource:
    """What the catalog holds of session ``session_id``; :class:`NotExtractable` when it has no
    finished run (InputError when there is no such session)."""
    session = catalog.session(session_id)
    vehicle = catalog.vehicle(session.vehicle_id)
    runs = [r for r in catalog.runs(session_id) if r.status in FINISHED]
    if not runs:
        raise NotExtractable(f"session {session_id} has no finished runs to learn from; record "
                             "a run in it")
    history = catalog.history(session.tune_id) if session.tune_id is not None else None
    versions = history.versions if history is not None else []
    before_version = (
        (_numbered(history, runs[0].tune_version_id) if history is not None else None)
        or _newest_by(versions, session.started_at)
        or (versions[0] if versions else None))
    after_version = _newest_by(versions, session.ended_at) or before_version
    if after_version is not None and before_version is not None and \
            after_version.number < before_version.number:
        after_version = before_version
    if before_version is not None:
        before = _tables(before_version.tune)
        after = _tables(after_version.tune if after_version is not None else None) or before
        tune = after_version.tune if after_version is not None else before_version.tune
        afr_target = tune.tables.get(AFR_TARGET)
        spark = _spark_tables(tune.tables)
        fix = decel_enrichment(versions, before_version.number, (
            after_version or before_version).number)
    else:  # recorded with no tune open: no tables
        before, after, afr_target, spark, fix = {}, {}, None, {}, None

    def version_of(run: RunRecord) -> TuneVersion | None:
        if history is None:
            return None
        return _numbered(history, run.tune_version_id) or _newest_by(versions, run.started_at)

    run_versions = [version_of(r) for r in runs]
    sources = tuple(RunSource(r.name, catalog.run_path(r), r.started_at, run_kind(r.name),
                              r.weather, _tables(v.tune) if v is not None else before,
                              fix is not None and v is not None and v.number >= fix[1])
                    for r, v in zip(runs, run_versions, strict=True))
    enrichment = fix[0] if fix is not None else None
    devices = [d for r in runs for d in r.devices]
    return SessionSource(record_id(session_id), vehicle.name, vehicle.build_spec, sources,
                         before, after, is_simulated(session.notes, devices),
                         session.started_at, afr_target, spark, enrichment)


def _with_weather(columns: dict[str, FloatArray], weather: Weather) -> dict[str, FloatArray]:
    """The run's measured air as constant columns where its rows do not log it (a run file
    keeps every canonical channel, all NaN when it was not logged)."""
    rows = len(next(iter(columns.values()))) if columns else 0
    for name in WEATHER_COLUMNS:
        value = getattr(weather, name)
        logged = columns.get(name)
        if logged is not None and logged.size and not np.isnan(logged).all():
            continue
        if value is not None and math.isfinite(value) and rows:
            columns[name] = np.full(rows, float(value))
    return columns


def session_data(source: SessionSource) -> tuple[SessionData, list[str]]:
    """The session with its run files read (any thread: no catalog), and the runs left out
    because their file could not be read. :class:`NotExtractable` when none could."""
    runs: list[RunData] = []
    skipped: list[str] = []
    for run in source.runs:
        try:
            columns, metadata = read_run_arrays(run.path)
        except (InputError, OSError) as exc:
            skipped.append(f"run {run.name!r} left out: {exc}")
            continue
        runs.append(RunData(run.name, _with_weather(dict(columns), run.weather), run.kind,
                            run.started_at, run.tables,
                            tuple((m.time_s, m.note) for m in metadata.markers),
                            run.after_decel_fix if source.decel_enrichment_pct is not None
                            else None))
    if not runs:
        raise NotExtractable(f"none of the runs of {source.session_id} could be read: "
                             + "; ".join(skipped))
    data = SessionData(source.session_id, source.vehicle, source.build, tuple(runs),
                       source.tables_before, source.tables_after, source.simulated,
                       source.started_at, afr_target=source.afr_target, spark=source.spark,
                       decel_enrichment_pct=source.decel_enrichment_pct)
    return data, skipped


def read_session(catalog: Catalog, session_id: int) -> SessionData:
    """Session ``session_id`` as extraction reads it (runs that cannot be read left out)."""
    return session_data(session_source(catalog, session_id))[0]
