"""Foreign logs (MSL, MLG, WinPEP CSV, RomRaider CSV, Power Vision CSV) onto canonical channels.

``import_log(path)`` detects the format by extension and content (a binary ``.mlg`` by its
extension or its ``MLVLG`` magic bytes, before any text is read), maps the file's columns and
units onto FORMATS.md §2 and says what it could not map, assumed, repaired or refused. Every
problem with the file is an InputError naming it; never a traceback. See docs/log-import.md.
"""

from __future__ import annotations

import csv
import os
import struct
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_import import mlg, msl, power_vision, romraider, winpep
from dynoai_desktop.storage.log_import.assemble import build
from dynoai_desktop.storage.log_import.model import NO_CHANNEL, ColumnFate, ImportedLog, SourceLog
from dynoai_desktop.storage.log_import.text import read_text

__all__ = [
    "KNOWN_FORMATS",
    "NO_CHANNEL",
    "ColumnFate",
    "ImportedLog",
    "detect_format",
    "import_log",
]

_Reader = Callable[[Path, str], SourceLog]

# (format name, content test, reader), in the order the tests are tried on a .csv.
_CSV_FORMATS: tuple[tuple[str, Callable[[str], bool], _Reader], ...] = (
    (power_vision.SOURCE_FORMAT, power_vision.looks_like, power_vision.read_power_vision),
    (romraider.SOURCE_FORMAT, romraider.looks_like, romraider.read_romraider),
    (winpep.SOURCE_FORMAT, winpep.looks_like, winpep.read_winpep),
)
KNOWN_FORMATS: tuple[str, ...] = (
    "MegaSquirt/TunerStudio MSL (.msl)",
    "TunerStudio/MegaLogViewer binary MLG (.mlg)",
    f"{winpep.SOURCE_FORMAT} (.csv)",
    f"{romraider.SOURCE_FORMAT} (.csv)",
    f"{power_vision.SOURCE_FORMAT} (.csv)",
)


def import_log(path: str | os.PathLike[str]) -> ImportedLog:
    """The log at ``path`` on canonical channels; InputError naming the file if it is unusable."""
    path = Path(path)
    if mlg.looks_like(path):
        name, read, notice = mlg.SOURCE_FORMAT, partial(mlg.read_mlg, path), None
    else:
        decoded = read_text(path)
        name, reader = detect_format(path, decoded.text)
        read, notice = partial(reader, path, decoded.text), decoded.notice()
    try:
        log = build(read())
        return replace(log, warnings=[notice, *log.warnings]) if notice else log
    except InputError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, csv.Error, struct.error) as exc:
        raise InputError(
            f"{path}: cannot be read as a {name} ({exc}); check it is the "
            "logger's own export, unedited"
        ) from None


def detect_format(path: Path, text: str) -> tuple[str, _Reader]:
    """(format name, reader) for a log: ``.msl`` by extension, a ``.csv`` by its header."""
    suffix = path.suffix.lower()
    if suffix == ".msl" or (suffix != ".csv" and msl.looks_like(text)):
        return msl.SOURCE_FORMAT, msl.read_msl
    for name, looks_like, reader in _CSV_FORMATS:
        if looks_like(text):
            return name, reader
    first = text.splitlines()[0][:60] if text.strip() else ""
    raise InputError(
        f"{path}: not a log format this app reads (first line '{first}'); it "
        f"reads {', '.join(KNOWN_FORMATS)}: export the log in one of these"
    )
