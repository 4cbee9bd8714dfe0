"""The Autotune panel offline (issue 16): a saved log analysed with the panel's settings on a
worker, the corrections drawn over the editor and the AFR error grid, both cylinders applied in
one undoable step, a bad file named in the panel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from dynoai_desktop.core.log_csv import format_log_csv
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, Tune
from tests.core.autotune_logs import steady_log, ve_table


def _tune() -> Tune:
    front, rear = ve_table(VE_FRONT_MAP), ve_table(VE_REAR_MAP)
    return Tune({t.name: t for t in (front, rear)})


def _log_file(folder: Path) -> Path:
    """Holds at 3000 rpm / 60 kPa 5 % lean, then 4000 rpm / 80 kPa 4 % rich, a gap between."""
    parts = [steady_log(rpm=3000.0, map_kpa=60.0, afr=13.65),
             steady_log(rpm=4000.0, map_kpa=80.0, afr=12.48, t0=20.0)]
    columns = {k: np.concatenate([p.columns[k] for p in parts]) for k in parts[0].columns}
    path = folder / "holds.csv"
    path.write_text(format_log_csv(columns), encoding="utf-8")
    return path


def test_an_offline_analysis_shows_on_the_editor_and_applies_in_one_step(
        qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window()
    app = window.app
    app.tune.show(_tune(), "test tune")
    panel = window.autotune
    assert not panel.send_button.isVisibleTo(window)  # no virtual ECM: no sink, no button
    panel.min_weight.setValue(50.0)
    panel.analyse([_log_file(tmp_path)])
    assert panel.wait_for_analysis()
    assert panel.source.currentText() == "Offline analysis"
    assert "Offline: holds.csv" in panel.status.text()
    assert app.autotune.offline is not None
    assert app.autotune.offline.settings.min_weight == 50.0  # the settings used, kept with it
    kept = json.loads(app.autotune.saved.read_text(encoding="utf-8"))
    assert kept["settings"]["min_weight"] == 50.0 and kept["sources"] == ["holds.csv"]
    assert set(kept["tables"]) == {"ve_front", "ve_rear"}

    window.tables.show_table(window.tables._names.index(VE_FRONT_MAP))
    panel.refresh(force=True)
    layer = window.tables.view.model().layer
    assert layer is not None and layer.name == "autotune pending"
    assert layer.notes[2, 2].startswith("+5.0")  # 3000 rpm, 60 kPa: 5 % lean, VE up
    assert layer.notes[3, 3].startswith("-4.0")
    grid = panel.errors.grids["ve_front"]
    assert grid.item(2, 2).text() == "+0.65"  # measured − target, AFR

    # Re-run on the spot with another setting: the same file, the new settings.
    panel.authority.setValue(3.0)
    qtbot.mouseClick(panel.rerun_button, Qt.MouseButton.LeftButton)
    assert panel.wait_for_analysis()
    assert app.autotune.offline.settings.max_change_pct == 3.0
    assert window.tables.view.model().layer.notes[2, 2].startswith("+3.0")
    panel.authority.setValue(10.0)
    qtbot.mouseClick(panel.rerun_button, Qt.MouseButton.LeftButton)
    assert panel.wait_for_analysis()

    before: Table = app.tune.table(VE_FRONT_MAP)
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    after = app.tune.table(VE_FRONT_MAP)
    assert after.values[2, 2] == pytest.approx(before.values[2, 2] * 1.05, rel=2e-3)
    assert app.tune.table(VE_REAR_MAP).values[3, 3] < ve_table().values[3, 3]
    assert "2 tables" in app.tune.undo_text
    app.tune.undo()  # one step takes both cylinders back
    assert app.tune.table(VE_FRONT_MAP) == before
    assert app.tune.table(VE_REAR_MAP).values[3, 3] == ve_table().values[3, 3]


def test_a_file_that_is_not_a_log_is_named_in_the_panel(make_window, tmp_path: Path) -> None:
    window = make_window()
    window.app.tune.show(_tune(), "test tune")
    bad = tmp_path / "notes.csv"
    bad.write_text("this is not a log\n", encoding="utf-8")
    window.autotune.analyse([bad])
    assert window.autotune.wait_for_analysis()
    assert "notes.csv" in window.autotune.status.text()


def test_what_autotune_says_of_the_logs_shows_under_the_status_and_in_the_kept_report(
        make_window, tmp_path: Path) -> None:  # noqa: ANN001
    """A dead rear wideband and rows logged before the dyno's first line: the front is still
    corrected, and the panel says why the rear gets nothing and how many rows went nowhere."""
    window = make_window()
    app = window.app
    app.tune.show(_tune(), "test tune")
    panel = window.autotune
    panel.analyse([_log_file(tmp_path)])
    assert panel.wait_for_analysis()
    assert not panel.warnings.isVisibleTo(window)  # a clean log: nothing to say

    columns = dict(steady_log(rpm=3000.0, map_kpa=60.0, afr=13.65).columns)
    columns["afr_rear"] = np.full(columns["time_s"].size, 10.0)  # stuck: no sensor
    columns["rpm"] = columns["rpm"].copy()
    columns["rpm"][:4] = np.nan
    path = tmp_path / "dead_rear.csv"
    path.write_text(format_log_csv(columns), encoding="utf-8")
    panel.analyse([path])
    assert panel.wait_for_analysis()
    assert panel.warnings.isVisibleTo(window)
    text = panel.warnings.text()
    assert "dead_rear.csv: afr_rear stuck" in text
    assert "that cylinder's table gets nothing from it" in text
    assert f"dead_rear.csv: 4 of {columns['rpm'].size} rows have no rpm" in text
    assert "rows have no rpm" in panel.warnings.toolTip()
    outcome = app.autotune.offline
    assert outcome.result.tables["ve_front"].mask.any()
    assert not outcome.result.tables["ve_rear"].mask.any()
    kept = json.loads(app.autotune.saved.read_text(encoding="utf-8"))
    assert kept["warnings"] == list(outcome.warnings)


def test_the_heat_soak_switch_takes_a_soak_out_or_leaves_it_in(
        qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    """A log with an idle heat soak: switched on, the shipped heat-soak model takes it out and
    the status says so; switched off (the default), the re-run keeps it and says that."""
    from dataclasses import replace  # noqa: PLC0415

    from dynoai_desktop.sim.cell import CellConfig, VirtualCell  # noqa: PLC0415
    from tests.soak_log import soak_log_csv  # noqa: PLC0415

    base = VirtualCell(CellConfig()).tables
    front = replace(base.ve_front, name=VE_FRONT_MAP)
    rear = replace(base.ve_rear, name=VE_REAR_MAP)
    window = make_window()
    window.app.tune.show(Tune({front.name: front, rear.name: rear}), "base calibration")
    panel = window.autotune
    assert not panel.heat_soak.isChecked()
    panel.heat_soak.setChecked(True)
    assert window.app.autotune.take_out_heat_soak
    panel.analyse([soak_log_csv(tmp_path / "soaked.csv", 150.0)])
    assert panel.wait_for_analysis()
    assert "heat soak: a soak in" in panel.status.text()
    assert "heat-soak model shop prior" in panel.status.text()
    panel.heat_soak.setChecked(False)
    assert not window.app.autotune.take_out_heat_soak
    qtbot.mouseClick(panel.rerun_button, Qt.MouseButton.LeftButton)
    assert panel.wait_for_analysis()
    assert "not asked for" in panel.status.text()
