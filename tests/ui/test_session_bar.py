"""The session bar: customers, vehicles and sessions in the catalog; Record, Stop and Marker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.core.build_spec import EngineFamily
from dynoai_desktop.ml.training.patterns.decel import POP_NOTE as COUNTED_AS_POP
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.session_bar import (
    NewCustomerDialog,
    NewVehicleDialog,
    SessionBar,
    next_run_name,
)


@pytest.fixture
def bar(qtbot, catalog: Catalog) -> SessionBar:
    widget = SessionBar(RunLibrary(catalog))
    qtbot.addWidget(widget)
    return widget


def _answer(
    monkeypatch: pytest.MonkeyPatch, dialog_class: type[QDialog], fill: Callable[[QDialog], None]
) -> None:
    """The next dialog of ``dialog_class`` is filled in by ``fill`` and OK'd (no blocking exec)."""

    def exec_(dialog: QDialog) -> int:
        fill(dialog)
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(dialog_class, "exec", exec_)


def _fill_customer(dialog: NewCustomerDialog) -> None:
    dialog.name_edit.setText("Sam Rivera")
    dialog.phone_edit.setText("555-0142")


def _fill_vehicle(dialog: NewVehicleDialog) -> None:
    dialog.name_edit.setText("2016 Low Rider S")
    dialog.set_family(EngineFamily.TC110)
    dialog.stage_spin.setValue(2)


@pytest.fixture
def with_session(bar: SessionBar, monkeypatch: pytest.MonkeyPatch) -> int:
    _answer(monkeypatch, NewCustomerDialog, _fill_customer)
    _answer(monkeypatch, NewVehicleDialog, _fill_vehicle)
    bar.new_customer_button.click()
    bar.new_vehicle_button.click()
    bar.start_session_button.click()
    assert bar.session_id is not None
    return bar.session_id


def test_new_customer_and_vehicle_go_into_the_catalog_and_are_selected(
    bar: SessionBar, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not bar.vehicle_combo.isEnabled() and not bar.new_vehicle_button.isEnabled()
    _answer(monkeypatch, NewCustomerDialog, _fill_customer)
    bar.new_customer_button.click()
    (customer,) = catalog.customers()
    assert (customer.name, customer.phone) == ("Sam Rivera", "555-0142")
    assert bar.customer_combo.currentText() == "Sam Rivera" and bar.customer_id == customer.id

    _answer(monkeypatch, NewVehicleDialog, _fill_vehicle)
    bar.new_vehicle_button.click()
    (vehicle,) = catalog.vehicles(customer.id)
    assert vehicle.name == "2016 Low Rider S"
    assert vehicle.build_spec.engine_family is EngineFamily.TC110
    assert vehicle.build_spec.stage == 2
    assert vehicle.build_spec.displacement_ci == 110.0  # the stock family's figures
    assert bar.vehicle_combo.currentText() == "2016 Low Rider S"
    assert "Twin Cam 110" in bar.vehicle_combo.itemData(0, Qt.ItemDataRole.ToolTipRole)


def test_dialogs_refuse_a_missing_name_or_engine(qtbot) -> None:
    customer = NewCustomerDialog()
    qtbot.addWidget(customer)
    customer.accept()
    assert customer.result() != QDialog.DialogCode.Accepted
    assert customer.problem.text() == "Give the customer's name."

    vehicle = NewVehicleDialog()
    qtbot.addWidget(vehicle)
    assert [vehicle.family_combo.itemText(i) for i in range(3)] == [
        "Twin Cam 88", "Twin Cam 96", "Twin Cam 103",
    ]  # fmt: skip
    vehicle.name_edit.setText("2019 Street Glide")
    vehicle.accept()
    assert vehicle.result() != QDialog.DialogCode.Accepted
    assert "engine family" in vehicle.problem.text()
    vehicle.set_family(EngineFamily.M8_114)
    vehicle.accept()
    assert vehicle.result() == QDialog.DialogCode.Accepted
    assert vehicle.build_spec().engine_family is EngineFamily.M8_114


def test_a_cancelled_dialog_adds_nothing(
    bar: SessionBar, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(NewCustomerDialog, "exec", lambda _d: QDialog.DialogCode.Rejected)
    bar.new_customer_button.click()
    assert catalog.customers() == [] and bar.customer_id is None


def test_start_session_opens_one_in_the_catalog_and_enables_record(
    bar: SessionBar, catalog: Catalog, with_session: int
) -> None:
    (session,) = catalog.sessions(bar.vehicle_id)
    assert session.id == with_session and session.ended_at is None
    assert "T" in session.started_at  # ISO time
    assert bar.session_label.text().startswith(f"Session {with_session}: 2016 Low Rider S")
    assert bar.record_button.isEnabled()


def test_record_is_off_until_there_is_a_session(bar: SessionBar, qtbot) -> None:
    assert bar.session_id is None and not bar.record_button.isEnabled()
    with qtbot.assertNotEmitted(bar.record_requested):
        bar._on_record()


def test_record_emits_the_session_and_run_name_and_stop_counts_the_name_up(
    bar: SessionBar, with_session: int, qtbot
) -> None:
    assert bar.run_name_edit.text() == "run 1"
    with qtbot.waitSignal(bar.record_requested, timeout=1000) as blocker:
        bar.record_button.click()
    assert blocker.args == [with_session, "run 1"]

    bar.set_recording(True)
    assert bar.record_button.text() == "Stop"
    assert theme.FAULT in bar.record_button.styleSheet()
    with qtbot.assertNotEmitted(bar.record_requested):
        with qtbot.waitSignal(bar.stop_requested, timeout=1000):
            bar.record_button.click()
    bar.set_recording(False)
    assert bar.record_button.text() == "Record" and bar.record_button.styleSheet() == ""
    assert bar.run_name_edit.text() == "run 2"

    bar.run_name_edit.setText("wot pull 09")
    with qtbot.waitSignal(bar.record_requested, timeout=1000) as blocker:
        bar.record_button.click()
    assert blocker.args == [with_session, "wot pull 09"]
    bar.set_recording(True)
    bar.set_recording(False)
    assert bar.run_name_edit.text() == "wot pull 10"


def test_a_refused_record_does_not_count_the_name_up(bar: SessionBar, with_session: int) -> None:
    bar.record_button.click()  # the owner could not start: it never calls set_recording(True)
    bar.set_recording(False)
    assert bar.run_name_edit.text() == "run 1"


def test_recording_disables_session_changes(bar: SessionBar, with_session: int) -> None:
    bar.set_recording(True)
    for widget in (
        bar.customer_combo,
        bar.new_customer_button,
        bar.vehicle_combo,
        bar.new_vehicle_button,
        bar.start_session_button,
        bar.run_name_edit,
    ):
        assert not widget.isEnabled(), widget
    assert bar.record_button.isEnabled() and bar.marker_button.isEnabled()
    bar.set_recording(False)
    assert bar.customer_combo.isEnabled() and bar.start_session_button.isEnabled()
    assert not bar.marker_button.isEnabled()


def test_another_vehicle_needs_its_own_session(
    bar: SessionBar, catalog: Catalog, with_session: int
) -> None:
    vehicle_id = catalog.add_vehicle(
        bar.customer_id, "2021 Road Glide", catalog.vehicle(bar.vehicle_id).build_spec
    )
    bar.refresh_vehicles()
    bar.vehicle_combo.setCurrentIndex(bar.vehicle_combo.findData(vehicle_id))
    assert bar.session_id is None and not bar.record_button.isEnabled()
    assert bar.session_label.text() == "no session"


def test_marker_emits_the_note_while_recording(bar: SessionBar, with_session: int, qtbot) -> None:
    with qtbot.assertNotEmitted(bar.marker_requested):
        bar._on_marker()  # no run, no marker
    bar.set_recording(True)
    bar.marker_note_edit.setText("lean on tip-in")
    with qtbot.waitSignal(bar.marker_requested, timeout=1000) as blocker:
        bar.marker_button.click()
    assert blocker.args == ["lean on tip-in"]
    assert bar.marker_note_edit.text() == ""


def test_marker_shortcuts_m_in_the_bar_and_ctrl_m_anywhere(
    bar: SessionBar, with_session: int, qtbot
) -> None:
    bar.show()
    bar.activateWindow()
    qtbot.waitUntil(bar.isActiveWindow)
    bar.set_recording(True)

    bar.record_button.setFocus()
    with qtbot.waitSignal(bar.marker_requested, timeout=1000) as blocker:
        qtbot.keyClick(bar.record_button, Qt.Key.Key_M)
    assert blocker.args == [""]

    bar.marker_note_edit.setFocus()  # typing a note keeps its letter m
    with qtbot.assertNotEmitted(bar.marker_requested):
        qtbot.keyClicks(bar.marker_note_edit, "misfire")
    assert bar.marker_note_edit.text() == "misfire"
    with qtbot.waitSignal(bar.marker_requested, timeout=1000) as blocker:
        qtbot.keyClick(bar.marker_note_edit, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args == ["misfire"]


def test_ctrl_m_works_from_another_window(bar: SessionBar, with_session: int, qtbot) -> None:
    bar.show()  # a hidden widget's shortcuts never fire; in the app the bar is on screen
    other = QDialog()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(other.isActiveWindow)
    bar.set_recording(True)
    with qtbot.waitSignal(bar.marker_requested, timeout=1000):
        qtbot.keyClick(other, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    with qtbot.assertNotEmitted(bar.marker_requested):
        qtbot.keyClick(other, Qt.Key.Key_M)  # plain M only counts inside the bar


@pytest.mark.parametrize(
    ("name", "after"),
    [("run 1", "run 2"), ("run 9", "run 10"), ("pull 09", "pull 10"), ("baseline", "baseline 2"),
     ("", "run 1")],
)  # fmt: skip
def test_run_names_count_up(name: str, after: str) -> None:
    assert next_run_name(name) == after


def test_a_problem_line_goes_once_it_is_fixed(qtbot, bar: SessionBar, with_session: int) -> None:
    bar.run_name_edit.setText("  ")
    bar.record_button.click()
    assert bar.problem.isVisibleTo(bar) and "Give the run a name" in bar.problem.text()
    bar.run_name_edit.setText("pull 2")
    assert not bar.problem.isVisibleTo(bar)

    vehicle = NewVehicleDialog()
    qtbot.addWidget(vehicle)
    vehicle.name_edit.setText("2019 Street Glide")
    vehicle.accept()
    assert vehicle.problem.isVisibleTo(vehicle)
    vehicle.set_family(EngineFamily.M8_114)
    assert not vehicle.problem.isVisibleTo(vehicle)


def test_f9_records_and_stops_from_anywhere(qtbot, bar: SessionBar, with_session: int) -> None:
    bar.show()
    with qtbot.waitSignal(bar.record_requested, timeout=1000):
        bar.record_shortcut.activated.emit()
    bar.set_recording(True)
    with qtbot.waitSignal(bar.stop_requested, timeout=1000):
        bar.record_shortcut.activated.emit()
    assert bar.record_shortcut.key().toString() == "F9"


def test_pop_marks_a_pop_heard_while_recording(bar: SessionBar, with_session: int, qtbot) -> None:
    """The Pop button (Ctrl+P anywhere) drops a "pop" marker: the training data counts decel
    pops from these."""
    with qtbot.assertNotEmitted(bar.marker_requested):
        bar._on_pop()  # no run, no marker
    assert not bar.pop_button.isEnabled()
    bar.set_recording(True)
    bar.marker_note_edit.setText("kept for the next marker")
    with qtbot.waitSignal(bar.marker_requested, timeout=1000) as blocker:
        bar.pop_button.click()
    assert blocker.args == ["pop"]
    assert bar.marker_note_edit.text() == "kept for the next marker"
    assert COUNTED_AS_POP.match(blocker.args[0])  # what the decel extractor counts
