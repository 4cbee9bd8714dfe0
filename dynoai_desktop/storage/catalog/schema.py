"""The catalog's schema and its migrations (PRAGMA user_version), oldest first.

Never edit a step that has shipped: append the next one. Each step runs in a transaction, so a
failure leaves the file at its old version.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _v0_to_v1(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE tunes (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            build_spec_json TEXT
        );
        CREATE TABLE tune_versions (
            tune_id INTEGER NOT NULL REFERENCES tunes(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            made_by TEXT NOT NULL,
            made_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            tables_json TEXT NOT NULL,   -- {table name: Table CSV text}
            PRIMARY KEY (tune_id, number)
        );
        """
    )


def _v1_to_v2(db: sqlite3.Connection) -> None:
    # One statement at a time (not executescript, which commits first): the whole step and the
    # new user_version commit together or not at all.
    statements = [
        """CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            phone TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE vehicles (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            name TEXT NOT NULL,              -- e.g. '2016 Low Rider S'
            vin TEXT NOT NULL DEFAULT '',
            build_spec_json TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX vehicles_by_customer ON vehicles(customer_id)",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            vehicle_id INTEGER NOT NULL REFERENCES vehicles(id),
            started_at TEXT NOT NULL,
            ended_at TEXT,
            operator TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT '',
            tune_id INTEGER REFERENCES tunes(id) ON DELETE SET NULL
        )""",
        "CREATE INDEX sessions_by_vehicle ON sessions(vehicle_id)",
        "CREATE INDEX sessions_by_tune ON sessions(tune_id)",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            name TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            duration_s REAL,
            "rows" INTEGER,
            file TEXT NOT NULL,              -- the Parquet run file, relative to the data dir
            status TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'recovered')),
            devices_json TEXT NOT NULL DEFAULT '[]',
            markers_json TEXT NOT NULL DEFAULT '[]',
            weather_json TEXT NOT NULL DEFAULT '{}',
            tune_version_id INTEGER          -- tune_versions.number of the session's tune
        )""",
        "CREATE INDEX runs_by_session ON runs(session_id)",
        "CREATE INDEX runs_by_status ON runs(status)",
    ]
    if not db.in_transaction:
        db.execute("BEGIN")
    for statement in statements:
        db.execute(statement)


def _v2_to_v3(db: sqlite3.Connection) -> None:
    # The locked and knock-prone cells of each version: {"locked": {table: [[row, col], ...]},
    # "knock_prone": {...}}. Versions kept before this step had none, which '{}' says.
    if not db.in_transaction:
        db.execute("BEGIN")
    db.execute("ALTER TABLE tune_versions ADD COLUMN marks_json TEXT NOT NULL DEFAULT '{}'")


def _v3_to_v4(db: sqlite3.Connection) -> None:
    # Coverage per vehicle: each run's contribution to the cells of one VE table, kept once per
    # (vehicle, table, run) so the app can add them up over every run of the vehicle. The
    # primary key starts with vehicle_id, so it is the index by vehicle as well.
    if not db.in_transaction:
        db.execute("BEGIN")
    db.execute(
        """CREATE TABLE coverage_runs (
            vehicle_id INTEGER NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
            table_name TEXT NOT NULL,        -- 've_front', 've_rear', ...
            run_key TEXT NOT NULL,           -- 'run:12' (a catalog run), 'file:<sha256>' (a log)
            load_channel TEXT NOT NULL,      -- 'map_kpa' or 'tps_pct'
            axes_json TEXT NOT NULL,         -- {"rpm": [...], "load": [...]}, ascending
            weight_json TEXT NOT NULL,       -- rows x cols of good-sample weight (floats)
            hits_json TEXT NOT NULL,         -- rows x cols of raw hits (whole numbers)
            added_at TEXT NOT NULL,
            PRIMARY KEY (vehicle_id, table_name, run_key)
        )"""
    )


def _v4_to_v5(db: sqlite3.Connection) -> None:
    # Training data (docs/training-data.md): every session's training record, extracted from its
    # runs and tables (a TuningSession, docs/formats.md "Training data"), kept whole as JSON with
    # the schema version it was written in, and the tuner's switch to leave it out of the
    # dataset. Records imported from another shop's dataset have no session here: they are kept
    # beside them by the id they came with.
    if not db.in_transaction:
        db.execute("BEGIN")
    db.execute(
        """CREATE TABLE training_records (
            session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
            record_json TEXT NOT NULL,       -- one TuningSession as JSON
            excluded INTEGER NOT NULL DEFAULT 0,
            extracted_at TEXT NOT NULL,
            schema_version INTEGER NOT NULL  -- the training-data schema it was written in
        )"""
    )
    db.execute(
        """CREATE TABLE imported_training_records (
            record_id TEXT PRIMARY KEY,      -- the session_id the dataset file gave it
            record_json TEXT NOT NULL,
            excluded INTEGER NOT NULL DEFAULT 0,
            imported_at TEXT NOT NULL,
            schema_version INTEGER NOT NULL
        )"""
    )


def _v5_to_v6(db: sqlite3.Connection) -> None:
    # The model registry (ml.registry): one row per model version with its artifact folder
    # (relative to the catalog's folder), the SHA-256 of every artifact file and the version's
    # metadata; the active version per model kind and scope; and each kind and scope's history
    # (trained, refused by the gate, activated, rolled back, imported) with its figures.
    if not db.in_transaction:
        db.execute("BEGIN")
    db.execute(
        """CREATE TABLE model_versions (
            kind TEXT NOT NULL,              -- 'base_ve', ...
            scope TEXT NOT NULL,             -- 'shop', 'family:<family>', 'vehicle:<id>'
            version INTEGER NOT NULL,        -- 1, 2, ... per kind and scope
            created_at TEXT NOT NULL,
            folder TEXT NOT NULL,            -- the artifacts' folder, relative to the catalog's
            artifacts_json TEXT NOT NULL,    -- {file name: SHA-256 hex}
            metadata_json TEXT NOT NULL,
            PRIMARY KEY (kind, scope, version)
        )"""
    )
    db.execute(
        """CREATE TABLE model_active (
            kind TEXT NOT NULL,
            scope TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (kind, scope)
        )"""
    )
    db.execute(
        """CREATE TABLE model_events (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            scope TEXT NOT NULL,
            version INTEGER,                 -- null for a refused candidate
            at TEXT NOT NULL,
            event TEXT NOT NULL,             -- trained, refused, activated, rolled back, imported
            detail_json TEXT NOT NULL DEFAULT '{}'
        )"""
    )


def _v6_to_v7(db: sqlite3.Connection) -> None:
    # Each run's peak power, worked out once from its samples: when the run is saved, or, for a
    # run saved before this step, the first time the run library shows it. No row: not worked
    # out yet; a row with no power: the run file has no power readings.
    if not db.in_transaction:
        db.execute("BEGIN")
    db.execute(
        """CREATE TABLE run_peaks (
            run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
            peak_power_hp REAL,              -- observed (uncorrected); NULL: no power readings
            peak_power_rpm REAL,             -- the engine speed there; NULL: none read
            computed_at TEXT NOT NULL
        )"""
    )


# MIGRATIONS[n] brings a version-n database to version n+1 (PRAGMA user_version).
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v0_to_v1,
    _v1_to_v2,
    _v2_to_v3,
    _v3_to_v4,
    _v4_to_v5,
    _v5_to_v6,
    _v6_to_v7,
]
SCHEMA_VERSION = len(MIGRATIONS)
