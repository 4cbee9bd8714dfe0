"""A log file's text: decoded, checked for binary garbage, and its cells turned into numbers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.file_io import read_bytes
from dynoai_desktop.storage.text_encoding import DecodedText, binary_offset, decode_text

_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d+,\d+\s*")


def read_text(path: Path) -> DecodedText:
    """The file as text, its encoding detected (storage.text_encoding); binary is refused."""
    data = read_bytes(path)
    decoded = decode_text(data)
    if not decoded.text.strip():
        raise InputError(f"{path}: the file is empty; export the log again")
    offset = binary_offset(decoded)
    if offset is not None:
        raise _not_text(path, offset)
    return decoded


def _not_text(path: Path, offset: int) -> InputError:
    return InputError(
        f"{path}: not a text log (binary bytes at offset {offset}); export the log as CSV or "
        "MSL text, not the logger's binary file"
    )


def numbers(cells: Sequence[str], decimal_comma: bool = False) -> np.ndarray:
    """Cells as floats: empty, blank or non-numeric cells become NaN."""
    import pandas as pd  # here, not at import: pandas is heavy and the GUI starts without it

    series = pd.Series(list(cells), dtype=object).astype(str).str.strip()
    if decimal_comma:
        series = series.str.replace(",", ".", regex=False)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def uses_decimal_comma(rows: Sequence[Sequence[str]]) -> bool:
    """True when the data cells write decimals with a comma (``0,38``), as European locales do."""
    sample = [cell for row in rows[:50] for cell in row]
    return any(_DECIMAL_COMMA.fullmatch(cell) for cell in sample)


def is_number(cell: str) -> bool:
    """True for a cell that reads as a float."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def columns_of(rows: Sequence[Sequence[str]], width: int) -> list[list[str]]:
    """Rows of cells -> ``width`` columns of cells (short rows padded with empty cells)."""
    padded = [list(row[:width]) + [""] * (width - len(row)) for row in rows]
    return (
        [list(col) for col in zip(*padded, strict=True)] if padded else [[] for _ in range(width)]
    )
