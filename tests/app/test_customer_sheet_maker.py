"""The window's customer-sheet maker, Qt-free: sessions newest first, the open one chosen, the
notes kept with the session, the sheet made on a worker that imports nothing, the PDF saved and
kept in the data folder for the viewer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dynoai_desktop.app.customer_sheet import SHEETS_DIR, CustomerSheetMaker
from dynoai_desktop.app.settings import AppSettings
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import Standard
from dynoai_desktop.core.sheet import peak_rows
from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog
from dynoai_desktop.storage.settings import SettingsStore, ShopPrefs
from tests.sheet_shop import CUSTOMER, NOTES, VEHICLE, SheetShop, make_sheet_shop

# Qt-free and long (a simulated session, a PDF drawn): run once, in the suite without Qt.
pytestmark = pytest.mark.once_without_qt

CHILD = Path(__file__).with_name("sheet_imports_child.py")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> SheetShop:
    return make_sheet_shop(tmp_path_factory.mktemp("maker") / "shop")


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    app_settings = AppSettings(SettingsStore(tmp_path / "config"))
    app_settings.update(shop=ShopPrefs("Iron Valley V-Twin", "555-0143", "a4"))
    return app_settings


def test_a_sheet_is_made_on_the_worker_and_kept_for_the_viewer(
        shop: SheetShop, settings: AppSettings, tmp_path: Path) -> None:
    with Catalog(shop.folder / CATALOG_FILE) as catalog:
        later = catalog.start_session(1, "2026-06-01T09:00:00")  # the same bike, no runs yet
        maker = CustomerSheetMaker(catalog, settings)
        choices = maker.sessions()
        assert [c.id for c in choices] == [later, shop.session_id]
        assert choices[1].label == f"Session 1 · 2 May 2026 · {CUSTOMER} · {VEHICLE}"
        assert maker.default_session() == later
        assert CustomerSheetMaker(catalog, settings, open_session=1).default_session() == 1
        assert maker.notes(shop.session_id) == NOTES
        with pytest.raises(InputError, match="make the sheet first"):
            maker.save_pdf(tmp_path / "x.pdf")

        maker.start(shop.session_id, Standard.STD, 3, notes="New notes.")
        assert maker.busy
        with pytest.raises(InputError, match="being made"):
            maker.start(shop.session_id)
        assert maker.wait() and maker.error is None and maker.result is not None
        assert catalog.session(shop.session_id).notes == "New notes."
        sheet = maker.result.sheet
        assert sheet.paper == "a4" and sheet.shop.name == "Iron Valley V-Twin"
        assert sheet.standard is Standard.STD and sheet.after.curve.smoothing == 3
        assert len(maker.result.pages_png) == 2 and peak_rows(sheet)[0].after

        maker.save_pdf(tmp_path / "sheet.pdf")
        kept = maker.file_for_viewer()
        assert kept == catalog.data_dir / SHEETS_DIR / "session-0001-sheet.pdf"
        assert kept.read_bytes() == (tmp_path / "sheet.pdf").read_bytes() == maker.result.pdf

        maker.start(later)  # a session without a pull says so, and the window lives on
        maker.wait()
        assert maker.error is not None and "no run with a full-throttle pull" in maker.error
        maker.close()


def test_without_a_catalog_there_is_nothing_to_choose(settings: AppSettings) -> None:
    maker = CustomerSheetMaker(None, settings)
    assert maker.sessions() == [] and maker.default_session() is None
    with pytest.raises(InputError, match="catalog is not open"):
        maker.start(1)


def test_the_worker_imports_nothing(shop: SheetShop) -> None:
    done = subprocess.run([sys.executable, str(CHILD), str(shop.folder), str(shop.session_id)],
                          env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
