"""Tunes and their history kept in the SQLite catalog, exactly, across reopening."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, CamSpec, EngineFamily, Exhaust
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import PeakPower
from dynoai_desktop.core.table_csv import format_table_csv
from dynoai_desktop.core.table_ops import scale_cells, select_rect
from dynoai_desktop.core.tune import VE_FRONT_MAP, ChangeSource, Tune
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.catalog import (
    Catalog,
    CatalogUnavailable,
    Customer,
    default_data_dir,
    describe_changes,
)
from dynoai_desktop.storage.catalog import schema as catalog_schema
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.run_files import Marker
from dynoai_desktop.storage.settings import DevicePort


def _tune() -> Tune:
    front, rear = demo_base_tables()[0]
    return Tune(
        {front.name: front, rear.name: rear}, BuildSpec.stock(EngineFamily.TC103), "demo.pvv"
    )


def test_the_catalog_lives_in_the_data_dir_tests_point_elsewhere(tmp_path: Path) -> None:
    assert default_data_dir() == tmp_path / "data"
    with Catalog() as catalog:
        assert catalog.path == tmp_path / "data" / "catalog.sqlite"


def test_restoring_a_version_from_history_gives_back_exactly_the_earlier_tables() -> None:
    tune = _tune()
    with Catalog() as catalog:
        tune_id = catalog.add_tune("Customer FLHX", tune, "2026-11-22T10:00:00")
        front = tune.table(VE_FRONT_MAP)
        leaner = tune.with_table(scale_cells(front, select_rect(front, slice(2, 6), [3, 4]), 4.0))
        catalog.record_version(tune_id, leaner, ChangeSource.AUTOTUNE, "2026-11-22T10:30:00")
    with Catalog() as catalog:  # reopened: nothing lives only in memory
        history = catalog.history(tune_id)
        assert [v.made_by for v in history.versions] == [ChangeSource.IMPORT, ChangeSource.AUTOTUNE]
        assert describe_changes(history.versions[1].changes) == f"8 cells of {VE_FRONT_MAP}"
        restored = catalog.restore(tune_id, 1, "2026-11-22T11:00:00")
        assert restored.tables == tune.tables
        assert np.array_equal(restored.table(VE_FRONT_MAP).values, tune.table(VE_FRONT_MAP).values)
        again = catalog.history(tune_id)
        assert len(again.versions) == 3 and again.latest.tune.tables == tune.tables
        assert again.latest.tune.build_spec == tune.build_spec


def test_a_catalog_from_a_newer_dynoai_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {catalog_schema.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(InputError, match="newer DynoAI"):
        Catalog(path)


def test_an_unknown_tune_is_named() -> None:
    with Catalog() as catalog, pytest.raises(InputError, match="no tune 42"):
        catalog.history(42)


# ---------------------------------------------------------------- schema 2: the shop's work


def _low_rider() -> BuildSpec:
    return replace(
        BuildSpec.stock(EngineFamily.TC103),
        stage=2,
        cam=CamSpec("S&S 585", intake_lift_in=0.585, exhaust_lift_in=0.585),
        exhaust=Exhaust.TWO_INTO_ONE,
        air_cleaner=AirCleaner.HIGH_FLOW,
        altitude_m=1600.0,
    )


def test_customer_vehicle_session_runs_are_kept_across_reopening() -> None:
    devices = (DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001"),)
    weather = Weather(baro_kpa=84.1, ambient_temp_c=21.0, humidity_pct=30.0, correction_factor=1.18)
    with Catalog() as catalog:
        cust = catalog.add_customer(
            "Dana Ortiz", phone="555-0100", email="dana@example.com", when="2026-11-22T09:00:00"
        )
        bike = catalog.add_vehicle(cust, "2016 Low Rider S", _low_rider(), vin="1HD1GXM16GC300001")
        tune_id = catalog.add_tune("Low Rider base", _tune(), "2026-11-22T09:05:00")
        session = catalog.start_session(
            bike, "2026-11-22T10:00:00", operator="Sam", tune_id=tune_id
        )
        first = catalog.add_run(
            session,
            "pull 1",
            "2026-11-22T10:05:00",
            catalog.new_run_file(session, "2026-11-22T10:05:00"),
            devices=devices,
            weather=weather,
            tune_version_id=1,
        )
        second = catalog.add_run(
            session, "pull 2", "2026-11-22T10:09:00", catalog.data_dir / "runs" / "pull2.parquet"
        )
        catalog.finish_run(
            first, "2026-11-22T10:05:42", 42.0, 4200, markers=(Marker(12.5, "knock at 4100"),)
        )
        catalog.end_session(session, "2026-11-22T11:00:00")
    with Catalog() as catalog:
        assert catalog.customers() == [
            Customer(cust, "Dana Ortiz", "555-0100", "dana@example.com", "", "2026-11-22T09:00:00")
        ]
        [vehicle] = catalog.vehicles(cust)
        assert (vehicle.id, vehicle.name, vehicle.vin) == (
            bike,
            "2016 Low Rider S",
            "1HD1GXM16GC300001",
        )
        assert vehicle.build_spec == _low_rider()  # the whole build, round-tripped
        [sess] = catalog.sessions(bike)
        assert (sess.started_at, sess.ended_at, sess.operator, sess.tune_id) == (
            "2026-11-22T10:00:00",
            "2026-11-22T11:00:00",
            "Sam",
            tune_id,
        )
        runs = catalog.runs(session)
        assert [r.id for r in runs] == [first, second]
        done = catalog.run(first)
        assert done == runs[0]
        assert (done.status, done.duration_s, done.rows, done.ended_at) == (
            "complete",
            42.0,
            4200,
            "2026-11-22T10:05:42",
        )
        assert done.file == "runs/session-0001/20261122T100500.parquet"
        assert catalog.run_path(done) == catalog.data_dir / done.file
        assert done.devices == devices and done.weather == weather
        assert done.markers == (Marker(12.5, "knock at 4100"),)
        assert done.tune_version_id == 1
        assert runs[1].file == "runs/pull2.parquet" and runs[1].status == "recording"
        assert runs[1].weather == Weather() and runs[1].rows is None
        assert [r.id for r in catalog.runs_for_vehicle(bike)] == [first, second]


def test_runs_still_recording_are_found_for_crash_recovery() -> None:
    with Catalog() as catalog:
        cust = catalog.add_customer("Shop")
        a = catalog.add_vehicle(cust, "2019 Street Glide", BuildSpec.stock(EngineFamily.M8_114))
        b = catalog.add_vehicle(cust, "2004 Sportster", BuildSpec.stock("sportster_1200"))
        s_a = catalog.start_session(a, "2026-11-22T10:00:00")
        s_b = catalog.start_session(b, "2026-11-22T12:00:00")
        done = catalog.add_run(s_a, "pull", "2026-11-22T10:01:00", "runs/a1.parquet")
        catalog.finish_run(done, "2026-11-22T10:02:00", 60, 6000)
        crashed = catalog.add_run(s_a, "hold", "2026-11-22T10:03:00", "runs/a2.parquet")
        other = catalog.add_run(s_b, "pull", "2026-11-22T12:01:00", "runs/b1.parquet")
        assert [r.id for r in catalog.runs_in_status("recording")] == [crashed, other]
        catalog.finish_run(crashed, "2026-11-22T13:00:00", 55.5, 5550, status="recovered")
        assert [r.id for r in catalog.runs_in_status("recording")] == [other]
        assert [r.id for r in catalog.runs_in_status("recovered")] == [crashed]
        assert [r.id for r in catalog.runs_for_vehicle(a)] == [done, crashed]
        assert [r.id for r in catalog.runs_for_vehicle(b)] == [other]
        assert catalog.new_run_file(s_a, "2026-11-22T10:03:00") == (
            f"runs/session-{s_a:04d}/20261122T100300.parquet"
        )
        with pytest.raises(InputError, match="run status 'crashed' is not valid"):
            catalog.runs_in_status("crashed")


def test_missing_parents_and_bad_values_are_named() -> None:
    with Catalog() as catalog:
        cust = catalog.add_customer("Shop")
        bike = catalog.add_vehicle(cust, "bike", BuildSpec.stock(EngineFamily.TC96))
        session = catalog.start_session(bike, "2026-11-22T10:00:00")
        run = catalog.add_run(session, "pull", "2026-11-22T10:01:00", "runs/x.parquet")
        refusals = [
            ("no customer 99", lambda: catalog.add_vehicle(99, "x", BuildSpec.stock("tc88"))),
            ("no customer 99", lambda: catalog.vehicles(99)),
            ("no vehicle 99", lambda: catalog.start_session(99, "2026-11-22T10:00:00")),
            ("no vehicle 99", lambda: catalog.sessions(99)),
            ("no vehicle 99", lambda: catalog.runs_for_vehicle(99)),
            ("no tune 7", lambda: catalog.start_session(bike, "2026-11-22T10:00:00", tune_id=7)),
            ("no session 99", lambda: catalog.add_run(99, "p", "2026-11-22T10:00:00", "r.pq")),
            ("no session 99", lambda: catalog.end_session(99, "2026-11-22T10:00:00")),
            ("no session 99", lambda: catalog.runs(99)),
            ("no run 99", lambda: catalog.finish_run(99, "2026-11-22T10:00:00", 1.0, 10)),
            ("no run 99", lambda: catalog.run(99)),
            (
                "session 1 has no tune",
                lambda: catalog.add_run(
                    session, "p", "2026-11-22T10:00:00", "r.pq", tune_version_id=1
                ),
            ),
            ("customer name is empty", lambda: catalog.add_customer("  ")),
            ("must be a BuildSpec", lambda: catalog.add_vehicle(cust, "x", {"stage": 1})),
            (
                "started_at = '22/11/2026' is not an ISO 8601",
                lambda: catalog.start_session(bike, "22/11/2026"),
            ),
            (
                "run status 'done' is not valid",
                lambda: catalog.add_run(session, "p", "2026-11-22T10:00:00", "r.pq", "done"),
            ),
            (
                "outside the data folder",
                lambda: catalog.add_run(session, "p", "2026-11-22T10:00:00", "/elsewhere/r.pq"),
            ),
            (
                "give a file path inside",
                lambda: catalog.add_run(session, "p", "2026-11-22T10:00:00", "../r.pq"),
            ),
            (
                "duration_s = -1 must be a number >= 0",
                lambda: catalog.finish_run(run, "2026-11-22T10:00:00", -1, 10),
            ),
            (
                "rows = 1.5 must be a whole number",
                lambda: catalog.finish_run(run, "2026-11-22T10:00:00", 1.0, 1.5),
            ),
        ]
        for message, call in refusals:
            with pytest.raises(InputError, match=message):
                call()
        assert [r.id for r in catalog.runs(session)] == [run]  # nothing half-stored


def test_the_database_itself_enforces_the_foreign_keys() -> None:
    with Catalog() as catalog:
        db = sqlite3.connect(catalog.path)
        db.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            db.execute(
                "INSERT INTO vehicles (customer_id, name, build_spec_json, created_at)"
                " VALUES (42, 'x', '{}', '2026-11-22')"
            )
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            db.execute(
                "INSERT INTO runs (session_id, name, started_at, file, status)"
                " VALUES (1, 'x', 't', 'f', 'lost')"
            )
        indexes = {
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
        db.close()
    assert {
        "vehicles_by_customer",
        "sessions_by_vehicle",
        "sessions_by_tune",
        "runs_by_session",
    } <= indexes


def _old_catalog(path: Path, schema_version: int, versions: list[tuple[Tune, ChangeSource]]
                 ) -> int:
    """A catalog as the DynoAI that knew ``schema_version`` left it: its migrations, and one
    tune's versions written as that DynoAI wrote them (tables as Table CSV text, nothing else)."""
    db = sqlite3.connect(path)
    for step in catalog_schema.MIGRATIONS[:schema_version]:
        with db:
            step(db)
    db.execute(f"PRAGMA user_version = {schema_version}")
    first = versions[0][0]
    assert first.build_spec is not None
    with db:
        cur = db.execute("INSERT INTO tunes (name, source, build_spec_json) VALUES (?, ?, ?)",
                         ("Customer FLHX", first.source, first.build_spec.to_json()))
        for number, (tune, made_by) in enumerate(versions, start=1):
            tables = {name: format_table_csv(t) for name, t in tune.tables.items()}
            db.execute("INSERT INTO tune_versions (tune_id, number, made_by, made_at, note, "
                       "tables_json) VALUES (?, ?, ?, ?, '', ?)",
                       (cur.lastrowid, number, str(made_by), f"2026-11-01T1{number}:00:00",
                        json.dumps(tables)))
    db.close()
    return int(cur.lastrowid or 0)


def test_a_version_1_catalog_with_tunes_migrates_to_the_current_version_and_keeps_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.sqlite"
    tune = _tune()
    front = tune.table(VE_FRONT_MAP)
    leaner = tune.with_table(scale_cells(front, select_rect(front, slice(0, 2), [1]), 3.0))
    tune_id = _old_catalog(path, 1, [(tune, ChangeSource.IMPORT), (leaner, ChangeSource.AUTOTUNE)])
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'runs'").fetchone() is None
    db.close()

    with Catalog(path) as catalog:
        assert catalog._db.execute("PRAGMA user_version").fetchone()[0] == \
            catalog_schema.SCHEMA_VERSION
        assert [t.name for t in catalog.tunes()] == ["Customer FLHX"]
        history = catalog.history(tune_id)
        assert [v.made_by for v in history.versions] == [ChangeSource.IMPORT, ChangeSource.AUTOTUNE]
        assert history.latest.tune.tables == leaner.tables
        assert history.versions[0].tune.build_spec == tune.build_spec
        cust = catalog.add_customer("FLHX owner")
        bike = catalog.add_vehicle(cust, "2012 Street Glide", BuildSpec.stock("tc103"))
        session = catalog.start_session(bike, "2026-11-22T10:00:00", tune_id=tune_id)
        run = catalog.add_run(
            session, "pull", "2026-11-22T10:01:00", "runs/p.parquet", tune_version_id=2
        )
        assert catalog.run(run).tune_version_id == 2
        with pytest.raises(InputError, match="no version 3 of tune"):
            catalog.add_run(
                session, "pull", "2026-11-22T10:01:00", "runs/q.parquet", tune_version_id=3
            )


def test_a_migration_that_fails_leaves_the_catalog_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v1.sqlite"
    with monkeypatch.context() as m:
        m.setattr(catalog_schema, "SCHEMA_VERSION", 1)
        Catalog(path).close()

    real_step = catalog_schema.MIGRATIONS[1]

    def breaks_halfway(db: sqlite3.Connection) -> None:
        real_step(db)
        error = sqlite3.OperationalError("disk I/O error")
        error.sqlite_errorcode = sqlite3.SQLITE_IOERR  # as SQLite itself sets it
        raise error

    with monkeypatch.context() as m:
        m.setattr(catalog_schema, "MIGRATIONS", [catalog_schema.MIGRATIONS[0], breaks_halfway])
        with pytest.raises(CatalogUnavailable, match="disk I/O error"):
            Catalog(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'customers'").fetchone() is None
    db.close()
    with Catalog(path) as catalog:  # and a later start migrates it cleanly
        assert catalog.customers() == []


# ---------------------------------------------------------------- schema 3: locked, knock-prone


def _marked(tune: Tune) -> Tune:
    front = tune.table(VE_FRONT_MAP)
    locked = np.zeros(front.shape, dtype=bool)
    locked[2, 3] = locked[9, 8] = True
    prone = np.zeros(front.shape, dtype=bool)
    prone[12, 7] = True
    return tune.with_locked(VE_FRONT_MAP, locked).with_knock_prone(VE_FRONT_MAP, prone)


def test_locked_and_knock_prone_cells_are_kept_with_each_version() -> None:
    tune = _tune()
    marked = _marked(tune)
    with Catalog() as catalog:
        tune_id = catalog.add_tune("Customer FLHX", tune, "2026-11-22T10:00:00")
        catalog.record_version(tune_id, marked, ChangeSource.MANUAL_EDIT, "2026-11-22T10:05:00")
    with Catalog() as catalog:  # reopened
        history = catalog.history(tune_id)
        first, second = (v.tune for v in history.versions)
        assert first.locked == {} and first.knock_prone == {}
        assert second == marked
        assert second.locked[VE_FRONT_MAP] == frozenset({(2, 3), (9, 8)})
        assert np.array_equal(second.knock_prone_mask(VE_FRONT_MAP),
                              marked.knock_prone_mask(VE_FRONT_MAP))
        assert describe_changes(history.latest.changes) == "no change"  # marks are not cells
        # A restore brings the tables back; the marks stay as they are now.
        restored = catalog.restore(tune_id, 1, "2026-11-22T11:00:00")
        assert restored.tables == tune.tables and restored.locked == marked.locked


def test_a_version_2_catalog_gains_marks_and_its_versions_have_none(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    tune = _tune()
    tune_id = _old_catalog(path, 2, [(tune, ChangeSource.IMPORT)])
    with Catalog(path) as catalog:
        assert catalog._db.execute("PRAGMA user_version").fetchone()[0] == \
            catalog_schema.SCHEMA_VERSION
        old = catalog.history(tune_id).latest.tune
        assert old.tables == tune.tables and old.locked == {} and old.knock_prone == {}
        catalog.record_version(tune_id, _marked(tune), ChangeSource.MANUAL_EDIT,
                               "2026-11-22T10:05:00")
    with Catalog(path) as catalog:  # opens clean: the new column is the one the step made
        assert catalog.history(tune_id).latest.tune == _marked(tune)


@pytest.mark.parametrize("marks", ['{"locked": {"x": [[1, -2]]}}', '{"locked": 5}', "[]",
                                   '{"locked": {"x": [[1, 2.5]]}}', "not json"])
def test_unreadable_marks_name_the_version(marks: str) -> None:
    with Catalog() as catalog:
        tune_id = catalog.add_tune("Customer FLHX", _tune(), "2026-11-22T10:00:00")
        with catalog._db:
            catalog._db.execute("UPDATE tune_versions SET marks_json = ?", (marks,))
        with pytest.raises(InputError, match=f"version 1 of tune {tune_id} .* cannot be read"):
            catalog.history(tune_id)


@pytest.mark.parametrize(("name", "file"), [
    ("pull 3", "20261122T100000_pull-3.parquet"),
    ("WOT: 2nd/3rd?", "20261122T100000_WOT-2nd-3rd.parquet"),
    ("Müller's décel  check", "20261122T100000_Muller-s-decel-check.parquet"),
    ("CON", "20261122T100000_CON.parquet"),  # a Windows device name, made safe by the time
    ("  ../..\\x.  ", "20261122T100000_x.parquet"),
    ("***", "20261122T100000.parquet"),
    ("a" * 80, f"20261122T100000_{'a' * 40}.parquet"),
])
def test_a_run_file_is_named_for_its_run_safely_on_every_system(name: str, file: str) -> None:
    with Catalog() as catalog:
        bike = catalog.add_vehicle(catalog.add_customer("Shop"), "bike",
                                   BuildSpec.stock(EngineFamily.TC96))
        session = catalog.start_session(bike, "2026-11-22T10:00:00")
        assert catalog.new_run_file(session, "2026-11-22T10:00:00", name) == \
            f"runs/session-{session:04d}/{file}"


def test_a_run_file_name_taken_in_any_letter_case_gets_a_number() -> None:
    with Catalog() as catalog:
        bike = catalog.add_vehicle(catalog.add_customer("Shop"), "bike",
                                   BuildSpec.stock(EngineFamily.TC96))
        session = catalog.start_session(bike, "2026-11-22T10:00:00")
        started = "2026-11-22T10:00:00"
        first = catalog.new_run_file(session, started, "Pull 1")
        catalog.add_run(session, "Pull 1", started, first)
        second = catalog.new_run_file(session, started, "pull 1")  # one file on Windows
        assert second == f"runs/session-{session:04d}/20261122T100000-2_pull-1.parquet"
        (catalog.data_dir / second).parent.mkdir(parents=True)
        (catalog.data_dir / second).write_bytes(b"")  # on disk, not in the catalog
        assert catalog.new_run_file(session, started, "pull 1").endswith(
            "20261122T100000-3_pull-1.parquet")


def test_a_version_6_catalog_gains_peak_power_and_its_runs_have_none_yet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v6.sqlite"
    with monkeypatch.context() as m:  # the DynoAI that knew schema 6
        m.setattr(catalog_schema, "SCHEMA_VERSION", 6)
        with Catalog(path) as old:
            bike = old.add_vehicle(old.add_customer("Shop"), "bike",
                                   BuildSpec.stock(EngineFamily.TC96))
            session = old.start_session(bike, "2026-11-22T10:00:00")
            run = old.add_run(session, "pull 1", "2026-11-22T10:01:00", "runs/p1.parquet")
            old.finish_run(run, "2026-11-22T10:01:40", 40.0, 4000)
            before = old.runs(session)
    with Catalog(path) as catalog:
        assert catalog._db.execute("PRAGMA user_version").fetchone()[0] == \
            catalog_schema.SCHEMA_VERSION >= 7
        assert catalog.runs(session) == before and catalog.all_runs() == before
        assert catalog.run_peaks() == {}
        catalog.set_run_peak(run, PeakPower(88.4, 5150.0))
        other = catalog.add_run(session, "warm-up", "2026-11-22T10:05:00", "runs/w.parquet")
        catalog.set_run_peak(other, None)  # worked out: no power readings
    with Catalog(path) as catalog:  # opens clean: the new table is the one the step made
        assert catalog.run_peaks() == {run: PeakPower(88.4, 5150.0), other: None}
        with pytest.raises(InputError, match="no run 99"):
            catalog.set_run_peak(99, None)
