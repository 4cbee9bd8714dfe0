"""TunerStudio / MegaLogViewer binary logs (``.mlg``) as source columns, mapped like an MSL.

TunerStudio writes ``.mlg`` by default for MS2/MS3, Speeduino and rusEFI; the channel names are
the ones its ``.msl`` text logs carry, so the MSL rules (``names.ECU_RULES``) map them. The
binary layout is in ``mlg_format``. Time: the log's own ``Time`` field (TunerStudio's clock, s)
when it has one; else the records' block time stamps (10 µs ticks, the u16 wraps added up),
as a ``Timestamp`` column. Markers become run markers at their place between the samples.
"""

from __future__ import annotations

import re
from pathlib import Path

from dynoai_desktop.storage.file_io import read_bytes
from dynoai_desktop.storage.log_import.mlg_format import MAGIC, TICK_S, MlgLog, parse_mlg
from dynoai_desktop.storage.log_import.model import SourceColumn, SourceLog, SourceMarker
from dynoai_desktop.storage.log_import.names import ECU_RULES

SOURCE_FORMAT = "TunerStudio MLG"
EXTENSION = ".mlg"
BLOCK_TIME_COLUMN = "Timestamp"
_TIME_PATTERNS = tuple(rule.pattern for rule in ECU_RULES if rule.channel == "time_s")


def looks_like(path: Path) -> bool:
    """True for a ``.mlg`` file or any file starting with the MLVLG magic bytes."""
    if path.suffix.lower() == EXTENSION:
        return True
    try:
        with path.open("rb") as file:
            return file.read(len(MAGIC)) == MAGIC
    except OSError:
        return False  # the text reader says why the file cannot be read


def read_mlg(path: Path) -> SourceLog:
    """The log's fields as columns (values scaled), its markers and what decoding noticed."""
    log = parse_mlg(path, read_bytes(path))
    columns = [
        SourceColumn(name, one.units, values)
        for name, one, values in zip(_unique_names(log), log.fields, log.values, strict=True)
    ]
    warnings = list(log.warnings)
    if log.bad_checksums:
        warnings.append(
            f"{log.bad_checksums} of {log.bad_checksums + log.ticks.size} records fail their "
            f"checksum (first at byte {log.first_bad_offset}): skipped"
        )
    if not any(_is_time(column.name) for column in columns):
        columns.insert(0, SourceColumn(BLOCK_TIME_COLUMN, "s", (log.ticks - log.ticks[0]) * TICK_S))
        warnings.append(
            "no Time field in the log: time is taken from the records' own time stamps "
            "(10 µs ticks; a gap over 0.65 s between two records would be read short)"
        )
    markers = tuple(SourceMarker(place, note or "marker") for place, note in log.markers)
    return SourceLog(
        path,
        f"{SOURCE_FORMAT} v{log.version}",
        tuple(columns),
        ECU_RULES,
        tuple(warnings),
        markers=markers,
    )


def _is_time(name: str) -> bool:
    key = name.strip().lower()
    return any(re.fullmatch(pattern, key) for pattern in _TIME_PATTERNS)


def _unique_names(log: MlgLog) -> list[str]:
    """Field names; a repeated one gets its field number (``AFR``, ``AFR (field 12)``) so each
    column is its own (not ``AFR 2``, which would read as the rear cylinder's)."""
    seen: set[str] = set()
    names = []
    for number, one in enumerate(log.fields, start=1):
        names.append(one.name if one.name not in seen else f"{one.name} (field {number})")
        seen.add(one.name)
    return names
