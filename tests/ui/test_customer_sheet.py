"""Session ▸ Customer sheet…: the open (or newest) session's sheet made on a worker, its pages
previewed, the tuner's notes kept with the session, the PDF saved and handed to the system's
viewer to print; the shop's name and paper set in Preferences."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QLabel

from dynoai_desktop.core.sheet import peak_rows
from dynoai_desktop.storage.settings import SettingsStore, ShopPrefs
from dynoai_desktop.ui.customer_sheet import PAGE_WIDTH_PX
from dynoai_desktop.ui.preferences import PreferencesDialog
from tests.sheet_shop import NOTES, SheetShop, make_sheet_shop

SHOP = ShopPrefs("Iron Valley V-Twin", "1450 Route 9 · (845) 555-0143", "letter")


@pytest.fixture(scope="module")
def made_shop(tmp_path_factory: pytest.TempPathFactory) -> SheetShop:
    return make_sheet_shop(tmp_path_factory.mktemp("sheet") / "shop")


@pytest.fixture
def data_dir(made_shop: SheetShop, tmp_path: Path) -> Path:
    """The app's data folder (DYNOAI_DATA_DIR, set by tests/conftest.py) holding the shop."""
    folder = tmp_path / "data"
    shutil.copytree(made_shop.folder, folder)
    return folder


def test_the_sheet_is_made_previewed_saved_and_opened_to_print(
        qtbot, make_window, data_dir: Path, tmp_path: Path,  # noqa: ANN001
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    window.app.settings.update(shop=SHOP)
    dialog = window.customer_sheet()
    assert dialog.session.currentData() == 1 and "Session 1" in dialog.session.currentText()
    assert dialog.notes.toPlainText() == NOTES
    assert not dialog.save_button.isEnabled()

    qtbot.waitUntil(dialog.make_button.isEnabled, timeout=30_000)  # the drawing library
    dialog.notes.setPlainText("Fuelled the WOT cells. Next visit: cam.")
    dialog.make_button.click()
    qtbot.waitUntil(lambda: dialog.save_button.isEnabled(), timeout=60_000)
    assert window.app.catalog.session(1).notes == "Fuelled the WOT cells. Next visit: cam."
    pages = [dialog.findChild(QLabel, f"sheet_page_{n}") for n in (1, 2)]
    assert all(p is not None and p.pixmap().width() == PAGE_WIDTH_PX for p in pages)
    assert "before: run 1 'baseline pulls'" in dialog.status.text().lower()

    saved = tmp_path / "for the customer.pdf"
    dialog.save_pdf(saved)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages)
    sheet = dialog.maker.result.sheet
    for words in (SHOP.name, SHOP.contact, "Next visit: cam.", peak_rows(sheet)[0].after):
        assert words in text

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    dialog.print_button.click()
    printed = data_dir / "sheets" / "session-0001-sheet.pdf"
    assert [u.toLocalFile() for u in opened] == [str(printed)]
    assert printed.read_bytes() == saved.read_bytes()
    assert "print from there" in dialog.status.text()

    later = window.app.catalog.start_session(1, "2026-06-01T09:00:00")  # the bike came back
    dialog.close()
    dialog = window.customer_sheet()
    assert dialog.session.currentData() == later  # the newest
    dialog.session.setCurrentIndex(dialog.session.findData(1))
    qtbot.waitUntil(dialog.make_button.isEnabled, timeout=30_000)
    dialog.make_button.click()
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=60_000)
    dialog.session.setCurrentIndex(dialog.session.findData(later))
    assert not dialog.save_button.isEnabled()  # the sheet shown was the other session's
    assert not any(p.isVisible() for p in dialog.findChildren(QLabel, "sheet_page_1"))
    dialog.make_button.click()
    qtbot.waitUntil(lambda: not dialog.maker.busy and not dialog.timer.isActive(),
                    timeout=60_000)
    assert "no run with a full-throttle pull" in dialog.status.text()
    dialog.close()
    assert not dialog.maker.busy


def test_the_shop_is_set_in_preferences_and_kept(
        qtbot, make_window, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    window = make_window()

    def exec_(dialog: PreferencesDialog) -> int:
        dialog.shop_name.setText("  Iron Valley V-Twin ")
        dialog.shop_contact.setText("(845) 555-0143")
        dialog.paper.setCurrentIndex(dialog.paper.findData("a4"))
        dialog.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(PreferencesDialog, "exec", exec_)
    window.preferences_action.trigger()
    expected = ShopPrefs("Iron Valley V-Twin", "(845) 555-0143", "a4")
    assert window.app.settings.current.shop == expected
    assert SettingsStore().load().shop == expected  # in the file, for the next start
