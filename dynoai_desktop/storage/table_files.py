"""Table CSV files on disk (FORMATS.md §1): core parses and formats the text, this opens files."""

from __future__ import annotations

from pathlib import Path

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_table_csv, parse_table_csv


def read_table_csv(path: Path) -> Table:
    """Read one Table CSV; a missing, unreadable or malformed file is an InputError naming it."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the table as UTF-8 CSV"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); check permissions") from None
    return parse_table_csv(text, source=str(path))


def write_table_csv(path: Path, table: Table) -> None:
    """Write a Table CSV atomically (a crash mid-write leaves the old file intact)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(format_table_csv(table), encoding="utf-8", newline="")
    tmp.replace(path)
