"""The application without Qt: it starts whatever damaged file it finds, the live session reads
the demo cell through its ports, records a run and counts live hits, and the run library opens
runs and logs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import AuthorityLimits
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.storage.catalog import Catalog, default_data_dir
from dynoai_desktop.storage.run_files import Marker, RunMetadata, write_run
from dynoai_desktop.storage.settings import CONFIG_DIR_ENV
from tests.app.demo_app import wait_for, widebands_streaming
from tests.realdata import REALDATA


def test_a_clean_start_has_nothing_to_say_and_no_tune_until_one_is_opened() -> None:
    app = DynoApp()
    try:
        assert app.notices == []
        # The generated base map is the virtual bike's: only demo mode shows it.
        assert app.catalog is not None and app.tune.coverage_table is None
        assert not app.live.connected and app.live.statuses() == []
    finally:
        app.close()


def test_overlays_are_applied_under_the_authority_limits_of_the_settings() -> None:
    app = DynoApp()
    try:
        assert app.tune.limits == AuthorityLimits()
        tighter = AuthorityLimits(max_ve_change_pct_per_run=3.0)
        app.settings.update(authority=tighter)
        assert app.tune.limits == tighter  # read at each use: a change counts at once
    finally:
        app.close()


def test_a_catalog_from_a_newer_dynoai_opens_nothing_and_says_update() -> None:
    path = default_data_dir() / "catalog.sqlite"
    Catalog(path).close()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    app = DynoApp()
    try:
        assert app.catalog is None and "Update DynoAI" in " ".join(app.notices)
        assert not app.runs.available
        with pytest.raises(InputError, match="catalog is not open"):
            app.runs.add_customer("Sam")
    finally:
        app.close()
    assert path.read_bytes() == before


def test_settings_that_are_not_utf8_are_set_aside_and_the_app_starts(tmp_path: Path) -> None:
    config = Path(__import__("os").environ[CONFIG_DIR_ENV])
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_bytes(b'{"units": {"temperature": "\xb0C"}}')
    app = DynoApp()
    try:
        assert any("settings.json" in n and "unreadable" in n for n in app.notices)
        kept = list(config.glob("settings.json.unreadable-*"))
        assert len(kept) == 1
    finally:
        app.close()


def test_the_live_session_reads_the_demo_cell_records_and_counts_hits() -> None:
    with DemoCell(rate_multiplier=10.0) as demo:
        app = DynoApp(demo=demo.start())
        try:
            live = app.live
            assert live.connected and app.banner.startswith("Demo mode")
            wait_for(lambda: widebands_streaming(app), 10, "the widebands")
            assert {s.role for s in live.statuses()} == {"dyno", "wideband"}
            customer = app.runs.add_customer("Live test")
            vehicle = app.runs.add_vehicle(customer, "bike", BuildSpec.stock("twin_cam_103"))
            session = app.runs.start_session(vehicle)
            saved = []
            live.run_saved.connect(saved.append)
            live.start_recording(session, "pull 1")
            with pytest.raises(InputError, match="already recording"):
                live.start_recording(session, "pull 2")
            time.sleep(0.5)
            live.mark("tip-in")
            time.sleep(0.5)
            live.disconnect()  # stops the run first: it is saved
            assert not live.recording and saved and saved[0].rows > 50
            # Named for the run, its peak power kept, the run library told.
            assert saved[0].file.endswith("_pull-1.parquet")
            assert app.runs.entry(saved[0].id).peak_known and saved[0].id in app.catalog.run_peaks()
            view = app.runs.open_run(app.runs.run_path(saved[0]))
            assert view.markers[0].note == "tip-in" and "pull 1" in view.title
            with pytest.raises(InputError, match="Connect the devices"):
                live.start_recording(session, "pull 2")
        finally:
            app.close()
    # The demo's loopback ports are not the user's settings.
    saved_settings = json.loads((Path(__import__("os").environ[CONFIG_DIR_ENV])
                                 / "settings.json").read_text()) if (
        Path(__import__("os").environ[CONFIG_DIR_ENV]) / "settings.json").exists() else {}
    assert "127.0.0.1" not in json.dumps(saved_settings)


def test_the_run_library_says_why_a_file_cannot_be_opened(tmp_path: Path) -> None:
    library = RunLibrary(None)
    bad = tmp_path / "not_a_run.parquet"
    bad.write_bytes(b"PAR1 garbage")
    with pytest.raises(InputError, match="not_a_run.parquet"):
        library.open_run(bad)
    assert library.session_label() == "no session" and library.customers() == []


def test_the_run_library_reads_only_the_channels_a_view_draws(tmp_path: Path) -> None:
    path = tmp_path / "pull.parquet"
    write_run(path, {"time_s": [0.0, 0.1], "rpm": [2000.0, 2100.0], "iat_c": [30.0, 31.0],
                     "baro_kpa": [98.6, 98.6]},
              RunMetadata("pull", "2026-11-22T10:00:00", markers=(Marker(0.1, "tip-in"),)))
    view = RunLibrary(None).open_run(path, columns=("rpm", "iat_c", "spark_front_deg"))
    assert set(view.frame.columns) == {"time_s", "rpm", "iat_c", "spark_front_deg"}
    assert view.frame["spark_front_deg"].isna().all()  # a run file keeps every channel
    assert view.markers == (Marker(0.1, "tip-in"),) and "pull" in view.title
    assert "baro_kpa" in RunLibrary(None).open_run(path).frame.columns  # all, by default


@pytest.mark.skipif(REALDATA is None, reason="shared/realdata is not beside the repo")
def test_an_imported_log_says_what_the_importer_could_not_use() -> None:
    assert REALDATA is not None
    view = RunLibrary(None).import_log(REALDATA / "empro_MS1_ms_test.msl")
    assert "MegaSquirt" in view.title or "MSL" in view.title
    assert any(n.startswith("Not used:") for n in view.notes)
    assert len(view.frame) > 1000
