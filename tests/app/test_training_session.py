"""Training data in the app (issue 18): every saved session becomes a training record without a
manual step, extracted on a worker and kept in the catalog on the UI thread; one switch per
session leaves it out; export validates; import adds another shop's sessions; the progress
against the minimums and the mix of builds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.app.training_progress import MINIMUM_SESSIONS, cam_class
from dynoai_desktop.app.training_session import TrainingSession
from dynoai_desktop.core.build_spec import BuildSpec, CamSpec, EngineFamily
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.training.dataset import check_text, dataset_json, load
from dynoai_desktop.ml.training.from_catalog import session_source
from dynoai_desktop.ml.training.records import PATTERNS, SCHEMA_VERSION
from dynoai_desktop.storage.catalog import Catalog
from tests.app.demo_app import demo_session, wait_for
from tests.training_data import (
    BREAKS,
    WORKER_THREADS,
    FakeLive,
    a_run,
    a_session_with_runs,
    a_tune,
    stub_extract,
)


@pytest.fixture
def make(catalog: Catalog) -> Iterator[Callable[..., TrainingSession]]:
    """Training sessions over ``catalog`` (closed after the test), the stand-in extractor."""
    made: list[TrainingSession] = []

    def new(on: Catalog = catalog, live: FakeLive | None = None, runs: RunLibrary | None = None,
            ) -> TrainingSession:
        training = TrainingSession(on, runs or RunLibrary(on), live or FakeLive(),  # type: ignore[arg-type]
                                   extract=stub_extract)
        made.append(training)
        return training

    yield new
    for training in made:
        training.close()


# ---------------------------------------------------------------- collecting


def test_a_saved_run_makes_its_session_a_record_without_a_manual_step(catalog, make) -> None:  # noqa: ANN001
    live, runs = FakeLive(), RunLibrary(catalog)
    training = make(live=live, runs=runs)
    assert training.entries() == [] and not training.busy
    customer = runs.add_customer("Dana Ortiz")
    vehicle = runs.add_vehicle(customer, "2016 Low Rider S", BuildSpec.stock("twin_cam_103"))
    session = runs.start_session(vehicle)
    WORKER_THREADS.clear()
    live.run_saved.emit(catalog.run(a_run(catalog, session, 0)))
    assert training.busy and training.extracting == session
    assert training.wait()
    assert WORKER_THREADS and all(n.startswith("training") for n in WORKER_THREADS)
    text = catalog.training_record(session)
    assert text is not None and f'"session_id":"session:{session}"' in text
    [entry] = training.entries()
    assert entry.session_id == session and entry.vehicle == "2016 Low Rider S"
    assert entry.state == "extracted: 0 of 6 patterns" and not entry.excluded
    assert [r.name for r in entry.record.runs] == ["pull 0"]  # type: ignore[union-attr]

    a_run(catalog, session, 1)  # saved without the event (another cell, say)
    runs.close_session()  # closing the session brings its record up to date
    assert training.busy and training.wait()
    [entry] = training.entries()
    assert [r.name for r in entry.record.runs] == ["pull 0", "pull 1"]  # type: ignore[union-attr]


def test_sessions_saved_before_are_caught_up_at_start(catalog, make) -> None:  # noqa: ANN001
    first, second = a_session_with_runs(catalog, runs=2), a_session_with_runs(catalog, runs=1)
    empty = a_session_with_runs(catalog, runs=0)
    training = make()
    assert training.wait()
    assert catalog.training_record(first) and catalog.training_record(second)
    assert catalog.training_record(empty) is None
    training.close()
    a_run(catalog, second, 5)  # saved while the app was not collecting
    again = make()
    assert again.busy and again.wait()
    by_id = {e.session_id: e for e in again.entries()}
    assert set(by_id) == {first, second}
    assert len(by_id[second].record.runs) == 2  # type: ignore[union-attr]


def test_collecting_never_waits_for_extraction_and_closing_keeps_the_one_running(
    catalog, make  # noqa: ANN001
) -> None:
    sessions = [a_session_with_runs(catalog, runs=1) for _ in range(3)]
    go = threading.Event()

    def slow(data):  # noqa: ANN001, ANN202
        assert go.wait(30), "never let go"
        return stub_extract(data)

    training = TrainingSession(catalog, RunLibrary(catalog), FakeLive(),  # type: ignore[arg-type]
                               extract=slow)
    # Constructed, and the first session is being extracted: nothing here waited for it.
    assert training.extracting == sessions[0] and not training.poll()
    assert [e.state for e in training.entries()] == ["extracting…"] * 3
    go.set()
    training.close()  # the one running is finished and kept; the rest wait for the next start
    assert catalog.training_record(sessions[0]) is not None
    assert catalog.training_record(sessions[1]) is None
    assert catalog.stale_training_sessions(SCHEMA_VERSION) == sessions[1:]
    again = make()
    assert again.wait() and catalog.stale_training_sessions(SCHEMA_VERSION) == []


def test_a_session_that_cannot_be_extracted_says_why_and_the_rest_go_on(catalog, make) -> None:  # noqa: ANN001
    broken = a_session_with_runs(catalog, runs=1, vehicle=BREAKS)
    gone = a_session_with_runs(catalog, runs=1)
    catalog.run_path(catalog.runs(gone)[0]).unlink()
    fine = a_session_with_runs(catalog, runs=1)
    training = make()
    assert training.wait()
    by_id = {e.session_id: e for e in training.entries()}
    assert by_id[broken].state == "no record: extraction failed: ValueError: a bug in one " \
                                  "extractor"
    assert by_id[gone].record is None
    assert f"none of the runs of session:{gone} could be read" in by_id[gone].state
    assert by_id[fine].record is not None
    assert [s.session_id for s in training.dataset().sessions] == [f"session:{fine}"]


# ---------------------------------------------------------------- the switch


def test_one_switch_leaves_a_session_out_and_it_stays_out(catalog, make) -> None:  # noqa: ANN001
    sessions = [a_session_with_runs(catalog, runs=1) for _ in range(3)]
    training = make()
    assert training.wait()
    training.exclude(sessions[1], True)
    assert [s.session_id for s in training.dataset().sessions] == [
        f"session:{sessions[0]}", f"session:{sessions[2]}"]
    assert training.progress().sessions == 2 and training.progress().excluded == 1
    assert {e.session_id: e.state for e in training.entries()}[sessions[1]] == "excluded"
    a_run(catalog, sessions[1], 3)
    training.request(sessions[1])  # extracted again: still excluded
    assert training.wait()
    training.close()
    again = make()
    assert again.wait()
    assert len(again.dataset().sessions) == 2
    [entry] = [e for e in again.entries() if e.excluded]
    assert entry.session_id == sessions[1] and len(entry.record.runs) == 2  # type: ignore[union-attr]
    again.exclude(sessions[1], False)
    assert len(again.dataset().sessions) == 3
    with pytest.raises(InputError, match="session 99|no session 99"):
        again.exclude(99, True)


def test_a_flagged_session_stays_out_with_its_reason_unless_used_anyway(catalog, make) -> None:  # noqa: ANN001
    sessions = [a_session_with_runs(catalog, runs=1) for _ in range(3)]
    training = make()
    assert training.wait()
    flagged = f"session:{sessions[1]}"
    training.set_flagger(lambda record, _same: ["the rear wideband read on 0% of the driven rows"]
                         if record.session_id == flagged else [])
    assert [s.session_id for s in training.dataset().sessions] == [
        f"session:{sessions[0]}", f"session:{sessions[2]}"]
    progress = training.progress()
    assert progress.sessions == 2 and progress.flagged == 1 and progress.excluded == 0
    entry = {e.session_id: e for e in training.entries()}[sessions[1]]
    assert entry.state == "flagged, kept out: the rear wideband read on 0% of the driven rows"
    assert entry.kept_out_by_flags and not entry.used_anyway
    training.use_anyway(sessions[1], True)  # the tuner knows better
    assert len(training.dataset().sessions) == 3
    assert {e.session_id: e.state for e in training.entries()}[sessions[1]].startswith(
        "flagged, used anyway")
    training.close()
    again = make()  # the override is kept in the catalog
    assert again.wait()
    again.set_flagger(lambda record, _same: ["dead"] if record.session_id == flagged else [])
    assert len(again.dataset().sessions) == 3
    again.use_anyway(sessions[1], False)
    assert len(again.dataset().sessions) == 2
    again.exclude(sessions[1], True)  # the tuner's own switch still works on a flagged one
    assert {e.session_id: e.state for e in again.entries()}[sessions[1]] == "excluded"
    assert again.progress().excluded == 1 and again.progress().flagged == 0


# ---------------------------------------------------------------- files


def test_export_writes_a_dataset_that_validates(catalog, make, tmp_path: Path) -> None:  # noqa: ANN001
    for _ in range(2):
        a_session_with_runs(catalog, runs=2, tune=a_tune(afr=True))
    training = make()
    assert training.wait()
    path = tmp_path / "shop.json"
    assert training.export(path) == 2
    report = check_text(path.read_text(encoding="utf-8"), str(path))
    assert report.valid, report.problems
    assert report.contents.sessions == 2 and report.contents.patterns["afr_targets"] == 2
    with pytest.raises(InputError, match="shop.csv: a training dataset is a .json file"):
        training.export(tmp_path / "shop.csv")
    training.export_later(tmp_path / "later.json")
    assert training.wait()
    assert training.message == f"Exported 2 session(s) to {tmp_path / 'later.json'}"
    assert load(tmp_path / "later.json").sessions == load(path).sessions


def test_import_adds_another_shops_sessions_once(catalog, make, tmp_path: Path) -> None:  # noqa: ANN001
    other = Catalog(tmp_path / "other" / "catalog.sqlite")
    try:
        for n in range(3):
            a_session_with_runs(other, runs=1, vehicle=f"their bike {n}")
        theirs = make(other)
        assert theirs.wait()
        theirs.export(tmp_path / "theirs.json")
    finally:
        theirs.close()
        other.close()
    ours = a_session_with_runs(catalog, runs=1, vehicle="our bike")  # our 1 beside theirs
    training = make()
    assert training.wait()
    report = training.import_(tmp_path / "theirs.json")
    assert (report.added, report.replaced, report.already_here) == (3, 0, 0)
    assert report.text == "Imported theirs.json: 3 session(s) added"
    entries = training.entries()
    assert [e.imported for e in entries] == [False, True, True, True]
    ids = [s.session_id for s in training.dataset().sessions]
    assert ids == [f"session:{ours}", "imported:session:1", "session:2", "session:3"]
    path = tmp_path / "all.json"
    training.export(path)
    assert check_text(path.read_text(encoding="utf-8"), str(path)).valid
    # Imported again, or our own export imported back: nothing is doubled.
    assert training.import_(tmp_path / "theirs.json").already_here == 3
    training.export(tmp_path / "ours.json")
    assert training.import_(tmp_path / "ours.json").already_here == 4
    changed = load(tmp_path / "theirs.json").sessions[1]  # their session:2, extracted again
    again_file = tmp_path / "theirs-again.json"
    again_file.write_text(dataset_json(replace(load(tmp_path / "theirs.json"), sessions=[
        replace(changed, vehicle="their bike, retuned")])), encoding="utf-8")
    assert training.import_(again_file).replaced == 1
    training.exclude("session:2", True)
    assert len(training.dataset().sessions) == 3
    training.close()
    again = make()
    assert again.wait()
    assert len(again.dataset().sessions) == 3 and len(again.entries()) == 4 + 1 - 1
    with pytest.raises(InputError, match="not a .json file"):
        again.import_(tmp_path / "theirs.csv")
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "kind": "dynoai-training-data", "sessions": [{}]}',
                   encoding="utf-8")
    with pytest.raises(InputError, match="bad.json: sessions\\[0\\].session_id: missing"):
        again.import_(bad)
    again.import_later(bad)
    assert again.wait()
    assert again.message.startswith("Import failed: ") and "bad.json" in again.message


# ---------------------------------------------------------------- progress


def test_progress_counts_sessions_per_pattern_against_the_minimums_and_the_mix(
    catalog, make  # noqa: ANN001
) -> None:
    m8 = replace(BuildSpec.stock(EngineFamily.M8_114), stage=2, cam=CamSpec("S&S 475"))
    tc110 = replace(BuildSpec.stock(EngineFamily.TC110), stage=3,
                    cam=CamSpec("hot", intake_duration_deg=246, exhaust_duration_deg=248))
    a_session_with_runs(catalog, tune=a_tune(afr=True))
    a_session_with_runs(catalog, build=m8, tune=a_tune(afr=True))
    a_session_with_runs(catalog, build=tc110)
    training = make()
    assert training.wait()
    progress = training.progress()
    by_name = {p.name: p for p in progress.patterns}
    assert list(by_name) == list(PATTERNS)
    assert by_name["afr_targets"].sessions == 2 and by_name["afr_targets"].minimum == 50
    assert by_name["afr_targets"].text == "2 of 50 sessions"
    assert by_name["ve_scaling"].minimum == 50 and by_name["heat_soak"].minimum == 25
    assert {p.name: p.minimum for p in progress.patterns} == MINIMUM_SESSIONS
    assert progress.families == {"milwaukee_eight_114": 1, "twin_cam_103": 1,
                                 "twin_cam_110": 1}
    assert progress.stages == {"0": 1, "2": 1, "3": 1}
    assert progress.cams == {"OEM": 1, "bolt-in": 1, "hot street": 1}
    assert progress.sessions == 3 and progress.simulated == 0


@pytest.mark.parametrize(
    ("cam", "stage", "expected"),
    [({"name": "stock"}, 0, "OEM"), ({"name": "stock"}, 3, "OEM"),
     ({"name": "S&S 475"}, 2, "bolt-in"), ({"name": "S&S 585"}, 3, "hot street"),
     ({"name": "x", "intake_duration_deg": 210, "exhaust_duration_deg": 212}, 3, "OEM"),
     ({"name": "x", "intake_duration_deg": 224}, 1, "bolt-in"),
     ({"name": "x", "exhaust_duration_deg": 240}, 2, "hot street")],
)
def test_a_builds_cam_class(cam: dict, stage: int, expected: str) -> None:
    assert cam_class({"cam": cam, "stage": stage}) == expected


# ---------------------------------------------------------------- on the demo cell


@pytest.mark.once_without_qt  # long: runs in the suite without Qt
def test_a_session_recorded_in_demo_mode_appears_as_a_training_record(tmp_path: Path) -> None:
    with demo_session("Training test") as (app, session, _vehicle):
        app.live.start_recording(session, "idle and cruise")
        rows = app.live.buffer.version
        wait_for(lambda: app.live.buffer.version > rows + 300, 30, "rows to record")
        app.live.stop_recording()
        assert app.training.wait(), "the record was not extracted"
        catalog = app.catalog
        assert catalog is not None and catalog.training_record(session) is not None
        [entry] = app.training.entries()
        assert entry.record is not None and entry.record.simulated  # the demo's ports
        assert entry.record.vehicle == "bike" and len(entry.record.runs) == 1
        assert set(entry.record.tables_before) >= {"ve_front", "ve_rear"}
        # The run names the tune version it ran on, so the catalog alone (after a restart)
        # still knows the session's tables.
        [run] = catalog.runs(session)
        assert run.tune_version_id == 1 and catalog.session(session).tune_id is not None
        source = session_source(catalog, session)
        assert set(source.tables_before) >= {"ve_front", "ve_rear"}
        assert set(entry.record.refusals) | set(entry.patterns) == set(PATTERNS)
        path = tmp_path / "demo.json"
        assert app.training.export(path) == 1
        report = check_text(path.read_text(encoding="utf-8"), str(path))
        assert report.valid, report.problems
        assert dataset_json(app.training.dataset()).count('"session_id"') == 1
