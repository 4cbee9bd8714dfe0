"""What a file given to ``dynoai FILE`` (a double-click in a file manager) is: a tune for the
table editor, a DynoAI run or a foreign log for Review (docs/formats.md, "Opening a file").

Decided by the extension and, for a ``.csv`` (a Table CSV or a dyno/logger's CSV log), by its
first line that is not a ``#`` comment: a Table CSV's header starts ``rpm\\map_kpa`` or
``rpm\\tps_pct``. Reading the file itself is left to the importer that opens it, which names
what is wrong inside; this only refuses what no importer takes (missing, a folder, an extension
nothing here reads).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.text_encoding import decode_text

FileKind = Literal["tune", "run", "log"]

TUNE_SUFFIXES = (".pvv", ".msq")
RUN_SUFFIXES = (".parquet",)
LOG_SUFFIXES = (".msl", ".mlg")
CSV_SUFFIX = ".csv"
TABLE_CSV_CORNERS = ("rpm\\map_kpa", "rpm\\tps_pct")
SNIFF_BYTES = 64 * 1024  # a CSV's first lines; a header longer than this is not a Table CSV
OPENS = (
    "a tune (.pvv, .msq, Table CSV), a DynoAI run (.parquet) or a log "
    "(.msl, .mlg, WinPEP/RomRaider/Power Vision .csv)"
)


def kind_of_file(path: str | os.PathLike[str]) -> FileKind:
    """"tune", "run" or "log"; InputError naming the file when nothing here opens it."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; check the name and folder")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a file in it: {OPENS}")
    suffix = path.suffix.lower()
    if suffix in TUNE_SUFFIXES:
        return "tune"
    if suffix in RUN_SUFFIXES:
        return "run"
    if suffix in LOG_SUFFIXES:
        return "log"
    if suffix == CSV_SUFFIX:
        return "tune" if _is_table_csv(path) else "log"
    raise InputError(f"{path}: DynoAI does not open '{suffix or 'no extension'}' files; it "
                     f"opens {OPENS}")


def _is_table_csv(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}); check its "
                         "permissions") from None
    for line in decode_text(head).text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        corner = stripped.split(",", 1)[0].strip().strip('"').lower()
        return corner in TABLE_CSV_CORNERS
    return False
