"""The model registry's rows (schema 6): every model version with its artifacts' folder and
SHA-256s and its metadata, the active version per kind and scope, and their history.

The catalog keeps text and numbers only: writing the artifacts, checking their hashes and
reading them is ``ml.registry``'s, which never loads a file whose hash this table does not vouch
for.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog.connection import CatalogBase, now_iso


@dataclass(frozen=True)
class ModelRow:
    """One stored model version."""

    kind: str
    scope: str
    version: int
    created_at: str
    folder: str  # relative to the catalog's folder
    artifacts: dict[str, str]  # file name -> SHA-256 hex
    metadata: dict[str, Any]


@dataclass(frozen=True)
class ModelEvent:
    kind: str
    scope: str
    version: int | None
    at: str
    event: str
    detail: dict[str, Any]


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


class ModelsMixin(CatalogBase):
    def add_model_version(self, kind: str, scope: str, folder: str, artifacts: dict[str, str],
                          metadata: dict[str, Any], created_at: str | None = None) -> int:
        """Store a new version of ``kind`` in ``scope`` and return its number (1, 2, ...)."""
        try:
            with self._db:
                row = self._db.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM model_versions"
                    " WHERE kind = ? AND scope = ?", (kind, scope)).fetchone()
                version = int(row[0]) + 1
                self._db.execute(
                    "INSERT INTO model_versions (kind, scope, version, created_at, folder,"
                    " artifacts_json, metadata_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, scope, version, created_at or now_iso(), folder,
                     json.dumps(artifacts, sort_keys=True),
                     json.dumps(metadata, sort_keys=True, ensure_ascii=False)))
        except sqlite3.IntegrityError as exc:
            raise InputError(f"the catalog {self.path} refused the model version ({exc})"
                             ) from None
        return version

    def next_model_version(self, kind: str, scope: str) -> int:
        row = self._db.execute("SELECT COALESCE(MAX(version), 0) FROM model_versions"
                               " WHERE kind = ? AND scope = ?", (kind, scope)).fetchone()
        return int(row[0]) + 1

    def model_versions(self, kind: str | None = None, scope: str | None = None
                       ) -> list[ModelRow]:
        """Stored versions (of ``kind`` / in ``scope`` when given), oldest first."""
        sql = ("SELECT kind, scope, version, created_at, folder, artifacts_json, metadata_json"
               " FROM model_versions WHERE (? IS NULL OR kind = ?) AND (? IS NULL OR scope = ?)"
               " ORDER BY kind, scope, version")
        rows = self._db.execute(sql, (kind, kind, scope, scope)).fetchall()
        return [ModelRow(str(k), str(s), int(v), str(c), str(f), _json_object(a),
                         _json_object(m)) for k, s, v, c, f, a, m in rows]

    def model_version(self, kind: str, scope: str, version: int) -> ModelRow | None:
        found = [r for r in self.model_versions(kind, scope) if r.version == version]
        return found[0] if found else None

    def active_model_version(self, kind: str, scope: str) -> int | None:
        row = self._db.execute("SELECT version FROM model_active WHERE kind = ? AND scope = ?",
                               (kind, scope)).fetchone()
        return None if row is None else int(row[0])

    def set_active_model_version(self, kind: str, scope: str, version: int | None) -> None:
        """Make ``version`` the active one (None: no stored version is active)."""
        with self._db:
            self._db.execute("DELETE FROM model_active WHERE kind = ? AND scope = ?",
                             (kind, scope))
            if version is not None:
                self._db.execute("INSERT INTO model_active (kind, scope, version)"
                                 " VALUES (?, ?, ?)", (kind, scope, version))

    def add_model_event(self, kind: str, scope: str, version: int | None, event: str,
                        detail: dict[str, Any] | None = None, at: str | None = None) -> None:
        self._insert("INSERT INTO model_events (kind, scope, version, at, event, detail_json)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     (kind, scope, version, at or now_iso(), event,
                      json.dumps(detail or {}, sort_keys=True, ensure_ascii=False)))

    def model_events(self, kind: str, scope: str | None = None) -> list[ModelEvent]:
        """The history of ``kind`` (in ``scope`` when given), oldest first."""
        rows = self._db.execute(
            "SELECT kind, scope, version, at, event, detail_json FROM model_events"
            " WHERE kind = ? AND (? IS NULL OR scope = ?) ORDER BY id", (kind, scope, scope)
        ).fetchall()
        return [ModelEvent(str(k), str(s), None if v is None else int(v), str(a), str(e),
                           _json_object(d)) for k, s, v, a, e, d in rows]
