"""Blocks of cells as tab-separated text: what Excel, LibreOffice and the table editor put on the
clipboard and read back from it.

One line per table row, cells separated by tabs, numbers in the shortest text that reads back
as exactly the same number (``core.table_csv.format_number``), so a block copied out pastes back
identically. Read leniently where spreadsheets differ and strictly where a guess could be wrong:

- ``\\r\\n``, ``\\r`` or ``\\n`` line ends and one trailing line end (Excel adds one) are accepted;
  spaces around a number are ignored.
- A decimal comma ("12,5", LibreOffice and Excel in many European locales) is read as 12.5:
  tabs separate the cells, so a comma inside a cell can only be a decimal separator. A cell
  with both a comma and a point ("1,250.5") is refused: the comma would be a thousands
  separator there, and guessing wrong would change the number a thousandfold.
- Empty cells, text cells and rows of different lengths are refused with the row and column.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table_csv import format_number

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def format_block(values: npt.ArrayLike, decimals: int | None = None) -> str:
    """Tab-separated text of a 2-D block, one line per row, ending with a line end.

    ``decimals=None`` writes each number in its shortest exact text (20.0 -> "20",
    0.1 + 0.2 -> "0.30000000000000004"); a whole number of decimals rounds to that many and
    writes them all ("55.50"), for pasting into a sheet that should look like the screen.
    """
    block = np.asarray(values, dtype=np.float64)
    if block.ndim != 2 or 0 in block.shape:
        raise InputError(f"a block to copy must be a non-empty 2-D grid of cells, got shape "
                         f"{block.shape}")
    if not np.isfinite(block).all():
        raise InputError("a block to copy holds a missing or infinite value; every cell needs "
                         "a finite number")
    if decimals is None:
        fmt = format_number
    else:
        if decimals < 0:
            raise InputError(f"decimals must be 0 or more, got {decimals}")

        def fmt(value: float) -> str:
            text = f"{value:.{decimals}f}"
            return text[1:] if text.startswith("-") and float(text) == 0.0 else text

    return "".join("\t".join(fmt(float(v)) for v in row) + "\n" for row in block)


def _cell_value(cell: str, row: int, col: int) -> float:
    text = cell.strip()
    where = f"row {row}, column {col}"
    if not text:
        raise InputError(f"the pasted block's cell at {where} is empty; every cell needs a "
                         "number")
    if "," in text:
        if "." in text or text.count(",") > 1:
            raise InputError(f"the pasted block's cell at {where} is '{text}': a comma beside a "
                             "point (or two commas) reads as a thousands separator, which is "
                             "ambiguous; copy the numbers without thousands separators")
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        raise InputError(f"the pasted block's cell at {where} is '{cell.strip()}', not a "
                         "number; copy only the table's cells, without the rpm and load "
                         "headers")
    value = float(text)
    if not np.isfinite(value):
        raise InputError(f"the pasted block's cell at {where} is '{cell.strip()}', which is "
                         "not a finite number")
    return value


def parse_block(text: str) -> np.ndarray:
    """The numbers of a tab-separated block as a 2-D float array (rows x columns).

    InputError naming the row and column (1-based, within the block) of an empty or
    non-numeric cell, or the first row whose length differs from the first row's.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the line end after the last row (Excel writes one)
    if not lines or all(not line.strip() for line in lines):
        raise InputError("the clipboard holds no cells to paste; copy a block of numbers "
                         "(from this table, Excel or LibreOffice) first")
    rows: list[list[float]] = []
    width = 0
    for row_no, line in enumerate(lines, start=1):
        cells = line.split("\t")
        if row_no == 1:
            width = len(cells)
        elif len(cells) != width:
            raise InputError(f"the pasted block's row {row_no} has {len(cells)} cells but its "
                             f"first row has {width}; copy a rectangular block")
        rows.append([_cell_value(cell, row_no, col_no)
                     for col_no, cell in enumerate(cells, start=1)])
    return np.array(rows, dtype=np.float64)
