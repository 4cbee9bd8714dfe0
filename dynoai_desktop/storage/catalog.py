"""The shop's catalog: one SQLite file in the platform's data directory.

This first schema keeps tunes and every version of them (ARCHITECTURE.md "Storage"); later
schema versions add customers, vehicles, sessions, runs, coverage and training records through
:data:`MIGRATIONS`. Tables are stored as Table CSV text, which round-trips every value and the
raw layout exactly.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table_csv import format_table_csv, parse_table_csv
from dynoai_desktop.core.tune import ChangeSource, TableDiff, Tune, TuneHistory
from dynoai_desktop.storage.settings import APP_AUTHOR, APP_NAME

DATA_DIR_ENV = "DYNOAI_DATA_DIR"
CATALOG_FILE = "catalog.sqlite"


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


# MIGRATIONS[n] brings a version-n database to version n+1 (PRAGMA user_version).
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v0_to_v1]
SCHEMA_VERSION = len(MIGRATIONS)


def default_data_dir() -> Path:
    """``DYNOAI_DATA_DIR`` when set (read now, not at import), else the platform's directory."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


@dataclass(frozen=True)
class TuneRecord:
    id: int
    name: str
    source: str


class Catalog:
    """Open (creating or migrating as needed) the catalog at ``path``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_data_dir() / CATALOG_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._migrate()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: the catalog is from a newer DynoAI (schema {version}, this one "
                f"knows {SCHEMA_VERSION}); update DynoAI to open it"
            )
        while version < SCHEMA_VERSION:
            with self._db:
                MIGRATIONS[version](self._db)
                version += 1
                self._db.execute(f"PRAGMA user_version = {version}")

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


def describe_changes(changes: tuple[TableDiff, ...]) -> str:
    """One line for a history list: '12 cells of VE (MAP based/Front Cyl)', ..."""
    parts = []
    for change in changes:
        if change.kind == "cells":
            parts.append(f"{len(change.cells)} cells of {change.name}")
        else:
            parts.append(f"{change.name} {change.kind}")
    return "; ".join(parts) or "no change"
