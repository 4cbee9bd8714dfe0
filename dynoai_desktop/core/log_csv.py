"""Log CSV text (FORMATS.md §2): the one writer, for ``dynoai simulate --log`` and run export.

UTF-8, comma separator, '.' decimal, one header row, '\\n' line ends. Numbers are rounded to 6
decimals (enough for every device's resolution, and it hides float noise such as
14.9646000000001); whole numbers are written without a point; a missing value (NaN) is empty.
Text columns (extras a run may carry) are CSV-quoted where needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dynoai_desktop.core.table_csv import format_number

DECIMALS = 6


def format_cell(value: float) -> str:
    """One number as Log CSV text: rounded to 6 decimals, '20' not '20.0', NaN empty."""
    if value != value:
        return ""
    rounded = round(float(value), DECIMALS)
    if rounded.is_integer():
        return str(int(rounded))
    return format_number(rounded)


def _numbers(values: np.ndarray) -> list[str]:
    # '.6f' rounds the exact binary value like round(v, 6); below 1e9 the stripped text is the
    # shortest text of the rounded double, so this equals format_cell, ~10x faster.
    out: list[str] = []
    append = out.append
    for v in values.tolist():
        if v != v:
            append("")
        elif -1e9 < v < 1e9:
            text = f"{v:.6f}".rstrip("0").rstrip(".")
            append("0" if text == "-0" else text)
        else:
            append(format_cell(v))
    return out


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    if any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def _column_text(values: Any) -> list[str]:
    array = np.asarray(values)
    if array.dtype.kind == "b":
        return ["1" if v else "0" for v in array.tolist()]
    if array.dtype.kind in "fiu":
        return _numbers(array.astype(np.float64))
    return [_text(v) for v in array.tolist()]


def format_log_csv(columns: Mapping[str, Any], names: Sequence[str] | None = None) -> str:
    """Log CSV text of ``columns`` (name -> one value per row), in the order of ``names``
    (default: the mapping's). A name missing from ``columns`` is an all-empty column."""
    names = list(columns) if names is None else list(names)
    lengths = {len(np.asarray(v)) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"Log CSV columns must have one length, got {sorted(lengths)}")
    n_rows = lengths.pop() if lengths else 0
    texts = [_column_text(columns[name]) if name in columns else [""] * n_rows
             for name in names]
    lines = [",".join(_text(str(name)) for name in names)]
    lines.extend(",".join(row) for row in zip(*texts, strict=True))
    return "\n".join(lines) + "\n"
