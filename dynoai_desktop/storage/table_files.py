"""Table CSV files on disk (FORMATS.md §1): core parses and formats the text, this opens files."""

from __future__ import annotations

from pathlib import Path

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_table_csv, parse_table_csv
from dynoai_desktop.storage.file_io import read_bytes, write_bytes_atomic


def read_table_csv(path: Path) -> Table:
    """Read one Table CSV; a missing, unreadable or malformed file is an InputError naming it."""
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the table as UTF-8 CSV"
        ) from None
    return parse_table_csv(text, source=str(path))


def write_table_csv(path: Path, table: Table) -> None:
    """Write a Table CSV atomically (a crash mid-write leaves the old file intact)."""
    write_bytes_atomic(path, format_table_csv(table).encode("utf-8"))
