"""`dynoai FILE` and File ▸ Open…: a tune opens in the table editor, a run or log in Review, and
a file that cannot be opened is said in the window by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from dynoai_desktop.storage.resources import RESOURCES_DIR
from tests.realdata import REALDATA

needs_realdata = pytest.mark.skipif(REALDATA is None, reason="../shared/realdata is not here")


@needs_realdata
def test_a_power_vision_tune_opens_in_the_table_editor(window) -> None:  # noqa: ANN001
    assert REALDATA is not None
    path = REALDATA / "dynoai3_pvv_template_16D110002401.pvv"
    assert window.open_file(path)
    assert str(path) in window.app.tune.label
    assert window.tables.current_table is not None
    assert window.docks["tables"].isVisible()
    assert "Opened the tune" in window.statusBar().currentMessage()


def test_a_table_csv_opens_as_a_tune(window) -> None:  # noqa: ANN001
    path = RESOURCES_DIR / "tables" / "ve_rear_map.csv"
    assert window.open_file(path)
    assert window.app.tune.table_names == ["VE (MAP based/Rear Cyl)"]


@needs_realdata
def test_a_winpep_log_opens_in_review(window) -> None:  # noqa: ANN001
    assert REALDATA is not None
    assert window.open_file(REALDATA / "dynojet_wrl_134power.csv")
    assert window.live_dock.reviewing
    assert "dynojet_wrl_134power.csv" in window.review.title.text()


def test_a_damaged_tune_is_said_in_a_message_that_does_not_block(
    qtbot, window, tmp_path: Path  # noqa: ANN001
) -> None:
    broken = tmp_path / "customer.pvv"
    broken.write_bytes(b"\x00\x01 not a tune")
    assert not window.open_file(broken)
    assert str(broken) in window.opener.last_problem
    box = window.findChild(QMessageBox, "open_file_problem")
    qtbot.waitUntil(box.isVisible)
    assert str(broken) in box.text()
    box.close()


def test_an_unreadable_log_is_said_in_review(window, tmp_path: Path) -> None:  # noqa: ANN001
    log = tmp_path / "pull.csv"
    log.write_text("hello,world\n1,2\n")
    assert not window.open_file(log)
    assert window.review.error.isVisible()
    assert str(log) in window.opener.last_problem


def test_the_file_menu_offers_open_and_quit(window) -> None:  # noqa: ANN001
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles[0] == "&File"
    assert window.open_action.shortcut().toString() == "Ctrl+O"
