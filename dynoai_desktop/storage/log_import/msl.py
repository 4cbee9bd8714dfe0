"""MegaSquirt / TunerStudio / MegaLogViewer ``.msl`` text logs, and EcmDroid's Buell variant.

Layout (protocols.md §6.3): quoted metadata lines (firmware signature, capture date), a
TAB-separated names row, a units row, then one TAB-separated sample per line; TunerStudio may
insert ``MARK`` lines. EcmDroid (Buell DDFI) writes one quoted line, the names, and no units
row: the units here come from EcmDroid's own channel table (``runtime3.tab``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_import.model import SourceColumn, SourceLog
from dynoai_desktop.storage.log_import.names import ECU_RULES
from dynoai_desktop.storage.log_import.text import columns_of, is_number, numbers

SOURCE_FORMAT = "MegaSquirt MSL"
ECMDROID_FORMAT = "MegaSquirt MSL (EcmDroid, Buell DDFI)"

# EcmDroid runtime3.tab: the unit of each exported variable (ecmdroid/ecmdroid, GPL-3.0; the
# values here are facts about the format, not code). O2/O21 are narrowband volts, AFR1/AFR2 the
# dyno AFR inputs as raw 8-bit counts, TPD the throttle in degrees (not %), MAP1/MAP2 unscaled.
ECMDROID_UNITS = {
    "Time": "s",
    "RPM": "rpm",
    "CLT": "°C",
    "CLT_F": "°F",
    "MAT": "°C",
    "MAT_F": "°F",
    "O2": "V",
    "O21": "V",
    "AFR1": "8-bit ADC",
    "AFR2": "8-bit ADC",
    "spark1": "deg",
    "spark2": "deg",
    "TPD": "deg",
    "TPS Voltg.": "V",
    "speed kph": "km/h",
    "speed mph": "mph",
    "VSS": "counts",
    "MAP1": "raw",
    "MAP2": "raw",
    "Batt. Voltg.": "V",
    "pw1": "ms",
    "pw2": "ms",
    "lambda1": "lambda",
    "lambda2": "lambda",
    "WB-AFR1": "AFR",
    "WB-AFR2": "AFR",
}
_CLOCK_RATIO = (8.0, 12.0)  # Time ×10 slower than the ECM clock: tens of seconds


def looks_like(text: str) -> bool:
    """True for text laid out as an MSL: quoted lines first, then a TAB-separated names row."""
    lines = [line for line in text.splitlines()[:10] if line.strip()]
    return (
        bool(lines)
        and lines[0].startswith('"')
        and any("\t" in line and not line.startswith('"') for line in lines)
    )


def read_msl(path: Path, text: str) -> SourceLog:
    """The log's columns; InputError for a file with no names row or no samples."""
    lines = text.splitlines()
    metadata, names_at = _names_row(path, lines)
    names = [name.strip() for name in lines[names_at].split("\t")]
    while names and not names[-1]:
        names.pop()
    units, data_at = _units_row(lines, names_at, len(names))
    rows, warnings = _samples(lines, data_at)
    if not rows:
        raise InputError(
            f"{path}: has column names but no data rows; export a log that "
            "recorded at least one sample"
        )
    ecmdroid = bool(metadata) and metadata[0].strip('"\t ').startswith("EcmDroid")
    if ecmdroid and units is None:
        units = [ECMDROID_UNITS.get(name, "") for name in names]
    units = units or [""] * len(names)
    cells = columns_of(rows, len(names))
    columns = [SourceColumn(n, u, numbers(c)) for n, u, c in zip(names, units, cells, strict=True)]
    if ecmdroid:
        columns, clock_warnings = _ecmdroid_time(columns)
        warnings += clock_warnings
    return SourceLog(
        path,
        ECMDROID_FORMAT if ecmdroid else SOURCE_FORMAT,
        tuple(columns),
        ECU_RULES,
        tuple(warnings),
    )


def _names_row(path: Path, lines: list[str]) -> tuple[list[str], int]:
    metadata = []
    for index, line in enumerate(lines):
        if not line.strip("\t "):
            continue
        if line.startswith('"'):
            metadata.append(line)
            continue
        cells = [cell for cell in line.split("\t") if cell.strip()]
        if "\t" not in line or len(cells) < 2 or all(is_number(c) for c in cells):
            break
        return metadata, index
    raise InputError(
        f"{path}: no TAB-separated row of column names: not a MegaSquirt/"
        "TunerStudio log; export it from TunerStudio or MegaLogViewer as .msl"
    )


def _units_row(lines: list[str], names_at: int, width: int) -> tuple[list[str] | None, int]:
    """The units row under the names, if there is one, and the index of the first sample."""
    if names_at + 1 >= len(lines):
        return None, names_at + 1
    cells = lines[names_at + 1].split("\t")
    filled = [cell for cell in cells if cell.strip()]
    if filled and sum(is_number(c) for c in filled) * 2 < len(filled):
        units = [cell.strip() for cell in cells[:width]]
        return units + [""] * (width - len(units)), names_at + 2
    return None, names_at + 1


def _samples(lines: list[str], start: int) -> tuple[list[list[str]], list[str]]:
    rows, marks, skipped, first_skipped = [], 0, 0, 0
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        if line.upper().startswith("MARK"):
            marks += 1
            continue
        cells = line.split("\t")
        if is_number(cells[0]):
            rows.append(cells)
        else:
            skipped += 1
            first_skipped = first_skipped or number
    warnings = []
    if marks:
        warnings.append(f"{marks} MARK lines (TunerStudio markers) skipped")
    if skipped:
        warnings.append(
            f"{skipped} lines that are not samples skipped (first at line {first_skipped})"
        )
    return rows, warnings


def _ecmdroid_time(columns: list[SourceColumn]) -> tuple[list[SourceColumn], list[str]]:
    """Older EcmDroid logs write 'Time' in tens of seconds; the ECM's own clock shows it.

    'Seconds' + 'MilliSec' is the ECM clock (runtime3.tab: seconds since engine start, and a
    10 ms timer in seconds). Where it runs ~10× faster than 'Time', 'Time' is read ×10.
    """
    by_name = {column.name: column for column in columns}
    time, seconds, millis = (by_name.get(n) for n in ("Time", "Seconds", "MilliSec"))
    if time is None or seconds is None or millis is None:
        return columns, []
    clock_steps = np.diff(seconds.values + millis.values)
    time_steps = np.diff(time.values)
    running = (clock_steps > 0) & (clock_steps < 5) & (time_steps > 0)
    if running.sum() < 10:
        return columns, []
    ratio = float(clock_steps[running].sum() / time_steps[running].sum())
    if not _CLOCK_RATIO[0] <= ratio <= _CLOCK_RATIO[1]:
        return columns, []
    fixed = replace(time, values=time.values * 10.0)
    warning = (
        f"column 'Time' runs {ratio:.1f}× slower than the ECM clock ('Seconds' + "
        "'MilliSec'): read as tens of seconds (an older EcmDroid log)"
    )
    return [fixed if column is time else column for column in columns], [warning]
