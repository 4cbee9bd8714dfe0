"""No damaged catalog stops the start: it is set aside with its bytes kept and a new one begun;
a catalog from a newer DynoAI, or one that cannot be reached, is left alone and named."""

from __future__ import annotations

import functools
import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.build_spec import BuildSpec, EngineFamily
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.tune import ChangeSource, Tune
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage import file_io
from dynoai_desktop.storage.catalog import (
    RUN_STATUSES,
    Catalog,
    CatalogDamaged,
    CatalogTooNew,
    CatalogUnavailable,
    open_catalog_at_start,
)
from dynoai_desktop.storage.catalog import schema as catalog_schema
from dynoai_desktop.storage.catalog.errors import open_error
from dynoai_desktop.storage.file_io import set_aside
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.run_files import Marker
from dynoai_desktop.storage.settings import DevicePort

FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
NOTE = "Brings the Low Rider in every spring"
SIDECARS = ("-wal", "-shm", "-journal")


@functools.cache
def real_catalog() -> bytes:
    """A closed catalog holding a bit of everything: a tune with two versions, customers,
    vehicles, sessions, finished runs, their coverage and training records, a model version."""
    front, rear = demo_base_tables()[0]
    tune = Tune(
        {front.name: front, rear.name: rear}, BuildSpec.stock(EngineFamily.TC103), "demo.pvv"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.sqlite"
        with Catalog(path) as catalog:
            tune_id = catalog.add_tune("Low Rider base", tune, "2026-11-22T09:00:00")
            catalog.record_version(tune_id, tune, ChangeSource.AUTOTUNE, "2026-11-22T09:30:00")
            for n in range(3):
                customer = catalog.add_customer(f"Customer {n}", phone="555-0100", notes=NOTE)
                bike = catalog.add_vehicle(customer, f"Bike {n}", BuildSpec.stock("tc103"))
                session = catalog.start_session(bike, "2026-11-22T10:00:00", tune_id=tune_id)
                for pull in range(2):
                    run = catalog.add_run(
                        session,
                        f"pull {pull}",
                        f"2026-11-22T10:0{pull}:00",
                        catalog.new_run_file(session, f"2026-11-22T10:0{pull}:00"),
                        devices=(DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001"),),
                        weather=Weather(baro_kpa=98.2),
                        tune_version_id=2,
                    )
                    catalog.finish_run(run, "2026-11-22T10:30:00", 40.0, 4000, (Marker(1, "a"),))
                    catalog.add_coverage(bike, "ve_front", f"run:{run}", "map_kpa", [1000, 2000],
                                         [30, 60, 100], [[0.5, 1.0, 0.0], [2.25, 0.0, 1.0]],
                                         [[3, 4, 1], [9, 0, 2]])
                catalog.end_session(session, "2026-11-22T11:00:00")
                catalog.put_training_record(session, f'{{"session_id": "session:{session}",'
                                                     f' "runs": [{{}}, {{}}]}}')
            catalog.put_imported_training_record("shop-b:1", '{"session_id": "shop-b:1"}')
            version = catalog.add_model_version("base_ve", "shop", "models/base_ve/shop/v1",
                                                {"model.skops": "ab" * 32},
                                                {"sessions_learned": 3, "source": NOTE})
            catalog.set_active_model_version("base_ve", "shop", version)
            catalog.add_model_event("base_ve", "shop", version, "trained", {"gate": NOTE})
        return path.read_bytes()


def flipped(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    damaged = bytearray(data)
    for offset, mask in flips:
        damaged[offset % len(damaged)] ^= mask
    return bytes(damaged)


def read_everything(catalog: Catalog) -> None:
    """Every read the app makes. A record whose JSON or table text is damaged is an InputError
    naming it; nothing else may escape."""

    def read(call: Callable[..., list], *args: object) -> list:
        try:
            return list(call(*args))
        except InputError:
            return []

    read(lambda: [catalog.history(t.id) for t in catalog.tunes()])
    read(catalog.training_records, True)
    read(catalog.imported_training_records, True)
    read(catalog.stale_training_sessions, 1)
    for status in RUN_STATUSES:
        read(catalog.runs_in_status, status)
    for customer in read(catalog.customers):
        for vehicle in read(catalog.vehicles, customer.id):
            read(catalog.runs_for_vehicle, vehicle.id)
            read(catalog.coverage_runs, vehicle.id)  # a damaged row is left out, never raised
            for session in read(catalog.sessions, vehicle.id):
                read(catalog.runs, session.id)


def copies(path: Path) -> list[Path]:
    """The set-aside copies of the catalog (not their sidecars)."""
    found = path.parent.glob(f"{path.name}.unreadable-*")
    return sorted(p for p in found if not p.name.endswith(SIDECARS))


def check_start_with(folder: Path, damaged: bytes) -> str:
    """``Catalog()`` raises a typed error or opens and reads; then ``open_catalog_at_start``
    gives a working catalog (None only for too new) and names the file. Returns the outcome."""
    path = folder / "data" / "catalog.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(damaged)
    try:
        with Catalog(path) as catalog:
            read_everything(catalog)
    except CatalogTooNew:
        outcome = "too new"
    except CatalogDamaged:
        outcome = "damaged"
    else:
        outcome = "opened"
    path.write_bytes(damaged)  # as it was found: opening may have migrated it

    catalog, messages = open_catalog_at_start(path)
    if outcome == "too new":
        assert catalog is None
        [message] = messages
        assert str(path) in message and "Update DynoAI" in message
        assert path.read_bytes() == damaged and copies(path) == []
        return outcome
    assert catalog is not None
    with catalog:
        if outcome == "opened":
            assert messages == [] and copies(path) == []
            read_everything(catalog)
            return outcome
        [message] = messages
        [copy] = copies(path)
        assert copy.read_bytes() == damaged  # the user's bytes, exactly
        assert str(path) in message and str(copy) in message
        assert f"Run files in the data folder {path.parent} are untouched" in message
        assert catalog.customers() == []  # a new, empty catalog that works
        assert catalog.customer(catalog.add_customer("After the damage")).name == (
            "After the damage"
        )
    return outcome


# ---------------------------------------------------------------- set_aside


def test_set_aside_keeps_the_bytes_and_never_overwrites_an_earlier_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_io.time, "strftime", lambda _fmt: "20261122-100000")
    kept = []
    for n in range(3):
        damaged = tmp_path / "catalog.sqlite"
        damaged.write_bytes(bytes([n, 0xFF, 0x00]))
        kept.append(set_aside(damaged))
        assert not damaged.exists()
    assert [k.name for k in kept] == [
        "catalog.sqlite.unreadable-20261122-100000",
        "catalog.sqlite.unreadable-20261122-100000-2",
        "catalog.sqlite.unreadable-20261122-100000-3",
    ]
    assert [k.read_bytes() for k in kept] == [bytes([n, 0xFF, 0x00]) for n in range(3)]
    (tmp_path / "settings.json").write_text("{")
    elsewhere = set_aside(tmp_path / "settings.json", into=tmp_path / "kept")
    assert elsewhere == tmp_path / "kept" / "settings.json.unreadable-20261122-100000"
    assert elsewhere.read_text() == "{"
    with pytest.raises(InputError, match="cannot be moved aside"):
        set_aside(tmp_path / "no such file")


# ---------------------------------------------------------------- damaged files


@FUZZ
@given(data=st.binary(min_size=1, max_size=3 * 4096))
def test_random_bytes_are_set_aside_and_a_new_catalog_begun(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert check_start_with(Path(folder), data) == "damaged"


@pytest.mark.parametrize(
    ("what", "damage", "reason"),
    [
        ("the header's magic", lambda d: flipped(d, [(0, 0x20)]), "it is not a database"),
        ("the page size", lambda d: flipped(d, [(16, 0x41)]), "it is not a database"),
        ("the file format bytes", lambda d: flipped(d, [(18, 0x41)]), "header is damaged"),
        ("the schema version", lambda d: flipped(d, [(60, 0x41)]), "header is damaged"),
        ("a b-tree page header", lambda d: flipped(d, [(4096, 0xFF)]), "SQLite reports"),
        ("cells of a b-tree page", lambda d: flipped(d, [(3 * 4096 + 8, 0x41)]), "check found"),
        ("the end", lambda d: d[:-1], "cut short"),
        ("half of it", lambda d: d[: len(d) // 2 + 100], "cut short"),
        ("all but the first page", lambda d: d[:4096], "malformed"),
        ("all but a byte", lambda d: d[:1], "it is not a database"),
    ],
)
def test_damage_in_the_header_pages_or_a_cut_is_named_and_set_aside(
    tmp_path: Path, what: str, damage: Callable[[bytes], bytes], reason: str
) -> None:
    damaged = damage(real_catalog())
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(damaged)
    with pytest.raises(CatalogDamaged, match=reason) as raised:
        Catalog(path)
    assert isinstance(raised.value, InputError) and str(path) in str(raised.value)
    assert check_start_with(tmp_path, damaged) == "damaged", what


@FUZZ
@given(
    flips=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2**20), st.integers(1, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_bytes_flipped_anywhere_never_stop_the_start(flips: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_start_with(Path(folder), flipped(real_catalog(), flips))


@FUZZ
@given(header=st.lists(st.tuples(st.integers(0, 99), st.integers(1, 255)), min_size=1))
def test_bytes_flipped_in_the_header_never_stop_the_start(header: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_start_with(Path(folder), flipped(real_catalog(), header))


@FUZZ
@given(keep=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_a_cut_catalog_never_stops_the_start(keep: float) -> None:
    data = real_catalog()
    with tempfile.TemporaryDirectory() as folder:
        check_start_with(Path(folder), data[: max(1, int(keep * len(data)))])


def test_bytes_flipped_inside_text_values_read_as_replacement_characters(tmp_path: Path) -> None:
    data = real_catalog()
    at = data.index(NOTE.encode()) + NOTE.index("spring")
    damaged = data[:at] + b"\xff\xfe" + data[at + 2 :]
    assert check_start_with(tmp_path, damaged) == "opened"
    with Catalog(tmp_path / "data" / "catalog.sqlite") as catalog:
        notes = [c.notes for c in catalog.customers()]
    assert notes.count(NOTE) == 2
    assert NOTE.replace("sp", "\ufffd\ufffd") in notes

    # Invalid UTF-8 wherever it sits in text (written here by hand) reads the same way.
    with Catalog(tmp_path / "v.sqlite") as catalog:
        bike = catalog.add_vehicle(catalog.add_customer("x"), "Bike", BuildSpec.stock("tc96"))
        session = catalog.start_session(bike, "2026-11-22T10:00:00")
        run = catalog.add_run(session, "pull", "2026-11-22T10:00:00", "runs/p.parquet")
        catalog._db.execute("UPDATE vehicles SET name = CAST(x'4269ff6b65' AS TEXT)")
        catalog._db.execute("UPDATE runs SET name = CAST(x'70c3' AS TEXT)")
        catalog._db.commit()
        assert catalog.vehicle(bike).name == "Bi\ufffdke"
        assert catalog.run(run).name == "p\ufffd"


def test_the_sidecar_files_go_beside_the_copy_so_it_opens_with_them(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    originals = {suffix: os.urandom(3000) for suffix in ("", *SIDECARS)}
    for suffix, data in originals.items():
        path.with_name(path.name + suffix).write_bytes(data)
    catalog, [message] = open_catalog_at_start(path)
    assert catalog is not None
    catalog.close()
    [copy] = copies(path)
    for suffix, data in originals.items():
        assert copy.with_name(copy.name + suffix).read_bytes() == data
        sidecar = path.with_name(path.name + suffix)
        assert not sidecar.exists() or sidecar.read_bytes() != data  # the new catalog's own
    assert "(with its -wal, -shm and -journal files)" in message


def test_a_damaged_catalog_is_closed_before_the_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(flipped(real_catalog(), [(4096, 0xFF)]))
    fds = Path("/proc/self/fd")
    with pytest.raises(CatalogDamaged):
        Catalog(path)
    if fds.is_dir():  # Linux: no descriptor is left open on the file
        assert not [fd for fd in fds.iterdir() if os.path.realpath(fd) == str(path)]


# ---------------------------------------------------------------- newer and unreachable


def test_a_catalog_from_a_newer_dynoai_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(real_catalog())
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {catalog_schema.SCHEMA_VERSION + 1}")
    db.close()
    newer = path.read_bytes()
    with pytest.raises(CatalogTooNew, match="update DynoAI to open it"):
        Catalog(path)
    catalog, [message] = open_catalog_at_start(path)
    assert catalog is None
    assert message == (
        f"The catalog {path} is from a newer DynoAI (schema {catalog_schema.SCHEMA_VERSION + 1}; "
        f"this DynoAI knows schema {catalog_schema.SCHEMA_VERSION}). "
        "Update DynoAI to open it. Nothing was changed; customers, vehicles, sessions, runs and "
        "tunes are unavailable until then."
    )
    assert path.read_bytes() == newer and sorted(tmp_path.iterdir()) == [path]


def test_a_catalog_that_cannot_be_reached_is_named_and_nothing_is_moved(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    path = blocker / "catalog.sqlite"
    with pytest.raises(CatalogUnavailable, match="is a file, not a folder"):
        Catalog(path)
    catalog, [message] = open_catalog_at_start(path)
    assert catalog is None
    assert message == (
        f"The catalog {path} cannot be opened ({blocker} is a file, not a folder): move or "
        "rename that file. Nothing was changed; customers, vehicles, sessions, runs and tunes "
        "are unavailable until then."
    )
    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    with pytest.raises(CatalogUnavailable, match="it is a folder, not a file"):
        Catalog(folder)
    catalog, [message] = open_catalog_at_start(folder)
    assert catalog is None and "cannot be opened (it is a folder, not a file)" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "folder.sqlite"]
    assert list(folder.iterdir()) == []
    assert blocker.read_text() == "a file where the data folder should be"


def test_a_folder_without_permission_is_unavailable_and_nothing_is_moved(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "catalog.sqlite").write_bytes(real_catalog())
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user that permissions do not stop (root)")
        catalog, [message] = open_catalog_at_start(locked / "catalog.sqlite")
        assert catalog is None and "cannot be opened" in message
    finally:
        locked.chmod(0o755)
    assert [p.name for p in locked.iterdir()] == ["catalog.sqlite"]


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        (sqlite3.SQLITE_BUSY, CatalogUnavailable, "another DynoAI or another program is using it"),
        (sqlite3.SQLITE_FULL, CatalogUnavailable, "the disk is full"),
        (sqlite3.SQLITE_IOERR | (2 << 8), CatalogUnavailable, "the disk reported an error"),
        (sqlite3.SQLITE_READONLY, CatalogUnavailable, "that you may read and write in it"),
        (sqlite3.SQLITE_CANTOPEN, CatalogUnavailable, "that you may read and write in it"),
        (sqlite3.SQLITE_NOTADB, CatalogDamaged, "it is not a database"),
        (sqlite3.SQLITE_CORRUPT, CatalogDamaged, "SQLite reports: what SQLite said"),
        (None, CatalogDamaged, "SQLite reports: what SQLite said"),
    ],
)
def test_trouble_of_the_machine_never_sets_a_catalog_aside(
    code: int | None, kind: type, words: str
) -> None:
    error = sqlite3.OperationalError("what SQLite said")
    if code is not None:
        error.sqlite_errorcode = code
    typed = open_error(Path("/shop/catalog.sqlite"), error)
    assert type(typed) is kind and words in str(typed)
