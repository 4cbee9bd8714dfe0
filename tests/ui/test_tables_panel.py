"""The Tables panel opens real tunes, keeps them in the catalog, and exports the shown table."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.tune import Tune
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.table_files import read_table_csv
from dynoai_desktop.ui.panels.tables import TablesPanel
from tests.realdata import REALDATA


@pytest.fixture
def panel(qtbot):  # noqa: ANN001, ANN201
    tables, source = demo_base_tables()
    catalog = Catalog()
    tune = TuneSession(catalog)
    tune.show(Tune({t.name: t for t in tables}), source)
    widget = TablesPanel(tune)
    qtbot.addWidget(widget)
    yield widget
    catalog.close()


@pytest.mark.skipif(REALDATA is None, reason="shared/realdata is not beside the repo")
def test_opening_a_power_vision_tune_shows_its_tables_and_keeps_it_in_the_catalog(
    panel: TablesPanel, tmp_path: Path
) -> None:
    assert REALDATA is not None
    panel.open_tune(REALDATA / "dynoai3_pvv_template_16D110002401.pvv")
    names = [t.name for t in panel.tables]
    assert "VE (MAP based/Front Cyl)" in names and "Spark Advance (Rear Cyl)" in names
    assert panel.picker.count() == len(names)
    panel.picker.setCurrentIndex(names.index("VE (MAP based/Front Cyl)"))
    model = panel.view.model()
    assert model.rowCount() == 27 and model.columnCount() == 17
    with Catalog() as catalog:
        (record,) = catalog.tunes()
        assert record.name == "dynoai3_pvv_template_16D110002401.pvv"
        assert len(catalog.history(record.id).versions) == 1

    out = tmp_path / "ve_front.csv"
    panel.export_current(out, None)
    assert read_table_csv(out) == panel.current_table


def test_a_file_that_is_not_a_tune_is_refused_with_its_name(
    panel: TablesPanel, tmp_path: Path
) -> None:
    bad = tmp_path / "tune.pvv"
    bad.write_text("not a tune")
    with pytest.raises(InputError, match="tune.pvv"):
        panel.open_tune(bad)
    assert panel.tables[0].name == "VE (MAP based/Front Cyl)"  # the shown tables are kept
