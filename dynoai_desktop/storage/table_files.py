"""Table CSV files on disk (FORMATS.md §1): core parses and formats the text, this opens files."""

from __future__ import annotations

from pathlib import Path

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_table_csv, parse_table_csv
from dynoai_desktop.storage.file_io import read_bytes, write_bytes_atomic
from dynoai_desktop.storage.text_encoding import binary_offset, decode_text


def read_table_csv(path: Path) -> Table:
    """Read one Table CSV; a missing, unreadable or malformed file is an InputError naming it.

    Any text encoding storage.text_encoding detects is read (a spreadsheet's Windows-1252 or
    UTF-16 save); the table's numbers do not depend on it, so nothing is said.
    """
    decoded = decode_text(read_bytes(path))
    offset = binary_offset(decoded)
    if offset is not None:
        raise InputError(
            f"{path}: not a text file (binary bytes at offset {offset}); save the table as CSV"
        )
    return parse_table_csv(decoded.text, source=str(path))


def write_table_csv(path: Path, table: Table) -> None:
    """Write a Table CSV atomically (a crash mid-write leaves the old file intact)."""
    write_bytes_atomic(path, format_table_csv(table).encode("utf-8"))
