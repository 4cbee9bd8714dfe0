"""The shop's catalog: one SQLite file in the platform's data directory.

Schema 1 keeps tunes and every version of them (ARCHITECTURE.md "Storage"); tables are stored as
Table CSV text, which round-trips every value and the raw layout exactly. Schema 2 adds the
shop's work: customers -> vehicles (each with its BuildSpec) -> sessions (a visit to the dyno,
optionally on a tune) -> runs (one Parquet run file each, see :mod:`run_files`, kept relative to
the catalog's folder so the whole store can move). Later versions add coverage and training
records through :data:`MIGRATIONS`.
"""

from __future__ import annotations

import json
import math
import operator
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import platformdirs

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table_csv import format_table_csv, parse_table_csv
from dynoai_desktop.core.tune import ChangeSource, TableDiff, Tune, TuneHistory
from dynoai_desktop.storage.catalog_schema import MIGRATIONS, SCHEMA_VERSION
from dynoai_desktop.storage.run_files import (
    Marker,
    Weather,
    check_iso_time,
    devices_from_list,
    devices_to_list,
    markers_from_list,
    markers_to_list,
    metadata_json,
    weather_from_dict,
    weather_to_dict,
)
from dynoai_desktop.storage.settings import APP_AUTHOR, APP_NAME, DevicePort

DATA_DIR_ENV = "DYNOAI_DATA_DIR"
CATALOG_FILE = "catalog.sqlite"
RUNS_DIR = "runs"  # run files live in DATA_DIR/runs/session-NNNN/ (see Catalog.new_run_file)
RUN_STATUSES = ("recording", "complete", "recovered")




def default_data_dir() -> Path:
    """``DYNOAI_DATA_DIR`` when set (read now, not at import), else the platform's directory."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


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


_RUN_COLUMNS = (
    'id, session_id, name, started_at, ended_at, duration_s, "rows", file, status,'
    " devices_json, markers_json, weather_json, tune_version_id"
)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _time(value: str | datetime | None, what: str) -> str:
    if value is None:
        return _now()
    if isinstance(value, datetime):
        return value.isoformat()
    return check_iso_time(value, what)


def _text(value: object, what: str, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {value!r}")
    if required and not value.strip():
        raise InputError(f"{what} is empty; give one")
    return value


def _run_record(row: Sequence[Any]) -> RunRecord:
    (run_id, session_id, name, started, ended, duration, rows, file, status,
     devices, markers, weather, tune_version) = row  # fmt: skip
    return RunRecord(
        id=run_id,
        session_id=session_id,
        name=name,
        started_at=started,
        ended_at=ended,
        duration_s=duration,
        rows=rows,
        file=file,
        status=status,
        devices=devices_from_list(json.loads(devices)),
        markers=markers_from_list(json.loads(markers)),
        weather=weather_from_dict(json.loads(weather)),
        tune_version_id=tune_version,
    )


class Catalog:
    """Open (creating or migrating as needed) the catalog at ``path``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_data_dir() / CATALOG_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: the catalog is from a newer DynoAI (schema {version}, this one "
                f"knows {SCHEMA_VERSION}); update DynoAI to open it"
            )
        while version < SCHEMA_VERSION:
            with self._db:
                self._db.execute("BEGIN")
                MIGRATIONS[version](self._db)
                version += 1
                self._db.execute(f"PRAGMA user_version = {version}")

    @property
    def data_dir(self) -> Path:
        """The folder the catalog lives in; run files are stored relative to it."""
        return self.path.parent

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ tunes

    def add_tune(self, name: str, tune: Tune, when: str, note: str = "") -> int:
        """Store a new tune (its first version, made by an import); returns its id."""
        spec = tune.build_spec.to_json() if tune.build_spec is not None else None
        with self._db:
            cur = self._db.execute(
                "INSERT INTO tunes (name, source, build_spec_json) VALUES (?, ?, ?)",
                (name, tune.source, spec),
            )
            tune_id = int(cur.lastrowid or 0)
            self._insert_version(tune_id, 1, tune, ChangeSource.IMPORT, when, note)
        return tune_id

    def record_version(
        self, tune_id: int, tune: Tune, made_by: ChangeSource, when: str, note: str = ""
    ) -> int:
        """Store ``tune`` as the newest version; returns its number."""
        with self._db:
            last = self._db.execute(
                "SELECT MAX(number) FROM tune_versions WHERE tune_id = ?", (tune_id,)
            ).fetchone()[0]
            if last is None:
                raise InputError(f"there is no tune {tune_id} in the catalog {self.path}")
            self._insert_version(tune_id, last + 1, tune, made_by, when, note)
        return last + 1

    def _insert_version(
        self, tune_id: int, number: int, tune: Tune, made_by: str, when: str, note: str
    ) -> None:
        tables = {name: format_table_csv(t) for name, t in tune.tables.items()}
        self._db.execute(
            "INSERT INTO tune_versions (tune_id, number, made_by, made_at, note, tables_json)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (tune_id, number, str(made_by), when, note, json.dumps(tables)),
        )

    def tunes(self) -> list[TuneRecord]:
        rows = self._db.execute("SELECT id, name, source FROM tunes ORDER BY id").fetchall()
        return [TuneRecord(*row) for row in rows]

    def history(self, tune_id: int) -> TuneHistory:
        """Every version of the tune, oldest first, with the changes between them."""
        head = self._db.execute(
            "SELECT source, build_spec_json FROM tunes WHERE id = ?", (tune_id,)
        ).fetchone()
        if head is None:
            raise InputError(f"there is no tune {tune_id} in the catalog {self.path}")
        source, spec_json = head
        spec = BuildSpec.from_json(spec_json, source=f"tune {tune_id}") if spec_json else None
        history = TuneHistory()
        rows = self._db.execute(
            "SELECT made_by, made_at, note, tables_json FROM tune_versions"
            " WHERE tune_id = ? ORDER BY number",
            (tune_id,),
        )
        for made_by, when, note, tables_json in rows:
            tables = {
                name: parse_table_csv(text, source=f"tune {tune_id} table {name!r}")
                for name, text in json.loads(tables_json).items()
            }
            history.record(Tune(tables, spec, source), ChangeSource(made_by), when, note)
        return history

    def restore(self, tune_id: int, number: int, when: str) -> Tune:
        """Make version ``number`` current again (recorded as a new 'restore' version)."""
        history = self.history(tune_id)
        restored = history.restore(number, when)
        self.record_version(tune_id, restored.tune, ChangeSource.RESTORE, when, restored.note)
        return restored.tune

    # ------------------------------------------------------------------ helpers

    def _require(self, table: str, row_id: object, what: str) -> int:
        """``row_id`` if ``table`` holds it, else an InputError naming what is missing."""
        if isinstance(row_id, bool) or not isinstance(row_id, int):
            raise InputError(f"{what} id must be a whole number, got {row_id!r}")
        found = self._db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone()
        if found is None:
            raise InputError(f"there is no {what} {row_id} in the catalog {self.path}")
        return row_id

    def _insert(self, sql: str, params: Sequence[object]) -> int:
        try:
            with self._db:
                cur = self._db.execute(sql, params)
        except sqlite3.IntegrityError as exc:  # checked before; a second cell may race us
            raise InputError(f"the catalog {self.path} refused the change ({exc})") from None
        return int(cur.lastrowid or 0)

    # ------------------------------------------------------------------ customers

    def add_customer(
        self,
        name: str,
        phone: str = "",
        email: str = "",
        notes: str = "",
        when: str | datetime | None = None,
    ) -> int:
        """Store a customer; returns the id. ``when`` defaults to now."""
        values = (
            _text(name, "customer name", required=True).strip(),
            _text(phone, "customer phone"),
            _text(email, "customer email"),
            _text(notes, "customer notes"),
            _time(when, "customer created_at"),
        )
        return self._insert(
            "INSERT INTO customers (name, phone, email, notes, created_at) VALUES (?, ?, ?, ?, ?)",
            values,
        )

    def customers(self) -> list[Customer]:
        rows = self._db.execute(
            "SELECT id, name, phone, email, notes, created_at FROM customers ORDER BY id"
        ).fetchall()
        return [Customer(*row) for row in rows]

    def customer(self, customer_id: int) -> Customer:
        self._require("customers", customer_id, "customer")
        row = self._db.execute(
            "SELECT id, name, phone, email, notes, created_at FROM customers WHERE id = ?",
            (customer_id,),
        ).fetchone()
        return Customer(*row)

    # ------------------------------------------------------------------ vehicles

    def add_vehicle(
        self,
        customer_id: int,
        name: str,
        build_spec: BuildSpec,
        vin: str = "",
        when: str | datetime | None = None,
    ) -> int:
        """Store a customer's vehicle ("2016 Low Rider S") with its build; returns the id."""
        self._require("customers", customer_id, "customer")
        if not isinstance(build_spec, BuildSpec):
            raise InputError(
                f"vehicle {name!r}: build_spec must be a BuildSpec, got {type(build_spec).__name__}"
            )
        values = (
            customer_id,
            _text(name, "vehicle name", required=True).strip(),
            _text(vin, "vehicle VIN").strip(),
            build_spec.to_json(indent=None),
            _time(when, "vehicle created_at"),
        )
        return self._insert(
            "INSERT INTO vehicles (customer_id, name, vin, build_spec_json, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            values,
        )

    def _vehicles(self, where: str, params: Sequence[object]) -> list[Vehicle]:
        rows = self._db.execute(
            "SELECT id, customer_id, name, vin, build_spec_json, created_at FROM vehicles"
            f" WHERE {where} ORDER BY id",
            params,
        ).fetchall()
        return [
            Vehicle(vid, cid, name, vin, BuildSpec.from_json(spec, source=f"vehicle {vid}"), at)
            for vid, cid, name, vin, spec, at in rows
        ]

    def vehicles(self, customer_id: int) -> list[Vehicle]:
        """The customer's vehicles, oldest first."""
        self._require("customers", customer_id, "customer")
        return self._vehicles("customer_id = ?", (customer_id,))

    def vehicle(self, vehicle_id: int) -> Vehicle:
        self._require("vehicles", vehicle_id, "vehicle")
        return self._vehicles("id = ?", (vehicle_id,))[0]

    # ------------------------------------------------------------------ sessions

    def start_session(
        self,
        vehicle_id: int,
        when: str | datetime,
        operator: str = "",
        notes: str = "",
        tune_id: int | None = None,
    ) -> int:
        """Open a session for the vehicle (optionally on a stored tune); returns its id."""
        self._require("vehicles", vehicle_id, "vehicle")
        if tune_id is not None:
            self._require("tunes", tune_id, "tune")
        values = (
            vehicle_id,
            _time(when, "session started_at"),
            _text(operator, "session operator"),
            _text(notes, "session notes"),
            tune_id,
        )
        return self._insert(
            "INSERT INTO sessions (vehicle_id, started_at, operator, notes, tune_id)"
            " VALUES (?, ?, ?, ?, ?)",
            values,
        )

    def end_session(self, session_id: int, when: str | datetime) -> None:
        self._require("sessions", session_id, "session")
        with self._db:
            self._db.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ?",
                (_time(when, "session ended_at"), session_id),
            )

    def _sessions(self, where: str, params: Sequence[object]) -> list[Session]:
        rows = self._db.execute(
            "SELECT id, vehicle_id, started_at, ended_at, operator, notes, tune_id FROM sessions"
            f" WHERE {where} ORDER BY started_at, id",
            params,
        ).fetchall()
        return [Session(*row) for row in rows]

    def sessions(self, vehicle_id: int) -> list[Session]:
        """The vehicle's sessions, oldest first."""
        self._require("vehicles", vehicle_id, "vehicle")
        return self._sessions("vehicle_id = ?", (vehicle_id,))

    def session(self, session_id: int) -> Session:
        self._require("sessions", session_id, "session")
        return self._sessions("id = ?", (session_id,))[0]

    # ------------------------------------------------------------------ runs

    def _relative_file(self, file: str | os.PathLike[str]) -> str:
        path = Path(file)
        if path.is_absolute():
            try:
                path = path.relative_to(self.data_dir)
            except ValueError:
                raise InputError(
                    f"run file {file}: is outside the data folder {self.data_dir}; run files "
                    "are kept in it (save the run there, or give a path relative to it)"
                ) from None
        relative = PurePosixPath(path.as_posix())
        if not relative.parts or ".." in relative.parts:
            raise InputError(f"run file {str(file)!r}: give a file path inside {self.data_dir}")
        return str(relative)

    def run_path(self, run: RunRecord | int) -> Path:
        """Absolute path of a run's Parquet file."""
        record = run if isinstance(run, RunRecord) else self.run(run)
        return self.data_dir / record.file

    def new_run_file(self, session_id: int, started_at: str | datetime) -> str:
        """A free path, relative to the data dir, for a new run file of the session.

        ``runs/session-0007/20261122T100000.parquet``, then ``...-2.parquet`` and so on when
        that name is already taken in the catalog or on disk.
        """
        self._require("sessions", session_id, "session")
        stamp = "".join(c for c in _time(started_at, "run started_at")[:19] if c.isalnum())
        folder = PurePosixPath(RUNS_DIR, f"session-{session_id:04d}")
        taken = {row[0] for row in self._db.execute("SELECT file FROM runs")}
        candidate = str(folder / f"{stamp}.parquet")
        n = 1
        while candidate in taken or (self.data_dir / candidate).exists():
            n += 1
            candidate = str(folder / f"{stamp}-{n}.parquet")
        return candidate

    def add_run(
        self,
        session_id: int,
        name: str,
        started_at: str | datetime,
        file: str | os.PathLike[str],
        status: str = "recording",
        devices: Sequence[DevicePort] = (),
        weather: Weather | None = None,
        tune_version_id: int | None = None,
    ) -> int:
        """Record a run of the session (its samples in ``file``, relative to the data dir or an
        absolute path inside it); returns its id. A recording starts as 'recording'."""
        session = self.session(session_id)
        _check_status(status)
        if tune_version_id is not None:
            self._check_tune_version(session, tune_version_id)
        values = (
            session_id,
            _text(name, "run name", required=True).strip(),
            _time(started_at, "run started_at"),
            self._relative_file(file),
            status,
            metadata_json(devices_to_list(devices), f"run {name!r} devices"),
            metadata_json(weather_to_dict(weather or Weather()), f"run {name!r} weather"),
            tune_version_id,
        )
        return self._insert(
            "INSERT INTO runs (session_id, name, started_at, file, status, devices_json,"
            " weather_json, tune_version_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def _check_tune_version(self, session: Session, number: int) -> None:
        if session.tune_id is None:
            raise InputError(
                f"session {session.id} has no tune, so a run of it cannot name tune version "
                f"{number}; start the session with a tune"
            )
        found = self._db.execute(
            "SELECT 1 FROM tune_versions WHERE tune_id = ? AND number = ?",
            (session.tune_id, number),
        ).fetchone()
        if found is None:
            raise InputError(
                f"there is no version {number} of tune {session.tune_id} in the catalog {self.path}"
            )

    def finish_run(
        self,
        run_id: int,
        ended_at: str | datetime,
        duration_s: float,
        rows: int,
        markers: Sequence[Marker] = (),
        status: str = "complete",
    ) -> None:
        """Record how the run ended: its length, row count, markers and final status."""
        self._require("runs", run_id, "run")
        _check_status(status)
        if (
            isinstance(duration_s, bool)
            or not isinstance(duration_s, int | float)
            or not (math.isfinite(duration_s) and duration_s >= 0)
        ):
            raise InputError(f"run {run_id}: duration_s = {duration_s!r} must be a number >= 0")
        try:
            row_count = -1 if isinstance(rows, bool) else operator.index(rows)
        except TypeError:
            row_count = -1
        if row_count < 0:
            raise InputError(f"run {run_id}: rows = {rows!r} must be a whole number >= 0")
        with self._db:
            self._db.execute(
                'UPDATE runs SET ended_at = ?, duration_s = ?, "rows" = ?, markers_json = ?,'
                " status = ? WHERE id = ?",
                (
                    _time(ended_at, "run ended_at"),
                    float(duration_s),
                    row_count,
                    metadata_json(markers_to_list(markers), f"run {run_id} markers"),
                    status,
                    run_id,
                ),
            )

    def _runs(self, sql: str, params: Sequence[object]) -> list[RunRecord]:
        return [_run_record(row) for row in self._db.execute(sql, params).fetchall()]

    def runs(self, session_id: int) -> list[RunRecord]:
        """The session's runs in the order they were made."""
        self._require("sessions", session_id, "session")
        return self._runs(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE session_id = ? ORDER BY started_at, id",
            (session_id,),
        )

    def run(self, run_id: int) -> RunRecord:
        self._require("runs", run_id, "run")
        return self._runs(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))[0]

    def runs_in_status(self, status: str) -> list[RunRecord]:
        """Every run in ``status`` (crash recovery looks for 'recording'), oldest first."""
        _check_status(status)
        return self._runs(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = ? ORDER BY started_at, id",
            (status,),
        )

    def runs_for_vehicle(self, vehicle_id: int) -> list[RunRecord]:
        """Every run of the vehicle across its sessions, oldest first."""
        self._require("vehicles", vehicle_id, "vehicle")
        columns = ", ".join(f"runs.{c.strip()}" for c in _RUN_COLUMNS.split(","))
        return self._runs(
            f"SELECT {columns} FROM runs JOIN sessions ON sessions.id = runs.session_id"
            " WHERE sessions.vehicle_id = ? ORDER BY runs.started_at, runs.id",
            (vehicle_id,),
        )


def _check_status(status: object) -> str:
    if status not in RUN_STATUSES:
        raise InputError(
            f"run status {status!r} is not valid: use one of {', '.join(RUN_STATUSES)}"
        )
    return str(status)


def describe_changes(changes: tuple[TableDiff, ...]) -> str:
    """One line for a history list: '12 cells of VE (MAP based/Front Cyl)', ..."""
    parts = []
    for change in changes:
        if change.kind == "cells":
            parts.append(f"{len(change.cells)} cells of {change.name}")
        else:
            parts.append(f"{change.name} {change.kind}")
    return "; ".join(parts) or "no change"
