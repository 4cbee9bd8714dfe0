"""Dynojet Power Vision "Pro-XY CSV 1.0.0" log export. UNVERIFIED: no real file was available.

Layout as protocols.md §6.3 describes it (from rob9206/DynoAI_3 ``powercore_integration.py``,
third-party code): a ``"Dynojet Power Vision Log File"`` line, ``"Format:","Pro-XY CSV 1.0.0"``,
signal definitions ``index,"driver","id","name","units","description","color"``, then a
``"Time(ms)","Signal","Value"`` row and long-format samples ``time_ms,signal_index,value``
(values may be written in hex). Samples become one row per distinct time; each signal holds
its latest value for up to 0.5 s (FORMATS.md §2), then is empty.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.rows import VALUE_STALE_AFTER_S
from dynoai_desktop.storage.log_import.model import SourceColumn, SourceLog
from dynoai_desktop.storage.log_import.names import ECU_RULES

SOURCE_FORMAT = "Power Vision CSV"
_SIGNATURES = ("dynojet power vision log file", '"format:","pro-xy')
_DATA_HEADER = ["time(ms)", "signal", "value"]


def looks_like(text: str) -> bool:
    """True for the Power Vision title or format line near the top, or its data header."""
    head = text[:4096].lower()
    return any(signature in head for signature in _SIGNATURES) or '"time(ms)","signal"' in head


def read_power_vision(path: Path, text: str) -> SourceLog:
    """Signals pivoted to one column each, on the union of their sample times."""
    lines = text.splitlines()
    header_at = next((i for i, line in enumerate(lines) if _cells(line) == _DATA_HEADER), None)
    if header_at is None:
        raise InputError(
            f'{path}: no "Time(ms)","Signal","Value" row: not a Power Vision log '
            "export; export the log as CSV from Power Core"
        )
    signals = _signals(lines[:header_at])
    times, indices, values, warnings = _samples(path, lines[header_at + 1 :], signals)
    row_ms = np.unique(times)
    columns = [SourceColumn("Time(ms)", "ms", row_ms.astype(float), "Time")]
    for index, (name, unit) in signals.items():
        picked = indices == index
        if picked.any():
            held = _hold(times[picked], values[picked], row_ms)
            columns.append(SourceColumn(name, unit, held))
    warnings.insert(
        0,
        "Power Vision CSV layout is unverified (built from a description, no "
        "real export was available): check the channels against Power Core",
    )
    return SourceLog(path, SOURCE_FORMAT, tuple(columns), ECU_RULES, tuple(warnings))


def _cells(line: str) -> list[str]:
    return [cell.strip().lower() for cell in next(csv.reader([line]), [])]


def _signals(lines: list[str]) -> dict[int, tuple[str, str]]:
    """Signal index -> (name, units) from the definition rows."""
    signals = {}
    for row in csv.reader(lines):
        if len(row) >= 5 and row[0].strip().isdigit() and row[3].strip():
            signals[int(row[0])] = (row[3].strip(), row[4].strip())
    return signals


def _samples(
    path: Path, lines: list[str], signals: dict[int, tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    times, indices, values = [], [], []
    hex_values = unknown = bad = 0
    for line in lines:
        cells = line.split(",")
        if len(cells) < 3 or not line.strip():
            bad += bool(line.strip())
            continue
        try:
            time_ms, index = float(cells[0]), int(cells[1])
        except ValueError:
            bad += 1
            continue
        if index not in signals:
            unknown += 1
            continue
        value, was_hex = _number(cells[2])
        hex_values += was_hex
        times.append(time_ms)
        indices.append(index)
        values.append(value)
    if not times:
        raise InputError(
            f"{path}: has signal definitions but no samples; log at least one "
            "sample and export again"
        )
    warnings = [
        text
        for count, text in (
            (hex_values, f"{hex_values} values written in hex, read as integers"),
            (unknown, f"{unknown} samples name no defined signal: skipped"),
            (bad, f"{bad} sample lines are not time,signal,value: skipped"),
        )
        if count
    ]
    return np.array(times), np.array(indices), np.array(values, dtype=float), warnings


def _number(cell: str) -> tuple[float, bool]:
    """A value cell: decimal, else hex (``26D``); NaN when neither."""
    text = cell.strip().strip('"')
    try:
        return float(text), False
    except ValueError:
        pass
    try:
        return float(int(text.removeprefix("0x").removeprefix("0X"), 16)), True
    except ValueError:
        return float("nan"), False


def _hold(times_ms: np.ndarray, values: np.ndarray, row_ms: np.ndarray) -> np.ndarray:
    """Each row's latest value at or before its time, empty when older than 0.5 s."""
    order = np.argsort(times_ms, kind="stable")
    times_ms, values = times_ms[order], values[order]
    latest = np.searchsorted(times_ms, row_ms, side="right") - 1
    held = np.full(row_ms.size, np.nan)
    known = latest >= 0
    held[known] = values[latest[known]]
    age_ms = row_ms - times_ms[np.clip(latest, 0, None)]
    held[known & (age_ms > VALUE_STALE_AFTER_S * 1000.0)] = np.nan
    return held
