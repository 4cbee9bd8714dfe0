"""Settings ▸ Preferences: every unit choice is kept in the settings file and changes the gauges,
the live charts and the review cursor's read-out at once; it is still chosen at the next start."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtWidgets import QDialog

from dynoai_desktop.core.channels import CHANNELS
from dynoai_desktop.core.display import DisplayUnits, display_unit, unit_symbol
from dynoai_desktop.storage.run_files import RunMetadata, write_run
from dynoai_desktop.storage.settings import SettingsStore
from dynoai_desktop.ui.preferences import UNIT_FIELDS, PreferencesDialog

# One channel shown in each kind of unit: what the gauge, the chart or the read-out shows.
CHANNEL_OF = {"afr": "afr_front", "temperature": "engine_temp_c", "torque": "torque_ftlb",
              "power": "power_hp", "speed": "speed_mph", "pressure": "baro_kpa"}
CASES = [(name, unit) for name, (_title, choices) in UNIT_FIELDS.items() for unit in choices]


def _choose(monkeypatch: pytest.MonkeyPatch, field: str, unit: str) -> None:
    def exec_(dialog: PreferencesDialog) -> int:
        combo = dialog.combos[field]
        combo.setCurrentIndex(combo.findData(unit))
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(PreferencesDialog, "exec", exec_)


def _run(tmp_path: Path) -> Path:
    path = tmp_path / "run.parquet"
    t = np.arange(0.0, 5.0, 0.05)
    write_run(path, pd.DataFrame({
        "time_s": t, "rpm": np.full(t.size, 3000.0), "afr_front": np.full(t.size, 13.2),
        "torque_ftlb": np.full(t.size, 95.0), "power_hp": np.full(t.size, 54.3),
        "engine_temp_c": np.full(t.size, 150.0)}), RunMetadata("pull", "2026-12-05T10:00:00"))
    return path


@pytest.mark.parametrize(("field", "unit"), CASES)
def test_a_unit_chosen_in_preferences_is_kept_and_shown_everywhere(
        qtbot, make_window, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, field: str,
        unit: str) -> None:
    window = make_window()
    window.review.open_run(_run(tmp_path))
    window.review.show_cursor(2.0)
    _choose(monkeypatch, field, unit)
    window.preferences_action.trigger()

    assert getattr(window.app.settings.current.units, field) == unit
    assert getattr(SettingsStore().load().units, field) == unit  # in the file, for next start
    units = window.app.settings.current.units
    channel = CHANNEL_OF[field]
    symbol = unit_symbol(display_unit(channel, units))
    if channel in window.live.gauges:
        assert window.live.gauges[channel].unit_label.text() == symbol
    if field == "afr":
        assert symbol in window.live.afr_chart.plot.getAxis("left").labelText
    if channel in window.review.values:
        assert symbol in window.review.cursor_label.text()
        assert window.review.units == units
    assert window.live.units == units


def test_map_stays_in_kpa_whatever_the_barometer_is_shown_in(make_window) -> None:
    window = make_window()
    window.app.settings.update(units=replace(DisplayUnits(), pressure="inHg"))
    assert display_unit("map_kpa", window.app.settings.current.units) == "kPa"
    assert window.live.gauges["map_kpa"].unit_label.text() == "kPa"
    assert display_unit("baro_kpa", window.app.settings.current.units) == "inHg"
    assert CHANNELS["baro_kpa"].unit == "kPa"  # stored as ever


def test_an_editor_step_chosen_in_preferences_is_what_plus_adds(
        qtbot, make_window, monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    from dynoai_desktop.core.tune import Tune
    from dynoai_desktop.storage.resources import demo_base_tables

    tables, label = demo_base_tables()
    window.app.tune.show(Tune({t.name: t for t in tables}), label)

    def exec_(dialog: PreferencesDialog) -> int:
        dialog.step_boxes["ve_pct"].setValue(2.0)
        dialog.combos["afr"].setCurrentIndex(dialog.combos["afr"].findData("lambda"))
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(PreferencesDialog, "exec", exec_)
    window.preferences_action.trigger()
    assert SettingsStore().load().editor_steps.ve_pct == 2.0
    editor = window.tables.view
    table = window.tables.current_table
    assert table is not None and table.units == "%"
    before = float(table.values[3, 2])
    editor.select_cells(3, 2, 3, 2)
    editor.step(1)
    assert float(window.app.tune.table(table.name).values[3, 2]) == before + 2.0
