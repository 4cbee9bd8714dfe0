"""Tune files by extension: Table CSV, Power Vision ``.pvv``, TunerStudio ``.msq``.

One place that knows which reader handles which file, what tables a file holds, and how a table
goes back into a template by splicing (FORMATS.md §5).
"""

from __future__ import annotations

from pathlib import Path

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import Tune
from dynoai_desktop.storage.file_io import read_bytes, write_bytes_atomic
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv
from dynoai_desktop.storage.tune_formats.msq import MsqFile
from dynoai_desktop.storage.tune_formats.pvv import PvvFile

TUNE_EXTENSIONS = (".csv", ".pvv", ".msq")
TEMPLATE_EXTENSIONS = (".pvv", ".msq")


def _extension(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in TUNE_EXTENSIONS:
        raise InputError(
            f"{path}: unknown tune file type {ext or '(none)'!r}; use .csv (Table CSV), "
            ".pvv (Power Vision) or .msq (TunerStudio)"
        )
    return ext


def open_template(path: Path) -> PvvFile | MsqFile:
    """A ``.pvv`` or ``.msq`` file parsed for splicing."""
    ext = _extension(path)
    if ext == ".pvv":
        return PvvFile.parse(read_bytes(path), source=str(path))
    if ext == ".msq":
        return MsqFile.parse(read_bytes(path), source=str(path))
    raise InputError(f"{path}: a Table CSV cannot be a template; give a .pvv or .msq file")


def read_tables(path: Path) -> dict[str, Table]:
    """Every table a tune file holds, by name (a Table CSV holds one)."""
    if _extension(path) == ".csv":
        table = read_table_csv(path)
        return {table.name or path.stem: table}
    return open_template(path).tables()


def read_tune(path: Path) -> Tune:
    return Tune(tables=read_tables(path), source=str(path))


def read_table(path: Path, name: str | None) -> Table:
    """The table called ``name`` in ``path`` (or its only one); a missing, repeated or
    unspecified choice is an InputError that lists the file's tables."""
    if _extension(path) == ".csv":
        table = read_table_csv(path)
        if name is not None and table.name and name != table.name:
            raise InputError(f"{path} holds the table {table.name!r}, not {name!r}")
        return table
    document = open_template(path)
    if name is not None:
        return document.table(name)  # the format names a missing or repeated item
    tables = document.tables()
    if len(tables) == 1:
        return next(iter(tables.values()))
    if not tables:
        raise InputError(_no_tables(path, document))
    if isinstance(document, MsqFile):
        raise InputError(f"{path} holds {len(tables)} tables; name one with --table: "
                         f"{document.summary().removeprefix('tables this app can read: ')}")
    raise InputError(
        f"{path} holds {len(tables)} tables; name one with --table: {', '.join(tables)}"
    )


def _no_tables(path: Path, document: PvvFile | MsqFile) -> str:
    if isinstance(document, MsqFile):
        return (f"{path} holds no table this app can read (rpm x MAP kPa or rpm x throttle %); "
                f"{document.summary()}")
    return (f"{path} holds no table this app can read: none of its {len(document.items)} items "
            "is a uniquely named item with rows in rpm and columns in kPa or throttle %")


def no_tables_message(path: Path) -> str:
    """Why the tune file ``path`` offers no table, naming what it holds (for the app's refusal
    to open it; the same words as ``dynoai convert``'s)."""
    return _no_tables(path, open_template(path))


def write_table(out: Path, table: Table, into: Path | None, name: str | None) -> None:
    """Write ``table`` to ``out``: a Table CSV, or spliced into a copy of template ``into``."""
    ext = _extension(out)
    if ext == ".csv":
        if into is not None:
            raise InputError("--into is only for writing .pvv or .msq files; drop it for .csv")
        write_table_csv(out, table)
        return
    if into is None:
        raise InputError(
            f"{out}: writing {ext} needs --into TEMPLATE, the {ext} file to splice the table "
            "into (every other byte of it is kept)"
        )
    if _extension(into) != ext:
        raise InputError(f"--into {into}: the template must be a {ext} file like {out.name}")
    template = open_template(into)
    target = name if name is not None else table.name
    spliced = template.with_table(target, table)
    write_bytes_atomic(out, spliced.to_bytes())
