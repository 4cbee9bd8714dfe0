"""The run library (issue 22, part 0): customers -> vehicles -> sessions -> runs as a tuner finds
them, each run with its name, start, length, peak power and whether a crash cut it short; runs
saved before peaks were kept get theirs when their session is listed; a crash recovery says
where the run went; and the coverage of runs picked in the library, counted and not kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.app.run_tree import newest_session, readable_length, sessions_of
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, Tune
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.journal import SCHEMA, journal_folder
from dynoai_desktop.storage.run_files import RunMetadata, write_run
from tests.core.autotune_logs import steady_log, ve_table
from tests.shop import a_recording_run, a_saved_run, pull_columns

AIR = Weather.of_air(97.0, 30.0, 40.0)  # a warm day: the SAE factor is above 1


def _saved_before_peaks(catalog: Catalog, session: int, name: str, started: str,
                        columns: dict[str, np.ndarray] | None) -> int:
    """A run as a catalog from before schema 7 holds it: its file (None: gone), no peak."""
    file = catalog.new_run_file(session, started, name)
    if columns is not None:
        write_run(catalog.data_dir / file, columns, RunMetadata(name, started))
    run_id = catalog.add_run(session, name, started, file)
    catalog.finish_run(run_id, started, 12.0, 240)
    return run_id


def _shop(catalog: Catalog) -> dict[str, int]:
    zed = catalog.add_customer("Zed Moto")
    amy = catalog.add_customer("amy Ortiz")
    glide = catalog.add_vehicle(amy, "2014 Street Glide", BuildSpec.stock("twin_cam_103"))
    sporty = catalog.add_vehicle(zed, "2004 Sportster", BuildSpec.stock("sportster_1200"))
    morning = catalog.start_session(glide, "2026-11-22T09:00:00")
    afternoon = catalog.start_session(glide, "2026-11-22T14:00:00")
    other = catalog.start_session(sporty, "2026-11-21T10:00:00")
    return {"amy": amy, "zed": zed, "glide": glide, "morning": morning,
            "afternoon": afternoon, "other": other}


def test_the_tree_lists_the_shop_as_a_tuner_finds_it_with_each_runs_peak_power() -> None:
    with Catalog() as catalog:
        ids = _shop(catalog)
        first = a_saved_run(catalog, ids["afternoon"], "pull 1", "2026-11-22T14:05:00",
                            pull_columns(top_hp=90.0, glitch_hp=250.0), AIR)
        second = a_saved_run(catalog, ids["afternoon"], "WOT: 2nd/3rd?",
                             "2026-11-22T14:09:30", pull_columns(seconds=8.0, top_hp=93.5))
        a_saved_run(catalog, ids["morning"], "warm-up", "2026-11-22T09:01:00",
                    {"time_s": np.arange(100) / 20.0, "rpm": np.full(100, 1000.0)})
        library = RunLibrary(catalog)
        tree = library.tree()

        # Customers by name (whatever the case), vehicles, sessions newest first.
        assert [c.customer.name for c in tree] == ["amy Ortiz", "Zed Moto"]
        (glide,) = tree[0].vehicles
        assert [s.id for s in glide.sessions] == [ids["afternoon"], ids["morning"]]
        assert tree[1].vehicles[0].sessions[0].runs == ()
        afternoon = glide.sessions[0]
        assert [r.name for r in afternoon.runs] == ["pull 1", "WOT: 2nd/3rd?"]
        pull, wot = afternoon.runs
        assert (pull.id, wot.id) == (first, second)

        # What each run is picked by: its file named for it, length, status, peak power.
        folder = f"runs/session-{ids['afternoon']:04d}"
        assert pull.record.file == f"{folder}/20261122T140500_pull-1.parquet"
        assert wot.record.file.endswith("20261122T140930_WOT-2nd-3rd.parquet")
        assert library.run_path(wot).is_file()
        assert readable_length(pull.record.duration_s) == "0:12"
        assert readable_length(3725.4) == "1:02:05" and readable_length(None) == ""
        assert pull.status == "recorded" and pull.peak_known
        assert pull.peak is not None and pull.peak.power_hp == pytest.approx(90.0, abs=0.05)
        assert pull.peak.rpm == pytest.approx(5000.0, abs=20.0)  # the glitch is no peak
        assert pull.corrected_peak_hp == pytest.approx(90.0 * AIR.correction_factor, abs=0.1)
        assert AIR.correction_factor > 1.0
        assert afternoon.best_peak is not None and afternoon.best_peak.power_hp == \
            pytest.approx(93.5, abs=0.05)
        warm_up = glide.sessions[1].runs[0]
        assert warm_up.peak_known and warm_up.peak is None  # no power readings at all

        # The newest session; the Open dialogs start where the runs are.
        assert newest_session(tree).id == ids["afternoon"]
        assert len(sessions_of(tree)) == 3
        assert library.runs_folder() == catalog.data_dir / "runs"
        library.session_id = ids["afternoon"]
        assert library.runs_folder() == catalog.data_dir / "runs" / \
            f"session-{ids['afternoon']:04d}"
        assert library.place(pull.record) == (
            f"amy Ortiz › 2014 Street Glide › session {ids['afternoon']} of 2026-11-22 14:00")


def test_runs_saved_before_peaks_were_kept_get_theirs_when_their_session_is_listed() -> None:
    with Catalog() as catalog:
        ids = _shop(catalog)
        session = ids["morning"]
        old = _saved_before_peaks(catalog, session, "pull 1", "2026-11-22T09:05:00",
                                  pull_columns(top_hp=88.0))
        gone = _saved_before_peaks(catalog, session, "pull 2", "2026-11-22T09:07:00", None)
        library = RunLibrary(catalog)
        listed = {r.id: r for r in sessions_of(library.tree())[1].runs}
        assert not listed[old].peak_known and listed[old].peak is None  # no file read yet

        runs = {r.id: r for r in library.runs_of_session(session)}
        assert runs[old].peak_known and runs[old].peak.power_hp == pytest.approx(88.0, abs=0.05)
        assert catalog.run_peaks()[old].power_hp == runs[old].peak.power_hp  # kept
        assert not runs[gone].peak_known and "pull-2.parquet" in runs[gone].problem
        assert gone not in catalog.run_peaks()
        assert library.entry(old).peak == runs[old].peak
        # The next start reads it from the catalog without opening the file.
        assert {r.id: r.peak for r in sessions_of(RunLibrary(catalog).tree())[1].runs}[old] \
            == runs[old].peak


def _cut_short(catalog: Catalog, name: str) -> int:
    """A 'recording' run whose journal holds 2 s at 100 Hz, as a kill -9 leaves it."""
    run_id = a_recording_run(catalog, name)
    folder = journal_folder(catalog, run_id)
    folder.mkdir(parents=True)
    meta = RunMetadata(name, "2026-11-22T10:00:05").to_dict()
    meta.update(zero_acq_s=5.0, markers_acq_s=[])
    write_bytes_atomic(folder / "meta.json", json.dumps(meta).encode())
    t = 5.0 + np.arange(200) * 0.01
    values = {"time_s": t, "rpm": np.full(200, 4000.0), "power_hp": np.linspace(40, 70, 200)}
    columns = [pa.array(values.get(f.name, np.full(200, np.nan))) for f in SCHEMA]
    with pa.OSFile(str(folder / "samples.arrows"), "wb") as sink:
        writer = pa.ipc.new_stream(sink, SCHEMA)
        writer.write_batch(pa.record_batch(columns, schema=SCHEMA))
    return run_id


def test_a_run_a_crash_cut_short_is_listed_as_recovered_and_the_notice_says_where() -> None:
    with Catalog() as catalog:
        run_id = _cut_short(catalog, "pull 3")
        path = catalog.run_path(catalog.run(run_id))
    assert path.name == "20261122T100005_pull-3.parquet"
    app = DynoApp()
    try:
        (notice,) = [n for n in app.notices if n.startswith("Recovered")]
        assert notice.startswith("Recovered 1 run(s) cut short by a crash: 'pull 3' (2 s) in "
                                 "Crash › bike › session 1 of 2026-11-22 10:00, saved as ")
        assert str(path) in notice and "lists them as recovered" in notice
        (entry,) = sessions_of(app.runs.tree())[0].runs
        assert entry.id == run_id and entry.status == "recovered"
        assert entry.peak_known and entry.peak.power_hp == pytest.approx(70.0, abs=0.5)
        assert app.runs.run_path(entry) == path and path.is_file()
    finally:
        app.close()


def test_a_saved_run_reaches_the_library_views() -> None:
    app = DynoApp()
    try:
        heard: list[object] = []
        app.runs.runs_changed.connect(heard.append)
        customer = app.runs.add_customer("Sam")
        vehicle = app.runs.add_vehicle(customer, "bike", BuildSpec.stock("twin_cam_96"))
        session = app.runs.start_session(vehicle)
        assert app.catalog is not None
        run_id = a_saved_run(app.catalog, session, "pull 1", "2026-11-22T10:00:00",
                             pull_columns())
        app.live.run_saved.emit(app.catalog.run(run_id))  # as LiveSession.stop_recording does
        assert [getattr(r, "id", None) for r in heard] == [run_id]
    finally:
        app.close()


def _holds(folder: Path, name: str, rpm: float, map_kpa: float) -> Path:
    log = steady_log(rpm=rpm, map_kpa=map_kpa, afr=13.0)
    path = folder / f"{name}.parquet"
    write_run(path, log.columns, RunMetadata(name, "2026-11-22T10:00:00"))
    return path


def test_the_coverage_of_runs_picked_in_the_library_is_shown_and_not_kept(tmp_path: Path) -> None:
    app = DynoApp()
    try:
        app.tune.show(Tune({t.name: t for t in (ve_table(VE_FRONT_MAP), ve_table(VE_REAR_MAP))}),
                      "test tune")
        coverage = app.coverage
        before = coverage.view()
        assert before is not None and before.coverage.weight.sum() == 0
        paths = [_holds(tmp_path, "hold 1", 3000.0, 60.0), _holds(tmp_path, "hold 2", 4000.0, 80.0),
                 tmp_path / "gone.parquet"]
        coverage.show_runs(paths, ["hold 1", "hold 2", "gone"])
        view = coverage.view()
        assert view.vehicle == "3 runs ('hold 1', 'hold 2', 'gone')"
        weight = view.coverage.weight
        assert weight[2, 2] > 0 and weight[3, 3] > 0  # 3000 rpm / 60 kPa, 4000 rpm / 80 kPa
        assert weight[0, 0] == 0
        assert coverage.shown_runs is not None
        (problem,) = coverage.shown_runs.problems
        assert problem.startswith("Run 'gone' was not counted") and "gone.parquet" in problem
        coverage.show_vehicle()
        assert coverage.view().coverage.weight.sum() == 0  # nothing was kept
    finally:
        app.close()


def test_an_imported_mlg_keeps_its_markers_on_the_logs_time(tmp_path: Path) -> None:
    from tests.storage.mlg_writer import log_to_mlg

    columns = dict(steady_log(seconds=5.0).columns)
    path = tmp_path / "pulls.mlg"
    path.write_bytes(log_to_mlg(columns, markers={120: "WOT pull 1", 410: "rear lean"}))
    view = RunLibrary(None).import_log(path)
    assert [(m.time_s, m.note) for m in view.markers] == [
        (pytest.approx(1.2), "WOT pull 1"), (pytest.approx(4.1), "rear lean")]
    assert "TunerStudio MLG v2" in view.title
