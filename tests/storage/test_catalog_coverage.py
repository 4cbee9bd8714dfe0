"""Coverage per vehicle in the catalog (schema 4): each run's contribution to a VE table's cells,
kept exactly and once per run, across reopening, migration and damage."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.build_spec import BuildSpec, EngineFamily
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.tune import ChangeSource, Tune
from dynoai_desktop.storage.catalog import Catalog, CatalogDamaged, CoverageRecord
from dynoai_desktop.storage.catalog import schema as catalog_schema
from dynoai_desktop.storage.resources import demo_base_tables

RPM = np.array([1000.0, 1750.0, 2500.0, 3250.0, 4000.0])
MAP = np.array([20.0, 40.0, 60.0, 80.0, 100.0, 105.0])
TPS = np.array([0.0, 2.5, 10.0, 50.0])


def _grids(seed: int, load: np.ndarray = MAP) -> tuple[np.ndarray, np.ndarray]:
    """A run's weight (floats that need every bit to round-trip) and hits on RPM x ``load``."""
    rng = np.random.default_rng(seed)
    hits = rng.integers(0, 400, size=(RPM.size, load.size), dtype=np.int64)
    weight = hits * rng.random(hits.shape) / 3.0
    weight[0, 0] = 0.0
    return weight, hits


def _vehicle(catalog: Catalog, name: str = "2016 Low Rider S") -> int:
    customer = catalog.add_customer("Dana Ortiz")
    return catalog.add_vehicle(customer, name, BuildSpec.stock(EngineFamily.TC103))


def _add(catalog: Catalog, vehicle: int, table: str, key: str, seed: int, **kw: object) -> bool:
    weight, hits = _grids(seed)
    return catalog.add_coverage(vehicle, table, key, "map_kpa", RPM, MAP, weight, hits, **kw)


def _same(record: CoverageRecord, table: str, key: str, seed: int) -> bool:
    weight, hits = _grids(seed)
    return (
        (record.table_name, record.run_key, record.load_channel) == (table, key, "map_kpa")
        and np.array_equal(record.rpm_breakpoints, RPM)
        and np.array_equal(record.load_breakpoints, MAP)
        and np.array_equal(record.weight, weight)
        and np.array_equal(record.hits, hits)
    )


# ---------------------------------------------------------------- keeping and reading back


def test_a_runs_coverage_reads_back_exactly_after_reopening() -> None:
    weight, hits = _grids(1, TPS)
    with Catalog() as catalog:
        bike = _vehicle(catalog)
        assert catalog.add_coverage(bike, "ve_rear", "file:" + "ab" * 32, "tps_pct",
                                    RPM.tolist(), TPS.astype(np.float32), weight, hits.tolist(),
                                    when="2026-11-22T10:05:00")
    with Catalog() as catalog:
        [record] = catalog.coverage_runs(bike)
        assert isinstance(record, CoverageRecord)
        assert (record.vehicle_id, record.table_name, record.run_key, record.load_channel,
                record.added_at) == (bike, "ve_rear", "file:" + "ab" * 32, "tps_pct",
                                     "2026-11-22T10:05:00")
        assert record.rpm_breakpoints.dtype == record.load_breakpoints.dtype == np.float64
        assert record.weight.dtype == np.float64 and record.hits.dtype == np.int64
        assert np.array_equal(record.rpm_breakpoints, RPM)
        assert np.array_equal(record.load_breakpoints, TPS)
        assert np.array_equal(record.weight, weight)  # every bit of every float
        assert np.array_equal(record.hits, hits)
        with pytest.raises(ValueError, match="read-only"):
            record.weight[1, 1] = 5.0
        assert catalog.has_coverage_run(bike, "ve_rear", "file:" + "ab" * 32)
        assert not catalog.has_coverage_run(bike, "ve_front", "file:" + "ab" * 32)
        assert not catalog.has_coverage_run(bike, "ve_rear", "run:1")


def test_adding_the_same_run_twice_keeps_it_once() -> None:
    with Catalog() as catalog:
        bike = _vehicle(catalog)
        assert _add(catalog, bike, "ve_front", "run:12", seed=1) is True
        assert _add(catalog, bike, "ve_front", "run:12", seed=2) is False  # other numbers too
        assert _add(catalog, bike, "ve_front", " run:12 ", seed=2) is False  # same key, spaced
        [record] = catalog.coverage_runs(bike)
        assert _same(record, "ve_front", "run:12", seed=1)  # the first one, unchanged
        # The same run on another table, or on another vehicle, is another contribution.
        assert _add(catalog, bike, "ve_rear", "run:12", seed=3) is True
        other = _vehicle(catalog, "2019 Street Glide")
        assert _add(catalog, other, "ve_front", "run:12", seed=4) is True
        assert len(catalog.coverage_runs(bike)) == 2 and len(catalog.coverage_runs(other)) == 1


def test_every_run_is_kept_oldest_first_so_they_can_be_added_up() -> None:
    with Catalog() as catalog:
        bike = _vehicle(catalog)
        other = _vehicle(catalog, "2019 Street Glide")
        _add(catalog, bike, "ve_front", "run:2", seed=2, when="2026-11-22T10:10:00")
        _add(catalog, bike, "ve_front", "run:1", seed=1, when="2026-11-22T10:00:00")
        _add(catalog, bike, "ve_rear", "run:1", seed=3, when="2026-11-22T10:00:00")
        _add(catalog, bike, "ve_front", "run:3", seed=5, when="2026-11-22T10:10:00")  # same time
        _add(catalog, other, "ve_front", "run:9", seed=9)
        front = catalog.coverage_runs(bike, "ve_front")
        assert [r.run_key for r in front] == ["run:1", "run:2", "run:3"]
        assert all(_same(r, "ve_front", r.run_key, seed)
                   for r, seed in zip(front, (1, 2, 5), strict=True))
        total = sum(r.hits for r in front)
        assert np.array_equal(total, _grids(1)[1] + _grids(2)[1] + _grids(5)[1])
        assert [(r.table_name, r.run_key) for r in catalog.coverage_runs(bike)] == [
            ("ve_front", "run:1"), ("ve_rear", "run:1"), ("ve_front", "run:2"),
            ("ve_front", "run:3"),
        ]
        assert catalog.coverage_tables(bike) == ["ve_front", "ve_rear"]
        assert catalog.coverage_tables(other) == ["ve_front"]
        assert catalog.coverage_runs(bike, "ve_nothing") == []
        assert catalog.coverage_tables(_vehicle(catalog, "new bike")) == []


def test_reset_forgets_one_table_or_the_whole_vehicle() -> None:
    with Catalog() as catalog:
        bike = _vehicle(catalog)
        other = _vehicle(catalog, "2019 Street Glide")
        for n in range(3):
            _add(catalog, bike, "ve_front", f"run:{n}", seed=n)
        _add(catalog, bike, "ve_rear", "run:0", seed=7)
        _add(catalog, other, "ve_front", "run:0", seed=8)
        assert catalog.reset_coverage(bike, "ve_front") == 3
        assert catalog.coverage_tables(bike) == ["ve_rear"]
        assert catalog.reset_coverage(bike, "ve_front") == 0
        assert _add(catalog, bike, "ve_front", "run:0", seed=0) is True  # counts again after
        assert catalog.reset_coverage(bike) == 2
        assert catalog.coverage_runs(bike) == [] and catalog.coverage_tables(bike) == []
        [kept] = catalog.coverage_runs(other)  # the other vehicle's is untouched
        assert _same(kept, "ve_front", "run:0", 8)


def test_a_vehicle_deleted_from_the_file_takes_its_coverage_with_it() -> None:
    with Catalog() as catalog:
        bike = _vehicle(catalog)
        _add(catalog, bike, "ve_front", "run:1", seed=1)
        with catalog._db:
            catalog._db.execute("DELETE FROM vehicles WHERE id = ?", (bike,))
        assert catalog._db.execute("SELECT COUNT(*) FROM coverage_runs").fetchone()[0] == 0


# ---------------------------------------------------------------- refusals


def test_an_unknown_vehicle_is_named() -> None:
    weight, hits = _grids(1)
    with Catalog() as catalog:
        calls: list[Callable[[], object]] = [
            lambda: catalog.add_coverage(99, "ve_front", "run:1", "map_kpa", RPM, MAP, weight,
                                         hits),
            lambda: catalog.coverage_runs(99),
            lambda: catalog.coverage_runs(99, "ve_front"),
            lambda: catalog.coverage_tables(99),
            lambda: catalog.has_coverage_run(99, "ve_front", "run:1"),
            lambda: catalog.reset_coverage(99),
        ]
        for call in calls:
            with pytest.raises(InputError, match="there is no vehicle 99 in the catalog"):
                call()
        with pytest.raises(InputError, match="vehicle id must be a whole number, got '1'"):
            catalog.coverage_runs("1")  # type: ignore[arg-type]


def _refusals() -> list[tuple[str, dict[str, object]]]:
    weight, hits = _grids(1)
    negative_weight, negative_hits = weight.copy(), hits.copy()
    negative_weight[2, 3] = -0.5
    negative_hits[4, 1] = -1
    nan_weight = weight.copy()
    nan_weight[1, 0] = np.nan
    return [
        ("coverage table name is empty", {"table_name": "  "}),
        ("coverage table name must be text", {"table_name": None}),
        ("coverage run key is empty", {"run_key": ""}),
        ("coverage run key must be text", {"run_key": 12}),
        ("load channel 'afr' is not one of map_kpa, tps_pct", {"load_channel": "afr"}),
        (
            "the rpm breakpoints must be strictly ascending: 2500 follows 2500",
            {"rpm_breakpoints": [1000, 1750, 2500, 2500, 4000]},
        ),
        (
            "the load breakpoints must be strictly ascending: 20 follows 40",
            {"load_breakpoints": MAP[[1, 0, 2, 3, 4, 5]]},
        ),
        ("the rpm breakpoints holds a value that is not a finite number",
         {"rpm_breakpoints": [1000, 1750, np.inf, 3250, 4000]}),
        ("the load breakpoints must be a list of one or more breakpoints, got shape \\(0,\\)",
         {"load_breakpoints": []}),
        ("the rpm breakpoints must be numbers, got <U", {"rpm_breakpoints": list("abcde")}),
        ("the weight is 5 x 5 but the breakpoints make 5 x 6 \\(rpm x load\\)",
         {"weight": weight[:, :5]}),
        ("the weight is shape \\(30,\\) but the breakpoints make 5 x 6",
         {"weight": weight.ravel()}),
        ("the hits is 6 x 5 but the breakpoints make 5 x 6", {"hits": hits.T}),
        ("the weight is not rows of numbers", {"weight": [[1.0, 2.0], [3.0]]}),
        (
            "the weight at rpm row 2, load column 3 is -0.5; a weight must be a finite number",
            {"weight": negative_weight},
        ),
        ("the weight at rpm row 1, load column 0 is nan", {"weight": nan_weight}),
        (
            "the hits at rpm row 4, load column 1 is -1; a hit count must be a whole number >= 0",
            {"hits": negative_hits},
        ),
        ("the hits must be whole numbers, got float64", {"hits": hits.astype(float)}),
        ("the hits must be whole numbers, got bool", {"hits": hits > 0}),
        ("the hits holds a count too large to keep",
         {"hits": np.full(hits.shape, 2**63, dtype=np.uint64)}),
        ("coverage added_at = 'yesterday' is not an ISO 8601", {"when": "yesterday"}),
    ]


@pytest.mark.parametrize(("message", "change"), _refusals(), ids=lambda v: str(v)[:40])
def test_each_bad_value_is_refused_by_name_and_nothing_is_kept(
    message: str, change: dict[str, object]
) -> None:
    weight, hits = _grids(1)
    values: dict[str, object] = {
        "table_name": "ve_front", "run_key": "run:1", "load_channel": "map_kpa",
        "rpm_breakpoints": RPM, "load_breakpoints": MAP, "weight": weight, "hits": hits,
    }
    with Catalog() as catalog:
        bike = _vehicle(catalog)
        with pytest.raises(InputError, match=message) as refused:
            catalog.add_coverage(bike, **{**values, **change})  # type: ignore[arg-type]
        assert "\n" not in str(refused.value)
        assert catalog.coverage_runs(bike) == []


# ---------------------------------------------------------------- migration


def _tune() -> Tune:
    front, rear = demo_base_tables()[0]
    return Tune(
        {front.name: front, rear.name: rear}, BuildSpec.stock(EngineFamily.TC103), "demo.pvv"
    )


def test_a_version_3_catalog_migrates_to_the_newest_with_its_data_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v3.sqlite"
    tune = _tune()
    front = next(iter(tune.tables))
    locked = np.zeros(tune.table(front).shape, dtype=bool)
    locked[1, 2] = True
    marked = tune.with_locked(front, locked)
    with monkeypatch.context() as m:  # the DynoAI that knew schema 3: its three migrations
        m.setattr(catalog_schema, "SCHEMA_VERSION", 3)
        with Catalog(path) as old:
            tune_id = old.add_tune("Low Rider base", tune, "2026-11-01T10:00:00")
            old.record_version(tune_id, marked, ChangeSource.MANUAL_EDIT, "2026-11-01T10:05:00")
            bike = _vehicle(old)
            session = old.start_session(bike, "2026-11-01T11:00:00", tune_id=tune_id)
            run = old.add_run(session, "pull 1", "2026-11-01T11:01:00", "runs/p1.parquet",
                              tune_version_id=2)
            old.finish_run(run, "2026-11-01T11:01:40", 40.0, 4000)
            before = (old.customers(), old.vehicles(old.customers()[0].id), old.sessions(bike),
                      old.runs(session))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'coverage_runs'").fetchone() is None
    db.close()

    with Catalog(path) as catalog:
        assert catalog._db.execute("PRAGMA user_version").fetchone()[0] == \
            catalog_schema.SCHEMA_VERSION
        customers = catalog.customers()
        assert (customers, catalog.vehicles(customers[0].id), catalog.sessions(bike),
                catalog.runs(session)) == before
        history = catalog.history(tune_id)
        assert [v.tune for v in history.versions] == [tune, marked]
        assert catalog.coverage_runs(bike) == [] and catalog.coverage_tables(bike) == []
        assert _add(catalog, bike, "ve_front", f"run:{run}", seed=1)
    with Catalog(path) as catalog:  # opens clean: the new table is the one the step made
        [record] = catalog.coverage_runs(bike)
        assert _same(record, "ve_front", f"run:{run}", seed=1)
        assert catalog.history(tune_id).latest.tune == marked


def test_a_coverage_table_changed_by_hand_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute("DROP TABLE coverage_runs")
        db.execute("CREATE TABLE coverage_runs (vehicle_id INTEGER, table_name TEXT)")
    db.close()
    with pytest.raises(CatalogDamaged, match="its table 'coverage_runs' has a missing or changed"):
        Catalog(path)


# ---------------------------------------------------------------- damage


@pytest.mark.parametrize(
    ("column", "damaged"),
    [
        ("weight_json", "[[1.0, 2.0"),
        ("weight_json", "[[-1.0]]"),
        ("weight_json", "[[NaN, 1.0]]"),
        ("weight_json", "{}"),
        ("weight_json", "[" * 100_000),
        ("hits_json", "[[1, 2], [3]]"),
        ("hits_json", "[[99999999999999999999999]]"),
        ("hits_json", '"many"'),
        ("axes_json", '{"rpm": [1000]}'),
        ("axes_json", "[1, 2]"),
        ("axes_json", '{"rpm": [3, 2, 1], "load": [1]}'),
        ("load_channel", "afr"),
        ("weight_json", 42),
        ("hits_json", b"\xff\xfe"),
        ("added_at", b"\x00"),
        ("table_name", b"\x01\x02"),
    ],
)
def test_a_damaged_row_is_left_out_and_named_not_a_crash(column: str, damaged: object) -> None:
    with Catalog() as catalog:
        bike = _vehicle(catalog)
        _add(catalog, bike, "ve_front", "run:1", seed=1, when="2026-11-22T10:00:00")
        _add(catalog, bike, "ve_front", "run:2", seed=2, when="2026-11-22T10:10:00")
        with catalog._db:
            catalog._db.execute(f"UPDATE coverage_runs SET {column} = ? WHERE run_key = 'run:1'",
                                (damaged,))
        assert [r.run_key for r in catalog.coverage_runs(bike)] == ["run:2"]  # no list: quiet
        skipped: list[str] = []
        [record] = catalog.coverage_runs(bike, skipped=skipped)
        assert _same(record, "ve_front", "run:2", seed=2)
        [message] = skipped
        assert f"'run:1' for vehicle {bike} in the catalog {catalog.path} cannot be read" in message
        assert "\n" not in message and "reset that table's coverage" in message
        # The damaged run still counts as kept, so it is not added a second time beside it.
        assert catalog.has_coverage_run(bike, "ve_front", "run:1") is (column != "table_name")
        assert catalog.coverage_tables(bike) == ["ve_front"]
        assert catalog.reset_coverage(bike) == 2


FUZZ = settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _catalog_with_coverage() -> tuple[bytes, int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.sqlite"
        with Catalog(path) as catalog:
            bike = _vehicle(catalog)
            for n in range(6):
                _add(catalog, bike, "ve_front" if n % 2 else "ve_rear", f"run:{n}", seed=n)
        return path.read_bytes(), bike


_WITH_COVERAGE = _catalog_with_coverage()


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1,
                      max_size=6))
def test_bytes_flipped_in_a_catalog_with_coverage_never_crash_reading_it(
    flips: list[tuple[int, int]],
) -> None:
    data, bike = _WITH_COVERAGE
    damaged = bytearray(data)
    for offset, mask in flips:
        damaged[offset % len(damaged)] ^= mask
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.sqlite"
        path.write_bytes(bytes(damaged))
        try:
            catalog = Catalog(path)
        except CatalogDamaged:
            return
        with catalog:
            try:
                tables = catalog.coverage_tables(bike)
            except InputError:  # the vehicle's own row is what was damaged
                return
            skipped: list[str] = []
            records = catalog.coverage_runs(bike, skipped=skipped)
            assert len(records) + len(skipped) <= 6
            for record in records:
                assert record.weight.shape == record.hits.shape == (
                    record.rpm_breakpoints.size, record.load_breakpoints.size)
            for table in tables:
                catalog.coverage_runs(bike, table)
