"""`dynoai convert` (FORMATS.md §5) on the real .pvv and .msq files, every direction."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.cli import main
from dynoai_desktop.core.table_ops import add_cells, select_rect
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv
from dynoai_desktop.storage.tune_formats.msq import MsqFile
from dynoai_desktop.storage.tune_formats.pvv import PvvFile
from tests.realdata import REALDATA

pytestmark = pytest.mark.skipif(REALDATA is None, reason="shared/realdata is not beside the repo")
VE_FRONT = "VE (MAP based/Front Cyl)"


@pytest.fixture
def pvv() -> Path:
    assert REALDATA is not None
    return REALDATA / "dynoai3_pvv_template_16D110002401.pvv"


@pytest.fixture
def msq() -> Path:
    assert REALDATA is not None
    return REALDATA / "speeduino_NA6_PNP_base_tune.msq"


def _convert(*argv: object) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "dynoai_desktop", "convert", *map(str, argv)],
        capture_output=True, text=True, timeout=60,
    )
    return result.returncode, result.stderr


def _changed_spans(a: bytes, b: bytes) -> int:
    """How many separate runs of bytes differ between two equally long files."""
    diff = np.frombuffer(a, np.uint8) != np.frombuffer(b, np.uint8)
    return int(np.count_nonzero(diff[1:] & ~diff[:-1]) + diff[0])


def test_pvv_to_csv_and_back_into_the_pvv_is_byte_identical(pvv: Path, tmp_path: Path) -> None:
    csv, out = tmp_path / "ve_front.csv", tmp_path / "out.pvv"
    assert _convert(pvv, csv, "--table", VE_FRONT) == (0, "")
    table = read_table_csv(csv)
    assert table == PvvFile.parse(pvv.read_bytes()).table(VE_FRONT)
    assert table.row_breakpoints[-1] == table.row_breakpoints[-2] == 8000  # padding kept
    assert _convert(csv, out, "--into", pvv, "--table", VE_FRONT) == (0, "")
    assert out.read_bytes() == pvv.read_bytes()


def test_an_edited_cell_changes_exactly_that_value_in_the_pvv(pvv: Path, tmp_path: Path) -> None:
    csv, out = tmp_path / "ve.csv", tmp_path / "out.pvv"
    assert main(["convert", str(pvv), str(csv), "--table", VE_FRONT]) == 0
    table = read_table_csv(csv)
    write_table_csv(csv, add_cells(table, select_rect(table, [5], [7]), 1.25))
    assert main(["convert", str(csv), str(out), "--into", str(pvv)]) == 0  # name from the CSV
    before, after = pvv.read_bytes(), out.read_bytes()
    if len(before) == len(after):
        assert _changed_spans(before, after) == 1
    edited = PvvFile.parse(after).table(VE_FRONT)
    assert edited.values[5, 7] == table.values[5, 7] + 1.25
    assert np.array_equal(np.delete(edited.values.ravel(), 5 * edited.shape[1] + 7),
                          np.delete(table.values.ravel(), 5 * table.shape[1] + 7))


def test_msq_to_csv_and_back_is_byte_identical(msq: Path, tmp_path: Path) -> None:
    csv, out = tmp_path / "ve.csv", tmp_path / "out.msq"
    assert _convert(msq, csv, "--table", "veTable") == (0, "")
    assert read_table_csv(csv) == MsqFile.parse(msq.read_bytes()).table("veTable")
    assert _convert(csv, out, "--into", msq, "--table", "veTable") == (0, "")
    assert out.read_bytes() == msq.read_bytes()


def test_pvv_table_into_a_pvv_template_and_csv_to_csv(pvv: Path, tmp_path: Path) -> None:
    out, csv, csv2 = tmp_path / "copy.pvv", tmp_path / "a.csv", tmp_path / "b.csv"
    assert _convert(pvv, out, "--into", pvv, "--table", VE_FRONT) == (0, "")
    assert out.read_bytes() == pvv.read_bytes()
    assert _convert(pvv, csv, "--table", "Air-Fuel Ratio") == (0, "")
    assert _convert(csv, csv2) == (0, "")
    assert read_table_csv(csv2) == read_table_csv(csv)


def test_an_ambiguous_table_name_is_exit_2(pvv: Path, tmp_path: Path) -> None:
    code, err = _convert(pvv, tmp_path / "x.csv", "--table", "MAP Tooth IVC (Front Cyl)")
    assert code == 2 and err.startswith("dynoai convert: ") and err.count("\n") == 1
    assert "MAP Tooth IVC (Front Cyl)" in err


def test_a_file_with_several_tables_needs_table(pvv: Path, tmp_path: Path) -> None:
    code, err = _convert(pvv, tmp_path / "x.csv")
    assert code == 2 and "--table" in err and VE_FRONT in err


def test_mismatched_axes_are_exit_2(pvv: Path, msq: Path, tmp_path: Path) -> None:
    csv = tmp_path / "speeduino.csv"
    assert _convert(msq, csv, "--table", "veTable")[0] == 0
    code, err = _convert(csv, tmp_path / "out.pvv", "--into", pvv, "--table", VE_FRONT)
    assert code == 2 and err.startswith("dynoai convert: ") and "Traceback" not in err
    assert not (tmp_path / "out.pvv").exists()


@pytest.mark.parametrize("suffix", [".pvv", ".msq"])
def test_writing_pvv_or_msq_without_into_is_exit_2(pvv: Path, tmp_path: Path, suffix: str) -> None:
    code, err = _convert(pvv, tmp_path / f"out{suffix}", "--table", VE_FRONT)
    assert code == 2 and "--into" in err


def test_missing_and_unknown_files_are_exit_2(tmp_path: Path) -> None:
    code, err = _convert(tmp_path / "nope.pvv", tmp_path / "out.csv")
    assert code == 2 and "nope.pvv" in err
    (tmp_path / "tune.bin").write_bytes(b"\x00")
    code, err = _convert(tmp_path / "tune.bin", tmp_path / "out.csv")
    assert code == 2 and ".bin" in err


def test_msq_into_an_msq_template_and_pvv_into_msq_mismatch(
    pvv: Path, msq: Path, tmp_path: Path
) -> None:
    out = tmp_path / "copy.msq"
    assert _convert(msq, out, "--into", msq, "--table", "veTable") == (0, "")
    assert out.read_bytes() == msq.read_bytes()
    code, err = _convert(pvv, tmp_path / "x.msq", "--into", msq, "--table", VE_FRONT)
    assert code == 2 and err.startswith("dynoai convert: ")


def test_a_real_speeduino_ve_cell_above_255_is_refused(msq: Path, tmp_path: Path) -> None:
    csv, out = tmp_path / "ve.csv", tmp_path / "out.msq"
    assert _convert(msq, csv, "--table", "veTable") == (0, "")
    table = read_table_csv(csv)
    values = table.values.copy()
    values[2, 6] = 7000  # 900 rpm, 50 kPa
    write_table_csv(csv, table.with_values(values))
    code, err = _convert(csv, out, "--into", msq, "--table", "veTable")
    assert code == 2 and err.count("\n") == 1 and not out.exists()
    assert "veTable row 3 (900 rpm), column 7 (50 kPa): 7000 is above the constant's high " \
           "limit 255 (U08); nothing written" in err
