"""The Training data panel: per pattern a bar to its minimum, the mix of builds, every session
with its record's state and an Exclude switch, Export… and Import…; it fills on its own as the
collection (on a worker) finishes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.app.training_session import TrainingSession
from dynoai_desktop.core.build_spec import BuildSpec, CamSpec, EngineFamily
from dynoai_desktop.ml.training.dataset import check_text
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.ui.panels.training_data import (
    ANYWAY_COLUMN,
    EXCLUDE_COLUMN,
    SESSION_COLUMNS,
    TrainingDataPanel,
)
from tests.training_data import FakeLive, a_session_with_runs, a_tune, stub_extract

STATE = SESSION_COLUMNS.index("State")
VEHICLE = SESSION_COLUMNS.index("Vehicle")
WAIT_MS = 30_000


@pytest.fixture
def training(catalog: Catalog) -> Iterator[TrainingSession]:
    made = TrainingSession(catalog, RunLibrary(catalog), FakeLive(),  # type: ignore[arg-type]
                           extract=stub_extract)
    yield made
    made.close()


def _panel(qtbot, training: TrainingSession) -> TrainingDataPanel:  # noqa: ANN001
    """The panel over ``training``, once it has caught up with the sessions the test made."""
    training.catch_up()
    panel = TrainingDataPanel(training)
    qtbot.addWidget(panel)
    panel.resize(420, 700)
    panel.show()
    qtbot.waitUntil(lambda: training.loaded and not training.busy
                    and panel.session.version == panel._shown[0], timeout=WAIT_MS)
    return panel


def _shop(catalog: Catalog) -> list[int]:
    m8 = replace(BuildSpec.stock(EngineFamily.M8_114), stage=2, cam=CamSpec("S&S 475"))
    return [a_session_with_runs(catalog, tune=a_tune(afr=True)),
            a_session_with_runs(catalog, runs=2, tune=a_tune(afr=True)),
            a_session_with_runs(catalog, vehicle="2019 Street Glide", build=m8)]


def test_it_shows_each_pattern_against_its_minimum_and_the_mix(qtbot, catalog,  # noqa: ANN001
                                                               training) -> None:  # noqa: ANN001
    _shop(catalog)
    panel = _panel(qtbot, training)
    afr = panel.bars["afr_targets"]
    assert (afr.value(), afr.maximum(), afr.format()) == (2, 50, "2 of 50 sessions")
    decel = panel.bars["decel_popping"]
    assert (decel.value(), decel.maximum(), decel.format()) == (0, 30, "0 of 30 sessions")
    assert panel.bars["heat_soak"].maximum() == 25 and panel.bars["knock_timing"].maximum() == 40
    assert panel.families.counts() == {"Twin Cam 103": 2, "Milwaukee-Eight 114": 1}
    assert panel.stages.counts() == {"stock": 2, "Stage 2": 1}
    assert panel.cams.counts() == {"OEM": 2, "bolt-in": 1}
    assert panel.headline.text().startswith("3 session(s) in the dataset")


def test_each_session_shows_its_records_state(qtbot, catalog, training) -> None:  # noqa: ANN001
    first, second, third = _shop(catalog)
    gone = a_session_with_runs(catalog)
    catalog.run_path(catalog.runs(gone)[0]).unlink()
    panel = _panel(qtbot, training)
    table = panel.sessions
    assert table.rowCount() == 4
    assert [table.item(r, 0).text() for r in range(4)] == [
        f"Session {s}" for s in (gone, third, second, first)]  # newest first
    assert table.item(panel.row_of(first), STATE).text() == "extracted: 1 of 6 patterns"
    assert "Not extracted, Heat soak: the test's extractor" in \
        table.item(panel.row_of(first), STATE).toolTip()
    assert table.item(panel.row_of(third), VEHICLE).text() == "2019 Street Glide"
    row = panel.row_of(gone)
    assert table.item(row, STATE).text().startswith("no record: none of the runs")
    assert not table.item(row, EXCLUDE_COLUMN).flags() & Qt.ItemFlag.ItemIsUserCheckable


def test_the_exclude_switch_leaves_a_session_out(qtbot, catalog, training) -> None:  # noqa: ANN001
    first, _second, _third = _shop(catalog)
    panel = _panel(qtbot, training)
    switch = panel.sessions.item(panel.row_of(first), EXCLUDE_COLUMN)
    assert switch.checkState() == Qt.CheckState.Unchecked
    switch.setCheckState(Qt.CheckState.Checked)  # as a click does
    assert [r[0] for r in catalog.training_records()] == [2, 3]
    assert panel.bars["afr_targets"].format() == "1 of 50 sessions"
    assert panel.headline.text().endswith("; 1 excluded")
    assert panel.sessions.item(panel.row_of(first), STATE).text() == "excluded"
    panel.sessions.item(panel.row_of(first), EXCLUDE_COLUMN).setCheckState(
        Qt.CheckState.Unchecked)
    assert len(catalog.training_records()) == 3
    assert panel.bars["afr_targets"].format() == "2 of 50 sessions"


def test_a_flagged_session_says_why_and_can_be_used_anyway(qtbot, catalog, training) -> None:  # noqa: ANN001
    first, second, _third = _shop(catalog)
    training.set_flagger(lambda record, _same: ["the rear wideband's reading stood still 94% "
                                                "of the time (stuck?)"]
                         if record.session_id == f"session:{first}" else [])
    panel = _panel(qtbot, training)
    row = panel.row_of(first)
    state = panel.sessions.item(row, STATE)
    assert state.text() == ("flagged, kept out: the rear wideband's reading stood still 94% of "
                            "the time (stuck?)")
    assert "Anomaly check: the rear wideband" in state.toolTip()
    assert panel.headline.text().endswith("; 1 flagged by the anomaly check and kept out")
    assert not panel.sessions.item(panel.row_of(second), ANYWAY_COLUMN).flags() \
        & Qt.ItemFlag.ItemIsUserCheckable  # nothing to override there
    anyway = panel.sessions.item(row, ANYWAY_COLUMN)
    assert anyway.checkState() == Qt.CheckState.Unchecked
    anyway.setCheckState(Qt.CheckState.Checked)  # as a click does
    assert catalog.training_used_anyway() == {first}
    assert len(training.dataset().sessions) == 3
    assert panel.sessions.item(panel.row_of(first), STATE).text().startswith(
        "flagged, used anyway")


def test_export_and_import_from_the_panel(qtbot, catalog, training, tmp_path: Path) -> None:  # noqa: ANN001
    _shop(catalog)
    panel = _panel(qtbot, training)
    path = tmp_path / "shop.json"
    panel.export_to(path)
    qtbot.waitUntil(lambda: panel.message.text().startswith("Exported"), timeout=WAIT_MS)
    assert panel.message.text() == f"Exported 3 session(s) to {path}"
    assert check_text(path.read_text(encoding="utf-8"), str(path)).valid
    panel.export_to(tmp_path / "shop.txt")
    assert "shop.txt: a training dataset is a .json file" in panel.message.text()

    other_path = tmp_path / "other" / "catalog.sqlite"
    with Catalog(other_path) as other:
        a_session_with_runs(other, vehicle="their bike")
        theirs = TrainingSession(other, RunLibrary(other), FakeLive(),  # type: ignore[arg-type]
                                 extract=stub_extract)
        assert theirs.wait()
        theirs.export(tmp_path / "theirs.json")
        theirs.close()
    panel.import_from(tmp_path / "theirs.json")
    qtbot.waitUntil(lambda: panel.message.text().startswith("Imported"), timeout=WAIT_MS)
    assert panel.message.text() == "Imported theirs.json: 1 session(s) added"
    row = panel.row_of("session:1")  # theirs, beside our session 1
    assert panel.sessions.item(row, 0).text() == "session:1 (imported)"
    assert panel.sessions.item(row, VEHICLE).text() == "their bike"
    assert panel.headline.text().startswith("4 session(s)")
    panel.import_from(tmp_path / "missing.json")
    qtbot.waitUntil(lambda: panel.message.text().startswith("Import failed"), timeout=WAIT_MS)
    assert "missing.json: no such file" in panel.message.text()


def test_in_the_main_window_it_is_a_tab_beside_ai_suggestions(qtbot, make_window) -> None:  # noqa: ANN001
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    assert window.docks["training"].windowTitle() == "Training data"
    assert window.training.session is window.app.training
    window.docks["training"].raise_()
    qtbot.waitUntil(lambda: window.training.isVisible(), timeout=WAIT_MS)
    assert window.training.headline.text().startswith("0 session(s) in the dataset")
    assert window.training.export_button.isEnabled()
