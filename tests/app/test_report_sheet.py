"""The customer sheet of a before/after session made on the virtual cell: the pulls chosen as the
rule says, the lean baseline's power gained back, the tune's changes by region, and the PDF with
its peak figures, customer and vehicle as text a reader can find; the same pages as PNG."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from dynoai_desktop.app.report_sheet import (
    PulledRun,
    RunSource,
    SheetOptions,
    choose_runs,
    file_source,
    runs_sheet,
    session_sheet,
    session_sources,
)
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import Pull, Standard
from dynoai_desktop.core.sheet import CustomerSheet, ShopHeader, peak_rows
from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog
from dynoai_desktop.storage.sheet_pdf import sheet_pdf_bytes, sheet_png_pages
from tests.sheet_shop import CUSTOMER, LEAN, NOTES, VEHICLE, VIN, SheetShop, make_sheet_shop

# Qt-free and long (a simulated session, a PDF drawn): run once, in the suite without Qt.
pytestmark = pytest.mark.once_without_qt

SHOP = ShopHeader("Iron Valley V-Twin", "1450 Route 9, Millbrook NY · (845) 555-0143")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> SheetShop:
    return make_sheet_shop(tmp_path_factory.mktemp("sheet") / "shop")


@pytest.fixture(scope="module")
def made(shop: SheetShop) -> CustomerSheet:
    with Catalog(shop.folder / CATALOG_FILE) as catalog:
        sources = session_sources(catalog, shop.session_id)
    return session_sheet(sources, SheetOptions(shop=SHOP))


def pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_baseline_is_before_and_the_final_pulls_after(made: CustomerSheet) -> None:
    assert made.before is not None
    assert made.before.source.startswith("run 1 'baseline pulls', pull 1 of 1")
    assert made.after.source.startswith("run 2 'final pulls', pull 1 of 1")
    assert made.remarks[0] == f"before: {made.before.source}"
    assert (made.customer, made.vehicle, made.vin) == (CUSTOMER, VEHICLE, VIN)
    assert made.notes == NOTES and made.shop == SHOP
    assert made.date == "2 May 2026" and made.session == "Session 1 · tuner Sam"


def test_the_lean_baseline_made_less_power_than_the_right_map(made: CustomerSheet) -> None:
    assert made.before is not None
    before_hp, after_hp = made.before.curve.peak_power[0], made.after.curve.peak_power[0]
    assert after_hp > before_hp * 1.01
    assert np.nanmedian(made.before.curve.afr_front) > np.nanmedian(made.after.curve.afr_front)
    assert np.isfinite(made.after.afr_target).all()  # the ECM logs its commanded AFR


def test_the_tunes_changes_are_the_lean_maps_cells_raised_everywhere(made: CustomerSheet) -> None:
    assert made.changes is not None
    assert made.tune.endswith("version 1 (import) → version 2 (autotune), 1 new version")
    front, rear = made.changes.ve
    assert front.changed == front.cells and rear.changed == rear.cells
    for region in front.by_region:
        assert region.mean_pct == pytest.approx((1 / LEAN - 1) * 100, abs=0.2)
    assert made.changes.other_lines == ()


def test_the_pdf_has_two_pages_with_the_peak_figures_as_printed(made: CustomerSheet) -> None:
    pdf = sheet_pdf_bytes(made)
    pages, text = pdf_text(pdf)
    assert pages == 2
    for row in peak_rows(made):
        for printed in (row.before, row.after, row.change, row.after_figure):
            assert printed in text, printed
    for words in (CUSTOMER, VEHICLE, VIN, SHOP.name, SHOP.contact, NOTES, "SAE J1349",
                  "Front VE", "Rear VE", "WOT", "page 2 of 2"):
        assert words in text, words


def test_the_preview_is_the_same_pages_as_png(made: CustomerSheet) -> None:
    pages = sheet_png_pages(made, dpi=40)
    assert len(pages) == 2
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pages)


def test_the_shops_units_and_paper_are_followed(shop: SheetShop) -> None:
    options = SheetOptions(Standard.DIN_70020, 0, DisplayUnits(torque="N·m", power="kW"),
                           paper="a4")
    sheet = runs_sheet([file_source(shop.after_run)], [file_source(shop.before_run)], options)
    pdf = sheet_pdf_bytes(sheet)
    reader = PdfReader(io.BytesIO(pdf))
    width_pt, height_pt = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width_pt), round(height_pt)) == (595, 842)  # A4
    _pages, text = pdf_text(pdf)
    assert peak_rows(sheet)[0].after.endswith(" rpm") and " kW @ " in peak_rows(sheet)[0].after
    assert peak_rows(sheet)[1].after in text and " N·m" in text
    assert "DIN 70020" in text and sheet.after.curve.smoothing == 0


def test_one_set_of_curves_makes_a_sheet_too(shop: SheetShop) -> None:
    sheet = runs_sheet([file_source(shop.after_run)], [], SheetOptions())
    assert sheet.before is None and sheet.changes is None
    _pages, text = pdf_text(sheet_pdf_bytes(sheet))
    assert peak_rows(sheet)[0].after in text
    assert "No before pull" in text


def test_a_log_without_a_pull_says_what_a_pull_is(shop: SheetShop) -> None:
    with pytest.raises(InputError, match=r"no full-throttle pull in idle.csv .*throttle"):
        runs_sheet([file_source(shop.idle_log)], [], SheetOptions())
    with pytest.raises(InputError, match="no such file"):
        file_source(shop.folder / "missing.csv")


def _run(name: str, version: int | None) -> PulledRun:
    source = RunSource(name, Path(f"{name}.parquet"), name, None, version)
    return PulledRun(source, None, (Pull(0, 10, 0.0, 3.0, 2000.0, 5500.0),))  # type: ignore[arg-type]


def test_runs_are_chosen_by_their_names_then_by_their_tune_versions() -> None:
    base, round_1, final, soak = (_run("baseline pulls", 1), _run("autotune round 1", 1),
                                  _run("final pulls", 3), _run("heat-soaked pull", 4))
    assert choose_runs([base, round_1, final, soak]) == ([base], [final])
    a, b, c = _run("pull A", 1), _run("pull B", 1), _run("pull C", 2)
    assert choose_runs([a, b, c]) == ([a, b], [c])  # first version, newest version
    assert choose_runs([a, b]) == ([], [a, b])  # one tune: no before
    x, y = _run("pull X", None), _run("pull Y", None)
    assert choose_runs([x, y]) == ([x], [y])  # no versions recorded: first and last
