"""Training records (schema 5): what every tuning session taught, kept as the JSON of one
training-data session (docs/formats.md "Training data"; extracted in ``ml.training``), with the
tuner's switch that leaves it out of the dataset: the ``excluded`` column holds 0 (in), 1 (left
out by the tuner) or 2 (in although the anomaly detector flagged it: the tuner's override).

A session has at most one record; extracting it again replaces the record and keeps the switch.
Records imported from another shop's dataset have no session here: they are kept beside them
under the id the file gave them. The catalog checks a record is a JSON object and nothing more:
reading it as a training session, and the schema, are ``ml``'s.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog.connection import CatalogBase, text_value, time_value

TrainingRow = tuple[int, str, bool]
"""(session id, record JSON, excluded)."""
ImportedRow = tuple[str, str, bool]
"""(record id, record JSON, excluded)."""
EXCLUDED, USED_ANYWAY = 1, 2
"""The ``excluded`` column's values beside 0: left out by the tuner; used although flagged."""
# Finished runs count; a run still recording has no file yet.
_FINISHED = "status IN ('complete', 'recovered')"


def _record_json(value: object, what: str) -> str:
    text = text_value(value, what, required=True)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise InputError(f"{what} is not JSON; a training record is one JSON object") from None
    if not isinstance(data, dict):
        raise InputError(f"{what} is JSON {type(data).__name__}, not an object; a training "
                         "record is one JSON object")
    return text


def _version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"training record schema_version must be a whole number >= 1, got "
                         f"{value!r}")
    return value


def _rows(rows: list[tuple[object, ...]]) -> list[tuple[object, str, bool]]:
    # A damaged cell can hold a number where text was: it reads as text, and fails as JSON above.
    return [(key, text if isinstance(text, str) else str(text), excluded == EXCLUDED)
            for key, text, excluded in rows]


class TrainingMixin(CatalogBase):
    # ------------------------------------------------------------------ the shop's sessions

    def put_training_record(
        self,
        session_id: int,
        record_json: str,
        when: str | datetime | None = None,
        schema_version: int = 1,
    ) -> None:
        """Keep ``record_json`` (one training session as JSON, written in training-data schema
        ``schema_version``) as the session's record, replacing the one it had; whether it is
        excluded stays as the tuner set it. ``when`` (extracted at) defaults to now."""
        self._require("sessions", session_id, "session")
        values = (session_id, _record_json(record_json, f"training record of session "
                                                        f"{session_id}"),
                  time_value(when, "training record extracted_at"), _version(schema_version))
        try:
            with self._db:
                self._db.execute(
                    "INSERT INTO training_records (session_id, record_json, extracted_at,"
                    " schema_version) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (session_id) DO UPDATE SET record_json = excluded.record_json,"
                    " extracted_at = excluded.extracted_at,"
                    " schema_version = excluded.schema_version",
                    values,
                )
        except sqlite3.IntegrityError as exc:  # checked before; a second cell may race us
            raise InputError(f"the catalog {self.path} refused the change ({exc})") from None

    def training_record(self, session_id: int) -> str | None:
        """The session's record (JSON), None when it has none."""
        self._require("sessions", session_id, "session")
        row = self._db.execute(
            "SELECT record_json FROM training_records WHERE session_id = ?", (session_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_training_excluded(self, session_id: int, excluded: bool) -> None:
        """Leave the session's record out of the dataset (True) or put it back (False)."""
        self._require("sessions", session_id, "session")
        with self._db:
            cur = self._db.execute(
                "UPDATE training_records SET excluded = ? WHERE session_id = ?",
                (int(bool(excluded)), session_id),
            )
        if cur.rowcount == 0:
            raise InputError(f"session {session_id} has no training record yet, so it cannot be "
                             f"{'excluded' if excluded else 'included'}; record a run first")

    def set_training_used_anyway(self, session_id: int, used: bool) -> None:
        """Use the session's record although the anomaly detector flags it (True; it is also
        put back if excluded), or let the flag keep it out again (False)."""
        self._require("sessions", session_id, "session")
        with self._db:
            cur = self._db.execute(
                "UPDATE training_records SET excluded = ? WHERE session_id = ?",
                (USED_ANYWAY if used else 0, session_id),
            )
        if cur.rowcount == 0:
            raise InputError(f"session {session_id} has no training record yet; record a run "
                             "first")

    def training_used_anyway(self) -> set[int]:
        """Sessions whose record the tuner uses although it is flagged."""
        rows = self._db.execute("SELECT session_id FROM training_records WHERE excluded = ?",
                                (USED_ANYWAY,)).fetchall()
        return {int(r[0]) for r in rows}

    def training_records(self, include_excluded: bool = False) -> list[TrainingRow]:
        """(session id, record JSON, excluded) of every session's record, by session id; the
        excluded ones only when asked."""
        where = "" if include_excluded else f" WHERE excluded != {EXCLUDED}"
        rows = self._db.execute(
            f"SELECT session_id, record_json, excluded FROM training_records{where}"
            " ORDER BY session_id"
        ).fetchall()
        return _rows(rows)  # type: ignore[return-value]

    def delete_training_record(self, session_id: int) -> bool:
        """Forget the session's record; True when it had one."""
        self._require("sessions", session_id, "session")
        with self._db:
            cur = self._db.execute("DELETE FROM training_records WHERE session_id = ?",
                                   (session_id,))
        return cur.rowcount == 1

    def stale_training_sessions(self, schema_version: int) -> list[int]:
        """Sessions whose record needs extracting (again), oldest first: sessions with finished
        runs and no record, a record listing fewer or more runs than the session has finished
        (a run saved after it was extracted; the app closed before it was), or a record written
        in another training-data schema than ``schema_version``."""
        _version(schema_version)
        # A damaged record (not JSON) counts as stale: extracting it again mends it.
        listed = ("CASE WHEN typeof(t.record_json) = 'text' AND json_valid(t.record_json)"
                  " THEN IFNULL(json_array_length(t.record_json, '$.runs'), -1) ELSE -1 END")
        rows = self._db.execute(
            f"SELECT s.id FROM sessions s"
            f" JOIN (SELECT session_id, COUNT(*) AS n FROM runs WHERE {_FINISHED}"
            f"       GROUP BY session_id) r ON r.session_id = s.id"
            f" LEFT JOIN training_records t ON t.session_id = s.id"
            f" WHERE t.session_id IS NULL OR t.schema_version IS NOT ? OR {listed} != r.n"
            f" ORDER BY s.started_at, s.id",
            (schema_version,),
        ).fetchall()
        return [int(row[0]) for row in rows]

    # ------------------------------------------------------------------ imported
    def put_imported_training_record(
        self,
        record_id: str,
        record_json: str,
        when: str | datetime | None = None,
        schema_version: int = 1,
    ) -> bool:
        """Keep a record imported from a dataset file under ``record_id`` (the session id the
        file gave it); True when new, False when it replaced one of that id (whose switch
        stays). ``when`` (imported at) defaults to now."""
        key = text_value(record_id, "imported training record id", required=True).strip()
        values = (key, _record_json(record_json, f"imported training record {key!r}"),
                  time_value(when, "training record imported_at"), _version(schema_version))
        with self._db:
            had = self._db.execute(
                "SELECT 1 FROM imported_training_records WHERE record_id = ?", (key,)
            ).fetchone()
            self._db.execute(
                "INSERT INTO imported_training_records (record_id, record_json, imported_at,"
                " schema_version) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (record_id) DO UPDATE SET record_json = excluded.record_json,"
                " imported_at = excluded.imported_at, schema_version = excluded.schema_version",
                values,
            )
        return had is None

    def imported_training_record(self, record_id: str) -> str | None:
        row = self._db.execute(
            "SELECT record_json FROM imported_training_records WHERE record_id = ?",
            (text_value(record_id, "imported training record id").strip(),),
        ).fetchone()
        return None if row is None else str(row[0])

    def set_imported_training_excluded(self, record_id: str, excluded: bool) -> None:
        key = text_value(record_id, "imported training record id").strip()
        with self._db:
            cur = self._db.execute(
                "UPDATE imported_training_records SET excluded = ? WHERE record_id = ?",
                (int(bool(excluded)), key),
            )
        if cur.rowcount == 0:
            raise InputError(f"there is no imported training record {key!r} in the catalog "
                             f"{self.path}")

    def set_imported_training_used_anyway(self, record_id: str, used: bool) -> None:
        key = text_value(record_id, "imported training record id").strip()
        with self._db:
            cur = self._db.execute(
                "UPDATE imported_training_records SET excluded = ? WHERE record_id = ?",
                (USED_ANYWAY if used else 0, key),
            )
        if cur.rowcount == 0:
            raise InputError(f"there is no imported training record {key!r} in the catalog "
                             f"{self.path}")

    def imported_training_used_anyway(self) -> set[str]:
        rows = self._db.execute(
            "SELECT record_id FROM imported_training_records WHERE excluded = ?",
            (USED_ANYWAY,)).fetchall()
        return {str(r[0]) for r in rows}

    def imported_training_records(self, include_excluded: bool = False) -> list[ImportedRow]:
        """(record id, record JSON, excluded) of every imported record, in the order they were
        imported; the excluded ones only when asked."""
        where = "" if include_excluded else f" WHERE excluded != {EXCLUDED}"
        rows = self._db.execute(
            f"SELECT record_id, record_json, excluded FROM imported_training_records{where}"
            " ORDER BY rowid"
        ).fetchall()
        return [(str(key), text, excluded) for key, text, excluded in _rows(rows)]

    def delete_imported_training_record(self, record_id: str) -> bool:
        with self._db:
            cur = self._db.execute(
                "DELETE FROM imported_training_records WHERE record_id = ?",
                (text_value(record_id, "imported training record id").strip(),),
            )
        return cur.rowcount == 1
