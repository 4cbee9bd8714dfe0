"""Why a catalog could not be opened, as typed errors: damaged, too new, or unavailable.

``Catalog(path)`` raises only these at open (never a raw ``sqlite3`` error), and
:func:`~dynoai_desktop.storage.catalog.open_catalog_at_start` turns each into what the app does:
a damaged file is set aside and a new catalog begun; a too-new or unavailable one is left alone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dynoai_desktop.core.errors import InputError


class CatalogOpenError(InputError):
    """The catalog at ``path`` could not be opened; ``reason`` says why in a few plain words."""

    def __init__(self, path: Path, reason: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class CatalogDamaged(CatalogOpenError):
    """Not a database, malformed, or failing ``PRAGMA quick_check``: it cannot be used as is."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            path,
            reason,
            f"{path}: the catalog is damaged ({reason}); start DynoAI to set it aside, unchanged, "
            "and begin a new catalog",
        )


class CatalogTooNew(CatalogOpenError):
    """Written by a newer DynoAI (a higher schema version): left untouched."""

    def __init__(self, path: Path, version: int, known: int) -> None:
        reason = f"it is from a newer DynoAI: schema {version}, this one knows {known}"
        super().__init__(
            path,
            reason,
            f"{path}: the catalog is from a newer DynoAI (schema {version}, this one knows "
            f"{known}); update DynoAI to open it",
        )
        self.version = version
        self.known = known


class CatalogUnavailable(CatalogOpenError):
    """Cannot be opened for a reason outside the file (permissions, a lock, a full disk)."""

    def __init__(self, path: Path, reason: str, hint: str) -> None:
        super().__init__(path, reason, f"{path}: the catalog cannot be opened ({reason}); {hint}")
        self.hint = hint


# SQLite's primary result codes that say something about the machine, not the file: the file
# may be perfectly good, so it is never set aside for one of these.
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_PROTOCOL)
_ACCESS = (sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
           sqlite3.SQLITE_AUTH)  # fmt: skip
_HINTS = {
    **dict.fromkeys(
        _BUSY, "another DynoAI or another program is using it; close that and start DynoAI again"
    ),
    sqlite3.SQLITE_FULL: "the disk is full; free some space and start DynoAI again",
    sqlite3.SQLITE_IOERR: "the disk reported an error; check the disk and start DynoAI again",
    sqlite3.SQLITE_NOMEM: "the computer ran out of memory; close other programs and try again",
}


def access_hint(path: Path) -> str:
    return f"check that the folder {path.parent} exists and that you may read and write in it"


def open_error(path: Path, exc: sqlite3.Error) -> CatalogOpenError:
    """The typed error for an sqlite3 error met while opening or migrating ``path``.

    Trouble of the machine (a lock, permissions, a full or failing disk) makes the catalog
    unavailable; anything else SQLite reports at open means the file itself is damaged.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    detail = str(exc) or type(exc).__name__
    if primary in _ACCESS:
        return CatalogUnavailable(path, detail, access_hint(path))
    if primary in _HINTS:
        return CatalogUnavailable(path, detail, _HINTS[primary])
    if primary == sqlite3.SQLITE_NOTADB:
        return CatalogDamaged(path, "it is not a database")
    return CatalogDamaged(path, f"SQLite reports: {detail}")
