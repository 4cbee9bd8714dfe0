"""Tunes and every version of them (schema 1), tables stored as Table CSV text; each version's
locked and knock-prone cells beside them (schema 3)."""

from __future__ import annotations

import json

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table_csv import format_table_csv, parse_table_csv
from dynoai_desktop.core.tune import Cells, ChangeSource, TableDiff, Tune, TuneHistory
from dynoai_desktop.storage.catalog.connection import CatalogBase
from dynoai_desktop.storage.catalog.records import TuneRecord


class TunesMixin(CatalogBase):
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
            "INSERT INTO tune_versions (tune_id, number, made_by, made_at, note, tables_json,"
            " marks_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tune_id, number, str(made_by), when, note, json.dumps(tables),
             json.dumps(_marks_to_json(tune))),
        )

    def newest_version(self, tune_id: int) -> int:
        """The number of the tune's newest version."""
        last = self._db.execute(
            "SELECT MAX(number) FROM tune_versions WHERE tune_id = ?", (tune_id,)
        ).fetchone()[0]
        if last is None:
            raise InputError(f"there is no tune {tune_id} in the catalog {self.path}")
        return int(last)

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
            "SELECT number, made_by, made_at, note, tables_json, marks_json FROM tune_versions"
            " WHERE tune_id = ? ORDER BY number",
            (tune_id,),
        ).fetchall()
        for number, made_by, when, note, tables_json, marks_json in rows:
            try:
                stored = json.loads(tables_json)
                tables = {
                    name: parse_table_csv(text, source=f"tune {tune_id} table {name!r}")
                    for name, text in stored.items()
                }
                made = ChangeSource(made_by)
                marks = json.loads(marks_json)
                locked = _cells_from_json(marks.get("locked", {}), tables)
                prone = _cells_from_json(marks.get("knock_prone", {}), tables)
            except InputError:
                raise
            except (ValueError, TypeError, AttributeError) as exc:
                raise InputError(
                    f"version {number} of tune {tune_id} in the catalog {self.path} cannot be "
                    f"read ({exc}); restore an earlier version or import the tune again"
                ) from None
            history.record(Tune(tables, spec, source, locked, prone), made, when, note)
        return history

    def restore(self, tune_id: int, number: int, when: str) -> Tune:
        """Make version ``number`` current again (recorded as a new 'restore' version)."""
        history = self.history(tune_id)
        restored = history.restore(number, when)
        self.record_version(tune_id, restored.tune, ChangeSource.RESTORE, when, restored.note)
        return restored.tune


def _marks_to_json(tune: Tune) -> dict[str, dict[str, list[list[int]]]]:
    def cells(marks: dict[str, Cells]) -> dict[str, list[list[int]]]:
        return {name: sorted([r, c] for r, c in found) for name, found in marks.items() if found}

    out = {"locked": cells(dict(tune.locked)), "knock_prone": cells(dict(tune.knock_prone))}
    return {kind: marks for kind, marks in out.items() if marks}


def _cells_from_json(stored: object, tables: dict[str, object]) -> dict[str, Cells]:
    """{table: cells} from its JSON form; cells of a table the version does not hold are
    dropped. ValueError/TypeError on anything else than lists of [row, column] pairs."""
    if not isinstance(stored, dict):
        raise TypeError(f"marks are {type(stored).__name__}, not an object")
    out: dict[str, Cells] = {}
    for name, pairs in stored.items():
        cells = frozenset((r, c) for r, c in pairs)
        if any(not isinstance(i, int) or isinstance(i, bool) or i < 0 for cell in cells
               for i in cell):
            raise ValueError(f"the marked cells of {name!r} are not [row, column] pairs")
        if name in tables and cells:
            out[name] = cells
    return out


def describe_changes(changes: tuple[TableDiff, ...]) -> str:
    """One line for a history list: '12 cells of VE (MAP based/Front Cyl)', ..."""
    parts = []
    for change in changes:
        if change.kind == "cells":
            parts.append(f"{len(change.cells)} cells of {change.name}")
        else:
            parts.append(f"{change.name} {change.kind}")
    return "; ".join(parts) or "no change"
