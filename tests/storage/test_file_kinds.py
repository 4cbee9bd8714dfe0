"""`dynoai FILE`: what a file is decides where it opens (docs/formats.md, "Opening a file")."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.file_kinds import kind_of_file
from dynoai_desktop.storage.resources import RESOURCES_DIR
from tests.realdata import REALDATA

needs_realdata = pytest.mark.skipif(REALDATA is None, reason="../shared/realdata is not here")


@needs_realdata
@pytest.mark.parametrize(("name", "kind"), [
    ("dynoai3_pvv_template_16D110002401.pvv", "tune"),
    ("speeduino_NA6_PNP_base_tune.msq", "tune"),
    ("dynojet_wrl_134power.csv", "log"),
    ("ultralog_romraiderlog_20251031_170713.csv", "log"),
    ("ecmdroid_Buell_BUE2D_log.msl", "log"),
    ("ultralog_speeduino.mlg", "log"),
])
def test_each_real_file_goes_where_a_tuner_expects(name: str, kind: str) -> None:
    assert REALDATA is not None
    assert kind_of_file(REALDATA / name) == kind


def test_a_table_csv_is_a_tune_even_after_comments_and_in_upper_case(tmp_path: Path) -> None:
    assert kind_of_file(RESOURCES_DIR / "tables" / "ve_front_map.csv") == "tune"
    shouted = tmp_path / "VE.CSV"
    shouted.write_text('# saved by a spreadsheet\n\n"RPM\\TPS_PCT",0,10\n1000,40,50\n')
    assert kind_of_file(shouted) == "tune"
    utf16 = tmp_path / "ve16.csv"
    utf16.write_text("rpm\\map_kpa,20,30\n1000,40,50\n", encoding="utf-16")
    assert kind_of_file(utf16) == "tune"


def test_a_run_file_and_an_empty_csv(tmp_path: Path) -> None:
    (tmp_path / "pull-3.parquet").write_bytes(b"PAR1")
    assert kind_of_file(tmp_path / "pull-3.parquet") == "run"  # its reader says if it is not
    (tmp_path / "empty.csv").write_text("")
    assert kind_of_file(tmp_path / "empty.csv") == "log"  # the log importer says it is empty


@pytest.mark.parametrize(("name", "said"), [
    ("missing.pvv", "no such file"),
    ("folder", "is a folder"),
    ("notes.txt", "does not open '.txt' files"),
    ("tune", "does not open 'no extension' files"),
])
def test_what_nothing_here_opens_is_refused_by_name(tmp_path: Path, name: str, said: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "tune").write_text("hello")
    with pytest.raises(InputError) as refused:
        kind_of_file(tmp_path / name)
    assert str(tmp_path / name) in str(refused.value)
    assert said in str(refused.value)
    assert ".pvv" in str(refused.value) or said == "no such file"
