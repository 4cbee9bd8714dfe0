"""Training records in the catalog (schema 5): one per session, replaced when extracted again
with the tuner's exclude switch kept; imported records beside them; which sessions need
extracting; migration from schema 4 and damage."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from dynoai_desktop.core.build_spec import BuildSpec, EngineFamily
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog import Catalog, CatalogDamaged
from dynoai_desktop.storage.catalog import schema as catalog_schema


def _record(session: str, runs: int = 1, **extra: object) -> str:
    return json.dumps({"session_id": session, "runs": [{"name": f"pull {n}"}
                                                       for n in range(runs)], **extra})


def _session(catalog: Catalog, runs: int = 1, when: str = "2026-11-22T10:00:00") -> int:
    customer = catalog.add_customer("Dana Ortiz")
    bike = catalog.add_vehicle(customer, "2016 Low Rider S", BuildSpec.stock(EngineFamily.TC103))
    session = catalog.start_session(bike, when)
    for n in range(runs):
        _run(catalog, session, n)
    return session


def _run(catalog: Catalog, session: int, n: int, finish: bool = True) -> int:
    run = catalog.add_run(session, f"pull {n}", f"2026-11-22T10:0{n}:00",
                          catalog.new_run_file(session, f"2026-11-22T10:0{n}:00"))
    if finish:
        catalog.finish_run(run, f"2026-11-22T10:0{n}:40", 40.0, 4000)
    return run


def test_a_sessions_record_is_kept_replaced_and_its_switch_survives(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as catalog:
        session = _session(catalog)
        assert catalog.training_record(session) is None
        catalog.put_training_record(session, _record("session:1"), when="2026-11-22T11:00:00")
        catalog.set_training_excluded(session, True)
        catalog.put_training_record(session, _record("session:1", runs=2))  # extracted again
    with Catalog(path) as catalog:
        assert catalog.training_record(session) == _record("session:1", runs=2)
        assert catalog.training_records() == []  # still excluded
        assert catalog.training_records(include_excluded=True) == [
            (session, _record("session:1", runs=2), True)]
        catalog.set_training_excluded(session, False)
        assert catalog.training_records() == [(session, _record("session:1", runs=2), False)]
        row = catalog._db.execute("SELECT extracted_at, schema_version FROM training_records"
                                  ).fetchone()
        assert row[0] != "2026-11-22T11:00:00" and row[1] == 1  # the second extraction's
        assert catalog.delete_training_record(session) is True
        assert catalog.delete_training_record(session) is False
        assert catalog.training_record(session) is None


def test_records_list_by_session_and_leave_excluded_ones_out() -> None:
    with Catalog() as catalog:
        sessions = [_session(catalog) for _ in range(3)]
        for s in reversed(sessions):
            catalog.put_training_record(s, _record(f"session:{s}"), schema_version=1)
        catalog.set_training_excluded(sessions[1], True)
        assert [r[0] for r in catalog.training_records()] == [sessions[0], sessions[2]]
        assert [(r[0], r[2]) for r in catalog.training_records(include_excluded=True)] == [
            (sessions[0], False), (sessions[1], True), (sessions[2], False)]


def test_a_flagged_record_the_tuner_uses_anyway_is_listed_and_remembered(tmp_path: Path
                                                                          ) -> None:
    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as catalog:
        sessions = [_session(catalog) for _ in range(2)]
        for s in sessions:
            catalog.put_training_record(s, _record(f"session:{s}"))
        catalog.set_training_used_anyway(sessions[0], True)
        catalog.put_imported_training_record("other:1", _record("other:1"))
        catalog.set_imported_training_used_anyway("other:1", True)
    with Catalog(path) as catalog:
        assert catalog.training_used_anyway() == {sessions[0]}
        assert catalog.imported_training_used_anyway() == {"other:1"}
        assert [r[2] for r in catalog.training_records()] == [False, False]  # both in
        catalog.set_training_excluded(sessions[0], True)  # the tuner's switch wins
        assert catalog.training_used_anyway() == set()
        assert [r[0] for r in catalog.training_records()] == [sessions[1]]
        with pytest.raises(InputError, match="no training record"):
            catalog.set_training_used_anyway(_session(catalog), True)


def test_which_sessions_need_extracting() -> None:
    with Catalog() as catalog:
        no_runs = _session(catalog, runs=0)
        recording = _session(catalog, runs=0)
        _run(catalog, recording, 0, finish=False)  # still recording: nothing to read yet
        fresh = _session(catalog, runs=2)
        catalog.put_training_record(fresh, _record("a", runs=2))
        missing = _session(catalog, runs=1)
        behind = _session(catalog, runs=1)
        catalog.put_training_record(behind, _record("b", runs=1))
        _run(catalog, behind, 1)  # saved after the record was made
        old_schema = _session(catalog, runs=1)
        catalog.put_training_record(old_schema, _record("c"), schema_version=1)
        damaged = _session(catalog, runs=1)
        catalog.put_training_record(damaged, _record("d"))
        with catalog._db:
            catalog._db.execute("UPDATE training_records SET record_json = '{\"runs\": [' "
                                "WHERE session_id = ?", (damaged,))
        excluded = _session(catalog, runs=1)
        catalog.put_training_record(excluded, _record("e", runs=0))
        catalog.set_training_excluded(excluded, True)
        assert catalog.stale_training_sessions(1) == [missing, behind, damaged, excluded]
        assert catalog.stale_training_sessions(2) == [fresh, missing, behind, old_schema,
                                                      damaged, excluded]
        assert no_runs not in catalog.stale_training_sessions(2)


def test_imported_records_are_kept_by_their_own_id() -> None:
    with Catalog() as catalog:
        assert catalog.put_imported_training_record("shop-b:17", _record("shop-b:17")) is True
        assert catalog.put_imported_training_record(" sim:3 ", _record("sim:3")) is True
        catalog.set_imported_training_excluded("sim:3", True)
        assert catalog.put_imported_training_record("sim:3", _record("sim:3", runs=4)) is False
        assert catalog.imported_training_records() == [
            ("shop-b:17", _record("shop-b:17"), False)]
        assert catalog.imported_training_records(include_excluded=True)[1] == (
            "sim:3", _record("sim:3", runs=4), True)
        assert catalog.imported_training_record("sim:3") == _record("sim:3", runs=4)
        assert catalog.imported_training_record("nothing") is None
        assert catalog.delete_imported_training_record("sim:3") is True
        assert catalog.imported_training_records(include_excluded=True) == [
            ("shop-b:17", _record("shop-b:17"), False)]
        with pytest.raises(InputError, match="no imported training record 'sim:3'"):
            catalog.set_imported_training_excluded("sim:3", False)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("", "training record of session 1 is empty"),
        (42, "training record of session 1 must be text"),
        ("{", "training record of session 1 is not JSON"),
        ("[1, 2]", "is JSON list, not an object"),
    ],
)
def test_a_record_that_is_not_a_json_object_is_refused(record: object, message: str) -> None:
    with Catalog() as catalog:
        session = _session(catalog)
        with pytest.raises(InputError, match=message):
            catalog.put_training_record(session, record)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="imported training record 'x'"):
            catalog.put_imported_training_record("x", "[]")
        assert catalog.training_records(include_excluded=True) == []


def test_unknown_sessions_and_bad_values_are_named() -> None:
    with Catalog() as catalog:
        session = _session(catalog)
        with pytest.raises(InputError, match="there is no session 99 in the catalog"):
            catalog.put_training_record(99, _record("x"))
        with pytest.raises(InputError, match="there is no session 99"):
            catalog.training_record(99)
        with pytest.raises(InputError, match="session 1 has no training record yet"):
            catalog.set_training_excluded(session, True)
        with pytest.raises(InputError, match="schema_version must be a whole number >= 1"):
            catalog.put_training_record(session, _record("x"), schema_version=0)
        with pytest.raises(InputError, match="extracted_at = 'today' is not an ISO 8601"):
            catalog.put_training_record(session, _record("x"), when="today")
        with pytest.raises(InputError, match="imported training record id is empty"):
            catalog.put_imported_training_record(" ", _record("x"))


def test_a_session_deleted_from_the_file_takes_its_record_with_it() -> None:
    with Catalog() as catalog:
        session = _session(catalog, runs=0)
        catalog.put_training_record(session, _record("x"))
        with catalog._db:
            catalog._db.execute("DELETE FROM sessions WHERE id = ?", (session,))
        assert catalog.training_records(include_excluded=True) == []


def test_a_version_4_catalog_migrates_with_its_sessions_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v4.sqlite"
    with monkeypatch.context() as m:  # the DynoAI that knew schema 4
        m.setattr(catalog_schema, "SCHEMA_VERSION", 4)
        with Catalog(path) as old:
            session = _session(old, runs=2)
            old.add_coverage(old.session(session).vehicle_id, "ve_front", "run:1", "map_kpa",
                             [1000, 2000], [30, 60], [[1.0, 0.5], [0.0, 2.0]], [[1, 1], [0, 2]])
            before = (old.session(session), old.runs(session))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    db.close()
    with Catalog(path) as catalog:
        assert catalog._db.execute("PRAGMA user_version").fetchone()[0] == \
            catalog_schema.SCHEMA_VERSION >= 5
        assert (catalog.session(session), catalog.runs(session)) == before
        assert len(catalog.coverage_runs(catalog.session(session).vehicle_id)) == 1
        assert catalog.training_records() == [] and catalog.imported_training_records() == []
        assert catalog.stale_training_sessions(1) == [session]
        catalog.put_training_record(session, _record("s", runs=2))
    with Catalog(path) as catalog:  # opens clean: the new tables are the ones the step made
        assert catalog.stale_training_sessions(1) == []


@pytest.mark.parametrize("table", ["training_records", "imported_training_records"])
def test_a_training_table_changed_by_hand_is_damage(tmp_path: Path, table: str) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute(f"DROP TABLE {table}")
        db.execute(f"CREATE TABLE {table} (session_id INTEGER, record_json TEXT)")
    db.close()
    with pytest.raises(CatalogDamaged, match=f"its table '{table}' has a missing or changed"):
        Catalog(path)


@pytest.mark.parametrize("damaged", [42, b"\xff\xfe", "not json", "[1]"])
def test_a_damaged_record_reads_back_as_text_never_a_crash(damaged: object) -> None:
    with Catalog() as catalog:
        session = _session(catalog)
        catalog.put_training_record(session, _record("x"))
        with catalog._db:
            catalog._db.execute("UPDATE training_records SET record_json = ?", (damaged,))
        [(found, text, excluded)] = catalog.training_records()
        assert found == session and isinstance(text, str) and excluded is False
        assert catalog.stale_training_sessions(1) == [session]  # extracting again mends it
