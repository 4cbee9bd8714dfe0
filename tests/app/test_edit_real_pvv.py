"""A real Power Vision tune opened, a block edited as the editor does, exported by splicing into
the same file: only the edited cells' text changes, every other byte is kept (issue 14)."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.cli import main
from dynoai_desktop.core.table_ops import add_cells, select_rect
from dynoai_desktop.core.tune import VE_FRONT_MAP
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.tune_files import read_tune
from tests.realdata import REALDATA

PVV = None if REALDATA is None else REALDATA / "dynoai3_pvv_template_16D110002401.pvv"

pytestmark = pytest.mark.skipif(PVV is None or not PVV.is_file(),
                                reason="../shared/realdata with the real .pvv is not here")


def test_an_edited_block_of_a_real_pvv_changes_only_those_cells_text(tmp_path: Path) -> None:
    assert PVV is not None
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        session = TuneSession(catalog)
        session.open_file(PVV)
        table = session.table(VE_FRONT_MAP)
        block = select_rect(table, slice(4, 7), slice(2, 5))  # 3 x 3 cells, as a tuner selects
        session.edit(add_cells(table, block, 1.5), "+1.5 on 9 cells")
        assert session.save_version() == 2
        out = tmp_path / "edited.pvv"
        session.export_table(VE_FRONT_MAP, out, PVV)

    original, edited = PVV.read_bytes(), out.read_bytes()
    assert original != edited
    # Only lines holding the edited cells differ, and within them only those cells' numbers.
    before = original.decode("utf-8").splitlines(keepends=True)
    after = edited.decode("utf-8").splitlines(keepends=True)
    changed = [line for line in difflib.unified_diff(before, after, n=0)
               if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))]
    assert 0 < len(changed) <= 2 * 9, changed
    removed = "".join(line[1:] for line in changed if line.startswith("-"))
    added = "".join(line[1:] for line in changed if line.startswith("+"))
    old_values = np.asarray(table.values[block])
    new_values = read_tune(out).table(VE_FRONT_MAP).values
    assert np.array_equal(new_values[block], old_values + 1.5)
    assert np.array_equal(new_values[~block], table.values[~block])  # bitwise, all the rest
    for value in old_values:
        assert f"{value:g}" in removed
    for value in old_values + 1.5:
        assert f"{value:g}" in added
    # Every other table of the tune reads back exactly.
    again, source = read_tune(out), read_tune(PVV)
    for name, kept in source.tables.items():
        if name != VE_FRONT_MAP:
            assert again.table(name) == kept, name

    # The command line reads the spliced file like any tune (convert back to a Table CSV).
    csv = tmp_path / "ve_front.csv"
    assert main(["convert", str(out), str(csv), "--table", VE_FRONT_MAP]) == 0
    assert csv.read_text(encoding="utf-8").count("\n") > table.shape[0]
