"""RomRaider logger CSV: ``Name (unit)`` headers, ``Time (msec)`` first.

RomRaider writes the separator and decimal mark of the PC's locale: ``,`` and ``.``, or ``;``
and a decimal comma (``0,38``). External sensors carry their device in the name (``PLX Engine
Speed (rpm)``, ``PLX O2 - Wideband (Lambda)``); the prefix is dropped before matching.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_import.model import Rule, SourceColumn, SourceLog
from dynoai_desktop.storage.log_import.names import ECU_RULES
from dynoai_desktop.storage.log_import.text import columns_of, numbers, uses_decimal_comma

SOURCE_FORMAT = "RomRaider CSV"
_TIME_HEADER = re.compile(r"\s*time\s*[(\[](?:msec|ms|sec|s)[)\]]\s*", re.IGNORECASE)
_UNIT_SUFFIX = re.compile(r"\s*(.*?)\s*[(\[]([^()\[\]]*)[)\]]\s*")
_DEVICE_PREFIX = re.compile(
    r"(?:plx|innovate(?: lc-?[12]| lm-?[12]| mts)?|aem(?: uego)?|zeitronix|zt-?[23]"
    r"|tech ?edge|te|14point7|spartan|ecu)\s+(.+)",
    re.IGNORECASE,
)

RULES: tuple[Rule, ...] = ECU_RULES + (
    Rule("spark_deg", r"ignition ?total ?timing|total ?timing", "deg"),
)


def _separator(line: str) -> str:
    return ";" if line.count(";") > line.count(",") else ","


def looks_like(text: str) -> bool:
    """True for a header whose first cell is ``Time (msec)`` and most cells carry a unit."""
    first = text.splitlines()[0] if text else ""
    header = next(csv.reader([first], delimiter=_separator(first)), [])
    if not header or not _TIME_HEADER.fullmatch(header[0]):
        return False
    with_unit = sum(bool(_UNIT_SUFFIX.fullmatch(cell)) for cell in header)
    return with_unit * 2 >= len(header)


def _split(cell: str) -> tuple[str, str, str]:
    """Header cell -> (name, unit, name to match: device prefix and unit removed)."""
    name = cell.strip()
    match = _UNIT_SUFFIX.fullmatch(name)
    bare, unit = (match.group(1), match.group(2)) if match else (name, "")
    device = _DEVICE_PREFIX.fullmatch(bare)
    return name, unit, device.group(1) if device else bare


def read_romraider(path: Path, text: str) -> SourceLog:
    """The log's columns, numbers read with the file's own separator and decimal mark."""
    lines = [line for line in text.splitlines() if line.strip()]
    separator = _separator(lines[0])
    rows = list(csv.reader(lines, delimiter=separator))
    header, data = rows[0], rows[1:]
    if not data:
        raise InputError(f"{path}: has a header but no data rows; log at least one sample")
    comma = separator == ";" and uses_decimal_comma(data)
    cells = columns_of(data, len(header))
    columns = []
    for cell, values in zip(header, cells, strict=True):
        if cell.strip():
            name, unit, match_name = _split(cell)
            columns.append(SourceColumn(name, unit, numbers(values, comma), match_name))
    warnings = ["numbers use a decimal comma (0,38 = 0.38)"] if comma else []
    return SourceLog(path, SOURCE_FORMAT, tuple(columns), RULES, tuple(warnings))
