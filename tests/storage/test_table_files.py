"""Table CSV files: read with errors that name the file, written atomically, demo tables load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv


def test_demo_base_tables_are_front_and_rear_ve_on_the_same_axes() -> None:
    tables, source = demo_base_tables()
    front, rear = tables
    assert "Front" in front.name and "Rear" in rear.name
    assert front.col_axis == rear.col_axis == "map_kpa"
    assert np.array_equal(front.row_breakpoints, rear.row_breakpoints)
    assert 30 <= front.values.min() and front.values.max() <= 130  # Delphi VE range
    assert "generated" in source


def test_write_then_read_gives_the_same_table(tmp_path: Path) -> None:
    table = demo_base_tables()[0][0]
    path = tmp_path / "ve.csv"
    write_table_csv(path, table)
    assert read_table_csv(path) == table
    assert not list(tmp_path.glob("*.tmp"))


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.csv: no such file"):
        read_table_csv(tmp_path / "nope.csv")


def test_a_binary_file_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "tune.csv"
    path.write_bytes(b"\x03\x00\x9c\x01garbage\x02\x00\x80\x81")  # NULs in no UTF-16 pattern
    with pytest.raises(InputError, match="tune.csv: not a text file"):
        read_table_csv(path)


def test_a_malformed_file_names_the_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("rpm\\map_kpa,20,30\n1000,40\n")
    with pytest.raises(InputError, match=r"bad.csv, line 2"):
        read_table_csv(path)
