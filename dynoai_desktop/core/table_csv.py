"""Table CSV (FORMATS.md §1): parse and format text; callers open and write the files.

```
# name=VE (MAP based/Front Cyl); units=%
rpm\\map_kpa,20,30,40
1000,38.5,41,44.2
```
Breakpoints are kept exactly as written (descending and repeated ones included).
"""

from __future__ import annotations

import re

import numpy as np

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import COL_AXES, Table

_CORNERS = {f"rpm\\{axis}": axis for axis in COL_AXES}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME_UNITS = re.compile(r"\s*name=(?P<name>.*);\s*units=(?P<units>.*)")
_NAME_ONLY = re.compile(r"\s*name=(?P<name>.*)")
_UNITS_ONLY = re.compile(r"\s*units=(?P<units>.*)")
_UNITS_TAG = re.compile(r";\s*units=")
_EXPECTED_HEADER = "'rpm\\map_kpa' or 'rpm\\tps_pct'"


def _fail(source: str, line_no: int, message: str) -> InputError:
    return InputError(f"{source}, line {line_no}: {message}")


def _parse_number(cell: str) -> float | None:
    """The cell as a finite float, or None when it is not a plain decimal number."""
    if not _NUMBER.fullmatch(cell):
        return None
    value = float(cell)
    return value if np.isfinite(value) else None


def _read_comment(body: str, meta: dict[str, str]) -> None:
    for pattern in (_NAME_UNITS, _NAME_ONLY, _UNITS_ONLY):
        match = pattern.fullmatch(body)
        if match:
            for key, text in match.groupdict().items():
                meta.setdefault(key, text)
            return


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split(",")]


def _parse_header(cells: list[str], source: str, line_no: int) -> tuple[str, list[float]]:
    corner = cells[0]
    if corner not in _CORNERS:
        hint = ""
        if _parse_number(corner) is not None:
            hint = " (this looks like a data row: is the header row missing?)"
        elif ";" in corner or "\t" in corner:
            hint = " (cells must be separated by commas, not semicolons or tabs)"
        raise _fail(source, line_no, f"the header's first cell is '{corner}'{hint}; it must be "
                    f"exactly {_EXPECTED_HEADER} (row axis, backslash, column axis)")
    col_axis = _CORNERS[corner]
    if len(cells) < 2:
        raise _fail(source, line_no, f"the header has no column breakpoints; list the "
                    f"{col_axis} breakpoints after '{corner}', separated by commas")
    breakpoints = []
    for k, cell in enumerate(cells[1:], start=1):
        where = f"header column {k + 1} ({col_axis} breakpoint {k})"
        if cell == "":
            tail = " (remove the trailing comma)" if k == len(cells) - 1 else ""
            raise _fail(source, line_no, f"{where} is empty{tail}; every breakpoint needs a "
                        "number")
        value = _parse_number(cell)
        if value is None:
            raise _fail(source, line_no, f"{where} is '{cell}', not a number; write breakpoints "
                        "as plain decimal numbers with '.' as the decimal point")
        breakpoints.append(value)
    return col_axis, breakpoints


def _parse_row(cells: list[str], header: list[str], col_axis: str, source: str,
               line_no: int) -> tuple[float, list[float]]:
    if len(cells) != len(header) + 1:
        raise _fail(source, line_no, f"this row has {len(cells)} cells but the header has "
                    f"{len(header) + 1} (rpm + {len(header)} {col_axis} breakpoints); give "
                    "every row one rpm and one value per column")
    rpm = _parse_number(cells[0])
    if rpm is None:
        what = "empty" if cells[0] == "" else f"'{cells[0]}', not a number"
        raise _fail(source, line_no, f"the row's rpm breakpoint (column 1) is {what}; start "
                    "each row with its rpm as a plain decimal number")
    values = []
    for k, cell in enumerate(cells[1:], start=1):
        where = f"column {k + 1} ({col_axis} {header[k - 1]}) at rpm {cells[0]}"
        if cell == "":
            raise _fail(source, line_no, f"the cell in {where} is empty; fill in a value")
        value = _parse_number(cell)
        if value is None:
            raise _fail(source, line_no, f"the cell in {where} is '{cell}', not a number; "
                        "write values as plain decimal numbers with '.' as the decimal point")
        values.append(value)
    return rpm, values


def parse_table_csv(text: str, *, source: str = "<text>") -> Table:
    """Parse Table CSV text into a Table in its raw layout; bad input raises InputError
    naming ``source`` (e.g. the file name), the line and what to do."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta: dict[str, str] = {}
    col_axis = ""
    header_line = 0
    header_text: list[str] = []
    col_bps: list[float] = []
    row_bps: list[float] = []
    rows: list[list[float]] = []
    for line_no, line in enumerate(lines, start=1):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            if not col_axis:
                _read_comment(stripped[1:], meta)
            continue
        cells = _cells(line)
        if all(cell == "" for cell in cells):
            continue  # blank line (or a spreadsheet's row of empty cells)
        if not col_axis:
            col_axis, col_bps = _parse_header(cells, source, line_no)
            header_text, header_line = cells[1:], line_no
            continue
        rpm, values = _parse_row(cells, header_text, col_axis, source, line_no)
        row_bps.append(rpm)
        rows.append(values)
    if not col_axis:
        raise InputError(f"{source}, line {len(lines)}: no header row found; a Table CSV needs a "
                         f"header whose first cell is {_EXPECTED_HEADER}, then the breakpoints")
    if not rows:
        raise _fail(source, header_line, "the header has no data rows below it; add one row "
                    "per rpm breakpoint: the rpm, then one value per column")
    return Table(name=meta.get("name", ""), units=meta.get("units", ""), row_axis="rpm",
                 col_axis=col_axis, row_breakpoints=np.array(row_bps),
                 col_breakpoints=np.array(col_bps), values=np.array(rows))


def format_number(value: float) -> str:
    """Shortest plain decimal text that parses back to exactly ``value`` (20.0 -> "20")."""
    return np.format_float_positional(value, unique=True, trim="-")


def _check_meta(table: Table, what: str, text: str) -> None:
    if "\n" in text or "\r" in text or (what == "units" and _UNITS_TAG.search(text)):
        raise InputError(f"table {table.name!r}: its {what} {text!r} cannot be written to a "
                         "Table CSV comment; remove line breaks (and any '; units=' in units)")


def format_table_csv(table: Table) -> str:
    """Table CSV text for ``table`` in its raw layout ('\\n' line ends, trailing newline)."""
    _check_meta(table, "name", table.name)
    _check_meta(table, "units", table.units)
    lines = [f"# name={table.name}; units={table.units}",
             ",".join([f"{table.row_axis}\\{table.col_axis}",
                       *map(format_number, table.col_breakpoints)])]
    for rpm, row in zip(table.row_breakpoints, table.values, strict=True):
        lines.append(",".join([format_number(rpm), *map(format_number, row)]))
    return "\n".join(lines) + "\n"
