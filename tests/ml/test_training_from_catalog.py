"""A saved session read from the catalog as extraction reads it: the tables before and after from
its tune's versions, each run's own tables and kind, the day's air, simulated or not, and a
polite refusal when there is nothing to learn from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.core.build_spec import BuildSpec, EngineFamily
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import AFR_TARGET, ChangeSource, Tune
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.ml.training.from_catalog import (
    NotExtractable,
    is_simulated,
    read_session,
    run_kind,
    session_data,
    session_source,
)
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.run_files import RunMetadata, write_run
from dynoai_desktop.storage.settings import DevicePort

SERIAL = (DevicePort("dyno", "dyno-line", "/dev/ttyUSB0"),
          DevicePort("wideband", "innovate-mts", "COM3"))
LOOPBACK = (DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001"),)


def _tune(scale: float = 1.0, afr: bool = True) -> Tune:
    front, rear = demo_base_tables()[0]
    tables = {t.name: t.with_values(t.values * scale) for t in (front, rear)}
    if afr:
        tables[AFR_TARGET] = Table(AFR_TARGET, "AFR", "rpm", "map_kpa", front.row_breakpoints,
                                   front.col_breakpoints, np.full(front.shape, 13.2))
    return Tune(tables, BuildSpec.stock(EngineFamily.TC103), "test.pvv")


def _write(catalog: Catalog, session: int, name: str, started: str, rows: int = 50,
           **columns: float) -> str:
    file = catalog.new_run_file(session, started)
    data = {"time_s": np.arange(rows) * 0.1, "rpm": np.linspace(1500, 5000, rows),
            **{k: np.full(rows, v) for k, v in columns.items()}}
    write_run(catalog.data_dir / file, data, RunMetadata(name, started))
    return file


def _add_run(catalog: Catalog, session: int, name: str, started: str,
             devices: tuple[DevicePort, ...] = SERIAL, version: int | None = None,
             weather: Weather | None = None, **columns: float) -> int:
    file = _write(catalog, session, name, started, **columns)
    run = catalog.add_run(session, name, started, file, devices=devices, weather=weather,
                          tune_version_id=version)
    catalog.finish_run(run, started, 5.0, 50)
    return run


@pytest.fixture
def shop(catalog: Catalog) -> tuple[Catalog, int, int]:
    """A session on a tune of three versions: v1 before it, v2 made during it, v3 after it."""
    tune_id = catalog.add_tune("Low Rider", _tune(), "2026-11-22T09:00:00")
    catalog.record_version(tune_id, _tune(1.05), ChangeSource.AUTOTUNE, "2026-11-22T10:30:00")
    catalog.record_version(tune_id, _tune(1.10), ChangeSource.AUTOTUNE, "2026-11-22T12:00:00")
    customer = catalog.add_customer("Dana Ortiz")
    bike = catalog.add_vehicle(customer, "2016 Low Rider S", BuildSpec.stock(EngineFamily.TC103))
    session = catalog.start_session(bike, "2026-11-22T10:00:00", tune_id=tune_id)
    return catalog, session, tune_id


def _values(tables: object, key: str) -> np.ndarray:
    return tables[key].values  # type: ignore[index]


def test_tables_before_and_after_come_from_the_tune_versions_of_the_session(shop) -> None:  # noqa: ANN001
    catalog, session, _tune_id = shop
    _add_run(catalog, session, "warm-up", "2026-11-22T10:01:00", version=1)
    _add_run(catalog, session, "Pull 2", "2026-11-22T10:40:00")  # no version: newest by then
    catalog.end_session(session, "2026-11-22T11:00:00")
    data = read_session(catalog, session)
    base = _tune().tables
    front = next(iter(base))
    assert data.session_id == f"session:{session}" and data.vehicle == "2016 Low Rider S"
    assert data.build == BuildSpec.stock(EngineFamily.TC103)
    assert set(data.tables_before) == set(data.tables_after) == {"ve_front", "ve_rear"}
    assert np.array_equal(_values(data.tables_before, "ve_front"), base[front].values)
    assert np.allclose(_values(data.tables_after, "ve_front"), base[front].values * 1.05)
    assert data.afr_target is not None and data.afr_target.name == AFR_TARGET
    assert [r.name for r in data.runs] == ["warm-up", "Pull 2"]
    assert [r.kind for r in data.runs] == ["warm-up", "pulls"]
    assert np.array_equal(_values(data.runs[0].tables, "ve_rear"),
                          _values(data.tables_before, "ve_rear"))
    assert np.allclose(_values(data.runs[1].tables, "ve_front"), base[front].values * 1.05)
    assert data.runs[0].rows == 50 and data.simulated is False
    assert data.started_at == "2026-11-22T10:00:00"


def test_an_open_session_ends_on_the_newest_version(shop) -> None:  # noqa: ANN001
    catalog, session, _tune_id = shop
    _add_run(catalog, session, "pull", "2026-11-22T10:01:00")
    data = read_session(catalog, session)
    front = next(iter(_tune().tables))
    assert np.allclose(_values(data.tables_before, "ve_front"), _tune().tables[front].values)
    assert np.allclose(_values(data.tables_after, "ve_front"),
                       _tune().tables[front].values * 1.10)


def test_a_decel_enrichment_made_in_the_session_is_read_from_its_version(catalog: Catalog,
                                                                         ) -> None:
    """The decel fix a tuner applied (a version made by 'decel enrichment') is the session's
    enrichment: the median rise of the cells it raised; one made after the session is not."""
    base = _tune()
    front = next(iter(base.tables))
    tune_id = catalog.add_tune("Low Rider", base, "2026-11-22T09:00:00")
    table = base.tables[front]
    zone = np.zeros(table.shape, dtype=bool)
    zone[2:6, :2] = True
    enriched = Tune({**base.tables, front: table.with_values(
        np.where(zone, table.values * 1.12, table.values))}, base.build_spec, base.source)
    catalog.record_version(tune_id, enriched, ChangeSource.DECEL_ENRICHMENT,
                           "2026-11-22T10:30:00")
    customer = catalog.add_customer("Dana Ortiz")
    bike = catalog.add_vehicle(customer, "2016 Low Rider S", BuildSpec.stock(EngineFamily.TC103))
    session = catalog.start_session(bike, "2026-11-22T10:00:00", tune_id=tune_id)
    _add_run(catalog, session, "decels", "2026-11-22T10:01:00", version=1)
    _add_run(catalog, session, "decels after the fix", "2026-11-22T10:40:00", version=2)
    data = read_session(catalog, session)
    assert data.decel_enrichment_pct == 12.0
    assert [r.after_decel_fix for r in data.runs] == [False, True]  # by their versions
    later = catalog.start_session(bike, "2026-11-23T10:00:00", tune_id=tune_id)
    _add_run(catalog, later, "pull", "2026-11-23T10:01:00", version=2)
    assert read_session(catalog, later).decel_enrichment_pct is None


def test_the_days_air_fills_the_channels_the_rows_do_not_log(shop) -> None:  # noqa: ANN001
    catalog, session, _ = shop
    _add_run(catalog, session, "hold", "2026-11-22T10:01:00",
             weather=Weather.of_air(98.5, 24.0, 40.0), humidity_pct=55.0)
    [run] = read_session(catalog, session).runs
    assert np.all(run.columns["baro_kpa"] == 98.5)
    assert np.all(run.columns["ambient_temp_c"] == 24.0)
    assert np.all(run.columns["humidity_pct"] == 55.0)  # logged: kept as logged
    assert run.kind == "holds"


@pytest.mark.parametrize(
    ("notes", "devices", "simulated"),
    [
        ("", SERIAL, False),
        ("", LOOPBACK, True),
        ("", (DevicePort("wideband", "aem", "socket://[::1]:7002"),), True),
        ("", (DevicePort("wideband", "aem", "socket://localhost:7002"),), True),
        ("", (DevicePort("wideband", "aem", "socket://192.168.1.20:7002"),), False),
        ("Simulated shop history, seed 7", SERIAL, True),
        ("customer says it was simulating a misfire", SERIAL, False),
    ],
)
def test_what_counts_as_simulated(notes: str, devices: tuple[DevicePort, ...],
                                  simulated: bool) -> None:
    assert is_simulated(notes, devices) is simulated


def test_a_session_on_the_virtual_cell_is_marked_simulated(shop) -> None:  # noqa: ANN001
    catalog, session, _ = shop
    _add_run(catalog, session, "pull", "2026-11-22T10:01:00", devices=LOOPBACK)
    assert read_session(catalog, session).simulated is True


@pytest.mark.parametrize(
    ("name", "kind"),
    [("Warm up", "warm-up"), ("heat soak pull", "heat-soak"), ("Decel pops", "decel"),
     ("rising sweep 2", "sweeps"), ("holds 2500", "holds"), ("WOT pull 3", "pulls"),
     ("street ride", "street"), ("run 1", "mixed")],
)
def test_a_runs_kind_comes_from_its_name(name: str, kind: str) -> None:
    assert run_kind(name) == kind


def test_a_session_without_finished_runs_is_refused_with_the_reason(shop) -> None:  # noqa: ANN001
    catalog, session, _ = shop
    with pytest.raises(NotExtractable, match=f"session {session} has no finished runs"):
        session_source(catalog, session)
    catalog.add_run(session, "still recording", "2026-11-22T10:01:00", "runs/x.parquet")
    with pytest.raises(NotExtractable, match="no finished runs"):
        session_source(catalog, session)


def test_a_run_whose_file_is_gone_is_left_out_and_named(shop) -> None:  # noqa: ANN001
    catalog, session, _ = shop
    kept = _add_run(catalog, session, "pull 1", "2026-11-22T10:01:00")
    gone = _add_run(catalog, session, "pull 2", "2026-11-22T10:02:00")
    catalog.run_path(gone).unlink()
    source = session_source(catalog, session)  # the catalog's part reads no run file
    data, skipped = session_data(source)
    assert [r.name for r in data.runs] == ["pull 1"]
    [note] = skipped
    assert "'pull 2' left out" in note and str(catalog.run_path(gone)) in note
    catalog.run_path(kept).unlink()
    with pytest.raises(NotExtractable, match="none of the runs of session:1 could be read"):
        session_data(source)


def test_a_session_without_a_tune_has_no_tables(catalog: Catalog) -> None:
    """Recorded with no tune open (or by an older DynoAI): the session names no tables, and
    extraction refuses what needs them."""
    customer = catalog.add_customer("Demo")
    bike = catalog.add_vehicle(customer, "bike", BuildSpec.stock("twin_cam_103"))
    session = catalog.start_session(bike, "2026-11-22T10:00:00")
    _add_run(catalog, session, "run 1", "2026-11-22T10:01:00", devices=LOOPBACK)
    data = read_session(catalog, session)
    assert data.tables_before == {} and data.tables_after == {} and data.runs[0].tables == {}
    assert data.simulated is True


def test_where_the_files_live_is_the_catalogs_folder(shop, tmp_path: Path) -> None:  # noqa: ANN001
    catalog, session, _ = shop
    _add_run(catalog, session, "pull", "2026-11-22T10:01:00")
    [run] = session_source(catalog, session).runs
    assert run.path.is_file() and run.path.is_relative_to(tmp_path)
